//! Levenberg–Marquardt on the damped normal equations.
//!
//! With `A = JᵀJ`, `g = Jᵀ F` and the scaling `D = diag(A)` (each entry the largest seen so
//! far, so that the scaling never shrinks; a zero column gets 1), the step solves
//! `(A + μ D) h = −g`. The model `L(h) = ½‖F + J h‖²` predicts the decrease
//! `L(0) − L(h) = ½ hᵀ(μ D h − g)`; the gain ratio `ρ` against the actual decrease of `½‖F‖²`
//! accepts the step (`ρ > 0`) and updates `μ` by Nielsen's rule (see
//! [`LevenbergMarquardt`](crate::LevenbergMarquardt)). Large `μ` gives short steepest-descent
//! steps, small `μ` Gauss–Newton steps; near a zero-residual solution convergence is quadratic.
//!
//! `A + μ D` is symmetric positive definite for `μ > 0`, so the default linear solver is a
//! Cholesky factorisation — dense, or sparse on the pattern of `JᵀJ` computed once from the
//! Jacobian's pattern (the numeric product then reuses a precomputed list of the contributions
//! `J_ia J_ib` to each entry, allocation-free).

use sprs::CsMat;
use tangent_linsolve::Matrix;

use crate::algorithm::LevenbergMarquardt;
use crate::cache::{NonlinearCache, dot, norm2_sq, timed};
use crate::error::NonlinsolveError;
use crate::jacobian::JacobianRef;
use crate::problem::NonlinearFunction;
use crate::solution::StopReason;

/// The normal-equation matrix `JᵀJ` and its damped copy.
#[derive(Debug)]
pub(crate) struct Normal {
    n: usize,
    kind: NormalKind,
    /// `JᵀJ` (dense column-major, or CSC values).
    values: Vec<f64>,
    /// `JᵀJ + μ D`.
    damped: Vec<f64>,
    /// Position of each diagonal entry in `values`.
    diag: Vec<usize>,
}

#[derive(Debug)]
enum NormalKind {
    Dense,
    Sparse {
        template: CsMat<f64>,
        /// `(position in values, position of J_ia, position of J_ib)` for every row `i` and
        /// every pair of its entries.
        contributions: Vec<[u32; 3]>,
    },
}

impl Normal {
    pub(crate) fn new(jac: JacobianRef<'_>) -> Result<Self, NonlinsolveError> {
        match jac {
            JacobianRef::Dense { n, .. } => Ok(Self {
                n,
                kind: NormalKind::Dense,
                values: vec![0.0; n * n],
                damped: vec![0.0; n * n],
                diag: (0..n).map(|j| j + n * j).collect(),
            }),
            JacobianRef::Sparse(a) => Self::sparse(a),
        }
    }

