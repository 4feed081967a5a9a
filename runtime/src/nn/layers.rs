//! Layers: embedding, dense, dropout, recurrent layers around any cell,
//! bidirectional, and Keras's recurrent layers with Keras's defaults.

use super::{Ctx, Layer, LayerConfig, ParamInfo, Shape, Tensor, Tokens, dense_info, wrong_input};
use crate::cell::Cell;
use crate::interop::{Placement, no_layout};
use crate::kernel::{self, Block};
use crate::sequence::Trace;
use crate::{Activation, Error, Init, NumpyRng, Real, Sequence, Upstream};
use nalgebra::{DMatrix, DMatrixViewMut, Dyn, U1};

fn fill<T: Real>(data: &mut [T], rows: usize, cols: usize, init: Init, rng: &mut NumpyRng) {
    let mut v = DMatrixViewMut::from_slice_with_strides_generic(
        data,
        Dyn(rows),
        Dyn(cols),
        U1,
        Dyn(rows.max(1)),
    );
    init.fill(&mut v, rng);
}

// ---------------------------------------------------------------- Embedding

/// Keras's `Embedding(input_dim, output_dim)`: token ids to vectors, one
/// column of the table per word. Initialised uniform in `(−0.05, 0.05)`.
#[derive(Clone, Debug)]
pub struct Embedding {
    /// Vocabulary size.
    pub input_dim: usize,
    /// Vector size.
    pub output_dim: usize,
    /// Treat id 0 as padding: the recurrent layers after it skip those steps
    /// (Keras's `mask_zero`).
    pub mask_zero: bool,
}

impl Embedding {
    /// An embedding of `input_dim` words into `output_dim` dimensions.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            mask_zero: false,
        }
    }

    /// Treat id 0 as padding, to be skipped by the recurrent layers after it.
    pub fn mask_zero(mut self, yes: bool) -> Self {
        self.mask_zero = yes;
        self
    }
}

struct EmbeddingLayer<T> {
    vocab: usize,
    dim: usize,
    mask_zero: bool,
    table: Vec<T>,
    grads: Vec<T>,
    last: Option<Tokens>,
}

impl<T: Real> LayerConfig<T> for Embedding {
    fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        if !matches!(input, Shape::Ids { .. }) {
            return Err(wrong_input("Embedding", "token ids (None, T)", input));
        }
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::Shape {
                tensor: "Embedding".into(),
                expected: "a vocabulary and a vector size of at least 1".into(),
                found: format!("Embedding({}, {})", self.input_dim, self.output_dim),
            });
        }
        let mut table = vec![T::zero(); self.input_dim * self.output_dim];
        fill(
            &mut table,
            self.output_dim,
            self.input_dim,
            Init::Uniform {
                low: -0.05,
                high: 0.05,
            },
            rng,
        );
        Ok(Box::new(EmbeddingLayer {
            vocab: self.input_dim,
            dim: self.output_dim,
            mask_zero: self.mask_zero,
            grads: vec![T::zero(); table.len()],
            table,
            last: None,
        }))
    }
}

