// A matrix parameter used element-wise (`w * a`) is reported on `w`: a matrix
// can only be the left operand of `@`.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(w * a);
    }
}

fn main() {}
