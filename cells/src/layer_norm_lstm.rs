//! # Layer-normalised LSTM
//!
//! Ba, Kiros and Hinton, "Layer Normalization" (arXiv:1607.06450, 2016),
//! normalise the summed inputs of a layer over its units, per example: each
//! vector `v` becomes `(v − mean(v)) / √(var(v) + ε)`, then gets a learned
//! gain and bias. Unlike batch normalisation it needs no statistics over the
//! batch or over time, so it works step by step in a recurrent network, and
//! it keeps the pre-activations of the gates at one scale however the
//! weights grow.
//!
//! Where the normalisation goes is part of the cell, and implementations
//! differ on it. This is the paper's LSTM:
//!
//! ```text
//! (f; i; o; g) = LN(W x) + LN(U h⟨t−1⟩) + b
//! c⟨t⟩ = σ(f) ⊙ c⟨t−1⟩ + σ(i) ⊙ tanh(g)
//! h⟨t⟩ = σ(o) ⊙ tanh(LN(c⟨t⟩))
//! ```
//!
//! The input term and the recurrent term are normalised separately, each
//! over all four gates at once (`mean` and `var` of a stack reduce it as one
//! vector of `4 n_h`), with a gain per gate and term; their two biases fold
//! into one per gate. The new memory is normalised again before the output
//! gate sees it, with its own gain and bias; the memory itself, carried to
//! the next step, is not normalised. ε is `10⁻⁵`.
//!
//! The input products are still one product for the whole sequence and the
//! recurrent ones one product per step: the normalisation reads their
//! results. `mean` and `var` give one number per example, which broadcasts
//! along the vectors it meets; the compiler derives their gradients too.

use cellforge_macros::cell;

// ANCHOR: declaration
cell! {
    /// An LSTM with layer normalisation (Ba, Kiros and Hinton, 2016).
    pub cell LayerNormLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_f: [n_h, n_x], w_i: [n_h, n_x], w_o: [n_h, n_x], w_g: [n_h, n_x];
        param u_f: [n_h, n_h], u_i: [n_h, n_h], u_o: [n_h, n_h], u_g: [n_h, n_h];
        param a_f: [n_h] = ones, a_i: [n_h] = ones, a_o: [n_h] = ones, a_g: [n_h] = ones;
        param r_f: [n_h] = ones, r_i: [n_h] = ones, r_o: [n_h] = ones, r_g: [n_h] = ones;
        param b_f: [n_h] = ones, b_i: [n_h], b_o: [n_h], b_g: [n_h];
        param a_c: [n_h] = ones, b_c: [n_h];

        /// the input's term of the four gates, one vector of 4 n_h
        let wx = [w_f @ x, w_i @ x, w_o @ x, w_g @ x];
        /// the recurrent term, likewise
        let uh = [u_f @ h, u_i @ h, u_o @ h, u_g @ h];
        /// the statistics of each term, over all four gates
        let m_x = mean(wx);
        let s_x = sqrt(var(wx) + 0.00001);
        let m_h = mean(uh);
        let s_h = sqrt(var(uh) + 0.00001);
        /// forget gate: each term normalised, with its gain, and one bias
        let f = sigmoid(a_f * (w_f @ x - m_x) / s_x + r_f * (u_f @ h - m_h) / s_h + b_f);
        /// input gate
        let i = sigmoid(a_i * (w_i @ x - m_x) / s_x + r_i * (u_i @ h - m_h) / s_h + b_i);
        /// output gate
        let o = sigmoid(a_o * (w_o @ x - m_x) / s_x + r_o * (u_o @ h - m_h) / s_h + b_o);
        /// candidate memory
        let g = tanh(a_g * (w_g @ x - m_x) / s_x + r_g * (u_g @ h - m_h) / s_h + b_g);
        /// next memory, not normalised
        c = f * c + i * g;
        /// next hidden state, from the normalised new memory
        h = o * tanh(a_c * (c - mean(c)) / sqrt(var(c) + 0.00001) + b_c);
    }
}
// ANCHOR_END: declaration
