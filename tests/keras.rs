//! Keras parity: the course's models have exactly the parameter counts Keras
//! printed (its notebook and Chollet's section 6.3), and the hand-set models
//! of its Keras exercises give
//! exactly the outputs Keras printed.

#[path = "../examples/handset.rs"]
#[allow(dead_code)]
mod handset;

use cellforge::cells::keras_layers::{Gru, Lstm, SimpleRnn};
use cellforge::nn::Shape;
use cellforge::nn::layers::{Dense, Dropout, Embedding};
use cellforge::nn::model::Sequential;
use cellforge::prelude::*;

fn ids(steps: usize) -> Shape {
    Shape::Ids { steps: Some(steps) }
}

// ANCHOR: one_unit
fn one_unit(layer: impl cellforge::nn::LayerConfig<f32>) -> Sequential<f32> {
    Sequential::new(ids(500), 0)
        .add(Embedding::new(2000, 32))
        .and_then(|m| m.add(Dropout::new(0.2)))
        .and_then(|m| m.add(layer))
        .expect("builds")
}
// ANCHOR_END: one_unit

#[test]
// ANCHOR: counts
fn course_parameter_counts() {
    assert_eq!(
        one_unit(SimpleRnn::new(1).activation(Activation::Sigmoid)).param_count(),
        64_034
    );
    assert_eq!(
        one_unit(Lstm::new(1).activation(Activation::Sigmoid)).param_count(),
        64_136
    );
    assert_eq!(
        one_unit(Gru::new(1).activation(Activation::Sigmoid)).param_count(),
        64_102
    );
    assert_eq!(
        one_unit(Gru::new(1).reset_after(true)).param_count(),
        64_105
    );
    let rnn100 = Sequential::<f32>::new(ids(500), 0)
        .add(Embedding::new(2000, 32))
        .unwrap()
        .add(SimpleRnn::new(100))
        .unwrap()
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    assert_eq!(rnn100.param_count(), 77_401);
    let small = Sequential::<f32>::new(Shape::Ids { steps: None }, 0)
        .add(Embedding::new(10_000, 2))
        .unwrap()
        .add(SimpleRnn::new(32))
        .unwrap();
    assert_eq!(small.param_count(), 21_120);
    assert_eq!(small.layers()[1].param_count(), 1_120);
    let mut stacked = Sequential::<f32>::new(Shape::Ids { steps: None }, 0)
        .add(Embedding::new(10_000, 2))
        .unwrap();
    for k in 0..4 {
        stacked = stacked
            .add(SimpleRnn::new(32).return_sequences(k < 3))
            .unwrap();
    }
    assert_eq!(stacked.param_count(), 27_360);
}
// ANCHOR_END: counts

#[test]
fn summary_reads_like_keras() {
    let model = one_unit(SimpleRnn::new(1).activation(Activation::Sigmoid));
    insta::assert_snapshot!(model.summary());
}

#[test]
fn layers_that_do_not_fit_are_errors() {
    let err = Sequential::<f32>::new(Shape::Features(3), 0)
        .add(SimpleRnn::new(4))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the input of `SimpleRNN` must be a sequence (None, T, features), found (None, 3)"
    );
    let err = Sequential::<f32>::new(ids(5), 0)
        .add(Dense::new(2))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("the input of `Dense` must be features"),
        "{err}"
    );
    assert!(
        Sequential::<f32>::new(ids(5), 0)
            .add(Embedding::new(0, 2))
            .is_err()
    );
    assert!(
        Sequential::<f32>::new(ids(5), 0)
            .add(Embedding::new(10, 2))
            .unwrap()
            .add(Dropout::new(1.0))
            .is_err()
    );
}

#[test]
fn hand_set_simple_rnns_give_keras_outputs() {
    let expected = [13.0, 16.0, 32.0, 32.0, 64.0, 56.0, 8.0, 8.0];
    for ((w, u, xs), e) in handset::ONE_UNIT.into_iter().zip(expected) {
        assert_eq!(
            handset::simple_rnn::<f32>(&[w], &[u], &xs).unwrap(),
            vec![e as f32],
            "w={w} u={u}"
        );
    }
    let two = handset::simple_rnn::<f32>(&[1.0, 1.0], &[1.0, 0.0, 0.0, 0.0], &[3.0, 3.0, 7.0, 5.0])
        .unwrap();
    assert_eq!(two, vec![18.0, 5.0]);
}

#[test]
fn hand_set_large_weights_match_keras_and_the_exact_integers() {
    let (w, u, xs) = handset::TWO_UNIT_LARGE;
    // Keras (float32) printed [4.770418e+18, 9.225557e+17].
    let f32s = handset::simple_rnn::<f32>(&w, &u, &xs).unwrap();
    assert!((f64::from(f32s[0]) / 4.770418e18 - 1.0).abs() < 1e-6);
    assert!((f64::from(f32s[1]) / 9.225557e17 - 1.0).abs() < 1e-6);
    // In f64 the result is numpy's float64 one, within rounding of the exact
    // integers 4770418318284567385 and 922555724796667182.
    let f64s = handset::simple_rnn::<f64>(&w, &u, &xs).unwrap();
    assert_eq!(f64s, vec![4.770418318284568e18, 9.225557247966673e17]);
    assert!((f64s[1] / 922555724796667182.0 - 1.0).abs() < 1e-15);
}

#[test]
fn hand_set_lstm_gives_cubes() {
    assert_eq!(
        handset::lstm_cubes::<f32>(&[0.0, 1.0, 2.0, 4.0]).unwrap(),
        vec![0.0, 1.0, 8.0, 64.0]
    );
}
