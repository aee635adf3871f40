//! The AD crate's error type.

use crate::rule::RuleError;
use crate::tape::TapeError;

/// Why a differentiation operator failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
