//! The n-point Gauss–Legendre rule on [−1, 1], computed to double precision.
//!
//! The nodes are the roots of the Legendre polynomial P_n, found by Newton's method from
//! the initial guesses `cos(π (i − 1/4) / (n + 1/2))` (Abramowitz & Stegun 22.16.6; Tricomi's
//! asymptotic estimate), with P_n and P_n′ from the three-term recurrence
//! `(k+1) P_{k+1} = (2k+1) x P_k − k P_{k−1}`. The weights are `2 / ((1 − x²) P_n′(x)²)`.
//! The rule integrates polynomials of degree 2n−1 exactly (tested for n ≤ 40).
//!
//! Reference: P. J. Davis, P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic
//! Press 1984, §2.7.

use crate::error::QuadratureError;

/// The n-point Gauss–Legendre rule on [−1, 1]: `∫_{−1}^{1} f ≈ Σ wᵢ f(xᵢ)`.
///
/// ```
/// use tangent_quadrature::GaussLegendre;
///
/// let rule = GaussLegendre::new(5).unwrap();
/// // Degree 2·5 − 1 = 9: ∫_{−1}^{1} x⁸ dx = 2/9.
/// let s: f64 = rule.nodes().iter().zip(rule.weights()).map(|(x, w)| w * x.powi(8)).sum();
/// assert!((s - 2.0 / 9.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GaussLegendre {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

/// Largest supported number of points: beyond it Newton's method from the asymptotic guesses
/// is no longer tested here (and tensor rules that large are never the right tool).
pub const MAX_GAUSS_LEGENDRE_POINTS: usize = 1000;

/// `(P_n(x), P_n′(x))` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 1..n {
        let kf = k as f64;
        let p2 = ((2.0 * kf + 1.0) * x * p1 - kf * p0) / (kf + 1.0);
        p0 = p1;
        p1 = p2;
    }
    // P_n′ = n (x P_n − P_{n−1}) / (x² − 1), valid in the open interval where the roots lie.
    let dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, dp)
}

impl GaussLegendre {
    /// The `n`-point rule, `1 ≤ n ≤` [`MAX_GAUSS_LEGENDRE_POINTS`]. Nodes ascending.
    pub fn new(n: usize) -> Result<Self, QuadratureError> {
        if n == 0 || n > MAX_GAUSS_LEGENDRE_POINTS {
            return Err(QuadratureError::InvalidOption {
                what: "Gauss–Legendre points",
                reason: "must be between 1 and 1000",
            });
        }
        let mut nodes = vec![0.0; n];
        let mut weights = vec![0.0; n];
        if n == 1 {
            weights[0] = 2.0;
            return Ok(Self { nodes, weights });
        }
        // Roots come in ± pairs; compute the positive half (and 0 for odd n).
        for i in 0..n.div_ceil(2) {
            let mut x = (core::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 1.0;
            // Newton converges quadratically from these guesses; 100 iterations is a backstop
            // that is never reached (the loop exits after 3–6).
            for _ in 0..100 {
                let (p, d) = legendre(n, x);
                dp = d;
                let dx = p / d;
                x -= dx;
                if dx.abs() <= 1e-16 * x.abs().max(1e-300) {
                    break;
                }
            }
            let (_, d) = legendre(n, x);
            if d.is_finite() {
                dp = d;
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            // Largest root first at i = 0: place symmetric pairs.
            nodes[n - 1 - i] = x;
            nodes[i] = -x;
            weights[n - 1 - i] = w;
            weights[i] = w;
        }
        if n % 2 == 1 {
            nodes[n / 2] = 0.0;
        }
        Ok(Self { nodes, weights })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always `false` (a rule has at least one point).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Nodes in (−1, 1), ascending.
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// Weights matching [`nodes`](Self::nodes); they sum to 2.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Polynomial degree integrated exactly: 2n − 1.
    pub fn degree(&self) -> usize {
        2 * self.len() - 1
    }
}
