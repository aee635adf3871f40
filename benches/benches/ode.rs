//! Work–precision of tangent-ode against diffsol, side by side in one run: P1 (Lotka–Volterra,
//! explicit methods against diffsol's `tsit45`), P2 (Robertson) and P3 (2-D Brusselator,
//! `N = 32` and `64`) with the stiff methods against diffsol's BDF (and its SDIRKs on P2).
//!
//! # P1
//!
//! For each `rtol ∈ {1e-3, …, 1e-10}` (`atol = rtol / 100`) every method solves P1 on `[0, 10]`
//! with output at the 101 observation times `t_k = 0.1 k` (tangent: `saveat` without dense
//! output; diffsol: `solve_dense` at the same times). The error is the largest absolute error at
//! those times against a tight-tolerance reference (tangent's Vern7 at `rtol = atol = 1e-13`, which
//! reproduces the oracle loss of `problems/oracles.json` to 1.5e-14). Timed variants:
//!
//! * `tangent <method>`: the one-shot `solve(&problem, &alg)` (validation, buffers, solution
//!   storage allocated per call — the same work diffsol's `tsit45()` + `solve_dense` does);
//! * `tangent <method> integrator`: `Integrator::solve` on a prepared integrator (no allocation);
//! * `diffsol tsit45`: `problem.tsit45()` + `solve_dense(&t_eval)` on a problem built once.
//!
//! The report prints each group's times as ratios to diffsol, the errors, and a summary at equal
//! error: for each diffsol point, tangent's time interpolated (log–log) to diffsol's error, or,
//! where diffsol's error lies outside tangent's range, the time of tangent's cheapest run with
//! a smaller error (marked `*`).
//!
//! # P2 (Robertson, 3 states, dense Jacobian)
//!
//! `rtol ∈ {1e-3, …, 1e-10}`, `atol = 1e-4 rtol` (P2's reference setting is rtol 1e-6,
//! atol 1e-10); the error is the relative error of `u₃(10⁵)` against the oracle. tangent:
//! Rodas5P, BDF, TR-BDF2 (one-shot `solve`, which includes preparing the Jacobian and the LU);
//! diffsol: `bdf`, `tr_bdf2`, `esdirk34` with its dense LU (nalgebra), the problem built once and
//! the Jacobian–vector product written by hand.
//!
//! # P3 (Brusselator, `2N²` states, sparse Jacobian)
//!
//! Integrated across the forcing switch at `t = 1.1` (tangent: `tstops`; diffsol: two problems,
//! the second started from the first's state at 1.1), `rtol ∈ {1e-3, …, 1e-10}`,
//! `atol = 1e-2 rtol`; the error is the relative error of the sum of the final state against a
//! reference computed here: Rodas5P at rtol 1e-11, printed with its distance to BDF at rtol 1e-12
//! (and at `N = 32` to the oracle, which is good to about 2e-8 only and so cannot judge the
//! tightest tolerances). tangent: BDF and Rodas5P with the sparse coloured AD Jacobian and the
//! sparse LU (one-shot `solve`: sparsity detection, colouring and the symbolic analysis
//! included); diffsol: `bdf` with faer's sparse LU (`FaerSparseLU`, the pattern found by
//! diffsol's NaN probing of the hand-written Jacobian–vector product when the problems are
//! built, once, outside the timing); `tangent BDF integrator` re-solves through a prepared
//! integrator (everything prepared once, as diffsol's built problems).
//!
//! * `N = 32` runs under criterion; the report also times one solve with the *dense* AD
//!   Jacobian and dense LU against the sparse route (outside criterion: the dense one takes
//!   seconds).
//! * `N = 64` is timed outside criterion (diffsol takes 4–30 s per solve): each solver runs
//!   `TANGENT_P3_N64_REPS` times (default 3), interleaved, and the median is reported. It runs
//!   when no filter is given or the filter is part of "P3 N=64 work-precision" (`-- N=64`).
//!
//! The report sections run when no filter is given or the filter is part of the section's
//! name (`-- P2`, `-- "P3 N=32"`); ratios are read only from estimates this run wrote.

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use criterion::{Criterion, criterion_group};
use diffsol::{DenseMatrix, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, Vector};
use tangent_ode::problems::{Brusselator, LotkaVolterra, Robertson};
use tangent_ode::{
    Bdf, Dp5, JacobianMethod, OdeAlgorithm, OdeOptions, OdeProblem, OdeRhs, Rodas5P, TrBdf2, Tsit5,
    Vern7, init, solve,
};

type M = diffsol::NalgebraMat<f64>;

const RTOLS: [f64; 8] = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];

fn problem(rtol: f64) -> OdeProblem<LotkaVolterra> {
    LotkaVolterra::problem().with_options(OdeOptions {
        rtol: rtol.into(),
        atol: (rtol * 1e-2).into(),
        saveat: LotkaVolterra::observation_times(),
        dense: false,
        ..Default::default()
    })
}

