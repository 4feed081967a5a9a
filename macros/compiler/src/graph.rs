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
    /// Activation `k` of the cell, chosen at run time (`activation act = tanh;`).
    Dyn(usize),
}

impl Func {
    /// Every element-wise function, with its name in the equations.
    pub const ALL: [(&'static str, Func); 7] = [
        ("sigmoid", Func::Sigmoid),
        ("tanh", Func::Tanh),
        ("relu", Func::Relu),
        ("identity", Func::Identity),
        ("exp", Func::Exp),
        ("log", Func::Log),
        ("hard_sigmoid", Func::HardSigmoid),
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
}
// ANCHOR_END: op

impl Op {
    /// The nodes this node reads.
    pub fn args(&self) -> Vec<NodeId> {
        match self {
            Op::Input | Op::State(_) | Op::Param(_) | Op::Const(_) => Vec::new(),
            Op::MatMul(_, x) | Op::Neg(x) | Op::Func(_, x) | Op::Softmax(x) => vec![*x],
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

    /// The length of a vector node (scalars have none).
    pub fn len_of(&self, node: NodeId) -> Option<&Affine> {
        self.nodes[node].shape.vector_len()
    }

    /// The roots of the step: next states, then outputs.
    pub fn roots(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.next_states
            .iter()
            .copied()
            .chain(self.outputs.iter().map(|o| o.node))
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
