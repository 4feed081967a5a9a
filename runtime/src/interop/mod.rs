//! Moving weights between cellforge and other frameworks.
//!
//! A cell declares, once, where its parameters sit in another framework's
//! tensors, with a `layout` in its `cell!`:
//!
//! ```text
//! layout torch {
//!     weight_ih = [w_ii, w_if, w_ig, w_io];   // gates stacked top to bottom
//!     bias_ih = [b_ii, b_if, b_ig, b_io];
//! }
//! layout keras {
//!     kernel = [w_i, w_f, w_c, w_o].T;        // Keras keeps (n_x, 4 · units)
//! }
//! ```
//!
//! The macro checks the layout (every parameter placed exactly once, stacked
//! blocks of equal width) and stores it in [`CellSpec::layouts`]. From it,
//! [`placements`] computes where each element of each framework tensor lives
//! in the cell's flat parameters, and import and export are the same
//! index map read in one direction or the other: nothing is written by hand
//! per cell.
//!
//! [`Weights`] holds a framework's tensors, read from or written to
//! safetensors (PyTorch's `state_dict`) or `.npz` (Keras's `get_weights()`);
//! models import and export them layer by layer
//! ([`Sequential::import_weights`](crate::nn::model::Sequential::import_weights)).
//!
//! [`CellSpec::layouts`]: crate::CellSpec::layouts

pub(crate) mod files;
mod model;

pub use files::{NamedArray, Weights};

use crate::{Cell, Error, Real};

/// A block of a framework tensor, as a layout declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// One parameter, by name.
    Param(&'static str),
    /// Blocks stacked top to bottom (vectors end to end).
    Stack(&'static [Block]),
    /// The transpose of a block (a vector becomes one row).
    Transpose(&'static Block),
}

/// One tensor of a framework: its name and its block of parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorLayout {
    /// The tensor's name in the framework (`weight_ih`, `kernel`).
    pub name: &'static str,
    /// Which parameters it is made of, and how.
    pub block: Block,
}

/// Where a cell's parameters sit in one framework's tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameworkLayout {
    /// The framework's name (`torch`, `keras`).
    pub framework: &'static str,
    /// Its tensors, in the framework's order (Keras's `get_weights()` order).
    pub tensors: &'static [TensorLayout],
}

/// Where one framework tensor lives in a layer's flat parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The tensor's name in the framework.
    pub name: String,
    /// Its shape in the framework: `[len]` or `[rows, cols]`.
    pub shape: Vec<usize>,
    /// The parameter group it is in (a bidirectional layer has two).
    pub group: usize,
    /// For each element, in row-major order, its index in the group.
    pub indices: Vec<usize>,
}

/// A block's shape and indices, row-major.
struct Evaluated {
    vector: bool,
    rows: usize,
    cols: usize,
    indices: Vec<usize>,
}

fn layout_error(cell: &str, framework: &str, reason: String) -> Error {
    Error::Weights {
        what: format!("the `{framework}` layout of `{cell}`"),
        reason,
    }
}

