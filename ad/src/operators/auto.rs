//! The default backend: a sensible choice per operator.

use super::{
    DerivativeBackend, DerivativePrep, Forward, ForwardPrep, GradientBackend, HessianBackend,
    HvpBackend, JacobianBackend, JacobianPrep, JvpBackend, JvpPrep, Reverse, ReversePrep,
    VjpBackend,
};
use crate::error::AdError;
use crate::function::{ScalarFunction, VectorFunction};

/// The default backend. Gradients, vjps, Hessians and Hessian-vector products: [`Reverse`]
/// (recording at every call, so any control flow is handled). Jacobians: [`Forward<8>`] when
/// `n ≤ 8m` (⌈n/8⌉ cheap passes), else [`Reverse`] (`m` sweeps). jvps and derivatives:
/// [`Forward<1>`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Auto;

/// The prepared object of [`Auto`] for Jacobians, jvps and derivatives.
#[derive(Debug)]
#[non_exhaustive]
pub enum AutoPrep {
    /// Forward mode with one direction.
    Forward1(ForwardPrep<1>),
    /// Forward mode with eight directions.
    Forward8(ForwardPrep<8>),
    /// Reverse mode.
    Reverse(Box<ReversePrep>),
}

impl GradientBackend for Auto {
    type Prep = ReversePrep;
    fn prepare_gradient<F: ScalarFunction>(
        &self,
        f: &F,
        x: &[f64],
    ) -> Result<ReversePrep, AdError> {
        Reverse.prepare_gradient(f, x)
    }
}
impl HvpBackend for Auto {
    type Prep = ReversePrep;
    fn prepare_hvp<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
        Reverse.prepare_hvp(f, x)
    }
}
impl HessianBackend for Auto {
    type Prep = ReversePrep;
    fn prepare_hessian<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
        Reverse.prepare_hessian(f, x)
    }
}
impl VjpBackend for Auto {
    type Prep = ReversePrep;
    fn prepare_vjp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<ReversePrep, AdError> {
        Reverse.prepare_vjp(f, x)
    }
}
impl JacobianBackend for Auto {
    type Prep = AutoPrep;
    fn prepare_jacobian<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<AutoPrep, AdError> {
        if x.len() <= 8 * f.output_len() {
            Forward::<8>.prepare_jacobian(f, x).map(AutoPrep::Forward8)
        } else {
            Reverse
                .prepare_jacobian(f, x)
                .map(|p| AutoPrep::Reverse(Box::new(p)))
        }
    }
}
impl JvpBackend for Auto {
    type Prep = AutoPrep;
    fn prepare_jvp<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<AutoPrep, AdError> {
        Forward::<1>.prepare_jvp(f, x).map(AutoPrep::Forward1)
    }
}
impl DerivativeBackend for Auto {
    type Prep = AutoPrep;
    fn prepare_derivative<F: VectorFunction>(&self, f: &F, x: f64) -> Result<AutoPrep, AdError> {
        Forward::<1>
            .prepare_derivative(f, x)
            .map(AutoPrep::Forward1)
    }
}

macro_rules! dispatch {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            AutoPrep::Forward1($p) => $e,
            AutoPrep::Forward8($p) => $e,
            AutoPrep::Reverse($p) => $e,
        }
    };
}

impl JacobianPrep for AutoPrep {
    fn value_and_jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        dispatch!(self, p => p.value_and_jacobian(f, x, y, jac))
    }
    fn jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        dispatch!(self, p => p.jacobian(f, x, jac))
    }
}
impl JvpPrep for AutoPrep {
    fn value_and_jvp<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        v: &[f64],
        y: &mut [f64],
        out: &mut [f64],
    ) -> Result<(), AdError> {
        dispatch!(self, p => p.value_and_jvp(f, x, v, y, out))
    }
}
impl DerivativePrep for AutoPrep {
    fn value_and_derivative<F: VectorFunction>(
        &mut self,
        f: &F,
        x: f64,
        y: &mut [f64],
        dy: &mut [f64],
    ) -> Result<(), AdError> {
        dispatch!(self, p => p.value_and_derivative(f, x, y, dy))
    }
}
