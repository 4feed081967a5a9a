//! Keras's recurrent layers, `SimpleRNN`, `LSTM` and `GRU`, as layer
//! configurations for [`Sequential`](cellforge_runtime::nn::model::Sequential),
//! with Keras's defaults and parameter counts. Keras's `get_weights()`
//! arrays go in and out through the cells' `keras` layouts
//! ([`Sequential::set_weights`](cellforge_runtime::nn::model::Sequential::set_weights)).

use crate::keras;
use cellforge_runtime::nn::layers::{Recurrent, RecurrentConfig};
use cellforge_runtime::nn::{Layer, LayerConfig, Shape};
use cellforge_runtime::{Activation, Cell, Error, NumpyRng, Real};

fn input_features(kind: &str, input: &Shape) -> Result<usize, Error> {
    match input {
        Shape::Seq { features, .. } => Ok(*features),
        other => Err(Error::Shape {
            tensor: format!("the input of `{kind}`"),
            expected: "a sequence (None, T, features)".into(),
            found: other.to_string(),
        }),
    }
}

fn check_units(kind: &str, units: usize) -> Result<(), Error> {
    if units == 0 {
        return Err(Error::Shape {
            tensor: format!("`{kind}`"),
            expected: "at least 1 unit".into(),
            found: "0 units".into(),
        });
    }
    Ok(())
}

/// What every Keras recurrent layer is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct RecurrentOptions {
    /// Output size.
    pub units: usize,
    /// Default `tanh`.
    pub activation: Activation,
    /// The gates' activation (LSTM and GRU), default `sigmoid`.
    pub recurrent_activation: Activation,
    /// Output every step (default false).
    pub return_sequences: bool,
    /// Input dropout rate, one mask for all steps (default 0).
    pub dropout: f64,
}

impl RecurrentOptions {
    fn new(units: usize) -> Self {
        RecurrentOptions {
            units,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            return_sequences: false,
            dropout: 0.0,
        }
    }
}

/// The setters every Keras recurrent layer has, and its `LayerConfig`.
macro_rules! recurrent_config {
    ($ty:ident) => {
        impl $ty {
            /// Sets the activation.
            pub fn activation(mut self, a: Activation) -> Self {
                self.options.activation = a;
                self
            }
            /// Output every step.
            pub fn return_sequences(mut self, yes: bool) -> Self {
                self.options.return_sequences = yes;
                self
            }
            /// Input dropout.
            pub fn dropout(mut self, rate: f64) -> Self {
                self.options.dropout = rate;
                self
            }
        }

        impl<T: Real> LayerConfig<T> for $ty {
            fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
                self.build_dir(input, false, rng)
            }
        }
    };
}

/// A built cell wrapped in a recurrent layer with these options.
fn wrap<T: Real, C: Cell<T> + 'static>(
    kind: &'static str,
    cell: C,
    options: &RecurrentOptions,
    backwards: bool,
) -> Result<Box<dyn Layer<T>>, Error> {
    Ok(Box::new(
        Recurrent::new(kind, cell)
            .return_sequences(options.return_sequences)
            .go_backwards(backwards)
            .dropout(options.dropout)?,
    ))
}

/// The input features and the checked options of a layer about to be built.
fn prepare(kind: &str, input: &Shape, options: &RecurrentOptions) -> Result<usize, Error> {
    let n_x = input_features(kind, input)?;
    check_units(kind, options.units)?;
    Ok(n_x)
}

/// Keras's `SimpleRNN(units)`.
#[derive(Clone, Debug)]
pub struct SimpleRnn {
    /// The shared options (`recurrent_activation` is not used).
    pub options: RecurrentOptions,
    /// Default true.
    pub use_bias: bool,
}

impl SimpleRnn {
    /// `SimpleRNN(units)` with Keras's defaults.
    pub fn new(units: usize) -> Self {
        SimpleRnn {
            options: RecurrentOptions::new(units),
            use_bias: true,
        }
    }
    /// With or without bias.
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.use_bias = yes;
        self
    }
}

recurrent_config!(SimpleRnn);

