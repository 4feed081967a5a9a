//! Renders the derived backward equations of a step, as plain text and as
//! LaTeX, from the same rules the code generator applies.

use crate::graph::{Bin, Func, Graph, NodeId, Op, Reduction};
use crate::shape::Affine;
use std::collections::BTreeMap;

/// Plain text or LaTeX.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `dc_prev += dc ⊙ f`
    Plain,
    /// `\delta c_{prev} \mathrel{+}= \delta c \odot f`
    Latex,
}

struct R<'a> {
    g: &'a Graph,
    style: Style,
    dims: Vec<String>,
    /// Which nodes have a gradient.
    differentiable: Vec<bool>,
}

impl R<'_> {
    fn ident(&self, name: &str) -> String {
        match self.style {
            Style::Plain => name.to_string(),
            Style::Latex => {
                let (head, tail) = name.split_once('_').unwrap_or((name, ""));
                if tail.is_empty() {
                    format!("\\mathit{{{head}}}")
                } else {
                    format!(
                        "\\mathit{{{head}}}_{{\\mathit{{{}}}}}",
                        tail.replace('_', "\\_")
                    )
                }
            }
        }
    }

    /// The value of a node, by name where it has one.
    fn value(&self, n: NodeId) -> String {
        let node = &self.g.nodes[n];
        match &node.op {
            Op::State(k) => self.ident(&format!("{}_prev", self.g.states[*k].name)),
            Op::Input => self.ident(&self.g.input.name.to_string()),
            Op::Param(k) => self.ident(&self.g.params[*k].name.to_string()),
            Op::Const(bits) => format!("{}", f64::from_bits(*bits)),
            Op::Mask(k) => self.ident(&self.g.masks[*k].name.to_string()),
            Op::Broadcast(x, _) => self.value(*x),
            _ => match &self.g.labels[n] {
                Some(l) => self.ident(l),
                None => self.paren(&node.text),
            },
        }
    }

    fn paren(&self, text: &str) -> String {
        match self.style {
            Style::Plain => format!("({text})"),
            Style::Latex => format!("\\left(\\texttt{{{}}}\\right)", text.replace('_', "\\_")),
        }
    }

    fn grad(&self, n: NodeId) -> String {
        let v = self.value(n);
        match self.style {
            Style::Plain => format!("d{v}"),
            Style::Latex => format!("\\delta {v}"),
        }
    }

    fn odot(&self) -> &'static str {
        match self.style {
            Style::Plain => " ⊙ ",
            Style::Latex => " \\odot ",
        }
    }

    fn transpose(&self, w: &str) -> String {
        match self.style {
            Style::Plain => format!("{w}ᵀ"),
            Style::Latex => format!("{w}^\\top"),
        }
    }

    fn columns(&self, w: &str, from: &Affine, len: &Affine, whole: bool) -> String {
        if whole {
            return w.to_string();
        }
        let end = from.add(len);
        let (a, b) = (
            from.display(&self.dims).to_string(),
            end.display(&self.dims).to_string(),
        );
        match self.style {
            Style::Plain => format!("{w}[:, {a}..{b}]"),
            Style::Latex => format!("{{{w}}}_{{[:,\\,{a}:{b}]}}"),
        }
    }

    fn one_minus(&self, x: &str) -> String {
        match self.style {
            Style::Plain => format!("(1 − {x})"),
            Style::Latex => format!("(1 - {x})"),
        }
    }

    fn squared(&self, x: &str) -> String {
        match self.style {
            Style::Plain => format!("{x}²"),
            Style::Latex => format!("{x}^2"),
        }
    }

    fn indicator(&self, cond: String) -> String {
        match self.style {
            Style::Plain => format!("[{cond}]"),
            Style::Latex => format!("\\mathbb{{1}}[{cond}]"),
        }
    }

    fn sum_batch(&self, x: &str) -> String {
        match self.style {
            Style::Plain => format!("Σ_batch {x}"),
            Style::Latex => format!("\\textstyle\\sum_{{\\text{{batch}}}} {x}"),
        }
    }

    fn sum_vector(&self, x: &str) -> String {
        match self.style {
            Style::Plain => format!("Σ_vector ({x})"),
            Style::Latex => format!("\\textstyle\\sum_{{\\text{{vector}}}} \\left({x}\\right)"),
        }
    }

    /// A length, in parentheses when it is a sum.
    fn count(&self, len: &Affine) -> String {
        let text = len.display(&self.dims).to_string();
        if text.contains(' ') {
            format!("({text})")
        } else {
            text
        }
    }
}

