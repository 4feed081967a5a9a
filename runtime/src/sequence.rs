//! Sequences of inputs and the trace of a run: every step's states, outputs
//! and the values the backward pass needs, in buffers allocated once.

use crate::error::{Error, dims2};
use crate::{NdArray, Real};
use nalgebra::{DMatrix, DMatrixView};
use std::sync::Arc;

/// A sequence of `T` inputs, each `(n_x, m)` with one column per example,
/// stored as one `(n_x, m · T)` matrix (step `t` is columns `t·m .. (t+1)·m`).
///
/// The matrix is shared, not copied, by clones of the sequence and by the
/// traces of the runs over it, which keep it for their backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence<T: Real> {
    data: Arc<DMatrix<T>>,
    m: usize,
}

impl<T: Real> Sequence<T> {
    /// A sequence from its steps, each `(n_x, m)`. All steps must have the same shape.
    pub fn from_steps(steps: &[DMatrix<T>]) -> Result<Self, Error> {
        let first = steps.first().ok_or_else(|| Error::EmptySequence {
            context: "Sequence::from_steps".into(),
        })?;
        let (n_x, m) = first.shape();
        let mut data = DMatrix::zeros(n_x, m * steps.len());
        for (t, step) in steps.iter().enumerate() {
            if step.shape() != (n_x, m) {
                return Err(Error::Shape {
                    tensor: format!("step {t} of the sequence"),
                    expected: format!("{} like step 0", dims2(n_x, m)),
                    found: dims2(step.nrows(), step.ncols()),
                });
            }
            data.columns_mut(t * m, m).copy_from(step);
        }
        Self::new(data, m)
    }

    /// A sequence from an array of shape `(n_x, m, T)`, the course's layout.
    pub fn from_array(array: &NdArray<T>) -> Result<Self, Error> {
        let &[n_x, m, steps] = array.shape() else {
            return Err(Error::Shape {
                tensor: "the array given to Sequence::from_array".into(),
                expected: "3-dimensional (n_x, m, T)".into(),
                found: array.shape_string(),
            });
        };
        let src = array.data();
        let data = DMatrix::from_fn(n_x, m * steps, |i, col| {
            let (t, j) = (col / m.max(1), col % m.max(1));
            src[(i * m + j) * steps + t]
        });
        Self::new(data, m)
    }

    /// A sequence from one `(n_x, m · T)` matrix whose step `t` is columns `t·m .. (t+1)·m`.
    pub fn new(data: DMatrix<T>, m: usize) -> Result<Self, Error> {
        if m == 0 {
            return Err(Error::EmptyBatch {
                context: "Sequence".into(),
            });
        }
        if data.ncols() == 0 {
            return Err(Error::EmptySequence {
                context: "Sequence".into(),
            });
        }
        if !data.ncols().is_multiple_of(m) {
            return Err(Error::Shape {
                tensor: "the sequence's data".into(),
                expected: format!("{} rows × a multiple of m = {m} columns", data.nrows()),
                found: dims2(data.nrows(), data.ncols()),
            });
        }
        Ok(Sequence {
            data: Arc::new(data),
            m,
        })
    }

    /// Rows of each step (`n_x`).
    pub fn n_x(&self) -> usize {
        self.data.nrows()
    }

    /// Examples per step (`m`).
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of steps (`T`).
    pub fn steps(&self) -> usize {
        self.data.ncols() / self.m
    }

    /// Step `t`, `(n_x, m)`.
    pub fn step(&self, t: usize) -> Option<DMatrixView<'_, T>> {
        (t < self.steps()).then(|| self.data.columns(t * self.m, self.m))
    }

    /// All steps as one `(n_x, m · T)` matrix.
    pub fn data(&self) -> &DMatrix<T> {
        &self.data
    }
}

/// Which steps of which examples are real, for sequences of different
/// lengths padded to one: a cell skips a padded step (its states pass through
/// unchanged, its outputs are zero) and gives it no gradient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    valid: Vec<bool>,
    m: usize,
    steps: usize,
}

impl Mask {
    /// A mask from `valid[t · m + j]`, whether step `t` of example `j` is real.
    pub fn new(valid: Vec<bool>, m: usize, steps: usize) -> Result<Self, Error> {
        let Some(entries) = m.checked_mul(steps) else {
            return Err(Error::Shape {
                tensor: "the mask".into(),
                expected: format!(
                    "{m} examples × {steps} steps, a number of entries that fits in memory"
                ),
                found: format!("{} entries", valid.len()),
            });
        };
        if valid.len() != entries {
            return Err(Error::Shape {
                tensor: "the mask".into(),
                expected: format!("{m} examples × {steps} steps = {entries} entries"),
                found: format!("{} entries", valid.len()),
            });
        }
        Ok(Mask { valid, m, steps })
    }

