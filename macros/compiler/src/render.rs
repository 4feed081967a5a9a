//! Renders a cell's declaration as text for the docs of the generated code.

use crate::ast::StmtKind;
use crate::graph::Graph;
use crate::shape::Shape;

/// The equations as declared, one statement per line, with the statements'
/// doc comments as trailing comments.
pub fn equations(g: &Graph) -> String {
    let lines: Vec<(String, String)> = g
        .equations
        .iter()
        .map(|e| {
            let head = match e.kind {
                StmtKind::Let => format!("let {} = {};", e.name, e.text),
                StmtKind::Assign => format!("{} = {};", e.name, e.text),
                StmtKind::Output => format!("output {} = {};", e.name, e.text),
            };
            let doc = e
                .docs
                .iter()
                .map(|d| d.trim())
                .collect::<Vec<_>>()
                .join(" ");
            (head, doc)
        })
        .collect();
    let width = lines
        .iter()
        .map(|(h, _)| h.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (head, doc) in lines {
        if doc.is_empty() {
            out.push_str(&head);
        } else {
            out.push_str(&format!("{head:width$}  // {doc}"));
        }
        out.push('\n');
    }
    out
}

/// The rustdoc of the generated cell type: the user's docs, the declaration
/// and the parameters with their shapes.
pub fn cell_docs(g: &Graph) -> Vec<String> {
    let dims = g.dim_names();
    let mut doc: Vec<String> = g.docs.clone();
    if !doc.is_empty() {
        doc.push(String::new());
    }
    doc.push(" # Declaration".into());
    doc.push(String::new());
    doc.push(format!(
        " Dimensions: {}.",
        dims.iter()
            .map(|d| format!("`{d}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    doc.push(format!(
        " Input `{}`: {}; states: {}.",
        g.input.name,
        g.input.shape.display(&dims),
        list(
            g.states
                .iter()
                .map(|s| (s.name.to_string(), s.shape.clone())),
            &dims
        )
    ));
    if !g.masks.is_empty() {
        let masks: Vec<String> = g
            .masks
            .iter()
            .map(|m| {
                let law = format!("{}({})", m.law.name(), m.law.rate());
                match m.param {
                    Some(p) => format!(
                        "`{}` {} `{law}` on `{}`",
                        m.name,
                        m.shape.display(&dims),
                        g.params[p].name
                    ),
                    None => format!("`{}` {} `{law}`", m.name, m.shape.display(&dims)),
                }
            })
            .collect();
        doc.push(format!(
            " Random masks (drawn in training, their expectations in inference; rates by `with_rate`): {}.",
            masks.join(", ")
        ));
    }
    doc.push(String::new());
    doc.push(" ```text".into());
    for line in equations(g).lines() {
        doc.push(format!(" {line}"));
    }
    doc.push(" ```".into());
    doc.push(String::new());
    doc.push(" # Backward".into());
    doc.push(String::new());
    doc.push(" Derived by the compiler (reverse mode); `dv` is the gradient of the loss".into());
    doc.push(" with respect to `v`, `s_prev` a state before the step, `⊙` the".into());
    doc.push(" element-wise product. Available as `BACKWARD` and `BACKWARD_LATEX`.".into());
    doc.push(String::new());
    doc.push(" ```text".into());
    for line in
        crate::render_backward::backward_equations(g, crate::render_backward::Style::Plain).lines()
    {
        doc.push(format!(" {line}"));
    }
    doc.push(" ```".into());
    doc.push(String::new());
    doc.push(" # Parameters".into());
    doc.push(String::new());
    doc.push(" | name | shape |".into());
    doc.push(" |---|---|".into());
    for p in &g.params {
        doc.push(format!(" | `{}` | `{}` |", p.name, p.shape.display(&dims)));
    }
    doc
}

fn list(items: impl Iterator<Item = (String, Shape)>, dims: &[String]) -> String {
    let parts: Vec<String> = items
        .map(|(n, s)| format!("`{n}` {}", s.display(dims)))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}
