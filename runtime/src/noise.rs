//! The random masks a cell declares with `mask`: variational dropout,
//! zoneout and DropConnect, drawn by the runtime in training and replaced by
//! their expectations in inference.
//!
//! A mask is part of the equations (`let z = [h * d, x];`), so the fused step
//! applies it; the runtime only fills its buffer in the trace before the run:
//!
//! | law | buffer | in training | in inference |
//! |---|---|---|---|
//! | `dropout(p)` | `(n, m)`: one mask per example for the whole sequence | `0` with probability `p`, else `1 / (1 − p)` | `1` |
//! | `zoneout(p)` | `(n, m · T)`: a new mask at every step | `1` with probability `p`, else `0` | `p` |
//! | `dropconnect(p)` | the weight's shape: one mask for the whole batch | `0` with probability `p`, else `1 / (1 − p)` | `1` |
//!
//! The values are drawn in declaration order, each buffer column by column,
//! one 32-bit number of the generator given to [`Noise::Sample`] per value;
//! the same seed gives the same masks.

use crate::cell::ParamSlot;
use crate::error::{Error, dims2};
use crate::{NumpyRng, Real};
use nalgebra::DMatrix;

/// How a declared mask is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseKind {
    /// Variational dropout: one mask per example for the whole sequence.
    Dropout,
    /// Zoneout: a new mask at every step.
    Zoneout,
    /// DropConnect: one mask of a weight matrix for the whole batch.
    DropConnect,
}

impl NoiseKind {
    /// The law's name in `cell!`.
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Dropout => "dropout",
            NoiseKind::Zoneout => "zoneout",
            NoiseKind::DropConnect => "dropconnect",
        }
    }

    /// The mean of a mask of rate `p`, which inference uses in its place.
    pub fn expectation(self, p: f64) -> f64 {
        match self {
            NoiseKind::Zoneout => p,
            NoiseKind::Dropout | NoiseKind::DropConnect => 1.0,
        }
    }

    /// One element of a mask of rate `p`, from a uniform draw `u` in `[0, 1)`.
    fn draw(self, p: f64, u: f64) -> f64 {
        match self {
            NoiseKind::Zoneout => {
                if u < p {
                    1.0
                } else {
                    0.0
                }
            }
            NoiseKind::Dropout | NoiseKind::DropConnect => {
                if u < p {
                    0.0
                } else {
                    1.0 / (1.0 - p)
                }
            }
        }
    }
}

/// The buffer of one declared mask, for a cell's dimensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoiseLayout {
    /// The mask's name in the declaration.
    pub name: &'static str,
    /// How it is drawn.
    pub kind: NoiseKind,
    /// Rows: the vector's length, or the weight's rows.
    pub rows: usize,
    /// Columns of the weight for DropConnect; 1 otherwise.
    pub cols: usize,
    /// For DropConnect, the weight it masks (an index into
    /// [`Cell::param_slots`](crate::Cell::param_slots)).
    pub param: Option<usize>,
}

impl NoiseLayout {
    /// The shape of the buffer for a run of `steps` steps of `m` examples.
    pub fn shape(&self, m: usize, steps: usize) -> (usize, usize) {
        match self.kind {
            NoiseKind::Dropout => (self.rows, m),
            NoiseKind::Zoneout => (self.rows, m * steps),
            NoiseKind::DropConnect => (self.rows, self.cols),
        }
    }
}

