//! The algorithms: one small options struct per method, each with `Default`, and the
//! [`Algorithm`] enum that names them.
//!
//! | algorithm | systems | step | globalisation | linear algebra per iteration |
//! | --- | --- | --- | --- | --- |
//! | [`NewtonRaphson`] | square; least squares as Gauss–Newton | `J δ = −F` (least squares: `min ‖J δ + F‖`) | [`LineSearch`]: backtracking with quadratic/cubic interpolation on `½‖F‖²` | one Jacobian, one factorisation (or fewer with [`JacobianReuse`]) |
//! | [`TrustRegion`] | square and least squares | Powell's dogleg between the Cauchy point and the Gauss–Newton step | trust radius from the ratio of actual to predicted reduction | one Jacobian and factorisation per accepted step; rejected steps reuse both |
//! | [`LevenbergMarquardt`] | square and least squares | `(JᵀJ + μ D) δ = −Jᵀ F`, `D` Marquardt's scaling | damping `μ` updated by Nielsen's rule | one `JᵀJ` per accepted step, one factorisation per trial |
//! | [`Broyden`] | square | quasi-Newton `δ = −H F`, `H` the inverse of Broyden's rank-one updates of `J(u_restart)` | backtracking on `½‖F‖²`; restart with a fresh Jacobian on failure or when the memory is full | one solve with the restart factorisation, `O(k n)` for `k` stored updates |
//!
//! The Jacobian (dense forward AD, sparse coloured AD, finite differences or the user's) is the
//! [`JacobianMethod`] field of each algorithm, the linear solver its [`LinearAlgorithm`] field
//! (default: chosen by tangent-linsolve from the matrix — dense or sparse LU for square systems,
//! dense QR for least squares, Cholesky for Levenberg–Marquardt's normal equations).

use tangent_linsolve::LinearAlgorithm;

use crate::jacobian::JacobianMethod;

/// Backtracking line search on the merit `φ(α) = ½‖F(u + α δ)‖₂²` (Dennis & Schnabel,
/// *Numerical Methods for Unconstrained Optimization and Nonlinear Equations*, 1983,
/// Algorithm A6.3.1): accept `α` when `φ(α) ≤ φ(0) + c₁ α φ′(0)` (Armijo); otherwise the
/// minimiser of the quadratic (first reduction) or cubic (later ones) interpolating the values
/// seen so far, safeguarded to `[0.1 α, 0.5 α]`. A non-finite `F` at a trial point reduces
/// `α` tenfold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backtracking {
    /// Armijo constant `c₁ ∈ (0, ½)`.
    pub sufficient_decrease: f64,
    /// Smallest step fraction `α` tried before the search fails.
    pub min_step: f64,
    /// Largest number of reductions of `α`.
    pub max_reductions: usize,
}

impl Default for Backtracking {
    /// `c₁ = 10⁻⁴` (Dennis & Schnabel's and Nocedal & Wright's choice), `α ≥ 10⁻¹²`, 50
    /// reductions.
    fn default() -> Self {
        Self {
            sufficient_decrease: 1e-4,
            min_step: 1e-12,
            max_reductions: 50,
        }
    }
}

/// The globalisation of [`NewtonRaphson`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LineSearch {
    /// Full steps (a non-finite `F` at the new iterate is an error).
    None,
    /// See [`Backtracking`].
    Backtracking(Backtracking),
}

impl Default for LineSearch {
    fn default() -> Self {
        LineSearch::Backtracking(Backtracking::default())
    }
}

/// When [`NewtonRaphson`] may keep the factorisation of an earlier Jacobian instead of
/// computing and factorising a new one (the chord or Shamanskii variant of Newton's method,
/// Kelley 1995, §5.4; KINSOL's `msbset`): a factorisation serves at most `max_age`
/// iterations, and only while every step reduces `‖F‖∞` by at least the factor
/// `min_contraction`. A line search that fails with an old Jacobian is retried with a fresh
/// one. The default, `max_age = 1`, is plain Newton (a fresh Jacobian every iteration).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JacobianReuse {
    /// Largest number of iterations one factorisation serves (`≥ 1`).
    pub max_age: usize,
    /// Reuse only after a step with `‖F_new‖∞ ≤ min_contraction · ‖F_old‖∞`, in `(0, 1]`.
    pub min_contraction: f64,
}

impl Default for JacobianReuse {
    /// Plain Newton: `max_age = 1`.
    fn default() -> Self {
        Self {
            max_age: 1,
            min_contraction: 0.1,
        }
    }
}

impl JacobianReuse {
    /// A factorisation for up to `max_age` iterations while steps contract `‖F‖∞` at least
    /// tenfold.
    pub fn up_to(max_age: usize) -> Self {
        Self {
            max_age,
            min_contraction: 0.1,
        }
    }
}

