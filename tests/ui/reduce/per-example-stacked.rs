// Only vectors stack; a number per example broadcasts where it meets a vector,
// but cannot be a part of a stack. Reported on the part.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + 1], b: [n_h];

        h = tanh(w @ [h, mean(x)] + b);
    }
}

fn main() {}
