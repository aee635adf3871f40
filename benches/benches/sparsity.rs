//! P3 (2-D Brusselator, N = 32 and 64: 2048 and 8192 states) and P6 (extended Rosenbrock):
//! sparsity detection, colouring and compressed derivatives, as ratios to one `f64` evaluation
//! measured in the same run.
//!
//! * detection (global and local tracers) / f — target ≤ 200;
//! * colouring / f: natural-order greedy, Recursive Largest First alone, and the default (all
//!   seven orderings, the best kept, then 2 000 tabu steps); colours of each against the lower
//!   bound (the largest row); SciPy's grouping on the same pattern is `benches/peers/sparsity_scipy.py`,
//!   which reads the pattern this benchmark writes to `target/sparsity/p3_n{N}.txt`;
//! * compressed Jacobian on `Dual<4>`, `Dual<8>`, `Dual<16>`, in parallel, and with the colours
//!   of the thorough (tabu) colouring / f — target ≤ 1.5 × colours;
//!   and the dense forward Jacobian (`Dual<16>`, N = 32 only: at N = 64 the dense 8192 × 8192
//!   matrix takes 512 MB and 512 passes);
//! * sparse Hessian of Rosenbrock (n = 1000, star colouring, 3 Hessian-vector products) against
//!   the dense forward-over-reverse Hessian.

#![allow(clippy::unwrap_used)] // benchmark set-up: a failure must abort the run

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use tangent_ad::operators::{
    Forward, HessianPrep, JacobianPrep, Reverse, prepare_hessian, prepare_jacobian,
};
use tangent_ad::problems::{Brusselator2D, BrusselatorState, ExtendedRosenbrock};
use tangent_ad::{ScalarFunction, VectorFunction};
use tangent_sparsity::coloring::{GreedyColoring, Order, column_coloring};
use tangent_sparsity::{
    SparseHessian, SparseJacobian, SparseJacobianOptions, jacobian_sparsity,
    local_jacobian_sparsity,
};

fn p3(n: usize) -> (BrusselatorState, Vec<f64>) {
    let f = BrusselatorState {
        problem: Brusselator2D { n },
        t: 2.0,
    };
    let x = f.problem.initial_state();
    (f, x)
}

fn brusselator(c: &mut Criterion) {
    for n in [32usize, 64] {
        let (f, x) = p3(n);
        let m = x.len();
        let mut group = c.benchmark_group(format!("P3 sparsity N={n}"));
        let mut y = vec![0.0; m];
        group.bench_function("f", |b| b.iter(|| f.eval(black_box(&x[..]), &mut y)));
        group.bench_function("detect global", |b| {
            b.iter(|| jacobian_sparsity(&f, black_box(&x)).unwrap())
        });
        group.bench_function("detect local", |b| {
            b.iter(|| local_jacobian_sparsity(&f, black_box(&x)).unwrap())
        });
        let pattern = jacobian_sparsity(&f, &x).unwrap();
        group.bench_function("coloring natural", |b| {
            b.iter(|| {
                column_coloring(&pattern, &GreedyColoring::with_order(Order::Natural)).unwrap()
            })
        });
        group.bench_function("coloring rlf", |b| {
            b.iter(|| {
                column_coloring(
                    &pattern,
                    &GreedyColoring::with_order(Order::RecursiveLargestFirst),
                )
                .unwrap()
            })
        });
        group.bench_function("coloring default", |b| {
            b.iter(|| column_coloring(&pattern, &GreedyColoring::default()).unwrap())
        });
        group.sample_size(20);
        group.bench_function("prepare", |b| {
            b.iter(|| SparseJacobian::<16>::new(&f, &x, &SparseJacobianOptions::default()).unwrap())
        });
        group.sample_size(100);
        let mut j8 = SparseJacobian::<8>::new(&f, &x, &Default::default()).unwrap();
        group.bench_function("jacobian compressed chunk8", |b| {
            b.iter(|| {
                j8.compute(&f, black_box(&x)).unwrap();
            })
        });
        let thorough = SparseJacobianOptions {
            coloring: GreedyColoring::thorough(),
            ..Default::default()
        };
        let mut j8t = SparseJacobian::<8>::new(&f, &x, &thorough).unwrap();
        group.bench_function("jacobian compressed chunk8 thorough colouring", |b| {
            b.iter(|| {
                j8t.compute(&f, black_box(&x)).unwrap();
            })
        });
        let mut j16 = SparseJacobian::<16>::new(&f, &x, &Default::default()).unwrap();
        group.bench_function("jacobian compressed chunk16", |b| {
            b.iter(|| {
                j16.compute(&f, black_box(&x)).unwrap();
            })
        });
        let mut j4 = SparseJacobian::<4>::new(&f, &x, &Default::default()).unwrap();
        group.bench_function("jacobian compressed chunk4", |b| {
            b.iter(|| {
                j4.compute(&f, black_box(&x)).unwrap();
            })
        });
        group.bench_function("jacobian compressed chunk4 parallel", |b| {
            b.iter(|| {
                j4.compute_parallel(&f, black_box(&x)).unwrap();
            })
        });
        if n <= 32 {
            let mut dense = vec![0.0; m * m];
            let mut prep = prepare_jacobian(&f, &Forward::<16>, &x).unwrap();
            group.sample_size(10);
            group.bench_function("jacobian dense forward chunk16", |b| {
                b.iter(|| prep.jacobian(&f, black_box(&x), &mut dense).unwrap())
            });
        }
        group.finish();
        write_pattern(n, &pattern);
    }
}

