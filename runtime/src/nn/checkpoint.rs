//! Saving and loading a model's weights as safetensors: one tensor per
//! parameter, named `layer/parameter` (`lstm/w_f`), row-major `(rows, cols)`.
//! Writes are atomic (a temporary file renamed into place) and keep a
//! CRC-32 of the tensors' data in the file's metadata; a load checks the
//! checksum and every name, shape and type before it changes anything.

use super::model::Sequential;
use crate::{Error, Real};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::BTreeMap;
use std::path::Path;

fn file_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn dtype<T: Real>() -> Dtype {
    if T::DTYPE == "float32" {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn to_bytes<T: Real>(values: impl Iterator<Item = T>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        if T::DTYPE == "float32" {
            out.extend_from_slice(&(v.to_f64() as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_f64().to_le_bytes());
        }
    }
    out
}

fn from_bytes<T: Real>(bytes: &[u8]) -> Vec<T> {
    if T::DTYPE == "float32" {
        bytes
            .chunks_exact(4)
            .map(|c| T::cast(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))))
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|c| {
                T::cast(f64::from_le_bytes([
                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                ]))
            })
            .collect()
    }
}

/// A parameter tensor of a model: `(layer/name, (rows, cols), layer, group, flat indices)`.
type TensorEntry = (String, (usize, usize), usize, usize, Vec<usize>);

impl<T: Real> Sequential<T> {
    /// Every parameter tensor.
    fn tensors(&self) -> Vec<TensorEntry> {
        let mut out = Vec::new();
        for (k, (layer, name)) in self.layers().iter().zip(self.names()).enumerate() {
            for p in layer.param_info() {
                out.push((format!("{name}/{}", p.name), p.shape, k, p.group, p.indices));
            }
        }
        out
    }

    /// Writes the weights to `path` (atomically: a temporary file is renamed
    /// into place, so a crash never leaves a half-written file).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let mut blobs = BTreeMap::new();
        for (name, (rows, cols), layer, group, indices) in self.tensors() {
            let flat = self.layers()[layer].params()[group];
            // Stored row-major: element (i, j) of a column-major list is at j·rows + i.
            let row_major = (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j)));
            let data = to_bytes(row_major.map(|(i, j)| flat[indices[j * rows + i]]));
            blobs.insert(name, (vec![rows, cols], data));
        }
        let views: Vec<(String, TensorView<'_>)> = blobs
            .iter()
            .map(|(n, (shape, data))| {
                TensorView::new(dtype::<T>(), shape.clone(), data).map(|v| (n.clone(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, e))?;
        let bytes = crate::interop::files::serialize_checked(path, views)?;
        crate::interop::files::write_atomic(path, &bytes)
    }

    /// Reads weights written by [`Sequential::save_weights`] for a model of
    /// the same layers. On any mismatch (a missing or extra tensor, another
    /// shape or type, a corrupt file) it returns an error that lists what was
    /// expected and found, and changes nothing.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        let file = crate::interop::files::deserialize_checked(path, &bytes)?;
        let wanted = self.tensors();
        let mut found: Vec<String> = file.names().into_iter().map(String::from).collect();
        found.sort();
        let mut expected: Vec<String> = wanted.iter().map(|(n, ..)| n.clone()).collect();
        expected.sort();
        if found != expected {
            return Err(file_error(
                path,
                format!(
                    "the tensors are [{}], but this model has [{}]",
                    found.join(", "),
                    expected.join(", ")
                ),
            ));
        }
        let mut staged = Vec::new();
        for (name, (rows, cols), layer, group, indices) in wanted {
            let view = file.tensor(&name).map_err(|e| file_error(path, e))?;
            if view.shape() != [rows, cols] || view.dtype() != dtype::<T>() {
                return Err(file_error(
                    path,
                    format!(
                        "`{name}` is {:?} {:?}, but this model needs {:?} [{rows}, {cols}]",
                        view.dtype(),
                        view.shape(),
                        dtype::<T>()
                    ),
                ));
            }
            let values: Vec<T> = from_bytes(view.data());
            if values.iter().any(|v| !v.is_finite()) {
                return Err(file_error(
                    path,
                    format!("`{name}` holds values that are not finite"),
                ));
            }
            staged.push((layer, group, indices, rows, cols, values));
        }
        for (layer, group, indices, rows, cols, values) in staged {
            let mut groups = self.layers_mut()[layer].params_and_grads();
            let (p, _) = &mut groups[group];
            for i in 0..rows {
                for j in 0..cols {
                    p[indices[j * rows + i]] = values[i * cols + j];
                }
            }
        }
        Ok(())
    }
}
