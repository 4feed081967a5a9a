// A mask scales values; alone it is not a value of the step, so it cannot be
// a part of the right operand of `@`. Reported on the operand, with the fix.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h] = dropout(0.25);

        h = tanh(w @ [d, x] + b) * h;
    }
}

fn main() {}
