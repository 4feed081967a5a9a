//! Sequences of different lengths in one batch: with a mask, padded steps
//! carry each example's states unchanged and contribute no gradient. Checked
//! against running each example alone on its real steps: final states, and
//! the gradients of parameters (summed over the examples), inputs and
//! initial states, for padding after (lengths) and before (Keras's
//! `pad_sequences`) the real steps; and through the layers, where an
//! `Embedding` with `mask_zero` masks the padding for the recurrent layers
//! after it, and a bidirectional layer reads each example backwards from its
//! own last real step.

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

mod layers {
    use cellforge::cells::keras_layers::{Gru, Lstm};
    use cellforge::nn::layers::{Bidirectional, Dense, Embedding, Merge};
    use cellforge::nn::loss::Loss;
    use cellforge::nn::model::Sequential;
    use cellforge::nn::optim::Optimizer;
    use cellforge::nn::{LayerConfig, Shape, Tensor, Tokens};
    use cellforge::prelude::*;
    use nalgebra::DMatrix;

    const REVIEWS: [&[u32]; 3] = [&[3, 1, 4, 1, 5, 9], &[2, 6], &[5, 3, 5, 8]];

    fn model(layer: impl LayerConfig<f64>, mask_zero: bool) -> Sequential<f64> {
        Sequential::new(Shape::Ids { steps: None }, 4)
            .add(Embedding::new(10, 3).mask_zero(mask_zero))
            .unwrap()
            .add(layer)
            .unwrap()
            .add(Dense::new(1).activation(Activation::Sigmoid))
            .unwrap()
            .compile(Loss::BinaryCrossEntropy, Optimizer::sgd(0.1))
            .unwrap()
    }

    /// Reviews padded with zeros in front to the longest, as `pad_sequences` pads.
    fn padded() -> Tensor<f64> {
        let rows: Vec<Vec<u32>> = REVIEWS
            .iter()
            .map(|r| {
                let mut row = vec![0; 6 - r.len()];
                row.extend_from_slice(r);
                row
            })
            .collect();
        Tensor::Ids(Tokens::from_rows(&rows).unwrap())
    }

    fn alone(m: &mut Sequential<f64>) -> Vec<f64> {
        REVIEWS
            .iter()
            .map(|r| {
                m.predict(&Tensor::Ids(Tokens::from_rows(&[r.to_vec()]).unwrap()), 1)
                    .unwrap()[(0, 0)]
            })
            .collect()
    }

    #[test]
    fn masked_padding_predicts_what_each_review_alone_predicts() {
        for bidirectional in [false, true] {
            let make = |mask| {
                if bidirectional {
                    model(
                        Bidirectional::new(Gru::new(4).reset_after(true), Merge::Concat),
                        mask,
                    )
                } else {
                    model(Lstm::new(4), mask)
                }
            };
            let mut masked = make(true);
            let batch: Vec<f64> = masked
                .predict(&padded(), 3)
                .unwrap()
                .iter()
                .copied()
                .collect();
            let single = alone(&mut masked);
            for (a, b) in batch.iter().zip(&single) {
                assert!(
                    (a - b).abs() < 1e-12,
                    "bidirectional={bidirectional}: {a} vs {b}"
                );
            }
            // Without the mask, padding changes the predictions.
            let mut plain = make(false);
            let unmasked: Vec<f64> = plain
                .predict(&padded(), 3)
                .unwrap()
                .iter()
                .copied()
                .collect();
            assert!(
                unmasked
                    .iter()
                    .zip(&single)
                    .any(|(a, b)| (a - b).abs() > 1e-6)
            );
        }
    }

    #[test]
    fn masked_model_gradients_match_finite_differences() {
        let mut m = model(
            Bidirectional::new(Lstm::new(3).return_sequences(true), Merge::Sum),
            true,
        )
        .add(Gru::new(2))
        .unwrap()
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap()
        .compile(Loss::BinaryCrossEntropy, Optimizer::sgd(0.1))
        .unwrap();
        let x = padded();
        let y = DMatrix::from_row_slice(1, 3, &[1.0, 0.0, 1.0]);
        m.backpropagate(&x, &y, false).unwrap();
        let derived = m.gradients();
        let h = 1e-5;
        let mut k = 0;
        for layer in 0..m.layers().len() {
            for g in 0..m.layers()[layer].params().len() {
                for (i, &d) in derived[k].iter().enumerate() {
                    let base = m.layers()[layer].params()[g][i];
                    m.layers_mut()[layer].params_and_grads()[g].0[i] = base + h;
                    let plus = m.evaluate(&x, &y, 3).unwrap().0;
                    m.layers_mut()[layer].params_and_grads()[g].0[i] = base - h;
                    let minus = m.evaluate(&x, &y, 3).unwrap().0;
                    m.layers_mut()[layer].params_and_grads()[g].0[i] = base;
                    let numeric = (plus - minus) / (2.0 * h);
                    assert!(
                        (d - numeric).abs() < 1e-7 * (1.0 + numeric.abs()),
                        "layer {layer} group {g} element {i}: {d} vs {numeric}"
                    );
                }
                k += 1;
            }
        }
    }
}
