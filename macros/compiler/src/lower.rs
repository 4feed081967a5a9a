//! Lowering: resolves names, checks shapes and the rules of a cell, and builds
//! the [`Graph`]. Every mistake is recorded; lowering goes on past it so that
//! all mistakes of a declaration are reported in one compile.

use crate::ast::{
    AffineAst, BinOp, Binding, CellDecl, Expr, Item, LayoutDecl, ShapeAst, Stmt, StmtKind,
};
use crate::ctxt::Ctxt;
use crate::graph::{
    Bin, Decl, Equation, Func, Graph, Init, MaskDecl, MaskLaw, Node, NodeId, Op, Output, Reduction,
};
use crate::layout::{CellNames, lower_layouts};
use crate::shape::{Affine, Shape};
use proc_macro2::Span;
use std::collections::HashMap;
use syn::Ident;

/// What a name in the equations refers to.
#[derive(Clone, Copy)]
enum Name {
    Dim,
    Input,
    State(usize),
    Param(usize),
    /// A `let` or an output: the node holding its value.
    Value(NodeId),
    /// A run-time activation.
    Activation(usize),
    /// A random mask.
    Mask(usize),
}

struct Lowerer<'c> {
    cx: &'c mut Ctxt,
    dims: Vec<Ident>,
    dim_names: Vec<String>,
    input: Option<Decl>,
    states: Vec<Decl>,
    params: Vec<Decl>,
    nodes: Vec<Node>,
    interned: HashMap<Op, NodeId>,
    names: HashMap<String, Name>,
    /// For each state: the node of its current value, and where it was assigned.
    state_now: Vec<(NodeId, Option<Span>)>,
    param_used: Vec<bool>,
    activations: Vec<(Ident, Func)>,
    masks: Vec<MaskDecl>,
    mask_used: Vec<bool>,
    /// Whether each mask's declaration was valid.
    mask_ok: Vec<bool>,
    /// For each parameter used on the left of `@`: the DropConnect mask of
    /// its first use (`Some(None)` for none) and where that use is.
    param_product: Vec<Option<(Option<usize>, Span)>>,
    /// Whether each node depends on the input or a state.
    varies: Vec<bool>,
    /// Whether each parameter's shape was valid.
    param_ok: Vec<bool>,
    /// Whether parsing failed somewhere: then names and uses may be missing,
    /// and the errors they would cause are not reported.
    lenient: bool,
    outputs: Vec<Output>,
    equations: Vec<Equation>,
    /// The node each statement produced, in statement order.
    equation_nodes: Vec<Option<NodeId>>,
}

/// Lowers a parsed declaration. Errors are recorded in `cx`; the graph is
/// returned only when there were none.
pub fn lower(decl: CellDecl, cx: &mut Ctxt) -> Option<Graph> {
    let lenient = cx.has_errors();
    let mut lw = Lowerer {
        cx,
        dims: Vec::new(),
        dim_names: Vec::new(),
        input: None,
        states: Vec::new(),
        params: Vec::new(),
        nodes: Vec::new(),
        interned: HashMap::new(),
        names: HashMap::new(),
        state_now: Vec::new(),
        param_used: Vec::new(),
        activations: Vec::new(),
        masks: Vec::new(),
        mask_used: Vec::new(),
        mask_ok: Vec::new(),
        param_product: Vec::new(),
        param_ok: Vec::new(),
        varies: Vec::new(),
        lenient,
        outputs: Vec::new(),
        equations: Vec::new(),
        equation_nodes: Vec::new(),
    };
    lw.declare_dims(&decl.items);
    lw.declare_values(&decl.items);
    let input = lw.require_input(&decl.name);
    for item in &decl.items {
        if let Item::Stmt(stmt) = item {
            lw.statement(stmt);
        }
    }
    lw.check_all_assigned_and_used();
    let layout_decls: Vec<&LayoutDecl> = decl
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Layout(l) => Some(l),
            _ => None,
        })
        .collect();
    let names = &lw.names;
    let other = |name: &str| -> Option<&'static str> {
        Some(match names.get(name)? {
            Name::Dim => "a dimension",
            Name::Input => "the input",
            Name::State(_) => "a state",
            Name::Param(_) => return None,
            Name::Value(_) => "a value of the equations",
            Name::Activation(_) => "an activation",
            Name::Mask(_) => "a mask",
        })
    };
    let cell_names = CellNames {
        params: &lw.params,
        param_ok: &lw.param_ok,
        other: &other,
        dims: &lw.dim_names,
        lenient: lw.lenient,
    };
    let layouts = lower_layouts(&layout_decls, &cell_names, lw.cx);
    if lw.cx.has_errors() {
        return None;
    }
    let next_states = lw.state_now.iter().map(|(n, _)| *n).collect();
    let labels = lw.labels();
    Some(Graph {
        name: decl.name,
        vis: decl.vis,
        docs: decl.docs,
        dims: lw.dims,
        input: input?,
        states: lw.states,
        params: lw.params,
        nodes: lw.nodes,
        next_states,
        outputs: lw.outputs,
        activations: lw.activations,
        masks: lw.masks,
        equations: lw.equations,
        labels,
        layouts,
    })
}

