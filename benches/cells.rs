//! Criterion benchmarks of the generated kernels, f32, `n_x = 32`, `m = 64`:
//! one step (a sequence of one step, run into an existing trace), and a
//! whole sequence of 100 steps forward and forward + backward, for
//! PyTorch's LSTM and GRU at 32 and 128 units.
//!
//! `cargo bench --bench cells`. For the comparison with PyTorch and JAX, see
//! `benches/peers/compare.py`.

use cellforge::cells::torch::{Gru, GruDims, Lstm, LstmDims};
use cellforge::{Cell, NumpyRng, Sequence, Upstream};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const N_X: usize = 32;
const M: usize = 64;

fn kernels<C: Cell<f32>>(c: &mut Criterion, name: &str, cell: &C, n_a: usize) {
    let mut rng = NumpyRng::new(1);
    let s0 = cell.zero_state(M);
    for steps in [1, 100] {
        let xs = Sequence::new(rng.randn_matrix::<f32>(N_X, M * steps), M).expect("a sequence");
        let mut trace = cell.forward(&xs, &s0).expect("a forward run");
        let mut up = Upstream::zeros_like(&trace);
        if let Some(s) = up.state_mut(0) {
            s.fill(1.0);
        }
        let mut grads = cell.backward(&trace, &up).expect("a backward run");
        let id = format!("{name} n_a={n_a} T={steps}");
        c.bench_function(&format!("forward/{id}"), |b| {
            b.iter(|| cell.forward_into(black_box(&xs), &s0, &mut trace))
        });
        c.bench_function(&format!("forward+backward/{id}"), |b| {
            b.iter(|| {
                cell.forward_into(black_box(&xs), &s0, &mut trace)?;
                cell.backward_into(&trace, &up, &mut grads)
            })
        });
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = NumpyRng::new(0);
    for n_a in [32, 128] {
        let lstm = Lstm::<f32>::init(
            LstmDims {
                n_x: N_X,
                hidden: n_a,
            },
            &mut rng,
        )
        .expect("an LSTM");
        kernels(c, "lstm", &lstm, n_a);
        let gru = Gru::<f32>::init(
            GruDims {
                n_x: N_X,
                hidden: n_a,
            },
            &mut rng,
        )
        .expect("a GRU");
        kernels(c, "gru", &gru, n_a);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
