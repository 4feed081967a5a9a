//! The compiler never panics on user input: every malformed declaration
//! becomes `compile_error!`. These tests mutate a valid declaration (drop one
//! token, cut it short, swap a name) and check that expansion returns errors
//! and does not panic.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;

fn lstm() -> TokenStream {
    quote! {
        /// An LSTM.
        pub cell Lstm {
            dims n_x, n_a, n_y;
            input x: [n_x];
            state a: [n_a], c: [n_a];
            param w_f: [n_a, n_a + n_x], b_f: [n_a];
            param w_i: [n_a, n_a + n_x], b_i: [n_a];
            param w_c: [n_a, n_a + n_x], b_c: [n_a];
            param w_o: [n_a, n_a + n_x], b_o: [n_a];
            param w_y: [n_y, n_a], b_y: [n_y];
            let z = [a, x];
            let f = sigmoid(w_f @ z + b_f);
            let i = sigmoid(w_i @ z + b_i);
            let c_tilde = tanh(w_c @ z + b_c);
            c = f * c + i * c_tilde;
            let o = sigmoid(w_o @ z + b_o);
            a = o * tanh(c);
            output y = softmax(w_y @ a + b_y);
        }
    }
}

/// A cell with every construct the LSTM lacks: layer normalisation
/// (reductions of a stack, numbers per example, `sqrt`), dropout, zoneout and
/// DropConnect masks.
fn regularised() -> TokenStream {
    quote! {
        pub cell Reg {
            dims n_x, n_h;
            input x: [n_x];
            state h: [n_h], c: [n_h];
            param w: [n_h, n_x], u: [n_h, n_h], v: [n_h, n_h + n_x], g: [n_h] = ones, b: [n_h];
            mask d: [n_h] = dropout(0.25), z: [n_h] = zoneout(0.1);
            mask m: [n_h, n_h] = dropconnect(0.5);
            let s = [w @ x, (u * m) @ h];
            let n = (w @ x - mean(s)) / sqrt(var(s) + 0.00001);
            c = z * c + (1 - z) * tanh(g * n + b + sum(c) / 4);
            h = tanh(v @ [h * d, x]) * c;
        }
    }
}

/// The declarations the mutation tests start from.
fn declarations() -> [fn() -> TokenStream; 2] {
    [lstm, regularised]
}

/// The declaration's tokens with the body's token `k` replaced by `with`.
fn mutate_body(decl: fn() -> TokenStream, k: usize, with: Option<TokenTree>) -> TokenStream {
    let mut outer: Vec<TokenTree> = decl().into_iter().collect();
    let Some(TokenTree::Group(body)) = outer.last().cloned() else {
        unreachable!()
    };
    let mut inner: Vec<TokenTree> = body.stream().into_iter().collect();
    match with {
        Some(t) => inner[k] = t,
        None => {
            inner.remove(k);
        }
    }
    let last = outer.len() - 1;
    outer[last] = TokenTree::Group(Group::new(Delimiter::Brace, inner.into_iter().collect()));
    outer.into_iter().collect()
}

fn body_len(decl: fn() -> TokenStream) -> usize {
    let Some(TokenTree::Group(body)) = decl().into_iter().last() else {
        unreachable!()
    };
    body.stream().into_iter().count()
}

fn expands_without_panic(tokens: TokenStream) -> String {
    std::panic::catch_unwind(|| cellforge_compiler::expand(tokens).to_string())
        .expect("the compiler panicked")
}

#[test]
fn the_valid_declarations_compile() {
    for decl in declarations() {
        let out = expands_without_panic(decl());
        assert!(!out.contains("compile_error"), "{out}");
    }
}

#[test]
fn dropping_any_token_never_panics() {
    for decl in declarations() {
        for k in 0..body_len(decl) {
            expands_without_panic(mutate_body(decl, k, None));
        }
    }
}

#[test]
fn replacing_any_token_never_panics() {
    let replacements: Vec<TokenTree> = quote!(zz 0 @ ; [] () - 1.5 * mean d m)
        .into_iter()
        .collect();
    for decl in declarations() {
        for k in 0..body_len(decl) {
            for r in &replacements {
                expands_without_panic(mutate_body(decl, k, Some(r.clone())));
            }
        }
    }
}

#[test]
fn every_prefix_never_panics() {
    for decl in declarations() {
        prefixes_never_panic(decl());
    }
}

fn prefixes_never_panic(decl: TokenStream) {
    let all: Vec<TokenTree> = decl.into_iter().collect();
    for n in 0..all.len() {
        let out = expands_without_panic(all[..n].iter().cloned().collect());
        assert!(
            out.contains("compile_error"),
            "prefix of {n} tokens accepted"
        );
    }
    let Some(TokenTree::Group(body)) = all.last() else {
        unreachable!()
    };
    let inner: Vec<TokenTree> = body.stream().into_iter().collect();
    for n in 0..inner.len() {
        let mut head: Vec<TokenTree> = all[..all.len() - 1].to_vec();
        head.push(TokenTree::Group(Group::new(
            Delimiter::Brace,
            inner[..n].iter().cloned().collect(),
        )));
        expands_without_panic(head.into_iter().collect());
    }
}

