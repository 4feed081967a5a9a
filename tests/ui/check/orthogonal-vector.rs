// `orthogonal` initialises a matrix: asking it of a bias is reported on the
// initialiser, naming the parameter.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a] = orthogonal;
        a = tanh(w @ [a, x] + b);
    }
}

fn main() {}