fn reference() -> Vec<f64> {
    let mut p = problem(1e-13);
    p.options.atol = 1e-13.into();
    solve(&p, &Vern7::default()).unwrap().states().to_vec()
}

fn max_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// P1 for diffsol: the right-hand side and its Jacobian–vector product.
fn diffsol_problem(
    rtol: f64,
) -> diffsol::OdeSolverProblem<
    impl diffsol::OdeEquationsImplicit<
        M = M,
        V = diffsol::NalgebraVec<f64>,
        T = f64,
        C = diffsol::NalgebraContext,
    >,
> {
    OdeBuilder::<M>::new()
        .rtol(rtol)
        .atol([rtol * 1e-2])
        .p(LotkaVolterra::PARAMS)
        .rhs_implicit(
            |x: &[f64], p: &[f64], _t: f64, y: &mut [f64]| {
                y[0] = p[0] * x[0] - p[1] * x[0] * x[1];
                y[1] = -p[2] * x[1] + p[3] * x[0] * x[1];
            },
            |x: &[f64], p: &[f64], _t: f64, v: &[f64], y: &mut [f64]| {
                y[0] = (p[0] - p[1] * x[1]) * v[0] - p[1] * x[0] * v[1];
                y[1] = p[3] * x[1] * v[0] + (-p[2] + p[3] * x[0]) * v[1];
            },
        )
        .init(
            |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&LotkaVolterra::U0),
            2,
        )
        .build()
        .unwrap()
}

/// diffsol's solution at the observation times, laid out as tangent's (time-major).
fn diffsol_solve<Eqn>(p: &diffsol::OdeSolverProblem<Eqn>, t_eval: &[f64]) -> Vec<f64>
where
    Eqn: diffsol::OdeEquationsImplicit<
            M = M,
            V = diffsol::NalgebraVec<f64>,
            T = f64,
            C = diffsol::NalgebraContext,
        >,
{
    let mut s = p.tsit45().unwrap();
    let (y, _) = s.solve_dense(t_eval).unwrap();
    let mut out = Vec::with_capacity(2 * t_eval.len());
    for k in 0..t_eval.len() {
        out.push(y.get_index(0, k));
        out.push(y.get_index(1, k));
    }
    out
}

fn group_name(rtol: f64) -> String {
    format!("P1 work-precision rtol={rtol:.0e}")
}

const IDS: [&str; 7] = [
    "tangent Tsit5",
    "tangent Tsit5 integrator",
    "tangent DP5",
    "tangent DP5 integrator",
    "tangent Vern7",
    "tangent Vern7 integrator",
    "diffsol tsit45",
];

fn bench_alg<A: OdeAlgorithm>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    prob: &OdeProblem<LotkaVolterra>,
    alg: &A,
) {
    group.bench_function(format!("tangent {name}"), |b| {
        b.iter(|| solve(black_box(prob), alg).unwrap())
    });
    let mut it = init(prob, alg).unwrap();
    group.bench_function(format!("tangent {name} integrator"), |b| {
        b.iter(|| {
            it.solve().unwrap();
        })
    });
}

fn p1_work_precision(c: &mut Criterion) {
    let t_eval = LotkaVolterra::observation_times();
    for rtol in RTOLS {
        let mut group = c.benchmark_group(group_name(rtol));
        group.sample_size(30);
        group.warm_up_time(std::time::Duration::from_millis(300));
        group.measurement_time(std::time::Duration::from_millis(1500));
        let prob = problem(rtol);
        bench_alg(&mut group, "Tsit5", &prob, &Tsit5::default());
        bench_alg(&mut group, "DP5", &prob, &Dp5::default());
        bench_alg(&mut group, "Vern7", &prob, &Vern7::default());
        let dprob = diffsol_problem(rtol);
        group.bench_function("diffsol tsit45", |b| {
            b.iter(|| diffsol_solve(black_box(&dprob), &t_eval))
        });
        group.finish();
    }
}

