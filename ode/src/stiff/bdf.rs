//! Variable-order, variable-step BDF (orders 1–5) in backward-difference form, with the
//! Jacobian and the factorised iteration matrix reused across steps.
//!
//! # Formulas
//!
//! The backward differentiation formula of order `k` with the quasi-constant step size `h`,
//! written with the backward differences `∇^j y_{n+1}` of the solution (Shampine & Reichelt,
//! *The MATLAB ODE suite*, SIAM J. Sci. Comput. 18, 1997, §2.1), is
//!
//! ```text
//! Σ_{j=1}^{k} (1/j) ∇^j y_{n+1} = h f(t_{n+1}, y_{n+1}).
//! ```
//!
//! With the predictor `y⁽⁰⁾ = Σ_{j=0}^{k} ∇^j y_n` (the interpolating polynomial of the last
//! `k + 1` values extrapolated to `t_{n+1}`) and `d = y_{n+1} − y⁽⁰⁾ = ∇^{k+1} y_{n+1}`, it becomes
//! the equation for `y = y_{n+1}`
//!
//! ```text
//! y = (y⁽⁰⁾ − ψ) + (h/α_k) f(t_{n+1}, y),     ψ = (1/α_k) Σ_{j=1}^{k} γ_j ∇^j y_n,
//! γ_j = Σ_{i=1}^{j} 1/i,     α_k = (1 − κ_k) γ_k,
//! ```
//!
//! solved by the simplified Newton iteration of [`newton`](crate::stiff::newton) with the matrix
//! `I − (h/α_k) J`. `κ_k = 0` gives the BDFs; [`Bdf::ndf`] takes Klopfenstein and Shampine's
//! numerical differentiation formulas (`κ = −0.1850, −1/9, −0.0823, −0.0415, 0`), which have
//! the same orders and smaller error constants at orders 1–4 (ode15s's default). The local error
//! is estimated by `(κ_k γ_k + 1/(k+1)) ‖d‖`.
//!
//! The backward differences and a Nordsieck array (the scaled derivatives `hʲ y⁽ʲ⁾/j!` that
//! CVODE keeps) are two bases of the same interpolating polynomial, related by a constant
//! triangular matrix, and both are re-sampled when the step changes. The corrector's leading
//! coefficient `h/α_k` depends on `h` and `k` only, never on the step history, so the iteration
//! matrix `I − (h/α_k) J` stays valid across steps of one size and order.
//!
//! # Step size and order
//!
//! The differences are kept for a constant step; when the step changes by a factor `ρ` the
//! interpolating polynomial is re-sampled on the new grid (`D ← (R(ρ) U)ᵀ D`, the matrices of
//! Shampine & Reichelt's §2.1 as SciPy's `BDF` implements them). After `k + 1` steps at one size
//! the errors that orders `k − 1` and `k + 1` would make are estimated from `∇^k y` and
//! `∇^{k+2} y`, and the order whose predicted step is largest is chosen (the order changes by at
//! most one). The step factors are CVODE's (Hindmarsh et al., *ACM TOMS* 31, 2005; the constants
//! of its source): `η = 1/((β ε)^{1/(k+1)} + 10⁻⁶)` for an error norm `ε`, with the biases
//! `β = 4, 4, 6` for orders `k − 1, k, k + 1` (aiming at a quarter of the tolerance; CVODE's
//! are 6, 6, 10 — measured on P2 and P3, these take about 10 % fewer steps at the same error,
//! while 2, 2, 3 multiply P3's rejected steps), at most 10;
//! the step and order change only when `η ≥ 1.5`, so that steps of constant size keep their
//! factorisation. A rejected step is retried with `η` clamped to `[0.1, 0.9]` (at most 0.2 after
//! a second failure in a row; order 1 and 0.1 after the third), or with a quarter of the step
//! after a Newton failure.
//!
//! # Dense output
//!
//! After a step the differences define the polynomial of degree `k` through `y_{n+1}, y_n, …,
//! y_{n+1−k}`, `P(t_{n+1} + s h) = Σ_j ∇^j y_{n+1} Π_{m<j} (s + m)/(m + 1)`; it is the step's
//! interpolant, stored in the monomial form of [`solution`](crate::solution).

use tangent_linsolve::LinearAlgorithm;