impl<T: Real> Layer<T> for EmbeddingLayer<T> {
    fn kind(&self) -> &'static str {
        "Embedding"
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        match input {
            Shape::Ids { steps } => Ok(Shape::Seq {
                features: self.dim,
                steps: *steps,
            }),
            other => Err(wrong_input("Embedding", "token ids (None, T)", other)),
        }
    }

    fn params(&self) -> Vec<&[T]> {
        vec![&self.table]
    }

    fn params_and_grads(&mut self) -> Vec<(&mut [T], &[T])> {
        vec![(&mut self.table, &self.grads)]
    }

    fn param_info(&self) -> Vec<ParamInfo> {
        vec![dense_info("embeddings", self.dim, self.vocab, 0)]
    }

    fn placements(&self, framework: &str, suffix: &str) -> Result<Vec<Placement>, Error> {
        // Keras's `embeddings` and PyTorch's `weight` are (vocab, dim): row
        // `v` is word `v`'s vector, which is column `v` here.
        let name = match framework {
            "keras" => "embeddings",
            "torch" => "weight",
            other => return Err(no_layout("Embedding", other, &["keras", "torch"])),
        };
        Ok(vec![Placement {
            name: format!("{name}{suffix}"),
            shape: vec![self.vocab, self.dim],
            group: 0,
            indices: (0..self.vocab * self.dim).collect(),
        }])
    }

    fn forward(&mut self, x: &Tensor<T>, ctx: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        let Tensor::Ids(tokens) = x else {
            return Err(wrong_input("Embedding", "token ids (None, T)", &x.shape()));
        };
        ctx.mask = if self.mask_zero {
            let valid = tokens.ids().iter().map(|&id| id != 0).collect();
            Some(crate::Mask::new(valid, tokens.m(), tokens.steps())?)
        } else {
            None
        };
        if let Some(&bad) = tokens.ids().iter().find(|&&id| id as usize >= self.vocab) {
            return Err(Error::Index {
                what: "the word ids given to `Embedding`".into(),
                index: bad as usize,
                len: self.vocab,
            });
        }
        let d = self.dim;
        let mut out = DMatrix::zeros(d, tokens.ids().len());
        for (c, &id) in tokens.ids().iter().enumerate() {
            let start = id as usize * d;
            out.column_mut(c)
                .copy_from_slice(&self.table[start..start + d]);
        }
        self.last = Some(tokens.clone());
        Ok(Tensor::Seq(Sequence::new(out, tokens.m())?))
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let (Some(tokens), Tensor::Seq(dy)) = (&self.last, dy) else {
            return Err(Error::Shape {
                tensor: "the gradient given to `Embedding`".into(),
                expected: "a sequence after a forward pass".into(),
                found: format!("{}", dy.shape()),
            });
        };
        self.grads.iter_mut().for_each(|g| *g = T::zero());
        let d = self.dim;
        for (c, &id) in tokens.ids().iter().enumerate() {
            let start = id as usize * d;
            for (g, v) in self.grads[start..start + d]
                .iter_mut()
                .zip(dy.data().column(c).iter())
            {
                *g += *v;
            }
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------- Dense

/// Keras's `Dense(units, activation)`: `y = activation(W x + b)`, applied at
/// every step of a sequence. Glorot-uniform weights, zero bias.
#[derive(Clone, Debug)]
pub struct Dense {
    /// Output size.
    pub units: usize,
    /// The activation (default linear).
    pub activation: Activation,
    /// How the weights are initialised (default Glorot uniform).
    pub kernel_init: Init,
}

impl Dense {
    /// A linear dense layer of `units` outputs.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            kernel_init: Init::GlorotUniform,
        }
    }

    /// With another initialiser for the weights (Keras's `'normal'` is
    /// `Init::Normal { mean: 0.0, std: 0.05 }`).
    pub fn kernel_init(mut self, init: Init) -> Self {
        self.kernel_init = init;
        self
    }

    /// With an activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
}

struct DenseLayer<T: Real> {
    n_in: usize,
    n_out: usize,
    activation: Activation,
    params: Vec<T>,
    grads: Vec<T>,
    x: Option<Tensor<T>>,
    z: DMatrix<T>,
    y: DMatrix<T>,
}

impl<T: Real> LayerConfig<T> for Dense {
    fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        let n_in = match input {
            Shape::Features(n) | Shape::Seq { features: n, .. } => *n,
            other => {
                return Err(wrong_input(
                    "Dense",
                    "features (None, n) or a sequence (None, T, n)",
                    other,
                ));
            }
        };
        if self.units == 0 {
            return Err(Error::Shape {
                tensor: "Dense".into(),
                expected: "at least 1 unit".into(),
                found: "0".into(),
            });
        }
        let mut params = vec![T::zero(); self.units * n_in + self.units];
        fill(
            &mut params[..self.units * n_in],
            self.units,
            n_in,
            self.kernel_init,
            rng,
        );
        Ok(Box::new(DenseLayer {
            n_in,
            n_out: self.units,
            activation: self.activation,
            grads: vec![T::zero(); params.len()],
            params,
            x: None,
            z: DMatrix::zeros(0, 0),
            y: DMatrix::zeros(0, 0),
        }))
    }
}

