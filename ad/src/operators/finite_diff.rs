//! Central finite differences: the AD-free reference backend.
//!
//! First derivatives use `(f(x + h) − f(x − h)) / 2h`, truncation error `O(h²)`, rounding error
//! `O(ε/h)`; the default relative step `h = ε^{1/3}·max(|x|, 1)` balances the two (error about
//! `ε^{2/3} ≈ 4·10⁻¹¹` relative for well-scaled functions). Second derivatives use the four-point
//! cross difference with `h = ε^{1/4}·max(|x|, 1)` (error about `ε^{1/2} ≈ 10⁻⁸`). Steps are
//! rounded so that `x + h` is exactly representable.

use super::{
    DerivativeBackend, DerivativePrep, GradientBackend, GradientPrep, HessianBackend, HessianPrep,
    HvpBackend, HvpPrep, JacobianBackend, JacobianPrep, JvpBackend, JvpPrep, VjpBackend, VjpPrep,
};
use crate::error::{AdError, check_len};
use crate::function::{ScalarFunction, VectorFunction};

/// Central finite differences. `relative_step` overrides the automatic step (relative to
/// `max(|x|, 1)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FiniteDifferences {
    /// Relative step; `None` chooses `ε^{1/3}` for first and `ε^{1/4}` for second derivatives.
    pub relative_step: Option<f64>,
}

/// Buffers for finite differences.
#[derive(Clone, Debug)]
pub struct FiniteDifferencesPrep {
    first: f64,
    second: f64,
    n: usize,
    m: usize,
    xt: Vec<f64>,
    y1: Vec<f64>,
    y2: Vec<f64>,
    jac: Vec<f64>,
}

/// A step near `rel · max(|x|, 1)` such that `(x + h) − x == h` exactly.
#[inline]
pub(crate) fn representable_step(x: f64, rel: f64) -> f64 {
    let h = rel * x.abs().max(1.0);
    (x + h) - x
}

impl FiniteDifferences {
    fn prep(&self, n: usize, m: usize) -> Result<FiniteDifferencesPrep, AdError> {
        let (first, second) = match self.relative_step {
            None => (f64::EPSILON.cbrt(), f64::EPSILON.powf(0.25)),
            Some(h) if h.is_finite() && h > 0.0 && h < 1.0 => (h, h),
            Some(_) => {
                return Err(AdError::InvalidArgument(
                    "finite-difference relative step must be in (0, 1)",
                ));
            }
        };
        Ok(FiniteDifferencesPrep {
            first,
            second,
            n,
            m,
            xt: vec![0.0; n],
            y1: vec![0.0; m],
            y2: vec![0.0; m],
            jac: Vec::new(),
        })
    }
}

impl FiniteDifferencesPrep {
    /// `f(x + a·h_i e_i + b·h_j e_j)` with second-order steps.
    fn f2<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        i: usize,
        a: f64,
        j: usize,
        b: f64,
    ) -> f64 {
        self.xt.copy_from_slice(x);
        let hi = representable_step(x[i], self.second);
        let hj = representable_step(x[j], self.second);
        self.xt[i] += a * hi;
        self.xt[j] += b * hj;
        f.eval(&self.xt)
    }

    /// Jacobian columns by central differences into `jac` (`m × n`, column-major).
    fn jacobian_into<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("x", n, x.len())?;
        check_len("f.output_len()", m, f.output_len())?;
        check_len("jacobian (m × n)", m * n, jac.len())?;
        self.xt.copy_from_slice(x);
        for j in 0..n {
            let h = representable_step(x[j], self.first);
            self.xt[j] = x[j] + h;
            f.eval(&self.xt, &mut self.y1);
            self.xt[j] = x[j] - h;
            f.eval(&self.xt, &mut self.y2);
            self.xt[j] = x[j];
            for i in 0..m {
                jac[i + j * m] = (self.y1[i] - self.y2[i]) / (2.0 * h);
            }
        }
        Ok(())
    }
}

