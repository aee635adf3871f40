//! The parameters `p` held once per scalar type, so that `F(u, p)` runs on `f64`, on the dual
//! numbers of the Jacobian passes and on tracers without converting `p` at every evaluation.

use std::any::Any;
use std::borrow::Cow;

use tangent_ad::{Scalar, VectorFunction};

use crate::problem::NonlinearFunction;

type Refresh = fn(&[f64], &mut (dyn Any + Send + Sync));

/// One stored copy of `p` as constants of one scalar type.
struct Slot {
    data: Box<dyn Any + Send + Sync>,
    refresh: Refresh,
}

fn refresh_as<S: Scalar>(p: &[f64], data: &mut (dyn Any + Send + Sync)) {
    if let Some(v) = data.downcast_mut::<Vec<S>>() {
        for (o, &x) in v.iter_mut().zip(p) {
            *o = S::cst(x);
        }
    }
}

/// `p` in `f64` and as constants of the scalar types registered with [`Params::register`].
pub(crate) struct Params {
    values: Vec<f64>,
    slots: Vec<Slot>,
}

impl core::fmt::Debug for Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Params")
            .field("values", &self.values)
            .field("types", &self.slots.len())
            .finish()
    }
}

impl Params {
    pub(crate) fn new(p: &[f64]) -> Self {
        Self {
            values: p.to_vec(),
            slots: Vec::new(),
        }
    }

    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Keeps a copy of `p` as constants of `S` (once per type).
    pub(crate) fn register<S: Scalar>(&mut self) {
        if core::any::TypeId::of::<S>() == core::any::TypeId::of::<f64>() {
            return;
        }
        if self.slots.iter().any(|s| s.data.is::<Vec<S>>()) {
            return;
        }
        let v: Vec<S> = self.values.iter().map(|&x| S::cst(x)).collect();
        self.slots.push(Slot {
            data: Box::new(v),
            refresh: refresh_as::<S>,
        });
    }

    /// Replaces the values (same length, checked by the caller); updates every stored type.
    pub(crate) fn set(&mut self, p: &[f64]) {
        self.values.copy_from_slice(p);
        for s in &mut self.slots {
            (s.refresh)(&self.values, s.data.as_mut());
        }
    }

    /// `p` as `S`: borrowed when stored (no allocation), otherwise converted.
    pub(crate) fn get<S: Scalar>(&self) -> Cow<'_, [S]> {
        if let Some(v) = (&self.values as &dyn Any).downcast_ref::<Vec<S>>() {
            return Cow::Borrowed(v);
        }
        for s in &self.slots {
            if let Some(v) = s.data.downcast_ref::<Vec<S>>() {
                return Cow::Borrowed(v);
            }
        }
        Cow::Owned(self.values.iter().map(|&x| S::cst(x)).collect())
    }
}

/// `u ↦ F(u, p)` at the stored parameters, as the AD crate's [`VectorFunction`].
pub(crate) struct AtParams<'a, F> {
    pub(crate) f: &'a F,
    pub(crate) p: &'a Params,
    pub(crate) m: usize,
}

impl<F: NonlinearFunction> VectorFunction for AtParams<'_, F> {
    fn output_len(&self) -> usize {
        self.m
    }
    #[inline]
    fn eval<S: Scalar>(&self, u: &[S], r: &mut [S]) {
        let p = self.p.get::<S>();
        self.f.residual(u, &p, r);
    }
}
