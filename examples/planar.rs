//! Before recurrence: the course's planar "flower" classifier, a network with
//! one hidden `tanh` layer, declared as a stateless cell and trained by
//! gradient descent with the backward pass the compiler derives.
//! `cargo run --release --example planar` prints the costs every 1,000
//! iterations, the accuracy, and the hidden-size sweep.

use cellforge::data::planar::flower;
use cellforge::prelude::*;
use cellforge::{Empty, cell};
use nalgebra::DMatrix;

// ANCHOR: cell
cell! {
    /// A two-layer classifier: a `tanh` hidden layer and a sigmoid output.
    pub cell Planar {
        dims n_x, n_h, n_y;
        input x: [n_x];
        param w1: [n_h, n_x], b1: [n_h];
        param w2: [n_y, n_h], b2: [n_y];
        /// hidden layer
        let a1 = tanh(w1 @ x + b1);
        /// the probability of class 1
        output a2 = sigmoid(w2 @ a1 + b2);
    }
}
// ANCHOR_END: cell

// ANCHOR: initial
/// The course's initialisation: seed 2, weights `0.01 · randn`, biases zero.
pub fn initial(n_h: usize) -> Result<Planar, Error> {
    let mut rng = NumpyRng::new(2);
    let w1: DMatrix<f64> = rng.randn_matrix::<f64>(n_h, 2) * 0.01;
    let w2: DMatrix<f64> = rng.randn_matrix::<f64>(1, n_h) * 0.01;
    let params = PlanarParams {
        w1,
        b1: nalgebra::DVector::zeros(n_h),
        w2,
        b2: nalgebra::DVector::zeros(1),
    };
    Planar::new(
        PlanarDims {
            n_x: 2,
            n_h,
            n_y: 1,
        },
        &params,
    )
}
// ANCHOR_END: initial

// ANCHOR: cost
/// The cross-entropy cost of predictions `a2` for labels `y`, and its
/// gradient with respect to `a2`.
fn cost(a2: &DMatrix<f64>, y: &DMatrix<f64>) -> (f64, DMatrix<f64>) {
    let m = y.ncols() as f64;
    let logprobs: f64 = a2
        .iter()
        .zip(y.iter())
        .map(|(a, y)| y * a.ln() + (1.0 - y) * (1.0 - a).ln())
        .sum();
    let grad = a2.zip_map(y, |a, y| (a - y) / (a * (1.0 - a)) / m);
    (-logprobs / m, grad)
}
// ANCHOR_END: cost

// ANCHOR: train
/// Trains for `iterations` steps of gradient descent with learning rate 1.2;
/// returns the trained cell and the cost every 1,000 iterations.
pub fn train(n_h: usize, iterations: usize) -> Result<(Planar, Vec<f64>), Error> {
    let (x, y) = flower();
    let xs = Sequence::new(x, 400)?;
    let mut cell = initial(n_h)?;
    let mut costs = Vec::new();
    let mut trace = cell.forward(&xs, &Empty::default())?;
    for i in 0..iterations {
        cell.forward_into(&xs, &Empty::default(), &mut trace)?;
        let a2 = trace
            .output_at(0, 1)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        let (c, grad) = cost(&a2, &y);
        if i % 1000 == 0 {
            costs.push(c);
        }
        let mut up = Upstream::zeros_like(&trace);
        if let Some(o) = up.output_mut(0) {
            o.copy_from(&grad);
        }
        let grads = cell.backward(&trace, &up)?;
        for (p, g) in cell.flat_params_mut().iter_mut().zip(grads.params()) {
            *p -= 1.2 * g;
        }
    }
    Ok((cell, costs))
}
// ANCHOR_END: train

/// The percentage of points classified right (prediction `a2 > 0.5`).
pub fn accuracy(cell: &Planar) -> Result<f64, Error> {
    let (x, y) = flower();
    let step = cell.step(&x, &Empty::default())?;
    let right = step
        .output
        .a2
        .iter()
        .zip(y.iter())
        .filter(|(a, y)| (**a > 0.5) == (**y == 1.0))
        .count();
    Ok(right as f64 / 400.0 * 100.0)
}

fn main() -> Result<(), Error> {
    let (cell, costs) = train(4, 10_000)?;
    for (k, c) in costs.iter().enumerate() {
        println!("Cost after iteration {}: {c:.6}", k * 1000);
    }
    println!("Accuracy: {}%", accuracy(&cell)? as i64);
    let (x, y) = flower();
    let points: Vec<(f64, f64, bool)> = (0..400)
        .map(|j| (x[(0, j)], x[(1, j)], y[(0, j)] == 1.0))
        .collect();
    // ANCHOR: plot
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/img/planar.png");
    let predict = |grid: &[(f64, f64)]| -> Result<Vec<f64>, Error> {
        let g = DMatrix::from_fn(
            2,
            grid.len(),
            |i, j| if i == 0 { grid[j].0 } else { grid[j].1 },
        );
        Ok(cell
            .step(&g, &Empty::default())?
            .output
            .a2
            .iter()
            .copied()
            .collect())
    };
    match cellforge::plot::decision_regions(
        &out,
        "Decision boundary, 4 hidden units",
        &points,
        predict,
    ) {
        Ok(()) => println!("wrote {}", out.display()),
        Err(e) => eprintln!("no plot: {e}"),
    }
    // ANCHOR_END: plot
    // ANCHOR: sweep
    for n_h in [1, 2, 3, 4, 5, 20, 50] {
        let (cell, _) = train(n_h, 5000)?;
        println!("Accuracy for {n_h} hidden units: {} %", accuracy(&cell)?);
    }
    // ANCHOR_END: sweep
    Ok(())
}
