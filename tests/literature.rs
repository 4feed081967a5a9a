//! The cells from the literature in `cells/`: every gradient checked against
//! finite differences (every parameter, input and initial state, at several
//! sizes), and each trained once on a small task it must learn.

use cellforge::cells::{cifg, indrnn, mgu, min_gru, min_lstm, peephole, ugrnn};
use cellforge::gradcheck::{LinearLoss, check_gradients};
use cellforge::nn::layers::{Dense, Recurrent};
use cellforge::nn::loss::Loss;
use cellforge::nn::model::{Fit, Sequential};
use cellforge::nn::optim::Optimizer;
use cellforge::nn::{Layer, Shape, Tensor};
use cellforge::prelude::*;
use nalgebra::DMatrix;

fn check<C: Cell<f64> + Clone>(make: impl Fn(usize, usize) -> C, seed: u32) {
    let mut rng = NumpyRng::new(seed);
    for (n_x, n_h, m, t) in [(1, 1, 1, 1), (3, 4, 2, 5), (2, 3, 1, 4)] {
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
}

/// Sequences of 10 numbers; the label says whether their sum is positive.
fn sums(n: usize, seed: u32) -> (Tensor<f32>, DMatrix<f32>) {
    let mut rng = NumpyRng::new(seed);
    let x: DMatrix<f32> = rng.randn_matrix(1, n * 10);
    let y = DMatrix::from_fn(1, n, |_, j| {
        if (0..10).map(|t| x[(0, t * n + j)]).sum::<f32>() > 0.0 {
            1.0
        } else {
            0.0
        }
    });
    (Tensor::Seq(Sequence::new(x, n).unwrap()), y)
}

fn learns(name: &'static str, layer: Box<dyn Layer<f32>>) {
    let (x, y) = sums(400, 1);
    let validation = sums(200, 2);
    let mut model = Sequential::<f32>::new(
        Shape::Seq {
            features: 1,
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
}
