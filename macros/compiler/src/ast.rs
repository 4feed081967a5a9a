//! The syntax tree of a `cell!` declaration, as written, with spans.

use proc_macro2::Span;
use std::fmt;
use syn::Ident;

/// One `cell Name { ... }` declaration.
pub struct CellDecl {
    /// Doc comment lines on the cell.
    pub docs: Vec<String>,
    /// `pub`, `pub(crate)` or nothing.
    pub vis: syn::Visibility,
    /// The cell's type name.
    pub name: Ident,
    /// Declarations and statements in source order.
    pub items: Vec<Item>,
    /// Whether a declaration or statement (other than a layout) failed to
    /// parse: the names it declared are then unknown, so the rest is not
    /// checked against them.
    pub incomplete: bool,
}

/// A declaration or a statement in the cell's body.
pub enum Item {
    /// `dims n_x, n_a;`
    Dims(Vec<Ident>),
    /// `input x: [n_x];`
    Input(Vec<Binding>),
    /// `state a: [n_a], c: [n_a];`
    State(Vec<Binding>),
    /// `param w: [n_a, n_x], b: [n_a];`
    Param(Vec<Binding>),
    /// `mask d: [n_a] = dropout(0.25);`: random masks, drawn in training.
    Mask(Vec<Binding>),
    /// `activation act = tanh, rec = sigmoid;`: functions chosen at run time.
    Activation(Vec<(Ident, Ident)>),
    /// `let z = expr;`, `a = expr;` or `output y = expr;`
    Stmt(Stmt),
    /// `layout torch { weight_ih = [w_ii, w_if]; ... }`: where the parameters
    /// sit in another framework's tensors.
    Layout(LayoutDecl),
}

/// `layout framework { tensor = block; ... }`.
pub struct LayoutDecl {
    /// The framework's name, as used at run time (`torch`, `keras`).
    pub framework: Ident,
    /// The framework's tensors, in the framework's order.
    pub tensors: Vec<LayoutTensor>,
}

/// `name = block;` in a layout.
pub struct LayoutTensor {
    /// The tensor's name in the framework.
    pub name: Ident,
    /// How it is made of the cell's parameters.
    pub block: LayoutBlock,
}

/// A framework tensor as a block of parameters.
pub enum LayoutBlock {
    /// One parameter.
    Param(Ident),
    /// `[a, b, ...]`: blocks stacked top to bottom, with the span of the brackets.
    Stack(Vec<LayoutBlock>, Span),
    /// `block.T`: the transpose, with the span of `T`.
    Transpose(Box<LayoutBlock>, Span),
}

impl LayoutBlock {
    /// The span to underline for this block.
    pub fn span(&self) -> Span {
        match self {
            LayoutBlock::Param(id) => id.span(),
            LayoutBlock::Stack(_, span) | LayoutBlock::Transpose(_, span) => *span,
        }
    }
}

/// What a statement defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `let name = ...;` a local value.
    Let,
    /// `name = ...;` the next value of a state.
    Assign,
    /// `output name = ...;` an output of the step.
    Output,
}

/// A statement: `let`, assignment or `output`.
pub struct Stmt {
    /// Doc comment lines on the statement.
    pub docs: Vec<String>,
    /// What kind of statement.
    pub kind: StmtKind,
    /// The name defined or assigned.
    pub name: Ident,
    /// The right-hand side.
    pub expr: Expr,
}

/// `name: [shape]` in a declaration.
pub struct Binding {
    /// The declared name.
    pub name: Ident,
    /// The declared shape.
    pub shape: ShapeAst,
    /// `= glorot_uniform`, `= constant(1.0)`: how a parameter is
    /// initialised; `= dropout(0.25)`: how a mask is drawn.
    pub init: Option<InitAst>,
}

/// An initialiser as written: a name and numeric arguments.
pub struct InitAst {
    /// `zeros`, `ones`, `constant`, `normal`, `uniform`, `glorot_uniform`, `orthogonal`.
    pub name: Ident,
    /// The numeric arguments, if any.
    pub args: Vec<f64>,
}

/// `[len]` or `[rows, cols]` as written.
pub struct ShapeAst {
    /// One entry per axis.
    pub axes: Vec<AffineAst>,
    /// The span of the brackets.
    pub span: Span,
}

/// An affine length as written: terms `coeff * dim` or constants.
pub struct AffineAst {
    /// `(coefficient, dimension)`; no dimension means a constant.
    pub terms: Vec<(i64, Option<Ident>)>,
    /// The span of the first token.
    pub span: proc_macro2::Span,
}

/// A binary operator of the equations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Element-wise `+`.
    Add,
    /// Element-wise `-`.
    Sub,
    /// Element-wise `*`.
    Mul,
    /// Element-wise `/`.
    Div,
    /// Matrix product `@`.
    MatMul,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
        }
    }

    /// Binding strength: `@` binds tighter than `*` and `/`, which bind tighter than `+` and `-`.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
            BinOp::MatMul => 3,
        }
    }
}

/// An expression of the equations.
pub enum Expr {
    /// A declared name or a `let`.
    Name(Ident),
    /// A numeric literal.
    Num(f64, Span),
    /// `func(args)`.
    Call(Ident, Vec<Expr>),
    /// `-expr`.
    Neg(Box<Expr>, Span),
    /// `lhs op rhs`, with the span of the operator.
    Binary(BinOp, Span, Box<Expr>, Box<Expr>),
    /// `[a, b, ...]`, with the span of the brackets.
    Stack(Vec<Expr>, Span),
}

impl Expr {
    /// The span to underline for this expression: the smallest meaningful token.
    pub fn span(&self) -> Span {
        match self {
            Expr::Name(id) => id.span(),
            Expr::Call(id, _) => id.span(),
            Expr::Num(_, span) | Expr::Neg(_, span) | Expr::Binary(_, span, _, _) => *span,
            Expr::Stack(_, span) => *span,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Name(id) => write!(f, "{id}"),
            Expr::Num(v, _) => write!(f, "{v}"),
            Expr::Call(func, args) => {
                write!(f, "{func}(")?;
                write_list(f, args)?;
                write!(f, ")")
            }
            Expr::Neg(e, _) => write!(f, "-{}", Paren(e, 3)),
            Expr::Binary(op, _, l, r) => {
                let p = op.precedence();
                write!(f, "{} {} {}", Paren(l, p), op.symbol(), Paren(r, p + 1))
            }
            Expr::Stack(items, _) => {
                write!(f, "[")?;
                write_list(f, items)?;
                write!(f, "]")
            }
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Writes an operand, in parentheses when it binds more loosely than `min`.
struct Paren<'a>(&'a Expr, u8);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Expr::Binary(op, ..) if op.precedence() < self.1 => write!(f, "({})", self.0),
            e => write!(f, "{e}"),
        }
    }
}
