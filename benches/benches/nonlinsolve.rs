//! tangent-nonlinsolve on P7 (2-D Bratu, `Δu + λ eᵘ = 0`, N = 64, 4096 unknowns, λ = 6, from
//! u = 0): costs as ratios measured in one run.
//!
//! * **Jacobians**: Newton with the sparse coloured Jacobian (pattern detected and coloured
//!   automatically, sparse LU) against Newton with the dense forward-mode Jacobian (dense LU), at
//!   N = 32 and N = 64, all on prepared caches (`init` outside the loop);
//! * **algorithms** on P7: Newton with factorisation reuse, trust region, Levenberg–Marquardt,
//!   Broyden, and `init` itself (sparsity detection, colouring, symbolic analysis), against plain
//!   Newton;
//! * **where the time goes**: the shares of `F`, the Jacobian, the factorisations and the
//!   triangular solves in a Newton solve (the solver's own timers, summed over many solves);
//! * **the implicit derivative**: the rule's primal (the solve, `J_u(u*)` and its factorisation),
//!   its vjp (one transposed solve and `J_pᵀ λ`) and jvp, and whole gradients of `Σ u*(λ)` in
//!   reverse and forward mode, against one solve.

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use tangent_ad::operators::{Forward, GradientPrep, Reverse, prepare_gradient};
use tangent_ad::{Rule, Scalar, ScalarFunction};
use tangent_nonlinsolve::problems::Bratu;
use tangent_nonlinsolve::*;

fn p7(n: usize) -> NonlinearProblem<Bratu> {
    let b = Bratu::new(n);
    NonlinearProblem::new(b, b.start(), vec![Bratu::LAMBDA])
}

fn newton(jacobian: JacobianMethod) -> Algorithm {
    NewtonRaphson {
        jacobian,
        ..Default::default()
    }
    .into()
}

fn jacobians(c: &mut Criterion) {
    for n in [32usize, 64] {
        let mut group = c.benchmark_group(format!("nonlinsolve/P7 N={n} jacobian"));
        let prob = p7(n);
        let mut sparse = init(&prob, &newton(JacobianMethod::default())).unwrap();
        assert_eq!(sparse.jacobian_kind(), "sparse coloured");
        group.bench_function("newton sparse coloured", |b| {
            b.iter(|| sparse.solve().unwrap().residual_norm)
        });
        let mut dense = init(&prob, &newton(JacobianMethod::DenseForward)).unwrap();
        // N = 32: about 0.2 s per solve; N = 64: about 9 s (five dense LUs of order 4096).
        // The fewest samples criterion allows.
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
        group.bench_function("newton dense forward", |b| {
            b.iter(|| dense.solve().unwrap().residual_norm)
        });
        group.finish();
    }
}

fn algorithms(c: &mut Criterion) {
    let mut group = c.benchmark_group("nonlinsolve/P7 algorithms");
    let prob = p7(Bratu::N);
    for (id, alg) in [
        ("newton", Algorithm::from(NewtonRaphson::default())),
        (
            "newton reuse up to 3",
            NewtonRaphson {
                reuse: JacobianReuse::up_to(3),
                ..Default::default()
            }
            .into(),
        ),
        ("trust region", TrustRegion::default().into()),
        ("levenberg-marquardt", LevenbergMarquardt::default().into()),
        ("broyden", Broyden::default().into()),
    ] {
        let mut cache = init(&prob, &alg).unwrap();
        group.bench_function(id, |b| b.iter(|| cache.solve().unwrap().residual_norm));
    }
    group.bench_function("init (detect + colour + symbolic)", |b| {
        b.iter(|| init(black_box(&prob), &NewtonRaphson::default().into()).unwrap())
    });
    group.finish();
}

/// `Σ u*(λ)` through the implicit-function rule.
struct SumU(ImplicitSolveRule<Bratu>);

impl ScalarFunction for SumU {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let mut u = vec![S::zero(); self.0.n()];
        self.0.solve(p, &mut u).unwrap();
        u.iter().copied().sum()
    }
}

