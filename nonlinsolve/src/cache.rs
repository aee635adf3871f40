//! The cache: [`init`] once (Jacobian preparation — sparsity detection, colouring —, linear
//! solver with its symbolic analysis, every buffer), then [`NonlinearCache::solve`] as often as
//! needed with new parameters or initial guesses, allocating nothing (the exceptions: a failed
//! solve copies the last iterate into its error; a sparse LU that falls back to pivoting
//! allocates in tangent-linsolve).

use std::time::{Duration, Instant};

use tangent_linsolve::{LinearCache, LinearProblem, LinsolveError};

use crate::algorithm::{Algorithm, Backtracking};
use crate::broyden::BroydenMemory;
use crate::error::{NonlinsolveError, check_len, first_non_finite};
use crate::jacobian::{Jacobian, JacobianRef};
use crate::levenberg_marquardt::Normal;
use crate::params::Params;
use crate::problem::{NonlinearFunction, NonlinearOptions, NonlinearProblem};
use crate::solution::{NonlinearSolution, SolveSummary, Stats, StopReason, Timings};

/// Buffers of the iterations.
#[derive(Debug)]
pub(crate) struct Work {
    pub(crate) u: Vec<f64>,
    pub(crate) r: Vec<f64>,
    pub(crate) u_trial: Vec<f64>,
    pub(crate) r_trial: Vec<f64>,
    /// The search direction / Gauss–Newton step (`n`).
    pub(crate) delta: Vec<f64>,
    /// The step taken (`n`).
    pub(crate) step: Vec<f64>,
    /// The gradient `Jᵀ F` (`n`).
    pub(crate) g: Vec<f64>,
    /// Scratch of length `n`.
    pub(crate) tmp_n: Vec<f64>,
    /// Scratch of length `m` (e.g. `J δ`).
    pub(crate) tmp_m: Vec<f64>,
}

/// A nonlinear solver initialised for one problem: see the module docs.
///
/// ```
/// use tangent_ad::Scalar;
/// use tangent_nonlinsolve::{NonlinearFunction, NonlinearProblem, init, Algorithm};
///
/// /// eᵘ = p, componentwise: u = ln p.
/// #[derive(Clone)]
/// struct Log;
/// impl NonlinearFunction for Log {
///     fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
///         for i in 0..u.len() {
///             r[i] = u[i].exp() - p[i];
///         }
///     }
/// }
/// let prob = NonlinearProblem::new(Log, vec![0.0; 3], vec![1.0, 2.0, 3.0]);
/// let mut cache = init(&prob, &Algorithm::default()).unwrap();
/// cache.solve().unwrap();
/// assert!((cache.u()[2] - 3f64.ln()).abs() < 1e-12);
/// // New parameters: same Jacobian preparation, same buffers.
/// cache.set_parameters(&[4.0, 5.0, 6.0]).unwrap();
/// let summary = cache.solve().unwrap();
/// assert!((cache.u()[0] - 4f64.ln()).abs() < 1e-12);
/// assert!(summary.reason.is_success());
/// ```
pub struct NonlinearCache<F> {
    pub(crate) f: F,
    pub(crate) n: usize,
    pub(crate) m: usize,
    pub(crate) params: Params,
    pub(crate) u0: Vec<f64>,
    pub(crate) options: NonlinearOptions,
    pub(crate) algorithm: Algorithm,
    pub(crate) jac: Jacobian,
    pub(crate) linear: LinearCache,
    pub(crate) normal: Option<Normal>,
    pub(crate) broyden: Option<BroydenMemory>,
    pub(crate) w: Work,
    pub(crate) stats: Stats,
    pub(crate) timings: Timings,
    /// `‖F(u)‖∞` at the current iterate.
    pub(crate) norm: f64,
    /// `‖F(u₀)‖∞`.
    pub(crate) norm0: f64,
    /// Ring buffer of residual norms for stall detection.
    history: Vec<f64>,
    /// The Jacobian in `jac` is `J(u)` at the current `u`.
    pub(crate) jacobian_current: bool,
}

impl<F> core::fmt::Debug for NonlinearCache<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NonlinearCache")
            .field("n", &self.n)
            .field("m", &self.m)
            .field("algorithm", &self.algorithm.name())
            .field("jacobian", &self.jac)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Runs `f`, adding its duration to `acc` when `on`.
#[inline]
pub(crate) fn timed<R>(on: bool, acc: &mut Duration, f: impl FnOnce() -> R) -> R {
    if on {
        let t = Instant::now();
        let r = f();
        *acc += t.elapsed();
        r
    } else {
        f()
    }
}

