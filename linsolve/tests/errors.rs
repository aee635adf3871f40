//! Bad input gives typed errors that say what and where — never a panic — and a cache stays
//! usable after an error.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

mod common;

use faer::Mat;
use sprs::{CsMat, TriMat};
use tangent_linsolve::*;

fn tridiagonal(n: usize, zero_col: Option<usize>) -> CsMat<f64> {
    let mut t = TriMat::new((n, n));
    for i in 0..n {
        for (j, v) in [(i.wrapping_sub(1), -1.0), (i, 4.0), (i + 1, -1.0)] {
            if j < n {
                t.add_triplet(i, j, if Some(j) == zero_col { 0.0 } else { v });
            }
        }
    }
    t.to_csc()
}

#[test]
fn singular_matrices_report_the_pivot() {
    // Dense: the second row is twice the first (exactly representable).
    let a = faer::mat![[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]];
    for alg in [
        LinearAlgorithm::from(DenseLu::default()),
        DenseQr::default().into(),
    ] {
        let err = solve(&LinearProblem::new(a.clone(), vec![1.0; 3]), &alg).unwrap_err();
        assert_eq!(err, LinsolveError::Singular { pivot: 1 }, "{}", alg.name());
    }
    // A zero column: the pivot of that column vanishes.
    let mut z = Mat::<f64>::identity(5, 5);
    z[(3, 3)] = 0.0;
    let err = solve(
        &LinearProblem::new(z, vec![1.0; 5]),
        &DenseLu::default().into(),
    )
    .unwrap_err();
    assert_eq!(err, LinsolveError::Singular { pivot: 3 });
    // Sparse, every kernel: column 37 of a tridiagonal matrix is zero.
    let s = tridiagonal(100, Some(37));
    for method in [
        SparseLuMethod::Auto,
        SparseLuMethod::PartialPivoting(FaerVariant::Simplicial),
        SparseLuMethod::PartialPivoting(FaerVariant::Supernodal),
    ] {
        let alg: LinearAlgorithm = SparseLu {
            method,
            ..Default::default()
        }
        .into();
        let err = solve(&LinearProblem::new(s.clone(), vec![1.0; 100]), &alg).unwrap_err();
        assert_eq!(err, LinsolveError::Singular { pivot: 37 }, "{method:?}");
    }
    // ILU(0) breakdown on the same matrix: a zero pivot in row 37.
    let alg: LinearAlgorithm = Gmres {
        preconditioner: Preconditioner::Ilu0,
        ..Default::default()
    }
    .into();
    let err = solve(&LinearProblem::new(s, vec![1.0; 100]), &alg).unwrap_err();
    assert_eq!(err, LinsolveError::Singular { pivot: 37 });
}

