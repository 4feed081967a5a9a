// Assigning to the input is reported on its name: only states are assigned.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b);
        x = g;
        a = g * tanh(a);
    }
}

fn main() {}
