// A misspelt `dims` is one error, on that word: the dimensions it would have
// declared are not also reported as unknown wherever they are used.
use cellforge::cell;

cell! {
    pub cell Broken {
        dim n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        a = tanh(w @ [a, x] + b);
    }
}

fn main() {}
