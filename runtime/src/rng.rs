//! numpy's legacy random generator (`np.random.seed` / `RandomState`),
//! reproduced bit for bit.
//!
//! Course notebooks seed numpy with `np.random.seed(1)` and then draw weights
//! with `np.random.randn(..)`; [`NumpyRng`] draws exactly the same numbers, so
//! a cell initialised in Rust holds the very weights the notebook printed.

use std::fmt;

use nalgebra::DMatrix;

use crate::array::NdArray;
use crate::scalar::Real;

/// Number of 32-bit words in the MT19937 state.
const STATE_LEN: usize = 624;
/// The MT19937 "middle word" offset.
const SHIFT: usize = 397;
/// The twist matrix constant.
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's legacy random generator: MT19937 seeded by `init_genrand`, with
/// numpy's 53-bit doubles and its polar (Marsaglia) Gaussian sampler.
///
/// `NumpyRng::new(s)` is `np.random.seed(s)`; the draws then match
/// `np.random.randn`, `np.random.rand`, `np.random.random` and
/// `np.random.uniform` value for value, including the cached second Gaussian
/// of each polar pair (so `randn(3)` then `randn(3)` equals `randn(6)`).
///
/// ```
/// use cellforge_runtime::NumpyRng;
///
/// let mut rng = NumpyRng::new(1);
/// // np.random.seed(1); np.random.randn(2)
/// let w = rng.randn(&[2]);
/// assert_eq!(w.data(), &[1.6243453636632417, -0.6117564136500754]);
/// ```
#[derive(Clone)]
pub struct NumpyRng {
    key: [u32; STATE_LEN],
    pos: usize,
    cached_gauss: Option<f64>,
}

impl fmt::Debug for NumpyRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumpyRng")
            .field("pos", &self.pos)
            .field("cached_gauss", &self.cached_gauss)
            .finish_non_exhaustive()
    }
}

impl NumpyRng {
    /// A generator in the state `np.random.seed(seed)` leaves numpy's global
    /// `RandomState` in.
    #[must_use]
    pub fn new(seed: u32) -> Self {
        let mut rng = NumpyRng {
            key: [0; STATE_LEN],
            pos: STATE_LEN,
            cached_gauss: None,
        };
        rng.seed(seed);
        rng
    }

    /// Re-seeds in place, like `np.random.seed(seed)`: MT19937's
    /// `init_genrand`, and any cached Gaussian is discarded.
    pub fn seed(&mut self, seed: u32) {
        let mut value = seed;
        for (i, slot) in (0u32..).zip(self.key.iter_mut()) {
            *slot = value;
            value = 1_812_433_253u32
                .wrapping_mul(value ^ (value >> 30))
                .wrapping_add(i + 1);
        }
        self.pos = STATE_LEN;
        self.cached_gauss = None;
    }

    /// The next raw 32-bit MT19937 output (tempered).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= STATE_LEN {
            self.twist();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Regenerates the whole state block (the MT19937 "twist").
    fn twist(&mut self) {
        // The recurrence of MT19937, `key[i] = key[i + SHIFT] ^ f(key[i],
        // key[i + 1])` with indices mod `STATE_LEN`, in three loops that need
        // no modulo: `i + SHIFT` wraps after `STATE_LEN - SHIFT`, `i + 1` at
        // the last element.
        let step = |key: &[u32; STATE_LEN], i: usize, next: usize, far: usize| {
            let y = (key[i] & UPPER_MASK) | (key[next] & LOWER_MASK);
            let mag = if y & 1 == 0 { 0 } else { MATRIX_A };
            key[far] ^ (y >> 1) ^ mag
        };
        for i in 0..STATE_LEN - SHIFT {
            self.key[i] = step(&self.key, i, i + 1, i + SHIFT);
        }
        for i in STATE_LEN - SHIFT..STATE_LEN - 1 {
            self.key[i] = step(&self.key, i, i + 1, i + SHIFT - STATE_LEN);
        }
        let last = STATE_LEN - 1;
        self.key[last] = step(&self.key, last, 0, SHIFT - 1);
        self.pos = 0;
    }

    /// A uniform double in `[0, 1)` with 53 random bits, like
    /// `np.random.random()`. It does not touch the cached Gaussian.
    pub fn next_f64(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// One standard normal draw, like the scalar `np.random.randn()`.
    ///
    /// numpy's legacy polar method produces Gaussians in pairs: the first
    /// call of a pair returns one and caches the other, which the next call
    /// returns.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(cached) = self.cached_gauss.take() {
            return cached;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.cached_gauss = Some(f * x1);
        f * x2
    }