    fn sparse(a: &CsMat<f64>) -> Result<Self, NonlinsolveError> {
        let (m, n) = (a.rows(), a.cols());
        let ptr = a.indptr();
        let ptr = ptr.raw_storage();
        let idx = a.indices();
        let too_large = || NonlinsolveError::InvalidOption("Jacobian too large for u32 indexing");
        // Entries of each row: (column, position in J's values).
        let mut row_ptr = vec![0usize; m + 1];
        for &i in idx {
            row_ptr[i + 1] += 1;
        }
        for i in 0..m {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr[..m].to_vec();
        let mut entries = vec![(0usize, 0usize); idx.len()];
        for j in 0..n {
            for (p, &i) in idx.iter().enumerate().take(ptr[j + 1]).skip(ptr[j]) {
                entries[next[i]] = (j, p);
                next[i] += 1;
            }
        }
        // Pairs (row a, column b, pa, pb) of JᵀJ entries, plus the diagonal.
        let mut pairs: Vec<(usize, usize, usize, usize)> = Vec::new();
        for i in 0..m {
            let row = &entries[row_ptr[i]..row_ptr[i + 1]];
            for &(ca, pa) in row {
                for &(cb, pb) in row {
                    pairs.push((cb, ca, pa, pb));
                }
            }
        }
        pairs.sort_unstable_by_key(|&(b, a, _, _)| (b, a));
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(b, a, _, _) in &pairs {
            if cols[b].last() != Some(&a) {
                cols[b].push(a);
            }
        }
        // Ensure the diagonal (a zero column of J has none in JᵀJ).
        for (j, c) in cols.iter_mut().enumerate() {
            if let Err(pos) = c.binary_search(&j) {
                c.insert(pos, j);
            }
        }
        let mut indptr = vec![0usize; n + 1];
        for (j, c) in cols.iter().enumerate() {
            indptr[j + 1] = indptr[j] + c.len();
        }
        let indices: Vec<usize> = cols.concat();
        let nnz = indices.len();
        let position = |a: usize, b: usize| -> usize {
            let col = &indices[indptr[b]..indptr[b + 1]];
            // Every (a, b) looked up here was inserted above.
            indptr[b] + col.binary_search(&a).unwrap_or(0)
        };
        let mut contributions = Vec::with_capacity(pairs.len());
        for &(b, a, pa, pb) in &pairs {
            let q = position(a, b);
            contributions.push([
                u32::try_from(q).map_err(|_| too_large())?,
                u32::try_from(pa).map_err(|_| too_large())?,
                u32::try_from(pb).map_err(|_| too_large())?,
            ]);
        }
        let diag = (0..n).map(|j| position(j, j)).collect();
        let template = CsMat::try_new_csc((n, n), indptr, indices, vec![0.0; nnz])
            .map_err(|_| NonlinsolveError::InvalidOption("internal: malformed JᵀJ pattern"))?;
        Ok(Self {
            n,
            kind: NormalKind::Sparse {
                template,
                contributions,
            },
            values: vec![0.0; nnz],
            damped: vec![0.0; nnz],
            diag,
        })
    }

    /// An owned matrix with this structure (for initialising the linear solver).
    pub(crate) fn to_matrix(&self) -> Result<Matrix, NonlinsolveError> {
        Ok(match &self.kind {
            NormalKind::Dense => {
                // The identity: any finite SPD values do for the initialisation.
                let mut eye = vec![0.0; self.n * self.n];
                for &d in &self.diag {
                    eye[d] = 1.0;
                }
                Matrix::from_column_major(self.n, self.n, &eye)?
            }
            NormalKind::Sparse { template, .. } => {
                let mut t = template.clone();
                for &d in &self.diag {
                    t.data_mut()[d] = 1.0;
                }
                Matrix::Sparse(t)
            }
        })
    }

    /// `values = JᵀJ`.
    fn compute(&mut self, jac: JacobianRef<'_>) {
        match (&self.kind, jac) {
            (NormalKind::Dense, JacobianRef::Dense { m, values: j, .. }) => {
                let n = self.n;
                for b in 0..n {
                    let cb = &j[b * m..(b + 1) * m];
                    for a in 0..=b {
                        let v = dot(&j[a * m..(a + 1) * m], cb);
                        self.values[a + n * b] = v;
                        self.values[b + n * a] = v;
                    }
                }
            }
            (NormalKind::Sparse { contributions, .. }, JacobianRef::Sparse(a)) => {
                let jv = a.data();
                self.values.fill(0.0);
                for &[q, pa, pb] in contributions {
                    self.values[q as usize] += jv[pa as usize] * jv[pb as usize];
                }
            }
            // The structure was built from this Jacobian's kind.
            _ => {}
        }
    }

    /// `damped = JᵀJ + μ D`.
    fn damp(&mut self, mu: f64, d: &[f64]) {
        self.damped.copy_from_slice(&self.values);
        for (&p, &dj) in self.diag.iter().zip(d) {
            self.damped[p] += mu * dj;
        }
    }
}

impl<F: NonlinearFunction> NonlinearCache<F> {
    /// `J`, `JᵀJ`, `g = Jᵀ F` and the scaling `D` at the current iterate.
    fn lm_linearise(&mut self, k: usize) -> Result<(), NonlinsolveError> {
        self.update_jacobian(k)?;
        let Self {
            jac,
            normal,
            w,
            timings,
            options,
            ..
        } = self;
        let Some(normal) = normal.as_mut() else {
            return Err(NonlinsolveError::InvalidOption(
                "internal: Levenberg–Marquardt without normal equations",
            ));
        };
        let j = jac.matrix();
        timed(options.timings, &mut timings.jacobian, || normal.compute(j));
        j.mul_transpose(&w.r, &mut w.g);
        Ok(())
    }

