//! The integration driver: `init` → [`Integrator`] (buffers, stepper, solution storage), and the
//! step loop shared by every method.
//!
//! The loop: choose the first step size (Hairer's algorithm unless given), then repeatedly clamp
//! the step to the span's end (a step that would leave less than 1 % of itself is stretched to
//! end exactly on `t1`) and to `max_step`, attempt it, accept or reject it on its error estimate,
//! and after each accepted step locate events, save the `saveat` points it covers (from the
//! interpolant, or the step's own value where it ends exactly on a requested time) and append its
//! dense output. A right-hand side that returns NaN or ±∞ rejects the step and divides the step
//! size by 4; if that happens at an already accepted point, or the step size becomes too small,
//! the solve fails with the partial solution. Implicit methods add three outcomes: a Newton
//! iteration that fails (the step is rejected and the method chooses a smaller one), a singular
//! iteration matrix (the step is divided by 4, since `I − cJ` tends to the identity as the step
//! shrinks; the solve fails if it cannot shrink), and a non-finite Jacobian (the solve fails).
//!
//! `tstops` are stepped to, never across: a step that would pass one is shortened to end on it
//! (or stretched by at most 1 % to reach it) — precisely, on the float just before it, so that no
//! evaluation of `f` before the stop sees the value of `t` at the stop (a forcing that switches
//! on at `t ≥ t_s` is off for every stage up to it) — and the method restarts at the stop itself,
//! as at `t0`, from the state reached (the solution is continuous; moving it by one unit in the
//! last place of `t` changes it by `|f|·ε|t|`). The step is saved at the stop's time.

use crate::algorithm::{
    Attempt, ErrorWeights, NonFinite, OdeAlgorithm, StepContext, Stepper, eval_events,
};
use crate::error::OdeError;
use crate::event::{EventFunction, EventRecord, brent_zero};
use crate::problem::{OdeProblem, OdeRhs};
use crate::solution::{ReturnCode, Solution, Stats};

/// Saved points and dense-output pieces reserved at `init` when the count is not known.
const INITIAL_STEP_RESERVE: usize = 128;

/// Why the step loop stopped early.
enum Failure {
    NonFinite(NonFinite),
    StepTooSmall { t: f64, h: f64, min_step: f64 },
    MaxSteps { t: f64, max_steps: usize },
    Singular { t: f64, h: f64, pivot: usize },
    NonFiniteJacobian { t: f64, row: usize, column: usize },
    NewtonFailed { t: f64, h: f64 },
}

impl Failure {
    fn retcode(&self) -> ReturnCode {
        match self {
            Self::NonFinite(_) => ReturnCode::NonFiniteRhs,
            Self::StepTooSmall { .. } => ReturnCode::StepSizeTooSmall,
            Self::MaxSteps { .. } => ReturnCode::MaxStepsReached,
            Self::Singular { .. } => ReturnCode::SingularIterationMatrix,
            Self::NonFiniteJacobian { .. } => ReturnCode::NonFiniteJacobian,
            Self::NewtonFailed { .. } => ReturnCode::ConvergenceFailure,
        }
    }

    fn into_error(self, solution: Box<Solution>) -> OdeError {
        match self {
            Self::NonFinite(nf) => OdeError::NonFiniteRhs {
                t: nf.t,
                component: nf.component,
                value: nf.value,
                solution,
            },
            Self::StepTooSmall { t, h, min_step } => OdeError::StepSizeTooSmall {
                t,
                h,
                min_step,
                solution,
            },
            Self::MaxSteps { t, max_steps } => OdeError::MaxStepsReached {
                t,
                max_steps,
                solution,
            },
            Self::Singular { t, h, pivot } => OdeError::SingularIterationMatrix {
                t,
                h,
                pivot,
                solution,
            },
            Self::NonFiniteJacobian { t, row, column } => OdeError::NonFiniteJacobian {
                t,
                row,
                column,
                solution,
            },
            Self::NewtonFailed { t, h } => OdeError::ConvergenceFailure { t, h, solution },
        }
    }
}

