//! A model's weights as another framework's tensors.

use super::{NamedArray, Placement, Weights, stage, stage_ordered};
use crate::nn::model::Sequential;
use crate::{Error, Real};

/// A placement of one layer of a model.
struct ModelPlacement {
    layer: usize,
    place: Placement,
}

impl<T: Real> Sequential<T> {
    /// Every layer's placements for `framework`, named as the framework
    /// names them in a model: for `torch`, the recurrent layers as the
    /// layers of one `nn.LSTM` (`weight_ih_l0`, `weight_ih_l1_reverse`) and
    /// the others as submodules (`dense.weight`); for other frameworks,
    /// `layer/tensor` (`lstm/kernel`).
    fn placements(&self, framework: &str) -> Result<Vec<ModelPlacement>, Error> {
        let mut out = Vec::new();
        let mut recurrent = 0;
        for (k, (layer, name)) in self.layers().iter().zip(self.names()).enumerate() {
            let places = if framework == "torch" && layer.is_recurrent() {
                recurrent += 1;
                layer.placements(framework, &format!("_l{}", recurrent - 1))?
            } else {
                let sep = if framework == "torch" { "." } else { "/" };
                layer
                    .placements(framework, "")?
                    .into_iter()
                    .map(|p| Placement {
                        name: format!("{name}{sep}{}", p.name),
                        ..p
                    })
                    .collect()
            };
            out.extend(
                places
                    .into_iter()
                    .map(|place| ModelPlacement { layer: k, place }),
            );
        }
        Ok(out)
    }

    /// The model's weights as `framework`'s tensors (`"torch"` or `"keras"`,
    /// or any framework its cells declare a layout for), layer by layer in
    /// the framework's order: for Keras, the order of `model.get_weights()`.
    /// Write them with [`Weights::write_safetensors`] for PyTorch's
    /// `load_state_dict`, or [`Weights::write_npz`] for Keras's `set_weights`.
    pub fn export_weights(&self, framework: &str) -> Result<Weights, Error> {
        let places = self.placements(framework)?;
        gather(places, |mp| {
            self.layers()[mp.layer].params()[mp.place.group].to_vec()
        })
    }

    /// The gradients stored by the last backward pass, named and shaped as
    /// [`Sequential::export_weights`] names and shapes the weights: to
    /// compare with another framework's gradients.
    pub fn export_gradients(&mut self, framework: &str) -> Result<Weights, Error> {
        let places = self.placements(framework)?;
        gather(places, |mp| {
            let groups = self.layers_mut()[mp.layer].params_and_grads();
            groups[mp.place.group].1.to_vec()
        })
    }

    /// Sets every weight from `framework`'s tensors found by name, as
    /// [`Sequential::export_weights`] names them. Every tensor is checked
    /// first (none missing, none extra, each of the right shape and finite);
    /// on any mismatch nothing changes and the error lists what was expected
    /// and found.
    pub fn import_weights(&mut self, framework: &str, weights: &Weights) -> Result<(), Error> {
        let places = self.placements(framework)?;
        let plain: Vec<Placement> = places.iter().map(|p| p.place.clone()).collect();
        let values = stage(&plain, weights, true)?;
        self.write(&places, values);
        Ok(())
    }

    /// Sets every weight from arrays in the framework's order, as Keras's
    /// `model.set_weights(list)` does: names are not looked at, only the
    /// count, the order and the shapes. Nothing changes on a mismatch.
    pub fn set_weights(&mut self, framework: &str, arrays: &[NamedArray]) -> Result<(), Error> {
        let places = self.placements(framework)?;
        let plain: Vec<Placement> = places.iter().map(|p| p.place.clone()).collect();
        let values = stage_ordered(&plain, arrays)?;
        self.write(&places, values);
        Ok(())
    }

    fn write(&mut self, places: &[ModelPlacement], values: Vec<Vec<f64>>) {
        for (mp, values) in places.iter().zip(values) {
            let mut groups = self.layers_mut()[mp.layer].params_and_grads();
            let (p, _) = &mut groups[mp.place.group];
            for (&k, v) in mp.place.indices.iter().zip(values) {
                p[k] = T::cast(v);
            }
        }
    }
}

/// The tensors of `places`, each read from the flat group `group_of` gives.
fn gather<T: Real>(
    places: Vec<ModelPlacement>,
    mut group_of: impl FnMut(&ModelPlacement) -> Vec<T>,
) -> Result<Weights, Error> {
    let mut out = Weights::new();
    for mp in places {
        let flat = group_of(&mp);
        let data = mp.place.indices.iter().map(|&k| flat[k].to_f64()).collect();
        out.push(NamedArray::new(
            mp.place.name,
            mp.place.shape,
            data,
            T::DTYPE,
        )?)?;
    }
    Ok(out)
}
