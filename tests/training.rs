//! Training end to end on a small synthetic task, and the errors a user can
//! run into: mismatched counts, batch size 0, non-finite data, a loss or a
//! step that becomes NaN.

use cellforge::cells::keras_layers::{Gru, Lstm, SimpleRnn};
use cellforge::nn::layers::{Bidirectional, Dense, Dropout, Embedding, Merge};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::{Clip, Optimizer};
use cellforge::nn::{Shape, Tensor, Tokens};
use cellforge::prelude::*;
use nalgebra::DMatrix;

/// Sequences of 12 tokens from a vocabulary of 6; the label says whether
/// token 3 occurs more often than token 4.
fn task(n: usize, seed: u32) -> (Tensor<f32>, DMatrix<f32>) {
    let mut rng = NumpyRng::new(seed);
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..n {
        let row: Vec<u32> = (0..12).map(|_| (rng.next_f64() * 6.0) as u32).collect();
        let (a, b) = (
            row.iter().filter(|&&t| t == 3).count(),
            row.iter().filter(|&&t| t == 4).count(),
        );
        labels.push(if a > b { 1.0 } else { 0.0 });
        rows.push(row);
    }
    (
        Tensor::Ids(Tokens::from_rows(&rows).unwrap()),
        DMatrix::from_row_slice(1, n, &labels),
    )
}

fn model(layer: impl cellforge::nn::LayerConfig<f32>) -> Sequential<f32> {
    Sequential::new(Shape::Ids { steps: Some(12) }, 1)
        .add(Embedding::new(6, 8))
        .unwrap()
        .add(layer)
        .unwrap()
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap()
        .compile(Loss::BinaryCrossEntropy, Optimizer::adam(0.02))
        .unwrap()
}

fn fit_options(validation: (Tensor<f32>, DMatrix<f32>)) -> Fit<f32> {
    Fit {
        epochs: 12,
        batch_size: 32,
        shuffle: true,
        validation: Some(validation),
        verbose: false,
    }
}

#[test]
fn recurrent_models_learn_a_counting_task() {
    let (x, y) = task(600, 1);
    let (vx, vy) = task(200, 2);
    let configs: Vec<(&str, Sequential<f32>)> = vec![
        ("LSTM", model(Lstm::new(8))),
        ("GRU", model(Gru::new(8).reset_after(true))),
        ("SimpleRNN", model(SimpleRnn::new(8))),
        (
            "Bidirectional LSTM",
            model(Bidirectional::new(Lstm::new(4), Merge::Concat)),
        ),
    ];
    for (name, mut m) in configs {
        let history = m
            .fit(&x, &y, &fit_options((vx.clone(), vy.clone())))
            .unwrap();
        assert_eq!(history.loss.len(), 12);
        assert!(
            history.loss[11] < history.loss[0],
            "{name}: the loss falls ({:?})",
            history.loss
        );
        let (_, acc) = m.evaluate(&vx, &vy, 64).unwrap();
        assert!(acc.unwrap() > 0.8, "{name}: validation accuracy {acc:?}");
        assert_eq!(history.val_accuracy.last().copied(), acc);
    }
}

#[test]
fn training_is_reproducible_from_the_seeds() {
    let (x, y) = task(200, 3);
    let run = || {
        let mut m = model(Lstm::new(4));
        let options = Fit {
            epochs: 2,
            batch_size: 16,
            shuffle: true,
            validation: None,
            verbose: false,
        };
        m.fit(&x, &y, &options).unwrap().loss
    };
    assert_eq!(run(), run());
}

#[test]
fn dropout_and_stacking_train() {
    let (x, y) = task(300, 4);
    let mut m = Sequential::<f32>::new(Shape::Ids { steps: Some(12) }, 2)
        .add(Embedding::new(6, 8))
        .unwrap()
        .add(Dropout::new(0.2))
        .unwrap()
        .add(Lstm::new(8).return_sequences(true).dropout(0.1))
        .unwrap()
        .add(Gru::new(8))
        .unwrap()
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap()
        .compile(Loss::BinaryCrossEntropy, Optimizer::adam(0.02))
        .unwrap()
        .clip(Clip::GlobalNorm(1.0));
    let h = m
        .fit(
            &x,
            &y,
            &Fit {
                epochs: 6,
                batch_size: 32,
                ..Fit::default()
            },
        )
        .unwrap();
    assert!(h.loss[5] < h.loss[0], "{:?}", h.loss);
    // Inference is deterministic: dropout is off.
    let (a, b) = (m.predict(&x, 50).unwrap(), m.predict(&x, 300).unwrap());
    assert!((a - b).abs().max() < 1e-6);
}