impl<T: Real> Layer<T> for DenseLayer<T> {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        match input {
            Shape::Features(n) if *n == self.n_in => Ok(Shape::Features(self.n_out)),
            Shape::Seq { features, steps } if *features == self.n_in => Ok(Shape::Seq {
                features: self.n_out,
                steps: *steps,
            }),
            other => Err(wrong_input(
                "Dense",
                &format!("{} features", self.n_in),
                other,
            )),
        }
    }

    fn params(&self) -> Vec<&[T]> {
        vec![&self.params]
    }

    fn params_and_grads(&mut self) -> Vec<(&mut [T], &[T])> {
        vec![(&mut self.params, &self.grads)]
    }

    fn param_info(&self) -> Vec<ParamInfo> {
        vec![
            dense_info("kernel", self.n_out, self.n_in, 0),
            dense_info("bias", self.n_out, 1, self.n_out * self.n_in),
        ]
    }

    fn placements(&self, framework: &str, suffix: &str) -> Result<Vec<Placement>, Error> {
        let (o, i) = (self.n_out, self.n_in);
        // `W` is (n_out, n_in), column-major: element (r, c) is at c · n_out + r.
        let (names, shape, indices): (_, _, Vec<usize>) = match framework {
            // Keras's kernel (n_in, n_out) row-major is `W`'s storage order.
            "keras" => (("kernel", "bias"), vec![i, o], (0..o * i).collect()),
            // PyTorch's `Linear.weight` is `W` itself, (n_out, n_in).
            "torch" => (
                ("weight", "bias"),
                vec![o, i],
                (0..o)
                    .flat_map(|r| (0..i).map(move |c| c * o + r))
                    .collect(),
            ),
            other => return Err(no_layout("Dense", other, &["keras", "torch"])),
        };
        Ok(vec![
            Placement {
                name: format!("{}{suffix}", names.0),
                shape,
                group: 0,
                indices,
            },
            Placement {
                name: format!("{}{suffix}", names.1),
                shape: vec![o],
                group: 0,
                indices: (o * i..o * i + o).collect(),
            },
        ])
    }

    fn forward(&mut self, x: &Tensor<T>, _: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        self.output_shape(&x.shape())?;
        let xv = x
            .values()
            .ok_or_else(|| wrong_input("Dense", "features", &x.shape()))?;
        let cols = xv.ncols();
        let (o, i) = (self.n_out, self.n_in);
        self.z = DMatrix::zeros(o, cols);
        kernel::gemm(
            self.z.as_mut_slice(),
            Block::dense(0, o, cols),
            &self.params,
            Block::dense(0, o, i),
            xv.as_slice(),
            Block::dense(0, i, cols),
            T::zero(),
        );
        let bias = &self.params[o * i..];
        for mut c in self.z.column_iter_mut() {
            for (v, b) in c.iter_mut().zip(bias) {
                *v += *b;
            }
        }
        let act = self.activation;
        self.y = self.z.map(|v| act.apply(v));
        self.x = Some(x.clone());
        Ok(match x {
            Tensor::Seq(s) => Tensor::Seq(Sequence::new(self.y.clone(), s.m())?),
            _ => Tensor::Batch(self.y.clone()),
        })
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let (Some(x), Some(dyv)) = (&self.x, dy.values()) else {
            return Err(Error::Shape {
                tensor: "the gradient given to `Dense`".into(),
                expected: "values after a forward pass".into(),
                found: format!("{}", dy.shape()),
            });
        };
        if dyv.shape() != self.y.shape() {
            return Err(Error::Shape {
                tensor: "the gradient given to `Dense`".into(),
                expected: format!("{} × {}", self.y.nrows(), self.y.ncols()),
                found: format!("{} × {}", dyv.nrows(), dyv.ncols()),
            });
        }
        let act = self.activation;
        let dz = DMatrix::from_fn(dyv.nrows(), dyv.ncols(), |r, c| {
            dyv[(r, c)] * act.slope(self.y[(r, c)])
        });
        let xv = x
            .values()
            .ok_or_else(|| wrong_input("Dense", "features", &x.shape()))?;
        let (o, i, cols) = (self.n_out, self.n_in, dz.ncols());
        kernel::gemm_t(
            &mut self.grads,
            Block::dense(0, o, i),
            dz.as_slice(),
            Block::dense(0, o, cols),
            false,
            xv.as_slice(),
            Block::dense(0, i, cols),
            true,
            T::zero(),
        );
        for (r, g) in self.grads[o * i..].iter_mut().enumerate() {
            *g = dz.row(r).sum();
        }
        let mut dx = DMatrix::zeros(i, cols);
        kernel::gemm_t(
            dx.as_mut_slice(),
            Block::dense(0, i, cols),
            &self.params,
            Block::dense(0, o, i),
            true,
            dz.as_slice(),
            Block::dense(0, o, cols),
            false,
            T::zero(),
        );
        Ok(Some(match x {
            Tensor::Seq(s) => Tensor::Seq(Sequence::new(dx, s.m())?),
            _ => Tensor::Batch(dx),
        }))
    }
}

