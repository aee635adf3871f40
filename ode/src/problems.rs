//! The reference problems P1–P3 of `problems/README.md` in code, with their oracle values, shared
//! by the tests and the benchmarks.
//!
//! * [`LotkaVolterra`] (P1, non-stiff, 2 states, 4 parameters), `t ∈ [0, 10]`, observed at
//!   `t_k = 0.1 k`; loss `L = Σ_k u₁(t_k)² + u₂(t_k)²`.
//! * [`Robertson`] (P2, stiff, 3 states, 3 rate constants), `t ∈ [0, 10⁵]`, `rtol = 1e-6`,
//!   `atol = 1e-10`; losses `u₃(10⁵)` and `Σ_j u₃(10^(−4 + j/10))`.
//! * [`Brusselator`] (P3, stiff, `2N²` states with a sparse Jacobian), `t ∈ [0, 11.5]` with the
//!   forcing switched on at `t = 1.1`; loss: the sum of all states at the end.
//!
//! Oracle values are copied from `problems/oracles.json` (the tests compare them with the file),
//! each with the way it was obtained.
//!
//! ```
//! use tangent_ode::problems::LotkaVolterra;
//! use tangent_ode::{OdeOptions, Vern7, solve};
//!
//! let prob = LotkaVolterra::problem().with_options(OdeOptions {
//!     rtol: 1e-12.into(),
//!     atol: 1e-12.into(),
//!     saveat: LotkaVolterra::observation_times(),
//!     dense: false,
//!     ..Default::default()
//! });
//! let sol = solve(&prob, &Vern7::default()).unwrap();
//! let loss = LotkaVolterra::loss(&sol);
//! assert!((loss - LotkaVolterra::ORACLE_LOSS).abs() < 1e-9 * LotkaVolterra::ORACLE_LOSS);
//! ```

use tangent_ad::Scalar;
use tangent_ad::problems::Brusselator2D;

use crate::problem::{OdeOptions, OdeProblem, OdeRhs};
use crate::solution::Solution;

/// P1: the Lotka–Volterra predator–prey model
/// `u₁' = a u₁ − b u₁ u₂`, `u₂' = −c u₂ + d u₁ u₂`, `p = (a, b, c, d)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LotkaVolterra;

impl OdeRhs for LotkaVolterra {
    #[inline]
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
        let uv = u[0] * u[1];
        du[0] = p[0] * u[0] - p[1] * uv;
        du[1] = p[3] * uv - p[2] * u[1];
    }
}

impl LotkaVolterra {
    /// `p = (a, b, c, d) = (1.5, 1, 3, 1)`.
    pub const PARAMS: [f64; 4] = [1.5, 1.0, 3.0, 1.0];
    /// `u(0) = (1, 1)`.
    pub const U0: [f64; 2] = [1.0, 1.0];
    /// `t ∈ [0, 10]`.
    pub const T_END: f64 = 10.0;
    /// The oracle loss `L = Σ_{k=0}^{100} u₁(t_k)² + u₂(t_k)²` (`oracles.json` `P1.loss`: SciPy
    /// DOP853 at `rtol = 1e-13`, `atol = 1e-15` on the forward-sensitivity system, cross-checked
    /// with Radau to a relative 7·10⁻¹⁵).
    pub const ORACLE_LOSS: f64 = 1717.3587265483015;
    /// The oracle gradient `dL/d(a, b, c, d, u₁(0), u₂(0))` (`oracles.json` `P1.grad_p_u0`).
    pub const ORACLE_GRADIENT: [f64; 6] = [
        69.55371429788539,
        -1105.1222568668832,
        1030.6588998146683,
        -3627.0178625191925,
        -1039.4285119251365,
        -257.9941543643355,
    ];

    /// P1 with the default options (`rtol = 1e-6`, `atol = 1e-8`).
    pub fn problem() -> OdeProblem<LotkaVolterra> {
        OdeProblem::new(LotkaVolterra, Self::U0, (0.0, Self::T_END), Self::PARAMS)
    }

