//! The cell as a graph: an arena of nodes in topological order, shared
//! sub-expressions shared (hash-consed), every node with the span of the
//! user's tokens.

use crate::shape::{Affine, Shape};
use proc_macro2::Span;
use syn::Ident;

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// An element-wise function of the equations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// `1 / (1 + exp(-x))`
    Sigmoid,
    /// `tanh(x)`
    Tanh,
    /// `max(x, 0)`
    Relu,
    /// `x`
    Identity,
    /// `exp(x)`
    Exp,
    /// natural logarithm
    Log,
    /// Keras's `clip(0.2 x + 0.5, 0, 1)`
    HardSigmoid,
    /// `√x`
    Sqrt,
    /// Activation `k` of the cell, chosen at run time (`activation act = tanh;`).
    Dyn(usize),
}

impl Func {
    /// Every element-wise function, with its name in the equations.
    pub const ALL: [(&'static str, Func); 8] = [
        ("sigmoid", Func::Sigmoid),
        ("tanh", Func::Tanh),
        ("relu", Func::Relu),
        ("identity", Func::Identity),
        ("exp", Func::Exp),
        ("log", Func::Log),
        ("hard_sigmoid", Func::HardSigmoid),
        ("sqrt", Func::Sqrt),
    ];

    /// The function's name in the equations.
    pub fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Evaluates in `f64`, for constant folding (`None` for a run-time activation).
    pub fn eval(self, x: f64) -> Option<f64> {
        Some(match self {
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Tanh => x.tanh(),
            Func::Relu => x.max(0.0),
            Func::Identity => x,
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::HardSigmoid => (0.2 * x + 0.5).clamp(0.0, 1.0),
            Func::Sqrt => x.sqrt(),
            Func::Dyn(_) => return None,
        })
    }
}

/// An element-wise binary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bin {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl Bin {
    /// Evaluates in `f64`, for constant folding.
    pub fn eval(self, a: f64, b: f64) -> f64 {
        match self {
            Bin::Add => a + b,
            Bin::Sub => a - b,
            Bin::Mul => a * b,
            Bin::Div => a / b,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Bin::Add => "+",
            Bin::Sub => "-",
            Bin::Mul => "*",
            Bin::Div => "/",
        }
    }
}

/// A reduction over the vector of each example, to one number per example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// `Σ v`
    Sum,
    /// `Σ v / n`
    Mean,
    /// The population variance `Σ (v − mean(v))² / n`, as layer normalisation uses.
    Var,
}

impl Reduction {
    /// Every reduction, with its name in the equations.
    pub const ALL: [(&'static str, Reduction); 3] = [
        ("sum", Reduction::Sum),
        ("mean", Reduction::Mean),
        ("var", Reduction::Var),
    ];

    /// The reduction's name in the equations.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
            Reduction::Var => "var",
        }
    }
}

// ANCHOR: op
/// What a node computes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// The input at this step.
    Input,
    /// A state's value before this step.
    State(usize),
    /// A vector parameter (a matrix parameter only appears in [`Op::MatMul`]).
    Param(usize),
    /// A numeric literal, as `f64` bits.
    Const(u64),
    /// Matrix parameter `@` vector.
    MatMul(usize, NodeId),
    /// Vectors stacked on top of each other.
    Stack(Vec<NodeId>),
    /// Element-wise binary operation; scalars broadcast.
    Binary(Bin, NodeId, NodeId),
    /// Element-wise negation.
    Neg(NodeId),
    /// Element-wise function.
    Func(Func, NodeId),
    /// Softmax over the vector, per example.
    Softmax(NodeId),
    /// A reduction of a vector (or of a stack of vectors, as one vector) to
    /// one number per example.
    Reduce(Reduction, NodeId),
    /// A number per example repeated along a vector of this length (inserted
    /// where such a number meets a vector).
    Broadcast(NodeId, Affine),
    /// Random mask `k` (`mask d: [n] = dropout(0.25);`): drawn by the runtime
    /// in training, its expectation in inference; no gradient flows into it.
    Mask(usize),
}
// ANCHOR_END: op

