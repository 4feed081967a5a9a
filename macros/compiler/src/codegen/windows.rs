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
//! Where one column is shorter than a vector register (a cell of one to a
//! few units), the same body also runs across the examples instead
//! ([`Windows::lanes`]): the values of a group of examples are gathered
//! side by side, so that one vector operation serves many examples.
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
    /// Whether the loop reads it (a `+=` reads it too).
    read: bool,
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

/// Whether `tokens` mention the identifier `name`, at any depth.
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == name,
        TokenTree::Group(g) => mentions(&g.stream(), name),
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

/// Whether the tokens at `rest` begin a plain assignment (`=`), which
/// does not read what it overwrites.
fn overwrites(rest: &[TokenTree]) -> bool {
    matches!(rest, [TokenTree::Punct(p), ..] if p.as_char() == '=' && p.spacing() == Spacing::Alone)
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
                    let read = !overwrites(&tts[k + 2..]);
                    let var = self.window(buffer, start, written, read);
                    out.push(TokenTree::Ident(var));
                    out.push(TokenTree::Group(Group::new(
                        Delimiter::Bracket,
                        quote!(__i),
                    )));
                    k += 2;
                    continue;
                }
                if buffer.to_string().starts_with("__")
                    && !mentions(&g.stream(), "__i")
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

    fn window(&mut self, buffer: &Ident, start: TokenStream, written: bool, read: bool) -> Ident {
        let key = start.to_string();
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| w.buffer == *buffer && w.start.to_string() == key)
        {
            w.written |= written;
            w.read |= read;
            return w.var.clone();
        }
        let var = format_ident!("__w{}", self.windows.len());
        self.windows.push(Window {
            buffer: buffer.clone(),
            start,
            var: var.clone(),
            written,
            read,
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
    fn declarations(&self, cf: &TokenStream) -> TokenStream {
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

/// What a loop's function takes besides its windows: the `__k…` constants
/// of `body`, whether it reads `self.activations`, and the run-time
/// activations it names (as numbers and as the type parameters `__A<k>`).
fn body_names(body: &TokenStream) -> (Vec<Ident>, bool, Vec<usize>, Vec<Ident>) {
    let mut consts = Vec::new();
    let mut uses_self = false;
    free_names(body, &mut consts, &mut uses_self);
    let mut acts = Vec::new();
    activations(body, &mut acts);
    let act_params = acts.iter().map(|k| format_ident!("__A{}", k)).collect();
    (consts, uses_self, acts, act_params)
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

/// Every identifier `from` in `tokens` renamed `to`, at any depth.
fn rename(tokens: TokenStream, from: &str, to: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) if i == from => TokenTree::Ident(to.clone()),
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), rename(g.stream(), from, to));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            other => other,
        })
        .collect()
}

/// Whether every use of window `var` in `tokens` is `var[__i] += …`: an
/// accumulator that the lanes path may sum in example order.
fn only_accumulates(tokens: &TokenStream, var: &Ident) -> bool {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    tts.iter().enumerate().all(|(k, t)| match t {
        TokenTree::Ident(i) if i == var => {
            matches!(
                (tts.get(k + 2), tts.get(k + 3)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                    if a.as_char() == '+' && a.spacing() == Spacing::Joint && b.as_char() == '='
            )
        }
        TokenTree::Group(g) => only_accumulates(&g.stream(), var),
        _ => true,
    })
}

/// `body` with each scalar `__c<k>` read from its lane: `__c<k>[__l]`.
fn lane_scalars(tokens: TokenStream, scalars: &[Ident]) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|t| match t {
            TokenTree::Ident(i) if scalars.contains(&i) => {
                let lane = Group::new(Delimiter::Bracket, quote!(__l));
                vec![TokenTree::Ident(i), TokenTree::Group(lane)]
            }
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), lane_scalars(g.stream(), scalars));
                ng.set_span(g.span());
                vec![TokenTree::Group(ng)]
            }
            other => vec![other],
        })
        .collect()
}

