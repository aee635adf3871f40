//! Forward-mode operators on [`Dual<N>`]: `N` tangent directions per evaluation.

use super::{
    DerivativeBackend, DerivativePrep, GradientBackend, GradientPrep, HessianBackend, HessianPrep,
    HvpBackend, HvpPrep, JacobianBackend, JacobianPrep, JvpBackend, JvpPrep, VjpBackend, VjpPrep,
};
use crate::dual::Dual;
use crate::error::{AdError, check_len};
use crate::function::{ScalarFunction, VectorFunction};
use crate::scalar::Scalar;

/// Forward mode with chunk size `N`: each evaluation of the function on [`Dual<N>`] values
/// propagates `N` directions. `N` between 4 and 16 suits most functions; `N ≥ n` evaluates a
/// whole gradient or Jacobian in one pass. For Hessians, nested duals `Dual<N, Dual<N>>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Forward<const N: usize>;

/// Buffers for forward-mode gradients, Jacobians, jvps, vjps and derivatives.
#[derive(Clone, Debug)]
pub struct ForwardPrep<const N: usize> {
    n: usize,
    m: usize,
    xd: Vec<Dual<N>>,
    yd: Vec<Dual<N>>,
}

/// Buffers for forward-over-forward Hessians (`Dual<N, Dual<N>>`, blocks of `N × N`).
#[derive(Clone, Debug)]
pub struct ForwardHessianPrep<const N: usize> {
    n: usize,
    x2: Vec<Dual<N, Dual<N>>>,
}

/// Buffers for forward-over-forward Hessian-vector products (`Dual<1, Dual<N>>`).
#[derive(Clone, Debug)]
pub struct ForwardHvpPrep<const N: usize> {
    n: usize,
    xh: Vec<Dual<1, Dual<N>>>,
}

fn check_chunk<const N: usize>() -> Result<(), AdError> {
    if N == 0 {
        return Err(AdError::InvalidArgument(
            "forward chunk size N must be at least 1",
        ));
    }
    Ok(())
}

impl<const N: usize> Forward<N> {
    fn prep(n: usize, m: usize) -> Result<ForwardPrep<N>, AdError> {
        check_chunk::<N>()?;
        Ok(ForwardPrep {
            n,
            m,
            xd: vec![Dual::default(); n],
            yd: vec![Dual::default(); m],
        })
    }
}

impl<const N: usize> ForwardPrep<N> {
    /// Sets `xd` to `x` with unit seeds on inputs `start..start+N`.
    #[inline]
    fn seed_chunk(&mut self, x: &[f64], start: usize) {
        for (i, (xd, &xi)) in self.xd.iter_mut().zip(x).enumerate() {
            *xd = Dual::variable(xi, i.wrapping_sub(start));
        }
    }
}

impl<const N: usize> GradientBackend for Forward<N> {
    type Prep = ForwardPrep<N>;
    fn prepare_gradient<F: ScalarFunction>(
        &self,
        _f: &F,
        x: &[f64],
    ) -> Result<Self::Prep, AdError> {
        Self::prep(x.len(), 1)
    }
}

impl<const N: usize> GradientPrep for ForwardPrep<N> {
    fn value_and_gradient<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, AdError> {
        check_len("x", self.n, x.len())?;
        check_len("gradient", self.n, grad.len())?;
        if self.n == 0 {
            return Ok(f.eval::<f64>(x));
        }
        let mut value = 0.0;
        for start in (0..self.n).step_by(N) {
            self.seed_chunk(x, start);
            let y = f.eval(&self.xd);
            value = y.v;
            let end = (start + N).min(self.n);
            grad[start..end].copy_from_slice(&y.d[..end - start]);
        }
        Ok(value)
    }
}

impl<const N: usize> JacobianBackend for Forward<N> {
    type Prep = ForwardPrep<N>;
    fn prepare_jacobian<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        Self::prep(x.len(), f.output_len())
    }
}

impl<const N: usize> ForwardPrep<N> {
    fn jacobian_impl<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: Option<&mut [f64]>,
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("x", n, x.len())?;
        check_len("f.output_len()", m, f.output_len())?;
        check_len("jacobian (m × n)", m * n, jac.len())?;
        if let Some(y) = &y {
            check_len("y", m, y.len())?;
        }
        if n == 0 {
            if let Some(y) = y {
                f.eval::<f64>(x, y);
            }
            return Ok(());
        }
        for start in (0..n).step_by(N) {
            self.seed_chunk(x, start);
            f.eval(&self.xd, &mut self.yd);
            let end = (start + N).min(n);
            for (k, col) in (start..end).enumerate() {
                for (i, yi) in self.yd.iter().enumerate() {
                    jac[i + col * m] = yi.d[k];
                }
            }
        }
        if let Some(y) = y {
            for (o, yi) in y.iter_mut().zip(&self.yd) {
                *o = yi.v;
            }
        }
        Ok(())
    }
}

impl<const N: usize> JacobianPrep for ForwardPrep<N> {
    fn value_and_jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        self.jacobian_impl(f, x, Some(y), jac)
    }
    fn jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        self.jacobian_impl(f, x, None, jac)
    }
}

impl<const N: usize> JvpBackend for Forward<N> {
    type Prep = ForwardPrep<N>;
    fn prepare_jvp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        Self::prep(x.len(), f.output_len())
    }
}

