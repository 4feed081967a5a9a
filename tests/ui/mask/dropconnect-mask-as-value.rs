// A DropConnect mask only multiplies its weight on the left of `@`; used as
// a value it is reported where it is used.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], b: [n_h];
        mask m: [n_h, n_h] = dropconnect(0.5);

        h = tanh(w @ x + (u * m) @ h + b) * m;
    }
}

fn main() {}
