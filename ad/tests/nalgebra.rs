//! Generic nalgebra code on the AD scalar types: derivatives through LU, QR, Cholesky, inverses,
//! norms and the symmetric eigensolver, checked against finite differences or closed forms.

use approx::{abs_diff_eq, relative_eq, relative_ne, ulps_eq};
use nalgebra::{ComplexField, DMatrix, DVector, Matrix2, Matrix3, Vector2};
use tangent_ad::{Dual, Scalar, Tape, Var};

/// Size of the random linear systems.
const DIM: usize = 5;

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

/// `A(p) = A0 + p0·A1 + sin(p1)·A2` and `b(p) = b0 + exp(p0)·b1 + p0·p1²·b2`, with `A0` strictly
/// diagonally dominant (diagonal ≥ 8, other entries in [−1, 1)) so `A(p)` is well conditioned
/// for |p| ≲ 1.
struct Problem {
    a: [Vec<f64>; 3],
    b: [Vec<f64>; 3],
}

impl Problem {
    fn new(seed: u64) -> Self {
        let mut rng = Lcg(seed);
        let mut a0 = rng.vec(DIM * DIM);
        for i in 0..DIM {
            a0[i * DIM + i] += 8.0 * a0[i * DIM + i].signum();
        }
        Self {
            a: [a0, rng.vec(DIM * DIM), rng.vec(DIM * DIM)],
            b: [rng.vec(DIM), rng.vec(DIM), rng.vec(DIM)],
        }
    }

    /// Row-major `A(p)` and `b(p)`, generic over the scalar type.
    fn build<S: Scalar>(&self, p: [S; 2]) -> (Vec<S>, Vec<S>) {
        let s = p[1].sin();
        let e = p[0].exp();
        let q = p[0] * p[1] * p[1];
        let a = (0..DIM * DIM)
            .map(|k| p[0] * self.a[1][k] + s * self.a[2][k] + self.a[0][k])
            .collect();
        let b = (0..DIM)
            .map(|k| e * self.b[1][k] + q * self.b[2][k] + self.b[0][k])
            .collect();
        (a, b)
    }
}

/// `A⁻¹ b` by nalgebra's LU, for any nalgebra field (f64, `Dual`, `Var`).
fn lu_solve<S: ComplexField>(a: &[S], b: &[S]) -> DVector<S> {
    let a = DMatrix::from_row_slice(DIM, DIM, a);
    a.lu()
        .solve(&DVector::from_column_slice(b))
        .expect("A(p) is nonsingular")
}

fn solve_f64(prob: &Problem, p: [f64; 2]) -> DVector<f64> {
    let (a, b) = prob.build(p);
    lu_solve(&a, &b)
}

/// `∂f/∂p_j` by central differences.
fn central_diff<F: Fn([f64; 2]) -> DVector<f64>>(f: F, p: [f64; 2], j: usize) -> DVector<f64> {
    const H: f64 = 1e-5;
    let (mut pp, mut pm) = (p, p);
    pp[j] += H;
    pm[j] -= H;
    (f(pp) - f(pm)) / (2.0 * H)
}

/// Central differences with h = 1e-5 on quantities of size O(1) with O(1) third derivatives have
/// truncation error ~h²/6 ≈ 2e-11 and rounding error ~ε/h ≈ 1e-11; 1e-7 leaves ample margin while
/// still catching any wrong derivative term.
const FD_TOL: f64 = 1e-7;

fn assert_close(ad: f64, reference: f64, tol: f64, what: &str) {
    assert!(
        (ad - reference).abs() <= tol * (1.0 + reference.abs()),
        "{what}: AD {ad} vs reference {reference}"
    );
}

const P: [f64; 2] = [0.3, -0.7];

#[test]
fn lu_solve_dual_matches_finite_differences() {
    let prob = Problem::new(0x5eed_1234);
    let pd = [Dual::<2>::variable(P[0], 0), Dual::<2>::variable(P[1], 1)];
    let (a, b) = prob.build(pd);
    let x = lu_solve(&a, &b);

    let x0 = solve_f64(&prob, P);
    for i in 0..DIM {
        // The primal runs the same elimination; `Dual` division rounds as `a·(1/b)`.
        assert_close(x[i].v, x0[i], 1e-13, "x");
    }
    for j in 0..2 {
        let fd = central_diff(|p| solve_f64(&prob, p), P, j);
        for i in 0..DIM {
            assert_close(x[i].d[j], fd[i], FD_TOL, &format!("dx{i}/dp{j}"));
        }
    }
}

