//! Gradient checking: the derived gradients of any cell against central
//! finite differences in `f64`, for every parameter, every input and every
//! initial state, with a loss of the user's choice.

use crate::NumpyRng;
use crate::backward::Upstream;
use crate::cell::{Cell, Tensors};
use crate::error::Error;
use crate::noise::Noise;
use crate::sequence::{Mask, Sequence, Trace};
use nalgebra::DMatrix;

/// How far the derived gradient of one tensor is from finite differences.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorCheck {
    /// What was checked: ``param `w_f` ``, `input`, ``initial state `a` ``.
    pub tensor: String,
    /// `‖derived − numeric‖ / (‖derived‖ + ‖numeric‖)`, 0 when both are 0.
    pub rel_error: f64,
    /// The largest element-wise absolute difference.
    pub max_abs_error: f64,
    /// How many elements were checked.
    pub count: usize,
}

/// The result of a gradient check, one entry per tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// Per tensor, in the order parameters, input, initial states.
    pub tensors: Vec<TensorCheck>,
}

impl GradCheck {
    /// The worst relative error over all tensors.
    pub fn worst(&self) -> f64 {
        self.tensors.iter().map(|t| t.rel_error).fold(0.0, f64::max)
    }

    /// The entry of one tensor, by its name in [`TensorCheck::tensor`].
    pub fn get(&self, tensor: &str) -> Option<&TensorCheck> {
        self.tensors.iter().find(|t| t.tensor == tensor)
    }
}

impl std::fmt::Display for GradCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.tensors {
            writeln!(
                f,
                "{:<24} rel {:.1e}  max abs {:.1e}  ({} values)",
                t.tensor, t.rel_error, t.max_abs_error, t.count
            )?;
        }
        Ok(())
    }
}

/// A loss over a run: its value and its gradient with respect to every
/// step's states and outputs.
pub trait Loss {
    /// The loss of a run and its upstream gradients.
    fn eval(&self, trace: &Trace<f64>) -> Result<(f64, Upstream<f64>), Error>;
}

// ANCHOR: linear_loss
/// A random linear loss `L = Σ G ⊙ states + Σ H ⊙ outputs` over every step:
/// its gradient is exact, so it checks the backward pass alone.
#[derive(Clone, Debug)]
pub struct LinearLoss {
    weights: Upstream<f64>,
}
// ANCHOR_END: linear_loss

impl LinearLoss {
    /// The loss with these weights: `weights` holds `G` and `H`, which are
    /// also its upstream gradients.
    pub fn new(weights: Upstream<f64>) -> Self {
        LinearLoss { weights }
    }

    /// Random weights shaped like `trace`, from `rng`.
    pub fn random(trace: &Trace<f64>, rng: &mut NumpyRng) -> Self {
        let mut weights = Upstream::zeros_like(trace);
        for k in 0..trace.state_count() {
            if let Some(s) = weights.state_mut(k) {
                s.iter_mut().for_each(|v| *v = rng.standard_normal());
            }
        }
        for k in 0..trace.output_count() {
            if let Some(o) = weights.output_mut(k) {
                o.iter_mut().for_each(|v| *v = rng.standard_normal());
            }
        }
        LinearLoss { weights }
    }
}

impl Loss for LinearLoss {
    fn eval(&self, trace: &Trace<f64>) -> Result<(f64, Upstream<f64>), Error> {
        self.weights.check(trace)?;
        let mut total = 0.0;
        let mut w = self.weights.clone();
        let m = trace.m();
        for k in 0..trace.state_count() {
            if let (Some(s), Some(g)) = (trace.state(k), w.state_mut(k)) {
                total += s.columns(m, g.ncols()).dot(g);
            }
        }
        for k in 0..trace.output_count() {
            if let (Some(o), Some(g)) = (trace.output(k), w.output_mut(k)) {
                total += o.dot(g);
            }
        }
        Ok((total, w))
    }
}

/// Cross-entropy of output `output` (a softmax over classes) against one
/// class per example and step: `L = −Σ log y[label]`.
#[derive(Clone, Debug)]
pub struct CrossEntropyLoss {
    /// Which output holds the probabilities.
    pub output: usize,
    /// The class of each example at each step, `labels[t][j]`.
    pub labels: Vec<Vec<usize>>,
}

impl Loss for CrossEntropyLoss {
    fn eval(&self, trace: &Trace<f64>) -> Result<(f64, Upstream<f64>), Error> {
        let mut up = Upstream::zeros_like(trace);
        let (m, steps) = (trace.m(), trace.steps());
        let (Some(y), Some(g)) = (trace.output(self.output), up.output_mut(self.output)) else {
            return Err(Error::Index {
                what: "the outputs of the trace".into(),
                index: self.output,
                len: trace.output_count(),
            });
        };
        if self.labels.len() != steps || self.labels.iter().any(|row| row.len() != m) {
            return Err(Error::Shape {
                tensor: "the labels of the cross-entropy loss".into(),
                expected: format!("{steps} steps of {m} labels"),
                found: format!(
                    "{} steps of {:?} labels",
                    self.labels.len(),
                    self.labels.first().map(Vec::len)
                ),
            });
        }
        let mut total = 0.0;
        for (t, row) in self.labels.iter().enumerate() {
            for (j, &class) in row.iter().enumerate() {
                if class >= y.nrows() {
                    return Err(Error::Index {
                        what: "the classes of the output".into(),
                        index: class,
                        len: y.nrows(),
                    });
                }
                let p = y[(class, t * m + j)];
                total -= p.ln();
                g[(class, t * m + j)] = -1.0 / p;
            }
        }
        Ok((total, up))
    }
}

