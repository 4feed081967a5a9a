//! Parity with PyTorch and Keras: weights, inputs, outputs, final states and
//! gradients written by the frameworks themselves
//! (`tests/fixtures/make_fixtures.py`), imported through the cells' layouts
//! and compared: f64 to 1e-10 and f32 to 1e-5, relative to the largest
//! value of each tensor.

use cellforge::cells::{keras, keras_layers, torch, torch_layers};
use cellforge::interop::{self, NamedArray, Weights};
use cellforge::nn::layers::{Bidirectional, Merge};
use cellforge::nn::model::Sequential;
use cellforge::nn::{Shape, Tensor};
use cellforge::{Cell, Error, NumpyRng, Real, Sequence, Tensors, Upstream};
use nalgebra::DMatrix;

fn fixture(name: &str) -> Weights {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Weights::read_safetensors(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn get<'a>(w: &'a Weights, name: &str) -> &'a NamedArray {
    w.get(name)
        .unwrap_or_else(|| panic!("the fixture has no `{name}`"))
}

fn tolerance<T: Real>() -> f64 {
    if T::DTYPE == "float32" { 1e-5 } else { 1e-10 }
}

/// Asserts `actual` equals `expected` to the tolerance of `T`, relative to
/// the largest magnitude in `expected`.
fn assert_close<T: Real>(what: &str, actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let scale = expected
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-30);
    let worst = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tolerance::<T>() * scale,
        "{what}: largest difference {worst:e} against a largest value {scale:e}"
    );
}

fn values<T: Real>(m: &DMatrix<T>) -> Vec<f64> {
    m.iter().map(|v| v.to_f64()).collect()
}

/// `(rows, cols)` column-major from row-major `(cols, rows)` data: PyTorch's
/// `(T, m, n)` is cellforge's `(n, m · T)` with the same memory order.
fn matrix<T: Real>(a: &[f64], rows: usize) -> DMatrix<T> {
    DMatrix::from_iterator(rows, a.len() / rows, a.iter().map(|&v| T::cast(v)))
}

/// Keras's batch-major `(m, T, n)` as cellforge's `(n, m · T)`.
fn from_batch_major<T: Real>(a: &NamedArray) -> DMatrix<T> {
    let (m, steps, n) = (a.shape[0], a.shape[1], a.shape[2]);
    DMatrix::from_fn(n, m * steps, |i, c| {
        let (t, j) = (c / m, c % m);
        T::cast(a.data[(j * steps + t) * n + i])
    })
}

/// cellforge's `(n, m · T)` in Keras's batch-major order.
fn to_batch_major<T: Real>(d: &DMatrix<T>, m: usize) -> Vec<f64> {
    let (n, steps) = (d.nrows(), d.ncols() / m);
    let mut out = vec![0.0; d.len()];
    for c in 0..d.ncols() {
        let (t, j) = (c / m, c % m);
        for i in 0..n {
            out[(j * steps + t) * n + i] = d[(i, c)].to_f64();
        }
    }
    out
}

/// The cell's parameter gradients as the framework's tensors.
fn framework_grads<T: Real, C: Cell<T>>(cell: &C, framework: &str, flat: &[T]) -> Weights {
    let mut out = Weights::new();
    for p in interop::placements(cell, framework).unwrap() {
        let data = p.indices.iter().map(|&k| flat[k].to_f64()).collect();
        out.push(NamedArray::new(p.name, p.shape, data, T::DTYPE).unwrap())
            .unwrap();
    }
    out
}

// ------------------------------------------------------------------ PyTorch

