//! The problem: `F(u, p) = 0` (square) or `min ½‖F(u, p)‖²` (least squares), written once,
//! generic over [`Scalar`], and the options that say when to stop.

use sprs::CsMat;
use tangent_ad::Scalar;
use tangent_sparsity::Pattern;

/// A residual function `F: Rⁿ × Rᵖ → Rᵐ`, `r = F(u, p)`, generic over the scalar type so that
/// every AD mode of tangent can differentiate it with respect to `u` (the solver's Jacobian) and
/// `p` (the implicit-function rule).
///
/// A square system has `m = n` ([`NonlinearFunction::residual_len`]'s default); a
/// least-squares problem has `m > n`.
///
/// ```
/// use tangent_ad::Scalar;
/// use tangent_nonlinsolve::NonlinearFunction;
///
/// /// u² − p = 0, componentwise.
/// struct Sqrt;
/// impl NonlinearFunction for Sqrt {
///     fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
///         for i in 0..u.len() {
///             r[i] = u[i] * u[i] - p[i];
///         }
///     }
/// }
/// let mut r = [0.0; 2];
/// Sqrt.residual(&[2.0, 3.0], &[4.0, 1.0], &mut r);
/// assert_eq!(r, [0.0, 8.0]);
/// ```
pub trait NonlinearFunction {
    /// The number of residuals `m` for `n_unknowns` unknowns: `n_unknowns` (a square system)
    /// unless overridden.
    fn residual_len(&self, n_unknowns: usize) -> usize {
        n_unknowns
    }

    /// Writes `F(u, p)` to `r` (`u.len() == n`, `r.len() == m`, `p` as given to the problem).
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]);

    /// Optional hand-written Jacobian `∂F/∂u` at `(u, p)`, dense: writes it to `jac` (`m × n`,
    /// column-major, `jac[i + m j] = ∂F_i/∂u_j`) and returns `true`; the default returns `false`
    /// (not provided). Used by [`JacobianMethod::User`](crate::JacobianMethod::User).
    fn jacobian(&self, _u: &[f64], _p: &[f64], _jac: &mut [f64]) -> bool {
        false
    }

    /// Optional pattern (`m × n`, any storage) of a hand-written sparse Jacobian; with it,
    /// [`JacobianMethod::User`](crate::JacobianMethod::User) calls
    /// [`NonlinearFunction::sparse_jacobian`] instead of [`NonlinearFunction::jacobian`].
    fn jacobian_pattern(&self, _n_unknowns: usize) -> Option<Pattern> {
        None
    }

    /// Optional hand-written sparse Jacobian: writes the values of `∂F/∂u` into `jac`, a CSC
    /// matrix with the pattern of [`NonlinearFunction::jacobian_pattern`] (only its values may
    /// change), and returns `true`; the default returns `false`.
    fn sparse_jacobian(&self, _u: &[f64], _p: &[f64], _jac: &mut CsMat<f64>) -> bool {
        false
    }
}

impl<F: NonlinearFunction + ?Sized> NonlinearFunction for &F {
    fn residual_len(&self, n_unknowns: usize) -> usize {
        (**self).residual_len(n_unknowns)
    }
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        (**self).residual(u, p, r)
    }
    fn jacobian(&self, u: &[f64], p: &[f64], jac: &mut [f64]) -> bool {
        (**self).jacobian(u, p, jac)
    }
    fn jacobian_pattern(&self, n_unknowns: usize) -> Option<Pattern> {
        (**self).jacobian_pattern(n_unknowns)
    }
    fn sparse_jacobian(&self, u: &[f64], p: &[f64], jac: &mut CsMat<f64>) -> bool {
        (**self).sparse_jacobian(u, p, jac)
    }
}

/// When to stop. Norms are max-norms (`‖·‖∞`) unless stated.
///
/// A solve **converges** when one of these holds at an iterate `u`:
///
/// * `‖F(u)‖∞ ≤ abstol` ([`StopReason::ResidualAbsolute`](crate::StopReason));
/// * `‖F(u)‖∞ ≤ reltol · ‖F(u₀)‖∞` ([`StopReason::ResidualRelative`](crate::StopReason));
/// * the step just taken satisfies `‖δ‖∞ ≤ step_abstol + step_reltol · ‖u‖∞`
///   ([`StopReason::SmallStep`](crate::StopReason)) — for square systems only when, in addition,
///   `‖F(u)‖∞ ≤ √abstol` (a tiny step far from a root is a stall, not a solution);
/// * least squares (`m > n`) only: the cosine of the angle between `F` and every column of
///   `J` is at most `gradient_tol`, `max_j |(Jᵀ F)_j| / (‖J e_j‖₂ ‖F‖₂) ≤ gradient_tol`
///   (MINPACK's scale-invariant `gtol` test; [`StopReason::SmallGradient`](crate::StopReason)).
///
/// * trust region and Levenberg–Marquardt: both the predicted and the actual reduction of
///   `½‖F‖²` over the last trial are at most `reduction_tol` times `½‖F‖²` (MINPACK's `ftol`
///   test: no further progress is possible in working precision;
///   [`StopReason::SmallReduction`](crate::StopReason)) — for square systems only when
///   `‖F(u)‖∞ ≤ √abstol`, otherwise it is a local minimum of `‖F‖`.
///
/// It **fails** after `max_iterations`, when `‖F‖∞` has not fallen below `stall_factor` times its
/// value `stall_iterations` iterations earlier, or for the algorithm's own reasons (line search
/// or trust region exhausted, a local minimum of `‖F‖` that is not a root).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonlinearOptions {
    /// Absolute residual tolerance on `‖F(u)‖∞`.
    pub abstol: f64,
    /// Residual tolerance relative to `‖F(u₀)‖∞` (0 disables it).
    pub reltol: f64,
    /// Absolute step tolerance.
    pub step_abstol: f64,
    /// Relative step tolerance.
    pub step_reltol: f64,
    /// Gradient (cosine) tolerance of least-squares problems; for square systems, a cosine below
    /// it with `‖F‖∞ > √abstol` is a local minimum of `‖F‖` that is not a root.
    pub gradient_tol: f64,
    /// Relative reduction tolerance of the trust-region and Levenberg–Marquardt methods.
    pub reduction_tol: f64,
    /// Iteration limit (an iteration is one Jacobian or one trust-region / damping trial).
    pub max_iterations: usize,
    /// Stall window (0 disables stall detection).
    pub stall_iterations: usize,
    /// Stall factor in `(0, 1]`.
    pub stall_factor: f64,
    /// Measure the time spent in `F`, the Jacobian, factorisations and linear solves
    /// ([`Timings`](crate::Timings)); off by default (two clock reads per measured call).
    pub timings: bool,
}

