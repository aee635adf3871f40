//! Dense LU, Cholesky and QR: residual bounds on random well- and ill-conditioned systems,
//! transpose and multi-right-hand-side solves, least squares and minimum norm, the automatic
//! choice, and refactorisation in a cache.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

mod common;

use common::*;
use faer::Mat;
use tangent_linsolve::*;

const EPS: f64 = f64::EPSILON;

/// Backward-error bound for the stable dense factorisations: `8 n ε`. Partial-pivoting LU,
/// Cholesky and Householder QR are normwise backward stable with constants O(n) times the
/// growth factor (Higham, *Accuracy and Stability*, Thms. 9.4, 10.3, 19.5), and the growth
/// factor of random matrices is small; measured values stay below `2 n ε` here.
fn backward_bound(n: usize) -> f64 {
    8.0 * n.max(4) as f64 * EPS
}

/// Sizes covering each unrolled order of the small LU (1–6), its loop (7–16), and faer's LU
/// beyond, straddling faer's recursion threshold (16) and block size (64).
const SIZES: [usize; 13] = [1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 63, 65, 130];

fn solve_with(a: &Mat<f64>, b: &[f64], alg: LinearAlgorithm) -> Vec<f64> {
    solve(&LinearProblem::new(a.clone(), b.to_vec()), &alg)
        .unwrap()
        .x
}

#[test]
fn lu_well_conditioned_backward_error() {
    let mut rng = Rng(1);
    for n in SIZES {
        let a = well_conditioned(n, &mut rng);
        let b = rng.vec(n);
        let x = solve_with(&a, &b, DenseLu::default().into());
        let eta = backward_error(&a, &x, &b);
        assert!(eta <= backward_bound(n), "n = {n}: backward error {eta:e}");
    }
}

#[test]
fn lu_ill_conditioned_backward_and_forward_error() {
    let mut rng = Rng(2);
    for (n, cond) in [
        (5usize, 1e8),
        (12, 1e10),
        (17, 1e8),
        (65, 1e10),
        (130, 1e12),
    ] {
        let a = with_condition(n, cond, &mut rng);
        let x_true = rng.vec(n);
        let b = matvec(&a, &x_true);
        let x = solve_with(&a, &b, DenseLu::default().into());
        // Backward stability does not depend on the conditioning.
        let eta = backward_error(&a, &x, &b);
        assert!(
            eta <= backward_bound(n),
            "n = {n}, κ = {cond:e}: backward error {eta:e}"
        );
        // Forward error ≤ κ · backward error (first order): allow the same bound times κ.
        let fwd = rel_diff(&x, &x_true);
        assert!(
            fwd <= cond * backward_bound(n),
            "n = {n}, κ = {cond:e}: forward error {fwd:e}"
        );
        // …and it is visibly larger than ε: the test really is ill-conditioned.
        assert!(
            fwd > 1e3 * EPS,
            "forward error {fwd:e} suspiciously small for κ = {cond:e}"
        );
    }
}

#[test]
fn transpose_and_multiple_rhs() {
    let mut rng = Rng(3);
    for n in [3usize, 6, 16, 17, 65] {
        let a = well_conditioned(n, &mut rng);
        let k = 4;
        let b = rng.vec(n * k);
        let prob = LinearProblem::new(a.clone(), b.clone());
        for alg in [
            LinearAlgorithm::from(DenseLu::default()),
            DenseQr::default().into(),
        ] {
            let mut cache = init(&prob, &alg).unwrap();
            let x = cache.solve().unwrap().to_vec();
            let xt = cache.solve_transpose().unwrap().to_vec();
            let at = Mat::from_fn(n, n, |i, j| a[(j, i)]);
            for c in 0..k {
                let (bc, xc, xtc) = (
                    &b[c * n..(c + 1) * n],
                    &x[c * n..(c + 1) * n],
                    &xt[c * n..(c + 1) * n],
                );
                assert!(
                    backward_error(&a, xc, bc) <= backward_bound(n),
                    "{} n = {n}",
                    alg.name()
                );
                assert!(
                    backward_error(&at, xtc, bc) <= backward_bound(n),
                    "{} transpose n = {n}",
                    alg.name()
                );
                // One column alone gives the same solution up to rounding in the blocked kernels.
                let single = solve_with(&a, bc, alg.clone());
                assert!(
                    rel_diff(&single, xc) <= backward_bound(n) * 10.0,
                    "{}: multi-rhs column {c}",
                    alg.name()
                );
            }
            assert_eq!(cache.stats().factorizations, 1);
            assert_eq!(cache.stats().solves, k);
            assert_eq!(cache.stats().transpose_solves, k);
        }
    }
}

#[test]
fn cholesky_on_spd_and_rejects_indefinite() {
    let mut rng = Rng(4);
    for n in SIZES {
        let a = spd(n, &mut rng);
        let b = rng.vec(n);
        let prob = LinearProblem::new(a.clone(), b.clone()).spd(true);
        let sol = solve(&prob, &LinearAlgorithm::Auto).unwrap();
        assert_eq!(sol.algorithm, "DenseCholesky");
        assert!(
            backward_error(&a, &sol.x, &b) <= backward_bound(n),
            "n = {n}"
        );
        // Only the lower triangle is read: garbage above the diagonal changes nothing.
        let mut lower = a.clone();
        for j in 1..n {
            for i in 0..j {
                lower[(i, j)] = 1e300;
            }
        }
        let x2 = solve_with(&lower, &b, DenseCholesky::default().into());
        assert_eq!(x2, sol.x);
    }
    // An indefinite symmetric matrix: diag(1, −1, 1).
    let a = Mat::from_fn(3, 3, |i, j| {
        if i == j {
            if i == 1 { -1.0 } else { 1.0 }
        } else {
            0.0
        }
    });
    let err = solve(
        &LinearProblem::new(a, vec![1.0; 3]),
        &DenseCholesky::default().into(),
    )
    .unwrap_err();
    assert_eq!(err, LinsolveError::NotPositiveDefinite { pivot: 1 });
}

