//! The course's IMDB experiments on the full data set (25,000 training and
//! 25,000 test reviews), with the results table: test accuracy, seconds per
//! epoch and parameter count of every model.
//!
//! ```text
//! cargo run --release --example imdb_experiments -- --npz PATH/imdb_flat.npz [--only NAME] [--out FILE]
//! cargo run --release --example imdb_experiments -- --data aclImdb_v1.tar.gz --word-index imdb_word_index.json
//! ```
//!
//! The `.npz` holds the reviews as Keras's word ranks (`train_tokens`,
//! `train_offsets`, `train_labels`, the same for `test`), encoded exactly as
//! `keras.datasets.imdb.load_data` encodes them. The experiments:
//!
//! - the course notebook's six models: vocabulary 2,000, reviews cut or padded to 500
//!   words, Embedding 32 and Dropout 0.2, then SimpleRNN, LSTM or GRU with one
//!   sigmoid unit, or with 100 units, Dropout 0.2 and a sigmoid Dense(1) (the
//!   GRU one with an extra Dense(100)); Adam 1e-3, batches of 64, 3 epochs;
//!   the test set split in half into validation and test;
//! - Chollet's section 6.3: SimpleRNN(32) and LSTM(32) on 10,000 words: RMSprop, batches of
//!   128, 10 epochs, the last 20% of the training set for validation (its
//!   figure is the best validation accuracy);
//! - the course's Keras exercises: LSTM(32) → LSTM(32) and LSTM → GRU → SimpleRNN → LSTM (32
//!   units each) on the whole vocabulary with Embedding 100: Adam, batches of
//!   64, one epoch;
//! - and the notebook's one-unit LSTM and GRU with `hard_sigmoid` gates, the
//!   default `recurrent_activation` of the Keras the course ran (TensorFlow 1).

use cellforge::cells::keras_layers::{Gru, Lstm, SimpleRnn};
use cellforge::data::WordIndex;
use cellforge::data::imdb::{Ranked, load_flat_npz, split_half};
use cellforge::data::pad_sequences;
use cellforge::nn::layers::{Dense, Dropout, Embedding};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::Optimizer;
use cellforge::nn::{Shape, Tensor, Tokens};
use cellforge::prelude::*;
use nalgebra::DMatrix;
use std::fmt::Write as _;

type Build = fn(usize) -> Result<Sequential<f32>, Error>;

struct Experiment {
    name: &'static str,
    source: &'static str,
    num_words: usize,
    epochs: usize,
    batch_size: usize,
    /// How validation is taken: half of the test set, or the last 20% of training.
    split_test: bool,
    course: &'static str,
    build: Build,
}

fn base(num_words: usize, dim: usize, dropout: bool) -> Result<Sequential<f32>, Error> {
    let m =
        Sequential::new(Shape::Ids { steps: Some(500) }, 1).add(Embedding::new(num_words, dim))?;
    if dropout {
        m.add(Dropout::new(0.2))
    } else {
        Ok(m)
    }
}

fn head(m: Sequential<f32>) -> Result<Sequential<f32>, Error> {
    m.add(Dropout::new(0.2))?
        .add(Dense::new(1).kernel_init(Init::Normal {
            mean: 0.0,
            std: 0.05,
        }))?
        .add(Activation::Sigmoid)
}

const SIGMOID: Activation = Activation::Sigmoid;