#[test]
fn lu_solve_on_tape_gradient_matches_finite_differences() {
    let prob = Problem::new(0xabcd_ef01);
    let objective = |p: [f64; 2]| {
        let (_, b) = prob.build(p);
        DVector::from_vec(vec![DVector::from_vec(b).dot(&solve_f64(&prob, p))])
    };

    let mut tape = Tape::new();
    let y = tape.record(&P, |v| {
        let (a, b) = prob.build([v[0], v[1]]);
        let x = lu_solve(&a, &b);
        DVector::from_vec(b).dot(&x)
    });
    assert!(tape.error().is_none(), "{:?}", tape.error());
    let mut g = [0.0; 2];
    tape.gradient(y, &mut g).unwrap();

    assert_close(tape.value(y).unwrap(), objective(P)[0], 1e-13, "bᵀx");
    for (j, gj) in g.iter().enumerate() {
        let fd = central_diff(objective, P, j)[0];
        assert_close(*gj, fd, FD_TOL, &format!("d(bᵀx)/dp{j}"));
    }
}

#[test]
fn qr_and_cholesky_derivatives_match_lu() {
    // Symmetric positive definite A(p)ᵀA(p) so all three factorizations apply to the same system.
    let prob = Problem::new(42);
    let pd = [Dual::<2>::variable(P[0], 0), Dual::<2>::variable(P[1], 1)];
    let (a, b) = prob.build(pd);
    let a = DMatrix::from_row_slice(DIM, DIM, &a);
    let spd = a.transpose() * &a;
    let b = DVector::from_vec(b);

    let x_lu = spd.clone().lu().solve(&b).unwrap();
    let x_qr = spd.clone().qr().solve(&b).unwrap();
    let x_ch = spd.cholesky().unwrap().solve(&b);
    for i in 0..DIM {
        for (x, name) in [(&x_qr, "QR"), (&x_ch, "Cholesky")] {
            // Three backward-stable factorizations of a system with condition number ~2: they
            // agree to a small multiple of machine precision.
            assert_close(x[i].v, x_lu[i].v, 1e-12, name);
            for j in 0..2 {
                assert_close(x[i].d[j], x_lu[i].d[j], 1e-12, name);
            }
        }
    }
}

#[test]
fn norm_and_dot_of_dual_vector() {
    // v(t) = (t, t², sin t, 3): ‖v‖′ = (t + 2t³ + sin t cos t) / ‖v‖.
    let t = 0.8_f64;
    let x = Dual::<1>::variable(t, 0);
    let v = DVector::from_vec(vec![x, x * x, Scalar::sin(x), Dual::cst(3.0)]);

    let n = v.norm();
    let n_ref = (t * t + t.powi(4) + t.sin().powi(2) + 9.0).sqrt();
    let dn_ref = (t + 2.0 * t.powi(3) + t.sin() * t.cos()) / n_ref;
    // A handful of operations: agreement to a few ulps.
    assert_close(n.v, n_ref, 1e-15, "‖v‖");
    assert_close(n.d[0], dn_ref, 1e-14, "‖v‖′");

    // (v·v)′ = 2 v·v′.
    let vv = v.dot(&v);
    assert_close(vv.v, n_ref * n_ref, 1e-14, "v·v");
    assert_close(vv.d[0], 2.0 * n_ref * dn_ref, 1e-14, "(v·v)′");
}

