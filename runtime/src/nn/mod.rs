//! Training: layers around any cell, losses, optimizers and a Keras-like
//! [`Sequential`](model::Sequential) model.
//!
//! Data between layers is a [`Tensor`]: one vector per example (`Batch`,
//! `(n, m)`), a sequence (`Seq`, `(n, m · T)`, step `t` in columns
//! `t·m .. (t+1)·m`), or token ids (`Ids`). Shapes print as Keras prints them:
//! `(None, 500, 32)`.

pub mod checkpoint;
pub mod layers;
pub mod loss;
pub mod model;
pub mod optim;

use crate::{Error, NumpyRng, Real, Sequence};
use nalgebra::DMatrix;
use std::fmt;

/// Token ids of `m` examples over `T` steps; id of example `j` at step `t` is
/// `ids[t · m + j]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    ids: Vec<u32>,
    m: usize,
    steps: usize,
}

impl Tokens {
    /// Tokens from one row of ids per example, all of the same length.
    pub fn from_rows(rows: &[Vec<u32>]) -> Result<Self, Error> {
        let m = rows.len();
        let steps = rows.first().map_or(0, Vec::len);
        if m == 0 {
            return Err(Error::EmptyBatch {
                context: "Tokens::from_rows".into(),
            });
        }
        let mut ids = vec![0; m * steps];
        for (j, row) in rows.iter().enumerate() {
            if row.len() != steps {
                return Err(Error::Shape {
                    tensor: format!("row {j} of the token ids"),
                    expected: format!("{steps} ids like row 0 (pad them to one length)"),
                    found: format!("{} ids", row.len()),
                });
            }
            for (t, &id) in row.iter().enumerate() {
                ids[t * m + j] = id;
            }
        }
        Ok(Tokens { ids, m, steps })
    }

    /// Examples.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The id of example `j` at step `t`.
    pub fn get(&self, j: usize, t: usize) -> Option<u32> {
        (j < self.m && t < self.steps).then(|| self.ids[t * self.m + j])
    }

    /// All ids, step-major.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }
}

/// What flows between layers.
#[derive(Clone, Debug, PartialEq)]
pub enum Tensor<T: Real> {
    /// One vector per example, `(n, m)`.
    Batch(DMatrix<T>),
    /// A sequence, `(n, m · T)`.
    Seq(Sequence<T>),
    /// Token ids.
    Ids(Tokens),
}

impl<T: Real> Tensor<T> {
    /// Number of examples.
    pub fn m(&self) -> usize {
        match self {
            Tensor::Batch(b) => b.ncols(),
            Tensor::Seq(s) => s.m(),
            Tensor::Ids(t) => t.m(),
        }
    }

    /// The shape, without the batch.
    pub fn shape(&self) -> Shape {
        match self {
            Tensor::Batch(b) => Shape::Features(b.nrows()),
            Tensor::Seq(s) => Shape::Seq {
                features: s.n_x(),
                steps: Some(s.steps()),
            },
            Tensor::Ids(t) => Shape::Ids {
                steps: Some(t.steps()),
            },
        }
    }

    /// The examples at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Result<Tensor<T>, Error> {
        let m = self.m();
        if let Some(&bad) = index.iter().find(|&&j| j >= m) {
            return Err(Error::Index {
                what: "examples".into(),
                index: bad,
                len: m,
            });
        }
        let k = index.len();
        Ok(match self {
            Tensor::Batch(b) => Tensor::Batch(b.select_columns(index)),
            Tensor::Seq(s) => {
                let steps = s.steps();
                let data = DMatrix::from_fn(s.n_x(), k * steps, |i, c| {
                    let (t, j) = (c / k, c % k);
                    s.data()[(i, t * m + index[j])]
                });
                Tensor::Seq(Sequence::new(data, k)?)
            }
            Tensor::Ids(tok) => {
                let mut ids = Vec::with_capacity(k * tok.steps);
                for t in 0..tok.steps {
                    ids.extend(index.iter().map(|&j| tok.ids[t * m + j]));
                }
                Tensor::Ids(Tokens {
                    ids,
                    m: k,
                    steps: tok.steps,
                })
            }
        })
    }

    /// Whether every value is finite (ids always are).
    pub fn is_finite(&self) -> bool {
        match self {
            Tensor::Batch(b) => b.iter().all(|v| v.is_finite()),
            Tensor::Seq(s) => s.data().iter().all(|v| v.is_finite()),
            Tensor::Ids(_) => true,
        }
    }

    /// The values as one matrix: `(n, m)` or `(n, m · T)`.
    pub fn values(&self) -> Option<&DMatrix<T>> {
        match self {
            Tensor::Batch(b) => Some(b),
            Tensor::Seq(s) => Some(s.data()),
            Tensor::Ids(_) => None,
        }
    }

    /// Where the first value that is not finite lies, in words (`step 3,
    /// example 5, row 0`), or `None` when every value is finite.
    pub fn first_non_finite(&self) -> Option<String> {
        let (values, m) = match self {
            Tensor::Batch(b) => (b, 0),
            Tensor::Seq(s) => (s.data(), s.m()),
            Tensor::Ids(_) => return None,
        };
        let k = values.iter().position(|v| !v.is_finite())?;
        let (row, col) = (k % values.nrows(), k / values.nrows());
        Some(match col.checked_div(m) {
            None => format!("example {col}, row {row}"),
            Some(step) => format!("step {}, example {}, row {row}", step + 1, col % m),
        })
    }
}

