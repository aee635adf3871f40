//! P1 (Lotka–Volterra) work–precision: tangent-ode's explicit methods against diffsol's `tsit45`,
//! side by side in one run.
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
//! error: for each diffsol point, tangent's time interpolated (log–log) to diffsol's error.

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use diffsol::{DenseMatrix, OdeBuilder, OdeSolverMethod};
use tangent_ode::problems::LotkaVolterra;
use tangent_ode::{Dp5, OdeAlgorithm, OdeOptions, OdeProblem, Tsit5, Vern7, init, solve};

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
    println!("\nP1 at equal error: tangent time / diffsol tsit45 time (< 1: tangent faster)");
    for (m, name) in ["Tsit5", "DP5", "Vern7"].iter().enumerate() {
        for variant in ["", " integrator"] {
            let id = format!("tangent {name}{variant}");
            let mut line = format!("  {id:<26}");
            for (k, rtol) in RTOLS.iter().enumerate() {
                let target = errors[k][3];
                let Some(td) = tangent_benches::median_ns(&group_name(*rtol), "diffsol tsit45")
                else {
                    continue;
                };
                let pts: Vec<(f64, f64)> = RTOLS
                    .iter()
                    .enumerate()
                    .filter_map(|(j, r)| {
                        tangent_benches::median_ns(&group_name(*r), &id).map(|t| (errors[j][m], t))
                    })
                    .collect();
                let t = interpolate(&pts, target);
                match t {
                    Some(t) => line.push_str(&format!(" {:.2}@{target:.0e}", t / td)),
                    None => line.push_str(&format!("   -  @{target:.0e}")),
                }
            }
            println!("{line}");
        }
    }
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

criterion_group!(benches, p1_work_precision, report);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