#[test]
fn qr_least_squares_satisfies_normal_equations() {
    let mut rng = Rng(5);
    for (m, n) in [(5usize, 3usize), (40, 17), (130, 65), (7, 7)] {
        let a = random(m, n, &mut rng);
        let b = rng.vec(m);
        let sol = solve(
            &LinearProblem::new(a.clone(), b.clone()),
            &LinearAlgorithm::Auto,
        )
        .unwrap();
        assert_eq!(sol.algorithm, if m == n { "DenseLu" } else { "DenseQr" });
        let x = solve_with(&a, &b, DenseQr::default().into());
        // Optimality: Aᵀ (b − A x) = 0, relative to ‖A‖ ‖r‖ (the residual is not small).
        let ax = matvec(&a, &x);
        let r: Vec<f64> = b.iter().zip(&ax).map(|(p, q)| p - q).collect();
        let g = matvec_t(&a, &r);
        let anorm = (0..m)
            .map(|i| (0..n).map(|j| a[(i, j)].abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let rnorm = r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0);
        let gmax = g.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        assert!(
            gmax <= backward_bound(m) * anorm * rnorm * 10.0,
            "({m}, {n}): ‖Aᵀr‖ = {gmax:e}"
        );
    }
}

#[test]
fn qr_minimum_norm_and_rectangular_transpose() {
    let mut rng = Rng(6);
    for (m, n) in [(3usize, 5usize), (17, 40), (65, 130)] {
        let a = random(m, n, &mut rng);
        let b = rng.vec(m);
        let prob = LinearProblem::new(a.clone(), b.clone());
        let mut cache = init(&prob, &LinearAlgorithm::Auto).unwrap();
        let x = cache.solve().unwrap().to_vec();
        // Consistent: A x = b.
        assert!(
            backward_error(&a, &x, &b) <= backward_bound(n),
            "({m}, {n})"
        );
        // Minimum norm: x = Aᵀ y with (A Aᵀ) y = b.
        let aat = Mat::from_fn(m, m, |i, j| (0..n).map(|k| a[(i, k)] * a[(j, k)]).sum());
        let y = solve_with(&aat, &b, DenseLu::default().into());
        let xmin = matvec_t(&a, &y);
        assert!(
            rel_diff(&x, &xmin) <= 1e-10,
            "({m}, {n}): not the minimum-norm solution"
        );
        // The transpose problem Aᵀ z = c (n × m, overdetermined) is least squares on the same
        // factors: compare with the QR of an explicit Aᵀ.
        let c = rng.vec(n);
        let mut z = vec![0.0; m];
        cache.solve_transpose_into(&c, &mut z).unwrap();
        let at = Mat::from_fn(n, m, |i, j| a[(j, i)]);
        let z2 = solve_with(&at, &c, DenseQr::default().into());
        assert!(
            rel_diff(&z, &z2) <= 1e-12,
            "({m}, {n}): transpose least squares"
        );
    }
}

#[test]
fn nalgebra_and_faer_inputs_agree() {
    let mut rng = Rng(7);
    let n = 20;
    let a = well_conditioned(n, &mut rng);
    let na = nalgebra::DMatrix::from_fn(n, n, |i, j| a[(i, j)]);
    let b = rng.vec(n);
    let x1 = solve_with(&a, &b, LinearAlgorithm::Auto);
    let x2 = solve(
        &LinearProblem::new(na.clone(), b.clone()),
        &LinearAlgorithm::Auto,
    )
    .unwrap()
    .x;
    assert_eq!(x1, x2);
    // And as new values of a cache, viewed in place.
    let mut cache = init(
        &LinearProblem::new(Mat::<f64>::identity(n, n), b.clone()),
        &DenseLu::default().into(),
    )
    .unwrap();
    cache.set_matrix(&na).unwrap();
    assert_eq!(cache.solve().unwrap(), &x1[..]);
}

#[test]
fn refactorisation_in_a_cache_equals_a_fresh_factorisation() {
    let mut rng = Rng(8);
    let n = 65;
    let a1 = well_conditioned(n, &mut rng);
    let a2 = well_conditioned(n, &mut rng);
    let b = rng.vec(n);
    for alg in [
        LinearAlgorithm::from(DenseLu::default()),
        DenseQr::default().into(),
    ] {
        let mut cache = init(&LinearProblem::new(a1.clone(), b.clone()), &alg).unwrap();
        cache.solve().unwrap();
        cache.set_matrix(&a2).unwrap();
        let x = cache.solve().unwrap().to_vec();
        // Bitwise: the same operations on the same data.
        assert_eq!(x, solve_with(&a2, &b, alg.clone()), "{}", alg.name());
        // set_values (column-major) is the same as set_matrix.
        let cm: Vec<f64> = (0..n * n).map(|p| a1[(p % n, p / n)]).collect();
        cache.set_values(&cm).unwrap();
        assert_eq!(
            cache.solve().unwrap(),
            &solve_with(&a1, &b, alg.clone())[..]
        );
        assert_eq!(cache.stats().factorizations, 3);
    }
}