    /// Example `j` is real for its first `lengths[j]` steps (padding after).
    pub fn from_lengths(lengths: &[usize], steps: usize) -> Result<Self, Error> {
        if let Some((j, &l)) = lengths.iter().enumerate().find(|(_, l)| **l > steps) {
            return Err(Error::Index {
                what: format!("the length of example {j} ({l} steps)"),
                index: l,
                len: steps,
            });
        }
        let m = lengths.len();
        Self::new(
            (0..m * steps).map(|c| c / m < lengths[c % m]).collect(),
            m,
            steps,
        )
    }

    /// Example `j` is real for its last `lengths[j]` steps (padding before,
    /// as Keras's `pad_sequences` pads).
    pub fn from_lengths_pre(lengths: &[usize], steps: usize) -> Result<Self, Error> {
        let post = Self::from_lengths(lengths, steps)?;
        let m = post.m;
        Self::new(
            (0..m * steps)
                .map(|c| c / m >= steps - lengths[c % m])
                .collect(),
            m,
            steps,
        )
    }

    /// The mask of the sequence read from its last step to its first.
    pub fn reversed(&self) -> Mask {
        let (m, steps) = (self.m, self.steps);
        let valid = (0..m * steps)
            .map(|c| self.is_valid(steps - 1 - c / m, c % m))
            .collect();
        Mask { valid, m, steps }
    }

    /// Whether step `t` of example `j` is real.
    pub fn is_valid(&self, t: usize, j: usize) -> bool {
        self.valid.get(t * self.m + j).copied().unwrap_or(false)
    }

    /// The examples whose step `t` is padding.
    pub fn padded(&self, t: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.m).filter(move |&j| !self.is_valid(t, j))
    }

    /// Examples and steps.
    pub fn shape(&self) -> (usize, usize) {
        (self.m, self.steps)
    }
}

/// The sizes of a cell's buffers, from its dimensions: rows of the input, of
/// each state, output and internal slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Rows of the input (`n_x`).
    pub input: usize,
    /// Rows of each state.
    pub states: Vec<usize>,
    /// Rows of each output.
    pub outputs: Vec<usize>,
    /// Rows of each internal per-step buffer (pre-activations, intermediate values).
    pub slots: Vec<usize>,
    /// The buffers of the random masks the cell declares.
    pub noise: Vec<crate::noise::NoiseLayout>,
}

/// Everything a run of a cell over a sequence computed, in buffers allocated
/// once: the input, every state at steps `0 ..= T` (step 0 is the initial
/// state), every output at steps `1 ..= T`, and the internal values the
/// backward pass needs. A trace can be reused for another run of the same
/// shape without allocating.
#[derive(Clone, Debug)]
pub struct Trace<T: Real> {
    m: usize,
    steps: usize,
    layout: Layout,
    /// The run's input, shared with the sequence it came from.
    input: Arc<DMatrix<T>>,
    states: Vec<DMatrix<T>>,
    outputs: Vec<DMatrix<T>>,
    slots: Vec<DMatrix<T>>,
    mask: Option<Mask>,
    noise: Vec<DMatrix<T>>,
    /// The weights with their DropConnect masks applied, or empty when the
    /// run used the cell's own.
    weights: Vec<T>,
    /// The weights of the step's products, packed once per run by each
    /// worker.
    packs: Vec<crate::gemm::PackCache<T>>,
    /// Whose weights `packs` holds: the parameters' address, length and
    /// version ([`crate::Cell::params_version`]).
    packed_for: Option<(usize, usize, u64)>,
}

/// Mutable access to a trace's buffers, for generated kernels.
#[doc(hidden)]
pub struct TraceParts<'a, T> {
    pub m: usize,
    pub steps: usize,
    pub input: &'a [T],
    pub states: &'a mut [DMatrix<T>],
    pub outputs: &'a mut [DMatrix<T>],
    pub slots: &'a mut [DMatrix<T>],
    pub noise: &'a [DMatrix<T>],
    pub weights: &'a [T],
}

/// Read-only access to a trace's buffers, for generated kernels.
#[doc(hidden)]
pub struct TraceRefs<'a, T> {
    pub m: usize,
    pub steps: usize,
    pub input: &'a [T],
    pub states: &'a [DMatrix<T>],
    pub outputs: &'a [DMatrix<T>],
    pub slots: &'a [DMatrix<T>],
    pub noise: &'a [DMatrix<T>],
    pub weights: &'a [T],
}

