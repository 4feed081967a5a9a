//! # Update-gate RNN (UGRNN)
//!
//! Collins, Sohl-Dickstein and Sussillo, "Capacity and Trainability in
//! Recurrent Neural Networks" (ICLR 2017): a basic RNN with one update gate
//! that keeps part of the old state, easy to train and with nearly an LSTM's
//! capacity per parameter.

use cellforge_macros::cell;

cell! {
    /// UGRNN: a `tanh` candidate and an update gate (Collins et al., 2017).
    pub cell Ugrnn {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w_c: [n_h, n_h + n_x], b_c: [n_h];
        param w_g: [n_h, n_h + n_x], b_g: [n_h] = ones;

        /// stack the previous state on the input
        let z = [h, x];
        /// update gate
        let g = sigmoid(w_g @ z + b_g);
        /// next state: keep a part, take the rest from the candidate
        h = g * h + (1 - g) * tanh(w_c @ z + b_c);
    }
}
