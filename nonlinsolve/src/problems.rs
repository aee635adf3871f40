//! Reference problems, shared by the tests and benchmarks.
//!
//! * [`Bratu`]: P7 of `problems/README.md`, the 2-D Bratu problem `Δu + λ eᵘ = 0` on the
//!   `N × N` interior grid (`tangent_ad::problems::Bratu2D`) with `p = (λ)`, and its oracle
//!   values (`problems/oracles.json`, key `P7`).
//! * Systems of nonlinear equations from Moré, Garbow & Hillstrom, "Testing unconstrained
//!   optimization software", ACM TOMS 7 (1981) 17–41 (MGH), in the form of MINPACK's test
//!   driver `vecfcn`: [`Rosenbrock`], [`PowellSingular`], [`PowellBadlyScaled`], [`Wood`],
//!   [`HelicalValley`], [`FreudensteinRoth`], [`BrownAlmostLinear`],
//!   [`DiscreteBoundaryValue`], [`DiscreteIntegralEquation`], [`Trigonometric`],
//!   [`VariablyDimensioned`], [`BroydenTridiagonal`], [`BroydenBanded`], [`Chebyquad`], each
//!   with its standard starting point.
//! * Least-squares problems from MGH (MINPACK's `ssqfcn`): [`Bard`], [`KowalikOsborne`],
//!   [`JennrichSampson`], [`Osborne1`], with the minimum sum of squares MGH report.
//!
//! None of these use the parameters `p` except [`Bratu`].

// The residuals follow the published formulas index by index.
#![allow(clippy::needless_range_loop)]

use tangent_ad::Scalar;
use tangent_ad::problems::Bratu2D;

use crate::problem::NonlinearFunction;

/// P7: the 2-D Bratu problem with `p = (λ)`; see the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct Bratu {
    /// The grid (`N` interior points per side, `N²` unknowns).
    pub problem: Bratu2D,
}

impl Bratu {
    /// P7's reference grid `N = 64`.
    pub const N: usize = 64;
    /// P7's `λ = 6`.
    pub const LAMBDA: f64 = Bratu2D::LAMBDA;
    /// Oracle `Σ u*` at `λ = 6`, `N = 64` (SciPy sparse Newton to `|δu| ≤ 1e-15`).
    pub const SUM_U: f64 = 1490.4069803756113;
    /// Oracle `d(Σ u*)/dλ` (implicit derivative, cross-checked by central differences to
    /// 2.3e-9 relative).
    pub const DSUM_DLAMBDA: f64 = 549.9917116127283;
    /// Oracle `max u*`.
    pub const MAX_U: f64 = 0.7966763500026957;

    /// The problem on an `n × n` grid.
    pub fn new(n: usize) -> Self {
        Self {
            problem: Bratu2D { n },
        }
    }

    /// P7's start `u = 0`.
    pub fn start(&self) -> Vec<f64> {
        vec![0.0; self.problem.len()]
    }
}

impl NonlinearFunction for Bratu {
    #[inline]
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        self.problem.residual(u, p[0], r);
    }
}

/// MGH 1 (MINPACK `vecfcn` 1): `F = (1 − u₁, 10 (u₂ − u₁²))`; root `(1, 1)`, start
/// `(−1.2, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rosenbrock;

impl Rosenbrock {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![-1.2, 1.0]
    }
}

impl NonlinearFunction for Rosenbrock {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        r[0] = S::one() - u[0];
        r[1] = (u[1] - u[0] * u[0]) * 10.0;
    }
}

/// MGH 13: Powell's singular function, `n = 4`; root `0` (where the Jacobian is singular:
/// Newton converges only linearly), start `(3, −1, 0, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PowellSingular;

impl PowellSingular {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![3.0, -1.0, 0.0, 1.0]
    }
}

impl NonlinearFunction for PowellSingular {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        r[0] = u[0] + u[1] * 10.0;
        r[1] = (u[2] - u[3]) * 5f64.sqrt();
        r[2] = (u[1] - u[2] * 2.0).powi(2);
        r[3] = (u[0] - u[3]).powi(2) * 10f64.sqrt();
    }
}

/// MGH 3: Powell's badly scaled function, `F = (10⁴ u₁u₂ − 1, e^{−u₁} + e^{−u₂} − 1.0001)`;
/// root `≈ (1.098·10⁻⁵, 9.106)`, start `(0, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PowellBadlyScaled;

impl PowellBadlyScaled {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.0, 1.0]
    }
}

impl NonlinearFunction for PowellBadlyScaled {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        r[0] = u[0] * u[1] * 1e4 - 1.0;
        r[1] = (-u[0]).exp() + (-u[1]).exp() - 1.0001;
    }
}

