//! The IMDB movie reviews (Maas et al., ACL 2011): 25,000 training and
//! 25,000 test reviews labelled positive or negative, in the dataset's own
//! `aclImdb` layout (`train/pos`, `train/neg`, `test/pos`, `test/neg`, one
//! review per file named `<id>_<rating>.txt`), read from a directory or
//! straight from its `.tar.gz`.

use super::npy;
use crate::{Error, NumpyRng};
use std::io::Read;
use std::path::Path;

/// One review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// The text, with bytes that are not UTF-8 replaced by `U+FFFD`.
    pub text: String,
    /// 1 for positive, 0 for negative.
    pub label: u8,
    /// The file's id and star rating, from its name, when it has them.
    pub id_rating: Option<(u32, u8)>,
}

/// Training or test reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// `train/`.
    Train,
    /// `test/`.
    Test,
}

/// The reviews of both splits, sorted by path.
#[derive(Clone, Debug, Default)]
pub struct Imdb {
    /// Training reviews.
    pub train: Vec<Review>,
    /// Test reviews.
    pub test: Vec<Review>,
    /// How many files had bytes that are not UTF-8.
    pub not_utf8: usize,
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Where a review belongs: its split, label, and id and rating.
type Kind = (Split, u8, Option<(u32, u8)>);

/// The kind of a path like `aclImdb/train/pos/123_9.txt`.
fn classify(path: &str) -> Option<Kind> {
    let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
    let n = parts.len();
    if n < 3 || !parts[n - 1].ends_with(".txt") {
        return None;
    }
    let split = match parts[n - 3] {
        "train" => Split::Train,
        "test" => Split::Test,
        _ => return None,
    };
    let label = match parts[n - 2] {
        "pos" => 1,
        "neg" => 0,
        _ => return None,
    };
    let stem = parts[n - 1].trim_end_matches(".txt");
    let id_rating = stem
        .split_once('_')
        .and_then(|(i, r)| Some((i.parse().ok()?, r.parse().ok()?)));
    Some((split, label, id_rating))
}

impl Imdb {
    /// Reads `path`: a `.tar.gz` of the dataset, or a directory that holds
    /// `train/` and `test/` (or an `aclImdb/` directory that does).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            Self::from_tar_gz(path)
        }
    }

    /// Reads the reviews from a `.tar.gz` archive.
    pub fn from_tar_gz(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut found = Vec::new();
        let entries = archive
            .entries()
            .map_err(|e| file_error(path, format!("not a readable .tar.gz ({e})")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| file_error(path, format!("a corrupt archive ({e})")))?;
            let name = entry
                .path()
                .map_err(|e| file_error(path, e))?
                .to_string_lossy()
                .into_owned();
            let Some(kind) = classify(&name) else {
                continue;
            };
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| file_error(path, format!("a corrupt archive ({e})")))?;
            found.push((name, kind, bytes));
        }
        Self::collect(path, found)
    }

    /// Reads the reviews from a directory.
    pub fn from_dir(path: impl AsRef<Path>) -> Result<Self, Error> {
        let root = path.as_ref();
        let base = if root.join("aclImdb").is_dir() {
            root.join("aclImdb")
        } else {
            root.to_path_buf()
        };
        let mut found = Vec::new();
        for split in ["train", "test"] {
            for label in ["pos", "neg"] {
                let dir = base.join(split).join(label);
                let Ok(listing) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in listing {
                    let entry = entry.map_err(|e| file_error(&dir, e))?;
                    let name = format!("{split}/{label}/{}", entry.file_name().to_string_lossy());
                    let Some(kind) = classify(&name) else {
                        continue;
                    };
                    let bytes =
                        std::fs::read(entry.path()).map_err(|e| file_error(&entry.path(), e))?;
                    found.push((name, kind, bytes));
                }
            }
        }
        Self::collect(root, found)
    }

    fn collect(path: &Path, mut found: Vec<(String, Kind, Vec<u8>)>) -> Result<Self, Error> {
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Imdb::default();
        for (_, (split, label, id_rating), bytes) in found {
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    out.not_utf8 += 1;
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                }
            };
            let review = Review {
                text,
                label,
                id_rating,
            };
            match split {
                Split::Train => out.train.push(review),
                Split::Test => out.test.push(review),
            }
        }
        if out.train.is_empty() || out.test.is_empty() {
            return Err(file_error(
                path,
                format!(
                    "expected reviews in train/pos, train/neg, test/pos and test/neg; found {} training and {} test reviews",
                    out.train.len(),
                    out.test.len()
                ),
            ));
        }
        Ok(out)
    }
}

