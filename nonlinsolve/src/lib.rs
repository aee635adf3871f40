//! # tangent-nonlinsolve — nonlinear solvers with AD Jacobians and an implicit-function rule
//!
//! Solves `F(u, p) = 0` for `u ∈ Rⁿ` (square systems) and `min_u ½‖F(u, p)‖₂²` with
//! `F: Rⁿ → Rᵐ`, `m > n` (nonlinear least squares), in the spirit of Julia's
//! NonlinearSolve.jl, MINPACK and SUNDIALS' KINSOL:
//!
//! * **the problem** ([`NonlinearProblem`]): a residual written once, generic over
//!   [`Scalar`](tangent_ad::Scalar) ([`NonlinearFunction`]), an initial guess `u₀`, parameters
//!   `p` and the stopping [`NonlinearOptions`] (absolute and relative residual, step, gradient
//!   and reduction tolerances, an iteration limit, stall detection);
//! * **Jacobians** ([`JacobianMethod`], [`jacobian`]): dense forward mode, sparse forward mode
//!   with the pattern detected and the columns coloured once by tangent-sparsity, finite
//!   differences, or the user's own (dense or sparse); the default picks sparse coloured AD for
//!   large systems with sparse patterns;
//! * **algorithms** ([`algorithm`]): [`NewtonRaphson`] with a backtracking line search
//!   (quadratic/cubic interpolation) and optional factorisation reuse (chord/Shamanskii),
//!   Gauss–Newton for least squares; [`TrustRegion`] with Powell's dogleg;
//!   [`LevenbergMarquardt`] with Marquardt's scaling and Nielsen's damping update; [`Broyden`]
//!   with restarts. The linear algebra is tangent-linsolve's: dense or sparse LU, dense QR for
//!   least squares, Cholesky for the damped normal equations, with the symbolic analysis done
//!   once and numeric refactorisations in place;
//! * **prepare, then execute** ([`init`] → [`NonlinearCache`]): everything (pattern, colouring,
//!   dual buffers, symbolic factorisation, work vectors) is prepared once; each
//!   [`NonlinearCache::solve`] — with new parameters or a new initial guess — allocates nothing
//!   (tested with a counting allocator);
//! * **the solution** ([`NonlinearSolution`], [`SolveSummary`]): the residual norm, why it
//!   stopped ([`StopReason`]) and the counters ([`Stats`]: iterations, `F` and Jacobian
//!   evaluations, factorisations, linear solves, backtracks, rejected steps, restarts), with
//!   optional [`Timings`] of each part;
//! * **the implicit-function rule** ([`ImplicitSolveRule`], [`rule`]): `p ↦ u*(p)` as a
//!   [`tangent_ad::Rule`], differentiated by the implicit-function theorem through the
//!   factorisation of `∂F/∂u` at the solution — `u̇ = −J_u⁻¹ J_p ṗ` (forward),
//!   `J_uᵀ λ = ū`, `p̄ = −J_pᵀ λ` (reverse) — never through the iterations; usable inside any
//!   outer program in every AD mode, to second order;
//! * **errors** ([`NonlinsolveError`]): non-convergence with the reason, the last iterate and its
//!   residual; a singular Jacobian, a non-finite residual or Jacobian at iteration `k`; bad input
//!   — typed, never a panic;
//! * **reference problems** ([`problems`]): P7 (2-D Bratu) with its oracle and a subset of the
//!   Moré–Garbow–Hillstrom test set.
//!
//! ```
//! use tangent_ad::operators::{Reverse, gradient};
//! use tangent_ad::{Scalar, ScalarFunction};
//! use tangent_nonlinsolve::problems::Bratu;
//! use tangent_nonlinsolve::{
//!     Algorithm, ImplicitSolveRule, NewtonRaphson, NonlinearProblem, StopReason, init,
//! };
//!
//! // P7 on a 16 × 16 grid: Δu + λ eᵘ = 0, λ = 6, from u = 0.
//! let bratu = Bratu::new(16);
//! let problem = NonlinearProblem::new(bratu, bratu.start(), vec![6.0]);
//!
//! // Newton with the sparse Jacobian found and coloured automatically.
//! let mut cache = init(&problem, &NewtonRaphson::default().into()).unwrap();
//! assert_eq!(cache.jacobian_kind(), "sparse coloured");
//! let summary = cache.solve().unwrap();
//! assert_eq!(summary.reason, StopReason::ResidualAbsolute);
//! assert!(summary.residual_norm <= 1e-10 && summary.stats.iterations <= 6);
//!
//! // A new λ: same preparation, no allocation.
//! cache.set_parameters(&[5.0]).unwrap();
//! cache.solve().unwrap();
//!
//! // d(Σ u*)/dλ by the implicit-function theorem, in reverse mode.
//! struct SumU(ImplicitSolveRule<Bratu>);
//! impl ScalarFunction for SumU {
//!     fn eval<S: Scalar>(&self, p: &[S]) -> S {
//!         let mut u = vec![S::zero(); self.0.n()];
//!         self.0.solve(p, &mut u).unwrap();
//!         u.iter().copied().sum()
//!     }
//! }
//! let rule = ImplicitSolveRule::new(&problem, &Algorithm::default()).unwrap();
//! let mut g = [0.0];
//! gradient(&SumU(rule.clone()), &Reverse, &[6.0], &mut g).unwrap();
//! // Against central differences of two whole solves.
//! let sum_at = |lambda: f64| {
//!     let mut u = vec![0.0; rule.n()];
//!     rule.solve(&[lambda], &mut u).unwrap();
//!     u.iter().sum::<f64>()
//! };
//! let h = 1e-4;
//! let fd = (sum_at(6.0 + h) - sum_at(6.0 - h)) / (2.0 * h);
//! assert!((g[0] - fd).abs() <= 1e-6 * g[0].abs());
//! ```

pub mod algorithm;
mod broyden;
pub mod cache;
pub mod error;
pub mod jacobian;
mod levenberg_marquardt;
mod newton;
mod params;
pub mod problem;
pub mod problems;
pub mod rule;
pub mod solution;
mod trust_region;

pub use algorithm::{
    Algorithm, Backtracking, Broyden, JacobianReuse, LevenbergMarquardt, LineSearch, NewtonRaphson,
    TrustRegion,
};
pub use cache::{NonlinearCache, init, solve};
pub use error::NonlinsolveError;
pub use jacobian::{DifferenceScheme, JacobianMethod, SparseOptions};
pub use problem::{NonlinearFunction, NonlinearOptions, NonlinearProblem};
pub use rule::{ImplicitSolveRule, ImplicitState};
pub use solution::{NonlinearSolution, SolveSummary, Stats, StopReason, Timings};
