// `mean` reduces a vector of each example; a number has nothing to reduce.
// Reported on `mean`, naming the number.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];

        h = tanh(w @ [h, x] + b) - mean(2);
    }
}

fn main() {}
