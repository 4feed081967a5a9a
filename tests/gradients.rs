//! Every derived gradient of every cell against central finite differences
//! in f64: every parameter, every input and every initial state, at several
//! sizes (including n = 1 and a batch of one), with a random linear loss on
//! all states and outputs and with a cross-entropy loss through the softmax
//! output.

use cellforge::cells::gru::GruDims as CourseGruDims;
use cellforge::cells::lstm::LstmDims as CourseLstmDims;
use cellforge::cells::rnn::RnnDims;
use cellforge::gradcheck::{CrossEntropyLoss, LinearLoss, Loss, check_gradients};
use cellforge::prelude::*;
use nalgebra::DMatrix;

/// (n_x, n_a, n_y, m, T). A state of a few units runs the element-wise
/// passes across the examples (the lanes path) and its products by the thin
/// loops; one of nine or more (longer than a vector register of `f64`)
/// runs them a column at a time and through the panel kernel: both are
/// checked.
const SIZES: [(usize, usize, usize, usize, usize); 5] = [
    (1, 1, 1, 1, 1),
    (3, 5, 2, 4, 4),
    (2, 3, 4, 1, 6),
    (4, 1, 3, 2, 3),
    (3, 9, 2, 3, 3),
];

fn randomise<C: Cell<f64>>(cell: &mut C, rng: &mut NumpyRng) {
    for p in cell.flat_params_mut() {
        *p = 0.7 * rng.standard_normal();
    }
}

fn inputs<C: Cell<f64>>(
    cell: &C,
    n_x: usize,
    m: usize,
    t: usize,
    rng: &mut NumpyRng,
) -> (Sequence<f64>, C::State) {
    let xs = Sequence::new(rng.randn_matrix(n_x, m * t), m).unwrap();
    let parts: Vec<DMatrix<f64>> = cell
        .layout()
        .states
        .iter()
        .map(|&n| rng.randn_matrix(n, m))
        .collect();
    (xs, C::State::from_parts(parts))
}

fn losses(
    trace: &Trace<f64>,
    n_y: usize,
    rng: &mut NumpyRng,
) -> Vec<(&'static str, Box<dyn Loss>)> {
    let labels = (0..trace.steps())
        .map(|_| {
            (0..trace.m())
                .map(|_| (rng.next_u32() as usize) % n_y)
                .collect()
        })
        .collect();
    vec![
        ("linear", Box::new(LinearLoss::random(trace, rng))),
        (
            "cross-entropy",
            Box::new(CrossEntropyLoss { output: 0, labels }),
        ),
    ]
}

fn check_all<C: Cell<f64> + Clone>(make: impl Fn(usize, usize, usize) -> C, seed: u32) {
    let mut rng = NumpyRng::new(seed);
    for (n_x, n_a, n_y, m, t) in SIZES {
        let mut cell = make(n_x, n_a, n_y);
        randomise(&mut cell, &mut rng);
        let (xs, s0) = inputs(&cell, n_x, m, t, &mut rng);
        let trace = cell.forward(&xs, &s0).unwrap();
        for (name, loss) in losses(&trace, n_y, &mut rng) {
            let report = check_gradients(&cell, &xs, &s0, loss.as_ref(), 1e-4).unwrap();
            assert!(
                report.worst() < 1e-7,
                "{} with the {name} loss at n_x={n_x} n_a={n_a} n_y={n_y} m={m} T={t}:\n{report}",
                C::SPEC.name
            );
            let expected = cell.param_slots().len() + 1 + C::SPEC.states.len();
            assert_eq!(report.tensors.len(), expected);
        }
    }
}

#[test]
fn rnn_gradients() {
    check_all(
        |n_x, n_a, n_y| Rnn::zeros(RnnDims { n_x, n_a, n_y }).unwrap(),
        11,
    );
}

#[test]
fn lstm_gradients() {
    check_all(
        |n_x, n_a, n_y| Lstm::zeros(CourseLstmDims { n_x, n_a, n_y }).unwrap(),
        12,
    );
}

#[test]
fn gru_gradients() {
    check_all(
        |n_x, n_a, n_y| Gru::zeros(CourseGruDims { n_x, n_a, n_y }).unwrap(),
        13,
    );
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The check is not vacuous: a loss that reports the wrong upstream
    // gradient (twice the true one) fails it.
    struct Doubled(LinearLoss);
    impl Loss for Doubled {
        fn eval(&self, trace: &Trace<f64>) -> Result<(f64, Upstream<f64>), Error> {
            let (v, mut up) = self.0.eval(trace)?;
            if let Some(s) = up.state_mut(0) {
                *s *= 2.0;
            }
            Ok((v, up))
        }
    }
    let mut rng = NumpyRng::new(5);
    let mut cell = Rnn::zeros(RnnDims {
        n_x: 2,
        n_a: 3,
        n_y: 2,
    })
    .unwrap();
    randomise(&mut cell, &mut rng);
    let (xs, s0) = inputs(&cell, 2, 2, 3, &mut rng);
    let trace = cell.forward(&xs, &s0).unwrap();
    let loss = Doubled(LinearLoss::random(&trace, &mut rng));
    let report = check_gradients(&cell, &xs, &s0, &loss, 1e-4).unwrap();
    assert!(report.worst() > 0.1, "{report}");
}

