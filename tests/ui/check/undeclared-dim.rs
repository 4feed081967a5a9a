// A shape that uses a dimension that was not declared (`n_h`) is reported on
// that dimension, with the declared ones.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_h];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
