//! The runtime's error type: every error names the tensor and the shapes.

use std::fmt;

/// An error from running or building a cell. Messages name the cell, the
/// tensor and both shapes involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A tensor of the wrong shape.
    Shape {
        /// What was given, e.g. ``state `a` of `Lstm` ``.
        tensor: String,
        /// The shape expected, e.g. `5 × 10 (n_a × m)`.
        expected: String,
        /// The shape found, e.g. `4 × 10`.
        found: String,
    },
    /// A sequence with no time step.
    EmptySequence {
        /// The cell or function that was given it.
        context: String,
    },
    /// A batch of no examples.
    EmptyBatch {
        /// The cell or function that was given it.
        context: String,
    },
    /// A dimension of zero or one that does not fit the others.
    Dim {
        /// The cell.
        cell: &'static str,
        /// The dimension's name.
        dim: &'static str,
        /// Its value.
        value: usize,
        /// Why it is wrong.
        reason: &'static str,
    },
    /// A time step or index out of range.
    Index {
        /// What was indexed.
        what: String,
        /// The index given.
        index: usize,
        /// The number of entries.
        len: usize,
    },
    /// A value that is NaN or infinite where it must not be.
    NonFinite {
        /// What was not finite.
        what: String,
        /// The epoch (1-based, 0 outside training).
        epoch: usize,
        /// The step within the epoch (1-based, 0 outside training).
        step: usize,
    },
    /// A file that could not be read or written, or whose content is wrong.
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Weights from or for another framework that do not fit: a missing,
    /// extra or misshapen tensor, or a cell without a layout.
    Weights {
        /// What was being read or written.
        what: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// A name that the cell does not have.
    Name {
        /// What kind of name (state, output, parameter).
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<&'static str>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape {
                tensor,
                expected,
                found,
            } => {
                write!(f, "{tensor} must be {expected}, found {found}")
            }
            Error::EmptySequence { context } => {
                write!(f, "{context}: the sequence has no time step")
            }
            Error::EmptyBatch { context } => {
                write!(f, "{context}: the batch has no example (m = 0)")
            }
            Error::Dim {
                cell,
                dim,
                value,
                reason,
            } => {
                write!(f, "`{cell}`: dimension `{dim}` = {value} {reason}")
            }
            Error::Index { what, index, len } => {
                write!(f, "{what}: index {index} is out of range (there are {len})")
            }
            Error::NonFinite { what, epoch: 0, .. } => {
                write!(f, "{what} is not finite (NaN or infinite)")
            }
            Error::NonFinite { what, epoch, step } => write!(
                f,
                "{what} is not finite (NaN or infinite) at epoch {epoch}, step {step}; training stopped and the weights are those of the last good step"
            ),
            Error::File { path, reason } => write!(f, "{path}: {reason}"),
            Error::Weights { what, reason } => write!(f, "{what}: {reason}"),
            Error::Name { kind, name, known } => {
                write!(
                    f,
                    "no {kind} `{name}`; the {kind}s are {}",
                    known.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The same error, placed at an epoch and step of training.
    pub fn at(self, epoch: usize, step: usize) -> Self {
        match self {
            Error::NonFinite { what, .. } => Error::NonFinite { what, epoch, step },
            other => other,
        }
    }
}

/// Formats `rows × cols`.
pub fn dims2(rows: usize, cols: usize) -> String {
    format!("{rows} × {cols}")
}

/// The number of values of a shape, or `None` when it overflows `usize`
/// (a shape read from a file or given by a caller may claim any size).
pub fn checked_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}
