//! The simplified Newton iteration of the implicit methods, and the policy that reuses the
//! Jacobian and the factorised iteration matrix across steps.
//!
//! # The iteration
//!
//! Every implicit stage of BDF and TR-BDF2 is an equation `y = a + c f(t, y)` (`a` collects
//! the known terms, `c = h · const`). Newton's method with the iteration matrix `M = I − c̄ J̄`,
//! factorised for a possibly older coefficient `c̄` and Jacobian `J̄`, iterates
//!
//! ```text
//! M Δ_k = a + c f(t, y_k) − y_k,      y_{k+1} = y_k + s Δ_k,      s = 2 / (1 + c/c̄),
//! ```
//!
//! where `s` is the scaling of LSODE and CVODE for a matrix factorised with `c̄ ≠ c` (exact for the
//! non-stiff components, where `M⁻¹ ≈ I`, and halfway for the stiff ones). Convergence is
//! judged as in Hairer & Wanner's RADAU5 (*Solving ODEs II*, §IV.8): with the contraction rate
//! `θ_k = ‖Δ_k‖/‖Δ_{k−1}‖` and `η_k = θ_k/(1 − θ_k)`, the error left after iteration `k` is about
//! `η_k ‖Δ_k‖`; stop when it is below `κ` (in the weighted RMS norm of the step's error test,
//! where 1 is the tolerance), and give up when `θ_k ≥ 1` or when `θ_k` predicts that `κ` cannot
//! be reached within the iteration limit. The first iteration uses `η = max(η_old, ε)^0.8` from
//! the previous solve, so that a good predictor converges in one iteration. The methods choose
//! `κ` (see [`Bdf`](crate::Bdf), [`TrBdf2`](crate::TrBdf2)); [`NewtonOptions::tolerance`]
//! overrides it.
//!
//! # Reuse (CVODE's policy)
//!
//! Jacobians and factorisations are the expensive part of a stiff step, and a modified Newton
//! iteration converges with an approximate matrix. As SUNDIALS CVODE does (Hindmarsh et al.,
//! *ACM TOMS* 31, 2005, §2.1; the constants `dgmax`, `msbp`, `msbj` of its source), the matrix is
//! refactorised only when
//!
//! * `c` has changed by more than 30 % since the last factorisation (`|c/c̄ − 1| > 0.3`),
//! * 20 steps have passed since it, or
//! * the Jacobian was re-evaluated;
//!
//! and the Jacobian is re-evaluated only when
//!
//! * 50 steps have passed since it was evaluated, or
//! * a Newton iteration failed with a Jacobian not evaluated in the current step (it is then
//!   evaluated at the step's predicted point and the same step is retried).
//!
//! A Newton failure with a current Jacobian rejects the step; the method retries with a smaller
//! step (a quarter, CVODE's `ETACF`).

use crate::algorithm::{NonFinite, StepContext};
use crate::problem::OdeRhs;
use crate::stiff::jacobian::JacobianEvaluator;
use crate::stiff::linear::{IterationMatrix, MatrixFailure};

/// Refactorise when `|c/c̄ − 1|` exceeds this (CVODE's `dgmax`).
pub const MAX_COEFFICIENT_CHANGE: f64 = 0.3;
/// Refactorise after this many steps on one factorisation (CVODE's `msbp`).
pub const MAX_FACTORIZATION_AGE: usize = 20;
/// Re-evaluate the Jacobian after this many steps (CVODE's `msbj`).
pub const MAX_JACOBIAN_AGE: usize = 50;

/// Options of the Newton iteration of the implicit methods.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewtonOptions {
    /// Iterations per stage before the iteration is declared failed.
    pub max_iterations: usize,
    /// `κ`: the error left in the stage value that ends the iteration, in the weighted RMS norm
    /// of the error test (1 = the tolerances). `None`: the method's default (see [`Bdf`] and
    /// [`TrBdf2`]).
    ///
    /// [`Bdf`]: crate::Bdf
    /// [`TrBdf2`]: crate::TrBdf2
    pub tolerance: Option<f64>,
}

/// Why a stage could not be solved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StageFailure {
    /// The iteration diverged or was too slow.
    Diverged,
    /// `f` returned NaN or ±∞.
    NonFinite(NonFinite),
    /// The matrix could not be factorised or used.
    Matrix(MatrixFailure),
}

impl From<MatrixFailure> for StageFailure {
    fn from(m: MatrixFailure) -> Self {
        Self::Matrix(m)
    }
}

/// The Jacobian, the iteration matrix, the Newton state and the reuse bookkeeping of an
/// implicit method.
pub(crate) struct ImplicitCore {
    pub(crate) jacobian: JacobianEvaluator,
    pub(crate) matrix: IterationMatrix,
    options: NewtonOptions,
    /// `η` of the last converged iteration.
    eta: f64,
    /// A Jacobian has been evaluated in this solve.
    have_jacobian: bool,
    /// The Jacobian was evaluated during the current step (since the last accepted one).
    jacobian_current: bool,
    jacobian_age: usize,
    factorization_age: usize,
    /// Work vector of length `n`.
    delta: Vec<f64>,
}

