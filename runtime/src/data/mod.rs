//! Data: a Keras-compatible text tokenizer and word index, `pad_sequences`,
//! and loaders for the IMDB movie reviews (the `aclImdb` layout, from a
//! directory or straight from its `.tar.gz`, and a flat `.npz` of word ranks).

pub mod imdb;
pub mod npy;
pub mod planar;
pub mod text;

pub use imdb::{Imdb, Review, Split};
pub use text::{WordIndex, pad_sequences, text_to_word_sequence};
