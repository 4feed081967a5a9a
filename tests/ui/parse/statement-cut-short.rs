// A statement that ends too early (`input x:` without its shape) is one
// error, on its last token rather than over the whole macro call.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_a;
        input x:;
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        a = tanh(w @ [a, x] + b);
    }
}

fn main() {}