/// Newton–Raphson: `J(u) δ = −F(u)`, `u ← u + α δ` with a [`LineSearch`]. Quadratic
/// convergence near a regular root. For least squares (`m > n`) the step is the Gauss–Newton
/// step `min ‖J δ + F‖₂` (QR).
///
/// ```
/// use tangent_nonlinsolve::{Backtracking, LineSearch, NewtonRaphson, JacobianMethod};
/// let alg = NewtonRaphson {
///     line_search: LineSearch::Backtracking(Backtracking { max_reductions: 20, ..Default::default() }),
///     jacobian: JacobianMethod::DenseForward,
///     ..Default::default()
/// };
/// # let _ = alg;
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewtonRaphson {
    /// Globalisation.
    pub line_search: LineSearch,
    /// Factorisation reuse across iterations (default: none).
    pub reuse: JacobianReuse,
    /// How `J` is computed.
    pub jacobian: JacobianMethod,
    /// How `J δ = −F` is solved.
    pub linear_solver: LinearAlgorithm,
}

/// Trust region with Powell's dogleg step (Powell, "A hybrid method for nonlinear equations",
/// 1970; Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §4.1 and Algorithm 4.1):
/// on the model `m(δ) = ½‖F + J δ‖²` within `‖δ‖₂ ≤ Δ`, the step follows the steepest-descent
/// segment to the Cauchy point, then the segment towards the Gauss–Newton step. With
/// `ρ = (actual reduction) / (predicted reduction)`: `ρ < ¼` shrinks `Δ` to `¼‖δ‖`; `ρ > ¾`
/// with a step on the boundary doubles it (up to `max_radius`); the step is accepted when
/// `ρ > accept`. A singular `J` leaves the steepest-descent segment.
#[derive(Clone, Debug)]
pub struct TrustRegion {
    /// Initial radius; `None` takes `max(‖u₀‖₂, 1)`.
    pub initial_radius: Option<f64>,
    /// Largest radius.
    pub max_radius: f64,
    /// Acceptance threshold `η ∈ [0, ¼)` on `ρ`.
    pub accept: f64,
    /// How `J` is computed.
    pub jacobian: JacobianMethod,
    /// How the Gauss–Newton step is solved.
    pub linear_solver: LinearAlgorithm,
}

impl Default for TrustRegion {
    /// `Δ₀ = max(‖u₀‖₂, 1)`, `Δ_max = 10¹⁰`, `η = 10⁻⁴`.
    fn default() -> Self {
        Self {
            initial_radius: None,
            max_radius: 1e10,
            accept: 1e-4,
            jacobian: JacobianMethod::default(),
            linear_solver: LinearAlgorithm::default(),
        }
    }
}

/// Levenberg–Marquardt: `(JᵀJ + μ D) δ = −JᵀF` with `D` the diagonal of `JᵀJ`, kept at its
/// largest value over the iterations (Marquardt 1963; Moré, "The Levenberg–Marquardt
/// algorithm: implementation and theory", 1978), and the damping update of Nielsen (1999) as
/// given by Madsen, Nielsen & Tingleff, *Methods for Non-Linear Least Squares Problems*, 2004,
/// Algorithm 3.16: with gain ratio `ρ`, an accepted step sets
/// `μ ← μ · max(⅓, 1 − (2ρ − 1)³)`, `ν ← 2`; a rejected one `μ ← μ ν`, `ν ← 2ν`.
/// Square systems and least squares.
#[derive(Clone, Debug)]
pub struct LevenbergMarquardt {
    /// Initial damping `μ₀` relative to `D` (`τ` of Madsen et al.).
    pub initial_damping: f64,
    /// How `J` is computed.
    pub jacobian: JacobianMethod,
    /// How the damped normal equations are solved (default: Cholesky, dense or sparse).
    pub linear_solver: LinearAlgorithm,
}

impl Default for LevenbergMarquardt {
    /// `μ₀ = 10⁻³` (Madsen et al.'s recommendation for a start believed to be good).
    fn default() -> Self {
        Self {
            initial_damping: 1e-3,
            jacobian: JacobianMethod::default(),
            linear_solver: LinearAlgorithm::default(),
        }
    }
}

/// Broyden's ("good") method with restarts, in the limited-memory product form of Kelley
/// (*Iterative Methods for Linear and Nonlinear Equations*, SIAM 1995, §7.3): the inverse
/// Jacobian approximation is `H_k = (I + a_{k−1} s_{k−1}ᵀ) ⋯ (I + a₀ s₀ᵀ) J(u_r)⁻¹`, applied
/// with the factorisation of the Jacobian at the last restart `u_r` and the stored pairs
/// `(a_j, s_j)`, where `s_j` is the step and
/// `a_j = (s_j − H_j y_j) / (s_jᵀ H_j y_j)` (Sherman–Morrison on Broyden's update
/// `B_{j+1} = B_j + (y_j − B_j s_j) s_jᵀ / s_jᵀ s_j`). The method restarts — a fresh Jacobian
/// and factorisation, memory cleared — after `memory` updates, when the line search fails, or
/// when the update's denominator vanishes. Square systems.
#[derive(Clone, Debug)]
pub struct Broyden {
    /// Updates stored before a restart.
    pub memory: usize,
    /// Backtracking on `½‖F‖²` along the quasi-Newton direction, with the model slope
    /// `−‖F‖²`.
    pub line_search: Backtracking,
    /// How the restart Jacobians are computed.
    pub jacobian: JacobianMethod,
    /// How the restart Jacobians are factorised.
    pub linear_solver: LinearAlgorithm,
}

