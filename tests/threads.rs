//! The batch split across threads: every thread count gives the same
//! numbers (to rounding; the vector parameters' gradients are summed in
//! another order), a given count gives bit-identical numbers from run to
//! run, and padding, random masks, output layers and truncated
//! backpropagation all cross the split.
//!
//! The thread count is process-wide, so this file is one test.

use cellforge::cells::lstm::{Lstm, LstmDims};
use cellforge::cells::zoneout_lstm::{ZoneoutLstm, ZoneoutLstmDims};
use cellforge::chunk::set_threads;
use cellforge::prelude::*;
use cellforge::{Gradients, Mask, Noise, Trace, Upstream};

/// Everything a run and its backward give, flattened.
fn numbers(trace: &Trace<f64>, grads: &Gradients<f64>) -> Vec<f64> {
    let mut out = Vec::new();
    for k in 0..trace.state_count() {
        out.extend(trace.state(k).unwrap().iter());
    }
    for k in 0..trace.output_count() {
        out.extend(trace.output(k).unwrap().iter());
    }
    out.extend(grads.params());
    out.extend(grads.input().iter());
    for k in 0..trace.state_count() {
        out.extend(grads.initial_state(k).unwrap().iter());
    }
    out
}

/// Upstream gradients that differ per state, step and example.
fn upstream(trace: &Trace<f64>) -> Upstream<f64> {
    let mut up = Upstream::zeros_like(trace);
    for k in 0..trace.state_count() {
        let s = up.state_mut(k).unwrap();
        for (i, v) in s.iter_mut().enumerate() {
            *v = ((i * 7 + k * 3) % 11) as f64 / 11.0 - 0.4;
        }
    }
    for k in 0..trace.output_count() {
        let o = up.output_mut(k).unwrap();
        for (i, v) in o.iter_mut().enumerate() {
            *v = ((i * 5 + k) % 13) as f64 / 13.0 - 0.5;
        }
    }
    up
}

fn lstm_run(threads: usize) -> Vec<f64> {
    set_threads(Some(threads));
    let mut rng = NumpyRng::new(3);
    let dims = LstmDims {
        n_x: 5,
        n_a: 9,
        n_y: 4,
    };
    let cell = Lstm::<f64>::init(dims, &mut rng).unwrap();
    let (m, steps) = (37, 11);
    let xs = Sequence::new(rng.randn_matrix(5, m * steps), m).unwrap();
    let lengths: Vec<usize> = (0..m).map(|j| 1 + (j * 5) % steps).collect();
    let mask = Mask::from_lengths(&lengths, steps).unwrap();
    let s0 = cell.zero_state(m);
    let trace = cell.forward_masked(&xs, &s0, &mask).unwrap();
    let up = upstream(&trace);
    let grads = cell.backward_truncated(&trace, &up, 4).unwrap();
    numbers(&trace, &grads)
}

fn zoneout_run(threads: usize) -> Vec<f64> {
    set_threads(Some(threads));
    let mut rng = NumpyRng::new(5);
    let cell = ZoneoutLstm::<f64>::init(ZoneoutLstmDims { n_x: 3, n_h: 6 }, &mut rng).unwrap();
    let (m, steps) = (20, 7);
    let xs = Sequence::new(rng.randn_matrix(3, m * steps), m).unwrap();
    let s0 = cell.zero_state(m);
    let mut draws = NumpyRng::new(9);
    let trace = cell
        .forward_with(&xs, &s0, None, Noise::Sample(&mut draws))
        .unwrap();
    let up = upstream(&trace);
    let grads = cell.backward(&trace, &up).unwrap();
    numbers(&trace, &grads)
}

fn assert_close(label: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{label}: lengths");
    let scale = a.iter().fold(1.0f64, |s, v| s.max(v.abs()));
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * scale,
            "{label}: value {k} differs: {x} against {y}"
        );
    }
}

#[test]
fn every_thread_count_gives_the_same_numbers_and_each_repeats_exactly() {
    for (label, run) in [
        ("lstm, padded, truncated", lstm_run as fn(usize) -> Vec<f64>),
        ("zoneout lstm", zoneout_run),
    ] {
        let one = run(1);
        for threads in [2, 3, 8] {
            let split = run(threads);
            assert_close(&format!("{label}, {threads} threads"), &one, &split);
            assert_eq!(
                split,
                run(threads),
                "{label}: {threads} threads repeat bit for bit"
            );
        }
        assert!(one.iter().all(|v| v.is_finite()));
    }
    set_threads(None);
}
