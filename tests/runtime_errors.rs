//! Bad input to a cell is an error that names the tensor and both shapes,
//! never a panic.

use cellforge::cells::lstm::{LstmDims, LstmParams, LstmState};
use cellforge::prelude::*;
use nalgebra::{DMatrix, DVector};

fn dims() -> LstmDims {
    LstmDims {
        n_x: 3,
        n_a: 5,
        n_y: 2,
    }
}

fn cell() -> Lstm {
    Lstm::init(dims(), &mut NumpyRng::new(0)).unwrap()
}

fn state(m: usize) -> LstmState<f64> {
    LstmState {
        a: DMatrix::zeros(5, m),
        c: DMatrix::zeros(5, m),
    }
}

#[test]
fn input_with_the_wrong_number_of_rows() {
    let err = cell().step(&DMatrix::zeros(4, 10), &state(10)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input `x` of `Lstm` must be 3 × 10 (n_x × m), found 4 × 10"
    );
}

#[test]
fn state_of_the_wrong_shape() {
    let bad = LstmState {
        a: DMatrix::zeros(5, 10),
        c: DMatrix::zeros(4, 10),
    };
    let err = cell().step(&DMatrix::zeros(3, 10), &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "state `c` of `Lstm` must be 5 × 10 (n_a × m, with m = 10 examples in the input), found 4 × 10"
    );
}

#[test]
fn batches_that_disagree() {
    let err = cell().step(&DMatrix::zeros(3, 10), &state(8)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("state `a` of `Lstm` must be 5 × 10"),
        "{err}"
    );
    assert!(err.to_string().ends_with("found 5 × 8"), "{err}");
}

#[test]
fn an_empty_sequence_or_batch() {
    assert!(matches!(
        Sequence::<f64>::from_steps(&[]),
        Err(Error::EmptySequence { .. })
    ));
    let err = cell().step(&DMatrix::zeros(3, 0), &state(0)).unwrap_err();
    assert!(matches!(err, Error::EmptyBatch { .. }), "{err}");
}

#[test]
fn sequence_steps_of_different_shapes() {
    let steps = [DMatrix::<f64>::zeros(3, 10), DMatrix::zeros(3, 9)];
    let err = Sequence::from_steps(&steps).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 1 of the sequence must be 3 × 10 like step 0, found 3 × 9"
    );
}

#[test]
fn params_of_the_wrong_shape() {
    let mut p: LstmParams<f64> = cell().params();
    p.w_c = DMatrix::zeros(5, 7);
    let err = Lstm::new(dims(), &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter `w_c` of `Lstm` must be 5 × 8 ([n_a, n_x + n_a]), found 5 × 7"
    );
    let mut p = cell().params();
    p.b_y = DVector::zeros(3);
    let err = Lstm::new(dims(), &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter `b_y` of `Lstm` must be 2 × 1 ([n_y]), found 3 × 1"
    );
}

