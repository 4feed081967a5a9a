//! Code generation of the backward pass: one step's backward (level by level
//! in reverse, each element-wise pass fused) and the weight gradients over
//! all steps.

use super::Gen;
use crate::adjoint::{Adj, BackPass};
use crate::graph::{Bin, Func, NodeId, Op, Reduction};
use crate::plan::{Group, Loc};
use crate::shape::Affine;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    fn adj_var(&self, node: NodeId) -> proc_macro2::Ident {
        self.local("__g", node)
    }

    fn zero_len(&self) -> Affine {
        Affine::constant(0)
    }

    /// Binds the forward values of step `t` (read-only) and the backward
    /// buffers of step `t`. The input's gradient is bound only when the
    /// step's code adds to it (`input_in_step`), and then zeroed first.
    fn backward_binds(&self, input_in_step: bool) -> TokenStream {
        let mut b = vec![];
        if input_in_step {
            b.push(quote! {
                let __dx = __g.input.step_mut(__t);
                __dx.fill(T::zero());
            });
        }
        b.push(quote! {
            let (__d, __offsets) = (&self.dims, self.offsets);
            let __m = __r.m;
            let __x = __r.input.step(__t);
            let __dp: &mut [T] = &mut *__g.params;
            let __packs = &mut *__g.packs;
        });
        if !self.g.states.is_empty() {
            let vars: Vec<_> = (0..self.g.states.len())
                .map(|k| format_ident!("__s{}", k))
                .collect();
            let dvars: Vec<_> = (0..self.g.states.len())
                .map(|k| format_ident!("__ds{}", k))
                .collect();
            b.push(quote!(let [#(#vars),*] = &__r.states[..] else { return };));
            b.push(quote!(let [#(#dvars),*] = &mut __g.states[..] else { return };));
            for (k, s) in self.g.states.iter().enumerate() {
                let len = self.vec_len(&s.shape);
                let (sv, prev, next) = (
                    &vars[k],
                    format_ident!("__s{}_prev", k),
                    format_ident!("__s{}_next", k),
                );
                let (dv, dprev, dnext) = (
                    &dvars[k],
                    format_ident!("__ds{}_prev", k),
                    format_ident!("__ds{}_next", k),
                );
                let _ = len;
                b.push(quote! {
                    let #prev = #sv.step(__t);
                    let #next = #sv.step(__t + 1);
                    let (#dprev, #dnext) = #dv.pair_back(__t);
                });
            }
        }
        if !self.g.outputs.is_empty() {
            let vars: Vec<_> = (0..self.g.outputs.len())
                .map(|k| format_ident!("__o{}", k))
                .collect();
            let dvars: Vec<_> = (0..self.g.outputs.len())
                .map(|k| format_ident!("__dy{}", k))
                .collect();
            b.push(quote!(let [#(#vars),*] = &__r.outputs[..] else { return };));
            b.push(quote!(let [#(#dvars),*] = &__g.outputs[..] else { return };));
            for k in 0..self.g.outputs.len() {
                let (v, dv) = (&vars[k], &dvars[k]);
                b.push(quote! {
                    let #v = #v.step(__t);
                    let #dv = #dv.step(__t);
                });
            }
        }
        if !self.p.slots.is_empty() {
            let vars: Vec<_> = (0..self.p.slots.len()).map(Self::slot_var).collect();
            b.push(quote!(let [#(#vars),*] = &__r.slots[..] else { return };));
            for v in &vars {
                b.push(quote!(let #v = #v.step(__t);));
            }
        }
        if !self.p.groups.is_empty() {
            let vars: Vec<_> = (0..self.p.groups.len())
                .map(|k| format_ident!("__dz{}", k))
                .collect();
            b.push(quote!(let [#(#vars),*] = &mut __g.groups[..] else { return };));
            for v in &vars {
                b.push(quote! {
                    let #v = #v.step_mut(__t);
                    #v.fill(T::zero());
                });
            }
        }
        b.push(self.bind_masks(quote!(__r)));
        b.push(self.bind_weights(quote!(__r)));
        if !self.b.scratch.is_empty() {
            let vars: Vec<_> = (0..self.b.scratch.len())
                .map(|k| format_ident!("__sc{}", k))
                .collect();
            b.push(quote!(let [#(#vars),*] = &mut __g.scratch[..] else { return };));
            for v in &vars {
                b.push(quote! {
                    let #v = #v.step_mut(0);
                    #v.fill(T::zero());
                });
            }
        }
        quote!(#(#b)*)
    }

    /// `(slice, rows, offset)` of the buffer that accumulates a node's
    /// adjoint, when it is a buffer.
    fn adj_buffer(&self, node: NodeId) -> Option<(TokenStream, TokenStream, TokenStream)> {
        let zero = quote!(0usize);
        let len = |a: Option<&Affine>| self.len(a.unwrap_or(&self.zero_len()));
        Some(match &self.b.adj[node] {
            Adj::Scratch(k) => {
                let v = format_ident!("__sc{}", k);
                (quote!(#v), len(self.g.len_of(node)), zero)
            }
            Adj::Group(k, off) => {
                let v = format_ident!("__dz{}", k);
                (quote!(#v), self.len(&self.p.groups[*k].rows), self.len(off))
            }
            Adj::Input => (quote!(__dx), len(self.g.input.shape.vector_len()), zero),
            Adj::StatePrev(k) => {
                let v = format_ident!("__ds{}_prev", k);
                (quote!(#v), len(self.g.states[*k].shape.vector_len()), zero)
            }
            Adj::None | Adj::Local | Adj::Param(_) => return None,
        })
    }

    /// Adds `value` to the adjoint of `arg`, seen from a pass at `level`.
    fn add_adjoint(
        &self,
        arg: NodeId,
        value: TokenStream,
        level: usize,
        prelude: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let elementwise = matches!(
            self.g.nodes[arg].op,
            Op::Binary(..) | Op::Neg(_) | Op::Func(..)
        );
        if elementwise && self.p.level[arg] == level {
            let g = self.adj_var(arg);
            return quote!(#g += #value;);
        }
        if let Adj::Param(k) = self.b.adj[arg] {
            let off = format_ident!("__po{}", k);
            let block = self.param_block(k);
            prelude.push(quote!(let #off = #block.off;));
            return quote!(__dp[#off + __i] += #value;);
        }
        match self.adj_buffer(arg) {
            Some((buf, rows, off)) => quote!(#buf[__j * #rows + #off + __i] += #value;),
            None => quote!(),
        }
    }

    /// The adjoint contributions of one node to its arguments.
    fn node_backward(
        &self,
        node: NodeId,
        level: usize,
        prelude: &mut Vec<TokenStream>,
    ) -> Vec<TokenStream> {
        let cf = &self.cf;
        let g = self.adj_var(node);
        let one = quote!(T::one());
        let mut out = Vec::new();
        let live = |a: NodeId| self.b.adj[a] != Adj::None;
        match &self.g.nodes[node].op {
            Op::Binary(op, a, b) => {
                let (a, b) = (*a, *b);
                let (va, vb) = (self.read(a, level, prelude), self.read(b, level, prelude));
                let (ga, gb) = match op {
                    Bin::Add => (quote!(#g), quote!(#g)),
                    Bin::Sub => (quote!(#g), quote!(-#g)),
                    Bin::Mul => (quote!(#g * #vb), quote!(#g * #va)),
                    Bin::Div => (quote!(#g / #vb), quote!(-(#g * #va) / (#vb * #vb))),
                };
                if live(a) {
                    out.push(self.add_adjoint(a, ga, level, prelude));
                }
                if live(b) {
                    out.push(self.add_adjoint(b, gb, level, prelude));
                }
            }
            Op::Neg(a) if live(*a) => out.push(self.add_adjoint(*a, quote!(-#g), level, prelude)),
            Op::Func(f, a) if live(*a) => {
                let y = self.value_var(node);
                let va = self.read(*a, level, prelude);
                let d = match f {
                    Func::Sigmoid => quote!(#g * #y * (#one - #y)),
                    Func::Tanh => quote!(#g * (#one - #y * #y)),
                    Func::Relu => quote!(if #va > T::zero() { #g } else { T::zero() }),
                    Func::Identity => quote!(#g),
                    Func::Exp => quote!(#g * #y),
                    Func::Log => quote!(#g / #va),
                    Func::HardSigmoid => quote!(#g * #cf::kernel::hard_sigmoid_slope(#va)),
                    Func::Sqrt => quote!(#g / (#y + #y)),
                    Func::Dyn(k) => {
                        let act = format_ident!("__A{}", k);
                        quote!(#g * <#act as #cf::__act::Act>::slope(#y))
                    }
                };
                out.push(self.add_adjoint(*a, d, level, prelude));
            }
            _ => {}
        }
        out
    }

    /// The upstream gradient of a root at element `(__i, __j)`.
    fn upstream(&self, loc: &Loc) -> TokenStream {
        match loc {
            Loc::StateNext(k) => {
                let v = format_ident!("__ds{}_next", k);
                let len = self.vec_len(&self.g.states[*k].shape);
                quote!(#v[__j * #len + __i])
            }
            Loc::Output(k) => {
                let v = format_ident!("__dy{}", k);
                let len = self.node_len(self.g.outputs[*k].node);
                quote!(#v[__j * #len + __i])
            }
            _ => quote!(T::zero()),
        }
    }

    fn back_pass(&self, pass: &BackPass, level: usize) -> TokenStream {
        let mut prelude = Vec::new();
        let lets = self.lets(&pass.nodes, level, true, &mut prelude);
        let mut inits = Vec::new();
        for &n in &pass.nodes {
            let g = self.adj_var(n);
            let mut init = vec![quote!(T::zero())];
            if let Some((buf, rows, off)) = self.adj_buffer(n) {
                init.push(quote!(#buf[__j * #rows + #off + __i]));
            }
            for (node, loc) in &pass.roots {
                if *node == n {
                    init.push(self.upstream(loc));
                }
            }
            inits.push(quote!(let mut #g: T = #(#init)+*;));
        }
        let mut body = Vec::new();
        for (node, loc) in &pass.roots {
            if !pass.nodes.contains(node) && self.b.adj[*node] != Adj::None {
                let up = self.upstream(loc);
                body.push(self.add_adjoint(*node, up, usize::MAX, &mut prelude));
            }
        }
        for &n in pass.nodes.iter().rev() {
            body.extend(self.node_backward(n, level, &mut prelude));
        }
        super::dedup(&mut prelude);
        let len = self.len(&pass.len);
        let mut windows = super::windows::Windows::default();
        let body = windows.rewrite(quote!(#(#lets)* #(#inits)* #(#body)*));
        let loops = windows.loops(body, &self.cf);
        quote! {
            {
                let __n = #len;
                #(#prelude)*
                #loops
            }
        }
    }

    /// The backward of a softmax or a reduction.
    fn vector_op_backward(&self, node: NodeId) -> TokenStream {
        match self.g.nodes[node].op {
            Op::Reduce(red, arg) => self.reduction_backward(node, red, arg),
            _ => self.softmax_backward(node),
        }
    }

    /// Adds the gradient of each part of a reduction's argument: `g` for a
    /// sum, `g / n` for a mean, `2 g (v − mean(v)) / n` for a variance.
    fn reduction_backward(&self, node: NodeId, red: Reduction, arg: NodeId) -> TokenStream {
        let cf = &self.cf;
        let Some((gy, gy_rows, gy_off)) = self.adj_buffer(node) else {
            return quote!();
        };
        let mut prelude = Vec::new();
        let (values, total) = self.part_slices(arg, "a", &mut prelude);
        let count = self.len(&total);
        let mut adds = Vec::new();
        for (k, p) in crate::plan::parts(self.g, arg).into_iter().enumerate() {
            let Some((ga, ga_rows, ga_off)) = self.adj_buffer(p) else {
                continue;
            };
            let n = self.node_len(p);
            let (r, o, l) = (
                format_ident!("__gr{}", k),
                format_ident!("__go{}", k),
                format_ident!("__gn{}", k),
            );
            prelude.push(quote!(let (#r, #o, #l) = (#ga_rows, #ga_off, #n);));
            let dst = quote!(&mut #ga[__j * #r + #o..__j * #r + #o + #l]);
            let value = &values[k];
            adds.push(match red {
                Reduction::Sum => quote!(#cf::kernel::add_all(#dst, __gy);),
                Reduction::Mean => quote!(#cf::kernel::add_all(#dst, __gy / __count);),
                Reduction::Var => {
                    quote!(#cf::kernel::var_backward(#value, #dst, __gy, __mean, __count);)
                }
            });
        }
        let mean = match red {
            Reduction::Var => quote!(let __mean = #cf::kernel::reduce_mean(&[#(#values),*]);),
            _ => quote!(),
        };
        quote! {
            {
                #(#prelude)*
                let __count = T::cast(#count as f64);
                let (__rg, __og) = (#gy_rows, #gy_off);
                for __j in 0..__m {
                    let __gy = #gy[__j * __rg + __og];
                    #mean
                    #(#adds)*
                }
            }
        }
    }

    /// Sums the adjoint of a broadcast along its vector into the adjoint of
    /// the number it repeats.
    fn broadcast_backward(&self, node: NodeId) -> TokenStream {
        let cf = &self.cf;
        let Op::Broadcast(x, _) = self.g.nodes[node].op else {
            return quote!();
        };
        let (Some((gb, gb_rows, gb_off)), Some((gx, gx_rows, gx_off))) =
            (self.adj_buffer(node), self.adj_buffer(x))
        else {
            return quote!();
        };
        let n = self.node_len(node);
        quote! {
            {
                let (__n, __rb, __ob, __rx, __ox) = (#n, #gb_rows, #gb_off, #gx_rows, #gx_off);
                for __j in 0..__m {
                    let __s = #cf::kernel::reduce_sum(&[&#gb[__j * __rb + __ob..__j * __rb + __ob + __n]]);
                    #gx[__j * __rx + __ox] += __s;
                }
            }
        }
    }

    fn softmax_backward(&self, node: NodeId) -> TokenStream {
        let cf = &self.cf;
        let Op::Softmax(arg) = self.g.nodes[node].op else {
            return quote!();
        };
        let Some((ga, ga_rows, ga_off)) = self.adj_buffer(arg) else {
            return quote!();
        };
        let Some((gy, gy_rows, gy_off)) = self.adj_buffer(node) else {
            return quote!();
        };
        let (y, y_rows, y_off) = self.buffer(self.p.loc[node].as_ref(), node);
        let len = self.node_len(node);
        quote! {
            {
                let __n = #len;
                let (__ry, __oy, __rg, __og, __ra, __oa) = (#y_rows, #y_off, #gy_rows, #gy_off, #ga_rows, #ga_off);
                for __j in 0..__m {
                    #cf::kernel::softmax_backward(
                        &#y[__j * __ry + __oy..__j * __ry + __oy + __n],
                        &#gy[__j * __rg + __og..__j * __rg + __og + __n],
                        &mut #ga[__j * __ra + __oa..__j * __ra + __oa + __n],
                    );
                }
            }
        }
    }

    /// Per step: the adjoint of each non-hoisted operand part is the stacked
    /// transposed weights times the group's pre-activation gradient.
    fn group_backward(&self, k: usize, gr: &Group) -> TokenStream {
        let cf = &self.cf;
        let dz = format_ident!("__dz{}", k);
        let rows = self.len(&gr.rows);
        let w = self.weights();
        let mut out = Vec::new();
        for (target_rows, a_block) in self.member_sets(gr) {
            for c in gr.components.iter().filter(|c| !c.hoisted) {
                let Some((buf, brows, boff)) = self.adj_buffer(c.node) else {
                    continue;
                };
                let (col, len) = (self.len(&c.col_off), self.len(&c.len));
                out.push(quote! {
                    #cf::kernel::gemm_cached(
                        &mut *__packs,
                        &mut *#buf, #cf::kernel::Block::dense(0, #brows, __m).rows(#boff, #len),
                        #w, #a_block.columns(#col, #len), true,
                        &*#dz, #cf::kernel::Block::dense(0, #rows, __m)#target_rows, false,
                        T::one(),
                    );
                });
            }
        }
        quote!(#(#out)*)
    }

    /// The passes and products of one step's backward, without bindings.
    fn backward_step_body(&self) -> Vec<TokenStream> {
        let mut body = Vec::new();
        for level in (0..self.p.phases.len()).rev() {
            let passes = self.b.passes.get(level).into_iter().flatten();
            for pass in passes.clone().filter(|p| !p.per_example) {
                body.push(self.back_pass(pass, level));
            }
            for &n in self.b.broadcasts.get(level).into_iter().flatten() {
                body.push(self.broadcast_backward(n));
            }
            for pass in passes.filter(|p| p.per_example) {
                body.push(self.back_pass(pass, level));
            }
            let phase = &self.p.phases[level];
            for &s in &phase.vector_ops {
                body.push(self.vector_op_backward(s));
            }
            for &k in &phase.groups {
                body.push(self.group_backward(k, &self.p.groups[k]));
            }
        }
        body
    }

    /// Whether the input's gradient is written by `backward_finish` alone:
    /// no step adds to it, and a product over all steps sends the hoisted
    /// products' gradient to it. That product then overwrites it
    /// (\(\beta = 0\)), and the steps neither bind nor zero it.
    fn input_gradient_in_finish(&self) -> bool {
        let hoisted = self
            .p
            .groups
            .iter()
            .any(|g| g.components.iter().any(|c| c.hoisted));
        hoisted
            && !self
                .backward_step_body()
                .iter()
                .any(|t| mentions(t, "__dx"))
    }

    pub(super) fn backward_step(&self) -> TokenStream {
        let binds = self.backward_binds(!self.input_gradient_in_finish());
        let body = self.backward_step_body();
        quote! {
            #binds
            #(#body)*
        }
    }

    /// The value of an operand part over all steps: `(slice, block)`.
    fn all_steps(&self, node: NodeId) -> (TokenStream, TokenStream) {
        let cf = &self.cf;
        let len = |a: Option<&Affine>| self.len(a.unwrap_or(&self.zero_len()));
        let n = len(self.g.len_of(node));
        match self.p.loc[node].as_ref() {
            Some(Loc::Input) => (
                quote!(__r.input),
                quote!(#cf::kernel::Block::dense(0, #n, __cols)),
            ),
            Some(Loc::StatePrev(k)) => (
                quote!(__r.states[#k].as_slice()),
                quote!(#cf::kernel::Block::dense(0, #n, __cols)),
            ),
            Some(Loc::StateNext(k)) => (
                quote!(__r.states[#k].as_slice()),
                quote!(#cf::kernel::Block::dense(__r.m * #n, #n, __cols)),
            ),
            Some(Loc::Output(k)) => (
                quote!(__r.outputs[#k].as_slice()),
                quote!(#cf::kernel::Block::dense(0, #n, __cols)),
            ),
            Some(Loc::Slot(q, off)) => {
                let (rows, off) = (self.len(&self.p.slots[*q].rows), self.len(off));
                (
                    quote!(__r.slots[#q].as_slice()),
                    quote!(#cf::kernel::Block::dense(0, #rows, __cols).rows(#off, #n)),
                )
            }
            Some(Loc::Noise(_)) | None => (quote!(&[]), quote!(#cf::kernel::Block::dense(0, 0, 0))),
        }
    }

    pub(super) fn backward_finish(&self) -> TokenStream {
        let cf = &self.cf;
        let input_len = self.vec_len(&self.g.input.shape);
        let w = self.weights();
        let mut out = Vec::new();
        // The first product into the input's gradient overwrites it when no
        // step wrote it; the others add.
        let mut overwrite = self.input_gradient_in_finish();
        for (k, gr) in self.p.groups.iter().enumerate() {
            let rows = self.len(&gr.rows);
            for (target_rows, a_block) in self.member_sets(gr) {
                for c in &gr.components {
                    let (col, len) = (self.len(&c.col_off), self.len(&c.len));
                    let (src, src_block) = self.all_steps(c.node);
                    out.push(quote! {
                        #cf::kernel::gemm_t(
                            &mut *__g.params, #a_block.columns(#col, #len),
                            __g.groups[#k].as_slice(), #cf::kernel::Block::dense(0, #rows, __cols)#target_rows, false,
                            #src, #src_block, true,
                            T::one(),
                        );
                    });
                    if c.hoisted {
                        let beta = if std::mem::take(&mut overwrite) {
                            quote!(T::zero())
                        } else {
                            quote!(T::one())
                        };
                        out.push(quote! {
                            #cf::kernel::gemm_cached(
                                &mut *__g.packs,
                                &mut *__g.input, #cf::kernel::Block::dense(0, #input_len, __cols),
                                #w, #a_block.columns(#col, #len), true,
                                __g.groups[#k].as_slice(), #cf::kernel::Block::dense(0, #rows, __cols)#target_rows, false,
                                #beta,
                            );
                        });
                    }
                }
            }
        }
        if out.is_empty() {
            return quote!();
        }
        let weights = self.bind_weights(quote!(__r));
        quote! {
            let (__d, __offsets) = (&self.dims, self.offsets);
            let __r = trace.parts_ref();
            let __cols = __r.m * __r.steps;
            let __g = grads.parts();
            #weights
            #(#out)*
        }
    }
}

/// Whether `tokens` mention the identifier `name`, at any depth.
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), name),
        _ => false,
    })
}
