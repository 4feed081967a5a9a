//! Keras models with hand-set weights (the course's Keras exercises), rebuilt with
//! cellforge: linear `SimpleRNN`s and a linear `LSTM`, no bias, whose outputs
//! can be worked out by hand. `cargo run --release --example handset`.
//!
//! Keras computes in `f32`; so does this example, and it prints the `f32`
//! results the way numpy prints them, next to the exact `f64` ones.

use cellforge::cells::keras::{LstmNoBias, LstmNoBiasDims, SimpleRnnNoBias, SimpleRnnNoBiasDims};
use cellforge::interop::NamedArray;
use cellforge::nn::layers::Recurrent;
use cellforge::nn::model::Sequential;
use cellforge::nn::{Shape, Tensor};
use cellforge::prelude::*;
use nalgebra::DMatrix;

/// A linear `SimpleRNN(units, use_bias=False)` with Keras weights `w`
/// (`(1, units)`) and `u` (`(units, units)`), run on one sequence of scalars;
/// returns the last state.
pub fn simple_rnn<T: Real>(w: &[f64], u: &[f64], xs: &[f64]) -> Result<Vec<T>, Error> {
    let units = w.len();
    let dims = SimpleRnnNoBiasDims { n_x: 1, units };
    let cell = SimpleRnnNoBias::init(dims, &mut NumpyRng::new(0))?
        .with_activation("activation", Activation::Linear)?;
    let mut model = Sequential::<T>::new(
        Shape::Seq {
            features: 1,
            steps: None,
        },
        0,
    )
    .add_layer(Box::new(Recurrent::new("SimpleRNN", cell)))?;
    // Keras's `model.set_weights([kernel, recurrent_kernel])`.
    model.set_weights(
        "keras",
        &[
            NamedArray::new("kernel", vec![1, units], w.to_vec(), T::DTYPE)?,
            NamedArray::new("recurrent_kernel", vec![units, units], u.to_vec(), T::DTYPE)?,
        ],
    )?;
    let x = Sequence::new(DMatrix::from_row_slice(1, xs.len(), xs).map(T::cast), 1)?;
    Ok(model.predict(&Tensor::Seq(x), 1)?.iter().copied().collect())
}

/// The linear one-unit `LSTM(use_bias=False, return_sequences=True)` of the
/// exercise: kernel `[1, 0, 1, 1]` (gates `i, f, c, o`), recurrent kernel 0.
/// The forget gate is 0, so `c = x · x` and `h = x · c = x³`.
pub fn lstm_cubes<T: Real>(xs: &[f64]) -> Result<Vec<T>, Error> {
    let cell = LstmNoBias::init(LstmNoBiasDims { n_x: 1, units: 1 }, &mut NumpyRng::new(0))?
        .with_activation("activation", Activation::Linear)?
        .with_activation("recurrent_activation", Activation::Linear)?;
    let mut model = Sequential::<T>::new(
        Shape::Seq {
            features: 1,
            steps: None,
        },
        0,
    )
    .add_layer(Box::new(
        Recurrent::new("LSTM", cell).return_sequences(true),
    ))?;
    model.set_weights(
        "keras",
        &[
            NamedArray::new("kernel", vec![1, 4], vec![1.0, 0.0, 1.0, 1.0], T::DTYPE)?,
            NamedArray::new("recurrent_kernel", vec![1, 4], vec![0.0; 4], T::DTYPE)?,
        ],
    )?;
    let x = Sequence::new(DMatrix::from_row_slice(1, xs.len(), xs).map(T::cast), 1)?;
    Ok(model.predict(&Tensor::Seq(x), 1)?.iter().copied().collect())
}

/// The one-unit cases: `(w, u, inputs)`.
pub const ONE_UNIT: [(f64, f64, [f64; 3]); 8] = [
    (1.0, 1.0, [3.0, 3.0, 7.0]),
    (1.0, 1.0, [4.0, 4.0, 8.0]),
    (2.0, 1.0, [4.0, 4.0, 8.0]),
    (1.0, 2.0, [4.0, 4.0, 8.0]),
    (2.0, 2.0, [4.0, 4.0, 8.0]),
    (1.0, 3.0, [4.0, 4.0, 8.0]),
    (1.0, -1.0, [4.0, 4.0, 8.0]),
    (1.0, 0.0, [31546.0, 1243.0, 8.0]),
];

/// The large two-unit case (In[82]): `(w, u, inputs)`.
pub const TWO_UNIT_LARGE: ([f64; 2], [f64; 4], [f64; 4]) = (
    [945.0, 71324.0],
    [4456.0, 834.0, 4246.0, 964.0],
    [543.0, 232.0, 45.0, 7433.0],
);

fn array<T: Real>(v: Vec<T>) -> NdArray<T> {
    NdArray::new(vec![v.len()], v).unwrap_or_else(|_| NdArray::zeros(vec![0]))
}

fn main() -> Result<(), Error> {
    println!("One-unit SimpleRNN, linear, no bias: h_T = w (u² x₁ + u x₂ + x₃)");
    for (w, u, xs) in ONE_UNIT {
        let out = simple_rnn::<f32>(&[w], &[u], &xs)?;
        println!("  w = {w:>2}, u = {u:>2}, x = {xs:?} -> {}", array(out));
    }
    let two = simple_rnn::<f32>(&[1.0, 1.0], &[1.0, 0.0, 0.0, 0.0], &[3.0, 3.0, 7.0, 5.0])?;
    println!(
        "Two-unit SimpleRNN, u = [[1, 0], [0, 0]]: h = (Σ x, x_T) -> {}",
        array(two)
    );
    let (w, u, xs) = TWO_UNIT_LARGE;
    println!("Two-unit SimpleRNN, large weights:");
    println!("  float32 -> {}", array(simple_rnn::<f32>(&w, &u, &xs)?));
    println!("  float64 -> {}", array(simple_rnn::<f64>(&w, &u, &xs)?));
    println!("One-unit LSTM, linear, kernel [1, 0, 1, 1]: h_t = x_t³");
    println!(
        "  x = [0, 1, 2, 4] -> {}",
        array(lstm_cubes::<f32>(&[0.0, 1.0, 2.0, 4.0])?)
    );
    Ok(())
}
