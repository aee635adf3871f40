//! # tangent-ad — the automatic-differentiation core of tangent
//!
//! User code is written once, generic over [`Scalar`], and every AD mode runs it:
//!
//! * **forward mode** — [`Dual<N>`](Dual): a value and `N` tangent directions on the stack;
//!   nested (`Dual<N, Dual<M>>`) for second and higher derivatives;
//! * **reverse mode** — the [`Tape`] and its `Copy` variable [`Var`]: record once, sweep backwards
//!   for gradients and vector–Jacobian products, *replay* the recorded instruction list at new
//!   inputs without re-recording, and run the sweeps on dual numbers for forward-over-reverse
//!   Hessian-vector products;
//! * **custom rules** — a [`Rule`] (primal + jvp + vjp over `f64` data) applied with
//!   [`Scalar::apply_rule`]: the hook through which the linear, nonlinear, ODE, quadrature and
//!   optimisation solvers of tangent join every mode without being differentiated through;
//! * **operators** ([`operators`]) — derivative, gradient, Jacobian, Hessian, hvp, jvp, vjp, each
//!   with a *prepare* step so that repeated calls allocate nothing, over the backends
//!   [`Forward<N>`](operators::Forward), [`Reverse`](operators::Reverse),
//!   [`ReverseReplay`](operators::ReverseReplay),
//!   [`FiniteDifferences`](operators::FiniteDifferences) and [`Auto`](operators::Auto);
//! * **checks** ([`check`]) — any operator against Ridders-extrapolated finite differences.
//!
//! The AD types also implement nalgebra's `RealField`, so nalgebra's generic linear algebra
//! (LU, QR, Cholesky, inverses, norms) runs on them; with the `faer` feature they implement
//! faer's `RealField` too (faer's dense LU, Cholesky, QR, SVD and eigensolvers on dual numbers
//! and tape variables).
//!
//! ```
//! use tangent_ad::operators::{
//!     Forward, GradientPrep, JacobianPrep, ReverseReplay, prepare_gradient, prepare_jacobian,
//! };
//! use tangent_ad::{Scalar, ScalarFunction, VectorFunction, scalar_fn, vector_fn};
//!
//! // f(x) = Σ (x_i − 1)² + sin(x_0 x_1), written once for every scalar type.
//! let f = scalar_fn!(|x| x.iter().map(|&xi| (xi - 1.0).powi(2)).sum::<S>() + (x[0] * x[1]).sin());
//! let x = [0.5, 2.0, -1.0];
//!
//! // Reverse mode, tape recorded once and replayed (no value-dependent branches in f).
//! let mut grad = prepare_gradient(&f, &ReverseReplay, &x).unwrap();
//! let mut g = [0.0; 3];
//! let value = grad.value_and_gradient(&f, &x, &mut g).unwrap();
//! assert!((value - (0.25 + 1.0 + 4.0 + 1f64.sin())).abs() < 1e-14);
//! assert!((g[0] - (-1.0 + 2.0 * 1f64.cos())).abs() < 1e-14);
//!
//! // Forward mode Jacobian of a map R³ → R², column-major.
//! let m = vector_fn!(2; |x, y| {
//!     y[0] = x[0] * x[1];
//!     y[1] = x[2].exp();
//! });
//! let mut jac = [0.0; 6];
//! prepare_jacobian(&m, &Forward::<4>, &x).unwrap().jacobian(&m, &x, &mut jac).unwrap();
//! assert_eq!(jac, [2.0, 0.0, 0.5, 0.0, 0.0, (-1f64).exp()]);
//! ```

pub mod check;
pub mod dual;
pub mod error;
#[cfg(feature = "faer")]
mod faer_impls;
pub mod function;
mod nalgebra_impls;
pub mod operators;
pub mod problems;
pub mod rule;
pub mod scalar;
pub mod tape;

pub use dual::Dual;
pub use error::AdError;
pub use function::{AsVector, ScalarFunction, VectorFunction};
pub use rule::{DependencyPattern, Rule, RuleError, is_f64};
pub use scalar::Scalar;
pub use tape::{HvpWorkspace, Recording, Tape, TapeError, TapeScalar, Var};
