//! The problem, the solution and the counters.

use crate::matrix::Matrix;

/// `A x = b`: the matrix (dense, sparse or an operator), one or more right-hand sides, and
/// whether `A` is declared symmetric positive definite (which the default algorithm uses).
///
/// `b` holds `k ≥ 1` right-hand sides column-major: `b.len() = nrows · k`.
///
/// ```
/// use tangent_linsolve::{LinearProblem, solve, LinearAlgorithm};
/// let a = faer::mat![[4.0, 1.0], [1.0, 3.0]];
/// let prob = LinearProblem::new(a, vec![1.0, 2.0]).spd(true);
/// let sol = solve(&prob, &LinearAlgorithm::Auto).unwrap();
/// assert_eq!(sol.algorithm, "DenseCholesky");
/// assert!((sol.x[0] - 1.0 / 11.0).abs() < 1e-15 && (sol.x[1] - 7.0 / 11.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct LinearProblem {
    /// The matrix `A` (`m × n`).
    pub a: Matrix,
    /// Right-hand sides, column-major, `m · k` values.
    pub b: Vec<f64>,
    /// `A` is declared symmetric positive definite.
    pub spd: bool,
}

impl LinearProblem {
    /// `A x = b` with `A` not declared SPD.
    pub fn new(a: impl Into<Matrix>, b: Vec<f64>) -> Self {
        Self {
            a: a.into(),
            b,
            spd: false,
        }
    }

    /// Declares `A` symmetric positive definite (or not).
    pub fn spd(mut self, spd: bool) -> Self {
        self.spd = spd;
        self
    }
}

/// How a solve ended.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Termination {
    /// A direct method: factorise (or reuse the factors) and substitute.
    Direct,
    /// A Krylov method reached its tolerance.
    Converged {
        /// Iterations used (for several right-hand sides: the largest count).
        iterations: usize,
        /// The final residual norm `‖b − A x‖₂` (largest over right-hand sides).
        residual: f64,
    },
}

/// Counters of a cache, cumulative since `init`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinearStats {
    /// Symbolic analyses (orderings, elimination trees) — one per sparse cache.
    pub symbolic_factorizations: usize,
    /// Numeric factorisations (and preconditioner constructions for Krylov methods).
    pub factorizations: usize,
    /// Sparse LU factorisations where the multifrontal kernel's static pivots were not stable
    /// enough and faer's pivoting LU took over.
    pub pivoting_fallbacks: usize,
    /// Solves with `A` (each right-hand side counts).
    pub solves: usize,
    /// Solves with `Aᵀ`.
    pub transpose_solves: usize,
    /// Krylov iterations.
    pub iterations: usize,
}

/// The result of [`solve`](crate::solve).
#[derive(Clone, Debug)]
pub struct LinearSolution {
    /// The solution(s), column-major, `n · k` values.
    pub x: Vec<f64>,
    /// The algorithm that ran (after resolving `Auto`).
    pub algorithm: &'static str,
    /// How the solve ended.
    pub termination: Termination,
    /// Counters.
    pub stats: LinearStats,
    /// Krylov methods: the residual norm at the start and after every iteration of the last
    /// right-hand side; empty for direct methods.
    pub residual_history: Vec<f64>,
}

/// Size of a sparse LU factorisation, for diagnostics and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseLuSummary {
    /// `"multifrontal"` or `"faer"` (the kernel holding the current factors).
    pub kernel: &'static str,
    /// Supernodes of the multifrontal kernel's analysis (0 for faer's).
    pub supernodes: usize,
    /// Stored entries of `L` and `U` in the multifrontal layout, including the explicit zeros of
    /// relaxed supernodes (0 for faer's).
    pub factor_entries: usize,
    /// Floating-point operations of one multifrontal numeric factorisation (0 for faer's).
    pub flops: f64,
    /// Largest frontal matrix order (0 for faer's).
    pub max_front: usize,
}
