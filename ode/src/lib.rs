//! # tangent-ode — ODE solvers of tangent
//!
//! Initial value problems `u' = f(t, u, p)`, `u(t0) = u0`, forwards or backwards in time, with
//! the right-hand side written once, generic over [`tangent_ad::Scalar`] ([`OdeRhs`]), so that
//! every AD mode of tangent can differentiate it.
//!
//! * **Problem** ([`OdeProblem`]): `f`, `u0`, `p`, the time span, [`OdeOptions`] (`rtol` and
//!   `atol` scalar or per component, `saveat`, dense output on/off, first step size — automatic
//!   by Hairer's algorithm —, fixed or adaptive steps, step budget, minimum and maximum step),
//!   and optional [`EventFunction`]s.
//! * **Algorithms** ([`OdeAlgorithm`]): the explicit Runge–Kutta pairs [`Tsit5`] (Tsitouras
//!   5(4)), [`Dp5`] (Dormand–Prince 5(4)) and [`Vern7`] (Verner 7(6)), each with its own
//!   continuous extension and a PI step-size controller ([`PiController`]); see
//!   [`explicit`] for the formulas, orders and sources; and for stiff problems ([`stiff`]) the
//!   Rosenbrock method [`Rodas5P`] (Steinebach 2023, order 5(4), order-4 dense output), the
//!   variable-order variable-step [`Bdf`] (orders 1–5, or the NDFs, with the Jacobian and the
//!   factorised iteration matrix reused across steps as CVODE does) and [`TrBdf2`] (Hosea &
//!   Shampine's ESDIRK form). Their Jacobians come from dense forward AD, sparse coloured AD
//!   (pattern detected from the generic `f` once per solve) or the user ([`JacobianMethod`]);
//!   the iteration matrices are factorised by `tangent_linsolve` (dense LU, or the sparse LU
//!   whose numeric refactorisation reuses its symbolic analysis). `tstops` step exactly to the
//!   discontinuities of `f` in `t`.
//! * **Solution** ([`Solution`]): saved times and states, the dense output
//!   ([`Solution::at`]), counters ([`Stats`]: evaluations of `f`, Jacobians, factorisations,
//!   linear solves, accepted and rejected steps), located events and a [`ReturnCode`];
//!   serialisable with serde.
//! * **Events** ([`event`]): zero crossings of `g_i(t, u, p)` located by Brent's method on the
//!   interpolant; terminal ones end the solve.
//! * **Errors** ([`OdeError`]): bad input found before the first step, and integration failures —
//!   a non-finite `f` at time `t`, a step size below the minimum at `t`, the step budget, a
//!   singular iteration matrix or a non-finite Jacobian of a stiff method — each carrying the
//!   partial solution. A Newton iteration that fails shrinks the step.
//! * **Repeated solves** ([`init`] → [`Integrator`]): buffers, stepper and solution storage are
//!   prepared once; changing `u0` or `p` and solving again allocates nothing.
//! * **Reference problems** ([`problems`]): P1 Lotka–Volterra, P2 Robertson, P3 2-D Brusselator,
//!   with their oracle values.
//!
//! The step loop is shared by every method ([`integrator`]); a method only provides a
//! [`Stepper`] ([`algorithm`] describes the protocol and how implicit methods with Jacobians,
//! linear solvers and Newton iterations fit it).
//!
//! ```
//! use tangent_ode::problems::LotkaVolterra;
//! use tangent_ode::{OdeOptions, OdeProblem, OdeRhs, ReturnCode, Tsit5, solve};
//! use tangent_ad::Scalar;
//!
//! // The Lotka–Volterra model, written once for every scalar type.
//! struct Lv;
//! impl OdeRhs for Lv {
//!     fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
//!         du[0] = p[0] * u[0] - p[1] * u[0] * u[1];
//!         du[1] = -p[2] * u[1] + p[3] * u[0] * u[1];
//!     }
//! }
//! let opts = OdeOptions {
//!     rtol: 1e-8.into(),
//!     atol: 1e-10.into(),
//!     saveat: (0..=100).map(|k| k as f64 / 10.0).collect(),
//!     ..Default::default()
//! };
//! let prob = OdeProblem::new(Lv, vec![1.0, 1.0], (0.0, 10.0), vec![1.5, 1.0, 3.0, 1.0])
//!     .with_options(opts);
//! let sol = solve(&prob, &Tsit5::default()).unwrap();
//! assert_eq!(sol.retcode(), ReturnCode::Success);
//! assert_eq!(sol.times()[37], 3.7); // saveat times are exact
//! let loss: f64 = sol.states().iter().map(|v| v * v).sum();
//! assert!((loss - LotkaVolterra::ORACLE_LOSS).abs() < 1e-5 * LotkaVolterra::ORACLE_LOSS);
//! // The continuous interpolant between the saved points:
//! let u = sol.at(3.75).unwrap();
//! assert!(u[0] > 0.0 && u[1] > 0.0);
//! println!("{} steps, {} evaluations of f", sol.stats().accepted_steps, sol.stats().rhs_evaluations);
//! ```
//!
//! A stiff problem (P2, Robertson's kinetics) with BDF: the Jacobian by forward AD, a handful of
//! Jacobians and factorisations for hundreds of steps.
//!
//! ```
//! use tangent_ode::problems::Robertson;
//! use tangent_ode::{Bdf, solve};
//!
//! let sol = solve(&Robertson::problem(), &Bdf::default()).unwrap();
//! let u3 = sol.last_state().unwrap()[2];
//! assert!((u3 - Robertson::ORACLE_U3_END).abs() < 1e-5 * Robertson::ORACLE_U3_END);
//! let s = sol.stats();
//! assert!(s.jacobian_evaluations < s.accepted_steps / 10);
//! ```

pub mod algorithm;
pub mod error;
pub mod event;
pub mod explicit;
pub mod integrator;
pub mod problem;
pub mod problems;
pub mod solution;
pub mod stiff;

pub use algorithm::{
    Attempt, ErrorWeights, NonFinite, OdeAlgorithm, PiController, PiState, StepContext, Stepper,
};
pub use error::OdeError;
pub use event::{Crossing, EventFunction, EventRecord, NoEvents};
pub use explicit::{Dp5, ErkStepper, ExplicitRungeKutta, Tsit5, Vern7};
pub use integrator::{Integrator, init, solve};
pub use problem::{OdeOptions, OdeProblem, OdeRhs, Tolerance};
pub use solution::{DenseOutput, ReturnCode, Solution, Stats};
pub use stiff::{
    Bdf, BdfStepper, JacobianMethod, NewtonOptions, Rodas5P, RodasStepper, StiffInfo, TrBdf2,
    TrBdf2Stepper, UserJacobian,
};