#[test]
fn a_zero_dimension() {
    let err = Lstm::<f64>::zeros(LstmDims {
        n_x: 3,
        n_a: 0,
        n_y: 2,
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`Lstm`: dimension `n_a` = 0 must be at least 1"
    );
}

#[test]
fn unknown_names_and_steps() {
    let err = Lstm::<f64>::state_index("h").unwrap_err();
    assert_eq!(err.to_string(), "no state `h`; the states are a, c");
    let c = cell();
    let trace = c
        .forward(
            &Sequence::new(DMatrix::zeros(3, 20), 10).unwrap(),
            &state(10),
        )
        .unwrap();
    assert!(c.output_at(&trace, 0).is_err());
    assert!(c.state_at(&trace, 3).is_err());
    assert!(c.state_at(&trace, 2).is_ok());
}

#[test]
fn params_round_trip_and_count() {
    let c = cell();
    let again = Lstm::new(dims(), &c.params()).unwrap();
    assert_eq!(again, c);
    // 4 gates of 5 × 8 weights and 5 biases, and a 2 × 5 output layer with 2 biases.
    assert_eq!(c.param_count(), 4 * (5 * 8 + 5) + 2 * 5 + 2);
    assert_eq!(c.param_views().w_f.shape(), (5, 8));
}

#[test]
fn a_reused_trace_gives_the_same_numbers() {
    let c = cell();
    let mut rng = NumpyRng::new(3);
    let xs = Sequence::new(rng.randn_matrix(3, 40), 10).unwrap();
    let fresh = c.forward(&xs, &state(10)).unwrap();
    let mut reused = c
        .forward(
            &Sequence::new(rng.randn_matrix(3, 40), 10).unwrap(),
            &state(10),
        )
        .unwrap();
    c.forward_into(&xs, &state(10), &mut reused).unwrap();
    assert_eq!(fresh.state_array(0), reused.state_array(0));
    assert_eq!(fresh.output_array(0), reused.output_array(0));
}

/// `.npy` bytes whose header claims `shape` and holds no data.
fn npy_claiming(shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes
}

#[test]
fn sizes_that_overflow_are_errors_not_panics() {
    use cellforge::interop::{NamedArray, Weights};
    use std::io::Write;
    let err = NamedArray::new("w", vec![1 << 32, 1 << 32], vec![], "float64").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the tensor `w`: its shape [4294967296, 4294967296] holds more values than memory can"
    );
    let err = cellforge::Mask::new(vec![], usize::MAX, 2).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} examples × 2 steps", usize::MAX)),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("cellforge-overflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (k, shape) in ["(4294967296, 4294967296)", "(18446744073709551615, 2)"]
        .into_iter()
        .enumerate()
    {
        let path = dir.join(format!("huge{k}.npz"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("arr_0.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&npy_claiming(shape)).unwrap();
        zip.finish().unwrap();
        let err = Weights::read_npz(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("holds more values than memory can"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_saves_to_one_path_each_succeed_and_the_file_is_whole() {
    use cellforge::interop::{NamedArray, Weights};
    let dir = std::env::temp_dir().join(format!("cellforge-concurrent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shared.safetensors");
    std::thread::scope(|s| {
        for writer in 0..4 {
            let path = &path;
            s.spawn(move || {
                for round in 0..50 {
                    let value = (writer * 1000 + round) as f64;
                    let mut w = Weights::new();
                    w.push(NamedArray::new("v", vec![64], vec![value; 64], "float64").unwrap())
                        .unwrap();
                    w.write_safetensors(path)
                        .unwrap_or_else(|e| panic!("writer {writer}, round {round}: {e}"));
                }
            });
        }
    });
    let read = Weights::read_safetensors(&path).unwrap();
    let v = &read.get("v").unwrap().data;
    assert!(v.iter().all(|&x| x == v[0]), "one writer's file, whole");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "shared.safetensors")
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_finite_finds_the_first_value_that_is_not_finite() {
    let c = cell();
    let mut rng = NumpyRng::new(4);
    let mut data = rng.randn_matrix::<f64>(3, 5 * 4);
    data[(1, 2 * 4 + 2)] = f64::NAN; // step 3, example 2
    let xs = Sequence::new(data, 4).unwrap();
    let trace = c.forward(&xs, &state(4)).unwrap();
    let err = c.check_finite(&trace).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the input `x` of `Lstm` at step 3, example 2 is not finite (NaN or infinite)"
    );
    let mut s0 = state(4);
    s0.c[(0, 1)] = f64::INFINITY;
    let clean = Sequence::new(rng.randn_matrix::<f64>(3, 5 * 4), 4).unwrap();
    let trace = c.forward(&clean, &s0).unwrap();
    let err = c.check_finite(&trace).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the initial state `c` of `Lstm` at step 0, example 1 is not finite (NaN or infinite)"
    );
    let trace = c.forward(&clean, &state(4)).unwrap();
    c.check_finite(&trace).unwrap();
}

/// A `.weights.h5` whose dataset claims 2⁴⁰ × 2⁴⁰ values (the fixture's
/// kernel with its dimensions rewritten) is refused by name, before any
/// value is read.
#[test]
fn an_h5_dataset_whose_shape_overflows_is_an_error() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut bytes =
        std::fs::read(format!("{dir}/tests/fixtures/keras_lstm_f64.weights.h5")).unwrap();
    // The kernel's dataspace: its dimensions (3, 16) then its maximum
    // dimensions, each two little-endian u64.
    let dims: Vec<u8> = [3u64, 16].iter().flat_map(|d| d.to_le_bytes()).collect();
    let at: Vec<usize> = (0..bytes.len() - 16)
        .filter(|&i| bytes[i..i + 16] == dims[..])
        .collect();
    assert_eq!(at.len(), 2, "the fixture's (3, 16) dataspace");
    for i in at {
        let huge: Vec<u8> = [1u64 << 40, 1 << 40]
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect();
        bytes[i..i + 16].copy_from_slice(&huge);
    }
    let path =
        std::env::temp_dir().join(format!("cellforge-huge-{}.weights.h5", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let err = cellforge::interop::Weights::read_keras_h5(&path);
    std::fs::remove_file(&path).unwrap();
    let err = err.unwrap_err().to_string();
    assert!(
        err.contains("more values than memory can hold") && err.contains("1099511627776"),
        "{err}"
    );
}

/// A mis-shaped upstream gradient is named by the output it belongs to,
/// counted among the outputs (the LSTM's `y` is its first output).
#[test]
fn a_mis_shaped_upstream_gradient_names_its_output() {
    let cell = cell();
    let xs = Sequence::new(DMatrix::zeros(3, 4 * 2), 4).unwrap();
    let trace = cell.forward(&xs, &state(4)).unwrap();
    let mut up = Upstream::zeros_like(&trace);
    *up.output_mut(0).unwrap() = DMatrix::zeros(1, 8);
    let err = cell.backward(&trace, &up).unwrap_err().to_string();
    assert!(
        err.contains("upstream gradient of output `y`") && err.contains("2 × 8"),
        "{err}"
    );
}
