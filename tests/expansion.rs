//! Reviewed snapshots of what `cell!` generates, formatted with prettyplease.
//! They show the fusion: one stacked product per shared operand, input
//! products hoisted out of the time loop, and the element-wise work of each
//! level in one pass.

use proc_macro2::TokenStream;

/// The tokens inside the `cell! { ... }` of a source file.
fn cell_tokens(path: &str) -> TokenStream {
    let source = std::fs::read_to_string(path).expect("cell source exists");
    let file = syn::parse_file(&source).expect("cell source parses");
    file.items
        .into_iter()
        .find_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.is_ident("cell") => Some(m.mac.tokens),
            _ => None,
        })
        .expect("the file declares a cell")
}

fn expand(tokens: TokenStream) -> String {
    let out = cellforge_compiler::expand(tokens);
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn lstm_expansion() {
    insta::assert_snapshot!(expand(cell_tokens("cells/src/lstm.rs")));
}

#[test]
// ANCHOR: small_cell
fn small_cell_expansion() {
    let tokens: TokenStream = quote::quote! {
        /// A tanh cell with its two weights stacked by hand.
        pub cell Small {
            dims n_x, n_a;
            input x: [n_x];
            state a: [n_a];
            param w: [n_a, n_a + n_x], b: [n_a];
            a = tanh(w @ [a, x] + b);
        }
    };
    insta::assert_snapshot!(expand(tokens));
}
// ANCHOR_END: small_cell
