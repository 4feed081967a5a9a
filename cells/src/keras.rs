//! # Keras's recurrent cells
//!
//! These cells compute exactly what Keras's `SimpleRNN`, `LSTM` and `GRU`
//! layers compute, with Keras's parameter counts, gate orders and defaults,
//! so that a model of the course can be rebuilt and its numbers compared.
//!
//! Keras writes a step as `x · W + h · U + b` with row vectors, and stores
//! the kernel `W` as `(n_x, units)`. cellforge keeps one column per example,
//! so each matrix here is the transpose of Keras's: `kernel` is
//! `(units, n_x)`. Where Keras stacks the gates of one kernel side by side
//! (LSTM: `i, f, c, o`; GRU: `z, r, h`), the gates here are separate
//! parameters declared in that order; because they multiply the same operand,
//! the compiler stores them stacked in exactly that order and computes them
//! with one product.
//!
//! Keras's defaults: kernels Glorot uniform, recurrent kernels orthogonal
//! (here each gate's block is orthogonal on its own), biases zero but the
//! LSTM's forget-gate bias one (`unit_forget_bias`); `activation` is `tanh`
//! and `recurrent_activation` is `sigmoid`, both settable at run time
//! (`with_activation("activation", Activation::Linear)`).

use cellforge_macros::cell;

cell! {
    /// Keras's `SimpleRNN`: `h = activation(kernel · x + recurrent_kernel · h + bias)`.
    pub cell SimpleRnn {
        dims n_x, units;
        input x: [n_x];
        state h: [units];
        activation activation = tanh;
        param kernel: [units, n_x] = glorot_uniform;
        param recurrent_kernel: [units, units] = orthogonal;
        param bias: [units] = zeros;

        /// the next state, from the input and the previous state
        h = activation(kernel @ x + recurrent_kernel @ h + bias);

        layout keras {
            kernel = kernel.T;
            recurrent_kernel = recurrent_kernel.T;
            bias = bias;
        }
    }
}

cell! {
    /// Keras's `SimpleRNN` with `use_bias=False`.
    pub cell SimpleRnnNoBias {
        dims n_x, units;
        input x: [n_x];
        state h: [units];
        activation activation = tanh;
        param kernel: [units, n_x] = glorot_uniform;
        param recurrent_kernel: [units, units] = orthogonal;

        /// the next state, from the input and the previous state
        h = activation(kernel @ x + recurrent_kernel @ h);

        layout keras {
            kernel = kernel.T;
            recurrent_kernel = recurrent_kernel.T;
        }
    }
}

// ANCHOR: lstm
cell! {
    /// Keras's `LSTM`, gates in Keras's order `i, f, c, o`; states `[h, c]`.
    pub cell Lstm {
        dims n_x, units;
        input x: [n_x];
        state h: [units], c: [units];
        activation activation = tanh, recurrent_activation = sigmoid;
        param w_i: [units, n_x] = glorot_uniform, w_f: [units, n_x] = glorot_uniform;
        param w_c: [units, n_x] = glorot_uniform, w_o: [units, n_x] = glorot_uniform;
        param u_i: [units, units] = orthogonal, u_f: [units, units] = orthogonal;
        param u_c: [units, units] = orthogonal, u_o: [units, units] = orthogonal;
        param b_i: [units] = zeros, b_f: [units] = ones, b_c: [units] = zeros, b_o: [units] = zeros;

        /// input gate
        let i = recurrent_activation(w_i @ x + u_i @ h + b_i);
        /// forget gate
        let f = recurrent_activation(w_f @ x + u_f @ h + b_f);
        /// candidate
        let c_tilde = activation(w_c @ x + u_c @ h + b_c);
        /// next carry
        c = f * c + i * c_tilde;
        /// output gate
        let o = recurrent_activation(w_o @ x + u_o @ h + b_o);
        /// next hidden state
        h = o * activation(c);

        /// Keras's weights: `(n_x, 4 units)` kernels, gates side by side.
        layout keras {
            kernel = [w_i, w_f, w_c, w_o].T;
            recurrent_kernel = [u_i, u_f, u_c, u_o].T;
            bias = [b_i, b_f, b_c, b_o];
        }
    }
}
// ANCHOR_END: lstm

