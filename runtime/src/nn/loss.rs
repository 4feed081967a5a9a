//! Losses and metrics over a batch's predictions `(n, m)` and targets of the
//! same shape (for a sequence output, `(n, m · T)`).

use crate::{Error, Real};
use nalgebra::DMatrix;

/// A loss, averaged over the examples (and steps) of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Binary cross-entropy of probabilities (a sigmoid output), clipped to
    /// `[1e-7, 1 − 1e-7]` as Keras does.
    BinaryCrossEntropy,
    /// Binary cross-entropy of logits, computed stably:
    /// `max(z, 0) − z y + log(1 + e^−|z|)`.
    BinaryCrossEntropyWithLogits,
    /// Softmax cross-entropy of logits against one-hot targets.
    SoftmaxCrossEntropy,
    /// Mean squared error.
    MeanSquaredError,
}

const EPS: f64 = 1e-7;

impl Loss {
    /// The loss and its gradient with respect to the predictions.
    pub fn eval<T: Real>(
        &self,
        pred: &DMatrix<T>,
        target: &DMatrix<T>,
    ) -> Result<(f64, DMatrix<T>), Error> {
        if pred.shape() != target.shape() {
            return Err(Error::Shape {
                tensor: "the targets".into(),
                expected: format!("{} × {} like the predictions", pred.nrows(), pred.ncols()),
                found: format!("{} × {}", target.nrows(), target.ncols()),
            });
        }
        let cols = pred.ncols().max(1) as f64;
        let (rows, ncols) = pred.shape();
        let mut grad = DMatrix::zeros(rows, ncols);
        let mut total = 0.0;
        match self {
            Loss::BinaryCrossEntropy => {
                for ((g, &p), &y) in grad.iter_mut().zip(pred.iter()).zip(target.iter()) {
                    let (p, y) = (p.to_f64(), y.to_f64());
                    let pc = p.clamp(EPS, 1.0 - EPS);
                    total -= y * pc.ln() + (1.0 - y) * (1.0 - pc).ln();
                    let d = if p == pc {
                        (pc - y) / (pc * (1.0 - pc))
                    } else {
                        0.0
                    };
                    *g = T::cast(d / (cols * rows as f64));
                }
                total /= rows as f64;
            }
            Loss::BinaryCrossEntropyWithLogits => {
                for ((g, &z), &y) in grad.iter_mut().zip(pred.iter()).zip(target.iter()) {
                    let (z, y) = (z.to_f64(), y.to_f64());
                    total += z.max(0.0) - z * y + (-z.abs()).exp().ln_1p();
                    let s = 1.0 / (1.0 + (-z).exp());
                    *g = T::cast((s - y) / (cols * rows as f64));
                }
                total /= rows as f64;
            }
            Loss::SoftmaxCrossEntropy => {
                for c in 0..ncols {
                    let col = pred.column(c);
                    let max = col
                        .iter()
                        .map(|v| v.to_f64())
                        .fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = col.iter().map(|v| (v.to_f64() - max).exp()).sum();
                    for r in 0..rows {
                        let p = (pred[(r, c)].to_f64() - max).exp() / sum;
                        let y = target[(r, c)].to_f64();
                        if y != 0.0 {
                            total -= y * (p.max(f64::MIN_POSITIVE)).ln();
                        }
                        grad[(r, c)] = T::cast((p - y) / cols);
                    }
                }
            }
            Loss::MeanSquaredError => {
                for ((g, &p), &y) in grad.iter_mut().zip(pred.iter()).zip(target.iter()) {
                    let d = p.to_f64() - y.to_f64();
                    total += d * d;
                    *g = T::cast(2.0 * d / (cols * rows as f64));
                }
                total /= rows as f64;
            }
        }
        Ok((total / cols, grad))
    }

