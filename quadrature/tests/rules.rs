//! The fixed rules: exactness degrees measured numerically, symmetry, and agreement with the
//! published QUADPACK tables.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_quadrature::{GaussKronrodRule, GaussLegendre, GenzMalik};

/// Exactness on monomials: a rule exact to degree k integrates x^j on [−1, 1] to rounding error;
/// the sums involve weights ≤ 1 and |x^j| ≤ 1, so 1e-14 absolute leaves a few ulps per node.
const EXACT: f64 = 1e-14;

fn monomial_integral(j: usize) -> f64 {
    if j % 2 == 1 {
        0.0
    } else {
        2.0 / (j as f64 + 1.0)
    }
}

#[test]
fn gauss_kronrod_degrees() {
    for rule in GaussKronrodRule::ALL {
        let n = rule.gauss_points();
        let deg = rule.degree();
        assert_eq!(rule.points(), 2 * n + 1);
        // Kronrod rule: exact up to its degree, and not for the next even power.
        for j in 0..=deg {
            let (k, _) = rule.integrate_once(|x| x.powi(j as i32), -1.0, 1.0);
            assert!(
                (k - monomial_integral(j)).abs() < EXACT,
                "{rule:?} Kronrod x^{j}: {k}"
            );
        }
        // …and not beyond: q = ω(x)·x^s, ω the nodal polynomial of all 2n+1 nodes, has degree
        // deg + 1 (s = n + 1 for even n, n + 2 for odd n); the rule sums exact zeros, while ∫q
        // (by a 64-point Gauss rule, exact to degree 127, so correct to ~1e-14·∫|q|) is not zero.
        let s = if n % 2 == 0 { n + 1 } else { n + 2 };
        let xk = rule.kronrod_nodes();
        let q = |x: f64| {
            let mut w = x.powi(s as i32) * x; // the centre node 0
            for &xi in &xk[..n] {
                w *= (x - xi) * (x + xi);
            }
            w
        };
        let (k, _) = rule.integrate_once(q, -1.0, 1.0);
        assert_eq!(k, 0.0);
        let gl = GaussLegendre::new(64).unwrap();
        let integral: f64 = gl
            .nodes()
            .iter()
            .zip(gl.weights())
            .map(|(&x, w)| w * q(x))
            .sum();
        let abs: f64 = gl
            .nodes()
            .iter()
            .zip(gl.weights())
            .map(|(&x, w)| w * q(x).abs())
            .sum();
        assert!(
            integral.abs() > 1e-12 * abs,
            "{rule:?} should not be exact beyond degree {deg}: {integral:e} vs {abs:e}"
        );
        // Embedded Gauss rule: degree 2n − 1, not 2n.
        for j in 0..2 * n {
            let (_, g) = rule.integrate_once(|x| x.powi(j as i32), -1.0, 1.0);
            assert!(
                (g - monomial_integral(j)).abs() < EXACT,
                "{rule:?} Gauss x^{j}: {g}"
            );
        }
        // Not exact for the square of its nodal polynomial (degree 2n): the sum is exactly 0.
        let gauss_nodes: Vec<f64> = (0..n)
            .map(|i| rule.kronrod_nodes()[2 * (i / 2) + 1] * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let (_, g) = rule.integrate_once(
            |x| {
                gauss_nodes
                    .iter()
                    .map(|&xi| (x - xi) * (x - xi))
                    .product::<f64>()
            },
            -1.0,
            1.0,
        );
        assert_eq!(g, 0.0, "{rule:?}");
        // Weights sum to the interval length; nodes descending in (0, 1) with 0 last.
        let wk = rule.kronrod_weights();
        let wg = rule.gauss_weights();
        let sum_k: f64 = 2.0 * wk[..n].iter().sum::<f64>() + wk[n];
        assert!((sum_k - 2.0).abs() < 1e-15, "{rule:?}: Σ wk = {sum_k}");
        let sum_g: f64 = 2.0 * wg.iter().sum::<f64>() - if n % 2 == 1 { wg[n / 2] } else { 0.0 };
        assert!((sum_g - 2.0).abs() < 1e-15, "{rule:?}: Σ wg = {sum_g}");
        assert_eq!(xk[n], 0.0);
        assert!(xk.windows(2).all(|w| w[0] > w[1]) && xk[0] < 1.0);
        assert!(wk.iter().chain(wg).all(|&w| w > 0.0));
    }
}

/// Spot values from QUADPACK's tables (Piessens et al. 1983, qk15 / qk21 / qk61 data
/// statements, as printed there to 33 digits); our tables were computed independently.
#[test]
#[allow(clippy::excessive_precision)] // the published digits, as printed; the compiler rounds them
fn matches_published_quadpack_tables() {
    let spot = [
        (
            GaussKronrodRule::K15.kronrod_nodes()[0],
            0.991455371120812639206854697526329,
        ),
        (
            GaussKronrodRule::K15.kronrod_nodes()[4],
            0.586087235467691130294144838258730,
        ),
        (
            GaussKronrodRule::K15.kronrod_weights()[7],
            0.209482141084727828012999174891714,
        ),
        (
            GaussKronrodRule::K15.gauss_weights()[3],
            0.417959183673469387755102040816327,
        ),
        (
            GaussKronrodRule::K21.kronrod_nodes()[0],
            0.995657163025808080735527280689003,
        ),
        (
            GaussKronrodRule::K21.kronrod_weights()[10],
            0.149445554002916905664936468389821,
        ),
        (
            GaussKronrodRule::K61.kronrod_nodes()[0],
            0.999484410050490637571325895705811,
        ),
        (
            GaussKronrodRule::K61.kronrod_weights()[30],
            0.051494729429451567558340433647099,
        ),
    ];
    for (i, (ours, published)) in spot.into_iter().enumerate() {
        assert_eq!(ours, published, "entry {i}");
    }
}

#[test]
fn gauss_legendre_degrees() {
    for n in 1..=40 {
        let rule = GaussLegendre::new(n).unwrap();
        assert_eq!(rule.len(), n);
        for j in 0..=rule.degree() {
            let s: f64 = rule
                .nodes()
                .iter()
                .zip(rule.weights())
                .map(|(x, w)| w * x.powi(j as i32))
                .sum();
            assert!((s - monomial_integral(j)).abs() < EXACT, "n={n} x^{j}: {s}");
        }
        // Not exact for the squared nodal polynomial (degree 2n): the rule gives 0, ∫ω² > 0.
        let omega2 = |x: f64| {
            rule.nodes()
                .iter()
                .map(|&xi| (x - xi) * (x - xi))
                .product::<f64>()
        };
        let s: f64 = rule
            .nodes()
            .iter()
            .zip(rule.weights())
            .map(|(&x, w)| w * omega2(x))
            .sum();
        assert_eq!(s, 0.0, "n={n}");
        let fine = GaussLegendre::new(n + 1).unwrap();
        let exact: f64 = fine
            .nodes()
            .iter()
            .zip(fine.weights())
            .map(|(&x, w)| w * omega2(x))
            .sum();
        assert!(exact > 0.0, "n={n}");
        // Symmetric, ascending.
        for i in 0..n {
            assert!((rule.nodes()[i] + rule.nodes()[n - 1 - i]).abs() < 1e-15);
        }
        assert!(rule.nodes().windows(2).all(|w| w[0] < w[1]));
    }
    // The 7-point rule equals the Gauss half of the (7, 15) Kronrod pair.
    let gl = GaussLegendre::new(7).unwrap();
    let k15 = GaussKronrodRule::K15;
    for i in 0..4 {
        let node = k15.kronrod_nodes()[2 * i + 1];
        assert!((gl.nodes()[6 - i] - node).abs() < 2e-16, "node {i}");
        assert!((gl.weights()[6 - i] - k15.gauss_weights()[i]).abs() < 4e-16);
    }
    assert!(GaussLegendre::new(0).is_err());
}

/// Every monomial x^α with |α| ≤ 7 on the box [0.2, 1.3] × [−0.5, 0.4] × …: the degree-7 rule is
/// exact (relative 1e-13: the weights of the rule have mixed signs and sizes up to ~2^d·0.6), the
/// degree-5 one for |α| ≤ 5, and neither beyond.
#[test]
fn genz_malik_degrees() {
    for d in 2..=5 {
        let rule = GenzMalik::new(d).unwrap();
        assert_eq!(rule.len(), (1 << d) + 2 * d * d + 2 * d + 1);
        let lower: Vec<f64> = (0..d).map(|i| 0.2 - 0.7 * i as f64 / d as f64).collect();
        let upper: Vec<f64> = (0..d).map(|i| 1.3 - 0.9 * i as f64 / d as f64).collect();
        let exact = |alpha: &[usize]| -> f64 {
            (0..d)
                .map(|i| {
                    let k = alpha[i] as i32 + 1;
                    (upper[i].powi(k) - lower[i].powi(k)) / k as f64
                })
                .product()
        };
        // Enumerate multi-indices with |α| ≤ 8.
        let mut alpha = vec![0usize; d];
        loop {
            let total: usize = alpha.iter().sum();
            if total <= 8 {
                let a = alpha.clone();
                let (i7, i5) = rule.integrate_once(
                    |x| (0..d).map(|i| x[i].powi(a[i] as i32)).product(),
                    &lower,
                    &upper,
                );
                let e = exact(&alpha);
                let scale = e.abs().max(1e-3);
                if total <= 7 {
                    assert!(
                        (i7 - e).abs() < 1e-13 * scale,
                        "d={d} α={alpha:?}: {i7} vs {e}"
                    );
                }
                if total <= 5 {
                    assert!((i5 - e).abs() < 1e-13 * scale, "d={d} α={alpha:?} (deg 5)");
                }
            }
            // Odometer over α ∈ {0..8}^d.
            let mut i = 0;
            loop {
                if i == d {
                    break;
                }
                alpha[i] += 1;
                if alpha[i] <= 8 {
                    break;
                }
                alpha[i] = 0;
                i += 1;
            }
            if i == d {
                break;
            }
        }
        // Not exact for x₁⁸ (degree 8), nor the degree-5 rule for x₁⁶.
        let mut a8 = vec![0usize; d];
        a8[0] = 8;
        let (i7, _) = rule.integrate_once(|x| x[0].powi(8), &lower, &upper);
        assert!((i7 - exact(&a8)).abs() > 1e-10 * exact(&a8).abs());
        a8[0] = 6;
        let (_, i5) = rule.integrate_once(|x| x[0].powi(6), &lower, &upper);
        assert!((i5 - exact(&a8)).abs() > 1e-10 * exact(&a8).abs());
    }
    assert!(GenzMalik::new(1).is_err());
}
