//! The error type of tangent-ode: what failed and where, never a panic.
//!
//! Two kinds of failure:
//!
//! * **bad input**, found by [`init`](crate::init) before any step is taken (dimension mismatches,
//!   non-finite initial values, invalid tolerances, `saveat` times out of order or outside the
//!   span);
//! * **integration failures** during the solve (a non-finite right-hand side or Jacobian, a step
//!   size below the minimum, the step budget exhausted, a singular iteration matrix of an
//!   implicit method). Each of these variants carries the *partial
//!   solution*: everything saved up to the last accepted step, with its counters, a dense output
//!   (when enabled) valid up to that point, and a [`ReturnCode`](crate::ReturnCode) naming the
//!   failure. [`OdeError::partial_solution`] reaches it without matching on the variant.

use crate::solution::Solution;

/// Why an ODE solve (or a query on its solution) failed. Every variant says what failed and
/// where; integration failures keep the partial solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OdeError {
    /// A slice has the wrong length (`u0` against `atol`, a parameter vector against the
    /// integrator's, an output buffer against the state dimension).
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// NaN or ±∞ in the input data (`u0`, `p`, a tolerance, a `saveat` time).
    #[error("non-finite value {value} in {what} at index {index}")]
    NonFiniteInput {
        /// Which input.
        what: &'static str,
        /// Index of the offending entry.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The time span has a non-finite end point.
    #[error("invalid time span ({t0}, {t1}): both ends must be finite")]
    InvalidTimeSpan {
        /// Start of the span.
        t0: f64,
        /// End of the span.
        t1: f64,
    },
    /// An option is out of its range (a negative tolerance, a zero step, `max_steps = 0`, a fixed
    /// step size missing when `adaptive` is off).
    #[error("invalid option {what} = {value}: {reason}")]
    InvalidOption {
        /// The option's name.
        what: &'static str,
        /// The value given (NaN where the option has no numeric value).
        value: f64,
        /// What the option requires.
        reason: &'static str,
    },
    /// A `saveat` time lies outside the time span or breaks the order of integration (times
    /// must be strictly increasing for forward integration, strictly decreasing for backward).
    #[error("saveat[{index}] = {t} {reason}")]
    InvalidSaveat {
        /// Position in `saveat`.
        index: usize,
        /// The time.
        t: f64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The right-hand side returned NaN or ±∞ at time `t` (component `component`), and no smaller
    /// step avoided it. `solution` holds everything up to the last accepted step.
    #[error(
        "right-hand side is not finite at t = {t} (component {component}: {value}); partial solution kept up to t = {}",
        solution.end_time()
    )]
    NonFiniteRhs {
        /// The time at which the right-hand side was evaluated.
        t: f64,
        /// The first non-finite component.
        component: usize,
        /// Its value.
        value: f64,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The step size fell below the minimum (the `min_step` option, or what floating point can
    /// resolve at `t`) — typically a singularity or a stiff problem for an explicit method.
    #[error(
        "step size {h:e} below the minimum {min_step:e} at t = {t}; partial solution kept up to t = {}",
        solution.end_time()
    )]
    StepSizeTooSmall {
        /// The time of the last accepted step.
        t: f64,
        /// The step size that was rejected as too small.
        h: f64,
        /// The minimum step size in force at `t`.
        min_step: f64,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The maximum number of accepted steps was reached before the end of the time span.
    #[error(
        "maximum number of steps ({max_steps}) reached at t = {t}; partial solution kept up to t = {}",
        solution.end_time()
    )]
    MaxStepsReached {
        /// The time reached.
        t: f64,
        /// The step budget (`max_steps`).
        max_steps: usize,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The iteration matrix `I − c J` of an implicit method was singular at time `t` and no
    /// smaller step (which moves it towards the identity) was possible: a fixed step size, or the
    /// step shrank to the minimum.
    #[error(
        "singular iteration matrix at t = {t} (step {h:e}, zero pivot at column {pivot}); partial solution kept up to t = {}",
        solution.end_time()
    )]
    SingularIterationMatrix {
        /// The time of the last accepted step.
        t: f64,
        /// The step size whose matrix was singular.
        h: f64,
        /// The column of the failing pivot (0-based).
        pivot: usize,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The Jacobian `∂f/∂u` evaluated at time `t` has a non-finite entry.
    #[error(
        "Jacobian is not finite at t = {t} (entry ({row}, {column})); partial solution kept up to t = {}",
        solution.end_time()
    )]
    NonFiniteJacobian {
        /// The time of the evaluation.
        t: f64,
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        column: usize,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The Newton iteration of an implicit method did not converge in a fixed-step solve
    /// (`adaptive = false`), where the step cannot be reduced. (Adaptive solves reduce the step
    /// instead, and fail with [`OdeError::StepSizeTooSmall`] if that does not help.)
    #[error(
        "Newton iteration did not converge at t = {t} with the fixed step {h:e}; partial solution kept up to t = {}",
        solution.end_time()
    )]
    ConvergenceFailure {
        /// The time of the last accepted step.
        t: f64,
        /// The step size.
        h: f64,
        /// The partial solution.
        solution: Box<Solution>,
    },
    /// The Jacobian of a stiff method could not be prepared (sparsity detection, colouring, or a
    /// user-supplied pattern that is not `n × n`).
    #[error("cannot prepare the Jacobian: {0}")]
    Jacobian(#[from] tangent_sparsity::SparsityError),
    /// The linear solver of a stiff method could not be prepared (symbolic analysis).
    #[error("cannot prepare the linear solver: {0}")]
    LinearSolver(#[from] tangent_linsolve::LinsolveError),
    /// [`Solution::at`] was asked for a time outside the interval the solution covers.
    #[error("t = {t} is outside the solution's interval [{start}, {end}]")]
    OutsideSolution {
        /// The time asked for.
        t: f64,
        /// Start of the solution (the span's `t0`).
        start: f64,
        /// Where the solution ends (the span's `t1`, an event time, or a failure time).
        end: f64,
    },
    /// [`Solution::at`] needs the dense output, which was switched off (`dense = false`).
    #[error("the solution has no dense output (solve with `dense: true` to interpolate)")]
    NoDenseOutput,
}

impl OdeError {
    /// The partial solution kept by an integration failure ([`OdeError::NonFiniteRhs`],
    /// [`OdeError::StepSizeTooSmall`], [`OdeError::MaxStepsReached`],
    /// [`OdeError::SingularIterationMatrix`], [`OdeError::NonFiniteJacobian`],
    /// [`OdeError::ConvergenceFailure`]); `None` for input
    /// and set-up errors.
    pub fn partial_solution(&self) -> Option<&Solution> {
        match self {
            Self::NonFiniteRhs { solution, .. }
            | Self::StepSizeTooSmall { solution, .. }
            | Self::MaxStepsReached { solution, .. }
            | Self::SingularIterationMatrix { solution, .. }
            | Self::NonFiniteJacobian { solution, .. }
            | Self::ConvergenceFailure { solution, .. } => Some(solution),
            _ => None,
        }
    }

    /// Moves the partial solution out of an integration failure; `None` for input errors.
    pub fn into_partial_solution(self) -> Option<Solution> {
        match self {
            Self::NonFiniteRhs { solution, .. }
            | Self::StepSizeTooSmall { solution, .. }
            | Self::MaxStepsReached { solution, .. }
            | Self::SingularIterationMatrix { solution, .. }
            | Self::NonFiniteJacobian { solution, .. }
            | Self::ConvergenceFailure { solution, .. } => Some(*solution),
            _ => None,
        }
    }
}