macro_rules! fd_backend {
    ($tr:ident, $method:ident, $ftr:ident, $x:ty, |$f:ident, $xx:ident| $nm:expr) => {
        impl $tr for FiniteDifferences {
            type Prep = FiniteDifferencesPrep;
            fn $method<F: $ftr>(&self, $f: &F, $xx: $x) -> Result<FiniteDifferencesPrep, AdError> {
                let (n, m) = $nm;
                self.prep(n, m)
            }
        }
    };
}
fd_backend!(
    GradientBackend,
    prepare_gradient,
    ScalarFunction,
    &[f64],
    |_f, x| (x.len(), 0)
);
fd_backend!(HvpBackend, prepare_hvp, ScalarFunction, &[f64], |_f, x| (
    x.len(),
    0
));
fd_backend!(
    HessianBackend,
    prepare_hessian,
    ScalarFunction,
    &[f64],
    |_f, x| (x.len(), 0)
);
fd_backend!(
    JacobianBackend,
    prepare_jacobian,
    VectorFunction,
    &[f64],
    |f, x| (x.len(), f.output_len())
);
fd_backend!(JvpBackend, prepare_jvp, VectorFunction, &[f64], |f, x| (
    x.len(),
    f.output_len()
));
fd_backend!(
    DerivativeBackend,
    prepare_derivative,
    VectorFunction,
    f64,
    |f, _x| (1, f.output_len())
);

impl VjpBackend for FiniteDifferences {
    type Prep = FiniteDifferencesPrep;
    fn prepare_vjp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        let mut p = self.prep(x.len(), f.output_len())?;
        p.jac = vec![0.0; x.len() * f.output_len()];
        Ok(p)
    }
}

impl GradientPrep for FiniteDifferencesPrep {
    fn value_and_gradient<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, AdError> {
        check_len("x", self.n, x.len())?;
        check_len("gradient", self.n, grad.len())?;
        self.xt.copy_from_slice(x);
        for (j, g) in grad.iter_mut().enumerate() {
            let h = representable_step(x[j], self.first);
            self.xt[j] = x[j] + h;
            let fp = f.eval(&self.xt);
            self.xt[j] = x[j] - h;
            let fm = f.eval(&self.xt);
            self.xt[j] = x[j];
            *g = (fp - fm) / (2.0 * h);
        }
        Ok(f.eval(x))
    }
}

impl JacobianPrep for FiniteDifferencesPrep {
    fn value_and_jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        check_len("y", self.m, y.len())?;
        self.jacobian_into(f, x, jac)?;
        f.eval(x, y);
        Ok(())
    }
    fn jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        self.jacobian_into(f, x, jac)
    }
}

impl JvpPrep for FiniteDifferencesPrep {
    fn value_and_jvp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("x", n, x.len())?;
        check_len("tangent v", n, v.len())?;
        check_len("f.output_len()", m, f.output_len())?;
        check_len("y", m, y.len())?;
        check_len("jvp output", m, out.len())?;
        f.eval(x, y);
        let vmax = v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        if vmax == 0.0 {
            out.fill(0.0);
            return Ok(());
        }
        let xmax = x.iter().fold(1.0f64, |a, b| a.max(b.abs()));
        let h = self.first * xmax / vmax;
        for (t, (&xi, &vi)) in self.xt.iter_mut().zip(x.iter().zip(v)) {
            *t = xi + h * vi;
        }
        f.eval(&self.xt, &mut self.y1);
        for (t, (&xi, &vi)) in self.xt.iter_mut().zip(x.iter().zip(v)) {
            *t = xi - h * vi;
        }
        f.eval(&self.xt, &mut self.y2);
        for ((o, a), b) in out.iter_mut().zip(&self.y1).zip(&self.y2) {
            *o = (a - b) / (2.0 * h);
        }
        Ok(())
    }
}

