//! The 1-D adaptive integrator on a battery of integrals with known values, its limits and
//! errors, and P8's values and evaluation counts.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use std::f64::consts::PI;

use tangent_quadrature::integrand::{Parallel, batch, scalar, vector};
use tangent_quadrature::problems::P8;
use tangent_quadrature::{
    ErrorEstimate, GaussKronrod, GaussKronrodRule, IntegralProblem, Integrator, Norm,
    QuadratureError, StopReason, solve,
};

fn alg(rtol: f64) -> GaussKronrod {
    GaussKronrod {
        rtol,
        ..Default::default()
    }
}

/// Checks the value against `exact` and that the true error is within the tolerance asked for
/// (`rtol`, relative) — the error estimate's job — and that the estimate claims no more than
/// the tolerance.
fn check(name: &str, f: impl Fn(f64) -> f64, a: f64, b: f64, exact: f64, rtol: f64) -> usize {
    for rule in GaussKronrodRule::ALL {
        let alg = GaussKronrod {
            rule: Some(rule),
            ..alg(rtol)
        };
        let sol = solve(&IntegralProblem::new(scalar(&f), a, b), &alg)
            .unwrap_or_else(|e| panic!("{name} {rule:?}: {e}"));
        let err = (sol.value[0] - exact).abs();
        assert!(
            err <= rtol * exact.abs(),
            "{name} {rule:?}: {} vs {exact} (error {err:e}, estimate {:e})",
            sol.value[0],
            sol.error
        );
        assert!(sol.error <= rtol * sol.value[0].abs());
    }
    let sol = solve(&IntegralProblem::new(scalar(&f), a, b), &alg(rtol)).unwrap();
    sol.evaluations
}

#[test]
fn polynomials_are_exact_to_the_rule_degree() {
    // Every piece integrates a polynomial of the rule's degree exactly, so the result is exact
    // to rounding however the interval was split (the Gauss estimate, which has a lower degree,
    // makes the integrator bisect a few times before it believes it).
    for rule in GaussKronrodRule::ALL {
        let deg = rule.degree() as i32;
        let alg = GaussKronrod {
            rule: Some(rule),
            rtol: 1e-12,
            ..Default::default()
        };
        let f = scalar(move |x: f64| (deg as f64 + 1.0) * x.powi(deg) + 3.0 * x * x - 1.0);
        let (a, b): (f64, f64) = (-0.3, 1.1);
        let exact = b.powi(deg + 1) - a.powi(deg + 1) + (b.powi(3) - a.powi(3)) - (b - a);
        let sol = solve(&IntegralProblem::new(f, a, b), &alg).unwrap();
        // 4e-15 relative: the sum of 2n+1 terms of size up to deg·1.1^deg, rounded.
        assert!(
            (sol.value[0] - exact).abs() < 4e-15 * exact.abs().max(1.0) * deg as f64,
            "{rule:?}: {} vs {exact}",
            sol.value[0]
        );
    }
}

