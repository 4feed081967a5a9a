//! The batch split across cores. Every example's recurrence is independent
//! of the others, so a run gives each worker thread a range of the batch's
//! columns and lets it run all the steps on them, with no synchronisation
//! inside the time loop.
//!
//! A trace keeps each step's columns side by side (`rows × m` values for
//! step 0, then step 1, ...). A worker's range of examples is therefore one
//! contiguous piece of every step: [`Cols`] hands a worker exactly its
//! pieces, and no two workers' pieces overlap.
//!
//! The workers are a small team of threads that poll for work for a while
//! after each part, so that a split costs about a microsecond rather than
//! the tens of microseconds of waking a sleeping thread.
//!
//! How many workers a run takes comes from its size: one where splitting
//! does not pay. [`set_threads`] or the environment variable
//! `CELLFORGE_THREADS` fix the number instead. For a given number, results
//! are bit-identical from run to run.

use crate::Real;
use crate::gemm::PackCache;
use crate::sequence::Mask;
use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

mod team;

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Fixes the number of worker threads a run of a cell may split its batch
/// across (`Some(1)` runs on the calling thread alone), or gives the choice
/// back to the run (`None`, the default), which splits only where the work
/// is large enough to pay for it. The environment variable
/// `CELLFORGE_THREADS`, when set to a number, takes precedence.
pub fn set_threads(threads: Option<usize>) {
    THREADS.store(threads.unwrap_or(0), Ordering::Relaxed);
}

/// The number fixed by `CELLFORGE_THREADS` or [`set_threads`], if any.
pub fn fixed_threads() -> Option<usize> {
    static ENV: OnceLock<Option<usize>> = OnceLock::new();
    let env = *ENV.get_or_init(|| {
        std::env::var("CELLFORGE_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    });
    env.or(match THREADS.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n),
    })
}

/// The cores this process may use.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Fewest examples a worker takes: below this a step's products are too
/// thin to run well.
const MIN_COLUMNS: usize = 8;

/// Least work (operations of the steps over the whole run) a worker must
/// get for a split to pay for handing it its part and for the thinner
/// products of each worker. Handing over costs about a microsecond while
/// the team is awake; this is a few microseconds of work.
const MIN_WORK: usize = 1 << 18;

/// Least work (multiply-adds) a thread must get for a product's columns to
/// be split.
const MIN_PRODUCT_WORK: usize = 1 << 16;

/// How many workers a run of `m` examples over `steps` steps takes, for a
/// cell whose step costs about `per_example` multiply-adds per example.
pub(crate) fn workers(m: usize, steps: usize, per_example: usize) -> usize {
    let cap = m.max(1);
    if let Some(n) = fixed_threads() {
        return n.clamp(1, cap);
    }
    let work = per_example.saturating_mul(m).saturating_mul(steps);
    let by_work = (work / MIN_WORK).max(1);
    let by_columns = (m / MIN_COLUMNS).max(1);
    cores().min(by_work).min(by_columns).clamp(1, cap)
}

/// The column ranges `(first, count)` of `workers` workers over `m`
/// examples, as equal as can be.
pub(crate) fn ranges(m: usize, workers: usize) -> Vec<(usize, usize)> {
    let k = workers.clamp(1, m.max(1));
    let (base, extra) = (m / k, m % k);
    let mut first = 0;
    (0..k)
        .map(|i| {
            let count = base + usize::from(i < extra);
            let r = (first, count);
            first += count;
            r
        })
        .collect()
}

/// One worker's columns of a buffer of `steps` blocks of `rows × width`
/// values: the columns `first .. first + m` of every block, writable.
pub struct Cols<'a, T> {
    ptr: *mut T,
    rows: usize,
    width: usize,
    first: usize,
    m: usize,
    steps: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `Cols` is a unique borrow of its own columns (no other `Cols`
// of the same buffer reaches them), like a `&mut [T]`.
unsafe impl<T: Send> Send for Cols<'_, T> {}

impl<'a, T> Cols<'a, T> {
    /// Splits `buf`, `steps` blocks of `rows × width` values, into one
    /// view per range of columns. The ranges must be disjoint and inside
    /// `0 .. width`.
    ///
    /// # Panics
    /// If `buf` is shorter than `rows · width · steps` or the ranges
    /// overlap or leave the width.
    pub(crate) fn split(
        buf: &'a mut [T],
        rows: usize,
        width: usize,
        steps: usize,
        ranges: &[(usize, usize)],
    ) -> Vec<Cols<'a, T>> {
        assert!(
            rows.checked_mul(width)
                .and_then(|v| v.checked_mul(steps))
                .is_some_and(|n| n <= buf.len()),
            "a buffer holds its steps"
        );
        let mut end = 0;
        for &(first, m) in ranges {
            assert!(first >= end && first + m <= width, "ranges are disjoint");
            end = first + m;
        }
        let ptr = buf.as_mut_ptr();
        ranges
            .iter()
            .map(|&(first, m)| Cols {
                ptr,
                rows,
                width,
                first,
                m,
                steps,
                _borrow: PhantomData,
            })
            .collect()
    }

    fn start(&self, t: usize) -> usize {
        assert!(t < self.steps, "step {t} of a buffer of {}", self.steps);
        (t * self.width + self.first) * self.rows
    }

    /// This worker's columns of block `t`, read-only.
    pub fn step(&self, t: usize) -> &[T] {
        let start = self.start(t);
        // SAFETY: the columns are inside the buffer (checked at the split
        // and by `start`) and only this view reaches them.
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), self.rows * self.m) }
    }

    /// This worker's columns of block `t`.
    pub fn step_mut(&mut self, t: usize) -> &mut [T] {
        let start = self.start(t);
        // SAFETY: as in `step`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), self.rows * self.m) }
    }

    /// Block `t` to read and block `t + 1` to write: a state before and
    /// after a step.
    pub fn pair(&mut self, t: usize) -> (&[T], &mut [T]) {
        let (a, b) = (self.start(t), self.start(t + 1));
        let n = self.rows * self.m;
        // SAFETY: two distinct blocks of this view's columns (`a + n <= b`
        // as the blocks are `rows · width ≥ n` apart), unique to it.
        unsafe {
            (
                std::slice::from_raw_parts(self.ptr.add(a), n),
                std::slice::from_raw_parts_mut(self.ptr.add(b), n),
            )
        }
    }

    /// Block `t` to write and block `t + 1` to read: a state's gradient
    /// before and after a step, in the backward pass.
    pub fn pair_back(&mut self, t: usize) -> (&mut [T], &[T]) {
        let (a, b) = (self.start(t), self.start(t + 1));
        let n = self.rows * self.m;
        // SAFETY: as in `pair`.
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.ptr.add(a), n),
                std::slice::from_raw_parts(self.ptr.add(b), n),
            )
        }
    }

    /// Column `j` (counted within this view) of block `t`.
    pub(crate) fn column_mut(&mut self, t: usize, j: usize) -> &mut [T] {
        let rows = self.rows;
        &mut self.step_mut(t)[j * rows..(j + 1) * rows]
    }

    /// The first column of the view (an index into the whole batch).
    pub(crate) fn first(&self) -> usize {
        self.first
    }
}

