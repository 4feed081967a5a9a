//! Column windows: the element-wise loops index buffers as
//! `buf[__j * rows + off + __i]`. Before the loop over `__i`, each distinct
//! `buf[start + __i]` becomes a slice of exactly `__n` elements,
//! `__w3 = &buf[start..start + __n]`, indexed `__w3[__i]`: the compiler then
//! knows every index is in bounds, drops the checks and can vectorize the
//! loop. The windows of a buffer that the loop writes are taken together,
//! disjoint, with `kernel::windows_mut`. The loop over `__i` is then a
//! function of its windows ([`Windows::kernel`]), kept out of line: as
//! separate slice arguments of a function that is not inlined, the compiler
//! knows they do not alias, which it needs to vectorize a loop that writes
//! some of them (inlined, that knowledge is lost and the loop stays scalar:
//! twice as slow for an LSTM's backward).
//!
//! A read `buf[index]` whose index does not involve `__i` (one number per
//! example, broadcast along the vector) becomes a scalar `__c0` read once per
//! column, before the loop, and passed to the loop's function by value.

use proc_macro2::{Delimiter, Group, Ident, Spacing, TokenStream, TokenTree};
use quote::{format_ident, quote};

/// One window: the buffer, its start, and whether the loop writes it.
struct Window {
    buffer: Ident,
    start: TokenStream,
    var: Ident,
    written: bool,
}

/// A number read once per column: `var = buffer[index]`.
struct Scalar {
    buffer: Ident,
    index: TokenStream,
    var: Ident,
}

#[derive(Default)]
pub(super) struct Windows {
    windows: Vec<Window>,
    scalars: Vec<Scalar>,
}

/// Whether `tokens` mention `__i`, at any depth.
fn mentions_i(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "__i",
        TokenTree::Group(g) => mentions_i(&g.stream()),
        _ => false,
    })
}

/// `start` if `tokens` is `start + __i` (or just `__i`, start 0).
fn window_start(tokens: &[TokenTree]) -> Option<TokenStream> {
    match tokens {
        [TokenTree::Ident(i)] if i == "__i" => Some(quote!(0usize)),
        [start @ .., TokenTree::Punct(plus), TokenTree::Ident(i)]
            if i == "__i" && plus.as_char() == '+' && !start.is_empty() =>
        {
            Some(start.iter().cloned().collect())
        }
        _ => None,
    }
}

/// Whether the tokens at `rest` begin an assignment (`=` or `+=`).
fn assigns(rest: &[TokenTree]) -> bool {
    match rest {
        [TokenTree::Punct(p), ..] if p.as_char() == '=' && p.spacing() == Spacing::Alone => true,
        [TokenTree::Punct(a), TokenTree::Punct(b), ..] => {
            a.as_char() == '+' && a.spacing() == Spacing::Joint && b.as_char() == '='
        }
        _ => false,
    }
}

impl Windows {
    /// Rewrites every `buf[start + __i]` in `tokens` to a window variable.
    pub(super) fn rewrite(&mut self, tokens: TokenStream) -> TokenStream {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(tts.len());
        let mut k = 0;
        while k < tts.len() {
            if let (TokenTree::Ident(buffer), Some(TokenTree::Group(g))) = (&tts[k], tts.get(k + 1))
                && g.delimiter() == Delimiter::Bracket
                && !buffer.to_string().starts_with("__v")
            {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                if let Some(start) = window_start(&inner) {
                    let written = assigns(&tts[k + 2..]);
                    let var = self.window(buffer, start, written);
                    out.push(TokenTree::Ident(var));
                    out.push(TokenTree::Group(Group::new(
                        Delimiter::Bracket,
                        quote!(__i),
                    )));
                    k += 2;
                    continue;
                }
                if buffer.to_string().starts_with("__")
                    && !mentions_i(&g.stream())
                    && !assigns(&tts[k + 2..])
                {
                    out.push(TokenTree::Ident(self.scalar(buffer, g.stream())));
                    k += 2;
                    continue;
                }
            }
            match &tts[k] {
                TokenTree::Group(g) => {
                    let mut ng = Group::new(g.delimiter(), self.rewrite(g.stream()));
                    ng.set_span(g.span());
                    out.push(TokenTree::Group(ng));
                }
                other => out.push(other.clone()),
            }
            k += 1;
        }
        out.into_iter().collect()
    }

