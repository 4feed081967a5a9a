//! Regularisers declared in the equations: variational dropout, zoneout and
//! DropConnect (the cells of `cells/`).
//!
//! - Each mask is drawn as its law says: once per sequence, at every step,
//!   or once per batch, with the law's values and rate, the same for the
//!   same seed.
//! - The fused step applies it as the equations say, checked against a
//!   direct nalgebra computation of each cell with the masks of the run.
//! - In inference each mask is its expectation (the variational LSTM is then
//!   the plain LSTM); a model draws masks in training only.
//! - The gradients, with the masks of a training run held fixed, agree with
//!   finite differences for every parameter, input and initial state, also
//!   together with a mask of padded steps.
//! - Masks and reductions in unusual places (DropConnect on a hoisted input
//!   weight, dropout inside a reduction, numbers per example used levels
//!   above where they are computed) compute what they say, with exact
//!   gradients.

use cellforge::cells::keras;
use cellforge::cells::variational_lstm::{
    VariationalLstm, VariationalLstmDims, VariationalLstmState,
};
use cellforge::cells::weight_drop_lstm::{WeightDropLstm, WeightDropLstmDims, WeightDropLstmState};
use cellforge::cells::zoneout_lstm::{ZoneoutLstm, ZoneoutLstmDims, ZoneoutLstmState};
use cellforge::gradcheck::{Conditions, LinearLoss, check_gradients_with};
use cellforge::nn::layers::{Dense, Recurrent};
use cellforge::nn::{Shape, Tensor};
use cellforge::prelude::*;
use cellforge::{Mask, Noise, cell};
use nalgebra::{DMatrix, DVector};

const N_X: usize = 3;
const N_H: usize = 5;
const M: usize = 4;
const STEPS: usize = 6;

fn randomize<C: Cell<f64>>(cell: &mut C, rng: &mut NumpyRng) {
    for p in cell.flat_params_mut() {
        *p = 0.5 * rng.standard_normal();
    }
}

fn data(rng: &mut NumpyRng) -> (Sequence<f64>, DMatrix<f64>, DMatrix<f64>) {
    let xs = Sequence::new(rng.randn_matrix(N_X, M * STEPS), M).unwrap();
    (xs, rng.randn_matrix(N_H, M), rng.randn_matrix(N_H, M))
}

fn variational(rng: &mut NumpyRng) -> VariationalLstm<f64> {
    let mut cell = VariationalLstm::zeros(VariationalLstmDims { n_x: N_X, n_h: N_H }).unwrap();
    randomize(&mut cell, rng);
    cell.with_rate("d", 0.4).unwrap()
}

fn zoneout(rng: &mut NumpyRng) -> ZoneoutLstm<f64> {
    let mut cell = ZoneoutLstm::zeros(ZoneoutLstmDims { n_x: N_X, n_h: N_H }).unwrap();
    randomize(&mut cell, rng);
    cell.with_rate("z_h", 0.3).unwrap()
}

fn weight_drop(rng: &mut NumpyRng) -> WeightDropLstm<f64> {
    let mut cell = WeightDropLstm::zeros(WeightDropLstmDims { n_x: N_X, n_h: N_H }).unwrap();
    randomize(&mut cell, rng);
    cell
}

/// An LSTM's weights in Keras's form, gates in its order `i, f, c, o`.
struct Weights {
    w: [DMatrix<f64>; 4],
    u: [DMatrix<f64>; 4],
    b: [DVector<f64>; 4],
}

/// The weights of any of the three cells (they are named as Keras names them).
macro_rules! weights {
    ($cell:expr) => {{
        let p = $cell.params();
        Weights {
            w: [p.w_i, p.w_f, p.w_c, p.w_o],
            u: [p.u_i, p.u_f, p.u_c, p.u_o],
            b: [p.b_i, p.b_f, p.b_c, p.b_o],
        }
    }};
}

