//! The globally adaptive Gauss–Kronrod engine shared by the 1-D integrator and the derivative
//! rule.
//!
//! # Algorithm
//!
//! The interval is mapped to a finite one (see [`Map`]) and split at the breakpoints. Every piece
//! gets the Kronrod estimate `K` and an error estimate from the embedded Gauss estimate `G`; the
//! piece with the largest error is bisected (its two halves evaluated in one batch) until the sum
//! of the pieces' errors is below `max(atol, rtol·‖Σ K‖)` (Piessens et al. 1983, QAG/QAGS without
//! extrapolation; Gander & Gautschi's and QuadGK.jl's global strategy). The pieces sit in a
//! binary heap keyed by error.
//!
//! # Error estimate
//!
//! [`ErrorEstimate::Quadpack`] (the default) is QUADPACK's, per component:
//! `ε = I_asc · min(1, (200 |K − G| / I_asc)^{3/2})`, with `I_asc = ∫|f − mean f|` by the Kronrod
//! rule, and never below the rounding floor `50 ε_mach ∫|f|`. The 3/2 power encodes that `|K − G|`
//! is dominated by the much larger error of the Gauss rule, so that the Kronrod error is far
//! smaller once the difference is small (Piessens et al. 1983, §2.2.2).
//! [`ErrorEstimate::Difference`] takes `|K − G|` itself (QuadGK.jl's choice): more pessimistic,
//! so it spends more evaluations for the same tolerance.
//!
//! # Groups
//!
//! The integrand has `ngroups × m` components, tested as separate groups of `m`: each group must
//! meet `max(atol, rtol·‖I_g‖)` on its own. Forward-mode derivatives use this to control the value
//! and every tangent direction separately (a small derivative is not drowned by a large value).
//! The heap is keyed by the largest ratio `error_g / tolerance_g` of a piece at the time it was
//! made, over the groups not yet within tolerance.
//!
//! # Rounding floor
//!
//! A piece's error is never estimated below `50 ε_mach ∫|f|` (QUADPACK), so a tolerance below the
//! summed floor cannot be met by any subdivision. For a *strict* group the run then stops at once
//! with [`StopReason::RoundoffLimit`]. Groups from index `lenient_from` on (derivative integrals,
//! which may cancel to zero exactly, where no relative tolerance is reachable) instead count as
//! converged once their error is within twice their floor: the result is then as accurate as
//! double precision allows relative to `∫|f|`.

use std::collections::BinaryHeap;

use crate::error::{QuadratureError, StopReason};
use crate::integrand::BatchIntegrand;
use crate::rules::GaussKronrodRule;

/// How a vector of component errors (or values) is reduced to one number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Norm {
    /// Euclidean norm `sqrt(Σ vᵢ²)`.
    #[default]
    Euclidean,
    /// Maximum norm `max |vᵢ|`.
    Max,
}

impl Norm {
    /// The norm of `v`.
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            Norm::Euclidean => {
                if v.len() == 1 {
                    v[0].abs()
                } else {
                    v.iter().map(|x| x * x).sum::<f64>().sqrt()
                }
            }
            Norm::Max => v.iter().fold(0.0, |m, x| m.max(x.abs())),
        }
    }
}

/// The per-piece error estimate of the Gauss–Kronrod pair; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorEstimate {
    /// QUADPACK's `I_asc · min(1, (200 |K − G| / I_asc)^{3/2})`.
    #[default]
    Quadpack,
    /// `|K − G|`.
    Difference,
}

/// A change of variables from the integration variable `x` to `t` in a finite interval.
///
/// | interval | map | dx/dt |
/// | --- | --- | --- |
/// | [a, b] | x = t | 1 |
/// | [a, ∞) | x = a + t/(1−t), t ∈ [0, 1) | 1/(1−t)² |
/// | (−∞, b] | x = b − t/(1−t), t ∈ [0, 1) | 1/(1−t)² |
/// | (−∞, ∞) | x = t/(1−t²), t ∈ (−1, 1) | (1+t²)/(1−t²)² |
///
/// The Gauss–Kronrod nodes are interior, so the map is never evaluated at t = 1 (QUADPACK's QAGI
/// uses the same rational maps, as `x = a + (1−t)/t`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Map {
    Identity,
    Upper(f64),
    Lower(f64),
    Both,
}

