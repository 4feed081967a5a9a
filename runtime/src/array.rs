//! n-dimensional arrays in C order that print exactly like numpy.
//!
//! [`NdArray`] is a small container (a shape and its row-major data) whose
//! [`Display`](fmt::Display) reproduces numpy's `str(arr)` / `print(arr)`
//! under the default print options, character for character: the choice
//! between positional and scientific notation, numpy's Dragon4 digits
//! (shortest round-trip, at most 8 fractional digits), the padding to a
//! common width, line wrapping at 75 columns, nested brackets, and the
//! `...` summary of arrays with more than 1000 elements.

use std::any::TypeId;
use std::error::Error;
use std::fmt;

use nalgebra::DMatrix;

use crate::scalar::Real;

/// The error of [`NdArray::new`]: the data length does not match the shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    shape: Vec<usize>,
    data_len: usize,
}

impl ShapeMismatch {
    /// The shape that was asked for.
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements that was given.
    #[must_use]
    pub fn data_len(&self) -> usize {
        self.data_len
    }
}

impl fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elements = element_count(&self.shape)
            .map_or_else(|| "more than usize::MAX".to_owned(), |n| n.to_string());
        write!(
            f,
            "an array of shape {} holds {} elements, but the data has {}",
            shape_tuple(&self.shape),
            elements,
            self.data_len
        )
    }
}

impl Error for ShapeMismatch {}

/// An n-dimensional array of `f32` or `f64` stored in C (row-major) order.
///
/// Its [`Display`](fmt::Display) is numpy's `str(arr)` with the default print
/// options; a 0-d array prints like the numpy scalar it holds.
///
/// ```
/// use cellforge_runtime::NdArray;
///
/// let a = NdArray::new(vec![2, 2], vec![18.0, 5.0, -0.5, 0.25]).unwrap();
/// assert_eq!(a.to_string(), "[[18.    5.  ]\n [-0.5   0.25]]");
/// assert_eq!(a.shape_string(), "(2, 2)");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Real> NdArray<T> {
    /// An array of the given shape holding `data` in C order.
    ///
    /// # Errors
    ///
    /// [`ShapeMismatch`] when `data.len()` is not the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, ShapeMismatch> {
        if element_count(&shape) == Some(data.len()) {
            Ok(NdArray { shape, data })
        } else {
            Err(ShapeMismatch {
                shape,
                data_len: data.len(),
            })
        }
    }

    /// An array of zeros of the given shape (`np.zeros(shape)`).
    ///
    /// # Panics
    ///
    /// If the number of elements overflows `usize` (like `Vec` allocation).
    #[must_use]
    pub fn zeros(shape: Vec<usize>) -> Self {
        Self::from_fn(&shape, || T::cast(0.0))
    }

    /// A 0-d array holding `x` (shape `()`).
    #[must_use]
    pub fn scalar(x: T) -> Self {
        NdArray {
            shape: Vec::new(),
            data: vec![x],
        }
    }

    /// An array of the given shape whose elements, in C order, are successive
    /// calls of `next`.
    ///
    /// # Panics
    ///
    /// If the number of elements overflows `usize` (like `Vec` allocation).
    pub(crate) fn from_fn(shape: &[usize], mut next: impl FnMut() -> T) -> Self {
        let len = element_count(shape).expect("array shape has more than usize::MAX elements");
        NdArray {
            shape: shape.to_vec(),
            data: (0..len).map(|_| next()).collect(),
        }
    }

    /// The shape (the length of each axis).
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in C (row-major) order.
    #[must_use]
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The number of axes (0 for a scalar array).
    #[must_use]
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The element at a full index (one entry per axis), or `None` when the
    /// index has the wrong length or is out of bounds.
    #[must_use]
    pub fn get(&self, index: &[usize]) -> Option<T> {
        if index.len() != self.ndim() {
            return None;
        }
        self.prefix_offset(index)
            .and_then(|i| self.data.get(i).copied())
    }

    /// numpy's `a[i][j]..`: the sub-array selected by leading indices (the
    /// whole array for `&[]`, a 0-d array for a full index), or `None` when
    /// there are too many indices or one is out of bounds.
    #[must_use]
    pub fn at(&self, index: &[usize]) -> Option<NdArray<T>> {
        if index.len() > self.ndim() {
            return None;
        }
        let shape = self.shape[index.len()..].to_vec();
        let len = element_count(&shape)?;
        let start = self.prefix_offset(index)?.checked_mul(len)?;
        let data = self.data.get(start..start.checked_add(len)?)?.to_vec();
        Some(NdArray { shape, data })
    }

    /// The flat index of the first element selected by the leading indices
    /// `index`, in units of the sub-array it selects; `None` if out of bounds.
    fn prefix_offset(&self, index: &[usize]) -> Option<usize> {
        index
            .iter()
            .zip(&self.shape)
            .try_fold(0usize, |acc, (&i, &dim)| (i < dim).then(|| acc * dim + i))
    }

    /// A 2-D array of shape `(rows, cols)` with the matrix's `(r, c)` entry
    /// at `[r, c]`.
    #[must_use]
    pub fn from_matrix(m: &DMatrix<T>) -> Self {
        NdArray {
            shape: vec![m.nrows(), m.ncols()],
            data: m.transpose().as_slice().to_vec(),
        }
    }

    /// The matrix with entry `(r, c)` equal to `[r, c]`; `None` unless the
    /// array is 2-D.
    #[must_use]
    pub fn to_matrix(&self) -> Option<DMatrix<T>> {
        match self.shape[..] {
            [rows, cols] => Some(DMatrix::from_row_slice(rows, cols, &self.data)),
            _ => None,
        }
    }

    /// The array converted element-wise to another scalar type
    /// (`arr.astype(..)`, rounding to nearest).
    #[must_use]
    pub fn cast<U: Real>(&self) -> NdArray<U> {
        NdArray {
            shape: self.shape.clone(),
            data: self.data.iter().map(|x| U::cast(x.to_f64())).collect(),
        }
    }

    /// numpy's shape tuple: `"(5, 10)"`, `"(5,)"`, `"()"`.
    #[must_use]
    pub fn shape_string(&self) -> String {
        shape_tuple(&self.shape)
    }

    /// The largest absolute element-wise difference, computed in `f64`
    /// (`0.0` for empty arrays); `None` when the shapes differ.
    ///
    /// A NaN difference (a NaN element, or infinities of the same sign)
    /// makes the result NaN, so that a comparison against a tolerance fails.
    #[must_use]
    pub fn max_abs_diff(&self, other: &NdArray<T>) -> Option<f64> {
        if self.shape != other.shape {
            return None;
        }
        let diffs = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a.to_f64() - b.to_f64()).abs());
        Some(diffs.fold(0.0, |max, d| if d > max || d.is_nan() { d } else { max }))
    }
}

impl<T: Real> fmt::Display for NdArray<T> {
    /// numpy's `str(arr)` with the default print options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printing::array_str(&self.shape, &self.data))
    }
}

/// The number of elements of an array of this shape, `None` on overflow.
fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// numpy's repr of a shape tuple.
fn shape_tuple(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Whether `T` is `f32` (numpy's `float32`); everything else is treated as
/// `float64`.
fn is_f32<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<f32>()
}

/// A minimal arbitrary-precision unsigned integer, enough for Dragon4.
mod bigint {
    use std::cmp::Ordering;

    /// An unsigned integer in little-endian 32-bit limbs, without high zero
    /// limbs (zero has no limbs).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(super) struct BigUint {
        limbs: Vec<u32>,
    }

    impl BigUint {
        /// The value `v`.
        pub(super) fn from_u64(v: u64) -> Self {
            let mut b = BigUint {
                limbs: vec![v as u32, (v >> 32) as u32],
            };
            b.normalize();
            b
        }

        /// The value `2^exp`.
        pub(super) fn pow2(exp: u32) -> Self {
            let mut b = Self::from_u64(1);
            b.shl(exp);
            b
        }

        fn normalize(&mut self) {
            while self.limbs.last() == Some(&0) {
                self.limbs.pop();
            }
        }

        /// Multiplies by `2^bits`.
        pub(super) fn shl(&mut self, bits: u32) {
            if self.limbs.is_empty() {
                return;
            }
            let shift = bits % 32;
            if shift != 0 {
                let mut carry = 0u32;
                for limb in &mut self.limbs {
                    let wide = (u64::from(*limb) << shift) | u64::from(carry);
                    *limb = wide as u32;
                    carry = (wide >> 32) as u32;
                }
                if carry != 0 {
                    self.limbs.push(carry);
                }
            }
            let whole = (bits / 32) as usize;
            self.limbs.splice(0..0, std::iter::repeat_n(0, whole));
        }

        /// Multiplies by a small factor.
        pub(super) fn mul_small(&mut self, factor: u32) {
            let mut carry = 0u64;
            for limb in &mut self.limbs {
                let wide = u64::from(*limb) * u64::from(factor) + carry;
                *limb = wide as u32;
                carry = wide >> 32;
            }
            if carry != 0 {
                self.limbs.push(carry as u32);
            }
            self.normalize();
        }

        /// Multiplies by `10^exp`.
        pub(super) fn mul_pow10(&mut self, exp: u32) {
            let mut left = exp;
            while left >= 9 {
                self.mul_small(1_000_000_000);
                left -= 9;
            }
            self.mul_small(10u32.pow(left));
        }

        /// `self + other`.
        pub(super) fn add(&self, other: &Self) -> Self {
            let (long, short) = if self.limbs.len() >= other.limbs.len() {
                (self, other)
            } else {
                (other, self)
            };
            let mut limbs = Vec::with_capacity(long.limbs.len() + 1);
            let mut carry = 0u64;
            for (i, &a) in long.limbs.iter().enumerate() {
                let b = short.limbs.get(i).copied().unwrap_or(0);
                let wide = u64::from(a) + u64::from(b) + carry;
                limbs.push(wide as u32);
                carry = wide >> 32;
            }
            if carry != 0 {
                limbs.push(carry as u32);
            }
            BigUint { limbs }
        }

        /// `self -= other`, which must not exceed `self`.
        fn sub_assign(&mut self, other: &Self) {
            debug_assert!(*self >= *other);
            let mut borrow = 0i64;
            for (i, limb) in self.limbs.iter_mut().enumerate() {
                let b = other.limbs.get(i).copied().unwrap_or(0);
                let mut wide = i64::from(*limb) - i64::from(b) - borrow;
                borrow = i64::from(wide < 0);
                wide += borrow << 32;
                *limb = wide as u32;
            }
            self.normalize();
        }

        /// Replaces `self` by `self % divisor` and returns the quotient,
        /// which the caller guarantees to be small (a decimal digit).
        pub(super) fn div_rem_small(&mut self, divisor: &Self) -> u32 {
            let mut quotient = 0;
            while *self >= *divisor {
                self.sub_assign(divisor);
                quotient += 1;
            }
            quotient
        }
    }

    impl Ord for BigUint {
        fn cmp(&self, other: &Self) -> Ordering {
            self.limbs
                .len()
                .cmp(&other.limbs.len())
                .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
        }
    }

    impl PartialOrd for BigUint {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn arithmetic_matches_u128() {
            let mut a = BigUint::from_u64(0xdead_beef_1234_5678);
            a.shl(37);
            let expected = 0xdead_beef_1234_5678u128 << 37;
            assert_eq!(a, from_u128(expected));
            a.mul_small(10);
            assert_eq!(a, from_u128(expected * 10));
            let b = BigUint::pow2(100);
            assert_eq!(a.add(&b), from_u128(expected * 10 + (1 << 100)));
            assert!(b < a);
            let mut c = from_u128(7 * (1u128 << 90) + 12345);
            assert_eq!(c.div_rem_small(&BigUint::pow2(90)), 7);
            assert_eq!(c, BigUint::from_u64(12345));
            let mut p = BigUint::from_u64(3);
            p.mul_pow10(20);
            assert_eq!(p, from_u128(3 * 10u128.pow(20)));
            let mut z = BigUint::from_u64(0);
            z.shl(5);
            z.mul_small(10);
            assert_eq!(z, BigUint::from_u64(0));
        }

        fn from_u128(v: u128) -> BigUint {
            let mut b = BigUint::from_u64((v >> 64) as u64);
            b.shl(64);
            b.add(&BigUint::from_u64(v as u64))
        }
    }
}

