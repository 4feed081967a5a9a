// A rate is a probability below 1: a dropout of 1 would drop everything.
// Reported on the law.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h] = dropout(1.5);

        h = tanh(w @ [h * d, x] + b);
    }
}

fn main() {}
