// A weight with a DropConnect mask is masked in every product, as the run
// uses one masked copy of it. The unmasked product is reported.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], b: [n_h];
        mask m: [n_h, n_h] = dropconnect(0.5);

        let g = sigmoid(w @ x + (u * m) @ h + b);
        h = g * tanh(w @ x + u @ h);
    }
}

fn main() {}
