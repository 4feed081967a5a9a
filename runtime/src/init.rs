//! Initialisers of parameters, as declared in `cell!`
//! (`param b_f: [n_a] = ones`) or chosen for a layer.

use crate::{NumpyRng, Real};
use nalgebra::{DMatrix, DMatrixViewMut, Dyn, U1};

/// How a parameter is initialised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones (Keras's forget-gate bias).
    Ones,
    /// Every element this value.
    Constant(f64),
    /// Normal with this mean and standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// Uniform in `[low, high)`.
    Uniform {
        /// The lower bound.
        low: f64,
        /// The upper bound.
        high: f64,
    },
    /// Glorot (Xavier) uniform, Keras's default for kernels:
    /// `U(−l, l)` with `l = √(6 / (fan_in + fan_out))`, where a `rows × cols`
    /// matrix maps `cols` inputs to `rows` outputs.
    GlorotUniform,
    /// A random orthogonal matrix (Keras's default for recurrent kernels):
    /// the `Q` of the QR decomposition of a standard normal matrix, with the
    /// signs of `R`'s diagonal folded in.
    Orthogonal,
}

impl Init {
    /// Fills `m` from `rng`, drawing in row-major order as numpy fills an array.
    pub fn fill<T: Real>(&self, m: &mut DMatrixViewMut<'_, T, U1, Dyn>, rng: &mut NumpyRng) {
        let (rows, cols) = m.shape();
        let mut draw = |f: &mut dyn FnMut(&mut NumpyRng) -> f64| {
            for i in 0..rows {
                for j in 0..cols {
                    m[(i, j)] = T::cast(f(rng));
                }
            }
        };
        match *self {
            Init::Zeros => draw(&mut |_| 0.0),
            Init::Ones => draw(&mut |_| 1.0),
            Init::Constant(v) => draw(&mut |_| v),
            Init::Normal { mean, std } => draw(&mut |r| mean + std * r.standard_normal()),
            Init::Uniform { low, high } => draw(&mut |r| low + (high - low) * r.next_f64()),
            Init::GlorotUniform => {
                let limit = (6.0 / (rows + cols).max(1) as f64).sqrt();
                draw(&mut |r| -limit + 2.0 * limit * r.next_f64());
            }
            Init::Orthogonal => {
                let q = orthogonal(rows, cols, rng);
                for i in 0..rows {
                    for j in 0..cols {
                        m[(i, j)] = T::cast(q[(i, j)]);
                    }
                }
            }
        }
    }
}

/// A `rows × cols` matrix with orthonormal rows or columns (whichever are fewer).
fn orthogonal(rows: usize, cols: usize, rng: &mut NumpyRng) -> DMatrix<f64> {
    let tall = rows >= cols;
    let (r, c) = if tall { (rows, cols) } else { (cols, rows) };
    let a: DMatrix<f64> = rng.randn_matrix(r, c);
    let qr = a.qr();
    let mut q = qr.q();
    let diag = qr.r().diagonal();
    for (j, d) in diag.iter().enumerate() {
        if *d < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    if tall { q } else { q.transpose() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(init: Init, rows: usize, cols: usize, seed: u32) -> DMatrix<f64> {
        let mut data = vec![0.0; rows * cols];
        let mut v = DMatrixViewMut::from_slice_with_strides_generic(
            &mut data,
            Dyn(rows),
            Dyn(cols),
            U1,
            Dyn(rows),
        );
        init.fill(&mut v, &mut NumpyRng::new(seed));
        DMatrix::from_column_slice(rows, cols, &data)
    }

    #[test]
    fn orthogonal_is_orthogonal() {
        for (r, c) in [(4, 4), (6, 3), (3, 6)] {
            let q = filled(Init::Orthogonal, r, c, 1);
            let g = if r >= c {
                q.transpose() * &q
            } else {
                &q * q.transpose()
            };
            let eye = DMatrix::identity(g.nrows(), g.ncols());
            assert!((g - eye).abs().max() < 1e-12, "{r}×{c}");
        }
    }

    #[test]
    fn glorot_respects_its_limit_and_draws_like_numpy() {
        let m = filled(Init::GlorotUniform, 3, 5, 0);
        let limit = (6.0f64 / 8.0).sqrt();
        assert!(m.iter().all(|v| v.abs() <= limit));
        // The first draw of seed 0 is 0.5488135039273248 (numpy's random()).
        assert!((m[(0, 0)] - (-limit + 2.0 * limit * 0.5488135039273248)).abs() < 1e-15);
        // Row-major: element (0, 1) is the second draw.
        let mut rng = NumpyRng::new(0);
        rng.next_f64();
        assert!((m[(0, 1)] - (-limit + 2.0 * limit * rng.next_f64())).abs() < 1e-15);
    }

    #[test]
    fn constants() {
        assert!(filled(Init::Ones, 2, 2, 0).iter().all(|v| *v == 1.0));
        assert!(
            filled(Init::Constant(-0.5), 2, 1, 0)
                .iter()
                .all(|v| *v == -0.5)
        );
    }
}
