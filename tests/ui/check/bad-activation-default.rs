// A run-time activation must default to a function that Keras layers can be
// set to; `softmax` is reported on the default, with the choices.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        activation act = softmax;
        param w: [n_a, n_a + n_x], b: [n_a];
        a = act(w @ [a, x] + b);
    }
}

fn main() {}