/// Makes `v` at least `k` long, with defaults.
pub(crate) fn at_least<V: Default>(v: &mut Vec<V>, k: usize) {
    if v.len() < k {
        v.resize_with(k, V::default);
    }
}

/// Splits each of `bufs` (`blocks` blocks of `width` columns) by `ranges`:
/// one list of views per worker, in the order of `bufs`.
pub(crate) fn split_all<'a, T: nalgebra::Scalar>(
    bufs: &'a mut [nalgebra::DMatrix<T>],
    width: usize,
    blocks: usize,
    ranges: &[(usize, usize)],
) -> Vec<Vec<Cols<'a, T>>> {
    let mut views: Vec<Vec<Cols<'a, T>>> = (0..ranges.len()).map(|_| Vec::new()).collect();
    for b in bufs.iter_mut() {
        let rows = b.nrows();
        for (w, v) in Cols::split(b.as_mut_slice(), rows, width, blocks, ranges)
            .into_iter()
            .enumerate()
        {
            views[w].push(v);
        }
    }
    views
}

/// One worker's read-only views of each of `bufs`.
pub(crate) fn refs_all<'a, T: nalgebra::Scalar>(
    bufs: &'a [nalgebra::DMatrix<T>],
    width: usize,
    range: (usize, usize),
) -> Vec<ColsRef<'a, T>> {
    bufs.iter()
        .map(|b| ColsRef::new(b.as_slice(), b.nrows(), width, range))
        .collect()
}

/// One worker's columns of a read-only buffer, as [`Cols`].
#[derive(Clone, Copy)]
pub struct ColsRef<'a, T> {
    data: &'a [T],
    rows: usize,
    width: usize,
    first: usize,
    m: usize,
}