impl Op {
    /// The nodes this node reads.
    pub fn args(&self) -> Vec<NodeId> {
        match self {
            Op::Input | Op::State(_) | Op::Param(_) | Op::Const(_) | Op::Mask(_) => Vec::new(),
            Op::MatMul(_, x)
            | Op::Neg(x)
            | Op::Func(_, x)
            | Op::Softmax(x)
            | Op::Reduce(_, x)
            | Op::Broadcast(x, _) => vec![*x],
            Op::Stack(items) => items.clone(),
            Op::Binary(_, a, b) => vec![*a, *b],
        }
    }

    /// The constant's value, if this is a constant.
    pub fn constant(&self) -> Option<f64> {
        match self {
            Op::Const(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }
}

/// A node of the graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Its shape per example.
    pub shape: Shape,
    /// The user's tokens it came from.
    pub span: Span,
    /// The expression as written, for messages and docs.
    pub text: String,
}

/// A declared name with its shape.
#[derive(Clone, Debug)]
pub struct Decl {
    /// The name as declared.
    pub name: Ident,
    /// The declared shape.
    pub shape: Shape,
    /// How a parameter is initialised (unused for inputs and states).
    pub init: Init,
}

/// How a parameter is initialised by the generated `init`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element this value.
    Constant(f64),
    /// Normal with this mean and standard deviation.
    Normal(f64, f64),
    /// Uniform between these bounds.
    Uniform(f64, f64),
    /// Glorot (Xavier) uniform: `U(−l, l)`, `l = √(6 / (rows + cols))`.
    GlorotUniform,
    /// An orthogonal matrix (from the QR decomposition of a normal one).
    Orthogonal,
}

impl Init {
    /// The initialisers by name, with their number of arguments.
    pub const NAMES: [(&'static str, usize); 7] = [
        ("zeros", 0),
        ("ones", 0),
        ("constant", 1),
        ("normal", 2),
        ("uniform", 2),
        ("glorot_uniform", 0),
        ("orthogonal", 0),
    ];
}

/// How a random mask is drawn in training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaskLaw {
    /// Variational dropout (Gal and Ghahramani, 2016): one mask per example
    /// for the whole sequence, each element 0 with probability `p` and
    /// `1 / (1 − p)` otherwise; its expectation is 1.
    Dropout(f64),
    /// Zoneout (Krueger et al., 2017): a new mask at every step, each element
    /// 1 with probability `p` (keep the previous value) and 0 otherwise; its
    /// expectation is `p`.
    Zoneout(f64),
    /// DropConnect (Wan et al., 2013) on a weight matrix: one mask for the
    /// whole batch and sequence, each element 0 with probability `p` and
    /// `1 / (1 − p)` otherwise; its expectation is 1.
    DropConnect(f64),
}

impl MaskLaw {
    /// The laws by name.
    pub const NAMES: [&'static str; 3] = ["dropout", "zoneout", "dropconnect"];

    /// The law's name in the declaration.
    pub fn name(self) -> &'static str {
        match self {
            MaskLaw::Dropout(_) => "dropout",
            MaskLaw::Zoneout(_) => "zoneout",
            MaskLaw::DropConnect(_) => "dropconnect",
        }
    }

    /// The rate `p` declared.
    pub fn rate(self) -> f64 {
        match self {
            MaskLaw::Dropout(p) | MaskLaw::Zoneout(p) | MaskLaw::DropConnect(p) => p,
        }
    }
}

/// A declared random mask.
#[derive(Clone, Debug)]
pub struct MaskDecl {
    /// The name as declared.
    pub name: Ident,
    /// A vector for dropout and zoneout, the masked parameter's shape for DropConnect.
    pub shape: Shape,
    /// How it is drawn.
    pub law: MaskLaw,
    /// For DropConnect, the parameter it masks.
    pub param: Option<usize>,
}

