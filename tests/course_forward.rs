//! The forward numbers printed by the course's numpy notebook (test cells
//! In[60] to In[70]; the assignment's expected-output tables print the same
//! values), reproduced by drawing the same random numbers in the notebook's
//! order with the numpy-compatible generator.
//!
//! Each test renders what the notebook printed, the way numpy printed it, into
//! a reviewed snapshot, and also asserts the printed values within 1e-7.
//! Notebook quirks: `cache[1]` of a cell step is the new memory `c_next`, and
//! `caches[1]` of a sequence is the input `x`; In[64] prints `c_next.shape`
//! under the label `a_next.shape`.

mod common;

use cellforge::cells::gru::GruDims;
use cellforge::cells::lstm::{LstmDims, LstmParams};
use cellforge::cells::rnn::{RnnDims, RnnParams};
use cellforge::prelude::*;
use common::*;
use nalgebra::{DMatrix, DVector};

#[test]
// ANCHOR: in60
fn in60_rnn_cell_forward() {
    let mut rng = NumpyRng::new(1);
    let xt = mat(&mut rng, 3, 10);
    let a_prev = mat(&mut rng, 5, 10);
    let w_aa = mat(&mut rng, 5, 5);
    let w_ax = mat(&mut rng, 5, 3);
    let w_ya = mat(&mut rng, 2, 5);
    let b_a = col(&mut rng, 5);
    let b_y = col(&mut rng, 2);
    let dims = RnnDims {
        n_x: 3,
        n_a: 5,
        n_y: 2,
    };
    let cell = Rnn::new(
        dims,
        &RnnParams {
            w_aa,
            w_ax,
            b_a,
            w_ya,
            b_y,
        },
    )
    .unwrap();
    let step = cell
        .step(&xt, &cellforge::cells::rnn::RnnState { a: a_prev })
        .unwrap();
    let (a_next, yt_pred) = (arr(&step.state.a), arr(&step.output.y));

    let mut out = String::new();
    line(&mut out, "a_next[4]", at(&a_next, &[4]));
    line(&mut out, "a_next.shape", a_next.shape_string());
    line(&mut out, "yt_pred[1]", at(&yt_pred, &[1]));
    line(&mut out, "yt_pred.shape", yt_pred.shape_string());
    insta::assert_snapshot!(out);

    assert_course(
        "a_next[4]",
        &at(&a_next, &[4]),
        &[
            0.59584544,
            0.18141802,
            0.61311866,
            0.99808218,
            0.85016201,
            0.99980978,
            -0.18887155,
            0.99815551,
            0.6531151,
            0.82872037,
        ],
    );
    assert_course(
        "yt_pred[1]",
        &at(&yt_pred, &[1]),
        &[
            0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387, 0.88945212, 0.36920224,
            0.9966312, 0.9982559, 0.17746526,
        ],
    );
    assert_eq!(
        (a_next.shape(), yt_pred.shape()),
        (&[5, 10][..], &[2, 10][..])
    );
}
// ANCHOR_END: in60

#[test]
// ANCHOR: in62
fn in62_rnn_forward() {
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 4]);
    let a0 = mat(&mut rng, 5, 10);
    let w_aa = mat(&mut rng, 5, 5);
    let w_ax = mat(&mut rng, 5, 3);
    let w_ya = mat(&mut rng, 2, 5);
    let b_a = col(&mut rng, 5);
    let b_y = col(&mut rng, 2);
    let dims = RnnDims {
        n_x: 3,
        n_a: 5,
        n_y: 2,
    };
    let cell = Rnn::new(
        dims,
        &RnnParams {
            w_aa,
            w_ax,
            b_a,
            w_ya,
            b_y,
        },
    )
    .unwrap();
    let xs = Sequence::from_array(&x).unwrap();
    let trace = cell
        .forward(&xs, &cellforge::cells::rnn::RnnState { a: a0 })
        .unwrap();
    let a = trace.state_array(0).unwrap();
    let y_pred = trace.output_array(0).unwrap();
    let x_kept = trace.input_array();

    let mut out = String::new();
    line(&mut out, "a[4][1]", at(&a, &[4, 1]));
    line(&mut out, "a.shape", a.shape_string());
    line(&mut out, "y_pred[1][3]", at(&y_pred, &[1, 3]));
    line(&mut out, "y_pred.shape", y_pred.shape_string());
    line(
        &mut out,
        "caches[1][1][3] (the input x[1][3])",
        at(&x_kept, &[1, 3]),
    );
    insta::assert_snapshot!(out);

    assert_course(
        "a[4][1]",
        &at(&a, &[4, 1]),
        &[-0.99999375, 0.77911235, -0.99861469, -0.99833267],
    );
    assert_course(
        "y_pred[1][3]",
        &at(&y_pred, &[1, 3]),
        &[0.79560373, 0.86224861, 0.11118257, 0.81515947],
    );
    assert_course(
        "caches[1][1][3]",
        &at(&x_kept, &[1, 3]),
        &[-1.1425182, -0.34934272, -0.20889423, 0.58662319],
    );
    assert_eq!(
        (a.shape(), y_pred.shape()),
        (&[5, 10, 4][..], &[2, 10, 4][..])
    );
}
// ANCHOR_END: in62

