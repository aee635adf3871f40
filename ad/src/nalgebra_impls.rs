//! nalgebra (simba) and num-traits implementations for the AD scalar types.
//!
//! [`Dual<N, T>`](crate::Dual) (for every inner `T: Scalar`, so nested duals too) and
//! [`Var`](crate::Var) implement simba's `RealField` and everything it requires, so generic
//! nalgebra code (`lu().solve`, `try_inverse`, `norm`, `dot`, QR, Cholesky, symmetric eigen, …)
//! runs on them and propagates derivatives.
//!
//! Every elementary function delegates to the [`Scalar`] method of the same meaning, so its
//! derivative is the one the AD type defines. Conventions, all on the **primal value** (as the
//! comparison operators of the AD types):
//!
//! * `is_zero`, `approx` comparisons, `is_sign_positive`, `is_positive`, `try_sqrt`'s domain check
//!   and `argument` look at the primal value only; derivative parts are ignored.
//! * `from_subset(&f64)` / `NumCast` / `FromPrimitive` build constants; `to_subset` returns the
//!   primal value (every AD value counts as "in the subset" `f64`, so `to_subset` never fails).
//! * `ComplexField::signum` and `Signed::signum` are constants with **f64's** values (±1 at ±0,
//!   NaN for NaN), not [`Scalar::signum`]'s 0 at 0: nalgebra relies on a unit sign at zero
//!   (Householder reflections in QR, the Wilkinson shift in the symmetric eigensolver divide by
//!   `d + signum(d)·…`). The derivative is 0 either way.
//! * `floor`, `ceil`, `round`, `trunc` are [`Scalar`]'s (constants); `fract = x − trunc(x)` has
//!   derivative 1.
//! * `max`, `min` are [`Scalar`]'s (ties split the derivative); `clamp` returns one of its
//!   arguments, chosen by primal value, with that argument's derivative.

use core::f64::consts;
use core::ops::{Rem, RemAssign};

use approx::{AbsDiffEq, RelativeEq, UlpsEq};
use num_traits::{FromPrimitive, Num, NumCast, One, Signed, ToPrimitive, Zero};
use simba::scalar::{ComplexField, Field, RealField, SubsetOf};
use simba::simd::SimdValue;

use crate::dual::Dual;
use crate::scalar::Scalar;
use crate::tape::Var;

/// `a %= b` (num-traits' `NumAssign`, required by simba's `Field`, needs `RemAssign`).
macro_rules! impl_rem_assign {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> RemAssign for $ty {
            #[inline]
            fn rem_assign(&mut self, o: Self) {
                *self = Rem::rem(*self, o);
            }
        }
    };
}

/// num-traits: `Zero`, `One`, `Num`, `Signed`, `FromPrimitive`, `ToPrimitive`, `NumCast`.
macro_rules! impl_num_traits {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> Zero for $ty {
            #[inline]
            fn zero() -> Self {
                Scalar::cst(0.0)
            }
            /// `true` when the primal value is zero (as `==`; derivative parts are ignored).
            #[inline]
            fn is_zero(&self) -> bool {
                Scalar::value(self) == 0.0
            }
        }

        impl<$($g)*> One for $ty {
            #[inline]
            fn one() -> Self {
                Scalar::cst(1.0)
            }
        }

        impl<$($g)*> Num for $ty {
            type FromStrRadixErr = <f64 as Num>::FromStrRadixErr;
            fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
                <f64 as Num>::from_str_radix(s, radix).map(Scalar::cst)
            }
        }

        impl<$($g)*> Signed for $ty {
            #[inline]
            fn abs(&self) -> Self {
                Scalar::abs(*self)
            }
            #[inline]
            fn abs_sub(&self, other: &Self) -> Self {
                if *self <= *other {
                    Scalar::cst(0.0)
                } else {
                    *self - *other
                }
            }
            #[inline]
            fn signum(&self) -> Self {
                Scalar::cst(f64::signum(Scalar::value(self)))
            }
            #[inline]
            fn is_positive(&self) -> bool {
                Scalar::value(self).is_sign_positive()
            }
            #[inline]
            fn is_negative(&self) -> bool {
                Scalar::value(self).is_sign_negative()
            }
        }

        impl<$($g)*> FromPrimitive for $ty {
            #[inline]
            fn from_i64(n: i64) -> Option<Self> {
                <f64 as FromPrimitive>::from_i64(n).map(Scalar::cst)
            }
            #[inline]
            fn from_u64(n: u64) -> Option<Self> {
                <f64 as FromPrimitive>::from_u64(n).map(Scalar::cst)
            }
            #[inline]
            fn from_f32(n: f32) -> Option<Self> {
                Some(Scalar::cst(<f64 as From<f32>>::from(n)))
            }
            #[inline]
            fn from_f64(n: f64) -> Option<Self> {
                Some(Scalar::cst(n))
            }
        }

        impl<$($g)*> ToPrimitive for $ty {
            #[inline]
            fn to_i64(&self) -> Option<i64> {
                Scalar::value(self).to_i64()
            }
            #[inline]
            fn to_u64(&self) -> Option<u64> {
                Scalar::value(self).to_u64()
            }
            #[inline]
            fn to_f32(&self) -> Option<f32> {
                Scalar::value(self).to_f32()
            }
            #[inline]
            fn to_f64(&self) -> Option<f64> {
                Some(Scalar::value(self))
            }
        }

        impl<$($g)*> NumCast for $ty {
            #[inline]
            fn from<P: ToPrimitive>(n: P) -> Option<Self> {
                n.to_f64().map(Scalar::cst)
            }
        }
    };
}

