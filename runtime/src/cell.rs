//! The [`Cell`] trait that every `cell!` declaration implements, and the
//! step and sequence runs written once for all cells.

use crate::Real;
use crate::backward::{BackwardLayout, Gradients, Upstream};
use crate::error::{Error, dims2};
use crate::noise::Noise;
use crate::sequence::{Layout, Mask, Sequence, Trace};
use nalgebra::DMatrix;
use std::marker::PhantomData;

/// What the macro knows of a cell's declaration, by name.
#[derive(Clone, Copy, Debug)]
pub struct CellSpec {
    /// The cell's type name.
    pub name: &'static str,
    /// The dimension names.
    pub dims: &'static [&'static str],
    /// The input's name.
    pub input: &'static str,
    /// The states' names, in declaration order.
    pub states: &'static [&'static str],
    /// The outputs' names, in declaration order.
    pub outputs: &'static [&'static str],
    /// The parameters: name and declared shape (e.g. `[n_a, n_a + n_x]`).
    pub params: &'static [(&'static str, &'static str)],
    /// The equations as declared, one per line.
    pub equations: &'static str,
    /// Where the parameters sit in other frameworks' tensors, one layout per
    /// framework (see [`crate::interop`]).
    pub layouts: &'static [crate::interop::FrameworkLayout],
    /// The random masks' names, in declaration order (see [`crate::noise`]).
    pub masks: &'static [&'static str],
}

/// A named group of `(rows, m)` matrices: a cell's states or its outputs.
pub trait Tensors<T: Real>: Sized {
    /// The names of the parts, in order.
    fn names() -> &'static [&'static str];
    /// The parts, in the order of [`Tensors::names`].
    fn parts(&self) -> Vec<&DMatrix<T>>;
    /// Builds from parts in the order of [`Tensors::names`]; missing parts are empty.
    fn from_parts(parts: Vec<DMatrix<T>>) -> Self;
}

/// An empty group of tensors: the state of a cell that has none (a
/// feed-forward layer), or the outputs of a cell that declares none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Empty<T>(PhantomData<T>);

impl<T: Real> Tensors<T> for Empty<T> {
    fn names() -> &'static [&'static str] {
        &[]
    }
    fn parts(&self) -> Vec<&DMatrix<T>> {
        Vec::new()
    }
    fn from_parts(_: Vec<DMatrix<T>>) -> Self {
        Empty(PhantomData)
    }
}

/// The result of one step: the next state, the outputs, and the trace of the
/// step (the values the backward pass needs).
#[derive(Clone, Debug)]
pub struct StepResult<T: Real, S, O> {
    /// The next state.
    pub state: S,
    /// The outputs of the step.
    pub output: O,
    /// Everything the step computed.
    pub trace: Trace<T>,
}

/// A recurrent cell: one step maps an input `x` of shape `(n_x, m)` (one
/// column per example) and the previous state to the next state and outputs.
///
/// Implemented by `cell!`; the provided methods run a step or a whole sequence
/// for every cell.
pub trait Cell<T: Real>: Sized + Sync {
    /// The cell's state, a struct with one `(n, m)` matrix per declared state.
    type State: Tensors<T>;
    /// The cell's outputs, a struct with one `(n, m)` matrix per declared output.
    type Output: Tensors<T>;

    /// The declaration, by name.
    const SPEC: CellSpec;

    /// The sizes of the buffers for this cell's dimensions.
    fn layout(&self) -> Layout;

    /// The expected rows of the input and each state, for error messages:
    /// `(name, rows, shape as declared)`.
    fn describe_rows(&self) -> Vec<(&'static str, usize, &'static str)>;

    /// The sizes of the backward buffers for this cell's dimensions.
    fn backward_layout(&self) -> BackwardLayout;

    /// Where each parameter lives in the flat storage, in declaration order.
    fn param_slots(&self) -> Vec<ParamSlot>;

    /// All parameters in one slice, in storage order.
    fn flat_params(&self) -> &[T];

    /// All parameters in one mutable slice, in storage order.
    fn flat_params_mut(&mut self) -> &mut [T];

    /// A number that changes whenever the parameters may have changed
    /// (every [`Cell::flat_params_mut`] and every new or cloned cell draws
    /// a new one), so that a run can keep the weights it packed for the
    /// last run of the same cell; `None` when unknown, and the weights are
    /// packed again at every run.
    fn params_version(&self) -> Option<u64> {
        None
    }

    /// The rate of each random mask, in declaration order (set with the
    /// generated `with_rate`).
    fn noise_rates(&self) -> &[f64];

