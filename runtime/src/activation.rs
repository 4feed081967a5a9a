//! Activations chosen at run time: a cell's `activation act = tanh;` can be
//! set to any of these (Keras's `activation` and `recurrent_activation`).

use crate::{Error, Real};
use act::Act;

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
        match self {
            Activation::Linear => act::Linear::apply(x),
            Activation::Tanh => act::Tanh::apply(x),
            Activation::Sigmoid => act::Sigmoid::apply(x),
            Activation::Relu => act::Relu::apply(x),
            Activation::HardSigmoid => act::HardSigmoid::apply(x),
        }
    }

    /// `f′(x)`, given `y = f(x)`: the slope of each of these activations
    /// is a function of its value, so that the backward pass needs only the
    /// values the forward pass computed.
    #[inline(always)]
    pub fn slope<T: Real>(self, y: T) -> T {
        match self {
            Activation::Linear => act::Linear::slope(y),
            Activation::Tanh => act::Tanh::slope(y),
            Activation::Sigmoid => act::Sigmoid::slope(y),
            Activation::Relu => act::Relu::slope(y),
            Activation::HardSigmoid => act::HardSigmoid::slope(y),
        }
    }
}

/// Each activation as a type, so that a loop over many values can be
/// compiled once per activation and chosen once, outside the loop, rather
/// than matching on the activation at every value (which keeps the loop
/// from being vectorized). Generated code dispatches on a cell's run-time
/// [`Activation`]s to these.
pub mod act {
    use crate::{Real, kernel};

    /// An element-wise activation known at compile time.
    pub trait Act {
        /// `f(x)`.
        fn apply<T: Real>(x: T) -> T;
        /// `f′(x)`, given `y = f(x)`.
        fn slope<T: Real>(y: T) -> T;
    }

    /// `x`.
    pub struct Linear;
    /// `tanh(x)`.
    pub struct Tanh;
    /// `1 / (1 + e^−x)`.
    pub struct Sigmoid;
    /// `max(x, 0)`.
    pub struct Relu;
    /// Keras's `clip(0.2 x + 0.5, 0, 1)`.
    pub struct HardSigmoid;

    impl Act for Linear {
        #[inline(always)]
        fn apply<T: Real>(x: T) -> T {
            x
        }
        #[inline(always)]
        fn slope<T: Real>(_: T) -> T {
            T::one()
        }
    }

    impl Act for Tanh {
        #[inline(always)]
        fn apply<T: Real>(x: T) -> T {
            x.tanh_fast()
        }
        #[inline(always)]
        fn slope<T: Real>(y: T) -> T {
            T::one() - y * y
        }
    }

    impl Act for Sigmoid {
        #[inline(always)]
        fn apply<T: Real>(x: T) -> T {
            kernel::sigmoid(x)
        }
        #[inline(always)]
        fn slope<T: Real>(y: T) -> T {
            y * (T::one() - y)
        }
    }

    impl Act for Relu {
        #[inline(always)]
        fn apply<T: Real>(x: T) -> T {
            kernel::relu(x)
        }
        #[inline(always)]
        fn slope<T: Real>(y: T) -> T {
            // `relu(x) > 0` exactly where `x > 0`.
            if y > T::zero() { T::one() } else { T::zero() }
        }
    }

    impl Act for HardSigmoid {
        #[inline(always)]
        fn apply<T: Real>(x: T) -> T {
            kernel::hard_sigmoid(x)
        }
        #[inline(always)]
        fn slope<T: Real>(y: T) -> T {
            // Strictly between 0 and 1 exactly where `0.2 x + 0.5` is, as
            // `kernel::hard_sigmoid_slope` tests it.
            if y > T::zero() && y < T::one() {
                T::cast(0.2)
            } else {
                T::zero()
            }
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
                assert!((a.slope(a.apply(x)) - numeric).abs() < 1e-8, "{a:?} at {x}");
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