impl Map {
    /// `(x(t), dx/dt)`.
    #[inline(always)]
    pub(crate) fn x_jac(self, t: f64) -> (f64, f64) {
        // A node of a piece next to t = ±1 may round onto it; keep it inside so x stays finite.
        const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;
        match self {
            Map::Identity => (t, 1.0),
            Map::Upper(_) | Map::Lower(_) if t > BELOW_ONE => self.x_jac(BELOW_ONE),
            Map::Both if t.abs() > BELOW_ONE => self.x_jac(BELOW_ONE.copysign(t)),
            Map::Upper(a) => {
                let r = 1.0 / (1.0 - t);
                (a + t * r, r * r)
            }
            Map::Lower(b) => {
                let r = 1.0 / (1.0 - t);
                (b - t * r, r * r)
            }
            Map::Both => {
                let r = 1.0 / (1.0 - t * t);
                (t * r, (1.0 + t * t) * r * r)
            }
        }
    }

    /// `t(x)`, the inverse map (for breakpoints).
    pub(crate) fn t_of(self, x: f64) -> f64 {
        match self {
            Map::Identity => x,
            Map::Upper(a) => {
                let s = x - a;
                s / (1.0 + s)
            }
            Map::Lower(b) => {
                let s = b - x;
                s / (1.0 + s)
            }
            Map::Both => {
                // Root of x t² + t − x = 0 in (−1, 1), written without cancellation.
                2.0 * x / (1.0 + (1.0 + 4.0 * x * x).sqrt())
            }
        }
    }
}

/// An interval `[lower, upper]` in the integration variable, as a map and a finite `t` range;
/// `sign` is −1 when `lower > upper`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    pub(crate) map: Map,
    pub(crate) t_lo: f64,
    pub(crate) t_hi: f64,
    pub(crate) sign: f64,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
}

impl Interval {
    /// Checks the endpoints and chooses the map.
    pub(crate) fn new(lower: f64, upper: f64) -> Result<Self, QuadratureError> {
        let invalid = QuadratureError::InvalidInterval {
            lower,
            upper,
            dimension: None,
        };
        if lower.is_nan() || upper.is_nan() || (lower.is_infinite() && lower == upper) {
            return Err(invalid);
        }
        let (lo, hi, sign) = if lower <= upper {
            (lower, upper, 1.0)
        } else {
            (upper, lower, -1.0)
        };
        let (map, t_lo, t_hi) = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => (Map::Identity, lo, hi),
            (true, false) => (Map::Upper(lo), 0.0, 1.0),
            (false, true) => (Map::Lower(hi), 0.0, 1.0),
            (false, false) => (Map::Both, -1.0, 1.0),
        };
        Ok(Self {
            map,
            t_lo,
            t_hi,
            sign,
            lower,
            upper,
        })
    }

    /// The breakpoint `x` in `t` (checked to lie strictly inside; `Ok(None)` on an endpoint).
    pub(crate) fn t_of_breakpoint(&self, x: f64) -> Result<Option<f64>, QuadratureError> {
        let (lo, hi) = if self.sign > 0.0 {
            (self.lower, self.upper)
        } else {
            (self.upper, self.lower)
        };
        if !x.is_finite() || x < lo || x > hi {
            return Err(QuadratureError::InvalidBreakpoint {
                point: x,
                lower: self.lower,
                upper: self.upper,
            });
        }
        // Lower(b) runs backwards in x: t grows as x decreases.
        let t = self.map.t_of(x);
        Ok((t > self.t_lo && t < self.t_hi).then_some(t))
    }
}

/// Options of one adaptive run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    pub(crate) rule: GaussKronrodRule,
    pub(crate) rtol: f64,
    pub(crate) atol: f64,
    pub(crate) norm: Norm,
    pub(crate) estimate: ErrorEstimate,
    pub(crate) max_evaluations: usize,
    pub(crate) max_subdivisions: usize,
    pub(crate) batch_segments: usize,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    Converged,
    Stopped(StopReason),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: f64,
    seg: u32,
}
impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.key.total_cmp(&o.key).is_eq()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        self.key.total_cmp(&o.key)
    }
}

