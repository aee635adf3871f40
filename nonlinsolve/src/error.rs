//! The error type of tangent-nonlinsolve: what failed, where, and with which residual.

use tangent_ad::RuleError;
use tangent_linsolve::LinsolveError;
use tangent_sparsity::SparsityError;

use crate::solution::{Stats, StopReason};

/// Why a nonlinear solve failed. Every variant says what failed and where; non-convergence
/// carries the reason, the last iterate and its residual so that the caller can inspect them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NonlinsolveError {
    /// A slice has the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The algorithm needs a square system (`m = n`) and the problem is a least-squares one.
    #[error("{algorithm} needs a square system, found {m} residuals for {n} unknowns")]
    NotSquare {
        /// The algorithm (or rule) that needs a square system.
        algorithm: &'static str,
        /// Residuals `m`.
        m: usize,
        /// Unknowns `n`.
        n: usize,
    },
    /// A least-squares problem needs at least as many residuals as unknowns.
    #[error("underdetermined problem: {m} residuals for {n} unknowns (need m ≥ n)")]
    Underdetermined {
        /// Residuals `m`.
        m: usize,
        /// Unknowns `n`.
        n: usize,
    },
    /// The initial guess or the parameters hold NaN or ±∞.
    #[error("non-finite {what} at index {index}")]
    NonFiniteInput {
        /// `"initial guess"` or `"parameters"`.
        what: &'static str,
        /// The first offending index.
        index: usize,
    },
    /// `F` returned NaN or ±∞ at an iterate the algorithm had to use (the initial guess, or a
    /// step taken without a line search).
    #[error("non-finite residual F[{index}] at iteration {iteration}")]
    NonFiniteResidual {
        /// The iteration (0: the initial guess).
        iteration: usize,
        /// The first non-finite component.
        index: usize,
    },
    /// The Jacobian holds NaN or ±∞ at an iterate.
    #[error("non-finite Jacobian entry ({row}, {col}) at iteration {iteration}")]
    NonFiniteJacobian {
        /// The iteration.
        iteration: usize,
        /// Row of the first offending entry.
        row: usize,
        /// Column of the first offending entry.
        col: usize,
    },
    /// The Jacobian is singular at an iterate (an exactly zero pivot in its factorisation).
    #[error("singular Jacobian at iteration {iteration} (zero pivot at column {pivot})")]
    SingularJacobian {
        /// The iteration.
        iteration: usize,
        /// The column whose pivot vanished.
        pivot: usize,
    },
    /// The iteration stopped without meeting the tolerances.
    #[error(
        "no convergence: {reason} after {iterations} iterations, residual ‖F‖∞ = {residual_norm:e}"
    )]
    NotConverged {
        /// Why it stopped.
        reason: StopReason,
        /// Iterations performed.
        iterations: usize,
        /// `‖F(u)‖∞` at the last iterate.
        residual_norm: f64,
        /// The last iterate `u` (length `n`).
        u: Vec<f64>,
        /// Counters of the failed solve.
        stats: Stats,
    },
    /// The problem has no hand-written Jacobian but [`JacobianMethod::User`] was asked for.
    ///
    /// [`JacobianMethod::User`]: crate::JacobianMethod::User
    #[error(
        "JacobianMethod::User needs NonlinearFunction::jacobian (or jacobian_pattern and sparse_jacobian)"
    )]
    NoUserJacobian,
    /// An option is out of its valid range.
    #[error("invalid option: {0}")]
    InvalidOption(&'static str),
    /// Sparsity detection or compressed Jacobian evaluation failed.
    #[error("sparse Jacobian: {0}")]
    Sparsity(#[from] SparsityError),
    /// The linear solver failed (other than a singular Jacobian).
    #[error("linear solver: {0}")]
    Linear(#[from] LinsolveError),
}

impl From<NonlinsolveError> for RuleError {
    fn from(e: NonlinsolveError) -> Self {
        RuleError::Failed(e.to_string())
    }
}

/// Checks a slice length.
pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), NonlinsolveError> {
    if expected == found {
        Ok(())
    } else {
        Err(NonlinsolveError::DimensionMismatch {
            what,
            expected,
            found,
        })
    }
}

/// The first non-finite entry of `v`, if any.
#[inline]
pub(crate) fn first_non_finite(v: &[f64]) -> Option<usize> {
    // A branch-free test first (vectorises); the search only when it fails.
    let probe: f64 = v.iter().map(|&x| x * 0.0).sum();
    if probe == 0.0 {
        None
    } else {
        v.iter().position(|x| !x.is_finite())
    }
}