/// MGH 14 as a system (MINPACK `vecfcn` 4: the Wood function's gradient equations, scaled);
/// root `(1, 1, 1, 1)`, start `(−3, −1, −3, −1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wood;

impl Wood {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![-3.0, -1.0, -3.0, -1.0]
    }
}

impl NonlinearFunction for Wood {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let t1 = u[1] - u[0] * u[0];
        let t2 = u[3] - u[2] * u[2];
        r[0] = -(u[0] * t1 * 200.0) - (S::one() - u[0]);
        r[1] = t1 * 200.0 + (u[1] - 1.0) * 20.2 + (u[3] - 1.0) * 19.8;
        r[2] = -(u[2] * t2 * 180.0) - (S::one() - u[2]);
        r[3] = t2 * 180.0 + (u[3] - 1.0) * 20.2 + (u[1] - 1.0) * 19.8;
    }
}

/// MGH 7: the helical valley, `F = (10 (u₃ − 10 θ), 10 (√(u₁² + u₂²) − 1), u₃)` with
/// `2π θ = atan(u₂/u₁)` (`+ π` for `u₁ < 0`); root `(1, 0, 0)`, start `(−1, 0, 0)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HelicalValley;

impl HelicalValley {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![-1.0, 0.0, 0.0]
    }
}

impl NonlinearFunction for HelicalValley {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let two_pi = 2.0 * core::f64::consts::PI;
        let theta = if u[0] > 0.0 {
            (u[1] / u[0]).atan() / two_pi
        } else if u[0] < 0.0 {
            (u[1] / u[0]).atan() / two_pi + 0.5
        } else {
            S::cst(if u[1] >= 0.0 { 0.25 } else { -0.25 })
        };
        r[0] = (u[2] - theta * 10.0) * 10.0;
        r[1] = ((u[0] * u[0] + u[1] * u[1]).sqrt() - 1.0) * 10.0;
        r[2] = u[2];
    }
}

/// MGH 2: Freudenstein and Roth, `F = (−13 + u₁ + ((5 − u₂)u₂ − 2)u₂,
/// −29 + u₁ + ((u₂ + 1)u₂ − 14)u₂)`; root `(5, 4)`, and a local minimum of `‖F‖²` = 48.9842…
/// at `≈ (11.41, −0.8968)` that attracts descent methods from the start `(0.5, −2)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FreudensteinRoth;

impl FreudensteinRoth {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.5, -2.0]
    }
    /// `‖F‖₂²` at the local minimum (MGH).
    pub const LOCAL_MINIMUM: f64 = 48.9842;
}

impl NonlinearFunction for FreudensteinRoth {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        r[0] = u[0] - 13.0 + ((S::cst(5.0) - u[1]) * u[1] - 2.0) * u[1];
        r[1] = u[0] - 29.0 + ((u[1] + 1.0) * u[1] - 14.0) * u[1];
    }
}

/// MGH 27: Brown's almost-linear function of `n` unknowns,
/// `F_k = u_k + Σ_j u_j − (n + 1)` (`k < n`), `F_n = Π_j u_j − 1`; root `(1, …, 1)` (among
/// others), start `0.5`.
#[derive(Clone, Copy, Debug)]
pub struct BrownAlmostLinear {
    /// Unknowns.
    pub n: usize,
}

impl BrownAlmostLinear {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.5; self.n]
    }
}

impl NonlinearFunction for BrownAlmostLinear {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        let sum = u.iter().copied().sum::<S>() - (n + 1) as f64;
        let prod = u.iter().copied().product::<S>();
        for k in 0..n {
            r[k] = u[k] + sum;
        }
        r[n - 1] = prod - 1.0;
    }
}

/// MGH 28: the discrete boundary value function, `h = 1/(n + 1)`,
/// `F_k = 2u_k − u_{k−1} − u_{k+1} + h² (u_k + k h + 1)³ / 2` (`u₀ = u_{n+1} = 0`); start
/// `t_k (t_k − 1)`, `t_k = k h`.
#[derive(Clone, Copy, Debug)]
pub struct DiscreteBoundaryValue {
    /// Unknowns.
    pub n: usize,
}

impl DiscreteBoundaryValue {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        let h = 1.0 / (self.n + 1) as f64;
        (1..=self.n)
            .map(|k| {
                let t = k as f64 * h;
                t * (t - 1.0)
            })
            .collect()
    }
}

impl NonlinearFunction for DiscreteBoundaryValue {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        let h = 1.0 / (n + 1) as f64;
        for k in 0..n {
            let t = (u[k] + (k + 1) as f64 * h + 1.0).powi(3);
            let left = if k > 0 { u[k - 1] } else { S::zero() };
            let right = if k + 1 < n { u[k + 1] } else { S::zero() };
            r[k] = u[k] * 2.0 - left - right + t * (h * h / 2.0);
        }
    }
}

