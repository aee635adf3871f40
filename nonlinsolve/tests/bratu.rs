//! P7 (problems/README.md): the 2-D Bratu problem, N = 64, λ = 6, against its oracle — the
//! solve with the sparse coloured Jacobian found automatically, every algorithm, and the
//! implicit derivative d(Σu)/dλ.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::check::{check_gradient, check_hessian};
use tangent_ad::operators::*;
use tangent_ad::{Scalar, ScalarFunction};
use tangent_nonlinsolve::problems::Bratu;
use tangent_nonlinsolve::*;

/// `Σ u*(λ)` (times `w`, so that second derivatives see a nonlinear outer program too).
struct SumU {
    rule: ImplicitSolveRule<Bratu>,
    weighted: bool,
}
impl ScalarFunction for SumU {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let mut u = vec![S::zero(); self.rule.n()];
        self.rule.solve(p, &mut u).unwrap();
        let s = u.iter().copied().sum::<S>();
        if self.weighted { s * p[0] } else { s }
    }
}

fn p7() -> NonlinearProblem<Bratu> {
    let b = Bratu::new(Bratu::N);
    NonlinearProblem::new(b, b.start(), vec![Bratu::LAMBDA])
}

/// The oracle: SciPy's sparse Newton to |δu| ≤ 1e-15. Our solve stops at ‖F‖∞ ≤ 1e-10, usually
/// far below (Newton's last step is quadratic): ‖u − u*‖∞ ≤ ‖J⁻¹‖∞ ‖F‖∞ with ‖J⁻¹‖∞ < 0.1 for
/// this discrete Laplacian plus a positive diagonal, so Σu agrees to 4096 · 1e-11 ≈ 4e-8
/// absolute, 3e-11 relative.
const VS_ORACLE: f64 = 3e-11;

#[test]
fn oracle_constants_match_the_json() {
    let o = &tangent_testing::oracles()["P7"];
    assert_eq!(o["sum_u"].as_f64().unwrap(), Bratu::SUM_U);
    assert_eq!(o["dsum_dlambda"].as_f64().unwrap(), Bratu::DSUM_DLAMBDA);
    assert_eq!(o["max_u"].as_f64().unwrap(), Bratu::MAX_U);
}

#[test]
fn newton_with_the_automatic_sparse_jacobian() {
    let prob = p7();
    let mut cache = init(&prob, &NewtonRaphson::default().into()).unwrap();
    assert_eq!(cache.jacobian_kind(), "sparse coloured");
    // The five-point stencil: 5 nonzeros per interior row, fewer on the boundary; a distance-2
    // colouring needs at least 5 colours.
    assert_eq!(cache.jacobian_nnz(), 5 * 4096 - 4 * 64);
    let colors = cache.jacobian_colors().unwrap();
    assert!((5..=8).contains(&colors), "{colors}");
    let s = cache.solve().unwrap();
    assert_eq!(s.reason, StopReason::ResidualAbsolute);
    // Newton from u = 0: ‖F‖∞ = 6, 1.6, 0.11, 4.5e-4, 6.6e-9, 3.4e-12 — quadratic; the oracle
    // needed 6 iterations for its tighter |δu| ≤ 1e-15.
    assert!(s.stats.iterations <= 6, "{:?}", s.stats);
    assert_eq!(s.stats.jacobian_evaluations, s.stats.iterations);
    assert_eq!(s.stats.backtracks, 0);
    let u = cache.u();
    let sum: f64 = u.iter().sum();
    let max = u.iter().fold(0.0f64, |m, &x| m.max(x));
    assert!(
        (sum - Bratu::SUM_U).abs() <= VS_ORACLE * Bratu::SUM_U,
        "{sum}"
    );
    assert!((max - Bratu::MAX_U).abs() <= 1e-11, "{max}");
    // The residual recomputed independently of the solver.
    let mut r = vec![0.0; 4096];
    tangent_ad::problems::Bratu2D { n: 64 }.residual(u, Bratu::LAMBDA, &mut r);
    assert!(r.iter().all(|x| x.abs() <= 1e-10));
}

#[test]
fn every_algorithm_solves_p7() {
    let prob = p7();
    let reference = solve(&prob, &NewtonRaphson::default().into()).unwrap();
    for alg in [
        Algorithm::from(NewtonRaphson {
            reuse: JacobianReuse::up_to(3),
            ..Default::default()
        }),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
        Broyden::default().into(),
    ] {
        let s = solve(&prob, &alg).unwrap();
        assert!(s.reason.is_success());
        // Both solutions have ‖F‖∞ ≤ 1e-10 and ‖J⁻¹‖∞ < 0.1.
        let diff =
            s.u.iter()
                .zip(&reference.u)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff <= 2e-11, "{}: {diff:e}", alg.name());
        if let Algorithm::NewtonRaphson(_) = alg {
            // Factorisation reuse: fewer factorisations than iterations.
            assert!(s.stats.factorizations < s.stats.iterations, "{:?}", s.stats);
            assert!(s.stats.factorizations <= 4, "{:?}", s.stats);
        }
        if let Algorithm::Broyden(_) = alg {
            assert!(s.stats.factorizations <= 2, "{:?}", s.stats);
        }
    }
}

