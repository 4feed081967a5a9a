//! Moving weights between PyTorch, Keras and cellforge. A two-layer
//! bidirectional `nn.LSTM` comes in from its `state_dict` and goes back out
//! as one; a Keras `LSTM` comes in from `numpy.savez(*layer.get_weights())`
//! and from `model.save_weights(...)`, and goes back out as an `.npz`; a GRU
//! refuses an LSTM's weights. The reference outputs are PyTorch's and Keras's
//! own, in `tests/fixtures/`. `cargo run --release --example interop`; it
//! fails if an output differs from the framework's by more than 1e-10.

use cellforge::cells::{keras, keras_layers, torch_layers};
use cellforge::interop::{NamedArray, Weights};
use cellforge::nn::layers::{Bidirectional, Merge, Recurrent, RecurrentConfig};
use cellforge::nn::model::Sequential;
use cellforge::nn::{Shape, Tensor};
use cellforge::prelude::*;
use nalgebra::DMatrix;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What [`run`] found: the largest difference from each framework's output,
/// whether each round trip gave back exactly the framework's tensors, and
/// the message of the refused import.
pub struct Report {
    pub differences: Vec<f64>,
    pub round_trips: Vec<bool>,
    pub refused: String,
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn get<'a>(w: &'a Weights, name: &str) -> Result<&'a NamedArray> {
    Ok(w.get(name).ok_or_else(|| format!("no tensor `{name}`"))?)
}

/// The largest absolute difference; NaN if a value is NaN.
fn largest_difference(a: &DMatrix<f64>, b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let differences = a.iter().zip(b).map(|(x, y)| (x - y).abs());
    differences.fold(0.0, |w, d| if w.is_nan() || d <= w { w } else { d })
}

/// Whether `b` holds exactly the tensors of `a`: names, shapes and values.
fn same(a: &Weights, b: &Weights) -> bool {
    a.len() == b.len() && a.arrays().iter().all(|x| b.get(&x.name) == Some(x))
}

fn sequences(features: usize) -> Shape {
    let steps = None;
    Shape::Seq { features, steps }
}

// ANCHOR: torch_model
/// `nn.LSTM(3, 4, num_layers=2, bidirectional=True)` and its kin: two
/// bidirectional layers over sequences of 3 features.
fn two_bidirectional(layer: impl RecurrentConfig<f64>) -> Result<Sequential<f64>> {
    Ok(Sequential::new(sequences(3), 0)
        .add(Bidirectional::new(layer.clone(), Merge::Concat))?
        .add(Bidirectional::new(layer, Merge::Concat))?)
}
// ANCHOR_END: torch_model

// ANCHOR: keras_model
/// Keras's `LSTM(units, return_sequences=True)` run from the state `[h, c]`,
/// as `layer(x, initial_state=[h, c])` runs it.
fn keras_lstm(n_x: usize, h: DMatrix<f64>, c: DMatrix<f64>) -> Result<Sequential<f64>> {
    let units = h.nrows();
    let cell = keras::Lstm::init(keras::LstmDims { n_x, units }, &mut NumpyRng::new(0))?;
    let layer = Recurrent::new("LSTM", cell).return_sequences(true);
    let layer = layer.initial_state(keras::LstmState { h, c });
    Ok(Sequential::new(sequences(n_x), 0).add_layer(Box::new(layer))?)
}
// ANCHOR_END: keras_model

// ANCHOR: orders
/// PyTorch's `(T, m, n)`, row-major, is cellforge's `(n, m · T)`, column-major:
/// the same numbers in the same order.
fn time_major(a: &NamedArray) -> Result<Tensor<f64>> {
    let x = DMatrix::from_column_slice(a.shape[2], a.data.len() / a.shape[2], &a.data);
    Ok(Tensor::Seq(Sequence::new(x, a.shape[1])?))
}

/// Keras's `(m, T, n)`: step `t` of example `j` goes to column `t · m + j`.
fn batch_major(a: &NamedArray) -> DMatrix<f64> {
    let (m, steps, n) = (a.shape[0], a.shape[1], a.shape[2]);
    DMatrix::from_fn(n, m * steps, |i, k| {
        a.data[((k % m) * steps + k / m) * n + i]
    })
}
// ANCHOR_END: orders

