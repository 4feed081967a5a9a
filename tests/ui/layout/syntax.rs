use cellforge::cell;

cell! {
    /// `.t` is not the transpose, a tensor lacks its `;`, and the same
    /// framework has two layouts.
    pub cell Tiny {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_x], b: [n_a];
        a = tanh(w @ x + b);
        layout keras {
            kernel = w.t;
            bias = b
        }
        layout torch { weight = w; bias = b; }
        layout torch { weight = w; bias = b; }
    }
}

fn main() {}
