//! faer's generic dense linear algebra on the AD scalar types (feature `faer`): derivatives through
//! LU, Cholesky, QR least squares, determinants, norms, the SVD and the symmetric eigensolver,
//! checked against central finite differences of the `f64` computation and against the same
//! computation with nalgebra on the same AD type. Compiles to nothing without the feature.
//!
//! The `Var` tests set faer's global parallelism to `Par::Seq` (a `Var` records on the current
//! thread's tape only); no test here relies on the global setting being anything else.
#![cfg(feature = "faer")]

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::{Solve, SolveLstsq};
use faer::traits::RealField as FaerRealField;
use faer::{Accum, Mat, Par, Side};
use nalgebra::{DMatrix, DVector};
use tangent_ad::{Dual, Scalar, Tape, TapeError, Var};

/// Columns of every matrix; rows of the square ones.
const N: usize = 6;
/// Rows of the least-squares matrix.
const M_LSQ: usize = 9;

/// The parameter point.
const P: [f64; 2] = [0.3, -0.7];

/// Central differences with h = 1e-5 on quantities of size O(1)–O(10) with moderate third
/// derivatives: truncation error ~h²/6·|f'''| ≈ 1e-10 and rounding error ~ε·|f|/h ≈ 1e-10; 1e-7
/// (relative to 1 + |reference|) leaves ample margin while still catching any wrong derivative
/// term (those are O(1e-2) or larger here).
const FD_TOL: f64 = 1e-7;
const FD_H: f64 = 1e-5;

/// Two AD computations of the same derivative by different elimination orders (faer vs
/// nalgebra, forward vs reverse) on well-conditioned (κ ≲ 10) 6×6 systems: they agree to a few
/// hundred ulps.
const AD_TOL: f64 = 1e-12;

type D2 = Dual<2>;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): reproducible test data
/// without a dependency.
struct Lcg(u64);

impl Lcg {
    /// Uniform in [−1, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The top 53 bits as a fraction in [0, 1).
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * u - 1.0
    }

    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// `A(p) = base·A0 + steep·((p0 − c0)·A1 + (sin p1 − sin c1)·A2)` (`rows × N`, row-major) and
/// `b(p) = b0 + exp(p0)·b1 + p0·p1²·b2`, with the entries of `A0`, `A1`, `A2`, `b_k` uniform in
/// [−1, 1) except the diagonal of the top `N × N` block of `A0`, pushed to magnitude ≥ 8 (strict
/// diagonal dominance), so `A(p)` is well conditioned near `P`.
struct Problem {
    rows: usize,
    base: f64,
    steep: f64,
    center: [f64; 2],
    a: [Vec<f64>; 3],
    b: [Vec<f64>; 3],
}

impl Problem {
    /// `A(p) = A0 + p0·A1 + sin(p1)·A2`: entries of size O(1)–O(10), derivatives O(1).
    fn new(seed: u64, rows: usize) -> Self {
        let mut rng = Lcg(seed);
        let mut a0 = rng.vec(rows * N);
        for i in 0..N {
            a0[i * N + i] += 8.0 * a0[i * N + i].signum();
        }
        Self {
            rows,
            base: 1.0,
            steep: 1.0,
            center: [0.0, 0.0],
            a: [a0, rng.vec(rows * N), rng.vec(rows * N)],
            b: [rng.vec(rows), rng.vec(rows), rng.vec(rows)],
        }
    }

    fn square(seed: u64) -> Self {
        Self::new(seed, N)
    }

    /// Small entries (≤ 0.27 at `P`) with steep derivatives (O(30)): `|a·∂a| ≳ 2`, where the
    /// scaled hypot of faer would overflow the tangent with `f64`'s safe range.
    fn steep(seed: u64, rows: usize) -> Self {
        Self {
            base: 0.03,
            steep: 30.0,
            center: P,
            ..Self::new(seed, rows)
        }
    }

