//! The implicit-function rule in every mode: against analytic derivatives of solutions known in
//! closed form, against finite differences of the whole solve, against itself (forward vs
//! reverse, the dot-product test), nested inside outer programs, to second order.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::check::{check_gradient, check_hessian, check_jacobian};
use tangent_ad::operators::*;
use tangent_ad::{Rule, RuleError, Scalar, ScalarFunction, TapeError, VectorFunction};
use tangent_nonlinsolve::*;

/// SplitMix64 (Steele, Lea & Flood 2014): a seeded generator for test directions.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// `u_i² − p_i = 0`: `u* = √p` from a positive start.
#[derive(Clone)]
struct Sqrt;
impl NonlinearFunction for Sqrt {
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        for i in 0..u.len() {
            r[i] = u[i] * u[i] - p[i];
        }
    }
}

/// `u₀ + u₁ = p₀`, `u₀ u₁ = p₁`: the roots of `t² − p₀ t + p₁`, larger one first from a start
/// with `u₀ > u₁`.
#[derive(Clone)]
struct Vieta;
impl NonlinearFunction for Vieta {
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        r[0] = u[0] + u[1] - p[0];
        r[1] = u[0] * u[1] - p[1];
    }
}

/// The same roots in closed form.
fn vieta_closed<S: Scalar>(p: &[S]) -> [S; 2] {
    let d = (p[0] * p[0] - p[1] * 4.0).sqrt();
    [(p[0] + d) * 0.5, (p[0] - d) * 0.5]
}

/// The outer program: parameters from θ, the solve (by the rule, or in closed form), a
/// nonlinear combination with θ.
fn program<S: Scalar>(theta: &[S], rule: Option<&ImplicitSolveRule<Vieta>>) -> [S; 2] {
    let p = [theta[0] * theta[0] + theta[2], theta[1].sin() * 0.25 + 0.5];
    let u = match rule {
        Some(r) => {
            let mut u = [S::zero(); 2];
            r.solve(&p, &mut u).unwrap();
            u
        }
        None => vieta_closed(&p),
    };
    [
        u[0] * u[1].exp() + theta[0] * u[1],
        (u[0] - theta[2]).powi(2) + u[1].cos(),
    ]
}

struct Outer(Option<ImplicitSolveRule<Vieta>>);
impl ScalarFunction for Outer {
    fn eval<S: Scalar>(&self, theta: &[S]) -> S {
        let o = program(theta, self.0.as_ref());
        o[0] + o[1] * 0.5
    }
}
impl VectorFunction for Outer {
    fn output_len(&self) -> usize {
        2
    }
    fn eval<S: Scalar>(&self, theta: &[S], y: &mut [S]) {
        y.copy_from_slice(&program(theta, self.0.as_ref()));
    }
}

/// Tight tolerances so that finite differences of the whole solve see a smooth function: Newton
/// overshoots 1e-14 to the rounding level on these small problems.
fn tight() -> NonlinearOptions {
    NonlinearOptions {
        abstol: 1e-14,
        ..Default::default()
    }
}

fn vieta_rule(alg: Algorithm) -> ImplicitSolveRule<Vieta> {
    let prob = NonlinearProblem::new(Vieta, vec![2.0, 0.3], vec![2.39, 0.6]).with_options(tight());
    ImplicitSolveRule::new(&prob, &alg).unwrap()
}

const THETA: [f64; 3] = [1.3, 0.4, 0.7];