// ---------------------------------------------------------------- Dropout

/// Keras's `Dropout(rate)`: in training, zeroes each value with probability
/// `rate` and scales the rest by `1 / (1 − rate)`; in inference, the identity.
#[derive(Clone, Debug)]
pub struct Dropout {
    /// The fraction dropped, in `[0, 1)`.
    pub rate: f64,
}

impl Dropout {
    /// Dropout of `rate`.
    pub fn new(rate: f64) -> Self {
        Dropout { rate }
    }
}

struct DropoutLayer<T> {
    rate: f64,
    mask: Option<DMatrix<T>>,
}

fn check_rate(rate: f64, what: &str) -> Result<(), Error> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(Error::Shape {
            tensor: format!("the rate of `{what}`"),
            expected: "a value in [0, 1)".into(),
            found: format!("{rate}"),
        })
    }
}

impl<T: Real> LayerConfig<T> for Dropout {
    fn build(self, input: &Shape, _: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        check_rate(self.rate, "Dropout")?;
        if let Shape::Ids { .. } = input {
            return Err(wrong_input("Dropout", "features or a sequence", input));
        }
        Ok(Box::new(DropoutLayer {
            rate: self.rate,
            mask: None,
        }))
    }
}

/// A keep mask of `rows × cols`, scaled by `1 / (1 − rate)`.
fn keep_mask<T: Real>(rows: usize, cols: usize, rate: f64, rng: &mut NumpyRng) -> DMatrix<T> {
    let scale = T::cast(1.0 / (1.0 - rate));
    DMatrix::from_fn(rows, cols, |_, _| {
        if rng.next_f64() < rate {
            T::zero()
        } else {
            scale
        }
    })
}

impl<T: Real> Layer<T> for DropoutLayer<T> {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        Ok(*input)
    }

    fn forward(&mut self, x: &Tensor<T>, ctx: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        let Some(v) = x.values() else {
            return Err(wrong_input("Dropout", "features or a sequence", &x.shape()));
        };
        if !ctx.training || self.rate == 0.0 {
            self.mask = None;
            return Ok(x.clone());
        }
        let mask = keep_mask(v.nrows(), v.ncols(), self.rate, ctx.rng);
        let out = v.component_mul(&mask);
        self.mask = Some(mask);
        rewrap(x, out)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        match (&self.mask, dy.values()) {
            (None, _) => Ok(Some(dy.clone())),
            (Some(mask), Some(v)) if mask.shape() == v.shape() => {
                Ok(Some(rewrap(dy, v.component_mul(mask))?))
            }
            _ => Err(Error::Shape {
                tensor: "the gradient given to `Dropout`".into(),
                expected: "the shape of its last output".into(),
                found: format!("{}", dy.shape()),
            }),
        }
    }
}

/// `values` in the form of `like` (a batch or a sequence of the same `m`).
fn rewrap<T: Real>(like: &Tensor<T>, values: DMatrix<T>) -> Result<Tensor<T>, Error> {
    Ok(match like {
        Tensor::Seq(s) => Tensor::Seq(Sequence::new(values, s.m())?),
        _ => Tensor::Batch(values),
    })
}

// ---------------------------------------------------------------- Recurrent

/// A recurrent layer around any cell: runs the cell over the sequence from a
/// zero state and returns its first state, at the last step or at every step
/// (Keras's `return_sequences`). Optionally drops inputs with one mask for
/// all steps (Keras's `dropout`, variational), or reads the sequence backwards.
pub struct Recurrent<T: Real, C: Cell<T>> {
    kind: &'static str,
    cell: C,
    return_sequences: bool,
    go_backwards: bool,
    dropout: f64,
    truncate: Option<usize>,
    initial: Option<C::State>,
    trace: Option<Trace<T>>,
    mask: Option<DMatrix<T>>,
    grads: Vec<T>,
}