impl VjpPrep for FiniteDifferencesPrep {
    /// The full Jacobian by central differences (2n evaluations), then `Jᵀ w`.
    fn value_and_vjp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        w: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("cotangent w", m, w.len())?;
        check_len("y", m, y.len())?;
        check_len("vjp output", n, out.len())?;
        let mut jac = core::mem::take(&mut self.jac);
        jac.resize(m * n, 0.0);
        let r = self.jacobian_into(f, x, &mut jac);
        if r.is_ok() {
            for (j, o) in out.iter_mut().enumerate() {
                *o = jac[j * m..(j + 1) * m]
                    .iter()
                    .zip(w)
                    .map(|(a, b)| a * b)
                    .sum();
            }
            f.eval(x, y);
        }
        self.jac = jac;
        r
    }
}

impl DerivativePrep for FiniteDifferencesPrep {
    fn value_and_derivative<F: VectorFunction>(
        &mut self,
        f: &F,
        x: f64,
        y: &mut [f64],
        dy: &mut [f64],
    ) -> Result<(), AdError> {
        let m = self.m;
        check_len("f.output_len()", m, f.output_len())?;
        check_len("y", m, y.len())?;
        check_len("derivative output", m, dy.len())?;
        let h = representable_step(x, self.first);
        f.eval(&[x + h], &mut self.y1);
        f.eval(&[x - h], &mut self.y2);
        for ((o, a), b) in dy.iter_mut().zip(&self.y1).zip(&self.y2) {
            *o = (a - b) / (2.0 * h);
        }
        f.eval(&[x], y);
        Ok(())
    }
}

impl HessianPrep for FiniteDifferencesPrep {
    /// `H_ij ≈ [f(+,+) − f(+,−) − f(−,+) + f(−,−)] / (4 h_i h_j)`, `i ≤ j`, mirrored.
    fn hessian<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        hess: &mut [f64],
    ) -> Result<(), AdError> {
        let n = self.n;
        check_len("x", n, x.len())?;
        check_len("hessian (n × n)", n * n, hess.len())?;
        for j in 0..n {
            for i in 0..=j {
                let hi = representable_step(x[i], self.second);
                let hj = representable_step(x[j], self.second);
                let v = (self.f2(f, x, i, 1.0, j, 1.0)
                    - self.f2(f, x, i, 1.0, j, -1.0)
                    - self.f2(f, x, i, -1.0, j, 1.0)
                    + self.f2(f, x, i, -1.0, j, -1.0))
                    / (4.0 * hi * hj);
                hess[i + j * n] = v;
                hess[j + i * n] = v;
            }
        }
        Ok(())
    }
}

impl HvpPrep for FiniteDifferencesPrep {
    /// `(H v)_i ≈ [f(x + t v + h e_i) − f(x + t v − h e_i) − f(x − t v + h e_i) + f(x − t v − h e_i)] / (4 t h)`.
    fn hvp<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        let n = self.n;
        check_len("x", n, x.len())?;
        check_len("direction v", n, v.len())?;
        check_len("hvp output", n, out.len())?;
        let vmax = v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        if vmax == 0.0 {
            out.fill(0.0);
            return Ok(());
        }
        let xmax = x.iter().fold(1.0f64, |a, b| a.max(b.abs()));
        let t = self.second * xmax / vmax;
        for (i, o) in out.iter_mut().enumerate() {
            let h = representable_step(x[i], self.second);
            let mut eval = |s: f64, e: f64| {
                for (k, xt) in self.xt.iter_mut().enumerate() {
                    *xt = x[k] + s * t * v[k];
                }
                self.xt[i] += e * h;
                f.eval(&self.xt)
            };
            *o = (eval(1.0, 1.0) - eval(1.0, -1.0) - eval(-1.0, 1.0) + eval(-1.0, -1.0))
                / (4.0 * t * h);
        }
        Ok(())
    }
}