/// Rule derivatives against the closed form differentiated by AD: both are exact, the rule's
/// up to the solve's residual (≤ 1e-14) amplified by the conditioning of `J_u` (≈ 10 here).
const VS_CLOSED_FORM: f64 = 1e-11;
/// Against Ridders-extrapolated differences of the whole solve (see tangent_ad::check).
const VS_RIDDERS: f64 = 1e-8;

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn analytic_jvp_and_vjp() {
    // u* = √p: J = diag(1 / (2√p)).
    let p = [0.5, 2.0, 9.0, 4.0];
    let prob = NonlinearProblem::new(Sqrt, vec![1.0; 4], p.to_vec()).with_options(tight());
    for alg in [
        Algorithm::from(NewtonRaphson::default()),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
        Broyden::default().into(),
    ] {
        let rule = ImplicitSolveRule::new(&prob, &alg).unwrap();
        let mut u = [0.0; 4];
        let state = rule.primal(&p, &mut u).unwrap();
        for i in 0..4 {
            assert!((u[i] - p[i].sqrt()).abs() < 1e-14, "{}", alg.name());
        }
        let mut rng = Rng(7);
        // Three directions at once (one multi-right-hand-side solve).
        let dp = rng.vec(12);
        let mut du = [0.0; 12];
        rule.jvp::<f64>(&state, &p, &u, &dp, &mut du).unwrap();
        for j in 0..3 {
            for i in 0..4 {
                let exact = dp[4 * j + i] / (2.0 * p[i].sqrt());
                assert!((du[4 * j + i] - exact).abs() < 1e-14, "{}", alg.name());
            }
        }
        // The vjp accumulates into p̄.
        let ubar = rng.vec(4);
        let mut pbar = [1.0; 4];
        rule.vjp::<f64>(&state, &p, &u, &ubar, &mut pbar).unwrap();
        for i in 0..4 {
            let exact = 1.0 + ubar[i] / (2.0 * p[i].sqrt());
            assert!((pbar[i] - exact).abs() < 1e-14);
        }
    }
}

#[test]
fn nested_in_an_outer_program_every_mode() {
    let plain = Outer(None);
    let by_rule = Outer(Some(vieta_rule(Algorithm::default())));
    let mut reference = [0.0; 3];
    gradient(&plain, &Reverse, &THETA, &mut reference).unwrap();
    let mut g = [0.0; 3];
    gradient(&by_rule, &Forward::<1>, &THETA, &mut g).unwrap();
    close(&g, &reference, VS_CLOSED_FORM, "forward<1>");
    gradient(&by_rule, &Forward::<3>, &THETA, &mut g).unwrap();
    close(&g, &reference, VS_CLOSED_FORM, "forward<3>");
    gradient(&by_rule, &Reverse, &THETA, &mut g).unwrap();
    close(&g, &reference, VS_CLOSED_FORM, "reverse");
    // Replay re-runs the rule's primal (a new nonlinear solve) at the new point.
    let mut prep = prepare_gradient(&by_rule, &ReverseReplay, &[1.1, 0.3, 0.6]).unwrap();
    prep.gradient(&by_rule, &THETA, &mut g).unwrap();
    close(&g, &reference, VS_CLOSED_FORM, "replay");
    // Jacobians of the two-output program.
    let mut jref = [0.0; 6];
    jacobian(&plain, &Forward::<3>, &THETA, &mut jref).unwrap();
    let mut j = [0.0; 6];
    jacobian(&by_rule, &Forward::<2>, &THETA, &mut j).unwrap();
    close(&j, &jref, VS_CLOSED_FORM, "jacobian forward");
    jacobian(&by_rule, &Reverse, &THETA, &mut j).unwrap();
    close(&j, &jref, VS_CLOSED_FORM, "jacobian reverse");
}

#[test]
fn against_finite_differences_of_the_whole_solve() {
    for alg in [
        Algorithm::from(NewtonRaphson::default()),
        TrustRegion::default().into(),
        Broyden::default().into(),
    ] {
        let by_rule = Outer(Some(vieta_rule(alg.clone())));
        for (name, r) in [
            ("forward", check_gradient(&by_rule, &Forward::<3>, &THETA)),
            ("reverse", check_gradient(&by_rule, &Reverse, &THETA)),
            ("replay", check_gradient(&by_rule, &ReverseReplay, &THETA)),
        ] {
            let r = r.unwrap();
            assert!(r.passes(VS_RIDDERS), "{} {name}: {r}", alg.name());
        }
        let r = check_jacobian(&by_rule, &Reverse, &THETA).unwrap();
        assert!(r.passes(VS_RIDDERS), "{}: {r}", alg.name());
    }
}