/// One layer of `nn.RNN`/`LSTM`/`GRU` with a random initial state: the cell
/// imported from the `state_dict`, run on the same input, compared on every
/// output, the final states and every gradient.
fn torch_cell<T: Real, C: Cell<T>>(case: &str, make: impl Fn(usize, usize) -> C) {
    let w = fixture(&format!("torch_{case}.safetensors"));
    let input = get(&w, "input");
    let (steps, m, n_x) = (input.shape[0], input.shape[1], input.shape[2]);
    let hidden = get(&w, "h0").shape[2];
    let mut cell = make(n_x, hidden);
    let params = w.select(|n| n.starts_with("weight_") || n.starts_with("bias_"));
    interop::import_cell(&mut cell, "torch", &params, "_l0").unwrap();

    // The export gives back exactly the tensors imported.
    let back = interop::export_cell(&cell, "torch", "_l0").unwrap();
    for a in back.arrays() {
        assert_close::<T>(&a.name, &a.data, &get(&params, &a.name).data);
    }

    let xs = Sequence::new(matrix::<T>(&input.data, n_x), m).unwrap();
    let lstm = w.get("c0").is_some();
    let mut initial = vec![matrix::<T>(&get(&w, "h0").data, hidden)];
    if lstm {
        initial.push(matrix::<T>(&get(&w, "c0").data, hidden));
    }
    let trace = cell.forward(&xs, &C::State::from_parts(initial)).unwrap();

    let h = trace.state(0).unwrap();
    let outputs = h.columns(m, m * steps).into_owned();
    assert_close::<T>(
        &format!("{case} output"),
        &values(&outputs),
        &get(&w, "output").data,
    );
    let last = trace.state_at(0, steps).unwrap().into_owned();
    assert_close::<T>(&format!("{case} h_n"), &values(&last), &get(&w, "h_n").data);
    if lstm {
        let c = trace.state_at(1, steps).unwrap().into_owned();
        assert_close::<T>(&format!("{case} c_n"), &values(&c), &get(&w, "c_n").data);
    }

    let mut up = Upstream::zeros_like(&trace);
    *up.state_mut(0).unwrap() = matrix::<T>(&get(&w, "seed").data, hidden);
    let grads = cell.backward(&trace, &up).unwrap();
    for g in framework_grads(&cell, "torch", grads.params()).arrays() {
        let name = format!("grad.{}_l0", g.name);
        assert_close::<T>(&format!("{case} {name}"), &g.data, &get(&w, &name).data);
    }
    let dx = grads.input();
    assert_close::<T>(
        &format!("{case} grad.input"),
        &values(dx),
        &get(&w, "grad.input").data,
    );
    let dh0 = grads.initial_state(0).unwrap().into_owned();
    assert_close::<T>(
        &format!("{case} grad.h0"),
        &values(&dh0),
        &get(&w, "grad.h0").data,
    );
    if lstm {
        let dc0 = grads.initial_state(1).unwrap().into_owned();
        assert_close::<T>(
            &format!("{case} grad.c0"),
            &values(&dc0),
            &get(&w, "grad.c0").data,
        );
    }
}

fn rnn<T: Real>(n_x: usize, hidden: usize) -> torch::Rnn<T> {
    torch::Rnn::init(torch::RnnDims { n_x, hidden }, &mut NumpyRng::new(0)).unwrap()
}

fn rnn_relu<T: Real>(n_x: usize, hidden: usize) -> torch::Rnn<T> {
    rnn::<T>(n_x, hidden)
        .with_activation("nonlinearity", cellforge::Activation::Relu)
        .unwrap()
}

fn lstm<T: Real>(n_x: usize, hidden: usize) -> torch::Lstm<T> {
    torch::Lstm::init(torch::LstmDims { n_x, hidden }, &mut NumpyRng::new(0)).unwrap()
}

fn gru<T: Real>(n_x: usize, hidden: usize) -> torch::Gru<T> {
    torch::Gru::init(torch::GruDims { n_x, hidden }, &mut NumpyRng::new(0)).unwrap()
}

#[test]
fn torch_rnn_matches_pytorch() {
    torch_cell::<f64, _>("rnn_tanh_f64", rnn::<f64>);
    torch_cell::<f32, _>("rnn_tanh_f32", rnn::<f32>);
    torch_cell::<f64, _>("rnn_relu_f64", rnn_relu::<f64>);
}

#[test]
fn torch_lstm_matches_pytorch() {
    torch_cell::<f64, _>("lstm_f64", lstm::<f64>);
    torch_cell::<f32, _>("lstm_f32", lstm::<f32>);
    torch_cell::<f64, _>("lstm_wide_f64", lstm::<f64>);
}

#[test]
fn torch_gru_matches_pytorch() {
    torch_cell::<f64, _>("gru_f64", gru::<f64>);
    torch_cell::<f32, _>("gru_f32", gru::<f32>);
}

