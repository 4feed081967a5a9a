//! Recurrent cells declared with `cell!`.
#![warn(missing_docs)]

extern crate cellforge_runtime as cellforge;

pub mod cifg;
pub mod gru;
pub mod indrnn;
pub mod keras;
pub mod keras_layers;
pub mod layer_norm_lstm;
pub mod lstm;
pub mod mgu;
pub mod min_gru;
pub mod min_lstm;
pub mod peephole;
pub mod rnn;
pub mod torch;
pub mod torch_layers;
pub mod ugrnn;
pub mod variational_lstm;
pub mod weight_drop_lstm;
pub mod zoneout_lstm;

pub use gru::Gru;
pub use lstm::Lstm;
pub use rnn::Rnn;