/// A statement, kept for the docs of the generated code.
#[derive(Clone, Debug)]
pub struct Equation {
    /// `let`, assignment or output.
    pub kind: crate::ast::StmtKind,
    /// The name defined.
    pub name: String,
    /// The right-hand side as written.
    pub text: String,
    /// The statement's doc comment.
    pub docs: Vec<String>,
}

/// An output of the step.
#[derive(Clone, Debug)]
pub struct Output {
    /// The output's name.
    pub name: Ident,
    /// The node it takes its value from.
    pub node: NodeId,
}

/// A checked cell: its declarations and the graph of one step.
pub struct Graph {
    /// The cell's type name.
    pub name: Ident,
    /// Its visibility.
    pub vis: syn::Visibility,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// Dimension names, in declaration order.
    pub dims: Vec<Ident>,
    /// The input.
    pub input: Decl,
    /// The states, in declaration order.
    pub states: Vec<Decl>,
    /// The parameters, in declaration order.
    pub params: Vec<Decl>,
    /// The nodes, in topological order.
    pub nodes: Vec<Node>,
    /// For each state, the node that gives its next value.
    pub next_states: Vec<NodeId>,
    /// The outputs, in declaration order.
    pub outputs: Vec<Output>,
    /// The run-time activations: name and default function.
    pub activations: Vec<(Ident, Func)>,
    /// The random masks, in declaration order.
    pub masks: Vec<MaskDecl>,
    /// The statements as written.
    pub equations: Vec<Equation>,
    /// The name a statement gave each node, if any (the first one).
    pub labels: Vec<Option<String>>,
    /// Where the parameters sit in other frameworks' tensors.
    pub layouts: Vec<crate::layout::Layout>,
}

impl Graph {
    /// The dimension names as strings, for rendering shapes.
    pub fn dim_names(&self) -> Vec<String> {
        self.dims.iter().map(ToString::to_string).collect()
    }

    /// The rows per example of a node's value: a vector's length, 1 for a
    /// number per example (literals have none).
    pub fn len_of(&self, node: NodeId) -> Option<&Affine> {
        static ONE: Affine = Affine {
            terms: std::collections::BTreeMap::new(),
            constant: 1,
        };
        match &self.nodes[node].shape {
            Shape::PerExample => Some(&ONE),
            s => s.vector_len(),
        }
    }

    /// Whether a node holds one number per example.
    pub fn per_example(&self, node: NodeId) -> bool {
        self.nodes[node].shape == Shape::PerExample
    }

    /// The DropConnect mask of each parameter, if it has one.
    pub fn param_masks(&self) -> Vec<Option<usize>> {
        let mut out = vec![None; self.params.len()];
        for (k, m) in self.masks.iter().enumerate() {
            if let Some(p) = m.param {
                out[p] = Some(k);
            }
        }
        out
    }

    /// The roots of the step: next states, then outputs.
    pub fn roots(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.next_states
            .iter()
            .copied()
            .chain(self.outputs.iter().map(|o| o.node))
    }

    /// Which nodes have a gradient: those that depend on the input, a state
    /// or a parameter (not only on numbers and masks).
    pub fn differentiable(&self) -> Vec<bool> {
        let mut grad = vec![false; self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate() {
            grad[id] = match &node.op {
                Op::Input | Op::State(_) | Op::Param(_) | Op::MatMul(..) => true,
                Op::Const(_) | Op::Mask(_) => false,
                op => op.args().iter().any(|a| grad[*a]),
            };
        }
        grad
    }

    /// Which nodes the roots depend on.
    pub fn live(&self) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = self.roots().collect();
        while let Some(n) = stack.pop() {
            if !live[n] {
                live[n] = true;
                stack.extend(self.nodes[n].op.args());
            }
        }
        live
    }
}
