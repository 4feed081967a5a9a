//! The runtime of cellforge: the [`Cell`] trait that every `cell!` declaration
//! implements, sequences and traces, errors that name tensors and shapes,
//! numpy-compatible random numbers and numpy-style array printing.
#![warn(missing_docs)]

pub mod activation;
pub mod array;
pub mod backward;
pub mod cell;
pub mod chunk;
pub mod data;
pub mod error;
pub mod gemm;
pub mod gradcheck;
pub mod init;
pub mod interop;
#[doc(hidden)]
pub mod kernel;
pub mod nn;
pub mod noise;
pub mod rng;
pub mod scalar;
pub mod sequence;

pub use activation::Activation;
pub use array::NdArray;
pub use backward::{BackwardLayout, Gradients, Upstream};
pub use cell::{Cell, CellSpec, Empty, ParamSlot, ParamsVersion, StepResult, Tensors};
pub use chunk::set_threads;
pub use error::Error;
pub use gradcheck::{Conditions, GradCheck, TensorCheck};
pub use init::Init;
pub use noise::{Noise, NoiseKind, NoiseLayout};
pub use rng::NumpyRng;
pub use scalar::Real;
pub use sequence::{Layout, Mask, Sequence, Trace};

/// What generated code refers to, through `::cellforge::__private`.
#[doc(hidden)]
pub mod __private {
    pub use crate::activation::act as __act;
    pub use crate::backward::GradParts;
    pub use crate::cell::check_param;
    pub use crate::chunk::{GradStep, StepParts, StepRefs};
    pub use crate::interop::{Block, FrameworkLayout, TensorLayout};
    pub use crate::kernel;
    pub use crate::noise::check_rate;
    pub use crate::sequence::{TraceParts, TraceRefs};
    pub use crate::{
        Activation, BackwardLayout, Cell, CellSpec, Empty, Error, Gradients, Init, Layout,
        NoiseKind, NoiseLayout, NumpyRng, ParamSlot, ParamsVersion, Real, Tensors, Trace,
    };
    pub use nalgebra;
}