use crate::algorithm::{Attempt, NonFinite, OdeAlgorithm, StepContext, Stepper};
use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs};
use crate::stiff::jacobian::JacobianMethod;
use crate::stiff::linear::MatrixFailure;
use crate::stiff::newton::{ImplicitCore, NewtonOptions, StageFailure};
use crate::stiff::{Prepared, StiffInfo};

/// The highest order.
pub const MAX_ORDER: usize = 5;

/// Klopfenstein–Shampine NDF coefficients `κ_k`, `k = 0..=5` (Shampine & Reichelt 1997,
/// Table 1).
const NDF_KAPPA: [f64; MAX_ORDER + 1] = [0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0];

/// Largest factor by which the step may grow.
const MAX_GROWTH: f64 = 10.0;
/// Largest factor of the step after a second error-test failure in a row (CVODE's `ETAMXF`).
const MIN_SHRINK: f64 = 0.2;
/// Smallest step factor after an error-test failure (CVODE's `ETAMIN`).
const MIN_SHRINK_FIRST: f64 = 0.1;
/// Biases of the error estimates for orders `k − 1`, `k`, `k + 1` (CVODE's `BIAS1..3` are 6, 6,
/// 10): the step is chosen for `1/4` (`1/6` for a higher order) of the tolerance. See the module
/// docs for the measurement behind the smaller values.
const BIAS_LOWER: f64 = 4.0;
const BIAS_SAME: f64 = 4.0;
const BIAS_HIGHER: f64 = 6.0;
/// The step (and order) change after an accepted step only if it grows at least this much
/// (CVODE's `THRESH`).
const CHANGE_THRESHOLD: f64 = 1.5;
/// `κ = NEWTON_COEFFICIENT / C_k` ends the Newton iteration (`C_k` the error constant): CVODE's
/// test (its `nlscoef` is 0.1) with half its coefficient — measured on P2, the full 0.1 lets
/// Newton errors reach the error estimate and multiplies the rejected steps.
const NEWTON_COEFFICIENT: f64 = 0.05;
/// Step factor after a Newton failure (CVODE's `ETACF`).
const CONVERGENCE_FAILURE_SHRINK: f64 = 0.25;

/// Variable-order (1–5), variable-step BDF (or NDF) with Newton iterations, and the Jacobian and
/// factorisation reused across steps as CVODE does. See the [module docs](self).
///
/// ```
/// use tangent_ode::problems::Robertson;
/// use tangent_ode::{Bdf, solve};
///
/// let sol = solve(&Robertson::problem(), &Bdf::default()).unwrap();
/// let u3 = sol.last_state().unwrap()[2];
/// assert!((u3 - Robertson::ORACLE_U3_END).abs() < 1e-5 * Robertson::ORACLE_U3_END);
/// let s = sol.stats();
/// // Far fewer factorisations than steps: the iteration matrix is reused.
/// assert!(s.factorizations < s.accepted_steps / 2);
/// ```
#[derive(Clone, Debug)]
pub struct Bdf {
    /// The highest order used (1 to 5).
    pub max_order: usize,
    /// Use the numerical differentiation formulas (NDF) instead of the BDFs.
    pub ndf: bool,
    /// How `J = ∂f/∂u` is computed.
    pub jacobian: JacobianMethod,
    /// The linear solver of `I − (h/α_k) J`.
    pub linear_solver: LinearAlgorithm,
    /// The Newton iteration (default: at most 4 iterations, as SciPy's BDF and ode15s).
    pub newton: NewtonOptions,
}

impl Default for Bdf {
    fn default() -> Self {
        Self {
            max_order: MAX_ORDER,
            ndf: false,
            jacobian: JacobianMethod::default(),
            linear_solver: LinearAlgorithm::default(),
            newton: NewtonOptions {
                max_iterations: 4,
                tolerance: None,
            },
        }
    }
}

impl Bdf {
    /// The NDF variant (ode15s's default formulas).
    pub fn ndf() -> Self {
        Self {
            ndf: true,
            ..Self::default()
        }
    }
}

impl OdeAlgorithm for Bdf {
    type Stepper = BdfStepper;