    /// Computes the backward of step `t`: reads the gradients of the states
    /// after the step and of its outputs, adds to the gradients of the
    /// states before it, of its input and of the vector parameters.
    #[doc(hidden)]
    fn backward_step(
        &self,
        trace: &crate::chunk::StepRefs<'_, T>,
        grads: &mut crate::chunk::GradStep<'_, T>,
        t: usize,
    );

    /// After all steps: the weight gradients (one product per operand part
    /// over all steps) and the input gradients of hoisted products.
    #[doc(hidden)]
    fn backward_finish(&self, trace: &Trace<T>, grads: &mut Gradients<T>);

    /// Computes, for all steps at once, the products that depend only on the input.
    #[doc(hidden)]
    fn hoist(&self, trace: &mut Trace<T>);

    /// Computes step `t` (reading state columns `t`, writing `t + 1`).
    #[doc(hidden)]
    fn step_kernel(&self, parts: &mut crate::chunk::StepParts<'_, T>, t: usize);

    /// How many worker threads a run of `m` examples over `steps` steps
    /// splits its batch across (see [`crate::chunk`]).
    fn workers(&self, m: usize, steps: usize) -> usize {
        // Per example and step: about one multiply-add per parameter, and
        // some sixteen operations' worth for each value the element-wise
        // passes compute (states and slots; the functions are polynomials).
        let layout = self.layout();
        let values: usize = layout.states.iter().chain(&layout.slots).sum();
        let per_example = self.flat_params().len() + 16 * values;
        crate::chunk::workers(m, steps, per_example)
    }

    /// A state of zeros for `m` examples.
    fn zero_state(&self, m: usize) -> Self::State {
        let layout = self.layout();
        Self::State::from_parts(
            layout
                .states
                .iter()
                .map(|&r| DMatrix::zeros(r, m))
                .collect(),
        )
    }

    /// One step on a batch: `x` is `(n_x, m)`, each state `(n, m)`.
    fn step(
        &self,
        x: &DMatrix<T>,
        state: &Self::State,
    ) -> Result<StepResult<T, Self::State, Self::Output>, Error> {
        let xs = Sequence::new(x.clone(), x.ncols().max(1)).map_err(|_| Error::EmptyBatch {
            context: format!("`{}`::step", Self::SPEC.name),
        })?;
        if x.ncols() == 0 {
            return Err(Error::EmptyBatch {
                context: format!("`{}`::step", Self::SPEC.name),
            });
        }
        let trace = self.forward(&xs, state)?;
        let state = self.state_at(&trace, 1)?;
        let output = self.output_at(&trace, 1)?;
        Ok(StepResult {
            state,
            output,
            trace,
        })
    }

    /// Runs a whole sequence from `initial` (each state `(n, m)`), allocating
    /// the trace once.
    fn forward(&self, xs: &Sequence<T>, initial: &Self::State) -> Result<Trace<T>, Error> {
        let mut trace = Trace::new(self.layout(), xs.m(), xs.steps());
        self.forward_into(xs, initial, &mut trace)?;
        Ok(trace)
    }

    /// Runs a whole sequence into an existing trace, reallocating only if its
    /// shape differs.
    fn forward_into(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        trace: &mut Trace<T>,
    ) -> Result<(), Error> {
        self.forward_masked_into(xs, initial, None, trace)
    }

    /// Runs a sequence whose examples have different lengths: at the steps
    /// `mask` marks as padding, an example's states pass through unchanged
    /// and its outputs are zero; the backward of the trace gives those steps
    /// no gradient.
    fn forward_masked(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        mask: &Mask,
    ) -> Result<Trace<T>, Error> {
        let mut trace = Trace::new(self.layout(), xs.m(), xs.steps());
        self.forward_masked_into(xs, initial, Some(mask), &mut trace)?;
        Ok(trace)
    }

    /// [`Cell::forward_into`] with an optional mask.
    fn forward_masked_into(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        mask: Option<&Mask>,
        trace: &mut Trace<T>,
    ) -> Result<(), Error> {
        self.forward_with_into(xs, initial, mask, Noise::Off, trace)
    }

    /// A run in training: the random masks the cell declares (dropout,
    /// zoneout, DropConnect) are drawn from `rng`; the trace keeps them
    /// ([`Trace::noise`]) and its backward pass uses them.
    fn forward_train(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        rng: &mut crate::NumpyRng,
    ) -> Result<Trace<T>, Error> {
        self.forward_with(xs, initial, None, Noise::Sample(rng))
    }

    /// A run with an optional mask of padded steps, and random masks as
    /// `noise` says.
    fn forward_with(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        mask: Option<&Mask>,
        noise: Noise<'_, T>,
    ) -> Result<Trace<T>, Error> {
        let mut trace = Trace::new(self.layout(), xs.m(), xs.steps());
        self.forward_with_into(xs, initial, mask, noise, &mut trace)?;
        Ok(trace)
    }

    // ANCHOR: forward_into
    /// The run every other forward method makes: checks the shapes, loads
    /// the sequence and the initial states, fills the random masks, computes
    /// the hoisted products for all steps, then the steps.
    fn forward_with_into(
        &self,
        xs: &Sequence<T>,
        initial: &Self::State,
        mask: Option<&Mask>,
        noise: Noise<'_, T>,
        trace: &mut Trace<T>,
    ) -> Result<(), Error> {
        self.check_inputs(xs, initial)?;
        if let Some(mask) = mask
            && mask.shape() != (xs.m(), xs.steps())
        {
            return Err(Error::Shape {
                tensor: format!("the mask given to `{}`", Self::SPEC.name),
                expected: format!(
                    "{} examples × {} steps, like the sequence",
                    xs.m(),
                    xs.steps()
                ),
                found: format!("{} × {}", mask.shape().0, mask.shape().1),
            });
        }
        let layout = self.layout();
        if !trace.fits(&layout, xs.m(), xs.steps()) {
            *trace = Trace::new(layout, xs.m(), xs.steps());
        }
        trace.load(xs, &initial.parts());
        trace.set_mask(mask.cloned());
        let slots = if trace.has_dropconnect() {
            self.param_slots()
        } else {
            Vec::new()
        };
        trace.set_noise(
            Self::SPEC.name,
            self.noise_rates(),
            noise,
            self.flat_params(),
            &slots,
        )?;
        // The weights packed by the last run into this trace serve again if
        // they are this cell's, unchanged, and not a masked copy.
        let params = self.flat_params();
        trace.keep_packs_if(
            self.params_version()
                .map(|v| (params.as_ptr() as usize, params.len(), v)),
        );
        self.hoist(trace);
        // Each worker runs every step on its range of the batch.
        let steps = xs.steps();
        let ranges = crate::chunk::ranges(xs.m(), self.workers(xs.m(), steps));
        let mut parts = trace.split_steps(&ranges);
        crate::chunk::run(&mut parts, |p| {
            for t in 0..steps {
                self.step_kernel(p, t);
                p.carry_padded(t);
            }
        });
        Ok(())
    }
    // ANCHOR_END: forward_into

    /// Backpropagation through time over a whole run: given the loss's
    /// gradients with respect to every step's states and outputs, returns the
    /// gradients of every parameter, every step's input and the initial states.
    fn backward(&self, trace: &Trace<T>, upstream: &Upstream<T>) -> Result<Gradients<T>, Error> {
        self.backward_window(trace, upstream, None)
    }

    /// Truncated backpropagation through time: the sequence is cut into
    /// windows of `window` steps and no gradient flows from one window into
    /// the states of the one before.
    fn backward_truncated(
        &self,
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        window: usize,
    ) -> Result<Gradients<T>, Error> {
        if window == 0 {
            return Err(Error::Dim {
                cell: Self::SPEC.name,
                dim: "window",
                value: 0,
                reason: "must be at least 1 step",
            });
        }
        self.backward_window(trace, upstream, Some(window))
    }

    // ANCHOR: backward_window
    /// Backpropagation through time, whole or in windows.
    fn backward_window(
        &self,
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        window: Option<usize>,
    ) -> Result<Gradients<T>, Error> {
        if !trace.fits(&self.layout(), trace.m(), trace.steps()) {
            return Err(Error::Shape {
                tensor: format!("the trace given to `{}`::backward", Self::SPEC.name),
                expected: "a trace of a run of this cell".into(),
                found: "a trace of buffers of other sizes".into(),
            });
        }
        upstream.check_named(trace, Self::SPEC.states, Self::SPEC.outputs)?;
        let count = self.flat_params().len();
        let mut grads = Gradients::start(trace, upstream, &self.backward_layout(), count);
        self.backward_run(trace, upstream, window, &mut grads);
        Ok(grads)
    }

    /// The steps of a backward pass, last to first, and the products over
    /// all steps; the trace and upstream gradients are checked.
    #[doc(hidden)]
    fn backward_run(
        &self,
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        window: Option<usize>,
        grads: &mut Gradients<T>,
    ) {
        let steps = trace.steps();
        let ranges = crate::chunk::ranges(trace.m(), self.workers(trace.m(), steps));
        let refs = trace.split_refs(&ranges);
        let mut work: Vec<_> = refs
            .into_iter()
            .zip(grads.split_steps(&ranges))
            .zip(&ranges)
            .map(|((r, g), &range)| (r, g, upstream.state_views(range)))
            .collect();
        let mask = trace.mask();
        // Each worker runs every step's backward on its range of the batch.
        crate::chunk::run(&mut work, |(r, g, up)| {
            for t in (0..steps).rev() {
                g.take_upstream(up, t);
                let held = g.hold_padded(mask, t);
                self.backward_step(r, g, t);
                if held {
                    g.release_padded(mask, t);
                }
                if let Some(k) = window
                    && t > 0
                    && t % k == 0
                {
                    g.cut_at(t);
                }
            }
        });
        drop(work);
        grads.gather_workers();
        self.backward_finish(trace, grads);
        if trace.uses_masked_weights() {
            trace.mask_gradients(grads.params_mut(), &self.param_slots());
        }
    }
    // ANCHOR_END: backward_window

    /// [`Cell::backward`] into the buffers of `grads`, which a previous
    /// backward returned: in a loop over batches of one shape, no buffer is
    /// allocated (they are replaced when the shapes differ).
    fn backward_into(
        &self,
        trace: &Trace<T>,
        upstream: &Upstream<T>,
        grads: &mut Gradients<T>,
    ) -> Result<(), Error> {
        if !trace.fits(&self.layout(), trace.m(), trace.steps()) {
            return Err(Error::Shape {
                tensor: format!("the trace given to `{}`::backward_into", Self::SPEC.name),
                expected: "a trace of a run of this cell".into(),
                found: "a trace of buffers of other sizes".into(),
            });
        }
        upstream.check_named(trace, Self::SPEC.states, Self::SPEC.outputs)?;
        let count = self.flat_params().len();
        grads.restart(trace, upstream, &self.backward_layout(), count);
        self.backward_run(trace, upstream, None, grads);
        Ok(())
    }

    /// Checks the input rows and every state's shape against this cell.
    fn check_inputs(&self, xs: &Sequence<T>, initial: &Self::State) -> Result<(), Error> {
        let name = Self::SPEC.name;
        let rows = self.describe_rows();
        let m = xs.m();
        if let Some(&(input, n_x, decl)) = rows.first()
            && xs.n_x() != n_x
        {
            return Err(Error::Shape {
                tensor: format!("input `{input}` of `{name}`"),
                expected: format!("{} ({decl} × m)", dims2(n_x, m)),
                found: dims2(xs.n_x(), m),
            });
        }
        let parts = initial.parts();
        for (k, &(state, n, decl)) in rows.iter().skip(1).enumerate() {
            let found = parts.get(k).map_or((0, 0), |p| p.shape());
            if found != (n, m) {
                return Err(Error::Shape {
                    tensor: format!("state `{state}` of `{name}`"),
                    expected: format!(
                        "{} ({decl} × m, with m = {m} examples in the input)",
                        dims2(n, m)
                    ),
                    found: dims2(found.0, found.1),
                });
            }
        }
        Ok(())
    }

    /// Checks a run for values that are not finite and reports the first:
    /// the input of each step, then the states and outputs after it, in
    /// step order, naming the tensor, the step and the example. A check on
    /// request, after a run; runs themselves never look (PyTorch's anomaly
    /// detection, for one cell).
    fn check_finite(&self, trace: &Trace<T>) -> Result<(), Error> {
        let spec = Self::SPEC;
        let m = trace.m();
        // The example (column) of the first value that is not finite.
        let first = |v: nalgebra::DMatrixView<'_, T>| {
            let rows = v.nrows().max(1);
            v.iter().position(|x| !x.is_finite()).map(|k| k / rows)
        };
        let bad = |tensor: String, t: usize, j: usize| Error::NonFinite {
            what: format!("{tensor} of `{}` at step {t}, example {j}", spec.name),
            epoch: 0,
            step: 0,
        };
        for k in 0..spec.states.len() {
            if let Some(s0) = trace.state_at(k, 0)
                && let Some(j) = first(s0)
            {
                return Err(bad(format!("the initial state `{}`", spec.states[k]), 0, j));
            }
        }
        for t in 1..=trace.steps() {
            if let Some(j) = first(trace.input().columns((t - 1) * m, m)) {
                return Err(bad(format!("the input `{}`", spec.input), t, j));
            }
            for k in 0..spec.states.len() {
                if let Some(s) = trace.state_at(k, t)
                    && let Some(j) = first(s)
                {
                    return Err(bad(format!("the state `{}`", spec.states[k]), t, j));
                }
            }
            for k in 0..spec.outputs.len() {
                if let Some(o) = trace.output_at(k, t)
                    && let Some(j) = first(o)
                {
                    return Err(bad(format!("the output `{}`", spec.outputs[k]), t, j));
                }
            }
        }
        Ok(())
    }

