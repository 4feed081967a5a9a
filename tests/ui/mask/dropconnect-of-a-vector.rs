// A DropConnect mask masks a weight matrix, so it has a matrix's shape.
// Reported on the shape.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], b: [n_h];
        mask m: [n_h] = dropconnect(0.5);

        h = tanh(w @ x + (u * m) @ h + b);
    }
}

fn main() {}
