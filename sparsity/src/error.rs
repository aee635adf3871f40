//! The crate's error type.

use tangent_ad::{AdError, RuleError, TapeError};

/// Why sparsity detection, colouring or a compressed evaluation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SparsityError {
    /// An argument has the wrong length or shape.
    #[error("{what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length (or number of rows/columns) needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// In global mode the function compared a tracer that depends on the inputs, or asked for
    /// its value: the branch it takes is not the same for every input, so no pattern valid for
    /// all inputs can be read from one evaluation. Use local mode (`local_jacobian_sparsity`,
    /// `local_hessian_sparsity`, [`Detector::Local`](crate::Detector::Local)) for the pattern at
    /// a point.
    #[error(
        "global sparsity detection: the function used `{operation}` on a value that depends on the inputs (value-dependent control flow); use local detection at a point"
    )]
    ValueDependentControlFlow {
        /// The first offending operation (`"comparison"`, `"value()"`…).
        operation: &'static str,
    },
    /// A tracer of another detection (or made while no detection was running on this thread,
    /// e.g. on a worker thread) was used in this one, or is one of its outputs.
    #[error(
        "a tracer that does not belong to this detection was used (tracers must not outlive their detection nor cross threads)"
    )]
    ForeignTracer,
    /// More than `u32::MAX − 2` operations were traced.
    #[error("trace is full ({0} operations)")]
    TooLarge(usize),
    /// A rule applied to tracers failed.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The reverse-mode tape failed (reverse compressed Jacobians, sparse Hessians).
    #[error(transparent)]
    Tape(#[from] TapeError),
    /// A colouring does not fit the pattern it is used with, or is not structurally orthogonal.
    #[error("invalid colouring: {0}")]
    InvalidColoring(&'static str),
    /// A pattern is not usable here (not square for a Hessian, not symmetric…).
    #[error("invalid pattern: {0}")]
    InvalidPattern(&'static str),
    /// An option is out of its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl From<SparsityError> for AdError {
    /// Converts into the AD crate's error for the operator-API backend: dimension, rule and tape
    /// errors map onto their `AdError` counterparts, the others are kept whole in
    /// [`AdError::Backend`] (recover them with `downcast_ref::<SparsityError>()`).
    fn from(e: SparsityError) -> Self {
        match e {
            SparsityError::DimensionMismatch {
                what,
                expected,
                found,
            } => AdError::DimensionMismatch {
                what,
                expected,
                found,
            },
            SparsityError::Rule(r) => AdError::Rule(r),
            SparsityError::Tape(t) => AdError::Tape(t),
            other => AdError::Backend(std::sync::Arc::new(other)),
        }
    }
}

impl From<AdError> for SparsityError {
    fn from(e: AdError) -> Self {
        match e {
            AdError::DimensionMismatch {
                what,
                expected,
                found,
            } => SparsityError::DimensionMismatch {
                what,
                expected,
                found,
            },
            AdError::Tape(t) => SparsityError::Tape(t),
            AdError::Rule(r) => SparsityError::Rule(r),
            AdError::InvalidArgument(m) => SparsityError::InvalidArgument(m),
            AdError::Backend(b) => b
                .downcast_ref::<SparsityError>()
                .cloned()
                .unwrap_or(SparsityError::InvalidArgument("AD operator failed")),
            _ => SparsityError::InvalidArgument("AD operator failed"),
        }
    }
}

/// Returns a dimension error unless `found == expected`.
#[inline]
pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), SparsityError> {
    if expected == found {
        Ok(())
    } else {
        Err(SparsityError::DimensionMismatch {
            what,
            expected,
            found,
        })
    }
}