/// A PyTorch module with several layers, possibly bidirectional, as a
/// model: its whole `state_dict` imported by name, the output and every
/// gradient compared.
fn torch_model<T: Real>(case: &str, layer: impl Fn(&mut Sequential<T>, usize, bool)) {
    let w = fixture(&format!("torch_{case}.safetensors"));
    let meta_layers = w
        .names()
        .filter(|n| n.starts_with("weight_ih_l") && !n.ends_with("_reverse"))
        .count();
    let bidirectional = w.get("weight_ih_l0_reverse").is_some();
    let input = get(&w, "input");
    let (steps, m, n_x) = (input.shape[0], input.shape[1], input.shape[2]);
    let hidden = get(&w, "h0").shape[2];
    let mut model = Sequential::<T>::new(
        Shape::Seq {
            features: n_x,
            steps: Some(steps),
        },
        7,
    );
    for _ in 0..meta_layers {
        layer(&mut model, hidden, bidirectional);
    }
    let params = w.select(|n| n.starts_with("weight_") || n.starts_with("bias_"));
    model.import_weights("torch", &params).unwrap();
    assert_eq!(model.export_weights("torch").unwrap().len(), params.len());

    let x = Tensor::Seq(Sequence::new(matrix::<T>(&input.data, n_x), m).unwrap());
    let y = model.forward(&x, false).unwrap();
    let out = y.values().unwrap().clone();
    assert_close::<T>(
        &format!("{case} output"),
        &values(&out),
        &get(&w, "output").data,
    );

    let seed = get(&w, "seed");
    let dy = Sequence::new(matrix::<T>(&seed.data, seed.shape[2]), m).unwrap();
    let dx = model.backward(&Tensor::Seq(dy)).unwrap().unwrap();
    let dx = dx.values().unwrap().clone();
    assert_close::<T>(
        &format!("{case} grad.input"),
        &values(&dx),
        &get(&w, "grad.input").data,
    );
    let grads = model.export_gradients("torch").unwrap();
    assert_eq!(grads.len(), params.len());
    for g in grads.arrays() {
        let name = format!("grad.{}", g.name);
        assert_close::<T>(&format!("{case} {name}"), &g.data, &get(&w, &name).data);
    }
}

fn add<T: Real, L>(model: &mut Sequential<T>, layer: L, bidirectional: bool)
where
    L: cellforge::nn::layers::RecurrentConfig<T> + cellforge::nn::LayerConfig<T>,
{
    let taken = std::mem::replace(model, Sequential::new(Shape::Features(1), 0));
    *model = if bidirectional {
        taken.add(Bidirectional::new(layer, Merge::Concat)).unwrap()
    } else {
        taken.add(layer).unwrap()
    };
}

#[test]
fn stacked_bidirectional_torch_lstm_matches_pytorch() {
    torch_model::<f64>("lstm_stacked_bidir_f64", |model, hidden, bi| {
        add(
            model,
            torch_layers::Lstm::new(hidden).return_sequences(true),
            bi,
        )
    });
}

#[test]
fn stacked_bidirectional_torch_gru_matches_pytorch() {
    torch_model::<f64>("gru_stacked_bidir_f64", |model, hidden, bi| {
        add(
            model,
            torch_layers::Gru::new(hidden).return_sequences(true),
            bi,
        )
    });
}

#[test]
fn stacked_torch_rnn_matches_pytorch_in_f32() {
    torch_model::<f32>("rnn_stacked_f32", |model, hidden, bi| {
        add(
            model,
            torch_layers::Rnn::new(hidden).return_sequences(true),
            bi,
        )
    });
}

// -------------------------------------------------------------------- Keras

/// The fixture's `weight.K` arrays, in order: what `get_weights()` returned.
fn keras_weights(w: &Weights, prefix: &str) -> Vec<NamedArray> {
    (0..)
        .map_while(|k| w.get(&format!("{prefix}weight.{k}")).cloned())
        .collect()
}

