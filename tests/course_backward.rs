//! The backward numbers of the course's numpy notebook, from
//! gradients that the compiler derived from the cells' equations.
//!
//! - In[72] and In[74] (`rnn_cell_backward`, `rnn_backward`): every printed
//!   value is reproduced within 1e-7. In[72] uses a stale `ba`: the one the
//!   rnn_forward test (In[62]) drew, not the `b` the cell itself draws.
//! - In[212] and In[214] (`gru_cell_backward`, `gru_backward`): the course's
//!   hand-written GRU backward is wrong. The derived `dWu` and `dWc` of the
//!   cell step equal the course's printed values; its `dxt`, `da_prev` and
//!   `dbr` differ from them, and the derived ones agree with finite
//!   differences. Through time (In[214]) every printed value of the course is
//!   wrong, because its wrong `dc_prev` is chained back; the derived ones
//!   agree with finite differences. In[214]'s upstream gradient `da` has 4
//!   steps over a 7-step forward, so the loss is `Σ_{t ≤ 4} da_t ⊙ c_t`.

mod common;

use cellforge::cells::gru::{GruDims, GruState};
use cellforge::cells::rnn::{RnnDims, RnnParams, RnnState};
use cellforge::gradcheck::{LinearLoss, check_gradients};
use cellforge::prelude::*;
use common::*;
use nalgebra::DVector;

/// In[62]'s draws, for the `ba` that In[72] picks up.
fn stale_ba() -> DVector<f64> {
    let mut rng = NumpyRng::new(1);
    rng.randn(&[3 * 10 * 4 + 5 * 10 + 5 * 5 + 5 * 3 + 2 * 5]);
    col(&mut rng, 5)
}

#[test]
fn in72_rnn_cell_backward() {
    let mut rng = NumpyRng::new(1);
    let xt = mat(&mut rng, 3, 10);
    let a_prev = mat(&mut rng, 5, 10);
    let w_ax = mat(&mut rng, 5, 3);
    let w_aa = mat(&mut rng, 5, 5);
    let w_ya = mat(&mut rng, 2, 5);
    let _b = col(&mut rng, 5);
    let b_y = col(&mut rng, 2);
    let params = RnnParams {
        w_aa,
        w_ax,
        b_a: stale_ba(),
        w_ya,
        b_y,
    };
    let cell = Rnn::new(
        RnnDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &params,
    )
    .unwrap();
    let step = cell.step(&xt, &RnnState { a: a_prev }).unwrap();
    let da_next = mat(&mut rng, 5, 10);
    let mut up = Upstream::zeros_like(&step.trace);
    up.state_mut(0).unwrap().copy_from(&da_next);
    let g = cell.backward(&step.trace, &up).unwrap();
    let p = cell.param_grads(&g);
    let dxt = arr(&g.input_at(1).unwrap().into_owned());
    let da_prev = arr(&g.initial_state(0).unwrap().into_owned());
    let (dwax, dwaa, dba) = (arr(&p.w_ax), arr(&p.w_aa), vec_arr(&p.b_a));

    let mut out = String::new();
    line(&mut out, "dxt[1][2]", at(&dxt, &[1, 2]));
    line(&mut out, "dxt.shape", dxt.shape_string());
    line(&mut out, "da_prev[2][3]", at(&da_prev, &[2, 3]));
    line(&mut out, "da_prev.shape", da_prev.shape_string());
    line(&mut out, "dWax[3][1]", at(&dwax, &[3, 1]));
    line(&mut out, "dWax.shape", dwax.shape_string());
    line(&mut out, "dWaa[1][2]", at(&dwaa, &[1, 2]));
    line(&mut out, "dWaa.shape", dwaa.shape_string());
    line(&mut out, "dba[4]", at(&dba, &[4]));
    line(&mut out, "dba.shape", dba.shape_string());
    insta::assert_snapshot!(out);

    assert_course("dxt[1][2]", &at(&dxt, &[1, 2]), &[-0.4605641030588796]);
    assert_course(
        "da_prev[2][3]",
        &at(&da_prev, &[2, 3]),
        &[0.08429686538067724],
    );
    assert_course("dWax[3][1]", &at(&dwax, &[3, 1]), &[0.39308187392193034]);
    assert_course("dWaa[1][2]", &at(&dwaa, &[1, 2]), &[-0.28483955786960663]);
    assert_course("dba[4]", &at(&dba, &[4]), &[0.80517166]);
}

