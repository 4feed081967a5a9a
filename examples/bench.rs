//! Times the forward pass and forward + backward of whole sequences for three
//! cells, median of repetitions after a warm-up:
//!
//! ```text
//! cargo run --release --example bench -- [--json] [--cell rnn,lstm,gru,keras_lstm,fixed_keras_lstm] [--n-a 1,32,128,512]
//!                                          [--n-x 32] [--m 64] [--t 100] [--dtype f32|f64] [--reps 10]
//!                                          [--latency] [--memory]
//! ```
//!
//! `--latency` times streaming inference instead: one example, one step at a
//! time through the LSTM, each step's state fed to the next (microseconds per
//! step). `--memory` prints the bytes the trace of a training run of the LSTM
//! keeps for its backward pass.
//!
//! The loss is the sum of all hidden states, so forward + backward computes
//! the gradient of every parameter and every input. FLOPs count the matrix
//! products only: forward `2 G n_a (n_a + n_x) m T` with `G` = 1, 4, 3 gates,
//! forward + backward three times that.

use cellforge::prelude::*;
use cellforge::{Upstream, cell};
use nalgebra::DMatrix;
use std::time::Instant;

cell! {
    /// `a = tanh(w [a; x] + b)`.
    pub cell BenchRnn {
        dims n_x, n_a;
        input x: [n_x];
        state a: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        a = tanh(w @ [a, x] + b);
    }
}

cell! {
    /// An LSTM without outputs; gates `i, f, g, o`.
    pub cell BenchLstm {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a], c: [n_a];
        param w_i: [n_a, n_a + n_x], w_f: [n_a, n_a + n_x], w_g: [n_a, n_a + n_x], w_o: [n_a, n_a + n_x];
        param b_i: [n_a], b_f: [n_a], b_g: [n_a], b_o: [n_a];
        let z = [h, x];
        c = sigmoid(w_f @ z + b_f) * c + sigmoid(w_i @ z + b_i) * tanh(w_g @ z + b_g);
        h = sigmoid(w_o @ z + b_o) * tanh(c);
    }
}

cell! {
    /// PyTorch's GRU: the reset gate applied after the recurrent product.
    pub cell BenchGru {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a];
        param w_ir: [n_a, n_x], w_iz: [n_a, n_x], w_in: [n_a, n_x];
        param w_hr: [n_a, n_a], w_hz: [n_a, n_a], w_hn: [n_a, n_a];
        param b_ir: [n_a], b_iz: [n_a], b_in: [n_a], b_hr: [n_a], b_hz: [n_a], b_hn: [n_a];
        let r = sigmoid(w_ir @ x + b_ir + w_hr @ h + b_hr);
        let z = sigmoid(w_iz @ x + b_iz + w_hz @ h + b_hz);
        let n = tanh(w_in @ x + b_in + r * (w_hn @ h + b_hn));
        h = (1 - z) * n + z * h;
    }
}

cell! {
    /// Keras's LSTM with its activations fixed at `tanh` and `sigmoid`: the
    /// reference for `cells::keras::Lstm`, whose activations are chosen at
    /// run time.
    pub cell FixedKerasLstm {
        dims n_x, units;
        input x: [n_x];
        state h: [units], c: [units];
        param w_i: [units, n_x], w_f: [units, n_x], w_c: [units, n_x], w_o: [units, n_x];
        param u_i: [units, units], u_f: [units, units], u_c: [units, units], u_o: [units, units];
        param b_i: [units], b_f: [units], b_c: [units], b_o: [units];
        let i = sigmoid(w_i @ x + u_i @ h + b_i);
        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let c_tilde = tanh(w_c @ x + u_c @ h + b_c);
        c = f * c + i * c_tilde;
        let o = sigmoid(w_o @ x + u_o @ h + b_o);
        h = o * tanh(c);
    }
}

struct Config {
    json: bool,
    latency: bool,
    memory: bool,
    cells: Vec<String>,
    n_a: Vec<usize>,
    n_x: usize,
    m: usize,
    t: usize,
    f64: bool,
    reps: usize,
}

