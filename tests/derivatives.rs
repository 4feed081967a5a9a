//! The derivative rule of each operation on its own, on small exact cases:
//! a one-statement cell, an upstream gradient of ones (or as given), and the
//! gradient of the input compared with the textbook derivative.

use cellforge::prelude::*;
use cellforge::{Empty, cell};
use nalgebra::DMatrix;

macro_rules! unary_cell {
    ($name:ident, $($body:tt)*) => {
        cell! {
            /// One operation.
            pub cell $name {
                dims n;
                input x: [n];
                output y = $($body)*;
            }
        }
    };
}

unary_cell!(Sig, sigmoid(x));
unary_cell!(Tanh, tanh(x));
unary_cell!(Relu, relu(x));
unary_cell!(Ident, identity(x));
unary_cell!(Exp, exp(x));
unary_cell!(Log, log(x));
unary_cell!(Hard, hard_sigmoid(x));
unary_cell!(Square, x * x);
unary_cell!(Recip, 1 / x);
unary_cell!(Neg, -x - 3);
unary_cell!(Soft, softmax(x));
unary_cell!(Sqrt, sqrt(x));
unary_cell!(Sum, x - sum(x));
unary_cell!(Centre, x - mean(x));
unary_cell!(Scaled, var(x) * x);
unary_cell!(Normalise, (x - mean(x)) / sqrt(var(x)));

/// The input gradient of a stateless cell for input `x` (one example) and
/// upstream gradient `dy` on its only output.
fn dx<C: Cell<f64, State = Empty<f64>>>(cell: &C, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let xs = Sequence::new(DMatrix::from_column_slice(x.len(), 1, x), 1).unwrap();
    let trace = cell.forward(&xs, &Empty::default()).unwrap();
    let mut up = Upstream::zeros_like(&trace);
    up.output_mut(0).unwrap().copy_from_slice(dy);
    cell.backward(&trace, &up)
        .unwrap()
        .input()
        .as_slice()
        .to_vec()
}

fn assert_exact(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() < 1e-15, "{got:?} vs {expected:?}");
    }
}

#[test]
fn element_wise_functions() {
    let ones = [1.0, 1.0, 1.0];
    let d = SigDims { n: 3 };
    assert_exact(
        &dx(&Sig::zeros(d).unwrap(), &[0.0, 0.0, 0.0], &[1.0, 2.0, -4.0]),
        &[0.25, 0.5, -1.0],
    );
    assert_exact(
        &dx(
            &Tanh::zeros(TanhDims { n: 3 }).unwrap(),
            &[0.0, 0.0, 0.0],
            &ones,
        ),
        &[1.0, 1.0, 1.0],
    );
    assert_exact(
        &dx(
            &Relu::zeros(ReluDims { n: 3 }).unwrap(),
            &[-1.0, 2.0, 0.5],
            &ones,
        ),
        &[0.0, 1.0, 1.0],
    );
    assert_exact(
        &dx(
            &Ident::zeros(IdentDims { n: 3 }).unwrap(),
            &[-1.0, 2.0, 0.5],
            &[3.0, 1.0, 2.0],
        ),
        &[3.0, 1.0, 2.0],
    );
    assert_exact(
        &dx(
            &Exp::zeros(ExpDims { n: 3 }).unwrap(),
            &[0.0, 0.0, 0.0],
            &[1.0, 2.0, 3.0],
        ),
        &[1.0, 2.0, 3.0],
    );
    assert_exact(
        &dx(
            &Log::zeros(LogDims { n: 3 }).unwrap(),
            &[2.0, 4.0, 0.5],
            &ones,
        ),
        &[0.5, 0.25, 2.0],
    );
    assert_exact(
        &dx(
            &Hard::zeros(HardDims { n: 3 }).unwrap(),
            &[0.0, 3.0, -3.0],
            &ones,
        ),
        &[0.2, 0.0, 0.0],
    );
}

#[test]
fn products_quotients_and_negation() {
    let ones = [1.0, 1.0, 1.0];
    assert_exact(
        &dx(
            &Square::zeros(SquareDims { n: 3 }).unwrap(),
            &[1.0, -2.0, 0.5],
            &ones,
        ),
        &[2.0, -4.0, 1.0],
    );
    assert_exact(
        &dx(
            &Recip::zeros(RecipDims { n: 3 }).unwrap(),
            &[1.0, -2.0, 0.5],
            &ones,
        ),
        &[-1.0, -0.25, -4.0],
    );
    assert_exact(
        &dx(
            &Neg::zeros(NegDims { n: 3 }).unwrap(),
            &[1.0, -2.0, 0.5],
            &[1.0, 2.0, 3.0],
        ),
        &[-1.0, -2.0, -3.0],
    );
}

