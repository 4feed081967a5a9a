//! The IMDB loaders, the Keras-compatible tokenizer and `pad_sequences`, on
//! the sample of reviews that ships with the repository.

use cellforge::data::imdb::{load_flat_npz, split_half};
use cellforge::data::text::{OOV, START};
use cellforge::data::{Imdb, WordIndex, pad_sequences};
use std::io::Write;
use std::path::PathBuf;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/imdb-sample.tar.gz")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cellforge-imdb-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_sample_is_balanced_and_labelled() {
    let data = Imdb::open(sample()).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (5000, 1000));
    assert_eq!(data.train.iter().filter(|r| r.label == 1).count(), 2500);
    assert_eq!(data.test.iter().filter(|r| r.label == 1).count(), 500);
    // Ratings agree with labels: negative reviews have at most 4 stars, positive at least 7.
    for r in data.train.iter().chain(&data.test) {
        let (_, rating) = r.id_rating.expect("files are named <id>_<rating>.txt");
        assert_eq!(r.label == 1, rating >= 7, "{rating}");
    }
    assert_eq!(data.not_utf8, 0);
}

#[test]
fn a_review_encodes_pads_and_decodes() {
    let data = Imdb::open(sample()).unwrap();
    let index = WordIndex::fit(data.train.iter().map(|r| r.text.as_str()));
    assert_eq!(index.word(1), Some("the"));
    let review = &data.train[0];
    let (ids, unknown) = index.encode(&review.text, index.len() + 3);
    assert_eq!(
        unknown, 0,
        "every training word is in the index fitted on them"
    );
    assert_eq!(ids[0], START);
    let words = cellforge::data::text_to_word_sequence(&review.text);
    assert_eq!(index.decode(&ids[1..]), words.join(" "));
    let (small, _) = index.encode(&review.text, 100);
    assert!(small.iter().all(|&id| id < 100));
    assert!(small.contains(&OOV));
    let padded = pad_sequences(std::slice::from_ref(&ids), 500);
    assert_eq!(padded[0].len(), 500);
    let zeros = 500usize.saturating_sub(ids.len());
    assert!(padded[0][..zeros].iter().all(|&id| id == 0));
    assert_eq!(&padded[0][zeros..], &ids[ids.len().saturating_sub(500)..]);
}

#[test]
fn a_directory_reads_like_the_archive() {
    let dir = temp("dir");
    let archive = std::fs::File::open(sample()).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(archive))
        .unpack(&dir)
        .unwrap();
    let from_dir = Imdb::open(&dir).unwrap();
    let from_tar = Imdb::open(sample()).unwrap();
    assert_eq!(from_dir.train, from_tar.train);
    assert_eq!(from_dir.test, from_tar.test);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn odd_reviews_are_handled() {
    let dir = temp("odd");
    for (path, bytes) in [
        ("train/pos/1_9.txt", b"Great \xff film".to_vec()),
        ("train/neg/2_1.txt", Vec::new()),
        ("test/pos/3_8.txt", b"zebra quagga".to_vec()),
        ("test/neg/4_2.txt", b"bad".to_vec()),
    ] {
        let p = dir.join("aclImdb").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::File::create(p).unwrap().write_all(&bytes).unwrap();
    }
    let data = Imdb::open(&dir).unwrap();
    assert_eq!(data.not_utf8, 1);
    assert_eq!(data.train[1].text, "Great \u{fffd} film");
    let index = WordIndex::fit(data.train.iter().map(|r| r.text.as_str()));
    assert_eq!(index.encode(&data.train[0].text, 100).0, vec![START]);
    assert_eq!(index.encode(&data.test[1].text, 100), (vec![START], 2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_and_corrupt_data_are_errors() {
    let err = Imdb::open("/nonexistent/aclImdb.tar.gz")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent/aclImdb.tar.gz: "), "{err}");
    let dir = temp("corrupt");
    let bad = dir.join("bad.tar.gz");
    std::fs::write(&bad, b"not gzip at all").unwrap();
    assert!(Imdb::open(&bad).is_err());
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = Imdb::open(&empty).unwrap_err().to_string();
    assert!(
        err.ends_with("found 0 training and 0 test reviews"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn npy_i64(values: &[i64]) -> Vec<u8> {
    let header = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[test]
fn the_flat_npz_loads() {
    let dir = temp("npz");
    let path = dir.join("flat.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let arrays: [(&str, Vec<i64>); 6] = [
        ("train_tokens", vec![1, 2, 3, 4, 5]),
        ("train_offsets", vec![0, 2, 5]),
        ("train_labels", vec![1, 0]),
        ("test_tokens", vec![9]),
        ("test_offsets", vec![0, 0, 1]),
        ("test_labels", vec![0, 1]),
    ];
    for (name, values) in &arrays {
        zip.start_file(
            format!("{name}.npy"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&npy_i64(values)).unwrap();
    }
    zip.finish().unwrap();
    let (train, test) = load_flat_npz(&path).unwrap();
    assert_eq!(train.reviews, vec![vec![1, 2], vec![3, 4, 5]]);
    assert_eq!(train.labels, vec![1, 0]);
    assert_eq!(test.reviews, vec![vec![], vec![9]]);
    assert_eq!(
        WordIndex::encode_ranks(&train.reviews[1], 7),
        vec![START, 6, OOV, OOV]
    );
    std::fs::write(&path, b"PK broken").unwrap();
    assert!(load_flat_npz(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_test_set_splits_in_two_halves() {
    let (val, test) = split_half(1000, 1);
    assert_eq!((val.len(), test.len()), (500, 500));
    assert!(val.iter().all(|k| !test.contains(k)));
}
