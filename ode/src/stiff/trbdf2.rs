//! TR-BDF2: a trapezoidal stage followed by a BDF2 stage, as the three-stage ESDIRK of Hosea and
//! Shampine with its third-order error estimate and interpolant.
//!
//! R. E. Bank, W. M. Coughran, W. Fichtner, E. H. Grosse, D. J. Rose & R. K. Smith, *Transient
//! simulation of silicon devices and circuits*, IEEE Trans. CAD 4 (1985) 436–451 (the method);
//! M. E. Hosea & L. F. Shampine, *Analysis and implementation of TR-BDF2*, Appl. Numer. Math. 20
//! (1996) 21–37 (its form as an ESDIRK, the error estimate, the interpolant; MATLAB's ode23tb).
//!
//! # The step
//!
//! With `γ = 2 − √2`, `d = γ/2`, `w = √2/4` the step from `(t_n, u_n)` is
//!
//! ```text
//! u_γ     = u_n + h (d f_n + d f(t_n + γh, u_γ))                 (trapezoidal rule to t_n + γh)
//! u_{n+1} = u_n + h (w f_n + w f_γ + d f(t_n + h, u_{n+1}))      (BDF2 through u_n, u_γ)
//! ```
//!
//! an L-stable, stiffly accurate ESDIRK of order 2 whose two implicit stages share the
//! iteration matrix `I − d h J`. The embedded weights `b̂ = ((1 − w)/3, (3w + 1)/3, d/3)` are of
//! order 3; the estimate `e = h Σ (b̂_i − b_i) f_i` is filtered through `(I − d h J)⁻¹`, as
//! Shampine proposes for implicit methods, so that stiff components do not inflate it. Each
//! implicit stage is solved by the Newton iteration of [`newton`](crate::stiff::newton) with the
//! Jacobian and factorisation reused across steps; the stage derivatives are recovered from the
//! stage equations (`f_γ = (u_γ − u_n − d h f_n)/(d h)`), not by evaluating `f` again, and the
//! last one is the next step's `f_n`.
//!
//! The dense output is Hosea and Shampine's: the quadratic through `u_n`, `u_γ` and `u_{n+1}`
//! (order 2, as MATLAB's `ntrp23tb`). The stage predictors extrapolate the stage derivatives:
//! `u_γ⁽⁰⁾ = u_n + γ h f_n`, and `f_{n+1}⁽⁰⁾` linear through `f_n` and `f_γ`.

use tangent_linsolve::LinearAlgorithm;

use crate::algorithm::{
    Attempt, NonFinite, OdeAlgorithm, PiController, PiState, StepContext, Stepper,
};
use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs};
use crate::stiff::bdf::matrix_failure;
use crate::stiff::jacobian::JacobianMethod;
use crate::stiff::newton::{ImplicitCore, NewtonOptions, StageFailure};
use crate::stiff::{Prepared, StiffInfo};

/// `γ = 2 − √2`, the node of the trapezoidal stage.
pub const GAMMA: f64 = 2.0 - core::f64::consts::SQRT_2;
/// `d = γ/2 = 1 − √2/2`, the diagonal.
const D: f64 = 1.0 - core::f64::consts::FRAC_1_SQRT_2;
/// `w = √2/4`.
const W: f64 = core::f64::consts::SQRT_2 / 4.0;
/// `b̂ − b`: `((1 − √2)/3, 1/3, (√2 − 2)/3)`.
const B_HAT_MINUS_B: [f64; 3] = [
    (1.0 - core::f64::consts::SQRT_2) / 3.0,
    1.0 / 3.0,
    (core::f64::consts::SQRT_2 - 2.0) / 3.0,
];

/// `κ` of the stage iterations: the Newton error enters the stage derivatives recovered from the
/// stage equations and the error estimate about one to one, so it is kept to 5 % of the tolerance.
const NEWTON_TOLERANCE: f64 = 0.05;

