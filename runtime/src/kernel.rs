//! Building blocks of generated code: element-wise functions, softmax and
//! products on column-major slices. Not for direct use; the `cell!` macro
//! calls them.

use crate::Real;
pub use crate::gemm::PackCache;
use nalgebra::{DMatrixView, DMatrixViewMut, Dyn, U1};

/// A strided matrix inside a column-major slice: element `(i, j)` is at
/// `off + i + j * ld`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Offset of element `(0, 0)`.
    pub off: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between columns.
    pub ld: usize,
}

impl Block {
    /// A dense `rows × cols` block at `off`.
    pub fn dense(off: usize, rows: usize, cols: usize) -> Self {
        Block {
            off,
            rows,
            cols,
            ld: rows,
        }
    }

    /// The columns `first .. first + count` of this block.
    pub fn columns(self, first: usize, count: usize) -> Self {
        Block {
            off: self.off + first * self.ld,
            cols: count,
            ..self
        }
    }

    /// The rows `first .. first + count` of this block.
    pub fn rows(self, first: usize, count: usize) -> Self {
        Block {
            off: self.off + first,
            rows: count,
            ..self
        }
    }

    /// One past the last element, or `None` when the block is malformed
    /// (columns overlap, or the arithmetic overflows).
    pub(crate) fn checked_end(self) -> Option<usize> {
        if self.rows == 0 || self.cols == 0 {
            return Some(self.off);
        }
        if self.cols > 1 && self.ld < self.rows || self.ld > isize::MAX as usize {
            return None;
        }
        (self.cols - 1)
            .checked_mul(self.ld)?
            .checked_add(self.rows)?
            .checked_add(self.off)
    }

    fn end(self) -> usize {
        self.checked_end().unwrap_or(usize::MAX)
    }
}

/// A read-only view of `block` in `data`.
pub fn view<T: Real>(data: &[T], block: Block) -> DMatrixView<'_, T, U1, Dyn> {
    let data = &data[block.off..block.end().max(block.off)];
    DMatrixView::from_slice_with_strides_generic(
        data,
        Dyn(block.rows),
        Dyn(block.cols),
        U1,
        Dyn(block.ld.max(1)),
    )
}

/// The first column of `block` in `data`, as a slice (a vector parameter).
pub fn column<T>(data: &[T], block: Block) -> &[T] {
    &data[block.off..block.off + block.rows]
}

/// A mutable view of `block` in `data`.
pub fn view_mut<T: Real>(data: &mut [T], block: Block) -> DMatrixViewMut<'_, T, U1, Dyn> {
    let end = block.end().max(block.off);
    DMatrixViewMut::from_slice_with_strides_generic(
        &mut data[block.off..end],
        Dyn(block.rows),
        Dyn(block.cols),
        U1,
        Dyn(block.ld.max(1)),
    )
}

/// `c = a · b + beta · c` on blocks of slices.
pub fn gemm<T: Real>(c: &mut [T], cb: Block, a: &[T], ab: Block, b: &[T], bb: Block, beta: T) {
    gemm_t(c, cb, a, ab, false, b, bb, false, beta);
}

pub use crate::gemm::{gemm as gemm_t, gemm_cached};

/// Adds the gradient of the softmax input to `ga`, given the softmax output
/// `y` and the gradient `gy` of the output: `ga += y ⊙ (gy − Σ gy ⊙ y)`.
pub fn softmax_backward<T: Real>(y: &[T], gy: &[T], ga: &mut [T]) {
    let dot = y
        .iter()
        .zip(gy)
        .fold(T::zero(), |acc, (&y, &g)| acc + y * g);
    for ((a, &y), &g) in ga.iter_mut().zip(y).zip(gy) {
        *a += y * (g - dot);
    }
}

/// Softmax of `src` into `dst` (same length), shifted by the maximum so that
/// large values do not overflow.
pub fn softmax<T: Real>(src: &[T], dst: &mut [T]) {
    let Some(&first) = src.first() else { return };
    let max = src
        .iter()
        .copied()
        .fold(first, |m, v| if v > m { v } else { m });
    let mut sum = T::zero();
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = (s - max).exp();
        sum += *d;
    }
    for d in dst.iter_mut() {
        *d /= sum;
    }
}

/// The examples the lanes path of an element-wise pass takes at once: a
/// group whose values of one row fill several vector registers.
pub const LANES: usize = 32;

/// The bytes of the widest vector register this build targets: the
/// element-wise loops of generated code vectorize to this width.
const VECTOR_BYTES: usize = if cfg!(target_feature = "avx512f") {
    64
} else if cfg!(target_feature = "avx") {
    32
} else {
    16
};

