//! Rodas5P: the 8-stage, order-5 Rosenbrock method of Steinebach, with its order-4 embedded
//! solution and continuous extension.
//!
//! G. Steinebach, *Construction of Rosenbrock–Wanner method Rodas5P and numerical benchmarks
//! within the Julia Differential Equations package*, BIT Numerical Mathematics 63 (2023) 27.
//! Rodas5P keeps the structure of Hairer & Wanner's Rodas5 (di Marzo 1993): stiffly accurate,
//! L-stable, the last two stages at `t + h` turning the order-4 embedded solution into the
//! order-5 one, and an interpolant built from the stages (order 4). Its free parameters are
//! chosen so that the method is of order 4 for the Prothero–Robinson model and of order 3 for
//! index-1 DAEs and W-approximations, and so that the dense output is more accurate than Rodas5's.
//!
//! # The step
//!
//! In the transformed form of Hairer & Wanner (*Solving ODEs II*, §IV.7, eq. 7.25), with
//! `J = ∂f/∂u (t_n, u_n)`, `f_t = ∂f/∂t (t_n, u_n)`, `W = I/(γh) − J`:
//!
//! ```text
//! W k_i = f(t_n + c_i h, u_n + Σ_{j<i} a_ij k_j) + Σ_{j<i} (C_ij / h) k_j + h d_i f_t,   i = 1..8,
//! u_{n+1} = u_n + Σ_{j<8} a_8j k_j + k_8,
//! ```
//!
//! where `a_7j = a_6j + δ_6j` and `a_8j = a_7j + δ_7j` (so `u_n + Σ a_8j k_j` is the embedded
//! order-4 solution, and `k_8` is its difference to the order-5 one: the error estimate). One
//! Jacobian, one factorisation of `I − γh J` (here `W` is scaled by `γh`) and eight linear
//! solves per step; a rejected step reuses the Jacobian and refactorises. The dense output is
//!
//! ```text
//! u(t_n + θh) = (1 − θ) u_n + θ (u_{n+1} + (1 − θ)(κ₁ + θ (κ₂ + θ κ₃))),   κ_m = Σ_j H_mj k_j.
//! ```
//!
//! Coefficients: OrdinaryDiffEq.jl's `Rodas5PTableau` (the values of Steinebach's paper to
//! double precision, 16–17 significant digits). The tests measure orders 5 (solution) and 4
//! (interpolant) on problems with known solutions, including a stiff linear one.

use tangent_linsolve::LinearAlgorithm;

use crate::algorithm::{Attempt, OdeAlgorithm, PiController, PiState, StepContext, Stepper};
use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs};
use crate::stiff::jacobian::{JacobianEvaluator, JacobianMethod};
use crate::stiff::linear::{IterationMatrix, MatrixFailure};
use crate::stiff::{Prepared, StiffInfo};

const STAGES: usize = 8;

/// `γ`, the diagonal of the method.
const GAMMA: f64 = 0.21193756319429014;

/// Nodes `c_i`.
#[rustfmt::skip]
const C: [f64; STAGES] = [
    0.0, 0.6358126895828704, 0.4095798393397535, 0.9769306725060716, 0.4288403609558664,
    1.0, 1.0, 1.0,
];

/// `d_i = Σ_j γ_ij` (the coefficients of `h f_t`).
#[rustfmt::skip]
const D: [f64; STAGES] = [
    0.21193756319429014, -0.42387512638858027, -0.3384627126235924, 1.8046452872882734,
    2.325825639765069, 0.0, 0.0, 0.0,
];

/// `a_ij` (row `i` has `i` entries); rows 7 and 8 add `k_6`, then `k_7`.
#[rustfmt::skip]
const A: [&[f64]; STAGES] = [
    &[],
    &[3.0],
    &[2.849394379747939, 0.45842242204463923],
    &[-6.954028509809101, 2.489845061869568, -10.358996098473584],
    &[2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641],
    &[-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
      0.030198172008377946],
    &[-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
      0.030198172008377946, 1.0],
    &[-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
      0.030198172008377946, 1.0, 1.0],
];