/// TR-BDF2 (Bank et al. 1985; Hosea & Shampine 1996): an L-stable one-step method of order 2 with
/// two implicit stages sharing one iteration matrix, reused across steps. See the
/// [module docs](self).
///
/// ```
/// use tangent_ode::problems::Robertson;
/// use tangent_ode::{TrBdf2, solve};
///
/// let mut prob = Robertson::problem();
/// prob.options.rtol = 1e-4.into();
/// let sol = solve(&prob, &TrBdf2::default()).unwrap();
/// let u3 = sol.last_state().unwrap()[2];
/// assert!((u3 - Robertson::ORACLE_U3_END).abs() < 1e-3);
/// ```
#[derive(Clone, Debug)]
pub struct TrBdf2 {
    /// How `J = ∂f/∂u` is computed.
    pub jacobian: JacobianMethod,
    /// The linear solver of `I − d h J`.
    pub linear_solver: LinearAlgorithm,
    /// The Newton iteration of each stage (default: at most 5 iterations).
    pub newton: NewtonOptions,
    /// The step-size controller.
    pub controller: PiController,
}

impl Default for TrBdf2 {
    fn default() -> Self {
        Self {
            jacobian: JacobianMethod::default(),
            linear_solver: LinearAlgorithm::default(),
            newton: NewtonOptions {
                max_iterations: 5,
                tolerance: None,
            },
            controller: PiController::default(),
        }
    }
}

impl OdeAlgorithm for TrBdf2 {
    type Stepper = TrBdf2Stepper;

    fn name(&self) -> &'static str {
        "TR-BDF2"
    }

    fn stepper<F: OdeRhs, E: EventFunction>(
        &self,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self::Stepper, OdeError> {
        let n = problem.dim();
        let prepared = Prepared::new(&self.jacobian, &self.linear_solver, problem)?;
        let v = || vec![0.0; n];
        Ok(TrBdf2Stepper {
            n,
            controller: PiState::new(self.controller, 3),
            t: 0.0,
            t_prev: 0.0,
            t_try: 0.0,
            h: 0.0,
            u: v(),
            u_prev: v(),
            u_gamma: v(),
            u_gamma_prev: v(),
            u_new: v(),
            f_n: v(),
            f_gamma: v(),
            f_new: v(),
            base: v(),
            work: v(),
            core: ImplicitCore::new(prepared.jacobian, prepared.matrix, self.newton, n),
        })
    }
}

/// The state of [`TrBdf2`] between steps.
pub struct TrBdf2Stepper {
    n: usize,
    controller: PiState,
    t: f64,
    t_prev: f64,
    t_try: f64,
    h: f64,
    u: Vec<f64>,
    u_prev: Vec<f64>,
    /// The trapezoidal stage of the last attempt, and of the last accepted step.
    u_gamma: Vec<f64>,
    u_gamma_prev: Vec<f64>,
    u_new: Vec<f64>,
    /// `f(t_n, u_n)` (from the last stage of the previous step).
    f_n: Vec<f64>,
    f_gamma: Vec<f64>,
    f_new: Vec<f64>,
    base: Vec<f64>,
    work: Vec<f64>,
    core: ImplicitCore,
}

impl core::fmt::Debug for TrBdf2Stepper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrBdf2Stepper")
            .field("n", &self.n)
            .field("t", &self.t)
            .finish()
    }
}

impl TrBdf2Stepper {
    /// What the stepper prepared: Jacobian route, colours, linear solver.
    pub fn info(&self) -> StiffInfo {
        StiffInfo::new(&self.core.jacobian, &self.core.matrix)
    }