impl<'a, T> ColsRef<'a, T> {
    /// The columns `first .. first + m` of every block of `rows × width`
    /// values of `data`.
    pub(crate) fn new(
        data: &'a [T],
        rows: usize,
        width: usize,
        (first, m): (usize, usize),
    ) -> Self {
        ColsRef {
            data,
            rows,
            width,
            first,
            m,
        }
    }

    /// This worker's columns of block `t`.
    pub fn step(&self, t: usize) -> &'a [T] {
        let start = (t * self.width + self.first) * self.rows;
        &self.data[start..start + self.rows * self.m]
    }
}

/// What one worker's forward steps read and write: its columns of every
/// buffer of the trace, for generated kernels.
#[doc(hidden)]
pub struct StepParts<'a, T> {
    /// Examples in this worker's range.
    pub m: usize,
    pub input: ColsRef<'a, T>,
    pub states: Vec<Cols<'a, T>>,
    pub outputs: Vec<Cols<'a, T>>,
    pub slots: Vec<Cols<'a, T>>,
    pub noise: Vec<ColsRef<'a, T>>,
    pub weights: &'a [T],
    pub packs: &'a mut PackCache<T>,
    pub(crate) mask: Option<&'a Mask>,
}

/// What one worker's backward steps read: its columns of the trace's
/// buffers, for generated kernels.
#[doc(hidden)]
pub struct StepRefs<'a, T> {
    /// Examples in this worker's range.
    pub m: usize,
    pub input: ColsRef<'a, T>,
    pub states: Vec<ColsRef<'a, T>>,
    pub outputs: Vec<ColsRef<'a, T>>,
    pub slots: Vec<ColsRef<'a, T>>,
    pub noise: Vec<ColsRef<'a, T>>,
    pub weights: &'a [T],
}

/// What one worker's backward steps write: its columns of the gradient
/// buffers, and its own sums of the vector parameters' gradients.
#[doc(hidden)]
pub struct GradStep<'a, T> {
    pub input: Cols<'a, T>,
    pub states: Vec<Cols<'a, T>>,
    pub outputs: Vec<Cols<'a, T>>,
    pub groups: Vec<Cols<'a, T>>,
    pub scratch: Vec<Cols<'a, T>>,
    pub params: &'a mut [T],
    pub packs: &'a mut PackCache<T>,
    /// The gradients a padded step holds back, per state (reused).
    pub(crate) held: &'a mut Vec<T>,
}

impl<T: Real> StepParts<'_, T> {
    /// After step `t`: the padded examples of this worker keep their state,
    /// and their outputs are zero.
    pub(crate) fn carry_padded(&mut self, t: usize) {
        let Some(mask) = self.mask else { return };
        let (first, m) = (self.input.first, self.m);
        for j in mask.padded(t).filter(|&j| j >= first && j < first + m) {
            let j = j - first;
            for s in &mut self.states {
                let rows = s.rows;
                let (prev, next) = s.pair(t);
                next[j * rows..(j + 1) * rows].copy_from_slice(&prev[j * rows..(j + 1) * rows]);
            }
            for o in &mut self.outputs {
                o.column_mut(t, j).fill(T::zero());
            }
        }
    }
}

impl<T: Real> GradStep<'_, T> {
    /// Before the backward of step `t`: the padded examples' state
    /// gradients after the step are held back (the step gives them
    /// nothing) and their outputs' gradients count as zero.
    pub(crate) fn hold_padded(&mut self, mask: Option<&Mask>, t: usize) -> bool {
        let Some(mask) = mask else { return false };
        let first = self.input.first();
        let m = self.input.m;
        self.held.clear();
        let mut any = false;
        for j in mask.padded(t).filter(|&j| j >= first && j < first + m) {
            any = true;
            for s in &mut self.states {
                let col = s.column_mut(t + 1, j - first);
                self.held.extend_from_slice(col);
                col.fill(T::zero());
            }
            for o in &mut self.outputs {
                o.column_mut(t, j - first).fill(T::zero());
            }
        }
        any
    }

    /// After the backward of step `t`: a padded step passes its state's
    /// gradient straight to the state before it.
    pub(crate) fn release_padded(&mut self, mask: Option<&Mask>, t: usize) {
        let Some(mask) = mask else { return };
        let first = self.input.first();
        let m = self.input.m;
        let mut at = 0;
        for j in mask.padded(t).filter(|&j| j >= first && j < first + m) {
            for s in &mut self.states {
                let rows = s.rows;
                let col = s.column_mut(t, j - first);
                for (v, &g) in col.iter_mut().zip(&self.held[at..at + rows]) {
                    *v += g;
                }
                at += rows;
            }
        }
    }

    /// Before the backward of step `t`: the states' gradient after the step
    /// gets the loss's own (`upstream` of step `t + 1`), and the gradient
    /// before it, which the step adds to, starts at zero.
    pub(crate) fn take_upstream(&mut self, upstream: &[ColsRef<'_, T>], t: usize) {
        for (s, u) in self.states.iter_mut().zip(upstream) {
            s.step_mut(t).fill(T::zero());
            for (g, &v) in s.step_mut(t + 1).iter_mut().zip(u.step(t)) {
                *g += v;
            }
        }
    }

    /// Truncated backpropagation: no gradient flows from the states at step
    /// `t` (`1 ..= T`) into earlier steps but the loss's own, which the
    /// backward of step `t - 1` adds.
    pub(crate) fn cut_at(&mut self, t: usize) {
        for s in &mut self.states {
            s.step_mut(t).fill(T::zero());
        }
    }
}