/// A prepared solve: the validated problem data, the method's stepper and every buffer, so that
/// [`Integrator::solve`] can be called repeatedly (with new initial values or parameters in
/// between) without allocating.
///
/// Allocation-free repeated solves: with `saveat` given, storage for exactly those points is
/// reserved at `init`; otherwise (every step saved, or `dense = true`) the storage grows during
/// the first solve as needed and keeps its capacity, so later solves of similar length allocate
/// nothing ([`Integrator::reserve_steps`] reserves it up front).
///
/// ```
/// use tangent_ode::{OdeOptions, OdeProblem, OdeRhs, Tsit5, init};
/// use tangent_ad::Scalar;
///
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
///         du[0] = -p[0] * u[0];
///     }
/// }
/// let opts = OdeOptions { saveat: vec![1.0], dense: false, ..Default::default() };
/// let prob = OdeProblem::new(Decay, vec![1.0], (0.0, 1.0), vec![1.0]).with_options(opts);
/// let mut integrator = init(&prob, &Tsit5::default()).unwrap();
/// for k in [0.5, 1.0, 2.0] {
///     integrator.set_parameters(&[k]).unwrap();
///     let sol = integrator.solve().unwrap();
///     assert!((sol.state(0).unwrap()[0] - (-k).exp()).abs() < 1e-6);
/// }
/// ```
pub struct Integrator<'p, F, E, A: OdeAlgorithm> {
    problem: &'p OdeProblem<F, E>,
    algorithm: A,
    stepper: A::Stepper,
    u0: Vec<f64>,
    p: Vec<f64>,
    weights: ErrorWeights,
    solution: Solution,
    scratch_u: Vec<f64>,
    scratch_f: Vec<f64>,
    g_prev: Vec<f64>,
    g_new: Vec<f64>,
    g_tmp: Vec<f64>,
    crossings: Vec<(f64, usize)>,
}