impl Lowerer<'_> {
    /// The first statement name bound to each node.
    fn labels(&self) -> Vec<Option<String>> {
        let mut labels = vec![None; self.nodes.len()];
        let named = self.equations.iter().zip(&self.equation_nodes);
        for (eq, node) in named {
            if let Some(n) = node {
                labels[*n].get_or_insert_with(|| eq.name.clone());
            }
        }
        labels
    }

    fn declare_dims(&mut self, items: &[Item]) {
        for item in items {
            if let Item::Dims(names) = item {
                for name in names {
                    if self.define(name, Name::Dim) {
                        self.dims.push(name.clone());
                        self.dim_names.push(name.to_string());
                    }
                }
            }
        }
    }

    /// Declares the input, states and params (names are global to the cell).
    fn declare_values(&mut self, items: &[Item]) {
        for item in items {
            match item {
                Item::Input(bindings) => {
                    for b in bindings {
                        self.declare_input(b);
                    }
                }
                Item::State(bindings) => {
                    for b in bindings {
                        self.declare_state(b);
                    }
                }
                Item::Param(bindings) => {
                    for b in bindings {
                        self.declare_param(b);
                    }
                }
                Item::Mask(bindings) => {
                    for b in bindings {
                        self.declare_mask(b);
                    }
                }
                Item::Activation(pairs) => self.declare_activations(pairs),
                Item::Dims(_) | Item::Stmt(_) | Item::Layout(_) => {}
            }
        }
    }

    fn declare_input(&mut self, b: &Binding) {
        let Some(shape) = self.vector_shape(b, "the input") else {
            return;
        };
        if let Some(first) = &self.input {
            let msg = format!(
                "a cell has one input; `{}` is declared already, so `{}` cannot be another",
                first.name, b.name
            );
            self.cx.error(b.name.span(), msg);
            return;
        }
        if self.define(&b.name, Name::Input) {
            self.input = Some(Decl {
                name: b.name.clone(),
                shape,
                init: Init::Zeros,
            });
        }
    }

    fn declare_state(&mut self, b: &Binding) {
        let Some(shape) = self.vector_shape(b, "a state") else {
            return;
        };
        let index = self.states.len();
        if self.define(&b.name, Name::State(index)) {
            let node = self.intern(
                Op::State(index),
                shape.clone(),
                b.name.span(),
                b.name.to_string(),
            );
            self.states.push(Decl {
                name: b.name.clone(),
                shape,
                init: Init::Zeros,
            });
            self.state_now.push((node, None));
        }
    }

    fn declare_param(&mut self, b: &Binding) {
        let shape = self.shape(&b.shape);
        let index = self.params.len();
        if self.define(&b.name, Name::Param(index)) {
            // A parameter with a bad shape is still declared, so that its
            // uses are not reported as unknown names.
            self.param_ok.push(shape.is_some());
            let shape = shape.unwrap_or(Shape::Scalar);
            let init = self.init(b, &shape);
            self.params.push(Decl {
                name: b.name.clone(),
                shape,
                init,
            });
            self.param_used.push(false);
            self.param_product.push(None);
        }
    }

    /// Declares a random mask: its shape and its law, checked together.
    fn declare_mask(&mut self, b: &Binding) {
        let shape = self.shape(&b.shape);
        let law = self.mask_law(b, shape.as_ref());
        let index = self.masks.len();
        if self.define(&b.name, Name::Mask(index)) {
            // A mask with a bad declaration is still declared, so that its
            // uses are not reported as unknown names.
            self.mask_ok.push(shape.is_some() && law.is_some());
            self.masks.push(MaskDecl {
                name: b.name.clone(),
                shape: shape.unwrap_or(Shape::Scalar),
                law: law.unwrap_or(MaskLaw::Dropout(0.0)),
                param: None,
            });
            self.mask_used.push(false);
        }
    }

    /// The law of a mask, `= dropout(p)`, `= zoneout(p)` or `= dropconnect(p)`,
    /// with its rate in `[0, 1)` and a shape that fits it.
    fn mask_law(&mut self, b: &Binding, shape: Option<&Shape>) -> Option<MaskLaw> {
        let Some(ast) = &b.init else {
            let msg = format!(
                "mask `{}` needs a law: `= dropout(p)`, `= zoneout(p)` or `= dropconnect(p)`",
                b.name
            );
            self.cx.error(b.name.span(), msg);
            return None;
        };
        let name = ast.name.to_string();
        if !MaskLaw::NAMES.contains(&name.as_str()) {
            let msg = format!(
                "unknown mask law `{name}`; the laws are {}",
                quote_list(&MaskLaw::NAMES)
            );
            self.cx.error(ast.name.span(), msg);
            return None;
        }
        let [p] = ast.args[..] else {
            let msg = format!(
                "`{name}` takes one argument, the rate, found {}",
                ast.args.len()
            );
            self.cx.error(ast.name.span(), msg);
            return None;
        };
        if !(0.0..1.0).contains(&p) {
            let msg = format!("the rate of `{name}` must be in [0, 1), found {p}");
            self.cx.error(ast.name.span(), msg);
            return None;
        }
        let law = match name.as_str() {
            "dropout" => MaskLaw::Dropout(p),
            "zoneout" => MaskLaw::Zoneout(p),
            _ => MaskLaw::DropConnect(p),
        };
        let dims = &self.dim_names;
        match (law, shape?) {
            (MaskLaw::DropConnect(_), Shape::Matrix(..)) => Some(law),
            (MaskLaw::DropConnect(_), s) => {
                let msg = format!(
                    "`dropconnect` masks a weight matrix, and `{}` is the vector {}; a vector is masked with `dropout` or `zoneout`",
                    b.name,
                    s.display(dims)
                );
                self.cx.error(b.shape.span, msg);
                None
            }
            (_, s @ Shape::Matrix(..)) => {
                let msg = format!(
                    "`{name}` draws a vector mask, and `{}` is the matrix {}; a weight matrix is masked with `dropconnect`",
                    b.name,
                    s.display(dims)
                );
                self.cx.error(b.shape.span, msg);
                None
            }
            _ => Some(law),
        }
    }

    /// The initialiser of a parameter: as declared, or Glorot uniform for a
    /// matrix and zeros for a vector.
    fn init(&mut self, b: &Binding, shape: &Shape) -> Init {
        let default = match shape {
            Shape::Matrix(..) => Init::GlorotUniform,
            _ => Init::Zeros,
        };
        let Some(ast) = &b.init else { return default };
        let name = ast.name.to_string();
        let Some(&(_, arity)) = Init::NAMES.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = Init::NAMES.iter().map(|(n, _)| *n).collect();
            let msg = format!(
                "unknown initialiser `{name}`; the initialisers are {}",
                quote_list(&known)
            );
            self.cx.error(ast.name.span(), msg);
            return default;
        };
        if ast.args.len() != arity {
            let msg = format!(
                "`{name}` takes {arity} argument(s), found {}",
                ast.args.len()
            );
            self.cx.error(ast.name.span(), msg);
            return default;
        }
        let a = &ast.args;
        if let Some(bad) = a.iter().find(|v| !v.is_finite()) {
            self.cx.error(
                ast.name.span(),
                format!("the arguments of `{name}` must be finite numbers, found {bad}"),
            );
            return default;
        }
        match name.as_str() {
            "zeros" => Init::Zeros,
            "ones" => Init::Ones,
            "constant" => Init::Constant(a[0]),
            "normal" => Init::Normal(a[0], a[1]),
            "uniform" => Init::Uniform(a[0], a[1]),
            "glorot_uniform" => Init::GlorotUniform,
            _ => {
                if !matches!(shape, Shape::Matrix(..)) {
                    let msg = format!(
                        "`orthogonal` initialises a matrix, and `{}` is a vector",
                        b.name
                    );
                    self.cx.error(ast.name.span(), msg);
                    return default;
                }
                Init::Orthogonal
            }
        }
    }

    fn declare_activations(&mut self, pairs: &[(Ident, Ident)]) {
        for (name, default) in pairs {
            let func = match default.to_string().as_str() {
                "linear" | "identity" => Some(Func::Identity),
                "tanh" => Some(Func::Tanh),
                "sigmoid" => Some(Func::Sigmoid),
                "relu" => Some(Func::Relu),
                "hard_sigmoid" => Some(Func::HardSigmoid),
                _ => None,
            };
            let func = if let Some(func) = func {
                func
            } else {
                let msg = format!(
                    "`{default}` cannot be a run-time activation; choose `linear`, `tanh`, `sigmoid`, `relu` or `hard_sigmoid`"
                );
                self.cx.error(default.span(), msg);
                // Still declared, so that its uses are not reported as unknown.
                Func::Identity
            };
            let k = self.activations.len();
            if self.define(name, Name::Activation(k)) {
                self.activations.push((name.clone(), func));
            }
        }
    }

    fn require_input(&mut self, cell: &Ident) -> Option<Decl> {
        if self.input.is_none() {
            let msg = format!("cell `{cell}` has no input: declare one, e.g. `input x: [n_x];`");
            self.cx.error(cell.span(), msg);
        }
        self.input.clone()
    }

    /// Binds a declared name; reports a second declaration of the same name.
    fn define(&mut self, name: &Ident, what: Name) -> bool {
        if self.names.contains_key(&name.to_string()) {
            self.cx
                .error(name.span(), format!("`{name}` is declared twice"));
            return false;
        }
        self.names.insert(name.to_string(), what);
        true
    }

    fn vector_shape(&mut self, b: &Binding, what: &str) -> Option<Shape> {
        let shape = self.shape(&b.shape)?;
        if let Shape::Matrix(..) = shape {
            let msg = format!(
                "`{}` is {what} and must be a vector `[len]`, found the matrix shape {}",
                b.name,
                shape.display(&self.dim_names)
            );
            self.cx.error(b.shape.span, msg);
            return None;
        }
        Some(shape)
    }

    fn shape(&mut self, ast: &ShapeAst) -> Option<Shape> {
        let axes: Vec<Option<Affine>> = ast.axes.iter().map(|a| self.affine(a)).collect();
        for (axis, ast_axis) in axes.iter().zip(&ast.axes) {
            let Some(a) = axis else { continue };
            let at_ones = a.constant.saturating_add(a.terms.values().sum::<i64>());
            // With no positive coefficient the length is largest when every
            // dimension is 1; otherwise it is checked when the cell is built.
            if a.terms.values().all(|c| *c <= 0) && at_ones < 1 {
                let msg = format!(
                    "a length must be at least 1, and `{}` is {at_ones} when every dimension is 1",
                    a.display(&self.dim_names)
                );
                self.cx.error(ast_axis.span, msg);
                return None;
            }
        }
        match axes.as_slice() {
            [Some(n)] => Some(Shape::Vector(n.clone())),
            [Some(r), Some(c)] => Some(Shape::Matrix(r.clone(), c.clone())),
            _ => None,
        }
    }

    fn affine(&mut self, ast: &AffineAst) -> Option<Affine> {
        let mut total = Affine::constant(0);
        let mut ok = true;
        for (coeff, dim) in &ast.terms {
            let term = match dim {
                None => Affine::constant(*coeff),
                Some(d) => match self.dims.iter().position(|x| x == d) {
                    Some(index) => Affine::dim(index).scale(*coeff),
                    None => {
                        let msg = format!(
                            "unknown dimension `{d}`; the declared dimensions are {}",
                            list_names(&self.dim_names)
                        );
                        self.cx.error(d.span(), msg);
                        ok = false;
                        continue;
                    }
                },
            };
            total = total.add(&term);
        }
        ok.then_some(total)
    }

    fn statement(&mut self, stmt: &Stmt) {
        // A `let` may name a stack (`let z = [a, x];`); its uses are checked.
        let value = match stmt.kind {
            StmtKind::Let => self.expr_any(&stmt.expr),
            _ => self.expr(&stmt.expr),
        };
        let name = stmt.name.to_string();
        self.equation_nodes.push(value);
        self.equations.push(Equation {
            kind: stmt.kind,
            name: name.clone(),
            text: stmt.expr.to_string(),
            docs: stmt.docs.clone(),
        });
        match stmt.kind {
            StmtKind::Let => self.bind_let(&stmt.name, value),
            StmtKind::Assign => self.assign(&stmt.name, value),
            StmtKind::Output => self.output(&stmt.name, value),
        }
    }

    fn bind_let(&mut self, name: &Ident, value: Option<NodeId>) {
        match self.names.get(&name.to_string()) {
            None | Some(Name::Value(_)) => {}
            Some(other) => {
                let msg = format!(
                    "cannot define `{name}` with `let`: it is {}",
                    describe(*other)
                );
                self.cx.error(name.span(), msg);
                return;
            }
        }
        if let Some(v) = value {
            self.names.insert(name.to_string(), Name::Value(v));
        } else {
            // Keep the name known so later uses do not report it as unknown.
            self.names.remove(&name.to_string());
            self.names.insert(name.to_string(), Name::Value(usize::MAX));
        }
    }

    fn assign(&mut self, name: &Ident, value: Option<NodeId>) {
        let index = match self.names.get(&name.to_string()) {
            Some(Name::State(i)) => *i,
            Some(other) => {
                let msg = format!(
                    "cannot assign to `{name}`: it is {}; only states are assigned (use `let` for a new value)",
                    describe(*other)
                );
                self.cx.error(name.span(), msg);
                return;
            }
            None => {
                let msg = format!("cannot assign to `{name}`: no state of that name is declared");
                self.cx.error(name.span(), msg);
                return;
            }
        };
        if let Some(first) = self.state_now[index].1 {
            let msg = format!(
                "state `{name}` is assigned a second time; a state gets its next value exactly once"
            );
            self.cx.error(name.span(), msg);
            self.cx
                .error(first, format!("the first assignment of `{name}` is here"));
            return;
        }
        self.state_now[index].1 = Some(name.span());
        let Some(v) = value.filter(|v| *v != usize::MAX) else {
            return;
        };
        let declared = self.states[index].shape.clone();
        if self.nodes[v].shape != declared {
            let msg = format!(
                "cannot assign `{}` ({}) to state `{name}` ({})",
                self.nodes[v].text,
                self.nodes[v].shape.display(&self.dim_names),
                declared.display(&self.dim_names)
            );
            self.cx.error(self.nodes[v].span, msg);
            return;
        }
        self.state_now[index].0 = v;
    }

    fn output(&mut self, name: &Ident, value: Option<NodeId>) {
        if self.names.contains_key(&name.to_string()) {
            let what = describe(self.names[&name.to_string()]);
            self.cx.error(
                name.span(),
                format!("cannot name an output `{name}`: it is {what}"),
            );
            return;
        }
        let Some(v) = value.filter(|v| *v != usize::MAX) else {
            self.names.insert(name.to_string(), Name::Value(usize::MAX));
            return;
        };
        if let Shape::Scalar | Shape::PerExample = self.nodes[v].shape {
            let msg = format!(
                "output `{name}` must be a vector, found {}",
                self.what_is(v)
            );
            self.cx.error(self.nodes[v].span, msg);
        }
        self.names.insert(name.to_string(), Name::Value(v));
        self.outputs.push(Output {
            name: name.clone(),
            node: v,
        });
    }

    fn check_all_assigned_and_used(&mut self) {
        if self.lenient {
            return;
        }
        for (k, (_, assigned)) in self.state_now.iter().enumerate() {
            if assigned.is_none() {
                let name = &self.states[k].name;
                let msg = format!(
                    "state `{name}` is never assigned; give it its next value with `{name} = ...;`"
                );
                self.cx.error(name.span(), msg);
            }
        }
        for (k, used) in self.param_used.iter().enumerate() {
            if !used {
                let name = &self.params[k].name;
                self.cx.error(
                    name.span(),
                    format!("parameter `{name}` is declared but never used"),
                );
            }
        }
        for (k, used) in self.mask_used.iter().enumerate() {
            if !used {
                let name = &self.masks[k].name;
                self.cx.error(
                    name.span(),
                    format!("mask `{name}` is declared but never used"),
                );
            }
        }
    }

    /// Lowers an expression in value position (anything but the right of `@`).
    fn expr(&mut self, e: &Expr) -> Option<NodeId> {
        let node = self.expr_any(e)?;
        if let Op::Stack(_) = self.nodes[node].op {
            let msg = format!(
                "the stack `{}` can only be the right operand of `@`",
                self.nodes[node].text
            );
            self.cx.error(e.span(), msg);
            return None;
        }
        Some(node)
    }

    /// Lowers an expression that may be a stack.
    fn expr_any(&mut self, e: &Expr) -> Option<NodeId> {
        match e {
            Expr::Name(id) => self.name(id),
            Expr::Num(v, span) => Some(self.constant(*v, *span)),
            Expr::Neg(inner, span) => {
                let x = self.expr(inner)?;
                Some(self.unary(Op::Neg(x), x, *span, e.to_string(), |v| Some(-v)))
            }
            Expr::Call(func, args) => self.call(func, args, e),
            Expr::Binary(BinOp::MatMul, span, l, r) => self.matmul(l, r, *span, e),
            Expr::Binary(BinOp::Mul, span, l, r) if self.is_unparenthesised_dropconnect(l, r) => {
                self.unparenthesised_dropconnect(l, r, *span, e);
                None
            }
            Expr::Binary(op, span, l, r) => self.binary(*op, l, r, *span, e),
            Expr::Stack(items, span) => self.stack(items, *span, e),
        }
    }

    fn name(&mut self, id: &Ident) -> Option<NodeId> {
        let Some(what) = self.names.get(&id.to_string()).copied() else {
            if self.lenient {
                return None;
            }
            let msg = format!(
                "cannot find `{id}`: it is not a declared input, state, parameter or `let`"
            );
            self.cx.error(id.span(), msg);
            return None;
        };
        match what {
            Name::Dim => {
                let msg = format!("`{id}` is a dimension; it can only appear in shapes");
                self.cx.error(id.span(), msg);
                None
            }
            Name::Activation(_) => {
                let msg = format!("`{id}` is an activation; call it on a value, e.g. `{id}(x)`");
                self.cx.error(id.span(), msg);
                None
            }
            Name::Input => {
                let shape = self.input.as_ref()?.shape.clone();
                Some(self.intern(Op::Input, shape, id.span(), id.to_string()))
            }
            Name::State(k) => Some(self.state_now[k].0),
            Name::Value(v) => (v != usize::MAX).then_some(v),
            Name::Param(k) => self.vector_param(k, id),
            Name::Mask(k) => self.vector_mask(k, id),
        }
    }

    fn vector_mask(&mut self, k: usize, id: &Ident) -> Option<NodeId> {
        self.mask_used[k] = true;
        if !self.mask_ok[k] {
            return None;
        }
        let shape = self.masks[k].shape.clone();
        if let Shape::Matrix(..) = shape {
            let msg = format!(
                "`{id}` is a DropConnect mask ({}); it can only multiply its weight on the left of `@`, as in `({} * {id}) @ h`",
                shape.display(&self.dim_names),
                self.masks[k]
                    .param
                    .map_or("w".to_string(), |p| self.params[p].name.to_string())
            );
            self.cx.error(id.span(), msg);
            return None;
        }
        Some(self.intern(Op::Mask(k), shape, id.span(), id.to_string()))
    }

    fn vector_param(&mut self, k: usize, id: &Ident) -> Option<NodeId> {
        self.param_used[k] = true;
        if !self.param_ok[k] {
            return None;
        }
        let shape = self.params[k].shape.clone();
        if let Shape::Matrix(..) = shape {
            let msg = format!(
                "`{id}` is a matrix ({}); a matrix parameter can only be the left operand of `@`",
                shape.display(&self.dim_names)
            );
            self.cx.error(id.span(), msg);
            return None;
        }
        Some(self.intern(Op::Param(k), shape, id.span(), id.to_string()))
    }

    fn constant(&mut self, v: f64, span: Span) -> NodeId {
        if !v.is_finite() {
            let msg = format!("this number evaluates to {v}; the equations need finite numbers");
            self.cx.error(span, msg);
        }
        self.intern(
            Op::Const(v.to_bits()),
            Shape::Scalar,
            span,
            format_number(v),
        )
    }

    /// An element-wise unary op; folded when its operand is a constant.
    fn unary(
        &mut self,
        op: Op,
        x: NodeId,
        span: Span,
        text: String,
        f: impl Fn(f64) -> Option<f64>,
    ) -> NodeId {
        if let Some(v) = self.nodes[x].op.constant().and_then(f) {
            return self.constant(v, span);
        }
        let shape = self.nodes[x].shape.clone();
        self.intern(op, shape, span, text)
    }

    fn call(&mut self, func: &Ident, args: &[Expr], e: &Expr) -> Option<NodeId> {
        let name = func.to_string();
        let dynamic = match self.names.get(&name) {
            Some(Name::Activation(k)) => Some(Func::Dyn(*k)),
            _ => None,
        };
        let known = dynamic.or_else(|| Func::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f));
        if known.is_none()
            && let Some(&(_, red)) = Reduction::ALL.iter().find(|(n, _)| *n == name)
        {
            return self.reduce(red, func, args, e);
        }
        if known.is_none() && name != "softmax" {
            let mut all: Vec<&str> = Func::ALL.iter().map(|(n, _)| *n).collect();
            all.push("softmax");
            all.extend(Reduction::ALL.iter().map(|(n, _)| *n));
            let msg = format!(
                "unknown function `{name}`; the functions are {}",
                quote_list(&all)
            );
            self.cx.error(func.span(), msg);
            for a in args {
                self.expr(a);
            }
            return None;
        }
        let [arg] = args else {
            let msg = format!("`{name}` takes one argument, found {}", args.len());
            self.cx.error(func.span(), msg);
            return None;
        };
        let x = self.expr(arg)?;
        if matches!(known, Some(Func::Dyn(_))) && self.nodes[x].op.constant().is_some() {
            let msg = format!(
                "`{name}` is chosen at run time, so it cannot be applied to the number `{}`",
                self.nodes[x].text
            );
            self.cx.error(func.span(), msg);
            return None;
        }
        if known.is_none() && !self.depends_on_step(x) {
            let msg = format!(
                "`softmax({})` does not depend on the input or a state",
                self.nodes[x].text
            );
            self.cx.error(func.span(), msg);
            return None;
        }
        match known {
            Some(f) => {
                Some(self.unary(Op::Func(f, x), x, func.span(), e.to_string(), |v| f.eval(v)))
            }
            None => self.softmax(x, func, e),
        }
    }

    fn softmax(&mut self, x: NodeId, func: &Ident, e: &Expr) -> Option<NodeId> {
        let shape = self.nodes[x].shape.clone();
        if !matches!(shape, Shape::Vector(_)) {
            let msg = format!("`softmax` needs a vector, found {}", self.what_is(x));
            self.cx.error(func.span(), msg);
            return None;
        }
        Some(self.intern(Op::Softmax(x), shape, func.span(), e.to_string()))
    }

    /// `sum(v)`, `mean(v)` or `var(v)`: one number per example, from a
    /// vector or a stack of vectors (reduced as one vector), every part of
    /// which depends on the input or a state.
    fn reduce(&mut self, red: Reduction, func: &Ident, args: &[Expr], e: &Expr) -> Option<NodeId> {
        let name = red.name();
        let [arg] = args else {
            let msg = format!("`{name}` takes one argument, found {}", args.len());
            self.cx.error(func.span(), msg);
            for a in args {
                self.expr_any(a);
            }
            return None;
        };
        let x = self.expr_any(arg)?;
        if !matches!(self.nodes[x].shape, Shape::Vector(_)) {
            let msg = format!("`{name}` needs a vector, found {}", self.what_is(x));
            self.cx.error(func.span(), msg);
            return None;
        }
        let (count, bad) = self.static_part(x);
        if let Some(bad) = bad {
            let msg = if let Some(msg) = self.mask_alone(
                bad,
                "reduced",
                &format!("{name}(h * {})", self.nodes[bad].text),
            ) {
                msg
            } else if count == 1 {
                format!(
                    "`{name}({})` does not depend on the input or a state",
                    self.nodes[bad].text
                )
            } else {
                format!(
                    "`{}` does not depend on the input or a state; every part of what `{name}` reduces must",
                    self.nodes[bad].text
                )
            };
            self.cx.error(arg.span(), msg);
            return None;
        }
        Some(self.intern(
            Op::Reduce(red, x),
            Shape::PerExample,
            func.span(),
            e.to_string(),
        ))
    }

    /// A node described for a message: "the number `2`", "`mean(h)`, a
    /// number per example", "`h`".
    fn what_is(&self, node: NodeId) -> String {
        let text = &self.nodes[node].text;
        match self.nodes[node].shape {
            Shape::Scalar => format!("the number `{text}`"),
            Shape::PerExample => format!("`{text}`, a number per example"),
            _ => format!("`{text}`"),
        }
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr, span: Span, e: &Expr) -> Option<NodeId> {
        let a = self.expr(l);
        let b = self.expr(r);
        let (a, b) = (a?, b?);
        let bin = match op {
            BinOp::Add => Bin::Add,
            BinOp::Sub => Bin::Sub,
            BinOp::Mul => Bin::Mul,
            _ => Bin::Div,
        };
        if let (Some(x), Some(y)) = (self.nodes[a].op.constant(), self.nodes[b].op.constant()) {
            return Some(self.constant(bin.eval(x, y), span));
        }
        let (mut a, mut b) = (a, b);
        let shapes = (self.nodes[a].shape.clone(), self.nodes[b].shape.clone());
        let shape = match (&shapes.0, &shapes.1) {
            (Shape::Scalar, s) | (s, Shape::Scalar) => s.clone(),
            (Shape::PerExample, Shape::Vector(n)) => {
                let n = n.clone();
                a = self.broadcast(a, &n);
                Shape::Vector(n)
            }
            (Shape::Vector(n), Shape::PerExample) => {
                let n = n.clone();
                b = self.broadcast(b, &n);
                Shape::Vector(n)
            }
            (sa, sb) if sa == sb => sa.clone(),
            (sa, sb) => {
                let msg = format!(
                    "cannot {} `{}` ({}) and `{}` ({}): the lengths differ",
                    verb(bin),
                    self.nodes[a].text,
                    sa.display(&self.dim_names),
                    self.nodes[b].text,
                    sb.display(&self.dim_names)
                );
                self.cx.error(span, msg);
                return None;
            }
        };
        Some(self.intern(Op::Binary(bin, a, b), shape, span, e.to_string()))
    }

    /// A number per example repeated along a vector of length `n`.
    fn broadcast(&mut self, node: NodeId, n: &Affine) -> NodeId {
        let (span, text) = (self.nodes[node].span, self.nodes[node].text.clone());
        self.intern(
            Op::Broadcast(node, n.clone()),
            Shape::Vector(n.clone()),
            span,
            text,
        )
    }

    fn matmul(&mut self, l: &Expr, r: &Expr, span: Span, e: &Expr) -> Option<NodeId> {
        let weight = self.matrix_operand(l);
        let x = self.expr_any(r);
        let ((k, rows, cols), x) = (weight?, x?);
        let Shape::Vector(len) = self.nodes[x].shape.clone() else {
            let msg = format!(
                "the right operand of `@` must be a vector, found {}",
                self.what_is(x)
            );
            self.cx.error(r.span(), msg);
            return None;
        };
        if len != cols {
            let msg = format!(
                "cannot multiply `{l}` ([{}, {}]) by `{}` ([{}]): the inner dimensions differ ({} vs {})",
                rows.display(&self.dim_names),
                cols.display(&self.dim_names),
                self.nodes[x].text,
                len.display(&self.dim_names),
                cols.display(&self.dim_names),
                len.display(&self.dim_names)
            );
            self.cx.error(span, msg);
            return None;
        }
        if let (_, Some(bad)) = self.static_part(x) {
            let example = format!("w @ (h * {})", self.nodes[bad].text);
            let msg = if let Some(msg) = self.mask_alone(bad, "multiplied by a weight", &example) {
                msg
            } else {
                format!(
                    "`{}` does not depend on the input or a state; the right operand of `@` must, part by part",
                    self.nodes[bad].text
                )
            };
            self.cx.error(r.span(), msg);
            return None;
        }
        Some(self.intern(Op::MatMul(k, x), Shape::Vector(rows), span, e.to_string()))
    }

    /// The left of `@`: a matrix parameter, or one times its DropConnect
    /// mask (`(w * m) @ h`), with its rows and columns.
    fn matrix_operand(&mut self, l: &Expr) -> Option<(usize, Affine, Affine)> {
        if let Expr::Binary(BinOp::Mul, _, a, b) = l
            && let Some((w, m)) = self.weight_and_mask(a, b)
        {
            if let Some(Name::Mask(mk)) = self.names.get(&m.to_string()).copied() {
                self.mask_used[mk] = true;
            }
            let (k, rows, cols) = self.plain_weight(w)?;
            let mask = self.dropconnect(k, m)?;
            self.record_product(k, Some(mask), l.span());
            return Some((k, rows, cols));
        }
        let (k, rows, cols) = self.plain_weight(l)?;
        self.record_product(k, None, l.span());
        Some((k, rows, cols))
    }

    /// Whether `l * r` is `w * m @ h` with `m` a DropConnect mask: a
    /// weight and its mask written without the parentheses they need.
    fn is_unparenthesised_dropconnect(&self, l: &Expr, r: &Expr) -> bool {
        let (Expr::Name(w), Expr::Binary(BinOp::MatMul, _, m, _)) = (l, r) else {
            return false;
        };
        let Expr::Name(m) = &**m else { return false };
        matches!(self.names.get(&w.to_string()), Some(Name::Param(_)))
            && matches!(
                self.names.get(&m.to_string()),
                Some(Name::Mask(k)) if matches!(self.masks[*k].law, MaskLaw::DropConnect(_))
            )
    }

    /// Reports `w * m @ h`, which is `w * (m @ h)`, with the parentheses it
    /// needs; the weight and the mask count as used.
    fn unparenthesised_dropconnect(&mut self, w: &Expr, r: &Expr, span: Span, e: &Expr) {
        let Expr::Binary(_, _, m, h) = r else { return };
        for name in [w, &**m] {
            if let Expr::Name(id) = name {
                match self.names.get(&id.to_string()).copied() {
                    Some(Name::Param(k)) => self.param_used[k] = true,
                    Some(Name::Mask(k)) => self.mask_used[k] = true,
                    _ => {}
                }
            }
        }
        let msg = format!(
            "`{e}` multiplies `{w}` by `{r}`, as `@` binds tighter than `*`; a weight times its DropConnect mask needs parentheses: `({w} * {m}) @ {h}`"
        );
        self.cx.error(span, msg);
    }

    /// In `a * b`, the weight and the mask, when one side names a mask and
    /// the other does not.
    fn weight_and_mask<'e>(&self, a: &'e Expr, b: &'e Expr) -> Option<(&'e Expr, &'e Ident)> {
        let mask = |e: &'e Expr| match e {
            Expr::Name(id) if matches!(self.names.get(&id.to_string()), Some(Name::Mask(_))) => {
                Some(id)
            }
            _ => None,
        };
        match (mask(a), mask(b)) {
            (None, Some(m)) => Some((a, m)),
            (Some(m), None) => Some((b, m)),
            _ => None,
        }
    }

    /// A matrix parameter written as a bare name.
    fn plain_weight(&mut self, l: &Expr) -> Option<(usize, Affine, Affine)> {
        let found = if let Expr::Name(id) = l {
            match self.names.get(&id.to_string()).copied() {
                Some(Name::Param(k)) => {
                    self.param_used[k] = true;
                    match self.params[k].shape.clone() {
                        _ if !self.param_ok[k] => return None,
                        Shape::Matrix(r, c) => return Some((k, r, c)),
                        s => format!(
                            "the vector parameter `{id}` ({})",
                            s.display(&self.dim_names)
                        ),
                    }
                }
                Some(Name::Mask(k)) => {
                    self.mask_used[k] = true;
                    let msg = match self.masks[k].law {
                        MaskLaw::DropConnect(_) => format!(
                            "`{id}` is a DropConnect mask, not a weight; multiply its weight by it in parentheses, `(w * {id}) @ h`, as `@` binds tighter than `*`"
                        ),
                        law => format!(
                            "`{id}` is a `{}` mask, not a weight; the left operand of `@` must be a matrix parameter",
                            law.name()
                        ),
                    };
                    self.cx.error(id.span(), msg);
                    return None;
                }
                None => {
                    self.name(id);
                    return None;
                }
                Some(_) => format!("`{id}`"),
            }
        } else {
            self.expr_any(l);
            format!("`{l}`")
        };
        let msg = format!(
            "the left operand of `@` must be a matrix parameter (or one times its `dropconnect` mask), found {found}"
        );
        self.cx.error(l.span(), msg);
        None
    }

    /// Checks that mask `m` can mask weight `k` and binds it to it.
    fn dropconnect(&mut self, k: usize, m: &Ident) -> Option<usize> {
        let Some(Name::Mask(mk)) = self.names.get(&m.to_string()).copied() else {
            return None;
        };
        self.mask_used[mk] = true;
        if !self.mask_ok[mk] {
            return None;
        }
        let (w, dims) = (&self.params[k].name, &self.dim_names);
        let mask = &self.masks[mk];
        let msg = if !matches!(mask.law, MaskLaw::DropConnect(_)) {
            format!(
                "`{m}` is a `{}` mask; only a `dropconnect` mask multiplies a weight on the left of `@`",
                mask.law.name()
            )
        } else if mask.shape != self.params[k].shape {
            format!(
                "cannot mask `{w}` ({}) with `{m}` ({}): the shapes differ",
                self.params[k].shape.display(dims),
                mask.shape.display(dims)
            )
        } else if let Some(other) = mask.param.filter(|p| *p != k) {
            format!(
                "`{m}` already masks `{}`; a DropConnect mask masks one weight, so declare one per weight",
                self.params[other].name
            )
        } else {
            self.masks[mk].param = Some(k);
            return Some(mk);
        };
        self.cx.error(m.span(), msg);
        None
    }

    /// Records that weight `k` is used in a product with DropConnect mask
    /// `mask`; a weight is masked by the same mask in all its products.
    fn record_product(&mut self, k: usize, mask: Option<usize>, span: Span) {
        let Some((first, _)) = self.param_product[k] else {
            self.param_product[k] = Some((mask, span));
            return;
        };
        let w = &self.params[k].name;
        let name = |m: usize| self.masks[m].name.to_string();
        let msg = match (first, mask) {
            (a, b) if a == b => return,
            (None, Some(m)) => format!(
                "`{w}` is masked by `{}` here but not in an earlier product; a weight with a DropConnect mask is masked in every product",
                name(m)
            ),
            (Some(m), None) => format!(
                "`{w}` is used here without its DropConnect mask `{}`; a weight with a DropConnect mask is masked in every product",
                name(m)
            ),
            (Some(a), Some(b)) => format!(
                "`{w}` is masked by `{}` here and by `{}` in an earlier product; a weight has one DropConnect mask",
                name(b),
                name(a)
            ),
            (None, None) => return,
        };
        self.cx.error(span, msg);
    }

    /// The name and shape of a matrix parameter written as a bare name.
    fn matrix_name(&mut self, e: &Expr) -> Option<(String, String)> {
        let Expr::Name(id) = e else { return None };
        let Some(Name::Param(k)) = self.names.get(&id.to_string()).copied() else {
            return None;
        };
        let Shape::Matrix(..) = self.params[k].shape else {
            return None;
        };
        self.param_used[k] = true;
        Some((
            id.to_string(),
            self.params[k].shape.display(&self.dim_names),
        ))
    }

    /// The number of parts of an operand (the items of a stack, or the node
    /// itself) and the first part that depends on neither the input nor a
    /// state, if one does not.
    fn static_part(&self, x: NodeId) -> (usize, Option<NodeId>) {
        let parts = match &self.nodes[x].op {
            Op::Stack(items) => items.clone(),
            _ => vec![x],
        };
        let bad = parts.iter().copied().find(|p| !self.depends_on_step(*p));
        (parts.len(), bad)
    }

    /// The message for a mask used alone where a value of the step is
    /// needed, if `node` is a mask.
    fn mask_alone(&self, node: NodeId, what: &str, example: &str) -> Option<String> {
        let Op::Mask(_) = self.nodes[node].op else {
            return None;
        };
        Some(format!(
            "`{}` is a mask, and a mask alone cannot be {what}: apply it to a value, e.g. `{example}`",
            self.nodes[node].text
        ))
    }

    /// Whether a node depends on the input or a state (computed once per node).
    fn depends_on_step(&self, node: NodeId) -> bool {
        self.varies[node]
    }

    fn stack(&mut self, items: &[Expr], span: Span, e: &Expr) -> Option<NodeId> {
        let mut parts = Vec::new();
        let mut total = Affine::constant(0);
        let mut ok = true;
        for item in items {
            if let Some((name, shape)) = self.matrix_name(item) {
                let msg = format!(
                    "cannot stack `{name}`: only vectors stack, and it is a matrix ({shape})"
                );
                self.cx.error(item.span(), msg);
                ok = false;
                continue;
            }
            let Some(n) = self.expr_any(item) else {
                ok = false;
                continue;
            };
            match (&self.nodes[n].op, &self.nodes[n].shape) {
                (Op::Stack(inner), Shape::Vector(len)) => {
                    parts.extend(inner.iter().copied());
                    total = total.add(len);
                }
                (_, Shape::Vector(len)) => {
                    parts.push(n);
                    total = total.add(len);
                }
                (_, s) => {
                    let msg = format!(
                        "cannot stack `{}`: only vectors stack, and it is {}",
                        self.nodes[n].text,
                        describe_shape(s)
                    );
                    self.cx.error(item.span(), msg);
                    ok = false;
                }
            }
        }
        if parts.is_empty() && ok {
            self.cx
                .error(span, "a stack needs at least one vector: `[a, x]`");
            return None;
        }
        ok.then(|| self.intern(Op::Stack(parts), Shape::Vector(total), span, e.to_string()))
    }

    // ANCHOR: intern
    /// Adds a node, or returns the existing node that computes the same thing.
    fn intern(&mut self, op: Op, shape: Shape, span: Span, text: String) -> NodeId {
        if let Some(&id) = self.interned.get(&op) {
            return id;
        }
        let id = self.nodes.len();
        let varies = match &op {
            Op::Input | Op::State(_) => true,
            Op::Param(_) | Op::Const(_) | Op::Mask(_) => false,
            op => op.args().iter().any(|a| self.varies[*a]),
        };
        self.varies.push(varies);
        self.nodes.push(Node {
            op: op.clone(),
            shape,
            span,
            text: shorten(text),
        });
        self.interned.insert(op, id);
        id
    }
    // ANCHOR_END: intern
}

