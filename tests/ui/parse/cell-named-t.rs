use cellforge::cell;

cell! {
    /// The generated code's scalar type is `T`: a cell cannot take that name.
    pub cell T {
        dims n;
        input x: [n];
        state h: [n];
        h = tanh(x + h);
    }
}

cell! {
    /// Nor the name of a primitive type the generated code uses.
    pub cell f64 {
        dims n;
        input x: [n];
        state h: [n];
        h = tanh(x + h);
    }
}

fn main() {}
