//! Broyden's method with restarts, limited-memory product form.
//!
//! After a restart at `u_r` the inverse-Jacobian approximation is `H₀ = J(u_r)⁻¹`, applied
//! with the factorisation computed there. Broyden's ("good") update
//! `B_{k+1} = B_k + (y_k − B_k s_k) s_kᵀ / (s_kᵀ s_k)` (`s_k` the step, `y_k = F_{k+1} − F_k`)
//! has, by Sherman–Morrison, the inverse `H_{k+1} = (I + a_k s_kᵀ) H_k` with
//! `a_k = (s_k − H_k y_k) / (s_kᵀ H_k y_k)`; so `H_k v = (I + a_{k−1}s_{k−1}ᵀ)⋯(I + a₀s₀ᵀ) H₀ v`
//! costs one solve with the restart factorisation and `2k` vector operations (Kelley 1995,
//! §7.3). With the direction `d_k = −H_k F_k` and `z = H_k F_{k+1}`, `H_k y_k = z + d_k`, and
//! the next direction is `d_{k+1} = −(z + a_k (s_kᵀ z))`: one solve per iteration.
//!
//! Convergence is superlinear near a regular root (Broyden, Dennis & Moré, 1973). The method
//! restarts when the memory is full, when `|s_kᵀ H_k y_k|` is negligible, or when the line
//! search fails along `d_k` (the quasi-Newton direction need not be a descent direction of
//! `½‖F‖²`); a failure right after a restart — along the exact Newton direction — is a
//! [`LineSearchFailed`](crate::StopReason::LineSearchFailed).

use crate::algorithm::Broyden;
use crate::cache::{NonlinearCache, dot, norm2_sq, timed};
use crate::error::NonlinsolveError;
use crate::problem::NonlinearFunction;
use crate::solution::StopReason;

/// The stored pairs `(a_j, s_j)` and scratch.
#[derive(Debug)]
pub(crate) struct BroydenMemory {
    capacity: usize,
    count: usize,
    a: Vec<f64>,
    s: Vec<f64>,
    z: Vec<f64>,
    hy: Vec<f64>,
}

impl BroydenMemory {
    pub(crate) fn new(n: usize, capacity: usize) -> Self {
        Self {
            capacity,
            count: 0,
            a: vec![0.0; n * capacity],
            s: vec![0.0; n * capacity],
            z: vec![0.0; n],
            hy: vec![0.0; n],
        }
    }

    /// `v ← (I + a_{k−1}s_{k−1}ᵀ)⋯(I + a₀s₀ᵀ) v`.
    fn apply_updates(a: &[f64], s: &[f64], n: usize, count: usize, v: &mut [f64]) {
        for j in 0..count {
            let (aj, sj) = (&a[j * n..(j + 1) * n], &s[j * n..(j + 1) * n]);
            let c = dot(sj, v);
            if c != 0.0 {
                for (vi, &ai) in v.iter_mut().zip(aj) {
                    *vi += c * ai;
                }
            }
        }
    }
}

impl<F: NonlinearFunction> NonlinearCache<F> {
    pub(crate) fn run_broyden(&mut self, alg: &Broyden) -> Result<StopReason, NonlinsolveError> {
        let n = self.n;
        let mut restart = true;
        let mut first = true;
        let mut k = 0usize;
        loop {
            if let Some(reason) = self.begin_iteration(&mut k) {
                return Ok(reason);
            }
            let just_restarted = restart;
            if restart {
                self.update_jacobian(k)?;
                self.factorize_jacobian(k)?;
                self.newton_direction(k)?;
                if let Some(mem) = self.broyden.as_mut() {
                    mem.count = 0;
                }
                if !first {
                    self.stats.restarts += 1;
                }
                first = false;
                restart = false;
            }
            // The model slope of ½‖F‖² along d = −H F is −‖F‖².
            let slope = -norm2_sq(&self.w.r);
            let Some(alpha) = self.backtrack(&alg.line_search, slope) else {
                if just_restarted {
                    return Ok(StopReason::LineSearchFailed);
                }
                restart = true;
                continue;
            };
            // z = H_k F_{k+1}.
            {
                let Self {
                    linear,
                    broyden,
                    w,
                    stats,
                    timings,
                    options,
                    ..
                } = self;
                let Some(mem) = broyden.as_mut() else {
                    return Err(NonlinsolveError::InvalidOption(
                        "internal: Broyden without its memory",
                    ));
                };
                timed(options.timings, &mut timings.linear_solve, || {
                    linear.solve_into(&w.r_trial, &mut mem.z)
                })
                .map_err(|e| crate::cache::linear_error(e, k))?;
                stats.linear_solves += 1;
                let (a, s, count) = (&mem.a, &mem.s, mem.count);
                BroydenMemory::apply_updates(a, s, n, count, &mut mem.z);
            }
            self.accept_trial();
            let step_small = self.step_small();
            // H_k y_k = z + d_k, s_k = α d_k, a_k = (s_k − H_k y_k) / (s_kᵀ H_k y_k).
            let Some(mem) = self.broyden.as_mut() else {
                return Err(NonlinsolveError::InvalidOption(
                    "internal: Broyden without its memory",
                ));
            };
            let d = &mut self.w.delta;
            for ((h, &z), &di) in mem.hy.iter_mut().zip(&mem.z).zip(d.iter()) {
                *h = z + di;
            }
            let mut denom = 0.0;
            let (mut s_norm, mut hy_norm) = (0.0, 0.0);
            for (&h, &di) in mem.hy.iter().zip(d.iter()) {
                let s = alpha * di;
                denom += s * h;
                s_norm += s * s;
                hy_norm += h * h;
            }
            // NaN in the denominator also counts as negligible.
            let negligible = denom
                .abs()
                .partial_cmp(&(1e-12 * (s_norm * hy_norm).sqrt()))
                != Some(core::cmp::Ordering::Greater)
                || mem.count == mem.capacity;
            if negligible {
                restart = true;
            } else {
                let slot = mem.count * n;
                let (a_slot, s_slot) = (&mut mem.a[slot..slot + n], &mut mem.s[slot..slot + n]);
                for i in 0..n {
                    let s = alpha * d[i];
                    s_slot[i] = s;
                    a_slot[i] = (s - mem.hy[i]) / denom;
                }
                mem.count += 1;
                // d_{k+1} = −(z + a_k (s_kᵀ z)).
                let c = dot(s_slot, &mem.z);
                for i in 0..n {
                    d[i] = -(mem.z[i] + c * a_slot[i]);
                }
            }
            if step_small && self.residual_converged().is_none() && self.small_step_accepted() {
                return Ok(StopReason::SmallStep);
            }
        }
    }
}