/// Errors and counters (outside the timing), then the ratio tables and the equal-error summary.
fn report(_c: &mut Criterion) {
    if !selected("P1 work-precision") {
        return;
    }
    let reference = reference();
    let t_eval = LotkaVolterra::observation_times();
    let mut errors: Vec<[f64; 4]> = Vec::new();
    println!("\nP1 errors (max abs at the 101 observation times vs Vern7 at 1e-13) and steps");
    println!(
        "{:>7} {:>22} {:>22} {:>22} {:>10}",
        "rtol", "Tsit5", "DP5", "Vern7", "diffsol"
    );
    for rtol in RTOLS {
        let p = problem(rtol);
        let s1 = solve(&p, &Tsit5::default()).unwrap();
        let s2 = solve(&p, &Dp5::default()).unwrap();
        let s3 = solve(&p, &Vern7::default()).unwrap();
        let d = diffsol_solve(&diffsol_problem(rtol), &t_eval);
        let e = [
            max_error(s1.states(), &reference),
            max_error(s2.states(), &reference),
            max_error(s3.states(), &reference),
            max_error(&d, &reference),
        ];
        let st = |s: &tangent_ode::Solution| {
            format!(
                "{:.1e} ({} st)",
                max_error(s.states(), &reference),
                s.stats().accepted_steps
            )
        };
        println!(
            "{rtol:>7.0e} {:>22} {:>22} {:>22} {:>10.1e}",
            st(&s1),
            st(&s2),
            st(&s3),
            e[3]
        );
        errors.push(e);
    }
    let ids: Vec<&str> = IDS
        .iter()
        .copied()
        .filter(|id| *id != "diffsol tsit45")
        .collect();
    for rtol in RTOLS {
        tangent_benches::print_ratios(&group_name(rtol), "diffsol tsit45", &ids);
    }
    // Equal-error comparison: tangent's (integrator and one-shot) time at diffsol's error,
    // interpolated log–log between the two tangent points that bracket it.
    println!(
        "\nP1 at equal error: tangent time / diffsol tsit45 time (< 1: tangent faster; *: tangent's cheapest run with a smaller error)"
    );
    let groups: Vec<String> = RTOLS.iter().map(|r| group_name(*r)).collect();
    let peer: Vec<f64> = errors.iter().map(|e| e[3]).collect();
    for (m, name) in ["Tsit5", "DP5", "Vern7"].iter().enumerate() {
        for variant in ["", " integrator"] {
            let id = format!("tangent {name}{variant}");
            let ours: Vec<f64> = errors.iter().map(|e| e[m]).collect();
            println!(
                "{}",
                equal_error(&groups, &id, &ours, "diffsol tsit45", &peer)
            );
        }
    }
}

/// One line of an equal-error table from criterion's medians: for each group (tolerance) the
/// peer ran, `ours`'s time interpolated at the peer's error there, as a ratio to the peer's time.
fn equal_error(
    groups: &[String],
    ours: &str,
    our_errors: &[f64],
    peer: &str,
    peer_errors: &[f64],
) -> String {
    let points = |id: &str, errors: &[f64]| -> Vec<(f64, f64)> {
        groups
            .iter()
            .zip(errors)
            .map(|(g, &e)| (e, tangent_benches::median_ns(g, id).unwrap_or(f64::NAN)))
            .collect()
    };
    equal_error_line(ours, &points(ours, our_errors), &points(peer, peer_errors))
}

/// One line of an equal-error table from (error, time) points: for each point of the peer, our
/// time interpolated (log–log) at the peer's error, as a ratio to the peer's time. Where the
/// peer's error lies outside the range ours reached, the ratio of our cheapest run with a smaller
/// error is printed with a `*` (equal or smaller error), or `-` if none is. Points with a
/// non-finite error or time (not run) are skipped.
fn equal_error_line(ours: &str, our_points: &[(f64, f64)], peer_points: &[(f64, f64)]) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let pts: Vec<(f64, f64)> = our_points.iter().filter(finite).copied().collect();
    let mut line = format!("  {ours:<26}");
    for &(target, td) in peer_points.iter().filter(finite) {
        // Outside our range: our cheapest run that is at least as accurate, if any (`*`).
        let cheapest = pts
            .iter()
            .filter(|p| p.0 <= target)
            .map(|p| p.1)
            .min_by(f64::total_cmp);
        match (interpolate(&pts, target), cheapest) {
            (Some(t), _) => line.push_str(&format!(" {:.2}@{target:.0e}", t / td)),
            (None, Some(t)) => line.push_str(&format!(" {:.2}*@{target:.0e}", t / td)),
            (None, None) => line.push_str(&format!("   -  @{target:.0e}")),
        }
    }
    line
}

/// log–log interpolation of time against error at `err`; `None` outside the measured range.
fn interpolate(points: &[(f64, f64)], err: f64) -> Option<f64> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in pts.windows(2) {
        let ((e0, t0), (e1, t1)) = (w[0], w[1]);
        if err >= e0 && err <= e1 && e1 > e0 {
            let s = (err.ln() - e0.ln()) / (e1.ln() - e0.ln());
            return Some((t0.ln() + s * (t1.ln() - t0.ln())).exp());
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// P2: Robertson.

const P2_RTOLS: [f64; 8] = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];

fn p2_problem(rtol: f64) -> OdeProblem<Robertson> {
    Robertson::problem().with_options(OdeOptions {
        rtol: rtol.into(),
        atol: (rtol * 1e-4).into(),
        saveat: vec![Robertson::T_END],
        dense: false,
        ..Default::default()
    })
}

/// P2 for diffsol: the right-hand side and its Jacobian–vector product.
fn diffsol_p2(
    rtol: f64,
) -> diffsol::OdeSolverProblem<
    impl diffsol::OdeEquationsImplicit<
        M = M,
        V = diffsol::NalgebraVec<f64>,
        T = f64,
        C = diffsol::NalgebraContext,
    >,
> {
    OdeBuilder::<M>::new()
        .rtol(rtol)
        .atol([rtol * 1e-4])
        .p(Robertson::PARAMS)
        .rhs_implicit(
            |u: &[f64], k: &[f64], _t: f64, y: &mut [f64]| {
                y[0] = -k[0] * u[0] + k[2] * u[1] * u[2];
                y[1] = k[0] * u[0] - k[1] * u[1] * u[1] - k[2] * u[1] * u[2];
                y[2] = k[1] * u[1] * u[1];
            },
            |u: &[f64], k: &[f64], _t: f64, v: &[f64], y: &mut [f64]| {
                let c = k[2] * (u[2] * v[1] + u[1] * v[2]);
                y[0] = -k[0] * v[0] + c;
                y[1] = k[0] * v[0] - 2.0 * k[1] * u[1] * v[1] - c;
                y[2] = 2.0 * k[1] * u[1] * v[1];
            },
        )
        .init(
            |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&Robertson::U0),
            3,
        )
        .build()
        .unwrap()
}

