//! The problem: `u' = f(t, u, p)`, `u(t0) = u0`, on a time span, with the options of the solve.

use serde::{Deserialize, Serialize};
use tangent_ad::Scalar;

use crate::event::{EventFunction, NoEvents};

/// The right-hand side `f(t, u, p)` of `u' = f(t, u, p)`, written once for every scalar type.
///
/// The solvers evaluate it on `f64`; the stiff methods and the sensitivity rules evaluate it on
/// the AD types of `tangent_ad` ([`Dual`](tangent_ad::Dual) for Jacobians, the tape variable for
/// vector–Jacobian products, the sparsity tracers for Jacobian patterns). In generic code write
/// `f64` constants on the right (`u[0] * 2.0`) or lift them with `S::cst`.
///
/// Shapes: `u` and `du` have the problem's dimension `n = u0.len()`, `p` has `p.len()` entries.
/// `du` must be overwritten entirely.
///
/// ```
/// use tangent_ode::OdeRhs;
/// use tangent_ad::Scalar;
///
/// /// u' = −k u.
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
///         du[0] = -p[0] * u[0];
///     }
/// }
/// let mut du = [0.0];
/// Decay.rhs(0.0, &[2.0], &[3.0], &mut du);
/// assert_eq!(du, [-6.0]);
/// ```
pub trait OdeRhs {
    /// Writes `f(t, u, p)` into `du`.
    fn rhs<S: Scalar>(&self, t: S, u: &[S], p: &[S], du: &mut [S]);
}

impl<T: OdeRhs + ?Sized> OdeRhs for &T {
    #[inline]
    fn rhs<S: Scalar>(&self, t: S, u: &[S], p: &[S], du: &mut [S]) {
        (**self).rhs(t, u, p, du)
    }
}

/// A tolerance: one value for every component, or one per component.
///
/// The local error estimate `e` of a step is accepted when the root mean square of
/// `e_i / (atol_i + rtol_i · max(|u_i|, |u_new_i|))` is at most 1 (Hairer, Nørsett & Wanner,
/// *Solving ODEs I*, §II.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Tolerance {
    /// The same tolerance for every component.
    Scalar(f64),
    /// One tolerance per component (length `n`).
    PerComponent(Vec<f64>),
}

impl Tolerance {
    /// The tolerance of component `i` (`None` when a per-component tolerance has no entry `i`).
    pub fn get(&self, i: usize) -> Option<f64> {
        match self {
            Self::Scalar(v) => Some(*v),
            Self::PerComponent(v) => v.get(i).copied(),
        }
    }
}

impl From<f64> for Tolerance {
    fn from(v: f64) -> Self {
        Self::Scalar(v)
    }
}

impl From<Vec<f64>> for Tolerance {
    fn from(v: Vec<f64>) -> Self {
        Self::PerComponent(v)
    }
}

impl From<&[f64]> for Tolerance {
    fn from(v: &[f64]) -> Self {
        Self::PerComponent(v.to_vec())
    }
}

/// Options of a solve. The defaults follow the project's reference problems (`rtol = 1e-6`,
/// `atol = 1e-8`), save every step, and keep the dense output.
///
/// ```
/// use tangent_ode::OdeOptions;
///
/// let opts = OdeOptions {
///     rtol: 1e-9.into(),
///     atol: vec![1e-12, 1e-10].into(),
///     saveat: vec![0.0, 0.5, 1.0],
///     dense: false,
///     ..Default::default()
/// };
/// assert_eq!(opts.atol.get(1), Some(1e-10));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeOptions {
    /// Relative tolerance (scalar or per component).
    pub rtol: Tolerance,
    /// Absolute tolerance (scalar or per component).
    pub atol: Tolerance,
    /// Times at which to save the solution, in the direction of integration (strictly
    /// increasing forward, strictly decreasing backward) and inside the span. Saved values are
    /// taken from the method's interpolant, and are the step values themselves where a step ends
    /// exactly on a requested time (always the case for the span's end). Empty: save the initial
    /// point and every accepted step.
    pub saveat: Vec<f64>,
    /// Times the integration must step to exactly, never across — discontinuities of `f` in `t`
    /// (a forcing switched on, a dose). In the direction of integration and inside the span
    /// (times equal to `t0` or `t1` are ignored). The step reaching a stop ends on the float just
    /// before it, so that `f` is never evaluated on the far side of the discontinuity by a step
    /// that has not crossed it; the method then restarts at the stop as at the initial point:
    /// `f` is evaluated afresh, a multistep method's history and order are reset, and the next
    /// step size is chosen again (Hairer's algorithm unless `initial_step` is given). Equivalent
    /// to splitting the span there into problems solved one after the other, with the left
    /// limit of `f` at the end of the first.
    #[serde(default)]
    pub tstops: Vec<f64>,
    /// Keep the continuous interpolant of every step, so that [`Solution::at`](crate::Solution::at)
    /// works at any time of the span. Costs memory (a few vectors of length `n` per step) and, for
    /// [`Vern7`](crate::Vern7), five extra right-hand-side evaluations per step.
    pub dense: bool,
    /// First step size (its sign is ignored: the direction comes from the span). `None`: chosen
    /// by Hairer's algorithm (HNW I, §II.4, "starting step size"), one extra `f` evaluation. With
    /// `adaptive = false` this is the fixed step size and is required.
    pub initial_step: Option<f64>,
    /// Adapt the step size to the tolerances (`true`), or take fixed steps of `initial_step`
    /// (the last one shortened to end on the span's end). With fixed steps every step is
    /// accepted whatever its error estimate; [`Bdf`](crate::Bdf) still raises its order from 1
    /// as its estimates allow. An implicit method whose Newton iteration fails, or whose
    /// iteration matrix is singular, ends a fixed-step solve with an error.
    pub adaptive: bool,
    /// Maximum number of accepted steps before failing with
    /// [`OdeError::MaxStepsReached`](crate::OdeError::MaxStepsReached).
    pub max_steps: usize,
    /// Smallest step size allowed before failing with
    /// [`OdeError::StepSizeTooSmall`](crate::OdeError::StepSizeTooSmall). Whatever its value, a
    /// step too small to change `t` in floating point (`|h| ≤ 4 ε |t|`) is refused as well.
    pub min_step: f64,
    /// Largest step size allowed (`f64::INFINITY`: no limit beyond the span; serialised as
    /// `null`).
    #[serde(with = "infinity_as_null")]
    pub max_step: f64,
}

