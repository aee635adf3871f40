//! Integrands: what the integrators evaluate.
//!
//! Every integrator calls one method, [`BatchIntegrand::eval_batch`], with *many* points at once:
//! the 2(2n+1) nodes of the two halves of a bisected interval, or every point of a cubature rule
//! on several boxes. An integrand that can vectorise, or is expensive enough to spread over
//! threads ([`Parallel`]), does so inside that call. Ordinary closures are wrapped by the
//! constructors below:
//!
//! | constructor | closure | points | outputs |
//! | --- | --- | --- | --- |
//! | [`scalar`] | `Fn(f64) -> f64` | 1-D | 1 |
//! | [`vector`] | `Fn(f64, &mut [f64])` | 1-D | m |
//! | [`multi`] | `Fn(&[f64]) -> f64` | d-D | 1 |
//! | [`multi_vector`] | `Fn(&[f64], &mut [f64])` | d-D | m |
//! | [`batch`] | `Fn(&[f64], &mut [f64])` on all points | any | m |
//!
//! The derivative rule ([`crate::leibniz`]) needs integrands that are generic over the scalar
//! type; those are [`tangent_ad::VectorFunction`]s instead.
//!
//! ```
//! use tangent_quadrature::integrand::{BatchIntegrand, batch, scalar};
//!
//! let f = scalar(|x: f64| x * x);
//! let mut y = [0.0; 3];
//! f.eval_batch(&[1.0, 2.0, 3.0], &mut y);
//! assert_eq!(y, [1.0, 4.0, 9.0]);
//!
//! // A batched integrand sees every node of a call at once.
//! let g = batch(1, |x: &[f64], y: &mut [f64]| {
//!     for (yi, xi) in y.iter_mut().zip(x) {
//!         *yi = xi.sin();
//!     }
//! });
//! assert_eq!(g.output_len(), 1);
//! ```

use rayon::prelude::*;

/// An integrand evaluated at many points per call.
///
/// Points have `d` coordinates each (d = 1 for 1-D integrals, the box's dimension for cubature)
/// and are laid out point-major: point `i` is `x[i*d..(i+1)*d]`. Outputs are point-major too:
/// the `m = output_len()` components at point `i` go to `y[i*m..(i+1)*m]`.
pub trait BatchIntegrand {
    /// Number of output components `m`.
    fn output_len(&self) -> usize;

    /// Writes the integrand at every point of `x` to `y` (`y.len() == (x.len() / d) · m`).
    fn eval_batch(&self, x: &[f64], y: &mut [f64]);
}

impl<F: BatchIntegrand + ?Sized> BatchIntegrand for &F {
    #[inline]
    fn output_len(&self) -> usize {
        (**self).output_len()
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        (**self).eval_batch(x, y)
    }
}

/// A scalar 1-D integrand `f(x)`; see [`scalar`].
#[derive(Clone, Copy, Debug)]
pub struct Scalar1<F>(pub F);

/// Wraps `f: Fn(f64) -> f64` as a 1-D integrand with one output.
pub fn scalar<F: Fn(f64) -> f64>(f: F) -> Scalar1<F> {
    Scalar1(f)
}

impl<F: Fn(f64) -> f64> BatchIntegrand for Scalar1<F> {
    #[inline]
    fn output_len(&self) -> usize {
        1
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = (self.0)(xi);
        }
    }
}

/// A vector-valued 1-D integrand `f(x, y)` writing `m` components; see [`vector`].
#[derive(Clone, Copy, Debug)]
pub struct Vector1<F> {
    m: usize,
    f: F,
}

/// Wraps `f: Fn(x, y)` (writing `y.len() == m` components) as a 1-D integrand with `m` outputs.
pub fn vector<F: Fn(f64, &mut [f64])>(m: usize, f: F) -> Vector1<F> {
    Vector1 { m, f }
}

impl<F: Fn(f64, &mut [f64])> BatchIntegrand for Vector1<F> {
    #[inline]
    fn output_len(&self) -> usize {
        self.m
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        if self.m == 0 {
            return;
        }
        for (yi, &xi) in y.chunks_exact_mut(self.m).zip(x) {
            (self.f)(xi, yi);
        }
    }
}

