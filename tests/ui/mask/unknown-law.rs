// An unknown law is reported on its name, with the laws there are.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h] = gaussian(0.1);

        h = tanh(w @ [h * d, x] + b);
    }
}

fn main() {}