    fn name(&self) -> &'static str {
        if self.ndf { "NDF" } else { "BDF" }
    }

    fn stepper<F: OdeRhs, E: EventFunction>(
        &self,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self::Stepper, OdeError> {
        if self.max_order == 0 || self.max_order > MAX_ORDER {
            return Err(OdeError::InvalidOption {
                what: "Bdf::max_order",
                value: self.max_order as f64,
                reason: "must be between 1 and 5",
            });
        }
        let n = problem.dim();
        let prepared = Prepared::new(&self.jacobian, &self.linear_solver, problem)?;
        let mut kappa = [0.0; MAX_ORDER + 2];
        if self.ndf {
            kappa[..=MAX_ORDER].copy_from_slice(&NDF_KAPPA);
        }
        let mut gamma = [0.0; MAX_ORDER + 2];
        for k in 1..=MAX_ORDER + 1 {
            gamma[k] = gamma[k - 1] + 1.0 / k as f64;
        }
        let mut alpha = [0.0; MAX_ORDER + 2];
        let mut error_const = [0.0; MAX_ORDER + 2];
        for k in 0..=MAX_ORDER + 1 {
            alpha[k] = (1.0 - kappa[k]) * gamma[k];
            error_const[k] = kappa[k] * gamma[k] + 1.0 / (k as f64 + 1.0);
        }
        Ok(BdfStepper {
            n,
            max_order: self.max_order,
            gamma,
            alpha,
            error_const,
            d: vec![0.0; (MAX_ORDER + 3) * n],
            d_tmp: vec![0.0; (MAX_ORDER + 1) * n],
            order: 1,
            next_order: 1,
            h_d: 1.0,
            n_equal_steps: 0,
            t: 0.0,
            t_prev: 0.0,
            t_try: 0.0,
            f0: vec![0.0; n],
            y_pred: vec![0.0; n],
            base: vec![0.0; n],
            y_new: vec![0.0; n],
            fy: vec![0.0; n],
            diff: vec![0.0; n],
            error: 0.0,
            error_lower: f64::INFINITY,
            error_higher: f64::INFINITY,
            error_failures: 0,
            core: ImplicitCore::new(prepared.jacobian, prepared.matrix, self.newton, n),
        })
    }
}

/// The state of [`Bdf`] between steps: the differences, order, step size, Newton and reuse
/// state.
pub struct BdfStepper {
    n: usize,
    max_order: usize,
    gamma: [f64; MAX_ORDER + 2],
    alpha: [f64; MAX_ORDER + 2],
    error_const: [f64; MAX_ORDER + 2],
    /// Backward differences `∇^j y`, `j = 0..=MAX_ORDER + 2`, row after row (`∇⁰ y = y`), for
    /// the step size `h_d`.
    d: Vec<f64>,
    d_tmp: Vec<f64>,
    order: usize,
    /// The order chosen for the next step.
    next_order: usize,
    /// The step size the differences are scaled to (signed).
    h_d: f64,
    n_equal_steps: usize,
    t: f64,
    t_prev: f64,
    t_try: f64,
    f0: Vec<f64>,
    y_pred: Vec<f64>,
    base: Vec<f64>,
    y_new: Vec<f64>,
    fy: Vec<f64>,
    /// `y_new − y_pred` of the last attempt.
    diff: Vec<f64>,
    /// Error norm of the last attempt.
    error: f64,
    /// Error norms orders `k − 1` and `k + 1` would have made in the last attempt.
    error_lower: f64,
    error_higher: f64,
    error_failures: usize,
    core: ImplicitCore,
}

impl core::fmt::Debug for BdfStepper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BdfStepper")
            .field("n", &self.n)
            .field("order", &self.order)
            .field("t", &self.t)
            .field("h", &self.h_d)
            .finish()
    }
}

/// `R(ρ)` of Shampine & Reichelt (1997, §2.1), `(k + 1) × (k + 1)` in the top-left corner of
/// `out`: `R_ij = Π_{l=1}^{i} (l − 1 − ρ j)/l` (`R_0j = 1`, `R_i0 = 0` for `i > 0`).
#[allow(clippy::needless_range_loop)] // indices mirror the formula
fn compute_r(order: usize, factor: f64, out: &mut [[f64; MAX_ORDER + 1]; MAX_ORDER + 1]) {
    for j in 0..=order {
        out[0][j] = 1.0;
    }
    for i in 1..=order {
        out[i][0] = 0.0;
        for j in 1..=order {
            let m = (i as f64 - 1.0 - factor * j as f64) / i as f64;
            out[i][j] = out[i - 1][j] * m;
        }
    }
}