/// approx: `AbsDiffEq`, `RelativeEq`, `UlpsEq`, comparing primal values with f64's rules.
macro_rules! impl_approx {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> AbsDiffEq for $ty {
            type Epsilon = Self;
            #[inline]
            fn default_epsilon() -> Self {
                Scalar::cst(f64::default_epsilon())
            }
            #[inline]
            fn abs_diff_eq(&self, other: &Self, epsilon: Self) -> bool {
                Scalar::value(self).abs_diff_eq(&Scalar::value(other), Scalar::value(&epsilon))
            }
        }

        impl<$($g)*> RelativeEq for $ty {
            #[inline]
            fn default_max_relative() -> Self {
                Scalar::cst(f64::default_max_relative())
            }
            #[inline]
            fn relative_eq(&self, other: &Self, epsilon: Self, max_relative: Self) -> bool {
                Scalar::value(self).relative_eq(
                    &Scalar::value(other),
                    Scalar::value(&epsilon),
                    Scalar::value(&max_relative),
                )
            }
        }

        impl<$($g)*> UlpsEq for $ty {
            #[inline]
            fn default_max_ulps() -> u32 {
                f64::default_max_ulps()
            }
            #[inline]
            fn ulps_eq(&self, other: &Self, epsilon: Self, max_ulps: u32) -> bool {
                Scalar::value(self).ulps_eq(&Scalar::value(other), Scalar::value(&epsilon), max_ulps)
            }
        }
    };
}

/// simba: `SimdValue` (one lane), `Field`, and the subset relations with `f32`, `f64` and itself.
macro_rules! impl_simba_base {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> SimdValue for $ty {
            const LANES: usize = 1;
            type Element = Self;
            type SimdBool = bool;

            #[inline(always)]
            fn splat(val: Self) -> Self {
                val
            }
            #[inline(always)]
            fn extract(&self, _: usize) -> Self {
                *self
            }
            #[inline(always)]
            unsafe fn extract_unchecked(&self, _: usize) -> Self {
                *self
            }
            #[inline(always)]
            fn replace(&mut self, _: usize, val: Self) {
                *self = val;
            }
            #[inline(always)]
            unsafe fn replace_unchecked(&mut self, _: usize, val: Self) {
                *self = val;
            }
            #[inline(always)]
            fn select(self, cond: bool, other: Self) -> Self {
                if cond { self } else { other }
            }
        }

        impl<$($g)*> Field for $ty {}

        impl<$($g)*> SubsetOf<$ty> for $ty {
            #[inline]
            fn to_superset(&self) -> Self {
                *self
            }
            #[inline]
            fn from_superset_unchecked(element: &Self) -> Self {
                *element
            }
            #[inline]
            fn is_in_subset(_: &Self) -> bool {
                true
            }
        }

        /// `f64` embeds as a constant; the way back keeps the primal value.
        impl<$($g)*> SubsetOf<$ty> for f64 {
            #[inline]
            fn to_superset(&self) -> $ty {
                Scalar::cst(*self)
            }
            #[inline]
            fn from_superset_unchecked(element: &$ty) -> f64 {
                Scalar::value(element)
            }
            #[inline]
            fn is_in_subset(_: &$ty) -> bool {
                true
            }
        }

        /// `f32` embeds as a constant; the way back keeps the primal value (rounded to `f32`).
        impl<$($g)*> SubsetOf<$ty> for f32 {
            #[inline]
            fn to_superset(&self) -> $ty {
                Scalar::cst(<f64 as From<f32>>::from(*self))
            }
            #[inline]
            fn from_superset_unchecked(element: &$ty) -> f32 {
                // Rounds to the nearest f32, the intended conversion.
                Scalar::value(element) as f32
            }
            #[inline]
            fn is_in_subset(_: &$ty) -> bool {
                true
            }
        }
    };
}

