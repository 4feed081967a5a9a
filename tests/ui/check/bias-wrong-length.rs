// A bias declared with the input's length (n_x) added to a product of length
// n_a is reported on the `+`, naming the bias and both lengths.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_x];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
