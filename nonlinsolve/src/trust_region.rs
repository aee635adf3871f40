//! Trust region with Powell's dogleg step.
//!
//! With `g = Jᵀ F` and the model `m(p) = ½‖F + J p‖₂²`, the Cauchy point
//! `p_C = −(‖g‖² / ‖J g‖²) g` minimises the model along the steepest descent, the Gauss–Newton
//! step `p_GN` solves `min ‖J p + F‖`. The dogleg step is `p_GN` when `‖p_GN‖ ≤ Δ`, the
//! steepest-descent step to the boundary when `‖p_C‖ ≥ Δ`, and otherwise the point where the
//! segment from `p_C` to `p_GN` leaves the region: `p = p_C + τ (p_GN − p_C)` with
//! `‖p‖ = Δ` (Nocedal & Wright, *Numerical Optimization*, 2006, §4.1). The gain ratio
//! `ρ = (½‖F‖² − ½‖F(u + p)‖²) / (m(0) − m(p))` drives the radius (see
//! [`TrustRegion`](crate::TrustRegion)); a rejected step reuses the Jacobian, its factorisation
//! and `p_GN`, `p_C` — only the dogleg is recomputed for the smaller radius.

use crate::algorithm::TrustRegion;
use crate::cache::{NonlinearCache, dot, norm_inf, norm2_sq};
use crate::error::NonlinsolveError;
use crate::problem::NonlinearFunction;
use crate::solution::StopReason;

impl<F: NonlinearFunction> NonlinearCache<F> {
    pub(crate) fn run_trust_region(
        &mut self,
        alg: &TrustRegion,
    ) -> Result<StopReason, NonlinsolveError> {
        let mut radius = alg
            .initial_radius
            .unwrap_or_else(|| norm2_sq(&self.w.u).sqrt().max(1.0));
        let mut fresh = false; // the Jacobian, p_GN and p_C belong to the current iterate
        let mut gn_available = false;
        let mut cauchy_scale = 0.0; // p_C = −cauchy_scale · g
        let mut k = 0usize;
        loop {
            if let Some(reason) = self.begin_iteration(&mut k) {
                return Ok(reason);
            }
            if !fresh {
                self.update_jacobian(k)?;
                {
                    let (jac, w) = (self.jac.matrix(), &mut self.w);
                    jac.mul_transpose(&w.r, &mut w.g);
                }
                if let Some(reason) = self.gradient_test() {
                    return Ok(reason);
                }
                gn_available = match self
                    .factorize_jacobian(k)
                    .and_then(|()| self.newton_direction(k))
                {
                    Ok(()) => true,
                    Err(NonlinsolveError::SingularJacobian { .. }) => false,
                    Err(e) => return Err(e),
                };
                let (jac, w) = (self.jac.matrix(), &mut self.w);
                jac.mul(&w.g, &mut w.tmp_m);
                let jg = norm2_sq(&w.tmp_m);
                cauchy_scale = if jg > 0.0 { norm2_sq(&w.g) / jg } else { 0.0 };
                fresh = true;
            }
            self.dogleg(radius, gn_available, cauchy_scale);
            // Predicted reduction m(0) − m(p) = −(gᵀp + ½‖J p‖²).
            let (pred, step_norm) = {
                let (jac, w) = (self.jac.matrix(), &mut self.w);
                jac.mul(&w.tmp_n, &mut w.tmp_m);
                (
                    -(dot(&w.g, &w.tmp_n) + 0.5 * norm2_sq(&w.tmp_m)),
                    norm2_sq(&w.tmp_n).sqrt(),
                )
            };
            {
                let w = &mut self.w;
                for ((t, &u), &p) in w.u_trial.iter_mut().zip(&w.u).zip(&w.tmp_n) {
                    *t = u + p;
                }
            }
            self.eval_residual(true);
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
            if rho < 0.25 {
                radius = 0.25 * step_norm;
            } else if rho > 0.75 && step_norm >= 0.99 * radius {
                radius = (2.0 * radius).min(alg.max_radius);
            }
            if rho > alg.accept {
                self.accept_trial();
                fresh = false;
                if self.residual_converged().is_none()
                    && self.step_small()
                    && self.small_step_accepted()
                {
                    return Ok(StopReason::SmallStep);
                }
            } else {
                self.stats.rejected_steps += 1;
                let o = &self.options;
                let floor = o.step_abstol
                    + (o.step_reltol + f64::EPSILON) * norm_inf(&self.w.u).max(f64::MIN_POSITIVE);
                if radius <= floor {
                    return Ok(StopReason::TrustRegionTooSmall);
                }
            }
        }
    }

    /// Writes the dogleg step for `radius` to `w.tmp_n` (Gauss–Newton step in `w.delta`,
    /// gradient in `w.g`, Cauchy point `−cauchy_scale · g`).
    fn dogleg(&mut self, radius: f64, gn_available: bool, cauchy_scale: f64) {
        let w = &mut self.w;
        if gn_available && norm2_sq(&w.delta).sqrt() <= radius {
            w.tmp_n.copy_from_slice(&w.delta);
            return;
        }
        let g_norm = norm2_sq(&w.g).sqrt();
        let cauchy_norm = cauchy_scale * g_norm;
        if !gn_available || cauchy_norm >= radius || cauchy_scale == 0.0 {
            // Steepest descent, to the Cauchy point or to the boundary.
            let scale = if cauchy_scale > 0.0 && cauchy_norm < radius {
                cauchy_scale
            } else {
                radius / g_norm
            };
            for (p, &g) in w.tmp_n.iter_mut().zip(&w.g) {
                *p = -scale * g;
            }
            return;
        }
        // p = p_C + τ d, d = p_GN − p_C, with ‖p‖ = Δ, τ ∈ [0, 1].
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        for (&dg, &g) in w.delta.iter().zip(&w.g) {
            let pc = -cauchy_scale * g;
            let d = dg - pc;
            a += d * d;
            b += 2.0 * pc * d;
            c += pc * pc;
        }
        c -= radius * radius;
        let disc = (b * b - 4.0 * a * c).max(0.0).sqrt();
        // c < 0, so the positive root; written without cancellation.
        let tau = if b > 0.0 {
            -2.0 * c / (b + disc)
        } else {
            (-b + disc) / (2.0 * a)
        };
        let tau = tau.clamp(0.0, 1.0);
        for ((p, &dg), &g) in w.tmp_n.iter_mut().zip(&w.delta).zip(&w.g) {
            let pc = -cauchy_scale * g;
            *p = pc + tau * (dg - pc);
        }
    }
}
