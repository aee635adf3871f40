//! Events: zero crossings of functions `g_i(t, u, p)` along the solution.
//!
//! After every accepted step from `t_n` to `t_{n+1}` the solver evaluates the event functions at
//! the new point. When `g_i` changes sign over the step (in the direction the event asks for),
//! the crossing time is located by Brent's method (R. P. Brent, *Algorithms for Minimization
//! without Derivatives*, 1973, ch. 4) on `τ ↦ g_i(τ, ũ(τ), p)`, where `ũ` is the step's
//! continuous interpolant (the method's dense output), to a few units of round-off in `τ`. The
//! located time is therefore exact up to the interpolant's error (of the order of the local error
//! of the step divided by `|dg/dt|`), not up to a tolerance of its own.
//!
//! A *terminal* event ends the solve at the crossing: the solution's last time is the event
//! time, its state there comes from the interpolant, and the return code is
//! [`ReturnCode::Terminated`](crate::ReturnCode::Terminated). Non-terminal events are recorded
//! and the solve goes on. Several crossings in one step are reported in time order; a sign change
//! is only noticed when `g_i` has opposite signs at the ends of a step, so two crossings inside
//! one step cancel (limit the step size with `max_step` when that matters). A function that
//! starts at exactly zero does not trigger until it leaves zero and comes back.

use tangent_ad::Scalar;

/// Which sign changes of an event function count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Crossing {
    /// Both directions.
    #[default]
    Either,
    /// From negative to non-negative (`g` increasing).
    Rising,
    /// From positive to non-positive (`g` decreasing).
    Falling,
}

impl Crossing {
    /// `true` when the change from `before` to `after` is a crossing of this kind.
    pub fn crosses(self, before: f64, after: f64) -> bool {
        let rising = before < 0.0 && after >= 0.0;
        let falling = before > 0.0 && after <= 0.0;
        match self {
            Self::Either => rising || falling,
            Self::Rising => rising,
            Self::Falling => falling,
        }
    }
}

/// Event functions `g_i(t, u, p)`, `i < n_conditions()`, whose zero crossings are located.
///
/// ```
/// use tangent_ode::{Crossing, EventFunction, OdeProblem, OdeRhs, ReturnCode, Tsit5, solve};
/// use tangent_ad::Scalar;
///
/// /// A ball in free fall: u = (height, velocity).
/// struct Fall;
/// impl OdeRhs for Fall {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
///         du[0] = u[1];
///         du[1] = S::cst(-9.81);
///     }
/// }
/// /// Stop when it hits the ground.
/// struct Ground;
/// impl EventFunction for Ground {
///     fn n_conditions(&self) -> usize {
///         1
///     }
///     fn conditions<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], g: &mut [S]) {
///         g[0] = u[0];
///     }
///     fn crossing(&self, _i: usize) -> Crossing {
///         Crossing::Falling
///     }
/// }
/// let prob = OdeProblem::new(Fall, vec![10.0, 0.0], (0.0, 5.0), vec![]).with_events(Ground);
/// let sol = solve(&prob, &Tsit5::default()).unwrap();
/// assert_eq!(sol.retcode(), ReturnCode::Terminated);
/// let t_hit = (2.0 * 10.0 / 9.81f64).sqrt();
/// assert!((sol.events()[0].t - t_hit).abs() < 1e-10);
/// ```
pub trait EventFunction {
    /// Number of event functions.
    fn n_conditions(&self) -> usize;

    /// Writes `g_i(t, u, p)` for every `i` into `g` (length [`n_conditions`](Self::n_conditions)).
    fn conditions<S: Scalar>(&self, t: S, u: &[S], p: &[S], g: &mut [S]);

    /// Which sign changes of `g_i` count (default: both).
    fn crossing(&self, i: usize) -> Crossing {
        let _ = i;
        Crossing::Either
    }

    /// Whether a crossing of `g_i` ends the solve (default: yes).
    fn terminal(&self, i: usize) -> bool {
        let _ = i;
        true
    }
}

/// No events (the default of [`OdeProblem`](crate::OdeProblem)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoEvents;

impl EventFunction for NoEvents {
    fn n_conditions(&self) -> usize {
        0
    }
    fn conditions<S: Scalar>(&self, _t: S, _u: &[S], _p: &[S], _g: &mut [S]) {}
}

impl<T: EventFunction + ?Sized> EventFunction for &T {
    fn n_conditions(&self) -> usize {
        (**self).n_conditions()
    }
    fn conditions<S: Scalar>(&self, t: S, u: &[S], p: &[S], g: &mut [S]) {
        (**self).conditions(t, u, p, g)
    }
    fn crossing(&self, i: usize) -> Crossing {
        (**self).crossing(i)
    }
    fn terminal(&self, i: usize) -> bool {
        (**self).terminal(i)
    }
}

/// One located crossing of an event function.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    /// Which event function crossed zero.
    pub index: usize,
    /// The crossing time.
    pub t: f64,
    /// Whether it ended the solve.
    pub terminal: bool,
}

/// Brent's zero finder on `[a, b]` with `f(a) = fa`, `f(b) = fb` of opposite signs (or one of
/// them zero): inverse quadratic interpolation and secant steps safeguarded by bisection, until
/// the bracket is below `2 ε |b| + tol_abs`. Returns the end of the final bracket with the
/// smaller `|f|`.
pub(crate) fn brent_zero(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    fa: f64,
    b: f64,
    fb: f64,
    tol_abs: f64,
) -> f64 {
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    let (mut a, mut fa, mut b, mut fb) = (a, fa, b, fb);
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    // 200 iterations: bisection alone would shrink any double-precision bracket to round-off in
    // about 2100 / 2 steps of its exponent range; Brent's guarantee is at most ~(log2)² of that.
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol_abs;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return b;
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            // Interpolation: secant when a == c, inverse quadratic otherwise.
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_roots_to_round_off() {
        let f = |x: f64| x.cos() - x;
        let root = brent_zero(f, 0.0, f(0.0), 1.0, f(1.0), 0.0);
        // 1e-15: the bracket is shrunk to 2 ε |x|.
        assert!((root - 0.739_085_133_215_160_6).abs() < 1e-15);
        // Reversed bracket and a root at an end point.
        let g = |x: f64| x * x - 4.0;
        let r = brent_zero(g, 3.0, g(3.0), 0.0, g(0.0), 0.0);
        assert!((r - 2.0).abs() < 1e-15);
        assert_eq!(brent_zero(g, 2.0, 0.0, 5.0, g(5.0), 0.0), 2.0);
    }

    #[test]
    fn crossing_directions() {
        assert!(Crossing::Either.crosses(-1.0, 1.0));
        assert!(Crossing::Either.crosses(1.0, 0.0));
        assert!(!Crossing::Either.crosses(0.0, 1.0));
        assert!(Crossing::Rising.crosses(-1.0, 0.0));
        assert!(!Crossing::Rising.crosses(1.0, -1.0));
        assert!(Crossing::Falling.crosses(1.0, -1.0));
    }
}