/// A port of numpy's Dragon4 (`numpy/_core/src/multiarray/dragon4.c`, Ryan
/// Juckett's implementation with numpy's changes): exact, shortest
/// round-trip digit generation with optional cutoffs, and numpy's
/// positional and scientific formatting around it.
mod dragon4 {
    use std::cmp::Ordering;

    use super::bigint::BigUint;

    /// A finite float as `mantissa · 2^exponent`, with what Dragon4 needs to
    /// know about its neighbours.
    #[derive(Clone, Copy, Debug)]
    pub(super) struct FloatParts {
        negative: bool,
        mantissa: u64,
        exponent: i32,
        /// Index of the highest set bit of `mantissa`.
        mantissa_bit: u32,
        /// The gap to the next float above is twice the gap below (a power
        /// of two that is not the smallest normal).
        unequal_margins: bool,
    }

    /// A float split into its kind and parts.
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Decoded {
        Nan,
        Infinite { negative: bool },
        Finite(FloatParts),
    }

    /// Decodes an IEEE binary64 value.
    pub(super) fn decode_f64(x: f64) -> Decoded {
        decode_ieee(x.to_bits(), 52, 11)
    }

    /// Decodes an IEEE binary32 value (its neighbours are `f32`s, so the
    /// shortest digits are those of the `f32`).
    pub(super) fn decode_f32(x: f32) -> Decoded {
        decode_ieee(u64::from(x.to_bits()), 23, 8)
    }

    fn decode_ieee(bits: u64, mantissa_bits: u32, exponent_bits: u32) -> Decoded {
        let fraction = bits & ((1u64 << mantissa_bits) - 1);
        let biased = ((bits >> mantissa_bits) & ((1u64 << exponent_bits) - 1)) as i32;
        let negative = (bits >> (mantissa_bits + exponent_bits)) & 1 == 1;
        let bias = (1i32 << (exponent_bits - 1)) - 1;
        let shift = mantissa_bits as i32;
        if biased == (1i32 << exponent_bits) - 1 {
            return if fraction == 0 {
                Decoded::Infinite { negative }
            } else {
                Decoded::Nan
            };
        }
        let parts = if biased != 0 {
            FloatParts {
                negative,
                mantissa: (1u64 << mantissa_bits) | fraction,
                exponent: biased - bias - shift,
                mantissa_bit: mantissa_bits,
                unequal_margins: biased != 1 && fraction == 0,
            }
        } else {
            FloatParts {
                negative,
                mantissa: fraction,
                exponent: 1 - bias - shift,
                mantissa_bit: fraction.checked_ilog2().unwrap_or(0),
                unequal_margins: false,
            }
        };
        Decoded::Finite(parts)
    }

    /// What a digit cutoff counts.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Cutoff {
        /// Significant digits.
        TotalLength,
        /// Digits after the decimal point.
        FractionLength,
    }

    /// numpy's trim modes (the `trim` argument of
    /// `np.format_float_positional`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Trim {
        /// `'k'`: keep trailing zeros and the decimal point.
        Keep,
        /// `'.'`: trim trailing zeros, keep the decimal point.
        Zeros,
        /// `'0'`: trim trailing zeros but leave one after the point.
        LeaveOneZero,
        /// `'-'`: trim trailing zeros and the decimal point.
        DotAndZeros,
    }

    /// Decimal digits `d0 d1 d2 ..` of the value `d0.d1d2.. · 10^exponent`.
    struct Digits {
        digits: String,
        exponent: i32,
    }

    /// numpy's output buffer bound on the number of digits.
    const MAX_DIGITS: i32 = 16384;

    /// The value and its half-gaps to the neighbouring floats, all scaled
    /// to integers: `value / scale` is the number being printed (scaled by
    /// a power of ten), `margin_low / scale` half the gap below.
    struct Scaled {
        value: BigUint,
        scale: BigUint,
        margin_low: BigUint,
        unequal_margins: bool,
    }

    impl Scaled {
        fn new(p: &FloatParts) -> Self {
            // One extra factor of 2 (4 with unequal margins) keeps the
            // half-gap margins integral.
            let extra = if p.unequal_margins { 2 } else { 1 };
            let mut value = BigUint::from_u64(p.mantissa);
            let (scale, margin_low) = if p.exponent > 0 {
                value.shl(p.exponent.unsigned_abs() + extra);
                (
                    BigUint::pow2(extra),
                    BigUint::pow2(p.exponent.unsigned_abs()),
                )
            } else {
                value.shl(extra);
                (
                    BigUint::pow2(p.exponent.unsigned_abs() + extra),
                    BigUint::from_u64(1),
                )
            };
            Scaled {
                value,
                scale,
                margin_low,
                unequal_margins: p.unequal_margins,
            }
        }

        fn margin_high(&self) -> BigUint {
            let mut high = self.margin_low.clone();
            if self.unequal_margins {
                high.mul_small(2);
            }
            high
        }

        fn times_ten(&mut self) {
            self.value.mul_small(10);
            self.margin_low.mul_small(10);
        }
    }

    /// numpy's `Dragon4` in unique digit mode: the shortest digits that
    /// round-trip, but stopping at the `cutoff_max` digit and going on to at
    /// least the `cutoff_min` digit; the last digit is rounded on the exact
    /// binary value (ties to even).
    fn dragon4(
        p: &FloatParts,
        cutoff: Cutoff,
        cutoff_max: Option<i32>,
        cutoff_min: Option<i32>,
    ) -> Digits {
        if p.mantissa == 0 {
            return Digits {
                digits: "0".to_owned(),
                exponent: 0,
            };
        }
        let mut s = Scaled::new(p);
        // An estimate of floor(log10(v)) + 1 that is exact or one too low.
        let estimate = f64::from(p.mantissa_bit as i32 + p.exponent) * std::f64::consts::LOG10_2;
        let mut digit_exponent = (estimate - 0.69).ceil() as i32;
        if let (Some(max), Cutoff::FractionLength) = (cutoff_max, cutoff) {
            digit_exponent = digit_exponent.max(1 - max);
        }
        if digit_exponent > 0 {
            s.scale.mul_pow10(digit_exponent.unsigned_abs());
        } else {
            s.value.mul_pow10(digit_exponent.unsigned_abs());
            s.margin_low.mul_pow10(digit_exponent.unsigned_abs());
        }
        if s.value >= s.scale {
            digit_exponent += 1;
        } else {
            s.times_ten();
        }
        let limit = |n: i32| match cutoff {
            Cutoff::TotalLength => digit_exponent - n,
            Cutoff::FractionLength => -n,
        };
        let max_exponent = cutoff_max.map_or(digit_exponent - MAX_DIGITS, |n| {
            limit(n).max(digit_exponent - MAX_DIGITS)
        });
        let min_exponent = cutoff_min.map_or(digit_exponent, |n| limit(n).min(digit_exponent));
        let first_exponent = digit_exponent - 1;
        generate_digits(
            s,
            p.mantissa.is_multiple_of(2),
            digit_exponent,
            max_exponent,
            min_exponent,
        )
        .finish(first_exponent)
    }

    /// The digits generated before the last one, and what decides how the
    /// last one is rounded.
    struct Generated {
        digits: String,
        last: u8,
        round_down: bool,
    }

    fn generate_digits(
        mut s: Scaled,
        is_even: bool,
        mut digit_exponent: i32,
        max_exponent: i32,
        min_exponent: i32,
    ) -> Generated {
        let mut digits = String::new();
        let (last, low, high) = loop {
            digit_exponent -= 1;
            let digit = s.value.div_rem_small(&s.scale) as u8;
            let value_high = s.value.add(&s.margin_high());
            let (low_cmp, high_cmp) = (s.value.cmp(&s.margin_low), value_high.cmp(&s.scale));
            let low = low_cmp.is_lt() || (is_even && low_cmp.is_eq());
            let high = high_cmp.is_gt() || (is_even && high_cmp.is_eq());
            if ((low || high) && digit_exponent <= min_exponent) || digit_exponent == max_exponent {
                break (digit, low, high);
            }
            digits.push(decimal_digit(digit));
            s.times_ten();
        };
        let round_down = if low == high {
            let mut twice = s.value;
            twice.mul_small(2);
            match twice.cmp(&s.scale) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => last.is_multiple_of(2),
            }
        } else {
            low
        };
        Generated {
            digits,
            last,
            round_down,
        }
    }

    impl Generated {
        /// Appends the rounded last digit, carrying into earlier digits.
        fn finish(self, first_exponent: i32) -> Digits {
            let Generated {
                mut digits,
                last,
                round_down,
            } = self;
            let mut exponent = first_exponent;
            if round_down {
                digits.push(decimal_digit(last));
            } else if last < 9 {
                digits.push(decimal_digit(last + 1));
            } else {
                // Carry: drop the trailing nines and bump the digit before.
                let kept = digits.trim_end_matches('9').len();
                digits.truncate(kept);
                match digits.pop().and_then(|d| d.to_digit(10)) {
                    Some(d) => digits.push(decimal_digit(d as u8 + 1)),
                    None => {
                        digits.push('1');
                        exponent += 1;
                    }
                }
            }
            Digits { digits, exponent }
        }
    }

    /// The character of a decimal digit value `0..=9`.
    fn decimal_digit(d: u8) -> char {
        char::from(b'0' + d)
    }

    /// Options of numpy's `dragon4_positional` (unique digit mode).
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Positional {
        pub cutoff: Cutoff,
        pub precision: Option<i32>,
        pub min_digits: Option<i32>,
        pub trim: Trim,
        pub pad_left: Option<usize>,
        pub pad_right: Option<usize>,
    }

    /// numpy's `FormatPositional`: `ddd.ddd` with sign, trimming and
    /// padding.
    pub(super) fn format_positional(p: &FloatParts, o: &Positional) -> String {
        let Digits { digits, exponent } = dragon4(p, o.cutoff, o.precision, o.min_digits);
        let mut out = String::new();
        let (whole, mut frac) = place_point(&mut out, &digits, exponent);
        if o.trim != Trim::DotAndZeros && frac == 0 {
            out.push('.');
        }
        let add_digits = o.min_digits.unwrap_or(-1);
        let desired = match o.cutoff {
            Cutoff::FractionLength => add_digits.max(0),
            Cutoff::TotalLength => add_digits - whole as i32,
        };
        match o.trim {
            Trim::LeaveOneZero if frac == 0 => {
                out.push('0');
                frac = 1;
            }
            Trim::Keep if desired > frac as i32 => {
                push_n(&mut out, '0', desired as usize - frac);
                frac = desired as usize;
            }
            _ => {}
        }
        if o.trim != Trim::Keep && frac > 0 {
            frac = trim_zeros(&mut out, frac, o.trim);
        }
        if let Some(right) = o.pad_right.filter(|&r| r >= frac) {
            if o.trim == Trim::DotAndZeros && frac == 0 {
                out.push(' ');
            }
            push_n(&mut out, ' ', right - frac);
        }
        let left_chars = whole + usize::from(p.negative);
        let pad = o.pad_left.map_or(0, |l| l.saturating_sub(left_chars));
        format!("{}{}{out}", " ".repeat(pad), sign(p))
    }

    /// Writes the digits with a decimal point where `exponent` puts it
    /// (no point when there are no fractional digits); returns the number
    /// of whole and of fractional digits.
    fn place_point(out: &mut String, text: &str, exponent: i32) -> (usize, usize) {
        if exponent >= 0 {
            let whole = exponent.unsigned_abs() as usize + 1;
            if text.len() <= whole {
                out.push_str(text);
                push_n(out, '0', whole - text.len());
                (whole, 0)
            } else {
                let (int, fraction) = text.split_at(whole);
                out.push_str(int);
                out.push('.');
                out.push_str(fraction);
                (whole, fraction.len())
            }
        } else {
            let zeros = (exponent + 1).unsigned_abs() as usize;
            out.push_str("0.");
            push_n(out, '0', zeros);
            out.push_str(text);
            (1, zeros + text.len())
        }
    }

    /// Removes trailing fractional zeros per `trim`; returns the number of
    /// fractional digits left.
    fn trim_zeros(out: &mut String, mut frac: usize, trim: Trim) -> usize {
        while out.ends_with('0') {
            out.pop();
            frac -= 1;
        }
        if out.ends_with('.') {
            match trim {
                Trim::LeaveOneZero => {
                    out.push('0');
                    frac += 1;
                }
                Trim::DotAndZeros => {
                    out.pop();
                }
                Trim::Keep | Trim::Zeros => {}
            }
        }
        frac
    }

    /// Options of numpy's `dragon4_scientific` (unique digit mode).
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Scientific {
        pub precision: Option<i32>,
        pub min_digits: Option<i32>,
        pub trim: Trim,
        pub pad_left: Option<usize>,
        pub exp_digits: Option<usize>,
    }

    /// numpy's `FormatScientific`: `d.ddde+XX` with sign, trimming and
    /// padding.
    pub(super) fn format_scientific(p: &FloatParts, o: &Scientific) -> String {
        let plus_one = |n: i32| n + 1;
        let Digits { digits, exponent } = dragon4(
            p,
            Cutoff::TotalLength,
            o.precision.map(plus_one),
            o.min_digits.map(plus_one),
        );
        let text = digits.as_str();
        let left_chars = 1 + usize::from(p.negative);
        let pad = o.pad_left.map_or(0, |l| l.saturating_sub(left_chars));
        let mut out = format!("{}{}", " ".repeat(pad), sign(p));
        let (first, fraction) = text.split_at(1.min(text.len()));
        out.push_str(first);
        let mut frac = fraction.len();
        if frac > 0 {
            out.push('.');
            out.push_str(fraction);
        } else if o.trim != Trim::DotAndZeros {
            out.push('.');
        }
        let add_digits = o.min_digits.unwrap_or(0).max(0) as usize;
        match o.trim {
            Trim::LeaveOneZero if frac == 0 => {
                out.push('0');
                frac = 1;
            }
            Trim::Keep if add_digits > frac => push_n(&mut out, '0', add_digits - frac),
            _ => {}
        }
        if o.trim != Trim::Keep && frac > 0 {
            trim_zeros_scientific(&mut out, o.trim);
        }
        let width = o.exp_digits.unwrap_or(2).min(5);
        let exp_sign = if exponent >= 0 { '+' } else { '-' };
        format!("{out}e{exp_sign}{:0width$}", exponent.unsigned_abs())
    }

    /// The scientific variant of trimming: numpy never drops the point
    /// here once fractional digits were printed.
    fn trim_zeros_scientific(out: &mut String, trim: Trim) {
        while out.ends_with('0') {
            out.pop();
        }
        if trim == Trim::LeaveOneZero && out.ends_with('.') {
            out.push('0');
        }
    }

    fn sign(p: &FloatParts) -> &'static str {
        if p.negative { "-" } else { "" }
    }

    fn push_n(out: &mut String, c: char, n: usize) {
        out.extend(std::iter::repeat_n(c, n));
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn parts(x: f64) -> FloatParts {
            match decode_f64(x) {
                Decoded::Finite(p) => p,
                other => panic!("{x} is not finite: {other:?}"),
            }
        }

        fn parts32(x: f32) -> FloatParts {
            match decode_f32(x) {
                Decoded::Finite(p) => p,
                other => panic!("{x} is not finite: {other:?}"),
            }
        }

        /// np.format_float_positional(x, precision=.., unique=True,
        /// fractional=.., trim=..)
        fn positional(
            p: &FloatParts,
            precision: Option<i32>,
            cutoff: Cutoff,
            trim: Trim,
        ) -> String {
            let options = Positional {
                cutoff,
                precision,
                min_digits: None,
                trim,
                pad_left: None,
                pad_right: None,
            };
            format_positional(p, &options)
        }

        fn scientific(p: &FloatParts, precision: Option<i32>, trim: Trim) -> String {
            let options = Scientific {
                precision,
                min_digits: None,
                trim,
                pad_left: None,
                exp_digits: None,
            };
            format_scientific(p, &options)
        }

        #[test]
        fn shortest_round_trip_digits() {
            // np.format_float_positional(x, trim='-')
            let cases: [(f64, &str); 9] = [
                (0.1, "0.1"),
                (0.3, "0.3"),
                (0.1 + 0.2, "0.30000000000000004"),
                (1e23, "100000000000000000000000"),
                (1.0 / 3.0, "0.3333333333333333"),
                (123456789.0, "123456789"),
                (2f64.powi(-20), "0.00000095367431640625"),
                (2f64.powi(70), "1180591620717411300000"),
                (0.0, "0"),
            ];
            for (x, expected) in cases {
                let got = positional(&parts(x), None, Cutoff::FractionLength, Trim::DotAndZeros);
                assert_eq!(got, expected, "{x:e}");
            }
            // the smallest subnormal: 323 zeros after the point, then 5
            let tiny = positional(
                &parts(5e-324),
                None,
                Cutoff::FractionLength,
                Trim::DotAndZeros,
            );
            assert_eq!(tiny, format!("0.{}5", "0".repeat(323)));
        }

        #[test]
        fn f32_uses_f32_neighbours() {
            // np.format_float_positional(np.float32(x), trim='-')
            assert_eq!(
                positional(
                    &parts32(0.1),
                    None,
                    Cutoff::FractionLength,
                    Trim::DotAndZeros
                ),
                "0.1"
            );
            assert_eq!(
                positional(
                    &parts32(16777216.0),
                    None,
                    Cutoff::FractionLength,
                    Trim::DotAndZeros
                ),
                "16777216"
            );
            // np.format_float_scientific(np.float32(2**-149))
            assert_eq!(
                scientific(&parts32(f32::from_bits(1)), None, Trim::Keep),
                "1.e-45"
            );
            // np.format_float_scientific(np.float32(3.4028235e38))
            assert_eq!(
                scientific(&parts32(f32::MAX), None, Trim::Keep),
                "3.4028235e+38"
            );
        }

        #[test]
        fn cutoff_rounds_the_exact_binary_value() {
            // np.format_float_positional(x, precision=8, trim='.'): 2**-9 = 0.001953125
            // exactly, a tie, rounded to even; 0.123456785 is really
            // 0.12345678499999999..., rounded down although its shortest
            // string ends in 5; 0.0000000051 rounds up to the last place.
            let cases: [(f64, &str); 7] = [
                (0.001953125, "0.00195312"),
                (0.005859375, "0.00585938"),
                (0.123456785, "0.12345678"),
                (0.999999995, "1."),
                (0.99999999, "0.99999999"),
                (0.9999999951, "1."),
                (5.1e-9, "0.00000001"),
            ];
            for (x, expected) in cases {
                let got = positional(&parts(x), Some(8), Cutoff::FractionLength, Trim::Zeros);
                assert_eq!(got, expected, "{x:e}");
            }
            // np.format_float_positional(1e-10, precision=8, trim='.')
            assert_eq!(
                positional(&parts(1e-10), Some(8), Cutoff::FractionLength, Trim::Zeros),
                "0."
            );
        }

        #[test]
        fn scientific_forms() {
            // np.format_float_scientific(x, precision=8, trim=..)
            assert_eq!(scientific(&parts(1.5e-5), Some(8), Trim::Zeros), "1.5e-05");
            assert_eq!(scientific(&parts(-1e100), Some(8), Trim::Zeros), "-1.e+100");
            assert_eq!(scientific(&parts(1e16), None, Trim::DotAndZeros), "1e+16");
            assert_eq!(
                scientific(&parts(9.9999999996e-5), Some(8), Trim::Zeros),
                "1.e-04"
            );
            assert_eq!(
                scientific(&parts(1.2345678949e-7), Some(8), Trim::Keep),
                "1.23456789e-07"
            );
            assert_eq!(scientific(&parts(0.0), Some(8), Trim::Zeros), "0.e+00");
            let options = Scientific {
                precision: Some(4),
                min_digits: Some(4),
                trim: Trim::Keep,
                pad_left: Some(2),
                exp_digits: Some(3),
            };
            assert_eq!(format_scientific(&parts(0.1), &options), " 1.0000e-001");
        }

        #[test]
        fn min_digits_prints_exact_digits_of_f32() {
            // np.format_float_scientific(np.float32(0.1), precision=8,
            // min_digits=8, trim='k')
            let options = Scientific {
                precision: Some(8),
                min_digits: Some(8),
                trim: Trim::Keep,
                pad_left: None,
                exp_digits: None,
            };
            assert_eq!(format_scientific(&parts32(0.1), &options), "1.00000001e-01");
        }

        #[test]
        fn positional_padding() {
            // np.format_float_positional(-0.5, precision=8, min_digits=0,
            // pad_left=3, pad_right=4)
            let options = Positional {
                cutoff: Cutoff::FractionLength,
                precision: Some(8),
                min_digits: Some(0),
                trim: Trim::Zeros,
                pad_left: Some(3),
                pad_right: Some(4),
            };
            assert_eq!(format_positional(&parts(-0.5), &options), " -0.5   ");
            assert_eq!(format_positional(&parts(18.0), &options), " 18.    ");
            assert_eq!(format_positional(&parts(-0.0), &options), " -0.    ");
        }

        #[test]
        fn decode_special_values() {
            assert!(matches!(decode_f64(f64::NAN), Decoded::Nan));
            assert!(matches!(
                decode_f64(f64::NEG_INFINITY),
                Decoded::Infinite { negative: true }
            ));
            assert!(matches!(
                decode_f32(f32::INFINITY),
                Decoded::Infinite { negative: false }
            ));
            let p = parts(1.0);
            assert!(p.unequal_margins);
            assert_eq!((p.mantissa, p.exponent), (1 << 52, -52));
            let sub = parts(f64::from_bits(6));
            assert_eq!((sub.mantissa, sub.mantissa_bit), (6, 2));
            assert!(!sub.unequal_margins);
        }
    }
}