/// A piece waiting to be evaluated: its `t` range and the slot it goes to.
#[derive(Clone, Copy, Debug)]
struct Pending {
    ta: f64,
    tb: f64,
    slot: usize,
}

/// Buffers of the adaptive engine; reused across runs so that a warm run allocates nothing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Workspace {
    ncomp: usize,
    ngroups: usize,
    // Pieces (structure of arrays).
    lenient_from: usize,
    ta: Vec<f64>,
    tb: Vec<f64>,
    val: Vec<f64>,
    err: Vec<f64>,
    floor: Vec<f64>,
    heap: BinaryHeap<Entry>,
    pending: Vec<Pending>,
    // Node scratch.
    x: Vec<f64>,
    jac: Vec<f64>,
    fx: Vec<f64>,
    // Per-component scratch.
    comp_err: Vec<f64>,
    comp_floor: Vec<f64>,
    // Totals.
    total_val: Vec<f64>,
    total_err: Vec<f64>,
    total_floor: Vec<f64>,
    tol: Vec<f64>,
    evaluations: usize,
}

/// Whether the outermost nodes `c ± h·outer` of the piece `[ta, tb]` round to points strictly
/// inside it. A piece a few ulps wide fails this: a node would land on an endpoint, where the
/// integrand may be singular (the higher the pair, the closer its outer node is to ±1).
#[inline]
fn holds_nodes(ta: f64, tb: f64, outer: f64) -> bool {
    let c = 0.5 * (ta + tb);
    let h = 0.5 * (tb - ta);
    ta < c - h * outer && c + h * outer < tb
}

/// Below this, `resabs` is too small for the rounding floor to mean anything (QUADPACK's
/// `uflow / (50 epmach)`).
const FLOOR_THRESHOLD: f64 = f64::MIN_POSITIVE / (50.0 * f64::EPSILON);

impl Workspace {
    /// The integral's components, `ngroups × m` (unsigned: multiply by the interval's sign).
    pub(crate) fn value(&self) -> &[f64] {
        &self.total_val
    }

    /// The estimated error of each group.
    pub(crate) fn errors(&self) -> &[f64] {
        &self.total_err
    }

    /// The tolerance of each group at the end of the run.
    pub(crate) fn tolerances(&self) -> &[f64] {
        &self.tol
    }

    /// Integrand evaluations (points) of the last run.
    pub(crate) fn evaluations(&self) -> usize {
        self.evaluations
    }

    /// Number of pieces of the final partition.
    pub(crate) fn pieces(&self) -> usize {
        self.ta.len()
    }

    /// Writes the final partition's breakpoints in `t` (ascending, pieces + 1 values) to `out`.
    pub(crate) fn partition_into(&self, out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(&self.ta);
        out.sort_unstable_by(f64::total_cmp);
        if let Some(&last) = self.tb.iter().max_by(|a, b| a.total_cmp(b)) {
            out.push(last);
        }
    }

