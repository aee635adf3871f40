//! The fixed rules the adaptive integrators are built from.
//!
//! * [`GaussKronrodRule`] — the (n, 2n+1) Gauss–Kronrod pairs n = 7, 10, 15, 20, 25, 30 of QUADPACK.
//!   The (2n+1)-point Kronrod rule reuses the n Gauss–Legendre nodes and adds n+1 nodes so that it
//!   integrates polynomials of degree 3n+1 exactly (3n+2 for odd n, by symmetry); the Gauss rule
//!   (degree 2n−1) on the same evaluations gives the error estimate (Kronrod 1965; Piessens et al.
//!   1983, §2.2).
//! * [`GaussLegendre`] — the n-point Gauss–Legendre rule (degree 2n−1) for any n, computed by
//!   Newton's method; the building block of the tensor-product cubature.
//! * [`GenzMalik`] — the fully symmetric degree-7 rule with an embedded degree-5 rule on
//!   d-dimensional boxes, d ≥ 2 (Genz & Malik 1980).
//!
//! # Where the numbers come from
//!
//! The Gauss–Kronrod nodes and weights (`kronrod_tables.rs`) were computed for this crate by
//! `tools/gauss_kronrod_tables.py` in 100-digit arithmetic: Gauss nodes by Newton's method on
//! P_n, Kronrod nodes as the roots of the Stieltjes polynomial E_{n+1} (whose coefficients solve
//! an exact rational linear system), weights from the interpolatory conditions; the script checks
//! the degree 3n+1 to 1e-60. They agree with QUADPACK's published tables (qk15 … qk61,
//! Piessens, de Doncker-Kapenga, Überhuber & Kahaner, *QUADPACK*, Springer 1983, computed by
//! L. W. Fullerton in 80-digit arithmetic) in every digit a double holds. The tests re-check the
//! exactness degree of every rule in double precision.
//!
//! References:
//! * A. S. Kronrod, *Nodes and weights of quadrature formulas*, Consultants Bureau, 1965.
//! * R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber, D. K. Kahaner, *QUADPACK: A Subroutine
//!   Package for Automatic Integration*, Springer, 1983.
//! * D. P. Laurie, *Calculation of Gauss–Kronrod quadrature rules*, Math. Comp. 66 (1997) 1133–1145.
//! * A. C. Genz, A. A. Malik, *An adaptive algorithm for numerical integration over an
//!   N-dimensional rectangular region*, J. Comput. Appl. Math. 6 (1980) 295–302.

pub mod gauss_legendre;
pub mod genz_malik;
// 36 significant digits are kept on purpose: they document the computation and can be compared
// with the published tables digit by digit; the compiler rounds them correctly to f64.
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
mod kronrod_tables;

pub use gauss_legendre::GaussLegendre;
pub use genz_malik::GenzMalik;

use kronrod_tables::*;

/// A Gauss–Kronrod pair: the n-point Gauss–Legendre rule and its (2n+1)-point Kronrod extension
/// on [−1, 1].
///
/// The default is the (7, 15) pair: on smooth integrands it reaches a given tolerance with about
/// as few evaluations as the larger pairs, and it localises difficulties (endpoint singularities,
/// peaks) more cheaply. Larger pairs pay off for very smooth integrands at tight tolerances.
///
/// ```
/// use tangent_quadrature::GaussKronrodRule;
///
/// // One application of the (10, 21) pair integrates x^31 exactly (degree 3·10 + 1 = 31).
/// let rule = GaussKronrodRule::K21;
/// let (kronrod, gauss) = rule.integrate_once(|x| x.powi(30), 0.0, 1.0);
/// assert!((kronrod - 1.0 / 31.0).abs() < 1e-15);
/// assert!((gauss - 1.0 / 31.0).abs() > 1e-8); // the 10-point Gauss rule has degree 19 only
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GaussKronrodRule {
    /// 7-point Gauss, 15-point Kronrod (degree 23).
    #[default]
    K15,
    /// 10-point Gauss, 21-point Kronrod (degree 31).
    K21,
    /// 15-point Gauss, 31-point Kronrod (degree 47).
    K31,
    /// 20-point Gauss, 41-point Kronrod (degree 61).
    K41,
    /// 25-point Gauss, 51-point Kronrod (degree 77).
    K51,
    /// 30-point Gauss, 61-point Kronrod (degree 91).
    K61,
}