impl<T: Real, C: Cell<T>> Recurrent<T, C> {
    /// A layer around `cell`, of type `kind` in summaries.
    pub fn new(kind: &'static str, cell: C) -> Self {
        let grads = vec![T::zero(); cell.flat_params().len()];
        Recurrent {
            kind,
            cell,
            return_sequences: false,
            go_backwards: false,
            dropout: 0.0,
            truncate: None,
            initial: None,
            trace: None,
            mask: None,
            grads,
        }
    }

    /// Return the state at every step, not only the last.
    pub fn return_sequences(mut self, yes: bool) -> Self {
        self.return_sequences = yes;
        self
    }

    /// Read the sequence from its last step to its first.
    pub fn go_backwards(mut self, yes: bool) -> Self {
        self.go_backwards = yes;
        self
    }

    /// Drop inputs with `rate`, one mask per example for all steps.
    pub fn dropout(mut self, rate: f64) -> Result<Self, Error> {
        check_rate(rate, self.kind)?;
        self.dropout = rate;
        Ok(self)
    }

    /// Truncated backpropagation through time: gradients flow back at most
    /// within windows of `window` steps.
    pub fn truncate(mut self, window: usize) -> Result<Self, Error> {
        if window == 0 {
            return Err(Error::Shape {
                tensor: format!("the truncation window of `{}`", self.kind),
                expected: "at least 1 step".into(),
                found: "0".into(),
            });
        }
        self.truncate = Some(window);
        Ok(self)
    }

    /// Start every sequence from this state instead of zeros (its batch must
    /// match the batches given).
    pub fn initial_state(mut self, state: C::State) -> Self {
        self.initial = Some(state);
        self
    }

    /// The cell.
    pub fn cell(&self) -> &C {
        &self.cell
    }

    /// The cell, mutable (to set its weights).
    pub fn cell_mut(&mut self) -> &mut C {
        &mut self.cell
    }

    fn units(&self) -> usize {
        self.cell.layout().states.first().copied().unwrap_or(0)
    }
}

/// The steps of `s` in reverse order.
pub fn reverse_steps<T: Real>(s: &Sequence<T>) -> Result<Sequence<T>, Error> {
    let (m, steps) = (s.m(), s.steps());
    let mut data = DMatrix::zeros(s.n_x(), m * steps);
    for t in 0..steps {
        data.columns_mut((steps - 1 - t) * m, m)
            .copy_from(&s.data().columns(t * m, m));
    }
    Sequence::new(data, m)
}

