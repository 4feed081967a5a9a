// A DropConnect mask has its weight's shape; both shapes are named, on the
// mask.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], b: [n_h];
        mask m: [n_h, n_x] = dropconnect(0.5);

        h = tanh(w @ x + (u * m) @ h + b);
    }
}

fn main() {}