fn parse() -> Result<Config, String> {
    let mut c = Config {
        json: false,
        latency: false,
        memory: false,
        cells: vec!["rnn".into(), "lstm".into(), "gru".into()],
        n_a: vec![1, 32, 128, 512],
        n_x: 32,
        m: 64,
        t: 100,
        f64: false,
        reps: 10,
    };
    let mut args = std::env::args().skip(1);
    let list = |s: String| {
        s.split(',')
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("not a number: `{v}`"))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--json" => c.json = true,
            "--latency" => c.latency = true,
            "--memory" => c.memory = true,
            "--cell" => c.cells = value()?.split(',').map(String::from).collect(),
            "--n-a" => c.n_a = list(value()?)?,
            "--n-x" => c.n_x = list(value()?)?.first().copied().unwrap_or(32),
            "--m" => c.m = list(value()?)?.first().copied().unwrap_or(64),
            "--t" => c.t = list(value()?)?.first().copied().unwrap_or(100),
            "--reps" => c.reps = list(value()?)?.first().copied().unwrap_or(10).max(1),
            "--dtype" => {
                c.f64 = match value()?.as_str() {
                    "f64" | "float64" => true,
                    "f32" | "float32" => false,
                    d => return Err(format!("unknown dtype `{d}`")),
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(c)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `(forward ms, forward + backward ms)`.
fn time<T: Real, C: Cell<T>>(cell: &C, c: &Config) -> Result<(f64, f64), Error> {
    let mut rng = NumpyRng::new(1);
    let xs = Sequence::new(rng.randn_matrix::<T>(c.n_x, c.m * c.t), c.m)?;
    let s0 = cell.zero_state(c.m);
    let mut trace = cell.forward(&xs, &s0)?;
    let mut up = Upstream::zeros_like(&trace);
    if let Some(s) = up.state_mut(0) {
        s.fill(T::one());
    }
    let mut fwd = Vec::new();
    let mut both = Vec::new();
    // Buffers allocated once, as a training loop over batches of one shape has them.
    let mut grads = cell.backward(&trace, &up)?;
    for rep in 0..c.reps + 2 {
        let start = Instant::now();
        cell.forward_into(&xs, &s0, &mut trace)?;
        let f = start.elapsed().as_secs_f64();
        cell.backward_into(&trace, &up, &mut grads)?;
        let b = start.elapsed().as_secs_f64();
        std::hint::black_box(grads.params());
        if rep >= 2 {
            fwd.push(f * 1e3);
            both.push(b * 1e3);
        }
    }
    Ok((median(fwd), median(both)))
}

/// Streaming inference: microseconds per step of one example through the
/// LSTM, each step's state fed to the next, median over repetitions of
/// 1,000 steps.
fn latency<T: Real>(c: &Config, n_a: usize) -> Result<f64, Error> {
    let mut rng = NumpyRng::new(2);
    let cell = BenchLstm::<T>::init(BenchLstmDims { n_x: c.n_x, n_a }, &mut rng)?;
    let xs = Sequence::new(rng.randn_matrix::<T>(c.n_x, 1), 1)?;
    let mut state = cell.zero_state(1);
    let mut trace = cell.forward(&xs, &state)?;
    const STEPS: usize = 1000;
    let mut times = Vec::new();
    for rep in 0..c.reps + 2 {
        let start = Instant::now();
        for _ in 0..STEPS {
            cell.forward_into(&xs, &state, &mut trace)?;
            if let (Some(h), Some(cc)) = (trace.state_at(0, 1), trace.state_at(1, 1)) {
                state.h.copy_from(&h);
                state.c.copy_from(&cc);
            }
        }
        if rep >= 2 {
            times.push(start.elapsed().as_secs_f64() * 1e6 / STEPS as f64);
        }
    }
    std::hint::black_box(&state);
    Ok(median(times))
}

/// Prints the streaming latency (`--latency`) or the bytes a training run
/// keeps for its backward (`--memory`) of the LSTM at each size.
fn run_extra<T: Real>(c: &Config) -> Result<(), Error> {
    let mut rng = NumpyRng::new(0);
    for &n_a in &c.n_a {
        if c.latency {
            let us = latency::<T>(c, n_a)?;
            println!(
                "{{\"framework\":\"cellforge\",\"kind\":\"latency\",\"cell\":\"lstm\",\"n_x\":{},\"n_a\":{n_a},\"dtype\":\"{}\",\"us_per_step\":{us:.3}}}",
                c.n_x,
                T::DTYPE
            );
        }
        if c.memory {
            let cell = BenchLstm::<T>::init(BenchLstmDims { n_x: c.n_x, n_a }, &mut rng)?;
            let xs = Sequence::new(DMatrix::<T>::zeros(c.n_x, c.m * c.t), c.m)?;
            let trace = cell.forward(&xs, &cell.zero_state(c.m))?;
            println!(
                "{{\"framework\":\"cellforge\",\"kind\":\"memory\",\"cell\":\"lstm\",\"n_x\":{},\"n_a\":{n_a},\"m\":{},\"T\":{},\"dtype\":\"{}\",\"bytes\":{}}}",
                c.n_x,
                c.m,
                c.t,
                T::DTYPE,
                trace.bytes()
            );
        }
    }
    Ok(())
}

fn run<T: Real>(c: &Config) -> Result<(), Error> {
    if c.latency || c.memory {
        return run_extra::<T>(c);
    }
    let mut rng = NumpyRng::new(0);
    for cell in &c.cells {
        for &n_a in &c.n_a {
            let (gates, (f, b)) = match cell.as_str() {
                "rnn" => (
                    1.0,
                    time::<T, _>(
                        &BenchRnn::<T>::init(BenchRnnDims { n_x: c.n_x, n_a }, &mut rng)?,
                        c,
                    )?,
                ),
                "lstm" => (
                    4.0,
                    time::<T, _>(
                        &BenchLstm::<T>::init(BenchLstmDims { n_x: c.n_x, n_a }, &mut rng)?,
                        c,
                    )?,
                ),
                "gru" => (
                    3.0,
                    time::<T, _>(
                        &BenchGru::<T>::init(BenchGruDims { n_x: c.n_x, n_a }, &mut rng)?,
                        c,
                    )?,
                ),
                "keras_lstm" => (
                    4.0,
                    time::<T, _>(
                        &cellforge::cells::keras::Lstm::<T>::init(
                            cellforge::cells::keras::LstmDims {
                                n_x: c.n_x,
                                units: n_a,
                            },
                            &mut rng,
                        )?,
                        c,
                    )?,
                ),
                "fixed_keras_lstm" => (
                    4.0,
                    time::<T, _>(
                        &FixedKerasLstm::<T>::init(
                            FixedKerasLstmDims {
                                n_x: c.n_x,
                                units: n_a,
                            },
                            &mut rng,
                        )?,
                        c,
                    )?,
                ),
                other => {
                    return Err(Error::Name {
                        kind: "cell",
                        name: other.to_string(),
                        known: vec!["rnn", "lstm", "gru", "keras_lstm", "fixed_keras_lstm"],
                    });
                }
            };
            let flops = 2.0 * gates * n_a as f64 * (n_a + c.n_x) as f64 * c.m as f64 * c.t as f64;
            let (gf, gb) = (flops / (f * 1e6), 3.0 * flops / (b * 1e6));
            if c.json {
                println!(
                    "{{\"framework\":\"cellforge\",\"cell\":\"{cell}\",\"n_x\":{},\"n_a\":{n_a},\"m\":{},\"T\":{},\"dtype\":\"{}\",\"fwd_ms\":{f:.4},\"fwdbwd_ms\":{b:.4},\"gflops_fwd\":{gf:.2},\"gflops_fwdbwd\":{gb:.2}}}",
                    c.n_x,
                    c.m,
                    c.t,
                    T::DTYPE
                );
            } else {
                println!(
                    "{cell:>4} n_a = {n_a:>4}: forward {f:>9.3} ms ({gf:>6.1} GFLOP/s), forward + backward {b:>9.3} ms ({gb:>6.1} GFLOP/s)"
                );
            }
        }
    }
    Ok(())
}

fn main() {
    let c = match parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let result = if c.f64 {
        run::<f64>(&c)
    } else {
        run::<f32>(&c)
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