impl Default for Broyden {
    /// 30 updates between restarts (`2 · 30` vectors of length `n`), default backtracking.
    fn default() -> Self {
        Self {
            memory: 30,
            line_search: Backtracking::default(),
            jacobian: JacobianMethod::default(),
            linear_solver: LinearAlgorithm::default(),
        }
    }
}

/// Which algorithm solves a [`NonlinearProblem`](crate::NonlinearProblem).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Algorithm {
    /// See [`NewtonRaphson`].
    NewtonRaphson(NewtonRaphson),
    /// See [`TrustRegion`].
    TrustRegion(TrustRegion),
    /// See [`LevenbergMarquardt`].
    LevenbergMarquardt(LevenbergMarquardt),
    /// See [`Broyden`].
    Broyden(Broyden),
}

impl Default for Algorithm {
    fn default() -> Self {
        Algorithm::NewtonRaphson(NewtonRaphson::default())
    }
}

macro_rules! from_alg {
    ($($t:ident),*) => {$(
        impl From<$t> for Algorithm {
            fn from(a: $t) -> Self {
                Algorithm::$t(a)
            }
        }
    )*};
}
from_alg!(NewtonRaphson, TrustRegion, LevenbergMarquardt, Broyden);

impl Algorithm {
    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::NewtonRaphson(_) => "NewtonRaphson",
            Algorithm::TrustRegion(_) => "TrustRegion",
            Algorithm::LevenbergMarquardt(_) => "LevenbergMarquardt",
            Algorithm::Broyden(_) => "Broyden",
        }
    }

    /// The Jacobian method.
    pub fn jacobian(&self) -> &JacobianMethod {
        match self {
            Algorithm::NewtonRaphson(a) => &a.jacobian,
            Algorithm::TrustRegion(a) => &a.jacobian,
            Algorithm::LevenbergMarquardt(a) => &a.jacobian,
            Algorithm::Broyden(a) => &a.jacobian,
        }
    }

    /// The linear solver.
    pub fn linear_solver(&self) -> &LinearAlgorithm {
        match self {
            Algorithm::NewtonRaphson(a) => &a.linear_solver,
            Algorithm::TrustRegion(a) => &a.linear_solver,
            Algorithm::LevenbergMarquardt(a) => &a.linear_solver,
            Algorithm::Broyden(a) => &a.linear_solver,
        }
    }

    /// Checks the options' ranges.
    pub(crate) fn validate(&self) -> Result<(), crate::NonlinsolveError> {
        use crate::NonlinsolveError::InvalidOption;
        let check_bt = |b: &Backtracking| {
            if !(b.sufficient_decrease > 0.0 && b.sufficient_decrease < 0.5) {
                return Err(InvalidOption("sufficient_decrease must be in (0, 1/2)"));
            }
            if !(b.min_step > 0.0 && b.min_step < 1.0) {
                return Err(InvalidOption("min_step must be in (0, 1)"));
            }
            Ok(())
        };
        match self {
            Algorithm::NewtonRaphson(a) => {
                if let LineSearch::Backtracking(b) = &a.line_search {
                    check_bt(b)?;
                }
                if a.reuse.max_age == 0
                    || !(a.reuse.min_contraction > 0.0 && a.reuse.min_contraction <= 1.0)
                {
                    return Err(InvalidOption(
                        "JacobianReuse needs max_age ≥ 1 and min_contraction in (0, 1]",
                    ));
                }
            }
            Algorithm::TrustRegion(a) => {
                if let Some(r) = a.initial_radius
                    && !(r.is_finite() && r > 0.0)
                {
                    return Err(InvalidOption("initial_radius must be finite and > 0"));
                }
                if a.max_radius.is_nan() || a.max_radius <= 0.0 {
                    return Err(InvalidOption("max_radius must be > 0"));
                }
                if !(a.accept >= 0.0 && a.accept < 0.25) {
                    return Err(InvalidOption("accept must be in [0, 1/4)"));
                }
            }
            Algorithm::LevenbergMarquardt(a) => {
                if !(a.initial_damping.is_finite() && a.initial_damping > 0.0) {
                    return Err(InvalidOption("initial_damping must be finite and > 0"));
                }
            }
            Algorithm::Broyden(a) => {
                check_bt(&a.line_search)?;
                if a.memory == 0 {
                    return Err(InvalidOption("Broyden memory must be at least 1"));
                }
            }
        }
        Ok(())
    }
}