#[test]
fn second_order_through_the_rule() {
    let plain = Outer(None);
    let by_rule = Outer(Some(vieta_rule(Algorithm::default())));
    let mut reference = [0.0; 9];
    hessian(&plain, &Forward::<3>, &THETA, &mut reference).unwrap();
    let mut h = [0.0; 9];
    // Forward over forward: the jvp runs on dual numbers.
    hessian(&by_rule, &Forward::<2>, &THETA, &mut h).unwrap();
    close(&h, &reference, VS_CLOSED_FORM, "forward over forward");
    // Forward over reverse: the vjp runs on dual numbers.
    hessian(&by_rule, &Reverse, &THETA, &mut h).unwrap();
    close(&h, &reference, VS_CLOSED_FORM, "forward over reverse");
    let v = [0.3, -1.0, 2.0];
    let mut hv = [0.0; 3];
    hvp(&by_rule, &Reverse, &THETA, &v, &mut hv).unwrap();
    let expect: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|j| reference[i + 3 * j] * v[j]).sum())
        .collect();
    close(&hv, &expect, VS_CLOSED_FORM, "hvp");
    let r = check_hessian(&by_rule, &Reverse, &THETA).unwrap();
    assert!(r.passes(1e-7), "{r}");
}

#[test]
fn dot_product_test() {
    // ⟨J v, w⟩ = ⟨v, Jᵀ w⟩ for the rule's own jvp and vjp, on a sparse problem with one
    // parameter per unknown (the vjp's J_pᵀλ then goes through the tape).
    let f = LocalBratu { n: 8 };
    let np = 64;
    let p: Vec<f64> = (0..np).map(|i| 3.0 + (i % 7) as f64 * 0.5).collect();
    let prob = NonlinearProblem::new(f, vec![0.0; 64], p.clone()).with_options(tight());
    let rule = ImplicitSolveRule::new(&prob, &Algorithm::default()).unwrap();
    let mut u = vec![0.0; 64];
    let state = rule.primal(&p, &mut u).unwrap();
    let mut rng = Rng(11);
    for _ in 0..3 {
        let v = rng.vec(np);
        let w = rng.vec(64);
        let mut jv = vec![0.0; 64];
        rule.jvp::<f64>(&state, &p, &u, &v, &mut jv).unwrap();
        let mut jtw = vec![0.0; np];
        rule.vjp::<f64>(&state, &p, &u, &w, &mut jtw).unwrap();
        let a: f64 = jv.iter().zip(&w).map(|(x, y)| x * y).sum();
        let b: f64 = v.iter().zip(&jtw).map(|(x, y)| x * y).sum();
        // Two exact products of the same matrix: they differ by rounding only.
        assert!((a - b).abs() <= 1e-13 * a.abs().max(1.0), "{a} vs {b}");
    }
}

/// The 2-D Bratu residual with a local parameter per grid point: `Δu + p_k e^{u_k} = 0`.
#[derive(Clone)]
struct LocalBratu {
    n: usize,
}
impl NonlinearFunction for LocalBratu {
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        tangent_ad::problems::Bratu2D { n: self.n }.residual(u, S::zero(), r);
        for k in 0..u.len() {
            r[k] += p[k] * u[k].exp();
        }
    }
}

struct SumLocal(ImplicitSolveRule<LocalBratu>);
impl ScalarFunction for SumLocal {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let mut u = vec![S::zero(); self.0.n()];
        self.0.solve(p, &mut u).unwrap();
        u.iter().copied().sum()
    }
}

#[test]
fn many_parameters_reverse_matches_forward() {
    // 64 parameters: the reverse rule records F on the tape for J_pᵀλ; the forward rule pushes
    // 8 directions per Dual<8> evaluation and solves them together.
    let f = LocalBratu { n: 8 };
    let p: Vec<f64> = (0..64).map(|i| 4.0 + (i % 5) as f64 * 0.3).collect();
    let prob = NonlinearProblem::new(f, vec![0.0; 64], p.clone()).with_options(tight());
    let sum = SumLocal(ImplicitSolveRule::new(&prob, &Algorithm::default()).unwrap());
    let (mut gr, mut gf) = (vec![0.0; 64], vec![0.0; 64]);
    gradient(&sum, &Reverse, &p, &mut gr).unwrap();
    gradient(&sum, &Forward::<8>, &p, &mut gf).unwrap();
    close(&gr, &gf, 1e-12, "reverse vs forward");
    let r = check_gradient(&sum, &Reverse, &p).unwrap();
    assert!(r.passes(VS_RIDDERS), "{r}");
}