fn evaluate<T: Real, C: Cell<T>>(
    cell: &C,
    framework: &str,
    block: &Block,
) -> Result<Evaluated, Error> {
    let name = C::SPEC.name;
    match block {
        Block::Param(p) => {
            let slots = cell.param_slots();
            let slot = slots.iter().find(|s| s.name == *p).ok_or_else(|| {
                layout_error(name, framework, format!("there is no parameter `{p}`"))
            })?;
            let declared = C::SPEC
                .params
                .iter()
                .find(|(n, _)| n == p)
                .map_or("", |(_, s)| *s);
            let vector = !declared.contains(',');
            let indices = (0..slot.rows)
                .flat_map(|i| (0..slot.cols).map(move |j| (i, j)))
                .map(|(i, j)| slot.index(i, j))
                .collect();
            Ok(Evaluated {
                vector,
                rows: slot.rows,
                cols: slot.cols,
                indices,
            })
        }
        Block::Transpose(inner) => {
            let e = evaluate(cell, framework, inner)?;
            let indices = if e.vector {
                e.indices
            } else {
                (0..e.cols)
                    .flat_map(|j| (0..e.rows).map(move |i| (i, j)))
                    .map(|(i, j)| e.indices[i * e.cols + j])
                    .collect()
            };
            Ok(Evaluated {
                vector: false,
                rows: e.cols,
                cols: e.rows,
                indices,
            })
        }
        Block::Stack(items) => {
            let mut out: Option<Evaluated> = None;
            for item in *items {
                let e = evaluate(cell, framework, item)?;
                out = Some(match out {
                    None => e,
                    Some(mut acc) => {
                        if acc.vector != e.vector || acc.cols != e.cols {
                            return Err(layout_error(
                                name,
                                framework,
                                format!(
                                    "cannot stack a {} × {} block under a {} × {} one",
                                    e.rows, e.cols, acc.rows, acc.cols
                                ),
                            ));
                        }
                        acc.rows += e.rows;
                        acc.indices.extend(e.indices);
                        acc
                    }
                });
            }
            out.ok_or_else(|| layout_error(name, framework, "an empty stack".into()))
        }
    }
}

/// The frameworks a cell declares a layout for.
pub fn frameworks<T: Real, C: Cell<T>>() -> Vec<&'static str> {
    C::SPEC.layouts.iter().map(|l| l.framework).collect()
}

/// Where each of `framework`'s tensors lives in `cell`'s flat parameters
/// ([`Cell::flat_params`]), in the framework's order. An error names the
/// frameworks the cell has a layout for when `framework` is not one of them.
pub fn placements<T: Real, C: Cell<T>>(cell: &C, framework: &str) -> Result<Vec<Placement>, Error> {
    let layout = C::SPEC
        .layouts
        .iter()
        .find(|l| l.framework == framework)
        .ok_or_else(|| no_layout(C::SPEC.name, framework, &frameworks::<T, C>()))?;
    layout
        .tensors
        .iter()
        .map(|t| {
            let e = evaluate(cell, framework, &t.block)?;
            Ok(Placement {
                name: t.name.to_string(),
                shape: if e.vector {
                    vec![e.rows]
                } else {
                    vec![e.rows, e.cols]
                },
                group: 0,
                indices: e.indices,
            })
        })
        .collect()
}

/// The error for a cell or layer without a layout for `framework`.
pub(crate) fn no_layout(what: &str, framework: &str, known: &[&str]) -> Error {
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Error::Weights {
        what: format!("`{what}`"),
        reason: format!(
            "it has no layout for `{framework}` (its layouts: {known}); declare one with `layout {framework} {{ ... }}` in its `cell!`"
        ),
    }
}

/// `cell`'s parameters as `framework`'s tensors, each name followed by
/// `suffix` (PyTorch's `_l0`, or nothing).
pub fn export_cell<T: Real, C: Cell<T>>(
    cell: &C,
    framework: &str,
    suffix: &str,
) -> Result<Weights, Error> {
    let flat = cell.flat_params();
    let mut out = Weights::new();
    for p in placements(cell, framework)? {
        let data = p.indices.iter().map(|&k| flat[k].to_f64()).collect();
        out.push(NamedArray::new(
            format!("{}{suffix}", p.name),
            p.shape,
            data,
            T::DTYPE,
        )?)?;
    }
    Ok(out)
}

/// Sets `cell`'s parameters from `framework`'s tensors in `weights`, found by
/// their names followed by `suffix`. Every tensor is checked (present, of the
/// right shape, finite) before anything changes; other tensors in `weights`
/// are an error too, unless `allow_extra`.
pub fn import_cell<T: Real, C: Cell<T>>(
    cell: &mut C,
    framework: &str,
    weights: &Weights,
    suffix: &str,
) -> Result<(), Error> {
    let places: Vec<Placement> = placements(cell, framework)?
        .into_iter()
        .map(|p| Placement {
            name: format!("{}{suffix}", p.name),
            ..p
        })
        .collect();
    let staged = stage(&places, weights, true)?;
    let flat = cell.flat_params_mut();
    for (p, values) in places.iter().zip(staged) {
        for (&k, v) in p.indices.iter().zip(values) {
            flat[k] = T::cast(v);
        }
    }
    Ok(())
}

