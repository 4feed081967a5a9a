//! # Independently recurrent network (IndRNN)
//!
//! Li, Li, Cook, Zhu and Gao, "Independently Recurrent Neural Network
//! (IndRNN): Building a Longer and Deeper RNN" (CVPR 2018): each unit sees
//! only its own previous value, through one recurrent weight per unit (an
//! element-wise product with a vector parameter, not a matrix), with a `relu`.
//! Units are independent in time; layers mix them.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// IndRNN: `h = relu(W x + u ⊙ h + b)` (Li et al., 2018).
    pub cell IndRnn {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h] = uniform(0, 1), b: [n_h];

        /// each unit's own recurrence
        h = relu(w @ x + u * h + b);
    }
}
// ANCHOR_END: declaration
