//! The Moré–Garbow–Hillstrom test set from the standard starting points: every algorithm either
//! converges to a known root (or minimum) or reports its failure with a typed reason.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_nonlinsolve::problems::*;
use tangent_nonlinsolve::*;

fn algorithms() -> [(&'static str, Algorithm); 4] {
    [
        ("Newton", NewtonRaphson::default().into()),
        ("TrustRegion", TrustRegion::default().into()),
        ("LevenbergMarquardt", LevenbergMarquardt::default().into()),
        ("Broyden", Broyden::default().into()),
    ]
}

fn run<F: NonlinearFunction>(
    f: &F,
    u0: &[f64],
    alg: &Algorithm,
) -> Result<NonlinearSolution, NonlinsolveError> {
    solve(&NonlinearProblem::new(f, u0.to_vec(), vec![]), alg)
}

/// `‖F(u)‖∞` recomputed independently of the solver.
fn residual_inf<F: NonlinearFunction>(f: &F, u: &[f64]) -> f64 {
    let mut r = vec![0.0; f.residual_len(u.len())];
    f.residual(u, &[], &mut r);
    r.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

fn p<F: NonlinearFunction>(f: F, u0: Vec<f64>) -> NonlinearProblem<F> {
    NonlinearProblem::new(f, u0, vec![])
}

fn sum_sq(r: &[f64]) -> f64 {
    r.iter().map(|x| x * x).sum()
}

/// The default absolute residual tolerance.
const ABSTOL: f64 = 1e-10;

/// Asserts convergence with a residual that really is below the tolerance, and returns `u`.
fn converged<F: NonlinearFunction + HasStart>(
    name: &str,
    f: &F,
    alg: &(&str, Algorithm),
) -> Vec<f64> {
    let sol = run(f, &f.start(), &alg.1).unwrap_or_else(|e| panic!("{name} / {}: {e}", alg.0));
    assert!(
        sol.reason.is_success(),
        "{name} / {}: {:?}",
        alg.0,
        sol.reason
    );
    let r = residual_inf(f, &sol.u);
    assert!(
        r <= ABSTOL && (r - sol.residual_norm).abs() <= 1e-15,
        "{name} / {}: residual {r:e}, reported {:e}",
        alg.0,
        sol.residual_norm
    );
    sol.u
}

/// The standard starting points of the zoo, behind one trait for the helpers.
trait HasStart {
    fn start(&self) -> Vec<f64>;
}
macro_rules! has_start {
    ($($t:ty),*) => {$(
        impl HasStart for $t {
            fn start(&self) -> Vec<f64> {
                <$t>::start(self)
            }
        }
    )*};
}
has_start!(
    Rosenbrock,
    PowellSingular,
    PowellBadlyScaled,
    Wood,
    HelicalValley,
    FreudensteinRoth,
    BrownAlmostLinear,
    DiscreteBoundaryValue,
    DiscreteIntegralEquation,
    Trigonometric,
    VariablyDimensioned,
    BroydenTridiagonal,
    BroydenBanded,
    Chebyquad
);

fn assert_close(name: &str, u: &[f64], root: &[f64], tol: f64) {
    for (i, (a, b)) in u.iter().zip(root).enumerate() {
        assert!((a - b).abs() <= tol, "{name}[{i}]: {a} vs {b}");
    }
}

#[test]
fn regular_roots_from_the_standard_starts() {
    // Roots with a nonsingular Jacobian: ‖u − u*‖ ≤ ‖J⁻¹‖ ‖F‖ with ‖F‖∞ ≤ 1e-10 and ‖J⁻¹‖ ≤ 10
    // for these three, so 1e-9.
    for alg in &algorithms() {
        let u = converged("Rosenbrock", &Rosenbrock, alg);
        assert_close("Rosenbrock", &u, &[1.0, 1.0], 1e-9);
        let u = converged("HelicalValley", &HelicalValley, alg);
        assert_close("HelicalValley", &u, &[1.0, 0.0, 0.0], 1e-9);
        let vd = VariablyDimensioned { n: 10 };
        let u = converged("VariablyDimensioned", &vd, alg);
        assert_close("VariablyDimensioned", &u, &[1.0; 10], 1e-9);
    }
}

#[test]
fn badly_scaled_and_wood() {
    // Powell's badly scaled function: the root has u₁u₂ = 10⁻⁴ exactly and
    // e^{−u₁} + e^{−u₂} = 1.0001; MGH give u* ≈ (1.098159e-5, 9.106146).
    for alg in &algorithms() {
        let u = converged("PowellBadlyScaled", &PowellBadlyScaled, alg);
        assert!((u[0] * u[1] - 1e-4).abs() <= 1e-14, "{}: {u:?}", alg.0);
        assert!((u[0] - 1.098159e-5).abs() < 1e-11 && (u[1] - 9.106146).abs() < 1e-6);
        // Wood's gradient equations from (−3, −1, −3, −1) reach the stationary point near
        // (−0.968, 0.947, −0.970, 0.951), not the minimiser (1, 1, 1, 1): a root of F all the
        // same (F is the scaled gradient of Wood's function, which is stationary there too).
        let u = converged("Wood", &Wood, alg);
        assert!((u[0] + 0.9679740249).abs() < 1e-7, "{}: {u:?}", alg.0);
        assert!((u[1] - 0.9471391408).abs() < 1e-7, "{}: {u:?}", alg.0);
    }
}

#[test]
fn powell_singular_converges_linearly_to_its_singular_root() {
    // At the root 0 the Jacobian is singular; F ~ u² there, so ‖F‖∞ ≤ 1e-10 leaves
    // ‖u‖∞ ≈ 1e-5. Convergence to this singular root is linear (the error halves per Newton
    // iteration), so about log2(3 / 1e-5) ≈ 18 iterations are needed.
    for alg in &algorithms() {
        let sol = run(&PowellSingular, &PowellSingular.start(), &alg.1).unwrap();
        assert!(sol.reason.is_success());
        assert!(
            sol.u.iter().all(|x| x.abs() < 1e-4),
            "{}: {:?}",
            alg.0,
            sol.u
        );
        assert!(sol.stats.iterations >= 15, "{}: {:?}", alg.0, sol.stats);
    }
}

#[test]
fn freudenstein_roth_fails_honestly() {
    // From (0.5, −2) descent methods are drawn to the local minimum of ‖F‖² = 48.9842 (MGH),
    // not to the root (5, 4). Every algorithm must say so.
    for alg in &algorithms() {
        let err = run(&FreudensteinRoth, &FreudensteinRoth.start(), &alg.1).unwrap_err();
        let NonlinsolveError::NotConverged {
            reason,
            residual_norm,
            u,
            ..
        } = err
        else {
            panic!("{}: {err:?}", alg.0);
        };
        assert!(!reason.is_success());
        assert!(residual_norm > 1.0, "{}", alg.0);
        assert!((residual_norm - residual_inf(&FreudensteinRoth, &u)).abs() < 1e-12);
        match alg.0 {
            // The trust-region methods reach the local minimum itself: MGH's value to the six
            // digits given.
            "TrustRegion" | "LevenbergMarquardt" => {
                assert_eq!(reason, StopReason::LocalMinimum, "{}", alg.0);
                let mut r = [0.0; 2];
                FreudensteinRoth.residual(&u, &[], &mut r);
                let f = sum_sq(&r);
                assert!(
                    (f - FreudensteinRoth::LOCAL_MINIMUM).abs() < 1e-4,
                    "{}: {f}",
                    alg.0
                );
                assert!((u[0] - 11.41).abs() < 0.01 && (u[1] + 0.8968).abs() < 1e-4);
            }
            // The line searches stall on the way, where J is nearly singular.
            _ => assert_eq!(reason, StopReason::LineSearchFailed, "{}", alg.0),
        }
    }
    // From next to the root, Newton converges to it quadratically.
    let sol = run(&FreudensteinRoth, &[4.5, 3.5], &algorithms()[0].1).unwrap();
    assert_close("FreudensteinRoth", &sol.u, &[5.0, 4.0], 1e-10);
    assert!(sol.stats.iterations <= 8);
}

#[test]
fn brown_almost_linear() {
    // Roots: (1, …, 1) and (α, …, α, α^{1−n}) with n αⁿ − (n + 1) α^{n−1} + 1 = 0 (MGH).
    let f = BrownAlmostLinear { n: 10 };
    for alg in &algorithms() {
        if alg.0 == "Newton" {
            // The line search meets a nearly singular Jacobian (Π u_j ≈ 0) and gives up.
            let err = run(&f, &f.start(), &alg.1).unwrap_err();
            assert!(
                matches!(
                    err,
                    NonlinsolveError::NotConverged {
                        reason: StopReason::LineSearchFailed,
                        ..
                    }
                ),
                "{err:?}"
            );
            continue;
        }
        let u = converged("BrownAlmostLinear", &f, alg);
        let a = u[0];
        assert!(u[..9].iter().all(|&x| (x - a).abs() < 1e-10), "{}", alg.0);
        if (a - 1.0).abs() < 1e-9 {
            assert!((u[9] - 1.0).abs() < 1e-8);
        } else {
            let poly = 10.0 * a.powi(10) - 11.0 * a.powi(9) + 1.0;
            assert!(poly.abs() < 1e-9, "{}: α = {a}, polynomial {poly:e}", alg.0);
            assert!((u[9] - a.powi(-9)).abs() < 1e-8);
        }
    }
}

#[test]
fn discretised_boundary_value_problem_two_ways() {
    // MGH 28 and 29 discretise the same two-point boundary value problem
    // u″ = (u + t + 1)³ / 2, u(0) = u(1) = 0, as finite differences and as the equivalent
    // integral equation with the trapezoidal Green's function: their roots coincide.
    for n in [10, 50] {
        for alg in &algorithms() {
            let a = converged("DBV", &DiscreteBoundaryValue { n }, alg);
            let b = converged("DIE", &DiscreteIntegralEquation { n }, alg);
            // The integral form's Jacobian is I + O(h), the difference form's has condition
            // ~ n²: 1e-10 · n² bounds the difference of the two roots.
            assert_close("DBV vs DIE", &a, &b, 1e-10 * (n * n) as f64);
        }
    }
}

#[test]
fn banded_and_trigonometric() {
    for alg in &algorithms() {
        let u10 = converged("BroydenTridiagonal", &BroydenTridiagonal { n: 10 }, alg);
        // The n = 1000 root agrees with the n = 10 one near the left boundary to 4 digits (the
        // solution settles within a few points of the boundary).
        let u1000 = converged("BroydenTridiagonal", &BroydenTridiagonal { n: 1000 }, alg);
        assert!((u10[0] - u1000[0]).abs() < 1e-4, "{}", alg.0);
        converged("BroydenBanded", &BroydenBanded { n: 10 }, alg);
        converged("BroydenBanded", &BroydenBanded { n: 500 }, alg);
        converged("Chebyquad", &Chebyquad { n: 5 }, alg);
        converged(
            "DiscreteBoundaryValue",
            &DiscreteBoundaryValue { n: 10 },
            alg,
        );
    }
    // The trigonometric function (n = 10): Newton, the trust region and Broyden find a root;
    // Levenberg–Marquardt stops at the local minimum MGH report, Σ F² = 2.79506e-5.
    let f = Trigonometric { n: 10 };
    for alg in &algorithms() {
        if alg.0 == "LevenbergMarquardt" {
            let err = run(&f, &f.start(), &alg.1).unwrap_err();
            let NonlinsolveError::NotConverged { reason, u, .. } = err else {
                panic!("{err:?}");
            };
            assert_eq!(reason, StopReason::LocalMinimum);
            let mut r = vec![0.0; 10];
            f.residual(&u, &[], &mut r);
            assert!((sum_sq(&r) - 2.79506e-5).abs() < 1e-10, "{}", sum_sq(&r));
        } else {
            converged("Trigonometric", &f, alg);
        }
    }
}

#[test]
fn least_squares_minima() {
    // MGH's minimum sums of squares, six significant digits: agreement within half a unit in
    // the sixth digit.
    let check = |name: &str, r: Result<NonlinearSolution, NonlinsolveError>, best: f64| {
        let sol = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(sol.reason.is_success(), "{name}: {:?}", sol.reason);
        let f = sum_sq(&sol.residual);
        assert!((f - best).abs() <= 5e-6 * best, "{name}: {f:e} vs {best:e}");
    };
    for (an, alg) in &algorithms()[..3] {
        check(
            &format!("Bard / {an}"),
            solve(&p(Bard, Bard.start()), alg),
            Bard::MINIMUM,
        );
        check(
            &format!("KowalikOsborne / {an}"),
            solve(&p(KowalikOsborne, KowalikOsborne.start()), alg),
            KowalikOsborne::MINIMUM,
        );
        check(
            &format!("Osborne1 / {an}"),
            solve(&p(Osborne1, Osborne1.start()), alg),
            Osborne1::MINIMUM,
        );
        let js = solve(&p(JennrichSampson, JennrichSampson.start()), alg);
        if *an == "Newton" {
            // Gauss–Newton with a line search does not converge on this large-residual
            // problem (the neglected second-order term dominates): it says so.
            assert!(matches!(
                js,
                Err(NonlinsolveError::NotConverged {
                    reason: StopReason::LineSearchFailed,
                    ..
                })
            ));
        } else {
            check(
                &format!("JennrichSampson / {an}"),
                js,
                JennrichSampson::MINIMUM,
            );
        }
    }
    // Broyden needs a square system.
    assert!(matches!(
        init(
            &NonlinearProblem::new(Bard, Bard.start(), vec![]),
            &Broyden::default().into()
        ),
        Err(NonlinsolveError::NotSquare { m: 15, n: 3, .. })
    ));
}

#[test]
fn counters_are_consistent() {
    let f = BroydenTridiagonal { n: 20 };
    for (name, alg) in &algorithms() {
        let sol = run(&f, &f.start(), alg).unwrap();
        let s = sol.stats;
        match *name {
            "Newton" => {
                // One Jacobian and one factorisation per iteration; one F per trial point.
                assert_eq!(s.jacobian_evaluations, s.iterations);
                assert_eq!(s.factorizations, s.iterations);
                assert_eq!(s.residual_evaluations, 1 + s.iterations + s.backtracks);
            }
            "TrustRegion" => {
                assert_eq!(s.residual_evaluations, 1 + s.iterations);
                assert!(s.jacobian_evaluations + s.rejected_steps <= s.iterations + 1);
            }
            "LevenbergMarquardt" => {
                assert_eq!(s.residual_evaluations, 1 + s.iterations);
                assert_eq!(s.factorizations, s.iterations);
            }
            _ => {
                // Broyden: one Jacobian and one factorisation per restart, at most two solves
                // per iteration (the restart direction and the update).
                assert_eq!(s.jacobian_evaluations, 1 + s.restarts);
                assert_eq!(s.factorizations, 1 + s.restarts);
                assert!(s.linear_solves <= s.iterations + 1 + s.restarts);
            }
        }
    }
}
