use cellforge::cell;

cell! {
    /// `w` is placed twice and `b` nowhere.
    pub cell Tiny {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_x], u: [n_a, n_a], b: [n_a];
        a = tanh(w @ x + u @ a + b);
        layout keras {
            kernel = w.T;
            recurrent_kernel = [u, w].T;
        }
    }
}

fn main() {}
