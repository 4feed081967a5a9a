//! Every operation of the language, checked element by element against a
//! direct computation with nalgebra: a stateless cell (a feed-forward layer),
//! several outputs, every function, broadcasting numbers and biases, a
//! parameter used with two different operands, and reductions (of a vector
//! and of a stack) with the numbers per example they give.

use cellforge::prelude::*;
use cellforge::{Empty, cell};
use nalgebra::{DMatrix, DVector};

cell! {
    /// A feed-forward layer with several outputs.
    pub cell Ops {
        dims n_x, n_h;
        input x: [n_x];
        param w: [n_h, n_x], b: [n_h];
        let z = w @ x + b;
        output y1 = relu(z) - hard_sigmoid(z) / 2;
        output y2 = exp(-identity(z)) * log(1 + sigmoid(z));
        output p = softmax(z);
        output t = tanh(2.5 * z) - z;
    }
}

cell! {
    /// A recurrent cell whose weight `w` multiplies both the input and the state.
    pub cell Tied {
        dims n;
        input x: [n];
        state h: [n];
        param w: [n, n], u: [n, n];
        h = tanh(w @ x + w @ h + u @ h);
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn every_operation_matches_a_direct_computation() {
    let mut rng = NumpyRng::new(7);
    let dims = OpsDims { n_x: 3, n_h: 4 };
    let w: DMatrix<f64> = rng.randn_matrix(4, 3);
    let b: DVector<f64> = rng.randn_matrix::<f64>(4, 1).column(0).into_owned();
    let cell = Ops::new(
        dims,
        &OpsParams {
            w: w.clone(),
            b: b.clone(),
        },
    )
    .unwrap();
    let x: DMatrix<f64> = rng.randn_matrix(3, 5);
    let out = cell.step(&x, &Empty::default()).unwrap().output;

    let mut z = &w * &x;
    for mut col in z.column_iter_mut() {
        col += &b;
    }
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let hard = |v: f64| (0.2 * v + 0.5).clamp(0.0, 1.0);
    for j in 0..5 {
        let col = z.column(j);
        let max = col.max();
        let sum: f64 = col.iter().map(|v| (v - max).exp()).sum();
        for i in 0..4 {
            let v = z[(i, j)];
            assert!(close(out.y1[(i, j)], v.max(0.0) - hard(v) / 2.0));
            assert!(close(out.y2[(i, j)], (-v).exp() * (1.0 + sig(v)).ln()));
            assert!(close(out.p[(i, j)], (v - max).exp() / sum));
            assert!(close(out.t[(i, j)], (2.5 * v).tanh() - v));
        }
    }
}

#[test]
fn a_parameter_shared_by_two_products() {
    let mut rng = NumpyRng::new(8);
    let (w, u): (DMatrix<f64>, DMatrix<f64>) = (rng.randn_matrix(3, 3), rng.randn_matrix(3, 3));
    let cell = Tied::new(
        TiedDims { n: 3 },
        &TiedParams {
            w: w.clone(),
            u: u.clone(),
        },
    )
    .unwrap();
    let steps: Vec<DMatrix<f64>> = (0..4).map(|_| rng.randn_matrix(3, 2)).collect();
    let trace = cell
        .forward(&Sequence::from_steps(&steps).unwrap(), &cell.zero_state(2))
        .unwrap();
    let mut h = DMatrix::zeros(3, 2);
    for x in &steps {
        h = (&w * x + &w * &h + &u * &h).map(f64::tanh);
    }
    let ours = cell.state_at(&trace, 4).unwrap().h;
    assert!(ours.iter().zip(h.iter()).all(|(a, b)| close(*a, *b)));
}

cell! {
    /// A cell with run-time activations and declared initialisers.
    pub cell Configurable {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a];
        activation act = tanh, gate = sigmoid;
        param w: [n_a, n_x] = glorot_uniform, u: [n_a, n_a] = orthogonal;
        param w_g: [n_a, n_x + n_a] = normal(0, 0.5), b: [n_a] = constant(0.25), b_g: [n_a] = ones;
        let g = gate(w_g @ [x, h] + b_g);
        h = g * act(w @ x + u @ h + b) + (1 - g) * h;
    }
}

#[test]
fn declared_initialisers_are_used() {
    let cell =
        Configurable::<f64>::init(ConfigurableDims { n_x: 3, n_a: 4 }, &mut NumpyRng::new(2))
            .unwrap();
    let p = cell.params();
    assert!(p.b.iter().all(|v| *v == 0.25));
    assert!(p.b_g.iter().all(|v| *v == 1.0));
    let gram = p.u.transpose() * &p.u;
    assert!((gram - DMatrix::identity(4, 4)).abs().max() < 1e-12);
    let limit = (6.0f64 / 7.0).sqrt();
    assert!(p.w.iter().all(|v| v.abs() <= limit));
}

#[test]
fn run_time_activations_change_the_function_and_keep_gradients_exact() {
    use cellforge::gradcheck::{LinearLoss, check_gradients};
    let mut rng = NumpyRng::new(4);
    let base = Configurable::<f64>::init(ConfigurableDims { n_x: 2, n_a: 3 }, &mut rng).unwrap();
    let xs = Sequence::new(rng.randn_matrix(2, 6), 2).unwrap();
    let h0 = ConfigurableState {
        h: rng.randn_matrix(3, 2),
    };
    let mut finals = Vec::new();
    for (_, act) in Activation::ALL {
        let cell = base.clone().with_activation("act", act).unwrap();
        assert_eq!(cell.activations(), &[act, Activation::Sigmoid]);
        let trace = cell.forward(&xs, &h0).unwrap();
        finals.push(cell.state_at(&trace, 3).unwrap().h);
        let loss = LinearLoss::random(&trace, &mut rng);
        let report = check_gradients(&cell, &xs, &h0, &loss, 1e-4).unwrap();
        assert!(report.worst() < 1e-7, "{act:?}\n{report}");
    }
    assert!(
        finals.windows(2).all(|w| w[0] != w[1]),
        "each activation gives other numbers"
    );
    let err = base.with_activation("nope", Activation::Relu).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no activation `nope`; the activations are act, gate"
    );
}