impl<T: Real> Trace<T> {
    // ANCHOR: trace_new
    /// Buffers for `steps` steps of `m` examples.
    pub fn new(layout: Layout, m: usize, steps: usize) -> Self {
        let cols = m * steps;
        Trace {
            m,
            steps,
            input: Arc::new(DMatrix::zeros(layout.input, cols)),
            states: layout
                .states
                .iter()
                .map(|&r| DMatrix::zeros(r, cols + m))
                .collect(),
            outputs: layout
                .outputs
                .iter()
                .map(|&r| DMatrix::zeros(r, cols))
                .collect(),
            slots: layout
                .slots
                .iter()
                .map(|&r| DMatrix::zeros(r, cols))
                .collect(),
            noise: layout
                .noise
                .iter()
                .map(|l| {
                    let (r, c) = l.shape(m, steps);
                    DMatrix::zeros(r, c)
                })
                .collect(),
            weights: Vec::new(),
            packs: Vec::new(),
            packed_for: None,
            layout,
            mask: None,
        }
    }
    // ANCHOR_END: trace_new

    /// Whether this trace fits a run with this layout and shape.
    pub fn fits(&self, layout: &Layout, m: usize, steps: usize) -> bool {
        &self.layout == layout && self.m == m && self.steps == steps
    }

    /// The bytes of the values this trace keeps for the backward pass: the
    /// input, every state, output and slot of every step, the random masks
    /// and the masked weights.
    pub fn bytes(&self) -> usize {
        let values = self.input.len()
            + [&self.states, &self.outputs, &self.slots, &self.noise]
                .iter()
                .flat_map(|bufs| bufs.iter())
                .map(DMatrix::len)
                .sum::<usize>()
            + self.weights.len();
        values * std::mem::size_of::<T>()
    }

    /// Examples per step.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The input of every step, `(n_x, m · T)`.
    pub fn input(&self) -> &DMatrix<T> {
        &self.input
    }

    /// State `k` at steps `0 ..= T`, `(n, m · (T + 1))`; step 0 is the initial state.
    pub fn state(&self, k: usize) -> Option<&DMatrix<T>> {
        self.states.get(k)
    }

