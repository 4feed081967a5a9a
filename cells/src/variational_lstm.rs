//! # LSTM with variational recurrent dropout
//!
//! Gal and Ghahramani, "A Theoretically Grounded Application of Dropout in
//! Recurrent Neural Networks" (NeurIPS 2016), read dropout as approximate
//! Bayesian inference: the dropped weights are a sample of the network's
//! weights, and a sample is fixed for the whole sequence. So the mask on
//! the recurrent state is drawn once per sequence, one per example, and used
//! at every step, rather than drawn anew at each step (which, applied to the
//! recurrence, disrupts what the state carries). Keras's
//! `recurrent_dropout` is this mask.
//!
//! The mask is declared with the cell and multiplies the state where the
//! gates read it, inside the fused step: `h_d = h ⊙ d`, then `u @ h_d`. The
//! state itself is carried undropped. In training the runtime draws `d` (each unit 0 with
//! probability `p`, otherwise `1 / (1 − p)`); in inference `d` is 1 and the
//! cell is the plain LSTM. Dropout of the input with one mask per sequence,
//! the other half of the paper's recipe, is `Recurrent::dropout`, which drops
//! `x` before the input product, so that product stays one product for the
//! whole sequence.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// An LSTM whose gates read the state through a dropout mask drawn once
    /// per sequence (Gal and Ghahramani, 2016); Keras's `LSTM` with
    /// `recurrent_dropout`.
    pub cell VariationalLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_i: [n_h, n_x], w_f: [n_h, n_x], w_c: [n_h, n_x], w_o: [n_h, n_x];
        param u_i: [n_h, n_h] = orthogonal, u_f: [n_h, n_h] = orthogonal;
        param u_c: [n_h, n_h] = orthogonal, u_o: [n_h, n_h] = orthogonal;
        param b_i: [n_h], b_f: [n_h] = ones, b_c: [n_h], b_o: [n_h];
        /// one mask per example for the whole sequence
        mask d: [n_h] = dropout(0.25);

        /// the state as the gates see it
        let h_d = h * d;
        /// input gate
        let i = sigmoid(w_i @ x + u_i @ h_d + b_i);
        /// forget gate
        let f = sigmoid(w_f @ x + u_f @ h_d + b_f);
        /// candidate memory
        let c_tilde = tanh(w_c @ x + u_c @ h_d + b_c);
        /// next memory
        c = f * c + i * c_tilde;
        /// output gate
        let o = sigmoid(w_o @ x + u_o @ h_d + b_o);
        /// next hidden state
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
