//! # Peephole LSTM
//!
//! Gers and Schmidhuber, "Recurrent nets that time and count" (IJCNN 2000),
//! let the gates of an LSTM see the memory cell itself, not only the hidden
//! state that the output gate lets out: a gate that is closed hides `c` from
//! the other gates, and precise timing needs them to see it. Each gate gets a
//! peephole weight per unit, an element-wise product `p ⊙ c`: the forget
//! and input gates look at the previous memory, the output gate at the new
//! one. The equations are those of the course's LSTM chapter with these
//! three terms added.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// An LSTM with peephole connections (Gers and Schmidhuber, 2000).
    pub cell Peephole {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_f: [n_h, n_h + n_x], p_f: [n_h], b_f: [n_h] = ones;
        param w_i: [n_h, n_h + n_x], p_i: [n_h], b_i: [n_h];
        param w_c: [n_h, n_h + n_x], b_c: [n_h];
        param w_o: [n_h, n_h + n_x], p_o: [n_h], b_o: [n_h];

        /// stack the previous hidden state on the input
        let z = [h, x];
        /// forget gate, looking at the previous memory
        let f = sigmoid(w_f @ z + p_f * c + b_f);
        /// input gate, looking at the previous memory
        let i = sigmoid(w_i @ z + p_i * c + b_i);
        /// candidate memory
        let c_tilde = tanh(w_c @ z + b_c);
        /// next memory
        c = f * c + i * c_tilde;
        /// output gate, looking at the new memory
        let o = sigmoid(w_o @ z + p_o * c + b_o);
        /// next hidden state
        h = o * tanh(c);
    }
}
// ANCHOR_END: declaration
