//! The AVX-512 tile, written with the processor's vector operations.
//!
//! The portable tile leaves the choice of vectors to the compiler, and the
//! compiler's choice depends on the processor it tunes for: for some
//! processors with AVX-512 it prefers 256-bit vectors, and a tile of two
//! 512-bit registers by 8 columns then needs 64 registers where 32 exist,
//! and spills to memory on every multiply-add. Here each column of the tile
//! is `V` 512-bit registers, named as such, whatever the tuning.

use super::{Args, Tile, TileKernel, driver};
use crate::Real;
use std::any::TypeId;
use std::arch::x86_64::*;

/// Columns of `C` a tile holds in registers: `12 · V` accumulators, plus
/// `V` for the panel's column and one for the broadcast value of `B` (27 of
/// the 32 registers for `V = 2`). Twelve columns rather than eight measured
/// some 5% faster at the shapes of a recurrent step and of the products over
/// all steps (`cargo run --release --example products`): each value of the
/// panel loaded serves more multiply-adds.
const NR: usize = 12;

/// Runs the product of `args` with panels of `V` registers of rows.
///
/// # Safety
/// As for the kernels of [`super::run`], and the processor has AVX-512F.
pub(super) unsafe fn run<T: Real, const V: usize>(args: &Args<T>) {
    // SAFETY: forwarded from `super::run`; the casts are between identical
    // types (checked by `TypeId`).
    unsafe {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            f32s::<V>(&cast(args));
        } else if TypeId::of::<T>() == TypeId::of::<f64>() {
            f64s::<V>(&cast(args));
        } else {
            unreachable!("`Real` is implemented for f32 and f64 only");
        }
    }
}