/// Steps a diffsol solver to `t_end` (landing on it) and returns the state and the solver's
/// (steps, LU set-ups).
fn diffsol_to<'a, Eqn, S>(mut s: S, t_end: f64) -> (Vec<f64>, usize, usize)
where
    Eqn: diffsol::OdeEquations<T = f64> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    s.set_stop_time(t_end).unwrap();
    while !matches!(s.step().unwrap(), OdeSolverStopReason::TstopReached) {}
    let st = s.get_statistics();
    (
        s.state().y.clone_as_vec(),
        st.number_of_steps,
        st.number_of_linear_solver_setups,
    )
}

const P2_DIFFSOL: [&str; 3] = ["diffsol bdf", "diffsol tr_bdf2", "diffsol esdirk34"];
const P2_TANGENT: [&str; 3] = ["tangent Rodas5P", "tangent BDF", "tangent TR-BDF2"];

fn p2_group(rtol: f64) -> String {
    format!("P2 work-precision rtol={rtol:.0e}")
}

/// The P2 run of `id` (tangent or diffsol): `u₃(10⁵)`, steps, LU set-ups.
fn p2_run(id: &str, rtol: f64) -> (f64, usize, usize) {
    type Lu = diffsol::NalgebraLU<f64>;
    let t_end = Robertson::T_END;
    let tangent = |sol: tangent_ode::Solution| {
        let s = sol.stats();
        (
            sol.last_state().unwrap()[2],
            s.accepted_steps,
            s.factorizations,
        )
    };
    let prob = p2_problem(rtol);
    let (u, steps, lus) = match id {
        "tangent Rodas5P" => return tangent(solve(&prob, &Rodas5P::default()).unwrap()),
        "tangent BDF" => return tangent(solve(&prob, &Bdf::default()).unwrap()),
        "tangent TR-BDF2" => return tangent(solve(&prob, &TrBdf2::default()).unwrap()),
        "diffsol bdf" => diffsol_to(diffsol_p2(rtol).bdf::<Lu>().unwrap(), t_end),
        "diffsol tr_bdf2" => diffsol_to(diffsol_p2(rtol).tr_bdf2::<Lu>().unwrap(), t_end),
        _ => diffsol_to(diffsol_p2(rtol).esdirk34::<Lu>().unwrap(), t_end),
    };
    (u[2], steps, lus)
}

