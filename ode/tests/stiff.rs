//! The stiff methods: convergence orders and dense output on problems with known solutions
//! (including a stiff linear one), P2 and P3 against the oracles, the Jacobian routes against one
//! another, `tstops` against the split problem, and the failure modes.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: indices mirror the maths; unwrap is the assertion

mod common;

use common::*;
use tangent_ad::Scalar;
use tangent_ode::problems::{Brusselator, Robertson};
use tangent_ode::{
    Bdf, JacobianMethod, NewtonOptions, OdeAlgorithm, OdeError, OdeOptions, OdeProblem, OdeRhs,
    ReturnCode, Rodas5P, Solution, TrBdf2, UserJacobian, init, solve,
};

/// A stiff linear system with a smooth solution (a Prothero–Robinson component driving a slow
/// one): `u₀' = −u₀ + u₁`, `u₁' = −1000 (u₁ − cos t) − sin t`; from `u(0) = (1, 1)`,
/// `u₁ = cos t` and `u₀ = e^{−t}/2 + (cos t + sin t)/2`.
#[derive(Clone, Copy, Debug)]
struct StiffLinear;

impl OdeRhs for StiffLinear {
    fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = -u[0] + u[1];
        du[1] = (u[1] - t.cos()) * -1000.0 - t.sin();
    }
}

fn stiff_linear_exact(t: f64) -> Vec<f64> {
    vec![0.5 * (-t).exp() + 0.5 * (t.cos() + t.sin()), t.cos()]
}

/// The Riccati equation of the common module as a vector solution.
fn riccati_vec(t: f64) -> Vec<f64> {
    vec![riccati_exact(t)]
}

/// Fixed-step solve with `steps` steps; dense output on. Tight tolerances make the Newton
/// iterations of the implicit methods converge far below the truncation error.
fn fixed<F: OdeRhs + Clone, A: OdeAlgorithm>(
    prob: &OdeProblem<F>,
    alg: &A,
    steps: usize,
) -> Solution {
    let (t0, t1) = prob.tspan;
    let mut p = prob.clone();
    p.options = OdeOptions {
        adaptive: false,
        initial_step: Some((t1 - t0) / steps as f64),
        rtol: 1e-12.into(),
        atol: 1e-12.into(),
        ..Default::default()
    };
    let sol = solve(&p, alg).unwrap();
    assert_eq!(sol.stats().accepted_steps, steps);
    sol
}