#[test]
fn battery_of_known_integrals() {
    // Smooth.
    check("exp", f64::exp, 0.0, 1.0, 1f64.exp() - 1.0, 1e-12);
    check(
        "cos(10x)",
        |x| (10.0 * x).cos(),
        0.0,
        1.0,
        10f64.sin() / 10.0,
        1e-12,
    );
    check(
        "x cos(100x)",
        |x| (100.0 * x).cos() * x,
        0.0,
        1.0,
        // ∫ x cos(kx) = [x sin(kx)/k + cos(kx)/k²].
        100f64.sin() / 100.0 + (100f64.cos() - 1.0) / 1e4,
        1e-10,
    );
    // Endpoint singularities (integrable; nodes are interior).
    let n = check("x^-1/2", |x| 1.0 / x.sqrt(), 0.0, 1.0, 2.0, 1e-10);
    assert!(n < 3000, "x^-1/2 took {n} evaluations");
    let n = check("ln x", f64::ln, 0.0, 1.0, -1.0, 1e-10);
    // Plain bisection towards the singular endpoint (QUADPACK's QAGS adds extrapolation and
    // needs fewer): about 20 levels of 2 × 15 points.
    assert!(n < 1500, "ln x took {n} evaluations");
    // At a non-zero endpoint the resolution is limited by the spacing of doubles there
    // (∫_{1−h}^1 (1−x)^{−1/2} = 2√h with h ≥ ε): rtol 1e-6 is reachable, 1e-10 is not (below).
    check(
        "(1-x)^-1/2",
        |x| 1.0 / (1.0 - x).sqrt(),
        0.0,
        1.0,
        2.0,
        1e-6,
    );
    check(
        "ln(x) / sqrt(x)",
        |x| x.ln() / x.sqrt(),
        0.0,
        1.0,
        -4.0,
        1e-9,
    );
    // Infinite intervals.
    check(
        "Gaussian over R",
        |x| (-x * x).exp(),
        f64::NEG_INFINITY,
        f64::INFINITY,
        PI.sqrt(),
        1e-12,
    );
    check(
        "x² e^{-px}, p = 3",
        |x| x * x * (-3.0 * x).exp(),
        0.0,
        f64::INFINITY,
        2.0 / 27.0,
        1e-12,
    );
    check(
        "e^{x} on (−∞, 0]",
        f64::exp,
        f64::NEG_INFINITY,
        0.0,
        1.0,
        1e-12,
    );
    check(
        "1/(1+x²) over [1, ∞)",
        |x| 1.0 / (1.0 + x * x),
        1.0,
        f64::INFINITY,
        PI / 4.0,
        1e-12,
    );
    check(
        "shifted Gaussian over R",
        |x| (-(x - 3.0) * (x - 3.0)).exp(),
        f64::NEG_INFINITY,
        f64::INFINITY,
        PI.sqrt(),
        1e-10,
    );
}

/// SciPy's `quad` (QUADPACK QAGS on [0, 1], QAGI on [0, ∞)) at epsabs = 0, epsrel = 1e-10:
/// integrand evaluations for P8's two integrals (`benches/peers/quadrature_scipy.py`).
const QUADPACK_EVALUATIONS: (usize, usize) = (63, 165);

#[test]
fn p8_values_and_evaluation_counts() {
    let f1 = scalar(|x: f64| (-P8::P * x * x).exp() * (10.0 * x).cos());
    let f2 = scalar(|x: f64| (-P8::P * x).exp() * x * x);
    let mut counts = Vec::new();
    for rule in [
        None,
        Some(GaussKronrodRule::K15),
        Some(GaussKronrodRule::K21),
    ] {
        let alg = GaussKronrod {
            rule,
            ..P8::algorithm()
        };
        let s1 = solve(&IntegralProblem::new(&f1, 0.0, 1.0), &alg).unwrap();
        let s2 = solve(&IntegralProblem::new(&f2, 0.0, f64::INFINITY), &alg).unwrap();
        // The oracle within the tolerance asked for.
        assert!((s1.value[0] - P8::I1).abs() <= P8::RTOL * P8::I1.abs());
        assert!((s2.value[0] - P8::I2).abs() <= P8::RTOL * P8::I2);
        counts.push((s1.evaluations, s2.evaluations));
    }
    // The engine is QUADPACK's QAG strategy with its error estimate: with the same pair it
    // spends the same evaluations as SciPy's quad, and the default picks QUADPACK's pairs
    // ((10, 21) on the finite interval as QAGS, (7, 15) on the infinite one as QAGI).
    assert_eq!(counts[0], QUADPACK_EVALUATIONS, "default pair");
    assert!(counts[0].0 <= QUADPACK_EVALUATIONS.0 && counts[0].1 <= QUADPACK_EVALUATIONS.1);
    assert_eq!(counts[1], (105, 165), "(7, 15) pair");
    assert_eq!(counts[2], (63, 147), "(10, 21) pair");
}