    /// The observation times `t_k = 0.1 k`, `k = 0..=100` (computed as `k / 10` so that the last
    /// is exactly 10).
    pub fn observation_times() -> Vec<f64> {
        (0..=100).map(|k| k as f64 / 10.0).collect()
    }

    /// `Σ_i u₁(t_i)² + u₂(t_i)²` over the saved points of `sol` (saved at
    /// [`observation_times`](Self::observation_times), this is P1's loss).
    pub fn loss(sol: &Solution) -> f64 {
        sol.states().iter().map(|v| v * v).sum()
    }
}

/// P2: Robertson's chemical kinetics
/// `u₁' = −k₁u₁ + k₃u₂u₃`, `u₂' = k₁u₁ − k₂u₂² − k₃u₂u₃`, `u₃' = k₂u₂²`, `p = (k₁, k₂, k₃)`.
///
/// Stiff (eigenvalues down to about −10⁴ over most of the span): an explicit method needs
/// hundreds of thousands of stability-limited steps; it is here for the stiff methods and for
/// short-time checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Robertson;

impl OdeRhs for Robertson {
    #[inline]
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
        let r1 = p[0] * u[0];
        let r2 = p[1] * u[1] * u[1];
        let r3 = p[2] * u[1] * u[2];
        du[0] = r3 - r1;
        du[1] = r1 - r2 - r3;
        du[2] = r2;
    }
}

impl Robertson {
    /// `k = (0.04, 3·10⁷, 10⁴)`.
    pub const PARAMS: [f64; 3] = [0.04, 3e7, 1e4];
    /// `u(0) = (1, 0, 0)`.
    pub const U0: [f64; 3] = [1.0, 0.0, 0.0];
    /// `t ∈ [0, 10⁵]`.
    pub const T_END: f64 = 1e5;
    /// The problem's relative tolerance.
    pub const RTOL: f64 = 1e-6;
    /// The problem's absolute tolerance (for the small species `u₂ ~ 10⁻⁵`).
    pub const ATOL: f64 = 1e-10;
    /// `u₃(10⁵)` (`oracles.json` `P2.La_u3_T`: SciPy Radau at `rtol = 1e-12`, `atol = 1e-16`,
    /// cross-checked with BDF at `rtol = 1e-11` to a relative 5·10⁻¹⁰).
    pub const ORACLE_U3_END: f64 = 0.9821340061103251;
    /// `Σ_{j=0}^{90} u₃(10^(−4 + j/10))` (`oracles.json` `P2.Lb_sum_u3_tk`).
    pub const ORACLE_SUM_U3: f64 = 26.72240919974644;
    /// `d u₃(10⁵) / dk` (`oracles.json` `P2.dLa_dk`).
    pub const ORACLE_DU3_END_DK: [f64; 3] = [
        0.7930485970103783,
        5.281825260603082e-10,
        -3.169081698392327e-06,
    ];
    /// `d Σ u₃(t_j) / dk` (`oracles.json` `P2.dLb_dk`).
    pub const ORACLE_DSUM_U3_DK: [f64; 3] = [
        187.18379242495863,
        1.0718325792782466e-07,
        -0.0006429803857295736,
    ];

    /// P2 at its tolerances.
    pub fn problem() -> OdeProblem<Robertson> {
        OdeProblem::new(Robertson, Self::U0, (0.0, Self::T_END), Self::PARAMS).with_options(
            OdeOptions {
                rtol: Self::RTOL.into(),
                atol: Self::ATOL.into(),
                ..Default::default()
            },
        )
    }

    /// The observation times `10^(−4 + j/10)`, `j = 0..=90`.
    pub fn observation_times() -> Vec<f64> {
        (0..=90)
            .map(|j| 10f64.powf(-4.0 + j as f64 / 10.0))
            .collect()
    }
}

