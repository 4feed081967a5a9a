//! # Gated recurrent unit (the course's form)
//!
//! The GRU keeps one state, `c`, and two gates computed from `[c⟨t−1⟩; x⟨t⟩]`:
//!
//! - the **update gate** `u` decides, per unit, how much of the state to
//!   replace by the candidate;
//! - the **reset gate** `r` decides how much of the old state the candidate
//!   may look at.
//!
//! ```text
//! c̃ = tanh(W_c [r ⊙ c⟨t−1⟩; x⟨t⟩] + b_c)
//! c⟨t⟩ = u ⊙ c̃ + (1 − u) ⊙ c⟨t−1⟩
//! ```
//!
//! This is the form of the course, where `u` weighs the candidate. Keras and
//! PyTorch write the same interpolation with `z = 1 − u` weighing the old
//! state, and apply the reset gate after the product (`reset_after`).
//!
//! The compiler sees two operands: `[c, x]` for `u` and `r` (one stacked
//! product), and `[r * c, x]` for the candidate, which can only run after the
//! gates. The columns of all three matrices that multiply `x` are hoisted out
//! of the time loop.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// The gated recurrent unit of the course, with a softmax prediction at
    /// every step.
    pub cell Gru {
        dims n_x, n_a, n_y;
        input x: [n_x];
        state c: [n_a];
        param w_u: [n_a, n_a + n_x], b_u: [n_a];
        param w_r: [n_a, n_a + n_x], b_r: [n_a];
        param w_c: [n_a, n_a + n_x], b_c: [n_a];
        param w_y: [n_y, n_a], b_y: [n_y];

        /// stack the previous state on the input
        let z = [c, x];
        // ANCHOR: update
        /// update gate: how much of the candidate to take
        let u = sigmoid(w_u @ z + b_u);
        // ANCHOR_END: update
        // ANCHOR: reset
        /// reset gate: how much of the old state the candidate sees
        let r = sigmoid(w_r @ z + b_r);
        // ANCHOR_END: reset
        // ANCHOR: candidate
        /// candidate state
        let c_tilde = tanh(w_c @ [r * c, x] + b_c);
        // ANCHOR_END: candidate
        // ANCHOR: next
        /// next state: between the candidate and the old state
        c = u * c_tilde + (1 - u) * c;
        // ANCHOR_END: next
        /// the prediction of this step
        output y = softmax(w_y @ c + b_y);
    }
}
// ANCHOR_END: declaration
