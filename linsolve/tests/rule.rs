//! The linear-solve rule in every AD mode, for dense and sparse `A`: against AD through a small
//! hand-written LU (plain operations on the same scalar types), against Ridders finite
//! differences, jvp against vjp (dot-product test), and second order (Hessians by forward over
//! forward and forward over reverse).

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

mod common;

use common::Rng;
use sprs::CsMat;
use tangent_ad::check::{check_gradient, check_hessian, check_jacobian};
use tangent_ad::operators::{Forward, Reverse, ReverseReplay, gradient, hessian, jacobian};
use tangent_ad::{Dual, Rule, RuleError, Scalar, ScalarFunction, Tape, Var, VectorFunction};
use tangent_linsolve::problems::brusselator_iteration_matrix;
use tangent_linsolve::*;

/// Rule derivatives against AD through the hand-written LU: the same mathematics with rounding
/// differences of a well-conditioned solve (κ < 10 here) accumulated over two derivative levels.
const VS_HAND_LU: f64 = 1e-11;
/// Against Ridders' extrapolated differences (as tangent-ad's own tests): 1e-7 relative.
const VS_RIDDERS: f64 = 1e-7;

/// `x = A⁻¹ b` by Gaussian elimination with partial pivoting on any scalar type (`a` is
/// column-major `n × n`): the independent route the rule is checked against.
fn hand_lu_solve<S: Scalar>(a: &[S], b: &[S]) -> Vec<S> {
    let n = b.len();
    let mut m: Vec<Vec<S>> = (0..n)
        .map(|i| (0..n).map(|j| a[i + n * j]).collect())
        .collect();
    let mut x = b.to_vec();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| m[i][k].value().abs().total_cmp(&m[j][k].value().abs()))
            .unwrap();
        m.swap(k, p);
        x.swap(k, p);
        for i in k + 1..n {
            let l = m[i][k] / m[k][k];
            for j in k..n {
                let t = m[k][j];
                m[i][j] -= l * t;
            }
            let t = x[k];
            x[i] -= l * t;
        }
    }
    for k in (0..n).rev() {
        let mut s = x[k];
        for j in k + 1..n {
            s -= m[k][j] * x[j];
        }
        x[k] = s / m[k][k];
    }
    x
}

/// A parametrised dense system: `A(p) = A₀ + diag-ish terms in p`, `b(p)` nonlinear in `p`.
struct DenseProgram {
    n: usize,
    a0: Vec<f64>,
    rule: Option<LinearSolveRule>,
}

impl DenseProgram {
    fn new(n: usize, seed: u64, rule: Option<LinearSolveRule>) -> Self {
        let mut rng = Rng(seed);
        let mut a0 = rng.vec(n * n);
        for i in 0..n {
            a0[i + n * i] += 4.0;
        }
        Self { n, a0, rule }
    }
    fn system<S: Scalar>(&self, p: &[S]) -> (Vec<S>, Vec<S>) {
        let n = self.n;
        let q = p.len();
        let a: Vec<S> = (0..n * n)
            .map(|k| {
                let (i, j) = (k % n, k / n);
                let base = S::cst(self.a0[k]);
                if i == j {
                    base + p[i % q] * p[(i + 1) % q]
                } else {
                    base + p[(i + 2 * j) % q] * 0.1
                }
            })
            .collect();
        let b: Vec<S> = (0..n)
            .map(|i| (p[i % q] * (i as f64 + 1.0)).sin() + 1.0)
            .collect();
        (a, b)
    }
    fn x<S: Scalar>(&self, p: &[S]) -> Vec<S> {
        let (a, b) = self.system(p);
        match &self.rule {
            Some(r) => {
                let mut x = vec![S::zero(); self.n];
                r.solve(&a, &b, &mut x).unwrap();
                x
            }
            None => hand_lu_solve(&a, &b),
        }
    }
}

impl ScalarFunction for DenseProgram {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let x = self.x(p);
        let mut s = x[0] * x[self.n - 1];
        for (i, &xi) in x.iter().enumerate() {
            s += xi * xi * (i as f64 + 0.5) + (xi * p[i % p.len()]).sin();
        }
        s
    }
}

