//! The algorithm abstraction: what a method provides to the common integration driver.
//!
//! The driver ([`Integrator`](crate::Integrator)) owns everything that does not depend on the
//! method: the time span and its direction, the first step size, the step budget and minimum
//! step, `saveat`, events, storage of the solution and its dense output, error reporting. A
//! method provides a [`Stepper`]: the state it carries between steps (stage vectors for a
//! Runge–Kutta method; for the stiff methods also the Jacobian, the factorised iteration matrix
//! and the Newton workspace, or a Nordsieck history), built once by [`OdeAlgorithm::stepper`]
//! and reused by every solve, so that repeated solves allocate nothing.
//!
//! One step goes: [`Stepper::attempt`] computes a candidate step to a given time and returns its
//! weighted error estimate; the driver accepts ([`Stepper::accept`]) or rejects
//! ([`Stepper::reject`]) it, then asks [`Stepper::next_step_size`] for the next step size. Between
//! an acceptance and the next attempt the driver may query the step's interpolant
//! ([`Stepper::interpolate`], [`Stepper::append_dense_segment`]).
//!
//! Stiff methods fit the same shape: `OdeAlgorithm::stepper` receives the problem, so it can
//! detect the Jacobian's sparsity, colour it and set up the linear solver's symbolic analysis
//! once; [`StepContext`] carries the counters of Jacobians, factorisations and linear solves;
//! a step whose Newton iteration fails to converge is a rejected attempt whose step size the
//! stepper itself reduces (and, with a Nordsieck history, whose order it may change) in
//! `next_step_size`.

use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs, Tolerance};
use crate::solution::Stats;

/// A method of integration: a small struct of options (with `Default`) that builds the
/// per-problem [`Stepper`].
pub trait OdeAlgorithm: Clone + core::fmt::Debug {
    /// The method's state between steps.
    type Stepper: Stepper;

    /// The method's name (`"Tsit5"`, …).
    fn name(&self) -> &'static str;

    /// Builds the stepper for `problem` (allocates every buffer the method needs). The problem's
    /// data have been validated by the caller.
    fn stepper<F: OdeRhs, E: EventFunction>(
        &self,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self::Stepper, OdeError>;
}

/// Where the right-hand side first returned a non-finite value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinite {
    /// The time of the evaluation.
    pub t: f64,
    /// The first non-finite component.
    pub component: usize,
    /// Its value.
    pub value: f64,
}

/// The outcome of [`Stepper::attempt`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Attempt {
    /// The step was computed; `error` is the weighted RMS norm of its local error estimate
    /// (accept when `≤ 1`).
    Completed {
        /// The weighted error norm.
        error: f64,
    },
    /// An evaluation of the right-hand side returned NaN or ±∞.
    NonFinite(NonFinite),
    /// The implicit stage equations were not solved: the Newton iteration diverged or converged
    /// too slowly even with a Jacobian evaluated for this step. The driver rejects the step and
    /// asks [`Stepper::next_step_size`] for a smaller one (with `error = ∞`).
    ConvergenceFailure,
    /// The iteration matrix `I − c J` is singular at this step size (an exactly zero pivot).
    /// The driver retries with a quarter of the step (`I − c J → I` as `c → 0`), or fails with
    /// [`OdeError::SingularIterationMatrix`] when the
    /// step cannot shrink.
    Singular {
        /// The time at which the matrix was formed (the start of the step).
        t: f64,
        /// The column of the failing pivot (0-based).
        pivot: usize,
    },
    /// The Jacobian `∂f/∂u` evaluated at time `t` has a non-finite entry: the solve fails with
    /// [`OdeError::NonFiniteJacobian`].
    NonFiniteJacobian {
        /// The time of the evaluation.
        t: f64,
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        column: usize,
    },
}

/// The per-component tolerances of a solve, expanded from [`Tolerance`] once at `init`.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorWeights {
    atol: Vec<f64>,
    rtol: Vec<f64>,
}

