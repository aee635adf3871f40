//! After `init` (and a first solve that sizes every buffer), refactorising with new values and
//! solving allocate nothing: a counting global allocator around the hot calls.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

mod common;

use common::*;
use sprs::CsMat;
use tangent_linsolve::problems::{brusselator_iteration_matrix, poisson_2d};
use tangent_linsolve::*;
use tangent_testing::{allocations, fewest_allocations};

#[global_allocator]
static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;

/// New values, refactorisation, solve and transpose solve with a fixed number of right-hand
/// sides: zero allocations, twice in a row.
fn hot_loop_is_allocation_free(
    name: &str,
    prob: &LinearProblem,
    alg: LinearAlgorithm,
    values2: &[f64],
    transpose: bool,
) {
    let values1: Vec<f64> = match &prob.a {
        Matrix::Dense(m) => (0..m.nrows() * m.ncols())
            .map(|p| m[(p % m.nrows(), p / m.nrows())])
            .collect(),
        Matrix::Sparse(m) => m.data().to_vec(),
        _ => unreachable!(),
    };
    // Fewest over three fresh caches: the hot loop's own allocations would show in every run,
    // a stray one of the test harness's thread (the counter is global) in one at most.
    let count = fewest_allocations(
        || {
            let mut cache = init(prob, &alg).unwrap();
            let (m, n) = (cache.nrows(), cache.ncols());
            let b: Vec<f64> = (0..m).map(|i| 1.0 + i as f64 * 0.01).collect();
            let (x, mut xt) = (vec![0.0; n], vec![0.0; m]);
            // Warm-up: sizes the scratch for one right-hand side.
            cache.solve().unwrap();
            if transpose {
                cache.solve_transpose_into(&b[..n.min(m)], &mut xt[..]).ok();
            }
            (cache, b, x, xt)
        },
        |(cache, b, x, xt)| {
            let (m, n) = (cache.nrows(), cache.ncols());
            for round in 0..2 {
                let values = if round == 0 { values2 } else { &values1[..] };
                cache.set_values(values).unwrap();
                cache.set_rhs(b).unwrap();
                cache.solve().unwrap();
                cache.solve_into(b, x).unwrap();
                if transpose {
                    cache.solve_transpose_into(&b[..n], &mut xt[..m]).unwrap();
                }
            }
        },
    );
    assert_eq!(count, 0, "{name}: {count} allocations in the hot loop");
}

fn scaled(a: &CsMat<f64>, s: f64) -> Vec<f64> {
    a.data().iter().map(|v| v * s).collect()
}

fn the_counter_counts() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

fn dense_methods() {
    let mut rng = Rng(41);
    for n in [10usize, 100, 300] {
        let a = well_conditioned(n, &mut rng);
        let a2: Vec<f64> = (0..n * n).map(|p| a[(p % n, p / n)] * 1.5).collect();
        let prob = LinearProblem::new(a.clone(), vec![1.0; n]);
        hot_loop_is_allocation_free(
            &format!("dense LU n={n}"),
            &prob,
            DenseLu::default().into(),
            &a2,
            true,
        );
        hot_loop_is_allocation_free(
            &format!("dense QR n={n}"),
            &prob,
            DenseQr::default().into(),
            &a2,
            true,
        );
        let s = spd(n, &mut rng);
        let s2: Vec<f64> = (0..n * n).map(|p| s[(p % n, p / n)] * 2.0).collect();
        let prob = LinearProblem::new(s, vec![1.0; n]);
        hot_loop_is_allocation_free(
            &format!("dense Cholesky n={n}"),
            &prob,
            DenseCholesky::default().into(),
            &s2,
            true,
        );
    }
    // Rectangular least squares.
    let a = random(120, 40, &mut rng);
    let a2: Vec<f64> = (0..120 * 40).map(|p| a[(p % 120, p / 120)] * 0.5).collect();
    let prob = LinearProblem::new(a, vec![1.0; 120]);
    hot_loop_is_allocation_free(
        "dense QR 120×40",
        &prob,
        DenseQr::default().into(),
        &a2,
        false,
    );
}