/// Writes the pattern as `rows cols` then one `row col` pair per line, for the SciPy script.
fn write_pattern(n: usize, pattern: &tangent_sparsity::Pattern) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sparsity");
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let mut text = format!("{} {}\n", pattern.rows(), pattern.cols());
    for (_, (i, j)) in pattern.iter() {
        text.push_str(&format!("{i} {j}\n"));
    }
    let _ = std::fs::write(dir.join(format!("p3_n{n}.txt")), text);
}

fn rosenbrock_hessian(c: &mut Criterion) {
    let f = ExtendedRosenbrock { n: 1000 };
    let x = f.start();
    let mut group = c.benchmark_group("P6 sparse hessian n=1000");
    group.bench_function("f", |b| b.iter(|| f.eval(black_box(&x[..]))));
    let mut h = SparseHessian::new(&f, &x, &Default::default()).unwrap();
    group.bench_function("hessian sparse star", |b| {
        b.iter(|| {
            h.compute(&f, black_box(&x)).unwrap();
        })
    });
    let mut dense = vec![0.0; 1000 * 1000];
    let mut prep = prepare_hessian(&f, &Reverse, &x).unwrap();
    group.sample_size(10);
    group.bench_function("hessian dense forward-over-reverse", |b| {
        b.iter(|| prep.hessian(&f, black_box(&x), &mut dense).unwrap())
    });
    group.finish();
}

criterion_group!(benches, brusselator, rosenbrock_hessian);

fn main() {
    tangent_benches::ignore_earlier_runs();
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== ratios (medians of this run) ==");
    for n in [32usize, 64] {
        tangent_benches::print_ratios(
            &format!("P3 sparsity N={n}"),
            "f",
            &[
                "detect global",
                "detect local",
                "coloring natural",
                "coloring rlf",
                "coloring default",
                "prepare",
                "jacobian compressed chunk4",
                "jacobian compressed chunk8",
                "jacobian compressed chunk8 thorough colouring",
                "jacobian compressed chunk16",
                "jacobian compressed chunk4 parallel",
                "jacobian dense forward chunk16",
            ],
        );
        let dense = tangent_benches::median_ns(
            &format!("P3 sparsity N={n}"),
            "jacobian dense forward chunk16",
        );
        let sparse = tangent_benches::median_ns(
            &format!("P3 sparsity N={n}"),
            "jacobian compressed chunk16",
        );
        if let (Some(d), Some(s)) = (dense, sparse) {
            println!("  dense forward / compressed chunk16: {:.1}", d / s);
        }
        let (f, x) = p3(n);
        let pattern = jacobian_sparsity(&f, &x).unwrap();
        print!("  colours (lower bound = max nonzeros per row):");
        for o in Order::ALL {
            let c = column_coloring(&pattern, &GreedyColoring::with_order(o)).unwrap();
            print!(" {o:?} {}", c.n_colors());
        }
        let c = column_coloring(&pattern, &GreedyColoring::default()).unwrap();
        let t = std::time::Instant::now();
        let thorough = column_coloring(&pattern, &GreedyColoring::thorough()).unwrap();
        let elapsed = t.elapsed();
        println!(
            " | default {} | thorough {} (one run: {:.0} ms) | bound {}",
            c.n_colors(),
            thorough.n_colors(),
            elapsed.as_secs_f64() * 1e3,
            c.lower_bound()
        );
        for (name, passes) in [
            ("chunk4", c.n_colors().div_ceil(4)),
            ("chunk8", c.n_colors().div_ceil(8)),
            ("chunk16", c.n_colors().div_ceil(16)),
        ] {
            println!("  {name}: {passes} pass(es) of Dual<{}>", &name[5..]);
        }
    }
    tangent_benches::print_ratios(
        "P6 sparse hessian n=1000",
        "f",
        &["hessian sparse star", "hessian dense forward-over-reverse"],
    );
}
