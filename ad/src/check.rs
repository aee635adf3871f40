//! Checking derivatives against finite differences.
//!
//! Every `check_*` function computes an operator's result with the backend you give it and
//! compares it with **Ridders' extrapolated central differences** (Ridders 1982, "Accurate
//! computation of F′(x) and F′(x)F″(x)", Adv. Eng. Software 4(2)): central differences at a
//! geometric sequence of steps `h₀, h₀/1.4, h₀/1.4², …` extrapolated to `h → 0` by Neville's
//! tableau, keeping per component the estimate with the smallest error estimate. This chooses
//! the step automatically and reaches errors around `10⁻¹⁰`–`10⁻¹²` relative on smooth
//! functions, so checks can be tight.
//!
//! The error reported is, per entry, `|ad − fd| / max(|fd|, 10⁻³·S)` with `S` the largest
//! `|fd|` of the result (1 if all are 0): relative for entries of ordinary size, relative to the
//! result's scale for entries that are nearly zero. The worst entry is reported with its place.
//!
//! Second-order operators (Hessian, Hessian-vector product) are compared with Ridders
//! differences of the gradient computed in forward mode (`Dual<8>`), itself checked against
//! plain finite differences by [`check_gradient`].
//!
//! ```
//! use tangent_ad::check::check_gradient;
//! use tangent_ad::operators::Reverse;
//! use tangent_ad::scalar_fn;
//!
//! let f = scalar_fn!(|x| x[0].sin() * x[1].exp() + x[1].powi(3));
//! let report = check_gradient(&f, &Reverse, &[0.3, 0.7]).unwrap();
//! assert!(report.max_error < 1e-9, "{report}");
//! ```

use core::fmt;

use crate::dual::Dual;
use crate::error::{AdError, check_len};
use crate::function::{ScalarFunction, VectorFunction};
use crate::operators::{
    GradientBackend, GradientPrep, HessianBackend, HessianPrep, HvpBackend, HvpPrep,
    JacobianBackend, JacobianPrep, JvpBackend, JvpPrep, VjpBackend, VjpPrep,
};

/// The outcome of a derivative check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// The worst error over all entries (see the module docs for its definition).
    pub max_error: f64,
    /// `(row, column)` of the worst entry (column 0 for vectors).
    pub worst: (usize, usize),
    /// The operator's value at the worst entry.
    pub ad: f64,
    /// The finite-difference value at the worst entry.
    pub fd: f64,
    /// Ridders' own error estimate for `fd` at the worst entry.
    pub fd_error_estimate: f64,
}

impl CheckReport {
    /// `true` when `max_error ≤ tol`.
    pub fn passes(&self, tol: f64) -> bool {
        self.max_error <= tol
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worst error {:.3e} at {:?}: operator {:.17e}, finite differences {:.17e} (± {:.1e})",
            self.max_error, self.worst, self.ad, self.fd, self.fd_error_estimate
        )
    }
}

/// Steps of the Ridders tableau.
const LEVELS: usize = 12;
/// Step reduction factor between levels.
const SHRINK: f64 = 1.4;

/// Ridders' extrapolation of `d/dt g(t)` at `t = 0` for a vector function `g` (`m` outputs)
/// from central differences with initial step `h0`: `out[i]` the estimate, `err[i]` its error
/// estimate.
pub fn ridders(
    m: usize,
    h0: f64,
    mut g: impl FnMut(f64, &mut [f64]),
    out: &mut [f64],
    err: &mut [f64],
) {
    let mut plus = vec![0.0; m];
    let mut minus = vec![0.0; m];
    // tableau[level][order][component]; only the previous row is needed.
    let mut prev = vec![vec![0.0; m]; LEVELS];
    let mut cur = vec![vec![0.0; m]; LEVELS];
    out.fill(f64::NAN);
    err.fill(f64::INFINITY);
    let mut h = h0;
    for level in 0..LEVELS {
        g(h, &mut plus);
        g(-h, &mut minus);
        for c in 0..m {
            cur[0][c] = (plus[c] - minus[c]) / (2.0 * h);
        }
        let mut fac = SHRINK * SHRINK;
        for order in 1..=level {
            for c in 0..m {
                let a = cur[order - 1][c];
                let b = prev[order - 1][c];
                let v = (a * fac - b) / (fac - 1.0);
                cur[order][c] = v;
                let e = (v - a).abs().max((v - b).abs());
                if e <= err[c] {
                    err[c] = e;
                    out[c] = v;
                }
            }
            fac *= SHRINK * SHRINK;
        }
        if level == 0 {
            out[..m].copy_from_slice(&cur[0][..m]);
        }
        core::mem::swap(&mut prev, &mut cur);
        h /= SHRINK;
    }
}

