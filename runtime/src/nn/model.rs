//! A Keras-like sequential model: `add` layers, `compile` with a loss and an
//! optimizer, `fit`, `evaluate`, `predict`, `summary`, and weights saved as
//! safetensors.

use super::loss::Loss;
use super::optim::{Clip, Optimizer, OptimizerState, global_norm_scale};
use super::{Ctx, Layer, LayerConfig, Shape, Tensor};
use crate::{Error, NumpyRng, Real};
use nalgebra::DMatrix;
use std::fmt::Write as _;
use std::time::Instant;

/// Layers applied in order.
pub struct Sequential<T: Real> {
    input: Shape,
    layers: Vec<Box<dyn Layer<T>>>,
    names: Vec<String>,
    rng: NumpyRng,
    loss: Option<Loss>,
    optimizer: Option<OptimizerState<T>>,
    clip: Clip,
    check_finite: bool,
}

/// Options of [`Sequential::fit`].
#[derive(Clone, Debug)]
pub struct Fit<T: Real> {
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Shuffle the examples every epoch, with the model's generator.
    pub shuffle: bool,
    /// Data to evaluate after each epoch.
    pub validation: Option<(Tensor<T>, DMatrix<T>)>,
    /// Print a progress bar and a line per epoch.
    pub verbose: bool,
}

impl<T: Real> Default for Fit<T> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation: None,
            verbose: false,
        }
    }
}

/// What `fit` measured, one entry per epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss.
    pub loss: Vec<f64>,
    /// Training accuracy (for a classification loss).
    pub accuracy: Vec<f64>,
    /// Validation loss.
    pub val_loss: Vec<f64>,
    /// Validation accuracy.
    pub val_accuracy: Vec<f64>,
    /// Seconds the epoch took.
    pub seconds: Vec<f64>,
}

impl<T: Real> Sequential<T> {
    /// An empty model for inputs of shape `input`, with random generator `seed`.
    pub fn new(input: Shape, seed: u32) -> Self {
        Sequential {
            input,
            layers: Vec::new(),
            names: Vec::new(),
            rng: NumpyRng::new(seed),
            loss: None,
            optimizer: None,
            clip: Clip::None,
            check_finite: false,
        }
    }

    /// Checks, when `on`, every layer's output in the forward pass and every
    /// gradient it passes back, and reports the first value that is not
    /// finite with the layer, the direction, the step and the example
    /// (PyTorch's anomaly detection). Off by default, when it costs nothing.
    pub fn check_finite(mut self, on: bool) -> Self {
        self.check_finite = on;
        self
    }