/// Whether an element-wise pass over vectors of `n` values of `T` takes the
/// lanes path (the examples side by side in the registers) rather than one
/// column at a time: when one column does not fill a vector register.
#[inline]
pub fn short_columns<T>(n: usize) -> bool {
    n.saturating_mul(std::mem::size_of::<T>()) < VECTOR_BYTES
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid<T: Real>(x: T) -> T {
    T::one() / (T::one() + (-x).exp_fast())
}

/// `K` disjoint windows of `n` elements of `buf`, starting at `starts`, all
/// mutable at once: what generated loops index without bounds checks.
///
/// # Panics
/// If a window is outside `buf` or two overlap: generated code asks only for
/// disjoint windows inside the buffer, as it would otherwise index outside
/// it.
#[inline]
pub fn windows_mut<T, const K: usize>(
    buf: &mut [T],
    starts: [usize; K],
    n: usize,
) -> [&mut [T]; K] {
    let len = buf.len();
    for a in 0..K {
        assert!(
            starts[a] <= len && n <= len - starts[a],
            "generated windows lie inside their buffer"
        );
        for b in a + 1..K {
            assert!(
                starts[a] + n <= starts[b] || starts[b] + n <= starts[a],
                "generated windows do not overlap"
            );
        }
    }
    let base = buf.as_mut_ptr();
    // SAFETY: each window is inside `buf` and no two overlap (checked
    // above), so these are disjoint mutable borrows of parts of `buf`, for
    // no longer than `buf` is borrowed.
    std::array::from_fn(|k| unsafe { std::slice::from_raw_parts_mut(base.add(starts[k]), n) })
}

/// Hyperbolic tangent.
#[inline(always)]
pub fn tanh<T: Real>(x: T) -> T {
    x.tanh_fast()
}

/// `max(x, 0)`.
#[inline(always)]
pub fn relu<T: Real>(x: T) -> T {
    if x > T::zero() { x } else { T::zero() }
}

/// `x`.
#[inline(always)]
pub fn identity<T: Real>(x: T) -> T {
    x
}

/// `e^x`.
#[inline(always)]
pub fn exp<T: Real>(x: T) -> T {
    x.exp()
}

/// Natural logarithm.
#[inline(always)]
pub fn log<T: Real>(x: T) -> T {
    x.ln()
}

/// `√x`.
#[inline(always)]
pub fn sqrt<T: Real>(x: T) -> T {
    x.sqrt()
}

/// `Σ f(v)` over `x`, in eight interleaved partial sums, so that the loop
/// is not bound by the latency of one chain of additions and vectorizes.
#[inline]
fn sum_of<T: Real>(x: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let tail = rest.iter().fold(T::zero(), |t, &v| t + f(v));
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7)) + tail
}

/// The sum of the parts of one example's vector.
pub fn reduce_sum<T: Real>(parts: &[&[T]]) -> T {
    parts
        .iter()
        .fold(T::zero(), |acc, p| acc + sum_of(p, |v| v))
}

/// The mean of the parts of one example's vector, taken as one vector.
pub fn reduce_mean<T: Real>(parts: &[&[T]]) -> T {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    reduce_sum(parts) / T::cast(n as f64)
}

/// The population variance of the parts of one example's vector, taken as
/// one vector: `Σ (v − mean)² / n`, computed about the mean (two passes), so
/// that it stays accurate when the mean is large.
pub fn reduce_var<T: Real>(parts: &[&[T]]) -> T {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    let mean = reduce_mean(parts);
    let ss = parts.iter().fold(T::zero(), |acc, p| {
        acc + sum_of(p, |v| (v - mean) * (v - mean))
    });
    ss / T::cast(n as f64)
}

/// `dst += v` element-wise: the gradient of a sum or a mean.
pub fn add_all<T: Real>(dst: &mut [T], v: T) {
    for d in dst {
        *d += v;
    }
}

/// Adds the gradient of a population variance over `count` values with
/// mean `mean` to the gradient `dx` of the part `x`: `2 g (x − mean) / count`.
pub fn var_backward<T: Real>(x: &[T], dx: &mut [T], g: T, mean: T, count: T) {
    let scale = (g + g) / count;
    for (d, &v) in dx.iter_mut().zip(x) {
        *d += scale * (v - mean);
    }
}

/// Keras's hard sigmoid: `clip(0.2 x + 0.5, 0, 1)`.
#[inline(always)]
pub fn hard_sigmoid<T: Real>(x: T) -> T {
    let y = T::cast(0.2) * x + T::cast(0.5);
    if y < T::zero() {
        T::zero()
    } else if y > T::one() {
        T::one()
    } else {
        y
    }
}

/// The slope of Keras's hard sigmoid at `x`: 0.2 inside `(−2.5, 2.5)`, 0 outside.
#[inline(always)]
pub fn hard_sigmoid_slope<T: Real>(x: T) -> T {
    let y = T::cast(0.2) * x + T::cast(0.5);
    if y > T::zero() && y < T::one() {
        T::cast(0.2)
    } else {
        T::zero()
    }
}

#[cfg(test)]
mod reduction_tests {
    use super::*;

