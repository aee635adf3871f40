//! Cubature on boxes: h-adaptive Genz–Malik and tensor-product Gauss–Legendre.
//!
//! # h-adaptive Genz–Malik ([`GenzMalikCubature`])
//!
//! The box `[lower, upper] ⊂ R^d` (finite, d ≥ 2) is integrated with the degree-7 Genz–Malik rule;
//! the difference to its embedded degree-5 rule is the box's error estimate. The box with the
//! largest error is bisected along the axis where the integrand's fourth divided difference is
//! largest (Genz & Malik 1980), its two halves evaluated in one batch, until the summed error is
//! at most `max(atol, rtol·‖I‖)` — the algorithm of Genz & Malik and of HCubature.jl / Steven
//! G. Johnson's `cubature`. In one dimension the 1-D Gauss–Kronrod engine is used instead. Each
//! box costs `2^d + 2d² + 2d + 1` evaluations (17 in 2-D, 33 in 3-D), so the method suits
//! d ≲ 7.
//!
//! # Tensor Gauss–Legendre ([`TensorGaussLegendre`])
//!
//! A fixed product rule with `n` Gauss–Legendre points per axis: `n^d` evaluations, exact for
//! polynomials of degree `2n − 1` in each variable separately. No error estimate; the right tool
//! for smooth integrands in low dimension when the cost must be known in advance (and as an
//! independent check of the adaptive result).
//!
//! ```
//! use tangent_quadrature::cubature::{CubatureProblem, GenzMalikCubature, TensorGaussLegendre};
//! use tangent_quadrature::integrand::multi;
//!
//! // ∫∫_{[0,1]²} e^{x+y} = (e − 1)².
//! let problem = CubatureProblem::new(multi(2, |x: &[f64]| (x[0] + x[1]).exp()), &[0.0, 0.0], &[1.0, 1.0]);
//! let exact = (1f64.exp() - 1.0).powi(2);
//! let adaptive = GenzMalikCubature { rtol: 1e-10, ..Default::default() }.solve(&problem).unwrap();
//! assert!((adaptive.value[0] - exact).abs() < 1e-10 * exact);
//! let tensor = TensorGaussLegendre { points: 10 }.solve(&problem).unwrap();
//! assert!((tensor.value[0] - exact).abs() < 1e-14);
//! assert_eq!(tensor.evaluations, 100);
//! ```

use std::collections::BinaryHeap;

use crate::adaptive::Norm;
use crate::error::{QuadratureError, StopReason};
use crate::integrand::BatchIntegrand;
use crate::quadgk::{GaussKronrod, Integrator, Solution};
use crate::rules::{GaussLegendre, GenzMalik};

/// `∫_{[lower, upper]} f(x) dx` over a finite box in `R^d` (`d = lower.len()`), for a batch
/// integrand whose points have `d` coordinates.
#[derive(Clone, Debug)]
pub struct CubatureProblem<F> {
    /// The integrand.
    pub integrand: F,
    /// Lower corner (length d).
    pub lower: Vec<f64>,
    /// Upper corner (length d).
    pub upper: Vec<f64>,
}

impl<F: BatchIntegrand> CubatureProblem<F> {
    /// The integral of `integrand` over `[lower, upper]`.
    pub fn new(integrand: F, lower: &[f64], upper: &[f64]) -> Self {
        Self {
            integrand,
            lower: lower.to_vec(),
            upper: upper.to_vec(),
        }
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }

    /// Checks the box: same lengths, at least one dimension, finite corners. Returns the sign
    /// of the oriented volume (−1 for an odd number of reversed sides).
    fn check(&self) -> Result<f64, QuadratureError> {
        if self.upper.len() != self.lower.len() {
            return Err(QuadratureError::DimensionMismatch {
                what: "upper corner",
                expected: self.lower.len(),
                found: self.upper.len(),
            });
        }
        if self.lower.is_empty() {
            return Err(QuadratureError::InvalidOption {
                what: "box",
                reason: "needs at least one dimension",
            });
        }
        let mut sign = 1.0;
        for (i, (&a, &b)) in self.lower.iter().zip(&self.upper).enumerate() {
            if !a.is_finite() || !b.is_finite() {
                return Err(QuadratureError::InvalidInterval {
                    lower: a,
                    upper: b,
                    dimension: Some(i),
                });
            }
            if a > b {
                sign = -sign;
            }
        }
        Ok(sign)
    }
}

