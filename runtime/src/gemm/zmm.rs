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

/// Columns of `C` a tile holds in registers: `8 · V` accumulators, plus
/// `V` for the panel's column and one for the broadcast value of `B`.
const NR: usize = 8;

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