/// Sets `cell`'s parameters from `framework`'s tensors given in the
/// framework's order, as Keras's `set_weights` takes them: the names in
/// `arrays` are not looked at, only the count, the order and the shapes.
pub fn import_cell_ordered<T: Real, C: Cell<T>>(
    cell: &mut C,
    framework: &str,
    arrays: &[NamedArray],
) -> Result<(), Error> {
    let places = placements(cell, framework)?;
    let staged = stage_ordered(&places, arrays)?;
    let flat = cell.flat_params_mut();
    for (p, values) in places.iter().zip(staged) {
        for (&k, v) in p.indices.iter().zip(values) {
            flat[k] = T::cast(v);
        }
    }
    Ok(())
}

fn shape_text(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn check_array(p: &Placement, a: &NamedArray) -> Result<(), Error> {
    let what = if a.name == p.name {
        format!("the tensor `{}`", a.name)
    } else {
        format!("the tensor `{}` (for `{}`)", a.name, p.name)
    };
    if a.shape != p.shape {
        return Err(Error::Weights {
            what,
            reason: format!(
                "it is {}, but must be {}",
                shape_text(&a.shape),
                shape_text(&p.shape)
            ),
        });
    }
    if let Some(bad) = a.data.iter().find(|v| !v.is_finite()) {
        return Err(Error::Weights {
            what,
            reason: format!("it holds a value that is not finite ({bad})"),
        });
    }
    Ok(())
}

/// Checks that `weights` holds each placement's tensor by name, with the
/// right shape, and returns their values in placement order.
pub(crate) fn stage(
    places: &[Placement],
    weights: &Weights,
    exact: bool,
) -> Result<Vec<Vec<f64>>, Error> {
    let missing: Vec<&str> = places
        .iter()
        .filter(|p| weights.get(&p.name).is_none())
        .map(|p| p.name.as_str())
        .collect();
    let extra: Vec<&str> = weights
        .names()
        .filter(|n| !places.iter().any(|p| p.name == *n))
        .collect();
    if !missing.is_empty() || (exact && !extra.is_empty()) {
        let expected: Vec<String> = places
            .iter()
            .map(|p| format!("{} {}", p.name, shape_text(&p.shape)))
            .collect();
        let mut reason = format!("expected the tensors {}", expected.join(", "));
        if !missing.is_empty() {
            reason.push_str(&format!("; missing: {}", missing.join(", ")));
        }
        if exact && !extra.is_empty() {
            reason.push_str(&format!("; not expected: {}", extra.join(", ")));
        }
        return Err(Error::Weights {
            what: "the weights".into(),
            reason,
        });
    }
    places
        .iter()
        .map(|p| {
            let a = weights.get(&p.name).expect("checked above");
            check_array(p, a)?;
            Ok(a.data.clone())
        })
        .collect()
}

/// Checks `arrays` against the placements one for one, in order.
pub(crate) fn stage_ordered(
    places: &[Placement],
    arrays: &[NamedArray],
) -> Result<Vec<Vec<f64>>, Error> {
    if arrays.len() != places.len() {
        let expected: Vec<String> = places
            .iter()
            .map(|p| format!("{} {}", p.name, shape_text(&p.shape)))
            .collect();
        let found: Vec<String> = arrays.iter().map(|a| shape_text(&a.shape)).collect();
        return Err(Error::Weights {
            what: "the weights".into(),
            reason: format!(
                "expected {} arrays ({}), found {} ({})",
                places.len(),
                expected.join(", "),
                arrays.len(),
                found.join(", ")
            ),
        });
    }
    places
        .iter()
        .zip(arrays)
        .map(|(p, a)| {
            check_array(p, a)?;
            Ok(a.data.clone())
        })
        .collect()
}