/// One Keras layer with a random initial state: the cell set from
/// `get_weights()` in order, compared on every output, the final states
/// and every gradient.
fn keras_cell<T: Real, C: Cell<T>>(case: &str, make: impl Fn(usize, usize) -> C) {
    let w = fixture(&format!("keras_{case}.safetensors"));
    let input = get(&w, "input");
    let (m, steps, n_x) = (input.shape[0], input.shape[1], input.shape[2]);
    let units = get(&w, "initial_h").shape[1];
    let mut cell = make(n_x, units);
    let arrays = keras_weights(&w, "");
    interop::import_cell_ordered(&mut cell, "keras", &arrays).unwrap();

    let xs = Sequence::new(from_batch_major::<T>(input), m).unwrap();
    let lstm = w.get("initial_c").is_some();
    let mut initial = vec![matrix::<T>(&get(&w, "initial_h").data, units)];
    if lstm {
        initial.push(matrix::<T>(&get(&w, "initial_c").data, units));
    }
    let trace = cell.forward(&xs, &C::State::from_parts(initial)).unwrap();
    let outputs = trace.state(0).unwrap().columns(m, m * steps).into_owned();
    assert_close::<T>(
        &format!("{case} output"),
        &to_batch_major(&outputs, m),
        &get(&w, "output").data,
    );
    let h = trace.state_at(0, steps).unwrap().into_owned();
    assert_close::<T>(
        &format!("{case} final_h"),
        &values(&h),
        &get(&w, "final_h").data,
    );
    if lstm {
        let c = trace.state_at(1, steps).unwrap().into_owned();
        assert_close::<T>(
            &format!("{case} final_c"),
            &values(&c),
            &get(&w, "final_c").data,
        );
    }

    let mut up = Upstream::zeros_like(&trace);
    *up.state_mut(0).unwrap() = from_batch_major::<T>(get(&w, "seed"));
    let grads = cell.backward(&trace, &up).unwrap();
    let g = framework_grads(&cell, "keras", grads.params());
    assert_eq!(g.len(), arrays.len());
    for (k, a) in g.arrays().iter().enumerate() {
        let name = format!("grad.weight.{k}");
        assert_close::<T>(
            &format!("{case} {name} ({})", a.name),
            &a.data,
            &get(&w, &name).data,
        );
    }
    let dx = to_batch_major(grads.input(), m);
    assert_close::<T>(
        &format!("{case} grad.input"),
        &dx,
        &get(&w, "grad.input").data,
    );
    let dh0 = grads.initial_state(0).unwrap().into_owned();
    assert_close::<T>(
        &format!("{case} grad.initial_h"),
        &values(&dh0),
        &get(&w, "grad.initial_h").data,
    );
    if lstm {
        let dc0 = grads.initial_state(1).unwrap().into_owned();
        assert_close::<T>(
            &format!("{case} grad.initial_c"),
            &values(&dc0),
            &get(&w, "grad.initial_c").data,
        );
    }
}

#[test]
fn keras_simple_rnn_matches_keras() {
    let make = |n_x, units| -> keras::SimpleRnn<f64> {
        keras::SimpleRnn::init(keras::SimpleRnnDims { n_x, units }, &mut NumpyRng::new(0)).unwrap()
    };
    keras_cell::<f64, _>("simple_rnn_f64", make);
    let make32 = |n_x, units| -> keras::SimpleRnn<f32> {
        keras::SimpleRnn::init(keras::SimpleRnnDims { n_x, units }, &mut NumpyRng::new(0)).unwrap()
    };
    keras_cell::<f32, _>("simple_rnn_f32", make32);
    let no_bias = |n_x, units| -> keras::SimpleRnnNoBias<f64> {
        keras::SimpleRnnNoBias::init(
            keras::SimpleRnnNoBiasDims { n_x, units },
            &mut NumpyRng::new(0),
        )
        .unwrap()
    };
    keras_cell::<f64, _>("simple_rnn_nobias_f64", no_bias);
}

#[test]
fn keras_lstm_matches_keras() {
    let make = |n_x, units| -> keras::Lstm<f64> {
        keras::Lstm::init(keras::LstmDims { n_x, units }, &mut NumpyRng::new(0)).unwrap()
    };
    keras_cell::<f64, _>("lstm_f64", make);
    let make32 = |n_x, units| -> keras::Lstm<f32> {
        keras::Lstm::init(keras::LstmDims { n_x, units }, &mut NumpyRng::new(0)).unwrap()
    };
    keras_cell::<f32, _>("lstm_f32", make32);
}

