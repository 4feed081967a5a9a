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
    fn cast(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}