/// Each pair of run-time activations, chosen once per pass, computes what
/// its functions say: one step against the equations written out with
/// `Activation::apply`.
#[test]
fn every_pair_of_run_time_activations_computes_its_functions() {
    let mut rng = NumpyRng::new(8);
    let base = Configurable::<f64>::init(ConfigurableDims { n_x: 2, n_a: 3 }, &mut rng).unwrap();
    let x = rng.randn_matrix(2, 4);
    let h = rng.randn_matrix(3, 4);
    for (_, act) in Activation::ALL {
        for (_, gate) in Activation::ALL {
            let cell = base
                .clone()
                .with_activation("act", act)
                .unwrap()
                .with_activation("gate", gate)
                .unwrap();
            let p = cell.params();
            let z = DMatrix::from_fn(5, 4, |i, j| if i < 2 { x[(i, j)] } else { h[(i - 2, j)] });
            let mut g = &p.w_g * &z;
            let mut a = &p.w * &x + &p.u * &h;
            for j in 0..4 {
                for i in 0..3 {
                    g[(i, j)] = gate.apply(g[(i, j)] + p.b_g[i]);
                    a[(i, j)] = act.apply(a[(i, j)] + p.b[i]);
                }
            }
            let expected = g.component_mul(&a) + (g.map(|v| 1.0 - v)).component_mul(&h);
            let step = cell.step(&x, &ConfigurableState { h: h.clone() }).unwrap();
            let err = (step.state.h - expected).abs().max();
            assert!(err < 1e-14, "act {act:?}, gate {gate:?}: {err}");
        }
    }
}

cell! {
    /// Shadowed and look-alike names: each value must keep its own local.
    pub cell Names {
        dims n;
        input x: [n];
        state a: [n], b: [n];
        let z = tanh(x);
        let z = sigmoid(z);
        let z_3 = -z;
        let v = tanh(x);
        let _v_v = sigmoid(v);
        a = z + z_3 * 0.5;
        b = _v_v;
    }
}

#[test]
fn shadowed_and_look_alike_names_keep_their_values() {
    use cellforge::gradcheck::{LinearLoss, check_gradients};
    let cell = Names::<f64>::zeros(NamesDims { n: 2 }).unwrap();
    let xs = Sequence::new(DMatrix::from_column_slice(2, 1, &[0.3, -1.2]), 1).unwrap();
    let s0 = NamesState {
        a: DMatrix::zeros(2, 1),
        b: DMatrix::zeros(2, 1),
    };
    let trace = cell.forward(&xs, &s0).unwrap();
    let next = cell.state_at(&trace, 1).unwrap();
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    for (i, x) in [0.3f64, -1.2].into_iter().enumerate() {
        let z = sig(x.tanh());
        assert!((next.a[(i, 0)] - 0.5 * z).abs() < 1e-15);
        assert!((next.b[(i, 0)] - sig(x.tanh())).abs() < 1e-15);
    }
    let loss = LinearLoss::random(&trace, &mut NumpyRng::new(1));
    assert!(
        check_gradients(&cell, &xs, &s0, &loss, 1e-4)
            .unwrap()
            .worst()
            < 1e-7
    );
}

cell! {
    /// A length that is only positive for some dimensions.
    pub cell Shrinking {
        dims n;
        input x: [n];
        state a: [n - 2];
        param w: [n - 2, n];
        a = tanh(w @ x);
    }
}