fn implicit(c: &mut Criterion) {
    let mut group = c.benchmark_group("nonlinsolve/P7 implicit derivative");
    let prob = p7(Bratu::N);
    let mut cache = init(&prob, &NewtonRaphson::default().into()).unwrap();
    group.bench_function("solve", |b| b.iter(|| cache.solve().unwrap().residual_norm));
    let rule = ImplicitSolveRule::new(&prob, &Algorithm::default()).unwrap();
    let p = [Bratu::LAMBDA];
    let mut u = vec![0.0; rule.n()];
    group.bench_function("rule primal (solve, J at the root, LU)", |b| {
        b.iter(|| rule.primal(black_box(&p), &mut u).unwrap())
    });
    // The derivative's own cost: a warm-started primal at the root takes no Newton step, so it
    // is one F, `J_u(u*)` and its factorisation — what the rule adds to a solve, before the vjp.
    let warm = ImplicitSolveRule::new(&prob, &Algorithm::default())
        .unwrap()
        .with_warm_start(true);
    warm.primal(&p, &mut u).unwrap();
    group.bench_function("J at the root + LU (warm primal)", |b| {
        b.iter(|| {
            let s = warm.primal(black_box(&p), &mut u).unwrap();
            assert_eq!(s.stats().iterations, 0);
            s
        })
    });
    let state = rule.primal(&p, &mut u).unwrap();
    let ubar = vec![1.0; rule.n()];
    let mut pbar = [0.0];
    group.bench_function("vjp", |b| {
        b.iter(|| {
            pbar[0] = 0.0;
            rule.vjp(&state, &p, &u, &ubar, &mut pbar).unwrap();
            pbar[0]
        })
    });
    let mut du = vec![0.0; rule.n()];
    group.bench_function("jvp (1 direction)", |b| {
        b.iter(|| rule.jvp(&state, &p, &u, &[1.0], &mut du).unwrap())
    });
    // Whole gradients of Σ u*(λ), prepared once (the one-shot operators prepare on every call,
    // and preparing a reverse gradient records — solves — once more).
    let f = SumU(rule.clone());
    let mut g = [0.0];
    let mut reverse = prepare_gradient(&f, &Reverse, &p).unwrap();
    group.bench_function("gradient reverse (solve + derivative)", |b| {
        b.iter(|| {
            reverse
                .value_and_gradient(&f, black_box(&p), &mut g)
                .unwrap()
        })
    });
    let mut forward = prepare_gradient(&f, &Forward::<1>, &p).unwrap();
    group.bench_function("gradient forward (solve + derivative)", |b| {
        b.iter(|| {
            forward
                .value_and_gradient(&f, black_box(&p), &mut g)
                .unwrap()
        })
    });
    group.finish();
}

/// The shares of a Newton solve on P7, from the solver's timers over `solves` solves.
fn print_shares(solves: usize) {
    let prob = p7(Bratu::N).with_options(NonlinearOptions {
        timings: true,
        ..Default::default()
    });
    let mut cache = init(&prob, &NewtonRaphson::default().into()).unwrap();
    cache.solve().unwrap();
    let mut t = Timings::default();
    let mut stats = Stats::default();
    for _ in 0..solves {
        let s = cache.solve().unwrap();
        t.residual += s.timings.residual;
        t.jacobian += s.timings.jacobian;
        t.factorization += s.timings.factorization;
        t.linear_solve += s.timings.linear_solve;
        t.total += s.timings.total;
        stats = s.stats;
    }
    let total = t.total.as_secs_f64();
    let share = |d: Duration| 100.0 * d.as_secs_f64() / total;
    let rest = t.total - t.residual - t.jacobian - t.factorization - t.linear_solve;
    println!(
        "nonlinsolve/P7 newton, shares of the solve time ({solves} solves; per solve: {} iterations, \
         {} F, {} Jacobians ({} colours), {} factorisations, {} solves):",
        stats.iterations,
        stats.residual_evaluations,
        stats.jacobian_evaluations,
        cache.jacobian_colors().unwrap_or(0),
        stats.factorizations,
        stats.linear_solves,
    );
    println!("  F                    {:5.1} %", share(t.residual));
    println!("  Jacobian (coloured)  {:5.1} %", share(t.jacobian));
    println!("  factorisation        {:5.1} %", share(t.factorization));
    println!("  triangular solves    {:5.1} %", share(t.linear_solve));
    println!("  rest (line search, norms, updates) {:5.1} %", share(rest));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = jacobians, algorithms, implicit
}

fn main() {
    tangent_benches::ignore_earlier_runs();
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== ratios (medians of this run) ==");
    for n in [32, 64] {
        tangent_benches::print_ratios(
            &format!("nonlinsolve/P7 N={n} jacobian"),
            "newton sparse coloured",
            &["newton dense forward"],
        );
    }
    tangent_benches::print_ratios(
        "nonlinsolve/P7 algorithms",
        "newton",
        &[
            "newton reuse up to 3",
            "trust region",
            "levenberg-marquardt",
            "broyden",
            "init (detect + colour + symbolic)",
        ],
    );
    let group = "nonlinsolve/P7 implicit derivative";
    tangent_benches::print_ratios(
        group,
        "solve",
        &[
            "rule primal (solve, J at the root, LU)",
            "J at the root + LU (warm primal)",
            "vjp",
            "jvp (1 direction)",
            "gradient reverse (solve + derivative)",
            "gradient forward (solve + derivative)",
        ],
    );
    let m = |id: &str| tangent_benches::median_ns(group, id);
    if let (Some(solve), Some(extra), Some(vjp), Some(grad)) = (
        m("solve"),
        m("J at the root + LU (warm primal)"),
        m("vjp"),
        m("gradient reverse (solve + derivative)"),
    ) {
        println!(
            "  implicit derivative (J(u*) + LU + vjp) = {:.2} × solve (target ≤ 0.3); \
             whole reverse gradient {:.2} ms (target < 15 ms)",
            (extra + vjp) / solve,
            grad / 1e6
        );
    }
    print_shares(50);
}