/// numpy's `array2string` / `FloatingFormat` logic for float arrays, with
/// the default print options.
mod printing {
    use super::dragon4::{
        Cutoff, Decoded, FloatParts, Positional, Scientific, Trim, decode_f32, decode_f64,
        format_positional, format_scientific,
    };
    use super::{Real, is_f32};

    /// `precision` print option.
    const PRECISION: i32 = 8;
    /// `linewidth` print option.
    const LINE_WIDTH: i64 = 75;
    /// `threshold` print option: larger arrays are summarised.
    const THRESHOLD: usize = 1000;
    /// `edgeitems` print option.
    const EDGE_ITEMS: usize = 3;
    /// What stands for the elided items of a summarised axis.
    const SUMMARY: &str = "...";

    fn decode<T: Real>(x: T) -> Decoded {
        if is_f32::<T>() {
            decode_f32(x.to_f64() as f32)
        } else {
            decode_f64(x.to_f64())
        }
    }

    /// numpy's `str(arr)` for an array of this shape and C-order data.
    pub(super) fn array_str<T: Real>(shape: &[usize], data: &[T]) -> String {
        if shape.is_empty() {
            return data.first().map_or_else(String::new, |&x| scalar_str(x));
        }
        if data.is_empty() {
            return "[]".to_owned();
        }
        let printer = Printer::new(shape, data);
        printer.recurse(0, 0, " ", LINE_WIDTH)
    }

    /// `str` of a numpy float scalar (for `float64` the same as Python's
    /// `repr(float)`): shortest round-trip digits, positional for zero and
    /// `1e-4 <= |x| < M`, scientific otherwise, where `M` is `1e16` for
    /// float64 and `1e6` for float32.
    pub(super) fn scalar_str<T: Real>(x: T) -> String {
        let parts = match decode(x) {
            Decoded::Nan => return "nan".to_owned(),
            Decoded::Infinite { negative } => return non_finite(negative).to_owned(),
            Decoded::Finite(parts) => parts,
        };
        let magnitude = x.to_f64().abs();
        let max_positional = if is_f32::<T>() { 1e6 } else { 1e16 };
        if magnitude == 0.0 || (1e-4..max_positional).contains(&magnitude) {
            let options = Positional {
                cutoff: Cutoff::TotalLength,
                precision: None,
                min_digits: None,
                trim: Trim::LeaveOneZero,
                pad_left: None,
                pad_right: None,
            };
            format_positional(&parts, &options)
        } else {
            let options = Scientific {
                precision: None,
                min_digits: None,
                trim: Trim::DotAndZeros,
                pad_left: None,
                exp_digits: None,
            };
            format_scientific(&parts, &options)
        }
    }

