//! Cubature on boxes: 2-D and 3-D integrals with known values, vector integrands, the 1-D
//! fallback, tensor Gauss–Legendre exactness, limits and errors.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use std::f64::consts::PI;

use tangent_quadrature::cubature::{CubatureProblem, GenzMalikCubature, TensorGaussLegendre};
use tangent_quadrature::integrand::{Parallel, multi, multi_vector};
use tangent_quadrature::{QuadratureError, StopReason};

fn gm(rtol: f64) -> GenzMalikCubature {
    GenzMalikCubature {
        rtol,
        ..Default::default()
    }
}

#[test]
fn two_and_three_dimensional_integrals() {
    // (name, dimension, integrand, box, exact)
    type Case = (&'static str, Vec<f64>, Vec<f64>, fn(&[f64]) -> f64, f64);
    let e = 1f64.exp();
    let cases: Vec<Case> = vec![
        (
            "exp(x+y)",
            vec![0.0, 0.0],
            vec![1.0, 1.0],
            |x| (x[0] + x[1]).exp(),
            (e - 1.0).powi(2),
        ),
        // ∫∫ cos(x) cos(y) over [0, π/2]² = 1.
        (
            "cos x cos y",
            vec![0.0, 0.0],
            vec![PI / 2.0, PI / 2.0],
            |x| x[0].cos() * x[1].cos(),
            1.0,
        ),
        // Gaussian peak: ∫∫_{[−1,1]²} e^{−10(x²+y²)} = (√(π/10) erf(√10))².
        (
            "peak",
            vec![-1.0, -1.0],
            vec![1.0, 1.0],
            |x| (-10.0 * (x[0] * x[0] + x[1] * x[1])).exp(),
            (PI / 10.0) * libm_erf(10f64.sqrt()).powi(2),
        ),
        // ∫∫∫_{[0,1]³} e^{x+y+z} = (e − 1)³.
        (
            "exp(x+y+z)",
            vec![0.0; 3],
            vec![1.0; 3],
            |x| (x[0] + x[1] + x[2]).exp(),
            (e - 1.0).powi(3),
        ),
        // ∫∫∫_{[0,1]³} 1/(1 + x + y + z) — smooth, no product structure.
        (
            "1/(1+x+y+z)",
            vec![0.0; 3],
            vec![1.0; 3],
            |x| 1.0 / (1.0 + x[0] + x[1] + x[2]),
            // Closed form: Σ over the 8 corners of (−1)^{#ones}·(−(s²ln s)/2 … ) — computed by
            // the 3-fold antiderivative F(s) = s² ln(s)/2 − 3s²/4 with s = 1+x+y+z.
            third_antiderivative_sum(),
        ),
    ];
    for (name, lo, hi, f, exact) in cases {
        let d = lo.len();
        let problem = CubatureProblem::new(multi(d, f), &lo, &hi);
        let sol = gm(1e-10).solve(&problem).unwrap();
        assert!(
            (sol.value[0] - exact).abs() <= 1e-10 * exact.abs(),
            "{name}: {} vs {exact} (est {:e}, {} evaluations)",
            sol.value[0],
            sol.error,
            sol.evaluations
        );
        assert!(sol.error <= 1e-10 * sol.value[0].abs());
        assert_eq!(sol.evaluations % (if d == 2 { 17 } else { 33 }), 0);
        // The tensor rule with 20 points per axis agrees (these integrands are smooth).
        let tensor = TensorGaussLegendre { points: 20 }.solve(&problem).unwrap();
        assert!(
            (tensor.value[0] - exact).abs() <= 1e-9 * exact.abs(),
            "{name} tensor"
        );
        assert_eq!(tensor.evaluations, 20usize.pow(d as u32));
    }
}

/// erf by its series (enough terms for |x| ≤ 4), to avoid a dependency in the test.
fn libm_erf(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x;
    for n in 0..200 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
    }
    2.0 / PI.sqrt() * sum
}

/// `∫∫∫_{[0,1]³} 1/(1+x+y+z)`: with `G(s) = s² ln s / 2 − 3 s² / 4`, a third antiderivative of
/// `1/s` is `G` (G‴ = 1/s), so the integral is `Σ_{corners} (−1)^{3−#ones} G(1 + #ones)`.
fn third_antiderivative_sum() -> f64 {
    let g = |s: f64| s * s * s.ln() / 2.0 - 0.75 * s * s;
    // Corners with k ones: C(3, k) of them, sign (−1)^{3−k}.
    let binom = [1.0, 3.0, 3.0, 1.0];
    (0..4)
        .map(|k| binom[k] * if (3 - k) % 2 == 0 { 1.0 } else { -1.0 } * g(1.0 + k as f64))
        .sum()
}

#[test]
fn polynomials_exact_to_degree_seven() {
    // A degree-7 polynomial in 3-D: the first box's estimate is exact, but the degree-5 rule is
    // not, so the error estimate makes the algorithm subdivide; the value stays exact.
    let f = multi(3, |x: &[f64]| {
        x[0].powi(3) * x[1].powi(2) * x[2] + 2.0 * x[1].powi(7) - x[2]
    });
    let (lo, hi) = ([0.0, -1.0, 0.5], [2.0, 1.0, 1.5]);
    let exact = (16.0 / 4.0) * (2.0 / 3.0) * (1.0) + 2.0 * 0.0 * 2.0 - 2.0 * 2.0 * 1.0;
    let sol = gm(1e-12).solve(&CubatureProblem::new(f, &lo, &hi)).unwrap();
    assert!(
        (sol.value[0] - exact).abs() < 1e-13 * exact.abs().max(1.0),
        "{}",
        sol.value[0]
    );
    // Tensor Gauss–Legendre with n points is exact to degree 2n − 1 in each variable.
    let f = multi(2, |x: &[f64]| x[0].powi(9) * x[1].powi(5));
    let problem = CubatureProblem::new(f, &[0.0, 0.0], &[1.0, 2.0]);
    let exact = 0.1 * 64.0 / 6.0;
    let t5 = TensorGaussLegendre { points: 5 }.solve(&problem).unwrap();
    assert!((t5.value[0] - exact).abs() < 1e-14 * exact);
    let t4 = TensorGaussLegendre { points: 4 }.solve(&problem).unwrap();
    assert!((t4.value[0] - exact).abs() > 1e-8);
}

