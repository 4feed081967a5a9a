// A name that is not declared (`y` for `x`) is reported where it is used.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, y] + b);
        a = g * tanh(a);
    }
}

fn main() {}
