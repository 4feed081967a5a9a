// A reduction gives one number per example; an output must be a vector.
// Reported on the reduction.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];

        h = tanh(w @ [h, x] + b);
        output s = var(h);
    }
}

fn main() {}