/// What every run of a gradient check shares besides the cell, the data and
/// the loss: which steps are padding, and the random masks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditions<'a> {
    /// Which steps of which examples are real, for sequences of different
    /// lengths.
    pub mask: Option<&'a Mask>,
    /// The random masks of every run, one per `mask` declaration (as
    /// [`Trace::noise`] holds them, e.g. from a run of
    /// [`Cell::forward_train`]); without them each mask is its expectation,
    /// as in inference.
    pub noise: Option<&'a [DMatrix<f64>]>,
}

impl Conditions<'_> {
    fn noise(&self) -> Noise<'_, f64> {
        match self.noise {
            Some(masks) => Noise::Fixed(masks),
            None => Noise::Off,
        }
    }
}

/// Checks every derived gradient of `cell` on `xs` from `initial` against
/// fourth-order central differences with step `eps`,
/// `(8 (L(+h) − L(−h)) − (L(+2h) − L(−2h))) / 12h`, whose truncation error is
/// of order `h⁴`: `1e-4` is a good step in `f64`.
pub fn check_gradients<C: Cell<f64> + Clone>(
    cell: &C,
    xs: &Sequence<f64>,
    initial: &C::State,
    loss: &dyn Loss,
    eps: f64,
) -> Result<GradCheck, Error> {
    check_gradients_with(cell, xs, initial, loss, eps, Conditions::default())
}

/// [`check_gradients`] with every run under `conditions`: a mask of padded
/// steps, and fixed random masks (one training run's, replayed), so that the
/// gradients of a cell with dropout, zoneout or DropConnect are checked as
/// training computes them.
pub fn check_gradients_with<C: Cell<f64> + Clone>(
    cell: &C,
    xs: &Sequence<f64>,
    initial: &C::State,
    loss: &dyn Loss,
    eps: f64,
    conditions: Conditions<'_>,
) -> Result<GradCheck, Error> {
    let run = |c: &C, xs: &Sequence<f64>, s: &C::State| -> Result<Trace<f64>, Error> {
        c.forward_with(xs, s, conditions.mask, conditions.noise())
    };
    let trace = run(cell, xs, initial)?;
    let (_, upstream) = loss.eval(&trace)?;
    let grads = cell.backward(&trace, &upstream)?;
    let value = |c: &C, xs: &Sequence<f64>, s: &C::State| -> Result<f64, Error> {
        Ok(loss.eval(&run(c, xs, s)?)?.0)
    };
    let mut tensors = Vec::new();
    for slot in cell.param_slots() {
        let mut numeric = Vec::new();
        let mut derived = Vec::new();
        for idx in slot.indices() {
            let mut c = cell.clone();
            let base = c.flat_params()[idx];
            numeric.push(stencil(eps, |h| {
                c.flat_params_mut()[idx] = base + h;
                value(&c, xs, initial)
            })?);
            derived.push(grads.params()[idx]);
        }
        tensors.push(compare(
            format!("param `{}`", slot.name),
            &derived,
            &numeric,
        ));
    }
    let mut numeric = Vec::new();
    for k in 0..xs.data().len() {
        numeric.push(stencil(eps, |h| {
            let mut d = xs.data().clone();
            d[k] += h;
            value(cell, &Sequence::new(d, xs.m())?, initial)
        })?);
    }
    tensors.push(compare("input".into(), grads.input().as_slice(), &numeric));
    let parts: Vec<DMatrix<f64>> = initial.parts().into_iter().cloned().collect();
    for (k, name) in C::State::names().iter().enumerate() {
        let mut numeric = Vec::new();
        for e in 0..parts[k].len() {
            numeric.push(stencil(eps, |h| {
                let mut bumped = parts.clone();
                bumped[k][e] += h;
                value(cell, xs, &C::State::from_parts(bumped))
            })?);
        }
        let derived: Vec<f64> = grads
            .initial_state(k)
            .map(|v| v.iter().copied().collect())
            .unwrap_or_default();
        tensors.push(compare(
            format!("initial state `{name}`"),
            &derived,
            &numeric,
        ));
    }
    Ok(GradCheck { tensors })
}

// ANCHOR: stencil
/// The fourth-order central difference of `f` at 0 with step `h`.
fn stencil(h: f64, mut f: impl FnMut(f64) -> Result<f64, Error>) -> Result<f64, Error> {
    let (p1, m1, p2, m2) = (f(h)?, f(-h)?, f(2.0 * h)?, f(-2.0 * h)?);
    Ok((8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h))
}
// ANCHOR_END: stencil

fn compare(tensor: String, derived: &[f64], numeric: &[f64]) -> TensorCheck {
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let diff = norm(&mut derived.iter().zip(numeric).map(|(a, b)| a - b));
    let scale = norm(&mut derived.iter().copied()) + norm(&mut numeric.iter().copied());
    let max_abs_error = derived
        .iter()
        .zip(numeric)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let rel_error = if scale == 0.0 { 0.0 } else { diff / scale };
    let rel_error = if derived.len() == numeric.len() {
        rel_error
    } else {
        f64::INFINITY
    };
    TensorCheck {
        tensor,
        rel_error,
        max_abs_error,
        count: numeric.len(),
    }
}