/// Keeps messages and docs readable for very long expressions.
fn shorten(text: String) -> String {
    const MAX: usize = 160;
    if text.chars().count() <= MAX {
        return text;
    }
    let mut short: String = text.chars().take(MAX).collect();
    short.push('…');
    short
}

fn describe(name: Name) -> &'static str {
    match name {
        Name::Dim => "a dimension",
        Name::Input => "the input",
        Name::State(_) => "a state",
        Name::Param(_) => "a parameter",
        Name::Value(_) => "a value defined by `let` or `output`",
        Name::Activation(_) => "an activation (call it: `act(x)`)",
        Name::Mask(_) => "a mask",
    }
}

fn describe_shape(shape: &Shape) -> &'static str {
    match shape {
        Shape::Scalar => "a number",
        Shape::PerExample => "a number per example",
        Shape::Vector(_) => "a vector",
        Shape::Matrix(..) => "a matrix",
    }
}

fn verb(bin: Bin) -> &'static str {
    match bin {
        Bin::Add => "add",
        Bin::Sub => "subtract",
        Bin::Mul => "multiply element-wise",
        Bin::Div => "divide element-wise",
    }
}

fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return "none (declare them with `dims n_x, n_a;`)".to_string();
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    quote_list(&refs)
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number as the equations would show it (`1`, `0.5`).
pub fn format_number(v: f64) -> String {
    format!("{v}")
}