    /// Row-major `A(p)` and `b(p)`, generic over the scalar type.
    fn build<S: Scalar>(&self, p: [S; 2]) -> (Vec<S>, Vec<S>) {
        let t = (p[0] - self.center[0]) * self.steep;
        let s = (p[1].sin() - self.center[1].sin()) * self.steep;
        let e = p[0].exp();
        let q = p[0] * p[1] * p[1];
        let a = (0..self.rows * N)
            .map(|k| t * self.a[1][k] + s * self.a[2][k] + self.base * self.a[0][k])
            .collect();
        let b = (0..self.rows)
            .map(|k| e * self.b[1][k] + q * self.b[2][k] + self.b[0][k])
            .collect();
        (a, b)
    }
}

// ---------------------------------------------------------------------------------------------
// The computations, generic over faer's real field (f64, Dual, Var).

/// A faer matrix from row-major data.
fn mat<S: FaerRealField + Copy>(rows: usize, cols: usize, data: &[S]) -> Mat<S> {
    Mat::from_fn(rows, cols, |i, j| data[i * cols + j])
}

/// A faer column (as an `n × 1` matrix).
fn col<S: FaerRealField + Copy>(data: &[S]) -> Mat<S> {
    Mat::from_fn(data.len(), 1, |i, _| data[i])
}

fn first_col<S: FaerRealField + Copy>(m: &Mat<S>) -> Vec<S> {
    (0..m.nrows()).map(|i| m[(i, 0)]).collect()
}

/// `A⁻¹ b` by faer's LU with partial pivoting.
fn lu_solve<S: FaerRealField + Copy>(a: &[S], b: &[S]) -> Vec<S> {
    first_col(&mat(N, N, a).partial_piv_lu().solve(&col(b)))
}

/// `(A Aᵀ)⁻¹ b` by faer's Cholesky; `A Aᵀ` (SPD since `A` is nonsingular) by faer's product.
fn cholesky_solve<S: FaerRealField + Copy>(a: &[S], b: &[S]) -> Vec<S> {
    let a = mat(N, N, a);
    let spd = &a * a.transpose();
    let llt = spd.llt(Side::Lower).expect("A Aᵀ is SPD");
    first_col(&llt.solve(&col(b)))
}

/// `argmin ‖A x − b‖₂` by faer's Householder QR (`A` is `M_LSQ × N`).
fn qr_lstsq<S: FaerRealField + Copy>(a: &[S], b: &[S]) -> Vec<S> {
    first_col(&mat(M_LSQ, N, a).qr().solve_lstsq(&col(b)))
}

fn dot<S: Scalar>(x: &[S], y: &[S]) -> S {
    x.iter().zip(y).map(|(&xi, &yi)| xi * yi).sum()
}

// nalgebra references (on the same AD type).

fn na_lu_solve<S: nalgebra::ComplexField>(a: &[S], b: &[S]) -> Vec<S> {
    let a = DMatrix::from_row_slice(N, N, a);
    let x = a
        .lu()
        .solve(&DVector::from_column_slice(b))
        .expect("A(p) is nonsingular");
    x.iter().cloned().collect()
}

fn na_cholesky_solve<S: nalgebra::ComplexField>(a: &[S], b: &[S]) -> Vec<S> {
    let a = DMatrix::from_row_slice(N, N, a);
    let spd = &a * a.transpose();
    let x = spd
        .cholesky()
        .expect("A Aᵀ is SPD")
        .solve(&DVector::from_column_slice(b));
    x.iter().cloned().collect()
}