impl Default for NonlinearOptions {
    /// `abstol = 1e-10`, `reltol = 0`, `step_abstol = 0`, `step_reltol = 1e-12`,
    /// `gradient_tol = 1e-10`, `reduction_tol = 1e-14`, 1000 iterations, stall when `‖F‖∞` has not halved over 50
    /// iterations. `1e-10` leaves two to four digits above the rounding floor `ε · ‖J‖ ‖u‖` of
    /// well-scaled residuals; the relative step `1e-12` stops a Newton iteration whose next step
    /// could no longer change more than the last three or four digits.
    fn default() -> Self {
        Self {
            abstol: 1e-10,
            reltol: 0.0,
            step_abstol: 0.0,
            step_reltol: 1e-12,
            gradient_tol: 1e-10,
            reduction_tol: 1e-14,
            max_iterations: 1000,
            stall_iterations: 50,
            stall_factor: 0.5,
            timings: false,
        }
    }
}

impl NonlinearOptions {
    /// Checks the ranges.
    pub(crate) fn validate(&self) -> Result<(), crate::NonlinsolveError> {
        use crate::NonlinsolveError::InvalidOption;
        let nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if !nonneg(self.abstol) || !nonneg(self.reltol) {
            return Err(InvalidOption("abstol and reltol must be finite and ≥ 0"));
        }
        if !nonneg(self.step_abstol) || !nonneg(self.step_reltol) {
            return Err(InvalidOption(
                "step_abstol and step_reltol must be finite and ≥ 0",
            ));
        }
        if !nonneg(self.gradient_tol) || !nonneg(self.reduction_tol) {
            return Err(InvalidOption(
                "gradient_tol and reduction_tol must be finite and ≥ 0",
            ));
        }
        if !(self.stall_factor > 0.0 && self.stall_factor <= 1.0) {
            return Err(InvalidOption("stall_factor must be in (0, 1]"));
        }
        Ok(())
    }
}

/// A nonlinear problem: the residual `F`, the initial guess `u₀` (length `n`), the parameters
/// `p` (any length, possibly 0) and the stopping [`NonlinearOptions`].
///
/// Square (`F(u, p) = 0`, `m = n`) or least squares (`min ½‖F(u, p)‖²`, `m > n`) according to
/// [`NonlinearFunction::residual_len`].
///
/// ```
/// use tangent_ad::Scalar;
/// use tangent_nonlinsolve::{NonlinearFunction, NonlinearProblem, NewtonRaphson, solve};
///
/// /// x² + y² = p₀, x = y: the point on the diagonal at radius √p₀.
/// struct Circle;
/// impl NonlinearFunction for Circle {
///     fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
///         r[0] = u[0] * u[0] + u[1] * u[1] - p[0];
///         r[1] = u[0] - u[1];
///     }
/// }
/// let prob = NonlinearProblem::new(Circle, vec![1.0, 0.5], vec![2.0]);
/// let sol = solve(&prob, &NewtonRaphson::default().into()).unwrap();
/// // Stopped at ‖F‖∞ ≤ 1e-10 (the default abstol); near the root ‖J⁻¹‖ ≈ ½.
/// assert!(sol.residual_norm <= 1e-10);
/// assert!((sol.u[0] - 1.0).abs() < 1e-10 && (sol.u[1] - 1.0).abs() < 1e-10);
/// ```
#[derive(Clone, Debug)]
pub struct NonlinearProblem<F> {
    /// The residual function.
    pub f: F,
    /// The initial guess `u₀` (length `n`).
    pub u0: Vec<f64>,
    /// The parameters passed to `F`.
    pub p: Vec<f64>,
    /// When to stop.
    pub options: NonlinearOptions,
}

impl<F: NonlinearFunction> NonlinearProblem<F> {
    /// A problem with default [`NonlinearOptions`].
    pub fn new(f: F, u0: impl Into<Vec<f64>>, p: impl Into<Vec<f64>>) -> Self {
        Self {
            f,
            u0: u0.into(),
            p: p.into(),
            options: NonlinearOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: NonlinearOptions) -> Self {
        self.options = options;
        self
    }

    /// Unknowns `n`.
    pub fn n_unknowns(&self) -> usize {
        self.u0.len()
    }

    /// Residuals `m`.
    pub fn n_residuals(&self) -> usize {
        self.f.residual_len(self.u0.len())
    }

    /// `true` when `m > n`.
    pub fn is_least_squares(&self) -> bool {
        self.n_residuals() > self.n_unknowns()
    }
}