    fn window(&mut self, buffer: &Ident, start: TokenStream, written: bool) -> Ident {
        let key = start.to_string();
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| w.buffer == *buffer && w.start.to_string() == key)
        {
            w.written |= written;
            return w.var.clone();
        }
        let var = format_ident!("__w{}", self.windows.len());
        self.windows.push(Window {
            buffer: buffer.clone(),
            start,
            var: var.clone(),
            written,
        });
        var
    }

    fn scalar(&mut self, buffer: &Ident, index: TokenStream) -> Ident {
        let key = index.to_string();
        if let Some(s) = self
            .scalars
            .iter()
            .find(|s| s.buffer == *buffer && s.index.to_string() == key)
        {
            return s.var.clone();
        }
        let var = format_ident!("__c{}", self.scalars.len());
        self.scalars.push(Scalar {
            buffer: buffer.clone(),
            index,
            var: var.clone(),
        });
        var
    }

    /// The `let`s that take the windows, for the top of the loop over `__j`.
    pub(super) fn declarations(&self, cf: &TokenStream) -> TokenStream {
        // Scalars first: they read buffers before any is borrowed mutably.
        let mut out: Vec<TokenStream> = self
            .scalars
            .iter()
            .map(|s| {
                let (var, buffer, index) = (&s.var, &s.buffer, &s.index);
                quote!(let #var = #buffer[#index];)
            })
            .collect();
        let mut done: Vec<String> = Vec::new();
        for w in &self.windows {
            let name = w.buffer.to_string();
            let buffer = &w.buffer;
            let writes = self
                .windows
                .iter()
                .any(|o| o.buffer == w.buffer && o.written);
            if !writes {
                let (var, start) = (&w.var, &w.start);
                out.push(quote!(let #var = &#buffer[#start..#start + __n];));
            } else if !done.contains(&name) {
                done.push(name);
                let all: Vec<&Window> = self
                    .windows
                    .iter()
                    .filter(|o| o.buffer == w.buffer)
                    .collect();
                let vars = all.iter().map(|o| &o.var);
                let starts = all.iter().map(|o| &o.start);
                out.push(quote! {
                    let [#(#vars),*] = #cf::kernel::windows_mut(&mut *#buffer, [#(#starts),*], __n);
                });
            }
        }
        quote!(#(#out)*)
    }
}

/// The activations, chosen at run time, that a body names as `__A<k>`.
fn activations(tokens: &TokenStream, acts: &mut Vec<usize>) {
    for tt in tokens.clone() {
        match tt {
            TokenTree::Ident(id) => {
                if let Some(k) = id
                    .to_string()
                    .strip_prefix("__A")
                    .and_then(|r| r.parse::<usize>().ok())
                    && !acts.contains(&k)
                {
                    acts.push(k);
                }
            }
            TokenTree::Group(g) => activations(&g.stream(), acts),
            _ => {}
        }
    }
}

/// `body` once for each combination of the run-time activations `acts`,
/// chosen by one `match` on the cell's activations, outside the loop: in
/// each arm `__A<k>` names the chosen activation's type.
pub(super) fn dispatch(acts: &[usize], body: TokenStream, cf: &TokenStream) -> TokenStream {
    let Some((&k, rest)) = acts.split_first() else {
        return body;
    };
    let inner = dispatch(rest, body, cf);
    let ty = format_ident!("__A{}", k);
    let arms = ["Linear", "Tanh", "Sigmoid", "Relu", "HardSigmoid"].map(|name| {
        let v = format_ident!("{}", name);
        quote! {
            #cf::Activation::#v => {
                type #ty = #cf::__act::#v;
                #inner
            }
        }
    });
    quote! {
        match self.activations[#k] {
            #(#arms)*
        }
    }
}

/// Collects the `__k…` constants a body uses, and whether it uses `self`.
fn free_names(tokens: &TokenStream, consts: &mut Vec<Ident>, uses_self: &mut bool) {
    for tt in tokens.clone() {
        match tt {
            TokenTree::Ident(id) => {
                let name = id.to_string();
                if name == "self" {
                    *uses_self = true;
                } else if let Some(rest) = name.strip_prefix("__k")
                    && !rest.is_empty()
                    && rest.chars().all(|c| c.is_ascii_digit())
                    && !consts.contains(&id)
                {
                    consts.push(id);
                }
            }
            TokenTree::Group(g) => free_names(&g.stream(), consts, uses_self),
            _ => {}
        }
    }
}

/// `self.activations` → `__acts`.
fn replace_self(tokens: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut k = 0;
    while k < tts.len() {
        if let (TokenTree::Ident(s), Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(a))) =
            (&tts[k], tts.get(k + 1), tts.get(k + 2))
            && s == "self"
            && dot.as_char() == '.'
            && a == "activations"
        {
            out.push(TokenTree::Ident(format_ident!("__acts")));
            k += 3;
            continue;
        }
        match &tts[k] {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), replace_self(g.stream()));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other.clone()),
        }
        k += 1;
    }
    out.into_iter().collect()
}

