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
    /// epsilons, exact at 0, odd, never beyond ±1), for `f64` Cephes's
    /// rational function near 0 and `1 − 2 / (e^{2|x|} + 1)` beyond (below 4
    /// machine epsilons); both without calls or branches, so that loops of
    /// it vectorize.
    fn tanh_fast(self) -> Self;

    /// `e^x` to this type's precision, as fast as it can be had: for `f32`
    /// Cephes's polynomial after reduction by powers of two (relative error
    /// below 2 machine epsilons over the range where `e^x` is a normal
    /// number; clamped beyond it), with no call and no branch, so that loops
    /// of it vectorize; for `f64` the same reduction and a Taylor series to
    /// the 13th power (below 4 machine epsilons).
    fn exp_fast(self) -> Self;
}

impl Real for f32 {
    const DTYPE: &'static str = "float32";
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        // The odd rational approximation of tanh on [-7.905, 7.905] used by
        // Eigen; beyond that interval tanh is ±1 in f32.
        if self.abs() < 4e-4 {
            return self;
        }
        let x = self.clamp(-7.905_311, 7.905_311);
        let x2 = x * x;
        let p = mul_add32(-2.760_768_5e-16, x2, 2.000_188e-13);
        let p = mul_add32(p, x2, -8.604_672e-11);
        let p = mul_add32(p, x2, 5.122_297e-8);
        let p = mul_add32(p, x2, 1.485_722_4e-5);
        let p = mul_add32(p, x2, 6.372_619_3e-4);
        let p = mul_add32(p, x2, 4.893_524_6e-3);
        let q = mul_add32(1.198_258_4e-6, x2, 1.185_347e-4);
        let q = mul_add32(q, x2, 2.268_434_6e-3);
        let q = mul_add32(q, x2, 4.893_525e-3);
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
        let p = mul_add32(1.987_569_1e-4, r, 1.398_199_9e-3);
        let p = mul_add32(p, r, 8.333_452e-3);
        let p = mul_add32(p, r, 4.166_579_6e-2);
        let p = mul_add32(p, r, 1.666_666_5e-1);
        let p = mul_add32(p, r, 0.5);
        let e_r = mul_add32(p * r, r, r) + 1.0;
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
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        // Cephes: for |x| < 0.625 an odd rational function; beyond,
        // 1 − 2 / (e^{2|x|} + 1) with the sign of x. Both are computed and
        // one is selected, so that loops of it have no branch.
        let z = self * self;
        let p = (-9.643_991_794_250_522e-1 * z - 9.928_772_310_019_186e1) * z
            - 1.614_687_684_417_084_5e3;
        let q = ((z + 1.128_116_784_916_329_3e2) * z + 2.235_488_390_601_004_6e3) * z
            + 4.844_063_053_251_255e3;
        let small = self + self * z * p / q;
        // `clamp` keeps a NaN (`min` would drop it).
        let a = self.abs().clamp(0.0, 40.0);
        let large = (1.0 - 2.0 / ((2.0 * a).exp_fast() + 1.0)).copysign(self);
        if self.abs() < 0.625 { small } else { large }
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        // e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln 2 / 2, and e^r
        // by its Taylor series to r^13 (truncation below 10^-17).
        let x = self.clamp(-708.0, 709.0);
        // Adding 1.5 · 2^52 rounds x / ln 2 to an integer held in the low bits.
        let t = x * std::f64::consts::LOG2_E + 6_755_399_441_055_744.0;
        let n = t - 6_755_399_441_055_744.0;
        // ln 2 in two parts, so that r is exact.
        let r = x - n * 6.931_471_803_691_238e-1 - n * 1.908_214_929_270_587_7e-10;
        // e^r by Horner's rule on 1/k! for k = 13 down to 0, each step one
        // fused multiply-add where the processor has them.
        const INV_FACTORIAL: [f64; 14] = [
            1.0,
            1.0,
            1.0 / 2.0,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5_040.0,
            1.0 / 40_320.0,
            1.0 / 362_880.0,
            1.0 / 3_628_800.0,
            1.0 / 39_916_800.0,
            1.0 / 479_001_600.0,
            1.0 / 6_227_020_800.0,
        ];
        let mut p = INV_FACTORIAL[13];
        for &c in INV_FACTORIAL[..13].iter().rev() {
            p = mul_add(p, r, c);
        }
        let two_n =
            f64::from_bits(((t.to_bits() as i64 - 0x4338_0000_0000_0000 + 1023) as u64) << 52);
        p * two_n
    }
    fn cast(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// `a · b + c`, fused where the target has fused multiply-add (one
/// rounding) and as a multiply and an add elsewhere, where `mul_add` would
/// be a library call: `mul_add` for `f64`, `mul_add32` for `f32`.
macro_rules! fused {
    ($name:ident, $t:ty) => {
        #[inline(always)]
        fn $name(a: $t, b: $t, c: $t) -> $t {
            if cfg!(target_feature = "fma") {
                a.mul_add(b, c)
            } else {
                a * b + c
            }
        }
    };
}
fused!(mul_add, f64);
fused!(mul_add32, f32);

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
    fn the_f64_exp_and_tanh_are_within_f64_precision() {
        let (mut worst_exp, mut worst_tanh) = (0.0f64, 0.0f64);
        for k in -700_000..=700_000 {
            let x = k as f64 * 1e-3 + 1e-7;
            let e = x.exp();
            worst_exp = worst_exp.max((x.exp_fast() - e).abs() / (f64::EPSILON * e));
            let y = k as f64 * 2e-5 + 1e-9;
            let t = y.tanh();
            worst_tanh = worst_tanh.max((y.tanh_fast() - t).abs() / (f64::EPSILON * t.abs()));
        }
        assert!(
            worst_exp < 4.0,
            "exp: worst relative error {worst_exp} epsilons"
        );
        assert!(
            worst_tanh < 4.0,
            "tanh: worst relative error {worst_tanh} epsilons"
        );
        assert_eq!(0.0f64.tanh_fast(), 0.0);
        assert_eq!(0.0f64.exp_fast(), 1.0);
        assert!(f64::NAN.exp_fast().is_nan() && f64::NAN.tanh_fast().is_nan());
        assert_eq!(1000.0f64.tanh_fast(), 1.0);
        assert_eq!((-1000.0f64).tanh_fast(), -1.0);
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
