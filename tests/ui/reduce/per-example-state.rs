// A state is a vector; a number per example cannot be its next value.
// Reported on the value, with both shapes.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];

        let m = mean(w @ [h, x] + b);
        h = m;
    }
}

fn main() {}
