//! The AD crate's error type.

use crate::rule::RuleError;
use crate::tape::TapeError;

/// Why a differentiation operator failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AdError {
    /// An argument has the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length the prepared operator expects.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The reverse-mode tape failed.
    #[error(transparent)]
    Tape(#[from] TapeError),
    /// A custom rule failed.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// An option is out of its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// An error of a backend defined in another crate (the sparse backend of tangent-sparsity,
    /// say), kept whole: `downcast_ref` recovers the original type.
    #[error("{0}")]
    Backend(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>),
}

impl PartialEq for AdError {
    /// Structural equality; two `Backend` errors are equal when they are the same allocation.
    fn eq(&self, other: &Self) -> bool {
        use AdError::*;
        match (self, other) {
            (
                DimensionMismatch {
                    what: a,
                    expected: b,
                    found: c,
                },
                DimensionMismatch {
                    what: x,
                    expected: y,
                    found: z,
                },
            ) => a == x && b == y && c == z,
            (Tape(a), Tape(b)) => a == b,
            (Rule(a), Rule(b)) => a == b,
            (InvalidArgument(a), InvalidArgument(b)) => a == b,
            (Backend(a), Backend(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Returns a dimension error unless `found == expected`.
#[inline]
pub(crate) fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), AdError> {
    if expected == found {
        Ok(())
    } else {
        Err(AdError::DimensionMismatch {
            what,
            expected,
            found,
        })
    }
}
