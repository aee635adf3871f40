//! Explicit Runge–Kutta methods with embedded error estimates and dense output.
//!
//! An `s`-stage explicit Runge–Kutta method advances `u_n ≈ u(t_n)` by
//!
//! ```text
//! k_i = f(t_n + c_i h, u_n + h Σ_{j<i} a_ij k_j),   i = 1..s,
//! u_{n+1} = u_n + h Σ_i b_i k_i,        e_{n+1} = h Σ_i (b_i − b̂_i) k_i,
//! ```
//!
//! where `b̂` is an embedded formula of lower order, so that `e` estimates the local error of the
//! lower-order result; the step is accepted when the weighted RMS norm of `e` is at most 1
//! ([`ErrorWeights::norm`](crate::ErrorWeights::norm)) and the next step size comes from a [`PiController`]. Like
//! OrdinaryDiffEq's and Hairer's codes, the methods here propagate the higher-order result
//! ("local extrapolation"). A method whose last stage is evaluated at `(t_{n+1}, u_{n+1})`
//! (`a_{s,j} = b_j`, `c_s = 1`: "first same as last", FSAL) reuses it as the first stage of the
//! next step.
//!
//! The dense output of a step is `ũ(t_n + θh) = u_n + h Σ_i b_i(θ) k_i` with polynomial weights
//! `b_i(θ) = Σ_{m≥1} β_{i,m} θ^m`, `b_i(1) = b_i`. Some interpolants use extra stages beyond the
//! `s` of the step ([`Vern7`]); these are evaluated only for steps whose interpolant
//! is needed (a `saveat` time or an event inside the step, or `dense = true`).
//!
//! | method | order | error estimate | stages (FSAL) | interpolant order (extra stages) |
//! | --- | --- | --- | --- | --- |
//! | [`Tsit5`] | 5 | 4 | 7 (yes) | 4 (0) |
//! | [`Dp5`] | 5 | 4 | 7 (yes) | 4 (0) |
//! | [`Vern7`] | 7 | 6 | 10 (no) | 6, order-7 defects ≈ 2·10⁻⁷ (6, one of them the next step's first stage) |
//!
//! Every tableau is checked in the tests against the order conditions (rooted trees) of its
//! order, and every order is measured on problems with known solutions.

mod dp5;
mod tsit5;
mod vern7;

pub use dp5::Dp5;
pub use tsit5::Tsit5;
pub use vern7::Vern7;

use crate::algorithm::{
    Attempt, NonFinite, OdeAlgorithm, PiController, PiState, StepContext, Stepper,
};
use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs};

/// Largest number of stages (step and interpolation stages) of any tableau here.
const MAX_STAGES: usize = 16;

/// The Butcher tableau of an explicit Runge–Kutta pair with a continuous extension.
///
/// Stages `0..STAGES` make a step; stages `STAGES..C.len()` are extra stages of the interpolant.
/// Indices are 0-based (`A[i][j]` is `a_{i+1, j+1}` of the papers). Implementing this trait for a
/// type makes it an [`OdeAlgorithm`].
pub trait ExplicitRungeKutta: Clone + core::fmt::Debug {
    /// The method's name.
    const NAME: &'static str;
    /// Order of the propagated solution.
    const ORDER: usize;
    /// Order of the embedded formula `b̂`.
    const EMBEDDED_ORDER: usize;
    /// Order of the continuous extension.
    const INTERPOLANT_ORDER: usize;
    /// Number of stages of a step.
    const STAGES: usize;
    /// Whether stage `STAGES − 1` is `f(t + h, u_new)` (then `A[STAGES − 1] = B`).
    const FSAL: bool;
    /// The stage that equals `f(t + h, u_new)`, reused as the next step's first stage.
    const END_STAGE: usize;
    /// Nodes `c_i` of all stages (length ≤ 16).
    const C: &'static [f64];
    /// Coefficients `a_ij`, row `i` of length `i`.
    const A: &'static [&'static [f64]];
    /// Weights `b_i` of the propagated solution (length `STAGES`).
    const B: &'static [f64];
    /// Error weights `b_i − b̂_i` (length `STAGES`).
    const E: &'static [f64];
    /// Degree of the interpolation weights `b_i(θ)`.
    const DEGREE: usize;
    /// `β_{i,m}`, coefficient of `θ^{m+1}` in `b_i(θ)`: row-major, `C.len() × DEGREE`.
    const R: &'static [f64];

    /// The step-size controller's parameters.
    fn controller(&self) -> PiController;
}

