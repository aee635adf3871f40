//! Stiff methods: a Rosenbrock method, variable-order BDF and TR-BDF2, with Jacobians by dense or
//! sparse-coloured AD (or supplied by the user) and linear algebra through `tangent_linsolve`.
//!
//! A problem is stiff when the Jacobian `J = ∂f/∂u` has eigenvalues with large negative real
//! parts compared with the time scale of the solution: explicit methods are then limited by
//! stability, not accuracy, to steps of order `1/|λ_max|` (P2 needs ~10⁵ explicit steps, P3 at
//! `N = 32` about as many). The methods here are implicit (or linearly implicit): each step
//! solves linear systems with the *iteration matrix* `I − c J` (`c` a multiple of the step
//! size), which stays well conditioned however stiff the problem.
//!
//! | method | order (estimate) | per step | dense output | best at |
//! | --- | --- | --- | --- | --- |
//! | [`Rodas5P`] | 5 (4) | 1 `J`, 1 factorisation, 8 `f`, 8 solves | order 4, stage-based | small/medium systems, tight tolerances |
//! | [`Bdf`] | 1–5 variable (same) | Newton: ~1–3 `f` and solves; `J` and factorisation reused across steps | interpolating polynomial of the history | large systems, loose to moderate tolerances |
//! | [`TrBdf2`] | 2 (3) | 2 Newton solves; reuse as BDF | quadratic through the stages | low accuracy, non-smooth problems |
//!
//! # Jacobians ([`jacobian`])
//!
//! `J` comes from dense forward-mode AD (`Dual<8>`), from sparse coloured forward-mode AD on the
//! pattern detected once per solve by tracing `f` (`tangent_sparsity`), or from a function the
//! user supplies ([`JacobianMethod`]). The default takes the sparse route for large sparse
//! patterns. Rosenbrock methods also need `∂f/∂t`, computed by one `Dual<1>` evaluation unless
//! tracing shows that `f` is autonomous.
//!
//! # Linear algebra (`linear`)
//!
//! `I − c J` is assembled into storage prepared once — `J`'s pattern plus the diagonal for a
//! sparse `J` — and factorised by `tangent_linsolve`: dense LU, or the sparse LU whose symbolic
//! analysis is done once and whose numeric refactorisation allocates nothing. Any
//! [`LinearAlgorithm`] can be chosen; the default follows the matrix.
//!
//! # Newton and reuse ([`newton`])
//!
//! BDF and TR-BDF2 solve their implicit stages by a simplified Newton iteration written here
//! (CVODE keeps its own Newton too), with the Jacobian and the factorisation kept across steps
//! until the step size has changed by more than 30 %, a fixed number of steps has passed, or
//! Newton converges slowly — SUNDIALS CVODE's policy. On P3 this cuts factorisations to one per
//! several steps.
//!
//! # Failures
//!
//! A Newton iteration that fails even with a fresh Jacobian rejects the step, which is retried
//! with a quarter of its size (counted in [`Stats::convergence_failures`](crate::Stats)). A
//! singular iteration matrix (an exactly zero pivot) shrinks the step too; it ends the solve
//! with [`OdeError::SingularIterationMatrix`] when the step cannot shrink (fixed steps, or the
//! minimum step reached). A non-finite Jacobian ends it with
//! [`OdeError::NonFiniteJacobian`]. Each keeps the partial solution.
//!
//! # Counters
//!
//! [`Stats`](crate::Stats) counts Jacobians, factorisations, linear solves, Newton iterations and
//! convergence failures besides evaluations of `f` and steps. Jacobian evaluations by AD are not
//! counted as evaluations of `f`.

pub mod bdf;
pub mod jacobian;
pub(crate) mod linear;
pub mod newton;
pub mod rodas;
pub mod trbdf2;

pub use bdf::{Bdf, BdfStepper};
pub use jacobian::{JacobianMethod, UserJacobian};
pub use newton::NewtonOptions;
pub use rodas::{Rodas5P, RodasStepper};
pub use trbdf2::{TrBdf2, TrBdf2Stepper};

use tangent_linsolve::LinearAlgorithm;

use crate::error::OdeError;
use crate::event::EventFunction;
use crate::problem::{OdeProblem, OdeRhs};
use jacobian::JacobianEvaluator;
use linear::IterationMatrix;

/// The Jacobian evaluator and iteration matrix prepared for a problem.
pub(crate) struct Prepared {
    pub(crate) jacobian: JacobianEvaluator,
    pub(crate) matrix: IterationMatrix,
}

impl Prepared {
    pub(crate) fn new<F: OdeRhs, E: EventFunction>(
        method: &JacobianMethod,
        linear_solver: &LinearAlgorithm,
        problem: &OdeProblem<F, E>,
    ) -> Result<Self, OdeError> {
        let n = problem.dim();
        let jacobian = JacobianEvaluator::new(
            method,
            &problem.rhs,
            problem.tspan.0,
            &problem.u0,
            &problem.p,
        )?;
        let matrix = IterationMatrix::new(&jacobian, linear_solver, n)?;
        Ok(Self { jacobian, matrix })
    }
}

/// What a stiff method prepared for its problem (for diagnostics and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StiffInfo {
    /// `J` is stored sparse (sparse AD or a sparse user Jacobian).
    pub sparse_jacobian: bool,
    /// Stored entries of `J` (`n²` when dense).
    pub jacobian_nnz: usize,
    /// Colours of the sparse AD Jacobian (`⌈colours/8⌉` evaluations of `f` on `Dual<8>` per
    /// Jacobian); `None` for the other routes.
    pub colors: Option<usize>,
    /// `∂f/∂t` is computed (tracing did not prove `f` autonomous).
    pub time_dependent: bool,
    /// The linear solver of the iteration matrix (after resolving `Auto`).
    pub linear_solver: &'static str,
}

impl StiffInfo {
    pub(crate) fn new(jacobian: &JacobianEvaluator, matrix: &IterationMatrix) -> Self {
        Self {
            sparse_jacobian: jacobian.is_sparse(),
            jacobian_nnz: jacobian.nnz(),
            colors: jacobian.colors(),
            time_dependent: jacobian.time_dependent(),
            linear_solver: matrix.algorithm_name(),
        }
    }
}
