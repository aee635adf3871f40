//! tangent-linsolve: costs as ratios measured in one run.
//!
//! * **dense LU**, n = 100 and 1000: the cache (`set_matrix` + solve, and solve alone) against
//!   calling faer directly (its high-level `partial_piv_lu` and its in-place kernels with
//!   preallocated memory);
//! * **P3's iteration matrix** `I − γJ` (2-D Brusselator, n = 2048 and 8192, γ = 0.05): symbolic +
//!   numeric factorisation, numeric refactorisation only, and the solve, for the multifrontal
//!   LU with AMD and with a geometric nested-dissection ordering, and faer's pivoting sparse LU
//!   (COLAMD; automatic, supernodal and simplicial);
//! * **2-D Poisson 256 × 256** (n = 65 536): CG with ILU(0) or Jacobi against sparse LU and
//!   sparse Cholesky;
//! * **the linear-solve rule**: reverse rule (vjp: transpose solve + cotangent of `A`) and
//!   forward rule (jvp, one direction) against the plain solve, all on a factorisation already
//!   computed;
//! * **small sparse systems** (P3 on 3×3 … 8×8 grids): sparse LU against the dense LU of the
//!   densified matrix — where the default choice switches.

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use tangent_ad::Rule;
use tangent_linsolve::faer::Mat;
use tangent_linsolve::faer::dyn_stack::{MemBuffer, MemStack};
use tangent_linsolve::faer::linalg::lu::partial_pivoting::{
    factor as lu_factor, solve as lu_solve,
};
use tangent_linsolve::faer::prelude::Solve;
use tangent_linsolve::faer::{Par, Spec};
use tangent_linsolve::problems::{brusselator_iteration_matrix, poisson_2d};
use tangent_linsolve::sprs::CsMat;
use tangent_linsolve::*;

/// A well-conditioned dense test matrix (deterministic).
fn dense_matrix(n: usize) -> Mat<f64> {
    Mat::from_fn(n, n, |i, j| {
        let h = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        if i == j { h + n as f64 } else { h }
    })
}

fn dense(c: &mut Criterion) {
    for n in [100usize, 1000] {
        let name = format!("linsolve/dense LU n={n}");
        let mut group = c.benchmark_group(&name);
        if n >= 1000 {
            group.sample_size(20);
        }
        let a = dense_matrix(n);
        let b: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let bm = Mat::from_fn(n, 1, |i, _| b[i]);
        group.bench_function("faer partial_piv_lu + solve", |bench| {
            bench.iter(|| {
                let lu = black_box(&a).partial_piv_lu();
                lu.solve(&bm)
            })
        });
        // faer's kernels with preallocated memory: the floor.
        let mut lu = a.clone();
        let (mut perm, mut perm_inv) = (vec![0usize; n], vec![0usize; n]);
        let par = Par::Seq;
        let req = lu_factor::lu_in_place_scratch::<usize, f64>(n, n, par, Spec::default())
            .or(lu_solve::solve_in_place_scratch::<usize, f64>(n, 1, par));
        let mut mem = MemBuffer::new(req);
        let mut x = bm.clone();
        group.bench_function("faer in-place factor + solve", |bench| {
            bench.iter(|| {
                lu.copy_from(black_box(&a));
                let (_, p) = lu_factor::lu_in_place(
                    lu.as_mut(),
                    &mut perm,
                    &mut perm_inv,
                    par,
                    MemStack::new(&mut mem),
                    Spec::default(),
                );
                x.copy_from(&bm);
                lu_solve::solve_in_place(
                    lu.as_ref(),
                    lu.as_ref(),
                    p,
                    x.as_mut(),
                    par,
                    MemStack::new(&mut mem),
                );
            })
        });
        let mut cache = init(
            &LinearProblem::new(a.clone(), b.clone()),
            &DenseLu::default().into(),
        )
        .unwrap();
        group.bench_function("cache set_matrix + solve", |bench| {
            bench.iter(|| {
                cache.set_matrix(black_box(&a)).unwrap();
                cache.solve().unwrap()[0]
            })
        });
        // Solve only, on the factorisation.
        let (_, p) = lu_factor::lu_in_place(
            lu.as_mut(),
            &mut perm,
            &mut perm_inv,
            par,
            MemStack::new(&mut mem),
            Spec::default(),
        );
        let _ = p;
        group.bench_function("faer in-place solve", |bench| {
            bench.iter(|| {
                x.copy_from(&bm);
                let p = tangent_linsolve::faer::perm::PermRef::new_checked(&perm, &perm_inv, n);
                lu_solve::solve_in_place(
                    lu.as_ref(),
                    lu.as_ref(),
                    p,
                    x.as_mut(),
                    par,
                    MemStack::new(&mut mem),
                );
            })
        });
        let mut out = vec![0.0; n];
        group.bench_function("cache solve", |bench| {
            bench.iter(|| cache.solve_into(black_box(&b), &mut out).unwrap())
        });
        group.finish();
    }
}

