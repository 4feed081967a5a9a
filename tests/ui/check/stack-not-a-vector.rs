// Only vectors stack: putting the matrix parameter `w` in a stack is
// reported on `w`.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        param u: [n_a, n_a + n_x];

        let g = sigmoid(w @ [a, x] + b);
        let bad = u @ [a, w];
        a = g * tanh(bad);
    }
}

fn main() {}