/// The LSTMs with random masks in `cells/` have Keras's LSTM layout; in
/// inference (zoneout with its rates at 0) they are Keras's LSTM, outputs,
/// final states and gradients.
#[test]
fn regularised_lstms_in_inference_match_keras() {
    use cellforge::cells::{variational_lstm as v, weight_drop_lstm as w, zoneout_lstm as z};
    keras_cell::<f64, _>("lstm_f64", |n_x, n_h| {
        v::VariationalLstm::zeros(v::VariationalLstmDims { n_x, n_h }).unwrap()
    });
    keras_cell::<f64, _>("lstm_f64", |n_x, n_h| {
        w::WeightDropLstm::zeros(w::WeightDropLstmDims { n_x, n_h }).unwrap()
    });
    keras_cell::<f64, _>("lstm_f64", |n_x, n_h| {
        z::ZoneoutLstm::zeros(z::ZoneoutLstmDims { n_x, n_h })
            .and_then(|c| c.with_rate("z_c", 0.0))
            .and_then(|c| c.with_rate("z_h", 0.0))
            .unwrap()
    });
}

#[test]
fn keras_gru_matches_keras_in_both_forms() {
    let after = |n_x, units| -> keras::GruResetAfter<f64> {
        keras::GruResetAfter::init(
            keras::GruResetAfterDims { n_x, units },
            &mut NumpyRng::new(0),
        )
        .unwrap()
    };
    keras_cell::<f64, _>("gru_after_f64", after);
    let after32 = |n_x, units| -> keras::GruResetAfter<f32> {
        keras::GruResetAfter::init(
            keras::GruResetAfterDims { n_x, units },
            &mut NumpyRng::new(0),
        )
        .unwrap()
    };
    keras_cell::<f32, _>("gru_after_f32", after32);
    let before = |n_x, units| -> keras::Gru<f64> {
        keras::Gru::init(keras::GruDims { n_x, units }, &mut NumpyRng::new(0)).unwrap()
    };
    keras_cell::<f64, _>("gru_before_f64", before);
}

#[test]
fn keras_bidirectional_lstm_matches_keras() {
    let w = fixture("keras_lstm_bidir_f64.safetensors");
    let input = get(&w, "input");
    let (m, steps, n_x) = (input.shape[0], input.shape[1], input.shape[2]);
    let units = get(&w, "final_h_fw").shape[1];
    let mut model = Sequential::<f64>::new(
        Shape::Seq {
            features: n_x,
            steps: Some(steps),
        },
        3,
    )
    .add(Bidirectional::new(
        keras_layers::Lstm::new(units).return_sequences(true),
        Merge::Concat,
    ))
    .unwrap();
    let arrays = keras_weights(&w, "");
    model.set_weights("keras", &arrays).unwrap();

    let x = Tensor::Seq(Sequence::new(from_batch_major::<f64>(input), m).unwrap());
    let out = model.forward(&x, false).unwrap().values().unwrap().clone();
    assert_close::<f64>("output", &to_batch_major(&out, m), &get(&w, "output").data);
    // The forward direction ends at the last step, the backward one at the first.
    let last = out.view((0, (steps - 1) * m), (units, m)).into_owned();
    assert_close::<f64>("final_h_fw", &values(&last), &get(&w, "final_h_fw").data);
    let first = out.view((units, 0), (units, m)).into_owned();
    assert_close::<f64>("final_h_bw", &values(&first), &get(&w, "final_h_bw").data);

    let dy = Sequence::new(from_batch_major::<f64>(get(&w, "seed")), m).unwrap();
    let dx = model.backward(&Tensor::Seq(dy)).unwrap().unwrap();
    let dx = to_batch_major(dx.values().unwrap(), m);
    assert_close::<f64>("grad.input", &dx, &get(&w, "grad.input").data);
    let grads = model.export_gradients("keras").unwrap();
    assert_eq!(grads.len(), arrays.len());
    for (k, g) in grads.arrays().iter().enumerate() {
        let name = format!("grad.weight.{k}");
        assert_close::<f64>(
            &format!("{name} ({})", g.name),
            &g.data,
            &get(&w, &name).data,
        );
    }
}

#[test]
fn keras_npz_of_get_weights_imports_like_the_arrays() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let npz = Weights::read_npz(format!("{dir}/tests/fixtures/keras_lstm_f64.npz")).unwrap();
    let names: Vec<&str> = npz.names().collect();
    assert_eq!(names, ["arr_0", "arr_1", "arr_2"]);
    let w = fixture("keras_lstm_f64.safetensors");
    for (k, a) in npz.arrays().iter().enumerate() {
        let b = get(&w, &format!("weight.{k}"));
        assert_eq!((&a.shape, &a.data), (&b.shape, &b.data));
    }
}

