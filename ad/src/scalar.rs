//! The [`Scalar`] trait: the one type parameter every differentiable user function is generic over.
//!
//! A function written once as `fn f<S: Scalar>(x: &[S]) -> S` runs on plain `f64` (evaluation), on
//! [`Dual`](crate::Dual) (forward mode, nested for higher orders), on the reverse-mode tape variable
//! [`Var`](crate::Var) and on the sparsity tracers of `tangent-sparsity`.
//!
//! # Arithmetic with `f64`
//!
//! Every scalar type implements `S op S`, `S op f64`, and, for the concrete types, `f64 op S`. In
//! *generic* code write the `f64` on the right (`x * 2.0`, `x - 1.0`) or lift it with
//! [`Scalar::cst`] (`S::cst(1.0) - x`): Rust does not carry a bound such as `f64: Mul<S>` from a
//! trait's `where` clause into generic functions, so `2.0 * x` does not compile when `x: S` is a
//! type parameter.
//!
//! # Derivatives at non-differentiable points
//!
//! The derivative every AD type uses where the mathematical derivative does not exist:
//!
//! | function | point | derivative used | why |
//! | --- | --- | --- | --- |
//! | `abs(x)` | `x = 0` | 0 | midpoint of the subdifferential \[−1, 1\] (as JAX, PyTorch) |
//! | `min(a, b)`, `max(a, b)` | `a = b` | ½ to each argument | symmetric; `max(x, x)` has derivative 1 |
//! | `signum`, `floor`, `ceil`, `round`, `trunc` | everywhere | 0 | piecewise constant |
//! | `sqrt(x)`, `cbrt(x)` | `x = 0` | +∞, but a zero tangent/adjoint stays 0 | so `sqrt` of a constant 0 does not poison derivatives with NaN |
//! | `hypot(a, b)` | `a = b = 0` | 0 for both | midpoint, as `abs` |
//! | `atan2(y, x)` | `x = y = 0` | 0 for both | the function is undefined there |
//! | `pow(x, y)` (scalar exponent) | `x = 0` | ∂/∂y = 0 | limit of `x^y ln x` as `x → 0⁺` for `y > 0` |
//! | `powf(x, c)`, `powi(x, n)` | `x = 0` | `c·x^(c−1)` evaluated in IEEE arithmetic (0 for `c > 1`, 1 for `c = 1`, +∞ for `0 < c < 1`, −∞ for `c < 0` at +0) | |

use core::fmt::{Debug, Display};
use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use crate::rule::{Rule, RuleError};

