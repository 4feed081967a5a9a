//! Runs the course's LSTM over a sequence (its numpy notebook's test cell In[66]) and prints what
//! the notebook printed, numpy style: `cargo run --release --example course_lstm`.

use cellforge::cells::lstm::{LstmDims, LstmParams, LstmState};
use cellforge::prelude::*;
use nalgebra::{DMatrix, DVector};

fn main() -> Result<(), Error> {
    // Draw in the notebook's order: x, a0, then (W, b) for f, i, o, c, y.
    let mut rng = NumpyRng::new(1);
    let x = rng.randn(&[3, 10, 7]);
    let a0: DMatrix<f64> = rng.randn_matrix(5, 10);
    let mut pair = |rows, cols| -> (DMatrix<f64>, DVector<f64>) {
        let w = rng.randn_matrix(rows, cols);
        let b = rng.randn_matrix::<f64>(rows, 1).column(0).into_owned();
        (w, b)
    };
    let (w_f, b_f) = pair(5, 8);
    let (w_i, b_i) = pair(5, 8);
    let (w_o, b_o) = pair(5, 8);
    let (w_c, b_c) = pair(5, 8);
    let (w_y, b_y) = pair(2, 5);
    let params = LstmParams {
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
    };
    let lstm = Lstm::new(
        LstmDims {
            n_x: 3,
            n_a: 5,
            n_y: 2,
        },
        &params,
    )?;

    let initial = LstmState {
        a: a0,
        c: DMatrix::zeros(5, 10),
    };
    let trace = lstm.forward(&Sequence::from_array(&x)?, &initial)?;

    let a = trace
        .state_array(Lstm::<f64>::state_index("a")?)
        .expect("state a");
    let c = trace
        .state_array(Lstm::<f64>::state_index("c")?)
        .expect("state c");
    let y = trace
        .output_array(Lstm::<f64>::output_index("y")?)
        .expect("output y");
    let show = |a: &NdArray<f64>, i: &[usize]| a.at(i).map(|v| v.to_string()).unwrap_or_default();
    println!("a[4][3][6] = {}", show(&a, &[4, 3, 6]));
    println!("a.shape = {}", a.shape_string());
    println!("y[1][4][3] = {}", show(&y, &[1, 4, 3]));
    println!("y.shape = {}", y.shape_string());
    println!("c[1][2][1] = {}", show(&c, &[1, 2, 1]));
    println!("parameters: {}", lstm.param_count());
    Ok(())
}