    /// An array of standard normal draws in C order, like
    /// `np.random.randn(*shape)`. An empty `shape` gives a 0-d array.
    ///
    /// # Panics
    ///
    /// If the number of elements overflows `usize`.
    pub fn randn(&mut self, shape: &[usize]) -> NdArray<f64> {
        NdArray::from_fn(shape, || self.standard_normal())
    }

    /// An array of uniform draws in `[0, 1)`, like `np.random.rand(*shape)`.
    ///
    /// # Panics
    ///
    /// If the number of elements overflows `usize`.
    pub fn rand(&mut self, shape: &[usize]) -> NdArray<f64> {
        NdArray::from_fn(shape, || self.next_f64())
    }

    /// An array of uniform draws in `[low, high)`, like
    /// `np.random.uniform(low, high, shape)`: each element is
    /// `low + (high - low) * next_f64()`.
    ///
    /// # Panics
    ///
    /// If the number of elements overflows `usize`.
    pub fn uniform(&mut self, low: f64, high: f64, shape: &[usize]) -> NdArray<f64> {
        let width = high - low;
        NdArray::from_fn(shape, || low + width * self.next_f64())
    }

    /// A `rows × cols` matrix holding what `np.random.randn(rows, cols)`
    /// gives: the Gaussians are drawn in numpy's row-major order and element
    /// `(r, c)` of the matrix is numpy's `[r, c]`, converted to `T`.
    pub fn randn_matrix<T: Real>(&mut self, rows: usize, cols: usize) -> DMatrix<T> {
        let draws = (0..rows * cols).map(|_| T::cast(self.standard_normal()));
        DMatrix::from_row_iterator(rows, cols, draws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sum (wrapping) of the IEEE bit patterns: an exact, order-free checksum.
    fn bit_sum(values: &[f64]) -> u64 {
        values
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(v.to_bits()))
    }

    fn bit_xor(values: &[f64]) -> u64 {
        values.iter().fold(0u64, |acc, v| acc ^ v.to_bits())
    }

    #[test]
    fn seeding_matches_init_genrand() {
        // np.random.RandomState(1).get_state()[1][:3], get_state()[2]
        let rng = NumpyRng::new(1);
        assert_eq!(&rng.key[..3], &[1, 1_812_433_254, 3_713_160_357]);
        assert_eq!(rng.pos, 624);
        assert_eq!(rng.cached_gauss, None);
    }

    #[test]
    fn raw_words_seed_1() {
        // bg = np.random.MT19937(); bg._legacy_seeding(1); bg.random_raw(6)
        let mut rng = NumpyRng::new(1);
        let words: Vec<u32> = (0..6).map(|_| rng.next_u32()).collect();
        assert_eq!(
            words,
            [
                1791095845, 4282876139, 3093770124, 4005303368, 491263, 550290313
            ]
        );
    }

    #[test]
    fn raw_words_across_twists() {
        // r = bg.random_raw(1000) after bg._legacy_seeding(1):
        // r[623], r[624], r[625], r[999], sum(r) % 2**64
        let mut rng = NumpyRng::new(1);
        let words: Vec<u32> = (0..1000).map(|_| rng.next_u32()).collect();
        assert_eq!(words[623], 2006116153);
        assert_eq!(words[624], 1104314680);
        assert_eq!(words[625], 939235918);
        assert_eq!(words[999], 548926898);
        let sum: u64 = words.iter().map(|&w| u64::from(w)).sum();
        assert_eq!(sum, 2137927701346);
    }

    #[test]
    fn raw_words_extreme_seeds() {
        // bg._legacy_seeding(0); bg.random_raw(3)  and the same for 2**32 - 1
        let mut zero = NumpyRng::new(0);
        let words: Vec<u32> = (0..3).map(|_| zero.next_u32()).collect();
        assert_eq!(words, [2357136044, 2546248239, 3071714933]);
        let mut max = NumpyRng::new(u32::MAX);
        let words: Vec<u32> = (0..3).map(|_| max.next_u32()).collect();
        assert_eq!(words, [419326371, 479346978, 3918654476]);
    }

    #[test]
    fn doubles_seed_1() {
        // np.random.seed(1); np.random.random(3)
        let mut rng = NumpyRng::new(1);
        assert_eq!(rng.next_f64(), 0.417022004702574);
        assert_eq!(rng.next_f64(), 0.7203244934421581);
        assert_eq!(rng.next_f64(), 0.00011437481734488664);
    }

    #[test]
    fn randn_seed_1() {
        // np.random.seed(1); np.random.randn(6)
        let a = NumpyRng::new(1).randn(&[6]);
        assert_eq!(a.shape(), &[6]);
        assert_eq!(
            a.data(),
            &[
                1.6243453636632417,
                -0.6117564136500754,
                -0.5281717522634557,
                -1.0729686221561705,
                0.8654076293246785,
                -2.3015386968802827
            ]
        );
    }

    #[test]
    fn randn_seed_2() {
        // np.random.seed(2); np.random.randn(4)
        let a = NumpyRng::new(2).randn(&[4]);
        assert_eq!(
            a.data(),
            &[
                -0.4167578474054706,
                -0.056266827226329474,
                -2.136196095668454,
                1.6402708084049886
            ]
        );
    }

    #[test]
    fn randn_2000_seed_1() {
        // np.random.seed(1); a = np.random.randn(2000); a[i] for the indices
        // below; the checksums are the wrapping sum and the xor of
        // a.view(np.uint64).
        let a = NumpyRng::new(1).randn(&[2000]);
        let d = a.data();
        let expected = [
            (0, 1.6243453636632417),
            (5, -2.3015386968802827),
            (999, -0.18695501653274957),
            (1000, -0.15323616176709168),
            (1001, -2.432508512647113),
            (1998, 0.6473751158514062),
            (1999, 1.386825593941044),
        ];
        for (i, v) in expected {
            assert_eq!(d[i], v, "index {i}");
        }
        assert_eq!(bit_sum(d), 803395796579390068);
        assert_eq!(bit_xor(d), 9188113025098391976);
    }

    #[test]
    fn uniform_seed_42() {
        // np.random.seed(42); u = np.random.uniform(-3.5, 2.25, 1000)
        let u = NumpyRng::new(42).uniform(-3.5, 2.25, &[1000]);
        let d = u.data();
        let expected = [
            (0, -1.3463943166276655),
            (1, 1.9666072618570176),
            (2, 0.7089651654155791),
            (500, 0.5144298556135345),
            (998, 1.9638647844696138),
            (999, -0.9354668054917545),
        ];
        for (i, v) in expected {
            assert_eq!(d[i], v, "index {i}");
        }
        assert_eq!(bit_sum(d), 5002134348525980091);
        assert_eq!(bit_xor(d), 9255037954427087625);
    }

    #[test]
    fn split_randn_equals_one_randn() {
        // np.random.seed(1); np.random.randn(3); np.random.randn(3)
        let mut rng = NumpyRng::new(1);
        let mut split = rng.randn(&[3]).data().to_vec();
        split.extend_from_slice(rng.randn(&[3]).data());
        assert_eq!(split, NumpyRng::new(1).randn(&[6]).data());
    }

    #[test]
    fn uniform_draws_keep_the_cached_gaussian() {
        // np.random.seed(3); np.random.randn(3); np.random.random(2);
        // np.random.randn(3)
        let mut rng = NumpyRng::new(3);
        let x = rng.randn(&[3]);
        let y = rng.rand(&[2]);
        let z = rng.randn(&[3]);
        assert_eq!(
            x.data(),
            &[1.7886284734303186, 0.43650985051198943, 0.09649746807200862]
        );
        assert_eq!(y.data(), &[0.8929469543476547, 0.8962930889334381]);
        assert_eq!(
            z.data(),
            &[
                -1.8634927033644908,
                -0.27738820251439905,
                -0.35475897926898675
            ]
        );

        // np.random.seed(3); np.random.randn(1); np.random.uniform(0, 1, 1);
        // np.random.randn(2): the cached 2nd Gaussian of the pair survives
        let mut rng = NumpyRng::new(3);
        assert_eq!(rng.randn(&[1]).data(), &[1.7886284734303186]);
        assert_eq!(rng.uniform(0.0, 1.0, &[1]).data(), &[0.2909047389129443]);
        assert_eq!(
            rng.randn(&[2]).data(),
            &[0.43650985051198943, 0.9805538702908831]
        );
    }

    #[test]
    fn scalar_draws_interleave() {
        // np.random.seed(1); randn(); randn(); random(); randn()
        let mut rng = NumpyRng::new(1);
        assert_eq!(rng.standard_normal(), 1.6243453636632417);
        assert_eq!(rng.standard_normal(), -0.6117564136500754);
        assert_eq!(rng.next_f64(), 0.00011437481734488664);
        assert_eq!(rng.standard_normal(), -0.8021728386486427);
    }

    #[test]
    fn reseeding_clears_the_cache() {
        // np.random.seed(1); np.random.randn(1); np.random.seed(1); np.random.randn()
        let mut rng = NumpyRng::new(1);
        rng.standard_normal();
        assert!(rng.cached_gauss.is_some());
        rng.seed(1);
        assert_eq!(rng.cached_gauss, None);
        assert_eq!(rng.standard_normal(), 1.6243453636632417);
    }

    #[test]
    fn other_seeds() {
        // np.random.seed(s); np.random.randn(5); np.random.rand(3)
        let cases: [(u32, [f64; 5], [f64; 3]); 3] = [
            (
                0,
                [
                    1.764052345967664,
                    0.4001572083672233,
                    0.9787379841057392,
                    2.240893199201458,
                    1.8675579901499675,
                ],
                [0.4375872112626925, 0.8917730007820798, 0.9636627605010293],
            ),
            (
                u32::MAX,
                [
                    0.6484086742306527,
                    0.6693235306338161,
                    -1.0805437227474493,
                    0.2845010447986309,
                    0.11388773652167104,
                ],
                [0.9845555560357949, 0.4142464457254096, 0.32420043998445336],
            ),
            (
                12345,
                [
                    -0.20470765948471295,
                    0.47894333805754824,
                    -0.5194387150567381,
                    -0.55573030434749,
                    1.9657805725027142,
                ],
                [0.9645145197356216, 0.6531770968715709, 0.7489066375339118],
            ),
        ];
        for (seed, normals, uniforms) in cases {
            let mut rng = NumpyRng::new(seed);
            assert_eq!(rng.randn(&[5]).data(), &normals, "seed {seed}");
            assert_eq!(rng.rand(&[3]).data(), &uniforms, "seed {seed}");
        }
    }

    #[test]
    fn shapes_are_c_order() {
        // np.random.seed(7); np.random.rand(2, 3)
        let r = NumpyRng::new(7).rand(&[2, 3]);
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(r.get(&[0, 2]), Some(0.4384092314408935));
        assert_eq!(r.get(&[1, 0]), Some(0.7234651778309412));
        let zero_d = NumpyRng::new(1).randn(&[]);
        assert_eq!(zero_d.shape(), &[] as &[usize]);
        assert_eq!(zero_d.data(), &[1.6243453636632417]);
        let empty = NumpyRng::new(1).randn(&[0, 4]);
        assert!(empty.data().is_empty());
    }

    #[test]
    fn randn_matrix_is_numpy_row_major() {
        // np.random.seed(7); np.random.randn(3, 4)
        let m: DMatrix<f64> = NumpyRng::new(7).randn_matrix(3, 4);
        assert_eq!(m.shape(), (3, 4));
        assert_eq!(m[(0, 0)], 1.690525703800356);
        assert_eq!(m[(0, 3)], 0.40751628299650783);
        assert_eq!(m[(1, 1)], 0.00206557290594813);
        assert_eq!(m[(1, 2)], -0.0008903858579313628);
        assert_eq!(m[(2, 0)], 1.0176580056634932);
        assert_eq!(m[(2, 3)], -0.17154826119572117);
        let same = NumpyRng::new(7).randn(&[3, 4]);
        assert_eq!(same.to_matrix(), Some(m));
    }

    #[test]
    fn randn_matrix_f32_rounds_each_draw() {
        // np.random.seed(1); np.random.randn(2, 3).astype(np.float32)
        let m: DMatrix<f32> = NumpyRng::new(1).randn_matrix(2, 3);
        assert_eq!(m[(0, 0)], 1.624_345_4_f32);
        assert_eq!(m[(0, 2)], -0.528_171_8_f32);
        assert_eq!(m[(1, 2)], -2.301_538_7_f32);
        assert_eq!(f64::from(m[(1, 0)]), -1.072968602180481);
    }

    #[test]
    fn debug_is_short() {
        let text = format!("{:?}", NumpyRng::new(1));
        assert_eq!(text, "NumpyRng { pos: 624, cached_gauss: None, .. }");
    }
}
