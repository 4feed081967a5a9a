//! Text to word ids, as Keras does it.

use crate::Error;
use std::collections::HashMap;

/// Keras's `text_to_word_sequence` with its defaults, as used to build the
/// Keras IMDB word index: ASCII `A`–`Z` lowercased (other letters keep their
/// case), each of ``!"#$%&()*+,-./:;<=>?@[\]^_`{|}~``, tab and newline
/// replaced by a space, split on spaces, empty tokens dropped. Apostrophes
/// stay (`it's`); `<br />` gives the token `br`.
pub fn text_to_word_sequence(text: &str) -> Vec<String> {
    const FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";
    let cleaned: String = text
        .chars()
        .map(|c| {
            if FILTERS.contains(c) {
                ' '
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    cleaned
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Word ranks by frequency (1 = most frequent), as Keras's `Tokenizer` and
/// `imdb_word_index.json` give them; sequences encoded as
/// `keras.datasets.imdb.load_data` encodes them: 0 is padding, 1 the start
/// of a review, 2 a word outside the `num_words` most frequent, and rank `r`
/// becomes `r + 3`. Words that are not in the index at all are dropped, as
/// Keras drops them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordIndex {
    ranks: HashMap<String, u32>,
    words: Vec<String>,
}

/// The id of the start of a review.
pub const START: u32 = 1;
/// The id of a word outside the vocabulary kept.
pub const OOV: u32 = 2;
/// How much word ranks are shifted.
pub const INDEX_FROM: u32 = 3;

impl WordIndex {
    /// Ranks the words of `texts` by frequency; ties keep the order in which
    /// the words first appear (Keras's `fit_on_texts`).
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        let mut order = 0usize;
        for text in texts {
            for w in text_to_word_sequence(text) {
                let e = counts.entry(w).or_insert_with(|| {
                    order += 1;
                    (0, order)
                });
                e.0 += 1;
            }
        }
        let mut sorted: Vec<(String, (usize, usize))> = counts.into_iter().collect();
        sorted.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
        let words: Vec<String> = sorted.into_iter().map(|(w, _)| w).collect();
        Self::from_words(words)
    }

    /// An index from words listed by rank (the first is rank 1).
    pub fn fit_ranked(words: Vec<String>) -> Self {
        Self::from_words(words)
    }

    fn from_words(words: Vec<String>) -> Self {
        let ranks = words
            .iter()
            .enumerate()
            .map(|(k, w)| (w.clone(), k as u32 + 1))
            .collect();
        WordIndex { ranks, words }
    }

    /// Reads a Keras `imdb_word_index.json` (`{"word": rank, ...}`).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let map: HashMap<String, u32> = serde_json::from_str(json).map_err(|e| Error::File {
            path: "the word index".into(),
            reason: format!("not a JSON object of word ranks ({e})"),
        })?;
        let mut words = vec![String::new(); map.len()];
        for (w, &r) in &map {
            let slot = (r as usize).checked_sub(1).and_then(|k| words.get_mut(k));
            match slot {
                Some(s) if s.is_empty() => *s = w.clone(),
                _ => {
                    return Err(Error::File {
                        path: "the word index".into(),
                        reason: format!(
                            "rank {r} of `{w}` is out of 1..={} or used twice",
                            map.len()
                        ),
                    });
                }
            }
        }
        Ok(Self::from_words(words))
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the index has no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The rank of a word (1 = most frequent).
    pub fn rank(&self, word: &str) -> Option<u32> {
        self.ranks.get(word).copied()
    }

    /// The word of a rank.
    pub fn word(&self, rank: u32) -> Option<&str> {
        (rank as usize)
            .checked_sub(1)
            .and_then(|k| self.words.get(k))
            .map(String::as_str)
    }

    /// Encodes ranks as `load_data` does: the start id, then `rank + 3`, or
    /// [`OOV`] when that is `num_words` or more.
    pub fn encode_ranks(ranks: &[u32], num_words: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(ranks.len() + 1);
        out.push(START);
        out.extend(ranks.iter().map(|&r| {
            let id = r + INDEX_FROM;
            if (id as usize) < num_words { id } else { OOV }
        }));
        out
    }

    /// Encodes a text; also returns how many words were not in the index (dropped).
    pub fn encode(&self, text: &str, num_words: usize) -> (Vec<u32>, usize) {
        let words = text_to_word_sequence(text);
        let ranks: Vec<u32> = words.iter().filter_map(|w| self.rank(w)).collect();
        let unknown = words.len() - ranks.len();
        (Self::encode_ranks(&ranks, num_words), unknown)
    }

    /// Decodes ids back to words (`?` for padding, start and out-of-vocabulary ids).
    pub fn decode(&self, ids: &[u32]) -> String {
        let words: Vec<&str> = ids
            .iter()
            .filter(|&&id| id != 0)
            .map(|&id| {
                if id > INDEX_FROM {
                    self.word(id - INDEX_FROM).unwrap_or("?")
                } else {
                    "?"
                }
            })
            .collect();
        words.join(" ")
    }
}

/// Keras's `pad_sequences` with its defaults: every sequence made `maxlen`
/// long by removing ids from its start (`truncating='pre'`) or putting zeros
/// before it (`padding='pre'`).
pub fn pad_sequences(sequences: &[Vec<u32>], maxlen: usize) -> Vec<Vec<u32>> {
    sequences
        .iter()
        .map(|s| {
            if s.len() >= maxlen {
                s[s.len() - maxlen..].to_vec()
            } else {
                let mut out = vec![0; maxlen - s.len()];
                out.extend_from_slice(s);
                out
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_like_keras() {
        assert_eq!(
            text_to_word_sequence("It's GREAT!<br /><br />A must-see, 10/10. Østbye"),
            vec![
                "it's", "great", "br", "br", "a", "must", "see", "10", "10", "Østbye"
            ]
        );
        assert!(text_to_word_sequence("  ...  ").is_empty());
    }

    #[test]
    fn ranks_by_frequency_then_first_appearance() {
        let idx = WordIndex::fit(["b a c", "a b", "a d"]);
        assert_eq!(
            (idx.rank("a"), idx.rank("b"), idx.rank("c"), idx.rank("d")),
            (Some(1), Some(2), Some(3), Some(4))
        );
        assert_eq!(idx.word(2), Some("b"));
    }

    #[test]
    fn encodes_like_load_data() {
        let idx = WordIndex::fit(["the the the movie movie great"]);
        // the = 1 → 4, movie = 2 → 5, great = 3 → 6; with num_words = 6, great is OOV.
        assert_eq!(
            idx.encode("The movie, great! zebra", 6),
            (vec![START, 4, 5, OOV], 1)
        );
        assert_eq!(idx.decode(&[0, 0, 1, 4, 5, 2]), "? the movie ?");
        assert_eq!(idx.encode("zebra zebra", 10), (vec![START], 2));
    }

    #[test]
    fn pads_and_truncates_at_the_front() {
        let seqs = vec![vec![1, 2, 3, 4, 5], vec![7, 8], vec![]];
        assert_eq!(
            pad_sequences(&seqs, 3),
            vec![vec![3, 4, 5], vec![0, 7, 8], vec![0, 0, 0]]
        );
    }

    #[test]
    fn reads_a_keras_word_index() {
        let idx = WordIndex::from_json(r#"{"the": 1, "and": 2, "a": 3}"#).unwrap();
        assert_eq!(idx.rank("and"), Some(2));
        assert!(WordIndex::from_json(r#"{"the": 1, "and": 1}"#).is_err());
        assert!(WordIndex::from_json("[1, 2]").is_err());
    }
}