/// Geometric nested dissection of P3's periodic `m × m` grid (2 unknowns per point): two grid
/// columns cut the torus into two strips, two rows cut each strip into rectangles, and the
/// rectangles are bisected recursively by their longer side; separators are eliminated last.
fn nested_dissection(m: usize) -> Vec<usize> {
    fn rect(i: (usize, usize), j: (usize, usize), m: usize, out: &mut Vec<usize>) {
        let (ni, nj) = (i.1.saturating_sub(i.0), j.1.saturating_sub(j.0));
        if ni == 0 || nj == 0 {
            return;
        }
        if ni * nj <= 4 {
            for jj in j.0..j.1 {
                for ii in i.0..i.1 {
                    out.push(ii + m * jj);
                }
            }
            return;
        }
        if ni >= nj {
            let mid = (i.0 + i.1) / 2;
            rect((i.0, mid), j, m, out);
            rect((mid + 1, i.1), j, m, out);
            out.extend((j.0..j.1).map(|jj| mid + m * jj));
        } else {
            let mid = (j.0 + j.1) / 2;
            rect(i, (j.0, mid), m, out);
            rect(i, (mid + 1, j.1), m, out);
            out.extend((i.0..i.1).map(|ii| ii + m * mid));
        }
    }
    let h = m / 2;
    let mut pts = Vec::with_capacity(m * m);
    for strip in [(1, h), (h + 1, m)] {
        rect(strip, (1, h), m, &mut pts);
        rect(strip, (h + 1, m), m, &mut pts);
        for jj in [0, h] {
            pts.extend((strip.0..strip.1).map(|ii| ii + m * jj));
        }
    }
    for ii in [0, h] {
        pts.extend((0..m).map(|jj| ii + m * jj));
    }
    debug_assert_eq!(pts.len(), m * m);
    pts.iter().flat_map(|&p| [p, p + m * m]).collect()
}

fn p3_algorithms(m: usize) -> Vec<(&'static str, LinearAlgorithm)> {
    let mf_threads = |ordering, threads| -> LinearAlgorithm {
        SparseLu {
            ordering,
            method: SparseLuMethod::Multifrontal {
                pivot_threshold: algorithm::DEFAULT_PIVOT_THRESHOLD,
            },
            threads,
        }
        .into()
    };
    let mf = |ordering| mf_threads(ordering, 1);
    let faer = |v| -> LinearAlgorithm {
        SparseLu {
            method: SparseLuMethod::PartialPivoting(v),
            ..Default::default()
        }
        .into()
    };
    let mut algs = vec![
        ("multifrontal AMD", mf(Ordering::Amd)),
        ("multifrontal AMD 2 threads", mf_threads(Ordering::Amd, 2)),
        (
            "multifrontal ND",
            mf(Ordering::Custom(nested_dissection(m).into())),
        ),
        ("faer COLAMD auto", faer(FaerVariant::Auto)),
        ("faer COLAMD supernodal", faer(FaerVariant::Supernodal)),
    ];
    if m <= 32 {
        algs.push(("faer COLAMD simplicial", faer(FaerVariant::Simplicial)));
    }
    algs
}

fn p3(c: &mut Criterion) {
    for m in [32usize, 64] {
        let a = brusselator_iteration_matrix(m, 0.05);
        let n = a.rows();
        let name = format!("linsolve/P3 I-gJ n={n}");
        let mut group = c.benchmark_group(&name);
        group.sample_size(if m <= 32 { 30 } else { 10 });
        let b: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
        let values = a.data().to_vec();
        write_triplets(&a, &format!("p3_n{n}.txt"));
        let prob = LinearProblem::new(a.clone(), b.clone());
        for (label, alg) in p3_algorithms(m) {
            group.bench_function(format!("{label} symbolic+numeric"), |bench| {
                bench.iter(|| {
                    let mut cache = init(black_box(&prob), &alg).unwrap();
                    cache.factorize().unwrap();
                    cache
                })
            });
            let mut cache = init(&prob, &alg).unwrap();
            cache.factorize().unwrap();
            group.bench_function(format!("{label} numeric"), |bench| {
                bench.iter(|| {
                    cache.set_values(black_box(&values)).unwrap();
                    cache.factorize().unwrap();
                })
            });
            let mut x = vec![0.0; n];
            group.bench_function(format!("{label} solve"), |bench| {
                bench.iter(|| cache.solve_into(black_box(&b), &mut x).unwrap())
            });
            if let Some(s) = cache.sparse_lu_summary() {
                println!("{name} {label}: {s:?}");
            }
        }
        group.finish();
    }
}