/// MGH 29: the discrete integral equation function (dense Jacobian), start as
/// [`DiscreteBoundaryValue`].
#[derive(Clone, Copy, Debug)]
pub struct DiscreteIntegralEquation {
    /// Unknowns.
    pub n: usize,
}

impl DiscreteIntegralEquation {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        DiscreteBoundaryValue { n: self.n }.start()
    }
}

impl NonlinearFunction for DiscreteIntegralEquation {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        let h = 1.0 / (n + 1) as f64;
        for k in 0..n {
            let tk = (k + 1) as f64 * h;
            let mut s1 = S::zero();
            for j in 0..=k {
                let tj = (j + 1) as f64 * h;
                s1 += (u[j] + tj + 1.0).powi(3) * tj;
            }
            let mut s2 = S::zero();
            for j in k + 1..n {
                let tj = (j + 1) as f64 * h;
                s2 += (u[j] + tj + 1.0).powi(3) * (1.0 - tj);
            }
            r[k] = u[k] + (s1 * (1.0 - tk) + s2 * tk) * (h / 2.0);
        }
    }
}

/// MGH 26: the trigonometric function,
/// `F_k = n + k − sin u_k − Σ_j cos u_j − k cos u_k` (1-based `k`); start `1/n`.
#[derive(Clone, Copy, Debug)]
pub struct Trigonometric {
    /// Unknowns.
    pub n: usize,
}

impl Trigonometric {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![1.0 / self.n as f64; self.n]
    }
}

impl NonlinearFunction for Trigonometric {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        let sum = u.iter().map(|&x| x.cos()).sum::<S>();
        for k in 0..n {
            let kk = (k + 1) as f64;
            r[k] = S::cst((n as f64) + kk) - u[k].sin() - sum - u[k].cos() * kk;
        }
    }
}

/// MGH 25: the variably dimensioned function,
/// `F_k = u_k − 1 + k s (1 + 2 s²)`, `s = Σ_j j (u_j − 1)`; root `(1, …, 1)`, start
/// `1 − j/n`.
#[derive(Clone, Copy, Debug)]
pub struct VariablyDimensioned {
    /// Unknowns.
    pub n: usize,
}

impl VariablyDimensioned {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        (1..=self.n)
            .map(|j| 1.0 - j as f64 / self.n as f64)
            .collect()
    }
}

impl NonlinearFunction for VariablyDimensioned {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let mut s = S::zero();
        for (j, &x) in u.iter().enumerate() {
            s += (x - 1.0) * (j + 1) as f64;
        }
        let t = s * (s * s * 2.0 + 1.0);
        for (k, rk) in r.iter_mut().enumerate() {
            *rk = u[k] - 1.0 + t * (k + 1) as f64;
        }
    }
}

/// MGH 30: the Broyden tridiagonal function,
/// `F_k = (3 − 2u_k) u_k − u_{k−1} − 2u_{k+1} + 1` (`u₀ = u_{n+1} = 0`); start `−1`.
#[derive(Clone, Copy, Debug)]
pub struct BroydenTridiagonal {
    /// Unknowns.
    pub n: usize,
}

impl BroydenTridiagonal {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![-1.0; self.n]
    }
}

impl NonlinearFunction for BroydenTridiagonal {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        for k in 0..n {
            let left = if k > 0 { u[k - 1] } else { S::zero() };
            let right = if k + 1 < n { u[k + 1] } else { S::zero() };
            r[k] = (S::cst(3.0) - u[k] * 2.0) * u[k] - left - right * 2.0 + 1.0;
        }
    }
}

/// MGH 31: the Broyden banded function (lower bandwidth 5, upper 1),
/// `F_k = u_k (2 + 5u_k²) + 1 − Σ_{j ∈ J_k} u_j (1 + u_j)`; start `−1`.
#[derive(Clone, Copy, Debug)]
pub struct BroydenBanded {
    /// Unknowns.
    pub n: usize,
}

impl BroydenBanded {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![-1.0; self.n]
    }
}

impl NonlinearFunction for BroydenBanded {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        for k in 0..n {
            let lo = k.saturating_sub(5);
            let hi = (k + 1).min(n - 1);
            let mut t = S::zero();
            for j in lo..=hi {
                if j != k {
                    t += u[j] * (u[j] + 1.0);
                }
            }
            r[k] = u[k] * (u[k] * u[k] * 5.0 + 2.0) + 1.0 - t;
        }
    }
}

/// MGH 35: the Chebyquad function (roots for `n ≤ 7` and `n = 9`); start `j/(n + 1)`.
#[derive(Clone, Copy, Debug)]
pub struct Chebyquad {
    /// Unknowns.
    pub n: usize,
}

