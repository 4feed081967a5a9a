// `var` takes one vector (a stack `[a, b]` for several); two arguments are
// reported on the function's name.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];

        h = tanh(w @ [h, x] + b) / sqrt(var(h, x));
    }
}

fn main() {}
