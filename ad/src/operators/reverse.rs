//! Reverse-mode operators on the [`Tape`]: record on every call ([`Reverse`]) or once and
//! replay ([`ReverseReplay`]).

use super::{
    DerivativeBackend, DerivativePrep, GradientBackend, GradientPrep, HessianBackend, HessianPrep,
    HvpBackend, HvpPrep, JacobianBackend, JacobianPrep, JvpBackend, JvpPrep, VjpBackend, VjpPrep,
};
use crate::error::{AdError, check_len};
use crate::function::{ScalarFunction, VectorFunction};
use crate::tape::{HvpWorkspace, Tape, TapeError, Var};

/// Reverse mode, recording the tape afresh at every call (correct for any control flow).
/// Hessians and Hessian-vector products are forward over reverse.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reverse;

/// Reverse mode with the tape recorded once in `prepare` and *replayed* at each new point —
/// only for functions whose operation sequence does not depend on the input values (no
/// value-dependent branches, no early exits); the user opts in.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReverseReplay;

/// Directions per forward-over-reverse Hessian sweep.
const HESSIAN_CHUNK: usize = 8;

/// A tape, its input and output variables and sweep buffers.
pub struct ReversePrep {
    replay: bool,
    n: usize,
    m: usize,
    tape: Tape,
    xv: Vec<Var>,
    yv: Vec<Var>,
    /// Unit cotangent / scratch of length `m` (Jacobian rows) or `n`.
    w: Vec<f64>,
    row: Vec<f64>,
    hess_dirs: Vec<[f64; HESSIAN_CHUNK]>,
    hess_out: Vec<[f64; HESSIAN_CHUNK]>,
    hess_work: HvpWorkspace<HESSIAN_CHUNK>,
}

impl core::fmt::Debug for ReversePrep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReversePrep")
            .field("replay", &self.replay)
            .field("n", &self.n)
            .field("m", &self.m)
            .field("tape", &self.tape)
            .finish()
    }
}

/// What to record: a scalar or a vector function.
enum Target<'a, S, V> {
    Scalar(&'a S),
    Vector(&'a V),
}

struct NoFn;
impl ScalarFunction for NoFn {
    fn eval<S: crate::Scalar>(&self, _x: &[S]) -> S {
        S::zero()
    }
}
impl VectorFunction for NoFn {
    fn output_len(&self) -> usize {
        0
    }
    fn eval<S: crate::Scalar>(&self, _x: &[S], _y: &mut [S]) {}
}

impl ReversePrep {
    fn new(replay: bool, n: usize, m: usize) -> Self {
        Self {
            replay,
            n,
            m,
            tape: Tape::new(),
            xv: vec![Var::default(); n],
            yv: vec![Var::default(); m],
            w: vec![0.0; m.max(n)],
            row: vec![0.0; n],
            hess_dirs: Vec::new(),
            hess_out: Vec::new(),
            hess_work: HvpWorkspace::new(),
        }
    }

    fn record<S: ScalarFunction, V: VectorFunction>(
        &mut self,
        f: Target<'_, S, V>,
        x: &[f64],
    ) -> Result<(), AdError> {
        let (xv, yv) = (&mut self.xv, &mut self.yv);
        self.tape.recording(|rec| {
            rec.inputs_into(x, xv)?;
            match f {
                Target::Scalar(f) => yv[0] = f.eval(xv),
                Target::Vector(f) => f.eval(xv, yv),
            }
            Ok::<(), TapeError>(())
        })?;
        if let Some(e) = self.tape.error() {
            return Err(e.clone().into());
        }
        Ok(())
    }

    /// Brings the tape to the point `x`: records (or replays) it.
    fn at<S: ScalarFunction, V: VectorFunction>(
        &mut self,
        f: Target<'_, S, V>,
        x: &[f64],
    ) -> Result<(), AdError> {
        check_len("x", self.n, x.len())?;
        if self.replay {
            self.tape.replay(x)?;
            Ok(())
        } else {
            self.record(f, x)
        }
    }

    fn at_scalar<F: ScalarFunction>(&mut self, f: &F, x: &[f64]) -> Result<(), AdError> {
        self.at(Target::<F, NoFn>::Scalar(f), x)
    }

    fn at_vector<F: VectorFunction>(&mut self, f: &F, x: &[f64]) -> Result<(), AdError> {
        check_len("f.output_len()", self.m, f.output_len())?;
        self.at(Target::<NoFn, F>::Vector(f), x)
    }

    fn outputs_into(&self, y: &mut [f64]) -> Result<(), AdError> {
        for (o, &v) in y.iter_mut().zip(&self.yv) {
            *o = self.tape.value(v)?;
        }
        Ok(())
    }

    /// Records at `x` and reserves the sweep buffers (adjoints always; tangents when
    /// `tangents`), so that the first call through the prepared object allocates nothing.
    fn prepared_scalar<F: ScalarFunction>(
        replay: bool,
        f: &F,
        x: &[f64],
        tangents: bool,
    ) -> Result<Self, AdError> {
        let mut p = Self::new(replay, x.len(), 1);
        p.record(Target::<F, NoFn>::Scalar(f), x)?;
        p.reserve(tangents);
        Ok(p)
    }

    fn prepared_vector<F: VectorFunction>(
        replay: bool,
        f: &F,
        x: &[f64],
        tangents: bool,
    ) -> Result<Self, AdError> {
        let mut p = Self::new(replay, x.len(), f.output_len());
        p.record(Target::<NoFn, F>::Vector(f), x)?;
        p.reserve(tangents);
        Ok(p)
    }

    fn reserve(&mut self, tangents: bool) {
        self.tape.reserve_adjoints();
        if self.replay {
            self.tape.reserve_replay();
        }
        if tangents {
            self.tape.reserve_tangents();
        }
    }
}

macro_rules! reverse_backends {
    ($($backend:ty => $replay:expr),*) => {$(
        impl GradientBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_gradient<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_scalar($replay, f, x, false)
            }
        }
        impl HvpBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_hvp<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_scalar($replay, f, x, true)
            }
        }
        impl HessianBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_hessian<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                let mut p = ReversePrep::prepared_scalar($replay, f, x, false)?;
                let n = x.len();
                p.hess_dirs = vec![[0.0; HESSIAN_CHUNK]; n];
                p.hess_out = vec![[0.0; HESSIAN_CHUNK]; n];
                p.hess_work.reserve(p.tape.len());
                Ok(p)
            }
        }
        impl JacobianBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_jacobian<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_vector($replay, f, x, false)
            }
        }
        impl JvpBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_jvp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_vector($replay, f, x, true)
            }
        }
        impl VjpBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_vjp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_vector($replay, f, x, false)
            }
        }
        impl DerivativeBackend for $backend {
            type Prep = ReversePrep;
            fn prepare_derivative<F: VectorFunction>(&self, f: &F, x: f64) -> Result<ReversePrep, AdError> {
                ReversePrep::prepared_vector($replay, f, &[x], true)
            }
        }
    )*};
}
reverse_backends!(Reverse => false, ReverseReplay => true);