impl<T: Real> RecurrentConfig<T> for SimpleRnn {
    fn build_dir(
        self,
        input: &Shape,
        backwards: bool,
        rng: &mut NumpyRng,
    ) -> Result<Box<dyn Layer<T>>, Error> {
        let o = &self.options;
        let n_x = prepare("SimpleRNN", input, o)?;
        if self.use_bias {
            let dims = keras::SimpleRnnDims {
                n_x,
                units: o.units,
            };
            let cell = keras::SimpleRnn::<T>::init(dims, rng)?
                .with_activation("activation", o.activation)?;
            wrap("SimpleRNN", cell, o, backwards)
        } else {
            let dims = keras::SimpleRnnNoBiasDims {
                n_x,
                units: o.units,
            };
            let cell = keras::SimpleRnnNoBias::<T>::init(dims, rng)?
                .with_activation("activation", o.activation)?;
            wrap("SimpleRNN", cell, o, backwards)
        }
    }
}

/// Keras's `LSTM(units)`.
#[derive(Clone, Debug)]
pub struct Lstm {
    /// The shared options.
    pub options: RecurrentOptions,
    /// Default true.
    pub use_bias: bool,
}

impl Lstm {
    /// `LSTM(units)` with Keras's defaults.
    pub fn new(units: usize) -> Self {
        Lstm {
            options: RecurrentOptions::new(units),
            use_bias: true,
        }
    }
    /// Sets the gates' activation.
    pub fn recurrent_activation(mut self, a: Activation) -> Self {
        self.options.recurrent_activation = a;
        self
    }
    /// With or without bias.
    pub fn use_bias(mut self, yes: bool) -> Self {
        self.use_bias = yes;
        self
    }
}

recurrent_config!(Lstm);

impl<T: Real> RecurrentConfig<T> for Lstm {
    fn build_dir(
        self,
        input: &Shape,
        backwards: bool,
        rng: &mut NumpyRng,
    ) -> Result<Box<dyn Layer<T>>, Error> {
        let o = &self.options;
        let n_x = prepare("LSTM", input, o)?;
        let (a, r) = (o.activation, o.recurrent_activation);
        if self.use_bias {
            let dims = keras::LstmDims {
                n_x,
                units: o.units,
            };
            let cell = keras::Lstm::<T>::init(dims, rng)?
                .with_activation("activation", a)?
                .with_activation("recurrent_activation", r)?;
            wrap("LSTM", cell, o, backwards)
        } else {
            let dims = keras::LstmNoBiasDims {
                n_x,
                units: o.units,
            };
            let cell = keras::LstmNoBias::<T>::init(dims, rng)?
                .with_activation("activation", a)?
                .with_activation("recurrent_activation", r)?;
            wrap("LSTM", cell, o, backwards)
        }
    }
}

/// Keras's `GRU(units)`. `reset_after` defaults to false, Keras 2's first
/// form and the parameter count of the course (TensorFlow 2 defaults to true).
#[derive(Clone, Debug)]
pub struct Gru {
    /// The shared options.
    pub options: RecurrentOptions,
    /// Apply the reset gate after the recurrent product (default false).
    pub reset_after: bool,
}

impl Gru {
    /// `GRU(units, reset_after=False)`.
    pub fn new(units: usize) -> Self {
        Gru {
            options: RecurrentOptions::new(units),
            reset_after: false,
        }
    }
    /// Sets the gates' activation.
    pub fn recurrent_activation(mut self, a: Activation) -> Self {
        self.options.recurrent_activation = a;
        self
    }
    /// Reset after the recurrent product (TensorFlow 2, PyTorch).
    pub fn reset_after(mut self, yes: bool) -> Self {
        self.reset_after = yes;
        self
    }
}

recurrent_config!(Gru);

impl<T: Real> RecurrentConfig<T> for Gru {
    fn build_dir(
        self,
        input: &Shape,
        backwards: bool,
        rng: &mut NumpyRng,
    ) -> Result<Box<dyn Layer<T>>, Error> {
        let o = &self.options;
        let n_x = prepare("GRU", input, o)?;
        let (a, r) = (o.activation, o.recurrent_activation);
        if self.reset_after {
            let dims = keras::GruResetAfterDims {
                n_x,
                units: o.units,
            };
            let cell = keras::GruResetAfter::<T>::init(dims, rng)?
                .with_activation("activation", a)?
                .with_activation("recurrent_activation", r)?;
            wrap("GRU", cell, o, backwards)
        } else {
            let dims = keras::GruDims {
                n_x,
                units: o.units,
            };
            let cell = keras::Gru::<T>::init(dims, rng)?
                .with_activation("activation", a)?
                .with_activation("recurrent_activation", r)?;
            wrap("GRU", cell, o, backwards)
        }
    }
}
