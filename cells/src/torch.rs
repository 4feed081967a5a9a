//! # PyTorch's recurrent cells
//!
//! These cells compute what PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU`
//! compute, with PyTorch's parameters: each layout below says where they
//! sit in the module's `state_dict`, so weights move both ways through
//! [`cellforge::interop`].
//!
//! PyTorch stacks the gates of a layer into one tensor per operand:
//! `weight_ih` is `(G · hidden, input)` with the gates in the order `i, f, g,
//! o` (LSTM) or `r, z, n` (GRU), and it keeps two biases, `bias_ih` and
//! `bias_hh`, which add up except in the GRU's candidate, where the reset
//! gate scales the recurrent product together with its bias. Here every gate
//! is its own parameter, named as PyTorch's documentation names it
//! (`W_ii`, `b_hf`); the compiler stacks the gates that share an operand, in
//! declaration order, so a step still takes one product per operand.
//!
//! PyTorch draws every weight and bias from `U(−1/√hidden, 1/√hidden)`; the
//! cells here start from Glorot-uniform and orthogonal matrices and zero
//! biases. A model imported from PyTorch replaces them all.

use cellforge_macros::cell;

cell! {
    /// PyTorch's `nn.RNN`: `h = nonlinearity(W_ih x + b_ih + W_hh h + b_hh)`,
    /// `tanh` by default; PyTorch's `nonlinearity="relu"` is
    /// `with_activation("nonlinearity", Activation::Relu)`.
    pub cell Rnn {
        dims n_x, hidden;
        input x: [n_x];
        state h: [hidden];
        activation nonlinearity = tanh;
        param w_ih: [hidden, n_x], w_hh: [hidden, hidden] = orthogonal;
        param b_ih: [hidden], b_hh: [hidden];

        /// the next hidden state
        h = nonlinearity(w_ih @ x + b_ih + w_hh @ h + b_hh);

        layout torch {
            weight_ih = w_ih;
            weight_hh = w_hh;
            bias_ih = b_ih;
            bias_hh = b_hh;
        }
    }
}

// ANCHOR: lstm
cell! {
    /// PyTorch's `nn.LSTM`: gates `i, f, g, o`, two biases; states `[h, c]`.
    pub cell Lstm {
        dims n_x, hidden;
        input x: [n_x];
        state h: [hidden], c: [hidden];
        param w_ii: [hidden, n_x], w_if: [hidden, n_x], w_ig: [hidden, n_x], w_io: [hidden, n_x];
        param w_hi: [hidden, hidden] = orthogonal, w_hf: [hidden, hidden] = orthogonal;
        param w_hg: [hidden, hidden] = orthogonal, w_ho: [hidden, hidden] = orthogonal;
        param b_ii: [hidden], b_if: [hidden], b_ig: [hidden], b_io: [hidden];
        param b_hi: [hidden], b_hf: [hidden], b_hg: [hidden], b_ho: [hidden];

        /// input gate
        let i = sigmoid(w_ii @ x + b_ii + w_hi @ h + b_hi);
        /// forget gate
        let f = sigmoid(w_if @ x + b_if + w_hf @ h + b_hf);
        /// candidate
        let g = tanh(w_ig @ x + b_ig + w_hg @ h + b_hg);
        /// output gate
        let o = sigmoid(w_io @ x + b_io + w_ho @ h + b_ho);
        /// next memory
        c = f * c + i * g;
        /// next hidden state
        h = o * tanh(c);

        /// `nn.LSTM`'s `state_dict`: the gates stacked in PyTorch's order.
        layout torch {
            weight_ih = [w_ii, w_if, w_ig, w_io];
            weight_hh = [w_hi, w_hf, w_hg, w_ho];
            bias_ih = [b_ii, b_if, b_ig, b_io];
            bias_hh = [b_hi, b_hf, b_hg, b_ho];
        }
    }
}
// ANCHOR_END: lstm

cell! {
    /// PyTorch's `nn.GRU`: gates `r, z`, candidate `n` with the reset gate
    /// applied to the recurrent product and its bias.
    pub cell Gru {
        dims n_x, hidden;
        input x: [n_x];
        state h: [hidden];
        param w_ir: [hidden, n_x], w_iz: [hidden, n_x], w_in: [hidden, n_x];
        param w_hr: [hidden, hidden] = orthogonal, w_hz: [hidden, hidden] = orthogonal;
        param w_hn: [hidden, hidden] = orthogonal;
        param b_ir: [hidden], b_iz: [hidden], b_in: [hidden];
        param b_hr: [hidden], b_hz: [hidden], b_hn: [hidden];

        /// reset gate
        let r = sigmoid(w_ir @ x + b_ir + w_hr @ h + b_hr);
        /// update gate: how much of the old state to keep
        let z = sigmoid(w_iz @ x + b_iz + w_hz @ h + b_hz);
        /// candidate
        let n = tanh(w_in @ x + b_in + r * (w_hn @ h + b_hn));
        /// next hidden state
        h = (1 - z) * n + z * h;

        layout torch {
            weight_ih = [w_ir, w_iz, w_in];
            weight_hh = [w_hr, w_hz, w_hn];
            bias_ih = [b_ir, b_iz, b_in];
            bias_hh = [b_hr, b_hz, b_hn];
        }
    }
}