#[test]
fn vector_valued_integrand_shares_nodes() {
    // (∫ cos kx, k = 1..4) over [0, 1] with one error norm.
    let f = vector(4, |x: f64, y: &mut [f64]| {
        for k in 0..4 {
            y[k] = ((k + 1) as f64 * x).cos();
        }
    });
    for norm in [Norm::Euclidean, Norm::Max] {
        let alg = GaussKronrod {
            rtol: 1e-12,
            norm,
            ..Default::default()
        };
        let sol = solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg).unwrap();
        for k in 0..4 {
            let kk = (k + 1) as f64;
            assert!(
                (sol.value[k] - kk.sin() / kk).abs() < 1e-12,
                "{norm:?} k={kk}"
            );
        }
        // One set of nodes: the cost of the hardest component alone, not four times it.
        let single = solve(
            &IntegralProblem::new(scalar(|x: f64| (4.0 * x).cos()), 0.0, 1.0),
            &alg,
        )
        .unwrap();
        assert!(sol.evaluations <= single.evaluations * 2);
    }
}

#[test]
fn component_rows_match_the_column_path() {
    // The engine sums up to four components side by side (one row per node) and more as
    // separate columns. Zero components add nothing to the values, errors, norms or floors, so
    // m components padded with zeros to more than four must give bit-for-bit the same result
    // through the column path, on a finite and an infinite interval.
    let comp = |k: usize, x: f64| ((k + 1) as f64 * x).cos() * (-x).exp();
    for m in 2..=4 {
        for upper in [1.0, f64::INFINITY] {
            let rows = vector(m, |x: f64, y: &mut [f64]| {
                for (k, yk) in y.iter_mut().enumerate() {
                    *yk = comp(k, x);
                }
            });
            let padded = vector(m + 3, |x: f64, y: &mut [f64]| {
                for (k, yk) in y.iter_mut().enumerate() {
                    *yk = if k < m { comp(k, x) } else { 0.0 };
                }
            });
            let a = solve(&IntegralProblem::new(&rows, 0.0, upper), &alg(1e-11)).unwrap();
            let b = solve(&IntegralProblem::new(&padded, 0.0, upper), &alg(1e-11)).unwrap();
            assert_eq!(a.value[..], b.value[..m], "m={m} upper={upper}");
            assert_eq!(b.value[m..], [0.0; 3]);
            assert_eq!((a.error, a.evaluations), (b.error, b.evaluations));
            // ∫_0^∞ e^{−x} cos kx = 1/(1 + k²); on [0, 1] against the closed form
            // Re ∫_0^1 e^{(ik − 1)x} = Re (e^{ik − 1} − 1)/(ik − 1).
            for k in 0..m {
                let kk = (k + 1) as f64;
                let exact = if upper.is_infinite() {
                    1.0 / (1.0 + kk * kk)
                } else {
                    let (re, im) = ((-1.0f64).exp() * kk.cos() - 1.0, (-1.0f64).exp() * kk.sin());
                    (-re + kk * im) / (1.0 + kk * kk)
                };
                // 1e-10: rtol 1e-11 on the norm of the vector, whose entries are ≥ 0.05 of it.
                assert!(
                    (a.value[k] - exact).abs() < 1e-10 * exact.abs(),
                    "m={m} k={k} upper={upper}: {} vs {exact}",
                    a.value[k]
                );
            }
        }
    }
}