    #[allow(clippy::too_many_arguments)]
    /// Solves one implicit stage `y = base + c f(t, y)` from the predictor in `y`, retrying once
    /// with a Jacobian evaluated at `(t_n, u_n)` if the one in use is from an earlier step.
    fn stage<F: OdeRhs + ?Sized>(
        core: &mut ImplicitCore,
        ctx: &mut StepContext<'_, F>,
        (t_n, u_n): (f64, &[f64]),
        t: f64,
        c: f64,
        base: &[f64],
        predictor: &[f64],
        y: &mut [f64],
        work: &mut [f64],
    ) -> Result<(), Attempt> {
        loop {
            y.copy_from_slice(predictor);
            let kappa = core.kappa(NEWTON_TOLERANCE);
            match core.solve_stage(ctx, kappa, t, c, base, y, work, u_n) {
                Ok(_) => return Ok(()),
                Err(StageFailure::Diverged) if !core.jacobian_is_current() => {
                    core.refresh(ctx, t_n, u_n, c)
                        .map_err(|m| matrix_failure(t_n, m))?;
                }
                Err(StageFailure::Diverged) => return Err(Attempt::ConvergenceFailure),
                Err(StageFailure::NonFinite(nf)) => return Err(Attempt::NonFinite(nf)),
                Err(StageFailure::Matrix(m)) => return Err(matrix_failure(t_n, m)),
            }
        }
    }
}

impl Stepper for TrBdf2Stepper {
    fn order(&self) -> usize {
        2
    }