#[test]
fn nested_dual_second_derivative_through_inverse() {
    // M(t) = [[t, 1], [1, t]], M⁻¹ = [[t, −1], [−1, t]] / (t² − 1). With u = t² − 1:
    //   (M⁻¹)₀₀ = t/u,  ′ = −(t² + 1)/u²,  ″ = (2t³ + 6t)/u³
    //   (M⁻¹)₀₁ = −1/u, ′ = 2t/u²,         ″ = 2/u² − 8t²/u³
    let t = 3.0_f64;
    let u = t * t - 1.0;
    let x = Dual::<1, Dual<1>>::new(Dual::variable(t, 0), [Dual::cst(1.0)]);
    let one = Dual::<1, Dual<1>>::cst(1.0);
    let inv = Matrix2::new(x, one, one, x).try_inverse().unwrap();

    let expected = [
        (
            inv[(0, 0)],
            t / u,
            -(t * t + 1.0) / (u * u),
            (2.0 * t.powi(3) + 6.0 * t) / u.powi(3),
        ),
        (
            inv[(0, 1)],
            -1.0 / u,
            2.0 * t / (u * u),
            2.0 / (u * u) - 8.0 * t * t / u.powi(3),
        ),
    ];
    for (f, f0, f1, f2) in expected {
        // Closed-form 2×2 inverse: a few roundings, so 1e-14 relative.
        assert_close(f.v.v, f0, 1e-14, "f");
        assert_close(f.v.d[0], f1, 1e-14, "f′ (inner)");
        assert_close(f.d[0].v, f1, 1e-14, "f′ (outer)");
        assert_close(f.d[0].d[0], f2, 1e-14, "f″");
    }
}

#[test]
fn matrix3_inverse_on_tape_matches_finite_differences() {
    // f(p) = sum of the entries of M(p)⁻¹, M(p) = [[2+p0, p1, 0.5], [p0·p1, 3, −1], [1, sin p0, 4]].
    fn m<S: Scalar + ComplexField>(p: [S; 2]) -> Matrix3<S> {
        let c = |v: f64| S::cst(v);
        Matrix3::new(
            p[0] + 2.0,
            p[1],
            c(0.5),
            p[0] * p[1],
            c(3.0),
            c(-1.0),
            c(1.0),
            Scalar::sin(p[0]),
            c(4.0),
        )
    }
    let objective = |p: [f64; 2]| DVector::from_vec(vec![m(p).try_inverse().unwrap().sum()]);

    let mut tape = Tape::new();
    let y = tape.record(&P, |v| m([v[0], v[1]]).try_inverse().unwrap().sum());
    assert!(tape.error().is_none(), "{:?}", tape.error());
    let mut g = [0.0; 2];
    tape.gradient(y, &mut g).unwrap();
    assert_close(tape.value(y).unwrap(), objective(P)[0], 1e-14, "f");
    for (j, gj) in g.iter().enumerate() {
        assert_close(*gj, central_diff(objective, P, j)[0], FD_TOL, "∇f");
    }
}

#[test]
fn symmetric_eigen_with_equal_diagonal() {
    // M(t) = [[t, 2t, 0], [2t, t, 0], [0, 0, 5]] has eigenvalues 3t, −t and 5. Equal diagonal
    // entries make the Wilkinson shift's `d` exactly 0, where nalgebra needs `signum(0) = ±1`.
    let t = 0.7;
    let x = Dual::<1>::variable(t, 0);
    let (z, five) = (Dual::cst(0.0), Dual::cst(5.0));
    let m = Matrix3::new(x, x * 2.0, z, x * 2.0, x, z, z, z, five);
    let mut eig: Vec<Dual<1>> = m.symmetric_eigen().eigenvalues.iter().copied().collect();
    eig.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Iterative eigensolver converged to machine precision.
    for (e, (v, d)) in eig.iter().zip([(-t, -1.0), (3.0 * t, 3.0), (5.0, 0.0)]) {
        assert_close(e.v, v, 1e-13, "eigenvalue");
        assert_close(e.d[0], d, 1e-12, "eigenvalue derivative");
    }

    // The shift itself: tnn − tmn²/(d + signum(d)·√(d² + tmn²)) = t − |2t| at d = 0.
    let s = nalgebra::linalg::wilkinson_shift(x, x, x * 2.0);
    assert_close(s.v, -t, 1e-15, "shift");
    assert_close(s.d[0], -1.0, 1e-15, "shift′");
}