    /// State `k` after step `t` (`t = 0` is the initial state), `(n, m)`.
    pub fn state_at(&self, k: usize, t: usize) -> Option<DMatrixView<'_, T>> {
        let s = self.states.get(k)?;
        (t <= self.steps).then(|| s.columns(t * self.m, self.m))
    }

    /// Output `k` of step `t` (`1 ..= T`), `(n, m)`.
    pub fn output_at(&self, k: usize, t: usize) -> Option<DMatrixView<'_, T>> {
        let o = self.outputs.get(k)?;
        (1..=self.steps)
            .contains(&t)
            .then(|| o.columns((t - 1) * self.m, self.m))
    }

    /// Internal slot `k` of step `t` (`1 ..= T`): the step's products and
    /// intermediate values; where an activation consumed a product that
    /// nothing else reads (an LSTM's gates), the activation in its place.
    pub fn slot_at(&self, k: usize, t: usize) -> Option<DMatrixView<'_, T>> {
        let s = self.slots.get(k)?;
        (1..=self.steps)
            .contains(&t)
            .then(|| s.columns((t - 1) * self.m, self.m))
    }

    /// State `k` after steps `1 ..= T` as an `(n, m, T)` array, the course's layout.
    pub fn state_array(&self, k: usize) -> Option<NdArray<T>> {
        let s = self.states.get(k)?;
        Some(to_nmt(s.columns(self.m, self.m * self.steps), self.m))
    }

    /// Output `k` of steps `1 ..= T` as an `(n, m, T)` array.
    pub fn output_array(&self, k: usize) -> Option<NdArray<T>> {
        let o = self.outputs.get(k)?;
        Some(to_nmt(o.columns(0, o.ncols()), self.m))
    }

    /// The inputs as an `(n_x, m, T)` array.
    pub fn input_array(&self) -> NdArray<T> {
        to_nmt(self.input.columns(0, self.input.ncols()), self.m)
    }

    /// Takes a share of the input sequence and copies the initial states in.
    pub(crate) fn load(&mut self, xs: &Sequence<T>, initial: &[&DMatrix<T>]) {
        self.input = Arc::clone(&xs.data);
        for (buf, s0) in self.states.iter_mut().zip(initial) {
            buf.columns_mut(0, self.m).copy_from(*s0);
        }
    }

    /// The mask of the run, if it had one.
    pub fn mask(&self) -> Option<&Mask> {
        self.mask.as_ref()
    }

    /// The random masks of the run, one per `mask` declaration of the cell,
    /// shaped as [`NoiseLayout::shape`](crate::noise::NoiseLayout::shape)
    /// says: what training drew, or the expectations in inference.
    pub fn noise(&self) -> &[DMatrix<T>] {
        &self.noise
    }

    /// Fills the masks as `noise` says and, when DropConnect masks were
    /// drawn or given, the masked copy of the weights.
    pub(crate) fn set_noise(
        &mut self,
        cell: &str,
        rates: &[f64],
        noise: crate::noise::Noise<'_, T>,
        params: &[T],
        slots: &[crate::ParamSlot],
    ) -> Result<(), Error> {
        let layouts = &self.layout.noise;
        if crate::noise::fill(cell, layouts, rates, noise, &mut self.noise)? {
            crate::noise::mask_weights(&mut self.weights, params, slots, layouts, &self.noise);
        } else {
            self.weights.clear();
        }
        Ok(())
    }

    /// Whether the cell declares DropConnect masks.
    pub(crate) fn has_dropconnect(&self) -> bool {
        self.layout
            .noise
            .iter()
            .any(|l| l.kind == crate::noise::NoiseKind::DropConnect)
    }

    /// Whether the run used a masked copy of the weights.
    pub(crate) fn uses_masked_weights(&self) -> bool {
        !self.weights.is_empty()
    }

    /// After a backward pass over this trace: the gradients of the
    /// DropConnect weights, which the pass computed for the masked weights,
    /// become those of the weights themselves.
    pub(crate) fn mask_gradients(&self, grads: &mut [T], slots: &[crate::ParamSlot]) {
        if self.uses_masked_weights() {
            crate::noise::mask_gradients(grads, slots, &self.layout.noise, &self.noise);
        }
    }

    /// Keeps the weights the last run packed if `owner` (the parameters'
    /// address, length and version) is the same known owner and the run
    /// does not use a masked copy of the weights; otherwise forgets them.
    pub(crate) fn keep_packs_if(&mut self, owner: Option<(usize, usize, u64)>) {
        let owner = owner.filter(|_| self.weights.is_empty());
        if owner.is_none() || owner != self.packed_for {
            self.packs
                .iter_mut()
                .for_each(crate::gemm::PackCache::reset);
        }
        self.packed_for = owner;
    }

    /// Each worker's columns of every buffer, for the ranges of examples
    /// `ranges` (disjoint, in order).
    pub(crate) fn split_steps(
        &mut self,
        ranges: &[(usize, usize)],
    ) -> Vec<crate::chunk::StepParts<'_, T>> {
        use crate::chunk::{ColsRef, StepParts};
        let (m, steps, k) = (self.m, self.steps, ranges.len());
        crate::chunk::at_least(&mut self.packs, k);
        let mut states =
            crate::chunk::split_all(&mut self.states, m, steps + 1, ranges).into_iter();
        let mut outputs = crate::chunk::split_all(&mut self.outputs, m, steps, ranges).into_iter();
        let mut slots = crate::chunk::split_all(&mut self.slots, m, steps, ranges).into_iter();
        let input = self.input.as_slice();
        let n_x = self.input.nrows();
        let (noise, layouts) = (&self.noise, &self.layout.noise);
        let (weights, mask) = (self.weights.as_slice(), self.mask.as_ref());
        ranges
            .iter()
            .zip(self.packs.iter_mut())
            .map(|(&r, packs)| StepParts {
                m: r.1,
                input: ColsRef::new(input, n_x, m, r),
                states: states.next().unwrap_or_default(),
                outputs: outputs.next().unwrap_or_default(),
                slots: slots.next().unwrap_or_default(),
                noise: noise_views(noise, layouts, m, r),
                weights,
                packs,
                mask,
            })
            .collect()
    }

    /// Each worker's columns of every buffer, read-only, for the backward.
    pub(crate) fn split_refs(
        &self,
        ranges: &[(usize, usize)],
    ) -> Vec<crate::chunk::StepRefs<'_, T>> {
        use crate::chunk::{ColsRef, StepRefs};
        let m = self.m;
        ranges
            .iter()
            .map(|&r| StepRefs {
                m: r.1,
                input: ColsRef::new(self.input.as_slice(), self.input.nrows(), m, r),
                states: crate::chunk::refs_all(&self.states, m, r),
                outputs: crate::chunk::refs_all(&self.outputs, m, r),
                slots: crate::chunk::refs_all(&self.slots, m, r),
                noise: noise_views(&self.noise, &self.layout.noise, m, r),
                weights: &self.weights,
            })
            .collect()
    }

    pub(crate) fn set_mask(&mut self, mask: Option<Mask>) {
        self.mask = mask;
    }

    /// Number of states.
    pub fn state_count(&self) -> usize {
        self.states.len()
    }

    /// Number of outputs.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// Output `k` of steps `1 ..= T`, `(n, m · T)`.
    pub fn output(&self, k: usize) -> Option<&DMatrix<T>> {
        self.outputs.get(k)
    }

    /// The buffers, read-only, for generated kernels.
    #[doc(hidden)]
    pub fn parts_ref(&self) -> TraceRefs<'_, T> {
        TraceRefs {
            m: self.m,
            steps: self.steps,
            input: self.input.as_slice(),
            states: &self.states,
            outputs: &self.outputs,
            slots: &self.slots,
            noise: &self.noise,
            weights: &self.weights,
        }
    }

    /// The buffers, for generated kernels.
    #[doc(hidden)]
    pub fn parts(&mut self) -> TraceParts<'_, T> {
        TraceParts {
            m: self.m,
            steps: self.steps,
            input: self.input.as_slice(),
            states: &mut self.states,
            outputs: &mut self.outputs,
            slots: &mut self.slots,
            noise: &self.noise,
            weights: &self.weights,
        }
    }
}