/// A scalar integrand of a d-dimensional point; see [`multi`].
#[derive(Clone, Copy, Debug)]
pub struct ScalarNd<F> {
    d: usize,
    f: F,
}

/// Wraps `f: Fn(&[f64]) -> f64` (a point with `d` coordinates) as a cubature integrand with one
/// output.
pub fn multi<F: Fn(&[f64]) -> f64>(d: usize, f: F) -> ScalarNd<F> {
    ScalarNd { d, f }
}

impl<F: Fn(&[f64]) -> f64> BatchIntegrand for ScalarNd<F> {
    #[inline]
    fn output_len(&self) -> usize {
        1
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        if self.d == 0 {
            return;
        }
        for (yi, xi) in y.iter_mut().zip(x.chunks_exact(self.d)) {
            *yi = (self.f)(xi);
        }
    }
}

/// A vector-valued integrand of a d-dimensional point; see [`multi_vector`].
#[derive(Clone, Copy, Debug)]
pub struct VectorNd<F> {
    d: usize,
    m: usize,
    f: F,
}

/// Wraps `f: Fn(x, y)` (a point `x` with `d` coordinates, writing `m` components to `y`) as a
/// cubature integrand.
pub fn multi_vector<F: Fn(&[f64], &mut [f64])>(d: usize, m: usize, f: F) -> VectorNd<F> {
    VectorNd { d, m, f }
}

impl<F: Fn(&[f64], &mut [f64])> BatchIntegrand for VectorNd<F> {
    #[inline]
    fn output_len(&self) -> usize {
        self.m
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        if self.d == 0 || self.m == 0 {
            return;
        }
        for (yi, xi) in y.chunks_exact_mut(self.m).zip(x.chunks_exact(self.d)) {
            (self.f)(xi, yi);
        }
    }
}

/// An integrand given directly by its batch evaluation; see [`batch`].
#[derive(Clone, Copy, Debug)]
pub struct Batch<F> {
    m: usize,
    f: F,
}

/// Wraps `f: Fn(x, y)` that evaluates all points of `x` at once (layout of
/// [`BatchIntegrand::eval_batch`]) with `m` outputs per point.
pub fn batch<F: Fn(&[f64], &mut [f64])>(m: usize, f: F) -> Batch<F> {
    Batch { m, f }
}

impl<F: Fn(&[f64], &mut [f64])> BatchIntegrand for Batch<F> {
    #[inline]
    fn output_len(&self) -> usize {
        self.m
    }
    #[inline]
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        (self.f)(x, y)
    }
}

/// Evaluates the batches of an integrand on rayon's thread pool, in chunks of at least
/// `min_points` points (default 16). Worth it when one evaluation costs more than a few
/// microseconds; for cheap integrands the threads' overhead dominates.
///
/// ```
/// use tangent_quadrature::integrand::{BatchIntegrand, Parallel, multi};
///
/// let f = Parallel::new(2, multi(2, |x: &[f64]| x[0] * x[1]));
/// let mut y = [0.0; 2];
/// f.eval_batch(&[1.0, 2.0, 3.0, 4.0], &mut y);
/// assert_eq!(y, [2.0, 12.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Parallel<F> {
    d: usize,
    min_points: usize,
    inner: F,
}

impl<F: BatchIntegrand + Sync> Parallel<F> {
    /// Parallel evaluation of `inner`, whose points have `d` coordinates.
    pub fn new(d: usize, inner: F) -> Self {
        Self {
            d: d.max(1),
            min_points: 16,
            inner,
        }
    }

    /// Sets the smallest chunk handed to one thread.
    pub fn min_points(mut self, n: usize) -> Self {
        self.min_points = n.max(1);
        self
    }
}

impl<F: BatchIntegrand + Sync> BatchIntegrand for Parallel<F> {
    fn output_len(&self) -> usize {
        self.inner.output_len()
    }
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        let m = self.inner.output_len();
        let npts = x.len() / self.d;
        let threads = rayon::current_num_threads().max(1);
        let chunk = npts.div_ceil(threads).max(self.min_points);
        if chunk >= npts || m == 0 {
            self.inner.eval_batch(x, y);
            return;
        }
        x.par_chunks(chunk * self.d)
            .zip(y.par_chunks_mut(chunk * m))
            .for_each(|(xc, yc)| self.inner.eval_batch(xc, yc));
    }
}
