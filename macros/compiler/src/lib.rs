//! The compiler behind cellforge's `cell!` macro.
//!
//! A declaration goes through one phase per module:
//! [`parse`] (tokens → syntax tree) → [`lower`] (names, shapes and the rules
//! of a cell → [`graph::Graph`]) → [`plan`] (fusion: stacked products,
//! hoisting, passes) → [`codegen`] (Rust code). [`expand`] runs them all and
//! turns every error into a spanned `compile_error!`.
#![warn(missing_docs)]

pub mod adjoint;
pub mod ast;
pub mod codegen;
pub mod ctxt;
pub mod graph;
pub mod layout;
pub mod lower;
pub mod parse;
pub mod plan;
pub mod render;
pub mod render_backward;
pub mod shape;

use ctxt::{Ctxt, Errors};
use proc_macro2::TokenStream;
use quote::quote;

/// A declaration that passed every check, with the plan of its step.
pub struct Compiled {
    /// The checked graph.
    pub graph: graph::Graph,
    /// How a step is computed.
    pub plan: plan::Plan,
    /// How its backward is computed.
    pub back: adjoint::BackPlan,
}

// ANCHOR: compile
/// Parses, checks and plans a declaration, reporting all mistakes at once.
pub fn compile(input: TokenStream) -> Result<Compiled, (Errors, Option<syn::Ident>)> {
    let mut cx = Ctxt::default();
    let decl = parse::parse_cell(input, &mut cx);
    // A name the generated code uses for something else gets one error at
    // the name, and no stub (which would collide too).
    let name = decl
        .as_ref()
        .map(|d| d.name.clone())
        .filter(|n| parse::check_cell_name(n, &mut cx));
    // A statement that did not parse may have declared names (a misspelt
    // `dims` or `param`): checking the rest without it would report each
    // use of those names as a mistake of its own. Its parse error alone is
    // reported, with any other statement's.
    let graph = decl
        .filter(|d| !d.incomplete)
        .and_then(|d| lower::lower(d, &mut cx));
    match (cx.finish(()), graph) {
        (Ok(()), Some(graph)) => {
            let plan = plan::plan(&graph);
            let back = adjoint::differentiate(&graph, &plan);
            Ok(Compiled { graph, plan, back })
        }
        (Err(errors), _) => Err((errors, name)),
        (Ok(()), None) => Err((Errors(Vec::new()), name)),
    }
}
// ANCHOR_END: compile

/// The whole macro: the generated items, or the errors as `compile_error!`
/// plus a stub of the cell type so that uses of it do not cascade.
pub fn expand(input: TokenStream) -> TokenStream {
    match compile(input) {
        Ok(c) => codegen::generate(&c.graph, &c.plan, &c.back),
        Err((errors, name)) => {
            let errors = errors.to_compile_errors();
            let stub = name.map(|n| {
                quote! {
                    #[allow(dead_code)]
                    struct #n<T = f64>(::core::marker::PhantomData<T>);
                }
            });
            quote!(#errors #stub)
        }
    }
}
