//! Products with few rows: `op(A)` has fewer rows than half a vector
//! register, as in a cell of one or two units (its gates' products have
//! 1 to 8 rows). The panel kernel would fill most of each register with
//! padding; these loops vectorize along another dimension instead:
//!
//! - [`dots`]: along the shared dimension, one dot product per element of
//!   `C`, where `op(B)`'s columns lie contiguous (an input projection);
//! - [`rows`]: along the columns of `C`, where `op(B)` is a transposed
//!   column-major block, so its rows lie contiguous (a weight gradient);
//! - [`direct`]: no vectorization, for a shared dimension too short to
//!   vectorize (a recurrent step's product): the loops themselves, without
//!   the kernel's set-up.
//!
//! Which loop runs depends only on the shapes of `op(A)`, on the
//! orientations and on the processor, never on the number of columns of
//! `C`: a product split across threads sums every element in the same
//! order as the whole product.

use crate::Real;
use crate::kernel::Block;

/// Values a dot product accumulates side by side (then sums as a tree).
const DOT_LANES: usize = 16;

/// The shared dimension is packed and summed in blocks of this many values.
const DOT_BLOCK: usize = 256;

/// Rows of `op(A)` a thin product takes at most.
pub(super) const MAX_ROWS: usize = 8;

/// Columns of `C` [`rows`] accumulates at once.
const ROW_BLOCK: usize = 64;

/// The fewest columns [`rows`] runs as a vectorized loop.
const ROW_VECTOR: usize = 8;

/// The longest shared dimension [`direct`] takes.
const DIRECT_SHARED: usize = 16;

/// `a · b + c`, fused where the build targets fused multiply-add.
#[inline(always)]
fn fma<T: Real>(a: T, b: T, c: T) -> T {
    if cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The way a product with `m` rows, shared dimension `k`, is computed,
/// given the lanes of a vector register for its element type; `None` for
/// the panel kernel.
pub(super) fn choose(m: usize, k: usize, tb: bool, lanes: usize) -> Option<Thin> {
    if k == 0 || m > MAX_ROWS || 2 * m > lanes {
        return None;
    }
    Some(if tb {
        Thin::Rows
    } else if 2 * k >= lanes || k > DIRECT_SHARED {
        Thin::Dots
    } else {
        Thin::Direct
    })
}

/// The loops of [`choose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Thin {
    Dots,
    Rows,
    Direct,
}

/// One operand: a block of a slice, read as `op(x)` (transposed when
/// `trans`).
#[derive(Clone, Copy)]
pub(super) struct Operand<'a, T> {
    pub(super) data: &'a [T],
    pub(super) block: Block,
    pub(super) trans: bool,
}

impl<T: Real> Operand<'_, T> {
    /// `op(x)(i, j)`.
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> T {
        let ld = self.block.ld.max(1);
        if self.trans {
            self.data[self.block.off + j + i * ld]
        } else {
            self.data[self.block.off + i + j * ld]
        }
    }
}

/// `C = op(A) · op(B) + beta · C` by the loop `how`, on checked blocks
/// (`C` is `m × n` with `m <= MAX_ROWS`, the shared dimension `k > 0`).
pub(super) fn product<T: Real>(
    how: Thin,
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (m, k, n): (usize, usize, usize),
) {
    match m {
        1 => by_rows::<T, 1>(how, c, cb, a, b, beta, (k, n)),
        2 => by_rows::<T, 2>(how, c, cb, a, b, beta, (k, n)),
        3 => by_rows::<T, 3>(how, c, cb, a, b, beta, (k, n)),
        4 => by_rows::<T, 4>(how, c, cb, a, b, beta, (k, n)),
        5 => by_rows::<T, 5>(how, c, cb, a, b, beta, (k, n)),
        6 => by_rows::<T, 6>(how, c, cb, a, b, beta, (k, n)),
        7 => by_rows::<T, 7>(how, c, cb, a, b, beta, (k, n)),
        _ => by_rows::<T, 8>(how, c, cb, a, b, beta, (k, n)),
    }
}

