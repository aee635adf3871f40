//! Problems with known solutions for the tests.

#![allow(dead_code)] // each test binary uses a subset

use tangent_ad::Scalar;
use tangent_ode::OdeRhs;

/// `u' = −2 t u²`, `u(0) = 1`: `u(t) = 1 / (1 + t²)` (nonlinear, non-autonomous).
#[derive(Clone, Copy, Debug)]
pub struct Riccati;

impl OdeRhs for Riccati {
    fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = -(t * 2.0) * u[0] * u[0];
    }
}

pub fn riccati_exact(t: f64) -> f64 {
    1.0 / (1.0 + t * t)
}

/// `u' = u cos t`: `u(t) = u(t0) exp(sin t − sin t0)`.
#[derive(Clone, Copy, Debug)]
pub struct CosGrowth;

impl OdeRhs for CosGrowth {
    fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = u[0] * t.cos();
    }
}

pub fn cos_growth_exact(t: f64) -> f64 {
    t.sin().exp()
}

/// The Kepler problem `q'' = −q/|q|³`, state `(q₁, q₂, p₁, p₂)`, with eccentricity `e` from
/// pericentre: solution through Kepler's equation `E − e sin E = t`.
#[derive(Clone, Copy, Debug)]
pub struct Kepler;

impl OdeRhs for Kepler {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        let r2 = u[0] * u[0] + u[1] * u[1];
        let r3 = r2 * r2.sqrt();
        du[0] = u[2];
        du[1] = u[3];
        du[2] = -u[0] / r3;
        du[3] = -u[1] / r3;
    }
}

pub fn kepler_initial(e: f64) -> Vec<f64> {
    vec![1.0 - e, 0.0, 0.0, ((1.0 + e) / (1.0 - e)).sqrt()]
}

pub fn kepler_exact(e: f64, t: f64) -> [f64; 4] {
    // Newton on E − e sin E − t = 0 to round-off.
    let mut ea = t;
    for _ in 0..50 {
        let d = (ea - e * ea.sin() - t) / (1.0 - e * ea.cos());
        ea -= d;
        if d.abs() < 1e-16 {
            break;
        }
    }
    let (s, c) = ea.sin_cos();
    let w = (1.0 - e * e).sqrt();
    let den = 1.0 - e * c;
    [c - e, w * s, -s / den, w * c / den]
}

/// Harmonic oscillator `u₁' = u₂`, `u₂' = −u₁`.
#[derive(Clone, Copy, Debug)]
pub struct Oscillator;

impl OdeRhs for Oscillator {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = u[1];
        du[1] = -u[0];
    }
}

/// Least-squares slope of `log err` against `log h`.
pub fn slope(h: &[f64], err: &[f64]) -> f64 {
    let x: Vec<f64> = h.iter().map(|v| v.ln()).collect();
    let y: Vec<f64> = err.iter().map(|v| v.ln()).collect();
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Numbers in short scientific notation.
pub fn fmt(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2e}"))
        .collect::<Vec<_>>()
        .join(" ")
}
