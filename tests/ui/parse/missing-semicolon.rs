// A statement without its `;` runs into the next one: the error points at
// the `let` that follows, and says a `;` was expected.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];

        let g = sigmoid(w @ [a, x] + b)
        let h = tanh(a);
        a = g * h;
    }
}

fn main() {}