#[test]
fn a_length_below_one_for_these_dimensions_is_an_error() {
    let err = Shrinking::<f64>::zeros(ShrinkingDims { n: 1 }).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the length `n - 2` in `Shrinking` must be at least 1, found -1"
    );
    assert!(Shrinking::<f64>::zeros(ShrinkingDims { n: 3 }).is_ok());
}

cell! {
    /// Reductions: of a stack of two products and of the input, numbers per
    /// example combined with each other and broadcast along vectors from
    /// either side.
    pub cell Reductions {
        dims n_x, n_h;
        input x: [n_x];
        param w: [n_h, n_x], u: [n_h, n_x], g: [n_h];
        let a = w @ x;
        let s = [a, u @ x];
        let n = (a - mean(s)) / sqrt(var(s) + 0.5);
        output y = g * n + sum(u @ x) * 0.1;
        output q = mean(x) - x / (1 + var(x));
    }
}

#[test]
fn reductions_match_a_direct_computation() {
    let mut rng = NumpyRng::new(9);
    let (w, u): (DMatrix<f64>, DMatrix<f64>) = (rng.randn_matrix(3, 2), rng.randn_matrix(3, 2));
    let g: DVector<f64> = rng.randn_matrix::<f64>(3, 1).column(0).into_owned();
    let cell = Reductions::new(
        ReductionsDims { n_x: 2, n_h: 3 },
        &ReductionsParams {
            w: w.clone(),
            u: u.clone(),
            g: g.clone(),
        },
    )
    .unwrap();
    let x: DMatrix<f64> = rng.randn_matrix(2, 4);
    let out = cell.step(&x, &Empty::default()).unwrap().output;
    let (a, b) = (&w * &x, &u * &x);
    for j in 0..4 {
        let s: Vec<f64> = a
            .column(j)
            .iter()
            .chain(b.column(j).iter())
            .copied()
            .collect();
        let mean = s.iter().sum::<f64>() / 6.0;
        let var = s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        let sum_b: f64 = b.column(j).sum();
        let (mx, vx) = (x.column(j).mean(), x.column(j).variance());
        for i in 0..3 {
            let y = g[i] * (a[(i, j)] - mean) / (var + 0.5).sqrt() + sum_b * 0.1;
            assert!(close(out.y[(i, j)], y), "y[{i}, {j}]");
        }
        for i in 0..2 {
            assert!(
                close(out.q[(i, j)], mx - x[(i, j)] / (1.0 + vx)),
                "q[{i}, {j}]"
            );
        }
    }
    use cellforge::gradcheck::{LinearLoss, check_gradients};
    let xs = Sequence::new(x, 4).unwrap();
    let trace = cell.forward(&xs, &Empty::default()).unwrap();
    let loss = LinearLoss::random(&trace, &mut rng);
    let report = check_gradients(&cell, &xs, &Empty::default(), &loss, 1e-4).unwrap();
    assert!(report.worst() < 1e-7, "{report}");
}

/// A trace keeps the weights it packed from one run to the next of the same
/// cell; a change of the weights, another cell or a clone is seen, and the
/// run gives the numbers of a fresh trace.
#[test]
fn a_reused_trace_follows_changes_of_the_weights() {
    use cellforge::cells::lstm::{Lstm, LstmDims};
    let mut rng = NumpyRng::new(12);
    let dims = LstmDims {
        n_x: 3,
        n_a: 5,
        n_y: 2,
    };
    let mut cell = Lstm::<f64>::init(dims, &mut rng).unwrap();
    let other = Lstm::<f64>::init(dims, &mut rng).unwrap();
    let xs = Sequence::new(rng.randn_matrix(3, 4 * 6), 4).unwrap();
    let s0 = cell.zero_state(4);
    let fresh = |c: &Lstm<f64>| c.forward(&xs, &s0).unwrap().state(0).unwrap().clone();
    let mut trace = cell.forward(&xs, &s0).unwrap();
    let reused = |c: &Lstm<f64>, trace: &mut Trace<f64>| {
        c.forward_into(&xs, &s0, trace).unwrap();
        trace.state(0).unwrap().clone()
    };
    assert_eq!(reused(&cell, &mut trace), fresh(&cell));
    cell.flat_params_mut()[0] += 0.5;
    assert_eq!(reused(&cell, &mut trace), fresh(&cell), "after a change");
    assert_eq!(reused(&other, &mut trace), fresh(&other), "another cell");
    let mut copy = cell.clone();
    copy.flat_params_mut()[1] -= 0.25;
    assert_eq!(reused(&copy, &mut trace), fresh(&copy), "a changed clone");
    assert_eq!(reused(&cell, &mut trace), fresh(&cell), "back to the first");
    assert_ne!(fresh(&copy), fresh(&cell));
}
