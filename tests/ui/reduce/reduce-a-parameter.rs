// A reduction must depend on the input or a state: `mean(b)` would be the same
// number at every step. Reported on the argument.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];

        h = tanh(w @ [h, x] + b - mean(b));
    }
}

fn main() {}