/// Every mistake in `fit`'s arguments is found before the first update:
/// the error says which argument, in full, and the weights are bitwise
/// those of before.
#[test]
fn fit_checks_all_its_inputs_before_training() {
    let (x, y) = task(40, 5);
    let (vx, vy) = task(20, 6);
    let mut m = model(Lstm::new(4));
    let weights = |m: &Sequential<f32>| -> Vec<Vec<f32>> {
        m.layers()
            .iter()
            .flat_map(|l| l.params().into_iter().map(<[f32]>::to_vec))
            .collect()
    };
    let before = weights(&m);
    let fit = |validation| Fit {
        epochs: 2,
        validation: Some(validation),
        ..Fit::default()
    };
    let three = vy.columns(0, 3).into_owned();
    let err = m.fit(&x, &y, &fit((vx.clone(), three))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the validation targets must be one column per validation input example (20), found 3 columns"
    );
    let mut nan = vy.clone();
    nan[(0, 1)] = f32::NAN;
    let err = m.fit(&x, &y, &fit((vx.clone(), nan))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the validation data is not finite (NaN or infinite)"
    );
    let bad_ids = Tensor::Ids(Tokens::from_rows(&vec![vec![9; 12]; 20]).unwrap());
    let err = m.fit(&x, &y, &fit((bad_ids, vy.clone()))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the word ids given to `Embedding` (on the validation data): index 9 is out of range (there are 6)"
    );
    let two_rows = DMatrix::<f32>::zeros(2, 40);
    let err = m.fit(&x, &two_rows, &Fit::default()).unwrap_err();
    assert!(
        err.to_string().contains("(on the training data)"),
        "the loss against the output: {err}"
    );
    assert_eq!(weights(&m), before, "no mistake changed a weight");
}