/// [`product`] with the rows `M` a constant: each column's `M` values of
/// `C` are then read and written whole, not through masked operations
/// (whose stores the next column's loads cannot take over).
fn by_rows<T: Real, const M: usize>(
    how: Thin,
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (k, n): (usize, usize),
) {
    match how {
        Thin::Dots => dots::<T, M>(c, cb, a, b, beta, (k, n)),
        Thin::Rows => match M {
            1 => rows::<T, M, 8>(c, cb, a, b, beta, (k, n)),
            2 => rows::<T, M, 4>(c, cb, a, b, beta, (k, n)),
            3 | 4 => rows::<T, M, 2>(c, cb, a, b, beta, (k, n)),
            _ => rows::<T, M, 1>(c, cb, a, b, beta, (k, n)),
        },
        Thin::Direct => {
            // A step's product on dense blocks (as a cell's state and slot
            // buffers are) with a shared dimension of one to four units:
            // the shapes as constants, one pass over the columns.
            let dense = !b.trans && b.block.ld.max(1) == k && cb.ld.max(1) == M;
            match (dense, k) {
                (true, 1) => direct_dense::<T, M, 1>(c, cb, a, b, beta, n),
                (true, 2) => direct_dense::<T, M, 2>(c, cb, a, b, beta, n),
                (true, 3) => direct_dense::<T, M, 3>(c, cb, a, b, beta, n),
                (true, 4) => direct_dense::<T, M, 4>(c, cb, a, b, beta, n),
                _ => direct::<T, M>(c, cb, a, b, beta, (k, n)),
            }
        }
    }
}

/// `beta · c + s`, with `beta = 0` giving `s` whatever `c` held.
#[inline(always)]
fn combine<T: Real>(c: T, beta: T, s: T) -> T {
    if beta == T::zero() {
        s
    } else if beta == T::one() {
        c + s
    } else {
        beta * c + s
    }
}

/// Column `j` of `C` (its `M` rows) set to `beta · C + s`.
#[inline(always)]
fn store_column<T: Real, const M: usize>(c: &mut [T], at: usize, beta: T, s: &[T; M]) {
    let out: &mut [T; M] = (&mut c[at..at + M]).try_into().expect("M rows");
    for r in 0..M {
        out[r] = combine(out[r], beta, s[r]);
    }
}

/// The sum of `DOT_LANES` partial sums, as a tree of fixed halves (so a
/// vectorized loop reduces with a few shuffles, in a fixed order).
#[inline(always)]
fn tree_sum<T: Real>(v: [T; DOT_LANES]) -> T {
    let mut h8 = [T::zero(); 8];
    for i in 0..8 {
        h8[i] = v[i] + v[i + 8];
    }
    let mut h4 = [T::zero(); 4];
    for i in 0..4 {
        h4[i] = h8[i] + h8[i + 4];
    }
    (h4[0] + h4[2]) + (h4[1] + h4[3])
}

/// `Σ x_i y_i` over two slices of equal length: `DOT_LANES` at a time
/// summed as a tree, then the values past the last whole group in order.
#[inline(always)]
fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::zero(); DOT_LANES];
    let (xc, yc) = (x.chunks_exact(DOT_LANES), y.chunks_exact(DOT_LANES));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for i in 0..DOT_LANES {
            acc[i] = fma(xs[i], ys[i], acc[i]);
        }
    }
    let mut tail = T::zero();
    for (&xv, &yv) in xr.iter().zip(yr) {
        tail = fma(xv, yv, tail);
    }
    tree_sum(acc) + tail
}