#[test]
fn sparse_and_dense_jacobians_give_the_same_derivatives() {
    // P7's residual on a 12 × 12 grid: the rule with the sparse coloured Jacobian and sparse LU
    // against the dense forward-mode Jacobian and dense LU, first and second order.
    use tangent_nonlinsolve::problems::Bratu;
    struct SumU(ImplicitSolveRule<Bratu>);
    impl ScalarFunction for SumU {
        fn eval<S: Scalar>(&self, p: &[S]) -> S {
            let mut u = vec![S::zero(); self.0.n()];
            self.0.solve(p, &mut u).unwrap();
            u.iter().copied().sum::<S>() * p[0]
        }
    }
    let b = Bratu::new(12);
    let prob = NonlinearProblem::new(b, b.start(), vec![5.0]).with_options(tight());
    let sparse = SumU(
        ImplicitSolveRule::new(
            &prob,
            &NewtonRaphson {
                jacobian: JacobianMethod::Sparse(SparseOptions::default()),
                ..Default::default()
            }
            .into(),
        )
        .unwrap(),
    );
    let dense = SumU(
        ImplicitSolveRule::new(
            &prob,
            &NewtonRaphson {
                jacobian: JacobianMethod::DenseForward,
                ..Default::default()
            }
            .into(),
        )
        .unwrap(),
    );
    let (mut gs, mut gd) = ([0.0], [0.0]);
    gradient(&sparse, &Reverse, &[5.0], &mut gs).unwrap();
    gradient(&dense, &Forward::<1>, &[5.0], &mut gd).unwrap();
    close(&gs, &gd, 1e-12, "gradient sparse vs dense");
    let (mut hs, mut hd) = ([0.0], [0.0]);
    hessian(&sparse, &Forward::<1>, &[5.0], &mut hs).unwrap();
    hessian(&dense, &Reverse, &[5.0], &mut hd).unwrap();
    close(&hs, &hd, 1e-11, "hessian sparse vs dense");
    let r = check_hessian(&sparse, &Reverse, &[5.0]).unwrap();
    assert!(r.passes(1e-7), "{r}");
}

#[test]
fn warm_start_continuation() {
    let prob = NonlinearProblem::new(Vieta, vec![3.0, 0.5], vec![3.0, 1.0]).with_options(tight());
    let cold = ImplicitSolveRule::new(&prob, &Algorithm::default()).unwrap();
    let warm = ImplicitSolveRule::new(&prob, &Algorithm::default())
        .unwrap()
        .with_warm_start(true);
    let mut u = [0.0; 2];
    let _ = warm.primal(&[3.0, 1.0], &mut u).unwrap();
    let (mut uc, mut uw) = ([0.0; 2], [0.0; 2]);
    let _ = cold.primal(&[3.01, 1.0], &mut uc).unwrap();
    let _ = warm.primal(&[3.01, 1.0], &mut uw).unwrap();
    close(&uw, &uc, 1e-14, "warm vs cold");
    let exact = vieta_closed(&[3.01, 1.0]);
    close(&uw, &exact, 1e-13, "warm vs closed form");
    assert!(warm.last_stats().unwrap().iterations < cold.last_stats().unwrap().iterations);
}

#[test]
fn errors_are_typed() {
    // Wrong input length.
    let rule = vieta_rule(Algorithm::default());
    let mut u = [0.0; 2];
    assert!(matches!(
        f64::apply_rule(&rule, &[1.0], &mut u),
        Err(RuleError::DimensionMismatch { .. })
    ));
    // No real root (p₀² < 4 p₁): the solve fails, the rule says why.
    let Err(RuleError::Failed(msg)) = rule.primal(&[1.0, 1.0], &mut u) else {
        panic!("expected a failure");
    };
    assert!(msg.contains("no convergence"), "{msg}");
    // The same failure on replay of a recorded tape is a typed tape error.
    let by_rule = Outer(Some(vieta_rule(Algorithm::default())));
    let mut prep = prepare_gradient(&by_rule, &ReverseReplay, &THETA).unwrap();
    let mut g = [0.0; 3];
    let err = prep
        .gradient(&by_rule, &[0.1, 1.5, 0.0], &mut g)
        .unwrap_err();
    assert!(
        matches!(
            err,
            tangent_ad::AdError::Tape(TapeError::Rule {
                source: RuleError::Failed(_),
                ..
            })
        ),
        "{err:?}"
    );
    // Least squares has no implicit-function rule.
    let ls = NonlinearProblem::new(tangent_nonlinsolve::problems::Bard, vec![1.0; 3], vec![]);
    assert!(matches!(
        ImplicitSolveRule::new(&ls, &Algorithm::default()),
        Err(NonlinsolveError::NotSquare { m: 15, n: 3, .. })
    ));
}