    pub(crate) fn run_levenberg_marquardt(
        &mut self,
        alg: &LevenbergMarquardt,
    ) -> Result<StopReason, NonlinsolveError> {
        let n = self.n;
        // The scaling D lives in `delta` (unused otherwise by this method).
        self.w.delta.fill(0.0);
        let mut k = 0usize;
        self.lm_linearise(k)?;
        self.lm_update_scaling();
        let mut mu = alg.initial_damping;
        let mut nu = 2.0;
        loop {
            if let Some(reason) = self.residual_converged() {
                return Ok(reason);
            }
            if let Some(reason) = self.gradient_test() {
                return Ok(reason);
            }
            if let Some(reason) = self.iteration_budget(&mut k) {
                return Ok(reason);
            }
            // (A + μ D) h = −g, h in tmp_n.
            let solved = {
                let Self {
                    normal,
                    linear,
                    w,
                    stats,
                    timings,
                    options,
                    ..
                } = self;
                let Some(normal) = normal.as_mut() else {
                    return Err(NonlinsolveError::InvalidOption(
                        "internal: Levenberg–Marquardt without normal equations",
                    ));
                };
                normal.damp(mu, &w.delta);
                linear.set_values(&normal.damped)?;
                let f = timed(options.timings, &mut timings.factorization, || {
                    linear.factorize()
                });
                stats.factorizations += 1;
                match f {
                    Ok(()) => {
                        timed(options.timings, &mut timings.linear_solve, || {
                            linear.solve_into(&w.g, &mut w.tmp_n)
                        })?;
                        stats.linear_solves += 1;
                        for h in &mut w.tmp_n {
                            *h = -*h;
                        }
                        w.tmp_n.iter().all(|h| h.is_finite())
                    }
                    Err(tangent_linsolve::LinsolveError::NotPositiveDefinite { .. })
                    | Err(tangent_linsolve::LinsolveError::Singular { .. }) => false,
                    Err(e) => return Err(e.into()),
                }
            };
            if !solved {
                // Rounding made A + μD indefinite: more damping.
                self.stats.rejected_steps += 1;
                mu *= nu;
                nu *= 2.0;
                continue;
            }
            if self.is_small_step(&self.w.tmp_n) {
                return Ok(if self.small_step_accepted() {
                    self.finish_with_small_step(true)
                } else {
                    StopReason::LocalMinimum
                });
            }
            {
                let w = &mut self.w;
                for ((t, &u), &h) in w.u_trial.iter_mut().zip(&w.u).zip(&w.tmp_n) {
                    *t = u + h;
                }
            }
            self.eval_residual(true);
            // L(0) − L(h) = ½ hᵀ(μ D h − g).
            let pred = {
                let w = &self.w;
                0.5 * (0..n)
                    .map(|j| w.tmp_n[j] * (mu * w.delta[j] * w.tmp_n[j] - w.g[j]))
                    .sum::<f64>()
            };
            let phi = 0.5 * norm2_sq(&self.w.r);
            let actual = phi - 0.5 * norm2_sq(&self.w.r_trial);
            if let Some(reason) = self.reduction_test(pred, actual, phi) {
                return Ok(reason);
            }
            let rho = if actual.is_finite() && pred > 0.0 {
                actual / pred
            } else {
                -1.0
            };
            if rho > 0.0 {
                self.accept_trial();
                self.lm_linearise(k)?;
                self.lm_update_scaling();
                let t = 2.0 * rho - 1.0;
                mu *= (1.0 / 3.0f64).max(1.0 - t * t * t);
                nu = 2.0;
            } else {
                self.stats.rejected_steps += 1;
                mu *= nu;
                nu *= 2.0;
            }
        }
    }

    /// `D ← max(D, diag(JᵀJ))`, zero entries replaced by 1 (kept in `w.delta`).
    fn lm_update_scaling(&mut self) {
        let Some(normal) = self.normal.as_ref() else {
            return;
        };
        for (d, &p) in self.w.delta.iter_mut().zip(&normal.diag) {
            let a = normal.values[p];
            *d = d.max(a);
        }
        for d in &mut self.w.delta {
            if *d == 0.0 {
                *d = 1.0;
            }
        }
    }
}
