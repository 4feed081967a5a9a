//! The course's sine-wave RNN, done right: 50 values of `sin(t)` predict the
//! next one. A hidden state of 100 sigmoid units, a linear read-out, squared
//! error, truncated backpropagation through time (windows of 5 steps) and
//! gradient clipping (±10), with the gradients the compiler derives (the
//! course's hand-written "backprop" is not a gradient).
//! `cargo run --release --example sine` prints the losses per epoch and the
//! validation RMSE, and writes `book/src/img/sine.png`.

use cellforge::nn::layers::{Dense, Recurrent};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, History, Sequential};
use cellforge::nn::optim::{Clip, Optimizer};
use cellforge::nn::{Shape, Tensor};
use cellforge::plot::{Series, line_chart};
use cellforge::prelude::*;
use nalgebra::DMatrix;

// ANCHOR: cell
cell! {
    /// The course's recurrent layer: `s = sigmoid(U x + W s + b)`.
    pub cell SineRnn {
        dims n_x, n_h;
        input x: [n_x];
        state s: [n_h];
        param u: [n_h, n_x] = glorot_uniform, w: [n_h, n_h] = orthogonal, b: [n_h] = zeros;
        s = sigmoid(u @ x + w @ s + b);
    }
}
// ANCHOR_END: cell

// ANCHOR: windows
/// Sequences of 50 values `sin(i), …, sin(i + 49)` and their next value
/// `sin(i + 50)`, for `i` in `range`.
pub fn windows(range: std::ops::Range<usize>) -> Result<(Tensor<f64>, DMatrix<f64>), Error> {
    let m = range.len();
    let start = range.start;
    let data = DMatrix::from_fn(1, m * 50, |_, c| ((start + c % m + c / m) as f64).sin());
    let y = DMatrix::from_fn(1, m, |_, j| ((start + j + 50) as f64).sin());
    Ok((Tensor::Seq(Sequence::new(data, m)?), y))
}
// ANCHOR_END: windows

/// Trains the model; returns it with its history.
pub fn train(epochs: usize) -> Result<(Sequential<f64>, History), Error> {
    let (x, y) = windows(0..100)?;
    let validation = windows(100..150)?;
    let mut rng = NumpyRng::new(7);
    let cell = SineRnn::init(SineRnnDims { n_x: 1, n_h: 100 }, &mut rng)?;
    // ANCHOR: model
    let mut model = Sequential::new(
        Shape::Seq {
            features: 1,
            steps: Some(50),
        },
        7,
    )
    .add_layer(Box::new(Recurrent::new("SineRnn", cell).truncate(5)?))?
    .add(Dense::new(1))?
    .compile(Loss::MeanSquaredError, Optimizer::adam(3e-3))?
    .clip(Clip::Value(10.0));
    // ANCHOR_END: model
    // ANCHOR: fit
    let fit = Fit {
        epochs,
        batch_size: 10,
        shuffle: true,
        validation: Some(validation),
        verbose: false,
    };
    let history = model.fit(&x, &y, &fit)?;
    // ANCHOR_END: fit
    Ok((model, history))
}

fn main() -> Result<(), Error> {
    let (mut model, history) = train(60)?;
    for (k, (l, v)) in history.loss.iter().zip(&history.val_loss).enumerate() {
        if k % 5 == 4 || k == 0 {
            println!("Epoch {:>2}: loss {l:.6}, validation loss {v:.6}", k + 1);
        }
    }
    let (x, y) = windows(100..150)?;
    let pred = model.predict(&x, 50)?;
    let rmse = ((&pred - &y).map(|d| d * d).sum() / 50.0).sqrt();
    println!("validation RMSE: {rmse:.4}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/img/sine.png");
    let truth = Series {
        label: "sin(t)",
        points: (0..50).map(|j| ((150 + j) as f64, y[(0, j)])).collect(),
        color: (203, 24, 29),
    };
    let predicted = Series {
        label: "predicted",
        points: (0..50).map(|j| ((150 + j) as f64, pred[(0, j)])).collect(),
        color: (33, 102, 172),
    };
    match line_chart(
        &out,
        "Next value of sin(t) on the validation steps",
        "t",
        "value",
        &[truth, predicted],
    ) {
        Ok(()) => println!("wrote {}", out.display()),
        Err(e) => eprintln!("no plot: {e}"),
    }
    Ok(())
}
