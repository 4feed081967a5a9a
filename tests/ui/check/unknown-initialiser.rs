// A misspelt initialiser (`glorot`) is reported on its name, with the list of
// initialisers.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x] = glorot, b: [n_a];
        a = tanh(w @ [a, x] + b);
    }
}

fn main() {}