impl<M: ExplicitRungeKutta> OdeAlgorithm for M {
    type Stepper = ErkStepper<M>;

    fn name(&self) -> &'static str {
        M::NAME
    }

    fn stepper<F: OdeRhs, E: EventFunction>(
        &self,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self::Stepper, OdeError> {
        Ok(ErkStepper::new(self, problem.dim()))
    }
}

/// The state of an explicit Runge–Kutta method between steps: the current and previous point,
/// the candidate step and the stage vectors.
#[derive(Clone, Debug)]
pub struct ErkStepper<M: ExplicitRungeKutta> {
    controller: PiState,
    n: usize,
    t: f64,
    t_prev: f64,
    t_try: f64,
    /// Size of the last attempted step (`t_try − t`), then of the accepted one.
    h: f64,
    u: Vec<f64>,
    u_prev: Vec<f64>,
    u_new: Vec<f64>,
    tmp: Vec<f64>,
    /// Stage vectors, `C.len() × n`, stage after stage.
    k: Vec<f64>,
    /// `k[0] = f(t, u)` at the current point.
    k0_valid: bool,
    /// `k[END_STAGE] = f(t, u)` at the current point (after an accepted step).
    end_valid: bool,
    /// The extra interpolation stages of the last accepted step are computed.
    extra_valid: bool,
    _method: core::marker::PhantomData<M>,
}

impl<M: ExplicitRungeKutta> ErkStepper<M> {
    /// A stepper for states of dimension `n`.
    pub fn new(method: &M, n: usize) -> Self {
        let k_err = M::EMBEDDED_ORDER.min(M::ORDER) + 1;
        Self {
            controller: PiState::new(method.controller(), k_err),
            n,
            t: 0.0,
            t_prev: 0.0,
            t_try: 0.0,
            h: 0.0,
            u: vec![0.0; n],
            u_prev: vec![0.0; n],
            u_new: vec![0.0; n],
            tmp: vec![0.0; n],
            k: vec![0.0; M::C.len() * n],
            k0_valid: false,
            end_valid: false,
            extra_valid: false,
            _method: core::marker::PhantomData,
        }
    }

    /// Stage `i` (length `n`).
    fn stage(&self, i: usize) -> &[f64] {
        &self.k[i * self.n..(i + 1) * self.n]
    }

    /// The first non-finite entry of stages `0..count`, with the time of its evaluation.
    fn first_non_finite(&self, count: usize, t: f64, h: f64) -> Option<NonFinite> {
        (0..count).find_map(|i| {
            self.stage(i)
                .iter()
                .position(|v| !v.is_finite())
                .map(|component| NonFinite {
                    t: if i == 0 { t } else { t + M::C[i] * h },
                    component,
                    value: self.stage(i)[component],
                })
        })
    }

    /// Evaluates the extra interpolation stages of the last accepted step, once.
    fn ensure_extra_stages<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>) {
        let total = M::C.len();
        if self.extra_valid || total == M::STAGES {
            return;
        }
        let n = self.n;
        let h = self.h;
        for i in M::STAGES..total {
            let (done, rest) = self.k.split_at_mut(i * n);
            let ki = &mut rest[..n];
            if i == M::END_STAGE {
                ctx.eval(self.t, &self.u, ki);
            } else {
                combine(&mut self.tmp, &self.u_prev, h, M::A[i], done, n);
                ctx.eval(self.t_prev + M::C[i] * h, &self.tmp, ki);
            }
        }
        self.extra_valid = true;
        if M::END_STAGE >= M::STAGES {
            self.end_valid = true;
        }
    }
}