impl<const N: usize> JvpPrep for ForwardPrep<N> {
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
        for ((xd, &xi), &vi) in self.xd.iter_mut().zip(x).zip(v) {
            *xd = Dual::constant(xi);
            xd.d[0] = vi;
        }
        f.eval(&self.xd, &mut self.yd);
        for ((yo, o), yd) in y.iter_mut().zip(out.iter_mut()).zip(&self.yd) {
            *yo = yd.v;
            *o = yd.d[0];
        }
        Ok(())
    }
}

impl<const N: usize> VjpBackend for Forward<N> {
    type Prep = ForwardPrep<N>;
    fn prepare_vjp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        Self::prep(x.len(), f.output_len())
    }
}

impl<const N: usize> VjpPrep for ForwardPrep<N> {
    /// Forward mode computes `J(x)ᵀ w` column block by column block (⌈n/N⌉ passes).
    fn value_and_vjp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        w: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("x", n, x.len())?;
        check_len("cotangent w", m, w.len())?;
        check_len("f.output_len()", m, f.output_len())?;
        check_len("y", m, y.len())?;
        check_len("vjp output", n, out.len())?;
        if n == 0 {
            f.eval::<f64>(x, y);
            return Ok(());
        }
        for start in (0..n).step_by(N) {
            self.seed_chunk(x, start);
            f.eval(&self.xd, &mut self.yd);
            let end = (start + N).min(n);
            for (k, o) in out[start..end].iter_mut().enumerate() {
                *o = self.yd.iter().zip(w).map(|(yi, wi)| yi.d[k] * wi).sum();
            }
        }
        for (yo, yd) in y.iter_mut().zip(&self.yd) {
            *yo = yd.v;
        }
        Ok(())
    }
}

impl<const N: usize> DerivativeBackend for Forward<N> {
    type Prep = ForwardPrep<N>;
    fn prepare_derivative<F: VectorFunction>(&self, f: &F, _x: f64) -> Result<Self::Prep, AdError> {
        Self::prep(1, f.output_len())
    }
}

impl<const N: usize> DerivativePrep for ForwardPrep<N> {
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
        self.xd[0] = Dual::variable(x, 0);
        f.eval(&self.xd, &mut self.yd);
        for ((yo, o), yd) in y.iter_mut().zip(dy.iter_mut()).zip(&self.yd) {
            *yo = yd.v;
            *o = yd.d[0];
        }
        Ok(())
    }
}

impl<const N: usize> HessianBackend for Forward<N> {
    type Prep = ForwardHessianPrep<N>;
    fn prepare_hessian<F: ScalarFunction>(&self, _f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        check_chunk::<N>()?;
        Ok(ForwardHessianPrep {
            n: x.len(),
            x2: vec![Dual::default(); x.len()],
        })
    }
}

impl<const N: usize> HessianPrep for ForwardHessianPrep<N> {
    /// Blocks `H[I, J]` for chunk pairs `I ≤ J` from one evaluation each on
    /// `Dual<N, Dual<N>>` (inner seeds on `I`, outer on `J`), mirrored into `H[J, I]`.
    fn hessian<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        hess: &mut [f64],
    ) -> Result<(), AdError> {
        let n = self.n;
        check_len("x", n, x.len())?;
        check_len("hessian (n × n)", n * n, hess.len())?;
        for bi in (0..n).step_by(N) {
            for bj in (bi..n).step_by(N) {
                for (j, (xd, &xj)) in self.x2.iter_mut().zip(x).enumerate() {
                    let inner = Dual::<N>::variable(xj, j.wrapping_sub(bi));
                    let mut outer = Dual::<N, Dual<N>>::constant(inner);
                    if let Some(o) = outer.d.get_mut(j.wrapping_sub(bj)) {
                        *o = Dual::one();
                    }
                    *xd = outer;
                }
                let y = f.eval(&self.x2);
                for (l, i) in (bi..(bi + N).min(n)).enumerate() {
                    for (k, j) in (bj..(bj + N).min(n)).enumerate() {
                        let h = y.d[k].d[l];
                        hess[i + j * n] = h;
                        hess[j + i * n] = h;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<const N: usize> HvpBackend for Forward<N> {
    type Prep = ForwardHvpPrep<N>;
    fn prepare_hvp<F: ScalarFunction>(&self, _f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        check_chunk::<N>()?;
        Ok(ForwardHvpPrep {
            n: x.len(),
            xh: vec![Dual::default(); x.len()],
        })
    }
}

impl<const N: usize> HvpPrep for ForwardHvpPrep<N> {
    /// `(H v)[I]` for each chunk `I` from one evaluation on `Dual<1, Dual<N>>`: the outer
    /// direction is `v`, the inner seeds are the unit vectors of `I`.
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
        for bi in (0..n).step_by(N) {
            for (j, ((xd, &xj), &vj)) in self.xh.iter_mut().zip(x).zip(v).enumerate() {
                *xd = Dual::new(Dual::variable(xj, j.wrapping_sub(bi)), [Dual::constant(vj)]);
            }
            let y = f.eval(&self.xh);
            let end = (bi + N).min(n);
            out[bi..end].copy_from_slice(&y.d[0].d[..end - bi]);
        }
        Ok(())
    }
}
