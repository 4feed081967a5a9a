// A declared state that no statement assigns (`c`) is reported on its
// declaration.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a], c: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
