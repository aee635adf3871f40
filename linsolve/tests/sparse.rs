//! Sparse LU (multifrontal and faer's pivoting LU) and sparse Cholesky: residual bounds against
//! dense references, transpose and multi-right-hand-side solves, CSR input, refactorisation
//! identical to a fresh factorisation, the pivoting fallback, and P3's iteration matrix.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

mod common;

use common::*;
use faer::Mat;
use sprs::{CsMat, TriMat};
use tangent_linsolve::algorithm::SMALL_SPARSE_AS_DENSE;
use tangent_linsolve::problems::{brusselator_iteration_matrix, poisson_2d};
use tangent_linsolve::*;

const EPS: f64 = f64::EPSILON;

/// Backward-error bound for the sparse factorisations, `16 n ε`: twice the dense bound
/// (tests/dense.rs) to allow for the multipliers up to 1/`pivot_threshold` = 100 that the
/// multifrontal kernel's restricted pivoting accepts (measured: below `n ε`).
fn backward_bound(n: usize) -> f64 {
    16.0 * n.max(4) as f64 * EPS
}

fn lu_methods() -> Vec<(&'static str, SparseLu)> {
    vec![
        (
            "multifrontal-amd",
            SparseLu {
                ordering: Ordering::Amd,
                method: SparseLuMethod::Multifrontal {
                    pivot_threshold: 0.01,
                },
                threads: 1,
            },
        ),
        (
            "multifrontal-natural",
            SparseLu {
                ordering: Ordering::Natural,
                method: SparseLuMethod::Multifrontal {
                    pivot_threshold: 0.01,
                },
                threads: 1,
            },
        ),
        (
            "multifrontal-amd-2-threads",
            SparseLu {
                ordering: Ordering::Amd,
                method: SparseLuMethod::Multifrontal {
                    pivot_threshold: 0.01,
                },
                threads: 2,
            },
        ),
        (
            "faer-auto",
            SparseLu {
                ordering: Ordering::Amd,
                method: SparseLuMethod::PartialPivoting(FaerVariant::Auto),
                threads: 1,
            },
        ),
        (
            "faer-simplicial",
            SparseLu {
                ordering: Ordering::Amd,
                method: SparseLuMethod::PartialPivoting(FaerVariant::Simplicial),
                threads: 1,
            },
        ),
        (
            "faer-supernodal",
            SparseLu {
                ordering: Ordering::Amd,
                method: SparseLuMethod::PartialPivoting(FaerVariant::Supernodal),
                threads: 1,
            },
        ),
    ]
}

fn check_system(name: &str, a: &CsMat<f64>, alg: LinearAlgorithm, k: usize, rng: &mut Rng) {
    let n = a.rows();
    let dense = to_dense(a);
    let dense_t = Mat::from_fn(n, n, |i, j| dense[(j, i)]);
    let b = rng.vec(n * k);
    let mut cache = init(&LinearProblem::new(a.clone(), b.clone()), &alg).unwrap();
    let x = cache.solve().unwrap().to_vec();
    let xt = cache.solve_transpose().unwrap().to_vec();
    for c in 0..k {
        let bc = &b[c * n..(c + 1) * n];
        let eta = backward_error(&dense, &x[c * n..(c + 1) * n], bc);
        assert!(
            eta <= backward_bound(n),
            "{name}: n = {n}, column {c}: backward error {eta:e}"
        );
        let eta = backward_error(&dense_t, &xt[c * n..(c + 1) * n], bc);
        assert!(
            eta <= backward_bound(n),
            "{name}: n = {n}, column {c}: transpose backward error {eta:e}"
        );
    }
}

#[test]
fn lu_on_random_nonsymmetric_systems() {
    let mut rng = Rng(11);
    for n in [1usize, 2, 10, 57, 300] {
        for dominant in [true, false] {
            let a = random_sparse(n, 4, dominant, &mut rng);
            for (name, alg) in lu_methods() {
                check_system(
                    &format!("{name} dominant={dominant}"),
                    &a,
                    alg.into(),
                    3,
                    &mut rng,
                );
            }
        }
    }
}

#[test]
fn lu_on_brusselator_and_poisson() {
    let mut rng = Rng(12);
    for (what, a) in [
        (
            "brusselator 8×8, γ = 0.05",
            brusselator_iteration_matrix(8, 0.05),
        ),
        (
            "brusselator 16×16, γ = 1",
            brusselator_iteration_matrix(16, 1.0),
        ),
        ("poisson 12×12", poisson_2d(12)),
    ] {
        for (name, alg) in lu_methods() {
            check_system(&format!("{what} {name}"), &a, alg.into(), 5, &mut rng);
        }
    }
}

