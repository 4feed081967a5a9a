use cellforge::cell;

cell! {
    /// Blocks of different widths stacked, a vector under a matrix, and a
    /// tensor named twice.
    pub cell Tiny {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_x], u: [n_a, n_a], b: [n_a];
        a = tanh(w @ x + u @ a + b);
        layout torch {
            weight = [w, u];
            bias = [u, b];
            weight = b;
        }
    }
}

fn main() {}