impl ImplicitCore {
    pub(crate) fn new(
        jacobian: JacobianEvaluator,
        matrix: IterationMatrix,
        options: NewtonOptions,
        n: usize,
    ) -> Self {
        Self {
            jacobian,
            matrix,
            options,
            eta: 1.0,
            have_jacobian: false,
            jacobian_current: false,
            jacobian_age: 0,
            factorization_age: 0,
            delta: vec![0.0; n],
        }
    }

    /// A new solve (or a restart at a discontinuity): forgets the Jacobian and factorisation,
    /// takes the parameters of this solve.
    pub(crate) fn start(&mut self, p: &[f64]) {
        self.jacobian.set_parameters(p);
        self.eta = 1.0;
        self.have_jacobian = false;
        self.jacobian_current = false;
        self.jacobian_age = 0;
        self.factorization_age = 0;
        self.matrix.invalidate();
    }

    /// The tolerance `κ` of the stage iterations: the user's, or the method's `default`.
    pub(crate) fn kappa(&self, default: f64) -> f64 {
        self.options.tolerance.unwrap_or(default)
    }

    /// A step was accepted.
    pub(crate) fn accept(&mut self) {
        self.jacobian_current = false;
        self.jacobian_age += 1;
        self.factorization_age += 1;
    }

    /// Whether the Jacobian was evaluated in the current step.
    pub(crate) fn jacobian_is_current(&self) -> bool {
        self.jacobian_current
    }

    /// Evaluates `J(t, u)` now and factorises `I − c J`.
    pub(crate) fn refresh<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t: f64,
        u: &[f64],
        c: f64,
    ) -> Result<(), MatrixFailure> {
        ctx.stats.jacobian_evaluations += 1;
        self.have_jacobian = true;
        self.jacobian_current = true;
        self.jacobian_age = 0;
        self.matrix.invalidate();
        self.jacobian
            .evaluate(ctx.rhs, t, u, ctx.p)
            .map_err(|(r, col)| MatrixFailure::NonFinite(r, col))?;
        self.factor(ctx, c)
    }

    fn factor<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        c: f64,
    ) -> Result<(), MatrixFailure> {
        self.factorization_age = 0;
        self.matrix.factor(self.jacobian.matrix(), c, ctx.stats)
    }

    /// Makes a factorisation usable for coefficient `c` available, following the reuse policy;
    /// `(t, u)` is where a new Jacobian would be evaluated.
    pub(crate) fn prepare<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t: f64,
        u: &[f64],
        c: f64,
    ) -> Result<(), MatrixFailure> {
        if !self.have_jacobian || self.jacobian_age >= MAX_JACOBIAN_AGE {
            return self.refresh(ctx, t, u, c);
        }
        let stale = match self.matrix.coefficient() {
            None => true,
            Some(cf) => {
                (c / cf - 1.0).abs() > MAX_COEFFICIENT_CHANGE
                    || self.factorization_age >= MAX_FACTORIZATION_AGE
            }
        };
        if stale { self.factor(ctx, c) } else { Ok(()) }
    }

    /// Solves `y = a + c f(t, y)` for `y` (on entry the predictor, on exit the solution) by the
    /// simplified Newton iteration with the current factorisation. `scale_u` gives the weights of
    /// the norm. `fy` is a work vector (length `n`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn solve_stage<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        kappa: f64,
        t: f64,
        c: f64,
        a: &[f64],
        y: &mut [f64],
        fy: &mut [f64],
        scale_u: &[f64],
    ) -> Result<usize, StageFailure> {
        let Some(cf) = self.matrix.coefficient() else {
            return Err(StageFailure::Matrix(MatrixFailure::Solver));
        };
        let scaling = if c == cf { 1.0 } else { 2.0 / (1.0 + c / cf) };
        let max_it = self.options.max_iterations.max(1);
        let mut eta = self.eta.max(f64::EPSILON).powf(0.8);
        let mut previous = f64::NAN;
        for k in 0..max_it {
            ctx.eval_checked(t, y, fy)
                .map_err(StageFailure::NonFinite)?;
            ctx.stats.newton_iterations += 1;
            for i in 0..y.len() {
                self.delta[i] = a[i] + c * fy[i] - y[i];
            }
            self.matrix.solve(&mut self.delta, ctx.stats)?;
            if scaling != 1.0 {
                for d in self.delta.iter_mut() {
                    *d *= scaling;
                }
            }
            let norm = ctx.weights.norm(&self.delta, scale_u, y);
            if k > 0 {
                let theta = norm / previous;
                // Also catches a NaN rate.
                if theta.is_nan() || theta >= 1.0 {
                    return Err(StageFailure::Diverged);
                }
                // The error predicted after the iterations left (SciPy's and RADAU5's test).
                let left = (max_it - k) as i32;
                if theta.powi(left) / (1.0 - theta) * norm > kappa {
                    return Err(StageFailure::Diverged);
                }
                eta = theta / (1.0 - theta);
            }
            for (yi, di) in y.iter_mut().zip(&self.delta) {
                *yi += di;
            }
            if norm == 0.0 || eta * norm <= kappa {
                self.eta = eta;
                return Ok(k + 1);
            }
            if !norm.is_finite() {
                return Err(StageFailure::Diverged);
            }
            previous = norm;
        }
        Err(StageFailure::Diverged)
    }
}