fn experiments() -> Vec<Experiment> {
    let s000 = |name, course, build| Experiment {
        name,
        source: "notebook",
        num_words: 2000,
        epochs: 3,
        batch_size: 64,
        split_test: true,
        course,
        build,
    };
    let s003 = |name, course, build| Experiment {
        name,
        source: "Chollet 6.3",
        num_words: 10_000,
        epochs: 10,
        batch_size: 128,
        split_test: false,
        course,
        build,
    };
    let s004 = |name, course, build| Experiment {
        name,
        source: "exercises",
        num_words: 88_587,
        epochs: 1,
        batch_size: 64,
        split_test: false,
        course,
        build,
    };
    vec![
        s000("SimpleRNN(1)", "0.57", |n| {
            base(n, 32, true)?
                .add(SimpleRnn::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("LSTM(1)", "0.75", |n| {
            base(n, 32, true)?
                .add(Lstm::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("GRU(1)", "0.71", |n| {
            base(n, 32, true)?
                .add(Gru::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("SimpleRNN(100)", "0.62", |n| {
            head(base(n, 32, true)?.add(SimpleRnn::new(100))?)?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("LSTM(100)", "", |n| {
            head(base(n, 32, true)?.add(Lstm::new(100))?)?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("GRU(100) + Dense(100)", "", |n| {
            head(
                base(n, 32, true)?
                    .add(Gru::new(100))?
                    .add(Dense::new(100))?,
            )?
            .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s003("SimpleRNN(32)", "≈0.85 (val.)", |n| {
            base(n, 32, false)?
                .add(SimpleRnn::new(32))?
                .add(Dense::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::rmsprop(1e-3))
        }),
        s003("LSTM(32)", "≈0.89 (val.)", |n| {
            base(n, 32, false)?
                .add(Lstm::new(32))?
                .add(Dense::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::rmsprop(1e-3))
        }),
        s000("LSTM(1), hard_sigmoid gates", "0.75", |n| {
            base(n, 32, true)?
                .add(
                    Lstm::new(1)
                        .activation(SIGMOID)
                        .recurrent_activation(Activation::HardSigmoid),
                )?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s000("GRU(1), hard_sigmoid gates", "0.71", |n| {
            base(n, 32, true)?
                .add(
                    Gru::new(1)
                        .activation(SIGMOID)
                        .recurrent_activation(Activation::HardSigmoid),
                )?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s004("LSTM(32) → LSTM(32)", "0.877", |n| {
            base(n, 100, false)?
                .add(Lstm::new(32).return_sequences(true))?
                .add(Lstm::new(32))?
                .add(Dense::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
        s004("LSTM → GRU → SimpleRNN → LSTM", "0.866", |n| {
            base(n, 100, false)?
                .add(Lstm::new(32).return_sequences(true))?
                .add(Gru::new(32).return_sequences(true))?
                .add(SimpleRnn::new(32).return_sequences(true))?
                .add(Lstm::new(32))?
                .add(Dense::new(1).activation(SIGMOID))?
                .compile(Loss::BinaryCrossEntropy, Optimizer::adam(1e-3))
        }),
    ]
}

fn tensors(
    reviews: &[Vec<u32>],
    labels: &[u8],
    index: &[usize],
    num_words: usize,
) -> Result<(Tensor<f32>, DMatrix<f32>), Error> {
    let seqs: Vec<Vec<u32>> = index
        .iter()
        .map(|&k| WordIndex::encode_ranks(&reviews[k], num_words))
        .collect();
    let y: Vec<f32> = index.iter().map(|&k| f32::from(labels[k])).collect();
    Ok((
        Tensor::Ids(Tokens::from_rows(&pad_sequences(&seqs, 500))?),
        DMatrix::from_row_slice(1, y.len(), &y),
    ))
}

/// The reviews of the `aclImdb` dataset as Keras's word ranks: tokenized as
/// Keras tokenizes, each word looked up in Keras's `imdb_word_index.json`,
/// words not in it left out; the encoding of the flat `.npz`.
fn ranked_from_text(
    data: &str,
    words: &str,
) -> Result<(Ranked, Ranked), Box<dyn std::error::Error>> {
    let index = WordIndex::from_json(&std::fs::read_to_string(words)?)?;
    let imdb = cellforge::data::Imdb::open(data)?;
    let rank = |reviews: &[cellforge::data::Review]| Ranked {
        reviews: reviews
            .iter()
            .map(|r| {
                cellforge::data::text_to_word_sequence(&r.text)
                    .iter()
                    .filter_map(|w| index.rank(w))
                    .collect()
            })
            .collect(),
        labels: reviews.iter().map(|r| r.label).collect(),
    };
    Ok((rank(&imdb.train), rank(&imdb.test)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut npz = std::env::var("CELLFORGE_IMDB_NPZ").ok();
    let (mut only, mut out, mut data, mut words) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--npz" => npz = args.next(),
            "--data" => data = args.next(),
            "--word-index" => words = args.next(),
            "--only" => only = args.next(),
            "--out" => out = args.next(),
            other => return Err(format!("unknown argument `{other}`; usage: imdb_experiments --npz PATH [--only NAME] [--out FILE]").into()),
        }
    }
    let (train, test) = match (npz, data, words) {
        (_, Some(data), Some(words)) => ranked_from_text(&data, &words)?,
        (Some(npz), _, _) => load_flat_npz(&npz)?,
        _ => return Err("give the flat .npz with --npz PATH (or CELLFORGE_IMDB_NPZ), or the dataset with --data PATH and Keras's word index with --word-index imdb_word_index.json".into()),
    };
    println!(
        "{} training and {} test reviews",
        train.reviews.len(),
        test.reviews.len()
    );
    let mut table = String::from(
        "| model | course | test accuracy | seconds per epoch | parameters |\n|---|---|---|---|---|\n",
    );
    for e in experiments() {
        if only.as_deref().is_some_and(|o| !e.name.contains(o)) {
            continue;
        }
        let mut model = (e.build)(e.num_words)?;
        let n_train = train.reviews.len();
        let (fit_idx, val_idx, test_idx): (Vec<usize>, Vec<usize>, Vec<usize>) = if e.split_test {
            let (v, t) = split_half(test.reviews.len(), 1);
            ((0..n_train).collect(), v, t)
        } else {
            let cut = n_train * 4 / 5;
            (
                (0..cut).collect(),
                (cut..n_train).collect(),
                (0..test.reviews.len()).collect(),
            )
        };
        let (x, y) = tensors(&train.reviews, &train.labels, &fit_idx, e.num_words)?;
        let validation = if e.split_test {
            tensors(&test.reviews, &test.labels, &val_idx, e.num_words)?
        } else {
            tensors(&train.reviews, &train.labels, &val_idx, e.num_words)?
        };
        let (tx, ty) = tensors(&test.reviews, &test.labels, &test_idx, e.num_words)?;
        println!(
            "\n{} ({}), {} parameters",
            e.name,
            e.source,
            model.param_count()
        );
        let fit = Fit {
            epochs: e.epochs,
            batch_size: e.batch_size,
            shuffle: true,
            validation: Some(validation),
            verbose: true,
        };
        let h = model.fit(&x, &y, &fit)?;
        let (_, acc) = model.evaluate(&tx, &ty, 500)?;
        let acc = acc.unwrap_or(f64::NAN);
        let best_val = h.val_accuracy.iter().copied().fold(0.0, f64::max);
        let per_epoch = h.seconds.iter().sum::<f64>() / h.seconds.len().max(1) as f64;
        let shown = if e.split_test {
            format!("{acc:.3}")
        } else {
            format!("{acc:.3} (best val. {best_val:.3})")
        };
        let _ = writeln!(
            table,
            "| {} ({}) | {} | {shown} | {per_epoch:.0} | {} |",
            e.name,
            e.source,
            e.course,
            model.param_count()
        );
        println!("{}", table.lines().last().unwrap_or_default());
    }
    println!("\n{table}");
    if let Some(path) = out {
        std::fs::write(&path, &table)?;
        println!("wrote {path}");
    }
    Ok(())
}
