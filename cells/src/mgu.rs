//! # Minimal gated unit (MGU)
//!
//! Zhou, Wu, Zhang and Zhou, "Minimal Gated Unit for Recurrent Neural
//! Networks" (International Journal of Automation and Computing, 2016): a GRU
//! with a single gate `f` that both resets the state seen by the candidate and
//! chooses between the old state and the candidate.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// The minimal gated unit: one forget gate (Zhou et al., 2016).
    pub cell Mgu {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w_f: [n_h, n_h + n_x], b_f: [n_h];
        param w_h: [n_h, n_h + n_x], b_h: [n_h];

        /// the only gate
        let f = sigmoid(w_f @ [h, x] + b_f);
        /// candidate, from the gated state
        let h_tilde = tanh(w_h @ [f * h, x] + b_h);
        /// next state
        h = (1 - f) * h + f * h_tilde;
    }
}
// ANCHOR_END: declaration
