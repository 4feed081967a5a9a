//! Affine shape expressions of the declared dimensions (`n_a + n_x`, `4 * n_a`).

use std::collections::BTreeMap;
use std::fmt;

// ANCHOR: affine
/// `constant + Σ coeff · dim`, with dims named by their index in the declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Affine {
    /// Coefficient of each dimension, zero coefficients removed.
    pub terms: BTreeMap<usize, i64>,
    /// The constant term.
    pub constant: i64,
}
// ANCHOR_END: affine

impl Affine {
    /// A constant length.
    pub fn constant(value: i64) -> Self {
        Affine {
            terms: BTreeMap::new(),
            constant: value,
        }
    }

    /// One dimension.
    pub fn dim(index: usize) -> Self {
        Affine {
            terms: BTreeMap::from([(index, 1)]),
            constant: 0,
        }
    }

    /// The sum of two lengths.
    pub fn add(&self, other: &Affine) -> Affine {
        let mut out = self.clone();
        for (&dim, &coeff) in &other.terms {
            let e = out.terms.entry(dim).or_insert(0);
            *e = e.saturating_add(coeff);
        }
        out.constant = out.constant.saturating_add(other.constant);
        out.terms.retain(|_, c| *c != 0);
        out
    }

    /// This length times an integer.
    pub fn scale(&self, factor: i64) -> Affine {
        let mut out = Affine::constant(self.constant.saturating_mul(factor));
        for (&dim, &coeff) in &self.terms {
            let c = coeff.saturating_mul(factor);
            if c != 0 {
                out.terms.insert(dim, c);
            }
        }
        out
    }

    /// Renders with the dimension names, e.g. `n_a + n_x`.
    pub fn display<'a>(&'a self, dims: &'a [String]) -> AffineDisplay<'a> {
        AffineDisplay { affine: self, dims }
    }
}

/// [`Affine`] with dimension names, for messages and docs.
pub struct AffineDisplay<'a> {
    affine: &'a Affine,
    dims: &'a [String],
}

impl fmt::Display for AffineDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (&dim, &coeff) in &self.affine.terms {
            let name = self.dims.get(dim).map_or("?", String::as_str);
            let (sign, magnitude) = if coeff < 0 {
                ("-", -coeff)
            } else {
                ("+", coeff)
            };
            match (first, sign) {
                (true, "-") => write!(f, "-")?,
                (true, _) => {}
                (false, _) => write!(f, " {sign} ")?,
            }
            if magnitude == 1 {
                write!(f, "{name}")?;
            } else {
                write!(f, "{magnitude} * {name}")?;
            }
            first = false;
        }
        let c = self.affine.constant;
        match (first, c) {
            (true, _) => write!(f, "{c}"),
            (false, 0) => Ok(()),
            (false, c) if c < 0 => write!(f, " - {}", -c),
            (false, c) => write!(f, " + {c}"),
        }
    }
}

/// The shape of a value in the equations, per example.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A number that broadcasts (a literal).
    Scalar,
    /// One number per example that broadcasts over vectors (a reduction such
    /// as `mean(v)`, and values computed from reductions).
    PerExample,
    /// A vector of the given length (one column per example at run time).
    Vector(Affine),
    /// A matrix parameter: rows, columns.
    Matrix(Affine, Affine),
}

impl Shape {
    /// Renders as in the declaration: `[n_a]`, `[n_a, n_a + n_x]`, `scalar`.
    pub fn display(&self, dims: &[String]) -> String {
        match self {
            Shape::Scalar => "scalar".to_string(),
            Shape::PerExample => "a number per example".to_string(),
            Shape::Vector(n) => format!("[{}]", n.display(dims)),
            Shape::Matrix(r, c) => format!("[{}, {}]", r.display(dims), c.display(dims)),
        }
    }

    /// The length of a vector.
    pub fn vector_len(&self) -> Option<&Affine> {
        match self {
            Shape::Vector(n) => Some(n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["n_x".into(), "n_a".into()]
    }

    #[test]
    fn sums_normalise_and_display() {
        let s = Affine::dim(1).add(&Affine::dim(0));
        assert_eq!(s.display(&names()).to_string(), "n_x + n_a");
        assert_eq!(s, Affine::dim(0).add(&Affine::dim(1)));
        let t = Affine::dim(1).scale(4).add(&Affine::constant(-1));
        assert_eq!(t.display(&names()).to_string(), "4 * n_a - 1");
        let zero = Affine::dim(1).add(&Affine::dim(1).scale(-1));
        assert_eq!(zero, Affine::constant(0));
        assert_eq!(zero.display(&names()).to_string(), "0");
    }

    #[test]
    fn shapes_display_like_declarations() {
        let m = Shape::Matrix(Affine::dim(1), Affine::dim(1).add(&Affine::dim(0)));
        assert_eq!(m.display(&names()), "[n_a, n_x + n_a]");
        assert_eq!(Shape::Scalar.display(&names()), "scalar");
    }
}