#[test]
fn non_finite_data_is_located() {
    let mut a = Mat::<f64>::identity(4, 4);
    a[(2, 1)] = f64::NAN;
    let err = init(&LinearProblem::new(a, vec![1.0; 4]), &LinearAlgorithm::Auto).unwrap_err();
    assert_eq!(
        err,
        LinsolveError::NonFinite {
            what: "matrix",
            row: 2,
            col: 1
        }
    );
    // Sparse CSR: the position is reported as (row, column), not a storage index.
    let mut t = TriMat::new((4, 4));
    for i in 0..4 {
        t.add_triplet(i, i, 1.0);
    }
    t.add_triplet(3, 0, f64::INFINITY);
    let csr: CsMat<f64> = t.to_csr();
    let err = init(
        &LinearProblem::new(csr, vec![1.0; 4]),
        &SparseLu::default().into(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        LinsolveError::NonFinite {
            what: "matrix",
            row: 3,
            col: 0
        }
    );
    // Right-hand sides: row and right-hand-side column.
    let mut cache = init(
        &LinearProblem::new(Mat::<f64>::identity(3, 3), vec![1.0; 3]),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    let err = cache
        .set_rhs(&[1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0])
        .unwrap_err();
    assert_eq!(
        err,
        LinsolveError::NonFinite {
            what: "right-hand side",
            row: 1,
            col: 1
        }
    );
    let mut x = [0.0; 3];
    let err = cache
        .solve_into(&[0.0, f64::NEG_INFINITY, 0.0], &mut x)
        .unwrap_err();
    assert_eq!(
        err,
        LinsolveError::NonFinite {
            what: "right-hand side",
            row: 1,
            col: 0
        }
    );
    // New matrix values with a NaN are rejected; a dense direct cache loads values straight into
    // its factor's storage, so until valid values arrive every solve repeats the error.
    cache.solve().unwrap();
    let nan = LinsolveError::NonFinite {
        what: "matrix",
        row: 1,
        col: 1,
    };
    let err = cache
        .set_values(&[1.0, 0.0, 0.0, 0.0, f64::NAN, 0.0, 0.0, 0.0, 1.0])
        .unwrap_err();
    assert_eq!(err, nan);
    assert_eq!(cache.solve().unwrap_err(), nan);
    cache
        .set_values(&[2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0])
        .unwrap();
    assert_eq!(cache.solve().unwrap(), &[0.5, 0.5, 0.5]);
    // A sparse cache keeps its matrix and factorisation after a rejected update.
    let mut t = TriMat::new((3, 3));
    for i in 0..3 {
        t.add_triplet(i, i, 1.0);
    }
    let eye: CsMat<f64> = t.to_csc();
    let mut cache = init(
        &LinearProblem::new(eye, vec![1.0; 3]),
        &SparseLu::default().into(),
    )
    .unwrap();
    cache.solve().unwrap();
    assert!(cache.set_values(&[1.0, f64::NAN, 1.0]).is_err());
    assert_eq!(cache.solve().unwrap(), &[1.0, 1.0, 1.0]);
}

#[test]
fn shapes_are_checked() {
    let rect = Mat::<f64>::zeros(3, 2);
    for alg in [
        LinearAlgorithm::from(DenseLu::default()),
        DenseCholesky::default().into(),
        Gmres::default().into(),
    ] {
        let err = init(&LinearProblem::new(rect.clone(), vec![1.0; 3]), &alg).unwrap_err();
        assert!(
            matches!(
                err,
                LinsolveError::NotSquare {
                    nrows: 3,
                    ncols: 2,
                    ..
                }
            ),
            "{}: {err:?}",
            alg.name()
        );
    }
    let rect_sparse: CsMat<f64> =
        CsMat::new_csc((2, 3), vec![0, 1, 2, 2], vec![0, 1], vec![1.0, 1.0]);
    let err = init(
        &LinearProblem::new(rect_sparse, vec![1.0; 2]),
        &SparseLu::default().into(),
    )
    .unwrap_err();
    assert!(matches!(err, LinsolveError::NotSquare { .. }), "{err:?}");
    // Right-hand sides must be a positive multiple of the row count.
    let err = init(
        &LinearProblem::new(Mat::<f64>::identity(4, 4), vec![1.0; 5]),
        &LinearAlgorithm::Auto,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            LinsolveError::DimensionMismatch {
                expected: 4,
                found: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let mut cache = init(
        &LinearProblem::new(Mat::<f64>::identity(4, 4), vec![1.0; 4]),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    let mut x = [0.0; 3];
    let err = cache.solve_into(&[1.0; 4], &mut x).unwrap_err();
    assert!(
        matches!(
            err,
            LinsolveError::DimensionMismatch {
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let err = cache.set_matrix(&Mat::<f64>::identity(5, 5)).unwrap_err();
    assert!(
        matches!(
            err,
            LinsolveError::DimensionMismatch {
                expected: 4,
                found: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let err = cache.set_values(&[1.0; 15]).unwrap_err();
    assert!(
        matches!(
            err,
            LinsolveError::DimensionMismatch {
                expected: 16,
                found: 15,
                ..
            }
        ),
        "{err:?}"
    );
    // Transpose of a rectangular matrix through the stateful API needs the `_into` form.
    let mut qr = init(
        &LinearProblem::new(rect, vec![1.0; 3]),
        &LinearAlgorithm::Auto,
    )
    .unwrap();
    assert!(matches!(
        qr.solve_transpose(),
        Err(LinsolveError::NotSquare { .. })
    ));
}

#[test]
fn patterns_and_capabilities_are_checked() {
    let a = tridiagonal(10, None);
    let mut cache = init(
        &LinearProblem::new(a.clone(), vec![1.0; 10]),
        &SparseLu::default().into(),
    )
    .unwrap();
    cache.solve().unwrap();
    let other = tridiagonal(10, None).to_csr();
    assert_eq!(
        cache.set_matrix(&other).unwrap_err(),
        LinsolveError::PatternMismatch {
            what: "storage order (CSC vs CSR)"
        }
    );
    let mut t = TriMat::new((10, 10));
    for i in 0..10 {
        t.add_triplet(i, i, 1.0);
    }
    let diag: CsMat<f64> = t.to_csc();
    assert!(matches!(
        cache.set_matrix(&diag),
        Err(LinsolveError::PatternMismatch { .. })
    ));
    assert!(matches!(
        cache.set_matrix(&Mat::<f64>::identity(10, 10)),
        Err(LinsolveError::PatternMismatch { .. })
    ));
    // Still usable.
    cache.set_matrix(&a.map(|v| 2.0 * v)).unwrap();
    cache.solve().unwrap();
    // Algorithms that cannot take the matrix given.
    let dense = Mat::<f64>::identity(10, 10);
    let op = MatrixFree::square(10, |x, y| y.copy_from_slice(x));
    let cases: Vec<(LinearProblem, LinearAlgorithm)> = vec![
        (
            LinearProblem::new(dense.clone(), vec![1.0; 10]),
            SparseLu::default().into(),
        ),
        (
            LinearProblem::new(dense.clone(), vec![1.0; 10]),
            SparseCholesky::default().into(),
        ),
        (
            LinearProblem::new(dense, vec![1.0; 10]),
            Cg {
                preconditioner: Preconditioner::Ilu0,
                ..Default::default()
            }
            .into(),
        ),
        (
            LinearProblem::new(op.clone(), vec![1.0; 10]),
            DenseLu::default().into(),
        ),
        (
            LinearProblem::new(op, vec![1.0; 10]),
            Gmres {
                preconditioner: Preconditioner::Jacobi,
                ..Default::default()
            }
            .into(),
        ),
    ];
    for (prob, alg) in cases {
        let err = init(&prob, &alg).unwrap_err();
        assert!(
            matches!(err, LinsolveError::Unsupported { .. }),
            "{}: {err:?}",
            alg.name()
        );
    }
    // ILU(0) needs the diagonal in the pattern.
    let offdiag: CsMat<f64> = CsMat::new_csc((2, 2), vec![0, 1, 2], vec![1, 0], vec![1.0, 1.0]);
    let err = init(
        &LinearProblem::new(offdiag.clone(), vec![1.0; 2]),
        &Gmres {
            preconditioner: Preconditioner::Ilu0,
            ..Default::default()
        }
        .into(),
    )
    .unwrap_err();
    assert!(
        matches!(err, LinsolveError::InvalidSparse { index: 0, .. }),
        "{err:?}"
    );
    // …while the direct solvers pivot it fine: [[0, 1], [1, 0]] x = (1, 2) → x = (2, 1).
    let x = solve(
        &LinearProblem::new(offdiag, vec![1.0, 2.0]),
        &SparseLu::default().into(),
    )
    .unwrap()
    .x;
    assert_eq!(x, vec![2.0, 1.0]);
}

#[test]
fn error_messages_say_what_and_where() {
    let e = LinsolveError::Singular { pivot: 7 };
    assert_eq!(e.to_string(), "matrix is singular: zero pivot at column 7");
    let e = LinsolveError::NotConverged {
        method: "GMRES",
        iterations: 3,
        residual_history: vec![1.0, 0.5, 0.25, 0.125],
        tolerance: 1e-8,
    };
    assert_eq!(
        e.to_string(),
        "GMRES did not converge in 3 iterations: residual 1.25e-1 > tolerance 1e-8"
    );
    let r: tangent_ad::RuleError = LinsolveError::NotSquare {
        what: "LU",
        nrows: 2,
        ncols: 3,
    }
    .into();
    assert!(
        r.to_string()
            .contains("LU needs a square matrix, found 2 × 3")
    );
}