    /// The state after step `t` of a trace (`t = 0` is the initial state).
    fn state_at(&self, trace: &Trace<T>, t: usize) -> Result<Self::State, Error> {
        let count = Self::SPEC.states.len();
        let parts = (0..count)
            .map(|k| trace.state_at(k, t).map(|v| v.into_owned()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Index {
                what: format!("state step of `{}`", Self::SPEC.name),
                index: t,
                len: trace.steps() + 1,
            })?;
        Ok(Self::State::from_parts(parts))
    }

    /// The outputs of step `t` (`1 ..= T`) of a trace.
    fn output_at(&self, trace: &Trace<T>, t: usize) -> Result<Self::Output, Error> {
        let count = Self::SPEC.outputs.len();
        let parts = (0..count)
            .map(|k| trace.output_at(k, t).map(|v| v.into_owned()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Index {
                what: format!("output step of `{}` (steps count from 1)", Self::SPEC.name),
                index: t,
                len: trace.steps(),
            })?;
        Ok(Self::Output::from_parts(parts))
    }

    /// The index of a state by name.
    fn state_index(name: &str) -> Result<usize, Error> {
        lookup("state", name, Self::SPEC.states)
    }

    /// The index of an output by name.
    fn output_index(name: &str) -> Result<usize, Error> {
        lookup("output", name, Self::SPEC.outputs)
    }
}

/// Where one parameter lives in a cell's flat storage: element `(i, j)` is
/// at `offset + i + j * ld`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSlot {
    /// The parameter's name.
    pub name: &'static str,
    /// Rows (the length, for a vector).
    pub rows: usize,
    /// Columns (1 for a vector).
    pub cols: usize,
    /// Index of element `(0, 0)`.
    pub offset: usize,
    /// Distance between columns.
    pub ld: usize,
}

impl ParamSlot {
    /// The flat index of element `(i, j)`.
    pub fn index(&self, i: usize, j: usize) -> usize {
        self.offset + i + j * self.ld
    }

