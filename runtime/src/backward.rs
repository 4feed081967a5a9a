//! Backpropagation through time: the upstream gradients a loss gives a run,
//! and the gradients the backward pass returns, in buffers allocated once.

use crate::error::{Error, dims2};
use crate::sequence::Trace;
use crate::{NdArray, Real};
use nalgebra::{DMatrix, DMatrixView};

/// The sizes of a cell's backward buffers: rows of each product group's
/// pre-activation gradient (kept for every step, for the weight gradients)
/// and of each per-step scratch buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackwardLayout {
    /// Rows of each product group.
    pub groups: Vec<usize>,
    /// Rows of each per-step scratch buffer.
    pub scratch: Vec<usize>,
}

/// Gradients of a loss with respect to a run's states and outputs, given by
/// the loss: `states[k]` holds `∂L/∂s_k` after steps `1 ..= T` as
/// `(n, m · T)`, `outputs[k]` holds `∂L/∂y_k` of steps `1 ..= T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Upstream<T: Real> {
    m: usize,
    steps: usize,
    states: Vec<DMatrix<T>>,
    outputs: Vec<DMatrix<T>>,
}

impl<T: Real> Upstream<T> {
    /// Zero gradients shaped like `trace`.
    pub fn zeros_like(trace: &Trace<T>) -> Self {
        let (m, steps) = (trace.m(), trace.steps());
        let states = (0..trace.state_count())
            .map(|k| DMatrix::zeros(trace.state(k).map_or(0, |s| s.nrows()), m * steps))
            .collect();
        let outputs = (0..trace.output_count())
            .map(|k| DMatrix::zeros(trace.output(k).map_or(0, |o| o.nrows()), m * steps))
            .collect();
        Upstream {
            m,
            steps,
            states,
            outputs,
        }
    }

    /// `∂L/∂` state `k` after steps `1 ..= T`, `(n, m · T)`, to fill in.
    pub fn state_mut(&mut self, k: usize) -> Option<&mut DMatrix<T>> {
        self.states.get_mut(k)
    }

    /// `∂L/∂` output `k` of steps `1 ..= T`, `(n, m · T)`, to fill in.
    pub fn output_mut(&mut self, k: usize) -> Option<&mut DMatrix<T>> {
        self.outputs.get_mut(k)
    }

    /// `∂L/∂` state `k` after step `t` (`1 ..= T`), `(n, m)`, to fill in.
    pub fn state_at_mut(&mut self, k: usize, t: usize) -> Option<nalgebra::DMatrixViewMut<'_, T>> {
        let m = self.m;
        let s = self.states.get_mut(k)?;
        (1..=self.steps)
            .contains(&t)
            .then(|| s.columns_mut((t - 1) * m, m))
    }

    /// Upstream gradients from `(n, m, T)` arrays in the course's layout,
    /// one per state and one per output (in declaration order); a missing or
    /// shorter list leaves the rest zero. Steps past the array's `T` stay zero.
    pub fn from_arrays(
        trace: &Trace<T>,
        states: &[&NdArray<T>],
        outputs: &[&NdArray<T>],
    ) -> Result<Self, Error> {
        let mut up = Self::zeros_like(trace);
        for (k, a) in states.iter().enumerate() {
            fill_nmt(&mut up.states, k, a, up.m, up.steps, "state")?;
        }
        for (k, a) in outputs.iter().enumerate() {
            fill_nmt(&mut up.outputs, k, a, up.m, up.steps, "output")?;
        }
        Ok(up)
    }

    /// Checks that this fits `trace`.
    pub fn check(&self, trace: &Trace<T>) -> Result<(), Error> {
        if (self.m, self.steps) != (trace.m(), trace.steps()) {
            return Err(Error::Shape {
                tensor: "the upstream gradients".into(),
                expected: format!(
                    "{} examples over {} steps, like the trace",
                    trace.m(),
                    trace.steps()
                ),
                found: format!("{} examples over {} steps", self.m, self.steps),
            });
        }
        let expected = Self::zeros_like(trace);
        let pairs = self
            .states
            .iter()
            .zip(&expected.states)
            .map(|(a, b)| ("state", a, b));
        let all = pairs.chain(
            self.outputs
                .iter()
                .zip(&expected.outputs)
                .map(|(a, b)| ("output", a, b)),
        );
        for (k, (what, a, b)) in all.enumerate() {
            if a.shape() != b.shape() {
                return Err(Error::Shape {
                    tensor: format!("upstream gradient of {what} #{k}"),
                    expected: format!("{} (rows × m · T)", dims2(b.nrows(), b.ncols())),
                    found: dims2(a.nrows(), a.ncols()),
                });
            }
        }
        if self.states.len() != expected.states.len()
            || self.outputs.len() != expected.outputs.len()
        {
            return Err(Error::Shape {
                tensor: "upstream gradients".into(),
                expected: format!(
                    "{} states and {} outputs",
                    expected.states.len(),
                    expected.outputs.len()
                ),
                found: format!(
                    "{} states and {} outputs",
                    self.states.len(),
                    self.outputs.len()
                ),
            });
        }
        Ok(())
    }
}

