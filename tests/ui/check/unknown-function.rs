// A misspelt function (`sigmod`) is reported on the function's name, with
// the list of functions.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmod(w @ [a, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