thread_local! {
    static IN_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is running a worker's part of a split run (whose
/// products then stay on this thread).
pub(crate) fn in_worker() -> bool {
    IN_WORKER.get()
}

/// Runs `f` as a worker.
fn as_worker<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_WORKER.replace(true);
    let r = f();
    IN_WORKER.set(was);
    r
}

/// Runs `f` on every worker's parts: the first on this thread, the others
/// on the threads of the team (or, when the team is taken, of rayon's pool),
/// all to completion.
pub(crate) fn run<P: Send>(parts: &mut [P], f: impl Fn(&mut P) + Sync) {
    match parts {
        [] => {}
        [one] => as_worker(|| f(one)),
        _ => {
            let base = Parts(parts.as_mut_ptr());
            let count = parts.len();
            let call = |i: usize| {
                // SAFETY: `team::run` calls each index in `0 .. count` once,
                // so no two threads reach the same part.
                let part = unsafe { &mut *base.at(i) };
                f(part);
            };
            if team::run(count, &call) {
                return;
            }
            // The pool's threads live as long as the process, so this pays
            // for waking them, not for starting them.
            let [first, rest @ ..] = parts else {
                unreachable!("two parts or more")
            };
            rayon::in_place_scope(|s| {
                for p in rest.iter_mut() {
                    let f = &f;
                    s.spawn(move |_| as_worker(|| f(p)));
                }
                as_worker(|| f(first));
            });
        }
    }
}

/// The parts of a split run, reached by index from the threads that run them.
struct Parts<P>(*mut P);

// SAFETY: each part is reached from one thread only (see `run`), and the
// parts are `Send`.
unsafe impl<P: Send> Sync for Parts<P> {}

impl<P> Parts<P> {
    /// Part `i`; the caller keeps `i` in bounds.
    fn at(&self, i: usize) -> *mut P {
        // SAFETY: in bounds by the caller's contract.
        unsafe { self.0.add(i) }
    }
}

/// How many threads a product of `work` multiply-adds with `n` columns
/// takes: its columns are split when it is large and this thread is not
/// already a worker.
pub(crate) fn product_workers(work: usize, n: usize) -> usize {
    if in_worker() {
        return 1;
    }
    let cap = (n / 16).max(1);
    let wanted = fixed_threads().unwrap_or_else(|| cores().min((work / MIN_PRODUCT_WORK).max(1)));
    wanted.clamp(1, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_batch_in_order() {
        assert_eq!(ranges(10, 3), vec![(0, 4), (4, 3), (7, 3)]);
        assert_eq!(ranges(2, 4), vec![(0, 1), (1, 1)]);
        assert_eq!(ranges(0, 2), vec![(0, 0)]);
    }

    #[test]
    fn workers_see_only_their_columns() {
        // 3 blocks of 2 rows × 5 columns.
        let mut buf: Vec<usize> = (0..30).collect();
        let mut views = Cols::split(&mut buf, 2, 5, 3, &ranges(5, 2));
        assert_eq!(views[0].step(1), &[10, 11, 12, 13, 14, 15]);
        assert_eq!(views[1].step(1), &[16, 17, 18, 19]);
        let (prev, next) = views[1].pair(0);
        assert_eq!(prev, &[6, 7, 8, 9]);
        next.fill(0);
        drop(views);
        assert_eq!(&buf[16..20], &[0, 0, 0, 0]);
        assert_eq!(buf[15], 15);
    }

    #[test]
    #[should_panic(expected = "disjoint")]
    fn overlapping_ranges_are_refused() {
        let mut buf = vec![0.0f64; 8];
        let _ = Cols::split(&mut buf, 1, 4, 2, &[(0, 3), (2, 2)]);
    }
}
