//! # tangent-quadrature — integrals and their derivatives
//!
//! * **1-D adaptive Gauss–Kronrod** ([`solve`], [`Integrator`]): globally adaptive bisection with
//!   QUADPACK's choice of pair by default ((10, 21) on finite intervals, (7, 15) on infinite
//!   ones) and every pair from (7, 15) to (30, 61) available ([`GaussKronrodRule`]); finite,
//!   semi-infinite and infinite intervals through rational changes of variables;
//!   vector-valued integrands under one error norm; integrable endpoint singularities;
//!   breakpoints; limits on evaluations and pieces. Each call reports the value, the error
//!   estimate and the evaluations, and fails with the estimate
//!   ([`QuadratureError::ToleranceNotMet`]) when the tolerance is not met. See [`quadgk`] and
//!   [`adaptive`] for the method.
//! * **Cubature on boxes** ([`cubature`]): h-adaptive Genz–Malik (degree 7 with an embedded
//!   degree-5 error estimate) and tensor-product Gauss–Legendre.
//! * **Batched integrands** ([`integrand`]): every integrator evaluates many nodes per call,
//!   optionally spread over threads ([`integrand::Parallel`]).
//! * **Derivatives** ([`leibniz`]): `I(p) = ∫_{a(p)}^{b(p)} f(x, p) dx` as a `tangent_ad::Rule`
//!   (Leibniz's rule: the derivative integrand is integrated adaptively in its own right, plus
//!   the endpoint terms `f(b)·b′ − f(a)·a′`), usable in forward mode, on the reverse tape, and to
//!   second order; and a one-pass forward mode over the dual-valued integrand
//!   ([`ParametricIntegrator::forward`]).
//! * **Reference problem P8** ([`problems`]) with its oracle values.
//!
//! The rules' nodes and weights are computed to full double precision with their sources cited
//! ([`rules`]).
//!
//! # Example
//!
//! ```
//! use tangent_ad::{AsVector, Dual, scalar_fn};
//! use tangent_quadrature::integrand::scalar;
//! use tangent_quadrature::{Endpoint, GaussKronrod, IntegralProblem, ParametricIntegral, solve};
//!
//! // ∫_{−∞}^{∞} e^{−x²} dx = √π.
//! let alg = GaussKronrod { rtol: 1e-12, ..Default::default() };
//! let gauss = IntegralProblem::new(scalar(|x: f64| (-x * x).exp()), f64::NEG_INFINITY, f64::INFINITY);
//! let sol = solve(&gauss, &alg).unwrap();
//! assert!((sol.value[0] - std::f64::consts::PI.sqrt()).abs() < 1e-12);
//!
//! // I(p) = ∫_0^1 x^p dx = 1/(1+p) and dI/dp = −1/(1+p)² at p = −1/2 (singular at 0).
//! let f = AsVector(scalar_fn!(|z| z[0].pow(z[1])));
//! let integral = ParametricIntegral::new(f, 1, Endpoint::Fixed(0.0), Endpoint::Fixed(1.0), alg).unwrap();
//! let mut out = [Dual::<1>::default()];
//! integral.eval(&[Dual::variable(-0.5, 0)], &mut out).unwrap();
//! assert!((out[0].v - 2.0).abs() < 1e-11);
//! assert!((out[0].d[0] + 4.0).abs() < 1e-10);
//! ```
//!
//! # References
//!
//! * R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber, D. K. Kahaner, *QUADPACK: A Subroutine
//!   Package for Automatic Integration*, Springer, 1983.
//! * A. C. Genz, A. A. Malik, *An adaptive algorithm for numerical integration over an
//!   N-dimensional rectangular region*, J. Comput. Appl. Math. 6 (1980) 295–302.
//! * QuadGK.jl, HCubature.jl and Integrals.jl (the Julia packages whose interfaces and derivative
//!   rules this crate follows).

pub mod adaptive;
pub mod cubature;
pub mod error;
pub mod integrand;
pub mod leibniz;
pub mod problems;
pub mod quadgk;
pub mod rules;

pub use adaptive::{ErrorEstimate, Norm};
pub use error::{QuadratureError, StopReason};
pub use leibniz::{Endpoint, IntegralState, ParametricIntegral, ParametricIntegrator};
pub use quadgk::{GaussKronrod, IntegralProblem, Integrator, Solution, Stats, solve};
pub use rules::{GaussKronrodRule, GaussLegendre, GenzMalik};