/// `out = base + h Σ_j a_j k_j` over the stages `k` (row `j` = `k[j n .. (j+1) n]`), skipping
/// zero coefficients.
#[inline(always)]
fn combine(out: &mut [f64], base: &[f64], h: f64, a: &[f64], k: &[f64], n: usize) {
    out.copy_from_slice(base);
    for (j, &aj) in a.iter().enumerate() {
        if aj != 0.0 {
            let ha = h * aj;
            for (o, &kj) in out.iter_mut().zip(&k[j * n..(j + 1) * n]) {
                *o += ha * kj;
            }
        }
    }
}

/// `out = Σ_j w_j k_j` over the stages `k`, skipping zero weights.
#[inline(always)]
fn sum_stages(out: &mut [f64], w: &[f64], k: &[f64], n: usize) {
    out.fill(0.0);
    for (j, &wj) in w.iter().enumerate() {
        if wj != 0.0 {
            for (o, &kj) in out.iter_mut().zip(&k[j * n..(j + 1) * n]) {
                *o += wj * kj;
            }
        }
    }
}

impl<M: ExplicitRungeKutta> Stepper for ErkStepper<M> {
    fn order(&self) -> usize {
        M::ORDER
    }

    fn start<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t0: f64,
        u0: &[f64],
    ) -> Result<(), NonFinite> {
        let n = self.n;
        self.u.copy_from_slice(u0);
        self.u_prev.copy_from_slice(u0);
        self.t = t0;
        self.t_prev = t0;
        self.t_try = t0;
        self.h = 0.0;
        self.controller.reset();
        ctx.eval(t0, &self.u, &mut self.k[..n]);
        self.k0_valid = true;
        self.end_valid = false;
        self.extra_valid = false;
        match self.first_non_finite(1, t0, 0.0) {
            Some(nf) => Err(nf),
            None => Ok(()),
        }
    }

    fn t(&self) -> f64 {
        self.t
    }

    fn u(&self) -> &[f64] {
        &self.u
    }

    fn derivative(&self) -> &[f64] {
        self.stage(0)
    }

    fn attempt<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>, t_new: f64) -> Attempt {
        let n = self.n;
        let t = self.t;
        let h = t_new - t;
        self.t_try = t_new;
        self.h = h;
        if !self.k0_valid {
            if self.end_valid {
                let e = M::END_STAGE * n;
                self.k.copy_within(e..e + n, 0);
            } else {
                ctx.eval(t, &self.u, &mut self.k[..n]);
            }
            self.k0_valid = true;
        }
        self.end_valid = false;
        self.extra_valid = false;
        let s = M::STAGES;
        for i in 1..s {
            let (done, rest) = self.k.split_at_mut(i * n);
            let ki = &mut rest[..n];
            let ti = if M::C[i] == 1.0 {
                t_new
            } else {
                t + M::C[i] * h
            };
            if M::FSAL && i == s - 1 {
                combine(&mut self.u_new, &self.u, h, M::A[i], done, n);
                ctx.eval(ti, &self.u_new, ki);
            } else {
                combine(&mut self.tmp, &self.u, h, M::A[i], done, n);
                ctx.eval(ti, &self.tmp, ki);
            }
        }
        if !M::FSAL {
            combine(&mut self.u_new, &self.u, h, M::B, &self.k, n);
        }
        // Error estimate e = h Σ (b_i − b̂_i) k_i, in `tmp`.
        let mut w = [0.0; MAX_STAGES];
        for (wj, &ej) in w.iter_mut().zip(M::E) {
            *wj = h * ej;
        }
        sum_stages(&mut self.tmp, &w[..s], &self.k, n);
        let error = ctx.weights.norm(&self.tmp, &self.u, &self.u_new);
        if error.is_finite() {
            return Attempt::Completed { error };
        }
        match self.first_non_finite(s, t, h) {
            Some(nf) => Attempt::NonFinite(nf),
            None => Attempt::Completed { error },
        }
    }

    fn accept(&mut self) {
        core::mem::swap(&mut self.u_prev, &mut self.u);
        core::mem::swap(&mut self.u, &mut self.u_new);
        self.t_prev = self.t;
        self.t = self.t_try;
        self.k0_valid = false;
        self.end_valid = M::FSAL;
        self.extra_valid = false;
    }

    fn reject(&mut self) {}

    fn next_step_size(&mut self, h: f64, error: f64, accepted: bool) -> f64 {
        self.controller.next(h, error, accepted)
    }

    fn previous_t(&self) -> f64 {
        self.t_prev
    }

    fn interpolate<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t: f64,
        out: &mut [f64],
    ) {
        self.ensure_extra_stages(ctx);
        let n = self.n;
        let h = self.h;
        let theta = (t - self.t_prev) / h;
        let total = M::C.len();
        let d = M::DEGREE;
        let mut w = [0.0; MAX_STAGES];
        for (i, wi) in w.iter_mut().enumerate().take(total) {
            let row = &M::R[i * d..(i + 1) * d];
            let mut acc = 0.0;
            for &beta in row.iter().rev() {
                acc = acc * theta + beta;
            }
            *wi = acc * theta * h;
        }
        combine(out, &self.u_prev, 1.0, &w[..total], &self.k, n);
    }

    fn append_dense_segment<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        coefficients: &mut Vec<f64>,
    ) -> f64 {
        self.ensure_extra_stages(ctx);
        let n = self.n;
        let h = self.h;
        let total = M::C.len();
        let d = M::DEGREE;
        coefficients.extend_from_slice(&self.u_prev);
        let mut w = [0.0; MAX_STAGES];
        for m in 0..d {
            for (i, wi) in w.iter_mut().enumerate().take(total) {
                *wi = h * M::R[i * d + m];
            }
            let start = coefficients.len();
            coefficients.resize(start + n, 0.0);
            // r_{m+1} = h Σ_i β_{i,m} k_i.
            sum_stages(&mut coefficients[start..start + n], &w[..total], &self.k, n);
        }
        h
    }

    fn dense_coefficients_per_step(&self) -> usize {
        (M::DEGREE + 1) * self.n
    }
}