/// Initial Ridders step for moving `x` along `v`.
fn initial_step(x: &[f64], v: &[f64]) -> f64 {
    let xmax = x.iter().fold(1.0f64, |a, b| a.max(b.abs()));
    let vmax = v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    if vmax == 0.0 { 0.0 } else { 0.05 * xmax / vmax }
}

/// Ridders derivative of `g(x + t v)` for a vector function `g` given as `eval(point, out)`.
fn directional(
    x: &[f64],
    v: &[f64],
    m: usize,
    mut eval: impl FnMut(&[f64], &mut [f64]),
    out: &mut [f64],
    err: &mut [f64],
) {
    let h0 = initial_step(x, v);
    if h0 == 0.0 {
        out.fill(0.0);
        err.fill(0.0);
        return;
    }
    let mut xt = x.to_vec();
    ridders(
        m,
        h0,
        |t, o| {
            for ((xi, &x0), &vi) in xt.iter_mut().zip(x).zip(v) {
                *xi = x0 + t * vi;
            }
            eval(&xt, o)
        },
        out,
        err,
    );
}

/// Compares `ad` with `fd` (both `rows × cols`, column-major).
fn compare(ad: &[f64], fd: &[f64], fd_err: &[f64], rows: usize) -> CheckReport {
    let scale = fd.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let floor = if scale > 0.0 { 1e-3 * scale } else { 1.0 };
    let mut report = CheckReport {
        max_error: 0.0,
        worst: (0, 0),
        ad: ad.first().copied().unwrap_or(0.0),
        fd: fd.first().copied().unwrap_or(0.0),
        fd_error_estimate: fd_err.first().copied().unwrap_or(0.0),
    };
    for (k, ((&a, &f), &e)) in ad.iter().zip(fd).zip(fd_err).enumerate() {
        let err = (a - f).abs() / f.abs().max(floor);
        // A NaN on either side is the worst possible error.
        let err = if err.is_nan() { f64::INFINITY } else { err };
        if err > report.max_error {
            report = CheckReport {
                max_error: err,
                worst: (k % rows.max(1), k / rows.max(1)),
                ad: a,
                fd: f,
                fd_error_estimate: e,
            };
        }
    }
    report
}

/// Checks a gradient backend at `x`.
pub fn check_gradient<F: ScalarFunction, B: GradientBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
) -> Result<CheckReport, AdError> {
    let n = x.len();
    let mut g = vec![0.0; n];
    backend.prepare_gradient(f, x)?.gradient(f, x, &mut g)?;
    let (mut fd, mut fe) = (vec![0.0; n], vec![0.0; n]);
    let mut e = vec![0.0; n];
    for j in 0..n {
        e.fill(0.0);
        e[j] = 1.0;
        directional(
            x,
            &e,
            1,
            |p, o| o[0] = f.eval(p),
            &mut fd[j..=j],
            &mut fe[j..=j],
        );
    }
    Ok(compare(&g, &fd, &fe, n))
}

/// Checks a Jacobian backend at `x`.
pub fn check_jacobian<F: VectorFunction, B: JacobianBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
) -> Result<CheckReport, AdError> {
    let (n, m) = (x.len(), f.output_len());
    let mut jac = vec![0.0; m * n];
    backend.prepare_jacobian(f, x)?.jacobian(f, x, &mut jac)?;
    let (mut fd, mut fe) = (vec![0.0; m * n], vec![0.0; m * n]);
    let mut e = vec![0.0; n];
    for j in 0..n {
        e.fill(0.0);
        e[j] = 1.0;
        directional(
            x,
            &e,
            m,
            |p, o| f.eval(p, o),
            &mut fd[j * m..(j + 1) * m],
            &mut fe[j * m..(j + 1) * m],
        );
    }
    Ok(compare(&jac, &fd, &fe, m))
}