#[test]
fn in74_rnn_backward() {
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 4]);
    let a0 = mat(&mut rng, 5, 10);
    let w_ax = mat(&mut rng, 5, 3);
    let w_aa = mat(&mut rng, 5, 5);
    let w_ya = mat(&mut rng, 2, 5);
    let b_a = col(&mut rng, 5);
    let b_y = col(&mut rng, 2);
    let cell = Rnn::new(
        RnnDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &RnnParams {
            w_aa,
            w_ax,
            b_a,
            w_ya,
            b_y,
        },
    )
    .unwrap();
    let trace = cell
        .forward(&Sequence::from_array(&x).unwrap(), &RnnState { a: a0 })
        .unwrap();
    let da = rng.randn(&[5, 10, 4]);
    let up = Upstream::from_arrays(&trace, &[&da], &[]).unwrap();
    let g = cell.backward(&trace, &up).unwrap();
    let p = cell.param_grads(&g);
    let dx = g.input_array();
    let da0 = arr(&g.initial_state(0).unwrap().into_owned());
    let (dwax, dwaa, dba) = (arr(&p.w_ax), arr(&p.w_aa), vec_arr(&p.b_a));

    let mut out = String::new();
    line(&mut out, "dx[1][2]", at(&dx, &[1, 2]));
    line(&mut out, "dx.shape", dx.shape_string());
    line(&mut out, "da0[2][3]", at(&da0, &[2, 3]));
    line(&mut out, "da0.shape", da0.shape_string());
    line(&mut out, "dWax[3][1]", at(&dwax, &[3, 1]));
    line(&mut out, "dWax.shape", dwax.shape_string());
    line(&mut out, "dWaa[1][2]", at(&dwaa, &[1, 2]));
    line(&mut out, "dWaa.shape", dwaa.shape_string());
    line(&mut out, "dba[4]", at(&dba, &[4]));
    line(&mut out, "dba.shape", dba.shape_string());
    insta::assert_snapshot!(out);

    assert_course(
        "dx[1][2]",
        &at(&dx, &[1, 2]),
        &[-2.07101689, -0.59255627, 0.02466855, 0.01483317],
    );
    assert_course("da0[2][3]", &at(&da0, &[2, 3]), &[-0.31494237512664996]);
    assert_course("dWax[3][1]", &at(&dwax, &[3, 1]), &[11.264104496527777]);
    assert_course("dWaa[1][2]", &at(&dwaa, &[1, 2]), &[2.303333126579893]);
    assert_course("dba[4]", &at(&dba, &[4]), &[-0.74747722]);
}

// ANCHOR: finite_differences
/// The loss `Σ da ⊙ c` and its finite-difference check over the whole run.
fn finite_differences(
    cell: &Gru,
    xs: &Sequence<f64>,
    s0: &GruState<f64>,
    up: Upstream<f64>,
) -> cellforge::GradCheck {
    let report = check_gradients(cell, xs, s0, &LinearLoss::new(up), 1e-4).unwrap();
    assert!(report.worst() < 1e-7, "{report}");
    report
}
// ANCHOR_END: finite_differences

