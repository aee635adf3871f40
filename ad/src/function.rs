//! Function traits: what the operators differentiate.
//!
//! Rust has no generic closures, so a differentiable function is a type with a method generic
//! over [`Scalar`]. [`ScalarFunction`] is `f: Rⁿ → R`; [`VectorFunction`] is `f: Rⁿ → Rᵐ`
//! written in place. The macros [`scalar_fn!`](crate::scalar_fn) and
//! [`vector_fn!`](crate::vector_fn) write the type for a small inline function.
//!
//! ```
//! use tangent_ad::{Scalar, ScalarFunction, VectorFunction, scalar_fn, vector_fn};
//!
//! // By hand:
//! struct Rosenbrock;
//! impl ScalarFunction for Rosenbrock {
//!     fn eval<S: Scalar>(&self, x: &[S]) -> S {
//!         (S::cst(1.0) - x[0]).powi(2) + (x[1] - x[0] * x[0]).powi(2) * 100.0
//!     }
//! }
//! assert_eq!(Rosenbrock.eval(&[1.0, 1.0]), 0.0);
//!
//! // Inline, with a captured parameter (captures are cloned on each evaluation):
//! let f = scalar_fn!([a: f64 = 2.0] |x| x[0].sin() * a + x[1]);
//! assert_eq!(f.eval(&[0.0, 3.0]), 3.0);
//!
//! // A vector function needs its output length first:
//! let g = vector_fn!(2; |x, y| {
//!     y[0] = x[0] * x[1];
//!     y[1] = x[0].exp();
//! });
//! let mut y = [0.0; 2];
//! g.eval(&[2.0, 3.0], &mut y);
//! assert_eq!(y[0], 6.0);
//! assert_eq!(g.output_len(), 2);
//! ```
//!
//! Inside a macro body the scalar type is called `S` (e.g. `S::cst(1.0) - x[0]`).

use crate::scalar::Scalar;

/// A differentiable scalar-valued function `f: Rⁿ → R`.
pub trait ScalarFunction {
    /// Evaluates `f(x)`.
    fn eval<S: Scalar>(&self, x: &[S]) -> S;
}

/// A differentiable vector-valued function `f: Rⁿ → Rᵐ`, evaluated in place.
pub trait VectorFunction {
    /// The output length `m`.
    fn output_len(&self) -> usize;
    /// Writes `f(x)` to `y` (`y.len() == output_len()`).
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]);
}

impl<F: ScalarFunction + ?Sized> ScalarFunction for &F {
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        (**self).eval(x)
    }
}

impl<F: VectorFunction + ?Sized> VectorFunction for &F {
    #[inline]
    fn output_len(&self) -> usize {
        (**self).output_len()
    }
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        (**self).eval(x, y)
    }
}

/// A [`ScalarFunction`] seen as a [`VectorFunction`] with one output.
#[derive(Clone, Copy, Debug)]
pub struct AsVector<F>(pub F);

impl<F: ScalarFunction> VectorFunction for AsVector<F> {
    #[inline]
    fn output_len(&self) -> usize {
        1
    }
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        y[0] = self.0.eval(x);
    }
}

/// Writes a [`ScalarFunction`] inline: `scalar_fn!(|x| body)` or, with captured values,
/// `scalar_fn!([name: Type = value, …] |x| body)`. In `body`, `x: &[S]` for a scalar type `S`,
/// and each capture is a clone of the stored value. See the [module docs](crate::function).
#[macro_export]
macro_rules! scalar_fn {
    (|$x:ident| $body:expr) => {
        $crate::scalar_fn!([] |$x| $body)
    };
    ([$($cap:ident : $cty:ty = $cval:expr),* $(,)?] |$x:ident| $body:expr) => {{
        #[allow(non_camel_case_types)]
        #[derive(Clone)]
        struct __ScalarFn { $($cap: $cty),* }
        impl $crate::ScalarFunction for __ScalarFn {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn eval<S: $crate::Scalar>(&self, $x: &[S]) -> S {
                $(let $cap: $cty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __ScalarFn { $($cap: $cval),* }
    }};
}

/// Writes a [`VectorFunction`] inline: `vector_fn!(m; |x, y| body)` or, with captured values,
/// `vector_fn!([name: Type = value, …] m; |x, y| body)`, where `m` is the output length and
/// `body` writes `y: &mut [S]` from `x: &[S]`. See the [module docs](crate::function).
#[macro_export]
macro_rules! vector_fn {
    ($m:expr; |$x:ident, $y:ident| $body:expr) => {
        $crate::vector_fn!([] $m; |$x, $y| $body)
    };
    ([$($cap:ident : $cty:ty = $cval:expr),* $(,)?] $m:expr; |$x:ident, $y:ident| $body:expr) => {{
        #[allow(non_camel_case_types)]
        #[derive(Clone)]
        struct __VectorFn { __m: usize, $($cap: $cty),* }
        impl $crate::VectorFunction for __VectorFn {
            fn output_len(&self) -> usize {
                self.__m
            }
            #[allow(unused_variables, clippy::redundant_clone)]
            fn eval<S: $crate::Scalar>(&self, $x: &[S], $y: &mut [S]) {
                $(let $cap: $cty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __VectorFn { __m: $m, $($cap: $cval),* }
    }};
}
