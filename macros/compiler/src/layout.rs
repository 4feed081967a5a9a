//! Layouts: where a cell's parameters sit in another framework's tensors.
//!
//! A layout names each of the framework's tensors and says which parameters
//! it is made of, stacked top to bottom (`[w_i, w_f]`) and possibly
//! transposed (`.T`). Lowering checks that every name is a parameter, that
//! stacked blocks have the same number of columns, and that each parameter
//! has exactly one place, so that import and export are exact inverses.

use crate::ast::{LayoutBlock, LayoutDecl};
use crate::ctxt::Ctxt;
use crate::graph::Decl;
use crate::shape::{Affine, Shape};
use proc_macro2::Span;
use std::collections::HashMap;

/// A checked layout.
pub struct Layout {
    /// The framework's name.
    pub framework: String,
    /// The framework's tensors in its order: name and block.
    pub tensors: Vec<(String, Block)>,
}

/// A checked block: parameters by index into the cell's parameters.
pub enum Block {
    /// One parameter.
    Param(usize),
    /// Blocks stacked top to bottom.
    Stack(Vec<Block>),
    /// The transpose of a block.
    Transpose(Box<Block>),
}

/// The shape of a block: a vector, or a matrix of rows and columns.
#[derive(Clone)]
enum BlockShape {
    Vector(Affine),
    Matrix(Affine, Affine),
}

/// What the checks need to know of the cell.
pub struct CellNames<'a> {
    /// The parameters, in declaration order.
    pub params: &'a [Decl],
    /// Whether each parameter's declared shape was valid.
    pub param_ok: &'a [bool],
    /// What a name that is not a parameter is (`a state`), if declared.
    pub other: &'a dyn Fn(&str) -> Option<&'static str>,
    /// The dimension names, for messages.
    pub dims: &'a [String],
    /// Whether earlier errors may have left names undeclared.
    pub lenient: bool,
}

/// Checks the layouts of a cell, recording every mistake in `cx`.
pub fn lower_layouts(decls: &[&LayoutDecl], cell: &CellNames<'_>, cx: &mut Ctxt) -> Vec<Layout> {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for decl in decls {
        let framework = decl.framework.to_string();
        if seen
            .insert(framework.clone(), decl.framework.span())
            .is_some()
        {
            cx.error(
                decl.framework.span(),
                format!("the layout `{framework}` is declared twice"),
            );
            continue;
        }
        if let Some(layout) = lower_layout(decl, cell, cx) {
            out.push(layout);
        }
    }
    out
}

struct LayoutCx<'a, 'c> {
    cell: &'a CellNames<'a>,
    cx: &'c mut Ctxt,
    framework: String,
    placed: Vec<bool>,
    ok: bool,
}

fn lower_layout(decl: &LayoutDecl, cell: &CellNames<'_>, cx: &mut Ctxt) -> Option<Layout> {
    let framework = decl.framework.to_string();
    let mut lc = LayoutCx {
        cell,
        cx,
        framework: framework.clone(),
        placed: vec![false; cell.params.len()],
        ok: true,
    };
    let mut names: HashMap<String, ()> = HashMap::new();
    let mut tensors = Vec::new();
    for t in &decl.tensors {
        let name = t.name.to_string();
        if names.insert(name.clone(), ()).is_some() {
            lc.cx.error(
                t.name.span(),
                format!("the layout `{framework}` names the tensor `{name}` twice"),
            );
            lc.ok = false;
            continue;
        }
        if let Some((block, _)) = lc.block(&t.block) {
            tensors.push((name, block));
        }
    }
    let missing: Vec<String> = cell
        .params
        .iter()
        .zip(&lc.placed)
        .filter(|(_, placed)| !**placed)
        .map(|(p, _)| format!("`{}`", p.name))
        .collect();
    if !missing.is_empty() && !cell.lenient {
        let msg = format!(
            "the layout `{framework}` does not place {}; every parameter needs one place so that import and export are exact",
            missing.join(", ")
        );
        lc.cx.error(decl.framework.span(), msg);
        lc.ok = false;
    }
    lc.ok.then_some(Layout { framework, tensors })
}