impl GradientPrep for ReversePrep {
    fn value_and_gradient<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, AdError> {
        check_len("gradient", self.n, grad.len())?;
        self.at_scalar(f, x)?;
        self.tape.gradient(self.yv[0], grad)?;
        Ok(self.tape.value(self.yv[0])?)
    }
}

impl HvpPrep for ReversePrep {
    fn hvp<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        check_len("direction v", self.n, v.len())?;
        check_len("hvp output", self.n, out.len())?;
        self.at_scalar(f, x)?;
        self.tape.hvp(self.yv[0], v, out, None)?;
        Ok(())
    }
}

impl HessianPrep for ReversePrep {
    /// Columns in chunks of 8 by forward over reverse; the two triangles are averaged so the
    /// result is exactly symmetric.
    fn hessian<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        hess: &mut [f64],
    ) -> Result<(), AdError> {
        let n = self.n;
        check_len("hessian (n × n)", n * n, hess.len())?;
        self.at_scalar(f, x)?;
        if self.hess_dirs.len() != n {
            self.hess_dirs = vec![[0.0; HESSIAN_CHUNK]; n];
            self.hess_out = vec![[0.0; HESSIAN_CHUNK]; n];
        }
        for start in (0..n).step_by(HESSIAN_CHUNK) {
            for (i, d) in self.hess_dirs.iter_mut().enumerate() {
                *d = [0.0; HESSIAN_CHUNK];
                if let Some(di) = d.get_mut(i.wrapping_sub(start)) {
                    *di = 1.0;
                }
            }
            self.tape.hvp_many(
                self.yv[0],
                &self.hess_dirs,
                &mut self.hess_out,
                &mut self.hess_work,
            )?;
            for (k, col) in (start..(start + HESSIAN_CHUNK).min(n)).enumerate() {
                for (i, o) in self.hess_out.iter().enumerate() {
                    hess[i + col * n] = o[k];
                }
            }
        }
        for j in 0..n {
            for i in 0..j {
                let s = 0.5 * (hess[i + j * n] + hess[j + i * n]);
                hess[i + j * n] = s;
                hess[j + i * n] = s;
            }
        }
        Ok(())
    }
}

impl ReversePrep {
    fn jacobian_impl<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: Option<&mut [f64]>,
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        let (n, m) = (self.n, self.m);
        check_len("jacobian (m × n)", m * n, jac.len())?;
        if let Some(y) = &y {
            check_len("y", m, y.len())?;
        }
        self.at_vector(f, x)?;
        let w = &mut self.w[..m];
        w.fill(0.0);
        for i in 0..m {
            w[i] = 1.0;
            self.tape.vjp(&self.yv, w, &mut self.row)?;
            w[i] = 0.0;
            for (j, &r) in self.row.iter().enumerate() {
                jac[i + j * m] = r;
            }
        }
        if let Some(y) = y {
            self.outputs_into(y)?;
        }
        Ok(())
    }
}

impl JacobianPrep for ReversePrep {
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

impl JvpPrep for ReversePrep {
    fn value_and_jvp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        check_len("tangent v", self.n, v.len())?;
        check_len("y", self.m, y.len())?;
        check_len("jvp output", self.m, out.len())?;
        self.at_vector(f, x)?;
        self.tape.jvp(&self.yv, v, out)?;
        self.outputs_into(y)
    }
}

impl VjpPrep for ReversePrep {
    fn value_and_vjp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        w: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        check_len("cotangent w", self.m, w.len())?;
        check_len("y", self.m, y.len())?;
        check_len("vjp output", self.n, out.len())?;
        self.at_vector(f, x)?;
        self.tape.vjp(&self.yv, w, out)?;
        self.outputs_into(y)
    }
}

impl DerivativePrep for ReversePrep {
    fn value_and_derivative<F: VectorFunction>(
        &mut self,
        f: &F,
        x: f64,
        y: &mut [f64],
        dy: &mut [f64],
    ) -> Result<(), AdError> {
        check_len("y", self.m, y.len())?;
        check_len("derivative output", self.m, dy.len())?;
        self.at_vector(f, &[x])?;
        self.tape.jvp(&self.yv, &[1.0], dy)?;
        self.outputs_into(y)
    }
}
