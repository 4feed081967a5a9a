//! # minGRU
//!
//! Feng, Tung, Ahmed, Bengio and Hajimirsadeghi, "Were RNNs All We Needed?"
//! (2024): a GRU whose gate and candidate depend on the input only. The
//! recurrence is then linear in `h`, so a whole sequence can be computed by a
//! parallel scan; here the compiler hoists both products out of the time loop,
//! and a step is one element-wise pass.

use cellforge_macros::cell;

cell! {
    /// minGRU: gate and candidate from the input alone (Feng et al., 2024).
    pub cell MinGru {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w_z: [n_h, n_x], b_z: [n_h];
        param w_h: [n_h, n_x], b_h: [n_h];

        /// update gate
        let z = sigmoid(w_z @ x + b_z);
        /// candidate, linear in the input
        let h_tilde = w_h @ x + b_h;
        /// next state
        h = (1 - z) * h + z * h_tilde;
    }
}