fn p2_work_precision(c: &mut Criterion) {
    type Lu = diffsol::NalgebraLU<f64>;
    for rtol in P2_RTOLS {
        let mut group = c.benchmark_group(p2_group(rtol));
        group.sample_size(20);
        group.warm_up_time(std::time::Duration::from_millis(300));
        group.measurement_time(std::time::Duration::from_millis(1500));
        let prob = p2_problem(rtol);
        group.bench_function("tangent Rodas5P", |b| {
            b.iter(|| solve(black_box(&prob), &Rodas5P::default()).unwrap())
        });
        group.bench_function("tangent BDF", |b| {
            b.iter(|| solve(black_box(&prob), &Bdf::default()).unwrap())
        });
        group.bench_function("tangent TR-BDF2", |b| {
            b.iter(|| solve(black_box(&prob), &TrBdf2::default()).unwrap())
        });
        let dprob = diffsol_p2(rtol);
        let t_end = Robertson::T_END;
        group.bench_function("diffsol bdf", |b| {
            b.iter(|| diffsol_to(black_box(&dprob).bdf::<Lu>().unwrap(), t_end))
        });
        group.bench_function("diffsol tr_bdf2", |b| {
            b.iter(|| diffsol_to(black_box(&dprob).tr_bdf2::<Lu>().unwrap(), t_end))
        });
        group.bench_function("diffsol esdirk34", |b| {
            b.iter(|| diffsol_to(black_box(&dprob).esdirk34::<Lu>().unwrap(), t_end))
        });
        group.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// P3: Brusselator.

type SparseM = diffsol::FaerSparseMat<f64>;

fn p3_problem(n: usize, rtol: f64) -> OdeProblem<Brusselator> {
    let b = Brusselator::new(n);
    OdeProblem::new(
        b,
        b.grid.initial_state(),
        (0.0, Brusselator::T_END),
        Brusselator::PARAMS.to_vec(),
    )
    .with_options(OdeOptions {
        rtol: rtol.into(),
        atol: (rtol * 1e-2).into(),
        dense: false,
        saveat: vec![Brusselator::T_END],
        tstops: vec![Brusselator::FORCING_ON],
        ..Default::default()
    })
}

/// The Jacobian–vector product of P3's right-hand side, by hand (diffsol's route).
fn brusselator_jvp(n: usize, u: &[f64], p: &[f64], w: &[f64], y: &mut [f64]) {
    let nn = n * n;
    let dx = 1.0 / (n - 1) as f64;
    let alpha = p[2] / (dx * dx);
    let a = p[0];
    for j in 0..n {
        let (jm, jp) = ((j + n - 1) % n, (j + 1) % n);
        for i in 0..n {
            let (im, ip) = ((i + n - 1) % n, (i + 1) % n);
            let k = i + n * j;
            let lap = |o: usize| {
                w[im + n * j + o] + w[ip + n * j + o] + w[i + n * jp + o] + w[i + n * jm + o]
                    - 4.0 * w[k + o]
            };
            let (uk, vk) = (u[k], u[k + nn]);
            let (wu, wv) = (w[k], w[k + nn]);
            y[k] = alpha * lap(0) + (2.0 * uk * vk - (a + 1.0)) * wu + uk * uk * wv;
            y[k + nn] = alpha * lap(nn) + (a - 2.0 * uk * vk) * wu - uk * uk * wv;
        }
    }
}

/// One piece of P3 for diffsol (`[t0, …]`, started from the state in `y0` when a solver is
/// created), built once: diffsol finds the Jacobian's pattern here, by NaN probing of the
/// hand-written Jacobian–vector product.
fn diffsol_p3_piece(
    n: usize,
    rtol: f64,
    t0: f64,
    y0: Rc<RefCell<Vec<f64>>>,
) -> diffsol::OdeSolverProblem<
    impl diffsol::OdeEquationsImplicit<
        M = SparseM,
        V = diffsol::FaerVec<f64>,
        T = f64,
        C = diffsol::FaerContext,
    >,
> {
    let b = Brusselator::new(n);
    OdeBuilder::<SparseM>::new()
        .t0(t0)
        .rtol(rtol)
        .atol([rtol * 1e-2])
        .p(Brusselator::PARAMS)
        .rhs_implicit(
            move |x: &[f64], p: &[f64], t: f64, y: &mut [f64]| b.rhs(t, x, p, y),
            move |x: &[f64], p: &[f64], _t: f64, v: &[f64], y: &mut [f64]| {
                brusselator_jvp(n, x, p, v, y)
            },
        )
        .init(
            move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&y0.borrow()),
            2 * n * n,
        )
        .build()
        .unwrap()
}

/// P3 for diffsol: the two pieces split at the forcing switch, built once, and the state that
/// starts the second.
struct DiffsolP3<P> {
    first: P,
    second: P,
    mid: Rc<RefCell<Vec<f64>>>,
}

fn diffsol_p3(
    n: usize,
    rtol: f64,
) -> DiffsolP3<
    diffsol::OdeSolverProblem<
        impl diffsol::OdeEquationsImplicit<
            M = SparseM,
            V = diffsol::FaerVec<f64>,
            T = f64,
            C = diffsol::FaerContext,
        >,
    >,
> {
    let u0 = Rc::new(RefCell::new(Brusselator::new(n).grid.initial_state()));
    let mid = Rc::new(RefCell::new(vec![0.0; 2 * n * n]));
    DiffsolP3 {
        first: diffsol_p3_piece(n, rtol, 0.0, u0),
        second: diffsol_p3_piece(n, rtol, Brusselator::FORCING_ON, mid.clone()),
        mid,
    }
}

/// Solves P3 with diffsol's BDF and faer's sparse LU: the final state and (steps, LU set-ups).
fn diffsol_p3_solve<Eqn>(p: &DiffsolP3<diffsol::OdeSolverProblem<Eqn>>) -> (Vec<f64>, usize, usize)
where
    Eqn: diffsol::OdeEquationsImplicit<
            M = SparseM,
            V = diffsol::FaerVec<f64>,
            T = f64,
            C = diffsol::FaerContext,
        >,
{
    type Lu = diffsol::FaerSparseLU<f64>;
    let (y1, s1, l1) = diffsol_to(p.first.bdf::<Lu>().unwrap(), Brusselator::FORCING_ON);
    *p.mid.borrow_mut() = y1;
    let (y2, s2, l2) = diffsol_to(p.second.bdf::<Lu>().unwrap(), Brusselator::T_END);
    (y2, s1 + s2, l1 + l2)
}

/// The criterion sweep: `N = 32` over rtol 1e-3 … 1e-10. `N = 64` is timed outside criterion
/// ([`p3_n64_report`]): diffsol takes 4–30 s per solve there.
const P3_RTOLS: [f64; 8] = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];

