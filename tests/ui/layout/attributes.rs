use cellforge::cell;

cell! {
    /// A layout or one of its tensors takes doc comments only: a `cfg` or
    /// any other attribute is an error, never ignored.
    pub cell Tiny {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_x], u: [n_a, n_a], b: [n_a];
        a = tanh(w @ x + u @ a + b);
        /// Keras's names.
        #[cfg(any())]
        layout keras {
            /// The input weights, transposed.
            kernel = w.T;
            #[allow(unused)]
            recurrent_kernel = u.T;
            bias = b;
        }
    }
}

fn main() {}
