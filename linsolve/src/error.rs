//! The error type of tangent-linsolve: what failed and where, never a panic.

use tangent_ad::RuleError;

/// Why a linear solve failed. Every variant says what failed and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinsolveError {
    /// The factorisation met an exactly zero (or non-finite) pivot: the matrix is singular
    /// (for QR: rank deficient). `pivot` is the column of the original matrix, 0-based.
    #[error("matrix is singular: zero pivot at column {pivot}")]
    Singular {
        /// The column (original numbering) whose pivot vanished.
        pivot: usize,
    },
    /// A Cholesky factorisation met a pivot that is not positive: the matrix is not symmetric
    /// positive definite.
    #[error("matrix is not positive definite: non-positive pivot at column {pivot}")]
    NotPositiveDefinite {
        /// The column (original numbering) whose pivot was not positive.
        pivot: usize,
    },
    /// A square matrix was required.
    #[error("{what} needs a square matrix, found {nrows} × {ncols}")]
    NotSquare {
        /// What needed it (an algorithm or operation).
        what: &'static str,
        /// Rows of the matrix given.
        nrows: usize,
        /// Columns of the matrix given.
        ncols: usize,
    },
    /// NaN or ±∞ in the input data.
    #[error("non-finite value in {what} at row {row}, column {col}")]
    NonFinite {
        /// `"matrix"` or `"right-hand side"`.
        what: &'static str,
        /// Row of the offending entry.
        row: usize,
        /// Column of the offending entry (the right-hand-side column for vectors).
        col: usize,
    },
    /// A slice or matrix has the wrong size.
    #[error("{what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The size required.
        expected: usize,
        /// The size given.
        found: usize,
    },
    /// A sparse matrix given to a cache does not have the sparsity pattern the cache was
    /// initialised with (the symbolic analysis is only valid for that pattern).
    #[error("sparsity pattern differs from the one the cache was initialised with ({what})")]
    PatternMismatch {
        /// What differs (storage order, column pointers, row indices).
        what: &'static str,
    },
    /// The sparse matrix is malformed or lacks a structural entry the algorithm needs.
    #[error("invalid sparse matrix: {what} (at index {index})")]
    InvalidSparse {
        /// What is wrong.
        what: &'static str,
        /// Where (a column, row or storage index, see `what`).
        index: usize,
    },
    /// A Krylov method stopped at its iteration limit before reaching the tolerance.
    #[error(
        "{method} did not converge in {iterations} iterations: residual {:e} > tolerance {tolerance:e}",
        residual_history.last().copied().unwrap_or(f64::NAN)
    )]
    NotConverged {
        /// The method (`"GMRES"`, `"CG"`, `"BiCGStab"`).
        method: &'static str,
        /// Iterations performed.
        iterations: usize,
        /// The residual norm `‖b − A x‖₂` at the start and after every iteration.
        residual_history: Vec<f64>,
        /// The absolute tolerance the residual had to reach.
        tolerance: f64,
    },
    /// A Krylov method broke down (a denominator vanished) before converging.
    #[error("{method} broke down at iteration {iteration} ({what}); last residual {residual:e}")]
    Breakdown {
        /// The method.
        method: &'static str,
        /// The iteration at which it broke down.
        iteration: usize,
        /// Which quantity vanished.
        what: &'static str,
        /// The residual norm reached.
        residual: f64,
    },
    /// The algorithm cannot do what was asked (e.g. a transpose solve with a matrix-free
    /// operator that has no transpose, or a direct method on a matrix-free operator).
    #[error("{algorithm} does not support {what}")]
    Unsupported {
        /// The algorithm.
        algorithm: &'static str,
        /// What it does not support.
        what: &'static str,
    },
    /// faer could not complete an operation (out of memory, index overflow).
    #[error("linear-algebra backend failed: {0}")]
    Backend(String),
}

impl From<LinsolveError> for RuleError {
    fn from(e: LinsolveError) -> Self {
        RuleError::Failed(e.to_string())
    }
}

/// Checks a slice length.
pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), LinsolveError> {
    if expected == found {
        Ok(())
    } else {
        Err(LinsolveError::DimensionMismatch {
            what,
            expected,
            found,
        })
    }
}

/// Checks that every entry of a column-major `nrows × k` block is finite.
pub(crate) fn check_finite(
    what: &'static str,
    nrows: usize,
    v: &[f64],
) -> Result<(), LinsolveError> {
    if all_finite(v) {
        return Ok(());
    }
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(p) => Err(LinsolveError::NonFinite {
            what,
            row: p % nrows.max(1),
            col: p / nrows.max(1),
        }),
    }
}

/// `true` when every entry is finite: a branch-free sum of `0·x` (±0 for finite `x`, NaN for NaN
/// and ±∞), which vectorises, unlike a search that stops at the first offender.
#[inline]
pub(crate) fn all_finite(v: &[f64]) -> bool {
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x * 0.0;
        }
    }
    let t: f64 = tail.iter().map(|&x| x * 0.0).sum();
    acc.iter().sum::<f64>() + t == 0.0
}
