//! Reading numpy's `.npy` arrays and `.npz` archives of them (integer and
//! float arrays in C order, little-endian).

use crate::Error;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// A one-dimensional view of an array's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Array {
    /// `int32` or `int64` values.
    Int(Vec<i64>),
    /// `float32` or `float64` values.
    Float(Vec<f64>),
}

impl Array {
    /// The values as integers (floats truncated).
    pub fn into_i64(self) -> Vec<i64> {
        match self {
            Array::Int(v) => v,
            Array::Float(v) => v.into_iter().map(|x| x as i64).collect(),
        }
    }
}

fn bad(what: &str, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: what.to_string(),
        reason: reason.to_string(),
    }
}

/// Parses one `.npy` file's bytes, flattened in C order.
pub fn parse_npy(name: &str, bytes: &[u8]) -> Result<Array, Error> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(name, "not a .npy array"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(name, format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad(name, "truncated header"))?;
    let header = String::from_utf8_lossy(header);
    if header.contains("'fortran_order': True") {
        return Err(bad(name, "Fortran-order arrays are not supported"));
    }
    let descr = header
        .split("'descr':")
        .nth(1)
        .and_then(|r| r.split('\'').nth(1))
        .ok_or_else(|| bad(name, "no dtype in the header"))?;
    let data = &bytes[start + header_len..];
    let chunks = |size: usize| -> Result<std::slice::ChunksExact<'_, u8>, Error> {
        if !data.len().is_multiple_of(size) {
            return Err(bad(name, "the data is not a whole number of values"));
        }
        Ok(data.chunks_exact(size))
    };
    Ok(match descr {
        "<i4" => Array::Int(
            chunks(4)?
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        "<i8" => Array::Int(
            chunks(8)?
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        "<f4" => Array::Float(
            chunks(4)?
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        "<f8" => Array::Float(
            chunks(8)?
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        other => return Err(bad(name, format!("unsupported dtype `{other}`"))),
    })
}

/// The shape in a `.npy` header: `'shape': (3, 4), ` → `[3, 4]`.
fn header_shape(name: &str, header: &str) -> Result<Vec<usize>, Error> {
    let inside = header
        .split("'shape':")
        .nth(1)
        .and_then(|r| r.split('(').nth(1))
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad(name, "no shape in the header"))?;
    inside
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(name, format!("bad shape entry `{s}`")))
        })
        .collect()
}

/// Parses one `.npy` file of floats: its shape, its values in C order, and
/// `"float32"` or `"float64"`.
pub fn parse_npy_float(
    name: &str,
    bytes: &[u8],
) -> Result<(Vec<usize>, Vec<f64>, &'static str), Error> {
    let values = parse_npy(name, bytes)?;
    let header_len = match bytes[6] {
        1 => u16::from_le_bytes([bytes[8], bytes[9]]) as usize,
        _ => u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
    };
    let start = if bytes[6] == 1 { 10 } else { 12 };
    let header = String::from_utf8_lossy(&bytes[start..start + header_len]);
    let shape = header_shape(name, &header)?;
    let dtype = if header.contains("'<f4'") {
        "float32"
    } else {
        "float64"
    };
    match values {
        Array::Float(v) => {
            match crate::error::checked_len(&shape) {
                None => {
                    return Err(bad(
                        name,
                        format!("its shape {shape:?} holds more values than memory can"),
                    ));
                }
                Some(len) if len != v.len() => {
                    return Err(bad(
                        name,
                        format!(
                            "the data ({} values) does not fill the shape {shape:?}",
                            v.len()
                        ),
                    ));
                }
                Some(_) => {}
            }
            Ok((shape, v, dtype))
        }
        Array::Int(_) => Err(bad(name, "an integer array where floats were expected")),
    }
}

/// The bytes of a `.npy` file (version 1, C order) holding `array`.
pub fn npy_bytes(array: &crate::interop::NamedArray) -> Vec<u8> {
    let descr = if array.dtype == "float32" {
        "<f4"
    } else {
        "<f8"
    };
    let shape = match array.shape.as_slice() {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy pads the header with spaces to a multiple of 64 bytes, ending in '\n'.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&crate::interop::files::float_bytes(array));
    out
}

/// Reads every array of an `.npz` archive, by name (without `.npy`).
pub fn read_npz(path: &Path) -> Result<HashMap<String, Array>, Error> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| bad(&shown, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| bad(&shown, format!("not an .npz archive ({e})")))?;
    let mut out = HashMap::new();
    for k in 0..zip.len() {
        let mut entry = zip.by_index(k).map_err(|e| bad(&shown, e))?;
        let name = entry
            .name()
            .map_err(|e| bad(&shown, e))?
            .trim_end_matches(".npy")
            .to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| bad(&shown, e))?;
        out.insert(
            name.clone(),
            parse_npy(&format!("{shown}: {name}"), &bytes)?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, data: &[u8]) -> Vec<u8> {
        let header = format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}",
            data.len()
        );
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_int_and_float_arrays() {
        let ints: Vec<u8> = [3i32, -1, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse_npy("a", &npy("<i4", &ints)).unwrap(),
            Array::Int(vec![3, -1, 7])
        );
        let floats: Vec<u8> = [0.5f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse_npy("b", &npy("<f8", &floats)).unwrap(),
            Array::Float(vec![0.5, 2.0])
        );
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse_npy("c", b"PK\x03\x04 not npy").is_err());
        assert!(parse_npy("d", &npy("<U5", b"abcde")).is_err());
        assert!(parse_npy("e", &npy("<i4", &[1, 2, 3])).is_err());
    }
}
