//! The cells from the literature in `cells/`: every gradient checked against
//! finite differences (every parameter, input and initial state, at several
//! sizes), and each trained once on a small task it must learn. The cells
//! with random masks are gradient-checked with fixed masks in
//! `tests/regularisers.rs`, and trained here with their masks on.

use cellforge::cells::{
    cifg, indrnn, layer_norm_lstm, mgu, min_gru, min_lstm, peephole, ugrnn, variational_lstm,
    weight_drop_lstm, zoneout_lstm,
};
use cellforge::gradcheck::{LinearLoss, check_gradients};
use cellforge::nn::layers::{Dense, Recurrent};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::Optimizer;
use cellforge::nn::{Layer, Shape, Tensor};
use cellforge::prelude::*;
use nalgebra::DMatrix;

fn check<C: Cell<f64> + Clone>(make: impl Fn(usize, usize) -> C, seed: u32) {
    check_sizes(make, seed, &[(1, 1, 1, 1), (3, 4, 2, 5), (2, 3, 1, 4)]);
}

fn check_sizes<C: Cell<f64> + Clone>(
    make: impl Fn(usize, usize) -> C,
    seed: u32,
    sizes: &[(usize, usize, usize, usize)],
) {
    let mut rng = NumpyRng::new(seed);
    for &(n_x, n_h, m, t) in sizes {
        let mut cell = make(n_x, n_h);
        for p in cell.flat_params_mut() {
            // Positive where a cell divides by a sum of gates; small enough to stay smooth.
            *p = 0.6 * rng.standard_normal();
        }
        let xs = Sequence::new(rng.randn_matrix(n_x, m * t), m).unwrap();
        let parts = cell
            .layout()
            .states
            .iter()
            .map(|&n| rng.randn_matrix(n, m))
            .collect();
        let s0 = C::State::from_parts(parts);
        let trace = cell.forward(&xs, &s0).unwrap();
        let loss = LinearLoss::random(&trace, &mut rng);
        let report = check_gradients(&cell, &xs, &s0, &loss, 1e-4).unwrap();
        assert!(
            report.worst() < 1e-7,
            "{} n_x={n_x} n_h={n_h}:\n{report}",
            C::SPEC.name
        );
    }
}

#[test]
fn gradients_of_every_cell() {
    check(
        |n_x, n_h| cifg::Cifg::zeros(cifg::CifgDims { n_x, n_h }).unwrap(),
        1,
    );
    check(
        |n_x, n_h| mgu::Mgu::zeros(mgu::MguDims { n_x, n_h }).unwrap(),
        2,
    );
    check(
        |n_x, n_h| indrnn::IndRnn::zeros(indrnn::IndRnnDims { n_x, n_h }).unwrap(),
        3,
    );
    check(
        |n_x, n_h| min_gru::MinGru::zeros(min_gru::MinGruDims { n_x, n_h }).unwrap(),
        4,
    );
    check(
        |n_x, n_h| min_lstm::MinLstm::zeros(min_lstm::MinLstmDims { n_x, n_h }).unwrap(),
        5,
    );
    check(
        |n_x, n_h| ugrnn::Ugrnn::zeros(ugrnn::UgrnnDims { n_x, n_h }).unwrap(),
        6,
    );
    check(
        |n_x, n_h| peephole::Peephole::zeros(peephole::PeepholeDims { n_x, n_h }).unwrap(),
        7,
    );
    // Layer normalisation of `W x` does not change when `x` is scaled, so
    // with one input the input's gradient is zero up to ε: the smallest size
    // checked has two inputs (and one unit, where `c − mean(c)` is 0).
    check_sizes(
        |n_x, n_h| {
            layer_norm_lstm::LayerNormLstm::zeros(layer_norm_lstm::LayerNormLstmDims { n_x, n_h })
                .unwrap()
        },
        8,
        &[(2, 1, 1, 1), (3, 4, 2, 5), (2, 3, 1, 4)],
    );
}