/// Reviews as word ranks (1 = most frequent word), with their labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranked {
    /// Each review's word ranks.
    pub reviews: Vec<Vec<u32>>,
    /// Each review's label (1 positive, 0 negative).
    pub labels: Vec<u8>,
}

/// Reads the flat `.npz` of the dataset (`train_tokens`, `train_offsets`,
/// `train_labels` and the same for `test`): `(train, test)`.
pub fn load_flat_npz(path: impl AsRef<Path>) -> Result<(Ranked, Ranked), Error> {
    let path = path.as_ref();
    let mut arrays = npy::read_npz(path)?;
    let mut split = |s: &str| -> Result<Ranked, Error> {
        let mut take = |k: &str| {
            arrays
                .remove(&format!("{s}_{k}"))
                .ok_or_else(|| file_error(path, format!("no array `{s}_{k}`")))
        };
        let tokens = take("tokens")?.into_i64();
        let offsets = take("offsets")?.into_i64();
        let labels = take("labels")?.into_i64();
        if offsets.len() != labels.len() + 1 || offsets.last().copied() != Some(tokens.len() as i64)
        {
            return Err(file_error(
                path,
                format!("`{s}_offsets` does not fit `{s}_tokens` and `{s}_labels`"),
            ));
        }
        let mut reviews = Vec::with_capacity(labels.len());
        for w in offsets.windows(2) {
            let (a, b) = (usize::try_from(w[0]), usize::try_from(w[1]));
            let (Ok(a), Ok(b)) = (a, b) else {
                return Err(file_error(path, "negative offsets"));
            };
            let slice = tokens
                .get(a..b)
                .ok_or_else(|| file_error(path, "offsets out of order"))?;
            reviews.push(
                slice
                    .iter()
                    .map(|&t| t.clamp(0, u32::MAX as i64) as u32)
                    .collect(),
            );
        }
        let labels = labels.iter().map(|&l| u8::from(l != 0)).collect();
        Ok(Ranked { reviews, labels })
    };
    Ok((split("train")?, split("test")?))
}

/// Splits `0..n` into two halves at random (seeded), as the course split its
/// test set into validation and test.
pub fn split_half(n: usize, seed: u32) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = NumpyRng::new(seed);
    for i in (1..n).rev() {
        let j = ((rng.next_f64() * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    let second = order.split_off(n / 2);
    (order, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_split_label_id_and_rating() {
        assert_eq!(
            classify("aclImdb/train/pos/576_10.txt"),
            Some((Split::Train, 1, Some((576, 10))))
        );
        assert_eq!(
            classify("test/neg/12_3.txt"),
            Some((Split::Test, 0, Some((12, 3))))
        );
        assert_eq!(classify("aclImdb/train/unsup/1_0.txt"), None);
        assert_eq!(classify("aclImdb/README"), None);
        assert_eq!(
            classify("x/train/pos/review.txt"),
            Some((Split::Train, 1, None))
        );
    }

    #[test]
    fn halves_are_disjoint_and_cover_everything() {
        let (a, b) = split_half(11, 1);
        assert_eq!((a.len(), b.len()), (5, 6));
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert_eq!(split_half(11, 1), (a, b));
    }
}
