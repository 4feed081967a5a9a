//! Sentiment analysis of movie reviews: an Embedding + LSTM classifier trained
//! on IMDB reviews (Maas et al., ACL 2011).
//!
//! ```text
//! cargo run --release --example sentiment                       # train on the shipped sample
//! cargo run --release --example sentiment -- "a moving, beautiful film"
//! cargo run --release --example sentiment -- --predict-only "dull and far too long"
//! cargo run --release --example sentiment -- --data /path/to/aclImdb_v1.tar.gz --maxlen 500
//! ```
//!
//! The data is the sample that ships in `data/imdb-sample.tar.gz` unless
//! `--data` (or the environment variable `CELLFORGE_IMDB`) points at the full
//! dataset: its `aclImdb` directory or `.tar.gz`. The weights and the word
//! index are saved (by default under `target/sentiment/`), so that a second
//! run with `--predict-only` only predicts.

use cellforge::cells::keras_layers::Lstm;
use cellforge::data::imdb::split_half;
use cellforge::data::{Imdb, WordIndex, pad_sequences};
use cellforge::nn::layers::{Dense, Embedding};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::Optimizer;
use cellforge::nn::{Shape, Tensor, Tokens};
use cellforge::prelude::*;
use nalgebra::DMatrix;
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    data: PathBuf,
    out: PathBuf,
    epochs: usize,
    maxlen: usize,
    num_words: usize,
    batch_size: usize,
    predict_only: bool,
    sentences: Vec<String>,
}

const USAGE: &str = "usage: sentiment [--data PATH] [--out DIR] [--epochs N] [--maxlen N] [--num-words N] [--batch-size N] [--predict-only] [SENTENCE ...]";

