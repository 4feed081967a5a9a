// A mask needs its law, which says how it is drawn in training.
// Reported on the mask's name.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h];

        h = tanh(w @ [h * d, x] + b);
    }
}

fn main() {}