/// Tableau checks shared by the method modules' tests: row sums, lengths, `b_i(1) = b_i`.
#[cfg(test)]
pub(crate) fn check_tableau<M: ExplicitRungeKutta>() {
    let total = M::C.len();
    assert!(total <= MAX_STAGES);
    assert_eq!(M::A.len(), total);
    assert_eq!(M::B.len(), M::STAGES);
    assert_eq!(M::E.len(), M::STAGES);
    assert_eq!(M::R.len(), total * M::DEGREE);
    for (i, row) in M::A.iter().enumerate() {
        assert_eq!(row.len(), i, "{} row {i}", M::NAME);
        let sum: f64 = row.iter().sum();
        // 1e-14: the c_i are the row sums in exact arithmetic; 16-digit coefficients up to ~10².
        assert!(
            (sum - M::C[i]).abs() < 1e-13,
            "{} row {i}: {sum} vs {}",
            M::NAME,
            M::C[i]
        );
    }
    let sb: f64 = M::B.iter().sum();
    assert!((sb - 1.0).abs() < 1e-14, "{}: Σ b = {sb}", M::NAME);
    let se: f64 = M::E.iter().sum();
    assert!(se.abs() < 1e-14, "{}: Σ e = {se}", M::NAME);
    for i in 0..total {
        let b1: f64 = M::R[i * M::DEGREE..(i + 1) * M::DEGREE].iter().sum();
        let bi = M::B.get(i).copied().unwrap_or(0.0);
        // 1e-12: interpolation weights up to ~10³ in magnitude, rounded to 16 digits.
        assert!(
            (b1 - bi).abs() < 1e-12,
            "{} b_{i}(1) = {b1} vs b_{i} = {bi}",
            M::NAME
        );
    }
    if M::FSAL {
        assert_eq!(M::A[M::STAGES - 1], &M::B[..M::STAGES - 1]);
        assert_eq!(M::END_STAGE, M::STAGES - 1);
    } else {
        // The end stage must be f(t + h, u_new): c = 1 and a = b.
        assert_eq!(M::C[M::END_STAGE], 1.0);
        for (j, &a) in M::A[M::END_STAGE].iter().enumerate() {
            let b = M::B.get(j).copied().unwrap_or(0.0);
            assert!(
                (a - b).abs() < 1e-15,
                "{} end stage a_{j} = {a} vs b = {b}",
                M::NAME
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tableaus_are_consistent() {
        check_tableau::<Tsit5>();
        check_tableau::<Dp5>();
        check_tableau::<Vern7>();
    }
}
