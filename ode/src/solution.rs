//! The solution: saved times and states, the continuous interpolant, counters, return code.
//!
//! # Dense output
//!
//! Every method of this crate writes the interpolant of an accepted step from `t_j` with step
//! size `h_j` as a polynomial in `θ = (t − t_j)/h_j ∈ [0, 1]`,
//!
//! ```text
//! ũ(t_j + θ h_j) = Σ_{m=0}^{d_j} θ^m r_{j,m},      r_{j,m} ∈ Rⁿ,  r_{j,0} = u_j,
//! ```
//!
//! (for a Runge–Kutta method `r_{j,m} = h_j Σ_i β_{i,m} k_i` with the method's interpolation
//! weights `b_i(θ) = Σ_m β_{i,m} θ^m`; a multistep method's Nordsieck array gives the same form).
//! The solution stores the coefficient vectors of every step, so [`Solution::at`] needs no access
//! to `f`, the solution serialises as plain data, and every method — explicit or stiff — shares
//! one evaluation routine (Horner's scheme, `d_j · n` multiply–adds).

use serde::{Deserialize, Serialize};

use crate::error::OdeError;
use crate::event::EventRecord;

/// Counters of a solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Evaluations of the right-hand side `f` (including those of the initial-step heuristic,
    /// of rejected steps and of interpolation stages).
    pub rhs_evaluations: usize,
    /// Evaluations of the Jacobian `∂f/∂u` (stiff methods).
    pub jacobian_evaluations: usize,
    /// Factorisations of the iteration matrix (stiff methods).
    pub factorizations: usize,
    /// Linear solves with a factorised iteration matrix (stiff methods).
    pub linear_solves: usize,
    /// Accepted steps.
    pub accepted_steps: usize,
    /// Rejected steps (error estimate above tolerance, a non-finite right-hand side, a Newton
    /// iteration that failed, a singular iteration matrix).
    pub rejected_steps: usize,
    /// Newton iterations of the implicit methods (each costs one evaluation of `f` and one
    /// linear solve).
    #[serde(default)]
    pub newton_iterations: usize,
    /// Steps rejected because their Newton iteration did not converge.
    #[serde(default)]
    pub convergence_failures: usize,
}

/// How a solve ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReturnCode {
    /// Reached the end of the time span.
    #[default]
    Success,
    /// Stopped at a terminal event (see [`Solution::events`]).
    Terminated,
    /// Stopped because the right-hand side returned NaN or ±∞
    /// ([`OdeError::NonFiniteRhs`]).
    NonFiniteRhs,
    /// Stopped because the step size fell below the minimum ([`OdeError::StepSizeTooSmall`]).
    StepSizeTooSmall,
    /// Stopped after the maximum number of steps ([`OdeError::MaxStepsReached`]).
    MaxStepsReached,
    /// Stopped on a singular iteration matrix ([`OdeError::SingularIterationMatrix`]).
    SingularIterationMatrix,
    /// Stopped on a non-finite Jacobian ([`OdeError::NonFiniteJacobian`]).
    NonFiniteJacobian,
    /// Stopped on a Newton failure in a fixed-step solve ([`OdeError::ConvergenceFailure`]).
    ConvergenceFailure,
}

impl ReturnCode {
    /// `true` for [`ReturnCode::Success`] and [`ReturnCode::Terminated`].
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::Terminated)
    }
}

/// The continuous interpolant of a solve: one polynomial per accepted step (see the module
/// documentation), plus a final block holding the end state.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DenseOutput {
    /// State dimension.
    n: usize,
    /// Start time of each block (the last block starts, and ends, at the solution's end).
    starts: Vec<f64>,
    /// Step size of each block (0 for the final block).
    steps: Vec<f64>,
    /// Offset of each block in `coefficients`; one more entry than blocks.
    offsets: Vec<usize>,
    /// Coefficient vectors, block after block, `(degree + 1) · n` numbers per block, `r_m`
    /// contiguous.
    coefficients: Vec<f64>,
}

/// A summary, not the coefficients.
impl core::fmt::Debug for DenseOutput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DenseOutput")
            .field("dim", &self.n)
            .field("pieces", &self.pieces())
            .field("coefficients", &self.coefficients.len())
            .finish()
    }
}

impl DenseOutput {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            n,
            starts: Vec::new(),
            steps: Vec::new(),
            offsets: vec![0],
            coefficients: Vec::new(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.starts.clear();
        self.steps.clear();
        self.offsets.clear();
        self.offsets.push(0);
        self.coefficients.clear();
    }