/// `C_ij` (row `i` has `i` entries).
#[rustfmt::skip]
const CC: [&[f64]; STAGES] = [
    &[],
    &[-14.155112264123755],
    &[-17.97296035885952, -2.859693295451294],
    &[147.12150275711716, -1.41221402718213, 71.68940251302358],
    &[165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306],
    &[24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125,
      -0.6610691825249471],
    &[30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783,
      -19.097331116725623, -28.087943162872662],
    &[37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
      -40.06618937091002, -54.66780262877968, -9.48861652309627],
];

/// The interpolation weights `H_mj` (`κ_m = Σ_j H_mj k_j`).
#[rustfmt::skip]
const H: [[f64; STAGES]; 3] = [
    [25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204,
     0.524948541321073, 1.1241088310450404, 0.4272876194431874, -0.17202221070155493],
    [-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796,
     20.176138334709044, 15.98066361424651, -6.789040303419874, -6.710236069923372],
    [11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643,
     -52.072871366152654, -59.78993625266729, -0.15582684282751913, 4.883087185713722],
];

/// Rodas5P (Steinebach 2023): an L-stable, stiffly accurate Rosenbrock method of order 5 with an
/// order-4 error estimate and an order-4 dense output. A fresh Jacobian every step, no Newton
/// iteration: the method of choice for stiff problems at moderate to tight tolerances and small
/// to medium sizes. See the [module docs](self).
///
/// ```
/// use tangent_ode::problems::Robertson;
/// use tangent_ode::{Rodas5P, solve};
///
/// let sol = solve(&Robertson::problem(), &Rodas5P::default()).unwrap();
/// let u3 = sol.last_state().unwrap()[2];
/// assert!((u3 - Robertson::ORACLE_U3_END).abs() < 1e-5 * Robertson::ORACLE_U3_END);
/// println!("{} steps, {} Jacobians", sol.stats().accepted_steps, sol.stats().jacobian_evaluations);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Rodas5P {
    /// How `J = ∂f/∂u` is computed.
    pub jacobian: JacobianMethod,
    /// The linear solver of `I − γh J` (`Auto`: dense LU for a dense `J`, sparse LU for a
    /// sparse one).
    pub linear_solver: LinearAlgorithm,
    /// The step-size controller.
    pub controller: PiController,
}

impl OdeAlgorithm for Rodas5P {
    type Stepper = RodasStepper;

    fn name(&self) -> &'static str {
        "Rodas5P"
    }

    fn stepper<F: OdeRhs, E: EventFunction>(
        &self,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self::Stepper, OdeError> {
        let n = problem.dim();
        let prepared = Prepared::new(&self.jacobian, &self.linear_solver, problem)?;
        Ok(RodasStepper {
            n,
            controller: PiState::new(self.controller, 5),
            t: 0.0,
            t_prev: 0.0,
            t_try: 0.0,
            h: 0.0,
            u: vec![0.0; n],
            u_prev: vec![0.0; n],
            u_new: vec![0.0; n],
            f0: vec![0.0; n],
            f0_valid: false,
            f_t: vec![0.0; n],
            stage: vec![0.0; n],
            rhs: vec![0.0; n],
            k: vec![0.0; STAGES * n],
            jacobian_valid: false,
            jacobian: prepared.jacobian,
            matrix: prepared.matrix,
        })
    }
}

/// The state of [`Rodas5P`] between steps.
pub struct RodasStepper {
    n: usize,
    controller: PiState,
    t: f64,
    t_prev: f64,
    t_try: f64,
    h: f64,
    u: Vec<f64>,
    u_prev: Vec<f64>,
    u_new: Vec<f64>,
    /// `f(t, u)` at the current point.
    f0: Vec<f64>,
    f0_valid: bool,
    /// `∂f/∂t (t, u)` at the current point.
    f_t: Vec<f64>,
    stage: Vec<f64>,
    rhs: Vec<f64>,
    /// The stage increments `k_1..k_8` of the last attempt, `8 × n`.
    k: Vec<f64>,
    /// `J` and `f_t` are those of the current point.
    jacobian_valid: bool,
    jacobian: JacobianEvaluator,
    matrix: IterationMatrix,
}

