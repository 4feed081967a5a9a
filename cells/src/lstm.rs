//! # Long short-term memory
//!
//! The basic RNN forgets quickly: its gradient through many `tanh` steps
//! shrinks or explodes. The LSTM adds a second state, the memory cell `c`,
//! that is changed only by element-wise gates, so information and gradient
//! can travel many steps.
//!
//! Every gate looks at the same thing, the previous hidden state stacked on
//! the input, `[a⟨t−1⟩; x⟨t⟩]`, and is a sigmoid, a number between 0 and 1
//! per unit:
//!
//! - the **forget gate** `f` says how much of each unit of `c` to keep;
//! - the **update gate** `i` says how much of the candidate to write;
//! - the **candidate** `c̃` (a `tanh`, not a gate) is what could be written;
//! - the **output gate** `o` says how much of `tanh(c)` to show as `a`.
//!
//! ```text
//! c⟨t⟩ = f ⊙ c⟨t−1⟩ + i ⊙ c̃        a⟨t⟩ = o ⊙ tanh(c⟨t⟩)
//! ```
//!
//! Because the four gates share their right-hand operand `[a, x]`, the
//! compiler stores `w_f`, `w_i`, `w_c`, `w_o` stacked as one
//! `(4 n_a) × (n_a + n_x)` matrix and computes all four pre-activations with
//! one product per step; the columns that multiply `x` are applied to the
//! whole sequence at once, before the time loop. The gates, the new memory and
//! the new hidden state are then computed in a single pass over the batch.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// Long short-term memory with a softmax prediction at every step (the
    /// course's Figure 4).
    pub cell Lstm {
        dims n_x, n_a, n_y;
        input x: [n_x];
        state a: [n_a], c: [n_a];
        // ANCHOR: params
        param w_f: [n_a, n_a + n_x], b_f: [n_a];
        param w_i: [n_a, n_a + n_x], b_i: [n_a];
        param w_c: [n_a, n_a + n_x], b_c: [n_a];
        param w_o: [n_a, n_a + n_x], b_o: [n_a];
        param w_y: [n_y, n_a], b_y: [n_y];
        // ANCHOR_END: params

        // ANCHOR: stack
        /// stack the previous hidden state on the input
        let z = [a, x];
        // ANCHOR_END: stack
        // ANCHOR: forget
        /// forget gate
        let f = sigmoid(w_f @ z + b_f);
        // ANCHOR_END: forget
        // ANCHOR: update
        /// update gate
        let i = sigmoid(w_i @ z + b_i);
        // ANCHOR_END: update
        // ANCHOR: candidate
        /// candidate memory
        let c_tilde = tanh(w_c @ z + b_c);
        // ANCHOR_END: candidate
        // ANCHOR: memory
        /// next memory state
        c = f * c + i * c_tilde;
        // ANCHOR_END: memory
        // ANCHOR: output_gate
        /// output gate
        let o = sigmoid(w_o @ z + b_o);
        /// next hidden state, from the new memory
        a = o * tanh(c);
        // ANCHOR_END: output_gate
        // ANCHOR: prediction
        /// the prediction of this step
        output y = softmax(w_y @ a + b_y);
        // ANCHOR_END: prediction
    }
}
// ANCHOR_END: declaration