impl GaussKronrodRule {
    /// Every available pair, smallest first.
    pub const ALL: [GaussKronrodRule; 6] = [
        GaussKronrodRule::K15,
        GaussKronrodRule::K21,
        GaussKronrodRule::K31,
        GaussKronrodRule::K41,
        GaussKronrodRule::K51,
        GaussKronrodRule::K61,
    ];

    /// Number of Gauss points n.
    pub fn gauss_points(self) -> usize {
        match self {
            Self::K15 => 7,
            Self::K21 => 10,
            Self::K31 => 15,
            Self::K41 => 20,
            Self::K51 => 25,
            Self::K61 => 30,
        }
    }

    /// Number of Kronrod points 2n+1 (integrand evaluations per application).
    pub fn points(self) -> usize {
        2 * self.gauss_points() + 1
    }

    /// Polynomial degree integrated exactly by the Kronrod rule: 3n+1, or 3n+2 for odd n (odd
    /// powers integrate to zero by symmetry).
    pub fn degree(self) -> usize {
        let n = self.gauss_points();
        if n % 2 == 1 { 3 * n + 2 } else { 3 * n + 1 }
    }

    /// Kronrod nodes in [0, 1), descending, with the centre 0 last (length n+1). The nodes of
    /// the full rule are `±x` for each entry. Entries at odd positions are the Gauss nodes.
    pub fn kronrod_nodes(self) -> &'static [f64] {
        match self {
            Self::K15 => &XK15,
            Self::K21 => &XK21,
            Self::K31 => &XK31,
            Self::K41 => &XK41,
            Self::K51 => &XK51,
            Self::K61 => &XK61,
        }
    }

    /// Kronrod weights matching [`kronrod_nodes`](Self::kronrod_nodes) (length n+1; the weight of
    /// `±x` each).
    pub fn kronrod_weights(self) -> &'static [f64] {
        match self {
            Self::K15 => &WK15,
            Self::K21 => &WK21,
            Self::K31 => &WK31,
            Self::K41 => &WK41,
            Self::K51 => &WK51,
            Self::K61 => &WK61,
        }
    }

    /// Gauss weights of the nodes at odd positions of [`kronrod_nodes`](Self::kronrod_nodes)
    /// (`xk[1]`, `xk[3]`, …), length ⌈n/2⌉; for odd n the last one is the centre's.
    pub fn gauss_weights(self) -> &'static [f64] {
        match self {
            Self::K15 => &WG15,
            Self::K21 => &WG21,
            Self::K31 => &WG31,
            Self::K41 => &WG41,
            Self::K51 => &WG51,
            Self::K61 => &WG61,
        }
    }

    /// Applies the pair once to `f` on `[a, b]` (no adaptivity): returns the (Kronrod, Gauss)
    /// estimates of `∫_a^b f`.
    pub fn integrate_once(self, f: impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
        let (xk, wk, wg) = (
            self.kronrod_nodes(),
            self.kronrod_weights(),
            self.gauss_weights(),
        );
        let n = self.gauss_points();
        let c = 0.5 * (a + b);
        let h = 0.5 * (b - a);
        let fc = f(c);
        let mut k = wk[n] * fc;
        let mut g = if n % 2 == 1 { wg[n / 2] * fc } else { 0.0 };
        for j in 0..n {
            let pair = f(c - h * xk[j]) + f(c + h * xk[j]);
            k += wk[j] * pair;
            if j % 2 == 1 {
                g += wg[j / 2] * pair;
            }
        }
        (k * h, g * h)
    }
}