    /// Every flat index of the parameter, column by column.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.cols).flat_map(move |j| (0..self.rows).map(move |i| self.index(i, j)))
    }

    /// The parameter as a matrix, read from a flat slice in this layout.
    pub fn matrix<T: Real>(&self, flat: &[T]) -> DMatrix<T> {
        DMatrix::from_fn(self.rows, self.cols, |i, j| flat[self.index(i, j)])
    }
}

fn lookup(kind: &'static str, name: &str, known: &'static [&'static str]) -> Result<usize, Error> {
    known
        .iter()
        .position(|n| *n == name)
        .ok_or_else(|| Error::Name {
            kind,
            name: name.to_string(),
            known: known.to_vec(),
        })
}

/// Builds a parameter matrix from a flat slice and checks its shape; used by
/// generated constructors.
#[doc(hidden)]
pub fn check_param(
    cell: &'static str,
    name: &'static str,
    decl: &'static str,
    expected: (usize, usize),
    found: (usize, usize),
) -> Result<(), Error> {
    if expected == found {
        return Ok(());
    }
    Err(Error::Shape {
        tensor: format!("parameter `{name}` of `{cell}`"),
        expected: format!("{} ({decl})", dims2(expected.0, expected.1)),
        found: dims2(found.0, found.1),
    })
}

/// The version of a cell's parameters (see [`Cell::params_version`]): a
/// number drawn anew for every new or cloned cell and at every mutable
/// access to its parameters. It takes no part in comparing cells.
#[derive(Debug)]
pub struct ParamsVersion(u64);

impl ParamsVersion {
    /// A number no other version has had in this process.
    pub fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ParamsVersion(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// The number.
    pub fn get(&self) -> u64 {
        self.0
    }
}

impl Default for ParamsVersion {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for ParamsVersion {
    /// A clone is another cell, whose parameters may change on their own.
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl PartialEq for ParamsVersion {
    /// Versions never make two cells unequal.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
