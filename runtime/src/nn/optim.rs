//! Optimizers and gradient clipping.

use crate::{Error, Real};

// ANCHOR: clip
/// How gradients are clipped before a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    /// No clipping.
    None,
    /// Every gradient element into `[−c, c]`.
    Value(f64),
    /// All gradients scaled together so that their global L2 norm is at most `c`.
    GlobalNorm(f64),
}
// ANCHOR_END: clip

/// An optimizer, as usually defined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `p −= lr · g`.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// Heavy ball: `v = β v + g`, `p −= lr · v`.
    Momentum {
        /// Learning rate.
        lr: f64,
        /// Momentum.
        beta: f64,
    },
    /// `s = ρ s + (1 − ρ) g²`, `p −= lr · g / (√s + ε)` (Keras's RMSprop).
    RmsProp {
        /// Learning rate.
        lr: f64,
        /// Decay of the square average.
        rho: f64,
        /// Added to the denominator.
        eps: f64,
    },
    // ANCHOR: adam
    /// Adam (Kingma and Ba): `m = β₁ m + (1 − β₁) g`, `v = β₂ v + (1 − β₂) g²`,
    /// `p −= lr · m̂ / (√v̂ + ε)` with the bias corrections `m̂ = m / (1 − β₁ᵗ)`,
    /// `v̂ = v / (1 − β₂ᵗ)`. With `eps_inside_sqrt`, `p −= lr · m̂ / √(v̂ + ε)`,
    /// the course's form.
    Adam {
        /// Learning rate.
        lr: f64,
        /// Decay of the first moment.
        beta1: f64,
        /// Decay of the second moment.
        beta2: f64,
        /// Added for stability.
        eps: f64,
        /// The course's variant: ε inside the square root.
        eps_inside_sqrt: bool,
    },
    // ANCHOR_END: adam
}

impl Optimizer {
    // ANCHOR: adam_default
    /// Adam with Keras's defaults and learning rate `lr` (β₁ 0.9, β₂ 0.999, ε 1e-7).
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            eps_inside_sqrt: false,
        }
    }
    // ANCHOR_END: adam_default

    /// RMSprop with Keras's defaults (ρ 0.9, ε 1e-7).
    pub fn rmsprop(lr: f64) -> Self {
        Optimizer::RmsProp {
            lr,
            rho: 0.9,
            eps: 1e-7,
        }
    }

    /// Plain gradient descent.
    pub fn sgd(lr: f64) -> Self {
        Optimizer::Sgd { lr }
    }

    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<(), Error> {
        let (lr, ok) = match *self {
            Optimizer::Sgd { lr } => (lr, true),
            Optimizer::Momentum { lr, beta } => (lr, (0.0..1.0).contains(&beta)),
            Optimizer::RmsProp { lr, rho, eps } => (lr, (0.0..1.0).contains(&rho) && eps >= 0.0),
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                ..
            } => (
                lr,
                (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && eps >= 0.0,
            ),
        };
        if lr.is_finite() && lr > 0.0 && ok {
            Ok(())
        } else {
            Err(Error::Shape {
                tensor: "the optimizer".into(),
                expected: "a positive learning rate and decays in [0, 1)".into(),
                found: format!("{self:?}"),
            })
        }
    }
}

/// An optimizer with its state (moments), for parameter groups identified by index.
#[derive(Clone, Debug)]
pub struct OptimizerState<T> {
    optimizer: Optimizer,
    t: i32,
    first: Vec<Vec<T>>,
    second: Vec<Vec<T>>,
}

impl<T: Real> OptimizerState<T> {
    /// A fresh state.
    pub fn new(optimizer: Optimizer) -> Self {
        OptimizerState {
            optimizer,
            t: 0,
            first: Vec::new(),
            second: Vec::new(),
        }
    }

    /// The optimizer.
    pub fn optimizer(&self) -> Optimizer {
        self.optimizer
    }

    /// Starts a step (Adam's bias correction counts steps).
    pub fn begin_step(&mut self) {
        self.t += 1;
    }