    /// Runs the adaptive integration of `f` (with `ngroups × m` outputs) over the `t` partition
    /// `breaks` (ascending, at least two values) under the map `map`. Groups `lenient_from..`
    /// accept their rounding floor (see the module docs).
    pub(crate) fn run<F: BatchIntegrand + ?Sized>(
        &mut self,
        f: &F,
        map: Map,
        breaks: &[f64],
        ngroups: usize,
        lenient_from: usize,
        opts: &Options,
    ) -> Result<Outcome, QuadratureError> {
        let ncomp = f.output_len();
        self.ncomp = ncomp;
        self.ngroups = ngroups.max(1);
        self.lenient_from = lenient_from;
        let ng = self.ngroups;
        self.ta.clear();
        self.tb.clear();
        self.val.clear();
        self.err.clear();
        self.floor.clear();
        self.heap.clear();
        self.pending.clear();
        self.evaluations = 0;
        for v in [
            &mut self.comp_err,
            &mut self.comp_floor,
            &mut self.total_val,
        ] {
            v.clear();
            v.resize(ncomp, 0.0);
        }
        for v in [&mut self.total_err, &mut self.total_floor, &mut self.tol] {
            v.clear();
            v.resize(ng, 0.0);
        }
        for w in breaks.windows(2) {
            if w[1] > w[0] {
                let slot = self.ta.len();
                self.push_slot(w[0], w[1]);
                self.pending.push(Pending {
                    ta: w[0],
                    tb: w[1],
                    slot,
                });
            }
        }
        if self.pending.is_empty() || ncomp == 0 {
            return Ok(Outcome::Converged);
        }
        // Every evaluation ends with the tolerances updated for the new totals.
        self.evaluate_pending(f, map, opts)?;
        loop {
            if self.all_within_tolerance() {
                // Confirm with exactly recomputed sums (the running sums drift by rounding).
                self.recompute_totals();
                self.update_tolerances(opts);
                if self.all_within_tolerance() {
                    return Ok(Outcome::Converged);
                }
            }
            if (0..ng.min(self.lenient_from)).any(|g| self.total_floor[g] > self.tol[g]) {
                return Ok(Outcome::Stopped(StopReason::RoundoffLimit));
            }
            let batch = opts.batch_segments.max(1).min(self.heap.len());
            if self.ta.len() + batch > opts.max_subdivisions.max(1) {
                return Ok(Outcome::Stopped(StopReason::MaxSubdivisions));
            }
            if self.evaluations + 2 * batch * opts.rule.points() > opts.max_evaluations {
                return Ok(Outcome::Stopped(StopReason::MaxEvaluations));
            }
            self.pending.clear();
            let outer = opts.rule.kronrod_nodes()[0];
            for _ in 0..batch {
                let Some(Entry { seg, .. }) = self.heap.pop() else {
                    break;
                };
                let s = seg as usize;
                let (ta, tb) = (self.ta[s], self.tb[s]);
                let mid = 0.5 * (ta + tb);
                let tiny = (tb - ta) <= 100.0 * f64::EPSILON * ta.abs().max(tb.abs());
                let splits = ta < mid
                    && mid < tb
                    && !tiny
                    && holds_nodes(ta, mid, outer)
                    && holds_nodes(mid, tb, outer);
                if !splits {
                    return Ok(Outcome::Stopped(StopReason::IntervalTooSmall {
                        x: map.x_jac(mid).0,
                    }));
                }
                // Remove the parent from the totals; its slot takes the left half.
                for c in 0..ncomp {
                    self.total_val[c] -= self.val[s * ncomp + c];
                }
                for g in 0..ng {
                    self.total_err[g] -= self.err[s * ng + g];
                    self.total_floor[g] -= self.floor[s * ng + g];
                }
                self.tb[s] = mid;
                let right = self.ta.len();
                self.push_slot(mid, tb);
                self.pending.push(Pending {
                    ta,
                    tb: mid,
                    slot: s,
                });
                self.pending.push(Pending {
                    ta: mid,
                    tb,
                    slot: right,
                });
            }
            self.evaluate_pending(f, map, opts)?;
        }
    }

    fn push_slot(&mut self, ta: f64, tb: f64) {
        self.ta.push(ta);
        self.tb.push(tb);
        self.val.extend(core::iter::repeat_n(0.0, self.ncomp));
        self.err.extend(core::iter::repeat_n(0.0, self.ngroups));
        self.floor.extend(core::iter::repeat_n(0.0, self.ngroups));
    }

    fn update_tolerances(&mut self, opts: &Options) {
        let m = self.ncomp / self.ngroups;
        for g in 0..self.ngroups {
            let norm = opts.norm.of(&self.total_val[g * m..(g + 1) * m]);
            self.tol[g] = opts.atol.max(opts.rtol * norm);
            if g >= self.lenient_from {
                self.tol[g] = self.tol[g].max(2.0 * self.total_floor[g]);
            }
        }
    }

    fn all_within_tolerance(&self) -> bool {
        (0..self.ngroups).all(|g| self.total_err[g] <= self.tol[g])
    }

