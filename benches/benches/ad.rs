//! P6: the cost of derivatives relative to the function, measured in one run.
//!
//! * extended Rosenbrock, n = 10³ and 10⁵: f; gradient by a hand-written formula (the floor any
//!   AD tool is measured against), reverse (record every call), reverse (replayed tape), forward
//!   chunked (n = 10³ only); dense Hessian n = 100 (forward over reverse and forward over forward);
//! * the chained 10 → 10 map G: G; gradient of Σ G by reverse record and replay; the dense
//!   Jacobian by `Dual<10>` (one pass) and by reverse mode.

#![allow(clippy::unwrap_used)] // benchmarks: a failed setup should stop the run loudly

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group};
use tangent_ad::Tape;
use tangent_ad::operators::*;
use tangent_ad::problems::{ChainedMap, ChainedMapSum, ExtendedRosenbrock};
use tangent_ad::{ScalarFunction, VectorFunction};

/// Hand-written gradient of the extended Rosenbrock function.
fn rosenbrock_gradient(x: &[f64], g: &mut [f64]) -> f64 {
    g.fill(0.0);
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let t = x[i + 1] - x[i] * x[i];
        let u = 1.0 - x[i];
        f += 100.0 * t * t + u * u;
        g[i] += -400.0 * t * x[i] - 2.0 * u;
        g[i + 1] += 200.0 * t;
    }
    f
}

fn rosenbrock(c: &mut Criterion) {
    for n in [1_000usize, 100_000] {
        let name = format!("P6 rosenbrock n={n}");
        let mut group = c.benchmark_group(&name);
        let f = ExtendedRosenbrock { n };
        let x = f.start();
        let mut g = vec![0.0; n];
        group.bench_function("f", |b| b.iter(|| f.eval(black_box(&x[..]))));
        group.bench_function("gradient hand-written", |b| {
            b.iter(|| rosenbrock_gradient(black_box(&x), &mut g))
        });
        let mut rec = prepare_gradient(&f, &Reverse, &x).unwrap();
        group.bench_function("gradient reverse record", |b| {
            b.iter(|| rec.value_and_gradient(&f, black_box(&x), &mut g).unwrap())
        });
        let mut rep = prepare_gradient(&f, &ReverseReplay, &x).unwrap();
        group.bench_function("gradient reverse replay", |b| {
            b.iter(|| rep.value_and_gradient(&f, black_box(&x), &mut g).unwrap())
        });
        if n <= 1000 {
            let mut fw = prepare_gradient(&f, &Forward::<16>, &x).unwrap();
            group.bench_function("gradient forward chunk16", |b| {
                b.iter(|| fw.value_and_gradient(&f, black_box(&x), &mut g).unwrap())
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("P6 rosenbrock hessian n=100");
    let f = ExtendedRosenbrock { n: 100 };
    let x = f.start();
    let mut h = vec![0.0; 100 * 100];
    group.bench_function("f", |b| b.iter(|| f.eval(black_box(&x[..]))));
    let mut p = prepare_hessian(&f, &Reverse, &x).unwrap();
    group.bench_function("hessian forward-over-reverse", |b| {
        b.iter(|| p.hessian(&f, black_box(&x), &mut h).unwrap())
    });
    let mut p = prepare_hessian(&f, &Forward::<8>, &x).unwrap();
    group.bench_function("hessian forward-over-forward chunk8", |b| {
        b.iter(|| p.hessian(&f, black_box(&x), &mut h).unwrap())
    });
    group.finish();
}

fn chained(c: &mut Criterion) {
    let mut group = c.benchmark_group("P6 chained map");
    let g = ChainedMap;
    let s = ChainedMapSum;
    let x = g.start();
    let mut y = vec![0.0; 10];
    let mut grad = vec![0.0; 10];
    let mut jac = vec![0.0; 100];
    group.bench_function("G", |b| b.iter(|| g.eval(black_box(&x[..]), &mut y)));
    let mut rec = prepare_gradient(&s, &Reverse, &x).unwrap();
    group.bench_function("gradient of sum reverse record", |b| {
        b.iter(|| {
            rec.value_and_gradient(&s, black_box(&x), &mut grad)
                .unwrap()
        })
    });
    let mut rep = prepare_gradient(&s, &ReverseReplay, &x).unwrap();
    group.bench_function("gradient of sum reverse replay", |b| {
        b.iter(|| {
            rep.value_and_gradient(&s, black_box(&x), &mut grad)
                .unwrap()
        })
    });
    let mut fj = prepare_jacobian(&g, &Forward::<10>, &x).unwrap();
    group.bench_function("jacobian forward chunk10", |b| {
        b.iter(|| fj.jacobian(&g, black_box(&x), &mut jac).unwrap())
    });
    let mut rj = prepare_jacobian(&g, &ReverseReplay, &x).unwrap();
    group.bench_function("jacobian reverse replay", |b| {
        b.iter(|| rj.jacobian(&g, black_box(&x), &mut jac).unwrap())
    });
    group.finish();
    let _ = BenchmarkId::new("unused", 0);
}

criterion_group!(benches, rosenbrock, chained);

fn main() {
    tangent_benches::ignore_earlier_runs();
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== ratios (medians of this run) ==");
    for n in ["1000", "100000"] {
        tangent_benches::print_ratios(
            &format!("P6 rosenbrock n={n}"),
            "f",
            &[
                "gradient hand-written",
                "gradient reverse record",
                "gradient reverse replay",
                "gradient forward chunk16",
            ],
        );
    }
    tangent_benches::print_ratios(
        "P6 rosenbrock hessian n=100",
        "f",
        &[
            "hessian forward-over-reverse",
            "hessian forward-over-forward chunk8",
        ],
    );
    tangent_benches::print_ratios(
        "P6 chained map",
        "G",
        &[
            "gradient of sum reverse record",
            "gradient of sum reverse replay",
            "jacobian forward chunk10",
            "jacobian reverse replay",
        ],
    );
    let mut tape = Tape::new();
    let f = ExtendedRosenbrock { n: 1000 };
    tape.record(&f.start(), |x| f.eval(x));
    println!(
        "tape: {} entries for Rosenbrock n=1000, {:.1} bytes per entry",
        tape.len(),
        tape.bytes() as f64 / tape.len() as f64
    );
}