/// A worker's columns of each random mask: per example for dropout and
/// zoneout; DropConnect's weight masks are not per example (the worker gets
/// an empty view, which generated code never reads).
fn noise_views<'a, T>(
    noise: &'a [DMatrix<T>],
    layouts: &[crate::noise::NoiseLayout],
    m: usize,
    r: (usize, usize),
) -> Vec<crate::chunk::ColsRef<'a, T>> {
    noise
        .iter()
        .zip(layouts)
        .map(|(b, l)| match l.kind {
            crate::noise::NoiseKind::DropConnect => crate::chunk::ColsRef::new(&[], 0, 0, (0, 0)),
            _ => crate::chunk::ColsRef::new(b.as_slice(), b.nrows(), m, r),
        })
        .collect()
}

/// `(n, m · T)` columns to an `(n, m, T)` C-order array.
pub(crate) fn to_nmt<T: Real>(cols: DMatrixView<'_, T>, m: usize) -> NdArray<T> {
    let n = cols.nrows();
    let steps = cols.ncols() / m.max(1);
    let mut data = Vec::with_capacity(n * m * steps);
    for i in 0..n {
        for j in 0..m {
            for t in 0..steps {
                data.push(cols[(i, t * m + j)]);
            }
        }
    }
    NdArray::new(vec![n, m, steps], data).unwrap_or_else(|_| NdArray::zeros(vec![n, m, steps]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_layout_round_trips() {
        let data: Vec<f64> = (0..24).map(f64::from).collect();
        let array = NdArray::new(vec![2, 3, 4], data).unwrap();
        let seq = Sequence::from_array(&array).unwrap();
        assert_eq!((seq.n_x(), seq.m(), seq.steps()), (2, 3, 4));
        // x[i][j][t] = (i*3 + j)*4 + t; step 2, example 1, row 1 → (3+1)*4+2 = 18.
        assert_eq!(seq.step(2).unwrap()[(1, 1)], 18.0);
        let mut trace = Trace::new(
            Layout {
                input: 2,
                states: vec![],
                outputs: vec![],
                slots: vec![],
                noise: vec![],
            },
            3,
            4,
        );
        trace.load(&seq, &[]);
        assert_eq!(trace.input_array(), array);
    }

    #[test]
    fn bad_sequences_are_errors() {
        assert!(matches!(
            Sequence::<f64>::from_steps(&[]),
            Err(Error::EmptySequence { .. })
        ));
        let err =
            Sequence::from_steps(&[DMatrix::<f64>::zeros(3, 2), DMatrix::zeros(3, 4)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step 1 of the sequence must be 3 × 2 like step 0, found 3 × 4"
        );
        assert!(matches!(
            Sequence::new(DMatrix::<f64>::zeros(3, 4), 0),
            Err(Error::EmptyBatch { .. })
        ));
        assert!(Sequence::new(DMatrix::<f64>::zeros(3, 5), 2).is_err());
    }
}