/// The layer-normalised LSTM's equations, computed directly.
#[test]
fn layer_norm_lstm_matches_its_equations() {
    use layer_norm_lstm::{LayerNormLstm, LayerNormLstmDims, LayerNormLstmState};
    let mut rng = NumpyRng::new(12);
    let (n_x, n_h, m) = (3, 4, 2);
    let mut cell = LayerNormLstm::zeros(LayerNormLstmDims { n_x, n_h }).unwrap();
    for v in cell.flat_params_mut() {
        *v = rng.standard_normal();
    }
    let p = cell.params();
    let xs = Sequence::new(rng.randn_matrix(n_x, m * 3), m).unwrap();
    let (mut h, mut c): (DMatrix<f64>, DMatrix<f64>) =
        (rng.randn_matrix(n_h, m), rng.randn_matrix(n_h, m));
    let trace = cell
        .forward(
            &xs,
            &LayerNormLstmState {
                h: h.clone(),
                c: c.clone(),
            },
        )
        .unwrap();
    let ln = |v: &[f64]| -> Vec<f64> {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
        v.iter().map(|a| (a - mean) / (var + 1e-5).sqrt()).collect()
    };
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    for t in 0..3 {
        let x = xs.step(t).unwrap();
        let (mut h_next, mut c_next) = (h.clone(), c.clone());
        for j in 0..m {
            let stack = |ws: [&DMatrix<f64>; 4], v: DMatrix<f64>| -> Vec<f64> {
                ws.iter()
                    .flat_map(|w| (*w * &v).iter().copied().collect::<Vec<_>>())
                    .collect()
            };
            let wx = ln(&stack(
                [&p.w_f, &p.w_i, &p.w_o, &p.w_g],
                DMatrix::from_iterator(n_x, 1, x.column(j).iter().copied()),
            ));
            let uh = ln(&stack(
                [&p.u_f, &p.u_i, &p.u_o, &p.u_g],
                DMatrix::from_iterator(n_h, 1, h.column(j).iter().copied()),
            ));
            let gains = [
                (&p.a_f, &p.r_f, &p.b_f),
                (&p.a_i, &p.r_i, &p.b_i),
                (&p.a_o, &p.r_o, &p.b_o),
                (&p.a_g, &p.r_g, &p.b_g),
            ];
            let pre: Vec<Vec<f64>> = gains
                .iter()
                .enumerate()
                .map(|(k, (a, r, b))| {
                    (0..n_h)
                        .map(|i| a[i] * wx[k * n_h + i] + r[i] * uh[k * n_h + i] + b[i])
                        .collect()
                })
                .collect();
            let c_new: Vec<f64> = (0..n_h)
                .map(|i| sig(pre[0][i]) * c[(i, j)] + sig(pre[1][i]) * pre[3][i].tanh())
                .collect();
            let c_ln = ln(&c_new);
            for i in 0..n_h {
                c_next[(i, j)] = c_new[i];
                h_next[(i, j)] = sig(pre[2][i]) * (p.a_c[i] * c_ln[i] + p.b_c[i]).tanh();
            }
        }
        (h, c) = (h_next, c_next);
        let diff_h = (trace.state_at(0, t + 1).unwrap() - &h).abs().max();
        let diff_c = (trace.state_at(1, t + 1).unwrap() - &c).abs().max();
        assert!(
            diff_h < 1e-12 && diff_c < 1e-12,
            "step {}: {diff_h} {diff_c}",
            t + 1
        );
    }
}

/// Sequences of 10 numbers; the label says whether their sum is positive.
/// With `constant`, each step has a second feature, always 1.
fn sums(n: usize, seed: u32, constant: bool) -> (Tensor<f32>, DMatrix<f32>) {
    let mut rng = NumpyRng::new(seed);
    let x: DMatrix<f32> = rng.randn_matrix(1, n * 10);
    let y = DMatrix::from_fn(1, n, |_, j| {
        if (0..10).map(|t| x[(0, t * n + j)]).sum::<f32>() > 0.0 {
            1.0
        } else {
            0.0
        }
    });
    let x = if constant {
        DMatrix::from_fn(2, n * 10, |i, c| if i == 0 { x[(0, c)] } else { 1.0 })
    } else {
        x
    };
    (Tensor::Seq(Sequence::new(x, n).unwrap()), y)
}

fn learns(name: &'static str, layer: Box<dyn Layer<f32>>) {
    learns_on(name, layer, false)
}