impl BdfStepper {
    /// What the stepper prepared: Jacobian route, colours, linear solver.
    pub fn info(&self) -> StiffInfo {
        StiffInfo::new(&self.core.jacobian, &self.core.matrix)
    }

    /// The order of the last step.
    pub fn current_order(&self) -> usize {
        self.order
    }

    fn row(&self, j: usize) -> &[f64] {
        &self.d[j * self.n..(j + 1) * self.n]
    }

    /// Re-samples the differences of order `order` for a step `factor` times the current one.
    fn change_d(&mut self, factor: f64) {
        let order = self.order;
        let n = self.n;
        let mut r = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        let mut u = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        compute_r(order, factor, &mut r);
        compute_r(order, 1.0, &mut u);
        // RU = R U; D_new[i] = Σ_k RU[k][i] D[k].
        let mut ru = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        for i in 0..=order {
            for j in 0..=order {
                let mut acc = 0.0;
                for (l, ul) in u.iter().enumerate().take(order + 1) {
                    acc += r[i][l] * ul[j];
                }
                ru[i][j] = acc;
            }
        }
        self.d_tmp[..(order + 1) * n].copy_from_slice(&self.d[..(order + 1) * n]);
        for i in 0..=order {
            let out = &mut self.d[i * n..(i + 1) * n];
            out.fill(0.0);
            for (k, ruk) in ru.iter().enumerate().take(order + 1) {
                let w = ruk[i];
                if w != 0.0 {
                    for (o, &v) in out.iter_mut().zip(&self.d_tmp[k * n..(k + 1) * n]) {
                        *o += w * v;
                    }
                }
            }
        }
        self.h_d *= factor;
        self.n_equal_steps = 0;
    }

    /// Coefficients of `b_j(θ) = Π_{m<j} (θ − 1 + m)/(m + 1)` in powers of `θ`, `j = 0..=order`.
    fn basis(order: usize) -> [[f64; MAX_ORDER + 1]; MAX_ORDER + 1] {
        let mut b = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        b[0][0] = 1.0;
        for j in 1..=order {
            // b_j = b_{j−1} · (θ + (j − 2)) / j.
            let shift = j as f64 - 2.0;
            let inv = 1.0 / j as f64;
            for m in 0..=j {
                let from_theta = if m > 0 { b[j - 1][m - 1] } else { 0.0 };
                b[j][m] = (from_theta + shift * b[j - 1][m]) * inv;
            }
        }
        b
    }

    fn stage_failure(&self, failure: StageFailure) -> Attempt {
        match failure {
            StageFailure::Diverged => Attempt::ConvergenceFailure,
            StageFailure::NonFinite(nf) => Attempt::NonFinite(nf),
            StageFailure::Matrix(m) => matrix_failure(self.t, m),
        }
    }
}

pub(crate) fn matrix_failure(t: f64, m: MatrixFailure) -> Attempt {
    match m {
        MatrixFailure::Singular(pivot) => Attempt::Singular { t, pivot },
        MatrixFailure::NonFinite(row, column) => Attempt::NonFiniteJacobian { t, row, column },
        MatrixFailure::Solver => Attempt::ConvergenceFailure,
    }
}

impl Stepper for BdfStepper {
    fn order(&self) -> usize {
        self.order
    }

