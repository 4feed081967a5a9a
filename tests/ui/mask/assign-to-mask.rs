// A mask is drawn by the runtime; only states are assigned.
// Reported on the mask's name.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h] = dropout(0.25);

        h = tanh(w @ [h * d, x] + b);
        d = h;
    }
}

fn main() {}