#[test]
// ANCHOR: in212
fn in212_gru_cell_backward() {
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
    let s0 = GruState { c: c_prev };
    let step = cell.step(&xt, &s0).unwrap();
    let da_next = mat(&mut rng, 5, 10);
    let mut up = Upstream::zeros_like(&step.trace);
    up.state_mut(0).unwrap().copy_from(&da_next);
    let g = cell.backward(&step.trace, &up).unwrap();
    let p = cell.param_grads(&g);
    let dxt = arr(&g.input_at(1).unwrap().into_owned());
    let da_prev = arr(&g.initial_state(0).unwrap().into_owned());
    let (dwu, dwc, dbr) = (arr(&p.w_u), arr(&p.w_c), vec_arr(&p.b_r));

    let mut out = String::new();
    line(
        &mut out,
        "dxt[1][2] (the course's -0.5587102488376965 is wrong)",
        at(&dxt, &[1, 2]),
    );
    line(&mut out, "dxt.shape", dxt.shape_string());
    line(
        &mut out,
        "da_prev[2][3] (the course's 0.07043422916503733 is wrong)",
        at(&da_prev, &[2, 3]),
    );
    line(&mut out, "da_prev.shape", da_prev.shape_string());
    line(&mut out, "dWu[3][1]", at(&dwu, &[3, 1]));
    line(&mut out, "dWu.shape", dwu.shape_string());
    line(&mut out, "dWc[1][2]", at(&dwc, &[1, 2]));
    line(&mut out, "dWc.shape", dwc.shape_string());
    line(
        &mut out,
        "dbr[4] (the course's [0.08794573] is wrong)",
        at(&dbr, &[4]),
    );
    line(&mut out, "dbr.shape", dbr.shape_string());
    insta::assert_snapshot!(out);

    assert_course("dWu[3][1]", &at(&dwu, &[3, 1]), &[-0.0907624548994332]);
    assert_course("dWc[1][2]", &at(&dwc, &[1, 2]), &[-0.28268841181863846]);
    assert_differs("dxt[1][2]", &at(&dxt, &[1, 2]), &[-0.5587102488376965]);
    assert_differs(
        "da_prev[2][3]",
        &at(&da_prev, &[2, 3]),
        &[0.07043422916503733],
    );
    assert_differs("dbr[4]", &at(&dbr, &[4]), &[0.08794573]);

    let xs = Sequence::new(xt, 10).unwrap();
    let report = finite_differences(&cell, &xs, &s0, up);
    for t in ["param `w_r`", "param `b_r`", "input", "initial state `c`"] {
        assert!(report.get(t).is_some_and(|c| c.rel_error < 1e-7), "{t}");
    }
}
// ANCHOR_END: in212

#[test]
fn in214_gru_backward() {
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
    let xs = Sequence::from_array(&x).unwrap();
    let s0 = GruState { c: c0 };
    let trace = cell.forward(&xs, &s0).unwrap();
    let da = rng.randn(&[5, 10, 4]);
    let up = Upstream::from_arrays(&trace, &[&da], &[]).unwrap();
    let g = cell.backward(&trace, &up).unwrap();
    let p = cell.param_grads(&g);
    let dx = g.input_array();
    let dc0 = arr(&g.initial_state(0).unwrap().into_owned());
    let (dwu, dwc, dbr) = (arr(&p.w_u), arr(&p.w_c), vec_arr(&p.b_r));

    let mut out = String::new();
    line(
        &mut out,
        "dx[1][2] (the course's are wrong)",
        at(&dx, &[1, 2]),
    );
    line(&mut out, "dx.shape", dx.shape_string());
    line(
        &mut out,
        "dc0[2][3] (the course's -2.464280256218576 is wrong)",
        at(&dc0, &[2, 3]),
    );
    line(&mut out, "dc0.shape", dc0.shape_string());
    line(
        &mut out,
        "dWu[3][1] (the course's 1.6118495631921883 is wrong)",
        at(&dwu, &[3, 1]),
    );
    line(&mut out, "dWu.shape", dwu.shape_string());
    line(
        &mut out,
        "dWc[1][2] (the course's 0.04836978742650893 is wrong)",
        at(&dwc, &[1, 2]),
    );
    line(&mut out, "dWc.shape", dwc.shape_string());
    line(
        &mut out,
        "dbr[4] (the course's [0.77298005] is wrong)",
        at(&dbr, &[4]),
    );
    line(&mut out, "dbr.shape", dbr.shape_string());
    insta::assert_snapshot!(out);

    let course_dx = [
        -0.53193461,
        -0.4208328,
        -0.507653,
        -0.54948361,
        0.0,
        0.0,
        0.0,
    ];
    assert_differs("dx[1][2]", &at(&dx, &[1, 2]), &course_dx);
    // Steps after the 4th get no gradient, as in the course.
    assert!(at(&dx, &[1, 2]).data()[4..].iter().all(|v| *v == 0.0));
    assert_differs("dc0[2][3]", &at(&dc0, &[2, 3]), &[-2.464280256218576]);
    assert_differs("dWu[3][1]", &at(&dwu, &[3, 1]), &[1.6118495631921883]);
    assert_differs("dWc[1][2]", &at(&dwc, &[1, 2]), &[0.04836978742650893]);
    assert_differs("dbr[4]", &at(&dbr, &[4]), &[0.77298005]);
    finite_differences(&cell, &xs, &s0, up);
}