impl Windows {
    /// The loop over `__i` as a function of the windows, and its call for
    /// one column: `(definition, call, activations)`. The function is
    /// generic over the run-time activations the body uses (`__A<k>`,
    /// listed last), which the call names; [`dispatch`] binds them.
    pub(super) fn kernel(
        &self,
        body: TokenStream,
        cf: &TokenStream,
    ) -> (TokenStream, TokenStream, Vec<usize>) {
        let mut consts = Vec::new();
        let mut uses_self = false;
        free_names(&body, &mut consts, &mut uses_self);
        let mut acts = Vec::new();
        activations(&body, &mut acts);
        let act_params: Vec<Ident> = acts.iter().map(|k| format_ident!("__A{}", k)).collect();
        let body = replace_self(body);
        let mut params = Vec::new();
        let mut args = Vec::new();
        let mut reslice = Vec::new();
        for w in &self.windows {
            let var = &w.var;
            let writes = self
                .windows
                .iter()
                .any(|o| o.buffer == w.buffer && o.written);
            if writes {
                params.push(quote!(#var: &mut [T]));
                reslice.push(quote!(let #var = &mut #var[..__n];));
            } else {
                params.push(quote!(#var: &[T]));
                reslice.push(quote!(let #var = &#var[..__n];));
            }
            args.push(quote!(#var));
        }
        for c in &consts {
            params.push(quote!(#c: T));
            args.push(quote!(#c));
        }
        for s in &self.scalars {
            let var = &s.var;
            params.push(quote!(#var: T));
            args.push(quote!(#var));
        }
        if uses_self {
            params.push(quote!(__acts: &[#cf::Activation]));
            args.push(quote!(&self.activations));
        }
        let def = quote! {
            #[inline(never)]
            #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
            fn __columns<T: #cf::Real #(, #act_params: #cf::__act::Act)*>(__n: usize, #(#params),*) {
                #(#reslice)*
                for __i in 0..__n {
                    #body
                }
            }
        };
        let call = if act_params.is_empty() {
            quote!(__columns(__n, #(#args),*);)
        } else {
            quote!(__columns::<T #(, #act_params)*>(__n, #(#args),*);)
        };
        (def, call, acts)
    }
}