    /// The fraction of examples whose predicted class is the target's: for one
    /// output, the prediction is above 0.5 (above 0 for logits); for several,
    /// the largest. `None` for a regression loss.
    pub fn accuracy<T: Real>(&self, pred: &DMatrix<T>, target: &DMatrix<T>) -> Option<f64> {
        if *self == Loss::MeanSquaredError || pred.shape() != target.shape() || pred.ncols() == 0 {
            return None;
        }
        let threshold = if *self == Loss::BinaryCrossEntropyWithLogits {
            0.0
        } else {
            0.5
        };
        let mut right = 0usize;
        for c in 0..pred.ncols() {
            let ok = if pred.nrows() == 1 {
                (pred[(0, c)].to_f64() > threshold) == (target[(0, c)].to_f64() > 0.5)
            } else {
                pred.column(c).argmax().0 == target.column(c).argmax().0
            };
            right += usize::from(ok);
        }
        Some(right as f64 / pred.ncols() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &[f64]) -> DMatrix<f64> {
        DMatrix::from_row_slice(1, v.len(), v)
    }

    fn numeric(loss: Loss, pred: &DMatrix<f64>, target: &DMatrix<f64>) -> DMatrix<f64> {
        DMatrix::from_fn(pred.nrows(), pred.ncols(), |r, c| {
            let h = 1e-6;
            let (mut p, mut q) = (pred.clone(), pred.clone());
            p[(r, c)] += h;
            q[(r, c)] -= h;
            (loss.eval(&p, target).unwrap().0 - loss.eval(&q, target).unwrap().0) / (2.0 * h)
        })
    }

    #[test]
    fn values_by_hand() {
        let (v, _) = Loss::BinaryCrossEntropy
            .eval(&m(&[0.8, 0.4]), &m(&[1.0, 0.0]))
            .unwrap();
        assert!((v - (-(0.8f64.ln()) - 0.6f64.ln()) / 2.0).abs() < 1e-12);
        let (v, _) = Loss::MeanSquaredError
            .eval(&m(&[1.0, 3.0]), &m(&[0.0, 1.0]))
            .unwrap();
        assert!((v - 2.5).abs() < 1e-12);
        let (v, _) = Loss::BinaryCrossEntropyWithLogits
            .eval(&m(&[0.0]), &m(&[1.0]))
            .unwrap();
        assert!((v - 2f64.ln()).abs() < 1e-12);
        let logits = DMatrix::from_column_slice(3, 1, &[1.0, 2.0, 3.0]);
        let onehot = DMatrix::from_column_slice(3, 1, &[0.0, 0.0, 1.0]);
        let (v, _) = Loss::SoftmaxCrossEntropy.eval(&logits, &onehot).unwrap();
        let expected = -(3f64.exp() / (1f64.exp() + 2f64.exp() + 3f64.exp())).ln();
        assert!((v - expected).abs() < 1e-12);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let pred = DMatrix::from_row_slice(2, 3, &[0.2, 0.7, 0.9, 0.6, 0.3, 0.5]);
        let target = DMatrix::from_row_slice(2, 3, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        for loss in [
            Loss::BinaryCrossEntropy,
            Loss::BinaryCrossEntropyWithLogits,
            Loss::SoftmaxCrossEntropy,
            Loss::MeanSquaredError,
        ] {
            let (_, g) = loss.eval(&pred, &target).unwrap();
            assert!(
                (g - numeric(loss, &pred, &target)).abs().max() < 1e-7,
                "{loss:?}"
            );
        }
    }

    #[test]
    fn logits_are_stable_where_probabilities_would_overflow() {
        let (v, g) = Loss::BinaryCrossEntropyWithLogits
            .eval(&m(&[1000.0, -1000.0]), &m(&[1.0, 0.0]))
            .unwrap();
        assert!(v.abs() < 1e-12 && g.iter().all(|x| x.is_finite()));
        let (v, _) = Loss::BinaryCrossEntropyWithLogits
            .eval(&m(&[-1000.0]), &m(&[1.0]))
            .unwrap();
        assert!((v - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn accuracy_and_shape_errors() {
        assert_eq!(
            Loss::BinaryCrossEntropy.accuracy(&m(&[0.9, 0.2, 0.6]), &m(&[1.0, 0.0, 0.0])),
            Some(2.0 / 3.0)
        );
        assert_eq!(
            Loss::MeanSquaredError.accuracy(&m(&[0.9]), &m(&[1.0])),
            None
        );
        let err = Loss::MeanSquaredError
            .eval(&m(&[1.0, 2.0]), &m(&[1.0]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the targets must be 1 × 2 like the predictions, found 1 × 1"
        );
    }
}