#[test]
fn approx_compares_primal_values() {
    let a = Dual::<2>::variable(1.0, 0);
    // Same value up to one ulp, different derivative parts: equal.
    let b = Dual::<2>::new(1.0 + f64::EPSILON, [5.0, -3.0]);
    assert!(relative_eq!(a, b));
    assert!(abs_diff_eq!(a, b));
    assert!(ulps_eq!(a, b));
    assert!(relative_ne!(a, Dual::cst(1.001)));
    assert!(relative_eq!(
        a,
        Dual::cst(1.001),
        max_relative = Dual::cst(1e-2)
    ));
    assert!(!abs_diff_eq!(a, Dual::cst(1.1), epsilon = Dual::cst(0.05)));

    // Nested duals compare the innermost value.
    let n = Dual::<1, Dual<1>>::new(Dual::variable(2.0, 0), [Dual::cst(1.0)]);
    assert!(relative_eq!(n, Dual::<1, Dual<1>>::cst(2.0)));

    // Tape variables: a recorded variable equals the constant with its value.
    let mut tape = Tape::new();
    tape.record(&[2.5], |v| {
        assert!(relative_eq!(v[0], Var::constant(2.5)));
        assert!(relative_ne!(v[0] * 2.0, Var::constant(2.5)));
        assert!(ulps_eq!(
            Scalar::sqrt(v[0]) * Scalar::sqrt(v[0]),
            Var::constant(2.5)
        ));
    });

    // Matrices of AD values, through nalgebra's own approx impls.
    let m1 = Matrix2::new(a, a, b, b);
    let m2 = Matrix2::from_element(Dual::cst(1.0));
    assert!(relative_eq!(m1, m2));
    assert!(relative_ne!(m1, m2 * Dual::cst(1.5)));
}

#[test]
fn complex_field_methods_delegate_to_scalar() {
    let x = Dual::<1>::variable(-2.0, 0);
    // Constant exponent on a negative base: d(x²)/dx = 2x, not NaN from the x^y ln x term.
    let sq = ComplexField::powf(x, Dual::cst(2.0));
    assert_eq!((sq.v, sq.d[0]), (4.0, -4.0));
    // Differentiable exponent on a positive base: d(x^y)/dy = x^y ln x.
    let y = Dual::<1>::variable(1.5, 0);
    let p = ComplexField::powf(Dual::<1>::cst(3.0), y);
    assert_close(p.d[0], 3f64.powf(1.5) * 3f64.ln(), 1e-15, "d(3^y)/dy");

    let z = Dual::<1>::variable(8.0, 0);
    let l = ComplexField::log(z, Dual::cst(2.0));
    assert_close(l.v, 3.0, 1e-15, "log₂ 8");
    assert_close(l.d[0], 1.0 / (8.0 * 2f64.ln()), 1e-15, "(log₂)′");
    assert!(ComplexField::try_sqrt(x).is_none());
    let r = ComplexField::try_sqrt(z).unwrap();
    assert_close(r.d[0], 0.5 / 8f64.sqrt(), 1e-15, "sqrt′");
    assert_eq!(ComplexField::abs(x).d[0], -1.0);
    assert_eq!(ComplexField::signum(Dual::<1>::cst(0.0)).v, 1.0);
    assert_eq!(ComplexField::signum(x).d[0], 0.0);

    // Conversions: f64 embeds as a constant, the way back keeps the primal value.
    let c: Dual<1> = nalgebra::convert(2.5);
    assert_eq!((c.v, c.d[0]), (2.5, 0.0));
    assert_eq!(nalgebra::try_convert::<Dual<1>, f64>(x), Some(-2.0));
    let v: Var = nalgebra::convert(1.25);
    assert!(v.is_const() && v.val() == 1.25);

    // Real-field constants carry no derivative.
    let pi: Dual<1> = nalgebra::RealField::pi();
    assert_eq!((pi.v, pi.d[0]), (core::f64::consts::PI, 0.0));

    // A unit vector's derivative is orthogonal to it.
    let w = Vector2::new(x, Dual::cst(1.0)).normalize();
    assert_close(w[0].v * w[0].d[0] + w[1].v * w[1].d[0], 0.0, 1e-15, "u·u′");
}