#[test]
fn bad_input_is_an_error() {
    let (x, y) = task(40, 5);
    let mut m = model(Lstm::new(4));
    let few = y.columns(0, 39).into_owned();
    let err = m.fit(&x, &few, &Fit::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the training targets must be one column per training input example (40), found 39 columns"
    );
    let err = m
        .fit(
            &x,
            &y,
            &Fit {
                batch_size: 0,
                ..Fit::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("batch size 0"), "{err}");
    let mut bad = y.clone();
    bad[(0, 3)] = f32::NAN;
    let err = m.fit(&x, &bad, &Fit::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the training data is not finite (NaN or infinite)"
    );
    let big = Tensor::Ids(Tokens::from_rows(&[vec![7; 12]]).unwrap());
    let err = m.predict(&big, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the word ids given to `Embedding`: index 7 is out of range (there are 6)"
    );
    let uncompiled = Sequential::<f32>::new(Shape::Ids { steps: Some(12) }, 0);
    assert!(
        uncompiled
            .compile(Loss::MeanSquaredError, Optimizer::sgd(0.0))
            .is_err()
    );
}

#[test]
fn a_step_that_makes_weights_non_finite_stops_training_and_keeps_the_last_good_weights() {
    let (x, y) = task(64, 6);
    let mut m = Sequential::<f32>::new(Shape::Ids { steps: Some(12) }, 1)
        .add(Embedding::new(6, 4))
        .unwrap()
        .add(SimpleRnn::new(4))
        .unwrap()
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap()
        .compile(Loss::BinaryCrossEntropy, Optimizer::sgd(1e300))
        .unwrap();
    let before: Vec<Vec<f32>> = m
        .layers()
        .iter()
        .flat_map(|l| l.params().into_iter().map(<[f32]>::to_vec))
        .collect();
    let err = m
        .fit(
            &x,
            &y,
            &Fit {
                epochs: 3,
                batch_size: 64,
                shuffle: false,
                ..Fit::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a weight after the update is not finite (NaN or infinite) at epoch 1, step 1; training stopped and the weights are those of the last good step"
    );
    let after: Vec<Vec<f32>> = m
        .layers()
        .iter()
        .flat_map(|l| l.params().into_iter().map(<[f32]>::to_vec))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn weights_round_trip_and_bad_files_change_nothing() {
    let dir = std::env::temp_dir().join(format!("cellforge-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, y) = task(64, 7);
    let mut trained = model(Lstm::new(4));
    trained
        .fit(
            &x,
            &y,
            &Fit {
                epochs: 1,
                batch_size: 16,
                ..Fit::default()
            },
        )
        .unwrap();
    let path = dir.join("weights.safetensors");
    trained.save_weights(&path).unwrap();
    let mut fresh = model(Lstm::new(4));
    assert_ne!(
        fresh.predict(&x, 64).unwrap(),
        trained.predict(&x, 64).unwrap()
    );
    fresh.load_weights(&path).unwrap();
    assert_eq!(
        fresh.predict(&x, 64).unwrap(),
        trained.predict(&x, 64).unwrap()
    );

    // Another model's weights: an error naming what differs, nothing loaded.
    let mut other = model(Gru::new(4));
    let before = other.predict(&x, 64).unwrap();
    let err = other.load_weights(&path).unwrap_err().to_string();
    assert!(
        err.contains("the tensors are [") && err.contains("lstm/w_f") && err.contains("gru/w_z"),
        "{err}"
    );
    assert_eq!(other.predict(&x, 64).unwrap(), before);
    let mut wider = model(Lstm::new(5));
    let err = wider.load_weights(&path).unwrap_err().to_string();
    assert!(err.contains("but this model needs F32 [5, 8]"), "{err}");

    // A corrupt file and a missing one.
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"not a checkpoint").unwrap();
    let err = fresh.load_weights(&corrupt).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
    assert!(fresh.load_weights(dir.join("missing.safetensors")).is_err());
    assert_eq!(
        fresh.predict(&x, 64).unwrap(),
        trained.predict(&x, 64).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every layer's backward, checked end to end: the gradient of the loss with
/// respect to every parameter of a model that uses them all agrees with
/// finite differences (in f64, dropout off).
#[test]
fn model_gradients_match_finite_differences() {
    let mut rng = NumpyRng::new(8);
    let rows: Vec<Vec<u32>> = (0..3)
        .map(|_| (0..5).map(|_| (rng.next_f64() * 7.0) as u32).collect())
        .collect();
    let x = Tensor::Ids(Tokens::from_rows(&rows).unwrap());
    let y = DMatrix::from_row_slice(1, 3, &[1.0, 0.0, 1.0]);
    let mut m = Sequential::<f64>::new(Shape::Ids { steps: Some(5) }, 3)
        .add(Embedding::new(7, 3))
        .unwrap()
        .add(Bidirectional::new(
            SimpleRnn::new(2).return_sequences(true),
            Merge::Concat,
        ))
        .unwrap()
        .add(Dense::new(3).activation(Activation::Tanh))
        .unwrap()
        .add(Gru::new(2).reset_after(true))
        .unwrap()
        .add(Dense::new(1))
        .unwrap()
        .add(Activation::Sigmoid)
        .unwrap()
        .compile(Loss::BinaryCrossEntropy, Optimizer::sgd(0.1))
        .unwrap();
    m.backpropagate(&x, &y, false).unwrap();
    let derived = m.gradients();
    let h = 1e-5;
    let loss_at = |m: &mut Sequential<f64>| m.evaluate(&x, &y, 3).unwrap().0;
    let mut k = 0;
    for layer in 0..m.layers().len() {
        let groups = m.layers()[layer].params().len();
        for g in 0..groups {
            for (i, &d) in derived[k].iter().enumerate() {
                let base = m.layers()[layer].params()[g][i];
                let set = |m: &mut Sequential<f64>, v: f64| {
                    m.layers_mut()[layer].params_and_grads()[g].0[i] = v
                };
                set(&mut m, base + h);
                let plus = loss_at(&mut m);
                set(&mut m, base - h);
                let minus = loss_at(&mut m);
                set(&mut m, base);
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

#[test]
fn a_loss_that_is_not_finite_stops_training_with_its_epoch_and_step() {
    let x = Tensor::Batch(DMatrix::from_row_slice(1, 4, &[4.0f32, 5.0, 6.0, 7.0]));
    let y = DMatrix::from_row_slice(1, 4, &[0.0f32, 1.0, 0.0, 1.0]);
    let mut m = Sequential::<f32>::new(Shape::Features(1), 0)
        .add(Dense::new(1))
        .unwrap()
        .compile(Loss::MeanSquaredError, Optimizer::sgd(0.01))
        .unwrap();
    // Weights so large that the predictions overflow f32.
    for (p, _) in m.layers_mut()[0].params_and_grads() {
        p.iter_mut().for_each(|v| *v = 1e38);
    }
    let before: Vec<f32> = m.layers()[0].params()[0].to_vec();
    let err = m
        .fit(
            &x,
            &y,
            &Fit {
                epochs: 2,
                batch_size: 2,
                shuffle: false,
                ..Fit::default()
            },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the loss (inf) is not finite (NaN or infinite) at epoch 1, step 1"),
        "{err}"
    );
    assert_eq!(m.layers()[0].params()[0], &before[..]);
}

/// On request, the model reports the first layer whose output (or whose
/// gradient passed back) is not finite, with the step and the example.
#[test]
fn check_finite_names_the_layer_step_and_example() {
    let (x, _) = task(10, 7);
    let mut m = model(Lstm::new(4)).check_finite(true);
    m.layers_mut()[0].params_and_grads()[0].0.fill(f32::NAN);
    let err = m.predict(&x, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the output of layer `embedding` (step 1, example 0, row 0) is not finite (NaN or infinite)"
    );
    let mut quiet = model(Lstm::new(4));
    quiet.layers_mut()[0].params_and_grads()[0].0.fill(f32::NAN);
    let p = quiet.predict(&x, 10).unwrap();
    assert!(
        p.iter().all(|v| v.is_nan()),
        "off by default: the NaN spreads"
    );
}
