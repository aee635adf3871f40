//! Differentiation operators with a *prepare* step, in the manner of DifferentiationInterface.jl.
//!
//! Each operator (derivative, gradient, Jacobian, Hessian, Hessian-vector product, jvp, vjp) is
//! a pair of traits: a *backend* trait (`GradientBackend`, …) whose `prepare_*` method does the
//! one-time work — allocating buffers, recording a tape — and returns a *prepared* object, and the
//! prepared object's trait (`GradientPrep`, …) whose methods do the work at a point **without
//! allocating** (for functions without rule nodes). Free functions [`prepare_gradient`],
//! [`gradient`], … are shorthands.
//!
//! # Backends
//!
//! | backend | how | gradient | Jacobian | Hessian | hvp | jvp | vjp | derivative |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | [`Forward<N>`] | [`Dual<N>`](crate::Dual), `N` directions per pass | ⌈n/N⌉ passes | ⌈n/N⌉ passes | nested `Dual<N, Dual<N>>`, upper blocks | `Dual<1, Dual<N>>`, ⌈n/N⌉ passes | 1 pass | ⌈n/N⌉ passes | 1 pass |
//! | [`Reverse`] | record the tape on every call | 1 sweep | m sweeps | forward over reverse, ⌈n/8⌉ sweeps | 1 sweep | tangent sweep | 1 sweep | tangent sweep |
//! | [`ReverseReplay`] | record once in `prepare`, replay at each point | as `Reverse` | | | | | | |
//! | [`FiniteDifferences`] | central differences | 2n evaluations | 2n | 2n² | 4n | 2 | 2n | 2 |
//! | [`Auto`] (default) | picks per operator | `Reverse` | `Forward<8>` if n ≤ m, else `Reverse` | `Reverse` | `Reverse` | `Forward<1>` | `Reverse` | `Forward<1>` |
//!
//! [`ReverseReplay`] is valid only for functions whose sequence of operations does not depend on
//! the input values (no value-dependent branches), like ReverseDiff.jl's compiled tapes: the user
//! opts in.
//!
//! # Layouts
//!
//! Jacobians are `m × n` and Hessians `n × n`, both **column-major** in a flat slice
//! (`jac[i + j*m] = ∂y_i/∂x_j`), as nalgebra's and faer's matrices:
//! `DMatrix::from_column_slice(m, n, &jac)`.
//!
//! ```
//! use tangent_ad::operators::{GradientPrep, HessianPrep, Reverse, ReverseReplay, prepare_gradient, prepare_hessian};
//! use tangent_ad::scalar_fn;
//!
//! let f = scalar_fn!(|x| (x[0] - 1.0).powi(2) + (x[1] - x[0] * x[0]).powi(2) * 100.0);
//! let x = [1.2, 1.0];
//! let mut prep = prepare_gradient(&f, &ReverseReplay, &x).unwrap();
//! let mut g = [0.0; 2];
//! let value = prep.value_and_gradient(&f, &x, &mut g).unwrap();
//! assert!((value - 19.400000000000006).abs() < 1e-12);
//! assert!((g[0] - (2.0 * 0.2 - 400.0 * 1.2 * (1.0 - 1.44))).abs() < 1e-12);
//!
//! let mut hp = prepare_hessian(&f, &Reverse, &x).unwrap();
//! let mut h = [0.0; 4];
//! hp.hessian(&f, &x, &mut h).unwrap();
//! assert!((h[1] - (-400.0 * 1.2)).abs() < 1e-12 && h[1] == h[2]);
//! ```

mod auto;
mod finite_diff;
mod forward;
mod reverse;

pub use auto::{Auto, AutoPrep};
pub use finite_diff::{FiniteDifferences, FiniteDifferencesPrep};
pub use forward::{Forward, ForwardHessianPrep, ForwardHvpPrep, ForwardPrep};
pub use reverse::{Reverse, ReversePrep, ReverseReplay};

use crate::error::AdError;
use crate::function::{ScalarFunction, VectorFunction};

