//! A framework's tensors in memory, and in safetensors and `.npz` files.

use crate::Error;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::io::{Read, Write};
use std::path::Path;

/// One framework tensor: a name, a shape and row-major values, kept as
/// `f64` (exact for `float32` and `float64` files) with the type they had.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedArray {
    /// The tensor's name (`weight_ih_l0`, `arr_0`).
    pub name: String,
    /// The shape, outermost axis first.
    pub shape: Vec<usize>,
    /// The values in row-major (C) order.
    pub data: Vec<f64>,
    /// `"float32"` or `"float64"`: the type in the file.
    pub dtype: &'static str,
}

impl NamedArray {
    /// An array; an error if the values do not fill the shape.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        data: Vec<f64>,
        dtype: &'static str,
    ) -> Result<Self, Error> {
        let name = name.into();
        let Some(len) = crate::error::checked_len(&shape) else {
            return Err(Error::Weights {
                what: format!("the tensor `{name}`"),
                reason: format!("its shape {shape:?} holds more values than memory can"),
            });
        };
        if len != data.len() {
            return Err(Error::Weights {
                what: format!("the tensor `{name}`"),
                reason: format!(
                    "its shape {:?} holds {len} values, but {} were given",
                    shape,
                    data.len()
                ),
            });
        }
        Ok(NamedArray {
            name,
            shape,
            data,
            dtype,
        })
    }
}

/// An ordered collection of named tensors: a PyTorch `state_dict`, or
/// Keras's `get_weights()` (named `arr_0`, `arr_1`, ... as `numpy.savez`
/// names them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    arrays: Vec<NamedArray>,
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The metadata key under which the files this crate writes keep the
/// checksum of their tensors' data.
pub(crate) const CHECKSUM_KEY: &str = "cellforge.crc32";

/// The CRC-32 (as zlib computes it) of every tensor's data, taken in the
/// order of the tensors' names, as eight hexadecimal digits.
fn checksum<'a>(mut tensors: Vec<(&'a str, &'a [u8])>) -> String {
    tensors.sort_by_key(|&(name, _)| name);
    let mut crc = flate2::Crc::new();
    for (_, data) in tensors {
        crc.update(data);
    }
    format!("{:08x}", crc.sum())
}

/// Serializes `views` as a safetensors file whose metadata holds their
/// checksum.
pub(crate) fn serialize_checked(
    path: &Path,
    views: Vec<(String, TensorView<'_>)>,
) -> Result<Vec<u8>, Error> {
    let sum = checksum(views.iter().map(|(n, v)| (n.as_str(), v.data())).collect());
    let metadata = std::collections::HashMap::from([(CHECKSUM_KEY.to_string(), sum)]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| file_error(path, e))
}

/// Reads the safetensors file in `bytes` and, when its metadata holds a
/// checksum (files this crate wrote do), checks its tensors' data against
/// it: a changed byte is an error, not a wrong weight.
pub(crate) fn deserialize_checked<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<SafeTensors<'a>, Error> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| file_error(path, format!("not a safetensors file ({e})")))?;
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| file_error(path, format!("not a safetensors file ({e})")))?;
    if let Some(expected) = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CHECKSUM_KEY))
    {
        let tensors = file.tensors();
        let found = checksum(
            tensors
                .iter()
                .map(|(n, v)| (n.as_str(), v.data()))
                .collect(),
        );
        if &found != expected {
            return Err(file_error(
                path,
                format!(
                    "the tensors' data do not match the file's checksum ({CHECKSUM_KEY} {expected}, \
                     computed {found}): the file is damaged"
                ),
            ));
        }
    }
    Ok(file)
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A name of its own for every write, even from threads of one process
    // writing to one path at once: each renames its own whole file into
    // place, and the last rename wins.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name()
            .map_or("weights".into(), |f| f.to_string_lossy()),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e)
    })
}

pub(crate) fn float_bytes(a: &NamedArray) -> Vec<u8> {
    if a.dtype == "float32" {
        a.data
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect()
    } else {
        a.data.iter().flat_map(|&v| v.to_le_bytes()).collect()
    }
}

impl Weights {
    /// No tensors.
    pub fn new() -> Self {
        Weights::default()
    }

    /// Adds a tensor at the end; an error if its name is taken.
    pub fn push(&mut self, array: NamedArray) -> Result<(), Error> {
        if self.get(&array.name).is_some() {
            return Err(Error::Weights {
                what: format!("the tensor `{}`", array.name),
                reason: "the name is there twice".into(),
            });
        }
        self.arrays.push(array);
        Ok(())
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&NamedArray> {
        self.arrays.iter().find(|a| a.name == name)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arrays.iter().map(|a| a.name.as_str())
    }

    /// The tensors, in order.
    pub fn arrays(&self) -> &[NamedArray] {
        &self.arrays
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.arrays.len()
    }

    /// Whether there is no tensor.
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty()
    }