/// A tensor's shape without the batch, printed as Keras prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `n` features per example: `(None, n)`.
    Features(usize),
    /// A sequence of `features` per step: `(None, T, features)`.
    Seq {
        /// Features per step.
        features: usize,
        /// Steps, if fixed.
        steps: Option<usize>,
    },
    /// Token ids: `(None, T)`.
    Ids {
        /// Steps, if fixed.
        steps: Option<usize>,
    },
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = |s: &Option<usize>| s.map_or("None".to_string(), |s| s.to_string());
        match self {
            Shape::Features(n) => write!(f, "(None, {n})"),
            Shape::Seq { features, steps: s } => write!(f, "(None, {}, {features})", steps(s)),
            Shape::Ids { steps: s } => write!(f, "(None, {})", steps(s)),
        }
    }
}

/// What a forward pass needs besides its input.
pub struct Ctx<'a> {
    /// Training (dropout on) or inference (off).
    pub training: bool,
    /// The model's random generator (dropout masks).
    pub rng: &'a mut NumpyRng,
    /// Which steps of the current sequence are real, when an embedding with
    /// `mask_zero` set it; recurrent layers skip the others.
    pub mask: Option<crate::Mask>,
}

/// One parameter tensor of a layer, for summaries and checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    /// Its name within the layer.
    pub name: String,
    /// The parameter group it is in.
    pub group: usize,
    /// Rows and columns.
    pub shape: (usize, usize),
    /// The flat indices of its elements, column by column.
    pub indices: Vec<usize>,
}

/// A layer of a model. Layers keep what their backward pass needs from the
/// last forward pass, and accumulate their parameter gradients.
pub trait Layer<T: Real> {
    /// The layer's type, as Keras names it (`Embedding`, `SimpleRNN`).
    fn kind(&self) -> &'static str;
    /// The shape of the output for an input of shape `input`.
    fn output_shape(&self, input: &Shape) -> Result<Shape, Error>;
    /// The parameters, as one or more flat groups (a bidirectional layer has
    /// two); none by default.
    fn params(&self) -> Vec<&[T]> {
        Vec::new()
    }
    /// The parameter groups, mutable, each with its gradient from the last
    /// backward; none by default.
    fn params_and_grads(&mut self) -> Vec<(&mut [T], &[T])> {
        Vec::new()
    }
    /// The parameter tensors: names, shapes and where they are in
    /// [`Layer::params`]; none by default.
    fn param_info(&self) -> Vec<ParamInfo> {
        Vec::new()
    }
    /// Where the parameters sit in `framework`'s tensors (see
    /// [`crate::interop`]), in the framework's order, each name followed by
    /// `suffix`; none for a layer without parameters, an error for one
    /// without a layout for `framework`.
    fn placements(
        &self,
        framework: &str,
        suffix: &str,
    ) -> Result<Vec<crate::interop::Placement>, Error> {
        let _ = suffix;
        if self.param_count() == 0 {
            Ok(Vec::new())
        } else {
            Err(crate::interop::no_layout(self.kind(), framework, &[]))
        }
    }
    /// Whether the layer runs over time (PyTorch numbers these `_l0`, `_l1`).
    fn is_recurrent(&self) -> bool {
        false
    }
    /// The number of scalar parameters.
    fn param_count(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }
    /// The forward pass on a batch.
    fn forward(&mut self, x: &Tensor<T>, ctx: &mut Ctx<'_>) -> Result<Tensor<T>, Error>;
    /// The backward pass of the last forward: stores the parameter gradients
    /// and returns the gradient of the input (none for token ids).
    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error>;
}

/// A layer's configuration, built into a layer once the input shape is known
/// (Keras's `build`).
pub trait LayerConfig<T: Real> {
    /// Builds the layer for inputs of shape `input`.
    fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error>;
}

/// The info of a dense `rows × cols` tensor at `offset` of group 0.
pub(crate) fn dense_info(name: &str, rows: usize, cols: usize, offset: usize) -> ParamInfo {
    ParamInfo {
        name: name.to_string(),
        group: 0,
        shape: (rows, cols),
        indices: (0..rows * cols).map(|k| offset + k).collect(),
    }
}

/// Mismatch between what a layer expects and what it got.
pub(crate) fn wrong_input(layer: &str, expected: &str, found: &Shape) -> Error {
    Error::Shape {
        tensor: format!("the input of `{layer}`"),
        expected: expected.into(),
        found: found.to_string(),
    }
}