/// The same operands seen as another element type, which the caller has
/// found to be the same type.
fn cast<T, S>(args: &Args<T>) -> Args<S> {
    Args {
        m: args.m,
        k: args.k,
        n: args.n,
        a: args.a.cast(),
        panel: args.panel,
        col: args.col,
        b: args.b.cast(),
        rsb: args.rsb,
        csb: args.csb,
        c: args.c.cast(),
        ldc: args.ldc,
        accumulate: args.accumulate,
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn f32s<const V: usize>(args: &Args<f32>) {
    // SAFETY: forwarded.
    unsafe {
        match V {
            2 => driver::<f32, Zmm<2>, 32, NR>(args),
            _ => driver::<f32, Zmm<1>, 16, NR>(args),
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn f64s<const V: usize>(args: &Args<f64>) {
    // SAFETY: forwarded.
    unsafe {
        match V {
            2 => driver::<f64, Zmm<2>, 16, NR>(args),
            _ => driver::<f64, Zmm<1>, 8, NR>(args),
        }
    }
}

/// A tile whose columns are `V` 512-bit registers.
struct Zmm<const V: usize>;

/// A tile function for one element type: `$lanes` values per register,
/// and the type's AVX-512 operations.
macro_rules! zmm_tile {
    ($name:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $load:ident, $splat:ident,
     $fma:ident, $load_masked:ident, $add:ident, $store_masked:ident) => {
        /// `C[..rows, ..NC] (+)= A_panel · B[.., ..NC]` with `V` registers
        /// per column of the tile.
        ///
        /// # Safety
        /// As `TileKernel::tile` states: the panel has `kc` columns of
        /// `V · lanes` values, `col` apart; `B` has `kc` rows and `NC`
        /// columns at its strides; `C` has `rows` rows and `NC` columns.
        #[target_feature(enable = "avx512f")]
        #[inline]
        unsafe fn $name<const V: usize, const NC: usize>(t: &Tile<$t>) {
            // SAFETY: see the function's contract.
            unsafe {
                let mut acc = [[$zero(); V]; NC];
                for p in 0..t.kc {
                    let ap = t.a.add(p * t.col);
                    let mut av = [$zero(); V];
                    for (v, a) in av.iter_mut().enumerate() {
                        *a = $load(ap.add(v * $lanes));
                    }
                    let bp = t.b.offset(p as isize * t.rsb);
                    for (j, col) in acc.iter_mut().enumerate() {
                        let bv = $splat(*bp.offset(j as isize * t.csb));
                        for v in 0..V {
                            col[v] = $fma(av[v], bv, col[v]);
                        }
                    }
                }
                for (j, col) in acc.iter().enumerate() {
                    let cj = t.c.add(j * t.ldc);
                    for (v, &value) in col.iter().enumerate() {
                        let start = v * $lanes;
                        if start >= t.rows {
                            break;
                        }
                        let left = t.rows - start;
                        let mask: $mask = if left >= $lanes { !0 } else { (1 << left) - 1 };
                        let value = if t.accumulate {
                            $add($load_masked(mask, cj.add(start)), value)
                        } else {
                            value
                        };
                        $store_masked(cj.add(start), mask, value);
                    }
                }
            }
        }
    };
}

zmm_tile!(
    tile_f32,
    f32,
    16,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_maskz_loadu_ps,
    _mm512_add_ps,
    _mm512_mask_storeu_ps
);
zmm_tile!(
    tile_f64,
    f64,
    8,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_maskz_loadu_pd,
    _mm512_add_pd,
    _mm512_mask_storeu_pd
);

impl<const V: usize> TileKernel<f32> for Zmm<V> {
    #[inline(always)]
    unsafe fn tile<const NC: usize>(t: &Tile<f32>) {
        // SAFETY: forwarded; the driver runs inside an AVX-512 function.
        unsafe { tile_f32::<V, NC>(t) }
    }
}

impl<const V: usize> TileKernel<f64> for Zmm<V> {
    #[inline(always)]
    unsafe fn tile<const NC: usize>(t: &Tile<f64>) {
        // SAFETY: forwarded; the driver runs inside an AVX-512 function.
        unsafe { tile_f64::<V, NC>(t) }
    }
}

/// The operands of a thin weight-gradient product for [`rows`]:
/// `C (M × n) = op(A) · op(B) + beta · C`, where `op(A)(r, kk)` is
/// `a[r · a_row + kk · a_col]`, `op(B)(kk, j)` is `b[kk · ldb + j]` and
/// `C(r, j)` is `c[r + j · ldc]`.
pub(super) struct Rows<'a, T> {
    pub(super) c: &'a mut [T],
    pub(super) ldc: usize,
    pub(super) a: &'a [T],
    pub(super) a_row: usize,
    pub(super) a_col: usize,
    pub(super) b: &'a [T],
    pub(super) ldb: usize,
    pub(super) beta: T,
    pub(super) k: usize,
    pub(super) n: usize,
}

impl<T: Copy> Rows<'_, T> {
    /// Whether every index the product reads or writes lies in its slices.
    fn fits<const M: usize>(&self) -> bool {
        let (k, n) = (self.k, self.n);
        if k == 0 || n == 0 {
            return true;
        }
        let last_a = (M - 1) * self.a_row + (k - 1) * self.a_col;
        let last_b = (k - 1) * self.ldb + n - 1;
        let last_c = M - 1 + (n - 1) * self.ldc;
        last_a < self.a.len() && last_b < self.b.len() && last_c < self.c.len()
    }
}

/// [`super::thin`]'s weight-gradient loop with AVX-512 registers: the
/// columns of `C` in blocks of one or two registers (masked at the end),
/// each row's sum split into `S` partial sums that take the shared
/// dimension's indices in turn (`kk` goes to sum `kk mod S`) and are added
/// as the same tree as the portable loop's. `false` (and nothing done) when
/// the processor lacks AVX-512 or the operands do not fit their slices.
pub(super) fn rows<T: Real, const M: usize, const S: usize>(args: Rows<'_, T>) -> bool {
    if !std::arch::is_x86_feature_detected!("avx512f") || !args.fits::<M>() {
        return false;
    }
    // SAFETY: the processor has AVX-512F; every index is in bounds
    // (`fits`); the casts are between identical types (checked by
    // `TypeId`).
    unsafe {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            rows_f32::<M, S>(&mut cast_rows(args));
        } else if TypeId::of::<T>() == TypeId::of::<f64>() {
            rows_f64::<M, S>(&mut cast_rows(args));
        } else {
            return false;
        }
    }
    true
}

/// The same operands seen as another element type, which the caller has
/// found to be the same type.
///
/// # Safety
/// `T` and `U` are the same type.
unsafe fn cast_rows<'a, T: Copy, U: Copy>(r: Rows<'a, T>) -> Rows<'a, U> {
    // SAFETY: `T` and `U` are the same type, so the slices' layouts agree.
    unsafe {
        Rows {
            c: std::slice::from_raw_parts_mut(r.c.as_mut_ptr().cast(), r.c.len()),
            ldc: r.ldc,
            a: std::slice::from_raw_parts(r.a.as_ptr().cast(), r.a.len()),
            a_row: r.a_row,
            a_col: r.a_col,
            b: std::slice::from_raw_parts(r.b.as_ptr().cast(), r.b.len()),
            ldb: r.ldb,
            beta: *(&r.beta as *const T).cast::<U>(),
            k: r.k,
            n: r.n,
        }
    }
}