    fn recompute_totals(&mut self) {
        let (nc, ng) = (self.ncomp, self.ngroups);
        self.total_val.fill(0.0);
        self.total_err.fill(0.0);
        self.total_floor.fill(0.0);
        for v in self.val.chunks_exact(nc.max(1)) {
            for (t, x) in self.total_val.iter_mut().zip(v) {
                *t += x;
            }
        }
        let pieces = self.err.chunks_exact(ng).zip(self.floor.chunks_exact(ng));
        for (e, fl) in pieces {
            for g in 0..ng {
                self.total_err[g] += e[g];
                self.total_floor[g] += fl[g];
            }
        }
    }

    /// Key of piece `s` in the heap: its error, or with several groups the largest ratio of
    /// error to the group's current tolerance.
    fn key(&self, s: usize) -> f64 {
        let ng = self.ngroups;
        if ng == 1 {
            return self.err[s];
        }
        let mut key = 0.0f64;
        for g in 0..ng {
            let e = self.err[s * ng + g];
            if e > 0.0 && self.total_err[g] > self.tol[g] {
                let t = self.tol[g];
                key = key.max(if t > 0.0 { e / t } else { f64::INFINITY });
            }
        }
        key
    }

    /// Evaluates every pending piece in one batch and adds them to the totals and the heap.
    fn evaluate_pending<F: BatchIntegrand + ?Sized>(
        &mut self,
        f: &F,
        map: Map,
        opts: &Options,
    ) -> Result<(), QuadratureError> {
        let rule = opts.rule;
        let n = rule.gauss_points();
        let k = rule.points();
        let xk = &rule.kronrod_nodes()[..n];
        let npts = k * self.pending.len();
        let nc = self.ncomp;
        // Nodes of each piece: the pairs c ∓ h·x_j (outermost first), then the centre.
        self.x.resize(npts, 0.0);
        self.jac.resize(npts, 0.0);
        let nodes = self.x.chunks_exact_mut(k).zip(self.jac.chunks_exact_mut(k));
        for (p, (xs, js)) in self.pending.iter().zip(nodes) {
            let c = 0.5 * (p.ta + p.tb);
            let h = 0.5 * (p.tb - p.ta);
            let pairs = xs.chunks_exact_mut(2).zip(js.chunks_exact_mut(2));
            for (&xj, (xp, jp)) in xk.iter().zip(pairs) {
                (xp[0], jp[0]) = map.x_jac(c - h * xj);
                (xp[1], jp[1]) = map.x_jac(c + h * xj);
            }
            (xs[2 * n], js[2 * n]) = map.x_jac(c);
        }
        self.fx.clear();
        self.fx.resize(npts * nc, 0.0);
        f.eval_batch(&self.x, &mut self.fx);
        self.evaluations += npts;
        // The Gauss weights aligned with the Kronrod positions (0 at the Kronrod-only nodes).
        let mut wga = [0.0; MAX_GAUSS + 1];
        for (i, &w) in rule.gauss_weights().iter().enumerate() {
            wga[2 * i + 1] = w;
        }
        let wga = &wga[..n + 1];
        let wk = rule.kronrod_weights();
        // The sums multiply by the map's Jacobian as they read the values. The Jacobian is
        // finite and positive (`Map::x_jac` keeps t inside [−1, 1] by half an ulp), so a
        // weighted `∫|f|` that is not finite means a non-finite or overflowing value (or, rarely,
        // an overflowing sum of finite ones): only then are the values searched.
        let mut all_finite = true;
        for pi in 0..self.pending.len() {
            let p = self.pending[pi];
            all_finite &= self.combine_piece(&p, pi * k, wk, wga, opts);
            let s = p.slot;
            for c in 0..nc {
                self.total_val[c] += self.val[s * nc + c];
            }
            for g in 0..self.ngroups {
                self.total_err[g] += self.err[s * self.ngroups + g];
                self.total_floor[g] += self.floor[s * self.ngroups + g];
            }
        }
        if !all_finite {
            self.check_finite()?;
        }
        // Keys use the tolerances updated with the new pieces.
        self.update_tolerances(opts);
        for pi in 0..self.pending.len() {
            let s = self.pending[pi].slot;
            let key = self.key(s);
            self.heap.push(Entry { key, seg: s as u32 });
        }
        Ok(())
    }

