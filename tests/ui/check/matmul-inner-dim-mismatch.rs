// `w` has n_a + n_x columns but `[a, x, x]` has n_a + 2 n_x rows: the error is
// on the `@` and names both shapes.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x, x] + b);
        a = g * tanh(a);
    }
}

fn main() {}