impl<T: Real, C: Cell<T>> Layer<T> for Recurrent<T, C> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        let n_x = self.cell.layout().input;
        match input {
            Shape::Seq { features, steps } if *features == n_x => Ok(if self.return_sequences {
                Shape::Seq {
                    features: self.units(),
                    steps: *steps,
                }
            } else {
                Shape::Features(self.units())
            }),
            other => Err(wrong_input(
                self.kind,
                &format!("a sequence of {n_x} features per step"),
                other,
            )),
        }
    }

    fn params(&self) -> Vec<&[T]> {
        vec![self.cell.flat_params()]
    }

    fn params_and_grads(&mut self) -> Vec<(&mut [T], &[T])> {
        vec![(self.cell.flat_params_mut(), &self.grads)]
    }

    fn placements(&self, framework: &str, suffix: &str) -> Result<Vec<Placement>, Error> {
        Ok(crate::interop::placements(&self.cell, framework)?
            .into_iter()
            .map(|p| Placement {
                name: format!("{}{suffix}", p.name),
                ..p
            })
            .collect())
    }

    fn is_recurrent(&self) -> bool {
        true
    }

    fn param_info(&self) -> Vec<ParamInfo> {
        self.cell
            .param_slots()
            .into_iter()
            .map(|s| ParamInfo {
                name: s.name.to_string(),
                group: 0,
                shape: (s.rows, s.cols),
                indices: s.indices().collect(),
            })
            .collect()
    }

    fn forward(&mut self, x: &Tensor<T>, ctx: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        self.output_shape(&x.shape())?;
        let Tensor::Seq(seq) = x else {
            return Err(wrong_input(self.kind, "a sequence", &x.shape()));
        };
        let mut seq = if self.go_backwards {
            reverse_steps(seq)?
        } else {
            seq.clone()
        };
        self.mask = None;
        if ctx.training && self.dropout > 0.0 {
            let mask: DMatrix<T> = keep_mask(seq.n_x(), seq.m(), self.dropout, ctx.rng);
            let m = seq.m();
            let data = DMatrix::from_fn(seq.n_x(), m * seq.steps(), |i, c| {
                seq.data()[(i, c)] * mask[(i, c % m)]
            });
            seq = Sequence::new(data, m)?;
            self.mask = Some(mask);
        }
        let zero = self.cell.zero_state(seq.m());
        let initial = self.initial.as_ref().unwrap_or(&zero);
        let mut trace = self
            .trace
            .take()
            .unwrap_or_else(|| Trace::new(self.cell.layout(), seq.m(), seq.steps()));
        // Read backwards, the mask is reversed with the steps: each example's
        // real steps are then read from its last to its first.
        let mask = match (&ctx.mask, self.go_backwards) {
            (Some(mask), true) => Some(mask.reversed()),
            (mask, false) => mask.clone(),
            (None, true) => None,
        };
        // The cell's own random masks (dropout, zoneout, DropConnect) are
        // drawn in training and are their expectations in inference.
        let noise = if ctx.training {
            crate::Noise::Sample(&mut *ctx.rng)
        } else {
            crate::Noise::Off
        };
        self.cell
            .forward_with_into(&seq, initial, mask.as_ref(), noise, &mut trace)?;
        if !self.return_sequences {
            ctx.mask = None;
        }
        let states = trace
            .state(0)
            .ok_or_else(|| wrong_input(self.kind, "a cell with a state", &x.shape()))?;
        let (m, steps) = (seq.m(), seq.steps());
        let out = if self.return_sequences {
            Tensor::Seq(Sequence::new(states.columns(m, m * steps).into_owned(), m)?)
        } else {
            Tensor::Batch(states.columns(m * steps, m).into_owned())
        };
        self.trace = Some(trace);
        Ok(out)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let Some(trace) = &self.trace else {
            return Err(Error::Shape {
                tensor: format!("the gradient given to `{}`", self.kind),
                expected: "a forward pass first".into(),
                found: "none".into(),
            });
        };
        let (m, steps) = (trace.m(), trace.steps());
        let mut up = Upstream::zeros_like(trace);
        let target = up
            .state_mut(0)
            .ok_or_else(|| wrong_input(self.kind, "a cell with a state", &dy.shape()))?;
        match (dy, self.return_sequences) {
            (Tensor::Seq(s), true) if s.data().shape() == target.shape() => {
                target.copy_from(s.data())
            }
            (Tensor::Batch(b), false) if b.shape() == (target.nrows(), m) => {
                target.columns_mut(m * (steps - 1), m).copy_from(b)
            }
            _ => {
                return Err(Error::Shape {
                    tensor: format!("the gradient given to `{}`", self.kind),
                    expected: format!(
                        "the shape of its output ({} × {})",
                        target.nrows(),
                        if self.return_sequences { m * steps } else { m }
                    ),
                    found: format!("{}", dy.shape()),
                });
            }
        }
        let grads = self.cell.backward_window(trace, &up, self.truncate)?;
        self.grads.copy_from_slice(grads.params());
        let mut dx = grads.input().clone();
        if let Some(mask) = &self.mask {
            for c in 0..dx.ncols() {
                for i in 0..dx.nrows() {
                    dx[(i, c)] *= mask[(i, c % m)];
                }
            }
        }
        let dx = Sequence::new(dx, m)?;
        Ok(Some(Tensor::Seq(if self.go_backwards {
            reverse_steps(&dx)?
        } else {
            dx
        })))
    }
}

// ---------------------------------------------------------------- Bidirectional

/// How a bidirectional layer merges its two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Stack the forward output on the backward one.
    Concat,
    /// Add them.
    Sum,
    /// Multiply them element-wise.
    Mul,
    /// Average them.
    Ave,
}

/// Keras's `Bidirectional(layer, merge_mode)`: the layer over the sequence and
/// a second one, built from the same configuration, over the reversed
/// sequence; with `return_sequences`, the backward outputs are put back in
/// time order before merging.
pub struct Bidirectional<L> {
    layer: L,
    merge: Merge,
}