/// One dot product per element of `C`: the rows of `op(A)` are copied
/// contiguous, a block of the shared dimension at a time, and each meets
/// every column of `op(B)`, which lies contiguous (`op(B)` not transposed).
#[inline(never)]
fn dots<T: Real, const M: usize>(
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (k, n): (usize, usize),
) {
    let mut rows_a = [[T::zero(); DOT_BLOCK]; M];
    let ldc = cb.ld.max(1);
    let ldb = b.block.ld.max(1);
    let mut k0 = 0;
    while k0 < k {
        let kc = DOT_BLOCK.min(k - k0);
        for (r, row) in rows_a.iter_mut().enumerate() {
            for (kk, v) in row[..kc].iter_mut().enumerate() {
                *v = a.at(r, k0 + kk);
            }
        }
        let beta = if k0 == 0 { beta } else { T::one() };
        for j in 0..n {
            let start = b.block.off + j * ldb + k0;
            let column = &b.data[start..start + kc];
            let at = cb.off + j * ldc;
            let out: &mut [T; M] = (&mut c[at..at + M]).try_into().expect("M rows");
            for (o, row) in out.iter_mut().zip(&rows_a) {
                *o = combine(*o, beta, dot(&row[..kc], column));
            }
        }
        k0 += kc;
    }
}

