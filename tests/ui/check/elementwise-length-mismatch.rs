// Adding the state (n_a) to the input (n_x) is reported on the `+`, with both
// operands and their shapes.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(a + x);
    }
}

fn main() {}
