//! Times the matrix products generated cells run, at the shapes of a
//! recurrent step and of the products over a whole sequence, and prints
//! each one's GFLOP/s:
//!
//! ```text
//! cargo run --release --example products -- [--n-a 1,32,512] [--n-x 32] [--m 64] [--t 100] [--dtype f32|f64] [--reps 20]
//! ```
//!
//! For each `n_a` it times, for an LSTM (four gates):
//! - `step`: the recurrent product of one step, `[4 n_a, n_a] · [n_a, m]`,
//!   with the weights packed once;
//! - `step back`: its transpose in the backward pass, `[n_a, 4 n_a] · [4 n_a, m]`;
//! - `input`: the input projection of all steps, `[4 n_a, n_x] · [n_x, m T]`;
//! - `weights`: the weight gradient over all steps, `[4 n_a, m T] · [m T, n_a + n_x]`;
//! - `input back`: the input gradient of all steps, `[n_x, 4 n_a] · [4 n_a, m T]`.

use cellforge::__private::kernel::{Block, PackCache, gemm_cached, gemm_t};
use cellforge::prelude::Real;
use std::time::Instant;

struct Options {
    n_a: Vec<usize>,
    n_x: usize,
    m: usize,
    t: usize,
    f32: bool,
    reps: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        n_a: vec![1, 32, 512],
        n_x: 32,
        m: 64,
        t: 100,
        f32: true,
        reps: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{a} {v}: {e}"));
        match a.as_str() {
            "--n-a" => {
                o.n_a = value()?
                    .split(',')
                    .map(|v| v.parse().map_err(|e| format!("--n-a {v}: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--n-x" => o.n_x = number(value()?)?,
            "--m" => o.m = number(value()?)?,
            "--t" => o.t = number(value()?)?,
            "--reps" => o.reps = number(value()?)?.max(1),
            "--dtype" => {
                o.f32 = match value()?.as_str() {
                    "f32" => true,
                    "f64" => false,
                    other => return Err(format!("--dtype {other}: expected f32 or f64")),
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

/// The median of `reps` timings of `f`, in seconds, after one warm-up run.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn filled<T: Real>(len: usize, seed: usize) -> Vec<T> {
    (0..len)
        .map(|i| T::cast((((i * 7 + seed * 13) % 17) as f64 - 8.0) / 16.0))
        .collect()
}

/// Times `c = op(a) · op(b)` of the given shape, `(rows, shared, cols)`,
/// `reps_inner` times per timing; returns GFLOP/s and microseconds per
/// product.
fn time<T: Real>(
    reps: usize,
    inner: usize,
    (rows, shared, cols): (usize, usize, usize),
    ta: bool,
    tb: bool,
    cached: bool,
) -> (f64, f64) {
    let a: Vec<T> = filled(rows * shared, 1);
    let b: Vec<T> = filled(shared * cols, 2);
    let mut c: Vec<T> = vec![T::zero(); rows * cols];
    let ab = if ta {
        Block::dense(0, shared, rows)
    } else {
        Block::dense(0, rows, shared)
    };
    let bb = if tb {
        Block::dense(0, cols, shared)
    } else {
        Block::dense(0, shared, cols)
    };
    let cb = Block::dense(0, rows, cols);
    let mut cache = PackCache::new();
    let seconds = median(reps, || {
        for _ in 0..inner {
            if cached {
                gemm_cached(&mut cache, &mut c, cb, &a, ab, ta, &b, bb, tb, T::one());
            } else {
                gemm_t(&mut c, cb, &a, ab, ta, &b, bb, tb, T::one());
            }
        }
    }) / inner as f64;
    let flops = 2.0 * (rows * shared * cols) as f64;
    (flops / seconds / 1e9, seconds * 1e6)
}

fn run<T: Real>(o: &Options) {
    for &n in &o.n_a {
        let g = 4 * n;
        let cols = o.m * o.t;
        let shapes = [
            ("step", (g, n, o.m), false, false, true, o.t),
            ("step back", (n, g, o.m), true, false, true, o.t),
            ("input", (g, o.n_x, cols), false, false, false, 1),
            ("weights", (g, cols, n + o.n_x), false, true, false, 1),
            ("input back", (o.n_x, g, cols), true, false, false, 1),
        ];
        for (name, shape, ta, tb, cached, inner) in shapes {
            let (gflops, us) = time::<T>(o.reps, inner, shape, ta, tb, cached);
            println!(
                "n_a = {n:4} {name:>10} {:>5} × {:>5} · {:>5} × {:>5}: {us:10.2} µs ({gflops:6.1} GFLOP/s)",
                shape.0, shape.1, shape.1, shape.2
            );
        }
    }
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("products: {e}");
            std::process::exit(2);
        }
    };
    if o.f32 {
        run::<f32>(&o)
    } else {
        run::<f64>(&o)
    }
}