    #[test]
    fn reductions_of_parts_are_those_of_the_whole() {
        let a: Vec<f64> = (0..13).map(|k| f64::from(k) * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..5).map(|k| f64::from(k * k)).collect();
        let whole: Vec<f64> = a.iter().chain(&b).copied().collect();
        let n = whole.len() as f64;
        let sum: f64 = whole.iter().sum();
        let mean = sum / n;
        let var = whole.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let parts = [a.as_slice(), b.as_slice()];
        assert!((reduce_sum(&parts) - sum).abs() < 1e-12);
        assert!((reduce_mean(&parts) - mean).abs() < 1e-12);
        assert!((reduce_var(&parts) - var).abs() < 1e-12);
        assert_eq!(reduce_sum::<f64>(&[&[]]), 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_on_strided_blocks_matches_nalgebra() {
        // a is rows 1..3 of a 4 × 3 column-major block.
        let a: Vec<f64> = (0..12).map(f64::from).collect();
        let b: Vec<f64> = (0..6).map(|v| f64::from(v) * 0.5).collect();
        let mut c = vec![1.0; 4];
        let ab = Block::dense(0, 4, 3).rows(1, 2);
        gemm(
            &mut c,
            Block::dense(0, 2, 2),
            &a,
            ab,
            &b,
            Block::dense(0, 3, 2),
            1.0,
        );
        let full = nalgebra::DMatrix::from_column_slice(4, 3, &a);
        let bm = nalgebra::DMatrix::from_column_slice(3, 2, &b);
        let expected = full.rows(1, 2) * bm;
        for (k, v) in c.iter().enumerate() {
            assert_eq!(*v, expected[k] + 1.0);
        }
    }

    #[test]
    fn transposed_products_need_no_copy() {
        // c (2 × 2) = aᵀ · bᵀ with a 3 × 2 and b 2 × 3, both column-major.
        let a: Vec<f64> = (0..6).map(f64::from).collect();
        let b: Vec<f64> = (0..6).map(|v| f64::from(v) + 1.0).collect();
        let mut c = vec![0.0; 4];
        gemm_t(
            &mut c,
            Block::dense(0, 2, 2),
            &a,
            Block::dense(0, 3, 2),
            true,
            &b,
            Block::dense(0, 2, 3),
            true,
            0.0,
        );
        let am = nalgebra::DMatrix::from_column_slice(3, 2, &a);
        let bm = nalgebra::DMatrix::from_column_slice(2, 3, &b);
        let expected = am.transpose() * bm.transpose();
        assert_eq!(c, expected.as_slice());
    }

    #[test]
    #[should_panic(expected = "malformed")]
    fn a_block_with_overlapping_columns_is_refused() {
        let mut c = [0.0f64; 2];
        let bad = Block {
            off: 0,
            rows: 2,
            cols: 3,
            ld: 0,
        };
        gemm_t(
            &mut c,
            bad,
            &[1.0; 2],
            Block::dense(0, 2, 1),
            false,
            &[1.0; 3],
            Block::dense(0, 1, 3),
            false,
            0.0,
        );
    }

    #[test]
    #[should_panic(expected = "malformed")]
    fn a_block_whose_end_overflows_is_refused() {
        let mut c = [0.0f64; 4];
        let bad = Block {
            off: 0,
            rows: 2,
            cols: 2,
            ld: usize::MAX / 2,
        };
        gemm_t(
            &mut c,
            bad,
            &[1.0; 2],
            Block::dense(0, 2, 1),
            false,
            &[1.0; 2],
            Block::dense(0, 1, 2),
            false,
            0.0,
        );
    }

    #[test]
    fn softmax_backward_is_the_jacobian_product() {
        let src = [0.3f64, -1.2, 2.0];
        let mut y = [0.0; 3];
        softmax(&src, &mut y);
        let gy = [0.5, -0.25, 1.5];
        let mut ga = [0.0; 3];
        softmax_backward(&y, &gy, &mut ga);
        // Jacobian of softmax: J_ij = y_i (δ_ij − y_j); ga = Jᵀ gy.
        for i in 0..3 {
            let expected: f64 = (0..3)
                .map(|j| gy[j] * y[j] * (if i == j { 1.0 } else { 0.0 } - y[i]))
                .sum();
            assert!((ga[i] - expected).abs() < 1e-15);
        }
    }

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let src = [1000.0f64, 1001.0, 1002.0];
        let mut dst = [0.0; 3];
        softmax(&src, &mut dst);
        let sum: f64 = dst.iter().sum();
        assert!((sum - 1.0).abs() < 1e-15);
        assert!((dst[2] - 0.6652409557748219).abs() < 1e-15);
    }

    #[test]
    fn functions_have_their_textbook_values() {
        assert_eq!(sigmoid(0.0f64), 0.5);
        assert_eq!(relu(-2.0f64), 0.0);
        assert_eq!(hard_sigmoid(10.0f64), 1.0);
        assert_eq!(hard_sigmoid(-10.0f64), 0.0);
        assert!((hard_sigmoid(1.0f64) - 0.7).abs() < 1e-15);
        assert!((sigmoid(-800.0f64)).abs() < 1e-300);
    }
}
