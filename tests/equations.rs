//! Reviewed snapshots of the backward equations the compiler derives for the
//! cells, as plain text and LaTeX. A change to the differentiator shows here.

use cellforge::prelude::*;

#[test]
fn rnn_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Rnn::<f64>::BACKWARD,
        Rnn::<f64>::BACKWARD_LATEX
    ));
}

#[test]
fn lstm_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Lstm::<f64>::BACKWARD,
        Lstm::<f64>::BACKWARD_LATEX
    ));
}

#[test]
fn gru_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Gru::<f64>::BACKWARD,
        Gru::<f64>::BACKWARD_LATEX
    ));
}

#[test]
fn declared_equations_are_kept() {
    assert!(Lstm::<f64>::EQUATIONS.contains("c = f * c + i * c_tilde;"));
    assert_eq!(
        Lstm::<f64>::EQUATIONS,
        <Lstm<f64> as Cell<f64>>::SPEC.equations
    );
}
