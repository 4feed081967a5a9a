//! # The basic recurrent cell
//!
//! A recurrent network reads a sequence one step at a time and carries a
//! hidden state `a` from each step to the next. At step `t` the cell sees the
//! input `x⟨t⟩` (`n_x` features) and the previous state `a⟨t−1⟩` (`n_a`
//! units), and computes
//!
//! ```text
//! a⟨t⟩ = tanh(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a)
//! ŷ⟨t⟩ = softmax(W_ya a⟨t⟩ + b_y)
//! ```
//!
//! The same weights are used at every step; that sharing is what makes the
//! network recurrent. `tanh` keeps the state in `(−1, 1)`; the softmax turns
//! the state into a distribution over `n_y` classes at every step.
//!
//! The declaration below is the whole cell. The compiler hoists `w_ax @ x` out
//! of the time loop (it depends only on the input, so one product covers all
//! steps), runs `w_aa @ a` once per step, and adds, applies `tanh` and writes
//! the new state in one pass.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// The basic RNN cell: a `tanh` state update and a softmax prediction
    /// at every step, with the weight names of the course (`W_aa`, `W_ax`,
    /// `W_ya`).
    pub cell Rnn {
        dims n_x, n_a, n_y;
        input x: [n_x];
        state a: [n_a];
        param w_aa: [n_a, n_a], w_ax: [n_a, n_x], b_a: [n_a];
        param w_ya: [n_y, n_a], b_y: [n_y];

        /// the next hidden state mixes the previous one with the input
        a = tanh(w_aa @ a + w_ax @ x + b_a);
        /// the prediction of this step, a distribution over `n_y` classes
        output y = softmax(w_ya @ a + b_y);
    }
}
// ANCHOR_END: declaration