impl VectorFunction for DenseProgram {
    fn output_len(&self) -> usize {
        self.n
    }
    fn eval<S: Scalar>(&self, p: &[S], y: &mut [S]) {
        y.copy_from_slice(&self.x(p));
    }
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

/// `⟨J vᵈ, w⟩ = ⟨vᵈ, Jᵀ w⟩` for each direction `d`: `jv` holds the jvps of the directions
/// stacked in `v` (one output-length block per direction), `jtw` the vjp of `w`.
fn adjoint_identity(jv: &[f64], w: &[f64], v: &[f64], jtw: &[f64], tol: f64) {
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(p, q)| p * q).sum() };
    for (d, (jvd, vd)) in jv
        .chunks_exact(w.len())
        .zip(v.chunks_exact(jtw.len()))
        .enumerate()
    {
        let (lhs, rhs) = (dot(jvd, w), dot(vd, jtw));
        assert!(
            (lhs - rhs).abs() <= tol * lhs.abs().max(1.0),
            "direction {d}: {lhs} vs {rhs}"
        );
    }
    assert_eq!(jv.len() / w.len(), v.len() / jtw.len(), "direction count");
}

const P: [f64; 4] = [0.3, -0.7, 1.1, 0.4];

fn dense_rules(n: usize) -> Vec<(&'static str, LinearSolveRule)> {
    vec![
        ("LU", LinearSolveRule::dense(n)),
        (
            "QR",
            LinearSolveRule::dense_with(n, &DenseQr::default().into()).unwrap(),
        ),
    ]
}

#[test]
fn dense_gradients_in_every_mode() {
    for n in [1usize, 3, 7] {
        let plain = DenseProgram::new(n, 31, None);
        let mut reference = [0.0; 4];
        gradient(&plain, &Forward::<4>, &P, &mut reference).unwrap();
        for (name, rule) in dense_rules(n) {
            let f = DenseProgram::new(n, 31, Some(rule));
            let mut g = [0.0; 4];
            gradient(&f, &Forward::<1>, &P, &mut g).unwrap();
            close(
                &g,
                &reference,
                VS_HAND_LU,
                &format!("{name} n={n} forward<1>"),
            );
            gradient(&f, &Forward::<4>, &P, &mut g).unwrap();
            close(
                &g,
                &reference,
                VS_HAND_LU,
                &format!("{name} n={n} forward<4>"),
            );
            gradient(&f, &Reverse, &P, &mut g).unwrap();
            close(&g, &reference, VS_HAND_LU, &format!("{name} n={n} reverse"));
            let mut prep =
                tangent_ad::operators::prepare_gradient(&f, &ReverseReplay, &[0.1, 0.2, 0.3, 0.4])
                    .unwrap();
            tangent_ad::operators::GradientPrep::gradient(&mut prep, &f, &P, &mut g).unwrap();
            close(&g, &reference, VS_HAND_LU, &format!("{name} n={n} replay"));
            let r = check_gradient(&f, &Reverse, &P).unwrap();
            assert!(r.passes(VS_RIDDERS), "{name} n={n}: {r}");
        }
    }
}

#[test]
fn dense_jacobians_and_hessians() {
    let n = 5;
    let plain = DenseProgram::new(n, 32, None);
    let mut jref = vec![0.0; n * 4];
    jacobian(&plain, &Forward::<4>, &P, &mut jref).unwrap();
    let mut href = [0.0; 16];
    hessian(&plain, &Forward::<4>, &P, &mut href).unwrap();
    for (name, rule) in dense_rules(n) {
        let f = DenseProgram::new(n, 32, Some(rule));
        let mut j = vec![0.0; n * 4];
        jacobian(&f, &Forward::<2>, &P, &mut j).unwrap();
        close(&j, &jref, VS_HAND_LU, &format!("{name} jacobian forward"));
        jacobian(&f, &Reverse, &P, &mut j).unwrap();
        close(&j, &jref, VS_HAND_LU, &format!("{name} jacobian reverse"));
        let r = check_jacobian(&f, &Reverse, &P).unwrap();
        assert!(r.passes(VS_RIDDERS), "{name}: {r}");
        // Second order: forward over forward (the jvp runs on duals and applies the rule
        // again with the same factorisation) and forward over reverse (the vjp on duals).
        let mut h = [0.0; 16];
        hessian(&f, &Forward::<2>, &P, &mut h).unwrap();
        close(
            &h,
            &href,
            VS_HAND_LU,
            &format!("{name} hessian forward over forward"),
        );
        hessian(&f, &Reverse, &P, &mut h).unwrap();
        close(
            &h,
            &href,
            VS_HAND_LU,
            &format!("{name} hessian forward over reverse"),
        );
        hessian(&f, &ReverseReplay, &P, &mut h).unwrap();
        close(
            &h,
            &href,
            VS_HAND_LU,
            &format!("{name} hessian forward over replay"),
        );
        let r = check_hessian(&f, &Forward::<4>, &P).unwrap();
        assert!(r.passes(1e-5), "{name}: {r}"); // Ridders on gradients of AD gradients: 1e-5
    }
    // Third order through nested duals: d³L/dp₀³ against the hand-written LU.
    let third = |f: &DenseProgram| {
        let x0 = Dual::<1, Dual<1, Dual<1>>>::new(
            Dual::new(Dual::variable(P[0], 0), [Dual::constant(1.0)]),
            [Dual::constant(Dual::constant(1.0))],
        );
        let p = [x0, Dual::from(P[1]), Dual::from(P[2]), Dual::from(P[3])];
        ScalarFunction::eval(f, &p).d[0].d[0].d[0]
    };
    let (a, b) = (
        third(&DenseProgram::new(n, 32, Some(LinearSolveRule::dense(n)))),
        third(&plain),
    );
    assert!(
        (a - b).abs() <= VS_HAND_LU * b.abs().max(1.0),
        "third derivative {a} vs {b}"
    );
}

