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

/// Every `{{#include …expansion__NAME.snap:A:B}}` in the book, as
/// `(chapter, snapshot, A, B)`.
fn book_excerpts(prefix: &str) -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("book/src").expect("the book's sources") {
        let path = entry.expect("a chapter").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let chapter = std::fs::read_to_string(&path).expect("a chapter");
        let marker = format!("tests/snapshots/{prefix}");
        for part in chapter.split(&marker).skip(1) {
            let include = part.split("}}").next().unwrap_or_default();
            let Some((name, range)) = include.split_once(".snap:") else {
                continue;
            };
            let Some((a, b)) = range.split_once(':') else {
                continue;
            };
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                let snap = format!("tests/snapshots/{prefix}{name}.snap");
                out.push((path.display().to_string(), snap, a, b));
            }
        }
    }
    out
}

/// The book shows parts of the expansions by line range (in the chapters on
/// the compiler and on performance); each range must still be whole items or
/// statements (balanced brackets, starting at the start of one and ending at
/// the end of one), so that a change to the generated code that moves them
/// is noticed here.
#[test]
fn the_book_s_excerpts_of_the_expansions_are_whole_items() {
    let excerpts = book_excerpts("expansion__");
    for (chapter, snap, a, b) in &excerpts {
        let text = std::fs::read_to_string(snap).expect("the snapshot exists");
        let lines: Vec<&str> = text.lines().collect();
        let what = format!("{chapter}: {snap}:{a}:{b}");
        let excerpt = &lines[a - 1..*b];
        let first = excerpt[0].trim_start();
        let starts = [
            "///", "#[", "fn ", "pub ", "let ", "::", "{", "for ", "const ",
        ];
        assert!(
            starts.iter().any(|s| first.starts_with(s)),
            "{what} starts with `{first}`"
        );
        let last = excerpt[excerpt.len() - 1].trim_end();
        assert!(
            last.ends_with('}') || last.ends_with(';'),
            "{what} ends with `{last}`"
        );
        for (open, close) in [('{', '}'), ('(', ')'), ('[', ']')] {
            let opens: usize = excerpt.iter().map(|l| l.matches(open).count()).sum();
            let closes: usize = excerpt.iter().map(|l| l.matches(close).count()).sum();
            assert_eq!(opens, closes, "{what}: unbalanced `{open}{close}`");
        }
    }
    assert_eq!(excerpts.len(), 11, "the book's excerpts of expansions");
}