fn sparse_methods() {
    for ng in [8usize, 32] {
        let a = brusselator_iteration_matrix(ng, 0.05);
        let n = a.rows();
        let prob = LinearProblem::new(a.clone(), vec![1.0; n]);
        let alg: LinearAlgorithm = SparseLu::default().into();
        hot_loop_is_allocation_free(
            &format!("sparse LU (multifrontal) n={n}"),
            &prob,
            alg,
            &scaled(&a, 1.1),
            true,
        );
        // The two-worker factorisation: its helper thread is started by `init`, so the hot
        // loop's hand-overs to it must not allocate either.
        let parallel: LinearAlgorithm = SparseLu {
            threads: 2,
            ..Default::default()
        }
        .into();
        hot_loop_is_allocation_free(
            &format!("sparse LU (multifrontal, 2 threads) n={n}"),
            &prob,
            parallel,
            &scaled(&a, 1.1),
            true,
        );
        let csr = a.to_csr();
        let prob = LinearProblem::new(csr.clone(), vec![1.0; n]);
        hot_loop_is_allocation_free(
            &format!("sparse LU CSR n={n}"),
            &prob,
            SparseLu::default().into(),
            &scaled(&csr, 0.9),
            true,
        );
    }
    let p = poisson_2d(30);
    let prob = LinearProblem::new(p.clone(), vec![1.0; 900]);
    hot_loop_is_allocation_free(
        "sparse Cholesky",
        &prob,
        SparseCholesky::default().into(),
        &scaled(&p, 2.0),
        true,
    );
}

fn krylov_methods() {
    let p = poisson_2d(20);
    let prob = LinearProblem::new(p.clone(), vec![1.0; 400]);
    for pre in [
        Preconditioner::None,
        Preconditioner::Jacobi,
        Preconditioner::Ilu0,
    ] {
        hot_loop_is_allocation_free(
            &format!("CG {pre:?}"),
            &prob,
            Cg {
                preconditioner: pre.clone(),
                ..Default::default()
            }
            .into(),
            &scaled(&p, 2.0),
            true,
        );
        hot_loop_is_allocation_free(
            &format!("GMRES {pre:?}"),
            &prob,
            Gmres {
                preconditioner: pre.clone(),
                ..Default::default()
            }
            .into(),
            &scaled(&p, 2.0),
            true,
        );
        hot_loop_is_allocation_free(
            &format!("BiCGStab {pre:?}"),
            &prob,
            BiCgStab {
                preconditioner: pre,
                ..Default::default()
            }
            .into(),
            &scaled(&p, 2.0),
            true,
        );
    }
}

/// The linear-solve rule's jvp and vjp on `f64` on a primal's state: after a first call of
/// each (which sizes the state's workspace), none allocates — sparse LU, sparse Cholesky and the
/// dense factorisations.
fn rule_derivatives() {
    use tangent_ad::Rule;
    let p3 = brusselator_iteration_matrix(8, 0.05);
    let poisson = poisson_2d(8);
    let rules: Vec<(&str, LinearSolveRule, Vec<f64>)> = vec![
        (
            "sparse LU",
            LinearSolveRule::sparse(&p3).unwrap(),
            p3.data().to_vec(),
        ),
        (
            "sparse LU CSR",
            LinearSolveRule::sparse(&p3.to_csr()).unwrap(),
            p3.to_csr().data().to_vec(),
        ),
        (
            "sparse Cholesky",
            LinearSolveRule::sparse_with(&poisson, &SparseCholesky::default().into()).unwrap(),
            poisson.data().to_vec(),
        ),
        // n = 80: the rule's dense products (n² · 1 > 16³) take faer's large-matrix kernels.
        ("dense LU", LinearSolveRule::dense(80), {
            let a = well_conditioned(80, &mut Rng(7));
            (0..6400).map(|p| a[(p % 80, p / 80)]).collect()
        }),
        (
            "dense QR",
            LinearSolveRule::dense_with(30, &DenseQr::default().into()).unwrap(),
            {
                let a = well_conditioned(30, &mut Rng(8));
                (0..900).map(|p| a[(p % 30, p / 30)]).collect()
            },
        ),
    ];
    for (name, rule, values) in rules {
        let n = rule.n();
        let mut input = values;
        input.extend((0..n).map(|i| 1.0 + i as f64 * 0.01));
        let mut x = vec![0.0; n];
        let state = rule.primal(&input, &mut x).unwrap();
        let ni = rule.n_inputs();
        let dx: Vec<f64> = (0..ni).map(|i| (i % 7) as f64 * 0.1).collect();
        let (mut dy, mut grad) = (vec![0.0; n], vec![0.0; ni]);
        let xbar: Vec<f64> = (0..n).map(|i| (i as f64).cos()).collect();
        let mut calls = || {
            rule.jvp::<f64>(&state, &input, &x, &dx, &mut dy).unwrap();
            rule.vjp::<f64>(&state, &input, &x, &xbar, &mut grad)
                .unwrap();
        };
        calls(); // sizes the workspace
        let count = tangent_testing::steady_allocations(&mut calls);
        assert_eq!(count, 0, "{name}: rule jvp + vjp allocated {count} times");
    }
}

#[test]
fn hot_calls_are_allocation_free() {
    // One test function: the counter is global.
    the_counter_counts();
    dense_methods();
    sparse_methods();
    krylov_methods();
    rule_derivatives();
}
