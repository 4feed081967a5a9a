//! Writing your own cell, end to end: a peephole LSTM (Gers and Schmidhuber),
//! whose gates also look at the memory cell `c`. The cell is declared with
//! `cell!` in `cells/src/peephole.rs`; the example checks the derived
//! gradients against finite differences, and
//! trains it briefly inside a `Sequential` model on a small task.
//! `cargo run --release --example peephole`; it exits with status 1 if the
//! gradient check or the training fails.

use cellforge::cells::peephole::{Peephole, PeepholeDims, PeepholeState};
use cellforge::gradcheck::{LinearLoss, check_gradients};
use cellforge::nn::layers::{Dense, Recurrent};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::Optimizer;
use cellforge::nn::{Shape, Tensor};
use cellforge::prelude::*;
use nalgebra::DMatrix;

// ANCHOR: gradcheck
/// Compares the derived gradients of a peephole cell with random weights
/// against finite differences, on a sequence of 5 steps for 3 examples.
fn gradient_check() -> Result<bool, Error> {
    let mut rng = NumpyRng::new(3);
    let mut cell = Peephole::<f64>::zeros(PeepholeDims { n_x: 2, n_h: 4 })?;
    for p in cell.flat_params_mut() {
        *p = 0.7 * rng.standard_normal();
    }
    let xs = Sequence::new(rng.randn_matrix(2, 3 * 5), 3)?;
    let initial = PeepholeState {
        h: rng.randn_matrix(4, 3),
        c: rng.randn_matrix(4, 3),
    };
    let trace = cell.forward(&xs, &initial)?;
    let loss = LinearLoss::random(&trace, &mut rng);
    let report = check_gradients(&cell, &xs, &initial, &loss, 1e-4)?;
    print!("{report}");
    Ok(report.worst() < 1e-7)
}
// ANCHOR_END: gradcheck

// ANCHOR: task
/// `n` sequences of 20 numbers drawn uniformly from (−1, 1), one feature per
/// step; the label is 1 when the numbers add up to more than zero.
fn task(n: usize, seed: u32) -> Result<(Tensor<f64>, DMatrix<f64>), Error> {
    const STEPS: usize = 20;
    let mut rng = NumpyRng::new(seed);
    // Column `t * n + j` holds step `t` of example `j`.
    let data = DMatrix::from_fn(1, n * STEPS, |_, _| 2.0 * rng.next_f64() - 1.0);
    let labels = DMatrix::from_fn(1, n, |_, j| {
        let sum: f64 = (0..STEPS).map(|t| data[(0, t * n + j)]).sum();
        if sum > 0.0 { 1.0 } else { 0.0 }
    });
    Ok((Tensor::Seq(Sequence::new(data, n)?), labels))
}
// ANCHOR_END: task

// ANCHOR: train
/// Trains the peephole LSTM, inside a Keras-like model, to tell the sign of
/// the sum; returns the first and last training losses and the validation
/// accuracy.
fn train() -> Result<(f64, f64, f64), Error> {
    let (x, y) = task(1000, 1)?;
    let validation = task(200, 2)?;
    let mut rng = NumpyRng::new(7);
    let cell = Peephole::init(PeepholeDims { n_x: 1, n_h: 8 }, &mut rng)?;
    let mut model = Sequential::new(
        Shape::Seq {
            features: 1,
            steps: Some(20),
        },
        7,
    )
    .add_layer(Box::new(Recurrent::new("PeepholeLSTM", cell)))?
    .add(Dense::new(1).activation(Activation::Sigmoid))?
    .compile(Loss::BinaryCrossEntropy, Optimizer::adam(0.01))?;
    println!("{}", model.summary());
    let fit = Fit {
        epochs: 8,
        batch_size: 32,
        shuffle: true,
        validation: Some(validation.clone()),
        verbose: false,
    };
    let history = model.fit(&x, &y, &fit)?;
    for (k, (l, a)) in history.loss.iter().zip(&history.val_accuracy).enumerate() {
        println!("Epoch {}: loss {l:.4}, validation accuracy {a:.3}", k + 1);
    }
    let (_, accuracy) = model.evaluate(&validation.0, &validation.1, 200)?;
    let first = history.loss.first().copied().unwrap_or(f64::NAN);
    let last = history.loss.last().copied().unwrap_or(f64::NAN);
    Ok((first, last, accuracy.unwrap_or(f64::NAN)))
}
// ANCHOR_END: train

// ANCHOR: main
fn main() {
    match gradient_check() {
        Ok(true) => println!("gradient check passed (relative error below 1e-7)"),
        Ok(false) => {
            eprintln!("gradient check failed: a derived gradient differs from finite differences");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
    match train() {
        Ok((first, last, accuracy)) if last < first && accuracy > 0.8 => {
            println!("validation accuracy {accuracy:.3}");
        }
        Ok((first, last, accuracy)) => {
            eprintln!(
                "training did not learn: loss {first:.4} -> {last:.4}, accuracy {accuracy:.3}"
            );
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: main