    fn start<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t0: f64,
        u0: &[f64],
    ) -> Result<(), NonFinite> {
        let n = self.n;
        self.core.start(ctx.p);
        self.t = t0;
        self.t_prev = t0;
        self.t_try = t0;
        self.order = 1;
        self.next_order = 1;
        self.n_equal_steps = 0;
        self.error_failures = 0;
        ctx.eval_checked(t0, u0, &mut self.f0)?;
        self.d.fill(0.0);
        self.d[..n].copy_from_slice(u0);
        // ∇y ≈ h f for the first step: stored for h = 1 and rescaled by the first attempt.
        self.d[n..2 * n].copy_from_slice(&self.f0);
        self.h_d = 1.0;
        Ok(())
    }

    fn t(&self) -> f64 {
        self.t
    }

    fn u(&self) -> &[f64] {
        self.row(0)
    }

    fn derivative(&self) -> &[f64] {
        &self.f0
    }

    fn attempt<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>, t_new: f64) -> Attempt {
        let n = self.n;
        let h = t_new - self.t;
        self.t_try = t_new;
        if self.next_order != self.order {
            self.order = self.next_order;
            self.n_equal_steps = 0;
        }
        if h != self.h_d {
            self.change_d(h / self.h_d);
            // Exactly the step asked for (the product may differ in the last bit).
            self.h_d = h;
        }
        let order = self.order;
        // Predictor and ψ.
        self.y_pred.fill(0.0);
        self.base.fill(0.0);
        for j in 0..=order {
            let row = &self.d[j * n..(j + 1) * n];
            for (p, &v) in self.y_pred.iter_mut().zip(row) {
                *p += v;
            }
            if j > 0 {
                let g = self.gamma[j] / self.alpha[order];
                for (b, &v) in self.base.iter_mut().zip(row) {
                    *b += g * v;
                }
            }
        }
        // base = y_pred − ψ.
        for (b, &p) in self.base.iter_mut().zip(&self.y_pred) {
            *b = p - *b;
        }
        let c = h / self.alpha[order];
        if let Err(m) = self.core.prepare(ctx, t_new, &self.y_pred, c) {
            return matrix_failure(self.t, m);
        }
        let iterations = loop {
            self.y_new.copy_from_slice(&self.y_pred);
            let u_n = &self.d[..n];
            let kappa = self
                .core
                .kappa(NEWTON_COEFFICIENT / self.error_const[order]);
            match self.core.solve_stage(
                ctx,
                kappa,
                t_new,
                c,
                &self.base,
                &mut self.y_new,
                &mut self.fy,
                u_n,
            ) {
                Ok(it) => break it,
                Err(StageFailure::Diverged) if !self.core.jacobian_is_current() => {
                    // A Jacobian from an earlier step: evaluate one here and retry.
                    if let Err(m) = self.core.refresh(ctx, t_new, &self.y_pred, c) {
                        return matrix_failure(self.t, m);
                    }
                }
                Err(e) => return self.stage_failure(e),
            }
        };
        let _ = iterations;
        for i in 0..n {
            self.diff[i] = self.y_new[i] - self.y_pred[i];
        }
        let error =
            self.error_const[order] * ctx.weights.norm(&self.diff, &self.d[..n], &self.y_new);
        self.error = error;
        // The errors orders k − 1 and k + 1 would make, from ∇^k y_{n+1} = ∇^k y_n + d and
        // ∇^{k+2} y_{n+1} = d − ∇^{k+1} y_n, when the order may change after this step.
        self.error_lower = f64::INFINITY;
        self.error_higher = f64::INFINITY;
        if self.n_equal_steps + 1 > order {
            if order > 1 {
                for i in 0..n {
                    self.fy[i] = self.d[order * n + i] + self.diff[i];
                }
                self.error_lower = self.error_const[order - 1]
                    * ctx.weights.norm(&self.fy, &self.y_new, &self.y_new);
            }
            if order < self.max_order {
                for i in 0..n {
                    self.fy[i] = self.diff[i] - self.d[(order + 1) * n + i];
                }
                self.error_higher = self.error_const[order + 1]
                    * ctx.weights.norm(&self.fy, &self.y_new, &self.y_new);
            }
        }
        Attempt::Completed { error }
    }

    fn accept(&mut self) {
        let n = self.n;
        let k = self.order;
        // D[k+2] = d − D[k+1]; D[k+1] = d; D[i] += D[i+1] for i = k..0.
        for i in 0..n {
            let old = self.d[(k + 1) * n + i];
            self.d[(k + 2) * n + i] = self.diff[i] - old;
            self.d[(k + 1) * n + i] = self.diff[i];
        }
        for j in (0..=k).rev() {
            let (lo, hi) = self.d.split_at_mut((j + 1) * n);
            for (a, &b) in lo[j * n..].iter_mut().zip(&hi[..n]) {
                *a += b;
            }
        }
        self.n_equal_steps += 1;
        self.t_prev = self.t;
        self.t = self.t_try;
        self.error_failures = 0;
        self.core.accept();
    }

    fn reject(&mut self) {}

    fn next_step_size(&mut self, h: f64, error: f64, accepted: bool) -> f64 {
        let order = self.order;
        // CVODE's step factor for an error norm `e` at order `k`: 1/((bias e)^(1/(k+1)) + 10⁻⁶).
        let eta =
            |bias: f64, e: f64, k: usize| 1.0 / ((bias * e).powf(1.0 / (k as f64 + 1.0)) + 1e-6);
        if !accepted {
            if !error.is_finite() {
                return h * CONVERGENCE_FAILURE_SHRINK;
            }
            self.error_failures += 1;
            let mut factor = eta(BIAS_SAME, error, order).clamp(MIN_SHRINK_FIRST, 0.9);
            if self.error_failures >= 2 {
                factor = factor.min(MIN_SHRINK);
            }
            if self.error_failures >= 3 && order > 1 {
                // Repeated failures at high order: restart from order 1 (CVODE).
                self.order = 1;
                self.next_order = 1;
                factor = MIN_SHRINK_FIRST;
            }
            return h * factor;
        }
        if self.n_equal_steps < order + 1 {
            return h;
        }
        let candidates = [
            (
                eta(BIAS_LOWER, self.error_lower, order.saturating_sub(1)),
                order - 1,
            ),
            (eta(BIAS_SAME, self.error, order), order),
            (eta(BIAS_HIGHER, self.error_higher, order + 1), order + 1),
        ];
        let (best, new_order) = candidates
            .iter()
            .copied()
            .filter(|c| c.1 >= 1 && c.1 <= self.max_order)
            .fold((f64::NEG_INFINITY, order), |acc, c| {
                if c.0 > acc.0 { c } else { acc }
            });
        if best < CHANGE_THRESHOLD {
            return h;
        }
        self.next_order = new_order;
        h * best.min(MAX_GROWTH)
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
        let n = self.n;
        let s = (t - self.t) / self.h_d;
        out.copy_from_slice(&self.d[..n]);
        let mut p = 1.0;
        for j in 1..=self.order {
            p *= (s + (j - 1) as f64) / j as f64;
            for (o, &v) in out.iter_mut().zip(&self.d[j * n..(j + 1) * n]) {
                *o += p * v;
            }
        }
    }

    fn append_dense_segment<F: OdeRhs + ?Sized>(
        &mut self,
        _ctx: &mut StepContext<'_, F>,
        coefficients: &mut Vec<f64>,
    ) -> f64 {
        let n = self.n;
        let order = self.order;
        let b = Self::basis(order);
        let start = coefficients.len();
        coefficients.resize(start + (order + 1) * n, 0.0);
        let block = &mut coefficients[start..];
        // r_m = Σ_j β_jm ∇^j y (b_j has degree j).
        for m in 0..=order {
            let r = &mut block[m * n..(m + 1) * n];
            for (j, bj) in b.iter().enumerate().take(order + 1).skip(m) {
                let w = bj[m];
                if w != 0.0 {
                    for (o, &v) in r.iter_mut().zip(&self.d[j * n..(j + 1) * n]) {
                        *o += w * v;
                    }
                }
            }
        }
        self.h_d
    }

    fn dense_coefficients_per_step(&self) -> usize {
        (self.max_order + 1) * self.n
    }
}

