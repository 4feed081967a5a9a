//! Helpers shared by the tests that reproduce the course's numbers: drawing
//! matrices in numpy's order, indexing arrays as numpy does, and comparing
//! with the printed values.
#![allow(dead_code)]

use cellforge::cells::gru::GruParams;
use cellforge::prelude::*;
use nalgebra::{DMatrix, DVector};

pub fn mat(rng: &mut NumpyRng, rows: usize, cols: usize) -> DMatrix<f64> {
    rng.randn_matrix(rows, cols)
}

pub fn col(rng: &mut NumpyRng, rows: usize) -> DVector<f64> {
    rng.randn_matrix::<f64>(rows, 1).column(0).into_owned()
}

pub fn arr(m: &DMatrix<f64>) -> NdArray<f64> {
    NdArray::from_matrix(m)
}

pub fn at(a: &NdArray<f64>, index: &[usize]) -> NdArray<f64> {
    a.at(index).expect("index within the array")
}

/// Asserts every element is within 1e-7 of the course's printed value.
pub fn assert_course(label: &str, actual: &NdArray<f64>, printed: &[f64]) {
    assert_eq!(actual.data().len(), printed.len(), "{label}: length");
    for (k, (a, p)) in actual.data().iter().zip(printed).enumerate() {
        assert!(
            (a - p).abs() < 1e-7,
            "{label}[{k}]: {a} vs the course's {p}"
        );
    }
}

pub fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    out.push_str(&format!("{label} = {value}\n"));
}

/// A column vector as an `(n, 1)` array, as numpy keeps biases.
pub fn vec_arr(v: &DVector<f64>) -> NdArray<f64> {
    NdArray::new(vec![v.len(), 1], v.as_slice().to_vec()).unwrap()
}

/// Asserts that some element is further than `1e-3` from the course's value.
pub fn assert_differs(label: &str, actual: &NdArray<f64>, printed: &[f64]) {
    let far = actual
        .data()
        .iter()
        .zip(printed)
        .any(|(a, p)| (a - p).abs() > 1e-3);
    assert!(
        far,
        "{label}: the derived value {actual} should differ from the course's {printed:?}"
    );
}

/// The GRU parameters in the notebook's order of draws: u, r, c, y.
pub fn gru_params(rng: &mut NumpyRng) -> GruParams<f64> {
    let (w_u, b_u) = (mat(rng, 5, 8), col(rng, 5));
    let (w_r, b_r) = (mat(rng, 5, 8), col(rng, 5));
    let (w_c, b_c) = (mat(rng, 5, 8), col(rng, 5));
    let (w_y, b_y) = (mat(rng, 2, 5), col(rng, 2));
    GruParams {
        w_u,
        b_u,
        w_r,
        b_r,
        w_c,
        b_c,
        w_y,
        b_y,
    }
}