fn fill_nmt<T: Real>(
    dst: &mut [DMatrix<T>],
    k: usize,
    a: &NdArray<T>,
    m: usize,
    steps: usize,
    what: &str,
) -> Result<(), Error> {
    let len = dst.len();
    let buf = dst.get_mut(k).ok_or_else(|| Error::Index {
        what: format!("upstream {what}s"),
        index: k,
        len,
    })?;
    let &[n, am, at] = a.shape() else {
        return Err(Error::Shape {
            tensor: format!("upstream gradient of {what} #{k}"),
            expected: "3-dimensional (n, m, T)".into(),
            found: a.shape_string(),
        });
    };
    if n != buf.nrows() || am != m || at > steps {
        return Err(Error::Shape {
            tensor: format!("upstream gradient of {what} #{k}"),
            expected: format!("({}, {m}, at most {steps})", buf.nrows()),
            found: a.shape_string(),
        });
    }
    let data = a.data();
    for i in 0..n {
        for j in 0..m {
            for t in 0..at {
                buf[(i, t * m + j)] = data[(i * m + j) * at + t];
            }
        }
    }
    Ok(())
}

/// The gradients of one backward pass: of every parameter (in the cell's
/// flat storage order), of every step's input, and of the initial states;
/// and the buffers the pass works in, allocated once and reusable.
#[derive(Clone, Debug)]
pub struct Gradients<T: Real> {
    m: usize,
    steps: usize,
    /// `∂L/∂s_k` at steps `0 ..= T`, `(n, m · (T + 1))`.
    states: Vec<DMatrix<T>>,
    outputs: Vec<DMatrix<T>>,
    input: DMatrix<T>,
    params: Vec<T>,
    groups: Vec<DMatrix<T>>,
    scratch: Vec<DMatrix<T>>,
}

/// Mutable access to the backward buffers, for generated kernels.
#[doc(hidden)]
pub struct GradParts<'a, T> {
    pub m: usize,
    pub steps: usize,
    pub states: &'a mut [DMatrix<T>],
    pub outputs: &'a [DMatrix<T>],
    pub input: &'a mut [T],
    pub params: &'a mut [T],
    pub groups: &'a mut [DMatrix<T>],
    pub scratch: &'a mut [DMatrix<T>],
}

impl<T: Real> Gradients<T> {
    /// Zeroed buffers for a backward pass over `trace` with `upstream`.
    pub(crate) fn start(
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        layout: &BackwardLayout,
        param_count: usize,
    ) -> Self {
        let (m, steps) = (trace.m(), trace.steps());
        let cols = m * steps;
        let states = upstream
            .states
            .iter()
            .map(|u| {
                let mut s = DMatrix::zeros(u.nrows(), cols + m);
                s.columns_mut(m, cols).copy_from(u);
                s
            })
            .collect();
        Gradients {
            m,
            steps,
            states,
            outputs: upstream.outputs.clone(),
            input: DMatrix::zeros(trace.input().nrows(), cols),
            params: vec![T::zero(); param_count],
            groups: layout
                .groups
                .iter()
                .map(|&r| DMatrix::zeros(r, cols))
                .collect(),
            scratch: layout
                .scratch
                .iter()
                .map(|&r| DMatrix::zeros(r, m))
                .collect(),
        }
    }