fn poisson(c: &mut Criterion) {
    let a = poisson_2d(256);
    let n = a.rows();
    let name = "linsolve/Poisson 256x256".to_string();
    let mut group = c.benchmark_group(&name);
    group.sample_size(10);
    let b = vec![1.0; n];
    let values = a.data().to_vec();
    write_triplets(&a, "poisson_256.txt");
    let prob = LinearProblem::new(a.clone(), b.clone());
    let tol = KrylovTolerances {
        rtol: 1e-8,
        ..Default::default()
    };
    let cases: Vec<(&str, LinearAlgorithm)> = vec![
        (
            "CG + ILU(0)",
            Cg {
                tolerances: tol,
                preconditioner: Preconditioner::Ilu0,
            }
            .into(),
        ),
        (
            "CG + Jacobi",
            Cg {
                tolerances: tol,
                preconditioner: Preconditioner::Jacobi,
            }
            .into(),
        ),
        ("sparse LU", SparseLu::default().into()),
        ("sparse Cholesky", SparseCholesky::default().into()),
    ];
    for (label, alg) in cases {
        let mut cache = init(&prob, &alg).unwrap();
        let mut x = vec![0.0; n];
        group.bench_function(format!("{label} factor+solve"), |bench| {
            bench.iter(|| {
                cache.set_values(black_box(&values)).unwrap();
                cache.solve_into(&b, &mut x).unwrap()
            })
        });
        println!(
            "{name} {label}: {:?}, {} iterations",
            cache.termination(),
            cache.stats().iterations
        );
        if !alg.name().starts_with("CG") {
            group.bench_function(format!("{label} symbolic+factor+solve"), |bench| {
                bench.iter(|| {
                    let mut c = init(black_box(&prob), &alg).unwrap();
                    c.solve_into(&b, &mut x).unwrap()
                })
            });
        }
    }
    group.finish();
}

fn rule(c: &mut Criterion) {
    let sparse = brusselator_iteration_matrix(32, 0.05);
    let cases: Vec<(
        String,
        LinearSolveRule,
        Vec<f64>,
        usize,
        Matrix,
        LinearAlgorithm,
    )> = vec![
        (
            "dense n=100".into(),
            LinearSolveRule::dense(100),
            col_major(&dense_matrix(100)),
            100,
            dense_matrix(100).into(),
            DenseLu::default().into(),
        ),
        (
            "dense n=1000".into(),
            LinearSolveRule::dense(1000),
            col_major(&dense_matrix(1000)),
            1000,
            dense_matrix(1000).into(),
            DenseLu::default().into(),
        ),
        (
            "P3 sparse n=2048".into(),
            LinearSolveRule::sparse(&sparse).unwrap(),
            sparse.data().to_vec(),
            2048,
            sparse.clone().into(),
            SparseLu::default().into(),
        ),
    ];
    for (label, rule, values, n, matrix, alg) in cases {
        let name = format!("linsolve/rule {label}");
        let mut group = c.benchmark_group(&name);
        group.sample_size(30);
        let mut input = values.clone();
        input.extend((0..n).map(|i| 1.0 + (i % 3) as f64));
        let mut x = vec![0.0; n];
        let state = rule.primal(&input, &mut x).unwrap();
        // The forward solve on the factorisation: the primal rule re-solving with it.
        let inner_input = input.clone();
        let xbar: Vec<f64> = (0..n).map(|i| (i as f64 * 0.1).cos()).collect();
        let mut dy = vec![0.0; n];
        let dx: Vec<f64> = (0..input.len())
            .map(|i| ((i % 11) as f64 - 5.0) * 1e-3)
            .collect();
        // The reference: the forward solve on an existing factorisation, through a cache on
        // the same matrix and algorithm.
        let mut cache = init(&LinearProblem::new(matrix, xbar.clone()), &alg).unwrap();
        cache.factorize().unwrap();
        let mut out = vec![0.0; n];
        group.bench_function("forward solve", |bench| {
            bench.iter(|| cache.solve_into(black_box(&xbar), &mut out).unwrap())
        });
        // The solve the vjp is built on (with `op(A)ᵀ`): what is left of its cost is the
        // cotangent of `A`, `O(nnz(A))` entries written (`n²` for dense `A`).
        group.bench_function("transpose solve", |bench| {
            bench.iter(|| {
                cache
                    .solve_transpose_into(black_box(&xbar), &mut out)
                    .unwrap()
            })
        });
        group.bench_function("jvp", |bench| {
            bench.iter(|| {
                rule.jvp::<f64>(&state, &inner_input, &x, black_box(&dx), &mut dy)
                    .unwrap()
            })
        });
        let mut grad = vec![0.0; input.len()];
        group.bench_function("vjp", |bench| {
            bench.iter(|| {
                rule.vjp::<f64>(&state, &inner_input, &x, black_box(&xbar), &mut grad)
                    .unwrap()
            })
        });
        group.finish();
    }
}