/// Runs every part, writing files in `dir`.
pub fn run(dir: &Path) -> Result<Report> {
    // ANCHOR: torch_import
    let file = Weights::read_safetensors(fixture("torch_lstm_stacked_bidir_f64.safetensors"))?;
    let state_dict = file.select(|name| name.starts_with("weight_") || name.starts_with("bias_"));
    let mut model = two_bidirectional(torch_layers::Lstm::new(4).return_sequences(true))?;
    model.import_weights("torch", &state_dict)?;
    let y = model.forward(&time_major(get(&file, "input")?)?, false)?;
    let torch = largest_difference(y.values().ok_or("no output")?, &get(&file, "output")?.data);
    println!("PyTorch nn.LSTM: largest difference in the output {torch:.1e}");
    // ANCHOR_END: torch_import

    // ANCHOR: torch_export
    let exported = model.export_weights("torch")?;
    exported.write_safetensors(dir.join("lstm.safetensors"))?;
    let back = Weights::read_safetensors(dir.join("lstm.safetensors"))?;
    let names = exported.names().take(4).collect::<Vec<_>>().join(", ");
    println!("  exported {names}, ... ({} tensors)", exported.len());
    let mut round_trips = vec![same(&state_dict, &back)];
    println!("  read back, identical to PyTorch's: {}", round_trips[0]);
    // ANCHOR_END: torch_export

    // ANCHOR: keras_import
    let file = Weights::read_safetensors(fixture("keras_lstm_f64.safetensors"))?;
    let npz = Weights::read_npz(fixture("keras_lstm_f64.npz"))?;
    let h5 = Weights::read_keras_h5(fixture("keras_lstm_f64.weights.h5"))?;
    let input = get(&file, "input")?;
    let (h0, c0) = (get(&file, "initial_h")?, get(&file, "initial_c")?);
    let (m, units) = (h0.shape[0], h0.shape[1]);
    // Keras's states are (m, units), row-major: cellforge's (units, m).
    let h = DMatrix::from_column_slice(units, m, &h0.data);
    let c = DMatrix::from_column_slice(units, m, &c0.data);
    let x = Tensor::Seq(Sequence::new(batch_major(input), m)?);
    let expected = batch_major(get(&file, "output")?);
    let mut differences = vec![torch];
    for (source, weights) in [("an .npz", &npz), ("a .weights.h5", &h5)] {
        let mut model = keras_lstm(input.shape[2], h.clone(), c.clone())?;
        model.set_weights("keras", weights.arrays())?;
        let y = model.forward(&x, false)?;
        let d = largest_difference(y.values().ok_or("no output")?, expected.as_slice());
        println!("Keras LSTM from {source}: largest difference in the output {d:.1e}");
        differences.push(d);
    }
    // ANCHOR_END: keras_import

    // ANCHOR: keras_export
    let mut model = Sequential::<f64>::new(sequences(input.shape[2]), 0)
        .add(keras_layers::Lstm::new(units).return_sequences(true))?;
    model.set_weights("keras", npz.arrays())?;
    let exported = model.export_weights("keras")?;
    exported.positional().write_npz(dir.join("lstm.npz"))?;
    let back = Weights::read_npz(dir.join("lstm.npz"))?;
    println!("  exported {:?}", exported.names().collect::<Vec<_>>());
    round_trips.push(same(&npz, &back));
    println!("  read back, identical to Keras's: {}", round_trips[1]);
    // ANCHOR_END: keras_export

    // ANCHOR: wrong
    let mut gru = two_bidirectional(torch_layers::Gru::new(4).return_sequences(true))?;
    let refused = match gru.import_weights("torch", &state_dict) {
        Err(e) => e.to_string(),
        Ok(()) => return Err("a GRU took an LSTM's state_dict".into()),
    };
    println!("An LSTM's state_dict into a GRU: {refused}");
    // ANCHOR_END: wrong
    Ok(Report {
        differences,
        round_trips,
        refused,
    })
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("cellforge-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&dir);
    std::fs::remove_dir_all(&dir)?;
    let report = result?;
    let close = report.differences.iter().all(|&d| d <= 1e-10);
    if !close || report.round_trips.contains(&false) {
        return Err("the frameworks' numbers were not reproduced".into());
    }
    Ok(())
}
