//! # Coupled input and forget gates (CIFG)
//!
//! Greff et al., "LSTM: A Search Space Odyssey" (IEEE TNNLS, 2017), found
//! that an LSTM loses little when its input gate is tied to its forget gate:
//! what is forgotten is exactly what is written, `i = 1 − f`. One gate and its
//! weights fewer; the memory update becomes an interpolation.

use cellforge_macros::cell;

cell! {
    /// An LSTM whose input gate is `1 − f` (Greff et al., 2017).
    pub cell Cifg {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_f: [n_h, n_h + n_x], b_f: [n_h] = ones;
        param w_c: [n_h, n_h + n_x], b_c: [n_h];
        param w_o: [n_h, n_h + n_x], b_o: [n_h];

        /// stack the previous hidden state on the input
        let z = [h, x];
        /// forget gate; the input gate is its complement
        let f = sigmoid(w_f @ z + b_f);
        /// candidate memory
        let c_tilde = tanh(w_c @ z + b_c);
        /// next memory: keep a part, write the rest
        c = f * c + (1 - f) * c_tilde;
        /// output gate
        let o = sigmoid(w_o @ z + b_o);
        /// next hidden state
        h = o * tanh(c);
    }
}
