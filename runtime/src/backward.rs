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
    /// A worker's columns of the states' upstream gradients.
    pub(crate) fn state_views(&self, r: (usize, usize)) -> Vec<crate::chunk::ColsRef<'_, T>> {
        self.states
            .iter()
            .map(|u| crate::chunk::ColsRef::new(u.as_slice(), u.nrows(), self.m, r))
            .collect()
    }

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
        self.check_named(trace, &[], &[])
    }

    /// [`Upstream::check`], naming a mismatched gradient by its state's or
    /// output's name from `states` and `outputs` (the cell's declaration
    /// order).
    pub(crate) fn check_named(
        &self,
        trace: &Trace<T>,
        states: &[&str],
        outputs: &[&str],
    ) -> Result<(), Error> {
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
        // The shapes the trace implies, without allocating its zeros.
        let cols = trace.m() * trace.steps();
        let state_shapes =
            (0..trace.state_count()).map(|k| (trace.state(k).map_or(0, |s| s.nrows()), cols));
        let output_shapes =
            (0..trace.output_count()).map(|k| (trace.output(k).map_or(0, |o| o.nrows()), cols));
        let name = |what: &str, names: &[&str], k: usize| match names.get(k) {
            Some(n) => format!("{what} `{n}`"),
            None => format!("{what} #{k}"),
        };
        let pairs = self
            .states
            .iter()
            .zip(state_shapes)
            .enumerate()
            .map(|(k, (a, b))| (name("state", states, k), a, b));
        let all = pairs.chain(
            self.outputs
                .iter()
                .zip(output_shapes)
                .enumerate()
                .map(|(k, (a, b))| (name("output", outputs, k), a, b)),
        );
        for (what, a, b) in all {
            if a.shape() != b {
                return Err(Error::Shape {
                    tensor: format!("upstream gradient of {what}"),
                    expected: format!("{} (rows × m · T)", dims2(b.0, b.1)),
                    found: dims2(a.nrows(), a.ncols()),
                });
            }
        }
        if self.states.len() != trace.state_count() || self.outputs.len() != trace.output_count() {
            return Err(Error::Shape {
                tensor: "upstream gradients".into(),
                expected: format!(
                    "{} states and {} outputs",
                    trace.state_count(),
                    trace.output_count()
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
    /// The transposed weights of the step's products, packed once per pass
    /// by each worker.
    packs: Vec<crate::gemm::PackCache<T>>,
    /// The sums of the vector parameters' gradients of workers after the
    /// first, added to `params` in order after the steps.
    worker_params: Vec<Vec<T>>,
    /// Each worker's held gradients of padded examples.
    held: Vec<Vec<T>>,
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
    /// The operands of the products over all steps, each packed once.
    pub packs: &'a mut crate::gemm::PackCache<T>,
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
            .map(|u| DMatrix::zeros(u.nrows(), cols + m))
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
            packs: Vec::new(),
            worker_params: Vec::new(),
            held: Vec::new(),
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
        // The states' gradients start at zero after the last step; each
        // step's backward adds the loss's own gradient after the step and
        // zeroes the block before it, while they are in cache.
        for s in &mut self.states {
            s.columns_mut(cols, m).fill(T::zero());
        }
        for (o, u) in self.outputs.iter_mut().zip(&upstream.outputs) {
            o.copy_from(u);
        }
        // The input's and the groups' gradients are zeroed step by step, by
        // the backward of each step, while they are in cache.
        self.params.fill(T::zero());
        for g in &mut self.scratch {
            g.fill(T::zero());
        }
        self.packs
            .iter_mut()
            .for_each(crate::gemm::PackCache::reset);
    }

    /// Each worker's columns of the gradient buffers, for the ranges of
    /// examples `ranges` (disjoint, in order). The first worker adds to the
    /// parameters' gradients directly, the others to zeroed sums of their
    /// own ([`Gradients::gather_workers`] adds them).
    pub(crate) fn split_steps(
        &mut self,
        ranges: &[(usize, usize)],
    ) -> Vec<crate::chunk::GradStep<'_, T>> {
        use crate::chunk::{Cols, GradStep};
        let (m, steps, k) = (self.m, self.steps, ranges.len());
        let count = self.params.len();
        crate::chunk::at_least(&mut self.packs, k);
        crate::chunk::at_least(&mut self.held, k);
        self.worker_params
            .resize_with(k.saturating_sub(1), Vec::new);
        for p in &mut self.worker_params {
            p.clear();
            p.resize(count, T::zero());
        }
        let mut states =
            crate::chunk::split_all(&mut self.states, m, steps + 1, ranges).into_iter();
        let mut groups = crate::chunk::split_all(&mut self.groups, m, steps, ranges).into_iter();
        let mut scratch = crate::chunk::split_all(&mut self.scratch, m, 1, ranges).into_iter();
        let n_x = self.input.nrows();
        let mut inputs = Cols::split(self.input.as_mut_slice(), n_x, m, steps, ranges).into_iter();
        let mut outputs = crate::chunk::split_all(&mut self.outputs, m, steps, ranges).into_iter();
        let mut params = std::iter::once(self.params.as_mut_slice())
            .chain(self.worker_params.iter_mut().map(Vec::as_mut_slice));
        ranges
            .iter()
            .zip(self.packs.iter_mut())
            .zip(self.held.iter_mut())
            .map(|((_, packs), held)| GradStep {
                input: inputs.next().expect("one input view per worker"),
                states: states.next().unwrap_or_default(),
                outputs: outputs.next().unwrap_or_default(),
                groups: groups.next().unwrap_or_default(),
                scratch: scratch.next().unwrap_or_default(),
                params: params.next().expect("one parameter buffer per worker"),
                packs,
                held,
            })
            .collect()
    }

    /// Adds the workers' sums of the vector parameters' gradients to the
    /// parameters' gradients, in worker order.
    pub(crate) fn gather_workers(&mut self) {
        for w in &self.worker_params {
            for (p, &v) in self.params.iter_mut().zip(w) {
                *p += v;
            }
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
            packs: {
                crate::chunk::at_least(&mut self.packs, 1);
                &mut self.packs[0]
            },
        }
    }
}