/// The masks of a run, as each cell's equations apply them.
enum Masks<'a> {
    /// On the state the gates read, the same at every step.
    Dropout(&'a DMatrix<f64>),
    /// Per step, on the memory and on the hidden state.
    Zoneout(&'a [DMatrix<f64>]),
    /// On each recurrent weight.
    DropConnect(&'a [DMatrix<f64>]),
}

fn sig(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `w z + b`, the bias added to every column.
fn affine(w: &DMatrix<f64>, z: &DMatrix<f64>, b: &DVector<f64>) -> DMatrix<f64> {
    let mut out = w * z;
    for mut col in out.column_iter_mut() {
        col += b;
    }
    out
}

/// The states after every step of an LSTM with these weights and masks,
/// computed directly.
fn reference(
    weights: &Weights,
    xs: &Sequence<f64>,
    (mut h, mut c): (DMatrix<f64>, DMatrix<f64>),
    masks: Masks<'_>,
) -> Vec<(DMatrix<f64>, DMatrix<f64>)> {
    let u: Vec<DMatrix<f64>> = match masks {
        Masks::DropConnect(m) => weights
            .u
            .iter()
            .zip(m)
            .map(|(u, m)| u.component_mul(m))
            .collect(),
        _ => weights.u.to_vec(),
    };
    let m = xs.m();
    let mut out = Vec::new();
    for t in 0..xs.steps() {
        let x = xs.step(t).unwrap().into_owned();
        let seen = match masks {
            Masks::Dropout(d) => h.component_mul(d),
            _ => h.clone(),
        };
        let pre: Vec<DMatrix<f64>> = (0..4)
            .map(|k| affine(&weights.w[k], &x, &weights.b[k]) + &u[k] * &seen)
            .collect();
        let (i, f, g, o) = (
            pre[0].map(sig),
            pre[1].map(sig),
            pre[2].map(f64::tanh),
            pre[3].map(sig),
        );
        let c_new = f.component_mul(&c) + i.component_mul(&g);
        let h_new = o.component_mul(&c_new.map(f64::tanh));
        (h, c) = match masks {
            Masks::Zoneout(z) => {
                let keep = |z: &DMatrix<f64>, old: &DMatrix<f64>, new: &DMatrix<f64>| {
                    let z = z.columns(t * m, m);
                    z.component_mul(old) + z.map(|v| 1.0 - v).component_mul(new)
                };
                (keep(&z[1], &h, &h_new), keep(&z[0], &c, &c_new))
            }
            _ => (h_new, c_new),
        };
        out.push((h.clone(), c.clone()));
    }
    out
}

/// Asserts that the trace's states after every step are `expected[t]`.
fn assert_states(trace: &Trace<f64>, expected: &[(DMatrix<f64>, DMatrix<f64>)]) {
    for (t, (h, c)) in expected.iter().enumerate() {
        for (k, want) in [h, c].into_iter().enumerate() {
            let got = trace.state_at(k, t + 1).unwrap();
            let diff = (got - want).abs().max();
            assert!(
                diff < 1e-12,
                "state {k} after step {}: off by {diff}",
                t + 1
            );
        }
    }
}

fn dims_of(m: &DMatrix<f64>) -> (usize, usize) {
    m.shape()
}

#[test]
fn masks_are_drawn_once_per_sequence_at_every_step_or_once_per_batch() {
    let mut rng = NumpyRng::new(1);
    let (xs, h0, c0) = data(&mut rng);
    let v = variational(&mut rng);
    let trace = v
        .forward_train(
            &xs,
            &VariationalLstmState {
                h: h0.clone(),
                c: c0.clone(),
            },
            &mut rng,
        )
        .unwrap();
    let d = &trace.noise()[0];
    assert_eq!(dims_of(d), (N_H, M), "dropout: one mask per example");
    assert!(d.iter().all(|&v| v == 0.0 || v == 1.0 / 0.6));
    assert!(d.iter().any(|&v| v == 0.0) && d.iter().any(|&v| v != 0.0));

    let z = zoneout(&mut rng);
    let trace = z
        .forward_train(
            &xs,
            &ZoneoutLstmState {
                h: h0.clone(),
                c: c0.clone(),
            },
            &mut rng,
        )
        .unwrap();
    for mask in trace.noise() {
        assert_eq!(dims_of(mask), (N_H, M * STEPS), "zoneout: a mask per step");
        assert!(mask.iter().all(|&v| v == 0.0 || v == 1.0));
    }

    let w = weight_drop(&mut rng);
    let trace = w
        .forward_train(&xs, &WeightDropLstmState { h: h0, c: c0 }, &mut rng)
        .unwrap();
    assert_eq!(trace.noise().len(), 4);
    for mask in trace.noise() {
        assert_eq!(dims_of(mask), (N_H, N_H), "DropConnect: the weight's shape");
        assert!(mask.iter().all(|&v| v == 0.0 || v == 2.0));
    }
}

#[test]
fn the_same_seed_draws_the_same_masks() {
    let mut rng = NumpyRng::new(2);
    let (xs, h, c) = data(&mut rng);
    let cell = zoneout(&mut rng);
    let s0 = ZoneoutLstmState { h, c };
    let a = cell.forward_train(&xs, &s0, &mut NumpyRng::new(5)).unwrap();
    let b = cell.forward_train(&xs, &s0, &mut NumpyRng::new(5)).unwrap();
    let other = cell.forward_train(&xs, &s0, &mut NumpyRng::new(6)).unwrap();
    assert_eq!(a.noise(), b.noise());
    assert_eq!(a.state(0), b.state(0));
    assert_ne!(a.noise(), other.noise());
    assert_ne!(a.state(0), other.state(0));
}

#[test]
fn the_rates_are_the_fraction_of_units_masked() {
    let mut rng = NumpyRng::new(3);
    let m = 500;
    let xs = Sequence::new(rng.randn_matrix(N_X, m * STEPS), m).unwrap();
    let cell = zoneout(&mut rng).with_rate("z_c", 0.2).unwrap();
    let trace = cell
        .forward_train(&xs, &cell.zero_state(m), &mut rng)
        .unwrap();
    for (mask, p) in trace.noise().iter().zip([0.2, 0.3]) {
        let kept = mask.iter().filter(|&&v| v == 1.0).count() as f64 / mask.len() as f64;
        assert!((kept - p).abs() < 0.01, "{kept} vs {p}");
    }
}

#[test]
fn the_fused_step_applies_the_masks_as_the_equations_say() {
    let mut rng = NumpyRng::new(4);
    let (xs, h0, c0) = data(&mut rng);
    let s0 = (h0.clone(), c0.clone());

    let v = variational(&mut rng);
    let state = VariationalLstmState {
        h: h0.clone(),
        c: c0.clone(),
    };
    for trace in [
        v.forward_train(&xs, &state, &mut rng).unwrap(),
        v.forward(&xs, &state).unwrap(),
    ] {
        let masks = Masks::Dropout(&trace.noise()[0]);
        assert_states(&trace, &reference(&weights!(v), &xs, s0.clone(), masks));
    }

    let z = zoneout(&mut rng);
    let state = ZoneoutLstmState {
        h: h0.clone(),
        c: c0.clone(),
    };
    for trace in [
        z.forward_train(&xs, &state, &mut rng).unwrap(),
        z.forward(&xs, &state).unwrap(),
    ] {
        let masks = Masks::Zoneout(trace.noise());
        assert_states(&trace, &reference(&weights!(z), &xs, s0.clone(), masks));
    }

    let w = weight_drop(&mut rng);
    let state = WeightDropLstmState { h: h0, c: c0 };
    for trace in [
        w.forward_train(&xs, &state, &mut rng).unwrap(),
        w.forward(&xs, &state).unwrap(),
    ] {
        let masks = Masks::DropConnect(trace.noise());
        assert_states(&trace, &reference(&weights!(w), &xs, s0.clone(), masks));
    }
}

#[test]
fn inference_uses_each_mask_s_expectation() {
    let mut rng = NumpyRng::new(5);
    let (xs, h, c) = data(&mut rng);
    let z = zoneout(&mut rng);
    let trace = z
        .forward(
            &xs,
            &ZoneoutLstmState {
                h: h.clone(),
                c: c.clone(),
            },
        )
        .unwrap();
    assert!(trace.noise()[0].iter().all(|&v| v == 0.5));
    assert!(trace.noise()[1].iter().all(|&v| v == 0.3));

    // In inference the variational LSTM is Keras's LSTM with its weights.
    let v = variational(&mut rng);
    let p = v.params();
    let plain = keras::Lstm::new(
        keras::LstmDims {
            n_x: N_X,
            units: N_H,
        },
        &keras::LstmParams {
            w_i: p.w_i,
            w_f: p.w_f,
            w_c: p.w_c,
            w_o: p.w_o,
            u_i: p.u_i,
            u_f: p.u_f,
            u_c: p.u_c,
            u_o: p.u_o,
            b_i: p.b_i,
            b_f: p.b_f,
            b_c: p.b_c,
            b_o: p.b_o,
        },
    )
    .unwrap();
    let a = v
        .forward(
            &xs,
            &VariationalLstmState {
                h: h.clone(),
                c: c.clone(),
            },
        )
        .unwrap();
    let b = plain.forward(&xs, &keras::LstmState { h, c }).unwrap();
    for k in 0..2 {
        let diff = (a.state(k).unwrap() - b.state(k).unwrap()).abs().max();
        assert!(diff < 1e-14, "state {k}: {diff}");
    }
}

#[test]
fn dropped_weights_get_no_gradient() {
    let mut rng = NumpyRng::new(6);
    let (xs, h, c) = data(&mut rng);
    let w = weight_drop(&mut rng);
    let trace = w
        .forward_train(&xs, &WeightDropLstmState { h, c }, &mut rng)
        .unwrap();
    let loss = LinearLoss::random(&trace, &mut rng);
    let (_, up) = cellforge::gradcheck::Loss::eval(&loss, &trace).unwrap();
    let grads = w.param_grads(&w.backward(&trace, &up).unwrap());
    let masks = trace.noise();
    for (g, m) in [&grads.u_i, &grads.u_f, &grads.u_c, &grads.u_o]
        .into_iter()
        .zip(masks)
    {
        for (gv, mv) in g.iter().zip(m.iter()) {
            assert_eq!(
                *gv == 0.0,
                *mv == 0.0,
                "gradient {gv} where the mask is {mv}"
            );
        }
    }
    // The input weights are not dropped.
    assert!(grads.w_f.iter().all(|v| *v != 0.0));
}

// ANCHOR: fixed_masks
/// Draws the masks of one training run, then checks the gradients of runs
/// that all use those masks (and, with `padded`, a mask of padded steps).
fn check_fixed<C: Cell<f64> + Clone>(cell: &C, seed: u32, padded: bool) {
    let mut rng = NumpyRng::new(seed);
    let xs = Sequence::new(rng.randn_matrix(N_X, M * STEPS), M).unwrap();
    let rows = cell.layout().states;
    let s0 = C::State::from_parts(rows.iter().map(|&n| rng.randn_matrix(n, M)).collect());
    let mask = Mask::from_lengths(&[STEPS, 2, 4, 1], STEPS).unwrap();
    let mask = padded.then_some(&mask);
    let trace = cell
        .forward_with(&xs, &s0, mask, Noise::Sample(&mut rng))
        .unwrap();
    let noise = trace.noise().to_vec();
    let loss = LinearLoss::random(&trace, &mut rng);
    let conditions = Conditions {
        mask,
        noise: Some(&noise),
    };
    let report = check_gradients_with(cell, &xs, &s0, &loss, 1e-4, conditions).unwrap();
    assert!(
        report.worst() < 1e-7,
        "{} (padded: {padded}):\n{report}",
        C::SPEC.name
    );
    assert_eq!(
        report.tensors.len(),
        C::SPEC.params.len() + 1 + C::SPEC.states.len()
    );
}
// ANCHOR_END: fixed_masks

cell! {
    /// Masks and numbers per example in unusual places: DropConnect on an
    /// input weight (whose product is hoisted) and on a weight of `[h, x]`,
    /// dropout inside a reduction, a number per example used two levels
    /// above where it was computed, and one computed from another of an
    /// earlier level.
    pub cell Unusual {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h];
        param w: [n_h, n_x], v: [n_h, n_h + n_x], u: [n_h, n_h], b: [n_h];
        mask m: [n_h, n_x] = dropconnect(0.3), n: [n_h, n_h + n_x] = dropconnect(0.3);
        mask d: [n_h] = dropout(0.3);
        let s = mean(h * d);
        let t = sqrt(var(h) + 1);
        let g = tanh((w * m) @ x + (v * n) @ [h, x]);
        let r = t * mean(g);
        h = tanh(u @ g + b) - s + r;
    }
}

cell! {
    /// Every construct at once: a normalised stack of an input product and a
    /// DropConnect product, zoneout on the memory, dropout on a stacked part,
    /// and a sum of the memory.
    pub cell Everything {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w: [n_h, n_x], u: [n_h, n_h], v: [n_h, n_h + n_x], g: [n_h] = ones, b: [n_h];
        mask d: [n_h] = dropout(0.25), z: [n_h] = zoneout(0.3);
        mask m: [n_h, n_h] = dropconnect(0.5);
        let s = [w @ x, (u * m) @ h];
        let n = (w @ x - mean(s)) / sqrt(var(s) + 0.00001);
        c = z * c + (1 - z) * tanh(g * n + b + sum(c) / 4);
        h = tanh(v @ [h * d, x]) * c;
    }
}

fn column_mean(v: &DMatrix<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(1, v.ncols(), |_, j| v.column(j).mean())
}

/// Each column of `v` plus the number of its example in `per`.
fn plus_per_example(v: &DMatrix<f64>, per: &DMatrix<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)] + per[(0, j)])
}

