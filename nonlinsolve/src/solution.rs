//! The solution, the reason a solve stopped, and the counters.

use core::fmt;
use std::time::Duration;

/// Why an iteration stopped. The first five are successes ([`StopReason::is_success`]); the
/// others come back inside [`NonlinsolveError::NotConverged`](crate::NonlinsolveError).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `‖F(u)‖∞ ≤ abstol`.
    ResidualAbsolute,
    /// `‖F(u)‖∞ ≤ reltol · ‖F(u₀)‖∞`.
    ResidualRelative,
    /// The last step was below the step tolerance (see
    /// [`NonlinearOptions`](crate::NonlinearOptions)).
    SmallStep,
    /// Least squares: `F` is orthogonal to the columns of `J` within `gradient_tol` (a
    /// stationary point of `½‖F‖²`).
    SmallGradient,
    /// Trust region and Levenberg–Marquardt: the predicted and actual reductions of `½‖F‖²`
    /// fell below `reduction_tol` relative to it.
    SmallReduction,
    /// The iteration limit was reached.
    MaxIterations,
    /// `‖F‖∞` stopped decreasing (see [`NonlinearOptions`](crate::NonlinearOptions)).
    Stalled,
    /// The line search found no sufficient decrease along the search direction.
    LineSearchFailed,
    /// The trust region shrank below the step tolerance without an acceptable step.
    TrustRegionTooSmall,
    /// A square system reached a stationary point of `½‖F‖²` (`Jᵀ F ≈ 0`) where `F ≠ 0`: a
    /// local minimum of the residual norm that is not a root.
    LocalMinimum,
}

impl StopReason {
    /// `true` for the converged reasons.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            StopReason::ResidualAbsolute
                | StopReason::ResidualRelative
                | StopReason::SmallStep
                | StopReason::SmallGradient
                | StopReason::SmallReduction
        )
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::ResidualAbsolute => "absolute residual tolerance reached",
            StopReason::ResidualRelative => "relative residual tolerance reached",
            StopReason::SmallStep => "step below the step tolerance",
            StopReason::SmallGradient => "gradient of ½‖F‖² below tolerance",
            StopReason::SmallReduction => "reduction of ½‖F‖² below tolerance",
            StopReason::MaxIterations => "iteration limit reached",
            StopReason::Stalled => "residual stalled",
            StopReason::LineSearchFailed => "line search failed",
            StopReason::TrustRegionTooSmall => "trust region too small",
            StopReason::LocalMinimum => "local minimum of ‖F‖ that is not a root",
        })
    }
}

/// Counters of one solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Iterations (Jacobians or trial steps, see [`NonlinearOptions`](crate::NonlinearOptions)).
    pub iterations: usize,
    /// Evaluations of `F` (on `f64`; the forward-mode Jacobian passes are not counted here).
    pub residual_evaluations: usize,
    /// Jacobian evaluations `∂F/∂u`.
    pub jacobian_evaluations: usize,
    /// Numeric factorisations of the linear solver.
    pub factorizations: usize,
    /// Linear solves (right-hand sides).
    pub linear_solves: usize,
    /// Line-search step reductions.
    pub backtracks: usize,
    /// Rejected trust-region or damping trials.
    pub rejected_steps: usize,
    /// Broyden restarts (a fresh Jacobian after the first).
    pub restarts: usize,
}

/// Time spent in the parts of a solve (zero unless
/// [`NonlinearOptions::timings`](crate::NonlinearOptions) is on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Evaluating `F`.
    pub residual: Duration,
    /// Evaluating Jacobians (for LM, including `JᵀJ`).
    pub jacobian: Duration,
    /// Numeric factorisations.
    pub factorization: Duration,
    /// Triangular solves.
    pub linear_solve: Duration,
    /// The whole solve.
    pub total: Duration,
}

/// What a cache's [`solve`](crate::NonlinearCache::solve) returns: everything except the
/// vectors, which stay in the cache (no allocation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolveSummary {
    /// Why it stopped (a success).
    pub reason: StopReason,
    /// `‖F(u)‖∞` at the solution.
    pub residual_norm: f64,
    /// Counters.
    pub stats: Stats,
    /// Times (zero unless measured).
    pub timings: Timings,
}

/// The result of [`solve`](crate::solve).
#[derive(Clone, Debug, PartialEq)]
pub struct NonlinearSolution {
    /// The solution `u` (length `n`).
    pub u: Vec<f64>,
    /// The residual `F(u, p)` (length `m`).
    pub residual: Vec<f64>,
    /// `‖F(u)‖∞`.
    pub residual_norm: f64,
    /// Why it stopped (a success).
    pub reason: StopReason,
    /// Counters.
    pub stats: Stats,
    /// Times (zero unless measured).
    pub timings: Timings,
}