cell! {
    /// Keras's `LSTM` with `use_bias=False`.
    pub cell LstmNoBias {
        dims n_x, units;
        input x: [n_x];
        state h: [units], c: [units];
        activation activation = tanh, recurrent_activation = sigmoid;
        param w_i: [units, n_x] = glorot_uniform, w_f: [units, n_x] = glorot_uniform;
        param w_c: [units, n_x] = glorot_uniform, w_o: [units, n_x] = glorot_uniform;
        param u_i: [units, units] = orthogonal, u_f: [units, units] = orthogonal;
        param u_c: [units, units] = orthogonal, u_o: [units, units] = orthogonal;

        /// input gate
        let i = recurrent_activation(w_i @ x + u_i @ h);
        /// forget gate
        let f = recurrent_activation(w_f @ x + u_f @ h);
        /// candidate
        let c_tilde = activation(w_c @ x + u_c @ h);
        /// next carry
        c = f * c + i * c_tilde;
        /// output gate
        let o = recurrent_activation(w_o @ x + u_o @ h);
        /// next hidden state
        h = o * activation(c);

        layout keras {
            kernel = [w_i, w_f, w_c, w_o].T;
            recurrent_kernel = [u_i, u_f, u_c, u_o].T;
        }
    }
}

// ANCHOR: gru
cell! {
    /// Keras's `GRU` with `reset_after=False` (Keras 2's first form, the
    /// parameter count of the course): the reset gate scales the state before
    /// the recurrent product. Gates in Keras's order `z, r, h`.
    pub cell Gru {
        dims n_x, units;
        input x: [n_x];
        state h: [units];
        activation activation = tanh, recurrent_activation = sigmoid;
        param w_z: [units, n_x] = glorot_uniform, w_r: [units, n_x] = glorot_uniform;
        param w_h: [units, n_x] = glorot_uniform;
        param u_z: [units, units] = orthogonal, u_r: [units, units] = orthogonal;
        param u_h: [units, units] = orthogonal;
        param b_z: [units] = zeros, b_r: [units] = zeros, b_h: [units] = zeros;

        /// update gate: how much of the old state to keep
        let z = recurrent_activation(w_z @ x + u_z @ h + b_z);
        /// reset gate
        let r = recurrent_activation(w_r @ x + u_r @ h + b_r);
        /// candidate, from the reset state
        let h_tilde = activation(w_h @ x + u_h @ (r * h) + b_h);
        /// next state
        h = z * h + (1 - z) * h_tilde;

        layout keras {
            kernel = [w_z, w_r, w_h].T;
            recurrent_kernel = [u_z, u_r, u_h].T;
            bias = [b_z, b_r, b_h];
        }
    }
}
// ANCHOR_END: gru

// ANCHOR: gru_reset_after
cell! {
    /// Keras's `GRU` with `reset_after=True` (the default of TensorFlow 2 and
    /// the form of PyTorch and cuDNN): the reset gate scales the recurrent
    /// product, and the input and recurrent products have a bias each.
    pub cell GruResetAfter {
        dims n_x, units;
        input x: [n_x];
        state h: [units];
        activation activation = tanh, recurrent_activation = sigmoid;
        param w_z: [units, n_x] = glorot_uniform, w_r: [units, n_x] = glorot_uniform;
        param w_h: [units, n_x] = glorot_uniform;
        param u_z: [units, units] = orthogonal, u_r: [units, units] = orthogonal;
        param u_h: [units, units] = orthogonal;
        param b_z: [units] = zeros, b_r: [units] = zeros, b_h: [units] = zeros;
        param rb_z: [units] = zeros, rb_r: [units] = zeros, rb_h: [units] = zeros;

        /// update gate
        let z = recurrent_activation(w_z @ x + b_z + u_z @ h + rb_z);
        /// reset gate
        let r = recurrent_activation(w_r @ x + b_r + u_r @ h + rb_r);
        /// candidate: the reset gate scales the recurrent product
        let h_tilde = activation(w_h @ x + b_h + r * (u_h @ h + rb_h));
        /// next state
        h = z * h + (1 - z) * h_tilde;

        /// The bias is `(2, 3 units)`: the input biases, then the recurrent ones.
        layout keras {
            kernel = [w_z, w_r, w_h].T;
            recurrent_kernel = [u_z, u_r, u_h].T;
            bias = [[b_z, b_r, b_h].T, [rb_z, rb_r, rb_h].T];
        }
    }
}
// ANCHOR_END: gru_reset_after