    pub(crate) fn reserve_steps(&mut self, steps: usize, coefficients_per_step: usize) {
        self.starts.reserve(steps + 1);
        self.steps.reserve(steps + 1);
        self.offsets.reserve(steps + 2);
        self.coefficients
            .reserve((steps + 1) * coefficients_per_step);
    }

    /// The coefficient storage, for a stepper to append one block; close it with
    /// [`DenseOutput::finish_block`].
    pub(crate) fn coefficients_mut(&mut self) -> &mut Vec<f64> {
        &mut self.coefficients
    }

    /// Records the block just appended to the coefficients.
    pub(crate) fn finish_block(&mut self, start: f64, step: f64) {
        self.starts.push(start);
        self.steps.push(step);
        self.offsets.push(self.coefficients.len());
    }

    /// Number of polynomial pieces (accepted steps covered).
    pub fn pieces(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Evaluates the interpolant at `t` into `out` (length `n`); `t` must lie in the covered
    /// interval (checked by the caller) and the output length must be `n`.
    fn eval(&self, t: f64, out: &mut [f64]) -> bool {
        let blocks = self.starts.len();
        if blocks == 0 || out.len() != self.n || self.offsets.len() != blocks + 1 {
            return false;
        }
        let first = self.starts[0];
        let last = self.starts[blocks - 1];
        let dir = if last >= first { 1.0 } else { -1.0 };
        // The last block j with dir·(start_j − t) ≤ 0.
        let j = self
            .starts
            .partition_point(|&s| dir * (s - t) <= 0.0)
            .saturating_sub(1);
        let (lo, hi) = (self.offsets[j], self.offsets[j + 1]);
        let n = self.n;
        if hi < lo || hi > self.coefficients.len() || n == 0 {
            return n == 0;
        }
        let block = &self.coefficients[lo..hi];
        let terms = block.len() / n;
        if terms == 0 || terms * n != block.len() {
            return false;
        }
        let h = self.steps[j];
        let theta = if h != 0.0 {
            (t - self.starts[j]) / h
        } else {
            0.0
        };
        // Horner: r_d, then θ·acc + r_{m}.
        out.copy_from_slice(&block[(terms - 1) * n..terms * n]);
        for m in (0..terms - 1).rev() {
            let r = &block[m * n..(m + 1) * n];
            for (o, &ri) in out.iter_mut().zip(r) {
                *o = *o * theta + ri;
            }
        }
        true
    }
}

/// The result of a solve: the saved times and states, the dense output, counters, events and
/// the return code.
///
/// States are stored contiguously: state `i` (at `times()[i]`) is
/// `states()[i * dim() .. (i + 1) * dim()]`, also reachable as [`Solution::state`].
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    n: usize,
    t_start: f64,
    t_end: f64,
    times: Vec<f64>,
    states: Vec<f64>,
    dense: Option<DenseOutput>,
    stats: Stats,
    retcode: ReturnCode,
    events: Vec<EventRecord>,
    event_states: Vec<f64>,
}

/// A summary (dimension, saved points, interval, return code, counters), not the data: a solution
/// of a large system holds millions of numbers.
impl core::fmt::Debug for Solution {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Solution")
            .field("dim", &self.n)
            .field("saved_points", &self.times.len())
            .field("t_start", &self.t_start)
            .field("t_end", &self.t_end)
            .field("retcode", &self.retcode)
            .field("stats", &self.stats)
            .field("events", &self.events.len())
            .field(
                "dense_pieces",
                &self.dense.as_ref().map(DenseOutput::pieces),
            )
            .finish()
    }
}

impl Solution {
    pub(crate) fn new(n: usize, dense: bool) -> Self {
        Self {
            n,
            dense: dense.then(|| DenseOutput::new(n)),
            ..Default::default()
        }
    }

    /// Clears the stored data, keeping every buffer's capacity.
    pub(crate) fn reset(&mut self, t_start: f64) {
        self.t_start = t_start;
        self.t_end = t_start;
        self.times.clear();
        self.states.clear();
        if let Some(d) = &mut self.dense {
            d.clear();
        }
        self.stats = Stats::default();
        self.retcode = ReturnCode::Success;
        self.events.clear();
        self.event_states.clear();
    }

    pub(crate) fn reserve(&mut self, saves: usize, steps: usize, coefficients_per_step: usize) {
        self.times.reserve(saves);
        self.states.reserve(saves * self.n);
        if let Some(d) = &mut self.dense {
            d.reserve_steps(steps, coefficients_per_step);
        }
    }

    pub(crate) fn reserve_events(&mut self, events: usize) {
        self.events.reserve(events);
        self.event_states.reserve(events * self.n);
    }

    pub(crate) fn push(&mut self, t: f64, u: &[f64]) {
        self.times.push(t);
        self.states.extend_from_slice(u);
    }