impl Windows {
    /// The loops of a pass whose element-wise body is `body` (its buffer
    /// reads already rewritten by [`Windows::rewrite`]): the loop over the
    /// examples that calls [`Windows::kernel`]'s function once per column,
    /// and, where the vectors are too short to fill a register, the lanes
    /// path of [`Windows::lanes`]. Both sit inside one [`dispatch`] of the
    /// run-time activations.
    pub(super) fn loops(&self, body: TokenStream, cf: &TokenStream) -> TokenStream {
        let decls = self.declarations(cf);
        let (columns, call, acts) = self.kernel(body.clone(), cf);
        let columns_loop = quote! {
            for __j in 0..__m {
                #decls
                #call
            }
        };
        let inner = match self.lanes(body, cf) {
            Some((def, lanes_loop)) => quote! {
                #def
                if #cf::kernel::short_columns::<T>(__n) {
                    #lanes_loop
                } else {
                    #columns_loop
                }
            },
            None => columns_loop,
        };
        let looped = dispatch(&acts, inner, cf);
        quote! {
            #columns
            #looped
        }
    }

    /// The lanes path: for vectors shorter than a register (a cell of one
    /// to a few units), the loop over the examples goes innermost. Each
    /// window's values of a group of `LANES` examples are gathered into an
    /// array, the body runs across the lanes (one vector operation for many
    /// examples, where the column path would spend one on a single value),
    /// and the written windows are scattered back. A parameter's gradient
    /// (a window every example adds to) is summed in example order, as the
    /// column path sums it.
    ///
    /// `None` when a window shared by all examples is written other than by
    /// `+=`, which the lanes could not keep in order.
    fn lanes(&self, body: TokenStream, cf: &TokenStream) -> Option<(TokenStream, TokenStream)> {
        let shared = |w: &Window| !mentions(&w.start, "__j");
        if self
            .windows
            .iter()
            .any(|w| w.written && shared(w) && !only_accumulates(&body, &w.var))
        {
            return None;
        }
        let (consts, uses_self, _, act_params) = body_names(&body);
        let scalar_vars: Vec<Ident> = self.scalars.iter().map(|s| s.var.clone()).collect();
        let lane_body = lane_scalars(
            rename(replace_self(body), "__i", &format_ident!("__l")),
            &scalar_vars,
        );
        let (mut params, mut args) = (Vec::new(), Vec::new());
        let (mut gathers, mut scatters) = (Vec::new(), Vec::new());
        for w in &self.windows {
            let (var, buffer, start) = (&w.var, &w.buffer, &w.start);
            if w.written {
                params.push(quote!(#var: &mut [T; __LANES]));
                args.push(quote!(&mut #var));
            } else {
                params.push(quote!(#var: &[T; __LANES]));
                args.push(quote!(&#var));
            }
            let gather = match (shared(w), w.written) {
                (true, true) => quote!(let mut #var = [T::zero(); __LANES];),
                (false, true) if !w.read => quote!(let mut #var = [T::zero(); __LANES];),
                (true, false) => quote!(let #var = [#buffer[#start + __i]; __LANES];),
                (false, written) => {
                    let binding = if written {
                        quote!(let mut)
                    } else {
                        quote!(let)
                    };
                    quote! {
                        #binding #var = {
                            let mut __g = [T::zero(); __LANES];
                            for (__l, __v) in __g[..__lanes].iter_mut().enumerate() {
                                let __j = __j0 + __l;
                                *__v = #buffer[#start + __i];
                            }
                            __g
                        };
                    }
                }
            };
            gathers.push(gather);
            match (shared(w), w.written) {
                (true, true) => scatters.push(quote! {
                    for __v in &#var[..__lanes] {
                        #buffer[#start + __i] += *__v;
                    }
                }),
                (false, true) => scatters.push(quote! {
                    for (__l, __v) in #var[..__lanes].iter().enumerate() {
                        let __j = __j0 + __l;
                        #buffer[#start + __i] = *__v;
                    }
                }),
                _ => {}
            }
        }
        for c in &consts {
            params.push(quote!(#c: T));
            args.push(quote!(#c));
        }
        let mut scalar_gathers = Vec::new();
        for s in &self.scalars {
            let (var, buffer, index) = (&s.var, &s.buffer, &s.index);
            params.push(quote!(#var: &[T; __LANES]));
            args.push(quote!(&#var));
            scalar_gathers.push(quote! {
                let #var = {
                    let mut __g = [T::zero(); __LANES];
                    for (__l, __v) in __g[..__lanes].iter_mut().enumerate() {
                        let __j = __j0 + __l;
                        *__v = #buffer[#index];
                    }
                    __g
                };
            });
        }
        if uses_self {
            params.push(quote!(__acts: &[#cf::Activation]));
            args.push(quote!(&self.activations));
        }
        let turbofish = if act_params.is_empty() {
            quote!()
        } else {
            quote!(::<T #(, #act_params)*>)
        };
        let def = quote! {
            #[inline(never)]
            #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
            fn __across<T: #cf::Real #(, #act_params: #cf::__act::Act)*>(#(#params),*) {
                for __l in 0..__LANES {
                    #lane_body
                }
            }
        };
        let lanes_loop = quote! {
            let mut __j0 = 0usize;
            while __j0 < __m {
                let __lanes = (__m - __j0).min(__LANES);
                #(#scalar_gathers)*
                for __i in 0..__n {
                    #(#gathers)*
                    __across #turbofish(#(#args),*);
                    #(#scatters)*
                }
                __j0 += __LANES;
            }
        };
        let def = quote! {
            const __LANES: usize = #cf::kernel::LANES;
            #def
        };
        Some((def, lanes_loop))
    }

    /// The loop over `__i` as a function of the windows, and its call for
    /// one column: `(definition, call, activations)`. The function is
    /// generic over the run-time activations the body uses (`__A<k>`,
    /// listed last), which the call names; [`dispatch`] binds them.
    fn kernel(
        &self,
        body: TokenStream,
        cf: &TokenStream,
    ) -> (TokenStream, TokenStream, Vec<usize>) {
        let (consts, uses_self, acts, act_params) = body_names(&body);
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
