// A misspelt declaration keyword (`parm`) is reported on that word with the
// list of what may start a statement.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        parm w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
