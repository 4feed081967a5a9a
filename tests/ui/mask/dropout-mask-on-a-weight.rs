// A dropout mask is a vector for the values of a step; only a `dropconnect`
// mask multiplies a weight. Reported on the mask.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], b: [n_h];
        mask d: [n_h] = dropout(0.25);

        h = tanh(w @ x + (u * d) @ h + b);
    }
}

fn main() {}
