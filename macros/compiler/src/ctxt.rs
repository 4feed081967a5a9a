//! Collects every error of one declaration so they are reported together.

use proc_macro2::{Span, TokenStream};

/// The errors found so far, in the order they were found.
#[derive(Default)]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records an error that syn produced.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether any error has been recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Finishes a phase: `Ok(value)` when no error was recorded.
    pub fn finish<V>(self, value: V) -> Result<V, Errors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(Errors(self.errors))
        }
    }
}

/// One or more compile errors, each with the span of the user's tokens.
#[derive(Debug)]
pub struct Errors(pub Vec<syn::Error>);

impl Errors {
    /// The errors as `compile_error!` invocations.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.0.iter().map(syn::Error::to_compile_error).collect()
    }

    /// The messages, one per error, for tests and tools.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl From<syn::Error> for Errors {
    fn from(error: syn::Error) -> Self {
        Errors(vec![error])
    }
}