fn learns_on(name: &'static str, layer: Box<dyn Layer<f32>>, constant: bool) {
    let (x, y) = sums(400, 1, constant);
    let validation = sums(200, 2, constant);
    let mut model = Sequential::<f32>::new(
        Shape::Seq {
            features: if constant { 2 } else { 1 },
            steps: Some(10),
        },
        3,
    )
    .add_layer(layer)
    .unwrap()
    .add(Dense::new(1).activation(Activation::Sigmoid))
    .unwrap()
    .compile(Loss::BinaryCrossEntropy, Optimizer::adam(0.02))
    .unwrap();
    let fit = Fit {
        epochs: 15,
        batch_size: 20,
        shuffle: true,
        validation: Some(validation),
        verbose: false,
    };
    let h = model.fit(&x, &y, &fit).unwrap();
    let best = h.val_accuracy.iter().copied().fold(0.0, f64::max);
    assert!(
        best > 0.85,
        "{name}: validation accuracy {:?}",
        h.val_accuracy
    );
}

#[test]
fn every_cell_learns_the_sign_of_a_sum() {
    let mut rng = NumpyRng::new(9);
    let d = (1, 8);
    learns(
        "CIFG",
        Box::new(Recurrent::new(
            "CIFG",
            cifg::Cifg::<f32>::init(cifg::CifgDims { n_x: d.0, n_h: d.1 }, &mut rng).unwrap(),
        )),
    );
    learns(
        "MGU",
        Box::new(Recurrent::new(
            "MGU",
            mgu::Mgu::<f32>::init(mgu::MguDims { n_x: d.0, n_h: d.1 }, &mut rng).unwrap(),
        )),
    );
    learns(
        "IndRNN",
        Box::new(Recurrent::new(
            "IndRNN",
            indrnn::IndRnn::<f32>::init(indrnn::IndRnnDims { n_x: d.0, n_h: d.1 }, &mut rng)
                .unwrap(),
        )),
    );
    learns(
        "minGRU",
        Box::new(Recurrent::new(
            "minGRU",
            min_gru::MinGru::<f32>::init(min_gru::MinGruDims { n_x: d.0, n_h: d.1 }, &mut rng)
                .unwrap(),
        )),
    );
    learns(
        "minLSTM",
        Box::new(Recurrent::new(
            "minLSTM",
            min_lstm::MinLstm::<f32>::init(min_lstm::MinLstmDims { n_x: d.0, n_h: d.1 }, &mut rng)
                .unwrap(),
        )),
    );
    learns(
        "Peephole",
        Box::new(Recurrent::new(
            "Peephole",
            peephole::Peephole::<f32>::init(
                peephole::PeepholeDims { n_x: d.0, n_h: d.1 },
                &mut rng,
            )
            .unwrap(),
        )),
    );
    learns(
        "UGRNN",
        Box::new(Recurrent::new(
            "UGRNN",
            ugrnn::Ugrnn::<f32>::init(ugrnn::UgrnnDims { n_x: d.0, n_h: d.1 }, &mut rng).unwrap(),
        )),
    );
    // Layer normalisation is invariant to the scale of each example's input
    // (Ba et al. show it): of one number, `W x` normalised keeps only the
    // sign. A constant second feature keeps the magnitude in view.
    learns_on(
        "LayerNormLSTM",
        Box::new(Recurrent::new(
            "LayerNormLSTM",
            layer_norm_lstm::LayerNormLstm::<f32>::init(
                layer_norm_lstm::LayerNormLstmDims { n_x: 2, n_h: d.1 },
                &mut rng,
            )
            .unwrap(),
        )),
        true,
    );
}

/// The cells with random masks learn with their masks on: `fit` trains with
/// masks drawn for every batch, and the validation runs in inference.
#[test]
fn regularised_cells_learn_with_their_masks_on() {
    let mut rng = NumpyRng::new(10);
    let d = (1, 8);
    learns(
        "VariationalLSTM",
        Box::new(Recurrent::new(
            "VariationalLSTM",
            variational_lstm::VariationalLstm::<f32>::init(
                variational_lstm::VariationalLstmDims { n_x: d.0, n_h: d.1 },
                &mut rng,
            )
            .unwrap(),
        )),
    );
    learns(
        "ZoneoutLSTM",
        Box::new(Recurrent::new(
            "ZoneoutLSTM",
            zoneout_lstm::ZoneoutLstm::<f32>::init(
                zoneout_lstm::ZoneoutLstmDims { n_x: d.0, n_h: d.1 },
                &mut rng,
            )
            .unwrap(),
        )),
    );
    learns(
        "WeightDropLSTM",
        Box::new(Recurrent::new(
            "WeightDropLSTM",
            weight_drop_lstm::WeightDropLstm::<f32>::init(
                weight_drop_lstm::WeightDropLstmDims { n_x: d.0, n_h: d.1 },
                &mut rng,
            )
            .unwrap(),
        )),
    );
}
