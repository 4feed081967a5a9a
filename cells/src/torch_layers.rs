//! PyTorch's recurrent modules as layers: one layer of `nn.RNN`, `nn.LSTM`
//! or `nn.GRU`, built from the cells of [`crate::torch`]. A PyTorch module
//! with `num_layers = L` is `L` of these in a row, each wrapped in
//! [`Bidirectional`](cellforge::nn::layers::Bidirectional) for
//! `bidirectional=True`; [`Sequential::import_weights`] with `"torch"` reads
//! its `state_dict` (`weight_ih_l0`, `weight_hh_l1_reverse`, ...).
//!
//! [`Sequential::import_weights`]: cellforge::nn::model::Sequential::import_weights

use crate::torch;
use cellforge::nn::layers::{Recurrent, RecurrentConfig};
use cellforge::nn::{Layer, LayerConfig, Shape};
use cellforge::{Activation, Error, NumpyRng, Real};

/// One layer of `nn.RNN`, `tanh` unless [`Rnn::nonlinearity`] says otherwise.
#[derive(Clone, Debug)]
pub struct Rnn {
    hidden: usize,
    return_sequences: bool,
    nonlinearity: Activation,
}

impl Rnn {
    /// A layer of `hidden` units, `tanh`, that returns its last hidden state.
    pub fn new(hidden: usize) -> Self {
        Rnn {
            hidden,
            return_sequences: false,
            nonlinearity: Activation::Tanh,
        }
    }

    /// PyTorch's `nonlinearity` (`Activation::Relu` for `"relu"`).
    pub fn nonlinearity(mut self, a: Activation) -> Self {
        self.nonlinearity = a;
        self
    }

    /// Return the hidden state at every step (what PyTorch's module returns
    /// as `output`).
    pub fn return_sequences(mut self, yes: bool) -> Self {
        self.return_sequences = yes;
        self
    }
}

impl<T: Real> RecurrentConfig<T> for Rnn {
    fn build_dir(
        self,
        input: &Shape,
        backwards: bool,
        rng: &mut NumpyRng,
    ) -> Result<Box<dyn Layer<T>>, Error> {
        let n_x = input_features("RNN", input)?;
        let dims = torch::RnnDims {
            n_x,
            hidden: self.hidden,
        };
        let cell =
            torch::Rnn::<T>::init(dims, rng)?.with_activation("nonlinearity", self.nonlinearity)?;
        Ok(Box::new(
            Recurrent::new("RNN", cell)
                .return_sequences(self.return_sequences)
                .go_backwards(backwards),
        ))
    }
}

impl<T: Real> LayerConfig<T> for Rnn {
    fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        self.build_dir(input, false, rng)
    }
}

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

macro_rules! torch_layer {
    ($(#[$doc:meta])* $ty:ident, $cell:ident, $dims:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $ty {
            hidden: usize,
            return_sequences: bool,
        }

        impl $ty {
            /// A layer of `hidden` units that returns its last hidden state.
            pub fn new(hidden: usize) -> Self {
                $ty {
                    hidden,
                    return_sequences: false,
                }
            }

            /// Return the hidden state at every step (what PyTorch's module
            /// returns as `output`).
            pub fn return_sequences(mut self, yes: bool) -> Self {
                self.return_sequences = yes;
                self
            }
        }

        impl<T: Real> RecurrentConfig<T> for $ty {
            fn build_dir(
                self,
                input: &Shape,
                backwards: bool,
                rng: &mut NumpyRng,
            ) -> Result<Box<dyn Layer<T>>, Error> {
                let dims = torch::$dims {
                    n_x: input_features($kind, input)?,
                    hidden: self.hidden,
                };
                let cell = torch::$cell::<T>::init(dims, rng)?;
                Ok(Box::new(
                    Recurrent::new($kind, cell)
                        .return_sequences(self.return_sequences)
                        .go_backwards(backwards),
                ))
            }
        }

        impl<T: Real> LayerConfig<T> for $ty {
            fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
                self.build_dir(input, false, rng)
            }
        }
    };
}

torch_layer!(
    /// One layer of `nn.LSTM`.
    Lstm, Lstm, LstmDims, "LSTM"
);
torch_layer!(
    /// One layer of `nn.GRU`.
    Gru, Gru, GruDims, "GRU"
);
