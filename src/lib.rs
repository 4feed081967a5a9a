//! cellforge: declare a recurrent cell as its gate equations; the `cell!`
//! macro checks names and shapes at compile time and generates fused code.
#![warn(missing_docs)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod plot;

pub use cellforge_cells as cells;
pub use cellforge_macros::cell;
pub use cellforge_runtime::*;

/// The names most programs need.
pub mod prelude {
    pub use cellforge_cells::{Gru, Lstm, Rnn};
    pub use cellforge_macros::cell;
    pub use cellforge_runtime::{
        Activation, Cell, Error, Gradients, Init, NdArray, NumpyRng, Real, Sequence, Tensors,
        Trace, Upstream,
    };
}