/// The backward equations of one step, one target per line, in the order
/// they are computed.
pub fn backward_equations(g: &Graph, style: Style) -> String {
    let r = R {
        g,
        style,
        dims: g.dim_names(),
        differentiable: g.differentiable(),
    };
    let live = g.live();
    // Contributions to each adjoint, keyed by target node (or parameter).
    let mut terms: BTreeMap<Target, Vec<String>> = BTreeMap::new();
    let mut order: Vec<Target> = Vec::new();
    let mut push = |t: Target, term: String, order: &mut Vec<Target>| {
        if !order.contains(&t) {
            order.push(t.clone());
        }
        terms.entry(t).or_default().push(term);
    };
    for (k, s) in g.next_states.iter().enumerate() {
        let up = match style {
            Style::Plain => format!("∂L/∂{}", g.states[k].name),
            Style::Latex => format!(
                "\\frac{{\\partial L}}{{\\partial {}}}",
                r.ident(&g.states[k].name.to_string())
            ),
        };
        push(Target::Node(*s), up, &mut order);
    }
    for o in &g.outputs {
        let up = match style {
            Style::Plain => format!("∂L/∂{}", o.name),
            Style::Latex => format!(
                "\\frac{{\\partial L}}{{\\partial {}}}",
                r.ident(&o.name.to_string())
            ),
        };
        push(Target::Node(o.node), up, &mut order);
    }
    let x = r.odot();
    for n in (0..g.nodes.len()).rev() {
        if !live[n] || !r.differentiable[n] {
            continue;
        }
        let dn = r.grad(n);
        let v = r.value(n);
        match &g.nodes[n].op {
            Op::Binary(op, a, b) => {
                let (va, vb) = (r.value(*a), r.value(*b));
                let (ta, tb) = match op {
                    Bin::Add => (dn.clone(), dn.clone()),
                    Bin::Sub => (dn.clone(), format!("-{dn}")),
                    Bin::Mul => (format!("{dn}{x}{vb}"), format!("{dn}{x}{va}")),
                    Bin::Div => (
                        format!("{dn} / {vb}"),
                        format!("-{dn}{x}{va} / {}", r.squared(&vb)),
                    ),
                };
                for (arg, t) in [(*a, ta), (*b, tb)] {
                    contribute(g, &r, arg, t, &mut |tg, tm| push(tg, tm, &mut order));
                }
            }
            Op::Neg(a) => contribute(g, &r, *a, format!("-{dn}"), &mut |tg, tm| {
                push(tg, tm, &mut order)
            }),
            Op::Func(f, a) => {
                let va = r.value(*a);
                let t = match f {
                    Func::Sigmoid => format!("{dn}{x}{v}{x}{}", r.one_minus(&v)),
                    Func::Tanh => format!("{dn}{x}{}", r.one_minus(&r.squared(&v))),
                    Func::Relu => format!("{dn}{x}{}", r.indicator(format!("{va} > 0"))),
                    Func::Identity => dn.clone(),
                    Func::Exp => format!("{dn}{x}{v}"),
                    Func::Log => format!("{dn} / {va}"),
                    Func::HardSigmoid => {
                        format!("0.2 {dn}{x}{}", r.indicator(format!("|{va}| < 2.5")))
                    }
                    Func::Sqrt => format!("{dn} / (2 {v})"),
                    Func::Dyn(k) => {
                        let name = r.ident(&g.activations[*k].0.to_string());
                        match style {
                            Style::Plain => format!("{dn}{x}{name}′({va})"),
                            Style::Latex => format!("{dn}{x}{name}'({va})"),
                        }
                    }
                };
                contribute(g, &r, *a, t, &mut |tg, tm| push(tg, tm, &mut order));
            }
            Op::Softmax(a) => {
                let t = match style {
                    Style::Plain => format!("{v}{x}({dn} − Σ {dn}{x}{v})"),
                    Style::Latex => {
                        format!("{v}{x}\\left({dn} - \\textstyle\\sum {dn}{x}{v}\\right)")
                    }
                };
                contribute(g, &r, *a, t, &mut |tg, tm| push(tg, tm, &mut order));
            }
            Op::Reduce(red, a) => {
                let parts = crate::plan::parts(g, *a);
                let total = parts.iter().fold(Affine::constant(0), |t, p| {
                    t.add(g.len_of(*p).unwrap_or(&Affine::constant(0)))
                });
                let n = r.count(&total);
                let mean = match style {
                    Style::Plain => format!("mean({})", r.value(*a)),
                    Style::Latex => format!("\\operatorname{{mean}}({})", r.value(*a)),
                };
                for p in parts {
                    let vp = r.value(p);
                    let t = match red {
                        Reduction::Sum => dn.clone(),
                        Reduction::Mean => format!("{dn} / {n}"),
                        Reduction::Var => format!("2 {dn}{x}({vp} − {mean}) / {n}"),
                    };
                    let t = if style == Style::Latex {
                        t.replace('−', "-")
                    } else {
                        t
                    };
                    contribute(g, &r, p, t, &mut |tg, tm| push(tg, tm, &mut order));
                }
            }
            Op::MatMul(w, operand) => {
                let mask = g.param_masks()[*w].map(|m| r.ident(&g.masks[m].name.to_string()));
                let wname = r.ident(&g.params[*w].name.to_string());
                let parts = match &g.nodes[*operand].op {
                    Op::Stack(items) => items.clone(),
                    _ => vec![*operand],
                };
                let whole = parts.len() == 1;
                let mut col = Affine::constant(0);
                for p in parts {
                    let len = g.len_of(p).cloned().unwrap_or(Affine::constant(0));
                    let wc = r.columns(&wname, &col, &len, whole);
                    let outer = match style {
                        Style::Plain => format!("{dn} {}", r.transpose(&r.value(p))),
                        Style::Latex => format!("{dn}\\, {}", r.transpose(&r.value(p))),
                    };
                    let (grad, weight) = match &mask {
                        // DropConnect: the product used w ⊙ m.
                        Some(m) => {
                            let mc = r.columns(m, &col, &len, whole);
                            (
                                format!("({}){x}{mc}", r.sum_batch(&outer)),
                                format!("({wc}{x}{mc})"),
                            )
                        }
                        None => (r.sum_batch(&outer), wc.clone()),
                    };
                    push(Target::ParamCols(*w, wc.clone()), grad, &mut order);
                    let back = format!("{} {dn}", r.transpose(&weight));
                    contribute(g, &r, p, back, &mut |tg, tm| push(tg, tm, &mut order));
                    col = col.add(&len);
                }
            }
            _ => {}
        }
    }
    // Each adjoint is complete once all its consumers (later nodes) are done:
    // print nodes from last to first, then the parameters.
    order.sort_by_key(|t| match t {
        Target::Node(n) => (0, usize::MAX - n, 0),
        Target::Param(k) | Target::ParamCols(k, _) => (1, *k, 0),
    });
    let mut out = String::new();
    for t in order {
        let lhs = match &t {
            Target::Node(n) => r.grad(*n),
            Target::Param(k) => r.grad_param(*k),
            Target::ParamCols(_, wc) => r.grad_name(wc),
        };
        let (assign, plus) = match (style, &t) {
            (Style::Plain, Target::Node(_)) => (" = ", " + "),
            (Style::Plain, _) => (" += ", " + "),
            (Style::Latex, Target::Node(_)) => (" &= ", " + "),
            (Style::Latex, _) => (" &\\mathrel{+}= ", " + "),
        };
        let rhs = terms.get(&t).map(|v| v.join(plus)).unwrap_or_default();
        out.push_str(&lhs);
        out.push_str(assign);
        out.push_str(&rhs);
        out.push_str(if style == Style::Latex {
            " \\\\\n"
        } else {
            "\n"
        });
    }
    out
}

impl R<'_> {
    fn grad_param(&self, k: usize) -> String {
        self.grad_name(&self.ident(&self.g.params[k].name.to_string()))
    }

    fn grad_name(&self, name: &str) -> String {
        match self.style {
            Style::Plain => format!("d{name}"),
            Style::Latex => format!("\\delta {name}"),
        }
    }
}

/// What an adjoint term is added to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Node(NodeId),
    Param(usize),
    ParamCols(usize, String),
}

/// Adds `term` to the adjoint of `arg` (a vector parameter sums over the batch).
fn contribute(
    g: &Graph,
    r: &R<'_>,
    arg: NodeId,
    term: String,
    push: &mut dyn FnMut(Target, String),
) {
    if !r.differentiable[arg] {
        return;
    }
    match &g.nodes[arg].op {
        Op::Param(k) => push(Target::Param(*k), r.sum_batch(&term)),
        Op::Broadcast(x, _) => push(Target::Node(*x), r.sum_vector(&term)),
        _ => push(Target::Node(arg), term),
    }
}