/// Writes `rows cols nnz` and one `row col value` line per entry to `target/linsolve/<file>`,
/// for the peer comparison (`benches/peers/linsolve_scipy.py`).
fn write_triplets(a: &CsMat<f64>, file: &str) {
    use std::fmt::Write as _;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/linsolve");
    let mut text = format!("{} {} {}\n", a.rows(), a.cols(), a.nnz());
    for (v, (i, j)) in a.iter() {
        let _ = writeln!(text, "{i} {j} {v:e}");
    }
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(file), text);
    }
}

fn col_major(a: &Mat<f64>) -> Vec<f64> {
    let n = a.nrows();
    (0..n * a.ncols()).map(|p| a[(p % n, p / n)]).collect()
}

fn densify(a: &CsMat<f64>) -> Mat<f64> {
    let mut d = Mat::zeros(a.rows(), a.cols());
    for (v, (i, j)) in a.iter() {
        d[(i, j)] = *v;
    }
    d
}

fn small_sparse(c: &mut Criterion) {
    for m in [2usize, 3, 4, 5, 6, 8] {
        let a = brusselator_iteration_matrix(m, 0.05);
        let n = a.rows();
        let mut group = c.benchmark_group(format!("linsolve/small-sparse n={n}"));
        group.sample_size(50);
        let b = vec![1.0; n];
        let values = a.data().to_vec();
        let mut x = vec![0.0; n];
        let mut sp = init(
            &LinearProblem::new(a.clone(), b.clone()),
            &SparseLu::default().into(),
        )
        .unwrap();
        group.bench_function("sparse LU numeric+solve", |bench| {
            bench.iter(|| {
                sp.set_values(black_box(&values)).unwrap();
                sp.solve_into(&b, &mut x).unwrap()
            })
        });
        let mut de = init(
            &LinearProblem::new(densify(&a), b.clone()),
            &DenseLu::default().into(),
        )
        .unwrap();
        let mut dense_values = vec![0.0; n * n];
        group.bench_function("dense LU densify+factor+solve", |bench| {
            bench.iter(|| {
                dense_values.fill(0.0);
                for (v, (i, j)) in a.iter() {
                    dense_values[i + n * j] = *v;
                }
                de.set_values(black_box(&dense_values)).unwrap();
                de.solve_into(&b, &mut x).unwrap()
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = dense, p3, poisson, rule, small_sparse
}

fn main() {
    tangent_benches::ignore_earlier_runs();
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== ratios (medians of this run) ==");
    for n in [100, 1000] {
        tangent_benches::print_ratios(
            &format!("linsolve/dense LU n={n}"),
            "faer in-place factor + solve",
            &["faer partial_piv_lu + solve", "cache set_matrix + solve"],
        );
        tangent_benches::print_ratios(
            &format!("linsolve/dense LU n={n}"),
            "faer in-place solve",
            &["cache solve"],
        );
    }
    for (m, n) in [(32usize, 2048usize), (64, 8192)] {
        let ids: Vec<String> = p3_algorithms(m)
            .iter()
            .flat_map(|(l, _)| ["symbolic+numeric", "numeric", "solve"].map(|w| format!("{l} {w}")))
            .collect();
        let ids: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
        tangent_benches::print_ratios(
            &format!("linsolve/P3 I-gJ n={n}"),
            "multifrontal AMD numeric",
            &ids,
        );
    }
    tangent_benches::print_ratios(
        "linsolve/Poisson 256x256",
        "sparse LU factor+solve",
        &[
            "CG + ILU(0) factor+solve",
            "CG + Jacobi factor+solve",
            "sparse LU symbolic+factor+solve",
            "sparse Cholesky factor+solve",
            "sparse Cholesky symbolic+factor+solve",
        ],
    );
    for label in ["dense n=100", "dense n=1000", "P3 sparse n=2048"] {
        tangent_benches::print_ratios(
            &format!("linsolve/rule {label}"),
            "forward solve",
            &["transpose solve", "jvp", "vjp"],
        );
    }
    for n in [8, 18, 32, 50, 72, 128] {
        tangent_benches::print_ratios(
            &format!("linsolve/small-sparse n={n}"),
            "sparse LU numeric+solve",
            &["dense LU densify+factor+solve"],
        );
    }
}