/// How a run treats the masks its cell declares.
pub enum Noise<'a, T> {
    /// Inference: each mask is its expectation (1 for dropout and
    /// DropConnect, `p` for zoneout), so the run is deterministic.
    Off,
    /// Training: fresh masks, drawn from this generator.
    Sample(&'a mut NumpyRng),
    /// These masks, one per declaration in its buffer's shape: for instance
    /// [`Trace::noise`](crate::Trace::noise) of another run, to replay it
    /// (a gradient check replays one training run).
    Fixed(&'a [DMatrix<T>]),
}

/// Checks a rate given at run time.
#[doc(hidden)]
pub fn check_rate(cell: &str, mask: &str, rate: f64) -> Result<(), Error> {
    if (0.0..1.0).contains(&rate) {
        return Ok(());
    }
    Err(Error::Shape {
        tensor: format!("the rate of mask `{mask}` of `{cell}`"),
        expected: "a value in [0, 1)".into(),
        found: format!("{rate}"),
    })
}

/// Fills `buffers` (allocated by the trace for `layouts`) as `noise` says;
/// returns whether any DropConnect mask may differ from 1, so that the run
/// needs its masked copy of the weights.
pub(crate) fn fill<T: Real>(
    cell: &str,
    layouts: &[NoiseLayout],
    rates: &[f64],
    noise: Noise<'_, T>,
    buffers: &mut [DMatrix<T>],
) -> Result<bool, Error> {
    let dropconnect = layouts.iter().any(|l| l.kind == NoiseKind::DropConnect);
    match noise {
        Noise::Off => {
            for ((l, &p), b) in layouts.iter().zip(rates).zip(buffers) {
                b.fill(T::cast(l.kind.expectation(p)));
            }
            Ok(false)
        }
        Noise::Sample(rng) => {
            for ((l, &p), b) in layouts.iter().zip(rates).zip(buffers) {
                // One 32-bit draw per element: a uniform number in [0, 1)
                // fine enough for a rate.
                b.iter_mut().for_each(|v| {
                    let u = f64::from(rng.next_u32()) / 4_294_967_296.0;
                    *v = T::cast(l.kind.draw(p, u));
                });
            }
            Ok(dropconnect)
        }
        Noise::Fixed(given) => {
            if given.len() != layouts.len() {
                return Err(Error::Shape {
                    tensor: format!("the masks given to `{cell}`"),
                    expected: format!("{} masks, one per `mask` declaration", layouts.len()),
                    found: format!("{} masks", given.len()),
                });
            }
            for ((l, g), b) in layouts.iter().zip(given).zip(buffers.iter()) {
                if g.shape() != b.shape() {
                    return Err(Error::Shape {
                        tensor: format!("mask `{}` given to `{cell}`", l.name),
                        expected: format!(
                            "{} ({} mask)",
                            dims2(b.nrows(), b.ncols()),
                            l.kind.name()
                        ),
                        found: dims2(g.nrows(), g.ncols()),
                    });
                }
                if let Some(bad) = g.iter().find(|v| !v.is_finite()) {
                    return Err(Error::Shape {
                        tensor: format!("mask `{}` given to `{cell}`", l.name),
                        expected: "finite values".into(),
                        found: format!("{bad:?}"),
                    });
                }
            }
            for (g, b) in given.iter().zip(buffers) {
                b.copy_from(g);
            }
            Ok(dropconnect)
        }
    }
}

/// `weights = params`, with each DropConnect weight multiplied by its mask.
pub(crate) fn mask_weights<T: Real>(
    weights: &mut Vec<T>,
    params: &[T],
    slots: &[ParamSlot],
    layouts: &[NoiseLayout],
    buffers: &[DMatrix<T>],
) {
    weights.clear();
    weights.extend_from_slice(params);
    for_each_masked(slots, layouts, buffers, |index, mask| {
        weights[index] *= mask
    });
}

/// Multiplies the gradient of each DropConnect weight by its mask: the run
/// used `w ⊙ m`, so `∂L/∂w = ∂L/∂(w ⊙ m) ⊙ m`.
pub(crate) fn mask_gradients<T: Real>(
    grads: &mut [T],
    slots: &[ParamSlot],
    layouts: &[NoiseLayout],
    buffers: &[DMatrix<T>],
) {
    for_each_masked(slots, layouts, buffers, |index, mask| grads[index] *= mask);
}

fn for_each_masked<T: Real>(
    slots: &[ParamSlot],
    layouts: &[NoiseLayout],
    buffers: &[DMatrix<T>],
    mut f: impl FnMut(usize, T),
) {
    for (l, b) in layouts.iter().zip(buffers) {
        let Some(slot) = l.param.and_then(|p| slots.get(p)) else {
            continue;
        };
        if b.shape() != (slot.rows, slot.cols) {
            continue;
        }
        for j in 0..slot.cols {
            for i in 0..slot.rows {
                f(slot.index(i, j), b[(i, j)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts() -> Vec<NoiseLayout> {
        vec![
            NoiseLayout {
                name: "d",
                kind: NoiseKind::Dropout,
                rows: 3,
                cols: 1,
                param: None,
            },
            NoiseLayout {
                name: "z",
                kind: NoiseKind::Zoneout,
                rows: 2,
                cols: 1,
                param: None,
            },
        ]
    }

    fn buffers(m: usize, steps: usize) -> Vec<DMatrix<f64>> {
        layouts()
            .iter()
            .map(|l| {
                let (r, c) = l.shape(m, steps);
                DMatrix::zeros(r, c)
            })
            .collect()
    }

    #[test]
    fn inference_uses_the_expectations() {
        let mut b = buffers(4, 5);
        let any = fill("C", &layouts(), &[0.25, 0.1], Noise::Off, &mut b).unwrap();
        assert!(!any);
        assert!(b[0].iter().all(|&v| v == 1.0));
        assert!(b[1].iter().all(|&v| v == 0.1));
        assert_eq!(b[1].shape(), (2, 20));
    }

    #[test]
    fn training_draws_masks_of_the_law() {
        let mut b = buffers(400, 50);
        let mut rng = NumpyRng::new(3);
        fill(
            "C",
            &layouts(),
            &[0.25, 0.1],
            Noise::Sample(&mut rng),
            &mut b,
        )
        .unwrap();
        assert!(b[0].iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
        assert!(b[1].iter().all(|&v| v == 0.0 || v == 1.0));
        let dropped = b[0].iter().filter(|&&v| v == 0.0).count() as f64 / b[0].len() as f64;
        let kept = b[1].iter().filter(|&&v| v == 1.0).count() as f64 / b[1].len() as f64;
        assert!((dropped - 0.25).abs() < 0.03, "{dropped}");
        assert!((kept - 0.1).abs() < 0.01, "{kept}");
    }

    #[test]
    fn given_masks_are_checked() {
        let mut b = buffers(2, 3);
        let wrong = vec![DMatrix::zeros(3, 2), DMatrix::zeros(2, 5)];
        let err = fill("C", &layouts(), &[0.5, 0.5], Noise::Fixed(&wrong), &mut b).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mask `z` given to `C` must be 2 × 6 (zoneout mask), found 2 × 5"
        );
        let short = vec![DMatrix::zeros(3, 2)];
        assert!(fill("C", &layouts(), &[0.5, 0.5], Noise::Fixed(&short), &mut b).is_err());
        assert!(check_rate("C", "d", 1.0).is_err());
        assert!(check_rate("C", "d", 0.0).is_ok());
    }
}
