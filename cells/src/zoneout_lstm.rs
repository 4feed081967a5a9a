//! # LSTM with zoneout
//!
//! Krueger et al., "Zoneout: Regularizing RNNs by Randomly Preserving Hidden
//! Activations" (ICLR 2017): at each step, each unit of a state keeps its
//! previous value with probability `p` instead of taking its new one. Like
//! dropout it trains an ensemble of networks, but what is dropped is the
//! change, not the value, so the state and its gradient still flow through
//! time (through the identity where a unit is zoned out).
//!
//! A zoneout mask `z` is drawn at every step (each unit 1 with probability
//! `p`, otherwise 0), and the update is written as what it is, a blend of the
//! old value and the new one: `c = z ⊙ c⟨t−1⟩ + (1 − z) ⊙ c_new`. In inference
//! the mask is its expectation `p`, so each state moves a fraction `1 − p`
//! of the way to its new value. The memory and the hidden state have their
//! own masks and rates; as in the paper, the hidden state's new value is
//! computed from the new memory before that memory is zoned out.
//!
//! The weights are Keras's `LSTM`'s, by name and by layout (`layout keras`),
//! so a Keras LSTM's trained weights load into it.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// An LSTM whose memory and hidden state are zoned out (Krueger et al., 2017).
    pub cell ZoneoutLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_i: [n_h, n_x], w_f: [n_h, n_x], w_c: [n_h, n_x], w_o: [n_h, n_x];
        param u_i: [n_h, n_h] = orthogonal, u_f: [n_h, n_h] = orthogonal;
        param u_c: [n_h, n_h] = orthogonal, u_o: [n_h, n_h] = orthogonal;
        param b_i: [n_h], b_f: [n_h] = ones, b_c: [n_h], b_o: [n_h];
        /// a new mask at every step, for each state
        mask z_c: [n_h] = zoneout(0.5), z_h: [n_h] = zoneout(0.05);

        let i = sigmoid(w_i @ x + u_i @ h + b_i);
        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let c_tilde = tanh(w_c @ x + u_c @ h + b_c);
        let o = sigmoid(w_o @ x + u_o @ h + b_o);
        /// what the LSTM would write
        let c_new = f * c + i * c_tilde;
        /// each unit keeps its previous memory where `z_c` is 1
        c = z_c * c + (1 - z_c) * c_new;
        /// and its previous hidden state where `z_h` is 1
        h = z_h * h + (1 - z_h) * (o * tanh(c_new));

        /// Keras's weights, gates in its order `i, f, c, o`.
        layout keras {
            kernel = [w_i, w_f, w_c, w_o].T;
            recurrent_kernel = [u_i, u_f, u_c, u_o].T;
            bias = [b_i, b_f, b_c, b_o];
        }
    }
}
// ANCHOR_END: declaration