/// The rule's own jvp and vjp against each other and against the closed forms
/// `ẋ = A⁻¹(ḃ − Ȧx)`, `b̄ = A⁻ᵀx̄`, `Ā = −b̄xᵀ`, with several right-hand sides.
#[test]
fn jvp_vjp_dot_product_and_closed_forms() {
    let mut rng = Rng(33);
    let (n, k) = (6, 3);
    let mut a = rng.vec(n * n);
    for i in 0..n {
        a[i + n * i] += 3.0;
    }
    let b = rng.vec(n * k);
    let rule = LinearSolveRule::dense(n).with_rhs(k);
    let ni = rule.n_inputs();
    let mut input = a.clone();
    input.extend_from_slice(&b);
    let mut x = vec![0.0; n * k];
    let state = rule.primal(&input, &mut x).unwrap();
    // Three directions at once.
    let dirs = 3;
    let v = rng.vec(ni * dirs);
    let mut jv = vec![0.0; n * k * dirs];
    rule.jvp::<f64>(&state, &input, &x, &v, &mut jv).unwrap();
    let w = rng.vec(n * k);
    let mut jtw = vec![0.0; ni];
    rule.vjp::<f64>(&state, &input, &x, &w, &mut jtw).unwrap();
    adjoint_identity(&jv, &w, &v, &jtw, 1e-13);
    // Closed form of the vjp with the hand-written solver: b̄ = A⁻ᵀ w, Ā = −b̄ xᵀ.
    let at: Vec<f64> = (0..n * n).map(|p| a[(p / n) + n * (p % n)]).collect();
    for c in 0..k {
        let bbar = hand_lu_solve(&at, &w[c * n..(c + 1) * n]);
        close(&jtw[n * n + c * n..n * n + (c + 1) * n], &bbar, 1e-13, "b̄");
    }
    for j in 0..n {
        for i in 0..n {
            let expect: f64 = (0..k)
                .map(|c| -hand_lu_solve(&at, &w[c * n..(c + 1) * n])[i] * x[c * n + j])
                .sum();
            assert!(
                (jtw[i + n * j] - expect).abs() <= 1e-13 * expect.abs().max(1.0),
                "Ā[{i},{j}]"
            );
        }
    }
}