impl Chebyquad {
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        let h = 1.0 / (self.n + 1) as f64;
        (1..=self.n).map(|j| j as f64 * h).collect()
    }
}

impl NonlinearFunction for Chebyquad {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let n = u.len();
        for rk in r.iter_mut() {
            *rk = S::zero();
        }
        for &x in u {
            // Shifted Chebyshev polynomials T_i(2x − 1) by their recurrence.
            let mut t_prev = S::one();
            let mut t = x * 2.0 - 1.0;
            let two_y = t * 2.0;
            for rk in r.iter_mut() {
                *rk += t;
                let next = two_y * t - t_prev;
                t_prev = t;
                t = next;
            }
        }
        for (k, rk) in r.iter_mut().enumerate() {
            *rk /= n as f64;
            // ∫₀¹ T_i(2x − 1) dx = −1/(i² − 1) for even i, 0 for odd i.
            let i = k + 1;
            if i % 2 == 0 {
                *rk += 1.0 / ((i * i) as f64 - 1.0);
            }
        }
    }
}

/// MGH 8: Bard, 15 residuals in 3 unknowns; start `(1, 1, 1)`; minimum sum of squares
/// [`Bard::MINIMUM`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Bard;

impl Bard {
    const Y: [f64; 15] = [
        0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39,
    ];
    /// `Σ F_i²` at the minimum, as MGH report it (six digits).
    pub const MINIMUM: f64 = 8.21487e-3;
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![1.0; 3]
    }
}

impl NonlinearFunction for Bard {
    fn residual_len(&self, _n: usize) -> usize {
        15
    }
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        for i in 0..15 {
            let a = (i + 1) as f64;
            let b = (15 - i) as f64;
            let c = if i + 1 > 8 { b } else { a };
            r[i] = S::cst(Self::Y[i]) - (u[0] + (u[1] * b + u[2] * c).recip() * a);
        }
    }
}

/// MGH 15: Kowalik and Osborne, 11 residuals in 4 unknowns; start `(0.25, 0.39, 0.415, 0.39)`;
/// minimum [`KowalikOsborne::MINIMUM`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KowalikOsborne;

impl KowalikOsborne {
    const Y: [f64; 11] = [
        0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246,
    ];
    const V: [f64; 11] = [
        4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625,
    ];
    /// `Σ F_i²` at the minimum, as MGH report it.
    pub const MINIMUM: f64 = 3.07505e-4;
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.25, 0.39, 0.415, 0.39]
    }
}

impl NonlinearFunction for KowalikOsborne {
    fn residual_len(&self, _n: usize) -> usize {
        11
    }
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        for i in 0..11 {
            let v = Self::V[i];
            let num = (u[1] + v) * v;
            let den = (u[2] + v) * v + u[3];
            r[i] = S::cst(Self::Y[i]) - u[0] * num / den;
        }
    }
}

/// MGH 6: Jennrich and Sampson, `F_i = 2 + 2i − e^{i u₁} − e^{i u₂}`, `i = 1..10`; start
/// `(0.3, 0.4)`; minimum [`JennrichSampson::MINIMUM`] at `u₁ = u₂ ≈ 0.2578`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JennrichSampson;

impl JennrichSampson {
    /// `Σ F_i²` at the minimum for `m = 10`, as MGH report it.
    pub const MINIMUM: f64 = 124.362;
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.3, 0.4]
    }
}

impl NonlinearFunction for JennrichSampson {
    fn residual_len(&self, _n: usize) -> usize {
        10
    }
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        for (i, ri) in r.iter_mut().enumerate() {
            let t = (i + 1) as f64;
            *ri = S::cst(2.0 + 2.0 * t) - (u[0] * t).exp() - (u[1] * t).exp();
        }
    }
}

/// MGH 17: Osborne 1, 33 residuals in 5 unknowns; start `(0.5, 1.5, −1, 0.01, 0.02)`; minimum
/// [`Osborne1::MINIMUM`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Osborne1;

impl Osborne1 {
    const Y: [f64; 33] = [
        0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751, 0.718, 0.685,
        0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490, 0.478, 0.467, 0.457, 0.448,
        0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406,
    ];
    /// `Σ F_i²` at the minimum, as MGH report it.
    pub const MINIMUM: f64 = 5.46489e-5;
    /// The standard start.
    pub fn start(&self) -> Vec<f64> {
        vec![0.5, 1.5, -1.0, 0.01, 0.02]
    }
}

impl NonlinearFunction for Osborne1 {
    fn residual_len(&self, _n: usize) -> usize {
        33
    }
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        for (i, ri) in r.iter_mut().enumerate() {
            let t = 10.0 * i as f64;
            *ri = S::cst(Self::Y[i])
                - (u[0] + u[1] * (-(u[3] * t)).exp() + u[2] * (-(u[4] * t)).exp());
        }
    }
}