#[test]
fn vector_valued_and_parallel() {
    // (∫∫ x^k y over [0,1]², k = 0..3) = 1/(2(k+1)).
    let f = multi_vector(2, 4, |x: &[f64], y: &mut [f64]| {
        for k in 0..4 {
            y[k] = x[0].powi(k as i32) * x[1] * (x[0] * x[1]).cos();
        }
    });
    let problem = CubatureProblem::new(&f, &[0.0, 0.0], &[1.0, 1.0]);
    let sol = gm(1e-11).solve(&problem).unwrap();
    let reference = TensorGaussLegendre { points: 30 }.solve(&problem).unwrap();
    for k in 0..4 {
        assert!((sol.value[k] - reference.value[k]).abs() < 1e-11, "k={k}");
    }
    // Parallel batches and several boxes per batch give the same value (to the tolerance).
    let par = Parallel::new(2, &f).min_points(8);
    let wide = GenzMalikCubature {
        batch_boxes: 8,
        ..gm(1e-11)
    };
    let sol_par = wide
        .solve(&CubatureProblem::new(&par, &[0.0, 0.0], &[1.0, 1.0]))
        .unwrap();
    for k in 0..4 {
        assert!(
            (sol_par.value[k] - reference.value[k]).abs() < 1e-11,
            "k={k}"
        );
    }
}

#[test]
fn one_dimension_and_orientation() {
    // d = 1 uses the Gauss–Kronrod engine (its default (10, 21) pair on a finite interval).
    let f = multi(1, |x: &[f64]| x[0].exp());
    let sol = gm(1e-12)
        .solve(&CubatureProblem::new(&f, &[0.0], &[1.0]))
        .unwrap();
    assert!((sol.value[0] - (1f64.exp() - 1.0)).abs() < 1e-12);
    assert_eq!(sol.evaluations % 21, 0);
    // Reversing one side negates the integral, reversing two restores it.
    let g = multi(2, |x: &[f64]| (x[0] + 2.0 * x[1]).exp());
    let fwd = gm(1e-10)
        .solve(&CubatureProblem::new(&g, &[0.0, 0.0], &[1.0, 1.0]))
        .unwrap();
    let one = gm(1e-10)
        .solve(&CubatureProblem::new(&g, &[1.0, 0.0], &[0.0, 1.0]))
        .unwrap();
    let two = gm(1e-10)
        .solve(&CubatureProblem::new(&g, &[1.0, 1.0], &[0.0, 0.0]))
        .unwrap();
    assert!((fwd.value[0] + one.value[0]).abs() < 1e-12 * fwd.value[0]);
    assert!((fwd.value[0] - two.value[0]).abs() < 1e-12 * fwd.value[0]);
    let t = TensorGaussLegendre { points: 12 }
        .solve(&CubatureProblem::new(&g, &[1.0, 0.0], &[0.0, 1.0]))
        .unwrap();
    assert!((t.value[0] + fwd.value[0]).abs() < 1e-10 * fwd.value[0]);
}

#[test]
fn cubature_errors() {
    let f = multi(2, |x: &[f64]| if x[0] > 0.9 { f64::INFINITY } else { x[1] });
    match gm(1e-8)
        .solve(&CubatureProblem::new(&f, &[0.0, 0.0], &[1.0, 1.0]))
        .unwrap_err()
    {
        QuadratureError::NonFiniteIntegrand { x, .. } => assert!(x.len() == 2 && x[0] > 0.9),
        e => panic!("unexpected {e}"),
    }
    let g = multi(2, |x: &[f64]| x[0]);
    assert!(matches!(
        gm(1e-8).solve(&CubatureProblem::new(
            &g,
            &[0.0, 0.0],
            &[1.0, f64::INFINITY]
        )),
        Err(QuadratureError::InvalidInterval {
            dimension: Some(1),
            ..
        })
    ));
    assert!(matches!(
        gm(1e-8).solve(&CubatureProblem::new(&g, &[0.0, 0.0], &[1.0])),
        Err(QuadratureError::DimensionMismatch { .. })
    ));
    // A discontinuity along a diagonal cannot be resolved to 1e-12 in 5000 evaluations.
    let step = multi(2, |x: &[f64]| if x[0] + x[1] > 1.0 { 1.0 } else { 0.0 });
    let limited = GenzMalikCubature {
        max_evaluations: 5000,
        ..gm(1e-12)
    };
    match limited
        .solve(&CubatureProblem::new(&step, &[0.0, 0.0], &[1.0, 1.0]))
        .unwrap_err()
    {
        QuadratureError::ToleranceNotMet {
            value,
            reason,
            evaluations,
            ..
        } => {
            assert_eq!(reason, StopReason::MaxEvaluations);
            assert!(evaluations <= 5000);
            assert!((value[0] - 0.5).abs() < 1e-2);
        }
        e => panic!("unexpected {e}"),
    }
    assert!(
        TensorGaussLegendre { points: 0 }
            .solve(&CubatureProblem::new(&g, &[0.0, 0.0], &[1.0, 1.0]))
            .is_err()
    );
}
