//! The reference problem P8 (`problems/README.md`) in code, with its oracle values, shared by
//! the tests and the benchmarks.
//!
//! P8: `I₁(p) = ∫_0^1 exp(−p x²) cos(10 x) dx` and `I₂(p) = ∫_0^∞ exp(−p x) x² dx` at `p = 2`,
//! `rtol = 1e-10`; count integrand evaluations; `dI/dp`.
//!
//! ```
//! use tangent_quadrature::problems::{P8, p8_first, p8_second};
//!
//! let (i1, i2) = (p8_first(P8::algorithm()).unwrap(), p8_second(P8::algorithm()).unwrap());
//! let (mut v1, mut v2) = ([0.0], [0.0]);
//! i1.eval(&[P8::P], &mut v1).unwrap();
//! i2.eval(&[P8::P], &mut v2).unwrap();
//! assert!((v1[0] - P8::I1).abs() < 1e-10 * P8::I1.abs());
//! assert!((v2[0] - P8::I2).abs() < 1e-10 * P8::I2);
//! ```

use tangent_ad::{Scalar, VectorFunction};

use crate::error::QuadratureError;
use crate::leibniz::{Endpoint, ParametricIntegral};
use crate::quadgk::GaussKronrod;

/// `f(x, p) = exp(−Σ_i p_i xⁱ / (i + 1))` with as many parameters as the input holds after `x`
/// (input `(x, p₀, …, p_{n−1})`, one output): an integrand whose parameter Jacobian is dense, for
/// the tests and benchmarks of derivatives with many parameters.
#[derive(Clone, Copy, Debug)]
pub struct ExpPolynomial;

impl VectorFunction for ExpPolynomial {
    fn output_len(&self) -> usize {
        1
    }
    fn eval<S: Scalar>(&self, z: &[S], y: &mut [S]) {
        let x = z[0];
        let mut s = S::zero();
        let mut xi = S::one();
        for (i, &p) in z[1..].iter().enumerate() {
            s += p * xi / (i as f64 + 1.0);
            xi *= x;
        }
        y[0] = (-s).exp();
    }
}

/// P8's constants and oracle values (`problems/oracles.json`, key `"P8"`: I₁ and dI₁/dp by mpmath
/// quadrature at 40 digits; I₂ = 2/p³ and dI₂/dp = −6/p⁴ in closed form).
#[derive(Clone, Copy, Debug)]
pub struct P8;

impl P8 {
    /// The parameter value.
    pub const P: f64 = 2.0;
    /// The relative tolerance the problem asks for.
    pub const RTOL: f64 = 1e-10;
    /// `I₁(2)`.
    pub const I1: f64 = -0.002146265214545982;
    /// `dI₁/dp (2)`.
    pub const DI1_DP: f64 = 0.004749194907457723;
    /// `I₂(2) = 2/p³`.
    pub const I2: f64 = 0.25;
    /// `dI₂/dp (2) = −6/p⁴`.
    pub const DI2_DP: f64 = -0.375;

    /// The default algorithm at P8's tolerance (`rtol = 1e-10`, `atol = 0`, the default pair:
    /// (10, 21) for `I₁`, (7, 15) for `I₂`, as QUADPACK).
    pub fn algorithm() -> GaussKronrod {
        GaussKronrod {
            rtol: Self::RTOL,
            ..Default::default()
        }
    }
}

/// `exp(−p x²) cos(10 x)` as a function of `z = (x, p)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GaussianCosine;

impl VectorFunction for GaussianCosine {
    fn output_len(&self) -> usize {
        1
    }
    #[inline]
    fn eval<S: Scalar>(&self, z: &[S], y: &mut [S]) {
        let (x, p) = (z[0], z[1]);
        y[0] = (-p * x * x).exp() * (x * 10.0).cos();
    }
}

/// `exp(−p x) x²` as a function of `z = (x, p)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExponentialMoment;

impl VectorFunction for ExponentialMoment {
    fn output_len(&self) -> usize {
        1
    }
    #[inline]
    fn eval<S: Scalar>(&self, z: &[S], y: &mut [S]) {
        let (x, p) = (z[0], z[1]);
        y[0] = (-p * x).exp() * x * x;
    }
}

/// `I₁(p) = ∫_0^1 exp(−p x²) cos(10 x) dx`, one input `p`.
pub fn p8_first(alg: GaussKronrod) -> Result<ParametricIntegral<GaussianCosine>, QuadratureError> {
    ParametricIntegral::new(
        GaussianCosine,
        1,
        Endpoint::Fixed(0.0),
        Endpoint::Fixed(1.0),
        alg,
    )
}

/// `I₂(p) = ∫_0^∞ exp(−p x) x² dx`, one input `p`.
pub fn p8_second(
    alg: GaussKronrod,
) -> Result<ParametricIntegral<ExponentialMoment>, QuadratureError> {
    ParametricIntegral::new(
        ExponentialMoment,
        1,
        Endpoint::Fixed(0.0),
        Endpoint::Fixed(f64::INFINITY),
        alg,
    )
}
