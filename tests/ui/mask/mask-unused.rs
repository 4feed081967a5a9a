// A mask that no equation uses is reported on its declaration, as an unused
// parameter is.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h] = dropout(0.25), e: [n_h] = dropout(0.25);

        h = tanh(w @ [h * d, x] + b);
    }
}

fn main() {}