/// The LSTM parameters in the notebook's order of draws: f, i, o, c, y.
fn lstm_params(rng: &mut NumpyRng) -> LstmParams<f64> {
    let (w_f, b_f) = (mat(rng, 5, 8), col(rng, 5));
    let (w_i, b_i) = (mat(rng, 5, 8), col(rng, 5));
    let (w_o, b_o) = (mat(rng, 5, 8), col(rng, 5));
    let (w_c, b_c) = (mat(rng, 5, 8), col(rng, 5));
    let (w_y, b_y) = (mat(rng, 2, 5), col(rng, 2));
    LstmParams {
        w_f,
        b_f,
        w_i,
        b_i,
        w_c,
        b_c,
        w_o,
        b_o,
        w_y,
        b_y,
    }
}

#[test]
fn in64_lstm_cell_forward() {
    let mut rng = NumpyRng::new(1);
    let xt = mat(&mut rng, 3, 10);
    let a_prev = mat(&mut rng, 5, 10);
    let c_prev = mat(&mut rng, 5, 10);
    let params = lstm_params(&mut rng);
    let cell = Lstm::new(
        LstmDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &params,
    )
    .unwrap();
    let state = cellforge::cells::lstm::LstmState {
        a: a_prev,
        c: c_prev,
    };
    let step = cell.step(&xt, &state).unwrap();
    let (a_next, c_next, yt) = (arr(&step.state.a), arr(&step.state.c), arr(&step.output.y));

    let mut out = String::new();
    line(&mut out, "a_next[4]", at(&a_next, &[4]));
    line(&mut out, "a_next.shape", a_next.shape_string());
    line(&mut out, "c_next[2]", at(&c_next, &[2]));
    line(&mut out, "c_next.shape", c_next.shape_string());
    line(&mut out, "yt[1]", at(&yt, &[1]));
    line(&mut out, "yt.shape", yt.shape_string());
    line(&mut out, "cache[1][3] (c_next[3])", at(&c_next, &[3]));
    insta::assert_snapshot!(out);

    assert_course(
        "a_next[4]",
        &at(&a_next, &[4]),
        &[
            -0.66408471,
            0.0036921,
            0.02088357,
            0.22834167,
            -0.85575339,
            0.00138482,
            0.76566531,
            0.34631421,
            -0.00215674,
            0.43827275,
        ],
    );
    assert_course(
        "c_next[2]",
        &at(&c_next, &[2]),
        &[
            0.63267805,
            1.00570849,
            0.35504474,
            0.20690913,
            -1.64566718,
            0.11832942,
            0.76449811,
            -0.0981561,
            -0.74348425,
            -0.26810932,
        ],
    );
    assert_course(
        "yt[1]",
        &at(&yt, &[1]),
        &[
            0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211, 0.31146381, 0.00943007,
            0.12666353, 0.39380172, 0.07828381,
        ],
    );
    assert_course(
        "cache[1][3]",
        &at(&c_next, &[3]),
        &[
            -0.16263996,
            1.03729328,
            0.72938082,
            -0.54101719,
            0.02752074,
            -0.30821874,
            0.07651101,
            -1.03752894,
            1.41219977,
            -0.37647422,
        ],
    );
}

#[test]
fn in66_lstm_forward() {
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 7]);
    let a0 = mat(&mut rng, 5, 10);
    let params = lstm_params(&mut rng);
    let cell = Lstm::new(
        LstmDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &params,
    )
    .unwrap();
    let state = cellforge::cells::lstm::LstmState {
        a: a0,
        c: DMatrix::zeros(5, 10),
    };
    let trace = cell
        .forward(&Sequence::from_array(&x).unwrap(), &state)
        .unwrap();
    let a = trace
        .state_array(Lstm::<f64>::state_index("a").unwrap())
        .unwrap();
    let c = trace
        .state_array(Lstm::<f64>::state_index("c").unwrap())
        .unwrap();
    let y = trace.output_array(0).unwrap();
    let x_kept = trace.input_array();

    let mut out = String::new();
    line(&mut out, "a[4][3][6]", at(&a, &[4, 3, 6]));
    line(&mut out, "a.shape", a.shape_string());
    line(&mut out, "y[1][4][3]", at(&y, &[1, 4, 3]));
    line(&mut out, "y.shape", y.shape_string());
    line(
        &mut out,
        "caches[1][1][1] (the input x[1][1])",
        at(&x_kept, &[1, 1]),
    );
    line(&mut out, "c[1][2][1]", at(&c, &[1, 2, 1]));
    insta::assert_snapshot!(out);

    assert_course("a[4][3][6]", &at(&a, &[4, 3, 6]), &[0.17211776753291672]);
    assert_course("y[1][4][3]", &at(&y, &[1, 4, 3]), &[0.9508734618501101]);
    assert_course(
        "caches[1][1][1]",
        &at(&x_kept, &[1, 1]),
        &[
            0.82797464,
            0.23009474,
            0.76201118,
            -0.22232814,
            -0.20075807,
            0.18656139,
            0.41005165,
        ],
    );
    assert_course("c[1][2][1]", &at(&c, &[1, 2, 1]), &[-0.8555449167181981]);
    assert_eq!((a.shape(), y.shape()), (&[5, 10, 7][..], &[2, 10, 7][..]));
}