/// simba: `ComplexField` (as a real field: `RealField = Self`) and `RealField`.
macro_rules! impl_real_field {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> ComplexField for $ty {
            type RealField = Self;

            #[inline]
            fn from_real(re: Self) -> Self {
                re
            }
            #[inline]
            fn real(self) -> Self {
                self
            }
            #[inline]
            fn imaginary(self) -> Self {
                Scalar::cst(0.0)
            }
            #[inline]
            fn modulus(self) -> Self {
                Scalar::abs(self)
            }
            #[inline]
            fn modulus_squared(self) -> Self {
                self * self
            }
            #[inline]
            fn argument(self) -> Self {
                if Scalar::value(&self) >= 0.0 {
                    Scalar::cst(0.0)
                } else {
                    Scalar::cst(consts::PI)
                }
            }
            #[inline]
            fn norm1(self) -> Self {
                Scalar::abs(self)
            }
            #[inline]
            fn scale(self, factor: Self) -> Self {
                self * factor
            }
            #[inline]
            fn unscale(self, factor: Self) -> Self {
                self / factor
            }
            #[inline]
            fn to_polar(self) -> (Self, Self) {
                (Scalar::abs(self), ComplexField::argument(self))
            }
            #[inline]
            fn to_exp(self) -> (Self, Self) {
                if Scalar::value(&self) >= 0.0 {
                    (self, Scalar::cst(1.0))
                } else {
                    (-self, Scalar::cst(-1.0))
                }
            }
            #[inline]
            fn signum(self) -> Self {
                Scalar::cst(f64::signum(Scalar::value(&self)))
            }
            #[inline]
            fn floor(self) -> Self {
                Scalar::floor(self)
            }
            #[inline]
            fn ceil(self) -> Self {
                Scalar::ceil(self)
            }
            #[inline]
            fn round(self) -> Self {
                Scalar::round(self)
            }
            #[inline]
            fn trunc(self) -> Self {
                Scalar::trunc(self)
            }
            #[inline]
            fn fract(self) -> Self {
                self - Scalar::trunc(self)
            }
            #[inline]
            fn mul_add(self, a: Self, b: Self) -> Self {
                Scalar::mul_add(self, a, b)
            }
            #[inline]
            fn abs(self) -> Self {
                Scalar::abs(self)
            }
            #[inline]
            fn hypot(self, other: Self) -> Self {
                Scalar::hypot(self, other)
            }
            #[inline]
            fn recip(self) -> Self {
                Scalar::recip(self)
            }
            #[inline]
            fn conjugate(self) -> Self {
                self
            }
            #[inline]
            fn sin(self) -> Self {
                Scalar::sin(self)
            }
            #[inline]
            fn cos(self) -> Self {
                Scalar::cos(self)
            }
            #[inline]
            fn sin_cos(self) -> (Self, Self) {
                Scalar::sin_cos(self)
            }
            #[inline]
            fn sinh_cosh(self) -> (Self, Self) {
                (Scalar::sinh(self), Scalar::cosh(self))
            }
            #[inline]
            fn tan(self) -> Self {
                Scalar::tan(self)
            }
            #[inline]
            fn asin(self) -> Self {
                Scalar::asin(self)
            }
            #[inline]
            fn acos(self) -> Self {
                Scalar::acos(self)
            }
            #[inline]
            fn atan(self) -> Self {
                Scalar::atan(self)
            }
            #[inline]
            fn sinh(self) -> Self {
                Scalar::sinh(self)
            }
            #[inline]
            fn cosh(self) -> Self {
                Scalar::cosh(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                Scalar::tanh(self)
            }
            #[inline]
            fn asinh(self) -> Self {
                Scalar::asinh(self)
            }
            #[inline]
            fn acosh(self) -> Self {
                Scalar::acosh(self)
            }
            #[inline]
            fn atanh(self) -> Self {
                Scalar::atanh(self)
            }
            #[inline]
            fn log(self, base: Self) -> Self {
                Scalar::ln(self) / Scalar::ln(base)
            }
            #[inline]
            fn log2(self) -> Self {
                Scalar::log2(self)
            }
            #[inline]
            fn log10(self) -> Self {
                Scalar::log10(self)
            }
            #[inline]
            fn ln(self) -> Self {
                Scalar::ln(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                Scalar::ln_1p(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                Scalar::sqrt(self)
            }
            #[inline]
            fn exp(self) -> Self {
                Scalar::exp(self)
            }
            #[inline]
            fn exp2(self) -> Self {
                Scalar::exp2(self)
            }
            #[inline]
            fn exp_m1(self) -> Self {
                Scalar::exp_m1(self)
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                Scalar::powi(self, n)
            }
            #[inline]
            fn powf(self, n: Self) -> Self {
                Scalar::pow(self, n)
            }
            #[inline]
            fn powc(self, n: Self) -> Self {
                Scalar::pow(self, n)
            }
            #[inline]
            fn cbrt(self) -> Self {
                Scalar::cbrt(self)
            }
            #[inline]
            fn is_finite(&self) -> bool {
                Scalar::is_finite(self)
            }
            #[inline]
            fn try_sqrt(self) -> Option<Self> {
                (Scalar::value(&self) >= 0.0).then(|| Scalar::sqrt(self))
            }
        }

        impl<$($g)*> RealField for $ty {
            #[inline]
            fn is_sign_positive(&self) -> bool {
                Scalar::value(self).is_sign_positive()
            }
            #[inline]
            fn is_sign_negative(&self) -> bool {
                Scalar::value(self).is_sign_negative()
            }
            #[inline]
            fn copysign(self, sign: Self) -> Self {
                let a = Scalar::abs(self);
                if Scalar::value(&sign).is_sign_negative() { -a } else { a }
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                Scalar::max(self, other)
            }
            #[inline]
            fn min(self, other: Self) -> Self {
                Scalar::min(self, other)
            }
            #[inline]
            fn clamp(self, min: Self, max: Self) -> Self {
                if self < min {
                    min
                } else if self > max {
                    max
                } else {
                    self
                }
            }
            #[inline]
            fn atan2(self, other: Self) -> Self {
                Scalar::atan2(self, other)
            }
            #[inline]
            fn min_value() -> Option<Self> {
                Some(Scalar::cst(f64::MIN))
            }
            #[inline]
            fn max_value() -> Option<Self> {
                Some(Scalar::cst(f64::MAX))
            }
            #[inline]
            fn pi() -> Self {
                Scalar::cst(consts::PI)
            }
            #[inline]
            fn two_pi() -> Self {
                Scalar::cst(consts::TAU)
            }
            #[inline]
            fn frac_pi_2() -> Self {
                Scalar::cst(consts::FRAC_PI_2)
            }
            #[inline]
            fn frac_pi_3() -> Self {
                Scalar::cst(consts::FRAC_PI_3)
            }
            #[inline]
            fn frac_pi_4() -> Self {
                Scalar::cst(consts::FRAC_PI_4)
            }
            #[inline]
            fn frac_pi_6() -> Self {
                Scalar::cst(consts::FRAC_PI_6)
            }
            #[inline]
            fn frac_pi_8() -> Self {
                Scalar::cst(consts::FRAC_PI_8)
            }
            #[inline]
            fn frac_1_pi() -> Self {
                Scalar::cst(consts::FRAC_1_PI)
            }
            #[inline]
            fn frac_2_pi() -> Self {
                Scalar::cst(consts::FRAC_2_PI)
            }
            #[inline]
            fn frac_2_sqrt_pi() -> Self {
                Scalar::cst(consts::FRAC_2_SQRT_PI)
            }
            #[inline]
            fn e() -> Self {
                Scalar::cst(consts::E)
            }
            #[inline]
            fn log2_e() -> Self {
                Scalar::cst(consts::LOG2_E)
            }
            #[inline]
            fn log10_e() -> Self {
                Scalar::cst(consts::LOG10_E)
            }
            #[inline]
            fn ln_2() -> Self {
                Scalar::cst(consts::LN_2)
            }
            #[inline]
            fn ln_10() -> Self {
                Scalar::cst(consts::LN_10)
            }
        }
    };
}

/// Applies an implementation macro to both AD types.
macro_rules! for_ad_types {
    ($($m:ident),* $(,)?) => {$(
        $m!([const N: usize, T: Scalar] Dual<N, T>);
        $m!([] Var);
    )*};
}

for_ad_types!(
    impl_rem_assign,
    impl_num_traits,
    impl_approx,
    impl_simba_base,
    impl_real_field,
);
