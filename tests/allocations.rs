//! A run into an existing trace, and a backward pass into existing
//! gradients, allocate nothing per step: the count of heap allocations of
//! a run does not grow with its number of steps.
//!
//! The allocator counts for the whole process, so this file is one test.

use cellforge::Upstream;
use cellforge::cells::lstm::{Lstm, LstmDims};
use cellforge::chunk::set_threads;
use cellforge::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations of the second forward and backward run into the same
/// buffers, for `steps` steps.
fn allocations_of_a_repeated_run(steps: usize) -> (usize, usize) {
    let mut rng = NumpyRng::new(1);
    let dims = LstmDims {
        n_x: 8,
        n_a: 16,
        n_y: 3,
    };
    let cell = Lstm::<f32>::init(dims, &mut rng).unwrap();
    let m = 32;
    let xs = Sequence::new(rng.randn_matrix::<f32>(8, m * steps), m).unwrap();
    let s0 = cell.zero_state(m);
    let mut trace = cell.forward(&xs, &s0).unwrap();
    let mut up = Upstream::zeros_like(&trace);
    up.state_mut(0).unwrap().fill(1.0);
    let mut grads = cell.backward(&trace, &up).unwrap();
    cell.forward_into(&xs, &s0, &mut trace).unwrap();
    cell.backward_into(&trace, &up, &mut grads).unwrap();
    // The fewest of three runs: the count is the whole process's, and a
    // thread of the test harness or of the pool may allocate during one run
    // now and then; an allocation per step would be in every run.
    let (mut forward, mut backward) = (usize::MAX, usize::MAX);
    for _ in 0..3 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        cell.forward_into(&xs, &s0, &mut trace).unwrap();
        forward = forward.min(ALLOCATIONS.load(Ordering::Relaxed) - before);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        cell.backward_into(&trace, &up, &mut grads).unwrap();
        backward = backward.min(ALLOCATIONS.load(Ordering::Relaxed) - before);
    }
    (forward, backward)
}

#[test]
fn runs_into_existing_buffers_allocate_nothing_per_step() {
    for threads in [1, 2] {
        set_threads(Some(threads));
        let short = allocations_of_a_repeated_run(5);
        let long = allocations_of_a_repeated_run(60);
        assert_eq!(
            short, long,
            "with {threads} threads, allocations (forward, backward) grow with the steps"
        );
        if threads == 1 {
            // On one thread, only the lists of the worker's views of the
            // buffers (one per kind of buffer and pass): a few dozen.
            assert!(short.0 <= 32 && short.1 <= 48, "{short:?}");
        }
    }
    set_threads(None);
}
