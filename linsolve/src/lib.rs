//! # tangent-linsolve — linear solvers with factorisation reuse and a differentiation rule
//!
//! One interface over many algorithms, in the spirit of Julia's LinearSolve.jl:
//!
//! * **problems** ([`LinearProblem`]): `A x = b` with `A` dense (faer `Mat`, nalgebra `DMatrix`),
//!   sparse (`sprs::CsMat`, CSC or CSR) or matrix-free ([`LinearOperator`], [`MatrixFree`]);
//!   one or several right-hand sides;
//! * **algorithms** ([`LinearAlgorithm`]): dense LU with partial pivoting, Cholesky and
//!   Householder QR (least squares, minimum norm) on faer; sparse LU (a supernodal multifrontal
//!   LU with refactorisation as pure arithmetic, or faer's pivoting LU) and sparse Cholesky
//!   with the symbolic analysis done once; restarted GMRES, CG and BiCGStab with Jacobi, ILU(0)
//!   or user preconditioners; a default that chooses by structure ([`algorithm`]);
//! * **the cache** ([`init`] → [`LinearCache`]): `set_matrix` / `set_rhs` / `solve` /
//!   `solve_transpose` reuse the symbolic analysis, the factorisation and every buffer, and
//!   allocate nothing after `init` (direct and Krylov methods alike, tested with a counting
//!   allocator; the exceptions are listed in [`cache`]);
//! * **the rule** ([`LinearSolveRule`]): `x(A, b) = A⁻¹ b` as a [`tangent_ad::Rule`], so any
//!   program that solves a linear system is differentiable in forward and reverse mode (and to
//!   second order), for dense and sparse `A`, through the factorisation the primal computed:
//!   `ẋ = A⁻¹(ḃ − Ȧx)`, `b̄ = A⁻ᵀx̄`, `Ā = −b̄xᵀ` on `A`'s pattern;
//! * **errors** ([`LinsolveError`]): a singular matrix with the failing pivot, a non-square
//!   matrix where a square one is needed, NaN in the data, dimension mismatches, Krylov
//!   non-convergence with the residual history — typed, never a panic.
//!
//! ```
//! use tangent_linsolve::{init, solve, LinearAlgorithm, LinearProblem, LinearSolveRule, SparseLu};
//! use tangent_ad::operators::{gradient, Reverse};
//! use tangent_ad::{Scalar, ScalarFunction};
//!
//! // A sparse system: the 2-D Poisson matrix on a 4 × 4 grid.
//! let a = tangent_linsolve::problems::poisson_2d(4);
//! let b = vec![1.0; 16];
//! let prob = LinearProblem::new(a.clone(), b.clone());
//! let sol = solve(&prob, &LinearAlgorithm::Auto).unwrap();
//! let mut r = vec![0.0; 16];
//! sprs::prod::mul_acc_mat_vec_csc(a.view(), &sol.x[..], &mut r[..]);
//! assert!(r.iter().all(|ri| (ri - 1.0).abs() < 1e-13));
//!
//! // Repeated solves: symbolic analysis once, numeric refactorisation per new matrix.
//! let mut cache = init(&prob, &SparseLu::default().into()).unwrap();
//! cache.solve().unwrap();
//! cache.set_matrix(&a.map(|v| 2.0 * v)).unwrap();
//! let half = cache.solve().unwrap();
//! assert!((half[5] - sol.x[5] / 2.0).abs() < 1e-14);
//!
//! // Differentiate L(b) = Σ xᵢ with x = A⁻¹ b in reverse mode: ∇L = A⁻ᵀ 1.
//! struct Loss(LinearSolveRule, Vec<f64>);
//! impl ScalarFunction for Loss {
//!     fn eval<S: Scalar>(&self, b: &[S]) -> S {
//!         let values: Vec<S> = self.1.iter().map(|&v| S::cst(v)).collect();
//!         let mut x = vec![S::zero(); b.len()];
//!         self.0.solve(&values, b, &mut x).unwrap();
//!         x.iter().copied().sum()
//!     }
//! }
//! let loss = Loss(LinearSolveRule::sparse(&a).unwrap(), a.data().to_vec());
//! let mut g = vec![0.0; 16];
//! gradient(&loss, &Reverse, &b, &mut g).unwrap();
//! for i in 0..16 {
//!     assert!((g[i] - sol.x[i]).abs() < 1e-13); // A is symmetric: A⁻ᵀ 1 = A⁻¹ 1
//! }
//! ```

/// faer, re-exported so that dense matrices are built with the version this crate uses.
pub use faer;
/// sprs, re-exported so that sparse matrices are built with the version this crate uses.
pub use sprs;

pub mod algorithm;
pub mod cache;
mod dense;
pub mod error;
pub mod krylov;
pub mod matrix;
mod problem;
pub mod problems;
pub mod rule;
mod sparse;

pub use algorithm::{
    BiCgStab, Cg, DenseCholesky, DenseLu, DenseQr, FaerVariant, Gmres, KrylovTolerances,
    LinearAlgorithm, Ordering, SparseCholesky, SparseLu, SparseLuMethod,
};
pub use cache::{LinearCache, init, solve};
pub use error::LinsolveError;
pub use krylov::{Preconditioner, PreconditionerOp};
pub use matrix::{LinearOperator, Matrix, MatrixFree, MatrixRef};
pub use problem::{LinearProblem, LinearSolution, LinearStats, SparseLuSummary, Termination};
pub use rule::{LinearSolveRule, LinearSolveState};