/// P3: the 2-D Brusselator on an `N × N` periodic grid (SciML's `bruss_2d`), `2N²` states, as an
/// [`OdeRhs`] over `tangent_ad`'s [`Brusselator2D`] (which documents the equations and the state
/// ordering). `p = (A, B, α) = (3.4, 1, 10)`.
///
/// The forcing switches on at `t = 1.1` ([`Brusselator::FORCING_ON`]): integrate `[0, 1.1]` and
/// `[1.1, 11.5]` as two problems, the second starting from the first's end state, so that no
/// step straddles the discontinuity.
#[derive(Clone, Copy, Debug)]
pub struct Brusselator {
    /// The grid and right-hand side.
    pub grid: Brusselator2D,
}

impl OdeRhs for Brusselator {
    #[inline]
    fn rhs<S: Scalar>(&self, t: S, u: &[S], p: &[S], du: &mut [S]) {
        self.grid.rhs(t.value(), u, p, du);
    }
}

impl Brusselator {
    /// `p = (A, B, α) = (3.4, 1, 10)`.
    pub const PARAMS: [f64; 3] = Brusselator2D::PARAMS;
    /// The time at which the forcing switches on.
    pub const FORCING_ON: f64 = Brusselator2D::FORCING_ON;
    /// `t ∈ [0, 11.5]`.
    pub const T_END: f64 = Brusselator2D::T_END;
    /// Sum of all `2N²` states at `t = 11.5` for `N = 32` (`oracles.json` `P3.N32.L_sum_all`:
    /// CasADi/CVODES at `rtol = 1e-10`, `atol = 1e-12`, split at `t = 1.1`; SciPy BDF at 1e-10
    /// agrees to a relative 1.6·10⁻⁸).
    pub const ORACLE_N32_SUM: f64 = 5706.975873720265;
    /// Sum of the `u` states at `t = 11.5`, `N = 32` (`P3.N32.L_sum_u`).
    pub const ORACLE_N32_SUM_U: f64 = 3351.543294197192;
    /// Sum of the `v` states at `t = 11.5`, `N = 32` (`P3.N32.L_sum_v`).
    pub const ORACLE_N32_SUM_V: f64 = 2355.4325795230707;
    /// `dL/d(A, B, α)` for `N = 32` (`P3.N32.dL_dtheta`).
    pub const ORACLE_N32_DL_DTHETA: [f64; 3] =
        [7310.297852835628, -35843.64421661298, -0.4375074162481964];

    /// The right-hand side on an `n × n` grid.
    pub fn new(n: usize) -> Self {
        Self {
            grid: Brusselator2D { n },
        }
    }

    /// P3 on `[0, 1.1]` (before the forcing) from the reference initial state.
    ///
    /// The last step of a solve on this span evaluates `f` at `t = 1.1`, where the forcing is
    /// already on: the step sees the jump and is rejected a few times. A single solve over
    /// `[0, 11.5]` with `tstops = [1.1]` (see [`OdeOptions::tstops`](crate::OdeOptions)) stops on the
    /// float before the switch instead, and is the cleaner route for the stiff methods.
    pub fn problem_before_forcing(n: usize) -> OdeProblem<Brusselator> {
        let b = Self::new(n);
        OdeProblem::new(
            b,
            b.grid.initial_state(),
            (0.0, Self::FORCING_ON),
            Self::PARAMS,
        )
    }

    /// P3 on `[1.1, 11.5]` (forcing on) from the state `u_forcing_on` at `t = 1.1` (length `2n²`).
    pub fn problem_after_forcing(n: usize, u_forcing_on: Vec<f64>) -> OdeProblem<Brusselator> {
        OdeProblem::new(
            Self::new(n),
            u_forcing_on,
            (Self::FORCING_ON, Self::T_END),
            Self::PARAMS,
        )
    }
}