#[test]
fn non_finite_values_reported_for_every_component_width() {
    // A NaN in the last component past x = 0.7, through the row sums (m ≤ 4) and the column
    // sums (m > 4): the error names the point and the component.
    for m in [1, 2, 3, 4, 6] {
        let f = vector(m, move |x: f64, y: &mut [f64]| {
            y.fill(x);
            if x > 0.7 {
                y[m - 1] = f64::NAN;
            }
        });
        match solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg(1e-8)).unwrap_err() {
            QuadratureError::NonFiniteIntegrand {
                x,
                component,
                value,
            } => {
                assert!(x[0] > 0.7 && x[0] < 1.0, "m={m}");
                assert_eq!(component, m - 1);
                assert!(value.is_nan());
            }
            e => panic!("m={m}: unexpected {e}"),
        }
    }
    // A finite value whose product with the map's Jacobian overflows: ∫_0^∞ 1e300 diverges, and
    // the pieces next to t = 1 (x → ∞) reach dx/dt = 1/(1 − t)² > 1e8.
    let f = scalar(|_: f64| 1e300);
    match solve(&IntegralProblem::new(&f, 0.0, f64::INFINITY), &alg(1e-8)).unwrap_err() {
        QuadratureError::NonFiniteIntegrand {
            x,
            component,
            value,
        } => {
            assert!(x[0] > 1e3, "x = {}", x[0]);
            assert_eq!(component, 0);
            assert_eq!(value, f64::INFINITY);
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn reversed_and_empty_intervals() {
    let f = scalar(f64::exp);
    let fwd = solve(&IntegralProblem::new(&f, 0.0, 2.0), &alg(1e-12)).unwrap();
    let rev = solve(&IntegralProblem::new(&f, 2.0, 0.0), &alg(1e-12)).unwrap();
    assert_eq!(fwd.value[0], -rev.value[0]);
    let inf = solve(
        &IntegralProblem::new(&f, 0.0, f64::NEG_INFINITY),
        &alg(1e-12),
    )
    .unwrap();
    assert!((inf.value[0] + 1.0).abs() < 1e-12);
    let empty = solve(&IntegralProblem::new(&f, 1.5, 1.5), &alg(1e-12)).unwrap();
    assert_eq!((empty.value[0], empty.evaluations), (0.0, 0));
}

#[test]
fn breakpoints_at_kinks() {
    // |x − 1/3| has a kink at 1/3: with the breakpoint the first pieces are smooth.
    let f = scalar(|x: f64| (x - 1.0 / 3.0).abs());
    let exact = 0.5 * ((1.0f64 / 3.0).powi(2) + (2.0f64 / 3.0).powi(2));
    let with = solve(
        &IntegralProblem::new(&f, 0.0, 1.0).with_breakpoints(&[1.0 / 3.0]),
        &alg(1e-13),
    )
    .unwrap();
    assert!((with.value[0] - exact).abs() < 1e-14);
    assert_eq!(
        with.evaluations, 42,
        "two exact pieces of the (10, 21) pair"
    );
    let without = solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg(1e-13)).unwrap();
    assert!((without.value[0] - exact).abs() < 1e-13);
    assert!(without.evaluations > with.evaluations);
    // Breakpoints on infinite intervals are mapped too.
    let g = scalar(|x: f64| if x < 2.0 { 1.0 } else { (-(x - 2.0)).exp() });
    let sol = solve(
        &IntegralProblem::new(&g, 0.0, f64::INFINITY).with_breakpoints(&[2.0]),
        &alg(1e-12),
    )
    .unwrap();
    assert!((sol.value[0] - 3.0).abs() < 1e-11);
    let err = solve(
        &IntegralProblem::new(&g, 0.0, 1.0).with_breakpoints(&[2.0]),
        &alg(1e-12),
    )
    .unwrap_err();
    assert!(matches!(err, QuadratureError::InvalidBreakpoint { point, .. } if point == 2.0));
}

#[test]
fn errors_say_what_and_where() {
    // Non-finite integrand: reported with the point.
    let f = scalar(|x: f64| if x > 0.7 { f64::NAN } else { x });
    match solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg(1e-8)).unwrap_err() {
        QuadratureError::NonFiniteIntegrand {
            x,
            component,
            value,
        } => {
            assert!(x[0] > 0.7 && x[0] < 1.0);
            assert_eq!(component, 0);
            assert!(value.is_nan());
        }
        e => panic!("unexpected {e}"),
    }
    // Invalid intervals.
    let g = scalar(f64::exp);
    for (a, b) in [
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
        (f64::INFINITY, f64::INFINITY),
    ] {
        assert!(matches!(
            solve(&IntegralProblem::new(&g, a, b), &alg(1e-8)),
            Err(QuadratureError::InvalidInterval { .. })
        ));
    }
    // Tolerance not met: the estimate is returned with the reason.
    let osc = scalar(|x: f64| (1000.0 * x).sin() * x);
    let limited = GaussKronrod {
        max_evaluations: 200,
        ..alg(1e-10)
    };
    match solve(&IntegralProblem::new(&osc, 0.0, 10.0), &limited).unwrap_err() {
        QuadratureError::ToleranceNotMet {
            value,
            error,
            tolerance,
            evaluations,
            reason,
        } => {
            assert_eq!(reason, StopReason::MaxEvaluations);
            assert!(evaluations <= 200 && error > tolerance && value.len() == 1);
        }
        e => panic!("unexpected {e}"),
    }
    let limited = GaussKronrod {
        max_subdivisions: 3,
        ..alg(1e-10)
    };
    assert!(matches!(
        solve(&IntegralProblem::new(&osc, 0.0, 10.0), &limited),
        Err(QuadratureError::ToleranceNotMet {
            reason: StopReason::MaxSubdivisions,
            ..
        })
    ));
    // A tolerance below the rounding floor: an exactly-zero integral with atol = 0.
    let odd = scalar(|x: f64| x.sin());
    assert!(matches!(
        solve(&IntegralProblem::new(&odd, -1.0, 1.0), &alg(1e-10)),
        Err(QuadratureError::ToleranceNotMet {
            reason: StopReason::RoundoffLimit,
            ..
        })
    ));
    let with_atol = GaussKronrod {
        atol: 1e-12,
        ..alg(1e-10)
    };
    let sol = solve(&IntegralProblem::new(&odd, -1.0, 1.0), &with_atol).unwrap();
    assert!(sol.value[0].abs() < 1e-15);
    // A non-integrable singularity: 1/x at 0. The pieces shrink towards 0 until the integrand
    // overflows at a subnormal x, which is reported.
    let pole = scalar(|x: f64| 1.0 / x);
    assert!(matches!(
        solve(&IntegralProblem::new(&pole, 0.0, 1.0), &alg(1e-8)),
        Err(QuadratureError::NonFiniteIntegrand { x, .. }) if x[0] < 1e-300
    ));
    // A singularity at 1 cannot be resolved below the spacing of doubles next to 1. With every
    // pair the bisection stops before a node rounds onto x = 1 (where f is infinite).
    let sing = scalar(|x: f64| 1.0 / (1.0 - x).sqrt());
    for rule in GaussKronrodRule::ALL {
        let alg = GaussKronrod {
            rule: Some(rule),
            ..alg(1e-10)
        };
        match solve(&IntegralProblem::new(&sing, 0.0, 1.0), &alg).unwrap_err() {
            QuadratureError::ToleranceNotMet {
                reason: StopReason::IntervalTooSmall { x },
                value,
                ..
            } => {
                // Within 1e-12 of 1: the last piece must be wide enough for the outer node
                // (1 − 5.2e-4 for the (30, 61) pair) to stay a double below 1, about 2e-13.
                assert!(x > 1.0 - 1e-12 && x < 1.0, "{rule:?}");
                assert!((value[0] - 2.0).abs() < 1e-6, "{rule:?}");
            }
            e => panic!("{rule:?}: unexpected {e}"),
        }
    }
    // Bad options and shapes.
    assert!(
        Integrator::new(&GaussKronrod {
            rtol: -1.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Integrator::new(&GaussKronrod {
            rtol: 0.0,
            atol: 0.0,
            ..Default::default()
        })
        .is_err()
    );
    let mut it = Integrator::new(&alg(1e-8)).unwrap();
    let mut two = [0.0; 2];
    assert!(matches!(
        it.integrate_into(&g, 0.0, 1.0, &mut two),
        Err(QuadratureError::DimensionMismatch {
            expected: 1,
            found: 2,
            ..
        })
    ));
}

#[test]
fn error_estimates_are_honest() {
    // On a family of peaked integrands, the true error is below the estimate for both
    // estimators, and the difference estimate is the more pessimistic one.
    for k in [1.0, 10.0, 100.0, 1000.0] {
        let f = scalar(move |x: f64| k / (1.0 + (k * (x - 0.3)).powi(2)));
        let exact = (0.7 * k).atan() + (0.3 * k).atan();
        let mut evals = [0; 2];
        for (i, est) in [ErrorEstimate::Quadpack, ErrorEstimate::Difference]
            .into_iter()
            .enumerate()
        {
            let alg = GaussKronrod {
                rtol: 1e-9,
                error_estimate: est,
                ..Default::default()
            };
            let sol = solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg).unwrap();
            assert!(
                (sol.value[0] - exact).abs() <= sol.error.max(1e-15),
                "k={k} {est:?}"
            );
            evals[i] = sol.evaluations;
        }
        assert!(evals[1] >= evals[0], "k={k}: {evals:?}");
    }
}

#[test]
fn batched_and_parallel_integrands() {
    let exact = 1f64.exp() - 1.0;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let f = batch(1, |x: &[f64], y: &mut [f64]| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = 1.0 / (1.0 + 1e4 * (xi - 0.3) * (xi - 0.3));
        }
    });
    let reference = solve(&IntegralProblem::new(&f, 0.0, 1.0), &alg(1e-12)).unwrap();
    let calls_one = calls.swap(0, std::sync::atomic::Ordering::Relaxed);
    // One call per bisection (both halves in one batch) plus the initial piece.
    assert_eq!(calls_one, (reference.evaluations / 21).div_ceil(2)); // (10, 21) pair
    let wide = GaussKronrod {
        batch_segments: 4,
        ..alg(1e-12)
    };
    let batched = solve(&IntegralProblem::new(&f, 0.0, 1.0), &wide).unwrap();
    let calls_four = calls.swap(0, std::sync::atomic::Ordering::Relaxed);
    assert!(calls_four < calls_one, "{calls_four} vs {calls_one}");
    assert!((batched.value[0] - reference.value[0]).abs() < 1e-12 * reference.value[0].abs());
    // Parallel evaluation gives the same numbers (same nodes, same order of summation).
    let g = scalar(f64::exp);
    let par = Parallel::new(1, scalar(f64::exp)).min_points(4);
    let a = solve(&IntegralProblem::new(&g, 0.0, 1.0), &wide).unwrap();
    let b = solve(&IntegralProblem::new(&par, 0.0, 1.0), &wide).unwrap();
    assert_eq!(a.value, b.value);
    assert!((a.value[0] - exact).abs() < 1e-12);
}

#[test]
fn integrator_reuse_matches_solve() {
    let mut it = Integrator::new(&alg(1e-11)).unwrap();
    let mut v = [0.0];
    for k in 1..20 {
        let kf = k as f64;
        let f = scalar(move |x: f64| (-kf * x).exp());
        let stats = it.integrate_into(&f, 0.0, f64::INFINITY, &mut v).unwrap();
        assert!((v[0] - 1.0 / kf).abs() < 1e-11 / kf, "k={k}");
        let sol = solve(&IntegralProblem::new(&f, 0.0, f64::INFINITY), &alg(1e-11)).unwrap();
        assert_eq!((sol.value[0], sol.evaluations), (v[0], stats.evaluations));
    }
}