#[test]
fn masks_and_numbers_per_example_in_unusual_places() {
    let mut rng = NumpyRng::new(20);
    let mut cell = Unusual::zeros(UnusualDims { n_x: N_X, n_h: N_H }).unwrap();
    randomize(&mut cell, &mut rng);
    let xs = Sequence::new(rng.randn_matrix(N_X, M * STEPS), M).unwrap();
    let h0: DMatrix<f64> = rng.randn_matrix(N_H, M);
    let trace = cell
        .forward_train(&xs, &UnusualState { h: h0.clone() }, &mut rng)
        .unwrap();
    let [m, n, d] = trace.noise() else {
        panic!("three masks")
    };
    let p = cell.params();
    let (w, v) = (p.w.component_mul(m), p.v.component_mul(n));
    let mut h = h0;
    for t in 0..STEPS {
        let x = xs.step(t).unwrap().into_owned();
        let s = column_mean(&h.component_mul(d));
        let t_ = DMatrix::from_fn(1, M, |_, j| (h.column(j).variance() + 1.0).sqrt());
        let hx = DMatrix::from_fn(N_H + N_X, M, |i, j| {
            if i < N_H { h[(i, j)] } else { x[(i - N_H, j)] }
        });
        let g = (&w * &x + &v * &hx).map(f64::tanh);
        let r = t_.component_mul(&column_mean(&g));
        let next = affine(&p.u, &g, &p.b).map(f64::tanh);
        h = plus_per_example(&plus_per_example(&next, &(-s)), &r);
        let diff = (trace.state_at(0, t + 1).unwrap() - &h).abs().max();
        assert!(diff < 1e-12, "step {}: off by {diff}", t + 1);
    }
    check_fixed(&cell, 21, false);
    check_fixed(&cell, 22, true);
    let mut everything = Everything::zeros(EverythingDims { n_x: N_X, n_h: N_H }).unwrap();
    randomize(&mut everything, &mut rng);
    check_fixed(&everything, 23, false);
    check_fixed(&everything, 24, true);
}

