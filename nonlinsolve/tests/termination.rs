//! The stopping rules of `NonlinearOptions`: each reason is reached when its test is the one
//! that fires, and the reported numbers satisfy it.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_nonlinsolve::problems::{BroydenTridiagonal, KowalikOsborne, Rosenbrock};
use tangent_nonlinsolve::*;

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

#[test]
fn relative_residual() {
    // With abstol 0 only the relative test (against ‖F(u₀)‖∞ at the standard start) can stop it.
    let f = BroydenTridiagonal { n: 50 };
    let options = NonlinearOptions {
        abstol: 0.0,
        reltol: 1e-6,
        ..Default::default()
    };
    let prob = NonlinearProblem::new(f, f.start(), vec![]).with_options(options);
    let mut r0 = vec![0.0; 50];
    f.residual(&f.start(), &[], &mut r0);
    for alg in [
        Algorithm::from(NewtonRaphson::default()),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
        Broyden::default().into(),
    ] {
        let s = solve(&prob, &alg).unwrap();
        assert_eq!(s.reason, StopReason::ResidualRelative, "{}", alg.name());
        assert!(s.residual_norm <= 1e-6 * inf_norm(&r0), "{}", alg.name());
        assert_eq!(s.residual_norm, inf_norm(&s.residual));
    }
}

#[test]
fn small_step_on_a_square_system() {
    // abstol 1e-20 is out of reach in floating point, so Newton stops on the step: once
    // ‖δ‖∞ ≤ 1e-6 ‖u‖∞ with ‖F‖∞ ≤ √abstol = 1e-10 (quadratic convergence: the residual after
    // such a step is O(1e-12)).
    let f = BroydenTridiagonal { n: 50 };
    let options = NonlinearOptions {
        abstol: 1e-20,
        step_reltol: 1e-6,
        ..Default::default()
    };
    let prob = NonlinearProblem::new(f, f.start(), vec![]).with_options(options);
    let s = solve(&prob, &NewtonRaphson::default().into()).unwrap();
    assert_eq!(s.reason, StopReason::SmallStep);
    assert!(s.residual_norm <= 1e-10, "{:e}", s.residual_norm);
    // The same problem with the default options converges on the residual, in as many
    // iterations or fewer: the step test does not stop early.
    let d = solve(
        &NonlinearProblem::new(f, f.start(), vec![]),
        &NewtonRaphson::default().into(),
    )
    .unwrap();
    assert_eq!(d.reason, StopReason::ResidualAbsolute);
    assert!(s.stats.iterations <= d.stats.iterations + 1);
}

#[test]
fn a_small_step_far_from_a_root_is_not_convergence() {
    // Rosenbrock with an enormous step tolerance: every step is "small", but the residual is
    // not, so the iteration goes on and still reaches the root.
    let options = NonlinearOptions {
        step_reltol: 1e3,
        ..Default::default()
    };
    let prob = NonlinearProblem::new(Rosenbrock, Rosenbrock.start(), vec![]).with_options(options);
    let s = solve(&prob, &NewtonRaphson::default().into()).unwrap();
    assert!(
        s.residual_norm <= 1e-5,
        "{:?} {:e}",
        s.reason,
        s.residual_norm
    );
    assert!((s.u[0] - 1.0).abs() < 1e-5 && (s.u[1] - 1.0).abs() < 1e-5);
}

#[test]
fn least_squares_stop_on_gradient_step_or_reduction() {
    // Kowalik–Osborne (m = 11, n = 4): the residual never vanishes, so a least-squares solve
    // ends on a stationarity test; the gradient cosine there is tiny.
    let prob = NonlinearProblem::new(KowalikOsborne, KowalikOsborne.start(), vec![]);
    for alg in [
        Algorithm::from(NewtonRaphson::default()),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
    ] {
        let s = solve(&prob, &alg).unwrap();
        assert!(
            matches!(
                s.reason,
                StopReason::SmallGradient | StopReason::SmallStep | StopReason::SmallReduction
            ),
            "{}: {:?}",
            alg.name(),
            s.reason
        );
        assert!(s.residual_norm > 1e-3, "{}", alg.name());
        let ssq: f64 = s.residual.iter().map(|x| x * x).sum();
        // MGH's minimum, 3.07505e-4 (six digits): agreement to 1e-5 relative.
        assert!(
            (ssq - KowalikOsborne::MINIMUM).abs() <= 1e-5 * KowalikOsborne::MINIMUM,
            "{}: {ssq:e}",
            alg.name()
        );
    }
}