/// Least squares by the normal equations `AᵀA x = Aᵀb` (Cholesky).
fn na_normal_equations<S: nalgebra::ComplexField>(a: &[S], b: &[S]) -> Vec<S> {
    let a = DMatrix::from_row_slice(M_LSQ, N, a);
    let ata = a.transpose() * &a;
    let atb = a.transpose() * DVector::from_column_slice(b);
    let x = ata.cholesky().expect("AᵀA is SPD").solve(&atb);
    x.iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn dual_params(p: [f64; 2]) -> [D2; 2] {
    [D2::variable(p[0], 0), D2::variable(p[1], 1)]
}

/// `∂f/∂p_j` by central differences.
fn central_diff(f: impl Fn([f64; 2]) -> Vec<f64>, p: [f64; 2], j: usize) -> Vec<f64> {
    let (mut pp, mut pm) = (p, p);
    pp[j] += FD_H;
    pm[j] -= FD_H;
    let (fp, fm) = (f(pp), f(pm));
    fp.iter()
        .zip(&fm)
        .map(|(a, b)| (a - b) / (2.0 * FD_H))
        .collect()
}

fn assert_close(ad: f64, reference: f64, tol: f64, what: &str) {
    assert!(
        (ad - reference).abs() <= tol * (1.0 + reference.abs()),
        "{what}: AD {ad} vs reference {reference} (tolerance {tol})"
    );
}

/// Checks a `Dual<2>` result against the `f64` computation (values) and central differences of
/// it (both partials).
fn check_dual_against_fd(x: &[D2], f: impl Fn([f64; 2]) -> Vec<f64>, what: &str) {
    let x0 = f(P);
    assert_eq!(x.len(), x0.len());
    for (i, (xi, x0i)) in x.iter().zip(&x0).enumerate() {
        // Same algorithm, different kernels (faer's f64 path is SIMD and blocked).
        assert_close(xi.v, *x0i, AD_TOL, &format!("{what}: value {i}"));
    }
    for j in 0..2 {
        let fd = central_diff(&f, P, j);
        for (i, (xi, fdi)) in x.iter().zip(&fd).enumerate() {
            assert_close(xi.d[j], *fdi, FD_TOL, &format!("{what}: d{i}/dp{j}"));
        }
    }
}

fn check_duals_agree(x: &[D2], reference: &[D2], tol: f64, what: &str) {
    assert_eq!(x.len(), reference.len());
    for (i, (a, b)) in x.iter().zip(reference).enumerate() {
        assert_close(a.v, b.v, tol, &format!("{what}: value {i}"));
        for j in 0..2 {
            assert_close(a.d[j], b.d[j], tol, &format!("{what}: d{i}/dp{j}"));
        }
    }
}

/// A gradient by reverse mode against the partials of the same function by forward mode.
fn assert_reverse_matches_forward(g: [f64; 2], yd: D2, what: &str) {
    for (j, (gj, dj)) in g.iter().zip(&yd.d).enumerate() {
        assert_close(*gj, *dj, AD_TOL, &format!("{what}, direction {j}"));
    }
}

/// `Var` records on the current thread's tape: faer must not farm work out to rayon (see the
/// module docs of `tangent_ad`'s faer implementations).
fn sequential() {
    faer::set_global_parallelism(Par::Seq);
}

/// Gradient of `f(p)` recorded on a tape with `Var`.
fn tape_gradient(f: impl FnOnce([Var; 2]) -> Var) -> Result<[f64; 2], TapeError> {
    let mut tape = Tape::new();
    let y = tape.record(&P, |p| f([p[0], p[1]]));
    let mut g = [0.0; 2];
    tape.gradient(y, &mut g)?;
    Ok(g)
}

// ---------------------------------------------------------------------------------------------
// LU.

fn lu_f64(prob: &Problem, p: [f64; 2]) -> Vec<f64> {
    let (a, b) = prob.build(p);
    lu_solve(&a, &b)
}

#[test]
fn lu_dual_matches_finite_differences_and_nalgebra() {
    let prob = Problem::square(0x5eed_0001);
    let (a, b) = prob.build(dual_params(P));
    let x = lu_solve(&a, &b);
    check_dual_against_fd(&x, |p| lu_f64(&prob, p), "faer LU on Dual<2>");
    check_duals_agree(&x, &na_lu_solve(&a, &b), AD_TOL, "faer vs nalgebra LU");
}

#[test]
fn lu_var_gradient_of_b_dot_x() {
    sequential();
    let prob = Problem::square(0x5eed_0002);
    let g = tape_gradient(|p| {
        let (a, b) = prob.build(p);
        dot(&b, &lu_solve(&a, &b))
    })
    .expect("sequential faer records on the tape");

    let f = |p: [f64; 2]| {
        let (_, b) = prob.build(p);
        vec![dot(&b, &lu_f64(&prob, p))]
    };
    let (a, b) = prob.build(dual_params(P));
    let yd = dot(&b, &lu_solve(&a, &b));
    for (j, gj) in g.iter().enumerate() {
        assert_close(*gj, central_diff(f, P, j)[0], FD_TOL, "d(bᵀx)/dp vs FD");
    }
    assert_reverse_matches_forward(g, yd, "d(bᵀx)/dp");
}

#[test]
fn other_factorizations_agree_with_lu_and_cholesky() {
    let prob = Problem::square(0x5eed_0003);
    let (a, b) = prob.build(dual_params(P));
    let (am, bm) = (mat(N, N, &a), col(&b));
    let x_lu = lu_solve(&a, &b);
    let full_lu = first_col(&am.full_piv_lu().solve(&bm));
    check_duals_agree(&full_lu, &x_lu, AD_TOL, "full vs partial pivoting LU");
    let col_piv_qr = first_col(&am.col_piv_qr().solve(&bm));
    check_duals_agree(&col_piv_qr, &x_lu, AD_TOL, "column-pivoted QR vs LU");

    let spd = &am * am.transpose();
    let x_llt = cholesky_solve(&a, &b);
    let ldlt = spd.ldlt(Side::Lower).expect("A Aᵀ is SPD");
    check_duals_agree(&first_col(&ldlt.solve(&bm)), &x_llt, 1e-11, "LDLᵀ vs LLᵀ");
    let lblt = spd.lblt(Side::Lower);
    check_duals_agree(&first_col(&lblt.solve(&bm)), &x_llt, 1e-11, "LBLᵀ vs LLᵀ");
}

#[test]
fn nested_dual_second_derivative_through_lu() {
    type DD = Dual<1, Dual<1>>;
    let prob = Problem::square(0x5eed_0004);
    let p = [
        DD::new(Dual::variable(P[0], 0), [Dual::cst(1.0)]),
        DD::from(P[1]),
    ];
    let (a, b) = prob.build(p);
    let x = lu_solve(&a, &b);
    let x_na = na_lu_solve(&a, &b);

    // First derivative along p0 by faer on Dual<1>, differenced for the second.
    let dx = |q: [f64; 2]| -> Vec<f64> {
        let (a, b) = prob.build([Dual::<1>::variable(q[0], 0), Dual::from(q[1])]);
        lu_solve(&a, &b).iter().map(|xi| xi.d[0]).collect()
    };
    let d2_fd = central_diff(dx, P, 0);
    let dx0 = dx(P);
    for (i, xi) in x.iter().enumerate() {
        // Both levels carry the first derivative.
        assert_close(xi.v.d[0], dx0[i], AD_TOL, "outer value's tangent");
        assert_close(xi.d[0].v, dx0[i], AD_TOL, "outer tangent's value");
        assert_close(xi.d[0].d[0], d2_fd[i], FD_TOL, "d²x/dp0² vs FD");
        assert_close(
            xi.d[0].d[0],
            x_na[i].d[0].d[0],
            AD_TOL,
            "d²x/dp0²: faer vs nalgebra",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cholesky.

#[test]
fn cholesky_dual_matches_finite_differences_and_nalgebra() {
    let prob = Problem::square(0x5eed_0005);
    let (a, b) = prob.build(dual_params(P));
    let x = cholesky_solve(&a, &b);
    check_dual_against_fd(
        &x,
        |p| {
            let (a, b) = prob.build(p);
            cholesky_solve(&a, &b)
        },
        "faer Cholesky on Dual<2>",
    );
    // A Aᵀ has κ ≲ 100: allow a little more than for the LU.
    check_duals_agree(
        &x,
        &na_cholesky_solve(&a, &b),
        1e-11,
        "faer vs nalgebra Cholesky",
    );
}

#[test]
fn cholesky_var_gradient_matches_dual() {
    sequential();
    let prob = Problem::square(0x5eed_0006);
    let g = tape_gradient(|p| {
        let (a, b) = prob.build(p);
        dot(&b, &cholesky_solve(&a, &b))
    })
    .expect("sequential faer records on the tape");
    let (a, b) = prob.build(dual_params(P));
    let yd = dot(&b, &cholesky_solve(&a, &b));
    assert_reverse_matches_forward(g, yd, "d(bᵀ(AAᵀ)⁻¹b)/dp: reverse vs forward");
}

// ---------------------------------------------------------------------------------------------
// QR least squares.

#[test]
fn qr_least_squares_dual_matches_finite_differences_and_normal_equations() {
    let prob = Problem::new(0x5eed_0007, M_LSQ);
    let (a, b) = prob.build(dual_params(P));
    let x = qr_lstsq(&a, &b);
    assert_eq!(x.len(), N);
    check_dual_against_fd(
        &x,
        |p| {
            let (a, b) = prob.build(p);
            qr_lstsq(&a, &b)
        },
        "faer QR least squares on Dual<2>",
    );
    // The normal equations square the condition number (κ(AᵀA) ≲ 100 here): 1e-10.
    check_duals_agree(
        &x,
        &na_normal_equations(&a, &b),
        1e-10,
        "QR vs normal equations",
    );
}

#[test]
fn qr_least_squares_var_gradient_matches_dual() {
    sequential();
    let prob = Problem::new(0x5eed_0008, M_LSQ);
    let g = tape_gradient(|p| {
        let (a, b) = prob.build(p);
        let x = qr_lstsq(&a, &b);
        x.iter().map(|&xi| xi * xi).sum()
    })
    .expect("sequential faer records on the tape");
    let (a, b) = prob.build(dual_params(P));
    let yd: D2 = qr_lstsq(&a, &b).iter().map(|&xi| xi * xi).sum();
    assert_reverse_matches_forward(g, yd, "d‖x‖²/dp: reverse vs forward");
}

#[test]
fn qr_least_squares_of_small_entries_with_steep_derivatives() {
    // Householder reflections (faer's non-SIMD norm_l2 and scaled hypot) on entries ≤ 0.3 with
    // derivatives O(10); reverse mode must agree with forward mode (no adjoint through the
    // subnormal range).
    sequential();
    let prob = Problem::steep(0x5eed_0013, M_LSQ);
    let (a, b) = prob.build(dual_params(P));
    let x = qr_lstsq(&a, &b);
    check_duals_agree(
        &x,
        &na_normal_equations(&a, &b),
        1e-10,
        "QR vs normal equations",
    );
    let g = tape_gradient(|p| {
        let (a, b) = prob.build(p);
        qr_lstsq(&a, &b).iter().map(|&xi| xi * xi).sum()
    })
    .expect("sequential faer records on the tape");
    let yd: D2 = x.iter().map(|&xi| xi * xi).sum();
    assert_reverse_matches_forward(g, yd, "d‖x‖²/dp: reverse vs forward");
}

// ---------------------------------------------------------------------------------------------
// Norms and determinant.

/// `[‖A‖_F, ‖A‖_F², Σ|a_ij|, max|a_ij|]` by faer.
fn norms<S: FaerRealField + Copy>(a: &[S]) -> Vec<S> {
    let a = mat(N, N, a);
    vec![a.norm_l2(), a.squared_norm_l2(), a.norm_l1(), a.norm_max()]
}

/// Checks [`norms`] on `Dual<2>` against closed forms: d‖A‖_F = Σ a da / ‖A‖_F,
/// d‖A‖_F² = 2 Σ a da, dΣ|a| = Σ sign(a) da, d max|a| = sign(a_k) da_k at the (unique)
/// maximiser k; and against nalgebra's Frobenius norm on the same type.
fn check_norms_closed_form(a: &[D2]) {
    let n = norms(a);
    let fro = a.iter().map(|x| x.v * x.v).sum::<f64>().sqrt();
    let k = (0..a.len())
        .max_by(|&i, &j| a[i].v.abs().total_cmp(&a[j].v.abs()))
        .expect("non-empty");
    assert_close(n[0].v, fro, AD_TOL, "‖A‖_F");
    for j in 0..2 {
        let s: f64 = a.iter().map(|x| x.v * x.d[j]).sum();
        let l1: f64 = a.iter().map(|x| x.v.signum() * x.d[j]).sum();
        assert_close(n[0].d[j], s / fro, AD_TOL, "d‖A‖_F");
        assert_close(n[1].d[j], 2.0 * s, AD_TOL, "d‖A‖_F²");
        assert_close(n[2].d[j], l1, AD_TOL, "dΣ|a|");
        assert_close(n[3].d[j], a[k].v.signum() * a[k].d[j], AD_TOL, "d max|a|");
    }
    let na = DMatrix::from_row_slice(N, N, a);
    check_duals_agree(
        &n[..2],
        &[na.norm(), na.norm_squared()],
        AD_TOL,
        "faer vs nalgebra",
    );
}

#[test]
fn norms_dual_match_closed_forms_finite_differences_and_nalgebra() {
    let prob = Problem::square(0x5eed_0009);
    let (a, _) = prob.build(dual_params(P));
    check_dual_against_fd(
        &norms(&a),
        |p| {
            let (a, _) = prob.build(p);
            norms(&a)
        },
        "faer norms on Dual<2>",
    );
    check_norms_closed_form(&a);
}

#[test]
fn norms_of_small_entries_with_steep_derivatives() {
    // faer's non-SIMD `norm_l2` accumulates with its scaled hypot; with f64's safe range the
    // tangents of the scaled squares overflow here (|a·∂a| ≳ 2 for entries ≤ 1).
    let prob = Problem::steep(0x5eed_0010, N);
    let (a, _) = prob.build(dual_params(P));
    assert!(a.iter().all(|x| x.v.abs() < 0.3));
    assert!(
        a.iter()
            .any(|x| (x.v * x.d[0]).abs() > 2.0 && (x.v * x.d[1]).abs() > 2.0)
    );
    check_norms_closed_form(&a);

    // One entry: ‖(0.5 + 10ε)‖ = 0.5 + 10ε.
    let x = Mat::from_fn(1, 1, |_, _| Dual::<1>::new(0.5, [10.0]));
    assert_eq!(x.norm_l2().d[0], 10.0);
}

#[test]
fn frobenius_norm_var_gradient_matches_dual() {
    sequential();
    let prob = Problem::square(0x5eed_000a);
    let g = tape_gradient(|p| {
        let (a, _) = prob.build(p);
        mat(N, N, &a).norm_l2()
    })
    .expect("sequential faer records on the tape");
    let (a, _) = prob.build(dual_params(P));
    let yd = mat(N, N, &a).norm_l2();
    assert_reverse_matches_forward(g, yd, "d‖A‖_F/dp: reverse vs forward");
}

#[test]
fn determinant_dual_matches_finite_differences_and_nalgebra() {
    let prob = Problem::square(0x5eed_000b);
    let (a, _) = prob.build(dual_params(P));
    let det = mat(N, N, &a).determinant();
    check_dual_against_fd(
        &[det],
        |p| {
            let (a, _) = prob.build(p);
            vec![mat(N, N, &a).determinant()]
        },
        "faer determinant on Dual<2>",
    );
    let det_na = DMatrix::from_row_slice(N, N, &a).determinant();
    check_duals_agree(&[det], &[det_na], AD_TOL, "faer vs nalgebra determinant");
}

// ---------------------------------------------------------------------------------------------
// Iterative decompositions: the derivative of the converged iteration (distinct singular values
// and eigenvalues, so they are differentiable).

fn singular_values<S: FaerRealField + Copy>(a: &[S]) -> Vec<S> {
    let svd = mat(N, N, a).svd().expect("SVD converges");
    svd.S().column_vector().iter().copied().collect()
}

/// `A + Aᵀ`, row-major.
fn symmetrize<S: Scalar>(a: &[S]) -> Vec<S> {
    (0..N * N).map(|k| a[k] + a[(k % N) * N + k / N]).collect()
}

fn symmetric_eigenvalues<S: FaerRealField + Copy>(sym: &[S]) -> Vec<S> {
    mat(N, N, sym)
        .self_adjoint_eigenvalues(Side::Lower)
        .expect("symmetric eigensolver converges")
}

/// The primal parts and the tangent parts (direction `j`) of a `Dual<2>` matrix.
fn split(a: &[D2], j: usize) -> (Mat<f64>, Mat<f64>) {
    (
        Mat::from_fn(N, N, |r, c| a[r * N + c].v),
        Mat::from_fn(N, N, |r, c| a[r * N + c].d[j]),
    )
}

/// `uᵀ M v` for columns `k` of `u` and `v`.
fn bilinear(u: faer::MatRef<'_, f64>, m: &Mat<f64>, v: faer::MatRef<'_, f64>, k: usize) -> f64 {
    let mut s = 0.0;
    for r in 0..N {
        for c in 0..N {
            s += u[(r, k)] * m[(r, c)] * v[(c, k)];
        }
    }
    s
}

/// First-order perturbation theory, with the singular/eigen vectors of faer's independent `f64`
/// decomposition: `dσ_k = u_kᵀ dA v_k`, `dλ_k = q_kᵀ dS q_k`. Those vectors are accurate to
/// ~ε/gap; the relative gaps here are ≳ 1e-3, so 1e-10 has ample margin.
const PERTURBATION_TOL: f64 = 1e-10;

fn check_svd_perturbation(a: &[D2], what: &str) {
    let s = singular_values(a);
    for j in 0..2 {
        let (a0, da) = split(a, j);
        let svd = a0.svd().expect("SVD converges");
        for (k, sk_ad) in s.iter().enumerate() {
            let sk = svd.S().column_vector()[k];
            assert_close(sk_ad.v, sk, AD_TOL, &format!("{what}: σ{k}"));
            let dsk = bilinear(svd.U(), &da, svd.V(), k);
            assert_close(
                sk_ad.d[j],
                dsk,
                PERTURBATION_TOL,
                &format!("{what}: dσ{k}/dp{j}"),
            );
        }
    }
}

fn check_symmetric_eigen_perturbation(a: &[D2], what: &str) {
    let sym = symmetrize(a);
    let l = symmetric_eigenvalues(&sym);
    for j in 0..2 {
        let (s0, ds) = split(&sym, j);
        let evd = s0
            .self_adjoint_eigen(Side::Lower)
            .expect("eigensolver converges");
        for (k, lk_ad) in l.iter().enumerate() {
            let lk = evd.S().column_vector()[k];
            assert_close(lk_ad.v, lk, AD_TOL, &format!("{what}: λ{k}"));
            let dlk = bilinear(evd.U(), &ds, evd.U(), k);
            assert_close(
                lk_ad.d[j],
                dlk,
                PERTURBATION_TOL,
                &format!("{what}: dλ{k}/dp{j}"),
            );
        }
    }
}

#[test]
fn svd_and_symmetric_eigenvalues_dual_match_finite_differences_and_perturbation_theory() {
    let prob = Problem::square(0x5eed_000c);
    let (a, _) = prob.build(dual_params(P));
    check_dual_against_fd(
        &singular_values(&a),
        |p| singular_values(&prob.build(p).0),
        "faer SVD on Dual<2>",
    );
    check_dual_against_fd(
        &symmetric_eigenvalues(&symmetrize(&a)),
        |p| symmetric_eigenvalues(&symmetrize(&prob.build(p).0)),
        "faer symmetric eigenvalues on Dual<2>",
    );
    check_svd_perturbation(&a, "SVD");
    check_symmetric_eigen_perturbation(&a, "symmetric EVD");
}

#[test]
fn svd_and_symmetric_eigenvalues_of_small_entries_with_steep_derivatives() {
    // Givens rotations (`make_givens` → faer's scaled hypot) on values ≤ 1 with large tangents.
    let prob = Problem::steep(0x5eed_0011, N);
    let (a, _) = prob.build(dual_params(P));
    check_svd_perturbation(&a, "SVD (steep)");
    check_symmetric_eigen_perturbation(&a, "symmetric EVD (steep)");
}

#[test]
fn svd_var_gradient_matches_dual() {
    sequential();
    let prob = Problem::steep(0x5eed_0012, N);
    let g = tape_gradient(|p| singular_values(&prob.build(p).0).into_iter().sum())
        .expect("sequential faer records on the tape");
    let yd: D2 = singular_values(&prob.build(dual_params(P)).0)
        .into_iter()
        .sum();
    assert_reverse_matches_forward(g, yd, "dΣσ/dp: reverse vs forward");
}

// ---------------------------------------------------------------------------------------------
// Parallelism.

#[test]
fn rayon_matmul_works_on_dual_and_is_reported_not_silent_on_var() {
    let prob = Problem::square(0x5eed_000d);

    // Dual: plain values, any parallelism gives the sequential result.
    let (a, _) = prob.build(dual_params(P));
    let a = mat(N, N, &a);
    let product = |par: Par| {
        let mut c = Mat::<D2>::zeros(N, N);
        matmul(
            &mut c,
            Accum::Replace,
            &a,
            a.transpose(),
            D2::from(1.0),
            par,
        );
        c
    };
    let (seq, par) = (product(Par::Seq), product(Par::rayon(2)));
    for i in 0..N {
        for j in 0..N {
            assert_eq!(seq[(i, j)].v, par[(i, j)].v);
            assert_eq!(seq[(i, j)].d, par[(i, j)].d);
        }
    }

    // Var: the generic product runs on rayon's worker threads, where no tape records; the
    // recording is poisoned and the sweep reports it.
    let result = tape_gradient(|p| {
        let (a, _) = prob.build(p);
        let a = mat(N, N, &a);
        let mut c = Mat::<Var>::zeros(N, N);
        matmul(
            &mut c,
            Accum::Replace,
            &a,
            a.transpose(),
            Var::from(1.0),
            Par::rayon(2),
        );
        c[(0, 0)] + c[(N - 1, N - 1)]
    });
    assert!(
        matches!(result, Err(TapeError::ForeignVariable { .. })),
        "expected a ForeignVariable error, got {result:?}"
    );
}

#[test]
fn hypot_and_norm_keep_value_and_derivative_across_the_safe_range() {
    use faer::traits::math_utils::hypot;
    // A handful of roundings (the scalings are exact powers of two).
    const ULPS_TOL: f64 = 1e-14;
    // faer's scaled hypot: exact within the AD types' safe range (see the module docs).
    for v in [1e-260, 1e-100, 0.5, 3.0, 1e100, 1e260] {
        let h = hypot(&Dual::<1>::new(v, [v]), &Dual::<1>::from(0.0));
        assert_close(h.v / v, 1.0, ULPS_TOL, "hypot value");
        assert_close(h.d[0] / v, 1.0, ULPS_TOL, "hypot derivative");
        let h = hypot(
            &Dual::<1>::new(0.6 * v, [1.0]),
            &Dual::<1>::new(0.8 * v, [0.0]),
        );
        assert_close(h.v / v, 1.0, ULPS_TOL, "hypot value");
        assert_close(h.d[0], 0.6, ULPS_TOL, "hypot derivative");
    }
    // faer's non-SIMD norm_l2 squares the accumulated norm: valid for norms in ≈ [1.5e−154,
    // 1.3e154].
    for v in [1e-150, 1e-10, 1e10, 1e150] {
        let n = Mat::from_fn(2, 1, |i, _| {
            Dual::<1>::new([0.6, 0.8][i] * v, [[1.0, 0.0][i]])
        })
        .norm_l2();
        assert_close(n.v / v, 1.0, ULPS_TOL, "norm_l2 value");
        assert_close(n.d[0], 0.6, ULPS_TOL, "norm_l2 derivative");
    }
}