impl LayoutCx<'_, '_> {
    fn fail(&mut self, span: Span, msg: String) -> Option<(Block, BlockShape)> {
        self.cx.error(span, msg);
        self.ok = false;
        None
    }

    fn show(&self, shape: &BlockShape) -> String {
        let dims = self.cell.dims;
        match shape {
            BlockShape::Vector(n) => format!("[{}]", n.display(dims)),
            BlockShape::Matrix(r, c) => format!("[{}, {}]", r.display(dims), c.display(dims)),
        }
    }

    fn block(&mut self, block: &LayoutBlock) -> Option<(Block, BlockShape)> {
        match block {
            LayoutBlock::Param(id) => {
                let name = id.to_string();
                let Some(index) = self.cell.params.iter().position(|p| p.name == name) else {
                    if self.cell.lenient {
                        self.ok = false;
                        return None;
                    }
                    let msg = match (self.cell.other)(&name) {
                        Some(what) => format!(
                            "`{name}` is {what}, not a parameter; a layout places parameters"
                        ),
                        None => format!("`{name}` is not a parameter of this cell"),
                    };
                    return self.fail(id.span(), msg);
                };
                if std::mem::replace(&mut self.placed[index], true) {
                    let msg = format!(
                        "the layout `{}` places `{name}` twice; each parameter has one place",
                        self.framework
                    );
                    return self.fail(id.span(), msg);
                }
                if !self.cell.param_ok[index] {
                    self.ok = false;
                    return None;
                }
                let shape = match &self.cell.params[index].shape {
                    Shape::Vector(n) => BlockShape::Vector(n.clone()),
                    Shape::Matrix(r, c) => BlockShape::Matrix(r.clone(), c.clone()),
                    Shape::Scalar | Shape::PerExample => {
                        self.ok = false;
                        return None;
                    }
                };
                Some((Block::Param(index), shape))
            }
            LayoutBlock::Transpose(inner, _) => {
                let (b, shape) = self.block(inner)?;
                let shape = match shape {
                    BlockShape::Vector(n) => BlockShape::Matrix(Affine::constant(1), n),
                    BlockShape::Matrix(r, c) => BlockShape::Matrix(c, r),
                };
                Some((Block::Transpose(Box::new(b)), shape))
            }
            LayoutBlock::Stack(items, span) => {
                if items.is_empty() {
                    return self.fail(*span, "an empty stack places nothing".into());
                }
                // Check every item, so that all mistakes are reported.
                let parts: Vec<_> = items
                    .iter()
                    .map(|item| self.block(item).map(|b| (b, item.span())))
                    .collect();
                let parts: Option<Vec<_>> = parts.into_iter().collect();
                let parts = parts?;
                let ((_, first), _) = &parts[0];
                let mut shape = first.clone();
                for ((_, next), item_span) in &parts[1..] {
                    shape = match (&shape, next) {
                        (BlockShape::Vector(a), BlockShape::Vector(b)) => {
                            BlockShape::Vector(a.add(b))
                        }
                        (BlockShape::Matrix(r, c), BlockShape::Matrix(r2, c2)) if c == c2 => {
                            BlockShape::Matrix(r.add(r2), c.clone())
                        }
                        _ => {
                            let msg = format!(
                                "cannot stack {} under {}: blocks stacked top to bottom need the same columns (a vector stacks only with vectors)",
                                self.show(next),
                                self.show(&shape)
                            );
                            return self.fail(*item_span, msg);
                        }
                    };
                }
                let blocks = parts.into_iter().map(|((b, _), _)| b).collect();
                Some((Block::Stack(blocks), shape))
            }
        }
    }
}
