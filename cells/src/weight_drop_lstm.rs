//! # Weight-dropped LSTM (DropConnect on the recurrent weights)
//!
//! Wan et al., "Regularization of Neural Networks using DropConnect" (ICML
//! 2013), drop weights rather than activations. Merity, Keskar and Socher,
//! "Regularizing and Optimizing LSTM Language Models" (ICLR 2018), apply it
//! to the hidden-to-hidden weights of an LSTM: one mask for the whole batch
//! and sequence, so the recurrence is regularised without touching the
//! state, and the step is still a product and a pass.
//!
//! Each recurrent weight `u` has its own DropConnect mask `m` of its shape,
//! and the products read `u ⊙ m`: `(u_f * m_f) @ h`. Before a run in
//! training the runtime draws the masks (each weight 0 with probability
//! `p`, otherwise `1 / (1 − p)`) and multiplies them into a copy of the
//! weights, which the products of every step read, stacked as usual; the
//! gradient of `u` is that of `u ⊙ m` times `m`. In inference the masks are
//! 1 and the products read the weights themselves. The input weights are not
//! dropped; their product is one product for the whole sequence, as in the
//! LSTM.
//!
//! The weights are Keras's `LSTM`'s, by name and by layout (`layout keras`),
//! so a Keras LSTM's trained weights load into it.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// An LSTM with DropConnect on its recurrent weights (Merity et al., 2018).
    pub cell WeightDropLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_i: [n_h, n_x], w_f: [n_h, n_x], w_c: [n_h, n_x], w_o: [n_h, n_x];
        param u_i: [n_h, n_h] = orthogonal, u_f: [n_h, n_h] = orthogonal;
        param u_c: [n_h, n_h] = orthogonal, u_o: [n_h, n_h] = orthogonal;
        param b_i: [n_h], b_f: [n_h] = ones, b_c: [n_h], b_o: [n_h];
        /// one mask per recurrent weight, for the whole batch
        mask m_i: [n_h, n_h] = dropconnect(0.5), m_f: [n_h, n_h] = dropconnect(0.5);
        mask m_c: [n_h, n_h] = dropconnect(0.5), m_o: [n_h, n_h] = dropconnect(0.5);

        let i = sigmoid(w_i @ x + (u_i * m_i) @ h + b_i);
        let f = sigmoid(w_f @ x + (u_f * m_f) @ h + b_f);
        let c_tilde = tanh(w_c @ x + (u_c * m_c) @ h + b_c);
        c = f * c + i * c_tilde;
        let o = sigmoid(w_o @ x + (u_o * m_o) @ h + b_o);
        h = o * tanh(c);

        /// Keras's weights, gates in its order `i, f, c, o`.
        layout keras {
            kernel = [w_i, w_f, w_c, w_o].T;
            recurrent_kernel = [u_i, u_f, u_c, u_o].T;
            bias = [b_i, b_f, b_c, b_o];
        }
    }
}
// ANCHOR_END: declaration
