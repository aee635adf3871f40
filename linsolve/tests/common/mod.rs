//! Shared helpers of the integration tests: a seeded generator, random matrices with known
//! properties, and the normwise backward error.

#![allow(dead_code, clippy::needless_range_loop, clippy::unwrap_used)] // tests: helpers used by some test binaries only

use faer::Mat;
use sprs::{CsMat, TriMat};

/// SplitMix64 (Steele, Lea & Flood 2014): a small seeded generator, reproducible everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [−1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.uniform()).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Uniform random `m × n` matrix.
pub fn random(m: usize, n: usize, rng: &mut Rng) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| rng.uniform())
}

/// Random matrix plus `n` on the diagonal: condition number O(1).
pub fn well_conditioned(n: usize, rng: &mut Rng) -> Mat<f64> {
    let mut a = random(n, n, rng);
    for i in 0..n {
        a[(i, i)] += n as f64;
    }
    a
}

/// A random orthogonal matrix: a product of three Householder reflections.
fn orthogonal(n: usize, rng: &mut Rng) -> Mat<f64> {
    let mut q = Mat::<f64>::identity(n, n);
    for _ in 0..3 {
        let v = rng.vec(n);
        let vv: f64 = v.iter().map(|x| x * x).sum();
        // q ← (I − 2 v vᵀ / vᵀv) q
        for j in 0..n {
            let s: f64 = (0..n).map(|i| v[i] * q[(i, j)]).sum();
            for i in 0..n {
                q[(i, j)] -= 2.0 * v[i] * s / vv;
            }
        }
    }
    q
}

/// `U Σ Vᵀ` with singular values spaced geometrically from 1 to `1/cond` (2-norm condition
/// number `cond`).
pub fn with_condition(n: usize, cond: f64, rng: &mut Rng) -> Mat<f64> {
    let (u, v) = (orthogonal(n, rng), orthogonal(n, rng));
    Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| {
                let s = if n == 1 {
                    1.0
                } else {
                    cond.powf(-(k as f64) / (n - 1) as f64)
                };
                u[(i, k)] * s * v[(j, k)]
            })
            .sum()
    })
}

/// Random symmetric positive definite: `B Bᵀ + I`.
pub fn spd(n: usize, rng: &mut Rng) -> Mat<f64> {
    let b = random(n, n, rng);
    Mat::from_fn(n, n, |i, j| {
        (0..n).map(|k| b[(i, k)] * b[(j, k)]).sum::<f64>() + if i == j { 1.0 } else { 0.0 }
    })
}

/// Random sparse `n × n` with about `per_col` off-diagonal entries per column, a full diagonal
/// (`diag` added to the row sums of |off-diagonal| when `dominant`), CSC.
pub fn random_sparse(n: usize, per_col: usize, dominant: bool, rng: &mut Rng) -> CsMat<f64> {
    let mut tri = TriMat::new((n, n));
    let mut row_sum = vec![0.0; n];
    let mut seen = std::collections::HashSet::new();
    for j in 0..n {
        for _ in 0..per_col {
            let i = rng.below(n);
            if i != j && seen.insert((i, j)) {
                let v = rng.uniform();
                row_sum[i] += v.abs();
                tri.add_triplet(i, j, v);
            }
        }
    }
    for i in 0..n {
        let d = if dominant {
            row_sum[i] + 1.0
        } else {
            rng.uniform()
        };
        tri.add_triplet(i, i, d);
    }
    tri.to_csc()
}

/// Dense copy of a sparse matrix.
pub fn to_dense(a: &CsMat<f64>) -> Mat<f64> {
    let mut d = Mat::zeros(a.rows(), a.cols());
    for (v, (i, j)) in a.iter() {
        d[(i, j)] += *v;
    }
    d
}

/// `A x` for a dense matrix.
pub fn matvec(a: &Mat<f64>, x: &[f64]) -> Vec<f64> {
    (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|j| a[(i, j)] * x[j]).sum())
        .collect()
}

/// `Aᵀ x` for a dense matrix.
pub fn matvec_t(a: &Mat<f64>, x: &[f64]) -> Vec<f64> {
    (0..a.ncols())
        .map(|j| (0..a.nrows()).map(|i| a[(i, j)] * x[i]).sum())
        .collect()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

fn mat_inf_norm(a: &Mat<f64>) -> f64 {
    (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|j| a[(i, j)].abs()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// Normwise backward error `‖b − A x‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞)` (Rigal & Gaches 1967; Higham,
/// *Accuracy and Stability of Numerical Algorithms*, Thm. 7.1): the size of the smallest
/// perturbation of `A` and `b` for which `x` is exact.
pub fn backward_error(a: &Mat<f64>, x: &[f64], b: &[f64]) -> f64 {
    let ax = matvec(a, x);
    let r: Vec<f64> = b.iter().zip(&ax).map(|(bi, ai)| bi - ai).collect();
    inf_norm(&r) / (mat_inf_norm(a) * inf_norm(x) + inf_norm(b))
}

/// Relative max-norm distance.
pub fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = inf_norm(b).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}