#[test]
fn sparse_dense_and_finite_difference_jacobians_agree() {
    // On a 16 × 16 grid (256 unknowns) the dense paths are affordable.
    let b = Bratu::new(16);
    let prob = NonlinearProblem::new(b, b.start(), vec![Bratu::LAMBDA]);
    let mut sols = Vec::new();
    for jac in [
        JacobianMethod::Sparse(SparseOptions::default()),
        JacobianMethod::DenseForward,
        JacobianMethod::FiniteDifferences(DifferenceScheme::Central),
        JacobianMethod::FiniteDifferences(DifferenceScheme::Forward),
    ] {
        let alg = NewtonRaphson {
            jacobian: jac,
            ..Default::default()
        };
        let mut cache = init(&prob, &alg.into()).unwrap();
        let s = cache.solve().unwrap();
        assert!(s.reason.is_success());
        sols.push((jac, cache.u().to_vec(), s.stats));
    }
    for (jac, u, stats) in &sols[1..] {
        let diff = u
            .iter()
            .zip(&sols[0].1)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff <= 2e-11, "{jac:?}: {diff:e}");
        // Exact Jacobians take the same Newton path; forward differences (error ~1e-8) at most
        // one more iteration.
        assert!(stats.iterations <= sols[0].2.iterations + 1, "{jac:?}");
    }
}

#[test]
fn implicit_derivative_against_the_oracle() {
    let rule = ImplicitSolveRule::new(&p7(), &Algorithm::default()).unwrap();
    let f = SumU {
        rule,
        weighted: false,
    };
    let mut g = [0.0];
    let value = value_and_gradient(&f, &Reverse, &[Bratu::LAMBDA], &mut g).unwrap();
    assert!((value - Bratu::SUM_U).abs() <= VS_ORACLE * Bratu::SUM_U);
    // The oracle is itself an implicit derivative (−1ᵀ J⁻¹ e^u), to machine precision; ours is
    // evaluated at a u* within 1e-12 of the oracle's: 1e-11 relative.
    assert!(
        (g[0] - Bratu::DSUM_DLAMBDA).abs() <= 1e-11 * Bratu::DSUM_DLAMBDA,
        "reverse {}",
        g[0]
    );
    gradient(&f, &Forward::<1>, &[Bratu::LAMBDA], &mut g).unwrap();
    assert!(
        (g[0] - Bratu::DSUM_DLAMBDA).abs() <= 1e-11 * Bratu::DSUM_DLAMBDA,
        "forward {}",
        g[0]
    );
}

#[test]
fn implicit_derivatives_against_finite_differences_of_the_solve() {
    // N = 24 keeps the ~50 solves of Ridders' extrapolation quick.
    let b = Bratu::new(24);
    let prob =
        NonlinearProblem::new(b, b.start(), vec![Bratu::LAMBDA]).with_options(NonlinearOptions {
            abstol: 1e-13,
            ..Default::default()
        });
    let f = SumU {
        rule: ImplicitSolveRule::new(&prob, &Algorithm::default()).unwrap(),
        weighted: true,
    };
    for (name, r) in [
        ("reverse", check_gradient(&f, &Reverse, &[Bratu::LAMBDA])),
        (
            "forward",
            check_gradient(&f, &Forward::<1>, &[Bratu::LAMBDA]),
        ),
        (
            "replay",
            check_gradient(&f, &ReverseReplay, &[Bratu::LAMBDA]),
        ),
    ] {
        let r = r.unwrap();
        assert!(r.passes(1e-8), "{name}: {r}");
    }
    // Second order through the rule (forward over reverse), against Ridders differences of the
    // forward-mode first derivative.
    let r = check_hessian(&f, &Reverse, &[Bratu::LAMBDA]).unwrap();
    assert!(r.passes(1e-7), "{r}");
}

#[test]
fn timings_add_up() {
    let prob = p7().with_options(NonlinearOptions {
        timings: true,
        ..Default::default()
    });
    let s = solve(&prob, &NewtonRaphson::default().into()).unwrap();
    let t = s.timings;
    assert!(t.residual > std::time::Duration::ZERO);
    assert!(t.jacobian > std::time::Duration::ZERO);
    assert!(t.factorization > std::time::Duration::ZERO);
    assert!(t.linear_solve > std::time::Duration::ZERO);
    assert!(t.residual + t.jacobian + t.factorization + t.linear_solve <= t.total);
    // Off by default.
    let s = solve(&p7(), &NewtonRaphson::default().into()).unwrap();
    assert_eq!(s.timings.jacobian, std::time::Duration::ZERO);
}