#[test]
// ANCHOR: truncation
fn truncated_backprop_cuts_the_flow_between_windows() {
    let mut rng = NumpyRng::new(6);
    let mut cell = Lstm::zeros(CourseLstmDims {
        n_x: 2,
        n_a: 3,
        n_y: 2,
    })
    .unwrap();
    randomise(&mut cell, &mut rng);
    let (xs, s0) = inputs(&cell, 2, 2, 6, &mut rng);
    let trace = cell.forward(&xs, &s0).unwrap();
    // A loss on the last step only: with windows of 2 steps, only steps 5 and
    // 6 (the last window) get an input gradient, and the initial state none.
    let mut up = Upstream::zeros_like(&trace);
    up.state_at_mut(0, 6).unwrap().fill(1.0);
    let full = cell.backward(&trace, &up).unwrap();
    let cut = cell.backward_truncated(&trace, &up, 2).unwrap();
    for t in 1..=6 {
        let g = cut.input_at(t).unwrap();
        assert_eq!(g.iter().all(|v| *v == 0.0), t <= 4, "step {t}");
        assert!(full.input_at(t).unwrap().iter().any(|v| *v != 0.0));
    }
    assert!(cut.initial_state(0).unwrap().iter().all(|v| *v == 0.0));
    assert_eq!(cut.input_at(6), full.input_at(6));
    // A window as long as the sequence is the full backward.
    let whole = cell.backward_truncated(&trace, &up, 6).unwrap();
    assert_eq!(whole.params(), full.params());
    assert!(cell.backward_truncated(&trace, &up, 0).is_err());
}
// ANCHOR_END: truncation

#[test]
fn f32_gradients_agree_with_f64() {
    let mut rng = NumpyRng::new(9);
    let dims = CourseLstmDims {
        n_x: 3,
        n_a: 4,
        n_y: 2,
    };
    let mut c64 = Lstm::<f64>::zeros(dims).unwrap();
    randomise(&mut c64, &mut rng);
    let mut c32 = Lstm::<f32>::zeros(dims).unwrap();
    for (a, b) in c32.flat_params_mut().iter_mut().zip(c64.flat_params()) {
        *a = *b as f32;
    }
    let x: DMatrix<f64> = rng.randn_matrix(3, 10);
    let t64 = c64
        .forward(&Sequence::new(x.clone(), 2).unwrap(), &c64.zero_state(2))
        .unwrap();
    let t32 = c32
        .forward(
            &Sequence::new(x.map(|v| v as f32), 2).unwrap(),
            &c32.zero_state(2),
        )
        .unwrap();
    let mut u64 = Upstream::zeros_like(&t64);
    u64.state_mut(0).unwrap().fill(1.0);
    let mut u32 = Upstream::zeros_like(&t32);
    u32.state_mut(0).unwrap().fill(1.0);
    let g64 = c64.backward(&t64, &u64).unwrap();
    let g32 = c32.backward(&t32, &u32).unwrap();
    for (a, b) in g32.params().iter().zip(g64.params()) {
        assert!(
            (f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()),
            "{a} vs {b}"
        );
    }
}

/// The Keras-compatible cells have no outputs; a linear loss on every state,
/// at each size and with each run-time activation Keras allows for them.
fn check_keras<C: Cell<f64> + Clone>(
    make: impl Fn(usize, usize) -> C,
    set: impl Fn(C, Activation, Activation) -> C,
    seed: u32,
) {
    let mut rng = NumpyRng::new(seed);
    let pairs = [
        (Activation::Tanh, Activation::Sigmoid),
        (Activation::Linear, Activation::HardSigmoid),
        (Activation::Relu, Activation::Linear),
    ];
    for ((n_x, n_a, _, m, t), (act, rec)) in SIZES.into_iter().zip(pairs.into_iter().cycle()) {
        let mut cell = make(n_x, n_a);
        randomise(&mut cell, &mut rng);
        let cell = set(cell, act, rec);
        check_linear_loss(&cell, (n_x, m, t), &format!("{act:?}/{rec:?}"), &mut rng);
    }
}

/// The gradients of `cell` under a random linear loss on all its states and
/// outputs, on random inputs of `(n_x, m, T)`.
fn check_linear_loss<C: Cell<f64> + Clone>(
    cell: &C,
    (n_x, m, t): (usize, usize, usize),
    label: &str,
    rng: &mut NumpyRng,
) {
    let (xs, s0) = inputs(cell, n_x, m, t, rng);
    let trace = cell.forward(&xs, &s0).unwrap();
    let loss = LinearLoss::random(&trace, rng);
    let report = check_gradients(cell, &xs, &s0, &loss, 1e-4).unwrap();
    assert!(
        report.worst() < 1e-7,
        "{} {label} n_x={n_x} m={m} T={t}:\n{report}",
        C::SPEC.name
    );
}