impl<L> Bidirectional<L> {
    /// Both directions of `layer`, merged by `merge`.
    pub fn new(layer: L, merge: Merge) -> Self {
        Bidirectional { layer, merge }
    }
}

/// A recurrent layer configuration that can also be built to read backwards.
pub trait RecurrentConfig<T: Real>: Clone {
    /// Builds the layer, reading the sequence backwards when asked.
    fn build_dir(
        self,
        input: &Shape,
        backwards: bool,
        rng: &mut NumpyRng,
    ) -> Result<Box<dyn Layer<T>>, Error>;
}

struct BidirectionalLayer<T: Real> {
    fwd: Box<dyn Layer<T>>,
    bwd: Box<dyn Layer<T>>,
    merge: Merge,
    outputs: Option<(Tensor<T>, Tensor<T>)>,
}

impl<T: Real, L: RecurrentConfig<T>> LayerConfig<T> for Bidirectional<L> {
    fn build(self, input: &Shape, rng: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        let fwd = self.layer.clone().build_dir(input, false, rng)?;
        let bwd = self.layer.build_dir(input, true, rng)?;
        Ok(Box::new(BidirectionalLayer {
            fwd,
            bwd,
            merge: self.merge,
            outputs: None,
        }))
    }
}

/// Puts a backward layer's sequence output back in time order.
fn in_time_order<T: Real>(t: Tensor<T>) -> Result<Tensor<T>, Error> {
    Ok(match t {
        Tensor::Seq(s) => Tensor::Seq(reverse_steps(&s)?),
        other => other,
    })
}

impl<T: Real> Layer<T> for BidirectionalLayer<T> {
    fn kind(&self) -> &'static str {
        "Bidirectional"
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        let one = self.fwd.output_shape(input)?;
        Ok(match (self.merge, one) {
            (Merge::Concat, Shape::Features(n)) => Shape::Features(2 * n),
            (Merge::Concat, Shape::Seq { features, steps }) => Shape::Seq {
                features: 2 * features,
                steps,
            },
            (_, s) => s,
        })
    }

    fn params(&self) -> Vec<&[T]> {
        let mut p = self.fwd.params();
        p.extend(self.bwd.params());
        p
    }

    fn params_and_grads(&mut self) -> Vec<(&mut [T], &[T])> {
        let mut p = self.fwd.params_and_grads();
        p.extend(self.bwd.params_and_grads());
        p
    }

    fn placements(&self, framework: &str, suffix: &str) -> Result<Vec<Placement>, Error> {
        // PyTorch names the reverse direction `weight_ih_l0_reverse`; other
        // frameworks keep the two directions apart by a prefix.
        let (f, b) = if framework == "torch" {
            (
                self.fwd.placements(framework, suffix)?,
                self.bwd
                    .placements(framework, &format!("{suffix}_reverse"))?,
            )
        } else {
            let rename = |prefix: &str, ps: Vec<Placement>| -> Vec<Placement> {
                ps.into_iter()
                    .map(|p| Placement {
                        name: format!("{prefix}/{}", p.name),
                        ..p
                    })
                    .collect()
            };
            (
                rename("forward", self.fwd.placements(framework, suffix)?),
                rename("backward", self.bwd.placements(framework, suffix)?),
            )
        };
        let groups = self.fwd.params().len();
        Ok(f.into_iter()
            .chain(b.into_iter().map(|p| Placement {
                group: p.group + groups,
                ..p
            }))
            .collect())
    }

    fn is_recurrent(&self) -> bool {
        true
    }

    fn param_info(&self) -> Vec<ParamInfo> {
        let groups = self.fwd.params().len();
        let f = self.fwd.param_info().into_iter().map(|p| ParamInfo {
            name: format!("forward.{}", p.name),
            ..p
        });
        let b = self.bwd.param_info().into_iter().map(|p| ParamInfo {
            name: format!("backward.{}", p.name),
            group: p.group + groups,
            ..p
        });
        f.chain(b).collect()
    }

    fn forward(&mut self, x: &Tensor<T>, ctx: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        let mask = ctx.mask.clone();
        let yf = self.fwd.forward(x, ctx)?;
        let after = ctx.mask.take();
        ctx.mask = mask;
        let yb = in_time_order(self.bwd.forward(x, ctx)?)?;
        ctx.mask = after;
        let (a, b) = (
            yf.values().cloned().unwrap_or_default(),
            yb.values().cloned().unwrap_or_default(),
        );
        let merged = match self.merge {
            Merge::Concat => {
                let mut out = DMatrix::zeros(a.nrows() + b.nrows(), a.ncols());
                out.rows_mut(0, a.nrows()).copy_from(&a);
                out.rows_mut(a.nrows(), b.nrows()).copy_from(&b);
                out
            }
            Merge::Sum => &a + &b,
            Merge::Mul => a.component_mul(&b),
            Merge::Ave => (&a + &b) * T::cast(0.5),
        };
        let out = rewrap(&yf, merged)?;
        self.outputs = Some((yf, yb));
        Ok(out)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let (Some((yf, yb)), Some(d)) = (&self.outputs, dy.values()) else {
            return Err(Error::Shape {
                tensor: "the gradient given to `Bidirectional`".into(),
                expected: "values after a forward pass".into(),
                found: format!("{}", dy.shape()),
            });
        };
        let (a, b) = (
            yf.values().cloned().unwrap_or_default(),
            yb.values().cloned().unwrap_or_default(),
        );
        let (da, db) = match self.merge {
            Merge::Concat => (
                d.rows(0, a.nrows()).into_owned(),
                d.rows(a.nrows(), b.nrows()).into_owned(),
            ),
            Merge::Sum => (d.clone(), d.clone()),
            Merge::Mul => (d.component_mul(&b), d.component_mul(&a)),
            Merge::Ave => (d * T::cast(0.5), d * T::cast(0.5)),
        };
        let dxf = self.fwd.backward(&rewrap(yf, da)?)?;
        let dxb = self.bwd.backward(&in_time_order(rewrap(yb, db)?)?)?;
        Ok(match (dxf, dxb) {
            (Some(f), Some(b)) => {
                let (fv, bv) = (
                    f.values().cloned().unwrap_or_default(),
                    b.values().cloned().unwrap_or_default(),
                );
                Some(rewrap(&f, fv + bv)?)
            }
            (f, _) => f,
        })
    }
}