/// The h-adaptive Genz–Malik algorithm and its options; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenzMalikCubature {
    /// Relative tolerance on the norm of the integral.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Norm of vector-valued integrals and their errors.
    pub norm: Norm,
    /// Most integrand evaluations (points).
    pub max_evaluations: usize,
    /// Most boxes of the partition.
    pub max_subdivisions: usize,
    /// Boxes bisected per step (all halves evaluated in one batch).
    pub batch_boxes: usize,
}

impl Default for GenzMalikCubature {
    fn default() -> Self {
        Self {
            rtol: 1e-8,
            atol: 0.0,
            norm: Norm::Euclidean,
            max_evaluations: 10_000_000,
            max_subdivisions: 100_000,
            batch_boxes: 1,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct BoxEntry {
    err: f64,
    index: usize,
}
impl PartialEq for BoxEntry {
    fn eq(&self, o: &Self) -> bool {
        self.err.total_cmp(&o.err).is_eq()
    }
}
impl Eq for BoxEntry {}
impl PartialOrd for BoxEntry {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for BoxEntry {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        self.err.total_cmp(&o.err)
    }
}

/// Boxes of the adaptive partition (structure of arrays).
struct Boxes {
    d: usize,
    m: usize,
    centre: Vec<f64>,
    half: Vec<f64>,
    val: Vec<f64>,
    err: Vec<f64>,
    axis: Vec<usize>,
}

impl Boxes {
    fn push(&mut self, c: &[f64], h: &[f64]) -> usize {
        self.centre.extend_from_slice(c);
        self.half.extend_from_slice(h);
        self.val.extend(core::iter::repeat_n(0.0, self.m));
        self.err.push(0.0);
        self.axis.push(0);
        self.err.len() - 1
    }
    /// Appends a copy of box `b`; returns its index.
    fn duplicate(&mut self, b: usize) -> usize {
        let d = self.d;
        self.centre.extend_from_within(b * d..(b + 1) * d);
        self.half.extend_from_within(b * d..(b + 1) * d);
        self.val.extend(core::iter::repeat_n(0.0, self.m));
        self.err.push(0.0);
        self.axis.push(0);
        self.err.len() - 1
    }
    fn len(&self) -> usize {
        self.err.len()
    }
}

impl GenzMalikCubature {
    fn validate(&self) -> Result<(), QuadratureError> {
        let bad = |what, reason| Err(QuadratureError::InvalidOption { what, reason });
        if !(self.rtol >= 0.0 && self.rtol.is_finite()) {
            return bad("rtol", "must be finite and ≥ 0");
        }
        if !(self.atol >= 0.0 && self.atol.is_finite()) {
            return bad("atol", "must be finite and ≥ 0");
        }
        if self.rtol == 0.0 && self.atol == 0.0 {
            return bad("tolerance", "rtol and atol cannot both be 0");
        }
        if self.batch_boxes == 0 || self.max_subdivisions == 0 {
            return bad("batch_boxes/max_subdivisions", "must be ≥ 1");
        }
        Ok(())
    }

    /// Integrates `problem`. Errors as [`crate::solve`]; in one dimension this is the adaptive
    /// Gauss–Kronrod integrator with its default pair ((10, 21) on a finite interval) and the
    /// same tolerances.
    // Index loops over the boxes' parallel arrays read like the formulas.
    #[allow(clippy::needless_range_loop)]
    pub fn solve<F: BatchIntegrand>(
        &self,
        problem: &CubatureProblem<F>,
    ) -> Result<Solution, QuadratureError> {
        self.validate()?;
        let sign = problem.check()?;
        let d = problem.dim();
        let f = &problem.integrand;
        let m = f.output_len();
        if d == 1 {
            let alg = GaussKronrod {
                rtol: self.rtol,
                atol: self.atol,
                norm: self.norm,
                max_evaluations: self.max_evaluations,
                max_subdivisions: self.max_subdivisions,
                batch_segments: self.batch_boxes,
                ..Default::default()
            };
            let mut value = vec![0.0; m];
            let stats = Integrator::new(&alg)?.integrate_into(
                f,
                problem.lower[0],
                problem.upper[0],
                &mut value,
            )?;
            return Ok(Solution {
                value,
                error: stats.error,
                evaluations: stats.evaluations,
                subdivisions: stats.subdivisions,
            });
        }
        let rule = GenzMalik::new(d)?;
        let npts = rule.len();
        let mut boxes = Boxes {
            d,
            m,
            centre: Vec::new(),
            half: Vec::new(),
            val: Vec::new(),
            err: Vec::new(),
            axis: Vec::new(),
        };
        let c: Vec<f64> = (0..d)
            .map(|i| 0.5 * (problem.lower[i] + problem.upper[i]))
            .collect();
        let h: Vec<f64> = (0..d)
            .map(|i| 0.5 * (problem.upper[i] - problem.lower[i]).abs())
            .collect();
        let mut total = vec![0.0; m];
        let mut total_err = 0.0;
        let mut heap = BinaryHeap::new();
        let mut x = Vec::new();
        let mut fx = Vec::new();
        let mut i7 = vec![0.0; m];
        let mut i5 = vec![0.0; m];
        let mut diff = vec![0.0; m];
        let mut evaluations = 0usize;
        let mut pending = vec![boxes.push(&c, &h)];

        let stop = |reason, total: &[f64], err: f64, tol: f64, evaluations| {
            Err(QuadratureError::ToleranceNotMet {
                value: total.iter().map(|v| sign * v).collect(),
                error: err,
                tolerance: tol,
                evaluations,
                reason,
            })
        };
        loop {
            // Evaluate the pending boxes in one batch.
            x.clear();
            x.resize(pending.len() * npts * d, 0.0);
            for (k, &b) in pending.iter().enumerate() {
                rule.map_points(
                    &boxes.centre[b * d..(b + 1) * d],
                    &boxes.half[b * d..(b + 1) * d],
                    &mut x[k * npts * d..(k + 1) * npts * d],
                );
            }
            fx.clear();
            fx.resize(pending.len() * npts * m, 0.0);
            f.eval_batch(&x, &mut fx);
            evaluations += pending.len() * npts;
            if let Some(i) = fx.iter().position(|v| !v.is_finite()) {
                let point = i / m;
                return Err(QuadratureError::NonFiniteIntegrand {
                    x: x[point * d..(point + 1) * d].to_vec(),
                    component: i % m,
                    value: fx[i],
                });
            }
            for (k, &b) in pending.iter().enumerate() {
                let axis = rule.combine(
                    &fx[k * npts * m..(k + 1) * npts * m],
                    m,
                    &boxes.half[b * d..(b + 1) * d],
                    &mut i7,
                    &mut i5,
                );
                for c in 0..m {
                    diff[c] = i7[c] - i5[c];
                    boxes.val[b * m + c] = i7[c];
                    total[c] += i7[c];
                }
                let e = self.norm.of(&diff);
                boxes.err[b] = e;
                boxes.axis[b] = axis;
                total_err += e;
                heap.push(BoxEntry { err: e, index: b });
            }
            let tol = self.atol.max(self.rtol * self.norm.of(&total));
            if total_err <= tol {
                // Confirm with exact sums (the running sums drift by rounding).
                total.fill(0.0);
                for b in 0..boxes.len() {
                    for c in 0..m {
                        total[c] += boxes.val[b * m + c];
                    }
                }
                total_err = boxes.err.iter().sum();
                let tol = self.atol.max(self.rtol * self.norm.of(&total));
                if total_err <= tol {
                    return Ok(Solution {
                        value: total.iter().map(|v| sign * v).collect(),
                        error: total_err,
                        evaluations,
                        subdivisions: boxes.len(),
                    });
                }
            }
            let batch = self.batch_boxes.min(heap.len());
            if boxes.len() + batch > self.max_subdivisions {
                return stop(
                    StopReason::MaxSubdivisions,
                    &total,
                    total_err,
                    tol,
                    evaluations,
                );
            }
            if evaluations + 2 * batch * npts > self.max_evaluations {
                return stop(
                    StopReason::MaxEvaluations,
                    &total,
                    total_err,
                    tol,
                    evaluations,
                );
            }
            pending.clear();
            for _ in 0..batch {
                let Some(BoxEntry { index: b, .. }) = heap.pop() else {
                    break;
                };
                let axis = boxes.axis[b];
                let hk = 0.5 * boxes.half[b * d + axis];
                let ck = boxes.centre[b * d + axis];
                if hk <= 4.0 * f64::EPSILON * ck.abs() || hk == 0.0 {
                    return stop(
                        StopReason::IntervalTooSmall { x: ck },
                        &total,
                        total_err,
                        tol,
                        evaluations,
                    );
                }
                for c in 0..m {
                    total[c] -= boxes.val[b * m + c];
                }
                total_err -= boxes.err[b];
                // The box keeps the lower half; a new box takes the upper half.
                boxes.half[b * d + axis] = hk;
                boxes.centre[b * d + axis] = ck - hk;
                let nb = boxes.duplicate(b);
                boxes.centre[nb * d + axis] = ck + hk;
                pending.push(b);
                pending.push(nb);
            }
        }
    }
}

/// The tensor-product Gauss–Legendre rule with `points` nodes per axis; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorGaussLegendre {
    /// Gauss–Legendre points per axis (1 ≤ points ≤ 1000).
    pub points: usize,
}

impl Default for TensorGaussLegendre {
    fn default() -> Self {
        Self { points: 8 }
    }
}

/// The result of a fixed rule: the value and its cost (a fixed rule has no error estimate).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedRuleValue {
    /// The integral, one entry per output component.
    pub value: Vec<f64>,
    /// Integrand evaluations (points).
    pub evaluations: usize,
}

/// Points evaluated per batch by the tensor rule (bounds its buffers).
const TENSOR_BATCH: usize = 4096;

impl TensorGaussLegendre {
    /// Integrates `problem` with `points^d` evaluations, in batches of up to 4096 points.
    pub fn solve<F: BatchIntegrand>(
        &self,
        problem: &CubatureProblem<F>,
    ) -> Result<FixedRuleValue, QuadratureError> {
        let sign = problem.check()?;
        let d = problem.dim();
        let f = &problem.integrand;
        let m = f.output_len();
        let rule = GaussLegendre::new(self.points)?;
        let n = rule.len();
        let total_points = u32::try_from(d)
            .ok()
            .and_then(|d| n.checked_pow(d))
            .filter(|&t| t <= 1usize << 40)
            .ok_or(QuadratureError::InvalidOption {
                what: "tensor rule size",
                reason: "points^dim exceeds 2^40 evaluations",
            })?;
        let c: Vec<f64> = (0..d)
            .map(|i| 0.5 * (problem.lower[i] + problem.upper[i]))
            .collect();
        let h: Vec<f64> = (0..d)
            .map(|i| 0.5 * (problem.upper[i] - problem.lower[i]).abs())
            .collect();
        let scale: f64 = h.iter().product();
        let mut value = vec![0.0; m];
        let mut x = Vec::with_capacity(TENSOR_BATCH.min(total_points) * d);
        let mut w = Vec::with_capacity(TENSOR_BATCH.min(total_points));
        let mut fx = Vec::new();
        let mut idx = vec![0usize; d];
        let mut done = 0usize;
        while done < total_points {
            let count = TENSOR_BATCH.min(total_points - done);
            x.clear();
            w.clear();
            for _ in 0..count {
                let mut weight = scale;
                for i in 0..d {
                    x.push(c[i] + h[i] * rule.nodes()[idx[i]]);
                    weight *= rule.weights()[idx[i]];
                }
                w.push(weight);
                // Odometer increment of the multi-index.
                for ii in idx.iter_mut() {
                    *ii += 1;
                    if *ii < n {
                        break;
                    }
                    *ii = 0;
                }
            }
            fx.clear();
            fx.resize(count * m, 0.0);
            f.eval_batch(&x, &mut fx);
            for (k, fk) in fx.chunks_exact(m.max(1)).enumerate().take(count) {
                for (c, &v) in fk.iter().enumerate() {
                    if !v.is_finite() {
                        return Err(QuadratureError::NonFiniteIntegrand {
                            x: x[k * d..(k + 1) * d].to_vec(),
                            component: c,
                            value: v,
                        });
                    }
                    value[c] += w[k] * v;
                }
            }
            done += count;
        }
        for v in &mut value {
            *v *= sign;
        }
        Ok(FixedRuleValue {
            value,
            evaluations: total_points,
        })
    }
}