    /// The tensors whose names start with `prefix`, with it removed (a
    /// submodule of a PyTorch `state_dict`: `strip_prefix("rnn.")`).
    pub fn strip_prefix(&self, prefix: &str) -> Weights {
        Weights {
            arrays: self
                .arrays
                .iter()
                .filter_map(|a| {
                    a.name.strip_prefix(prefix).map(|rest| NamedArray {
                        name: rest.to_string(),
                        ..a.clone()
                    })
                })
                .collect(),
        }
    }

    /// The tensors whose names `keep` accepts, in order.
    pub fn select(&self, keep: impl Fn(&str) -> bool) -> Weights {
        Weights {
            arrays: self
                .arrays
                .iter()
                .filter(|a| keep(&a.name))
                .cloned()
                .collect(),
        }
    }

    /// Every name with `prefix` put in front.
    pub fn with_prefix(&self, prefix: &str) -> Weights {
        Weights {
            arrays: self
                .arrays
                .iter()
                .map(|a| NamedArray {
                    name: format!("{prefix}{}", a.name),
                    ..a.clone()
                })
                .collect(),
        }
    }

    /// Reads a safetensors file (a PyTorch `state_dict` saved with
    /// `safetensors.torch.save_file`): `float32` and `float64` tensors, in the
    /// order of their data in the file. Writers of safetensors sort tensors
    /// by type and name, so this is not the order of the `state_dict`;
    /// import by name ([`Sequential::import_weights`]) does not depend on it.
    ///
    /// [`Sequential::import_weights`]: crate::nn::model::Sequential::import_weights
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        let file = deserialize_checked(path, &bytes)?;
        let mut arrays = Vec::new();
        // Tensors in the order of their data in the file: the order they were saved in.
        let mut tensors = file.tensors();
        tensors.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
        for (name, view) in tensors {
            let data = view.data();
            let (values, dtype): (Vec<f64>, &'static str) = match view.dtype() {
                Dtype::F32 => (
                    data.chunks_exact(4)
                        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                        .collect(),
                    "float32",
                ),
                Dtype::F64 => (
                    data.chunks_exact(8)
                        .map(|c| {
                            f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                    "float64",
                ),
                other => {
                    return Err(file_error(
                        path,
                        format!("`{name}` is {other:?}; only F32 and F64 tensors can be read"),
                    ));
                }
            };
            arrays.push(
                NamedArray::new(name, view.shape().to_vec(), values, dtype)
                    .map_err(|e| file_error(path, e))?,
            );
        }
        Ok(Weights { arrays })
    }

    /// Writes a safetensors file that `safetensors.torch.load_file` reads as
    /// a `state_dict` (atomically).
    pub fn write_safetensors(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let blobs: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = self
            .arrays
            .iter()
            .map(|a| {
                let dtype = if a.dtype == "float32" {
                    Dtype::F32
                } else {
                    Dtype::F64
                };
                (a.name.clone(), a.shape.clone(), dtype, float_bytes(a))
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = blobs
            .iter()
            .map(|(n, shape, dtype, data)| {
                TensorView::new(*dtype, shape.clone(), data).map(|v| (n.clone(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, e))?;
        let bytes = serialize_checked(path, views)?;
        write_atomic(path, &bytes)
    }

    /// Reads an `.npz` archive of float arrays. Arrays named `arr_K` (what
    /// `numpy.savez(path, *layer.get_weights())` writes) come in the order of
    /// `K`; others by name.
    pub fn read_npz(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|e| file_error(path, format!("not an .npz archive ({e})")))?;
        let mut arrays = Vec::new();
        for k in 0..zip.len() {
            let mut entry = zip.by_index(k).map_err(|e| file_error(path, e))?;
            let name = entry
                .name()
                .map_err(|e| file_error(path, e))?
                .trim_end_matches(".npy")
                .to_string();
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| file_error(path, e))?;
            let (shape, values, dtype) = crate::data::npy::parse_npy_float(&name, &bytes)
                .map_err(|e| file_error(path, e))?;
            arrays.push(
                NamedArray::new(name, shape, values, dtype).map_err(|e| file_error(path, e))?,
            );
        }
        let key = |a: &NamedArray| -> (usize, String) {
            match a.name.strip_prefix("arr_").and_then(|k| k.parse().ok()) {
                Some(k) => (k, String::new()),
                None => (usize::MAX, a.name.clone()),
            }
        };
        arrays.sort_by_key(key);
        Ok(Weights { arrays })
    }

    /// Writes an `.npz` archive that `numpy.load` reads (atomically); with
    /// names `arr_0`, `arr_1`, ... Keras's `set_weights` takes them in order.
    pub fn write_npz(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for a in &self.arrays {
                zip.start_file(format!("{}.npy", a.name), options)
                    .map_err(|e| file_error(path, e))?;
                zip.write_all(&crate::data::npy::npy_bytes(a))
                    .map_err(|e| file_error(path, e))?;
            }
            zip.finish().map_err(|e| file_error(path, e))?;
        }
        write_atomic(path, &buffer.into_inner())
    }

    /// Reads the float datasets of a Keras 3 `.weights.h5` file (what
    /// `model.save_weights("model.weights.h5")` writes), named by their paths
    /// (`layers/lstm/cell/vars/0`). The file keeps each layer's arrays in a
    /// `vars` group numbered in `get_weights()` order; they come in that
    /// order here, layer by layer in the order of the paths, which HDF5
    /// sorts by name. For a model of several layers, take each layer's
    /// arrays with [`Weights::select`] on its path.
    pub fn read_keras_h5(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = hdf5_reader::Hdf5File::open(path)
            .map_err(|e| file_error(path, format!("not an HDF5 file ({e})")))?;
        let mut arrays = Vec::new();
        collect_h5(path, &file, "", &mut arrays)?;
        // `vars/10` after `vars/9`: numbered names sort by number; a
        // bidirectional layer's forward direction before its backward one,
        // as `get_weights()` lists them.
        let key = |a: &NamedArray| -> (String, usize) {
            let ordered = |dir: &str| {
                dir.replace("forward_layer", "0_forward_layer")
                    .replace("backward_layer", "1_backward_layer")
            };
            match a.name.rsplit_once('/') {
                Some((dir, k)) => (ordered(dir), k.parse().unwrap_or(usize::MAX)),
                None => (a.name.clone(), 0),
            }
        };
        arrays.sort_by_key(key);
        Ok(Weights { arrays })
    }

    /// The tensors renamed `arr_0`, `arr_1`, ... in order, as `numpy.savez`
    /// names positional arrays.
    pub fn positional(&self) -> Weights {
        Weights {
            arrays: self
                .arrays
                .iter()
                .enumerate()
                .map(|(k, a)| NamedArray {
                    name: format!("arr_{k}"),
                    ..a.clone()
                })
                .collect(),
        }
    }
}

fn collect_h5(
    path: &Path,
    file: &hdf5_reader::Hdf5File,
    group: &str,
    out: &mut Vec<NamedArray>,
) -> Result<(), Error> {
    let (groups, datasets) = if group.is_empty() {
        file.root_group().and_then(|g| g.member_names())
    } else {
        file.group(group).and_then(|g| g.member_names())
    }
    .map_err(|e| file_error(path, e))?;
    let full = |name: &str| {
        if group.is_empty() {
            name.to_string()
        } else {
            format!("{group}/{name}")
        }
    };
    for name in datasets {
        let name = full(&name);
        let d = file.dataset(&name).map_err(|e| file_error(path, e))?;
        let shape: Vec<usize> = d
            .shape()
            .iter()
            .map(|&n| usize::try_from(n).unwrap_or(usize::MAX))
            .collect();
        // The shape comes from the file: refuse one whose values could not
        // be held before reading them.
        let fits = crate::error::checked_len(&shape)
            .and_then(|n| n.checked_mul(8))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if !fits {
            return Err(file_error(
                path,
                format!(
                    "the dataset `{name}` has the shape {shape:?}, more values than memory can hold"
                ),
            ));
        }
        let (data, dtype) = match d.dtype() {
            hdf5_reader::Datatype::FloatingPoint { size: 4, .. } => {
                let a = d.read_array::<f32>().map_err(|e| file_error(path, e))?;
                (a.iter().map(|&v| f64::from(v)).collect(), "float32")
            }
            hdf5_reader::Datatype::FloatingPoint { size: 8, .. } => {
                let a = d.read_array::<f64>().map_err(|e| file_error(path, e))?;
                (a.iter().copied().collect(), "float64")
            }
            // Keras keeps only float weights; other datasets are not weights.
            _ => continue,
        };
        out.push(NamedArray::new(name, shape, data, dtype).map_err(|e| file_error(path, e))?);
    }
    for name in groups {
        collect_h5(path, file, &full(&name), out)?;
    }
    Ok(())
}