/// tangent's tolerances on P3: [`P3_RTOLS`] and 1e-11, so that tangent's errors bracket diffsol's
/// tightest point (diffsol does not run at 1e-11). Returns `(rtol, whether diffsol runs)`.
fn p3_tangent_rtols() -> impl Iterator<Item = (f64, bool)> {
    P3_RTOLS
        .into_iter()
        .map(|r| (r, true))
        .chain([(1e-11, false)])
}

fn p3_group(n: usize, rtol: f64) -> String {
    format!("P3 N={n} rtol={rtol:.0e}")
}

fn p3_work_precision(c: &mut Criterion) {
    let n = 32;
    for (rtol, with_peer) in p3_tangent_rtols() {
        let mut group = c.benchmark_group(p3_group(n, rtol));
        group.sample_size(10);
        group.warm_up_time(std::time::Duration::from_millis(100));
        group.measurement_time(std::time::Duration::from_secs(5));
        let prob = p3_problem(n, rtol);
        group.bench_function("tangent BDF", |b| {
            b.iter(|| solve(black_box(&prob), &Bdf::default()).unwrap())
        });
        if rtol >= 1e-6 {
            group.bench_function("tangent Rodas5P", |b| {
                b.iter(|| solve(black_box(&prob), &Rodas5P::default()).unwrap())
            });
        }
        let mut it = init(&prob, &Bdf::default()).unwrap();
        group.bench_function("tangent BDF integrator", |b| {
            b.iter(|| {
                it.solve().unwrap();
            })
        });
        if with_peer {
            let dprob = diffsol_p3(n, rtol);
            group.bench_function("diffsol bdf", |b| {
                b.iter(|| diffsol_p3_solve(black_box(&dprob)))
            });
        }
        group.finish();
    }
}

/// The reference for P3's error measure (the sum of the final state): Rodas5P at rtol 1e-11,
/// printed with its distance to BDF at rtol 1e-12 (two methods of different families, which
/// agree to ~4e-10 at `N = 32`, far below the sweep's smallest errors of ~1e-8) and, at
/// `N = 32`, to the oracle. The oracle (CVODE at rtol 1e-10) is itself good to about 2e-8 only
/// (its SciPy cross-check differs by 1.6e-8), too coarse for the tightest tolerances.
fn p3_reference(n: usize) -> f64 {
    let sum = |sol: tangent_ode::Solution| -> f64 { sol.last_state().unwrap().iter().sum() };
    let rodas = sum(solve(&p3_problem(n, 1e-11), &Rodas5P::default()).unwrap());
    let bdf = sum(solve(&p3_problem(n, 1e-12), &Bdf::default()).unwrap());
    let mut line = format!(
        "P3 N={n} reference: Rodas5P rtol 1e-11, sum {rodas:.12e}; BDF rtol 1e-12 differs by {:.1e}",
        rel_sum(&[bdf], rodas)
    );
    if n == 32 {
        line.push_str(&format!(
            "; the oracle by {:.1e}",
            rel_sum(&[Brusselator::ORACLE_N32_SUM], rodas)
        ));
    }
    println!("{line} (relative)");
    rodas
}

/// Whether a section of the report runs: with no filter on the command line, or when a filter
/// (criterion's positional argument) is part of `section`'s name.
fn selected(section: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    filters.is_empty() || filters.iter().any(|f| section.contains(f.as_str()))
}