/// Expands and returns the `compile_error!` messages (empty when it compiles).
fn errors(tokens: TokenStream) -> String {
    let out = expands_without_panic(tokens);
    if out.contains("compile_error") {
        out
    } else {
        String::new()
    }
}

#[test]
fn non_finite_numbers_are_errors() {
    for body in [
        quote!(a = tanh(w @ a) * 1e400;),
        quote!(a = tanh(w @ a) * (1 / 0);),
        quote!(a = tanh(w @ a) * log(0);),
        quote!(a = tanh(w @ a) * (0 / 0);),
    ] {
        let e =
            errors(quote!(cell C { dims n; input x: [n]; state a: [n]; param w: [n, n]; #body }));
        assert!(e.contains("finite numbers"), "{body}: {e}");
    }
    let e = errors(
        quote!(cell C { dims n; input x: [n]; state a: [n]; param b: [n] = constant(1e999); a = tanh(x + b); }),
    );
    assert!(e.contains("must be finite"), "{e}");
}

#[test]
fn raw_identifiers_compile() {
    let e = errors(
        quote!(cell C { dims n; input x: [n]; state r#type: [n]; let r#in = tanh(x); r#type = r#in * r#type; }),
    );
    assert!(e.is_empty(), "{e}");
}

#[test]
fn lengths_below_one_are_errors() {
    for shape in [
        quote!([0]),
        quote!([-1]),
        quote!([n - n - 3]),
        quote!([0 - n]),
    ] {
        let e = errors(quote!(cell C { dims n; input x: [n]; state a: #shape; a = a; }));
        assert!(e.contains("at least 1"), "{shape}: {e}");
    }
    let e =
        errors(quote!(cell C { dims n; input x: [9223372036854775807 + 1]; state a: [n]; a = a; }));
    assert!(e.contains("at most"), "{e}");
}

#[test]
fn a_deep_shared_graph_compiles_quickly() {
    let mut lets = quote!(let p0 = tanh(x););
    for k in 1..=60usize {
        let (prev, this) = (
            quote::format_ident!("p{}", k - 1),
            quote::format_ident!("p{}", k),
        );
        lets.extend(quote!(let #this = #prev * #prev;));
    }
    let started = std::time::Instant::now();
    let e = errors(
        quote!(cell C { dims n; input x: [n]; state a: [n]; param w: [n, n]; #lets a = tanh(w @ p60); }),
    );
    assert!(e.is_empty(), "{e}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn a_run_time_activation_of_a_number_is_an_error() {
    let e = errors(
        quote!(cell C { dims n; input x: [n]; state a: [n]; activation act = tanh; a = act(1) * tanh(x); }),
    );
    assert!(e.contains("chosen at run time"), "{e}");
}

/// A cell whose layout body is `layout`.
fn with_layout(layout: TokenStream) -> TokenStream {
    quote! {
        cell C {
            dims n_x, n_a;
            input x: [n_x];
            state h: [n_a];
            param w_z: [n_a, n_x], w_r: [n_a, n_x], u_z: [n_a, n_a], u_r: [n_a, n_a];
            param b_z: [n_a], b_r: [n_a];
            let z = sigmoid(w_z @ x + u_z @ h + b_z);
            h = z * tanh(w_r @ x + u_r @ h + b_r);
            layout keras { #layout }
        }
    }
}

fn layout_tokens() -> Vec<TokenTree> {
    quote! {
        kernel = [w_z, w_r].T;
        recurrent_kernel = [u_z, u_r].T;
        bias = [[b_z].T, [b_r].T];
    }
    .into_iter()
    .collect()
}

#[test]
fn the_valid_layout_compiles() {
    let layout: TokenStream = layout_tokens().into_iter().collect();
    let out = expands_without_panic(with_layout(layout));
    assert!(!out.contains("compile_error"), "{out}");
}

#[test]
fn dropping_or_replacing_any_layout_token_never_panics() {
    let tokens = layout_tokens();
    let replacements: Vec<TokenTree> = quote!(; , . T [x] h 1.5 kernel layout)
        .into_iter()
        .collect();
    for k in 0..tokens.len() {
        let mut dropped = tokens.clone();
        dropped.remove(k);
        expands_without_panic(with_layout(dropped.into_iter().collect()));
        for r in &replacements {
            let mut replaced = tokens.clone();
            replaced[k] = r.clone();
            expands_without_panic(with_layout(replaced.into_iter().collect()));
        }
    }
}