/// The sparse rule's jvp and vjp on `f64` (formed in place, solved with the state's kept
/// workspace) against the dense rule, for CSC and CSR storage, two right-hand sides and a
/// varying number of directions on the same state (the workspace grows and is reused); the vjp
/// accumulates; jvp and vjp pass the dot-product test.
#[test]
fn sparse_rule_derivatives_on_f64_match_the_dense_rule() {
    // P3 on a 6 × 6 grid (n = 72): supernodes of several widths.
    let a = brusselator_iteration_matrix(6, 0.05);
    let (n, k) = (a.rows(), 2);
    let mut rng = Rng(36);
    let b = rng.vec(n * k);
    for storage in [a.clone(), a.to_csr()] {
        let sparse = LinearSolveRule::sparse(&storage).unwrap().with_rhs(k);
        let dense = LinearSolveRule::dense(n).with_rhs(k);
        let nnz = storage.nnz();
        // Position of each stored value in the dense column-major input.
        let at: Vec<usize> = storage.iter().map(|(_, (i, j))| i + n * j).collect();
        let densify = |values: &[f64]| {
            let mut d = vec![0.0; n * n];
            for (&p, &v) in at.iter().zip(values) {
                d[p] = v;
            }
            d
        };
        let mut input = storage.data().to_vec();
        input.extend_from_slice(&b);
        let mut dense_input = densify(storage.data());
        dense_input.extend_from_slice(&b);
        let (mut x, mut xd) = (vec![0.0; n * k], vec![0.0; n * k]);
        let state = sparse.primal(&input, &mut x).unwrap();
        let dense_state = dense.primal(&dense_input, &mut xd).unwrap();
        // 1e-12: the same well-conditioned system (κ < 10) by two factorisations.
        close(&x, &xd, 1e-12, "x");
        let (ni, nid) = (sparse.n_inputs(), dense.n_inputs());
        for dirs in [3, 1, 2] {
            let v = rng.vec(ni * dirs);
            let mut vd = Vec::with_capacity(nid * dirs);
            for d in v.chunks_exact(ni) {
                vd.extend(densify(&d[..nnz]));
                vd.extend_from_slice(&d[nnz..]);
            }
            let (mut jv, mut jvd) = (vec![0.0; n * k * dirs], vec![0.0; n * k * dirs]);
            sparse.jvp::<f64>(&state, &input, &x, &v, &mut jv).unwrap();
            dense
                .jvp::<f64>(&dense_state, &dense_input, &xd, &vd, &mut jvd)
                .unwrap();
            close(&jv, &jvd, 1e-12, &format!("jvp, {dirs} directions"));
            let w = rng.vec(n * k);
            let (mut g, mut gd) = (vec![0.0; ni], vec![0.0; nid]);
            sparse.vjp::<f64>(&state, &input, &x, &w, &mut g).unwrap();
            dense
                .vjp::<f64>(&dense_state, &dense_input, &xd, &w, &mut gd)
                .unwrap();
            let gd_on_pattern: Vec<f64> = at.iter().map(|&p| gd[p]).collect();
            close(&g[..nnz], &gd_on_pattern, 1e-12, "Ā on the pattern");
            close(&g[nnz..], &gd[n * n..], 1e-12, "b̄");
            // A second vjp on the reused workspace gives the same values, and accumulates.
            let once = g.clone();
            let mut again = vec![0.0; ni];
            sparse
                .vjp::<f64>(&state, &input, &x, &w, &mut again)
                .unwrap();
            assert_eq!(again, once);
            sparse.vjp::<f64>(&state, &input, &x, &w, &mut g).unwrap();
            let twice: Vec<f64> = once.iter().map(|v| 2.0 * v).collect();
            close(&g, &twice, 1e-15, "accumulated vjp");
            // 1e-12: two sums of ~10³ O(1) products.
            adjoint_identity(&jv, &w, &v, &once, 1e-12);
        }
    }
}

/// A sparse system on P3's pattern with values and right-hand side depending on `p`.
struct SparseProgram {
    pattern: CsMat<f64>,
    rule: Option<LinearSolveRule>,
    dense_rule: bool,
}

impl SparseProgram {
    fn values<S: Scalar>(&self, p: &[S]) -> Vec<S> {
        let q = p.len();
        // The perturbation depends on the entry's position, not its storage index, so CSC and
        // CSR storage describe the same function.
        self.pattern
            .iter()
            .map(|(&v, (i, j))| {
                let k = i + 3 * j;
                S::cst(v) * (p[k % q] * 0.1 + 1.0) + p[(k + 1) % q] * p[k % q] * 0.01
            })
            .collect()
    }
    fn x<S: Scalar>(&self, p: &[S]) -> Vec<S> {
        let n = self.pattern.rows();
        let vals = self.values(p);
        let b: Vec<S> = (0..n)
            .map(|i| (p[i % p.len()] + i as f64 * 0.1).cos())
            .collect();
        let dense_from = |vals: &[S]| {
            let mut a = vec![S::zero(); n * n];
            for (k, (_, (i, j))) in self.pattern.iter().enumerate() {
                a[i + n * j] = vals[k];
            }
            a
        };
        match (&self.rule, self.dense_rule) {
            (Some(r), false) => {
                let mut x = vec![S::zero(); n];
                r.solve(&vals, &b, &mut x).unwrap();
                x
            }
            (Some(r), true) => {
                let mut x = vec![S::zero(); n];
                r.solve(&dense_from(&vals), &b, &mut x).unwrap();
                x
            }
            (None, _) => hand_lu_solve(&dense_from(&vals), &b),
        }
    }
}