#[test]
fn softmax_full_jacobian() {
    // softmax([0, 0]) = [1/2, 1/2]; its Jacobian is [[1/4, -1/4], [-1/4, 1/4]].
    let soft = Soft::zeros(SoftDims { n: 2 }).unwrap();
    assert_exact(&dx(&soft, &[0.0, 0.0], &[1.0, 0.0]), &[0.25, -0.25]);
    assert_exact(&dx(&soft, &[0.0, 0.0], &[1.0, 1.0]), &[0.0, 0.0]);
}

cell! {
    /// A product, a bias and a stack.
    pub cell Affine {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_h + n_x], b: [n_h];
        h = w @ [h, x] + b;
    }
}

#[test]
fn matrix_product_bias_and_stack() {
    // h' = W [h; x] + b, so dh = W_hᵀ dh', dx = W_xᵀ dh', dW = dh' [h; x]ᵀ, db = dh'.
    let w = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = nalgebra::DVector::from_vec(vec![0.5, -0.5]);
    let cell = Affine::new(AffineDims { n_x: 1, n_h: 2 }, &AffineParams { w, b }).unwrap();
    let xs = Sequence::new(DMatrix::from_column_slice(1, 1, &[2.0]), 1).unwrap();
    let h0 = AffineState {
        h: DMatrix::from_column_slice(2, 1, &[1.0, -1.0]),
    };
    let trace = cell.forward(&xs, &h0).unwrap();
    assert_eq!(cell.state_at(&trace, 1).unwrap().h.as_slice(), &[5.5, 10.5]);
    let mut up = Upstream::zeros_like(&trace);
    up.state_mut(0).unwrap().copy_from_slice(&[1.0, 10.0]);
    let g = cell.backward(&trace, &up).unwrap();
    assert_eq!(
        g.initial_state(0)
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![41.0, 52.0]
    );
    assert_eq!(g.input().as_slice(), &[63.0]);
    let p = cell.param_grads(&g);
    assert_eq!(
        p.w,
        DMatrix::from_row_slice(2, 3, &[1.0, -1.0, 2.0, 10.0, -10.0, 20.0])
    );
    assert_eq!(p.b.as_slice(), &[1.0, 10.0]);
}

#[test]
fn reductions_and_their_broadcasts() {
    assert_exact(
        &dx(
            &Sqrt::zeros(SqrtDims { n: 3 }).unwrap(),
            &[4.0, 1.0, 0.25],
            &[1.0, 1.0, 1.0],
        ),
        &[0.25, 0.5, 1.0],
    );
    // y_i = x_i − Σ x: dx_i = dy_i − Σ dy.
    assert_exact(
        &dx(
            &Sum::zeros(SumDims { n: 3 }).unwrap(),
            &[1.0, 5.0, -2.0],
            &[1.0, 2.0, 3.0],
        ),
        &[-5.0, -4.0, -3.0],
    );
    // y_i = x_i − mean(x): dx_i = dy_i − mean(dy).
    let x = [1.0, 2.0, 3.0, 6.0];
    assert_exact(
        &dx(
            &Centre::zeros(CentreDims { n: 4 }).unwrap(),
            &x,
            &[1.0, 2.0, 3.0, 4.0],
        ),
        &[-1.5, -0.5, 0.5, 1.5],
    );
    // y_i = var(x) x_i, var(x) = 3.5: dx_i = dy_i var + (Σ dy_j x_j) 2 (x_i − 3) / 4.
    assert_exact(
        &dx(
            &Scaled::zeros(ScaledDims { n: 4 }).unwrap(),
            &x,
            &[1.0, 0.0, 0.0, 0.0],
        ),
        &[2.5, -0.5, 0.0, 1.5],
    );
}

#[test]
fn layer_normalisation_is_blind_to_a_shift_and_a_scale() {
    // (x − mean) / std sums to 0 and does not change when x is scaled, so an
    // upstream gradient of ones, or of the output itself, gives no gradient.
    let cell = Normalise::zeros(NormaliseDims { n: 4 }).unwrap();
    let x = [1.0, 2.0, 3.0, 6.0];
    let std = 3.5f64.sqrt();
    let y: Vec<f64> = x.iter().map(|v| (v - 3.0) / std).collect();
    assert_exact(&dx(&cell, &x, &[1.0; 4]), &[0.0; 4]);
    assert_exact(&dx(&cell, &x, &y), &[0.0; 4]);
    // Along the first unit alone: (δ_i1 − 1/n − y_1 y_i / n) / std.
    let expected: Vec<f64> = (0..4)
        .map(|i| (f64::from(u8::from(i == 0)) - 0.25 - y[0] * y[i] / 4.0) / std)
        .collect();
    assert_exact(&dx(&cell, &x, &[1.0, 0.0, 0.0, 0.0]), &expected);
}