/// Checks a Jacobian–vector product backend at `x` along `v`.
pub fn check_jvp<F: VectorFunction, B: JvpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    v: &[f64],
) -> Result<CheckReport, AdError> {
    let m = f.output_len();
    check_len("tangent v", x.len(), v.len())?;
    let (mut y, mut out) = (vec![0.0; m], vec![0.0; m]);
    backend
        .prepare_jvp(f, x)?
        .value_and_jvp(f, x, v, &mut y, &mut out)?;
    let (mut fd, mut fe) = (vec![0.0; m], vec![0.0; m]);
    directional(x, v, m, |p, o| f.eval(p, o), &mut fd, &mut fe);
    Ok(compare(&out, &fd, &fe, m))
}

/// Checks a vector–Jacobian product backend at `x` with cotangent `w`.
pub fn check_vjp<F: VectorFunction, B: VjpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    w: &[f64],
) -> Result<CheckReport, AdError> {
    let (n, m) = (x.len(), f.output_len());
    check_len("cotangent w", m, w.len())?;
    let (mut y, mut out) = (vec![0.0; m], vec![0.0; n]);
    backend
        .prepare_vjp(f, x)?
        .value_and_vjp(f, x, w, &mut y, &mut out)?;
    let (mut fd, mut fe) = (vec![0.0; n], vec![0.0; n]);
    let mut e = vec![0.0; n];
    let mut yt = vec![0.0; m];
    for j in 0..n {
        e.fill(0.0);
        e[j] = 1.0;
        directional(
            x,
            &e,
            1,
            |p, o| {
                f.eval(p, &mut yt);
                o[0] = yt.iter().zip(w).map(|(a, b)| a * b).sum();
            },
            &mut fd[j..=j],
            &mut fe[j..=j],
        );
    }
    Ok(compare(&out, &fd, &fe, n))
}

/// Forward-mode gradient (`Dual<8>` chunks), the reference for second-order checks.
fn forward_gradient<F: ScalarFunction>(f: &F, x: &[f64], g: &mut [f64]) {
    let mut xd: Vec<Dual<8>> = x.iter().map(|&v| Dual::constant(v)).collect();
    for start in (0..x.len()).step_by(8) {
        for (i, (d, &v)) in xd.iter_mut().zip(x).enumerate() {
            *d = Dual::variable(v, i.wrapping_sub(start));
        }
        let y = f.eval(&xd);
        let end = (start + 8).min(x.len());
        g[start..end].copy_from_slice(&y.d[..end - start]);
    }
}

/// Checks a Hessian-vector product backend at `x` along `v`.
pub fn check_hvp<F: ScalarFunction, B: HvpBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
    v: &[f64],
) -> Result<CheckReport, AdError> {
    let n = x.len();
    check_len("direction v", n, v.len())?;
    let mut out = vec![0.0; n];
    backend.prepare_hvp(f, x)?.hvp(f, x, v, &mut out)?;
    let (mut fd, mut fe) = (vec![0.0; n], vec![0.0; n]);
    directional(x, v, n, |p, o| forward_gradient(f, p, o), &mut fd, &mut fe);
    Ok(compare(&out, &fd, &fe, n))
}

/// Checks a Hessian backend at `x`.
pub fn check_hessian<F: ScalarFunction, B: HessianBackend>(
    f: &F,
    backend: &B,
    x: &[f64],
) -> Result<CheckReport, AdError> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    backend.prepare_hessian(f, x)?.hessian(f, x, &mut h)?;
    let (mut fd, mut fe) = (vec![0.0; n * n], vec![0.0; n * n]);
    let mut e = vec![0.0; n];
    for j in 0..n {
        e.fill(0.0);
        e[j] = 1.0;
        directional(
            x,
            &e,
            n,
            |p, o| forward_gradient(f, p, o),
            &mut fd[j * n..(j + 1) * n],
            &mut fe[j * n..(j + 1) * n],
        );
    }
    Ok(compare(&h, &fd, &fe, n))
}