impl ErrorWeights {
    /// Expands `atol` and `rtol` to `n` components, checking lengths and values (finite,
    /// non-negative, `atol_i + rtol_i > 0`).
    pub fn new(n: usize, atol: &Tolerance, rtol: &Tolerance) -> Result<Self, OdeError> {
        let expand = |tol: &Tolerance, what: &'static str| -> Result<Vec<f64>, OdeError> {
            if let Tolerance::PerComponent(v) = tol
                && v.len() != n
            {
                return Err(OdeError::DimensionMismatch {
                    what,
                    expected: n,
                    found: v.len(),
                });
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                // `get` cannot fail here: a scalar covers every i and the length was checked.
                let v = tol.get(i).unwrap_or(f64::NAN);
                if !v.is_finite() {
                    return Err(OdeError::NonFiniteInput {
                        what,
                        index: i,
                        value: v,
                    });
                }
                if v < 0.0 {
                    return Err(OdeError::InvalidOption {
                        what,
                        value: v,
                        reason: "tolerances must be non-negative",
                    });
                }
                out.push(v);
            }
            Ok(out)
        };
        let atol = expand(atol, "atol")?;
        let rtol = expand(rtol, "rtol")?;
        for i in 0..n {
            if atol[i] + rtol[i] <= 0.0 {
                return Err(OdeError::InvalidOption {
                    what: "atol + rtol",
                    value: 0.0,
                    reason: "at least one tolerance must be positive for every component",
                });
            }
        }
        Ok(Self { atol, rtol })
    }

    /// Absolute tolerances (length `n`).
    pub fn atol(&self) -> &[f64] {
        &self.atol
    }

    /// Relative tolerances (length `n`).
    pub fn rtol(&self) -> &[f64] {
        &self.rtol
    }

    /// `sqrt(mean_i (e_i / (atol_i + rtol_i · max(|u_i|, |v_i|)))²)`, the error norm of Hairer,
    /// Nørsett & Wanner (I, eq. II.4.11). A component with a zero scale and a zero error counts
    /// as zero. All slices have length `n`; 0 for `n = 0`.
    #[inline]
    pub fn norm(&self, e: &[f64], u: &[f64], v: &[f64]) -> f64 {
        let n = e.len();
        if n == 0 {
            return 0.0;
        }
        let mut acc = 0.0;
        for i in 0..n {
            let sc = self.atol[i] + self.rtol[i] * u[i].abs().max(v[i].abs());
            let r = e[i] / sc;
            acc += r * r;
        }
        let norm = (acc / n as f64).sqrt();
        if norm.is_nan() {
            self.norm_careful(e, u, v)
        } else {
            norm
        }
    }

    /// The same norm with `0 / 0` (a component with zero scale and zero error) counted as 0.
    #[cold]
    fn norm_careful(&self, e: &[f64], u: &[f64], v: &[f64]) -> f64 {
        let n = e.len();
        let mut acc = 0.0;
        for i in 0..n {
            let sc = self.atol[i] + self.rtol[i] * u[i].abs().max(v[i].abs());
            let r = if e[i] == 0.0 { 0.0 } else { e[i] / sc };
            acc += r * r;
        }
        (acc / n as f64).sqrt()
    }
}

/// What a stepper needs from the problem during a step: the right-hand side with its
/// parameters, the tolerances, and the counters it must keep up to date.
pub struct StepContext<'a, F: ?Sized> {
    /// The right-hand side.
    pub rhs: &'a F,
    /// The parameters.
    pub p: &'a [f64],
    /// The expanded tolerances.
    pub weights: &'a ErrorWeights,
    /// The counters of the solve.
    pub stats: &'a mut Stats,
}

impl<F: OdeRhs + ?Sized> StepContext<'_, F> {
    /// `du = f(t, u, p)`, counted.
    #[inline]
    pub fn eval(&mut self, t: f64, u: &[f64], du: &mut [f64]) {
        self.stats.rhs_evaluations += 1;
        self.rhs.rhs::<f64>(t, u, self.p, du);
    }

    /// `du = f(t, u, p)`, counted, and where it first holds NaN or ±∞.
    #[inline]
    pub fn eval_checked(&mut self, t: f64, u: &[f64], du: &mut [f64]) -> Result<(), NonFinite> {
        self.eval(t, u, du);
        match du.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(component) => Err(NonFinite {
                t,
                component,
                value: du[component],
            }),
        }
    }
}

/// The state of a method between steps, and the step itself. See the module documentation for
/// the protocol the driver follows.
pub trait Stepper {
    /// Order of the propagated solution (used by the first-step heuristic).
    fn order(&self) -> usize;