    /// Updates parameter group `k` with gradient `g` scaled by `scale` (clipping).
    pub fn update(&mut self, k: usize, p: &mut [T], g: &[T], scale: f64, clip_value: Option<f64>) {
        while self.first.len() <= k {
            self.first.push(Vec::new());
            self.second.push(Vec::new());
        }
        if self.first[k].len() != p.len() {
            self.first[k] = vec![T::zero(); p.len()];
            self.second[k] = vec![T::zero(); p.len()];
        }
        let grad = |x: T| {
            let v = x.to_f64() * scale;
            clip_value.map_or(v, |c| v.clamp(-c, c))
        };
        let (m, v) = (&mut self.first[k], &mut self.second[k]);
        match self.optimizer {
            Optimizer::Sgd { lr } => {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p -= T::cast(lr * grad(g));
                }
            }
            Optimizer::Momentum { lr, beta } => {
                for ((p, &g), m) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                    let vel = beta * m.to_f64() + grad(g);
                    *m = T::cast(vel);
                    *p -= T::cast(lr * vel);
                }
            }
            Optimizer::RmsProp { lr, rho, eps } => {
                for ((p, &g), s) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    let g = grad(g);
                    let sv = rho * s.to_f64() + (1.0 - rho) * g * g;
                    *s = T::cast(sv);
                    *p -= T::cast(lr * g / (sv.sqrt() + eps));
                }
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                eps_inside_sqrt,
            } => {
                // ANCHOR: adam_update
                let (c1, c2) = (
                    1.0 - beta1.powi(self.t.max(1)),
                    1.0 - beta2.powi(self.t.max(1)),
                );
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let g = grad(g);
                    let mv = beta1 * m.to_f64() + (1.0 - beta1) * g;
                    let vv = beta2 * v.to_f64() + (1.0 - beta2) * g * g;
                    *m = T::cast(mv);
                    *v = T::cast(vv);
                    let (mh, vh) = (mv / c1, vv / c2);
                    let denom = if eps_inside_sqrt {
                        (vh + eps).sqrt()
                    } else {
                        vh.sqrt() + eps
                    };
                    *p -= T::cast(lr * mh / denom);
                }
                // ANCHOR_END: adam_update
            }
        }
    }
}

/// The factor that scales all gradients to a global norm of at most `c`.
pub fn global_norm_scale(norm: f64, clip: Clip) -> f64 {
    match clip {
        Clip::GlobalNorm(c) if norm > c && norm > 0.0 => c / norm,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_steps(opt: Optimizer, g: [f64; 2]) -> Vec<f64> {
        let mut s = OptimizerState::<f64>::new(opt);
        let mut p = vec![1.0];
        for gi in g {
            s.begin_step();
            s.update(0, &mut p, &[gi], 1.0, None);
        }
        p
    }

    #[test]
    fn steps_computed_by_hand() {
        // SGD: 1 − 0.1·0.5 − 0.1·(−1) = 1.05
        assert!((two_steps(Optimizer::sgd(0.1), [0.5, -1.0])[0] - 1.05).abs() < 1e-15);
        // Momentum β = 0.9: v1 = 0.5, p = 0.95; v2 = 0.45 − 1 = −0.55, p = 1.005
        let p = two_steps(Optimizer::Momentum { lr: 0.1, beta: 0.9 }, [0.5, -1.0]);
        assert!((p[0] - 1.005).abs() < 1e-15);
        // RMSprop ρ = 0.9, ε = 0: s1 = 0.025, p = 1 − 0.1·0.5/√0.025
        let p = two_steps(
            Optimizer::RmsProp {
                lr: 0.1,
                rho: 0.9,
                eps: 0.0,
            },
            [0.5, 0.0],
        );
        assert!((p[0] - (1.0 - 0.1 * 0.5 / 0.025f64.sqrt())).abs() < 1e-15);
        // Adam, first step: m̂ = g, v̂ = g², p −= lr · g / (|g| + ε).
        let adam = Optimizer::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            eps_inside_sqrt: false,
        };
        let mut s = OptimizerState::<f64>::new(adam);
        let mut p = vec![1.0];
        s.begin_step();
        s.update(0, &mut p, &[0.5], 1.0, None);
        assert!((p[0] - (1.0 - 0.01 * 0.5 / (0.5 + 1e-8))).abs() < 1e-15);
        // Second step with g = −1: m = 0.9·0.05 − 0.1 = −0.055, v = 0.999·0.00025 + 0.001.
        s.begin_step();
        s.update(0, &mut p, &[-1.0], 1.0, None);
        let (m, v) = (-0.055f64, 0.999 * 0.00025 + 0.001);
        let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64.powi(2)));
        let expected = 1.0 - 0.01 * 0.5 / (0.5 + 1e-8) - 0.01 * mh / (vh.sqrt() + 1e-8);
        assert!((p[0] - expected).abs() < 1e-15);
    }

    #[test]
    fn the_course_adam_puts_eps_inside_the_root() {
        let course = Optimizer::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-2,
            eps_inside_sqrt: true,
        };
        let p = two_steps(course, [0.5, 0.0]);
        let mut s = OptimizerState::<f64>::new(course);
        let mut q = vec![1.0];
        s.begin_step();
        s.update(0, &mut q, &[0.5], 1.0, None);
        assert!((q[0] - (1.0 - 0.01 * 0.5 / (0.25f64 + 1e-2).sqrt())).abs() < 1e-15);
        assert!(p[0] < q[0]);
    }

    #[test]
    fn clipping() {
        let mut s = OptimizerState::<f64>::new(Optimizer::sgd(1.0));
        let mut p = vec![0.0, 0.0];
        s.begin_step();
        s.update(0, &mut p, &[5.0, -0.5], 1.0, Some(1.0));
        assert_eq!(p, vec![-1.0, 0.5]);
        assert_eq!(global_norm_scale(10.0, Clip::GlobalNorm(5.0)), 0.5);
        assert_eq!(global_norm_scale(1.0, Clip::GlobalNorm(5.0)), 1.0);
        assert!(Optimizer::sgd(-1.0).validate().is_err());
    }
}