    fn non_finite(negative: bool) -> &'static str {
        if negative { "-inf" } else { "inf" }
    }

    /// numpy's `FloatingFormat` with `floatmode='maxprec'`,
    /// `suppress=False`, `sign='-'`: one notation and one padding for all
    /// the elements printed.
    #[derive(Debug)]
    struct FloatFormat {
        notation: Notation,
        pad_left: usize,
        pad_right: usize,
    }

    #[derive(Debug)]
    enum Notation {
        Positional,
        Scientific { precision: i32, exp_digits: usize },
    }

    impl FloatFormat {
        /// `FloatingFormat.fillFormat`: the notation and padding for the
        /// elements that will be printed.
        fn new<T: Real>(values: &[T]) -> Self {
            let finite: Vec<T> = values
                .iter()
                .copied()
                .filter(|x| x.to_f64().is_finite())
                .collect();
            let mut format = if finite.is_empty() {
                FloatFormat {
                    notation: Notation::Positional,
                    pad_left: 0,
                    pad_right: 0,
                }
            } else if needs_scientific(&finite) {
                Self::scientific(&finite)
            } else {
                Self::positional(&finite)
            };
            if finite.len() != values.len() {
                let neg_inf = values.iter().any(|x| x.to_f64() == f64::NEG_INFINITY);
                let offset = format.pad_right + 1;
                let needed = 3 + usize::from(neg_inf);
                format.pad_left = format.pad_left.max(needed.saturating_sub(offset));
            }
            format
        }

        fn positional<T: Real>(finite: &[T]) -> Self {
            let options = Positional {
                cutoff: Cutoff::FractionLength,
                precision: Some(PRECISION),
                min_digits: None,
                trim: Trim::Zeros,
                pad_left: None,
                pad_right: None,
            };
            let (mut pad_left, mut pad_right) = (0, 0);
            for parts in finite.iter().filter_map(|&x| finite_parts(x)) {
                let text = format_positional(&parts, &options);
                let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
                pad_left = pad_left.max(int.len());
                pad_right = pad_right.max(frac.len());
            }
            FloatFormat {
                notation: Notation::Positional,
                pad_left,
                pad_right,
            }
        }

        fn scientific<T: Real>(finite: &[T]) -> Self {
            let options = Scientific {
                precision: Some(PRECISION),
                min_digits: None,
                trim: Trim::Zeros,
                pad_left: None,
                exp_digits: None,
            };
            let (mut pad_left, mut precision, mut exp_digits) = (0, 0, 0);
            for parts in finite.iter().filter_map(|&x| finite_parts(x)) {
                let text = format_scientific(&parts, &options);
                let (mantissa, exp) = text.split_once('e').unwrap_or((&text, ""));
                let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
                pad_left = pad_left.max(int.len());
                precision = precision.max(frac.len());
                exp_digits = exp_digits.max(exp.len().saturating_sub(1));
            }
            FloatFormat {
                notation: Notation::Scientific {
                    precision: i32::try_from(precision).unwrap_or(i32::MAX),
                    exp_digits,
                },
                pad_left,
                pad_right: exp_digits + 2 + precision,
            }
        }

        /// `FloatingFormat.__call__`: one element, padded.
        fn format<T: Real>(&self, x: T) -> String {
            let parts = match decode(x) {
                Decoded::Nan => return self.pad_non_finite("nan"),
                Decoded::Infinite { negative } => {
                    return self.pad_non_finite(non_finite(negative));
                }
                Decoded::Finite(parts) => parts,
            };
            match self.notation {
                Notation::Positional => {
                    let options = Positional {
                        cutoff: Cutoff::FractionLength,
                        precision: Some(PRECISION),
                        min_digits: Some(0),
                        trim: Trim::Zeros,
                        pad_left: Some(self.pad_left),
                        pad_right: Some(self.pad_right),
                    };
                    format_positional(&parts, &options)
                }
                Notation::Scientific {
                    precision,
                    exp_digits,
                } => {
                    let options = Scientific {
                        precision: Some(precision),
                        min_digits: Some(precision),
                        trim: Trim::Keep,
                        pad_left: Some(self.pad_left),
                        exp_digits: Some(exp_digits),
                    };
                    format_scientific(&parts, &options)
                }
            }
        }

        fn pad_non_finite(&self, text: &str) -> String {
            let width = self.pad_left + self.pad_right + 1;
            format!("{text:>width$}")
        }
    }

    fn finite_parts<T: Real>(x: T) -> Option<FloatParts> {
        match decode(x) {
            Decoded::Finite(parts) => Some(parts),
            Decoded::Nan | Decoded::Infinite { .. } => None,
        }
    }

    /// numpy's choice of scientific notation, made in the array's dtype:
    /// the largest magnitude reaches `10^min(8, finfo.precision)` (1e8 for
    /// float64, 1e6 for float32), or the smallest nonzero one is below 1e-4,
    /// or their ratio exceeds 1000.
    fn needs_scientific<T: Real>(finite: &[T]) -> bool {
        let magnitudes = finite
            .iter()
            .map(|x| x.to_f64().abs())
            .filter(|&m| m != 0.0);
        let Some((min, max)) = magnitudes.fold(None, |acc: Option<(f64, f64)>, m| {
            Some(acc.map_or((m, m), |(lo, hi)| (lo.min(m), hi.max(m))))
        }) else {
            return false;
        };
        let cutoff_max = if is_f32::<T>() { 1e6 } else { 1e8 };
        let ratio = (T::cast(max) / T::cast(min)).to_f64();
        max >= cutoff_max || min < T::cast(1e-4).to_f64() || ratio > 1000.0
    }

    /// `_formatArray`: the recursive layout of nested brackets and lines.
    struct Printer<'a, T> {
        shape: &'a [usize],
        data: &'a [T],
        /// The element stride of each axis.
        strides: Vec<usize>,
        summarise: bool,
        format: FloatFormat,
    }

    impl<'a, T: Real> Printer<'a, T> {
        fn new(shape: &'a [usize], data: &'a [T]) -> Self {
            let mut strides = vec![1; shape.len()];
            for axis in (0..shape.len().saturating_sub(1)).rev() {
                strides[axis] = strides[axis + 1] * shape[axis + 1];
            }
            let mut printer = Printer {
                shape,
                data,
                strides,
                summarise: data.len() > THRESHOLD,
                format: FloatFormat {
                    notation: Notation::Positional,
                    pad_left: 0,
                    pad_right: 0,
                },
            };
            let mut shown = Vec::new();
            printer.collect_shown(0, 0, &mut shown);
            printer.format = FloatFormat::new(&shown);
            printer
        }

        /// The indices printed along an axis of length `len`: all of them,
        /// or when summarising the edge items around a `None` for `...`.
        fn items(&self, len: usize) -> Vec<Option<usize>> {
            if self.summarise && 2 * EDGE_ITEMS < len {
                let head = (0..EDGE_ITEMS).map(Some);
                let tail = (len - EDGE_ITEMS..len).map(Some);
                head.chain(std::iter::once(None)).chain(tail).collect()
            } else {
                (0..len).map(Some).collect()
            }
        }

        /// The elements that will be printed (numpy's `_leading_trailing`),
        /// which alone decide the format.
        fn collect_shown(&self, axis: usize, offset: usize, out: &mut Vec<T>) {
            if axis == self.shape.len() {
                out.extend(self.data.get(offset).copied());
                return;
            }
            for i in self.items(self.shape[axis]).into_iter().flatten() {
                self.collect_shown(axis + 1, offset + i * self.strides[axis], out);
            }
        }

        fn recurse(&self, axis: usize, offset: usize, indent: &str, width: i64) -> String {
            if axis == self.shape.len() {
                return self
                    .data
                    .get(offset)
                    .map_or_else(String::new, |&x| self.format.format(x));
            }
            let next_indent = format!("{indent} ");
            let items = self.items(self.shape[axis]);
            let word = |item: Option<usize>| match item {
                Some(i) => self.recurse(
                    axis + 1,
                    offset + i * self.strides[axis],
                    &next_indent,
                    width - 1,
                ),
                None => SUMMARY.to_owned(),
            };
            let body = if axis + 1 == self.shape.len() {
                let mut text = String::new();
                let mut line = indent.to_owned();
                for (k, &item) in items.iter().enumerate() {
                    extend_line(&mut text, &mut line, &word(item), width - 1, indent);
                    if k + 1 < items.len() {
                        line.push(' ');
                    }
                }
                text + &line
            } else {
                let separator = "\n".repeat(self.shape.len() - axis - 1);
                let rows: Vec<String> = items
                    .iter()
                    .map(|&item| format!("{indent}{}", word(item)))
                    .collect();
                rows.join(&separator)
            };
            format!("[{}]", &body[indent.len()..])
        }
    }

    /// `_extendLine`: appends `word` to `line`, first moving `line` into
    /// `text` when the word would pass `width` (unless the line is empty).
    fn extend_line(text: &mut String, line: &mut String, word: &str, width: i64, indent: &str) {
        let too_long = (line.len() + word.len()) as i64 > width;
        if too_long && line.len() > indent.len() {
            text.push_str(line.trim_end());
            text.push('\n');
            indent.clone_into(line);
        }
        line.push_str(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRng;

    /// Which `np.random` function drew an array.
    #[derive(Clone, Copy, Debug)]
    enum Draw {
        Randn,
        Rand,
        Uniform,
    }

    /// `np.random.seed(seed); draw(*shape) * scale`.
    fn drawn(seed: u32, draw: Draw, shape: &[usize], scale: f64) -> NdArray<f64> {
        let mut rng = NumpyRng::new(seed);
        let a = match draw {
            Draw::Randn => rng.randn(shape),
            Draw::Rand => rng.rand(shape),
            Draw::Uniform => rng.uniform(-1.0, 1.0, shape),
        };
        let data = a.data().iter().map(|x| x * scale).collect();
        NdArray::new(shape.to_vec(), data).expect("same shape")
    }

    fn array<T: Real>(shape: &[usize], values: &[f64]) -> NdArray<T> {
        let data = values.iter().map(|&v| T::cast(v)).collect();
        NdArray::new(shape.to_vec(), data).expect("shape matches the values")
    }

    #[test]
    fn course_rows_print_like_numpy() {
        // np.random.seed(1); the RNN cell forward test of the sequence-models
        // course: print(a_next[4]) and print(yt_pred[1])
        let a_next_4 = [
            0.5958454361396669,
            0.18141801524270917,
            0.6131186601837866,
            0.9980821836482744,
            0.8501620098759239,
            0.999809777363631,
            -0.18887155412988774,
            0.9981555128490937,
            0.6531150966861294,
            0.8287203739542315,
        ];
        let yt_pred_1 = [
            0.9888161020372671,
            0.016820210750325786,
            0.21140898750443415,
            0.36817466810650507,
            0.989883869701484,
            0.8894521151515654,
            0.3692022383155003,
            0.9966312028640354,
            0.9982559002073211,
            0.17746526245711977,
        ];
        assert_eq!(
            array::<f64>(&[10], &a_next_4).to_string(),
            "[ 0.59584544  0.18141802  0.61311866  0.99808218  0.85016201  0.99980978\n \
             -0.18887155  0.99815551  0.6531151   0.82872037]"
        );
        assert_eq!(
            array::<f64>(&[10], &yt_pred_1).to_string(),
            "[0.9888161  0.01682021 0.21140899 0.36817467 0.98988387 0.88945212\n \
             0.36920224 0.9966312  0.9982559  0.17746526]"
        );
    }

    #[test]
    fn drawn_float64_arrays_print_like_numpy() {
        for &(seed, draw, shape, scale, expected) in DRAWN_F64 {
            let a = drawn(seed, draw, shape, scale);
            assert_eq!(
                a.to_string(),
                expected,
                "seed {seed}, {draw:?}{shape:?} * {scale}"
            );
        }
    }

    #[test]
    fn drawn_float32_arrays_print_like_numpy() {
        for &(seed, draw, shape, scale, expected) in DRAWN_F32 {
            let a = drawn(seed, draw, shape, scale).cast::<f32>();
            assert_eq!(
                a.to_string(),
                expected,
                "seed {seed}, {draw:?}{shape:?} * {scale}"
            );
        }
    }

    #[test]
    fn literal_float64_arrays_print_like_numpy() {
        for &(shape, values, expected) in LITERAL_F64 {
            let a = array::<f64>(shape, values);
            assert_eq!(a.to_string(), expected, "{values:?}");
        }
    }

    #[test]
    fn literal_float32_arrays_print_like_numpy() {
        for &(shape, values, expected) in LITERAL_F32 {
            let a = array::<f32>(shape, values);
            assert_eq!(a.to_string(), expected, "{values:?}");
        }
    }

    #[test]
    fn zero_d_arrays_print_as_scalars() {
        for &(x, expected) in ZERO_D_F64 {
            assert_eq!(NdArray::scalar(x).to_string(), expected, "{x:e}");
        }
        for &(x, expected) in ZERO_D_F32 {
            let a = NdArray::scalar(<f32 as Real>::cast(x));
            assert_eq!(a.to_string(), expected, "{x:e}");
        }
    }

    #[test]
    fn empty_arrays_print_as_brackets() {
        // str(np.zeros(0)), str(np.zeros((2, 0))), str(np.zeros((0, 3, 2)))
        for shape in [vec![0], vec![2, 0], vec![0, 3, 2]] {
            assert_eq!(NdArray::<f64>::zeros(shape).to_string(), "[]");
        }
    }

    #[test]
    fn summarising_starts_above_1000_elements() {
        let full = NumpyRng::new(1).rand(&[1000]).to_string();
        assert!(!full.contains("..."));
        assert_eq!(full.matches('.').count(), 1000);
        let summarised = NumpyRng::new(1).rand(&[1001]).to_string();
        assert_eq!(summarised.matches("...").count(), 1);
    }

    #[test]
    fn new_checks_the_length() {
        let err = NdArray::new(vec![2, 3], vec![0.0f64; 5]).unwrap_err();
        assert_eq!(err.shape(), &[2, 3]);
        assert_eq!(err.data_len(), 5);
        assert_eq!(
            err.to_string(),
            "an array of shape (2, 3) holds 6 elements, but the data has 5"
        );
        let huge = NdArray::<f32>::new(vec![usize::MAX, 2], vec![]).unwrap_err();
        assert_eq!(
            huge.to_string(),
            format!(
                "an array of shape ({}, 2) holds more than usize::MAX elements, but the data has 0",
                usize::MAX
            )
        );
        assert!(NdArray::new(vec![], vec![1.0f64]).is_ok());
        assert!(NdArray::new(vec![0, 7], Vec::<f64>::new()).is_ok());
    }

    #[test]
    fn constructors_and_accessors() {
        let z = NdArray::<f64>::zeros(vec![2, 3]);
        assert_eq!(z.shape(), &[2, 3]);
        assert_eq!(z.ndim(), 2);
        assert_eq!(z.data(), &[0.0; 6]);
        let s = NdArray::scalar(2.5f32);
        assert_eq!((s.ndim(), s.shape_string()), (0, "()".to_owned()));
        assert_eq!(s.get(&[]), Some(2.5));
        assert_eq!(s.to_string(), "2.5");
    }

    #[test]
    fn get_and_at_index_in_c_order() {
        let a = array::<f64>(&[2, 3, 4], &(0..24).map(f64::from).collect::<Vec<_>>());
        assert_eq!(a.get(&[1, 2, 3]), Some(23.0));
        assert_eq!(a.get(&[0, 1, 2]), Some(6.0));
        assert_eq!(a.get(&[1, 2]), None);
        assert_eq!(a.get(&[2, 0, 0]), None);
        assert_eq!(a.get(&[0, 0, 4]), None);
        let row = a.at(&[1, 2]).expect("in bounds");
        assert_eq!(row.shape(), &[4]);
        assert_eq!(row.data(), &[20.0, 21.0, 22.0, 23.0]);
        // print(np.arange(24.).reshape(2, 3, 4)[1][2])
        assert_eq!(row.to_string(), "[20. 21. 22. 23.]");
        let block = a.at(&[0]).expect("in bounds");
        assert_eq!(block.shape_string(), "(3, 4)");
        assert_eq!(block.get(&[2, 1]), Some(9.0));
        let item = a.at(&[1, 0, 1]).expect("in bounds");
        assert_eq!(
            (item.shape_string(), item.to_string()),
            ("()".to_owned(), "13.0".to_owned())
        );
        assert_eq!(a.at(&[]), Some(a.clone()));
        assert_eq!(a.at(&[2]), None);
        assert_eq!(a.at(&[0, 0, 0, 0]), None);
        let empty = NdArray::<f64>::zeros(vec![3, 0]);
        assert_eq!(
            empty.at(&[2]).map(|r| r.shape_string()),
            Some("(0,)".to_owned())
        );
    }

    #[test]
    fn shape_strings_are_numpy_tuples() {
        assert_eq!(NdArray::<f64>::zeros(vec![5, 10]).shape_string(), "(5, 10)");
        assert_eq!(NdArray::<f64>::zeros(vec![5]).shape_string(), "(5,)");
        assert_eq!(
            NdArray::<f64>::zeros(vec![2, 3, 4]).shape_string(),
            "(2, 3, 4)"
        );
        assert_eq!(NdArray::scalar(1.0f64).shape_string(), "()");
    }

    #[test]
    fn matrices_round_trip_by_row_and_column() {
        let m = DMatrix::from_row_slice(2, 3, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let a = NdArray::from_matrix(&m);
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(a.get(&[1, 0]), Some(m[(1, 0)]));
        assert_eq!(a.to_matrix(), Some(m));
        assert_eq!(NdArray::<f64>::zeros(vec![6]).to_matrix(), None);
        let empty = NdArray::from_matrix(&DMatrix::<f32>::zeros(0, 4));
        assert_eq!(empty.shape(), &[0, 4]);
        assert_eq!(empty.to_matrix().map(|m| m.shape()), Some((0, 4)));
    }

    #[test]
    fn cast_rounds_to_nearest() {
        let a = array::<f64>(&[3], &[0.1, 1e300, -2.5]);
        let b = a.cast::<f32>();
        assert_eq!(b.data(), &[0.1f32, f32::INFINITY, -2.5]);
        assert_eq!(b.cast::<f64>().data()[0], f64::from(0.1f32));
    }

    #[test]
    fn max_abs_diff_compares_same_shapes() {
        let a = array::<f64>(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let b = array::<f64>(&[2, 2], &[1.0, 2.5, 2.0, 4.0]);
        assert_eq!(a.max_abs_diff(&b), Some(1.0));
        assert_eq!(a.max_abs_diff(&a), Some(0.0));
        assert_eq!(a.max_abs_diff(&array(&[4], &[1.0, 2.0, 3.0, 4.0])), None);
        let nan = array::<f64>(&[2, 2], &[1.0, f64::NAN, 3.0, 9.0]);
        assert!(a.max_abs_diff(&nan).is_some_and(f64::is_nan));
        let empty = NdArray::<f32>::zeros(vec![0]);
        assert_eq!(empty.max_abs_diff(&empty), Some(0.0));
    }

    /// `np.random.seed(seed); a = draw(*shape) * scale` (`uniform` is
    /// `uniform(-1, 1, shape)`), printed with `print(a.astype(np.float64))`.
    const DRAWN_F64: &[(u32, Draw, &[usize], f64, &str)] = &[
        (
            1,
            Draw::Randn,
            &[10],
            1.0,
            r#"[ 1.62434536 -0.61175641 -0.52817175 -1.07296862  0.86540763 -2.3015387
  1.74481176 -0.7612069   0.3190391  -0.24937038]"#,
        ),
        (
            2,
            Draw::Randn,
            &[4],
            1.0,
            "[-0.41675785 -0.05626683 -2.1361961   1.64027081]",
        ),
        (
            3,
            Draw::Rand,
            &[7],
            1.0,
            r#"[0.5507979  0.70814782 0.29090474 0.51082761 0.89294695 0.89629309
 0.12558531]"#,
        ),
        (
            4,
            Draw::Randn,
            &[2, 10],
            1.0,
            r#"[[ 0.05056171  0.49995133 -0.99590893  0.69359851 -0.41830152 -1.58457724
  -0.64770677  0.59857517  0.33225003 -1.14747663]
 [ 0.61866969 -0.08798693  0.4250724   0.33225315 -1.15681626  0.35099715
  -0.60688728  1.54697933  0.72334161  0.04613557]]"#,
        ),
        (
            5,
            Draw::Randn,
            &[3, 10, 4],
            1.0,
            r#"[[[ 0.44122749 -0.33087015  2.43077119 -0.25209213]
  [ 0.10960984  1.58248112 -0.9092324  -0.59163666]
  [ 0.18760323 -0.32986996 -1.19276461 -0.20487651]
  [-0.35882895  0.6034716  -1.66478853 -0.70017904]
  [ 1.15139101  1.85733101 -1.51117956  0.64484751]
  [-0.98060789 -0.85685315 -0.87187918 -0.42250793]
  [ 0.99643983  0.71242127  0.05914424 -0.36331088]
  [ 0.00328884 -0.10593044  0.79305332 -0.63157163]
  [-0.00619491 -0.10106761 -0.05230815  0.24921766]
  [ 0.19766009  1.33484857 -0.08687561  1.56153229]]

 [[-0.30585302 -0.47773142  0.10073819  0.35543847]
  [ 0.26961241  1.29196338  1.13934298  0.4944404 ]
  [-0.33633626 -0.10061435  1.41339802  0.22125412]
  [-1.31077313 -0.68956523 -0.57751323  1.15220477]
  [-0.10716398  2.26010677  0.65661947  0.12480683]
  [-0.43570392  0.97217931 -0.24071114 -0.82412345]
  [ 0.56813272  0.01275832  1.18906073 -0.07359332]
  [-2.85968797  0.7893664  -1.87774088  1.53875615]
  [ 1.82136474 -0.42703139 -1.16470191 -1.39707402]
  [ 0.87265462 -0.20211818 -0.59835993 -0.2434197 ]]

 [[ 2.08851469  0.34691933  0.74572695  0.77690759]
  [ 1.01842113  1.06135144 -0.71046645 -0.2151878 ]
  [-0.76076031 -0.71116323  1.14150774 -0.50175555]
  [-0.07915136 -0.69282634 -0.59340277  0.78823794]
  [-0.44542999 -0.48212019  0.49355766  0.50048733]
  [ 0.79242262  0.17076445 -1.75374086  0.63029648]
  [ 0.49832921  1.01813761 -0.84646862  2.52080763]
  [-1.23238611  0.72695326  0.04595522 -0.48713265]
  [ 0.81613236 -0.28143012 -2.33562182 -1.16727845]
  [ 0.45765807  2.23796561 -1.4812592  -0.01694532]]]"#,
        ),
        (
            6,
            Draw::Randn,
            &[5, 10],
            0.01,
            r#"[[-0.00311784  0.00729004  0.00217821 -0.00899092 -0.02486781  0.00913252
   0.01127064 -0.01514093  0.01639291 -0.00429894]
 [ 0.02631281  0.00601822 -0.00335882  0.01237738  0.00111128  0.00129151
   0.00076128 -0.00155128  0.00634225  0.00810655]
 [ 0.00354809  0.0181259  -0.01356476 -0.00463632  0.00824654 -0.01176431
   0.0156449   0.00712705 -0.00181007  0.005342  ]
 [-0.00586613 -0.01481853  0.00857248  0.00943099  0.00114441 -0.00021957
  -0.02127145 -0.00834407 -0.00465508  0.00233711]
 [ 0.01385035 -0.00519627 -0.00780152  0.0095561  -0.00126736 -0.01368613
   0.01218481 -0.00857501 -0.00561471 -0.0103352 ]]"#,
        ),
        (
            7,
            Draw::Rand,
            &[6],
            0.01,
            "[0.00076308 0.00779919 0.00438409 0.00723465 0.0097799  0.00538496]",
        ),
        (
            8,
            Draw::Randn,
            &[4, 3],
            100000.0,
            r#"[[   9120.47166198  109128.27332721 -194697.03090225]
 [-138634.95322369 -229649.15742022  240983.43033415]
 [ 172783.61685799  220455.62845561   79482.76393484]
 [  97642.10964009 -118342.7147333   191636.36105355]]"#,
        ),
        (
            9,
            Draw::Randn,
            &[2, 3, 4, 2],
            1.0,
            r#"[[[[ 1.10855471e-03 -2.89544069e-01]
   [-1.11606630e+00 -1.28827567e-02]
   [-3.78361464e-01 -4.81135363e-01]
   [-1.51733118e+00 -4.90871981e-01]]

  [[-2.40680579e-01 -6.47947460e-01]
   [ 6.35891080e-01  1.74011731e+00]
   [ 2.96682218e-01  7.07503662e-01]
   [ 1.82281576e+00  4.30769029e-01]]

  [[ 1.54272963e+00 -9.00721171e-01]
   [-1.37125010e-01  1.29757901e+00]
   [ 6.75271167e-01  3.19581170e-02]
   [ 9.18145896e-01  3.80509466e-01]]]


 [[[ 5.16367487e-01 -3.55239458e-01]
   [ 2.08777001e-01  3.28411076e-01]
   [-4.98224766e-01 -2.09177677e+00]
   [-8.25877406e-02  2.45518265e+00]]

  [[-2.67211000e+00 -9.13279281e-01]
   [-2.27314357e-01  2.69315377e-01]
   [ 1.13046126e+00  1.04239745e+00]
   [ 1.30381044e+00  1.38940073e+00]]

  [[-6.56452578e-01 -5.62572959e-02]
   [-4.99902620e-01  4.36419381e-01]
   [-3.75813047e-01 -9.23061583e-01]
   [ 1.91725024e+00 -1.50302842e-01]]]]"#,
        ),
        (
            10,
            Draw::Uniform,
            &[1, 8],
            1.0,
            r#"[[ 0.54264129 -0.9584961   0.26729647  0.49760777 -0.00298598 -0.55040671
  -0.60387427  0.52106142]]"#,
        ),
        (11, Draw::Randn, &[1], 1.0, "[1.74945474]"),
        (
            12,
            Draw::Randn,
            &[2000],
            1.0,
            r#"[ 0.47298583 -0.68142588  0.2424395  ... -2.53963598  0.64579158
 -0.67732949]"#,
        ),
        (
            13,
            Draw::Randn,
            &[30, 40],
            1.0,
            r#"[[-0.71239066  0.75376638 -0.04450308 ... -1.51284512 -0.76403397
   0.10126979]
 [-0.31726597  1.13833305 -0.32212366 ...  0.56226171 -0.31485808
  -0.42989708]
 [ 0.81499544 -1.18541881 -0.76862702 ...  0.29202649  0.15420459
   0.81730552]
 ...
 [-0.1475791  -0.27969457 -1.43026132 ...  0.67165342  0.84371714
  -0.54767187]
 [-0.56621444 -1.11522435  0.4000445  ...  1.33203927  0.19486097
   0.19955829]
 [-1.27139186  1.46232544  0.36370748 ... -1.05217046  2.18026598
   0.47957193]]"#,
        ),
        (
            14,
            Draw::Randn,
            &[11, 11, 11],
            1.0,
            r#"[[[ 1.55133911e+00  7.91860246e-02  1.73976528e-01 ... -5.58205055e-01
    1.08452906e+00 -1.86289124e-01]
  [ 1.46613748e-02 -1.07556947e+00  6.42252074e-01 ... -1.89191235e+00
   -1.17212179e+00  8.36206971e-01]
  [ 1.00927340e+00  1.29309936e+00 -5.49331166e-01 ... -1.34912615e+00
   -2.08217846e-01  1.32654029e+00]
  ...
  [-7.00994239e-01 -1.47115075e+00  2.61185660e-01 ...  1.48476884e+00
   -5.10662814e-01 -4.48218895e-01]
  [-2.32991332e+00 -3.93439235e-01 -6.38763699e-01 ...  3.59729023e-01
    5.43116125e-01 -8.46900858e-02]
  [ 7.66011049e-02 -1.40515031e+00 -1.55623431e+00 ... -9.00440661e-01
    1.02800912e+00 -6.49062011e-01]]

 [[-6.23691491e-01 -3.46724568e-02  3.55037893e-01 ...  1.39840060e+00
   -1.69022981e+00 -4.18498577e-02]
  [-6.31930113e-01  1.55539238e-01 -8.51906756e-01 ...  6.19435182e-01
    2.13719501e+00 -8.93948638e-01]
  [-1.10864242e+00 -2.07335594e+00 -9.58431113e-01 ... -9.15153964e-03
   -2.51136972e-01 -1.50977594e+00]
  ...
  [ 5.23654081e-01 -1.27031447e-01  1.22381773e+00 ... -1.42057913e+00
   -3.35147276e+00 -1.16830366e+00]
  [-4.88842654e-01 -2.02028668e+00 -7.78618300e-01 ... -1.45702922e+00
    1.52554305e-01  3.45404269e-01]
  [-1.83719367e-01 -3.43662787e-01 -1.00436015e+00 ... -4.95363735e-01
    1.88786557e-01 -6.85503047e-01]]

 [[ 2.94568768e-01 -1.97347122e+00  1.18829843e+00 ... -4.32244598e-01
    1.32655178e+00 -2.22684519e-01]
  [ 9.49766260e-01 -3.90452780e-02 -9.21021233e-01 ...  3.15916046e-02
    6.51254131e-01  1.20947431e+00]
  [-1.42672237e+00 -9.32954870e-01 -2.01471867e+00 ...  1.19539292e-02
    2.01709093e-01  6.79976075e-01]
  ...
  [-1.14284578e+00  6.41793854e-01  9.96096106e-01 ...  4.39286569e-01
   -1.93338101e-02  8.62357413e-01]
  [-6.13081764e-01 -1.02302824e-01 -2.33277253e-02 ... -1.13930744e+00
    1.19587937e+00  7.72872407e-01]
  [-1.79361895e+00 -2.69647092e-02 -1.59625947e+00 ...  1.40837986e+00
    3.27606677e-01 -3.97941033e-01]]

 ...

 [[ 1.25620267e+00  4.87426328e-02 -2.89985568e-01 ... -1.37514757e+00
   -7.07605399e-01  1.26155508e-01]
  [-1.18193907e+00  7.84219304e-01  1.94684220e+00 ...  5.71819710e-01
    5.42628538e-01 -3.46922094e-01]
  [ 8.76964575e-01  7.02547997e-01  1.07744358e+00 ... -3.89178895e-01
    1.94189397e+00  6.95707136e-01]
  ...
  [ 6.14058327e-01  9.27852334e-01  1.72406115e-01 ...  7.74397410e-01
    3.32076196e-01  1.18166407e+00]
  [ 1.20770823e-01  1.32336664e+00 -1.35418685e-01 ... -7.04188366e-01
    9.32793175e-01 -1.31043023e+00]
  [ 7.39022788e-01  1.05946766e+00 -4.56778321e-01 ...  2.45958624e+00
    2.31318141e-02 -1.09094546e+00]]

 [[ 5.39224510e-01 -1.13429260e+00 -2.14794289e+00 ...  1.17207382e+00
    7.50477474e-01 -1.27399623e+00]
  [ 8.58149625e-01 -4.14091833e-01 -1.61948013e+00 ...  7.66570448e-01
   -4.05427036e-01 -4.62639629e-01]
  [ 5.53451092e-01  7.64198319e-02  9.32109161e-01 ...  2.29248951e+00
    3.41529525e-01 -4.94159844e-01]
  ...
  [ 1.08867953e+00 -4.56317857e-01  7.06649909e-01 ... -1.34723418e+00
   -7.65159369e-01  1.48452249e-01]
  [-1.87186597e+00 -1.89774627e+00 -1.84567570e+00 ... -1.51055178e-01
    9.73751999e-01 -5.89197043e-02]
  [-2.22115916e-01 -5.26112811e-01 -1.47736887e-01 ...  1.13982575e-01
   -1.19881597e+00  5.18665738e-01]]

 [[-4.30252807e-01  5.54616473e-01  3.35665923e-01 ...  4.13089533e-01
    1.07569926e-01 -1.26639100e+00]
  [-3.05418685e-01  1.43900887e+00  4.73483547e-01 ... -1.28568206e+00
    1.74858938e+00 -1.18726682e+00]
  [-2.95879008e-01  4.85094761e-01  1.48204478e-01 ...  8.70654095e-01
   -9.50166241e-02 -2.50123326e-01]
  ...
  [-1.72209635e+00  6.28251055e-01  9.92017101e-01 ...  4.81726112e-01
   -6.76629780e-01  1.30416981e+00]
  [ 6.31244170e-01  4.15197679e-01 -7.74328590e-01 ... -1.29550758e+00
   -9.24089711e-02  9.93106976e-01]
  [ 6.00387132e-01 -5.08516693e-01  2.38649035e-01 ...  1.44325045e-03
   -5.97988612e-01 -1.85357130e-01]]]"#,
        ),
        (
            15,
            Draw::Rand,
            &[3, 5],
            1000.0,
            r#"[[848.81769727 178.89592492  54.36321431 361.53844609 275.40092861]
 [530.0002249  305.91891574 304.47435915 111.74127618 249.89901388]
 [917.62989784 264.14685325 717.77368747 865.71503419 807.07948225]]"#,
        ),
        (
            16,
            Draw::Randn,
            &[6, 2],
            0.001,
            r#"[[ 1.27948721e-04 -1.52847346e-03]
 [-5.94467980e-04  6.63303737e-05]
 [-1.23549487e-03 -6.21368608e-04]
 [-8.88947799e-04  4.98909856e-04]
 [-7.86897102e-04  1.18743564e-04]
 [-7.56863136e-04  4.93366909e-04]]"#,
        ),
        (
            17,
            Draw::Randn,
            &[4, 4],
            123.0,
            r#"[[  33.98070447 -228.11925369   76.73983669  140.87328862]
 [ 127.57442759  232.05658836  -13.73888969  -44.53846462]
 [  18.28703054  -53.84732776  267.06461069  141.73416083]
 [-223.71391773  -16.98006892   66.4002725  -218.35972131]]"#,
        ),
        (
            18,
            Draw::Rand,
            &[20],
            1.0,
            r#"[0.65037424 0.50545337 0.87860147 0.18184023 0.85223307 0.75013629
 0.66610167 0.98789545 0.25696842 0.02830593 0.63571912 0.84731239
 0.73617463 0.02080711 0.11160313 0.29772374 0.68697019 0.86162606
 0.19863436 0.65718903]"#,
        ),
    ];

    /// `np.random.seed(seed); a = draw(*shape) * scale` (`uniform` is
    /// `uniform(-1, 1, shape)`), printed with `print(a.astype(np.float32))`.
    const DRAWN_F32: &[(u32, Draw, &[usize], f64, &str)] = &[
        (
            1,
            Draw::Randn,
            &[10],
            1.0,
            r#"[ 1.6243454  -0.6117564  -0.5281718  -1.0729686   0.86540765 -2.3015387
  1.7448118  -0.7612069   0.3190391  -0.24937038]"#,
        ),
        (
            2,
            Draw::Randn,
            &[4],
            1.0,
            "[-0.41675785 -0.05626683 -2.1361961   1.6402708 ]",
        ),
        (
            3,
            Draw::Rand,
            &[7],
            1.0,
            r#"[0.5507979  0.7081478  0.29090473 0.5108276  0.89294696 0.8962931
 0.12558532]"#,
        ),
        (
            4,
            Draw::Randn,
            &[2, 10],
            1.0,
            r#"[[ 0.05056171  0.49995133 -0.9959089   0.6935985  -0.41830152 -1.5845772
  -0.64770675  0.5985752   0.33225003 -1.1474767 ]
 [ 0.6186697  -0.08798693  0.4250724   0.33225316 -1.1568162   0.35099715
  -0.6068873   1.5469793   0.7233416   0.04613557]]"#,
        ),
        (
            5,
            Draw::Randn,
            &[3, 10, 4],
            1.0,
            r#"[[[ 0.4412275  -0.33087015  2.430771   -0.25209212]
  [ 0.10960984  1.5824811  -0.9092324  -0.59163666]
  [ 0.18760322 -0.32986996 -1.1927646  -0.20487651]
  [-0.35882896  0.6034716  -1.6647885  -0.70017904]
  [ 1.151391    1.857331   -1.5111796   0.6448475 ]
  [-0.98060787 -0.8568531  -0.87187916 -0.42250794]
  [ 0.9964398   0.7124213   0.05914424 -0.36331087]
  [ 0.00328884 -0.10593044  0.7930533  -0.63157165]
  [-0.00619491 -0.10106761 -0.05230815  0.24921766]
  [ 0.19766009  1.3348485  -0.0868756   1.5615323 ]]

 [[-0.305853   -0.4777314   0.10073819  0.35543847]
  [ 0.2696124   1.2919633   1.139343    0.4944404 ]
  [-0.33633626 -0.10061435  1.413398    0.22125413]
  [-1.3107731  -0.68956524 -0.5775132   1.1522048 ]
  [-0.10716399  2.2601068   0.6566195   0.12480683]
  [-0.43570393  0.9721793  -0.24071114 -0.82412344]
  [ 0.5681327   0.01275832  1.1890607  -0.07359332]
  [-2.859688    0.7893664  -1.8777409   1.5387561 ]
  [ 1.8213648  -0.4270314  -1.1647019  -1.397074  ]
  [ 0.8726546  -0.20211817 -0.59835994 -0.2434197 ]]

 [[ 2.0885148   0.34691933  0.74572694  0.77690756]
  [ 1.0184212   1.0613514  -0.71046644 -0.2151878 ]
  [-0.7607603  -0.7111632   1.1415077  -0.50175554]
  [-0.07915136 -0.69282633 -0.59340274  0.7882379 ]
  [-0.44542998 -0.4821202   0.49355766  0.5004873 ]
  [ 0.7924226   0.17076445 -1.7537409   0.63029647]
  [ 0.49832922  1.0181376  -0.8464686   2.5208077 ]
  [-1.2323861   0.72695327  0.04595523 -0.48713264]
  [ 0.81613237 -0.28143013 -2.3356218  -1.1672784 ]
  [ 0.45765808  2.2379656  -1.4812592  -0.01694532]]]"#,
        ),
        (
            6,
            Draw::Randn,
            &[5, 10],
            0.01,
            r#"[[-0.00311784  0.00729004  0.00217821 -0.00899092 -0.02486781  0.00913252
   0.01127064 -0.01514093  0.01639291 -0.00429894]
 [ 0.02631281  0.00601822 -0.00335882  0.01237738  0.00111128  0.00129151
   0.00076128 -0.00155128  0.00634225  0.00810655]
 [ 0.00354809  0.0181259  -0.01356476 -0.00463632  0.00824654 -0.01176431
   0.0156449   0.00712705 -0.00181007  0.005342  ]
 [-0.00586613 -0.01481853  0.00857248  0.00943099  0.00114441 -0.00021957
  -0.02127144 -0.00834407 -0.00465508  0.00233711]
 [ 0.01385035 -0.00519627 -0.00780152  0.0095561  -0.00126736 -0.01368613
   0.01218481 -0.00857501 -0.00561471 -0.0103352 ]]"#,
        ),
        (
            7,
            Draw::Rand,
            &[6],
            0.01,
            "[0.00076308 0.00779919 0.00438409 0.00723465 0.00977989 0.00538496]",
        ),
        (
            8,
            Draw::Randn,
            &[4, 3],
            100000.0,
            r#"[[   9120.472  109128.27  -194697.03 ]
 [-138634.95  -229649.16   240983.44 ]
 [ 172783.61   220455.62    79482.766]
 [  97642.11  -118342.71   191636.36 ]]"#,
        ),
        (
            9,
            Draw::Randn,
            &[2, 3, 4, 2],
            1.0,
            r#"[[[[ 1.1085547e-03 -2.8954408e-01]
   [-1.1160663e+00 -1.2882757e-02]
   [-3.7836146e-01 -4.8113537e-01]
   [-1.5173311e+00 -4.9087200e-01]]

  [[-2.4068058e-01 -6.4794743e-01]
   [ 6.3589108e-01  1.7401173e+00]
   [ 2.9668221e-01  7.0750368e-01]
   [ 1.8228158e+00  4.3076903e-01]]

  [[ 1.5427296e+00 -9.0072119e-01]
   [-1.3712502e-01  1.2975791e+00]
   [ 6.7527115e-01  3.1958118e-02]
   [ 9.1814590e-01  3.8050947e-01]]]


 [[[ 5.1636750e-01 -3.5523945e-01]
   [ 2.0877700e-01  3.2841107e-01]
   [-4.9822477e-01 -2.0917768e+00]
   [-8.2587741e-02  2.4551826e+00]]

  [[-2.6721101e+00 -9.1327929e-01]
   [-2.2731435e-01  2.6931539e-01]
   [ 1.1304612e+00  1.0423975e+00]
   [ 1.3038105e+00  1.3894007e+00]]

  [[-6.5645260e-01 -5.6257296e-02]
   [-4.9990261e-01  4.3641937e-01]
   [-3.7581304e-01 -9.2306161e-01]
   [ 1.9172503e+00 -1.5030284e-01]]]]"#,
        ),
        (
            10,
            Draw::Uniform,
            &[1, 8],
            1.0,
            r#"[[ 0.5426413  -0.9584961   0.26729646  0.49760777 -0.00298598 -0.5504067
  -0.60387427  0.5210614 ]]"#,
        ),
        (11, Draw::Randn, &[1], 1.0, "[1.7494547]"),
        (
            12,
            Draw::Randn,
            &[2000],
            1.0,
            r#"[ 0.47298583 -0.68142587  0.2424395  ... -2.539636    0.6457916
 -0.6773295 ]"#,
        ),
        (
            13,
            Draw::Randn,
            &[30, 40],
            1.0,
            r#"[[-0.71239066  0.75376636 -0.04450308 ... -1.5128452  -0.764034
   0.10126979]
 [-0.31726596  1.1383331  -0.32212365 ...  0.5622617  -0.31485808
  -0.42989707]
 [ 0.81499547 -1.1854188  -0.76862705 ...  0.2920265   0.15420459
   0.8173055 ]
 ...
 [-0.14757909 -0.2796946  -1.4302614  ...  0.67165345  0.84371716
  -0.54767185]
 [-0.56621444 -1.1152244   0.4000445  ...  1.3320392   0.19486097
   0.19955829]
 [-1.2713919   1.4623255   0.36370748 ... -1.0521705   2.180266
   0.47957194]]"#,
        ),
        (
            14,
            Draw::Randn,
            &[11, 11, 11],
            1.0,
            r#"[[[ 1.55133915e+00  7.91860223e-02  1.73976526e-01 ... -5.58205068e-01
    1.08452904e+00 -1.86289117e-01]
  [ 1.46613745e-02 -1.07556951e+00  6.42252088e-01 ... -1.89191234e+00
   -1.17212176e+00  8.36206973e-01]
  [ 1.00927341e+00  1.29309940e+00 -5.49331188e-01 ... -1.34912610e+00
   -2.08217844e-01  1.32654023e+00]
  ...
  [-7.00994253e-01 -1.47115076e+00  2.61185646e-01 ...  1.48476887e+00
   -5.10662794e-01 -4.48218882e-01]
  [-2.32991338e+00 -3.93439233e-01 -6.38763726e-01 ...  3.59729022e-01
    5.43116152e-01 -8.46900865e-02]
  [ 7.66011029e-02 -1.40515029e+00 -1.55623436e+00 ... -9.00440633e-01
    1.02800918e+00 -6.49062037e-01]]

 [[-6.23691499e-01 -3.46724577e-02  3.55037898e-01 ...  1.39840066e+00
   -1.69022977e+00 -4.18498591e-02]
  [-6.31930113e-01  1.55539244e-01 -8.51906776e-01 ...  6.19435191e-01
    2.13719511e+00 -8.93948615e-01]
  [-1.10864246e+00 -2.07335591e+00 -9.58431125e-01 ... -9.15153977e-03
   -2.51136959e-01 -1.50977588e+00]
  ...
  [ 5.23654103e-01 -1.27031446e-01  1.22381771e+00 ... -1.42057908e+00
   -3.35147285e+00 -1.16830361e+00]
  [-4.88842666e-01 -2.02028680e+00 -7.78618276e-01 ... -1.45702922e+00
    1.52554303e-01  3.45404267e-01]
  [-1.83719367e-01 -3.43662798e-01 -1.00436020e+00 ... -4.95363742e-01
    1.88786551e-01 -6.85503066e-01]]

 [[ 2.94568777e-01 -1.97347116e+00  1.18829846e+00 ... -4.32244599e-01
    1.32655180e+00 -2.22684518e-01]
  [ 9.49766278e-01 -3.90452780e-02 -9.21021223e-01 ...  3.15916054e-02
    6.51254117e-01  1.20947433e+00]
  [-1.42672241e+00 -9.32954848e-01 -2.01471877e+00 ...  1.19539294e-02
    2.01709092e-01  6.79976046e-01]
  ...
  [-1.14284575e+00  6.41793847e-01  9.96096134e-01 ...  4.39286560e-01
   -1.93338096e-02  8.62357438e-01]
  [-6.13081753e-01 -1.02302827e-01 -2.33277250e-02 ... -1.13930750e+00
    1.19587934e+00  7.72872388e-01]
  [-1.79361892e+00 -2.69647092e-02 -1.59625947e+00 ...  1.40837991e+00
    3.27606678e-01 -3.97941023e-01]]

 ...

 [[ 1.25620270e+00  4.87426333e-02 -2.89985567e-01 ... -1.37514758e+00
   -7.07605422e-01  1.26155511e-01]
  [-1.18193913e+00  7.84219325e-01  1.94684219e+00 ...  5.71819723e-01
    5.42628527e-01 -3.46922100e-01]
  [ 8.76964569e-01  7.02548027e-01  1.07744360e+00 ... -3.89178902e-01
    1.94189394e+00  6.95707142e-01]
  ...
  [ 6.14058316e-01  9.27852333e-01  1.72406122e-01 ...  7.74397433e-01
    3.32076192e-01  1.18166411e+00]
  [ 1.20770827e-01  1.32336664e+00 -1.35418683e-01 ... -7.04188347e-01
    9.32793200e-01 -1.31043029e+00]
  [ 7.39022791e-01  1.05946767e+00 -4.56778318e-01 ...  2.45958614e+00
    2.31318139e-02 -1.09094548e+00]]

 [[ 5.39224505e-01 -1.13429260e+00 -2.14794278e+00 ...  1.17207384e+00
    7.50477493e-01 -1.27399623e+00]
  [ 8.58149648e-01 -4.14091825e-01 -1.61948013e+00 ...  7.66570449e-01
   -4.05427039e-01 -4.62639630e-01]
  [ 5.53451121e-01  7.64198303e-02  9.32109177e-01 ...  2.29248953e+00
    3.41529518e-01 -4.94159847e-01]
  ...
  [ 1.08867955e+00 -4.56317872e-01  7.06649899e-01 ... -1.34723413e+00
   -7.65159369e-01  1.48452252e-01]
  [-1.87186599e+00 -1.89774632e+00 -1.84567571e+00 ... -1.51055172e-01
    9.73752022e-01 -5.89197055e-02]
  [-2.22115919e-01 -5.26112795e-01 -1.47736892e-01 ...  1.13982573e-01
   -1.19881594e+00  5.18665731e-01]]

 [[-4.30252820e-01  5.54616451e-01  3.35665911e-01 ...  4.13089544e-01
    1.07569925e-01 -1.26639104e+00]
  [-3.05418670e-01  1.43900883e+00  4.73483533e-01 ... -1.28568208e+00
    1.74858940e+00 -1.18726683e+00]
  [-2.95879006e-01  4.85094756e-01  1.48204476e-01 ...  8.70654106e-01
   -9.50166211e-02 -2.50123322e-01]
  ...
  [-1.72209632e+00  6.28251076e-01  9.92017090e-01 ...  4.81726110e-01
   -6.76629782e-01  1.30416977e+00]
  [ 6.31244183e-01  4.15197670e-01 -7.74328589e-01 ... -1.29550755e+00
   -9.24089700e-02  9.93106961e-01]
  [ 6.00387156e-01 -5.08516669e-01  2.38649040e-01 ...  1.44325045e-03
   -5.97988605e-01 -1.85357124e-01]]]"#,
        ),
        (
            15,
            Draw::Rand,
            &[3, 5],
            1000.0,
            r#"[[848.8177   178.89592   54.363213 361.53845  275.40094 ]
 [530.00024  305.9189   304.47437  111.74128  249.89902 ]
 [917.6299   264.14685  717.7737   865.715    807.07947 ]]"#,
        ),
        (
            16,
            Draw::Randn,
            &[6, 2],
            0.001,
            r#"[[ 1.2794872e-04 -1.5284735e-03]
 [-5.9446797e-04  6.6330373e-05]
 [-1.2354949e-03 -6.2136858e-04]
 [-8.8894780e-04  4.9890985e-04]
 [-7.8689709e-04  1.1874356e-04]
 [-7.5686316e-04  4.9336691e-04]]"#,
        ),
        (
            17,
            Draw::Randn,
            &[4, 4],
            123.0,
            r#"[[  33.980705 -228.11925    76.73984   140.87329 ]
 [ 127.574425  232.0566    -13.73889   -44.538464]
 [  18.287031  -53.84733   267.0646    141.73416 ]
 [-223.71391   -16.980068   66.400276 -218.35973 ]]"#,
        ),
        (
            18,
            Draw::Rand,
            &[20],
            1.0,
            r#"[0.65037423 0.50545335 0.8786015  0.18184023 0.85223305 0.7501363
 0.6661017  0.9878954  0.2569684  0.02830593 0.6357191  0.8473124
 0.73617464 0.02080711 0.11160313 0.29772374 0.6869702  0.861626
 0.19863436 0.657189  ]"#,
        ),
    ];

    /// `print(np.array(values, dtype=np.float64))`; the values are
    /// written as float64 literals and rounded to the dtype, as numpy does.
    const LITERAL_F64: &[(&[usize], &[f64], &str)] = &[
        (&[2], &[18.0, 5.0], "[18.  5.]"),
        (&[3], &[1.0, 2.0, 3.0], "[1. 2. 3.]"),
        (
            &[2, 2],
            &[1.0, 2.0, 3.0, 400.0],
            r#"[[  1.   2.]
 [  3. 400.]]"#,
        ),
        (&[2], &[-0.0, 1.5], "[-0.   1.5]"),
        (&[2], &[0.0, -0.0], "[ 0. -0.]"),
        (&[3], &[0.0, 0.0, 0.0], "[0. 0. 0.]"),
        (&[3], &[f64::NAN, 1.5, f64::INFINITY], "[nan 1.5 inf]"),
        (&[2], &[f64::NAN, f64::NEG_INFINITY], "[ nan -inf]"),
        (&[2], &[1e-05, f64::NAN], "[1.e-05    nan]"),
        (&[1], &[f64::NAN], "[nan]"),
        (
            &[3],
            &[f64::INFINITY, f64::NEG_INFINITY, f64::NAN],
            "[ inf -inf  nan]",
        ),
        (
            &[3],
            &[f64::NEG_INFINITY, 2.5e-05, 1.0],
            "[   -inf 2.5e-05 1.0e+00]",
        ),
        (
            &[2, 2],
            &[f64::NAN, 0.25, -1.0, f64::INFINITY],
            r#"[[  nan  0.25]
 [-1.     inf]]"#,
        ),
        (&[2], &[100000000.0, 1.0], "[1.e+08 1.e+00]"),
        (&[2], &[99999999.0, 1.0], "[9.9999999e+07 1.0000000e+00]"),
        (&[2], &[1e+100, -1.0], "[ 1.e+100 -1.e+000]"),
        (&[2], &[1e-300, 1.0], "[1.e-300 1.e+000]"),
        (&[2], &[0.1, 1e-05], "[1.e-01 1.e-05]"),
        (&[2], &[0.1, 1.2345e-05], "[1.0000e-01 1.2345e-05]"),
        (&[2], &[0.0, 1e-05], "[0.e+00 1.e-05]"),
        (&[2], &[1e+16, 2e+16], "[1.e+16 2.e+16]"),
        (&[2], &[0.0001, 0.05], "[0.0001 0.05  ]"),
        (&[2], &[9.9999e-05, 0.05], "[9.9999e-05 5.0000e-02]"),
        (&[2], &[0.001953125, 0.5], "[0.00195312 0.5       ]"),
        (
            &[3],
            &[0.0036921, 0.5, 12.25],
            "[3.6921e-03 5.0000e-01 1.2250e+01]",
        ),
        (&[3], &[-12.5, 0.125, 3.0], "[-12.5     0.125   3.   ]"),
        (&[2], &[0.999999999, 0.5], "[1.  0.5]"),
        (&[2], &[0.999999995, 0.123456785], "[1.         0.12345678]"),
        (
            &[3],
            &[-123.456, 0.001, 7.0],
            "[-1.23456e+02  1.00000e-03  7.00000e+00]",
        ),
        (&[2], &[1000000.0, 2000.0], "[1000000.    2000.]"),
        (&[2], &[5e-324, 1.0], "[5.e-324 1.e+000]"),
        (
            &[2],
            &[1.7976931348623157e+308, -2.2250738585072014e-308],
            "[ 1.79769313e+308 -2.22507386e-308]",
        ),
        (
            &[2],
            &[1234567.125, -0.5],
            "[ 1.23456712e+06 -5.00000000e-01]",
        ),
        (&[1], &[0.5], "[0.5]"),
        (&[1, 1, 1], &[1.5], "[[[1.5]]]"),
        (
            &[4],
            &[1.0, 10.0, 100.0, 1000.0],
            "[   1.   10.  100. 1000.]",
        ),
        (
            &[5],
            &[1.0, 10.0, 100.0, 1000.0, 10000.0],
            "[1.e+00 1.e+01 1.e+02 1.e+03 1.e+04]",
        ),
        (&[3], &[0.1, 0.2, 0.7], "[0.1 0.2 0.7]"),
        (
            &[3],
            &[0.1, 1.2345678e-05, 3.0000001],
            "[1.0000000e-01 1.2345678e-05 3.0000001e+00]",
        ),
        (
            &[3],
            &[0.1, 0.10000002384185791, 1.5e-05],
            "[1.00000000e-01 1.00000024e-01 1.50000000e-05]",
        ),
        (
            &[3],
            &[1.0, 0.10000002384185791, 1.5e-05],
            "[1.00000000e+00 1.00000024e-01 1.50000000e-05]",
        ),
        (&[2], &[16777217.0, 1.0], "[1.6777217e+07 1.0000000e+00]"),
    ];

    /// `print(np.array(values, dtype=np.float32))`; the values are
    /// written as float64 literals and rounded to the dtype, as numpy does.
    const LITERAL_F32: &[(&[usize], &[f64], &str)] = &[
        (&[2], &[18.0, 5.0], "[18.  5.]"),
        (&[3], &[1.0, 2.0, 3.0], "[1. 2. 3.]"),
        (
            &[2, 2],
            &[1.0, 2.0, 3.0, 400.0],
            r#"[[  1.   2.]
 [  3. 400.]]"#,
        ),
        (&[2], &[-0.0, 1.5], "[-0.   1.5]"),
        (&[2], &[0.0, -0.0], "[ 0. -0.]"),
        (&[3], &[0.0, 0.0, 0.0], "[0. 0. 0.]"),
        (&[3], &[f64::NAN, 1.5, f64::INFINITY], "[nan 1.5 inf]"),
        (&[2], &[f64::NAN, f64::NEG_INFINITY], "[ nan -inf]"),
        (&[2], &[1e-05, f64::NAN], "[1.e-05    nan]"),
        (&[1], &[f64::NAN], "[nan]"),
        (
            &[3],
            &[f64::INFINITY, f64::NEG_INFINITY, f64::NAN],
            "[ inf -inf  nan]",
        ),
        (
            &[3],
            &[f64::NEG_INFINITY, 2.5e-05, 1.0],
            "[   -inf 2.5e-05 1.0e+00]",
        ),
        (
            &[2, 2],
            &[f64::NAN, 0.25, -1.0, f64::INFINITY],
            r#"[[  nan  0.25]
 [-1.     inf]]"#,
        ),
        (&[2], &[100000000.0, 1.0], "[1.e+08 1.e+00]"),
        (&[2], &[99999999.0, 1.0], "[1.e+08 1.e+00]"),
        (&[2], &[1e+100, -1.0], "[inf -1.]"),
        (&[2], &[1e-300, 1.0], "[0. 1.]"),
        (&[2], &[0.1, 1e-05], "[1.e-01 1.e-05]"),
        (&[2], &[0.1, 1.2345e-05], "[1.0000e-01 1.2345e-05]"),
        (&[2], &[0.0, 1e-05], "[0.e+00 1.e-05]"),
        (&[2], &[1e+16, 2e+16], "[1.e+16 2.e+16]"),
        (&[2], &[0.0001, 0.05], "[0.0001 0.05  ]"),
        (&[2], &[9.9999e-05, 0.05], "[9.9999e-05 5.0000e-02]"),
        (&[2], &[0.001953125, 0.5], "[0.00195312 0.5       ]"),
        (
            &[3],
            &[0.0036921, 0.5, 12.25],
            "[3.6921e-03 5.0000e-01 1.2250e+01]",
        ),
        (&[3], &[-12.5, 0.125, 3.0], "[-12.5     0.125   3.   ]"),
        (&[2], &[0.999999999, 0.5], "[1.  0.5]"),
        (&[2], &[0.999999995, 0.123456785], "[1.         0.12345678]"),
        (
            &[3],
            &[-123.456, 0.001, 7.0],
            "[-1.23456e+02  1.00000e-03  7.00000e+00]",
        ),
        (&[2], &[1000000.0, 2000.0], "[1.e+06 2.e+03]"),
        (&[2], &[5e-324, 1.0], "[0. 1.]"),
        (
            &[2],
            &[1.7976931348623157e+308, -2.2250738585072014e-308],
            "[inf -0.]",
        ),
        (
            &[2],
            &[1234567.125, -0.5],
            "[ 1.2345671e+06 -5.0000000e-01]",
        ),
        (&[1], &[0.5], "[0.5]"),
        (&[1, 1, 1], &[1.5], "[[[1.5]]]"),
        (
            &[4],
            &[1.0, 10.0, 100.0, 1000.0],
            "[   1.   10.  100. 1000.]",
        ),
        (
            &[5],
            &[1.0, 10.0, 100.0, 1000.0, 10000.0],
            "[1.e+00 1.e+01 1.e+02 1.e+03 1.e+04]",
        ),
        (&[3], &[0.1, 0.2, 0.7], "[0.1 0.2 0.7]"),
        (
            &[3],
            &[0.1, 1.2345678e-05, 3.0000001],
            "[1.0000000e-01 1.2345678e-05 3.0000000e+00]",
        ),
        (
            &[3],
            &[0.1, 0.10000002384185791, 1.5e-05],
            "[1.00000001e-01 1.00000024e-01 1.49999996e-05]",
        ),
        (
            &[3],
            &[1.0, 0.10000002384185791, 1.5e-05],
            "[1.00000000e+00 1.00000024e-01 1.49999996e-05]",
        ),
        (&[2], &[16777217.0, 1.0], "[1.6777216e+07 1.0000000e+00]"),
    ];

    /// `str(np.array(x, dtype=np.float64))` (a 0-d array prints as its scalar).
    const ZERO_D_F64: &[(f64, &str)] = &[
        (0.17211776753291672, "0.17211776753291672"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (1e+16, "1e+16"),
        (9999000000000000.0, "9999000000000000.0"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (1.2345e-05, "1.2345e-05"),
        (123456789012345.0, "123456789012345.0"),
        (1.5e+300, "1.5e+300"),
        (5e-324, "5e-324"),
        (f64::NAN, "nan"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::INFINITY, "inf"),
        (0.1, "0.1"),
        (16777216.0, "16777216.0"),
        (3.0, "3.0"),
        (-2.5, "-2.5"),
        (1e+23, "1e+23"),
        (0.30000000000000004, "0.30000000000000004"),
        (100.0, "100.0"),
        (1e-320, "1e-320"),
    ];

    /// `str(np.array(x, dtype=np.float32))` (a 0-d array prints as its scalar).
    const ZERO_D_F32: &[(f64, &str)] = &[
        (0.17211776753291672, "0.17211777"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (1e+16, "1e+16"),
        (9999000000000000.0, "9.999e+15"),
        (1e-05, "1e-05"),
        (0.0001, "1e-04"),
        (1.2345e-05, "1.2345e-05"),
        (123456789012345.0, "1.2345679e+14"),
        (1.5e+300, "inf"),
        (5e-324, "0.0"),
        (f64::NAN, "nan"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::INFINITY, "inf"),
        (0.1, "0.1"),
        (16777216.0, "1.6777216e+07"),
        (3.0, "3.0"),
        (-2.5, "-2.5"),
        (1e+23, "1e+23"),
        (0.30000000000000004, "0.3"),
        (100.0, "100.0"),
        (1e-320, "0.0"),
    ];
}
