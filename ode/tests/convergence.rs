//! Convergence orders measured on problems with known solutions: the global error of fixed-step
//! integration (the method's order), and the error of the dense output between steps (the
//! interpolant's order). Every measured order must be within ±0.3 of the theory.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: indices mirror the maths; unwrap is the assertion

mod common;

use common::*;
use tangent_ode::{
    Dp5, ExplicitRungeKutta, OdeAlgorithm, OdeOptions, OdeProblem, OdeRhs, Tsit5, Vern7, solve,
};

/// Fixed-step solve of `prob` with `steps` steps over its span.
fn fixed<F: OdeRhs + Clone, A: OdeAlgorithm>(
    prob: &OdeProblem<F>,
    alg: &A,
    steps: usize,
) -> Vec<f64> {
    let (t0, t1) = prob.tspan;
    let opts = OdeOptions {
        adaptive: false,
        initial_step: Some((t1 - t0) / steps as f64),
        dense: false,
        saveat: vec![t1],
        ..Default::default()
    };
    let mut p = prob.clone();
    p.options = opts;
    let sol = solve(&p, alg).unwrap();
    assert_eq!(sol.stats().accepted_steps, steps);
    sol.last_state().unwrap().to_vec()
}

/// Least-squares order of the global error at `t1` over fixed-step solves with `steps` steps.
fn order<F: OdeRhs + Clone, A: OdeAlgorithm + ExplicitRungeKutta>(
    prob: &OdeProblem<F>,
    exact: &[f64],
    alg: &A,
    steps: &[usize],
) -> f64 {
    let (t0, t1) = prob.tspan;
    let (mut hs, mut errs) = (vec![], vec![]);
    for &n in steps {
        let u = fixed(prob, alg, n);
        let err = u
            .iter()
            .zip(exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        hs.push((t1 - t0) / n as f64);
        errs.push(err);
    }
    let p = slope(&hs, &errs);
    println!("{}: errors {} -> order {p:.3}", A::NAME, fmt(&errs));
    p
}

#[test]
fn global_orders_match_theory() {
    // Kepler's problem over one revolution (nonlinear: every elementary differential appears)
    // and the harmonic oscillator over t ∈ [0, 10] (linear: the stability function's error).
    // Step counts put the errors between ~1e-6 and ~1e-12: past the pre-asymptotic range (the
    // 5th-order pairs, Tsit5 especially, have small leading error coefficients, so their measured
    // order approaches 5 from above) and above accumulated round-off (~N ε).
    let two_pi = 2.0 * std::f64::consts::PI;
    let kepler = |e: f64| {
        (
            OdeProblem::new(Kepler, kepler_initial(e), (0.0, two_pi), vec![]),
            kepler_exact(e, two_pi).to_vec(),
        )
    };
    let osc = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 10.0), vec![]);
    let osc_exact = [10f64.cos(), -10f64.sin()];
    let (k5, k5_exact) = kepler(0.5);
    let (k8, k8_exact) = kepler(0.8);
    let kepler5_steps = [480, 679, 960, 1358, 1920];
    let osc5_steps = [80, 113, 160, 226, 320, 453];
    let cases = [
        (
            "Tsit5",
            order(&k5, &k5_exact, &Tsit5::default(), &kepler5_steps),
            order(&osc, &osc_exact, &Tsit5::default(), &osc5_steps),
            5.0,
        ),
        (
            "DP5",
            order(&k5, &k5_exact, &Dp5::default(), &kepler5_steps),
            order(&osc, &osc_exact, &Dp5::default(), &osc5_steps),
            5.0,
        ),
        (
            "Vern7",
            order(
                &k8,
                &k8_exact,
                &Vern7::default(),
                &[339, 480, 679, 960, 1358],
            ),
            order(
                &osc,
                &osc_exact,
                &Vern7::default(),
                &[20, 28, 40, 57, 80, 113],
            ),
            7.0,
        ),
    ];
    for (name, kepler, oscillator, p) in cases {
        assert!((kepler - p).abs() <= 0.3, "{name} Kepler order {kepler}");
        assert!(
            (oscillator - p).abs() <= 0.3,
            "{name} oscillator order {oscillator}"
        );
    }
}

/// Largest error of the dense output over one step of size `h` from the exact initial value, at
/// 9 interior points.
fn one_step_dense_error<A: OdeAlgorithm>(alg: &A, h: f64) -> f64 {
    let e = 0.5;
    let prob =
        OdeProblem::new(Kepler, kepler_initial(e), (0.0, h), vec![]).with_options(OdeOptions {
            adaptive: false,
            initial_step: Some(h),
            ..Default::default()
        });
    let sol = solve(&prob, alg).unwrap();
    assert_eq!(sol.stats().accepted_steps, 1);
    (1..10)
        .map(|j| {
            let t = h * j as f64 / 10.0;
            let u = sol.at(t).unwrap();
            let ex = kepler_exact(e, t);
            (0..4).map(|i| (u[i] - ex[i]).abs()).fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

fn dense_order<A: OdeAlgorithm + ExplicitRungeKutta>(alg: &A, hs: &[f64]) -> f64 {
    let errs: Vec<f64> = hs.iter().map(|&h| one_step_dense_error(alg, h)).collect();
    println!("{} dense one-step errors {}", A::NAME, fmt(&errs));
    slope(hs, &errs)
}

#[test]
fn dense_output_orders_match_theory() {
    // Local interpolation error O(h^(q+1)) for an interpolant of order q.
    let hs5 = [0.1, 0.07, 0.05, 0.035, 0.025];
    let tsit5 = dense_order(&Tsit5::default(), &hs5);
    let dp5 = dense_order(&Dp5::default(), &hs5);
    let vern7 = dense_order(&Vern7::default(), &[0.2, 0.14, 0.1, 0.07, 0.05]);
    println!("dense local orders: Tsit5 {tsit5:.3}, DP5 {dp5:.3}, Vern7 {vern7:.3}");
    assert!((tsit5 - 5.0).abs() <= 0.3, "Tsit5 dense order {tsit5}");
    assert!((dp5 - 5.0).abs() <= 0.3, "DP5 dense order {dp5}");
    assert!((vern7 - 8.0).abs() <= 0.3, "Vern7 dense order {vern7}");
}