// --------------------------------------------------------------- Round trips

fn small_model(seed: u32) -> Sequential<f64> {
    Sequential::<f64>::new(Shape::Ids { steps: Some(6) }, seed)
        .add(cellforge::nn::layers::Embedding::new(20, 5))
        .unwrap()
        .add(Bidirectional::new(
            keras_layers::Gru::new(4)
                .reset_after(true)
                .return_sequences(true),
            Merge::Concat,
        ))
        .unwrap()
        .add(keras_layers::Lstm::new(3))
        .unwrap()
        .add(cellforge::nn::layers::Dense::new(2))
        .unwrap()
}

fn flat(model: &Sequential<f64>) -> Vec<f64> {
    model
        .layers()
        .iter()
        .flat_map(|l| {
            l.params()
                .into_iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn keras_weights_round_trip_through_npz() {
    let a = small_model(1);
    let mut b = small_model(2);
    assert_ne!(flat(&a), flat(&b));
    let dir = std::env::temp_dir().join(format!("cellforge-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.npz");
    a.export_weights("keras")
        .unwrap()
        .positional()
        .write_npz(&path)
        .unwrap();
    let read = Weights::read_npz(&path).unwrap();
    b.set_weights("keras", read.arrays()).unwrap();
    assert_eq!(flat(&a), flat(&b));
    // Keras's `get_weights()` shapes, in Keras's order.
    let shapes: Vec<Vec<usize>> = read.arrays().iter().map(|a| a.shape.clone()).collect();
    assert_eq!(
        shapes,
        [
            vec![20, 5],
            vec![5, 12],
            vec![4, 12],
            vec![2, 12],
            vec![5, 12],
            vec![4, 12],
            vec![2, 12],
            vec![8, 12],
            vec![3, 12],
            vec![12],
            vec![3, 2],
            vec![2],
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn torch_state_dict_round_trips_through_safetensors() {
    let build = |seed| {
        Sequential::<f32>::new(
            Shape::Seq {
                features: 3,
                steps: None,
            },
            seed,
        )
        .add(Bidirectional::new(
            torch_layers::Lstm::new(4).return_sequences(true),
            Merge::Concat,
        ))
        .unwrap()
        .add(torch_layers::Gru::new(2))
        .unwrap()
    };
    let a = build(1);
    let mut b = build(2);
    let dir = std::env::temp_dir().join(format!("cellforge-torch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state_dict.safetensors");
    let exported = a.export_weights("torch").unwrap();
    let names: Vec<&str> = exported.names().collect();
    assert_eq!(
        names,
        [
            "weight_ih_l0",
            "weight_hh_l0",
            "bias_ih_l0",
            "bias_hh_l0",
            "weight_ih_l0_reverse",
            "weight_hh_l0_reverse",
            "bias_ih_l0_reverse",
            "bias_hh_l0_reverse",
            "weight_ih_l1",
            "weight_hh_l1",
            "bias_ih_l1",
            "bias_hh_l1",
        ]
    );
    exported.write_safetensors(&path).unwrap();
    b.import_weights("torch", &Weights::read_safetensors(&path).unwrap())
        .unwrap();
    assert_eq!(
        a.export_weights("torch").unwrap(),
        b.export_weights("torch").unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// -------------------------------------------------------------------- Errors

fn message(e: Error) -> String {
    e.to_string()
}

#[test]
fn wrong_weights_are_refused_with_what_was_expected_and_found() {
    let w = fixture("torch_lstm_f64.safetensors");
    let params = w.select(|n| n.starts_with("weight_") || n.starts_with("bias_"));
    let mut out = String::new();

    // LSTM weights given to a GRU: every name is there, the shapes are not.
    let mut g = gru::<f64>(3, 4);
    let before = g.flat_params().to_vec();
    let e = interop::import_cell(&mut g, "torch", &params, "_l0").unwrap_err();
    out += &format!("LSTM into GRU:\n{}\n\n", message(e));
    assert_eq!(
        g.flat_params(),
        &before[..],
        "a refused import changes nothing"
    );

    // A missing and an unexpected tensor.
    let renamed = Weights::read_safetensors(format!(
        "{}/tests/fixtures/torch_lstm_f64.safetensors",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .select(|n| n.starts_with("weight_") || n == "bias_ih_l0" || n == "h0");
    let mut l = lstm::<f64>(3, 4);
    let e = interop::import_cell(&mut l, "torch", &renamed, "_l0").unwrap_err();
    out += &format!("missing bias_hh_l0, extra h0:\n{}\n\n", message(e));

    // Keras's arrays in the wrong number.
    let k = fixture("keras_lstm_f64.safetensors");
    let mut arrays = keras_weights(&k, "");
    arrays.pop();
    let mut kl =
        keras::Lstm::<f64>::init(keras::LstmDims { n_x: 3, units: 4 }, &mut NumpyRng::new(0))
            .unwrap();
    let e = interop::import_cell_ordered(&mut kl, "keras", &arrays).unwrap_err();
    out += &format!("two arrays for a Keras LSTM:\n{}\n\n", message(e));

    // A cell without a PyTorch layout.
    let mut course = cellforge::cells::Lstm::<f64>::init(
        cellforge::cells::lstm::LstmDims {
            n_x: 3,
            n_a: 4,
            n_y: 2,
        },
        &mut NumpyRng::new(0),
    )
    .unwrap();
    let e = interop::import_cell(&mut course, "torch", &params, "_l0").unwrap_err();
    out += &format!("the course's LSTM:\n{}\n\n", message(e));

    // A value that is not finite.
    let mut bad = Weights::new();
    for a in params.arrays() {
        let mut a = a.clone();
        if a.name == "bias_hh_l0" {
            a.data[3] = f64::NAN;
        }
        bad.push(a).unwrap();
    }
    let e = interop::import_cell(&mut l, "torch", &bad, "_l0").unwrap_err();
    out += &format!("a NaN:\n{}\n\n", message(e));

    // A file that is not safetensors.
    let path = format!(
        "{}/tests/fixtures/keras_lstm_f64.npz",
        env!("CARGO_MANIFEST_DIR")
    );
    let e = Weights::read_safetensors(&path).unwrap_err();
    out += &format!(
        "an .npz read as safetensors:\n{}\n",
        message(e).replace(env!("CARGO_MANIFEST_DIR"), ".")
    );

    insta::assert_snapshot!(out);
}

#[test]
fn keras_weights_h5_reads_like_get_weights() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let h5 =
        Weights::read_keras_h5(format!("{dir}/tests/fixtures/keras_lstm_f64.weights.h5")).unwrap();
    let names: Vec<&str> = h5.names().collect();
    assert_eq!(
        names,
        [
            "layers/lstm/cell/vars/0",
            "layers/lstm/cell/vars/1",
            "layers/lstm/cell/vars/2"
        ]
    );
    let w = fixture("keras_lstm_f64.safetensors");
    for (k, a) in h5.arrays().iter().enumerate() {
        let b = get(&w, &format!("weight.{k}"));
        assert_eq!((&a.shape, &a.data, a.dtype), (&b.shape, &b.data, "float64"));
    }
    let mut cell =
        keras::Lstm::<f64>::init(keras::LstmDims { n_x: 3, units: 4 }, &mut NumpyRng::new(0))
            .unwrap();
    interop::import_cell_ordered(&mut cell, "keras", h5.arrays()).unwrap();
}

// ------------------------------------------------------------------ Example

#[path = "../examples/interop.rs"]
#[allow(dead_code)]
mod example;

/// `examples/interop.rs`, which the book's chapter on moving models follows:
/// PyTorch's and Keras's outputs to 1e-10, both round trips exact, and the
/// GRU's refusal naming the first tensor that does not fit.
#[test]
fn the_interop_example_reproduces_both_frameworks() {
    let dir =
        std::env::temp_dir().join(format!("cellforge-interop-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = example::run(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let report = report.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.differences.len(), 3);
    assert!(
        report.differences.iter().all(|&d| d <= 1e-10),
        "{:?}",
        report.differences
    );
    assert_eq!(report.round_trips, [true, true]);
    assert_eq!(
        report.refused,
        "the tensor `weight_ih_l0`: it is [16, 3], but must be [12, 3]"
    );
}