#[test]
fn gradients_with_the_masks_of_a_training_run() {
    let mut rng = NumpyRng::new(7);
    check_fixed(&variational(&mut rng), 8, false);
    check_fixed(&zoneout(&mut rng), 9, false);
    check_fixed(&weight_drop(&mut rng), 10, false);
}

#[test]
fn gradients_with_masks_and_padding() {
    let mut rng = NumpyRng::new(11);
    check_fixed(&variational(&mut rng), 12, true);
    check_fixed(&zoneout(&mut rng), 13, true);
    check_fixed(&weight_drop(&mut rng), 14, true);
}

// ANCHOR: model
#[test]
fn a_model_draws_masks_in_training_only() {
    let mut rng = NumpyRng::new(15);
    let cell = VariationalLstm::<f64>::init(VariationalLstmDims { n_x: 2, n_h: 6 }, &mut rng)
        .unwrap()
        .with_rate("d", 0.5)
        .unwrap();
    let mut model = cellforge::nn::model::Sequential::<f64>::new(
        Shape::Seq {
            features: 2,
            steps: Some(8),
        },
        3,
    )
    .add_layer(Box::new(Recurrent::new("VariationalLSTM", cell.clone())))
    .unwrap()
    .add(Dense::new(1))
    .unwrap();
    let x = Tensor::Seq(Sequence::new(rng.randn_matrix(2, 5 * 8), 5).unwrap());
    let train = [0, 1].map(|_| model.forward(&x, true).unwrap());
    let infer = [0, 1].map(|_| model.forward(&x, false).unwrap());
    assert_ne!(train[0], train[1], "training draws new masks");
    assert_eq!(infer[0], infer[1], "inference is deterministic");
    assert_ne!(infer[0], train[0]);
}
// ANCHOR_END: model

#[test]
fn mistakes_with_masks_are_errors_that_name_them() {
    let mut rng = NumpyRng::new(16);
    let (xs, h, c) = data(&mut rng);
    let z = zoneout(&mut rng);
    let err = z.clone().with_rate("z_x", 0.1).unwrap_err();
    assert_eq!(err.to_string(), "no mask `z_x`; the masks are z_c, z_h");
    let err = z.clone().with_rate("z_c", 1.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the rate of mask `z_c` of `ZoneoutLstm` must be a value in [0, 1), found 1"
    );
    let wrong = vec![DMatrix::zeros(N_H, M), DMatrix::zeros(N_H, M * STEPS)];
    let err = z
        .forward_with(&xs, &ZoneoutLstmState { h, c }, None, Noise::Fixed(&wrong))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "mask `z_c` given to `ZoneoutLstm` must be {N_H} × {} (zoneout mask), found {N_H} × {M}",
            M * STEPS
        )
    );
}
