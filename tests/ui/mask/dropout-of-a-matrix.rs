// Dropout and zoneout masks are vectors; a weight matrix is masked with
// `dropconnect`. Reported on the shape.
use cellforge::cell;

cell! {
    pub cell Broken {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        mask d: [n_h, n_h] = dropout(0.25);

        h = tanh(w @ [h * d, x] + b);
    }
}

fn main() {}
