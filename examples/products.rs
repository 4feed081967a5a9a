//! Times the matrix products generated cells run, at the shapes of a
//! recurrent step and of the products over a whole sequence, and prints
//! each one's GFLOP/s:
//!
//! ```text
//! cargo run --release --example products -- [--n-a 1,32,512] [--n-x 32] [--m 64] [--t 100] [--dtype f32|f64] [--reps 20]
//!                                            [--peak] [--json]
//! ```
//!
//! For each `n_a` it times, for an LSTM (four gates):
//! - `step`: the recurrent product of one step, `[4 n_a, n_a] · [n_a, m]`,
//!   with the weights packed once;
//! - `step back`: its transpose in the backward pass, `[n_a, 4 n_a] · [4 n_a, m]`;
//! - `input`: the input projection of all steps, `[4 n_a, n_x] · [n_x, m T]`;
//! - `weights`: the weight gradient over all steps, `[4 n_a, m T] · [m T, n_a + n_x]`;
//! - `input back`: the input gradient of all steps, `[n_x, 4 n_a] · [4 n_a, m T]`.
//!
//! `--peak` also measures the peak of this thread's core: independent
//! multiply-adds on the widest vectors the processor has (AVX-512, AVX2 with
//! FMA, or plain arithmetic), twelve chains of them, with no memory access,
//! so that a product's GFLOP/s can be read as a fraction of what the core
//! can do. `--json` prints one JSON line per measurement instead.

use cellforge::__private::kernel::{Block, PackCache, gemm_cached, gemm_t};
use cellforge::prelude::Real;
use std::time::Instant;

struct Options {
    peak: bool,
    json: bool,
    n_a: Vec<usize>,
    n_x: usize,
    m: usize,
    t: usize,
    f32: bool,
    reps: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        peak: false,
        json: false,
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
            "--peak" => o.peak = true,
            "--json" => o.json = true,
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
            if o.json {
                println!(
                    "{{\"product\":\"{name}\",\"n_a\":{n},\"dtype\":\"{}\",\"shape\":[{},{},{}],\"us\":{us:.2},\"gflops\":{gflops:.1}}}",
                    T::DTYPE,
                    shape.0,
                    shape.1,
                    shape.2
                );
            } else {
                println!(
                    "n_a = {n:4} {name:>10} {:>5} × {:>5} · {:>5} × {:>5}: {us:10.2} µs ({gflops:6.1} GFLOP/s)",
                    shape.0, shape.1, shape.1, shape.2
                );
            }
        }
    }
    if o.peak {
        let (gflops, unit) = peak::<T>(o.reps);
        if o.json {
            println!(
                "{{\"product\":\"peak\",\"dtype\":\"{}\",\"unit\":\"{unit}\",\"gflops\":{gflops:.1}}}",
                T::DTYPE
            );
        } else {
            println!("peak of one core ({unit}): {gflops:.1} GFLOP/s");
        }
    }
}

/// The best of `reps` timings of independent multiply-adds on this core, in
/// GFLOP/s, and the vector unit that ran them.
fn peak<T: Real>(reps: usize) -> (f64, &'static str) {
    const ROUNDS: usize = 2_000_000;
    let f32s = T::DTYPE == "float32";
    let mut best: f64 = 0.0;
    let mut unit = "portable";
    for _ in 0..reps.clamp(3, 10) {
        let start = Instant::now();
        let (flops, u) = chains(ROUNDS, f32s);
        let seconds = start.elapsed().as_secs_f64();
        unit = u;
        best = best.max(flops as f64 / seconds / 1e9);
    }
    (best, unit)
}

/// Runs twelve independent chains of `rounds` multiply-adds on the widest
/// vectors there are; returns the operations counted (two per lane and
/// multiply-add) and the vector unit.
fn chains(rounds: usize, f32s: bool) -> (usize, &'static str) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            let lanes = unsafe { x86::avx512(rounds, f32s) };
            return (rounds * 12 * lanes * 2, "AVX-512");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            let lanes = unsafe { x86::avx2(rounds, f32s) };
            return (rounds * 12 * lanes * 2, "AVX2 + FMA");
        }
    }
    let mut acc = [0.5f64; 12];
    let (b, c) = (
        std::hint::black_box(0.999_f64),
        std::hint::black_box(1e-4_f64),
    );
    for _ in 0..rounds {
        for a in &mut acc {
            *a = *a * b + c;
        }
    }
    std::hint::black_box(acc);
    (rounds * 12 * 2, "portable")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// Twelve chains of `rounds` fused multiply-adds with `$set` and `$fma`.
    macro_rules! chains {
        ($rounds:expr, $set:ident, $fma:ident) => {{
            let (b, c) = ($set(black_box(0.999)), $set(black_box(1e-4)));
            let mut acc = [$set(0.5); 12];
            for _ in 0..$rounds {
                for a in &mut acc {
                    *a = $fma(*a, b, c);
                }
            }
            black_box(acc);
        }};
    }

    /// Twelve chains of fused multiply-adds on 512-bit vectors; returns the
    /// lanes of one vector.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(rounds: usize, f32s: bool) -> usize {
        if f32s {
            chains!(rounds, _mm512_set1_ps, _mm512_fmadd_ps);
            16
        } else {
            chains!(rounds, _mm512_set1_pd, _mm512_fmadd_pd);
            8
        }
    }

    /// Twelve chains of fused multiply-adds on 256-bit vectors; returns the
    /// lanes of one vector.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(rounds: usize, f32s: bool) -> usize {
        if f32s {
            chains!(rounds, _mm256_set1_ps, _mm256_fmadd_ps);
            8
        } else {
            chains!(rounds, _mm256_set1_pd, _mm256_fmadd_pd);
            4
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
