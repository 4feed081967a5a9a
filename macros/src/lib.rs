//! The `cell!` procedural macro of cellforge.
//!
//! This crate is a thin shell: the compiler lives in `cellforge-compiler`,
//! where each phase can be tested on its own.

use proc_macro::TokenStream;

/// Declares a recurrent cell by its equations and generates the cell type,
/// its parameter, state and output types, and a fused implementation of
/// `cellforge::Cell`. See the `cellforge` crate for the language.
#[proc_macro]
pub fn cell(input: TokenStream) -> TokenStream {
    cellforge_compiler::expand(input.into()).into()
}
