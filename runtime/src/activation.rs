//! Activations chosen at run time: a cell's `activation act = tanh;` can be
//! set to any of these (Keras's `activation` and `recurrent_activation`).

use crate::{Error, Real};

/// An element-wise activation function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `x` (Keras's `linear`).
    Linear,
    /// `tanh(x)`.
    #[default]
    Tanh,
    /// `1 / (1 + e^−x)`.
    Sigmoid,
    /// `max(x, 0)`.
    Relu,
    /// Keras's `clip(0.2 x + 0.5, 0, 1)`.
    HardSigmoid,
}

impl Activation {
    /// Every activation with its Keras name.
    pub const ALL: [(&'static str, Activation); 5] = [
        ("linear", Activation::Linear),
        ("tanh", Activation::Tanh),
        ("sigmoid", Activation::Sigmoid),
        ("relu", Activation::Relu),
        ("hard_sigmoid", Activation::HardSigmoid),
    ];

    /// The activation with this Keras name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
            .ok_or_else(|| Error::Name {
                kind: "activation",
                name: name.to_string(),
                known: Self::ALL.iter().map(|(n, _)| *n).collect(),
            })
    }

    /// The Keras name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |(n, _)| n)
    }

    /// `f(x)`.
    #[inline(always)]
    pub fn apply<T: Real>(self, x: T) -> T {
        use crate::kernel;
        match self {
            Activation::Linear => x,
            Activation::Tanh => x.tanh_fast(),
            Activation::Sigmoid => kernel::sigmoid(x),
            Activation::Relu => kernel::relu(x),
            Activation::HardSigmoid => kernel::hard_sigmoid(x),
        }
    }

    /// `f′(x)`, given `x` and `y = f(x)`.
    #[inline(always)]
    pub fn slope<T: Real>(self, x: T, y: T) -> T {
        match self {
            Activation::Linear => T::one(),
            Activation::Tanh => T::one() - y * y,
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Relu => {
                if x > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::HardSigmoid => crate::kernel::hard_sigmoid_slope(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slopes_match_finite_differences() {
        for (_, a) in Activation::ALL {
            for x in [-3.0f64, -0.7, 0.3, 1.9] {
                let h = 1e-6;
                let numeric = (a.apply(x + h) - a.apply(x - h)) / (2.0 * h);
                assert!(
                    (a.slope(x, a.apply(x)) - numeric).abs() < 1e-8,
                    "{a:?} at {x}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for (n, a) in Activation::ALL {
            assert_eq!(Activation::from_name(n).unwrap(), a);
            assert_eq!(a.name(), n);
        }
        let err = Activation::from_name("swish").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no activation `swish`; the activations are linear, tanh, sigmoid, relu, hard_sigmoid"
        );
    }
}