#[test]
fn in68_gru_cell_forward() {
    let mut rng = NumpyRng::new(1);
    let xt = mat(&mut rng, 3, 10);
    let c_prev = mat(&mut rng, 5, 10);
    let cell = Gru::new(
        GruDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &gru_params(&mut rng),
    )
    .unwrap();
    let step = cell
        .step(&xt, &cellforge::cells::gru::GruState { c: c_prev })
        .unwrap();
    let (c_next, yt) = (arr(&step.state.c), arr(&step.output.y));

    let mut out = String::new();
    line(&mut out, "c_next[2]", at(&c_next, &[2]));
    line(&mut out, "c_next.shape", c_next.shape_string());
    line(&mut out, "yt[1]", at(&yt, &[1]));
    line(&mut out, "yt.shape", yt.shape_string());
    line(&mut out, "cache[1][3] (c_next[3])", at(&c_next, &[3]));
    insta::assert_snapshot!(out);

    assert_course(
        "c_next[2]",
        &at(&c_next, &[2]),
        &[
            0.96835301,
            -0.88762039,
            0.62503132,
            0.01958295,
            0.97551784,
            0.38587312,
            0.88733595,
            0.24367956,
            0.82957926,
            0.92582788,
        ],
    );
    assert_course(
        "yt[1]",
        &at(&yt, &[1]),
        &[
            0.75531427, 0.00261152, 0.04392701, 0.03915876, 0.09527215, 0.2514967, 0.1331264,
            0.10993315, 0.01768743, 0.53323971,
        ],
    );
    assert_course(
        "cache[1][3]",
        &at(&c_next, &[3]),
        &[
            -0.45979987,
            0.95361345,
            0.44527489,
            -0.9784312,
            0.54871199,
            -0.97785524,
            0.92927724,
            -0.68982212,
            1.99551341,
            -0.49854442,
        ],
    );
}

#[test]
fn in70_gru_forward() {
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 7]);
    let c0 = mat(&mut rng, 5, 10);
    let cell = Gru::new(
        GruDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &gru_params(&mut rng),
    )
    .unwrap();
    let trace = cell
        .forward(
            &Sequence::from_array(&x).unwrap(),
            &cellforge::cells::gru::GruState { c: c0 },
        )
        .unwrap();
    let c = trace.state_array(0).unwrap();
    let y = trace.output_array(0).unwrap();
    let x_kept = trace.input_array();

    let mut out = String::new();
    line(&mut out, "y[1][4][3]", at(&y, &[1, 4, 3]));
    line(&mut out, "y.shape", y.shape_string());
    line(
        &mut out,
        "caches[1][1][1] (the input x[1][1])",
        at(&x_kept, &[1, 1]),
    );
    line(&mut out, "c[1][2][1]", at(&c, &[1, 2, 1]));
    insta::assert_snapshot!(out);

    assert_course("y[1][4][3]", &at(&y, &[1, 4, 3]), &[0.41095408633521757]);
    assert_course("c[1][2][1]", &at(&c, &[1, 2, 1]), &[1.5179668926616001]);
    assert_eq!(y.shape(), &[2, 10, 7]);
}

/// The same LSTM sequence in `f32` agrees with the `f64` run to single precision.
#[test]
fn in66_lstm_forward_in_f32() {
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 7]);
    let a0 = mat(&mut rng, 5, 10);
    let p = lstm_params(&mut rng);
    let dims = LstmDims {
        n_x: 3,
        n_a: 5,
        n_y: 2,
    };
    let c32 = |m: &DMatrix<f64>| m.map(|v| v as f32);
    let v32 = |v: &DVector<f64>| v.map(|v| v as f32);
    let p32 = LstmParams {
        w_f: c32(&p.w_f),
        b_f: v32(&p.b_f),
        w_i: c32(&p.w_i),
        b_i: v32(&p.b_i),
        w_c: c32(&p.w_c),
        b_c: v32(&p.b_c),
        w_o: c32(&p.w_o),
        b_o: v32(&p.b_o),
        w_y: c32(&p.w_y),
        b_y: v32(&p.b_y),
    };
    let cell = Lstm::<f32>::new(dims, &p32).unwrap();
    let state = cellforge::cells::lstm::LstmState {
        a: c32(&a0),
        c: DMatrix::zeros(5, 10),
    };
    let trace = cell
        .forward(&Sequence::from_array(&x.cast::<f32>()).unwrap(), &state)
        .unwrap();
    let a = trace.state_array(0).unwrap();
    let y = trace.output_array(0).unwrap();
    assert!((a.get(&[4, 3, 6]).unwrap() - 0.172_117_77).abs() < 1e-5);
    assert!((y.get(&[1, 4, 3]).unwrap() - 0.950_873_46).abs() < 1e-5);
}