fn check_finite(what: &'static str, v: &[f64]) -> Result<(), OdeError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(OdeError::NonFiniteInput {
            what,
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

/// Checks the problem's data and options; returns the expanded tolerances.
fn validate<F, E>(problem: &OdeProblem<F, E>) -> Result<ErrorWeights, OdeError> {
    let n = problem.u0.len();
    let o = &problem.options;
    check_finite("u0", &problem.u0)?;
    check_finite("p", &problem.p)?;
    let (t0, t1) = problem.tspan;
    if !t0.is_finite() || !t1.is_finite() {
        return Err(OdeError::InvalidTimeSpan { t0, t1 });
    }
    let weights = ErrorWeights::new(n, &o.atol, &o.rtol)?;
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    for (index, &t) in o.saveat.iter().enumerate() {
        if !t.is_finite() {
            return Err(OdeError::NonFiniteInput {
                what: "saveat",
                index,
                value: t,
            });
        }
        if dir * (t - t0) < 0.0 || dir * (t - t1) > 0.0 {
            return Err(OdeError::InvalidSaveat {
                index,
                t,
                reason: "lies outside the time span",
            });
        }
        if index > 0 && dir * (t - o.saveat[index - 1]) <= 0.0 {
            return Err(OdeError::InvalidSaveat {
                index,
                t,
                reason: "is not strictly after the previous saveat time in the direction of integration",
            });
        }
    }
    for (index, &t) in o.tstops.iter().enumerate() {
        if !t.is_finite() {
            return Err(OdeError::NonFiniteInput {
                what: "tstops",
                index,
                value: t,
            });
        }
        if dir * (t - t0) < 0.0 || dir * (t - t1) > 0.0 {
            return Err(OdeError::InvalidOption {
                what: "tstops",
                value: t,
                reason: "lies outside the time span",
            });
        }
        if index > 0 && dir * (t - o.tstops[index - 1]) <= 0.0 {
            return Err(OdeError::InvalidOption {
                what: "tstops",
                value: t,
                reason: "is not strictly after the previous stop in the direction of integration",
            });
        }
    }
    if let Some(h) = o.initial_step {
        if !h.is_finite() || h == 0.0 {
            return Err(OdeError::InvalidOption {
                what: "initial_step",
                value: h,
                reason: "must be finite and non-zero",
            });
        }
    } else if !o.adaptive {
        return Err(OdeError::InvalidOption {
            what: "initial_step",
            value: f64::NAN,
            reason: "fixed-step integration (adaptive = false) needs the step size",
        });
    }
    if o.max_steps == 0 {
        return Err(OdeError::InvalidOption {
            what: "max_steps",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    if o.min_step.is_nan() || o.min_step < 0.0 || o.min_step.is_infinite() {
        return Err(OdeError::InvalidOption {
            what: "min_step",
            value: o.min_step,
            reason: "must be finite and non-negative",
        });
    }
    if o.max_step.is_nan() || o.max_step <= 0.0 {
        return Err(OdeError::InvalidOption {
            what: "max_step",
            value: o.max_step,
            reason: "must be positive (f64::INFINITY for no limit)",
        });
    }
    Ok(weights)
}

/// Prepares a solve of `problem` with `algorithm`: validates the problem, builds the method's
/// stepper and reserves the solution's storage.
///
/// Errors: [`OdeError::DimensionMismatch`], [`OdeError::NonFiniteInput`],
/// [`OdeError::InvalidTimeSpan`], [`OdeError::InvalidOption`], [`OdeError::InvalidSaveat`].
pub fn init<'p, F: OdeRhs, E: EventFunction, A: OdeAlgorithm>(
    problem: &'p OdeProblem<F, E>,
    algorithm: &A,
) -> Result<Integrator<'p, F, E, A>, OdeError> {
    let weights = validate(problem)?;
    let n = problem.u0.len();
    let m = problem.events.n_conditions();
    let stepper = algorithm.stepper(problem)?;
    let o = &problem.options;
    let mut solution = Solution::new(n, o.dense);
    let saves = if o.saveat.is_empty() {
        INITIAL_STEP_RESERVE + 1
    } else {
        o.saveat.len()
    };
    solution.reserve(
        saves,
        INITIAL_STEP_RESERVE,
        stepper.dense_coefficients_per_step(),
    );
    if m > 0 {
        solution.reserve_events(4);
    }
    Ok(Integrator {
        problem,
        algorithm: algorithm.clone(),
        stepper,
        u0: problem.u0.clone(),
        p: problem.p.clone(),
        weights,
        solution,
        scratch_u: vec![0.0; n],
        scratch_f: vec![0.0; n],
        g_prev: vec![0.0; m],
        g_new: vec![0.0; m],
        g_tmp: vec![0.0; m],
        crossings: Vec::with_capacity(m),
    })
}

/// Solves `problem` with `algorithm`: [`init`] followed by [`Integrator::solve`].
///
/// Errors: the input errors of [`init`]; the integration failures [`OdeError::NonFiniteRhs`],
/// [`OdeError::StepSizeTooSmall`] and [`OdeError::MaxStepsReached`], each with the partial
/// solution.
///
/// ```
/// use tangent_ode::{OdeProblem, OdeRhs, Tsit5, solve};
/// use tangent_ad::Scalar;
///
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
///         du[0] = -u[0];
///     }
/// }
/// let sol = solve(&OdeProblem::new(Decay, vec![1.0], (0.0, 1.0), vec![]), &Tsit5::default()).unwrap();
/// assert_eq!(sol.times()[0], 0.0);
/// assert_eq!(*sol.times().last().unwrap(), 1.0);
/// assert!((sol.last_state().unwrap()[0] - (-1f64).exp()).abs() < 1e-6);
/// ```
pub fn solve<F: OdeRhs, E: EventFunction, A: OdeAlgorithm>(
    problem: &OdeProblem<F, E>,
    algorithm: &A,
) -> Result<Solution, OdeError> {
    let mut integrator = init(problem, algorithm)?;
    match integrator.run() {
        Ok(()) => Ok(integrator.solution),
        Err(f) => Err(f.into_error(Box::new(integrator.solution))),
    }
}

impl<'p, F: OdeRhs, E: EventFunction, A: OdeAlgorithm> Integrator<'p, F, E, A> {
    /// Solves from the current initial value and parameters. Allocates nothing once the
    /// solution's storage has the capacity it needs (see the type's documentation); a failure
    /// copies the partial solution into the error.
    pub fn solve(&mut self) -> Result<&Solution, OdeError> {
        match self.run() {
            Ok(()) => Ok(&self.solution),
            Err(f) => Err(f.into_error(Box::new(self.solution.clone()))),
        }
    }

    /// The solution of the last solve (empty before the first).
    pub fn solution(&self) -> &Solution {
        &self.solution
    }

    /// Consumes the integrator, returning the solution of the last solve.
    pub fn into_solution(self) -> Solution {
        self.solution
    }

    /// The method's stepper (for what it prepared, e.g. [`BdfStepper::info`](crate::BdfStepper::info)).
    pub fn stepper(&self) -> &A::Stepper {
        &self.stepper
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &A {
        &self.algorithm
    }

    /// The problem.
    pub fn problem(&self) -> &'p OdeProblem<F, E> {
        self.problem
    }

    /// Replaces the initial value for the next solves (length `n`, finite).
    pub fn set_initial_value(&mut self, u0: &[f64]) -> Result<(), OdeError> {
        if u0.len() != self.u0.len() {
            return Err(OdeError::DimensionMismatch {
                what: "u0",
                expected: self.u0.len(),
                found: u0.len(),
            });
        }
        check_finite("u0", u0)?;
        self.u0.copy_from_slice(u0);
        Ok(())
    }

    /// Replaces the parameters for the next solves (same length as the problem's, finite).
    pub fn set_parameters(&mut self, p: &[f64]) -> Result<(), OdeError> {
        if p.len() != self.p.len() {
            return Err(OdeError::DimensionMismatch {
                what: "p",
                expected: self.p.len(),
                found: p.len(),
            });
        }
        check_finite("p", p)?;
        self.p.copy_from_slice(p);
        Ok(())
    }

    /// Reserves storage for `steps` accepted steps (saved points and dense output), so that a
    /// first solve of up to that many steps allocates nothing.
    pub fn reserve_steps(&mut self, steps: usize) {
        let per_step = self.stepper.dense_coefficients_per_step();
        let saves = if self.problem.options.saveat.is_empty() {
            steps + 1
        } else {
            0
        };
        self.solution.reserve(saves, steps, per_step);
    }

    /// The step loop. On return the solution is complete (times, states, dense output, counters,
    /// return code), also on failure.
    fn run(&mut self) -> Result<(), Failure> {
        let Self {
            problem,
            stepper,
            u0,
            p,
            weights,
            solution,
            scratch_u,
            scratch_f,
            g_prev,
            g_new,
            g_tmp,
            crossings,
            ..
        } = self;
        let problem: &OdeProblem<F, E> = problem;
        let opts = &problem.options;
        let events = &problem.events;
        let m = events.n_conditions();
        let (t0, tf) = problem.tspan;
        let dir = if tf >= t0 { 1.0 } else { -1.0 };
        let saveat = &opts.saveat[..];
        let mut next_save = 0;
        solution.reset(t0);
        let mut stats = Stats::default();
        let mut ctx = StepContext {
            rhs: &problem.rhs,
            p: &p[..],
            weights,
            stats: &mut stats,
        };

        let mut outcome: Result<Option<f64>, Failure> = Ok(None);
        'integrate: {
            if let Err(nf) = stepper.start(&mut ctx, t0, u0) {
                outcome = Err(Failure::NonFinite(nf));
                break 'integrate;
            }
            if saveat.is_empty() {
                solution.push(t0, u0);
            } else {
                while next_save < saveat.len() && saveat[next_save] == t0 {
                    solution.push(t0, u0);
                    next_save += 1;
                }
            }
            if m > 0 {
                eval_events(events, t0, u0, p, g_prev);
            }
            let span = (tf - t0).abs();
            let mut h_abs = match opts.initial_step {
                Some(h) => h.abs(),
                None => hairer_initial_step(
                    &mut ctx,
                    &*stepper,
                    t0,
                    dir,
                    span,
                    opts.max_step,
                    scratch_u,
                    scratch_f,
                ),
            };
            let stretch = if opts.adaptive { 1.01 } else { 1.0 + 1e-9 };
            // The failure that made the last rejections shrink the step (a non-finite `f`, a
            // singular iteration matrix): reported instead of "step too small" if the step
            // underflows before one is accepted.
            let mut last_failure: Option<Failure> = None;
            let tstops = &opts.tstops[..];
            let mut next_stop = 0;
            loop {
                let t = stepper.t();
                if t == tf {
                    break;
                }
                while next_stop < tstops.len() && dir * (tstops[next_stop] - t) <= 0.0 {
                    next_stop += 1;
                }
                if let Some(&ts) = tstops.get(next_stop)
                    && ts != tf
                    && dir * (just_before(ts, dir) - t) <= 0.0
                {
                    // The last step ended on the stop (at the float before it, so that f was
                    // only evaluated on this side of the discontinuity): restart there.
                    next_stop += 1;
                    scratch_u.copy_from_slice(stepper.u());
                    if let Err(nf) = stepper.start(&mut ctx, ts, scratch_u) {
                        outcome = Err(Failure::NonFinite(nf));
                        break;
                    }
                    h_abs = match opts.initial_step {
                        Some(h) => h.abs(),
                        None => hairer_initial_step(
                            &mut ctx,
                            &*stepper,
                            ts,
                            dir,
                            (tf - ts).abs(),
                            opts.max_step,
                            scratch_u,
                            scratch_f,
                        ),
                    };
                    continue;
                }
                if ctx.stats.accepted_steps >= opts.max_steps {
                    outcome = Err(Failure::MaxSteps {
                        t,
                        max_steps: opts.max_steps,
                    });
                    break;
                }
                h_abs = h_abs.min(opts.max_step);
                let target = match tstops.get(next_stop) {
                    Some(&ts) if ts != tf => just_before(ts, dir),
                    _ => tf,
                };
                let remaining = (target - t).abs();
                let t_new = if h_abs * stretch >= remaining {
                    target
                } else {
                    t + dir * h_abs
                };
                let h = t_new - t;
                let min_step = opts.min_step.max(4.0 * f64::EPSILON * t.abs());
                if h == 0.0 || h.abs() < min_step {
                    outcome = Err(match last_failure.take() {
                        Some(f) => f,
                        None => Failure::StepTooSmall { t, h, min_step },
                    });
                    break;
                }
                let error = match stepper.attempt(&mut ctx, t_new) {
                    Attempt::Completed { error } => error,
                    Attempt::NonFinite(nf) => {
                        stepper.reject();
                        ctx.stats.rejected_steps += 1;
                        if nf.t == t || !opts.adaptive {
                            // At the accepted point itself (or with a fixed step): no smaller
                            // step helps.
                            outcome = Err(Failure::NonFinite(nf));
                            break;
                        }
                        last_failure = Some(Failure::NonFinite(nf));
                        h_abs = h.abs() * 0.25;
                        continue;
                    }
                    Attempt::Singular { t: ts, pivot } => {
                        stepper.reject();
                        ctx.stats.rejected_steps += 1;
                        let failure = Failure::Singular { t: ts, h, pivot };
                        if !opts.adaptive {
                            outcome = Err(failure);
                            break;
                        }
                        // I − cJ tends to the identity as the step shrinks.
                        last_failure = Some(failure);
                        h_abs = h.abs() * 0.25;
                        continue;
                    }
                    Attempt::NonFiniteJacobian { t, row, column } => {
                        stepper.reject();
                        ctx.stats.rejected_steps += 1;
                        outcome = Err(Failure::NonFiniteJacobian { t, row, column });
                        break;
                    }
                    Attempt::ConvergenceFailure => {
                        stepper.reject();
                        ctx.stats.rejected_steps += 1;
                        ctx.stats.convergence_failures += 1;
                        if !opts.adaptive {
                            outcome = Err(Failure::NewtonFailed { t, h });
                            break;
                        }
                        last_failure = None;
                        h_abs = stepper.next_step_size(h, f64::INFINITY, false).abs();
                        continue;
                    }
                };
                if opts.adaptive && (error.is_nan() || error > 1.0) {
                    stepper.reject();
                    ctx.stats.rejected_steps += 1;
                    last_failure = None;
                    h_abs = stepper.next_step_size(h, error, false).abs();
                    continue;
                }
                stepper.accept();
                ctx.stats.accepted_steps += 1;
                last_failure = None;

                // Events.
                let mut stop = None;
                if m > 0 {
                    eval_events(events, t_new, stepper.u(), p, g_new);
                    crossings.clear();
                    let t_prev = stepper.previous_t();
                    for i in 0..m {
                        if events.crossing(i).crosses(g_prev[i], g_new[i]) {
                            let te = brent_zero(
                                |tau| {
                                    stepper.interpolate(&mut ctx, tau, scratch_u);
                                    eval_events(events, tau, scratch_u, p, g_tmp);
                                    g_tmp[i]
                                },
                                t_prev,
                                g_prev[i],
                                t_new,
                                g_new[i],
                                0.0,
                            );
                            crossings.push((te, i));
                        }
                    }
                    crossings.sort_unstable_by(|a, b| (dir * a.0).total_cmp(&(dir * b.0)));
                    for &(te, i) in crossings.iter() {
                        let terminal = events.terminal(i);
                        if te == t_new {
                            scratch_u.copy_from_slice(stepper.u());
                        } else {
                            stepper.interpolate(&mut ctx, te, scratch_u);
                        }
                        solution.push_event(
                            EventRecord {
                                index: i,
                                t: te,
                                terminal,
                            },
                            scratch_u,
                        );
                        if terminal {
                            stop = Some(te);
                            break;
                        }
                    }
                    core::mem::swap(g_prev, g_new);
                }

                // Saved points (a terminal event leaves its state in `scratch_u`).
                let t_end = stop.unwrap_or(t_new);
                if saveat.is_empty() {
                    match stop {
                        Some(te) => solution.push(te, scratch_u),
                        None => {
                            // A step ending just before a stop is saved at the stop.
                            let ts = match tstops.get(next_stop) {
                                Some(&ts) if just_before(ts, dir) == t_new => ts,
                                _ => t_new,
                            };
                            solution.push(ts, stepper.u())
                        }
                    }
                } else {
                    while next_save < saveat.len() && dir * (saveat[next_save] - t_end) <= 0.0 {
                        let ts = saveat[next_save];
                        if ts == t_new {
                            solution.push(ts, stepper.u());
                        } else {
                            stepper.interpolate(&mut ctx, ts, scratch_f);
                            solution.push(ts, scratch_f);
                        }
                        next_save += 1;
                    }
                }

                if let Some(dense) = solution.dense_mut() {
                    let start = stepper.previous_t();
                    let step = stepper.append_dense_segment(&mut ctx, dense.coefficients_mut());
                    dense.finish_block(start, step);
                }

                if stop.is_some() {
                    outcome = Ok(stop);
                    break;
                }
                // Asked with fixed steps too: a variable-order method still picks its order.
                let proposed = stepper.next_step_size(h, error, true).abs();
                h_abs = if opts.adaptive {
                    proposed
                } else {
                    // `validate` made sure the fixed step exists.
                    opts.initial_step.map_or(h.abs(), f64::abs)
                };
            }
        }

        match outcome {
            Ok(Some(te)) => {
                solution.finish(te, scratch_u, stats, ReturnCode::Terminated);
                Ok(())
            }
            Ok(None) => {
                solution.finish(stepper.t(), stepper.u(), stats, ReturnCode::Success);
                Ok(())
            }
            Err(failure) => {
                solution.finish(stepper.t(), stepper.u(), stats, failure.retcode());
                Err(failure)
            }
        }
    }
}

/// The float next to `t` on the side the integration comes from: steps towards a stop end there,
/// so that `f` is evaluated on one side of the discontinuity only.
fn just_before(t: f64, dir: f64) -> f64 {
    if dir > 0.0 {
        t.next_down()
    } else {
        t.next_up()
    }
}

/// The starting step size of Hairer, Nørsett & Wanner (I, §II.4, "Starting step size"): a first
/// guess `h0 = 0.01 ‖u0‖/‖f0‖`, one explicit Euler step to estimate the second derivative, and
/// `h1 = (0.01 / max(‖f0‖, ‖u''‖))^(1/(p+1))`; the result `min(100 h0, h1)`, capped by the span
/// and `max_step`. Norms are the weighted RMS norms with scale `atol + rtol |u0|`. One
/// evaluation of `f`.
#[allow(clippy::too_many_arguments)]
fn hairer_initial_step<F: OdeRhs + ?Sized, St: Stepper>(
    ctx: &mut StepContext<'_, F>,
    stepper: &St,
    t0: f64,
    dir: f64,
    span: f64,
    max_step: f64,
    u1: &mut [f64],
    f1: &mut [f64],
) -> f64 {
    let u0 = stepper.u();
    let f0 = stepper.derivative();
    let n = u0.len();
    let cap = span.min(max_step);
    if n == 0 || span == 0.0 {
        return cap;
    }
    let w = ctx.weights;
    let scaled = |x: f64, i: usize| {
        if x == 0.0 {
            0.0
        } else {
            x / (w.atol()[i] + w.rtol()[i] * u0[i].abs())
        }
    };
    let rms =
        |f: &dyn Fn(usize) -> f64| ((0..n).map(|i| f(i).powi(2)).sum::<f64>() / n as f64).sqrt();
    let d0 = rms(&|i| scaled(u0[i], i));
    let d1 = rms(&|i| scaled(f0[i], i));
    let mut h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    h0 = h0.min(cap);
    for i in 0..n {
        u1[i] = u0[i] + dir * h0 * f0[i];
    }
    ctx.eval(t0 + dir * h0, u1, f1);
    let d2 = rms(&|i| scaled(f1[i] - f0[i], i)) / h0;
    if !d2.is_finite() {
        // f is not finite one small step ahead: start with the small first guess.
        return h0;
    }
    let dmax = d1.max(d2);
    let h1 = if dmax <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / dmax).powf(1.0 / (stepper.order() as f64 + 1.0))
    };
    (100.0 * h0).min(h1).min(cap)
}