impl core::fmt::Debug for RodasStepper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RodasStepper")
            .field("n", &self.n)
            .field("t", &self.t)
            .field("matrix", &self.matrix)
            .finish()
    }
}

impl RodasStepper {
    /// What the stepper prepared: Jacobian route, colours, linear solver.
    pub fn info(&self) -> StiffInfo {
        StiffInfo::new(&self.jacobian, &self.matrix)
    }

    /// `κ_m = Σ_j H_mj k_j` into `out`.
    fn kappa(&self, m: usize, out: &mut [f64]) {
        let n = self.n;
        out.fill(0.0);
        for (j, &w) in H[m].iter().enumerate() {
            for (o, &kj) in out.iter_mut().zip(&self.k[j * n..(j + 1) * n]) {
                *o += w * kj;
            }
        }
    }
}

/// `out = base + Σ_j w_j k_j` over the rows of `k`.
#[inline]
fn combine(out: &mut [f64], base: &[f64], w: &[f64], k: &[f64], n: usize) {
    out.copy_from_slice(base);
    for (j, &wj) in w.iter().enumerate() {
        if wj != 0.0 {
            for (o, &kj) in out.iter_mut().zip(&k[j * n..(j + 1) * n]) {
                *o += wj * kj;
            }
        }
    }
}

fn matrix_failure(t: f64, m: MatrixFailure) -> Attempt {
    match m {
        MatrixFailure::Singular(pivot) => Attempt::Singular { t, pivot },
        MatrixFailure::NonFinite(row, column) => Attempt::NonFiniteJacobian { t, row, column },
        MatrixFailure::Solver => Attempt::ConvergenceFailure,
    }
}

impl Stepper for RodasStepper {
    fn order(&self) -> usize {
        5
    }

    fn start<F: OdeRhs + ?Sized>(
        &mut self,
        ctx: &mut StepContext<'_, F>,
        t0: f64,
        u0: &[f64],
    ) -> Result<(), crate::algorithm::NonFinite> {
        self.u.copy_from_slice(u0);
        self.u_prev.copy_from_slice(u0);
        self.t = t0;
        self.t_prev = t0;
        self.t_try = t0;
        self.h = 0.0;
        self.controller.reset();
        self.jacobian.set_parameters(ctx.p);
        self.jacobian_valid = false;
        self.matrix.invalidate();
        self.f0_valid = false;
        ctx.eval_checked(t0, &self.u, &mut self.f0)?;
        self.f0_valid = true;
        Ok(())
    }

    fn t(&self) -> f64 {
        self.t
    }

    fn u(&self) -> &[f64] {
        &self.u
    }

    fn derivative(&self) -> &[f64] {
        &self.f0
    }

    fn attempt<F: OdeRhs + ?Sized>(&mut self, ctx: &mut StepContext<'_, F>, t_new: f64) -> Attempt {
        let n = self.n;
        let t = self.t;
        let h = t_new - t;
        self.t_try = t_new;
        self.h = h;
        if !self.f0_valid {
            if let Err(nf) = ctx.eval_checked(t, &self.u, &mut self.f0) {
                return Attempt::NonFinite(nf);
            }
            self.f0_valid = true;
        }
        if !self.jacobian_valid {
            ctx.stats.jacobian_evaluations += 1;
            if let Err((row, column)) = self.jacobian.evaluate(ctx.rhs, t, &self.u, ctx.p) {
                return Attempt::NonFiniteJacobian { t, row, column };
            }
            self.jacobian
                .time_derivative(ctx.rhs, t, &self.u, &mut self.f_t);
            self.jacobian_valid = true;
        }
        let gh = GAMMA * h;
        if let Err(m) = self.matrix.factor(self.jacobian.matrix(), gh, ctx.stats) {
            return matrix_failure(t, m);
        }
        let time_dependent = self.jacobian.time_dependent();
        for i in 0..STAGES {
            let (done, rest) = self.k.split_at_mut(i * n);
            let ki = &mut rest[..n];
            // f at the stage, into `rhs`.
            if i == 0 {
                self.rhs.copy_from_slice(&self.f0);
            } else {
                combine(&mut self.stage, &self.u, A[i], done, n);
                let ti = if C[i] == 1.0 { t_new } else { t + C[i] * h };
                if let Err(nf) = ctx.eval_checked(ti, &self.stage, &mut self.rhs) {
                    return Attempt::NonFinite(nf);
                }
            }
            // rhs = γh (f_i + Σ_j (C_ij/h) k_j + h d_i f_t).
            if time_dependent && D[i] != 0.0 {
                let hd = h * D[i];
                for (r, &ft) in self.rhs.iter_mut().zip(&self.f_t) {
                    *r += hd * ft;
                }
            }
            for (j, &cij) in CC[i].iter().enumerate() {
                let w = cij / h;
                for (r, &kj) in self.rhs.iter_mut().zip(&done[j * n..(j + 1) * n]) {
                    *r += w * kj;
                }
            }
            for (kv, &r) in ki.iter_mut().zip(&self.rhs) {
                *kv = gh * r;
            }
            if let Err(m) = self.matrix.solve(ki, ctx.stats) {
                return matrix_failure(t, m);
            }
        }
        // u_new = (u + Σ a_8j k_j) + k_8; `stage` holds the first term after the loop.
        let last = &self.k[(STAGES - 1) * n..];
        for ((un, &s), &k8) in self.u_new.iter_mut().zip(&self.stage).zip(last) {
            *un = s + k8;
        }
        let error = ctx.weights.norm(last, &self.u, &self.u_new);
        Attempt::Completed { error }
    }

