//! Custom differentiation rules: the one hook through which solvers join every AD mode.
//!
//! A [`Rule`] is a differentiable map `y = F(x)` (`x ∈ Rⁿ`, `y ∈ Rᵐ`) given by
//!
//! * a **primal** on plain `f64` data that also returns a *state* — whatever the derivatives can
//!   reuse (a factorisation, a converged Newton Jacobian, a checkpointed trajectory);
//! * a **jvp** (forward rule) `ẏ = J(x) ẋ` for `k` tangent directions at once;
//! * a **vjp** (reverse rule) `x̄ += J(x)ᵀ ȳ`;
//! * optionally its **dependency pattern** (which outputs depend on which inputs) for tracers.
//!
//! [`Scalar::apply_rule`](crate::Scalar::apply_rule) dispatches: `f64` runs the primal,
//! [`Dual`](crate::Dual) runs the primal and one batched jvp, the tape variable records one node
//! that owns the state until its pullback has run, the tracers record the pattern.
//!
//! # Second order
//!
//! The jvp and vjp are generic over [`Scalar`](crate::Scalar). They are called with
//! `S = f64` for first derivatives. For second derivatives they are called with `S` a
//! [`Dual`](crate::Dual): the nested dual `Dual<N, Dual<M>>` differentiates the jvp (forward
//! over forward), and the tape's Hessian-vector product differentiates the vjp (forward over
//! reverse). A rule whose derivative is itself a solve of the same kind writes that solve
//! through `S::apply_rule` again and gets second derivatives for free; a rule that cannot
//! differentiate its own derivatives returns [`RuleError::Unsupported`] when `S` is not `f64`
//! (see [`is_f64`]).
//!
//! In a call with a dual `S`, `x` and `y` carry the tangents of the inputs and outputs of the
//! outer direction: the returned derivative must be differentiated accordingly (for example, for a
//! linear solve `y = A⁻¹ b`, the jvp `A⁻¹(ḃ − Ȧ y)` depends on `A` and `y`).
//!
//! # Example: a 2×2 linear solve as a rule
//!
//! ```
//! use tangent_ad::{Rule, RuleError, Scalar};
//!
//! /// y = A⁻¹ b for A = [[a0, a1], [a2, a3]] (row-major), inputs (a0..a3, b0, b1).
//! #[derive(Clone)]
//! struct Solve2;
//!
//! fn solve2<S: Scalar>(a: &[S], b: &[S]) -> [S; 2] {
//!     let det = a[0] * a[3] - a[1] * a[2];
//!     [(a[3] * b[0] - a[1] * b[1]) / det, (a[0] * b[1] - a[2] * b[0]) / det]
//! }
//!
//! impl Rule for Solve2 {
//!     type State = ();
//!     fn n_inputs(&self) -> usize { 6 }
//!     fn n_outputs(&self) -> usize { 2 }
//!     fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<(), RuleError> {
//!         y.copy_from_slice(&solve2(&x[..4], &x[4..]));
//!         Ok(())
//!     }
//!     // ẏ = A⁻¹ (ḃ − Ȧ y) for each direction.
//!     fn jvp<S: Scalar>(&self, _: &(), x: &[S], y: &[S], dx: &[S], dy: &mut [S]) -> Result<(), RuleError> {
//!         for (d, out) in dx.chunks_exact(6).zip(dy.chunks_exact_mut(2)) {
//!             let r = [d[4] - (d[0] * y[0] + d[1] * y[1]), d[5] - (d[2] * y[0] + d[3] * y[1])];
//!             out.copy_from_slice(&solve2(&x[..4], &r));
//!         }
//!         Ok(())
//!     }
//!     // b̄ = A⁻ᵀ ȳ, Ā = −b̄ yᵀ.
//!     fn vjp<S: Scalar>(&self, _: &(), x: &[S], y: &[S], ybar: &[S], xbar: &mut [S]) -> Result<(), RuleError> {
//!         let at = [x[0], x[2], x[1], x[3]];
//!         let bb = solve2(&at, ybar);
//!         for i in 0..2 {
//!             for j in 0..2 {
//!                 xbar[2 * i + j] -= bb[i] * y[j];
//!             }
//!             xbar[4 + i] += bb[i];
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let x = [2.0, 1.0, 1.0, 3.0, 1.0, 2.0];
//! let mut y = [0.0; 2];
//! f64::apply_rule(&Solve2, &x, &mut y).unwrap();
//! assert!((y[0] - 0.2).abs() < 1e-15 && (y[1] - 0.6).abs() < 1e-15);
//! ```

use core::any::TypeId;

/// Why a rule could not be applied or differentiated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A slice passed to the rule has the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which slice.
        what: &'static str,
        /// The length the rule declares.
        expected: usize,
        /// The length it was given.
        found: usize,
    },
    /// The rule does not support this operation (e.g. second derivatives, or being applied to a
    /// scalar type that cannot hold its state).
    #[error("rule does not support {0}")]
    Unsupported(&'static str),
    /// The rule's own computation failed (a singular matrix, a solver that did not converge…).
    #[error("rule failed: {0}")]
    Failed(String),
}

/// Which outputs of a rule depend on which inputs (used by the sparsity tracers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DependencyPattern {
    /// Every output depends on every input (the default).
    Dense,
    /// `deps[i]` lists the inputs output `i` depends on.
    PerOutput(Vec<Vec<usize>>),
}

/// A differentiable map `y = F(x)` with hand-written derivative rules; see the module docs.
///
/// Rules are cloned into the tape when recorded (so that a prepared tape can re-run the primal on
/// replay) and must be `Send + 'static`: hold large or shared data behind an `Arc`.
pub trait Rule: Clone + Send + 'static {
    /// What the primal leaves for the derivatives (a factorisation, a trajectory…).
    type State: Send + 'static;

    /// Number of inputs `n`.
    fn n_inputs(&self) -> usize;

    /// Number of outputs `m`.
    fn n_outputs(&self) -> usize;

    /// Evaluates `y = F(x)` (`x.len() == n`, `y.len() == m`) and returns the state the
    /// derivatives reuse.
    fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<Self::State, RuleError>;

    /// Forward rule: `dy[j*m..(j+1)*m] = J(x) · dx[j*n..(j+1)*n]` for each of the `k = dx.len() / n`
    /// directions (all at once, so a solver can do one multi-right-hand-side solve). `y` is the
    /// primal output. See the module docs for `S` other than `f64`.
    fn jvp<S: crate::Scalar>(
        &self,
        state: &Self::State,
        x: &[S],
        y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError>;

    /// Reverse rule: `xbar += J(x)ᵀ ybar` (accumulate, do not overwrite). See the module docs for
    /// `S` other than `f64`.
    fn vjp<S: crate::Scalar>(
        &self,
        state: &Self::State,
        x: &[S],
        y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError>;

    /// Which outputs depend on which inputs; dense unless overridden.
    fn dependencies(&self) -> DependencyPattern {
        DependencyPattern::Dense
    }
}

/// `true` when `S` is `f64`: rules that implement first derivatives only return
/// [`RuleError::Unsupported`] otherwise.
#[inline]
pub fn is_f64<S: 'static>() -> bool {
    TypeId::of::<S>() == TypeId::of::<f64>()
}
