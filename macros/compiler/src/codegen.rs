//! Code generation: the cell type, its dims, params, state and output types,
//! and its implementation of the runtime's `Cell` trait, from a [`Plan`].

use crate::adjoint::BackPlan;
use crate::graph::{Bin, Func, Graph, Init, MaskLaw, NodeId, Op, Reduction};

mod backward;
mod windows;
use crate::plan::{Component, Group, Loc, Pass, Plan};
use crate::render;
use crate::shape::{Affine, Shape};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Generates the items of a checked, planned cell.
pub fn generate(g: &Graph, p: &Plan, b: &BackPlan) -> TokenStream {
    let cx = Gen {
        g,
        p,
        b,
        cf: quote!(::cellforge::__private),
    };
    let types = cx.types();
    let inherent = cx.inherent();
    let cell_impl = cx.cell_impl();
    quote! {
        #types
        #inherent
        #cell_impl
    }
}

struct Gen<'a> {
    g: &'a Graph,
    p: &'a Plan,
    b: &'a BackPlan,
    cf: TokenStream,
}

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

impl Gen<'_> {
    fn name(&self, suffix: &str) -> Ident {
        format_ident!("{}{}", self.g.name, suffix)
    }

    /// A length as a `usize` expression over `__d` (the cell's dims).
    fn len(&self, a: &Affine) -> TokenStream {
        let mut plus = Vec::new();
        let mut minus = Vec::new();
        for (&dim, &coeff) in &a.terms {
            let d = &self.g.dims[dim];
            let mag = coeff.unsigned_abs() as usize;
            let term = if mag == 1 {
                quote!(__d.#d)
            } else {
                quote!((#mag * __d.#d))
            };
            if coeff > 0 {
                plus.push(term)
            } else {
                minus.push(term)
            }
        }
        let c = a.constant.unsigned_abs() as usize;
        if a.constant > 0 || plus.is_empty() {
            plus.push(quote!(#c));
        } else if a.constant < 0 {
            minus.push(quote!(#c));
        }
        if plus.len() == 1 && minus.is_empty() {
            let only = &plus[0];
            return quote!(#only);
        }
        quote!((#(#plus)+* #(- #minus)*))
    }

    /// The length of a vector shape as a `usize` expression (0 for others).
    fn vec_len(&self, shape: &Shape) -> TokenStream {
        self.len(shape.vector_len().unwrap_or(&Affine::constant(0)))
    }

    /// The length of a node's vector value as a `usize` expression.
    fn node_len(&self, node: NodeId) -> TokenStream {
        self.len(self.g.len_of(node).unwrap_or(&Affine::constant(0)))
    }

    /// Whether the cell has DropConnect masks, so that its products read
    /// the masked weights of the run.
    fn has_dropconnect(&self) -> bool {
        self.g.masks.iter().any(|m| m.param.is_some())
    }

    /// The slice the products read their weights from: the cell's
    /// parameters, or the run's masked copy of them (`__w`).
    fn weights(&self) -> TokenStream {
        if self.has_dropconnect() {
            quote!(__w)
        } else {
            quote!(&self.params)
        }
    }

    /// Binds `__w` from trace parts `parts`, for a cell with DropConnect.
    fn bind_weights(&self, parts: TokenStream) -> TokenStream {
        if !self.has_dropconnect() {
            return TokenStream::new();
        }
        quote! {
            let __w: &[T] = if #parts.weights.is_empty() { &self.params } else { #parts.weights };
        }
    }

    /// Binds `__z0, __z1, ...`, the vector masks of step `__t`, from trace
    /// parts `parts`: a mask drawn once per sequence is the same slice at
    /// every step.
    fn bind_masks(&self, parts: TokenStream) -> TokenStream {
        let mut out = Vec::new();
        for (k, m) in self.g.masks.iter().enumerate() {
            let v = format_ident!("__z{}", k);
            out.push(match m.law {
                MaskLaw::Dropout(_) => quote!(let #v = #parts.noise[#k].step(0);),
                MaskLaw::Zoneout(_) => quote!(let #v = #parts.noise[#k].step(__t);),
                MaskLaw::DropConnect(_) => continue,
            });
        }
        quote!(#(#out)*)
    }

    fn doc_attrs(lines: &[String]) -> TokenStream {
        quote!(#(#[doc = #lines])*)
    }

    fn types(&self) -> TokenStream {
        let cf = &self.cf;
        let vis = &self.g.vis;
        let name = &self.g.name;
        let dims_ty = self.name("Dims");
        let docs = Self::doc_attrs(&render::cell_docs(self.g));
        let dim_fields = self.g.dims.iter().map(|d| {
            let doc = format!("The dimension `{d}`.");
            quote!(#[doc = #doc] pub #d: usize)
        });
        let dims_doc = format!("The dimensions of [`{name}`].");
        let nblocks = self.p.blocks.len();
        let nact = self.g.activations.len();
        let nmasks = self.g.masks.len();
        let params = self.params_types();
        let tensors = [
            self.tensors_type(
                "State",
                &self
                    .g
                    .states
                    .iter()
                    .map(|s| (s.name.clone(), s.shape.clone()))
                    .collect::<Vec<_>>(),
                "state",
            ),
            self.tensors_type(
                "Output",
                &self
                    .g
                    .outputs
                    .iter()
                    .map(|o| (o.name.clone(), self.g.nodes[o.node].shape.clone()))
                    .collect::<Vec<_>>(),
                "outputs",
            ),
        ];
        quote! {
            #docs
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #name<T: #cf::Real = f64> {
                dims: #dims_ty,
                params: ::std::vec::Vec<T>,
                offsets: [usize; #nblocks],
                activations: [#cf::Activation; #nact],
                rates: [f64; #nmasks],
                version: #cf::ParamsVersion,
            }

            #[doc = #dims_doc]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            #vis struct #dims_ty {
                #(#dim_fields,)*
            }

            #params
            #(#tensors)*
        }
    }

    fn params_types(&self) -> TokenStream {
        let cf = &self.cf;
        let vis = &self.g.vis;
        let name = &self.g.name;
        let params_ty = self.name("Params");
        let view_ty = self.name("ParamsView");
        let dims = self.g.dim_names();
        let fields = self.g.params.iter().map(|p| {
            let doc = format!("`{}`: {}.", p.name, p.shape.display(&dims));
            let n = &p.name;
            match p.shape {
                Shape::Matrix(..) => quote!(#[doc = #doc] pub #n: #cf::nalgebra::DMatrix<T>),
                _ => quote!(#[doc = #doc] pub #n: #cf::nalgebra::DVector<T>),
            }
        });
        let view_fields = self.g.params.iter().map(|p| {
            let doc = format!("`{}`: {}.", p.name, p.shape.display(&dims));
            let n = &p.name;
            quote!(#[doc = #doc] pub #n: #cf::nalgebra::DMatrixView<'a, T, #cf::nalgebra::U1, #cf::nalgebra::Dyn>)
        });
        // A cell without parameters still needs its type parameters used.
        let (marker, view_marker) = if self.g.params.is_empty() {
            (
                quote!(#[doc(hidden)] pub __marker: ::core::marker::PhantomData<T>,),
                quote!(#[doc(hidden)] pub __marker: ::core::marker::PhantomData<&'a T>,),
            )
        } else {
            (quote!(), quote!())
        };
        let params_doc = format!("The parameters of [`{name}`], by name, as owned matrices.");
        let view_doc = format!("The parameters of [`{name}`], by name, as views into its storage.");
        quote! {
            #[doc = #params_doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #params_ty<T: #cf::Real = f64> {
                #(#fields,)*
                #marker
            }

            #[doc = #view_doc]
            #[derive(Clone, Debug)]
            #vis struct #view_ty<'a, T: #cf::Real = f64> {
                #(#view_fields,)*
                #view_marker
            }
        }
    }

    /// The state or output struct, or nothing when there are none.
    fn tensors_type(&self, suffix: &str, parts: &[(Ident, Shape)], what: &str) -> TokenStream {
        if parts.is_empty() {
            return TokenStream::new();
        }
        let cf = &self.cf;
        let vis = &self.g.vis;
        let ty = self.name(suffix);
        let dims = self.g.dim_names();
        let names: Vec<&Ident> = parts.iter().map(|(n, _)| n).collect();
        let strs: Vec<String> = names.iter().map(ToString::to_string).collect();
        let fields = parts.iter().map(|(n, s)| {
            let doc = format!(
                "`{n}`: {} × m, one column per example.",
                s.display(&dims).trim_matches(['[', ']'])
            );
            quote!(#[doc = #doc] pub #n: #cf::nalgebra::DMatrix<T>)
        });
        let doc = format!("The {what} of [`{}`].", self.g.name);
        quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #ty<T: #cf::Real = f64> {
                #(#fields,)*
            }

            #[automatically_derived]
            impl<T: #cf::Real> #cf::Tensors<T> for #ty<T> {
                fn names() -> &'static [&'static str] {
                    &[#(#strs),*]
                }
                fn parts(&self) -> ::std::vec::Vec<&#cf::nalgebra::DMatrix<T>> {
                    ::std::vec![#(&self.#names),*]
                }
                fn from_parts(parts: ::std::vec::Vec<#cf::nalgebra::DMatrix<T>>) -> Self {
                    let mut __it = parts.into_iter();
                    Self { #(#names: __it.next().unwrap_or_else(|| #cf::nalgebra::DMatrix::zeros(0, 0)),)* }
                }
            }
        }
    }

    /// The storage block of parameter `k`, as a `kernel::Block` expression.
    /// A layout block as a constant of the runtime's `Block`.
    fn layout_block(&self, block: &crate::layout::Block) -> TokenStream {
        let cf = &self.cf;
        match block {
            crate::layout::Block::Param(k) => {
                let name = self.g.params[*k].name.to_string();
                quote!(#cf::Block::Param(#name))
            }
            crate::layout::Block::Stack(items) => {
                let items = items.iter().map(|b| self.layout_block(b));
                quote!(#cf::Block::Stack(&[#(#items),*]))
            }
            crate::layout::Block::Transpose(inner) => {
                let inner = self.layout_block(inner);
                quote!(#cf::Block::Transpose(&#inner))
            }
        }
    }

    fn param_block(&self, k: usize) -> TokenStream {
        let cf = &self.cf;
        let v = &self.p.views[k];
        let b = v.block;
        let block_rows = self.len(&self.p.blocks[b].rows);
        let block_cols = self.len(&self.p.blocks[b].cols);
        let row_off = self.len(&v.row_off);
        let rows = self.len(&v.rows);
        quote!(#cf::kernel::Block::dense(__offsets[#b], #block_rows, #block_cols).rows(#row_off, #rows))
    }

    fn inherent(&self) -> TokenStream {
        let cf = &self.cf;
        let name = &self.g.name;
        let name_str = name.to_string();
        let dims_ty = self.name("Dims");
        let params_ty = self.name("Params");
        let view_ty = self.name("ParamsView");
        let nblocks = self.p.blocks.len();
        let dim_names: Vec<&Ident> = self.g.dims.iter().collect();
        let dim_strs: Vec<String> = dim_names.iter().map(ToString::to_string).collect();
        let block_sizes = self.p.blocks.iter().map(|b| {
            let (r, c) = (self.len(&b.rows), self.len(&b.cols));
            quote!((#r).checked_mul(#c))
        });
        let length_checks = self.length_checks();
        let dims = self.g.dim_names();
        let mut set = Vec::new();
        let equations = render::equations(self.g);
        let backward = crate::render_backward::backward_equations(
            self.g,
            crate::render_backward::Style::Plain,
        );
        let backward_latex = crate::render_backward::backward_equations(
            self.g,
            crate::render_backward::Style::Latex,
        );
        let act_names: Vec<String> = self
            .g
            .activations
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let act_defaults = self.g.activations.iter().map(|(_, f)| match f {
            Func::Tanh => quote!(#cf::Activation::Tanh),
            Func::Sigmoid => quote!(#cf::Activation::Sigmoid),
            Func::Relu => quote!(#cf::Activation::Relu),
            Func::HardSigmoid => quote!(#cf::Activation::HardSigmoid),
            _ => quote!(#cf::Activation::Linear),
        });
        let mask_names: Vec<String> = self.g.masks.iter().map(|m| m.name.to_string()).collect();
        let mask_rates: Vec<f64> = self.g.masks.iter().map(|m| m.law.rate()).collect();
        // Only a cell with masks has rates to set.
        let with_rate = if mask_names.is_empty() {
            quote!()
        } else {
            quote! {
                /// The cell with the rate of random mask `name` set to `rate`
                /// (in `[0, 1)`; 0 turns the mask off).
                pub fn with_rate(mut self, name: &str, rate: f64) -> ::std::result::Result<Self, #cf::Error> {
                    const NAMES: &[&str] = &[#(#mask_names),*];
                    let Some(k) = NAMES.iter().position(|n| *n == name) else {
                        return Err(#cf::Error::Name { kind: "mask", name: name.to_string(), known: NAMES.to_vec() });
                    };
                    #cf::check_rate(#name_str, name, rate)?;
                    self.rates[k] = rate;
                    Ok(self)
                }
            }
        };
        let marker_init = if self.g.params.is_empty() {
            quote!(__marker: ::core::marker::PhantomData,)
        } else {
            quote!()
        };
        let mut get = Vec::new();
        let mut get_grads = Vec::new();
        let mut views = Vec::new();
        let mut init = Vec::new();
        for (k, p) in self.g.params.iter().enumerate() {
            let n = &p.name;
            let nstr = n.to_string();
            let decl = p.shape.display(&dims);
            let block = self.param_block(k);
            let (rows, cols) = match &p.shape {
                Shape::Matrix(r, c) => (self.len(r), self.len(c)),
                Shape::Vector(r) => (self.len(r), quote!(1usize)),
                Shape::Scalar | Shape::PerExample => (quote!(1usize), quote!(1usize)),
            };
            set.push(quote! {
                #cf::check_param(#name_str, #nstr, #decl, (#rows, #cols), params.#n.shape())?;
                {
                    let __b = #block;
                    let mut __v = #cf::kernel::view_mut(&mut cell.params, __b);
                    __v.copy_from(&params.#n);
                }
            });
            let owned_grad = match p.shape {
                Shape::Matrix(..) => quote!(#cf::kernel::view(__flat, #block).into_owned()),
                _ => quote!(#cf::kernel::view(__flat, #block).column(0).into_owned()),
            };
            let owned = match p.shape {
                Shape::Matrix(..) => quote!(#cf::kernel::view(&self.params, #block).into_owned()),
                _ => quote!(#cf::kernel::view(&self.params, #block).column(0).into_owned()),
            };
            get.push(quote!(#n: #owned));
            get_grads.push(quote!(#n: #owned_grad));
            views.push(quote!(#n: #cf::kernel::view(&self.params, #block)));
            let how = match p.init {
                Init::Zeros => quote!(#cf::Init::Zeros),
                Init::Ones => quote!(#cf::Init::Ones),
                Init::Constant(v) => quote!(#cf::Init::Constant(#v)),
                Init::Normal(m, s) => quote!(#cf::Init::Normal { mean: #m, std: #s }),
                Init::Uniform(a, b) => quote!(#cf::Init::Uniform { low: #a, high: #b }),
                Init::GlorotUniform => quote!(#cf::Init::GlorotUniform),
                Init::Orthogonal => quote!(#cf::Init::Orthogonal),
            };
            init.push(quote! {
                #how.fill(&mut #cf::kernel::view_mut(&mut cell.params, #block), rng);
            });
        }
        quote! {
            #[automatically_derived]
            impl<T: #cf::Real> #name<T> {
                /// The equations as declared, one statement per line.
                pub const EQUATIONS: &'static str = #equations;
                /// The backward equations the compiler derived, as plain text.
                pub const BACKWARD: &'static str = #backward;
                /// The backward equations the compiler derived, as LaTeX
                /// (an `aligned` environment's body).
                pub const BACKWARD_LATEX: &'static str = #backward_latex;

                /// A cell of these dimensions with every parameter zero.
                ///
                /// Fails when a dimension is zero.
                pub fn zeros(dims: #dims_ty) -> ::std::result::Result<Self, #cf::Error> {
                    let __d = &dims;
                    #(
                        if __d.#dim_names == 0 {
                            return Err(#cf::Error::Dim { cell: #name_str, dim: #dim_strs, value: 0, reason: "must be at least 1" });
                        }
                    )*
                    #(#length_checks)*
                    let __sizes: [::core::option::Option<usize>; #nblocks] = [#(#block_sizes),*];
                    let mut offsets = [0usize; #nblocks];
                    let mut __total = 0usize;
                    for (__o, __s) in offsets.iter_mut().zip(__sizes) {
                        *__o = __total;
                        __total = __s.and_then(|__s| __total.checked_add(__s)).ok_or_else(|| #cf::Error::Shape {
                            tensor: ::std::format!("the parameters of `{}`", #name_str),
                            expected: "a size that fits in memory".into(),
                            found: "an overflow for these dimensions".into(),
                        })?;
                    }
                    Ok(Self {
                        dims,
                        params: ::std::vec![T::zero(); __total],
                        offsets,
                        activations: [#(#act_defaults),*],
                        rates: [#(#mask_rates),*],
                        version: #cf::ParamsVersion::new(),
                    })
                }

                /// A cell from explicit parameters; every shape is checked
                /// against the dimensions.
                pub fn new(dims: #dims_ty, params: &#params_ty<T>) -> ::std::result::Result<Self, #cf::Error> {
                    let mut cell = Self::zeros(dims)?;
                    let __d = &dims;
                    let __offsets = cell.offsets;
                    #(#set)*
                    Ok(cell)
                }

                /// A cell with every parameter drawn by its initialiser, in
                /// declaration order (by default Glorot uniform for a matrix,
                /// filled row by row as numpy fills an array, and zeros for a
                /// vector).
                pub fn init(dims: #dims_ty, rng: &mut #cf::NumpyRng) -> ::std::result::Result<Self, #cf::Error> {
                    let mut cell = Self::zeros(dims)?;
                    let __d = &dims;
                    let __offsets = cell.offsets;
                    #(#init)*
                    Ok(cell)
                }

                /// The cell's dimensions.
                pub fn dims(&self) -> #dims_ty {
                    self.dims
                }

                /// The cell with run-time activation `name` set to `activation`.
                pub fn with_activation(mut self, name: &str, activation: #cf::Activation) -> ::std::result::Result<Self, #cf::Error> {
                    const NAMES: &[&str] = &[#(#act_names),*];
                    let Some(k) = NAMES.iter().position(|n| *n == name) else {
                        return Err(#cf::Error::Name { kind: "activation", name: name.to_string(), known: NAMES.to_vec() });
                    };
                    self.activations[k] = activation;
                    Ok(self)
                }

                /// The run-time activations, in declaration order.
                pub fn activations(&self) -> &[#cf::Activation] {
                    &self.activations
                }

                #with_rate

                /// A copy of the parameters, by name.
                pub fn params(&self) -> #params_ty<T> {
                    let (__d, __offsets) = (&self.dims, self.offsets);
                    #params_ty { #(#get,)* #marker_init }
                }

                /// The parameters, by name, as views into the cell's storage.
                pub fn param_views(&self) -> #view_ty<'_, T> {
                    let (__d, __offsets) = (&self.dims, self.offsets);
                    #view_ty { #(#views,)* #marker_init }
                }

                /// The gradients of the parameters from a backward pass, by name.
                pub fn param_grads(&self, grads: &#cf::Gradients<T>) -> #params_ty<T> {
                    let (__d, __offsets) = (&self.dims, self.offsets);
                    let __flat = grads.params();
                    #params_ty { #(#get_grads,)* #marker_init }
                }

                /// The number of scalar parameters.
                pub fn param_count(&self) -> usize {
                    self.params.len()
                }
            }
        }
    }

    /// Every length that may fall below 1 for some dimensions (a negative
    /// coefficient, or below 1 when every dimension is 1) is checked when the
    /// cell is built.
    fn length_checks(&self) -> Vec<TokenStream> {
        let cf = &self.cf;
        let name = self.g.name.to_string();
        let dims = self.g.dim_names();
        let mut all: Vec<&Affine> = Vec::new();
        all.extend(self.g.input.shape.vector_len());
        all.extend(self.g.states.iter().filter_map(|s| s.shape.vector_len()));
        for p in &self.g.params {
            match &p.shape {
                Shape::Matrix(r, c) => all.extend([r, c]),
                Shape::Vector(n) => all.push(n),
                Shape::Scalar | Shape::PerExample => {}
            }
        }
        all.extend(self.g.nodes.iter().filter_map(|n| n.shape.vector_len()));
        let mut seen = std::collections::HashSet::new();
        all.into_iter()
            .filter(|a| {
                let at_ones = a.constant.saturating_add(a.terms.values().sum::<i64>());
                (a.terms.values().any(|c| *c < 0) || at_ones < 1) && seen.insert((*a).clone())
            })
            .map(|a| {
                let text = a.display(&dims).to_string();
                let c = a.constant;
                let terms = a.terms.iter().map(|(&d, &k)| {
                    let d = &self.g.dims[d];
                    quote!(+ #k * (__d.#d as i64))
                });
                quote! {
                    let __v: i64 = #c #(#terms)*;
                    if __v < 1 {
                        return Err(#cf::Error::Shape {
                            tensor: ::std::format!("the length `{}` in `{}`", #text, #name),
                            expected: "at least 1".into(),
                            found: __v.to_string(),
                        });
                    }
                }
            })
            .collect()
    }

    fn cell_impl(&self) -> TokenStream {
        let cf = &self.cf;
        let name = &self.g.name;
        let name_str = name.to_string();
        let state_ty = if self.g.states.is_empty() {
            quote!(#cf::Empty<T>)
        } else {
            let t = self.name("State");
            quote!(#t<T>)
        };
        let output_ty = if self.g.outputs.is_empty() {
            quote!(#cf::Empty<T>)
        } else {
            let t = self.name("Output");
            quote!(#t<T>)
        };
        let dims = self.g.dim_names();
        let dim_strs = &dims;
        let input = self.g.input.name.to_string();
        let states: Vec<String> = self.g.states.iter().map(|s| s.name.to_string()).collect();
        let outputs: Vec<String> = self.g.outputs.iter().map(|o| o.name.to_string()).collect();
        let params = self.g.params.iter().map(|p| {
            let (n, s) = (p.name.to_string(), p.shape.display(&dims));
            quote!((#n, #s))
        });
        let equations = render::equations(self.g);
        let input_len = self.vec_len(&self.g.input.shape);
        let state_lens: Vec<TokenStream> = self
            .g
            .states
            .iter()
            .map(|s| self.vec_len(&s.shape))
            .collect();
        let output_lens = self.g.outputs.iter().map(|o| self.node_len(o.node));
        let slot_lens = self.p.slots.iter().map(|s| self.len(&s.rows));
        let describe = std::iter::once((input.clone(), self.g.input.shape.clone()))
            .chain(
                self.g
                    .states
                    .iter()
                    .map(|s| (s.name.to_string(), s.shape.clone())),
            )
            .map(|(n, s)| {
                let len = self.len(s.vector_len().unwrap_or(&Affine::constant(0)));
                let text = s.display(&dims).trim_matches(['[', ']']).to_string();
                quote!((#n, #len, #text))
            });
        let group_lens = self.p.groups.iter().map(|g| self.len(&g.rows));
        let scratch_lens = self.b.scratch.iter().map(|r| self.len(r));
        let slots = self.g.params.iter().enumerate().map(|(k, p)| {
            let name = p.name.to_string();
            let block = self.param_block(k);
            let cols = match &p.shape {
                Shape::Matrix(_, c) => self.len(c),
                _ => quote!(1usize),
            };
            quote! {{
                let __b = #block;
                #cf::ParamSlot { name: #name, rows: __b.rows, cols: #cols, offset: __b.off, ld: __b.ld }
            }}
        });
        let layouts = self.g.layouts.iter().map(|l| {
            let framework = &l.framework;
            let tensors = l.tensors.iter().map(|(name, block)| {
                let block = self.layout_block(block);
                quote!(#cf::TensorLayout { name: #name, block: #block })
            });
            quote!(#cf::FrameworkLayout { framework: #framework, tensors: &[#(#tensors),*] })
        });
        let noise = self.g.masks.iter().map(|m| {
            let name = m.name.to_string();
            let (kind, rows, cols) = match (&m.law, &m.shape) {
                (MaskLaw::Dropout(_), s) => (quote!(Dropout), self.vec_len(s), quote!(1usize)),
                (MaskLaw::Zoneout(_), s) => (quote!(Zoneout), self.vec_len(s), quote!(1usize)),
                (MaskLaw::DropConnect(_), Shape::Matrix(r, c)) => (quote!(DropConnect), self.len(r), self.len(c)),
                (MaskLaw::DropConnect(_), _) => (quote!(DropConnect), quote!(0usize), quote!(0usize)),
            };
            let param = match m.param {
                Some(p) => quote!(::core::option::Option::Some(#p)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#cf::NoiseLayout { name: #name, kind: #cf::NoiseKind::#kind, rows: #rows, cols: #cols, param: #param })
        });
        let mask_names: Vec<String> = self.g.masks.iter().map(|m| m.name.to_string()).collect();
        let backward_step = self.backward_step();
        let backward_finish = self.backward_finish();
        let hoist = self.hoist_body();
        let step = self.step_body();
        quote! {
            #[automatically_derived]
            impl<T: #cf::Real> #cf::Cell<T> for #name<T> {
                type State = #state_ty;
                type Output = #output_ty;

                const SPEC: #cf::CellSpec = #cf::CellSpec {
                    name: #name_str,
                    dims: &[#(#dim_strs),*],
                    input: #input,
                    states: &[#(#states),*],
                    outputs: &[#(#outputs),*],
                    params: &[#(#params),*],
                    equations: #equations,
                    layouts: &[#(#layouts),*],
                    masks: &[#(#mask_names),*],
                };

                fn layout(&self) -> #cf::Layout {
                    let __d = &self.dims;
                    #cf::Layout {
                        input: #input_len,
                        states: ::std::vec![#(#state_lens),*],
                        outputs: ::std::vec![#(#output_lens),*],
                        slots: ::std::vec![#(#slot_lens),*],
                        noise: ::std::vec![#(#noise),*],
                    }
                }

                fn noise_rates(&self) -> &[f64] {
                    &self.rates
                }

                fn describe_rows(&self) -> ::std::vec::Vec<(&'static str, usize, &'static str)> {
                    let __d = &self.dims;
                    ::std::vec![#(#describe),*]
                }

                fn backward_layout(&self) -> #cf::BackwardLayout {
                    let __d = &self.dims;
                    #cf::BackwardLayout {
                        groups: ::std::vec![#(#group_lens),*],
                        scratch: ::std::vec![#(#scratch_lens),*],
                    }
                }

                fn param_slots(&self) -> ::std::vec::Vec<#cf::ParamSlot> {
                    let (__d, __offsets) = (&self.dims, self.offsets);
                    ::std::vec![#(#slots),*]
                }

                fn flat_params(&self) -> &[T] {
                    &self.params
                }

                fn flat_params_mut(&mut self) -> &mut [T] {
                    self.version = #cf::ParamsVersion::new();
                    &mut self.params
                }

                fn params_version(&self) -> ::core::option::Option<u64> {
                    ::core::option::Option::Some(self.version.get())
                }

                #[allow(unused_variables, unused_mut, clippy::identity_op, clippy::erasing_op, clippy::needless_range_loop)]
                fn backward_step(&self, __r: &#cf::StepRefs<'_, T>, __g: &mut #cf::GradStep<'_, T>, __t: usize) {
                    #backward_step
                }

                #[allow(unused_variables, clippy::identity_op, clippy::erasing_op)]
                fn backward_finish(&self, trace: &#cf::Trace<T>, grads: &mut #cf::Gradients<T>) {
                    #backward_finish
                }

                #[allow(unused_variables, clippy::identity_op, clippy::erasing_op)]
                fn hoist(&self, trace: &mut #cf::Trace<T>) {
                    #hoist
                }

                #[allow(unused_variables, unused_mut, clippy::identity_op, clippy::erasing_op, clippy::needless_range_loop)]
                fn step_kernel(&self, __p: &mut #cf::StepParts<'_, T>, __t: usize) {
                    #step
                }
            }
        }
    }

    fn slot_var(k: usize) -> Ident {
        format_ident!("__q{}", k)
    }

    /// Binds every slot buffer: `let [__q0, __q1] = __p.slots else { return };`
    fn bind_slots(&self) -> TokenStream {
        if self.p.slots.is_empty() {
            return TokenStream::new();
        }
        let vars = (0..self.p.slots.len()).map(Self::slot_var);
        quote!(let [#(#vars),*] = __p.slots else { return };)
    }

    fn hoist_body(&self) -> TokenStream {
        let cf = &self.cf;
        let mut gemms = Vec::new();
        for gr in &self.p.groups {
            let hoisted: Vec<&Component> = gr.components.iter().filter(|c| c.hoisted).collect();
            if hoisted.is_empty() {
                continue;
            }
            let q = Self::slot_var(gr.slot);
            let rows = self.len(&gr.rows);
            let w = self.weights();
            for (target_rows, a_block) in self.member_sets(gr) {
                for (k, c) in hoisted.iter().enumerate() {
                    let beta = if k == 0 {
                        quote!(T::zero())
                    } else {
                        quote!(T::one())
                    };
                    let (col, len) = (self.len(&c.col_off), self.len(&c.len));
                    gemms.push(quote! {
                        #cf::kernel::gemm(
                            #q.as_mut_slice(), #cf::kernel::Block::dense(0, #rows, __cols)#target_rows,
                            #w, #a_block.columns(#col, #len),
                            __p.input, #cf::kernel::Block::dense(0, #len, __cols),
                            #beta,
                        );
                    });
                }
            }
        }
        if gemms.is_empty() {
            return quote!();
        }
        let slots = self.bind_slots();
        let weights = self.bind_weights(quote!(__p));
        quote! {
            let (__d, __offsets) = (&self.dims, self.offsets);
            let __p = trace.parts();
            let __cols = __p.m * __p.steps;
            #weights
            #slots
            #(#gemms)*
        }
    }

    /// The products of a group: the stacked block (one product), then each
    /// parameter that is shared with another group. Each is `(row selection
    /// of the slot, block of the parameters)`.
    fn member_sets(&self, gr: &Group) -> Vec<(TokenStream, TokenStream)> {
        let cf = &self.cf;
        let mut sets = Vec::new();
        if let Some(b) = gr.block {
            let block_rows = self.len(&self.p.blocks[b].rows);
            let block_cols = self.len(&self.p.blocks[b].cols);
            let rows = self.len(&gr.stacked_rows);
            sets.push((
                quote!(.rows(0, #rows)),
                quote!(#cf::kernel::Block::dense(__offsets[#b], #block_rows, #block_cols)),
            ));
        }
        for m in gr.members.iter().filter(|m| !m.stacked) {
            let (off, rows) = (self.len(&m.row_off), self.len(&m.rows));
            sets.push((quote!(.rows(#off, #rows)), self.param_block(m.param)));
        }
        sets
    }

    fn step_body(&self) -> TokenStream {
        let mut binds = vec![quote! {
            let (__d, __offsets) = (&self.dims, self.offsets);
            let __m = __p.m;
            let __x = __p.input.step(__t);
        }];
        if !self.g.states.is_empty() {
            let vars = (0..self.g.states.len()).map(|k| format_ident!("__s{}", k));
            binds.push(quote!(let [#(#vars),*] = &mut __p.states[..] else { return };));
            for (k, s) in self.g.states.iter().enumerate() {
                let (sv, prev, next) = (
                    format_ident!("__s{}", k),
                    format_ident!("__s{}_prev", k),
                    format_ident!("__s{}_next", k),
                );
                let len = self.vec_len(&s.shape);
                let _ = len;
                binds.push(quote!(let (#prev, #next) = #sv.pair(__t);));
            }
        }
        if !self.g.outputs.is_empty() {
            let vars = (0..self.g.outputs.len()).map(|k| format_ident!("__o{}", k));
            binds.push(quote!(let [#(#vars),*] = &mut __p.outputs[..] else { return };));
            for k in 0..self.g.outputs.len() {
                let v = format_ident!("__o{}", k);
                binds.push(quote!(let #v = #v.step_mut(__t);));
            }
        }
        if !self.p.slots.is_empty() {
            let vars = (0..self.p.slots.len()).map(Self::slot_var);
            binds.push(quote!(let [#(#vars),*] = &mut __p.slots[..] else { return };));
        }
        for k in 0..self.p.slots.len() {
            let v = Self::slot_var(k);
            binds.push(quote!(let #v = #v.step_mut(__t);));
        }
        binds.push(self.bind_masks(quote!(__p)));
        binds.push(self.bind_weights(quote!(__p)));
        binds.push(quote!(let __packs = &mut *__p.packs;));
        let mut body = Vec::new();
        for (level, phase) in self.p.phases.iter().enumerate() {
            let comment = format!("level {level}");
            let _ = comment;
            for &k in &phase.groups {
                body.push(self.step_gemms(&self.p.groups[k]));
            }
            for &s in &phase.vector_ops {
                body.push(self.vector_op(s));
            }
            for pass in &phase.passes {
                body.push(self.pass(pass));
            }
        }
        quote! {
            #(#binds)*
            #(#body)*
        }
    }

    /// The slice and block that hold a node's value at this step.
    fn read_block(&self, node: NodeId) -> (TokenStream, TokenStream, TokenStream) {
        let cf = &self.cf;
        let len = self.node_len(node);
        let (slice, rows, off) = self.buffer(self.p.loc[node].as_ref(), node);
        (
            slice,
            quote!(#cf::kernel::Block::dense(0, #rows, __m).rows(#off, #len)),
            len,
        )
    }

    /// `(slice expression, rows of the buffer, row offset)` of a location.
    fn buffer(&self, loc: Option<&Loc>, node: NodeId) -> (TokenStream, TokenStream, TokenStream) {
        let zero = quote!(0usize);
        let len_of = |k: &Affine| self.len(k);
        match loc {
            Some(Loc::Input) => (quote!(__x), self.vec_len(&self.g.input.shape), zero),
            Some(Loc::StatePrev(k)) => {
                let v = format_ident!("__s{}_prev", k);
                (quote!(#v), self.vec_len(&self.g.states[*k].shape), zero)
            }
            Some(Loc::StateNext(k)) => {
                let v = format_ident!("__s{}_next", k);
                (quote!(#v), self.vec_len(&self.g.states[*k].shape), zero)
            }
            Some(Loc::Output(k)) => {
                let v = format_ident!("__o{}", k);
                (quote!(#v), self.node_len(self.g.outputs[*k].node), zero)
            }
            Some(Loc::Slot(k, off)) => {
                let v = Self::slot_var(*k);
                (quote!(#v), len_of(&self.p.slots[*k].rows), len_of(off))
            }
            Some(Loc::Noise(k)) => {
                let v = format_ident!("__z{}", k);
                (quote!(#v), self.vec_len(&self.g.masks[*k].shape), zero)
            }
            None => {
                let v = format_ident!("__missing{}", node);
                (quote!(#v), zero.clone(), zero)
            }
        }
    }

    fn step_gemms(&self, gr: &Group) -> TokenStream {
        let cf = &self.cf;
        let any_hoisted = gr.components.iter().any(|c| c.hoisted);
        let q = Self::slot_var(gr.slot);
        let rows = self.len(&gr.rows);
        let w = self.weights();
        let mut out = Vec::new();
        for (target_rows, a_block) in self.member_sets(gr) {
            for (k, c) in gr.components.iter().filter(|c| !c.hoisted).enumerate() {
                let beta = if k == 0 && !any_hoisted {
                    quote!(T::zero())
                } else {
                    quote!(T::one())
                };
                let col = self.len(&c.col_off);
                let (slice, block, len) = self.read_block(c.node);
                out.push(quote! {
                    #cf::kernel::gemm_cached(
                        &mut *__packs,
                        &mut *#q, #cf::kernel::Block::dense(0, #rows, __m)#target_rows,
                        #w, #a_block.columns(#col, #len), false,
                        &*#slice, #block, false,
                        #beta,
                    );
                });
            }
        }
        quote!(#(#out)*)
    }

    /// A softmax or a reduction, per example.
    fn vector_op(&self, node: NodeId) -> TokenStream {
        match self.g.nodes[node].op {
            Op::Reduce(red, arg) => self.reduction(node, red, arg),
            _ => self.softmax(node),
        }
    }

    /// The slices of the parts of `node` for example `__j`, as an array
    /// expression, with the bindings of their rows and offsets; and their
    /// total length.
    fn part_slices(
        &self,
        node: NodeId,
        prefix: &str,
        prelude: &mut Vec<TokenStream>,
    ) -> (Vec<TokenStream>, Affine) {
        let mut slices = Vec::new();
        let mut total = Affine::constant(0);
        for (k, p) in crate::plan::parts(self.g, node).into_iter().enumerate() {
            let (buf, rows, off) = self.buffer(self.p.loc[p].as_ref(), p);
            let len = self.g.len_of(p).cloned().unwrap_or(Affine::constant(0));
            total = total.add(&len);
            let n = self.len(&len);
            let (r, o, l) = (
                format_ident!("__{}r{}", prefix, k),
                format_ident!("__{}o{}", prefix, k),
                format_ident!("__{}n{}", prefix, k),
            );
            prelude.push(quote!(let (#r, #o, #l) = (#rows, #off, #n);));
            slices.push(quote!(&#buf[__j * #r + #o..__j * #r + #o + #l]));
        }
        (slices, total)
    }

    /// `sum`, `mean` or `var` of each example's vector, into its slot.
    fn reduction(&self, node: NodeId, red: Reduction, arg: NodeId) -> TokenStream {
        let cf = &self.cf;
        let mut prelude = Vec::new();
        let (parts, _) = self.part_slices(arg, "a", &mut prelude);
        let (dst, dst_rows, dst_off) = self.buffer(self.p.loc[node].as_ref(), node);
        let f = match red {
            Reduction::Sum => quote!(reduce_sum),
            Reduction::Mean => quote!(reduce_mean),
            Reduction::Var => quote!(reduce_var),
        };
        quote! {
            {
                #(#prelude)*
                let (__rd, __od) = (#dst_rows, #dst_off);
                for __j in 0..__m {
                    let __v = #cf::kernel::#f(&[#(#parts),*]);
                    #dst[__j * __rd + __od] = __v;
                }
            }
        }
    }

    fn softmax(&self, node: NodeId) -> TokenStream {
        let cf = &self.cf;
        let Op::Softmax(arg) = self.g.nodes[node].op else {
            return quote!();
        };
        let len = self.node_len(node);
        let (src, src_rows, src_off) = self.buffer(self.p.loc[arg].as_ref(), arg);
        let (dst, dst_rows, dst_off) = self.buffer(self.p.loc[node].as_ref(), node);
        quote! {
            {
                let __n = #len;
                let (__rs, __os, __rd, __od) = (#src_rows, #src_off, #dst_rows, #dst_off);
                for __j in 0..__m {
                    #cf::kernel::softmax(
                        &#src[__j * __rs + __os..__j * __rs + __os + __n],
                        &mut #dst[__j * __rd + __od..__j * __rd + __od + __n],
                    );
                }
            }
        }
    }

    /// The local holding a node's value in a pass.
    fn value_var(&self, node: NodeId) -> Ident {
        self.local("__v", node)
    }

    /// A local for a node: `<prefix><id>`, followed by the name a statement
    /// gave it (without `r#`), so names are unique and readable.
    pub(super) fn local(&self, prefix: &str, node: NodeId) -> Ident {
        match &self.g.labels[node] {
            Some(l) => format_ident!("{}{}_{}", prefix, node, l.trim_start_matches("r#")),
            None => format_ident!("{}{}", prefix, node),
        }
    }

    /// The value of `node` inside a pass at `level`, for element `(__i, __j)`.
    fn read(&self, node: NodeId, level: usize, prelude: &mut Vec<TokenStream>) -> TokenStream {
        let cf = &self.cf;
        let n = &self.g.nodes[node];
        match &n.op {
            Op::Const(bits) => {
                let v = f64::from_bits(*bits);
                let var = format_ident!("__k{}", node);
                prelude.push(quote!(let #var = T::cast(#v);));
                quote!(#var)
            }
            Op::Param(k) => {
                let var = format_ident!("__p{}", k);
                let block = self.param_block(*k);
                prelude.push(quote!(let #var = #cf::kernel::column(&self.params, #block);));
                quote!(#var[__i])
            }
            Op::Binary(..) | Op::Neg(_) | Op::Func(..) if self.p.level[node] == level => {
                let v = self.value_var(node);
                quote!(#v)
            }
            Op::Broadcast(x, _) => {
                // One number per example: read once per column (see `windows`).
                let (slice, rows, off) = self.buffer(self.p.loc[*x].as_ref(), *x);
                let (r, o) = (format_ident!("__r{}", x), format_ident!("__f{}", x));
                prelude.push(quote!(let (#r, #o) = (#rows, #off);));
                quote!(#slice[__j * #r + #o])
            }
            _ => {
                let (slice, rows, off) = self.buffer(self.p.loc[node].as_ref(), node);
                let (r, o) = (format_ident!("__r{}", node), format_ident!("__f{}", node));
                prelude.push(quote!(let (#r, #o) = (#rows, #off);));
                quote!(#slice[__j * #r + #o + __i])
            }
        }
    }

    /// The `let` of each element-wise node of a pass, computing its value
    /// for element `(__i, __j)`; in the backward pass (`backward`), a kept
    /// activation (see `plan::kept`) is read where the forward pass left it.
    fn lets(
        &self,
        nodes: &[NodeId],
        level: usize,
        backward: bool,
        prelude: &mut Vec<TokenStream>,
    ) -> Vec<TokenStream> {
        let cf = &self.cf;
        let mut lets = Vec::new();
        for &node in nodes {
            let v = self.value_var(node);
            let kept = self.p.kept.iter().find(|(a, _)| *a == node);
            if let (true, Some(&(_, product))) = (backward, kept) {
                let value = self.read(product, level, prelude);
                lets.push(quote!(let #v: T = #value;));
                continue;
            }
            let expr = match &self.g.nodes[node].op {
                Op::Binary(op, a, b) => {
                    let (a, b) = (self.read(*a, level, prelude), self.read(*b, level, prelude));
                    match op {
                        Bin::Add => quote!(#a + #b),
                        Bin::Sub => quote!(#a - #b),
                        Bin::Mul => quote!(#a * #b),
                        Bin::Div => quote!(#a / #b),
                    }
                }
                Op::Neg(a) => {
                    let a = self.read(*a, level, prelude);
                    quote!(-#a)
                }
                Op::Func(Func::Dyn(k), a) => {
                    let a = self.read(*a, level, prelude);
                    let act = format_ident!("__A{}", k);
                    quote!(<#act as #cf::__act::Act>::apply(#a))
                }
                Op::Func(f, a) => {
                    let a = self.read(*a, level, prelude);
                    let f = ident(f.name());
                    quote!(#cf::kernel::#f(#a))
                }
                _ => continue,
            };
            lets.push(quote!(let #v: T = #expr;));
        }
        lets
    }

    fn pass(&self, pass: &Pass) -> TokenStream {
        let level = pass
            .nodes
            .first()
            .or(pass.stores.first().map(|(n, _)| n))
            .map_or(0, |n| self.p.level[*n]);
        let mut prelude = Vec::new();
        let lets = self.lets(&pass.nodes, level, false, &mut prelude);
        let mut stores: Vec<TokenStream> = pass
            .stores
            .iter()
            .map(|(node, loc)| {
                let value = self.read(*node, level, &mut prelude);
                let (dst, rows, off) = self.buffer(Some(loc), *node);
                quote!(#dst[__j * #rows + #off + __i] = #value;)
            })
            .collect();
        // A kept activation overwrites the product it consumed, indexed as
        // the read of that product is, so that both use one window.
        for &(act, product) in self.p.kept.iter().filter(|(a, _)| pass.nodes.contains(a)) {
            let value = self.value_var(act);
            let place = self.read(product, level, &mut prelude);
            stores.push(quote!(#place = #value;));
        }
        dedup(&mut prelude);
        let len = self.len(&pass.len);
        let mut windows = windows::Windows::default();
        let body = windows.rewrite(quote!(#(#lets)* #(#stores)*));
        let loops = windows.loops(body, &self.cf);
        quote! {
            {
                let __n = #len;
                #(#prelude)*
                #loops
            }
        }
    }
}

/// Removes repeated prelude bindings, keeping the first of each.
fn dedup(items: &mut Vec<TokenStream>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|t| seen.insert(t.to_string()));
}
