//! Sequences of different lengths in one batch: with a mask, padded steps
//! carry each example's states unchanged and contribute no gradient. Checked
//! against running each example alone on its real steps: final states, and
//! the gradients of parameters (summed over the examples), inputs and
//! initial states, for padding after (lengths) and before (Keras's
//! `pad_sequences`) the real steps.

use cellforge::cells::keras;
use cellforge::cells::lstm::LstmDims;
use cellforge::prelude::*;
use cellforge::{Mask, Upstream};
use nalgebra::DMatrix;

const STEPS: usize = 5;
const LENGTHS: [usize; 3] = [5, 2, 4];

/// Runs `cell` on the batch with a mask and on each example alone, and
/// compares everything.
fn compare<C: Cell<f64>>(cell: &C, n_x: usize, pre: bool, seed: u32) {
    let mut rng = NumpyRng::new(seed);
    let m = LENGTHS.len();
    let x: DMatrix<f64> = rng.randn_matrix(n_x, m * STEPS);
    let s0: Vec<DMatrix<f64>> = cell
        .layout()
        .states
        .iter()
        .map(|&n| rng.randn_matrix(n, m))
        .collect();
    let g: Vec<DMatrix<f64>> = cell
        .layout()
        .states
        .iter()
        .map(|&n| rng.randn_matrix(n, m))
        .collect();
    let mask = if pre {
        Mask::from_lengths_pre(&LENGTHS, STEPS)
    } else {
        Mask::from_lengths(&LENGTHS, STEPS)
    }
    .unwrap();
    let xs = Sequence::new(x.clone(), m).unwrap();
    let trace = cell
        .forward_masked(&xs, &C::State::from_parts(s0.clone()), &mask)
        .unwrap();
    // The loss: G ⊙ the final states.
    let mut up = Upstream::zeros_like(&trace);
    for (k, gk) in g.iter().enumerate() {
        up.state_at_mut(k, STEPS).unwrap().copy_from(gk);
    }
    let batch = cell.backward(&trace, &up).unwrap();
    let mut params = vec![0.0; cell.flat_params().len()];
    for (j, &len) in LENGTHS.iter().enumerate() {
        let first = if pre { STEPS - len } else { 0 };
        let xj = DMatrix::from_fn(n_x, len, |i, t| x[(i, (first + t) * m + j)]);
        let s0j: Vec<DMatrix<f64>> = s0.iter().map(|s| s.columns(j, 1).into_owned()).collect();
        let alone = cell
            .forward(&Sequence::new(xj, 1).unwrap(), &C::State::from_parts(s0j))
            .unwrap();
        for k in 0..g.len() {
            let ours = trace.state_at(k, STEPS).unwrap().column(j).into_owned();
            let theirs = alone.state_at(k, len).unwrap().column(0).into_owned();
            assert!(
                (ours - theirs).abs().max() < 1e-12,
                "{} example {j} state {k}",
                C::SPEC.name
            );
        }
        let mut upj = Upstream::zeros_like(&alone);
        for (k, gk) in g.iter().enumerate() {
            upj.state_at_mut(k, len)
                .unwrap()
                .copy_from(&gk.columns(j, 1));
        }
        let gj = cell.backward(&alone, &upj).unwrap();
        for (p, q) in params.iter_mut().zip(gj.params()) {
            *p += q;
        }
        for t in 0..STEPS {
            let ours = batch.input_at(t + 1).unwrap().column(j).into_owned();
            let real = t >= first && t < first + len;
            let theirs = if real {
                gj.input_at(t - first + 1).unwrap().column(0).into_owned()
            } else {
                ours.map(|_| 0.0)
            };
            assert!(
                (ours - theirs).abs().max() < 1e-12,
                "{} example {j} input gradient at step {t}",
                C::SPEC.name
            );
        }
        for k in 0..g.len() {
            let ours = batch.initial_state(k).unwrap().column(j).into_owned();
            let theirs = gj.initial_state(k).unwrap().column(0).into_owned();
            assert!(
                (ours - theirs).abs().max() < 1e-12,
                "{} example {j} initial state {k}",
                C::SPEC.name
            );
        }
    }
    for (a, b) in batch.params().iter().zip(&params) {
        assert!(
            (a - b).abs() < 1e-12 * (1.0 + b.abs()),
            "{}: parameter gradient {a} vs {b}",
            C::SPEC.name
        );
    }
}

fn randomised<C: Cell<f64>>(mut cell: C, seed: u32) -> C {
    let mut rng = NumpyRng::new(seed);
    for p in cell.flat_params_mut() {
        *p = 0.5 * rng.standard_normal();
    }
    cell
}

#[test]
fn masked_batches_match_examples_run_alone() {
    for pre in [false, true] {
        compare(
            &randomised(
                Lstm::zeros(LstmDims {
                    n_x: 3,
                    n_a: 4,
                    n_y: 2,
                })
                .unwrap(),
                1,
            ),
            3,
            pre,
            11,
        );
        compare(
            &randomised(
                keras::Gru::zeros(keras::GruDims { n_x: 2, units: 3 }).unwrap(),
                2,
            ),
            2,
            pre,
            12,
        );
        compare(
            &randomised(
                keras::SimpleRnn::zeros(keras::SimpleRnnDims { n_x: 2, units: 3 }).unwrap(),
                3,
            ),
            2,
            pre,
            13,
        );
    }
}

#[test]
fn bad_masks_are_errors() {
    assert!(Mask::from_lengths(&[6], 5).is_err());
    assert!(Mask::new(vec![true; 5], 2, 3).is_err());
    let cell = keras::SimpleRnn::<f64>::zeros(keras::SimpleRnnDims { n_x: 1, units: 1 }).unwrap();
    let xs = Sequence::new(DMatrix::zeros(1, 6), 2).unwrap();
    let wrong = Mask::from_lengths(&[1, 2, 2], 2).unwrap();
    let err = cell
        .forward_masked(&xs, &cell.zero_state(2), &wrong)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the mask given to `SimpleRnn` must be 2 examples × 3 steps"),
        "{err}"
    );
}