/// A backend that can prepare [`GradientPrep`] objects.
pub trait GradientBackend {
    /// The prepared object.
    type Prep: GradientPrep;
    /// One-time work for gradients of `f` at points of the size of `x`.
    fn prepare_gradient<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Gradients of a scalar function at given points.
pub trait GradientPrep {
    /// Writes `∇f(x)` to `grad` and returns `f(x)`.
    fn value_and_gradient<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, AdError>;
    /// Writes `∇f(x)` to `grad`.
    fn gradient<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<(), AdError> {
        self.value_and_gradient(f, x, grad).map(|_| ())
    }
}

/// A backend that can prepare [`JacobianPrep`] objects.
pub trait JacobianBackend {
    /// The prepared object.
    type Prep: JacobianPrep;
    /// One-time work for Jacobians of `f` at points of the size of `x`.
    fn prepare_jacobian<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Jacobians of a vector function.
pub trait JacobianPrep {
    /// Writes `f(x)` to `y` (`m`) and the Jacobian to `jac` (`m × n`, column-major).
    fn value_and_jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
        jac: &mut [f64],
    ) -> Result<(), AdError>;
    /// Writes the Jacobian to `jac` (`m × n`, column-major).
    fn jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError>;
}

/// A backend that can prepare [`JvpPrep`] objects.
pub trait JvpBackend {
    /// The prepared object.
    type Prep: JvpPrep;
    /// One-time work for Jacobian–vector products of `f`.
    fn prepare_jvp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Jacobian–vector products (pushforwards) `J(x) v`.
pub trait JvpPrep {
    /// Writes `f(x)` to `y` (`m`) and `J(x) v` to `out` (`m`).
    fn value_and_jvp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError>;
}

/// A backend that can prepare [`VjpPrep`] objects.
pub trait VjpBackend {
    /// The prepared object.
    type Prep: VjpPrep;
    /// One-time work for vector–Jacobian products of `f`.
    fn prepare_vjp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Vector–Jacobian products (pullbacks) `J(x)ᵀ w`.
pub trait VjpPrep {
    /// Writes `f(x)` to `y` (`m`) and `J(x)ᵀ w` to `out` (`n`).
    fn value_and_vjp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        w: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError>;
}

/// A backend that can prepare [`HvpPrep`] objects.
pub trait HvpBackend {
    /// The prepared object.
    type Prep: HvpPrep;
    /// One-time work for Hessian-vector products of `f`.
    fn prepare_hvp<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Hessian-vector products `∇²f(x) v`.
pub trait HvpPrep {
    /// Writes `∇²f(x) v` to `out` (`n`).
    fn hvp<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        out: &mut [f64],
    ) -> Result<(), AdError>;
}

/// A backend that can prepare [`HessianPrep`] objects.
pub trait HessianBackend {
    /// The prepared object.
    type Prep: HessianPrep;
    /// One-time work for Hessians of `f`.
    fn prepare_hessian<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError>;
}

/// Dense Hessians of a scalar function.
pub trait HessianPrep {
    /// Writes the Hessian to `hess` (`n × n`, column-major, symmetric).
    fn hessian<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        hess: &mut [f64],
    ) -> Result<(), AdError>;
}

/// A backend that can prepare [`DerivativePrep`] objects.
pub trait DerivativeBackend {
    /// The prepared object.
    type Prep: DerivativePrep;
    /// One-time work for derivatives of `f: R → Rᵐ` (a [`VectorFunction`] of one input).
    fn prepare_derivative<F: VectorFunction>(&self, f: &F, x: f64) -> Result<Self::Prep, AdError>;
}

/// Derivatives of a function of one variable `f: R → Rᵐ`.
pub trait DerivativePrep {
    /// Writes `f(x)` to `y` and `f′(x)` to `dy` (both `m`).
    fn value_and_derivative<F: VectorFunction>(
        &mut self,
        f: &F,
        x: f64,
        y: &mut [f64],
        dy: &mut [f64],
    ) -> Result<(), AdError>;
}

macro_rules! shorthand {
    ($prep_fn:ident, $bt:ident, $method:ident, $ftrait:ident, $x:ty) => {
        #[doc = concat!("Shorthand for [`", stringify!($bt), "::", stringify!($method), "`].")]
        pub fn $prep_fn<F: $ftrait, B: $bt>(f: &F, backend: &B, x: $x) -> Result<B::Prep, AdError> {
            backend.$method(f, x)
        }
    };
}
shorthand!(
    prepare_gradient,
    GradientBackend,
    prepare_gradient,
    ScalarFunction,
    &[f64]
);
shorthand!(
    prepare_jacobian,
    JacobianBackend,
    prepare_jacobian,
    VectorFunction,
    &[f64]
);
shorthand!(prepare_jvp, JvpBackend, prepare_jvp, VectorFunction, &[f64]);
shorthand!(prepare_vjp, VjpBackend, prepare_vjp, VectorFunction, &[f64]);
shorthand!(prepare_hvp, HvpBackend, prepare_hvp, ScalarFunction, &[f64]);
shorthand!(
    prepare_hessian,
    HessianBackend,
    prepare_hessian,
    ScalarFunction,
    &[f64]
);
shorthand!(
    prepare_derivative,
    DerivativeBackend,
    prepare_derivative,
    VectorFunction,
    f64
);

/// One-shot gradient (prepares, then evaluates): `∇f(x)` into `grad`, returns `f(x)`.
pub fn value_and_gradient<F: ScalarFunction, B: GradientBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    grad: &mut [f64],
) -> Result<f64, AdError> {
    backend
        .prepare_gradient(f, x)?
        .value_and_gradient(f, x, grad)
}

/// One-shot gradient (prepares, then evaluates).
pub fn gradient<F: ScalarFunction, B: GradientBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    grad: &mut [f64],
) -> Result<(), AdError> {
    value_and_gradient(f, backend, x, grad).map(|_| ())
}