fn parse_args() -> Result<Options, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut o = Options {
        data: std::env::var_os("CELLFORGE_IMDB")
            .map_or_else(|| root.join("data/imdb-sample.tar.gz"), PathBuf::from),
        out: root.join("target/sentiment"),
        epochs: 3,
        maxlen: 200,
        num_words: 5000,
        batch_size: 64,
        predict_only: false,
        sentences: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |s: String, name: &str| {
            s.parse::<usize>()
                .map_err(|_| format!("{name} takes a whole number, found `{s}`"))
        };
        match a.as_str() {
            "--data" => o.data = PathBuf::from(value("--data")?),
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--epochs" => o.epochs = number(value("--epochs")?, "--epochs")?,
            "--maxlen" => o.maxlen = number(value("--maxlen")?, "--maxlen")?,
            "--num-words" => o.num_words = number(value("--num-words")?, "--num-words")?,
            "--batch-size" => o.batch_size = number(value("--batch-size")?, "--batch-size")?,
            "--predict-only" => o.predict_only = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`\n{USAGE}")),
            _ => o.sentences.push(a),
        }
    }
    if o.maxlen == 0 || o.num_words < 4 {
        return Err("--maxlen must be at least 1 and --num-words at least 4".into());
    }
    Ok(o)
}

// ANCHOR: model
fn model(num_words: usize, maxlen: usize) -> Result<Sequential<f32>, Error> {
    Sequential::new(
        Shape::Ids {
            steps: Some(maxlen),
        },
        42,
    )
    .add(Embedding::new(num_words, 32))?
    .add(Lstm::new(32))?
    .add(Dense::new(1).activation(Activation::Sigmoid))?
    .compile(Loss::BinaryCrossEntropy, Optimizer::adam(2e-3))
}
// ANCHOR_END: model

// ANCHOR: encode
/// Encodes, pads and labels a list of reviews.
fn encode(
    index: &WordIndex,
    reviews: &[&cellforge::data::Review],
    o: &Options,
) -> Result<(Tensor<f32>, DMatrix<f32>), Error> {
    let seqs: Vec<Vec<u32>> = reviews
        .iter()
        .map(|r| index.encode(&r.text, o.num_words).0)
        .collect();
    let labels: Vec<f32> = reviews.iter().map(|r| f32::from(r.label)).collect();
    Ok((
        Tensor::Ids(Tokens::from_rows(&pad_sequences(&seqs, o.maxlen))?),
        DMatrix::from_row_slice(1, labels.len(), &labels),
    ))
}
// ANCHOR_END: encode

fn train(o: &Options) -> Result<(Sequential<f32>, WordIndex), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let data = Imdb::open(&o.data)?;
    println!(
        "{}: {} training and {} test reviews ({} not UTF-8, read with replacement characters), {:.1}s",
        o.data.display(),
        data.train.len(),
        data.test.len(),
        data.not_utf8,
        started.elapsed().as_secs_f64()
    );
    let index = WordIndex::fit(data.train.iter().map(|r| r.text.as_str()));
    println!(
        "vocabulary: {} words, keeping the {} most frequent; reviews cut or padded to {} words",
        index.len(),
        o.num_words - 4,
        o.maxlen
    );
    // ANCHOR: split
    let train: Vec<&_> = data.train.iter().collect();
    let (val_idx, test_idx) = split_half(data.test.len(), 1);
    let val: Vec<&_> = val_idx.iter().map(|&k| &data.test[k]).collect();
    let test: Vec<&_> = test_idx.iter().map(|&k| &data.test[k]).collect();
    let (x, y) = encode(&index, &train, o)?;
    let validation = encode(&index, &val, o)?;
    let (tx, ty) = encode(&index, &test, o)?;
    // ANCHOR_END: split
    let mut m = model(o.num_words, o.maxlen)?;
    println!("{}", m.summary());
    // ANCHOR: fit
    let fit = Fit {
        epochs: o.epochs,
        batch_size: o.batch_size,
        shuffle: true,
        validation: Some(validation),
        verbose: true,
    };
    let history = m.fit(&x, &y, &fit)?;
    // ANCHOR_END: fit
    curves(&history);
    let (loss, acc) = m.evaluate(&tx, &ty, 256)?;
    println!(
        "test: loss {loss:.4}, accuracy {:.4} on {} reviews; {:.1}s per epoch",
        acc.unwrap_or(f64::NAN),
        test.len(),
        history.seconds.iter().sum::<f64>() / history.seconds.len().max(1) as f64
    );
    Ok((m, index))
}

/// Writes the loss and accuracy curves to `book/src/img/sentiment.png`.
fn curves(h: &cellforge::nn::model::History) {
    use cellforge::plot::{Series, line_chart};
    let line = |label, values: &[f64], color| Series {
        label,
        points: values
            .iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, *v))
            .collect(),
        color,
    };
    let series = [
        line("training loss", &h.loss, (203, 24, 29)),
        line("validation loss", &h.val_loss, (252, 146, 114)),
        line("training accuracy", &h.accuracy, (33, 102, 172)),
        line("validation accuracy", &h.val_accuracy, (107, 174, 214)),
    ];
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/img/sentiment.png");
    match line_chart(
        &out,
        "Sentiment classifier on the IMDB sample",
        "epoch",
        "loss / accuracy",
        &series,
    ) {
        Ok(()) => println!("wrote {}", out.display()),
        Err(e) => eprintln!("no plot: {e}"),
    }
}

fn save(
    o: &Options,
    m: &Sequential<f32>,
    index: &WordIndex,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&o.out)?;
    m.save_weights(o.out.join("weights.safetensors"))?;
    std::fs::write(
        o.out.join("words.txt"),
        (1..=index.len() as u32)
            .filter_map(|r| index.word(r))
            .collect::<Vec<_>>()
            .join("\n"),
    )?;
    std::fs::write(
        o.out.join("config.txt"),
        format!("maxlen {}\nnum_words {}\n", o.maxlen, o.num_words),
    )?;
    println!(
        "saved the weights and the word index in {}",
        o.out.display()
    );
    Ok(())
}

fn load(o: &mut Options) -> Result<(Sequential<f32>, WordIndex), Box<dyn std::error::Error>> {
    let read = |name: &str| {
        std::fs::read_to_string(o.out.join(name)).map_err(|e| {
            format!(
                "{}: {e}; train first (run without --predict-only)",
                o.out.join(name).display()
            )
        })
    };
    for line in read("config.txt")?.lines() {
        match line.split_once(' ') {
            Some(("maxlen", v)) => o.maxlen = v.trim().parse()?,
            Some(("num_words", v)) => o.num_words = v.trim().parse()?,
            _ => {}
        }
    }
    let index = WordIndex::fit_ranked(read("words.txt")?.lines().map(String::from).collect());
    let mut m = model(o.num_words, o.maxlen)?;
    m.load_weights(o.out.join("weights.safetensors"))?;
    Ok((m, index))
}

fn predict(
    o: &Options,
    m: &mut Sequential<f32>,
    index: &WordIndex,
) -> Result<(), Box<dyn std::error::Error>> {
    let defaults = [
        "A wonderful film: moving, funny and beautifully acted.",
        "Dull, predictable and far too long. A waste of time.",
    ];
    let sentences: Vec<String> = if o.sentences.is_empty() {
        defaults.iter().map(|s| s.to_string()).collect()
    } else {
        o.sentences.clone()
    };
    for s in &sentences {
        let (ids, unknown) = index.encode(s, o.num_words);
        let x = Tensor::Ids(Tokens::from_rows(&pad_sequences(&[ids], o.maxlen))?);
        let p = m.predict(&x, 1)?[(0, 0)];
        let verdict = if p > 0.5 { "positive" } else { "negative" };
        let note = match unknown {
            0 => String::new(),
            1 => " (1 unknown word left out)".to_string(),
            n => format!(" ({n} unknown words left out)"),
        };
        println!("{verdict} ({p:.3}): {s}{note}");
    }
    Ok(())
}

fn main() {
    let mut o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut run = || -> Result<(), Box<dyn std::error::Error>> {
        let (mut m, index) = if o.predict_only {
            load(&mut o)?
        } else {
            let (m, index) = train(&o)?;
            save(&o, &m, &index)?;
            (m, index)
        };
        predict(&o, &mut m, &index)
    };
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
