//! The "flower" data set of the course's planar classification exercise:
//! two classes of 200 points each on the petals of a rose curve, drawn with
//! the numpy-compatible generator exactly as the course drew them.

use crate::NumpyRng;
use nalgebra::DMatrix;

/// numpy's `linspace(start, stop, num)`: `start + i · step`, the last point `stop`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = num.saturating_sub(1).max(1) as f64;
    let step = (stop - start) / div;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = out.last_mut().filter(|_| num > 1) {
        *last = stop;
    }
    out
}

/// The flower: `X` is `(2, 400)` (one column per point), `Y` is `(1, 400)`
/// with 200 points of class 0 then 200 of class 1. Seeded with 1, as the
/// course seeds it; the angles and radii are
/// `t = linspace(3.12 j, 3.12 (j + 1), 200) + 0.2 · randn(200)` and
/// `r = 4 sin(4 t) + 0.2 · randn(200)`, and a point is `(r sin t, r cos t)`.
pub fn flower() -> (DMatrix<f64>, DMatrix<f64>) {
    let (m, n, a) = (400, 200, 4.0);
    let mut rng = NumpyRng::new(1);
    let mut x = DMatrix::zeros(2, m);
    let mut y = DMatrix::zeros(1, m);
    for j in 0..2 {
        let base = linspace(j as f64 * 3.12, (j + 1) as f64 * 3.12, n);
        let t_noise = rng.randn(&[n]);
        let t: Vec<f64> = base
            .iter()
            .zip(t_noise.data())
            .map(|(b, e)| b + e * 0.2)
            .collect();
        let r_noise = rng.randn(&[n]);
        for (k, (&tk, e)) in t.iter().zip(r_noise.data()).enumerate() {
            let r = a * (4.0 * tk).sin() + e * 0.2;
            x[(0, j * n + k)] = r * tk.sin();
            x[(1, j * n + k)] = r * tk.cos();
            y[(0, j * n + k)] = j as f64;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_like_numpy() {
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(2.0, 3.0, 1), vec![2.0]);
    }

    #[test]
    fn the_first_points_are_the_course_s() {
        // The course printed X[0, :7] = 1.20444229, 0.158709904, 0.0952471960,
        // 0.349178475, 0.694150378, 1.62065038, 1.53856225.
        let (x, y) = flower();
        let printed = [
            1.20444229,
            0.158709904,
            0.0952471960,
            0.349178475,
            0.694150378,
            1.62065038,
            1.53856225,
        ];
        for (k, p) in printed.iter().enumerate() {
            assert!((x[(0, k)] - p).abs() < 1e-8, "{k}: {}", x[(0, k)]);
        }
        assert_eq!(y.iter().filter(|v| **v == 1.0).count(), 200);
    }
}
