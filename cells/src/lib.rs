//! Recurrent cells declared with `cell!`.
#![warn(missing_docs)]

extern crate cellforge_runtime as cellforge;

pub mod gru;
pub mod keras;
pub mod keras_layers;
pub mod lstm;
pub mod rnn;

pub use gru::Gru;
pub use lstm::Lstm;
pub use rnn::Rnn;
