//! Hand-written Jacobians (dense and sparse) against the AD ones: the same Newton path, the same
//! root, and the user's derivative actually used.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use std::sync::atomic::{AtomicUsize, Ordering};

use sprs::{CsMat, CsMatI};
use tangent_ad::Scalar;
use tangent_nonlinsolve::problems::BroydenTridiagonal;
use tangent_nonlinsolve::*;
use tangent_sparsity::Pattern;

/// MGH 30 (Broyden tridiagonal) with its Jacobian written by hand:
/// `∂F_k/∂u_k = 3 − 4u_k`, `∂F_k/∂u_{k−1} = −1`, `∂F_k/∂u_{k+1} = −2`.
struct Tridiagonal {
    sparse: bool,
    calls: AtomicUsize,
}

impl NonlinearFunction for Tridiagonal {
    fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
        BroydenTridiagonal { n: u.len() }.residual(u, p, r);
    }

    fn jacobian(&self, u: &[f64], _p: &[f64], jac: &mut [f64]) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let n = u.len();
        jac.fill(0.0);
        for k in 0..n {
            jac[k + n * k] = 3.0 - 4.0 * u[k];
            if k > 0 {
                jac[k + n * (k - 1)] = -1.0;
            }
            if k + 1 < n {
                jac[k + n * (k + 1)] = -2.0;
            }
        }
        true
    }

    fn jacobian_pattern(&self, n: usize) -> Option<Pattern> {
        if !self.sparse {
            return None;
        }
        // Column j holds rows j − 1, j, j + 1.
        let mut indptr = vec![0usize];
        let mut indices = Vec::new();
        for j in 0..n {
            for i in j.saturating_sub(1)..(j + 2).min(n) {
                indices.push(i);
            }
            indptr.push(indices.len());
        }
        let nnz = indices.len();
        Some(CsMatI::new_csc((n, n), indptr, indices, vec![(); nnz]))
    }

    fn sparse_jacobian(&self, u: &[f64], _p: &[f64], jac: &mut CsMat<f64>) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let indptr = jac.indptr().raw_storage().to_vec();
        let indices = jac.indices().to_vec();
        let data = jac.data_mut();
        for j in 0..u.len() {
            for q in indptr[j]..indptr[j + 1] {
                let i = indices[q];
                // Row i, column j: the diagonal, u_{i−1} (j = i − 1) or u_{i+1} (j = i + 1).
                data[q] = if i == j {
                    3.0 - 4.0 * u[j]
                } else if j + 1 == i {
                    -1.0
                } else {
                    -2.0
                };
            }
        }
        true
    }
}

#[test]
fn user_jacobians_match_automatic_differentiation() {
    let n = 100;
    let reference = {
        let f = BroydenTridiagonal { n };
        solve(
            &NonlinearProblem::new(f, f.start(), vec![]),
            &NewtonRaphson::default().into(),
        )
        .unwrap()
    };
    for sparse in [false, true] {
        let f = Tridiagonal {
            sparse,
            calls: AtomicUsize::new(0),
        };
        let prob = NonlinearProblem::new(&f, vec![-1.0; n], vec![]);
        let alg: Algorithm = NewtonRaphson {
            jacobian: JacobianMethod::User,
            ..Default::default()
        }
        .into();
        let mut cache = init(&prob, &alg).unwrap();
        assert_eq!(
            cache.jacobian_kind(),
            if sparse { "user sparse" } else { "user dense" }
        );
        if sparse {
            assert_eq!(cache.jacobian_nnz(), 3 * n - 2);
        }
        let s = cache.solve().unwrap();
        // The exact Jacobian, by hand or by AD: the same iterates to rounding, the same count.
        assert_eq!(s.stats.iterations, reference.stats.iterations);
        let diff = cache
            .u()
            .iter()
            .zip(&reference.u)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        // ‖F‖∞ ≤ 1e-10 at both and ‖J⁻¹‖∞ ≤ 1 here (diagonal 3 − 4u ≥ 5 dominates 1 + 2).
        assert!(diff <= 2e-10, "sparse = {sparse}: {diff:e}");
        // init evaluates the Jacobian once; then one per iteration.
        assert_eq!(
            f.calls.load(Ordering::Relaxed),
            1 + s.stats.jacobian_evaluations
        );
    }
}