    /// Like [`Gradients::start`], reusing this value's buffers when they
    /// have the sizes needed (no allocation, no page faults).
    pub(crate) fn restart(
        &mut self,
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        layout: &BackwardLayout,
        param_count: usize,
    ) {
        let (m, steps) = (trace.m(), trace.steps());
        let cols = m * steps;
        let fits = self.m == m
            && self.steps == steps
            && self.states.len() == upstream.states.len()
            && self
                .states
                .iter()
                .zip(&upstream.states)
                .all(|(s, u)| s.nrows() == u.nrows())
            && self.outputs.len() == upstream.outputs.len()
            && self
                .outputs
                .iter()
                .zip(&upstream.outputs)
                .all(|(o, u)| o.shape() == u.shape())
            && self.input.shape() == (trace.input().nrows(), cols)
            && self.params.len() == param_count
            && self.groups.len() == layout.groups.len()
            && self
                .groups
                .iter()
                .zip(&layout.groups)
                .all(|(g, &r)| g.nrows() == r)
            && self.scratch.len() == layout.scratch.len()
            && self
                .scratch
                .iter()
                .zip(&layout.scratch)
                .all(|(g, &r)| g.nrows() == r);
        if !fits {
            *self = Gradients::start(trace, upstream, layout, param_count);
            return;
        }
        for (s, u) in self.states.iter_mut().zip(&upstream.states) {
            s.columns_mut(0, m).fill(T::zero());
            s.columns_mut(m, cols).copy_from(u);
        }
        for (o, u) in self.outputs.iter_mut().zip(&upstream.outputs) {
            o.copy_from(u);
        }
        self.input.fill(T::zero());
        self.params.fill(T::zero());
        for g in &mut self.groups {
            g.fill(T::zero());
        }
        for g in &mut self.scratch {
            g.fill(T::zero());
        }
    }

    /// Before the backward of step `t`: takes the gradients of the padded
    /// examples' states after the step out of the computation (and zeroes
    /// their outputs' gradients), so that the step gives them nothing.
    pub(crate) fn hold_padded(
        &mut self,
        mask: Option<&crate::sequence::Mask>,
        t: usize,
    ) -> Vec<(usize, usize, Vec<T>)> {
        let Some(mask) = mask else { return Vec::new() };
        let m = self.m;
        let mut held = Vec::new();
        for j in mask.padded(t) {
            for (k, s) in self.states.iter_mut().enumerate() {
                let mut col = s.column_mut((t + 1) * m + j);
                held.push((k, j, col.iter().copied().collect()));
                col.fill(T::zero());
            }
            for o in &mut self.outputs {
                o.column_mut(t * m + j).fill(T::zero());
            }
        }
        held
    }

    /// After the backward of step `t`: a padded step passes its state's
    /// gradient straight to the state before it.
    pub(crate) fn release_padded(&mut self, held: Vec<(usize, usize, Vec<T>)>, t: usize) {
        let m = self.m;
        for (k, j, g) in held {
            if let Some(s) = self.states.get_mut(k) {
                for (v, add) in s.column_mut(t * m + j).iter_mut().zip(g) {
                    *v += add;
                }
            }
        }
    }

    /// Drops the gradient that flowed into the state at step `t` from later
    /// steps, keeping only the loss's own (truncated backpropagation).
    pub(crate) fn cut_at(&mut self, upstream: &Upstream<T>, t: usize) {
        let m = self.m;
        for (s, u) in self.states.iter_mut().zip(&upstream.states) {
            s.columns_mut(t * m, m)
                .copy_from(&u.columns((t - 1) * m, m));
        }
    }

    /// The gradient of every parameter, in the cell's flat storage order.
    pub fn params(&self) -> &[T] {
        &self.params
    }

    pub(crate) fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// The gradient of every step's input, `(n_x, m · T)`.
    pub fn input(&self) -> &DMatrix<T> {
        &self.input
    }

    /// The gradient of the input of step `t` (`1 ..= T`), `(n_x, m)`.
    pub fn input_at(&self, t: usize) -> Option<DMatrixView<'_, T>> {
        (1..=self.steps)
            .contains(&t)
            .then(|| self.input.columns((t - 1) * self.m, self.m))
    }

    /// The gradient of the inputs as an `(n_x, m, T)` array, the course's layout.
    pub fn input_array(&self) -> NdArray<T> {
        crate::sequence::to_nmt(self.input.columns(0, self.input.ncols()), self.m)
    }

    /// The gradient of initial state `k`, `(n, m)`.
    pub fn initial_state(&self, k: usize) -> Option<DMatrixView<'_, T>> {
        self.states.get(k).map(|s| s.columns(0, self.m))
    }

    /// The buffers, for generated kernels.
    #[doc(hidden)]
    pub fn parts(&mut self) -> GradParts<'_, T> {
        GradParts {
            m: self.m,
            steps: self.steps,
            states: &mut self.states,
            outputs: &self.outputs,
            input: self.input.as_mut_slice(),
            params: &mut self.params,
            groups: &mut self.groups,
            scratch: &mut self.scratch,
        }
    }
}