/// P3 at `N = 64`, rtol 1e-3 … 1e-10, timed outside criterion: each solver runs `reps` times
/// (`TANGENT_P3_N64_REPS`, default 3), interleaved, and the median is taken. Runs when no filter is
/// given or the filter is part of "P3 N=64 work-precision" (e.g. `-- N=64`).
fn p3_n64_report(_c: &mut Criterion) {
    if !selected("P3 N=64 work-precision") {
        return;
    }
    let n = 64;
    let reps: usize = std::env::var("TANGENT_P3_N64_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!(
        "\nP3 N={n} work-precision (median of {reps} interleaved runs each): relative error of the final sum, (steps, LU factorisations), time"
    );
    let reference = p3_reference(n);
    let median = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    // (error, seconds) per rtol for tangent BDF, its prepared integrator and diffsol bdf.
    let (mut bdf, mut integ, mut peer) = (vec![], vec![], vec![]);
    for (rtol, with_peer) in p3_tangent_rtols() {
        let prob = p3_problem(n, rtol);
        let mut it = init(&prob, &Bdf::default()).unwrap();
        let dprob = with_peer.then(|| diffsol_p3(n, rtol));
        let (mut t_bdf, mut t_it, mut t_peer) = (vec![], vec![], vec![]);
        let (mut sol, mut dsol) = (None, None);
        for _ in 0..reps {
            let t = std::time::Instant::now();
            sol = Some(solve(black_box(&prob), &Bdf::default()).unwrap());
            t_bdf.push(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            it.solve().unwrap();
            t_it.push(t.elapsed().as_secs_f64());
            if let Some(dprob) = &dprob {
                let t = std::time::Instant::now();
                dsol = Some(diffsol_p3_solve(black_box(dprob)));
                t_peer.push(t.elapsed().as_secs_f64());
            }
        }
        // Invariant: `reps >= 1`, so the solve ran.
        let sol = sol.unwrap();
        let e_bdf = rel_sum(sol.last_state().unwrap(), reference);
        let (t_bdf, t_it) = (median(t_bdf), median(t_it));
        let mut line = format!(
            "N={n} rtol={rtol:.0e} | tangent BDF {e_bdf:.1e} ({}, {}) {t_bdf:.3} s, integrator {t_it:.3} s",
            sol.stats().accepted_steps,
            sol.stats().factorizations,
        );
        if let Some((y, steps, lus)) = dsol {
            let (e_peer, t_peer) = (rel_sum(&y, reference), median(t_peer));
            line.push_str(&format!(
                " | diffsol bdf {e_peer:.1e} ({steps}, {lus}) {t_peer:.3} s | time / diffsol: BDF {:.2}, integrator {:.2}",
                t_bdf / t_peer,
                t_it / t_peer
            ));
            peer.push((e_peer, t_peer));
        }
        println!("{line}");
        bdf.push((e_bdf, t_bdf));
        integ.push((e_bdf, t_it));
    }
    println!(
        "\nP3 N={n} at equal error: tangent time / diffsol bdf time (< 1: tangent faster; *: tangent's cheapest run with a smaller error)"
    );
    println!("{}", equal_error_line("tangent BDF", &bdf, &peer));
    println!(
        "{}",
        equal_error_line("tangent BDF integrator", &integ, &peer)
    );
}

/// Relative error of the sum of the final state.
fn rel_sum(u: &[f64], reference: f64) -> f64 {
    (u.iter().sum::<f64>() - reference).abs() / reference
}

/// P2: errors and counters (outside the timing), the criterion ratios and the equal-error
/// summaries against each of diffsol's methods.
fn p2_report(_c: &mut Criterion) {
    if !selected("P2 work-precision") {
        return;
    }
    println!("\nP2: relative error of u3(1e5), (steps, LU factorisations); time / diffsol bdf");
    // errors[id][k]: relative error of `id` at `P2_RTOLS[k]`.
    let mut errors: Vec<Vec<f64>> = vec![Vec::new(); P2_TANGENT.len() + P2_DIFFSOL.len()];
    for rtol in P2_RTOLS {
        let mut line = format!("{rtol:>7.0e}");
        for (m, id) in P2_TANGENT.iter().chain(&P2_DIFFSOL).enumerate() {
            let (u3, steps, lus) = p2_run(id, rtol);
            let err = (u3 - Robertson::ORACLE_U3_END).abs() / Robertson::ORACLE_U3_END;
            errors[m].push(err);
            line.push_str(&format!(" | {id}: {err:.1e} ({steps}, {lus})"));
        }
        println!("{line}");
    }
    let ids: Vec<&str> = P2_TANGENT.iter().chain(&P2_DIFFSOL[1..]).copied().collect();
    for rtol in P2_RTOLS {
        tangent_benches::print_ratios(&p2_group(rtol), "diffsol bdf", &ids);
    }
    let groups: Vec<String> = P2_RTOLS.iter().map(|r| p2_group(*r)).collect();
    for (d, peer) in P2_DIFFSOL.iter().enumerate() {
        println!(
            "\nP2 at equal error: tangent time / {peer} time (< 1: tangent faster; *: tangent's cheapest run with a smaller error)"
        );
        for (m, id) in P2_TANGENT.iter().enumerate() {
            let peer_errors = &errors[P2_TANGENT.len() + d];
            println!(
                "{}",
                equal_error(&groups, id, &errors[m], peer, peer_errors)
            );
        }
    }
}

/// P3 at `N = 32`: errors against [`p3_reference`] and counters (outside the timing), the
/// criterion ratios, the equal-error summary, the dense-against-sparse Jacobian solve and a
/// check of diffsol's hand-written Jacobian–vector product.
fn p3_report(_c: &mut Criterion) {
    if !selected("P3 N=32 work-precision") {
        return;
    }
    let n = 32;
    println!("\nP3 N={n}: relative error of the final sum, (steps, LU factorisations)");
    let reference = p3_reference(n);
    // Errors of tangent BDF, tangent Rodas5P (NaN where not run) and diffsol bdf.
    let (mut groups, mut e_bdf, mut e_rodas, mut e_diffsol) = (vec![], vec![], vec![], vec![]);
    for (rtol, with_peer) in p3_tangent_rtols() {
        let prob = p3_problem(n, rtol);
        let bdf = solve(&prob, &Bdf::default()).unwrap();
        let bdf_error = rel_sum(bdf.last_state().unwrap(), reference);
        let mut rodas_error = f64::NAN;
        let mut line = format!(
            "N={n} rtol={rtol:.0e} | tangent BDF {bdf_error:.1e} ({}, {})",
            bdf.stats().accepted_steps,
            bdf.stats().factorizations
        );
        if rtol >= 1e-6 {
            let r = solve(&prob, &Rodas5P::default()).unwrap();
            rodas_error = rel_sum(r.last_state().unwrap(), reference);
            line.push_str(&format!(
                " | tangent Rodas5P {rodas_error:.1e} ({}, {})",
                r.stats().accepted_steps,
                r.stats().factorizations
            ));
        }
        groups.push(p3_group(n, rtol));
        e_bdf.push(bdf_error);
        e_rodas.push(rodas_error);
        if !with_peer {
            e_diffsol.push(f64::NAN);
            println!("{line}");
            continue;
        }
        let (y, steps, lus) = diffsol_p3_solve(&diffsol_p3(n, rtol));
        let diffsol_error = rel_sum(&y, reference);
        e_diffsol.push(diffsol_error);
        line.push_str(&format!(
            " | diffsol bdf {diffsol_error:.1e} ({steps}, {lus})"
        ));
        println!("{line}");
        tangent_benches::print_ratios(
            &p3_group(n, rtol),
            "diffsol bdf",
            &["tangent BDF", "tangent BDF integrator", "tangent Rodas5P"],
        );
    }

    println!(
        "\nP3 N={n} at equal error: tangent time / diffsol bdf time (< 1: tangent faster; *: tangent's cheapest run with a smaller error)"
    );
    for (id, errors) in [
        ("tangent BDF", &e_bdf),
        ("tangent BDF integrator", &e_bdf),
        ("tangent Rodas5P", &e_rodas),
    ] {
        println!(
            "{}",
            equal_error(&groups, id, errors, "diffsol bdf", &e_diffsol)
        );
    }

    // Sparse coloured against dense AD Jacobian (and sparse against dense LU) at N = 32,
    // rtol 1e-6: one solve each (the dense one takes seconds), the sparse one best of 3.
    let prob = p3_problem(32, 1e-6);
    let time = |alg: &Bdf, reps: usize| {
        (0..reps)
            .map(|_| {
                let t = std::time::Instant::now();
                let sol = solve(&prob, alg).unwrap();
                (t.elapsed().as_secs_f64(), sol.stats())
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap()
    };
    let (ts, ss) = time(&Bdf::default(), 3);
    let dense = Bdf {
        jacobian: JacobianMethod::Dense,
        ..Default::default()
    };
    let (td, sd) = time(&dense, 1);
    println!(
        "\nP3 N=32 rtol=1e-6 BDF: dense AD Jacobian + dense LU {td:.3} s ({} J, {} LU) / sparse coloured + sparse LU {ts:.4} s ({} J, {} LU) = {:.1}x",
        sd.jacobian_evaluations,
        sd.factorizations,
        ss.jacobian_evaluations,
        ss.factorizations,
        td / ts
    );
    // The hand-written Jacobian–vector product given to diffsol agrees with tangent's AD.
    let b = Brusselator::new(8);
    let u = b.grid.initial_state();
    let m = u.len();
    let w: Vec<f64> = (0..m).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
    let mut jw = vec![0.0; m];
    brusselator_jvp(8, &u, &Brusselator::PARAMS, &w, &mut jw);
    let dual: Vec<tangent_ad::Dual<1, f64>> = u
        .iter()
        .zip(&w)
        .map(|(&x, &d)| tangent_ad::Dual::new(x, [d]))
        .collect();
    let p: Vec<tangent_ad::Dual<1, f64>> = Brusselator::PARAMS
        .iter()
        .map(|&x| tangent_ad::Dual::new(x, [0.0]))
        .collect();
    let mut out = vec![tangent_ad::Dual::new(0.0, [0.0]); m];
    b.rhs(tangent_ad::Dual::new(2.0, [0.0]), &dual, &p, &mut out);
    let diff = out
        .iter()
        .zip(&jw)
        .map(|(d, x)| (d.d[0] - x).abs() / (1.0 + x.abs()))
        .fold(0.0, f64::max);
    println!(
        "diffsol's hand-written JVP vs tangent's forward AD: max relative difference {diff:.1e}"
    );
    assert!(diff < 1e-12);
}

criterion_group!(
    benches,
    p1_work_precision,
    report,
    p2_work_precision,
    p2_report,
    p3_work_precision,
    p3_report,
    p3_n64_report
);

fn main() {
    tangent_benches::ignore_earlier_runs();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
