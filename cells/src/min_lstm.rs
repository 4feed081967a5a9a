//! # minLSTM
//!
//! Feng et al., "Were RNNs All We Needed?" (2024): an LSTM reduced like
//! minGRU. The forget and input gates, from the input only, are normalised to
//! sum to one, and the candidate is linear in the input; there is no output
//! gate and no separate memory.

use cellforge_macros::cell;

cell! {
    /// minLSTM: normalised forget and input gates (Feng et al., 2024).
    pub cell MinLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w_f: [n_h, n_x], b_f: [n_h];
        param w_i: [n_h, n_x], b_i: [n_h];
        param w_h: [n_h, n_x], b_h: [n_h];

        /// forget gate
        let f = sigmoid(w_f @ x + b_f);
        /// input gate
        let i = sigmoid(w_i @ x + b_i);
        /// candidate, linear in the input
        let h_tilde = w_h @ x + b_h;
        /// next state, the gates normalised to sum to one
        h = f / (f + i) * h + i / (f + i) * h_tilde;
    }
}