impl ScalarFunction for SparseProgram {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let x = self.x(p);
        x.iter()
            .enumerate()
            .map(|(i, &xi)| xi * xi * (1.0 + i as f64 * 0.01))
            .sum::<S>()
            + x[0].exp()
    }
}

#[test]
fn sparse_gradients_and_hessians_match_the_dense_and_hand_written_routes() {
    // P3 on a 3 × 3 grid: 18 unknowns, 108 stored values; γ = 0.02 keeps it well conditioned.
    let a = brusselator_iteration_matrix(3, 0.02);
    let csr = a.to_csr();
    let plain = SparseProgram {
        pattern: a.clone(),
        rule: None,
        dense_rule: false,
    };
    let mut gref = [0.0; 4];
    gradient(&plain, &Forward::<4>, &P, &mut gref).unwrap();
    let mut href = [0.0; 16];
    hessian(&plain, &Forward::<4>, &P, &mut href).unwrap();
    let variants: Vec<(&str, SparseProgram)> = vec![
        (
            "sparse LU (CSC)",
            SparseProgram {
                pattern: a.clone(),
                rule: Some(LinearSolveRule::sparse(&a).unwrap()),
                dense_rule: false,
            },
        ),
        (
            "sparse LU (CSR)",
            SparseProgram {
                pattern: csr.clone(),
                rule: Some(LinearSolveRule::sparse(&csr).unwrap()),
                dense_rule: false,
            },
        ),
        (
            "sparse LU (faer)",
            SparseProgram {
                pattern: a.clone(),
                rule: Some(
                    LinearSolveRule::sparse_with(
                        &a,
                        &SparseLu {
                            method: SparseLuMethod::PartialPivoting(FaerVariant::Auto),
                            ..Default::default()
                        }
                        .into(),
                    )
                    .unwrap(),
                ),
                dense_rule: false,
            },
        ),
        (
            "dense LU",
            SparseProgram {
                pattern: a.clone(),
                rule: Some(LinearSolveRule::dense(18)),
                dense_rule: true,
            },
        ),
    ];
    for (name, f) in &variants {
        let mut g = [0.0; 4];
        gradient(f, &Forward::<4>, &P, &mut g).unwrap();
        close(&g, &gref, VS_HAND_LU, &format!("{name} forward"));
        gradient(f, &Reverse, &P, &mut g).unwrap();
        close(&g, &gref, VS_HAND_LU, &format!("{name} reverse"));
        let mut h = [0.0; 16];
        hessian(f, &Forward::<2>, &P, &mut h).unwrap();
        close(
            &h,
            &href,
            VS_HAND_LU,
            &format!("{name} hessian forward over forward"),
        );
        hessian(f, &Reverse, &P, &mut h).unwrap();
        close(
            &h,
            &href,
            VS_HAND_LU,
            &format!("{name} hessian forward over reverse"),
        );
        let r = check_gradient(f, &Reverse, &P).unwrap();
        assert!(r.passes(VS_RIDDERS), "{name}: {r}");
    }
}

#[test]
fn sparse_cotangent_of_a_lives_on_the_pattern() {
    // Reverse mode w.r.t. every input of the rule: the cotangent of A's values equals the dense
    // Ā = −b̄xᵀ read at the stored entries.
    let a = brusselator_iteration_matrix(3, 0.02);
    let n = a.rows();
    let mut rng = Rng(34);
    let b = rng.vec(n);
    let w = rng.vec(n);
    let sparse = LinearSolveRule::sparse(&a).unwrap();
    let mut tape = Tape::new();
    let mut input = a.data().to_vec();
    input.extend_from_slice(&b);
    let y = tape.record(&input, |v: &[Var]| {
        let mut x = vec![Var::default(); n];
        sparse.solve(&v[..a.nnz()], &v[a.nnz()..], &mut x).unwrap();
        x.iter().zip(&w).map(|(&xi, &wi)| xi * wi).sum::<Var>()
    });
    let mut g = vec![0.0; input.len()];
    tape.gradient(y, &mut g).unwrap();
    // Dense reference through the dense rule's vjp.
    let mut dense_a = vec![0.0; n * n];
    for (k, (_, (i, j))) in a.iter().enumerate() {
        dense_a[i + n * j] = a.data()[k];
    }
    let rule = LinearSolveRule::dense(n);
    let mut din = dense_a.clone();
    din.extend_from_slice(&b);
    let mut x = vec![0.0; n];
    let st = rule.primal(&din, &mut x).unwrap();
    let mut dg = vec![0.0; n * n + n];
    rule.vjp::<f64>(&st, &din, &x, &w, &mut dg).unwrap();
    for (k, (_, (i, j))) in a.iter().enumerate() {
        assert!(
            (g[k] - dg[i + n * j]).abs() <= 1e-13 * dg[i + n * j].abs().max(1.0),
            "Ā at ({i}, {j})"
        );
    }
    close(&g[a.nnz()..], &dg[n * n..], 1e-13, "b̄");
}