fn max_error(u: &[f64], v: &[f64]) -> f64 {
    u.iter()
        .zip(v)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Order of the global error at the end, least squares over the step counts.
fn global_order<F: OdeRhs + Clone, A: OdeAlgorithm>(
    name: &str,
    prob: &OdeProblem<F>,
    exact: &dyn Fn(f64) -> Vec<f64>,
    alg: &A,
    steps: &[usize],
) -> f64 {
    let (t0, t1) = prob.tspan;
    let (mut hs, mut errs) = (vec![], vec![]);
    for &s in steps {
        let sol = fixed(prob, alg, s);
        hs.push((t1 - t0) / s as f64);
        errs.push(max_error(sol.last_state().unwrap(), &exact(t1)));
    }
    let p = slope(&hs, &errs);
    println!("{name}: global errors {} -> order {p:.3}", fmt(&errs));
    p
}

/// Order of the local error of the dense output: one step of size `h` from the exact value at
/// `t0`, the largest error of `sol.at` inside the step. An interpolant of order `q` errs by
/// `O(h^{q+1})` there.
fn dense_order<F: OdeRhs + Clone, A: OdeAlgorithm>(
    name: &str,
    rhs: F,
    exact: &dyn Fn(f64) -> Vec<f64>,
    t0: f64,
    alg: &A,
    hs: &[f64],
) -> f64 {
    let errs: Vec<f64> = hs
        .iter()
        .map(|&h| {
            let prob = OdeProblem::new(rhs.clone(), exact(t0), (t0, t0 + h), vec![]);
            let sol = fixed(&prob, alg, 1);
            (1..10)
                .map(|k| {
                    let t = t0 + 0.1 * k as f64 * h;
                    max_error(&sol.at(t).unwrap(), &exact(t))
                })
                .fold(0.0, f64::max)
        })
        .collect();
    let p = slope(hs, &errs);
    println!(
        "{name}: one-step dense errors {} -> order {p:.3}",
        fmt(&errs)
    );
    p
}

#[test]
fn rodas5p_orders() {
    // Global errors between ~1e-8 and ~1e-11 (above round-off, past the pre-asymptotic range).
    // On the stiff linear problem h·1000 is between 25 and 100: the order in the stiff regime,
    // which Rodas5P was built to keep (Prothero–Robinson order 4 at least).
    let rodas = Rodas5P::default();
    let riccati = OdeProblem::new(Riccati, vec![1.0], (0.0, 2.0), vec![]);
    let steps = [20, 28, 40, 56, 80];
    let p = global_order("Rodas5P Riccati", &riccati, &riccati_vec, &rodas, &steps);
    assert!((p - 5.0).abs() <= 0.3, "{p}");
    let stiff = OdeProblem::new(StiffLinear, vec![1.0, 1.0], (0.0, 2.0), vec![]);
    let p = global_order(
        "Rodas5P stiff linear",
        &stiff,
        &stiff_linear_exact,
        &rodas,
        &steps,
    );
    assert!((p - 5.0).abs() <= 0.3, "{p}");
    // The interpolant: order 4 (local error h^5).
    let hs = [0.05, 0.035, 0.025, 0.018, 0.0125];
    let q = dense_order("Rodas5P Riccati", Riccati, &riccati_vec, 0.3, &rodas, &hs);
    assert!((q - 5.0).abs() <= 0.3, "{q}");
    let hs = [0.02, 0.014, 0.01, 0.007, 0.005];
    let q = dense_order(
        "Rodas5P stiff linear",
        StiffLinear,
        &stiff_linear_exact,
        0.3,
        &rodas,
        &hs,
    );
    // In the stiff regime (h·1000 between 5 and 20) the local error of the interpolant drops to
    // O(h^4), one order down, the order reduction of the Prothero–Robinson analysis.
    assert!((q - 4.0).abs() <= 0.3, "{q}");
}

#[test]
fn trbdf2_orders() {
    // Order 2; the quadratic interpolant is of order 2 (local error h^3). Newton iterates to the
    // tight tolerances of `fixed`.
    let trbdf2 = TrBdf2 {
        newton: NewtonOptions {
            max_iterations: 20,
            tolerance: None,
        },
        ..Default::default()
    };
    let steps = [40, 80, 160, 320];
    let riccati = OdeProblem::new(Riccati, vec![1.0], (0.0, 2.0), vec![]);
    let p = global_order("TR-BDF2 Riccati", &riccati, &riccati_vec, &trbdf2, &steps);
    assert!((p - 2.0).abs() <= 0.3, "{p}");
    let stiff = OdeProblem::new(StiffLinear, vec![1.0, 1.0], (0.0, 2.0), vec![]);
    let p = global_order(
        "TR-BDF2 stiff linear",
        &stiff,
        &stiff_linear_exact,
        &trbdf2,
        &steps,
    );
    assert!((p - 2.0).abs() <= 0.3, "{p}");
    let hs = [0.1, 0.07, 0.05, 0.035, 0.025];
    let q = dense_order("TR-BDF2 Riccati", Riccati, &riccati_vec, 0.3, &trbdf2, &hs);
    assert!((q - 3.0).abs() <= 0.3, "{q}");
}

#[test]
fn adaptive_stiff_solves_meet_their_tolerances() {
    let exact = stiff_linear_exact(3.0);
    for rtol in [1e-4, 1e-6, 1e-8] {
        let prob = OdeProblem::new(StiffLinear, vec![1.0, 1.0], (0.0, 3.0), vec![]).with_options(
            OdeOptions {
                rtol: rtol.into(),
                atol: (rtol * 1e-2).into(),
                ..Default::default()
            },
        );
        let check = |name: &str, sol: &Solution, dense_factor: f64| {
            let err = max_error(sol.last_state().unwrap(), &exact);
            let dense = (0..300)
                .map(|k| {
                    let t = 0.01 * k as f64 + 0.005;
                    max_error(&sol.at(t).unwrap(), &stiff_linear_exact(t))
                })
                .fold(0.0, f64::max);
            println!(
                "{name} rtol {rtol:e}: end error {err:.1e}, dense {dense:.1e}, {} steps",
                sol.stats().accepted_steps
            );
            // 10 × rtol (solution O(1)): the local error control keeps the global error of this
            // contractive problem at the tolerance's order.
            assert!(err < 10.0 * rtol, "{name} {rtol:e}: {err:e}");
            assert!(
                dense < dense_factor * rtol,
                "{name} {rtol:e}: dense {dense:e}"
            );
        };
        check("Rodas5P", &solve(&prob, &Rodas5P::default()).unwrap(), 10.0);
        check("BDF", &solve(&prob, &Bdf::default()).unwrap(), 10.0);
        check("NDF", &solve(&prob, &Bdf::ndf()).unwrap(), 10.0);
        // TR-BDF2's quadratic interpolant is not error-controlled and one order below the
        // order-3 estimate: measured up to 12 × rtol between steps.
        if rtol >= 1e-6 {
            // A low-accuracy method: at rtol 1e-8 its global error is 21 × rtol (861 steps).
            check("TR-BDF2", &solve(&prob, &TrBdf2::default()).unwrap(), 30.0);
        }
    }
}

/// P2 at the problem's tolerances: `u₃(10⁵)` and the sum of `u₃` over the observation times.
#[test]
fn p2_against_the_oracle() {
    let prob = Robertson::problem();
    let with_saveat = prob.clone().with_options(OdeOptions {
        saveat: Robertson::observation_times(),
        dense: false,
        ..prob.options.clone()
    });
    fn check<A: OdeAlgorithm>(
        alg: &A,
        prob: &OdeProblem<Robertson>,
        saved: &OdeProblem<Robertson>,
    ) {
        let sol = solve(prob, alg).unwrap();
        let u3 = sol.last_state().unwrap()[2];
        let rel = (u3 - Robertson::ORACLE_U3_END).abs() / Robertson::ORACLE_U3_END;
        let saved = solve(saved, alg).unwrap();
        let sum: f64 = (0..saved.len()).map(|k| saved.state(k).unwrap()[2]).sum();
        let rel_sum = (sum - Robertson::ORACLE_SUM_U3).abs() / Robertson::ORACLE_SUM_U3;
        let s = sol.stats();
        println!(
            "P2 {}: u3 error {rel:.1e}, sum error {rel_sum:.1e}; {} steps ({} rejected), {} f, {} J, {} LU, {} solves",
            alg.name(),
            s.accepted_steps,
            s.rejected_steps,
            s.rhs_evaluations,
            s.jacobian_evaluations,
            s.factorizations,
            s.linear_solves
        );
        // The criterion: within 10 × the relative tolerance.
        assert!(rel < 10.0 * Robertson::RTOL, "{}: {rel:e}", alg.name());
        // TR-BDF2 (order 2) reads the saved values off its order-2 interpolant: 11 × rtol
        // measured for the sum, so 20 × for it.
        let factor = if alg.name() == "TR-BDF2" { 20.0 } else { 10.0 };
        assert!(
            rel_sum < factor * Robertson::RTOL,
            "{}: {rel_sum:e}",
            alg.name()
        );
        // Mass is conserved by every linear multistep / Runge–Kutta combination of f.
        let mass: f64 = sol.last_state().unwrap().iter().sum();
        assert!((mass - 1.0).abs() < 1e-12, "{}: mass {mass}", alg.name());
    }
    check(&Rodas5P::default(), &prob, &with_saveat);
    check(&Bdf::default(), &prob, &with_saveat);
    check(&Bdf::ndf(), &prob, &with_saveat);
    check(&TrBdf2::default(), &prob, &with_saveat);
    // The reuse: far fewer factorisations and Jacobians than steps.
    let s = solve(&prob, &Bdf::default()).unwrap().stats();
    assert!(s.factorizations * 4 < s.accepted_steps, "{s:?}");
    assert!(s.jacobian_evaluations * 10 < s.accepted_steps, "{s:?}");
}

/// P3 (N = 32) across the forcing switch with `tstops`, at rtol 1e-6, atol 1e-8.
fn p3(n: usize, rtol: f64, atol: f64, jacobian: JacobianMethod) -> (OdeProblem<Brusselator>, Bdf) {
    let b = Brusselator::new(n);
    let prob = OdeProblem::new(
        b,
        b.grid.initial_state(),
        (0.0, Brusselator::T_END),
        Brusselator::PARAMS.to_vec(),
    )
    .with_options(OdeOptions {
        rtol: rtol.into(),
        atol: atol.into(),
        dense: false,
        saveat: vec![Brusselator::T_END],
        tstops: vec![Brusselator::FORCING_ON],
        ..Default::default()
    });
    let alg = Bdf {
        jacobian,
        ..Default::default()
    };
    (prob, alg)
}

#[test]
fn p3_n32_against_the_oracle() {
    let rel = |sol: &Solution| {
        let sum: f64 = sol.last_state().unwrap().iter().sum();
        (sum - Brusselator::ORACLE_N32_SUM).abs() / Brusselator::ORACLE_N32_SUM
    };
    let (prob, bdf) = p3(32, 1e-6, 1e-8, JacobianMethod::Auto);
    let it = init(&prob, &bdf).unwrap();
    let info = it.stepper().info();
    println!("P3 N = 32 BDF prepared: {info:?}");
    assert!(info.sparse_jacobian);
    // The 5-point stencil on two species: 6 entries per row.
    assert_eq!(info.jacobian_nnz, 6 * 2 * 32 * 32);
    let sol = solve(&prob, &bdf).unwrap();
    let s = sol.stats();
    println!("P3 BDF rtol 1e-6: relative error {:.1e}, {s:?}", rel(&sol));
    // Reuse: a factorisation every several steps, a Jacobian every few tens.
    assert!(s.factorizations * 4 < s.accepted_steps, "{s:?}");
    assert!(s.jacobian_evaluations * 20 < s.accepted_steps, "{s:?}");
    // The oscillation accumulates the local errors over ~20 periods: BDF's error at rtol 1e-6
    // measures 2.3e-5 (23 × rtol; Rodas5P's below). 5e-5 bounds it; at rtol 1e-8 BDF is within
    // 10 × 1e-6 of the oracle.
    assert!(rel(&sol) < 5e-5, "{}", rel(&sol));
    let (tight, _) = p3(32, 1e-8, 1e-10, JacobianMethod::Auto);
    let sol = solve(&tight, &bdf).unwrap();
    println!("P3 BDF rtol 1e-8: relative error {:.1e}", rel(&sol));
    assert!(rel(&sol) < 1e-5, "{}", rel(&sol));
    // Rodas5P meets the criterion at rtol 1e-6: within 10 × the tolerance.
    let sol = solve(&prob, &Rodas5P::default()).unwrap();
    println!(
        "P3 Rodas5P rtol 1e-6: relative error {:.1e}, {:?}",
        rel(&sol),
        sol.stats()
    );
    assert!(rel(&sol) < 1e-5, "{}", rel(&sol));
}

/// `tstops` equals integrating the two problems split at the forcing switch — with the first
/// ending on the float before the switch, where `f` still has its left limit. (Ending the first
/// problem at 1.1 itself makes its last step evaluate `f` with the forcing on: that step sees
/// the jump, is rejected several times and ends ~1e-5 away.)
#[test]
fn tstops_equal_the_split_problem() {
    let n = 8;
    let (mut prob, bdf) = p3(n, 1e-6, 1e-8, JacobianMethod::Auto);
    prob.options.saveat = vec![Brusselator::FORCING_ON, Brusselator::T_END];
    let one = solve(&prob, &bdf).unwrap();
    let opts = |t_end: f64| OdeOptions {
        rtol: 1e-6.into(),
        atol: 1e-8.into(),
        dense: false,
        saveat: vec![t_end],
        ..Default::default()
    };
    let before = Brusselator::FORCING_ON.next_down();
    let mut first = Brusselator::problem_before_forcing(n).with_options(opts(before));
    first.tspan.1 = before;
    let s1 = solve(&first, &bdf).unwrap();
    let second = Brusselator::problem_after_forcing(n, s1.last_state().unwrap().to_vec())
        .with_options(opts(Brusselator::T_END));
    let s2 = solve(&second, &bdf).unwrap();
    let at_switch = max_error(one.state(0).unwrap(), s1.last_state().unwrap());
    let diff = max_error(one.last_state().unwrap(), s2.last_state().unwrap());
    println!(
        "tstops vs split: {at_switch:.1e} at the switch, {diff:.1e} at the end; steps {} vs {} + {}",
        one.stats().accepted_steps,
        s1.stats().accepted_steps,
        s2.stats().accepted_steps
    );
    assert_eq!(one.times()[0], Brusselator::FORCING_ON);
    assert_eq!(
        one.stats().accepted_steps,
        s1.stats().accepted_steps + s2.stats().accepted_steps
    );
    // The same steps and the same restart: equal to rounding (the state at the switch is read
    // off the interpolant of the first step after it, at its left end).
    assert!(at_switch < 1e-12, "{at_switch:e}");
    assert!(diff < 1e-10, "{diff:e}");
}

/// Dense forward AD, sparse coloured AD and user Jacobians (dense and sparse) give the same
/// trajectory to rounding.
#[test]
fn jacobian_routes_agree() {
    let n = 8;
    let b = Brusselator::new(n);
    let reference_alg = Bdf {
        jacobian: JacobianMethod::Dense,
        ..Default::default()
    };
    let (prob, _) = p3(n, 1e-6, 1e-8, JacobianMethod::Dense);
    let mut prob = prob;
    prob.options.saveat = (1..=23).map(|k| 0.5 * k as f64).collect();
    let dense = solve(&prob, &reference_alg).unwrap();
    // The routes really differ: dense J and dense LU against sparse J and the sparse LU.
    let info = |alg: &Bdf| init(&prob, alg).unwrap().stepper().info();
    let (di, si) = (
        info(&reference_alg),
        info(&Bdf {
            jacobian: JacobianMethod::Sparse,
            ..Default::default()
        }),
    );
    assert!(
        !di.sparse_jacobian && di.linear_solver == "DenseLu",
        "{di:?}"
    );
    assert!(
        si.sparse_jacobian && si.linear_solver == "SparseLu",
        "{si:?}"
    );
    // Columns of the 5-point stencil on two species: 8 or 9 colours found (10 rows per column
    // pattern, so far fewer than n = 128).
    assert!(si.colors.unwrap() <= 12, "{si:?}");
    // A user Jacobian: the dense AD one, computed here by central differences of f with a
    // step small enough that the Newton iteration cannot tell (checked against the AD result).
    let user = UserJacobian::dense(move |t, u, p, out| {
        let m = u.len();
        let mut up = u.to_vec();
        let (mut fp, mut fm) = (vec![0.0; m], vec![0.0; m]);
        for j in 0..m {
            let h = 1e-6 * (1.0 + u[j].abs());
            up[j] = u[j] + h;
            b.rhs(t, &up, p, &mut fp);
            up[j] = u[j] - h;
            b.rhs(t, &up, p, &mut fm);
            up[j] = u[j];
            for i in 0..m {
                out[i + j * m] = (fp[i] - fm[i]) / (2.0 * h);
            }
        }
    });
    let runs: Vec<(&str, Solution)> = vec![
        (
            "sparse AD",
            solve(
                &prob,
                &Bdf {
                    jacobian: JacobianMethod::Sparse,
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
        (
            "Rodas5P dense vs sparse",
            solve(
                &prob,
                &Rodas5P {
                    jacobian: JacobianMethod::Sparse,
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
        (
            "user dense (finite differences)",
            solve(
                &prob,
                &Bdf {
                    jacobian: JacobianMethod::User(user),
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
    ];
    let rodas_dense = solve(
        &prob,
        &Rodas5P {
            jacobian: JacobianMethod::Dense,
            ..Default::default()
        },
    )
    .unwrap();
    for (name, sol) in &runs {
        let reference = if name.starts_with("Rodas") {
            &rodas_dense
        } else {
            &dense
        };
        let diff = max_error(sol.states(), reference.states());
        println!(
            "{name}: max difference {diff:.1e}; steps {} vs {}",
            sol.stats().accepted_steps,
            reference.stats().accepted_steps
        );
        if name.starts_with("user") {
            // Central differences err by ~1e-9 relative: the Newton iterates differ slightly,
            // which moves a few step-size decisions (451 vs 446 steps): the trajectories then
            // differ by the global error (~1e-5 here, atol 1e-8, rtol 1e-6, states up to ~5).
            let (a, b) = (sol.stats().accepted_steps, reference.stats().accepted_steps);
            assert!(a.abs_diff(b) * 100 < 3 * b, "{a} vs {b}");
            assert!(diff < 1e-4, "{name}: {diff:e}");
        } else {
            // Same J to rounding, LU with another elimination order: rounding-level
            // differences in the Newton corrections, which are small against the state (BDF
            // measures 0, bit for bit; Rodas5P, whose stages are the increments, 2e-12).
            assert_eq!(sol.stats().accepted_steps, reference.stats().accepted_steps);
            assert!(diff < 1e-9, "{name}: {diff:e}");
        }
    }
}

/// `u' = 4u` with the fixed step 0.25: the first BDF step (order 1) has `I − hJ = 0`.
#[derive(Clone, Copy, Debug)]
struct Growth;
impl OdeRhs for Growth {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = u[0] * 4.0;
    }
}

#[test]
fn singular_iteration_matrix_is_a_typed_error() {
    let prob = OdeProblem::new(Growth, vec![1.0], (0.0, 1.0), vec![]).with_options(OdeOptions {
        adaptive: false,
        initial_step: Some(0.25),
        ..Default::default()
    });
    let err = solve(&prob, &Bdf::default()).unwrap_err();
    println!("{err}");
    match &err {
        OdeError::SingularIterationMatrix { t, h, pivot, .. } => {
            assert_eq!((*t, *h, *pivot), (0.0, 0.25, 0));
        }
        other => panic!("unexpected {other:?}"),
    }
    let partial = err.partial_solution().unwrap();
    assert_eq!(partial.retcode(), ReturnCode::SingularIterationMatrix);
    assert_eq!(partial.times(), &[0.0]);
    // Adaptive: the step is shrunk past the singular value and the solve succeeds.
    let mut adaptive = prob.clone();
    adaptive.options.adaptive = true;
    adaptive.options.initial_step = Some(0.25);
    let sol = solve(&adaptive, &Bdf::default()).unwrap();
    let rel = (sol.last_state().unwrap()[0] - 4f64.exp()).abs() / 4f64.exp();
    assert!(rel < 1e-4, "{rel:e}");
}

/// `u' = −1000 u³ + 1000 cos t`, whose Jacobian is given wrongly as 0: the Newton iteration
/// becomes a fixed-point iteration, which fails for long steps, so the steps are rejected and
/// shrunk until it converges. The solve still succeeds, with the failures counted.
#[derive(Clone, Copy, Debug)]
struct Cubic;
impl OdeRhs for Cubic {
    fn rhs<S: Scalar>(&self, t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = (t.cos() - u[0] * u[0] * u[0]) * 1000.0;
    }
}

#[test]
fn newton_failures_shrink_the_step() {
    let prob = OdeProblem::new(Cubic, vec![1.0], (0.0, 1.0), vec![]);
    let good = solve(&prob, &Bdf::default()).unwrap();
    let wrong = Bdf {
        jacobian: JacobianMethod::User(UserJacobian::dense(|_t, _u, _p, out| out[0] = 0.0)),
        newton: NewtonOptions {
            max_iterations: 4,
            tolerance: None,
        },
        ..Default::default()
    };
    let sol = solve(&prob, &wrong).unwrap();
    let (sg, sw) = (good.stats(), sol.stats());
    println!("exact J: {sg:?}\nJ = 0: {sw:?}");
    assert_eq!(sg.convergence_failures, 0);
    assert!(sw.convergence_failures > 0);
    assert!(sw.accepted_steps > sg.accepted_steps);
    let diff = (sol.last_state().unwrap()[0] - good.last_state().unwrap()[0]).abs();
    // Both at rtol 1e-6 on a solution of size ~1.
    assert!(diff < 1e-4, "{diff:e}");
    // With fixed steps the failure ends the solve with the partial solution.
    let fixed = prob.clone().with_options(OdeOptions {
        adaptive: false,
        initial_step: Some(0.01),
        ..Default::default()
    });
    let err = solve(&fixed, &wrong).unwrap_err();
    assert!(
        matches!(err, OdeError::ConvergenceFailure { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.partial_solution().unwrap().retcode(),
        ReturnCode::ConvergenceFailure
    );
}

/// `u' = u²`, `u(0) = 1` blows up at `t = 1`: the step size underflows (or `f` overflows) there,
/// and the partial solution reaches almost to it.
#[derive(Clone, Copy, Debug)]
struct BlowUp;
impl OdeRhs for BlowUp {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = u[0] * u[0];
    }
}

#[test]
fn blow_up_keeps_the_partial_solution() {
    let prob = OdeProblem::new(BlowUp, vec![1.0], (0.0, 2.0), vec![]);
    fn check<A: OdeAlgorithm>(alg: &A, prob: &OdeProblem<BlowUp>) {
        let err = solve(prob, alg).unwrap_err();
        println!("{}: {err}", alg.name());
        assert!(
            matches!(
                err,
                OdeError::StepSizeTooSmall { .. }
                    | OdeError::NonFiniteRhs { .. }
                    | OdeError::MaxStepsReached { .. }
            ),
            "{err:?}"
        );
        let partial = err.partial_solution().unwrap();
        let t_end = partial.end_time();
        // The numerical blow-up time is the exact one to the tolerance's order.
        assert!((t_end - 1.0).abs() < 1e-4, "{}: {t_end}", alg.name());
        assert!(partial.last_state().unwrap()[0] > 1e4);
        // The solution kept is accurate before the blow-up: u = 1/(1 − t), dense output too.
        for t in [0.5, 0.9] {
            let u = partial.at(t).unwrap()[0];
            let rel = (u * (1.0 - t) - 1.0).abs();
            // 1e-3: rtol 1e-6 with the relative global error growing like u (10 × at 0.9,
            // 100 × at 0.99), and TR-BDF2's order-2 interpolant (4.3e-4 at 0.9; the others 1e-5).
            assert!(rel < 1e-3, "{} at {t}: {rel:e}", alg.name());
        }
    }
    check(&Rodas5P::default(), &prob);
    check(&Bdf::default(), &prob);
    check(&TrBdf2::default(), &prob);
}

/// `u' = −√u` from `u = 0`: `f` is finite but `∂f/∂u = −1/(2√u)` is not.
#[derive(Clone, Copy, Debug)]
struct SqrtDecay;
impl OdeRhs for SqrtDecay {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = -u[0].sqrt();
    }
}

#[test]
fn non_finite_jacobian_is_a_typed_error() {
    let prob = OdeProblem::new(SqrtDecay, vec![0.0], (0.0, 1.0), vec![]);
    for err in [
        solve(&prob, &Bdf::default()).unwrap_err(),
        solve(&prob, &Rodas5P::default()).unwrap_err(),
        solve(&prob, &TrBdf2::default()).unwrap_err(),
    ] {
        println!("{err}");
        match &err {
            OdeError::NonFiniteJacobian { t, row, column, .. } => {
                assert_eq!((*t, *row, *column), (0.0, 0, 0));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.partial_solution().unwrap().retcode(),
            ReturnCode::NonFiniteJacobian
        );
    }
}

/// Backward in time, and re-solves through the integrator give the same result.
#[test]
fn backward_and_repeated_solves() {
    let prob = OdeProblem::new(Riccati, vec![riccati_exact(2.0)], (2.0, 0.0), vec![]);
    for (name, u) in [
        (
            "Rodas5P",
            solve(&prob, &Rodas5P::default())
                .unwrap()
                .last_state()
                .unwrap()[0],
        ),
        (
            "BDF",
            solve(&prob, &Bdf::default()).unwrap().last_state().unwrap()[0],
        ),
        (
            "TR-BDF2",
            solve(&prob, &TrBdf2::default())
                .unwrap()
                .last_state()
                .unwrap()[0],
        ),
    ] {
        // 5e-5: rtol 1e-6 (the default); backwards the solution grows from 0.2 to 1 and the
        // linearised flow amplifies errors by (u(0)/u(2))² = 25.
        assert!((u - 1.0).abs() < 5e-5, "{name}: {u}");
    }
    let prob = Robertson::problem();
    let mut it = init(&prob, &Bdf::default()).unwrap();
    let first = it.solve().unwrap().clone();
    let second = it.solve().unwrap();
    assert_eq!(first.states(), second.states());
    assert_eq!(first.stats(), second.stats());
}