// ---------------------------------------------------------------- Activation

/// Keras's `Activation(name)` layer: an activation is also a layer.
impl<T: Real> LayerConfig<T> for Activation {
    fn build(self, input: &Shape, _: &mut NumpyRng) -> Result<Box<dyn Layer<T>>, Error> {
        if let Shape::Ids { .. } = input {
            return Err(wrong_input("Activation", "features or a sequence", input));
        }
        Ok(Box::new(ActivationLayer {
            activation: self,
            x: None,
            y: None,
        }))
    }
}

struct ActivationLayer<T: Real> {
    activation: Activation,
    x: Option<DMatrix<T>>,
    y: Option<Tensor<T>>,
}

impl<T: Real> Layer<T> for ActivationLayer<T> {
    fn kind(&self) -> &'static str {
        "Activation"
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, Error> {
        Ok(*input)
    }

    fn forward(&mut self, x: &Tensor<T>, _: &mut Ctx<'_>) -> Result<Tensor<T>, Error> {
        let v = x
            .values()
            .ok_or_else(|| wrong_input("Activation", "features or a sequence", &x.shape()))?;
        let a = self.activation;
        let y = rewrap(x, v.map(|e| a.apply(e)))?;
        self.x = Some(v.clone());
        self.y = Some(y.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let (Some(x), Some(y), Some(d)) = (&self.x, &self.y, dy.values()) else {
            return Err(Error::Shape {
                tensor: "the gradient given to `Activation`".into(),
                expected: "values after a forward pass".into(),
                found: format!("{}", dy.shape()),
            });
        };
        let yv = y
            .values()
            .ok_or_else(|| wrong_input("Activation", "values", &y.shape()))?;
        if d.shape() != x.shape() {
            return Err(Error::Shape {
                tensor: "the gradient given to `Activation`".into(),
                expected: format!("{} × {}", x.nrows(), x.ncols()),
                found: format!("{} × {}", d.nrows(), d.ncols()),
            });
        }
        let a = self.activation;
        let dx = DMatrix::from_fn(d.nrows(), d.ncols(), |r, c| d[(r, c)] * a.slope(yv[(r, c)]));
        Ok(Some(rewrap(dy, dx)?))
    }
}