/// One-shot Jacobian (`m × n`, column-major).
pub fn jacobian<F: VectorFunction, B: JacobianBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    jac: &mut [f64],
) -> Result<(), AdError> {
    backend.prepare_jacobian(f, x)?.jacobian(f, x, jac)
}

/// One-shot value and Jacobian.
pub fn value_and_jacobian<F: VectorFunction, B: JacobianBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    y: &mut [f64],
    jac: &mut [f64],
) -> Result<(), AdError> {
    backend
        .prepare_jacobian(f, x)?
        .value_and_jacobian(f, x, y, jac)
}

/// One-shot Hessian (`n × n`, column-major).
pub fn hessian<F: ScalarFunction, B: HessianBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    hess: &mut [f64],
) -> Result<(), AdError> {
    backend.prepare_hessian(f, x)?.hessian(f, x, hess)
}

/// One-shot Hessian-vector product.
pub fn hvp<F: ScalarFunction, B: HvpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    v: &[f64],
    out: &mut [f64],
) -> Result<(), AdError> {
    backend.prepare_hvp(f, x)?.hvp(f, x, v, out)
}

/// One-shot Jacobian–vector product (pushforward) `J(x) v` into `out`.
pub fn jvp<F: VectorFunction, B: JvpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    v: &[f64],
    out: &mut [f64],
) -> Result<(), AdError> {
    let mut y = vec![0.0; f.output_len()];
    backend
        .prepare_jvp(f, x)?
        .value_and_jvp(f, x, v, &mut y, out)
}

/// One-shot vector–Jacobian product (pullback) `J(x)ᵀ w` into `out`.
pub fn vjp<F: VectorFunction, B: VjpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    w: &[f64],
    out: &mut [f64],
) -> Result<(), AdError> {
    let mut y = vec![0.0; f.output_len()];
    backend
        .prepare_vjp(f, x)?
        .value_and_vjp(f, x, w, &mut y, out)
}

/// One-shot derivative of `f: R → Rᵐ` into `dy`.
pub fn derivative<F: VectorFunction, B: DerivativeBackend>(
    f: &F,
    backend: &B,
    x: f64,
    dy: &mut [f64],
) -> Result<(), AdError> {
    let mut y = vec![0.0; f.output_len()];
    backend
        .prepare_derivative(f, x)?
        .value_and_derivative(f, x, &mut y, dy)
}