/// A real scalar that every AD mode can run: `f64`, [`Dual`](crate::Dual), [`Var`](crate::Var),
/// and the sparsity tracers.
///
/// Comparisons (`==`, `<`, …) compare primal values only, so value-dependent branches in user code
/// follow the path taken at the evaluation point.
pub trait Scalar:
    Copy
    + Debug
    + Display
    + Default
    + PartialEq
    + PartialOrd
    + PartialEq<f64>
    + PartialOrd<f64>
    + From<f64>
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + AddAssign<f64>
    + SubAssign<f64>
    + MulAssign<f64>
    + DivAssign<f64>
    + Sum
    + Product
{
    /// The primal value (for nested types, the innermost `f64`).
    fn value(&self) -> f64;

    /// A constant: the value `v` with all derivative parts zero.
    fn cst(v: f64) -> Self;

    /// `0` as a constant.
    #[inline]
    fn zero() -> Self {
        Self::cst(0.0)
    }

    /// `1` as a constant.
    #[inline]
    fn one() -> Self {
        Self::cst(1.0)
    }

    /// `true` when the value and every derivative part are exactly zero.
    fn is_all_zero(&self) -> bool;

    /// `true` when the value and every derivative part are finite.
    fn is_finite(&self) -> bool;

    /// `true` when the primal value is NaN.
    #[inline]
    fn is_nan(&self) -> bool {
        self.value().is_nan()
    }

    /// `e^x`.
    fn exp(self) -> Self;
    /// `2^x`.
    fn exp2(self) -> Self;
    /// `e^x − 1`, accurate near 0.
    fn exp_m1(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near 0.
    fn ln_1p(self) -> Self;
    /// Base-2 logarithm.
    fn log2(self) -> Self;
    /// Base-10 logarithm.
    fn log10(self) -> Self;
    /// Square root; see the module table for the derivative at 0.
    fn sqrt(self) -> Self;
    /// Cube root; see the module table for the derivative at 0.
    fn cbrt(self) -> Self;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// Power with a constant `f64` exponent.
    fn powf(self, c: f64) -> Self;
    /// Power with a scalar (differentiable) exponent: `self^y`.
    fn pow(self, y: Self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Sine and cosine together (one evaluation where the type allows).
    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    /// Tangent.
    fn tan(self) -> Self;
    /// Arcsine.
    fn asin(self) -> Self;
    /// Arccosine.
    fn acos(self) -> Self;
    /// Arctangent.
    fn atan(self) -> Self;
    /// Four-quadrant arctangent of `self / x` (`self` is the `y` coordinate).
    fn atan2(self, x: Self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh(self) -> Self;
    /// Absolute value; derivative 0 at 0.
    fn abs(self) -> Self;
    /// Sign (`1`, `−1`, or `0` at zero; NaN stays NaN) as a constant.
    fn signum(self) -> Self;
    /// Minimum by primal value; ties split the derivative evenly.
    fn min(self, other: Self) -> Self;
    /// Maximum by primal value; ties split the derivative evenly.
    fn max(self, other: Self) -> Self;
    /// `sqrt(self² + other²)` without undue overflow.
    fn hypot(self, other: Self) -> Self;
    /// `self * a + b` (fused for `f64` and the forward types; two tape entries on the tape).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Error function.
    fn erf(self) -> Self;
    /// Complementary error function `1 − erf(x)`, accurate for large `x`.
    fn erfc(self) -> Self;
    /// Largest integer ≤ `self`, as a constant (derivative 0).
    #[inline]
    fn floor(self) -> Self {
        Self::cst(self.value().floor())
    }
    /// Smallest integer ≥ `self`, as a constant (derivative 0).
    #[inline]
    fn ceil(self) -> Self {
        Self::cst(self.value().ceil())
    }
    /// Nearest integer (halves away from zero), as a constant (derivative 0).
    #[inline]
    fn round(self) -> Self {
        Self::cst(self.value().round())
    }
    /// Integer part, as a constant (derivative 0).
    #[inline]
    fn trunc(self) -> Self {
        Self::cst(self.value().trunc())
    }
    /// `1 / self`.
    #[inline]
    fn recip(self) -> Self {
        Self::cst(1.0) / self
    }
    /// `self * self`.
    #[inline]
    fn sqr(self) -> Self {
        self * self
    }

    /// Applies a custom [`Rule`] to `x`, writing the rule's outputs to `y`.
    ///
    /// For `f64` this runs the rule's primal; for [`Dual`](crate::Dual) it also runs the rule's
    /// jvp once with all tangent directions; on the tape it records one node whose pullback is the
    /// rule's vjp; for tracers it records the rule's declared dependencies. `x.len()` must equal
    /// [`Rule::n_inputs`] and `y.len()` [`Rule::n_outputs`].
    fn apply_rule<R: Rule>(rule: &R, x: &[Self], y: &mut [Self]) -> Result<(), RuleError>;

    /// As [`Scalar::apply_rule`], and returns the state of the primal evaluation so that an outer
    /// forward-mode layer can differentiate the rule's jvp at the same point. Types that cannot
    /// return the state (the tape variable, which moves it into the tape) return
    /// [`RuleError::Unsupported`].
    fn apply_rule_with_state<R: Rule>(
        rule: &R,
        x: &[Self],
        y: &mut [Self],
    ) -> Result<R::State, RuleError>;
}

/// Checks the input and output lengths a rule declares against the slices it is given.
pub(crate) fn check_rule_shape<R: Rule, S>(rule: &R, x: &[S], y: &[S]) -> Result<(), RuleError> {
    if x.len() != rule.n_inputs() {
        return Err(RuleError::DimensionMismatch {
            what: "rule inputs",
            expected: rule.n_inputs(),
            found: x.len(),
        });
    }
    if y.len() != rule.n_outputs() {
        return Err(RuleError::DimensionMismatch {
            what: "rule outputs",
            expected: rule.n_outputs(),
            found: y.len(),
        });
    }
    Ok(())
}

impl Scalar for f64 {
    #[inline(always)]
    fn value(&self) -> f64 {
        *self
    }
    #[inline(always)]
    fn cst(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn is_all_zero(&self) -> bool {
        *self == 0.0
    }
    #[inline(always)]
    fn is_finite(&self) -> bool {
        f64::is_finite(*self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp2(self) -> Self {
        f64::exp2(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    #[inline(always)]
    fn log2(self) -> Self {
        f64::log2(self)
    }
    #[inline(always)]
    fn log10(self) -> Self {
        f64::log10(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn cbrt(self) -> Self {
        f64::cbrt(self)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        f64::powi(self, n)
    }
    #[inline(always)]
    fn powf(self, c: f64) -> Self {
        f64::powf(self, c)
    }
    #[inline(always)]
    fn pow(self, y: Self) -> Self {
        f64::powf(self, y)
    }
    #[inline(always)]
    fn sin(self) -> Self {
        f64::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        f64::cos(self)
    }
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        sin_cos_f64(self)
    }
    #[inline(always)]
    fn tan(self) -> Self {
        f64::tan(self)
    }
    #[inline(always)]
    fn asin(self) -> Self {
        f64::asin(self)
    }
    #[inline(always)]
    fn acos(self) -> Self {
        f64::acos(self)
    }
    #[inline(always)]
    fn atan(self) -> Self {
        f64::atan(self)
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        f64::atan2(self, x)
    }
    #[inline(always)]
    fn sinh(self) -> Self {
        f64::sinh(self)
    }
    #[inline(always)]
    fn cosh(self) -> Self {
        f64::cosh(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline(always)]
    fn asinh(self) -> Self {
        f64::asinh(self)
    }
    #[inline(always)]
    fn acosh(self) -> Self {
        f64::acosh(self)
    }
    #[inline(always)]
    fn atanh(self) -> Self {
        f64::atanh(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn signum(self) -> Self {
        signum0(self)
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        if other < self { other } else { self }
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        if other > self { other } else { self }
    }
    #[inline(always)]
    fn hypot(self, other: Self) -> Self {
        f64::hypot(self, other)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        1.0 / self
    }

    fn apply_rule<R: Rule>(rule: &R, x: &[Self], y: &mut [Self]) -> Result<(), RuleError> {
        check_rule_shape(rule, x, y)?;
        rule.primal(x, y).map(|_| ())
    }

    fn apply_rule_with_state<R: Rule>(
        rule: &R,
        x: &[Self],
        y: &mut [Self],
    ) -> Result<R::State, RuleError> {
        check_rule_shape(rule, x, y)?;
        rule.primal(x, y)
    }
}

/// `signum` with `signum(±0) = 0` (std's `f64::signum` returns ±1 at ±0).
#[inline(always)]
pub(crate) fn signum0(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x * 0.0 // 0 for ±0, NaN for NaN
    }
}

/// Local derivative information of the elementary functions, shared by every AD type so the
/// formulas exist once.
pub(crate) mod deriv {
    use super::Scalar;

    /// `2/√π`, the factor in `erf′(x) = 2/√π · e^{−x²}`.
    pub(crate) const FRAC_2_SQRT_PI: f64 = core::f64::consts::FRAC_2_SQRT_PI;

    /// d/dx of `sqrt` given the result `y`; applied to a tangent `t`, with `t = 0 ⇒ 0`.
    #[inline(always)]
    pub(crate) fn sqrt_tangent<S: Scalar>(t: S, y: S) -> S {
        // |y|: sqrt(−0) = −0, and the derivative there is +∞ like at +0.
        if t.is_all_zero() {
            t
        } else {
            t / (y.abs() * 2.0)
        }
    }

    /// Derivative of `tanh` at `x` with value `t`: `1 − t²` where that is accurate (`|t| < ½`),
    /// else `sech²x = 4e/(1 + e)²` with `e = exp(−2|x|)`: `1 − t²` would lose every digit for
    /// large `|x|`, and `1/cosh²x` overflows (and its own derivative becomes `0·∞`) past 355.
    #[inline(always)]
    pub(crate) fn tanh_slope<S: Scalar>(x: S, t: S) -> S {
        if t.value().abs() < 0.5 {
            S::one() - t * t
        } else {
            let e = (x.abs() * -2.0).exp();
            let d = e + 1.0;
            e * 4.0 / (d * d)
        }
    }

    /// Derivative of `atan`: `1/(1 + x²)`, as `r²/(1 + r²)` with `r = 1/x` for `|x| > 1` so that
    /// neither it nor its own derivative overflows or underflows early.
    #[inline(always)]
    pub(crate) fn atan_slope<S: Scalar>(x: S) -> S {
        if x.value().abs() > 1.0 {
            let r = x.recip();
            let r2 = r * r;
            r2 / (r2 + 1.0)
        } else {
            (x * x + 1.0).recip()
        }
    }

    /// Derivative of `asinh`: `1/√(x² + 1)`, written with `hypot` so that `x²` cannot overflow.
    #[inline(always)]
    pub(crate) fn asinh_slope<S: Scalar>(x: S) -> S {
        x.hypot(S::one()).recip()
    }

    /// Derivative of `acosh`: `1/√((x − 1)(x + 1))`, factored so that `x²` cannot overflow.
    #[inline(always)]
    pub(crate) fn acosh_slope<S: Scalar>(x: S) -> S {
        ((x - 1.0).sqrt() * (x + 1.0).sqrt()).recip()
    }

    /// Partials `(∂/∂y, ∂/∂x)` of `atan2(y, x)` = `(x/r², −y/r²)` with `r = hypot(x, y)` (no
    /// overflow of `x² + y²`); `None` at the origin (derivative 0 there, see the module docs).
    #[inline(always)]
    pub(crate) fn atan2_partials<S: Scalar>(y: S, x: S) -> Option<(S, S)> {
        let r = y.hypot(x);
        if r.value() == 0.0 {
            return None;
        }
        Some(((x / r) / r, -(y / r) / r))
    }

    /// Tangent of `cbrt` given the result `y`, with `t = 0 ⇒ 0`.
    #[inline(always)]
    pub(crate) fn cbrt_tangent<S: Scalar>(t: S, y: S) -> S {
        if t.is_all_zero() {
            t
        } else {
            t / (y * y * 3.0)
        }
    }

    /// Derivative of `abs` (0 at 0).
    #[inline(always)]
    pub(crate) fn abs_slope(x: f64) -> f64 {
        super::signum0(x)
    }

    /// Weights (for `a`, for `b`) of `min(a, b)` by primal value; ties give ½, ½.
    #[inline(always)]
    pub(crate) fn min_weights(a: f64, b: f64) -> (f64, f64) {
        if a < b {
            (1.0, 0.0)
        } else if b < a {
            (0.0, 1.0)
        } else {
            (0.5, 0.5)
        }
    }

    /// Weights of `max(a, b)`; ties give ½, ½.
    #[inline(always)]
    pub(crate) fn max_weights(a: f64, b: f64) -> (f64, f64) {
        if a > b {
            (1.0, 0.0)
        } else if b > a {
            (0.0, 1.0)
        } else {
            (0.5, 0.5)
        }
    }
}

/// `(sin x, cos x)`, bit-identical to `(f64::sin(x), f64::cos(x))` (a test checks this).
///
/// Forward mode needs both for every `sin` and every `cos` it differentiates, so code that takes
/// the sine and the cosine of one value (rotations, polar coordinates, Fourier terms, P6's
/// chained map) would pay for both twice. Two things avoid that:
/// * the last argument and its results are kept per thread, so the second of `sin θ` and
///   `cos θ` (or the next element's use of the same value) costs a comparison;
/// * where the C library offers `sincos` (glibc, whose `sincos` runs the same code as its `sin`
///   and `cos`, which `f64::sin` and `f64::cos` call), both come from one argument reduction.
///
/// On P6's chained map (`sin(x_i)·cos(x_{i+1})`, so each value's sine and cosine are both
/// needed) the `Dual<10>` Jacobian took 50.5k instructions with two library calls per
/// derivative, 47.0k with `sincos`, and 38.8k with `sincos` and the kept result (callgrind);
/// time 4.8 → 3.8 µs in interleaved runs. A call whose argument differs from the last pays a
/// thread-local load, a comparison and a store.
#[inline(always)]
fn sin_cos_f64(x: f64) -> (f64, f64) {
    thread_local! {
        /// `(x.to_bits(), sin x, cos x)` of the last call on this thread; initially x = +0.
        static LAST: core::cell::Cell<(u64, f64, f64)> =
            const { core::cell::Cell::new((0, 0.0, 1.0)) };
    }
    LAST.with(|last| {
        let (key, s, c) = last.get();
        if key == x.to_bits() {
            return (s, c);
        }
        let (s, c) = sin_cos_libm(x);
        last.set((x.to_bits(), s, c));
        (s, c)
    })
}

/// `(sin x, cos x)` from the C library: glibc's `sincos` on Linux with glibc, else two calls.
#[inline(always)]
fn sin_cos_libm(x: f64) -> (f64, f64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            /// glibc's `void sincos(double x, double *sin, double *cos)` (libm, which the
            /// standard library links on this target).
            fn sincos(x: f64, sin: *mut f64, cos: *mut f64);
        }
        let (mut s, mut c) = (0.0, 0.0);
        // SAFETY: `sincos` writes one `f64` through each pointer, both to live locals; it has
        // no other effect (it may raise floating-point exception flags, as `sin` does).
        unsafe { sincos(x, &mut s, &mut c) };
        (s, c)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        f64::sin_cos(x)
    }
}
