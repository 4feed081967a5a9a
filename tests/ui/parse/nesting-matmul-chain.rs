// 300 chained products, a left-deep tree: one error at the operator past the limit.
use cellforge::cell;

cell! {
    pub cell Deep {
        dims n;
        input x: [n];
        state h: [n];
        param w: [n, n];
        h = tanh(w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ w @ x);
    }
}

fn main() {}
