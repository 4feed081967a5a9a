//! The scalar types cellforge computes with.

use std::fmt::{Debug, Display, LowerExp};

/// A floating-point scalar that cells are generic over: `f32` or `f64`.
///
/// It adds to nalgebra's [`RealField`](nalgebra::RealField) the conversions
/// and formatting the runtime needs (random numbers are drawn in `f64`, as
/// numpy draws them, and converted).
pub trait Real:
    nalgebra::RealField + Copy + Display + Debug + LowerExp + Default + Send + Sync + 'static
{
    /// The name numpy gives this type (`float32`, `float64`).
    const DTYPE: &'static str;
    /// Converts from `f64`, rounding to nearest.
    fn cast(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;

    /// `tanh(x)` to this type's precision, as fast as it can be had: for
    /// `f32` a rational approximation (relative error below 4 machine
    /// epsilons, exact at 0, odd, never beyond ±1), for `f64` the platform's
    /// `tanh`.
    fn tanh_fast(self) -> Self;

    /// `e^x` to this type's precision, as fast as it can be had: for `f32`
    /// Cephes's polynomial after reduction by powers of two (relative error
    /// below 2 machine epsilons over the range where `e^x` is a normal
    /// number; clamped beyond it), with no call and no branch, so that loops
    /// of it vectorize; for `f64` the platform's `exp`.
    fn exp_fast(self) -> Self;

    /// `C = A · B + beta · C` through `matrixmultiply`, on raw strided data.
    ///
    /// # Safety
    /// The pointers and strides must describe matrices inside live
    /// allocations (`m × k`, `k × n`, `m × n`), and C must not overlap A or B.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Real for f32 {
    const DTYPE: &'static str = "float32";
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        // The odd rational approximation of tanh on [-7.905, 7.905] used by
        // Eigen; beyond that interval tanh is ±1 in f32.
        if self.abs() < 4e-4 {
            return self;
        }
        let x = self.clamp(-7.905_311, 7.905_311);
        let x2 = x * x;
        let p = -2.760_768_5e-16f32;
        let p = p * x2 + 2.000_188e-13;
        let p = p * x2 - 8.604_672e-11;
        let p = p * x2 + 5.122_297e-8;
        let p = p * x2 + 1.485_722_4e-5;
        let p = p * x2 + 6.372_619_3e-4;
        let p = p * x2 + 4.893_524_6e-3;
        let q = 1.198_258_4e-6f32;
        let q = q * x2 + 1.185_347e-4;
        let q = q * x2 + 2.268_434_6e-3;
        let q = q * x2 + 4.893_525e-3;
        x * p / q
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        // e^x = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2.
        let x = self.clamp(-87.0, 88.376_26);
        // Adding 1.5 · 2^23 rounds x / ln 2 to an integer held in the low bits.
        let t = x * std::f32::consts::LOG2_E + 12_582_912.0;
        let n = t - 12_582_912.0;
        // ln 2 in two parts, so that r is exact.
        let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
        let p = 1.987_569_1e-4f32;
        let p = p * r + 1.398_199_9e-3;
        let p = p * r + 8.333_452e-3;
        let p = p * r + 4.166_579_6e-2;
        let p = p * r + 1.666_666_5e-1;
        let p = p * r + 0.5;
        let e_r = p * r * r + r + 1.0;
        let two_n = f32::from_bits(((t.to_bits() as i32 - 0x4B40_0000 + 127) as u32) << 23);
        e_r * two_n
    }
    fn cast(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "float64";
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        self.exp()
    }
    fn cast(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_tanh_is_within_f32_precision() {
        let rel = |x: f32| {
            let t = f64::from(x).tanh();
            (f64::from(x.tanh_fast()) - t).abs() / (f64::from(f32::EPSILON) * t.abs().max(1e-30))
        };
        let mut worst = 0.0f64;
        for k in -200_000..=200_000 {
            let x = k as f32 * 5e-5;
            if x != 0.0 {
                worst = worst.max(rel(x));
            }
        }
        for x in [-20.0f32, -9.0, -7.0, 1e-6, 3.0, 8.0, 50.0] {
            worst = worst.max(rel(x));
        }
        assert!(worst < 4.0, "worst relative error {worst} epsilons");
        assert_eq!(0.0f32.tanh_fast(), 0.0);
        assert_eq!((-1e-5f32).tanh_fast(), -1e-5);
        assert!(1000.0f32.tanh_fast() <= 1.0 && (-1000.0f32).tanh_fast() >= -1.0);
    }

    #[test]
    fn the_f32_exp_is_within_f32_precision() {
        let mut worst = 0.0f64;
        for k in -870_000..=880_000 {
            let x = k as f32 * 1e-4;
            let e = f64::from(x).exp();
            let rel = (f64::from(x.exp_fast()) - e).abs() / (f64::from(f32::EPSILON) * e);
            worst = worst.max(rel);
        }
        assert!(worst < 2.0, "worst relative error {worst} epsilons");
        assert_eq!(0.0f32.exp_fast(), 1.0);
        assert!(f32::NAN.exp_fast().is_nan());
        assert!((-1000.0f32).exp_fast() < 1e-37 && (-1000.0f32).exp_fast() >= 0.0);
        assert!(1000.0f32.exp_fast() > 2e38 && 1000.0f32.exp_fast().is_finite());
    }
}
