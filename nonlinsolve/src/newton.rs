//! Newton–Raphson with a backtracking line search (Gauss–Newton for least squares).
//!
//! At the iterate `u_k` with residual `F_k` and Jacobian `J_k`, the direction solves
//! `J_k δ = −F_k` (least squares: `min ‖J_k δ + F_k‖₂`, by QR). The merit
//! `φ(α) = ½‖F(u_k + α δ)‖₂²` has slope `φ′(0) = F_kᵀ J_k δ` (`−‖F_k‖²` for an exact Newton
//! step), so `δ` is a descent direction wherever `J_k` is nonsingular, and the backtracking
//! search of [`Backtracking`](crate::Backtracking) finds a step with sufficient decrease. Near a
//! regular root the full step is accepted and convergence is quadratic (Dennis & Schnabel 1983,
//! Theorem 5.2.1); at a singular root (Powell's singular function) it is linear.

use crate::algorithm::{LineSearch, NewtonRaphson};
use crate::cache::{NonlinearCache, dot};
use crate::error::{NonlinsolveError, first_non_finite};
use crate::problem::NonlinearFunction;
use crate::solution::StopReason;

impl<F: NonlinearFunction> NonlinearCache<F> {
    pub(crate) fn run_newton(
        &mut self,
        alg: &NewtonRaphson,
    ) -> Result<StopReason, NonlinsolveError> {
        let mut k = 0usize;
        // Iterations served by the current factorisation (0: none yet), and the last
        // contraction ‖F_new‖∞ / ‖F_old‖∞.
        let mut age = 0usize;
        let mut contraction = f64::INFINITY;
        loop {
            if let Some(reason) = self.begin_iteration(&mut k) {
                return Ok(reason);
            }
            let reuse =
                age > 0 && age < alg.reuse.max_age && contraction <= alg.reuse.min_contraction;
            if reuse {
                age += 1;
            } else {
                self.update_jacobian(k)?;
                {
                    let (jac, w) = (self.jac.matrix(), &mut self.w);
                    jac.mul_transpose(&w.r, &mut w.g);
                }
                if let Some(reason) = self.gradient_test() {
                    return Ok(reason);
                }
                self.factorize_jacobian(k)?;
                age = 1;
            }
            self.newton_direction(k)?;
            if self.is_small_step(&self.w.delta) && self.small_step_accepted() {
                // At the rounding floor a line search finds no decrease: finish here.
                return Ok(self.finish_with_small_step(false));
            }
            match &alg.line_search {
                LineSearch::None => {
                    let w = &mut self.w;
                    for ((t, &u), &d) in w.u_trial.iter_mut().zip(&w.u).zip(&w.delta) {
                        *t = u + d;
                    }
                    self.eval_residual(true);
                    if let Some(index) = first_non_finite(&self.w.r_trial) {
                        return Err(NonlinsolveError::NonFiniteResidual {
                            iteration: k,
                            index,
                        });
                    }
                }
                LineSearch::Backtracking(bt) => {
                    // φ′(0) = Fᵀ J δ.
                    let slope = {
                        let (jac, w) = (self.jac.matrix(), &mut self.w);
                        jac.mul(&w.delta, &mut w.tmp_m);
                        dot(&w.r, &w.tmp_m)
                    };
                    if slope.is_nan() || slope >= 0.0 || self.backtrack(bt, slope).is_none() {
                        if reuse {
                            // Retry this iteration with a fresh Jacobian.
                            age = 0;
                            continue;
                        }
                        return Ok(StopReason::LineSearchFailed);
                    }
                }
            }
            let old = self.norm;
            self.accept_trial();
            contraction = self.norm / old;
            if self.residual_converged().is_none()
                && self.step_small()
                && self.small_step_accepted()
            {
                return Ok(StopReason::SmallStep);
            }
        }
    }
}