#[test]
fn auto_chooses_multifrontal_for_symmetric_patterns_and_faer_otherwise() {
    let mut rng = Rng(13);
    let a = brusselator_iteration_matrix(8, 0.05);
    let mut cache = init(
        &LinearProblem::new(a, vec![1.0; 128]),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    assert_eq!(cache.algorithm().name(), "SparseLu");
    cache.solve().unwrap();
    assert!(!cache.uses_pivoting_fallback());
    // A strictly upper-triangular-plus-diagonal pattern has no symmetric partner entries.
    let n = 100;
    let mut t = TriMat::new((n, n));
    for i in 0..n {
        t.add_triplet(i, i, 2.0 + rng.uniform());
        if i + 1 < n {
            t.add_triplet(i, i + 1, rng.uniform());
        }
        if i + 7 < n {
            t.add_triplet(i, i + 7, rng.uniform());
        }
    }
    let u: CsMat<f64> = t.to_csc();
    let mut cache = init(
        &LinearProblem::new(u.clone(), rng.vec(n)),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    cache.solve().unwrap();
    assert!(
        cache.uses_pivoting_fallback(),
        "unsymmetric pattern should use faer's pivoting LU"
    );
    check_system(
        "triangular pattern auto",
        &u,
        LinearAlgorithm::Auto,
        1,
        &mut rng,
    );
}

#[test]
fn tiny_diagonals_are_pivoted_inside_supernodes_or_fall_back() {
    // Symmetric pattern, tiny diagonal, the large entries on the anti-diagonal: every pivot
    // must come from off the diagonal. AMD pairs i with n−1−i, the pairs land in supernodes, and
    // the pivoting inside each supernode's block finds the large entries.
    let n = 80;
    let mut t = TriMat::new((n, n));
    for i in 0..n {
        t.add_triplet(i, i, 1e-12);
        t.add_triplet(i, n - 1 - i, 1.0 + (i as f64) * 0.01);
    }
    let a: CsMat<f64> = t.to_csc();
    let mut rng = Rng(14);
    check_system("anti-diagonal", &a, SparseLu::default().into(), 1, &mut rng);
    // A nonsymmetric-valued, non-dominant matrix with the strictest threshold (multipliers at
    // most 1, as in partial pivoting): the static pivots fail somewhere and the factorisation
    // falls back to faer's pivoting LU, still backward stable.
    let a = random_sparse(300, 4, false, &mut rng);
    let strict: LinearAlgorithm = SparseLu {
        method: SparseLuMethod::Multifrontal {
            pivot_threshold: 1.0,
        },
        ..Default::default()
    }
    .into();
    let mut cache = init(&LinearProblem::new(a.clone(), rng.vec(300)), &strict).unwrap();
    cache.solve().unwrap();
    assert!(cache.uses_pivoting_fallback());
    assert_eq!(cache.stats().pivoting_fallbacks, 1);
    check_system("random, threshold 1", &a, strict, 2, &mut rng);
}

#[test]
fn csr_input_gives_the_same_solution_as_csc() {
    let mut rng = Rng(15);
    let a = random_sparse(120, 5, true, &mut rng);
    let csr = a.to_csr();
    let b = rng.vec(120);
    for (name, alg) in lu_methods() {
        let alg: LinearAlgorithm = alg.into();
        let x1 = solve(&LinearProblem::new(a.clone(), b.clone()), &alg)
            .unwrap()
            .x;
        let mut cache = init(&LinearProblem::new(csr.clone(), b.clone()), &alg).unwrap();
        assert_eq!(cache.solve().unwrap(), &x1[..], "{name}");
        // set_values in CSR storage order.
        let scaled: Vec<f64> = csr.data().iter().map(|v| v * 4.0).collect();
        cache.set_values(&scaled).unwrap();
        let x4 = cache.solve().unwrap();
        for i in 0..120 {
            assert!(
                (x4[i] * 4.0 - x1[i]).abs() <= 1e-14 * x1[i].abs().max(1.0),
                "{name}"
            );
        }
    }
}

#[test]
fn refactorisation_with_the_same_pattern_equals_a_fresh_factorisation() {
    let mut rng = Rng(16);
    let a1 = brusselator_iteration_matrix(12, 0.05);
    let a2 = brusselator_iteration_matrix(12, 0.3);
    let b = rng.vec(a1.rows());
    let mut algs: Vec<(&str, LinearAlgorithm)> = lu_methods()
        .into_iter()
        .map(|(n, a)| (n, a.into()))
        .collect();
    let spd = poisson_2d(15);
    for (name, alg) in algs.drain(..) {
        let mut cache = init(&LinearProblem::new(a1.clone(), b.clone()), &alg).unwrap();
        cache.solve().unwrap();
        cache.set_matrix(&a2).unwrap();
        let x = cache.solve().unwrap().to_vec();
        let fresh = solve(&LinearProblem::new(a2.clone(), b.clone()), &alg)
            .unwrap()
            .x;
        // Bitwise: the numeric phase on the same symbolic analysis is the same arithmetic.
        assert_eq!(x, fresh, "{name}");
        assert_eq!(cache.stats().symbolic_factorizations, 1);
        assert_eq!(cache.stats().factorizations, 2);
    }
    let b = rng.vec(spd.rows());
    let alg: LinearAlgorithm = SparseCholesky::default().into();
    let mut cache = init(&LinearProblem::new(spd.clone(), b.clone()).spd(true), &alg).unwrap();
    cache.solve().unwrap();
    let spd2 = spd.map(|v| v * 3.0);
    cache.set_matrix(&spd2).unwrap();
    let x = cache.solve().unwrap().to_vec();
    assert_eq!(x, solve(&LinearProblem::new(spd2, b), &alg).unwrap().x);
}

#[test]
fn cholesky_on_spd_sparse() {
    let mut rng = Rng(17);
    for m in [1usize, 5, 20, 40] {
        let a = poisson_2d(m);
        let n = m * m;
        let b = rng.vec(n);
        let sol = solve(
            &LinearProblem::new(a.clone(), b.clone()).spd(true),
            &LinearAlgorithm::Auto,
        )
        .unwrap();
        assert_eq!(
            sol.algorithm,
            if n <= SMALL_SPARSE_AS_DENSE {
                "DenseCholesky"
            } else {
                "SparseCholesky"
            }
        );
        for ordering in [Ordering::Amd, Ordering::Natural] {
            let x = solve(
                &LinearProblem::new(a.clone(), b.clone()),
                &SparseCholesky { ordering }.into(),
            )
            .unwrap()
            .x;
            assert!(
                backward_error(&to_dense(&a), &x, &b) <= backward_bound(n),
                "m = {m}"
            );
        }
    }
    // Not positive definite: the pivot is reported in the original numbering.
    let mut t = TriMat::new((3, 3));
    t.add_triplet(0, 0, 1.0);
    t.add_triplet(1, 1, 1.0);
    t.add_triplet(2, 2, -1.0);
    let err = solve(
        &LinearProblem::new(t.to_csc::<usize>(), vec![1.0; 3]),
        &SparseCholesky::default().into(),
    )
    .unwrap_err();
    assert_eq!(err, LinsolveError::NotPositiveDefinite { pivot: 2 });
}

#[test]
fn custom_ordering_and_small_sparse_as_dense() {
    let mut rng = Rng(18);
    let a = random_sparse(90, 3, true, &mut rng);
    let b = rng.vec(90);
    let reverse: std::sync::Arc<[usize]> = (0..90).rev().collect();
    for alg in [
        LinearAlgorithm::from(SparseLu {
            ordering: Ordering::Custom(reverse.clone()),
            ..Default::default()
        }),
        SparseCholesky {
            ordering: Ordering::Custom(reverse),
        }
        .into(),
    ] {
        if alg.name() == "SparseCholesky" {
            continue; // a is not symmetric; the Cholesky custom ordering is exercised below
        }
        let x = solve(&LinearProblem::new(a.clone(), b.clone()), &alg)
            .unwrap()
            .x;
        assert!(backward_error(&to_dense(&a), &x, &b) <= backward_bound(90));
    }
    let p = poisson_2d(9);
    let perm: std::sync::Arc<[usize]> = (0..81).map(|i| (i * 7) % 81).collect();
    let bp = rng.vec(81);
    let x = solve(
        &LinearProblem::new(p.clone(), bp.clone()),
        &SparseCholesky {
            ordering: Ordering::Custom(perm),
        }
        .into(),
    )
    .unwrap()
    .x;
    assert!(backward_error(&to_dense(&p), &x, &bp) <= backward_bound(81));
    // Not a permutation: a typed error.
    let bad: std::sync::Arc<[usize]> = vec![0; 81].into();
    let err = init(
        &LinearProblem::new(p, bp),
        &SparseLu {
            ordering: Ordering::Custom(bad),
            ..Default::default()
        }
        .into(),
    )
    .unwrap_err();
    assert!(
        matches!(err, LinsolveError::InvalidSparse { .. }),
        "{err:?}"
    );
    // Small sparse systems go dense by default.
    let small = random_sparse(SMALL_SPARSE_AS_DENSE, 3, true, &mut rng);
    let sol = solve(
        &LinearProblem::new(small, vec![1.0; SMALL_SPARSE_AS_DENSE]),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    assert_eq!(sol.algorithm, "DenseLu");
}
