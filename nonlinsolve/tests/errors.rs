//! Typed errors: what failed, where, and with which residual — never a panic.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::Scalar;
use tangent_nonlinsolve::problems::{Bard, PowellSingular, Rosenbrock};
use tangent_nonlinsolve::*;

/// `ln u − p = 0`.
#[derive(Clone)]
struct Log;
impl NonlinearFunction for Log {
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        r[0] = u[0].ln() - p[0];
    }
}

/// `√u − 1 = 0`: infinite slope at 0.
#[derive(Clone)]
struct Root;
impl NonlinearFunction for Root {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        r[0] = u[0].sqrt() - 1.0;
    }
}

/// `(s − 2, 2s − 4)` with `s = u₀ + u₁`: a singular Jacobian everywhere, roots on a line.
#[derive(Clone)]
struct Degenerate;
impl NonlinearFunction for Degenerate {
    fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
        let s = u[0] + u[1];
        r[0] = s - 2.0;
        r[1] = s * 2.0 - 4.0;
    }
}

#[test]
fn non_finite_residual_at_the_iteration_it_appears() {
    // At the initial guess.
    let prob = NonlinearProblem::new(Log, vec![-1.0], vec![0.0]);
    assert_eq!(
        solve(&prob, &Algorithm::default()).unwrap_err(),
        NonlinsolveError::NonFiniteResidual {
            iteration: 0,
            index: 0
        }
    );
    // After a full Newton step from u = 3 (δ = −3 ln 3 lands at u < 0).
    let prob = NonlinearProblem::new(Log, vec![3.0], vec![0.0]);
    let full_steps = NewtonRaphson {
        line_search: LineSearch::None,
        ..Default::default()
    };
    assert_eq!(
        solve(&prob, &full_steps.into()).unwrap_err(),
        NonlinsolveError::NonFiniteResidual {
            iteration: 1,
            index: 0
        }
    );
    // The line search steps back from the NaN and converges.
    let sol = solve(&prob, &NewtonRaphson::default().into()).unwrap();
    assert!((sol.u[0] - 1.0).abs() < 1e-10);
    assert!(sol.stats.backtracks > 0);
}