    fn start<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t0: f64,
        u0: &[f64],
    ) -> Result<(), NonFinite> {
        self.core.start(ctx.p);
        self.u.copy_from_slice(u0);
        self.u_prev.copy_from_slice(u0);
        self.u_gamma_prev.copy_from_slice(u0);
        self.t = t0;
        self.t_prev = t0;
        self.t_try = t0;
        self.h = 0.0;
        self.controller.reset();
        ctx.eval_checked(t0, u0, &mut self.f_n)
    }

    fn t(&self) -> f64 {
        self.t
    }

    fn u(&self) -> &[f64] {
        &self.u
    }

    fn derivative(&self) -> &[f64] {
        &self.f_n
    }

    fn attempt<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>, t_new: f64) -> Attempt {
        let n = self.n;
        let t = self.t;
        let h = t_new - t;
        self.t_try = t_new;
        self.h = h;
        let c = D * h;
        if let Err(m) = self.core.prepare(ctx, t, &self.u, c) {
            return matrix_failure(t, m);
        }
        // Trapezoidal stage: u_γ = u_n + d h f_n + d h f(t_n + γh, u_γ).
        for i in 0..n {
            self.base[i] = self.u[i] + c * self.f_n[i];
            self.work[i] = self.u[i] + GAMMA * h * self.f_n[i];
        }
        let predictor = core::mem::take(&mut self.work);
        let r = Self::stage(
            &mut self.core,
            ctx,
            (t, &self.u),
            t + GAMMA * h,
            c,
            &self.base,
            &predictor,
            &mut self.u_gamma,
            &mut self.f_new,
        );
        self.work = predictor;
        if let Err(a) = r {
            return a;
        }
        for i in 0..n {
            self.f_gamma[i] = (self.u_gamma[i] - self.base[i]) / c;
        }
        // BDF2 stage: u_{n+1} = u_n + w h (f_n + f_γ) + d h f(t_{n+1}, u_{n+1}); the predictor
        // extrapolates the derivative linearly through f_n (θ = 0) and f_γ (θ = γ).
        let (e1, e2) = (1.0 - 1.0 / GAMMA, 1.0 / GAMMA);
        for i in 0..n {
            self.base[i] = self.u[i] + W * h * (self.f_n[i] + self.f_gamma[i]);
            self.work[i] = self.base[i] + c * (e1 * self.f_n[i] + e2 * self.f_gamma[i]);
        }
        let predictor = core::mem::take(&mut self.work);
        let r = Self::stage(
            &mut self.core,
            ctx,
            (t, &self.u),
            t_new,
            c,
            &self.base,
            &predictor,
            &mut self.u_new,
            &mut self.f_new,
        );
        self.work = predictor;
        if let Err(a) = r {
            return a;
        }
        for i in 0..n {
            self.f_new[i] = (self.u_new[i] - self.base[i]) / c;
        }
        // Error estimate h Σ (b̂ − b)_i f_i, filtered through (I − d h J)⁻¹.
        for i in 0..n {
            self.work[i] = h
                * (B_HAT_MINUS_B[0] * self.f_n[i]
                    + B_HAT_MINUS_B[1] * self.f_gamma[i]
                    + B_HAT_MINUS_B[2] * self.f_new[i]);
        }
        if let Err(m) = self.core.matrix.solve(&mut self.work, ctx.stats) {
            return matrix_failure(t, m);
        }
        let error = ctx.weights.norm(&self.work, &self.u, &self.u_new);
        Attempt::Completed { error }
    }

    fn accept(&mut self) {
        core::mem::swap(&mut self.u_prev, &mut self.u);
        core::mem::swap(&mut self.u, &mut self.u_new);
        core::mem::swap(&mut self.u_gamma_prev, &mut self.u_gamma);
        core::mem::swap(&mut self.f_n, &mut self.f_new);
        self.t_prev = self.t;
        self.t = self.t_try;
        self.core.accept();
    }

    fn reject(&mut self) {}

    fn next_step_size(&mut self, h: f64, error: f64, accepted: bool) -> f64 {
        if !accepted && !error.is_finite() {
            // A Newton failure (CVODE's factor).
            return h * 0.25;
        }
        self.controller.next(h, error, accepted)
    }

    fn previous_t(&self) -> f64 {
        self.t_prev
    }

    fn interpolate<F: OdeRhs + ?Sized>(
        &mut self,
        _ctx: &mut StepContext<'_, F>,
        t: f64,
        out: &mut [f64],
    ) {
        let theta = (t - self.t_prev) / self.h;
        let (q1, q2) = quadratic_weights(theta);
        for (((o, &u), &u0), &ug) in out
            .iter_mut()
            .zip(&self.u)
            .zip(&self.u_prev)
            .zip(&self.u_gamma_prev)
        {
            *o = u0 + q1 * (u - u0) + q2 * (ug - u0);
        }
    }

    fn append_dense_segment<F: OdeRhs + ?Sized>(
        &mut self,
        _ctx: &mut StepContext<'_, F>,
        coefficients: &mut Vec<f64>,
    ) -> f64 {
        // p(θ) = u_n + θ r₁ + θ² r₂ with p(γ) = u_γ, p(1) = u_{n+1}:
        // r₂ = (γ Δ₁ − Δ_γ)/(γ − γ²), r₁ = Δ₁ − r₂.
        let n = self.n;
        let start = coefficients.len();
        coefficients.extend_from_slice(&self.u_prev);
        coefficients.resize(start + 3 * n, 0.0);
        let inv = 1.0 / (GAMMA - GAMMA * GAMMA);
        for i in 0..n {
            let d1 = self.u[i] - self.u_prev[i];
            let dg = self.u_gamma_prev[i] - self.u_prev[i];
            let r2 = (GAMMA * d1 - dg) * inv;
            coefficients[start + n + i] = d1 - r2;
            coefficients[start + 2 * n + i] = r2;
        }
        self.h
    }

    fn dense_coefficients_per_step(&self) -> usize {
        3 * self.n
    }
}

/// The weights `(q₁, q₂)` with `p(θ) = u_n + q₁ (u_{n+1} − u_n) + q₂ (u_γ − u_n)` for the quadratic
/// through `(0, u_n)`, `(γ, u_γ)`, `(1, u_{n+1})`.
fn quadratic_weights(theta: f64) -> (f64, f64) {
    // Lagrange: ℓ₁(θ) = θ(θ − γ)/(1 − γ), ℓ_γ(θ) = θ(θ − 1)/(γ(γ − 1)).
    let q1 = theta * (theta - GAMMA) / (1.0 - GAMMA);
    let q2 = theta * (theta - 1.0) / (GAMMA * (GAMMA - 1.0));
    (q1, q2)
}