/// Serialises a non-finite `f64` as `null` (formats such as JSON have no infinity) and reads
/// `null` back as `+∞`.
mod infinity_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

impl Default for OdeOptions {
    fn default() -> Self {
        Self {
            rtol: Tolerance::Scalar(1e-6),
            atol: Tolerance::Scalar(1e-8),
            saveat: Vec::new(),
            tstops: Vec::new(),
            dense: true,
            initial_step: None,
            adaptive: true,
            max_steps: 100_000,
            min_step: 0.0,
            max_step: f64::INFINITY,
        }
    }
}

/// An initial value problem `u' = f(t, u, p)`, `u(t0) = u0`, `t ∈ [t0, t1]` (or `[t1, t0]`
/// backwards when `t1 < t0`), with the options of its solve and, optionally, event functions.
///
/// ```
/// use tangent_ode::{OdeOptions, OdeProblem, OdeRhs, Tsit5, solve};
/// use tangent_ad::Scalar;
///
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
///         du[0] = -p[0] * u[0];
///     }
/// }
/// // Backwards in time: from u(1) = e⁻¹ to u(0) = 1.
/// let prob = OdeProblem::new(Decay, vec![(-1f64).exp()], (1.0, 0.0), vec![1.0])
///     .with_options(OdeOptions { rtol: 1e-10.into(), atol: 1e-12.into(), ..Default::default() });
/// let sol = solve(&prob, &Tsit5::default()).unwrap();
/// assert!((sol.last_state().unwrap()[0] - 1.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct OdeProblem<F, E = NoEvents> {
    /// The right-hand side `f`.
    pub rhs: F,
    /// The initial value `u(t0)` (length `n`).
    pub u0: Vec<f64>,
    /// The parameters `p` passed to `f` (any length, possibly 0).
    pub p: Vec<f64>,
    /// `(t0, t1)`: integrate from `t0` to `t1`; backwards in time when `t1 < t0`.
    pub tspan: (f64, f64),
    /// Options of the solve.
    pub options: OdeOptions,
    /// Event functions whose zero crossings are located (and end the solve when terminal).
    pub events: E,
}

impl<F: OdeRhs> OdeProblem<F> {
    /// A problem with default [`OdeOptions`] and no events.
    pub fn new(rhs: F, u0: impl Into<Vec<f64>>, tspan: (f64, f64), p: impl Into<Vec<f64>>) -> Self {
        Self {
            rhs,
            u0: u0.into(),
            p: p.into(),
            tspan,
            options: OdeOptions::default(),
            events: NoEvents,
        }
    }
}

impl<F, E> OdeProblem<F, E> {
    /// Replaces the options.
    pub fn with_options(mut self, options: OdeOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the event functions.
    pub fn with_events<E2: EventFunction>(self, events: E2) -> OdeProblem<F, E2> {
        OdeProblem {
            rhs: self.rhs,
            u0: self.u0,
            p: self.p,
            tspan: self.tspan,
            options: self.options,
            events,
        }
    }

    /// The state dimension `n = u0.len()`.
    pub fn dim(&self) -> usize {
        self.u0.len()
    }
}
