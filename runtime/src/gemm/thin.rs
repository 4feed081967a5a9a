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

/// The longest shared dimension [`direct`] takes.
const DIRECT_SHARED: usize = 16;

/// Columns of `C` [`rows`] accumulates at once.
const ROW_BLOCK: usize = 64;

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
        Thin::Rows => rows::<T, M>(c, cb, a, b, beta, (k, n)),
        Thin::Direct => direct::<T, M>(c, cb, a, b, beta, (k, n)),
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

/// The rows of `C` accumulated along the shared dimension, `ROW_BLOCK`
/// columns at a time: `op(B)` is a transposed block, so the values of one
/// of its rows (one column of the stored block) lie contiguous, and each
/// row of `C` adds a multiple of them.
#[inline(never)]
fn rows<T: Real, const M: usize>(
    c: &mut [T],
    cb: Block,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    (k, n): (usize, usize),
) {
    let ldc = cb.ld.max(1);
    let ldb = b.block.ld.max(1);
    let mut j0 = 0;
    while j0 < n {
        let nc = ROW_BLOCK.min(n - j0);
        let mut acc = [[T::zero(); ROW_BLOCK]; M];
        for kk in 0..k {
            // op(B)(kk, j) = stored(j, kk): column kk of the stored block.
            let start = b.block.off + kk * ldb + j0;
            let row_b = &b.data[start..start + nc];
            for (r, row) in acc.iter_mut().enumerate() {
                let av = a.at(r, kk);
                for (o, &bv) in row[..nc].iter_mut().zip(row_b) {
                    *o = fma(av, bv, *o);
                }
            }
        }
        for jj in 0..nc {
            let mut s = [T::zero(); M];
            for (v, row) in s.iter_mut().zip(&acc) {
                *v = row[jj];
            }
            store_column(c, cb.off + (j0 + jj) * ldc, beta, &s);
        }
        j0 += nc;
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
