//! The crate's error type.

use tangent_ad::RuleError;

/// Why an integral could not be computed to the requested tolerance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuadratureError {
    /// The integrand returned a NaN or an infinity.
    #[error("integrand is not finite at x = {x:?} (component {component}: {value})")]
    NonFiniteIntegrand {
        /// The point (one coordinate per dimension; length 1 for 1-D integrals).
        x: Vec<f64>,
        /// Which output component.
        component: usize,
        /// The value returned.
        value: f64,
    },
    /// An interval or box is not valid (NaN endpoint, or both endpoints the same infinity, or
    /// an infinite side in a cubature box).
    #[error("invalid interval [{lower}, {upper}]{}", dimension.map(|d| format!(" in dimension {d}")).unwrap_or_default())]
    InvalidInterval {
        /// Lower endpoint.
        lower: f64,
        /// Upper endpoint.
        upper: f64,
        /// The axis, for boxes.
        dimension: Option<usize>,
    },
    /// A breakpoint lies outside the interval or is not finite.
    #[error("breakpoint {point} is not inside [{lower}, {upper}]")]
    InvalidBreakpoint {
        /// The breakpoint.
        point: f64,
        /// Lower endpoint of the interval.
        lower: f64,
        /// Upper endpoint of the interval.
        upper: f64,
    },
    /// The adaptive integrator stopped before meeting the tolerance; `value` and `error` hold
    /// its estimate when it stopped.
    #[error(
        "tolerance not met ({reason}): estimated error {error:e} > tolerance {tolerance:e} after {evaluations} evaluations"
    )]
    ToleranceNotMet {
        /// The estimate of the integral when the integrator stopped (one entry per component).
        value: Vec<f64>,
        /// Its estimated absolute error (in the problem's norm).
        error: f64,
        /// The tolerance `max(atol, rtol·‖I‖)` it had to meet.
        tolerance: f64,
        /// Integrand evaluations spent.
        evaluations: usize,
        /// Why it stopped.
        reason: StopReason,
    },
    /// A slice has the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// An option or argument is out of its valid range.
    #[error("invalid {what}: {reason}")]
    InvalidOption {
        /// Which option.
        what: &'static str,
        /// What is required.
        reason: &'static str,
    },
}

/// Why an adaptive integrator stopped before meeting its tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum StopReason {
    /// The evaluation budget `max_evaluations` would be exceeded by the next subdivision.
    MaxEvaluations,
    /// The partition reached `max_subdivisions` pieces.
    MaxSubdivisions,
    /// The rounding-error floor of the rule (50 ε ∫|f| summed over the pieces) already exceeds
    /// the tolerance: no subdivision can meet it (QUADPACK's `ier = 2`). Loosen `rtol` or set
    /// `atol`.
    RoundoffLimit,
    /// The piece with the largest error is too small to bisect in floating point, near `x`
    /// (a non-integrable singularity or a discontinuity there; QUADPACK's `ier = 3`).
    IntervalTooSmall {
        /// Centre of the piece, in the integration variable.
        x: f64,
    },
}

impl core::fmt::Display for StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MaxEvaluations => write!(f, "evaluation limit reached"),
            Self::MaxSubdivisions => write!(f, "subdivision limit reached"),
            Self::RoundoffLimit => write!(f, "rounding error prevents the tolerance"),
            Self::IntervalTooSmall { x } => {
                write!(f, "interval too small to bisect near x = {x}")
            }
        }
    }
}

impl From<QuadratureError> for RuleError {
    fn from(e: QuadratureError) -> Self {
        RuleError::Failed(format!("quadrature: {e}"))
    }
}