    /// Adds a layer, built for the output shape of the layers before it.
    #[allow(
        clippy::should_implement_trait,
        reason = "Keras's name for adding a layer"
    )]
    pub fn add(mut self, layer: impl LayerConfig<T>) -> Result<Self, Error> {
        let shape = self.output_shape()?;
        let built = layer.build(&shape, &mut self.rng)?;
        built.output_shape(&shape)?;
        let kind = built.kind();
        let base = keras_name(kind);
        let same = self.layers.iter().filter(|l| l.kind() == kind).count();
        self.names.push(if same == 0 {
            base
        } else {
            format!("{base}_{same}")
        });
        self.layers.push(built);
        Ok(self)
    }

    /// Adds an already built layer.
    pub fn add_layer(mut self, layer: Box<dyn Layer<T>>) -> Result<Self, Error> {
        let shape = self.output_shape()?;
        layer.output_shape(&shape)?;
        let kind = layer.kind();
        let same = self.layers.iter().filter(|l| l.kind() == kind).count();
        let base = keras_name(kind);
        self.names.push(if same == 0 {
            base
        } else {
            format!("{base}_{same}")
        });
        self.layers.push(layer);
        Ok(self)
    }

    /// Sets the loss and the optimizer (Keras's `compile`).
    pub fn compile(mut self, loss: Loss, optimizer: Optimizer) -> Result<Self, Error> {
        optimizer.validate()?;
        self.loss = Some(loss);
        self.optimizer = Some(OptimizerState::new(optimizer));
        Ok(self)
    }

    /// Clips gradients before every step.
    pub fn clip(mut self, clip: Clip) -> Self {
        self.clip = clip;
        self
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The layers, mutable (to set weights by hand).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// The layer names, as Keras would give them (`simple_rnn`, `dense_1`).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The output shape of the whole model.
    pub fn output_shape(&self) -> Result<Shape, Error> {
        self.layers
            .iter()
            .try_fold(self.input, |s, l| l.output_shape(&s))
    }

    /// The number of parameters.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// A Keras-like table: layer, output shape, parameter count, and totals.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let rule = "_".repeat(65);
        let _ = writeln!(out, "Model: \"sequential\"\n{rule}");
        let _ = writeln!(out, "{:<29}{:<26}Param #", "Layer (type)", "Output Shape");
        let _ = writeln!(out, "{}", "=".repeat(65));
        let mut shape = self.input;
        for (k, (layer, name)) in self.layers.iter().zip(&self.names).enumerate() {
            shape = layer.output_shape(&shape).unwrap_or(shape);
            let label = format!("{name} ({})", layer.kind());
            let _ = writeln!(
                out,
                "{label:<29}{:<26}{}",
                shape.to_string(),
                layer.param_count()
            );
            let _ = writeln!(
                out,
                "{}",
                if k + 1 == self.layers.len() {
                    "=".repeat(65)
                } else {
                    rule.clone()
                }
            );
        }
        let total = thousands(self.param_count());
        let _ = writeln!(
            out,
            "Total params: {total}\nTrainable params: {total}\nNon-trainable params: 0\n{rule}"
        );
        out
    }

    /// The model's output for `x`, in inference mode, in batches of `batch_size`.
    pub fn predict(&mut self, x: &Tensor<T>, batch_size: usize) -> Result<DMatrix<T>, Error> {
        check_batch_size(batch_size)?;
        let m = x.m();
        let mut parts = Vec::new();
        for start in (0..m).step_by(batch_size) {
            let index: Vec<usize> = (start..(start + batch_size).min(m)).collect();
            let out = self.forward(&x.select(&index)?, false)?;
            parts.push(out.values().cloned().unwrap_or_default());
        }
        let rows = parts.first().map_or(0, |p| p.nrows());
        let cols = parts.iter().map(|p| p.ncols()).sum();
        let mut out = DMatrix::zeros(rows, cols);
        let mut c = 0;
        for p in parts {
            out.columns_mut(c, p.ncols()).copy_from(&p);
            c += p.ncols();
        }
        Ok(out)
    }

    /// Loss and accuracy on `x` and `y`, in inference mode.
    pub fn evaluate(
        &mut self,
        x: &Tensor<T>,
        y: &DMatrix<T>,
        batch_size: usize,
    ) -> Result<(f64, Option<f64>), Error> {
        let loss = self.loss.ok_or_else(not_compiled)?;
        check_counts(x, y)?;
        let pred = self.predict(x, batch_size)?;
        let (value, _) = loss.eval(&pred, y)?;
        Ok((value, loss.accuracy(&pred, y)))
    }

    /// Runs the model on a batch (`training` turns dropout on) and returns
    /// its output; the layers keep what [`Sequential::backward`] needs.
    pub fn forward(&mut self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>, Error> {
        let mut ctx = Ctx {
            training,
            rng: &mut self.rng,
            mask: None,
        };
        let mut h = x.clone();
        for (layer, name) in self.layers.iter_mut().zip(&self.names) {
            h = layer.forward(&h, &mut ctx)?;
            if self.check_finite
                && let Some(at) = h.first_non_finite()
            {
                return Err(Error::NonFinite {
                    what: format!("the output of layer `{name}` ({at})"),
                    epoch: 0,
                    step: 0,
                });
            }
        }
        Ok(h)
    }

    /// One step of training on a batch: forward, loss, backward, update.
    /// Returns the loss and the predictions.
    pub fn train_step(
        &mut self,
        x: &Tensor<T>,
        y: &DMatrix<T>,
    ) -> Result<(f64, DMatrix<T>), Error> {
        let (value, pred) = self.backpropagate(x, y, true)?;
        self.apply_gradients()?;
        Ok((value, pred))
    }

    /// The loss on a batch and, stored in the layers, the gradient of every
    /// parameter, without changing the weights; `training` turns dropout on.
    /// Returns the loss and the predictions.
    pub fn backpropagate(
        &mut self,
        x: &Tensor<T>,
        y: &DMatrix<T>,
        training: bool,
    ) -> Result<(f64, DMatrix<T>), Error> {
        let loss = self.loss.ok_or_else(not_compiled)?;
        let out = self.forward(x, training)?;
        let pred = out.values().cloned().ok_or_else(|| Error::Shape {
            tensor: "the model's output".into(),
            expected: "values".into(),
            found: "token ids".into(),
        })?;
        let (value, grad) = loss.eval(&pred, y)?;
        if !value.is_finite() {
            return Err(Error::NonFinite {
                what: format!("the loss ({value})"),
                epoch: 0,
                step: 0,
            });
        }
        let d = match &out {
            Tensor::Seq(s) => Tensor::Seq(crate::Sequence::new(grad, s.m())?),
            _ => Tensor::Batch(grad),
        };
        self.backward(&d)?;
        Ok((value, pred))
    }

    /// Backpropagates `dy`, the gradient of some loss with respect to the
    /// output of the last [`Sequential::forward`], through every layer:
    /// stores each parameter's gradient and returns the gradient with
    /// respect to the model's input (none when the input is token ids).
    pub fn backward(&mut self, dy: &Tensor<T>) -> Result<Option<Tensor<T>>, Error> {
        let mut d = dy.clone();
        for (layer, name) in self.layers.iter_mut().zip(&self.names).rev() {
            match layer.backward(&d)? {
                Some(next) => d = next,
                None => return Ok(None),
            }
            if self.check_finite
                && let Some(at) = d.first_non_finite()
            {
                return Err(Error::NonFinite {
                    what: format!("the gradient layer `{name}` passes back ({at})"),
                    epoch: 0,
                    step: 0,
                });
            }
        }
        Ok(Some(d))
    }

    /// The parameter gradients stored by the last backward pass, one vector
    /// per parameter group, in layer order.
    pub fn gradients(&mut self) -> Vec<Vec<T>> {
        self.layers
            .iter_mut()
            .flat_map(|l| {
                l.params_and_grads()
                    .into_iter()
                    .map(|(_, g)| g.to_vec())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Applies the stored gradients with the optimizer, restoring the weights
    /// if the step made any of them non-finite.
    fn apply_gradients(&mut self) -> Result<(), Error> {
        let clip = self.clip;
        let mut norm2 = 0.0;
        for layer in &mut self.layers {
            for (_, g) in layer.params_and_grads() {
                norm2 += g.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>();
            }
        }
        if !norm2.is_finite() {
            return Err(Error::NonFinite {
                what: "a gradient".into(),
                epoch: 0,
                step: 0,
            });
        }
        let scale = global_norm_scale(norm2.sqrt(), clip);
        let value = match clip {
            Clip::Value(c) => Some(c),
            _ => None,
        };
        let backup: Vec<Vec<T>> = self
            .layers
            .iter()
            .flat_map(|l| l.params().into_iter().map(<[T]>::to_vec))
            .collect();
        let opt = self.optimizer.as_mut().ok_or_else(not_compiled)?;
        opt.begin_step();
        let mut k = 0;
        for layer in &mut self.layers {
            for (p, g) in layer.params_and_grads() {
                opt.update(k, p, g, scale, value);
                k += 1;
            }
        }
        let finite = self
            .layers
            .iter()
            .all(|l| l.params().iter().all(|p| p.iter().all(|v| v.is_finite())));
        if !finite {
            let mut k = 0;
            for layer in &mut self.layers {
                for (p, _) in layer.params_and_grads() {
                    p.copy_from_slice(&backup[k]);
                    k += 1;
                }
            }
            return Err(Error::NonFinite {
                what: "a weight after the update".into(),
                epoch: 0,
                step: 0,
            });
        }
        Ok(())
    }

    /// Checks every input of `fit` before the first update, so that a
    /// mistake leaves the model as it was: the model is compiled, the batch
    /// size, the training and validation data (counts, finite values), and
    /// the loss against the model's output (one example of each set is run
    /// through the model, without training, and its loss evaluated).
    fn check_fit(
        &mut self,
        x: &Tensor<T>,
        y: &DMatrix<T>,
        options: &Fit<T>,
    ) -> Result<Loss, Error> {
        let loss = self.loss.ok_or_else(not_compiled)?;
        if self.optimizer.is_none() {
            return Err(not_compiled());
        }
        check_batch_size(options.batch_size)?;
        let mut sets = vec![("training", x, y)];
        if let Some((vx, vy)) = &options.validation {
            sets.push(("validation", vx, vy));
        }
        for (which, x, y) in sets {
            check_counts_of(which, x, y)?;
            if !x.is_finite() || !y.iter().all(|v| v.is_finite()) {
                return Err(Error::NonFinite {
                    what: format!("the {which} data"),
                    epoch: 0,
                    step: 0,
                });
            }
            let first = x.select(&[0])?;
            let pred = self.predict(&first, 1).map_err(|e| in_set(which, e))?;
            loss.eval(&pred, &y.select_columns(&[0]))
                .map_err(|e| in_set(which, e))?;
        }
        Ok(loss)
    }

    /// Trains on `x` and `y` (`(n_out, N)` targets, one column per example).
    pub fn fit(
        &mut self,
        x: &Tensor<T>,
        y: &DMatrix<T>,
        options: &Fit<T>,
    ) -> Result<History, Error> {
        let loss = self.check_fit(x, y, options)?;
        let n = x.m();
        let steps = n.div_ceil(options.batch_size);
        let mut history = History::default();
        for epoch in 1..=options.epochs {
            let started = Instant::now();
            let mut order: Vec<usize> = (0..n).collect();
            if options.shuffle {
                shuffle(&mut order, &mut self.rng);
            }
            let bar = progress(options.verbose, steps, epoch, options.epochs);
            let (mut total, mut right, mut seen) = (0.0, 0.0, 0usize);
            for (step, chunk) in order.chunks(options.batch_size).enumerate() {
                let (xb, yb) = (x.select(chunk)?, y.select_columns(chunk));
                let (value, pred) = self
                    .train_step(&xb, &yb)
                    .map_err(|e| e.at(epoch, step + 1))?;
                total += value * chunk.len() as f64;
                right += loss.accuracy(&pred, &yb).unwrap_or(0.0) * chunk.len() as f64;
                seen += chunk.len();
                if let Some(bar) = &bar {
                    bar.set_position(step as u64 + 1);
                    bar.set_message(format!(
                        "loss: {:.4} - acc: {:.4}",
                        total / seen as f64,
                        right / seen as f64
                    ));
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            history.loss.push(total / n as f64);
            history.accuracy.push(right / n as f64);
            if let Some((vx, vy)) = &options.validation {
                let (vl, va) = self.evaluate(vx, vy, options.batch_size)?;
                history.val_loss.push(vl);
                history.val_accuracy.push(va.unwrap_or(f64::NAN));
            }
            history.seconds.push(started.elapsed().as_secs_f64());
            if options.verbose {
                println!("{}", epoch_line(&history, epoch, options.epochs, n));
            }
        }
        Ok(history)
    }
}

/// `Epoch 1/3 - 25000/25000 - 12.3s - loss: 0.6856 - acc: 0.5340 - val_loss: … - val_acc: …`
fn epoch_line(h: &History, epoch: usize, epochs: usize, n: usize) -> String {
    let k = epoch - 1;
    let mut line = format!(
        "Epoch {epoch}/{epochs} - {n}/{n} - {:.1}s - loss: {:.4} - acc: {:.4}",
        h.seconds[k], h.loss[k], h.accuracy[k]
    );
    if let (Some(vl), Some(va)) = (h.val_loss.get(k), h.val_accuracy.get(k)) {
        let _ = write!(line, " - val_loss: {vl:.4} - val_acc: {va:.4}");
    }
    line
}

fn progress(
    verbose: bool,
    steps: usize,
    epoch: usize,
    epochs: usize,
) -> Option<indicatif::ProgressBar> {
    if !verbose {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps as u64);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "Epoch {epoch}/{epochs} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} {{msg}}"
    ))
    .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

/// Fisher–Yates with the model's generator.
fn shuffle(order: &mut [usize], rng: &mut NumpyRng) {
    for i in (1..order.len()).rev() {
        let j = (rng.next_f64() * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
}

fn keras_name(kind: &str) -> String {
    let mut out = String::new();
    for (k, ch) in kind.chars().enumerate() {
        let prev_lower = kind
            .chars()
            .nth(k.wrapping_sub(1))
            .is_some_and(|p| p.is_lowercase());
        if ch.is_uppercase() && k > 0 && prev_lower {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (k, ch) in s.chars().enumerate() {
        if k > 0 && (s.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn not_compiled() -> Error {
    Error::Shape {
        tensor: "the model".into(),
        expected: "compiled with a loss and an optimizer".into(),
        found: "not compiled".into(),
    }
}

fn check_counts<T: Real>(x: &Tensor<T>, y: &DMatrix<T>) -> Result<(), Error> {
    check_counts_of("", x, y)
}

/// The targets of the `which` set (`training`, `validation`, or none
/// named) fit its inputs.
fn check_counts_of<T: Real>(which: &str, x: &Tensor<T>, y: &DMatrix<T>) -> Result<(), Error> {
    let set = if which.is_empty() {
        String::new()
    } else {
        format!("{which} ")
    };
    if x.m() != y.ncols() {
        return Err(Error::Shape {
            tensor: format!("the {set}targets"),
            expected: format!("one column per {set}input example ({})", x.m()),
            found: format!("{} columns", y.ncols()),
        });
    }
    if x.m() == 0 {
        return Err(Error::EmptyBatch {
            context: if which.is_empty() {
                "fit".into()
            } else {
                format!("fit's {which} data")
            },
        });
    }
    Ok(())
}

/// An error met while checking the `which` set, saying which set it was.
fn in_set(which: &str, e: Error) -> Error {
    match e {
        Error::Shape {
            tensor,
            expected,
            found,
        } => Error::Shape {
            tensor: format!("{tensor} (on the {which} data)"),
            expected,
            found,
        },
        Error::Index { what, index, len } => Error::Index {
            what: format!("{what} (on the {which} data)"),
            index,
            len,
        },
        other => other,
    }
}

fn check_batch_size(b: usize) -> Result<(), Error> {
    if b == 0 {
        return Err(Error::EmptyBatch {
            context: "batch size 0".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(keras_name("SimpleRNN"), "simple_rnn");
        assert_eq!(keras_name("Embedding"), "embedding");
        assert_eq!(keras_name("LSTM"), "lstm");
        assert_eq!(thousands(64034), "64,034");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn shuffling_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..50).collect();
        shuffle(&mut a, &mut NumpyRng::new(3));
        let mut b: Vec<usize> = (0..50).collect();
        shuffle(&mut b, &mut NumpyRng::new(3));
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, (0..50).collect::<Vec<_>>());
    }
}