#[test]
fn keras_cells_gradients() {
    use cellforge::cells::keras::*;
    check_keras(
        |n_x, units| SimpleRnn::zeros(SimpleRnnDims { n_x, units }).unwrap(),
        |c, a, _| c.with_activation("activation", a).unwrap(),
        21,
    );
    check_keras(
        |n_x, units| SimpleRnnNoBias::zeros(SimpleRnnNoBiasDims { n_x, units }).unwrap(),
        |c, a, _| c.with_activation("activation", a).unwrap(),
        22,
    );
    check_keras(
        |n_x, units| cellforge::cells::keras::Lstm::zeros(LstmDims { n_x, units }).unwrap(),
        |c, a, r| {
            c.with_activation("activation", a)
                .unwrap()
                .with_activation("recurrent_activation", r)
                .unwrap()
        },
        23,
    );
    check_keras(
        |n_x, units| LstmNoBias::zeros(LstmNoBiasDims { n_x, units }).unwrap(),
        |c, a, r| {
            c.with_activation("activation", a)
                .unwrap()
                .with_activation("recurrent_activation", r)
                .unwrap()
        },
        24,
    );
    check_keras(
        |n_x, units| cellforge::cells::keras::Gru::zeros(GruDims { n_x, units }).unwrap(),
        |c, a, r| {
            c.with_activation("activation", a)
                .unwrap()
                .with_activation("recurrent_activation", r)
                .unwrap()
        },
        25,
    );
    check_keras(
        |n_x, units| GruResetAfter::zeros(GruResetAfterDims { n_x, units }).unwrap(),
        |c, a, r| {
            c.with_activation("activation", a)
                .unwrap()
                .with_activation("recurrent_activation", r)
                .unwrap()
        },
        26,
    );
}

#[test]
fn backward_into_reuses_buffers_and_gives_the_same_gradients() {
    let mut rng = NumpyRng::new(11);
    let dims = CourseLstmDims {
        n_x: 3,
        n_a: 4,
        n_y: 2,
    };
    let mut cell = cellforge::cells::Lstm::<f64>::init(dims, &mut rng).unwrap();
    randomise(&mut cell, &mut rng);
    let mut reused: Option<Gradients<f64>> = None;
    // Two batches of one shape, then one of another: the buffers are reused,
    // then replaced.
    for (m, t) in [(2, 5), (2, 5), (3, 4)] {
        let (xs, s0) = inputs(&cell, 3, m, t, &mut rng);
        let trace = cell.forward(&xs, &s0).unwrap();
        let loss = LinearLoss::random(&trace, &mut rng);
        let (_, up) = loss.eval(&trace).unwrap();
        let fresh = cell.backward(&trace, &up).unwrap();
        let grads = reused.get_or_insert_with(|| fresh.clone());
        cell.backward_into(&trace, &up, grads).unwrap();
        assert_eq!(grads.params(), fresh.params());
        assert_eq!(grads.input(), fresh.input());
        assert_eq!(grads.initial_state(1), fresh.initial_state(1));
    }
}

// A product whose activation is kept for the backward pass is written over
// (see the compiler's `plan::kept`); these cells check that a product, or a
// sum, that something else also reads is left alone, and that `exp` is kept.
cellforge::cell! {
    /// The recurrent product read by two activations.
    pub cell ProductReadTwice {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        let p = w @ [h, x];
        h = tanh(p + b) * sigmoid(p);
    }
}

cellforge::cell! {
    /// The pre-activation read again after its activation.
    pub cell SumReadTwice {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        let s = w @ [h, x] + b;
        h = tanh(s) + 0.25 * tanh(0.5 * s);
    }
}

cellforge::cell! {
    /// `exp` of a product and a bias, kept; its value squashed again.
    pub cell KeptExp {
        dims n_x, n_a;
        input x: [n_x];
        state h: [n_a];
        param w: [n_a, n_a + n_x], b: [n_a];
        h = tanh(sqrt(exp(w @ [h, x] + b) + 1));
    }
}

fn check_linear<C: Cell<f64> + Clone>(make: impl Fn(usize, usize) -> C, seed: u32) {
    let mut rng = NumpyRng::new(seed);
    for (n_x, n_a, _, m, t) in SIZES {
        let mut cell = make(n_x, n_a);
        randomise(&mut cell, &mut rng);
        check_linear_loss(&cell, (n_x, m, t), &format!("n_a={n_a}"), &mut rng);
    }
}

#[test]
fn kept_activations_leave_values_read_elsewhere_alone() {
    check_linear(
        |n_x, n_a| ProductReadTwice::zeros(ProductReadTwiceDims { n_x, n_a }).unwrap(),
        31,
    );
    check_linear(
        |n_x, n_a| SumReadTwice::zeros(SumReadTwiceDims { n_x, n_a }).unwrap(),
        32,
    );
    check_linear(
        |n_x, n_a| KeptExp::zeros(KeptExpDims { n_x, n_a }).unwrap(),
        33,
    );
}