#[test]
fn cholesky_rules_on_spd_systems() {
    let a = tangent_linsolve::problems::poisson_2d(4);
    let n = 16;
    let mut rng = Rng(35);
    let b = rng.vec(n);
    let mut dense = vec![0.0; n * n];
    for (k, (_, (i, j))) in a.iter().enumerate() {
        dense[i + n * j] = a.data()[k];
    }
    let w = rng.vec(n);
    let grad = |rule: &LinearSolveRule, vals: &[f64]| {
        let mut input = vals.to_vec();
        input.extend_from_slice(&b);
        let mut x = vec![0.0; n];
        let st = rule.primal(&input, &mut x).unwrap();
        let mut g = vec![0.0; input.len()];
        rule.vjp::<f64>(&st, &input, &x, &w, &mut g).unwrap();
        (x, g)
    };
    let (x_lu, g_lu) = grad(&LinearSolveRule::dense(n), &dense);
    let (x_ch, g_ch) = grad(
        &LinearSolveRule::dense_with(n, &DenseCholesky::default().into()).unwrap(),
        &dense,
    );
    close(&x_ch, &x_lu, 1e-14, "dense Cholesky x");
    close(&g_ch, &g_lu, 1e-13, "dense Cholesky gradient");
    let (x_sp, g_sp) = grad(
        &LinearSolveRule::sparse_with(&a, &SparseCholesky::default().into()).unwrap(),
        a.data(),
    );
    close(&x_sp, &x_lu, 1e-14, "sparse Cholesky x");
    for (k, (_, (i, j))) in a.iter().enumerate() {
        assert!(
            (g_sp[k] - g_lu[i + n * j]).abs() <= 1e-13,
            "sparse Cholesky Ā at ({i}, {j})"
        );
    }
    close(&g_sp[a.nnz()..], &g_lu[n * n..], 1e-13, "sparse Cholesky b̄");
}

#[test]
fn rule_errors_are_typed() {
    let rule = LinearSolveRule::dense(2);
    let mut x = [0.0; 2];
    // Singular: [[1, 2], [2, 4]] column-major.
    let err = rule
        .solve(&[1.0, 2.0, 2.0, 4.0], &[1.0, 1.0], &mut x)
        .unwrap_err();
    assert!(
        matches!(&err, RuleError::Failed(m) if m.contains("singular")),
        "{err:?}"
    );
    let err = rule
        .solve(&[1.0, f64::NAN, 0.0, 1.0], &[1.0, 1.0], &mut x)
        .unwrap_err();
    assert!(
        matches!(&err, RuleError::Failed(m) if m.contains("non-finite value in matrix at row 1, column 0")),
        "{err:?}"
    );
    let err = rule
        .solve(&[1.0, 0.0, 0.0, 1.0], &[1.0, 1.0, 1.0], &mut x)
        .unwrap_err();
    assert!(
        matches!(err, RuleError::DimensionMismatch { .. }),
        "{err:?}"
    );
    // Non-square sparse patterns and non-direct algorithms are rejected at construction.
    let rect: CsMat<f64> = CsMat::new_csc((2, 3), vec![0, 1, 2, 2], vec![0, 1], vec![1.0, 1.0]);
    assert!(matches!(
        LinearSolveRule::sparse(&rect),
        Err(LinsolveError::NotSquare { .. })
    ));
    assert!(matches!(
        LinearSolveRule::dense_with(2, &Gmres::default().into()),
        Err(LinsolveError::Unsupported { .. })
    ));
}
