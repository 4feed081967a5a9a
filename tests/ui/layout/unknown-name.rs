use cellforge::cell;

cell! {
    /// A layout names a state, and a name nobody declared.
    pub cell Tiny {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_x], u: [n_a, n_a], b: [n_a];
        a = tanh(w @ x + u @ a + b);
        layout torch {
            weight_ih = [w, a];
            weight_hh = v;
            bias = b;
        }
    }
}

fn main() {}