#[test]
fn non_finite_and_singular_jacobians() {
    let prob = NonlinearProblem::new(Root, vec![0.0], vec![]);
    assert_eq!(
        solve(&prob, &Algorithm::default()).unwrap_err(),
        NonlinsolveError::NonFiniteJacobian {
            iteration: 1,
            row: 0,
            col: 0
        }
    );
    let prob = NonlinearProblem::new(Degenerate, vec![0.0, 0.0], vec![]);
    let err = solve(&prob, &Algorithm::default()).unwrap_err();
    assert!(
        matches!(err, NonlinsolveError::SingularJacobian { iteration: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("singular Jacobian at iteration 1"));
    // The trust region falls back to steepest descent and reaches the line of roots.
    let sol = solve(&prob, &TrustRegion::default().into()).unwrap();
    assert!((sol.u[0] + sol.u[1] - 2.0).abs() < 1e-10);
}

#[test]
fn non_convergence_carries_the_reason_and_the_last_iterate() {
    let prob = NonlinearProblem::new(Rosenbrock, Rosenbrock.start(), vec![]).with_options(
        NonlinearOptions {
            max_iterations: 2,
            ..Default::default()
        },
    );
    let err = solve(&prob, &Algorithm::default()).unwrap_err();
    let NonlinsolveError::NotConverged {
        reason,
        iterations,
        residual_norm,
        u,
        stats,
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(reason, StopReason::MaxIterations);
    assert_eq!(iterations, 2);
    assert_eq!(stats.iterations, 2);
    let mut r = [0.0; 2];
    Rosenbrock.residual(&u, &[], &mut r);
    assert_eq!(residual_norm, r[0].abs().max(r[1].abs()));
    // Stall detection: Powell's singular function contracts ‖F‖ by about 4 per iteration;
    // asking for a factor 1000 over 3 iterations reports a stall.
    let prob = NonlinearProblem::new(PowellSingular, PowellSingular.start(), vec![]).with_options(
        NonlinearOptions {
            stall_iterations: 3,
            stall_factor: 1e-3,
            ..Default::default()
        },
    );
    assert!(matches!(
        solve(&prob, &Algorithm::default()),
        Err(NonlinsolveError::NotConverged {
            reason: StopReason::Stalled,
            ..
        })
    ));
}

#[test]
fn bad_input_is_rejected_before_solving() {
    let ok = NonlinearProblem::new(Log, vec![1.0], vec![0.0]);
    let alg = Algorithm::default();
    // Empty, non-finite, wrong lengths.
    assert!(matches!(
        solve(&NonlinearProblem::new(Log, vec![], vec![0.0]), &alg),
        Err(NonlinsolveError::DimensionMismatch { .. })
    ));
    assert_eq!(
        solve(&NonlinearProblem::new(Log, vec![f64::NAN], vec![0.0]), &alg).unwrap_err(),
        NonlinsolveError::NonFiniteInput {
            what: "initial guess",
            index: 0
        }
    );
    assert_eq!(
        solve(
            &NonlinearProblem::new(Log, vec![1.0], vec![f64::INFINITY]),
            &alg
        )
        .unwrap_err(),
        NonlinsolveError::NonFiniteInput {
            what: "parameters",
            index: 0
        }
    );
    let mut cache = init(&ok, &alg).unwrap();
    assert!(matches!(
        cache.set_parameters(&[1.0, 2.0]),
        Err(NonlinsolveError::DimensionMismatch {
            what: "parameters",
            expected: 1,
            found: 2
        })
    ));
    assert!(matches!(
        cache.set_initial_guess(&[]),
        Err(NonlinsolveError::DimensionMismatch { .. })
    ));
    // Fewer residuals than unknowns.
    #[derive(Clone)]
    struct Short;
    impl NonlinearFunction for Short {
        fn residual_len(&self, _n: usize) -> usize {
            1
        }
        fn residual<S: Scalar>(&self, u: &[S], _p: &[S], r: &mut [S]) {
            r[0] = u[0] + u[1];
        }
    }
    assert_eq!(
        solve(&NonlinearProblem::new(Short, vec![1.0, 1.0], vec![]), &alg).unwrap_err(),
        NonlinsolveError::Underdetermined { m: 1, n: 2 }
    );
    // Least squares with Broyden.
    assert!(matches!(
        solve(
            &NonlinearProblem::new(Bard, Bard.start(), vec![]),
            &Broyden::default().into()
        ),
        Err(NonlinsolveError::NotSquare { .. })
    ));
}

#[test]
fn invalid_options() {
    let prob = NonlinearProblem::new(Log, vec![1.0], vec![0.0]);
    let bad_options = [
        NonlinearOptions {
            abstol: -1.0,
            ..Default::default()
        },
        NonlinearOptions {
            step_reltol: f64::NAN,
            ..Default::default()
        },
        NonlinearOptions {
            stall_factor: 0.0,
            ..Default::default()
        },
    ];
    for o in bad_options {
        assert!(matches!(
            solve(&prob.clone().with_options(o), &Algorithm::default()),
            Err(NonlinsolveError::InvalidOption(_))
        ));
    }
    let bad_algorithms: [Algorithm; 6] = [
        NewtonRaphson {
            line_search: LineSearch::Backtracking(Backtracking {
                sufficient_decrease: 0.7,
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
        NewtonRaphson {
            reuse: JacobianReuse {
                max_age: 0,
                min_contraction: 0.5,
            },
            ..Default::default()
        }
        .into(),
        TrustRegion {
            accept: 0.5,
            ..Default::default()
        }
        .into(),
        TrustRegion {
            initial_radius: Some(-1.0),
            ..Default::default()
        }
        .into(),
        LevenbergMarquardt {
            initial_damping: 0.0,
            ..Default::default()
        }
        .into(),
        Broyden {
            memory: 0,
            ..Default::default()
        }
        .into(),
    ];
    for alg in bad_algorithms {
        assert!(
            matches!(solve(&prob, &alg), Err(NonlinsolveError::InvalidOption(_))),
            "{}",
            alg.name()
        );
    }
    // A user Jacobian that the problem does not provide.
    let user = NewtonRaphson {
        jacobian: JacobianMethod::User,
        ..Default::default()
    };
    assert_eq!(
        solve(&prob, &user.into()).unwrap_err(),
        NonlinsolveError::NoUserJacobian
    );
}