/// The rows of `C` accumulated along the shared dimension: `op(B)` is a
/// transposed block, so the values of one of its rows (one column of the
/// stored block) lie contiguous, and each row of `C` adds a multiple of
/// them. `S` partial sums (a power of two) take the shared dimension's
/// indices in turn (index `kk` goes to sum `kk mod S`) and are added in a
/// fixed tree at the end, so that `S · M` independent chains of fused
/// multiply-adds keep the processor's units busy. Blocks of at least
/// [`ROW_VECTOR`] columns run as loops that vectorize along the columns;
/// narrower ones keep their sums in scalar registers. Both sum each value
/// in the same order, so the order depends on neither the columns nor the
/// block.
#[inline(never)]
fn rows<T: Real, const M: usize, const S: usize>(
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (k, n): (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    {
        let lda = a.block.ld.max(1);
        let args = super::zmm::Rows {
            c: &mut c[cb.off..],
            ldc: cb.ld.max(1),
            a: &a.data[a.block.off..],
            a_row: if a.trans { lda } else { 1 },
            a_col: if a.trans { 1 } else { lda },
            b: &b.data[b.block.off..],
            ldb: b.block.ld.max(1),
            beta,
            k,
            n,
        };
        if super::zmm::rows::<T, M, S>(args) {
            return;
        }
    }
    let mut j0 = 0;
    while j0 < n {
        let left = n - j0;
        let w = if left >= ROW_VECTOR {
            left.min(ROW_BLOCK)
        } else if left >= 4 {
            4
        } else if left >= 2 {
            2
        } else {
            1
        };
        let mut acc = [[[T::zero(); ROW_BLOCK]; M]; S];
        let whole = k - k % S;
        let mut kk = 0;
        while kk < whole {
            for (s, part) in acc.iter_mut().enumerate() {
                add_row(part, a, b, kk + s, j0, w);
            }
            kk += S;
        }
        for (s, part) in acc.iter_mut().enumerate().take(k - whole) {
            add_row(part, a, b, whole + s, j0, w);
        }
        // The partial sums added as a tree: sum s takes sum s + S/2, then
        // s + S/4, and so on.
        let mut width = S;
        while width > 1 {
            width /= 2;
            let (lo, hi) = acc.split_at_mut(width);
            for (dst, src) in lo.iter_mut().zip(hi.iter()) {
                for (dr, sr) in dst.iter_mut().zip(src) {
                    for (d, &v) in dr[..w].iter_mut().zip(&sr[..w]) {
                        *d += v;
                    }
                }
            }
        }
        let ldc = cb.ld.max(1);
        for jj in 0..w {
            let mut s = [T::zero(); M];
            for (v, row) in s.iter_mut().zip(&acc[0]) {
                *v = row[jj];
            }
            store_column(c, cb.off + (j0 + jj) * ldc, beta, &s);
        }
        j0 += w;
    }
}

/// `acc[r][..w] += op(A)(r, kk) · op(B)(kk, j0 .. j0 + w)` for the `M`
/// rows: a vectorized loop from [`ROW_VECTOR`] columns, unrolled scalar
/// code below.
#[inline(always)]
fn add_row<T: Real, const M: usize>(
    acc: &mut [[T; ROW_BLOCK]; M],
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    kk: usize,
    j0: usize,
    w: usize,
) {
    // op(B)(kk, j) = stored(j, kk): column kk of the stored block.
    let start = b.block.off + kk * b.block.ld.max(1) + j0;
    let row_b = &b.data[start..start + w];
    let mut col_a = [T::zero(); M];
    for (r, v) in col_a.iter_mut().enumerate() {
        *v = a.at(r, kk);
    }
    match w {
        1 => add_fixed::<T, M, 1>(acc, &col_a, row_b),
        2 => add_fixed::<T, M, 2>(acc, &col_a, row_b),
        4 => add_fixed::<T, M, 4>(acc, &col_a, row_b),
        _ => {
            for (row, &av) in acc.iter_mut().zip(&col_a) {
                for (o, &bv) in row[..w].iter_mut().zip(row_b) {
                    *o = fma(av, bv, *o);
                }
            }
        }
    }
}

/// [`add_row`] for `W` columns, a compile-time constant.
#[inline(always)]
fn add_fixed<T: Real, const M: usize, const W: usize>(
    acc: &mut [[T; ROW_BLOCK]; M],
    col_a: &[T; M],
    row_b: &[T],
) {
    let row_b: &[T; W] = row_b[..W].try_into().expect("W columns");
    for (row, &av) in acc.iter_mut().zip(col_a) {
        for (o, &bv) in row[..W].iter_mut().zip(row_b) {
            *o = fma(av, bv, *o);
        }
    }
}

/// [`direct`] with the shared dimension `K` a constant, on a dense `C`
/// (`M` rows, leading dimension `M`) and a dense, untransposed `B` (`K`
/// rows, leading dimension `K`): each column of `C` is the same `M`
/// fused multiply-add chains over `kk` as in [`direct`].
#[inline(never)]
fn direct_dense<T: Real, const M: usize, const K: usize>(
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    n: usize,
) {
    let mut cols_a = [[T::zero(); M]; K];
    for (kk, col) in cols_a.iter_mut().enumerate() {
        for (r, v) in col.iter_mut().enumerate() {
            *v = a.at(r, kk);
        }
    }
    let c = &mut c[cb.off..cb.off + M * n];
    let b = &b.data[b.block.off..b.block.off + K * n];
    for (out, col_b) in c.chunks_exact_mut(M).zip(b.chunks_exact(K)) {
        let mut s = [T::zero(); M];
        for (col, &bv) in cols_a.iter().zip(col_b) {
            for r in 0..M {
                s[r] = fma(col[r], bv, s[r]);
            }
        }
        for r in 0..M {
            out[r] = combine(out[r], beta, s[r]);
        }
    }
}

/// The plain loops: each element of `C` sums its `k` products in order,
/// `op(A)` copied once into a column-major array.
#[inline(never)]
fn direct<T: Real, const M: usize>(
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (k, n): (usize, usize),
) {
    let mut cols_a = [[T::zero(); M]; DIRECT_SHARED];
    for (kk, col) in cols_a[..k].iter_mut().enumerate() {
        for (r, v) in col.iter_mut().enumerate() {
            *v = a.at(r, kk);
        }
    }
    let ldc = cb.ld.max(1);
    for j in 0..n {
        let mut s = [T::zero(); M];
        for (kk, col) in cols_a[..k].iter().enumerate() {
            let bv = b.at(kk, j);
            for r in 0..M {
                s[r] = fma(col[r], bv, s[r]);
            }
        }
        store_column(c, cb.off + j * ldc, beta, &s);
    }
}