    pub(crate) fn push_event(&mut self, record: EventRecord, u: &[f64]) {
        self.events.push(record);
        self.event_states.extend_from_slice(u);
    }

    pub(crate) fn dense_mut(&mut self) -> Option<&mut DenseOutput> {
        self.dense.as_mut()
    }

    pub(crate) fn finish(&mut self, t_end: f64, u_end: &[f64], stats: Stats, retcode: ReturnCode) {
        self.t_end = t_end;
        self.stats = stats;
        self.retcode = retcode;
        if let Some(d) = &mut self.dense {
            d.coefficients.extend_from_slice(u_end);
            d.finish_block(t_end, 0.0);
        }
    }

    /// State dimension `n`.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Number of saved points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// `true` when nothing was saved.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The saved times (the `saveat` times exactly, or the initial time and every step's end).
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The saved states, contiguous (`len() · dim()` numbers).
    pub fn states(&self) -> &[f64] {
        &self.states
    }

    /// The state saved at `times()[i]` (`None` when `i ≥ len()`).
    pub fn state(&self, i: usize) -> Option<&[f64]> {
        self.states.get(i * self.n..(i + 1) * self.n)
    }

    /// The last saved state.
    pub fn last_state(&self) -> Option<&[f64]> {
        self.len().checked_sub(1).and_then(|i| self.state(i))
    }

    /// The saved points as `(t, u)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (f64, &[f64])> + '_ {
        self.times
            .iter()
            .copied()
            .zip(self.states.chunks_exact(self.n.max(1)))
    }

    /// Start of the solution (the span's `t0`).
    pub fn start_time(&self) -> f64 {
        self.t_start
    }

    /// Where the solution ends: the span's `t1`, a terminal event's time, or the time of the last
    /// accepted step before a failure.
    pub fn end_time(&self) -> f64 {
        self.t_end
    }

    /// Counters of the solve.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How the solve ended.
    pub fn retcode(&self) -> ReturnCode {
        self.retcode
    }

    /// Event crossings located during the solve, in time order.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// The state at the `k`-th recorded event (`None` when `k ≥ events().len()`).
    pub fn event_state(&self, k: usize) -> Option<&[f64]> {
        self.event_states.get(k * self.n..(k + 1) * self.n)
    }

    /// The dense output, when the solve kept it.
    pub fn dense_output(&self) -> Option<&DenseOutput> {
        self.dense.as_ref()
    }

    /// The solution at any time `t` of `[start_time(), end_time()]` from the dense output.
    ///
    /// ```
    /// use tangent_ode::{OdeOptions, OdeProblem, OdeRhs, Vern7, solve};
    /// use tangent_ad::Scalar;
    ///
    /// struct Rotation;
    /// impl OdeRhs for Rotation {
    ///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
    ///         du[0] = -u[1];
    ///         du[1] = u[0];
    ///     }
    /// }
    /// let opts = OdeOptions { rtol: 1e-10.into(), atol: 1e-12.into(), ..Default::default() };
    /// let prob = OdeProblem::new(Rotation, vec![1.0, 0.0], (0.0, 3.0), vec![]).with_options(opts);
    /// let sol = solve(&prob, &Vern7::default()).unwrap();
    /// let u = sol.at(1.234).unwrap();
    /// assert!((u[0] - 1.234f64.cos()).abs() < 1e-9 && (u[1] - 1.234f64.sin()).abs() < 1e-9);
    /// ```
    pub fn at(&self, t: f64) -> Result<Vec<f64>, OdeError> {
        let mut out = vec![0.0; self.n];
        self.at_into(t, &mut out)?;
        Ok(out)
    }

    /// As [`Solution::at`], writing into `out` (length `dim()`); allocates nothing.
    pub fn at_into(&self, t: f64, out: &mut [f64]) -> Result<(), OdeError> {
        if out.len() != self.n {
            return Err(OdeError::DimensionMismatch {
                what: "interpolation output",
                expected: self.n,
                found: out.len(),
            });
        }
        let (lo, hi) = if self.t_start <= self.t_end {
            (self.t_start, self.t_end)
        } else {
            (self.t_end, self.t_start)
        };
        if !(t >= lo && t <= hi) {
            return Err(OdeError::OutsideSolution {
                t,
                start: self.t_start,
                end: self.t_end,
            });
        }
        let Some(dense) = &self.dense else {
            return Err(OdeError::NoDenseOutput);
        };
        if dense.eval(t, out) {
            Ok(())
        } else {
            // Only a hand-edited (deserialised) solution can get here.
            Err(OdeError::NoDenseOutput)
        }
    }
}