    fn accept(&mut self) {
        core::mem::swap(&mut self.u_prev, &mut self.u);
        core::mem::swap(&mut self.u, &mut self.u_new);
        self.t_prev = self.t;
        self.t = self.t_try;
        self.f0_valid = false;
        self.jacobian_valid = false;
    }

    fn reject(&mut self) {}

    fn next_step_size(&mut self, h: f64, error: f64, accepted: bool) -> f64 {
        self.controller.next(h, error, accepted)
    }

    fn previous_t(&self) -> f64 {
        self.t_prev
    }

    fn interpolate<F: OdeRhs + ?Sized>(
        &mut self,
        _ctx: &mut StepContext<'_, F>,
        t: f64,
        out: &mut [f64],
    ) {
        let theta = (t - self.t_prev) / self.h;
        let n = self.n;
        // (1 − θ) u_n + θ (u_{n+1} + (1 − θ)(κ₁ + θ (κ₂ + θ κ₃))), entry by entry.
        let th1 = 1.0 - theta;
        #[allow(clippy::needless_range_loop)] // stage-major storage: k[j n + i]
        for i in 0..n {
            let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
            for j in 0..STAGES {
                let kj = self.k[j * n + i];
                a += H[0][j] * kj;
                b += H[1][j] * kj;
                c += H[2][j] * kj;
            }
            out[i] =
                th1 * self.u_prev[i] + theta * (self.u[i] + th1 * (a + theta * (b + theta * c)));
        }
    }

    fn append_dense_segment<F: OdeRhs + ?Sized>(
        &mut self,
        _ctx: &mut StepContext<'_, F>,
        coefficients: &mut Vec<f64>,
    ) -> f64 {
        // r₀ = u_n, r₁ = u_{n+1} − u_n + κ₁, r₂ = κ₂ − κ₁, r₃ = κ₃ − κ₂, r₄ = −κ₃.
        let n = self.n;
        let start = coefficients.len();
        coefficients.resize(start + 5 * n, 0.0);
        let block = &mut coefficients[start..];
        let (r0, rest) = block.split_at_mut(n);
        let (r1, rest) = rest.split_at_mut(n);
        let (r2, rest) = rest.split_at_mut(n);
        let (r3, r4) = rest.split_at_mut(n);
        r0.copy_from_slice(&self.u_prev);
        self.kappa(0, r1);
        self.kappa(1, r2);
        self.kappa(2, r3);
        for i in 0..n {
            let (k1, k2, k3) = (r1[i], r2[i], r3[i]);
            r1[i] = self.u[i] - self.u_prev[i] + k1;
            r2[i] = k2 - k1;
            r3[i] = k3 - k2;
            r4[i] = -k3;
        }
        self.h
    }

    fn dense_coefficients_per_step(&self) -> usize {
        5 * self.n
    }
}