    /// [`QuadratureError::NonFiniteIntegrand`] for the first node of the batch (and its first
    /// component) whose Jacobian-weighted value is not finite, if any.
    fn check_finite(&self) -> Result<(), QuadratureError> {
        let nc = self.ncomp;
        let rows = self.fx.chunks_exact(nc).zip(&self.jac).enumerate();
        for (node, (fi, &j)) in rows {
            if let Some((component, v)) = fi
                .iter()
                .map(|&v| v * j)
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(QuadratureError::NonFiniteIntegrand {
                    x: vec![self.x[node]],
                    component,
                    value: v,
                });
            }
        }
        Ok(())
    }

    /// Kronrod value, error and rounding floor of one piece whose values start at node `first`
    /// of the batch; `wga` are the Gauss weights aligned with `wk`. Returns whether every
    /// component's `∫|f|` is finite (see [`Workspace::check_finite`]).
    fn combine_piece(
        &mut self,
        p: &Pending,
        first: usize,
        wk: &[f64],
        wga: &[f64],
        opts: &Options,
    ) -> bool {
        let k = 2 * wk.len() - 1;
        let nc = self.ncomp;
        let h = 0.5 * (p.tb - p.ta);
        let fx = &self.fx[first * nc..(first + k) * nc];
        let jac = &self.jac[first..first + k];
        let s = p.slot;
        let val = &mut self.val[s * nc..(s + 1) * nc];
        let mut finite = true;
        // Up to four components (a value with up to three partials, or a small vector) are summed
        // side by side, as one row per node: the sums and error estimates of all components
        // share one unrolled loop.
        macro_rules! rows {
            ($C:literal) => {{
                let (rows, _) = fx.as_chunks::<$C>();
                let sums = piece_sums::<$C>(rows, jac, wk, wga);
                finite = store_components::<$C>(
                    val,
                    &mut self.comp_err,
                    &mut self.comp_floor,
                    sums,
                    h,
                    opts,
                );
            }};
        }
        match nc {
            1 => rows!(1),
            2 => rows!(2),
            3 => rows!(3),
            4 => rows!(4),
            _ => {
                let mut column = [[0.0]; 2 * MAX_GAUSS + 1];
                for c in 0..nc {
                    // Component c at the piece's nodes, contiguous.
                    for (dst, src) in column.iter_mut().zip(fx.iter().skip(c).step_by(nc)) {
                        *dst = [*src];
                    }
                    let sums = piece_sums::<1>(&column[..k], jac, wk, wga);
                    finite &= store_components::<1>(
                        &mut val[c..],
                        &mut self.comp_err[c..],
                        &mut self.comp_floor[c..],
                        sums,
                        h,
                        opts,
                    );
                }
            }
        }
        let ng = self.ngroups;
        let m = nc / ng;
        for g in 0..ng {
            self.err[s * ng + g] = opts.norm.of(&self.comp_err[g * m..(g + 1) * m]);
            self.floor[s * ng + g] = opts.norm.of(&self.comp_floor[g * m..(g + 1) * m]);
        }
        finite
    }
}

/// Stores `C` components of a piece (the first `C` entries of `val`, `comp_err`, `comp_floor`)
/// from their sums on the reference interval (Kronrod, Gauss, `∫|f|`, `∫|f − mean|`) and the
/// half-width `h`: the value, and the error and rounding floor for the group norms. Returns
/// whether every `∫|f|` is finite. Branch-free over the components, so that their divisions
/// and square roots share vector instructions.
#[inline(always)]
fn store_components<const C: usize>(
    val: &mut [f64],
    comp_err: &mut [f64],
    comp_floor: &mut [f64],
    sums: [[f64; C]; 4],
    h: f64,
    opts: &Options,
) -> bool {
    let (Some(val), Some(comp_err), Some(comp_floor)) = (
        val.first_chunk_mut::<C>(),
        comp_err.first_chunk_mut::<C>(),
        comp_floor.first_chunk_mut::<C>(),
    ) else {
        return false;
    };
    let quadpack = opts.estimate == ErrorEstimate::Quadpack;
    let [kr, ga, abs, asc] = sums;
    let mut finite = true;
    for c in 0..C {
        let (kr, ga, resabs, resasc) = (kr[c] * h, ga[c] * h, abs[c] * h, asc[c] * h);
        let diff = (kr - ga).abs();
        // QUADPACK's resasc·min(1, (200 |K − G| / resasc)^{3/2}), where both are nonzero.
        let r = 200.0 * diff / resasc;
        let scaled = resasc * (r * r.sqrt()).min(1.0);
        let e = if quadpack && resasc != 0.0 && diff != 0.0 {
            scaled
        } else {
            diff
        };
        let floor = if resabs > FLOOR_THRESHOLD {
            50.0 * f64::EPSILON * resabs
        } else {
            0.0
        };
        comp_err[c] = e.max(floor);
        comp_floor[c] = floor;
        val[c] = kr;
        finite &= abs[c].is_finite();
    }
    finite
}