/// `‖v‖∞`.
#[inline]
pub(crate) fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// `‖v‖₂²`.
#[inline]
pub(crate) fn norm2_sq(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// `aᵀ b`.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Maps a factorisation failure to the nonlinear solver's error at `iteration`.
pub(crate) fn linear_error(e: LinsolveError, iteration: usize) -> NonlinsolveError {
    match e {
        LinsolveError::Singular { pivot } | LinsolveError::NotPositiveDefinite { pivot } => {
            NonlinsolveError::SingularJacobian { iteration, pivot }
        }
        other => NonlinsolveError::Linear(other),
    }
}

/// Initialises a solver for `problem` with `algorithm` (a copy of the problem's function is
/// kept): prepares the Jacobian at `u₀` (sparsity detection and colouring for sparse
/// Jacobians), the linear solver (symbolic analysis of a sparse matrix) and every buffer.
///
/// # Errors
/// [`NonlinsolveError::DimensionMismatch`] for an empty `u₀`,
/// [`NonlinsolveError::Underdetermined`] for `m < n`, [`NonlinsolveError::NotSquare`] for
/// [`Broyden`](crate::Broyden) on least squares, [`NonlinsolveError::NonFiniteInput`],
/// [`NonlinsolveError::InvalidOption`], and the Jacobian preparation's errors.
pub fn init<F: NonlinearFunction + Clone>(
    problem: &NonlinearProblem<F>,
    algorithm: &Algorithm,
) -> Result<NonlinearCache<F>, NonlinsolveError> {
    NonlinearCache::build(
        problem.f.clone(),
        &problem.u0,
        &problem.p,
        problem.options,
        algorithm,
    )
}

/// Solves `problem` with `algorithm` once ([`init`] and [`NonlinearCache::solve`], without
/// copying the function).
///
/// # Errors
/// Those of [`init`]; [`NonlinsolveError::NotConverged`] with the reason, the last iterate and
/// its residual; [`NonlinsolveError::SingularJacobian`],
/// [`NonlinsolveError::NonFiniteResidual`] and [`NonlinsolveError::NonFiniteJacobian`] at the
/// iteration where they happened.
///
/// ```
/// use tangent_ad::Scalar;
/// use tangent_nonlinsolve::{NonlinearFunction, NonlinearProblem, StopReason, TrustRegion, solve};
///
/// /// MGH problem 1 (Rosenbrock as a system): F = (10 (u₁ − u₀²), 1 − u₀), root (1, 1).
/// struct Rosenbrock;
/// impl NonlinearFunction for Rosenbrock {
///     fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
///         r[0] = (u[1] - u[0] * u[0]) * 10.0;
///         r[1] = S::cst(1.0) - u[0];
///     }
/// }
/// let prob = NonlinearProblem::new(Rosenbrock, vec![-1.2, 1.0], vec![]);
/// let sol = solve(&prob, &TrustRegion::default().into()).unwrap();
/// assert!((sol.u[0] - 1.0).abs() < 1e-12 && (sol.u[1] - 1.0).abs() < 1e-12);
/// assert_eq!(sol.reason, StopReason::ResidualAbsolute);
/// assert!(sol.stats.jacobian_evaluations <= sol.stats.iterations);
/// ```
pub fn solve<F: NonlinearFunction>(
    problem: &NonlinearProblem<F>,
    algorithm: &Algorithm,
) -> Result<NonlinearSolution, NonlinsolveError> {
    let mut cache = NonlinearCache::build(
        &problem.f,
        &problem.u0,
        &problem.p,
        problem.options,
        algorithm,
    )?;
    let s = cache.solve()?;
    Ok(NonlinearSolution {
        u: std::mem::take(&mut cache.w.u),
        residual: std::mem::take(&mut cache.w.r),
        residual_norm: s.residual_norm,
        reason: s.reason,
        stats: s.stats,
        timings: s.timings,
    })
}

impl<F: NonlinearFunction> NonlinearCache<F> {
    /// Builds a cache around `f` (owned: a clone, a reference or an `Arc`).
    pub fn build(
        f: F,
        u0: &[f64],
        p: &[f64],
        options: NonlinearOptions,
        algorithm: &Algorithm,
    ) -> Result<Self, NonlinsolveError> {
        let n = u0.len();
        if n == 0 {
            return Err(NonlinsolveError::DimensionMismatch {
                what: "initial guess (at least one unknown)",
                expected: 1,
                found: 0,
            });
        }
        let m = f.residual_len(n);
        if m < n {
            return Err(NonlinsolveError::Underdetermined { m, n });
        }
        if m != n && matches!(algorithm, Algorithm::Broyden(_)) {
            return Err(NonlinsolveError::NotSquare {
                algorithm: "Broyden",
                m,
                n,
            });
        }
        options.validate()?;
        algorithm.validate()?;
        if let Some(index) = first_non_finite(u0) {
            return Err(NonlinsolveError::NonFiniteInput {
                what: "initial guess",
                index,
            });
        }
        if let Some(index) = first_non_finite(p) {
            return Err(NonlinsolveError::NonFiniteInput {
                what: "parameters",
                index,
            });
        }
        let mut params = Params::new(p);
        let jac = Jacobian::new(algorithm.jacobian(), &f, &mut params, u0, m)?;
        let (linear, normal) = match algorithm {
            Algorithm::LevenbergMarquardt(a) => {
                let normal = Normal::new(jac.matrix())?;
                let prob = LinearProblem::new(normal.to_matrix()?, vec![0.0; n]).spd(true);
                (
                    tangent_linsolve::init(&prob, &a.linear_solver)?,
                    Some(normal),
                )
            }
            _ => {
                let prob = LinearProblem::new(jac.matrix().to_matrix()?, vec![0.0; m]);
                (
                    tangent_linsolve::init(&prob, algorithm.linear_solver())?,
                    None,
                )
            }
        };
        let broyden = match algorithm {
            Algorithm::Broyden(b) => Some(BroydenMemory::new(n, b.memory)),
            _ => None,
        };
        let w = Work {
            u: u0.to_vec(),
            r: vec![0.0; m],
            u_trial: vec![0.0; n],
            r_trial: vec![0.0; m],
            delta: vec![0.0; n],
            step: vec![0.0; n],
            g: vec![0.0; n],
            tmp_n: vec![0.0; n],
            tmp_m: vec![0.0; m],
        };
        Ok(Self {
            f,
            n,
            m,
            params,
            u0: u0.to_vec(),
            options,
            algorithm: algorithm.clone(),
            jac,
            linear,
            normal,
            broyden,
            w,
            stats: Stats::default(),
            timings: Timings::default(),
            norm: f64::NAN,
            norm0: f64::NAN,
            history: vec![0.0; options.stall_iterations + 1],
            jacobian_current: false,
        })
    }

    /// Unknowns `n`.
    pub fn n_unknowns(&self) -> usize {
        self.n
    }

    /// Residuals `m`.
    pub fn n_residuals(&self) -> usize {
        self.m
    }

    /// The function.
    pub fn function(&self) -> &F {
        &self.f
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// The options.
    pub fn options(&self) -> &NonlinearOptions {
        &self.options
    }

    /// Replaces the options (the stall window's length must not change).
    pub fn set_options(&mut self, options: NonlinearOptions) -> Result<(), NonlinsolveError> {
        options.validate()?;
        check_len(
            "stall_iterations (fixed at init)",
            self.options.stall_iterations,
            options.stall_iterations,
        )?;
        self.options = options;
        Ok(())
    }

    /// The parameters.
    pub fn parameters(&self) -> &[f64] {
        self.params.values()
    }

    /// Replaces the parameters (same length).
    pub fn set_parameters(&mut self, p: &[f64]) -> Result<(), NonlinsolveError> {
        check_len("parameters", self.params.len(), p.len())?;
        if let Some(index) = first_non_finite(p) {
            return Err(NonlinsolveError::NonFiniteInput {
                what: "parameters",
                index,
            });
        }
        self.params.set(p);
        self.jacobian_current = false;
        Ok(())
    }

    /// The initial guess of the next solve.
    pub fn initial_guess(&self) -> &[f64] {
        &self.u0
    }

    /// Replaces the initial guess (same length).
    pub fn set_initial_guess(&mut self, u0: &[f64]) -> Result<(), NonlinsolveError> {
        check_len("initial guess", self.n, u0.len())?;
        if let Some(index) = first_non_finite(u0) {
            return Err(NonlinsolveError::NonFiniteInput {
                what: "initial guess",
                index,
            });
        }
        self.u0.copy_from_slice(u0);
        Ok(())
    }

    /// The current iterate: after a successful solve, the solution (length `n`).
    pub fn u(&self) -> &[f64] {
        &self.w.u
    }

    /// `F` at the current iterate (length `m`).
    pub fn residual(&self) -> &[f64] {
        &self.w.r
    }

    /// `‖F‖∞` at the current iterate.
    pub fn residual_norm(&self) -> f64 {
        self.norm
    }

    /// Counters of the last solve.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Times of the last solve (zero unless [`NonlinearOptions::timings`]).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// How the Jacobian is computed (`"dense forward"`, `"sparse coloured"`,
    /// `"finite differences"`, `"user dense"`, `"user sparse"`).
    pub fn jacobian_kind(&self) -> &'static str {
        self.jac.kind()
    }

    /// Colours of the sparse coloured Jacobian (`None` for the other kinds).
    pub fn jacobian_colors(&self) -> Option<usize> {
        self.jac.colors()
    }

    /// Stored entries of the Jacobian (`m · n` when dense).
    pub fn jacobian_nnz(&self) -> usize {
        self.jac.matrix().values().len()
    }

    /// Solves from the current initial guess with the current parameters; the solution is then
    /// [`NonlinearCache::u`]. Allocates nothing on success.
    ///
    /// # Errors
    /// See [`solve`].
    pub fn solve(&mut self) -> Result<SolveSummary, NonlinsolveError> {
        let start = Instant::now();
        self.stats = Stats::default();
        self.timings = Timings::default();
        self.jacobian_current = false;
        self.w.u.copy_from_slice(&self.u0);
        self.eval_residual(false);
        if let Some(index) = first_non_finite(&self.w.r) {
            return Err(NonlinsolveError::NonFiniteResidual {
                iteration: 0,
                index,
            });
        }
        self.norm = norm_inf(&self.w.r);
        self.norm0 = self.norm;
        // A copy for dispatch: the option structs are small and hold no owned buffers.
        let alg = self.algorithm.clone();
        let outcome = match &alg {
            Algorithm::NewtonRaphson(a) => self.run_newton(a),
            Algorithm::TrustRegion(a) => self.run_trust_region(a),
            Algorithm::LevenbergMarquardt(a) => self.run_levenberg_marquardt(a),
            Algorithm::Broyden(a) => self.run_broyden(a),
        };
        self.timings.total = start.elapsed();
        let reason = outcome?;
        if reason.is_success() {
            Ok(SolveSummary {
                reason,
                residual_norm: self.norm,
                stats: self.stats,
                timings: self.timings,
            })
        } else {
            Err(NonlinsolveError::NotConverged {
                reason,
                iterations: self.stats.iterations,
                residual_norm: self.norm,
                u: self.w.u.clone(),
                stats: self.stats,
            })
        }
    }

    // ----- shared pieces of the iterations -----

    /// `F` at `u` into `r`, or at `u_trial` into `r_trial`.
    pub(crate) fn eval_residual(&mut self, trial: bool) {
        let Self {
            f,
            params,
            w,
            stats,
            timings,
            options,
            ..
        } = self;
        let (u, r) = if trial {
            (&w.u_trial, &mut w.r_trial)
        } else {
            (&w.u, &mut w.r)
        };
        timed(options.timings, &mut timings.residual, || {
            f.residual(u, params.values(), r)
        });
        stats.residual_evaluations += 1;
    }

    /// The converged reason on the residual, if any.
    pub(crate) fn residual_converged(&self) -> Option<StopReason> {
        let o = &self.options;
        if self.norm <= o.abstol {
            Some(StopReason::ResidualAbsolute)
        } else if o.reltol > 0.0 && self.norm <= o.reltol * self.norm0 {
            Some(StopReason::ResidualRelative)
        } else {
            None
        }
    }

    /// `true` when the step `w.step` just taken (to `w.u`) is below the step tolerance.
    pub(crate) fn step_small(&self) -> bool {
        self.is_small_step(&self.w.step)
    }

    /// Ends on a step `d` (`w.delta` or, with `from_tmp`, `w.tmp_n`) below the step tolerance:
    /// takes it when it does not increase `‖F‖₂` (the last digits it can still fix) and reports
    /// [`StopReason::SmallStep`].
    pub(crate) fn finish_with_small_step(&mut self, from_tmp: bool) -> StopReason {
        {
            let w = &mut self.w;
            let d = if from_tmp { &w.tmp_n } else { &w.delta };
            for ((t, &u), &di) in w.u_trial.iter_mut().zip(&w.u).zip(d) {
                *t = u + di;
            }
        }
        self.eval_residual(true);
        if norm2_sq(&self.w.r_trial) <= norm2_sq(&self.w.r) {
            self.accept_trial();
        }
        self.residual_converged().unwrap_or(StopReason::SmallStep)
    }

    /// `true` when `d` is below the step tolerance at the current iterate.
    pub(crate) fn is_small_step(&self, d: &[f64]) -> bool {
        let o = &self.options;
        norm_inf(d) <= o.step_abstol + o.step_reltol * norm_inf(&self.w.u)
    }

    /// For square systems a small step counts as convergence only with a small residual.
    pub(crate) fn small_step_accepted(&self) -> bool {
        self.m > self.n || self.norm <= self.options.abstol.sqrt()
    }

    /// The gradient test at the current iterate (`w.g = Jᵀ F` computed): `SmallGradient` for
    /// least squares, `LocalMinimum` for a square system whose residual is not small, `None`
    /// otherwise.
    pub(crate) fn gradient_test(&self) -> Option<StopReason> {
        let cosine = self
            .jac
            .matrix()
            .max_cosine(&self.w.g, norm2_sq(&self.w.r).sqrt());
        if cosine > self.options.gradient_tol {
            None
        } else if self.m > self.n {
            Some(StopReason::SmallGradient)
        } else if self.norm > self.options.abstol.sqrt() {
            Some(StopReason::LocalMinimum)
        } else {
            None
        }
    }

    /// The reduction test of a trial with predicted and actual reductions `pred`, `actual` of
    /// `½‖F‖²` (`phi`): see [`NonlinearOptions::reduction_tol`].
    pub(crate) fn reduction_test(&self, pred: f64, actual: f64, phi: f64) -> Option<StopReason> {
        let tol = self.options.reduction_tol * phi;
        if !(pred.abs() <= tol && actual.abs() <= tol) {
            None
        } else if self.small_step_accepted() {
            Some(StopReason::SmallReduction)
        } else {
            Some(StopReason::LocalMinimum)
        }
    }

    /// The termination tests every algorithm runs at the top of an iteration, in order:
    /// residual tolerances, the maximum iteration count, stall. `None` means go on: then the
    /// iteration counter `k` is advanced and recorded.
    pub(crate) fn begin_iteration(&mut self, k: &mut usize) -> Option<StopReason> {
        if let Some(reason) = self.residual_converged() {
            return Some(reason);
        }
        self.iteration_budget(k)
    }

    /// The tests of [`Self::begin_iteration`] after the residual test (for algorithms that test
    /// something else in between).
    pub(crate) fn iteration_budget(&mut self, k: &mut usize) -> Option<StopReason> {
        if *k >= self.options.max_iterations {
            return Some(StopReason::MaxIterations);
        }
        if self.stalled(*k) {
            return Some(StopReason::Stalled);
        }
        *k += 1;
        self.stats.iterations = *k;
        None
    }

    /// Records `‖F‖∞` of iteration `k`; `true` when the residual has stalled.
    pub(crate) fn stalled(&mut self, k: usize) -> bool {
        let w = self.options.stall_iterations;
        if w == 0 {
            return false;
        }
        let len = self.history.len();
        let stalled = k >= w && self.norm > self.options.stall_factor * self.history[(k - w) % len];
        self.history[k % len] = self.norm;
        stalled
    }

    /// Computes `J(u)` at the current iterate and checks it.
    pub(crate) fn update_jacobian(&mut self, iteration: usize) -> Result<(), NonlinsolveError> {
        let Self {
            f,
            params,
            jac,
            w,
            stats,
            timings,
            options,
            ..
        } = self;
        timed(options.timings, &mut timings.jacobian, || {
            jac.evaluate(f, params, &w.u, &w.r)
        })?;
        stats.jacobian_evaluations += 1;
        if let Some((row, col)) = self.jac.matrix().first_non_finite() {
            return Err(NonlinsolveError::NonFiniteJacobian {
                iteration,
                row,
                col,
            });
        }
        self.jacobian_current = true;
        Ok(())
    }

    /// Loads the current Jacobian into the linear solver and factorises it.
    pub(crate) fn factorize_jacobian(&mut self, iteration: usize) -> Result<(), NonlinsolveError> {
        let Self {
            jac,
            linear,
            stats,
            timings,
            options,
            ..
        } = self;
        linear.set_values(jac.matrix().values())?;
        timed(options.timings, &mut timings.factorization, || {
            linear.factorize()
        })
        .map_err(|e| linear_error(e, iteration))?;
        stats.factorizations += 1;
        Ok(())
    }

    /// `w.delta = −J⁻¹ w.r` (least squares: `−J⁺ r`) with the current factorisation.
    pub(crate) fn newton_direction(&mut self, iteration: usize) -> Result<(), NonlinsolveError> {
        let Self {
            linear,
            w,
            stats,
            timings,
            options,
            ..
        } = self;
        timed(options.timings, &mut timings.linear_solve, || {
            linear.solve_into(&w.r, &mut w.delta)
        })
        .map_err(|e| linear_error(e, iteration))?;
        stats.linear_solves += 1;
        for d in &mut w.delta {
            *d = -*d;
        }
        if let Some(p) = first_non_finite(&w.delta) {
            return Err(NonlinsolveError::SingularJacobian {
                iteration,
                pivot: p,
            });
        }
        Ok(())
    }

    /// The Jacobian as last computed.
    pub(crate) fn jacobian_ref(&self) -> JacobianRef<'_> {
        self.jac.matrix()
    }

    /// Accepts the trial point: `u ← u_trial`, `r ← r_trial`, `step = u_trial − u`.
    pub(crate) fn accept_trial(&mut self) {
        let w = &mut self.w;
        for ((s, &a), &b) in w.step.iter_mut().zip(&w.u_trial).zip(&w.u) {
            *s = a - b;
        }
        std::mem::swap(&mut w.u, &mut w.u_trial);
        std::mem::swap(&mut w.r, &mut w.r_trial);
        self.norm = norm_inf(&self.w.r);
        self.jacobian_current = false;
    }

    /// Backtracking line search along `w.delta` from `w.u` with merit slope `slope`
    /// (`φ′(0) < 0`). On success the accepted point is in `u_trial`/`r_trial` and `α` is
    /// returned; `None` when no acceptable step was found.
    pub(crate) fn backtrack(&mut self, bt: &Backtracking, slope: f64) -> Option<f64> {
        let phi0 = 0.5 * norm2_sq(&self.w.r);
        let (mut alpha, mut alpha_prev, mut phi_prev) = (1.0f64, 0.0f64, 0.0f64);
        for i in 0..=bt.max_reductions {
            {
                let w = &mut self.w;
                for ((t, &u), &d) in w.u_trial.iter_mut().zip(&w.u).zip(&w.delta) {
                    *t = u + alpha * d;
                }
            }
            self.eval_residual(true);
            let phi = 0.5 * norm2_sq(&self.w.r_trial);
            if phi.is_finite() && phi <= phi0 + bt.sufficient_decrease * alpha * slope {
                return Some(alpha);
            }
            if i == bt.max_reductions || alpha < bt.min_step {
                return None;
            }
            self.stats.backtracks += 1;
            let next = if !phi.is_finite() {
                0.1 * alpha
            } else if i == 0 {
                // Minimiser of the quadratic through φ(0), φ′(0), φ(α).
                -slope * alpha * alpha / (2.0 * (phi - phi0 - slope * alpha))
            } else {
                // Minimiser of the cubic through φ(0), φ′(0), φ(α), φ(α_prev).
                let r1 = phi - phi0 - slope * alpha;
                let r2 = phi_prev - phi0 - slope * alpha_prev;
                let d = alpha - alpha_prev;
                let a = (r1 / (alpha * alpha) - r2 / (alpha_prev * alpha_prev)) / d;
                let b = (-alpha_prev * r1 / (alpha * alpha)
                    + alpha * r2 / (alpha_prev * alpha_prev))
                    / d;
                if a == 0.0 {
                    -slope / (2.0 * b)
                } else {
                    let disc = (b * b - 3.0 * a * slope).max(0.0);
                    (-b + disc.sqrt()) / (3.0 * a)
                }
            };
            alpha_prev = alpha;
            phi_prev = phi;
            alpha = if next.is_finite() {
                next.clamp(0.1 * alpha, 0.5 * alpha)
            } else {
                0.5 * alpha
            };
        }
        None
    }

    // ----- for the implicit-function rule -----

    /// Computes `J(u*)` at the current iterate unless it is already there; returns it.
    pub(crate) fn jacobian_at_solution(&mut self) -> Result<JacobianRef<'_>, NonlinsolveError> {
        if !self.jacobian_current {
            let k = self.stats.iterations;
            self.update_jacobian(k)?;
        }
        Ok(self.jac.matrix())
    }

    /// The column colouring of a sparse coloured Jacobian.
    pub(crate) fn jacobian_column_colors(&self) -> Option<&[u32]> {
        self.jac.column_colors()
    }
}
