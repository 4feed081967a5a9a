// Two independent mistakes in one declaration, a misspelt function and an
// unknown name, are both reported in the same compile.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmod(w @ [a, x] + b);
        a = g * tanh(q);
    }
}

fn main() {}