#[cfg(test)]
mod tests {
    //! Fixed-order convergence from exact starting values (the start-up of a variable-order code
    //! would otherwise dominate the error), the re-sampling of the differences, and the dense
    //! output's consistency.
    #![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

    use super::*;
    use crate::algorithm::ErrorWeights;
    use crate::solution::Stats;
    use tangent_ad::Scalar;

    /// `u₀' = −u₀ + u₁`, `u₁' = −1000 (u₁ − cos t) − sin t`: a stiff linear system (a
    /// Prothero–Robinson component driving a slow one) whose solution is smooth, so that the
    /// exact history before `t0` stays bounded: `u₁ = cos t`, `u₀ = e^{−t}/2 + (cos t + sin t)/2`.
    struct StiffLinear;
    impl OdeRhs for StiffLinear {
        fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
            du[0] = -u[0] + u[1];
            du[1] = (u[1] - t.cos()) * -1000.0 - t.sin();
        }
    }
    fn stiff_linear_exact(t: f64) -> Vec<f64> {
        vec![0.5 * (-t).exp() + 0.5 * (t.cos() + t.sin()), t.cos()]
    }

    /// `u' = −2 t u²`: `u = 1/(1 + t²)` (nonlinear, non-autonomous).
    struct Riccati;
    impl OdeRhs for Riccati {
        fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
            du[0] = -(t * 2.0) * u[0] * u[0];
        }
    }
    fn riccati_exact(t: f64) -> Vec<f64> {
        vec![1.0 / (1.0 + t * t)]
    }

    /// The differences `∇^j y_0`, `j = 0..=k`, of the exact solution on the grid of step `h`.
    fn exact_differences(exact: &dyn Fn(f64) -> Vec<f64>, t0: f64, h: f64, k: usize) -> Vec<f64> {
        let mut level: Vec<Vec<f64>> = (0..=k).map(|j| exact(t0 - j as f64 * h)).collect();
        let mut out = Vec::new();
        for _ in 0..=k {
            out.extend_from_slice(&level[0]);
            level = level
                .windows(2)
                .map(|w| w[0].iter().zip(&w[1]).map(|(a, b)| a - b).collect())
                .collect();
        }
        out
    }

    /// Global error at `t1` of BDF (or NDF) of fixed order `k` with `steps` fixed steps from exact
    /// starting values; also the error of the last step's interpolant at its midpoint.
    fn fixed_order<F: OdeRhs>(
        rhs: F,
        exact: &dyn Fn(f64) -> Vec<f64>,
        (t0, t1): (f64, f64),
        k: usize,
        ndf: bool,
        steps: usize,
    ) -> (f64, f64) {
        let u0 = exact(t0);
        let n = u0.len();
        let h = (t1 - t0) / steps as f64;
        let prob = OdeProblem::new(rhs, u0.clone(), (t0, t1), vec![]);
        let alg = Bdf {
            max_order: k,
            ndf,
            // Iterate to the tight weights below even at order 1 with long steps.
            newton: NewtonOptions {
                max_iterations: 20,
                tolerance: None,
            },
            ..Default::default()
        };
        let mut st = alg.stepper(&prob).unwrap();
        // Tight weights: the Newton iterations converge far below the truncation error.
        let weights = ErrorWeights::new(n, &1e-13.into(), &1e-13.into()).unwrap();
        let mut stats = Stats::default();
        let mut ctx = StepContext {
            rhs: &prob.rhs,
            p: &[],
            weights: &weights,
            stats: &mut stats,
        };
        st.start(&mut ctx, t0, &u0).unwrap();
        let d = exact_differences(exact, t0, h, k);
        st.d[..d.len()].copy_from_slice(&d);
        st.order = k;
        st.next_order = k;
        st.h_d = h;
        for s in 1..=steps {
            let t_new = if s == steps { t1 } else { t0 + s as f64 * h };
            let a = st.attempt(&mut ctx, t_new);
            assert!(
                matches!(a, Attempt::Completed { .. }),
                "{a:?} k {k} steps {steps} t0 {t0} t1 {t1} stats {:?}",
                ctx.stats
            );
            st.accept();
        }
        let err = |u: &[f64], t: f64| {
            u.iter()
                .zip(exact(t))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let global = err(st.u(), t1);
        let tm = t1 - 0.5 * h;
        let mut um = vec![0.0; n];
        st.interpolate(&mut ctx, tm, &mut um);
        (global, err(&um, tm))
    }

    fn slope(h: &[f64], e: &[f64]) -> f64 {
        let x: Vec<f64> = h.iter().map(|v| v.ln()).collect();
        let y: Vec<f64> = e.iter().map(|v| v.ln()).collect();
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
        sxy / sxx
    }

    #[test]
    fn fixed_order_convergence() {
        // Step counts keep the errors between ~1e-4 and ~1e-11: past the pre-asymptotic range,
        // above round-off.
        for ndf in [false, true] {
            for k in 1..=MAX_ORDER {
                let steps: Vec<usize> = match k {
                    1 => vec![100, 200, 400, 800],
                    2 => vec![50, 100, 200, 400],
                    3 => vec![40, 80, 160, 320],
                    4 => vec![30, 60, 120, 240],
                    _ => vec![25, 50, 100, 200],
                };
                let hs: Vec<f64> = steps.iter().map(|&s| 1.0 / s as f64).collect();
                let lin: Vec<f64> = steps
                    .iter()
                    .map(|&s| {
                        fixed_order(StiffLinear, &stiff_linear_exact, (0.0, 1.0), k, ndf, s).0
                    })
                    .collect();
                let ric: Vec<f64> = steps
                    .iter()
                    .map(|&s| fixed_order(Riccati, &riccati_exact, (0.0, 1.0), k, ndf, s).0)
                    .collect();
                let (pl, pr) = (slope(&hs, &lin), slope(&hs, &ric));
                println!(
                    "{} order {k}: stiff linear {lin:?} → {pl:.3}; Riccati {ric:?} → {pr:.3}",
                    if ndf { "NDF" } else { "BDF" }
                );
                assert!((pl - k as f64).abs() <= 0.3, "order {k} ndf {ndf}: {pl}");
                assert!((pr - k as f64).abs() <= 0.3, "order {k} ndf {ndf}: {pr}");
            }
        }
    }

    #[test]
    fn interpolant_order() {
        // One step from exact history: the interpolating polynomial of degree k through the new
        // value (local error O(h^{k+1})) and k exact ones errs by O(h^{k+1}) in between.
        for k in 1..=MAX_ORDER {
            // Shorter steps at high order, where the history spans k steps of a solution
            // whose nearest singularity (t = ±i) is about 1 away.
            let hs: Vec<f64> = if k < 5 {
                vec![0.04, 0.028, 0.02, 0.014, 0.01]
            } else {
                vec![0.02, 0.016, 0.0125, 0.01, 0.008]
            };
            let errs: Vec<f64> = hs
                .iter()
                .map(|&h| fixed_order(Riccati, &riccati_exact, (0.3, 0.3 + h), k, false, 1).1)
                .collect();
            let p = slope(&hs, &errs);
            println!("BDF interpolant order {k}: {errs:?} → {p:.3}");
            assert!((p - (k + 1) as f64).abs() <= 0.3, "order {k}: {p}");
        }
    }

    #[test]
    fn resampling_is_exact_for_polynomials() {
        // Differences of a cubic on one grid, re-sampled for a step 0.7 times as long, equal the
        // differences of the cubic on the new grid.
        let poly = |t: f64| vec![1.0 + t - 2.0 * t * t + 0.5 * t * t * t];
        let prob = OdeProblem::new(Riccati, vec![1.0], (0.0, 1.0), vec![]);
        let mut st = Bdf::default().stepper(&prob).unwrap();
        let (k, h) = (3, 0.1);
        let d = exact_differences(&poly, 0.4, h, k);
        st.d[..d.len()].copy_from_slice(&d);
        st.order = k;
        st.h_d = h;
        st.change_d(0.7);
        let expected = exact_differences(&poly, 0.4, 0.7 * h, k);
        for (a, b) in st.d[..=k].iter().zip(&expected) {
            // 1e-14: four differences of O(1) values.
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        assert!((st.h_d - 0.07).abs() < 1e-16);
    }

    #[test]
    fn dense_segment_matches_interpolate() {
        let poly = |t: f64| vec![1.0 + t - 2.0 * t * t + 0.5 * t.powi(4), t.sin()];
        let prob = OdeProblem::new(StiffLinear, vec![1.0, 1.0], (0.0, 1.0), vec![]);
        let mut st = Bdf::default().stepper(&prob).unwrap();
        let weights = ErrorWeights::new(2, &1e-6.into(), &1e-6.into()).unwrap();
        let mut stats = Stats::default();
        let mut ctx = StepContext {
            rhs: &prob.rhs,
            p: &[],
            weights: &weights,
            stats: &mut stats,
        };
        for k in 1..=MAX_ORDER {
            let h = 0.13;
            let d = exact_differences(&poly, 0.5, h, k);
            st.d[..d.len()].copy_from_slice(&d);
            st.order = k;
            st.h_d = h;
            st.t = 0.5;
            st.t_prev = 0.5 - h;
            let mut coefficients = Vec::new();
            let step = st.append_dense_segment(&mut ctx, &mut coefficients);
            assert_eq!(step, h);
            assert_eq!(coefficients.len(), (k + 1) * 2);
            for theta in [0.0, 0.25, 0.5, 1.0] {
                let mut u = [0.0; 2];
                st.interpolate(&mut ctx, 0.5 - h + theta * h, &mut u);
                for i in 0..2 {
                    let mut v = 0.0;
                    for m in (0..=k).rev() {
                        v = v * theta + coefficients[m * 2 + i];
                    }
                    // 1e-13: the same polynomial in two bases, coefficients O(1).
                    assert!((v - u[i]).abs() < 1e-13, "k {k} θ {theta}: {v} vs {}", u[i]);
                }
            }
        }
    }
}