/// The weight-gradient loop for one element type.
macro_rules! zmm_rows {
    ($name:ident, $block:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $splat:ident,
     $fma:ident, $load_masked:ident, $add:ident, $store:ident) => {
        /// [`rows`] for this element type.
        ///
        /// # Safety
        /// The processor has AVX-512F and the operands fit their slices.
        #[target_feature(enable = "avx512f")]
        unsafe fn $name<const M: usize, const S: usize>(r: &mut Rows<'_, $t>) {
            let mut j0 = 0;
            while j0 < r.n {
                let left = r.n - j0;
                // SAFETY: forwarded.
                unsafe {
                    if left > $lanes {
                        $block::<M, S, 2>(r, j0, left.min(2 * $lanes));
                    } else {
                        $block::<M, S, 1>(r, j0, left);
                    }
                }
                j0 += left.min(2 * $lanes);
            }
        }

        /// Columns `j0 .. j0 + cols` of `C` (`cols <= V · lanes`) with `V`
        /// registers per row.
        ///
        /// # Safety
        /// As for the loop above.
        #[target_feature(enable = "avx512f")]
        #[inline]
        unsafe fn $block<const M: usize, const S: usize, const V: usize>(
            r: &mut Rows<'_, $t>,
            j0: usize,
            cols: usize,
        ) {
            let mut masks: [$mask; V] = [0; V];
            for (v, m) in masks.iter_mut().enumerate() {
                let start = v * $lanes;
                *m = if cols >= start + $lanes {
                    !0
                } else if cols > start {
                    (1 << (cols - start)) - 1
                } else {
                    0
                };
            }
            let (a, b) = (r.a.as_ptr(), r.b.as_ptr().wrapping_add(j0));
            let (a_row, a_col, ldb, k) = (r.a_row, r.a_col, r.ldb, r.k);
            // SAFETY: every index read is below the bound `fits` checked:
            // rows of `A` below `M`, indices of the shared dimension below
            // `k`, columns of `B` below `j0 + cols <= n` (masked lanes are
            // not read).
            unsafe {
                let mut acc = [[[$zero(); V]; M]; S];
                let whole = k - k % S;
                let mut kk = 0;
                while kk < k {
                    for (s, part) in acc.iter_mut().enumerate() {
                        let at = kk + s;
                        if kk >= whole && at >= k {
                            break;
                        }
                        let bp = b.add(at * ldb);
                        let mut bv = [$zero(); V];
                        for (v, x) in bv.iter_mut().enumerate() {
                            *x = $load_masked(masks[v], bp.add(v * $lanes));
                        }
                        for (row, sums) in part.iter_mut().enumerate() {
                            let av = $splat(*a.add(row * a_row + at * a_col));
                            for v in 0..V {
                                sums[v] = $fma(av, bv[v], sums[v]);
                            }
                        }
                    }
                    kk += S;
                }
                let mut width = S;
                while width > 1 {
                    width /= 2;
                    for s in 0..width {
                        for row in 0..M {
                            for v in 0..V {
                                acc[s][row][v] = $add(acc[s][row][v], acc[s + width][row][v]);
                            }
                        }
                    }
                }
                let mut out = [[0 as $t; $lanes]; V];
                for row in 0..M {
                    for v in 0..V {
                        $store(out[v].as_mut_ptr(), acc[0][row][v]);
                    }
                    for jj in 0..cols {
                        let at = row + (j0 + jj) * r.ldc;
                        let value = out[jj / $lanes][jj % $lanes];
                        let old = r.c[at];
                        r.c[at] = if r.beta == 0.0 {
                            value
                        } else if r.beta == 1.0 {
                            old + value
                        } else {
                            r.beta * old + value
                        };
                    }
                }
            }
        }
    };
}

zmm_rows!(
    rows_f32,
    rows_block_f32,
    f32,
    16,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_maskz_loadu_ps,
    _mm512_add_ps,
    _mm512_storeu_ps
);
zmm_rows!(
    rows_f64,
    rows_block_f64,
    f64,
    8,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_maskz_loadu_pd,
    _mm512_add_pd,
    _mm512_storeu_pd
);