    /// Starts a solve at `(t0, u0)` (`u0` has length `n`): stores the point, evaluates what the
    /// method needs there (`f(t0, u0)`), resets the step-size controller.
    fn start<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t0: f64,
        u0: &[f64],
    ) -> Result<(), NonFinite>;

    /// The current time.
    fn t(&self) -> f64;

    /// The current state (length `n`).
    fn u(&self) -> &[f64];

    /// `f(t, u)` at the current point; valid after [`start`](Self::start) and before the first
    /// attempt.
    fn derivative(&self) -> &[f64];

    /// Computes a step from the current point to `t_new` (not yet accepted).
    fn attempt<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>, t_new: f64) -> Attempt;

    /// Accepts the last attempt: the current point becomes `(t_new, u_new)`.
    fn accept(&mut self);

    /// Rejects the last attempt: the current point stays.
    fn reject(&mut self);

    /// The step size to try next after a step of size `h` (signed) with error norm `error`,
    /// accepted or not.
    fn next_step_size(&mut self, h: f64, error: f64, accepted: bool) -> f64;

    /// Start time of the last accepted step.
    fn previous_t(&self) -> f64;

    /// The interpolant of the last accepted step at `t` (between [`previous_t`](Self::previous_t)
    /// and [`t`](Self::t)) into `out` (length `n`). May evaluate `f` (extra interpolation stages,
    /// computed once per step).
    fn interpolate<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t: f64,
        out: &mut [f64],
    );

    /// Appends the coefficient vectors `r_0, …, r_d` of the last accepted step's interpolant in
    /// `θ = (t − previous_t)/h` (see [`solution`](crate::solution)) to `coefficients`, and returns
    /// `h`.
    fn append_dense_segment<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        coefficients: &mut Vec<f64>,
    ) -> f64;

    /// Number of coefficients per step of the dense output (`(d + 1) · n`), for reserving storage.
    fn dense_coefficients_per_step(&self) -> usize;
}

/// The PI step-size controller of Hairer, Nørsett & Wanner (I, §IV.2, eq. 2.43c; Gustafsson
/// 1991): after an accepted step with error norm `err` (and `err_prev` at the previous accepted
/// step), `h_new = h · clamp(safety · err^(−α) · err_prev^β, min_factor, max_factor)` with
/// `α = 1/k − 0.75 β` and `k` one more than the order of the error estimate; after a rejected
/// step the integral part alone, capped at 1. Right after a rejection the step may not grow.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PiController {
    /// Weight `β` of the previous error (0: the classical integral controller). Hairer's
    /// `dopri5` uses 0.04.
    pub beta: f64,
    /// Safety factor on the optimal step (Hairer: 0.9).
    pub safety: f64,
    /// Smallest factor by which a step may shrink (Hairer: 0.2).
    pub min_factor: f64,
    /// Largest factor by which a step may grow (Hairer: 10).
    pub max_factor: f64,
}

impl Default for PiController {
    fn default() -> Self {
        Self {
            beta: 0.04,
            safety: 0.9,
            min_factor: 0.2,
            max_factor: 10.0,
        }
    }
}

/// A [`PiController`] with its memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PiState {
    /// The parameters.
    pub controller: PiController,
    /// `k`: one more than the order of the error estimate.
    pub k: f64,
    previous_error: f64,
    rejected: bool,
}

impl PiState {
    /// A controller for an error estimate of order `k − 1`.
    pub fn new(controller: PiController, k: usize) -> Self {
        Self {
            controller,
            k: k as f64,
            previous_error: 1e-4,
            rejected: false,
        }
    }

    /// Forgets the previous errors (a new solve).
    pub fn reset(&mut self) {
        self.previous_error = 1e-4;
        self.rejected = false;
    }

    /// The next step size after a step of size `h` with error norm `error`.
    pub fn next(&mut self, h: f64, error: f64, accepted: bool) -> f64 {
        let c = &self.controller;
        if !error.is_finite() {
            self.rejected = true;
            return h * c.min_factor;
        }
        let factor = if accepted {
            let alpha = 1.0 / self.k - 0.75 * c.beta;
            let mut f = if error == 0.0 {
                c.max_factor
            } else {
                c.safety * error.powf(-alpha) * self.previous_error.powf(c.beta)
            };
            f = f.clamp(c.min_factor, c.max_factor);
            if self.rejected {
                f = f.min(1.0);
            }
            // Hairer's floor on the remembered error (dopri5: facold = max(err, 1e-4)).
            self.previous_error = error.max(1e-4);
            self.rejected = false;
            f
        } else {
            self.rejected = true;
            (c.safety * error.powf(-1.0 / self.k)).clamp(c.min_factor, 1.0)
        };
        h * factor
    }
}

/// Evaluates event functions on `f64` data.
#[inline]
pub(crate) fn eval_events<E: EventFunction + ?Sized>(
    e: &E,
    t: f64,
    u: &[f64],
    p: &[f64],
    g: &mut [f64],
) {
    e.conditions::<f64>(t, u, p, g);
}
