// A state named like a declaration keyword cannot be updated (`dims = …`
// would start a `dims` declaration): one error, at the update.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state dims: [n_a];
        param w: [n_a, n_x], b: [n_a];
        dims = tanh(w @ x + b);
    }
}

fn main() {}
