//! What regularisers and layer normalisation cost when they are part of the
//! equations: forward and forward + backward of whole sequences for the
//! cells of `cells/` with random masks drawn (training) and for the
//! layer-normalised LSTM, each as a ratio to a plain LSTM of the same size
//! timed in the same run (median of repetitions after a warm-up):
//!
//! ```text
//! cargo run --release --example regularisers -- [--n-h 32,128] [--n-x 32] [--m 64] [--t 100] [--reps 10]
//! ```
//!
//! Drawing the masks is part of each timed training run: once per sequence
//! for dropout, at every step for zoneout, once per batch for DropConnect
//! (which also copies the masked weights). The last column times a forward
//! pass in inference, where each mask is its expectation and nothing is
//! drawn: the same arithmetic without the random numbers.

use cellforge::cells::layer_norm_lstm::{LayerNormLstm, LayerNormLstmDims};
use cellforge::cells::variational_lstm::{VariationalLstm, VariationalLstmDims};
use cellforge::cells::weight_drop_lstm::{WeightDropLstm, WeightDropLstmDims};
use cellforge::cells::zoneout_lstm::{ZoneoutLstm, ZoneoutLstmDims};
use cellforge::prelude::*;
use cellforge::{Noise, Upstream, cell};
use std::time::Instant;

cell! {
    /// The reference: the regularised cells' LSTM, without masks (Keras's
    /// LSTM with its default activations fixed).
    pub cell PlainLstm {
        dims n_x, n_h;
        input x: [n_x];
        state h: [n_h], c: [n_h];
        param w_i: [n_h, n_x], w_f: [n_h, n_x], w_c: [n_h, n_x], w_o: [n_h, n_x];
        param u_i: [n_h, n_h] = orthogonal, u_f: [n_h, n_h] = orthogonal;
        param u_c: [n_h, n_h] = orthogonal, u_o: [n_h, n_h] = orthogonal;
        param b_i: [n_h], b_f: [n_h] = ones, b_c: [n_h], b_o: [n_h];
        let i = sigmoid(w_i @ x + u_i @ h + b_i);
        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let c_tilde = tanh(w_c @ x + u_c @ h + b_c);
        c = f * c + i * c_tilde;
        let o = sigmoid(w_o @ x + u_o @ h + b_o);
        h = o * tanh(c);
    }
}

struct Config {
    n_h: Vec<usize>,
    n_x: usize,
    m: usize,
    t: usize,
    reps: usize,
}

fn parse() -> Result<Config, String> {
    let mut c = Config {
        n_h: vec![32, 128],
        n_x: 32,
        m: 64,
        t: 100,
        reps: 10,
    };
    let mut args = std::env::args().skip(1);
    let list = |s: String| {
        s.split(',')
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or(format!("not a positive number: `{v}`"))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let first = |v: Vec<usize>| v.first().copied().unwrap_or(1);
        match a.as_str() {
            "--n-h" => c.n_h = list(value()?)?,
            "--n-x" => c.n_x = first(list(value()?)?),
            "--m" => c.m = first(list(value()?)?),
            "--t" => c.t = first(list(value()?)?),
            "--reps" => c.reps = first(list(value()?)?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(c)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `(forward ms, forward + backward ms, inference forward ms)`: a run in
/// training (masks drawn), and a forward pass in inference.
fn time<C: Cell<f32>>(cell: &C, c: &Config) -> Result<(f64, f64, f64), Error> {
    let mut rng = NumpyRng::new(1);
    let xs = Sequence::new(rng.randn_matrix::<f32>(c.n_x, c.m * c.t), c.m)?;
    let s0 = cell.zero_state(c.m);
    let mut trace = cell.forward_train(&xs, &s0, &mut rng)?;
    let mut up = Upstream::zeros_like(&trace);
    if let Some(s) = up.state_mut(0) {
        s.fill(1.0);
    }
    let mut grads = cell.backward(&trace, &up)?;
    let (mut fwd, mut both, mut infer) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..c.reps + 2 {
        let start = Instant::now();
        cell.forward_with_into(&xs, &s0, None, Noise::Sample(&mut rng), &mut trace)?;
        let f = start.elapsed().as_secs_f64();
        cell.backward_into(&trace, &up, &mut grads)?;
        let b = start.elapsed().as_secs_f64();
        std::hint::black_box(grads.params());
        let start = Instant::now();
        cell.forward_into(&xs, &s0, &mut trace)?;
        let i = start.elapsed().as_secs_f64();
        std::hint::black_box(trace.state(0));
        if rep >= 2 {
            fwd.push(f * 1e3);
            both.push(b * 1e3);
            infer.push(i * 1e3);
        }
    }
    Ok((median(fwd), median(both), median(infer)))
}

fn run(c: &Config) -> Result<(), Error> {
    let mut rng = NumpyRng::new(0);
    println!(
        "f32, n_x = {}, m = {}, T = {}: milliseconds, and the ratio to the plain LSTM",
        c.n_x, c.m, c.t
    );
    println!(
        "{:>5}  {:<26} {:>10} {:>7} {:>12} {:>7} {:>10} {:>7}",
        "n_h", "cell", "forward", "ratio", "fwd + bwd", "ratio", "inference", "ratio"
    );
    for &n_h in &c.n_h {
        let n_x = c.n_x;
        let plain = time(
            &PlainLstm::<f32>::init(PlainLstmDims { n_x, n_h }, &mut rng)?,
            c,
        )?;
        let rows = [
            ("plain LSTM", plain),
            (
                "variational dropout 0.25",
                time(
                    &VariationalLstm::<f32>::init(VariationalLstmDims { n_x, n_h }, &mut rng)?,
                    c,
                )?,
            ),
            (
                "zoneout 0.5 / 0.05",
                time(
                    &ZoneoutLstm::<f32>::init(ZoneoutLstmDims { n_x, n_h }, &mut rng)?,
                    c,
                )?,
            ),
            (
                "DropConnect 0.5",
                time(
                    &WeightDropLstm::<f32>::init(WeightDropLstmDims { n_x, n_h }, &mut rng)?,
                    c,
                )?,
            ),
            (
                "layer normalisation",
                time(
                    &LayerNormLstm::<f32>::init(LayerNormLstmDims { n_x, n_h }, &mut rng)?,
                    c,
                )?,
            ),
        ];
        for (name, (f, b, i)) in rows {
            println!(
                "{n_h:>5}  {name:<26} {f:>10.3} {:>6.2}× {b:>12.3} {:>6.2}× {i:>10.3} {:>6.2}×",
                f / plain.0,
                b / plain.1,
                i / plain.2
            );
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
    if let Err(e) = run(&c) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