/// Most Gauss points of a pair (the (30, 61) pair).
const MAX_GAUSS: usize = 30;

/// The sums of `C` components over a piece on the reference interval [−1, 1]: the Kronrod and
/// Gauss estimates, `∫|f|` and `∫|f − mean f|` by the Kronrod rule (Σ wk = 2, so the mean is
/// K/2), each as `C` values. `rows` holds the 2n + 1 nodes' values in node order (pairs, then
/// the centre), one row of `C` components per node, each multiplied by the node's `jac` as it is
/// read; `wga` are the Gauss weights aligned with the Kronrod positions. Dispatches to a copy
/// with the number of pairs fixed, whose loops the compiler unrolls (and, for `C` > 1,
/// vectorises across the components).
#[inline]
fn piece_sums<const C: usize>(
    rows: &[[f64; C]],
    jac: &[f64],
    wk: &[f64],
    wga: &[f64],
) -> [[f64; C]; 4] {
    match wk.len() - 1 {
        7 => piece_sums_n::<7, C>(rows, jac, wk, wga),
        10 => piece_sums_n::<10, C>(rows, jac, wk, wga),
        15 => piece_sums_n::<15, C>(rows, jac, wk, wga),
        20 => piece_sums_n::<20, C>(rows, jac, wk, wga),
        25 => piece_sums_n::<25, C>(rows, jac, wk, wga),
        _ => piece_sums_n::<30, C>(rows, jac, wk, wga),
    }
}

#[inline(always)]
fn piece_sums_n<const N: usize, const C: usize>(
    rows: &[[f64; C]],
    jac: &[f64],
    wk: &[f64],
    wga: &[f64],
) -> [[f64; C]; 4] {
    let (Some(rows), Some(jac), Ok(w), Ok(wg)) = (
        rows.get(..2 * N + 1),
        jac.get(..2 * N + 1),
        <&[f64; N]>::try_from(&wk[..N]),
        <&[f64; N]>::try_from(&wga[..N]),
    ) else {
        return [[f64::NAN; C]; 4];
    };
    let (wc, wgc) = (wk[N], wga[N]);
    // The Jacobian-weighted values of node i.
    let value = |i: usize| -> [f64; C] { rows[i].map(|v| v * jac[i]) };
    let centre = value(2 * N);
    let (mut kr, mut ga, mut abs) = ([0.0; C], [0.0; C], [0.0; C]);
    for c in 0..C {
        kr[c] = wc * centre[c];
        ga[c] = wgc * centre[c];
        abs[c] = wc * centre[c].abs();
    }
    for i in 0..N {
        let (a, b) = (value(2 * i), value(2 * i + 1));
        for c in 0..C {
            let sum = a[c] + b[c];
            kr[c] += w[i] * sum;
            ga[c] += wg[i] * sum;
            abs[c] += w[i] * (a[c].abs() + b[c].abs());
        }
    }
    let mean = kr.map(|k| 0.5 * k);
    let mut asc = [0.0; C];
    for c in 0..C {
        asc[c] = wc * (centre[c] - mean[c]).abs();
    }
    for (i, &wi) in w.iter().enumerate() {
        let (a, b) = (value(2 * i), value(2 * i + 1));
        for c in 0..C {
            asc[c] += wi * ((a[c] - mean[c]).abs() + (b[c] - mean[c]).abs());
        }
    }
    [kr, ga, abs, asc]
}
