//! Tracer scalars: run a function once to learn which outputs depend on which inputs.
//!
//! # The idea
//!
//! A Jacobian tracer stands for the set `G(v) ⊆ {0, …, n−1}` of inputs a value `v` depends on:
//! inputs are `G(x_j) = {j}`, constants `∅`, and every operation unions the sets of its
//! non-constant operands. After one evaluation of `f` on tracers, row `i` of the Jacobian pattern
//! is `G(y_i)`. A Hessian tracer also stands for the set `H(v)` of *interacting pairs* `{j, k}`
//! (those with `∂²v/∂x_j∂x_k` possibly nonzero), propagated by the second-order chain rule:
//!
//! | operation | `G` | `H` |
//! | --- | --- | --- |
//! | `a ± b`, `c·a`, `a/c`, `min`, `max`, `abs`, `a % b` (linear almost everywhere) | `Ga ∪ Gb` | `Ha ∪ Hb` |
//! | `φ(a)` nonlinear (`exp`, `sin`, `sqrt`, `powi`, …) | `Ga` | `Ha ∪ Ga×Ga` |
//! | `a · b` | `Ga ∪ Gb` | `Ha ∪ Hb ∪ Ga×Gb` |
//! | `a / b` | `Ga ∪ Gb` | `Ha ∪ Hb ∪ Ga×Gb ∪ Gb×Gb` |
//! | `pow(a, b)`, `atan2`, `hypot` | `Ga ∪ Gb` | `Ha ∪ Hb ∪ (Ga∪Gb)²` |
//! | `floor`, `signum`, … (derivative 0) | `∅` | `∅` |
//!
//! (`×` is symmetrised.) This is the operator-overloading scheme of SparseConnectivityTracer.jl
//! (Hill & Dalle, 2025) and of the index-domain propagation in ADOL-C (Walther, 2008).
//!
//! # Representation (chosen by measurement)
//!
//! `Scalar` requires `Copy`, so a tracer cannot own a set. A tracer is 16 bytes — the primal
//! value, an id and the generation of its detection — and the sets live on the thread that runs
//! the detection as a **dependency graph**: leaves `0..n` are the inputs, and each binary
//! operation on two non-constant tracers appends a 12-byte node. Unary operations of the
//! Jacobian tracer record nothing (`G(φ(a)) = G(a)`: the result keeps `a`'s id), and `x + x`
//! keeps `x`'s id. The sets are read off the graph afterwards: row `i` of a Jacobian pattern is
//! the set of leaves reachable from `y_i` (one depth-first search with a visit stamp per output);
//! a Hessian pattern is the union of the pairs of every nonlinear node reachable from the
//! output. Compared with eagerly merged sorted vectors (SparseConnectivityTracer.jl's default),
//! recording costs a constant per operation whatever the set sizes, and a reduction
//! `Σ x_i` costs `O(n)` instead of the `O(n²)` of materialising every partial sum's set. On P3
//! the whole detection (tracing, the searches, building the CSC pattern) costs about 50 `f64`
//! evaluations of the right-hand side at `N = 32` (0.37 ms) and 30 at `N = 64` (benchmark
//! `sparsity`), against the target of 200.
//!
//! # Global and local mode
//!
//! * **Global** ([`GlobalJacobianTracer`], [`GlobalHessianTracer`]): the pattern is valid for
//!   *every* input. A global tracer carries no primal value unless it is a constant (constants
//!   carry theirs, so `if n_terms > 2.0` on constants still works). Comparing a tracer that
//!   depends on the inputs, or asking for its [`value`](tangent_ad::Scalar::value), cannot be
//!   answered for all inputs at once: the comparison returns `false` (`partial_cmp` returns
//!   `None`), `value()` returns NaN, and the detection reports
//!   [`SparsityError::ValueDependentControlFlow`](crate::SparsityError::ValueDependentControlFlow)
//!   — never a silently wrong pattern, never a panic. `min`/`max` depend on both arguments.
//!   `is_finite()` is `true` and `is_nan()` `false` for non-constant global tracers (guards
//!   against non-finite values take their finite branch, which is the pattern of interest).
//! * **Local** ([`LocalJacobianTracer`], [`LocalHessianTracer`]): the tracer carries the primal
//!   value computed as `f64` does, so comparisons and branches follow the path taken at the
//!   given point, and `min`/`max` depend on the chosen argument only (both on a tie). The pattern
//!   is that of the path taken at that point.
//!
//! Both modes are *structural*: a dependency through an operation whose derivative vanishes only
//! at isolated points (`abs` at 0, `x · y` at `y = 0`) is kept. The pattern is therefore exact
//! for the sparsity of the derivative at generic points and an over-approximation of the
//! numerically-zero entries at special points.
//!
//! # Rules
//!
//! [`Scalar::apply_rule`](tangent_ad::Scalar::apply_rule) records the rule's declared
//! [`DependencyPattern`](tangent_ad::DependencyPattern): every output depends on every input
//! ([`Dense`](tangent_ad::DependencyPattern::Dense), the default) or on its listed inputs
//! ([`PerOutput`](tangent_ad::DependencyPattern::PerOutput)). For the Hessian tracer a rule's
//! output is treated as a fully nonlinear function of the inputs it depends on (all their pairs
//! interact): the safe default, since a rule says nothing about its second derivatives. In
//! local mode (and in global mode when all inputs are constants) the rule's primal runs on the
//! values; in global mode with non-constant inputs it does not run (its outputs have no value),
//! and [`Scalar::apply_rule_with_state`](tangent_ad::Scalar::apply_rule_with_state) returns
//! [`RuleError::Unsupported`](tangent_ad::RuleError::Unsupported).
//!
//! # Threads
//!
//! A detection records on the thread that calls it: a function that sends tracers to other
//! threads (rayon inside `f`) makes *orphan* tracers there, and the detection reports
//! [`SparsityError::ForeignTracer`](crate::SparsityError::ForeignTracer) if an orphan reaches an
//! output. Tracers kept from an earlier detection are detected the same way.
//!
//! # References
//!
//! * A. Hill, G. Dalle, *Sparser, Better, Faster, Stronger: Sparsity Detection for Efficient
//!   Automatic Differentiation*, TMLR 2025 (SparseConnectivityTracer.jl).
//! * A. Walther, *Computing sparse Hessians with automatic differentiation*, ACM TOMS 34(1), 2008.

mod ops;
pub(crate) mod trace;

use core::fmt;
use core::marker::PhantomData;

use trace::{CONST, Kind, OPAQUE, ORPHAN, with_active};

/// Marker of what a tracer detects: [`Jacobian`] or [`Hessian`].
pub trait TracerKind: Copy + Send + Sync + 'static + private::Sealed {
    /// `true` for the Hessian tracer (unary nonlinear operations record a node).
    const HESSIAN: bool;
}

/// Marker of the mode of a tracer: [`Global`] or [`Local`].
pub trait TracerMode: Copy + Send + Sync + 'static + private::Sealed {
    /// `true` when the tracer carries primal values and follows branches.
    const LOCAL: bool;
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Jacobian {}
    impl Sealed for super::Hessian {}
    impl Sealed for super::Global {}
    impl Sealed for super::Local {}
}

/// First-order sparsity (Jacobian patterns).
#[derive(Clone, Copy, Debug, Default)]
pub struct Jacobian;
/// Second-order sparsity (Hessian patterns).
#[derive(Clone, Copy, Debug, Default)]
pub struct Hessian;
/// A pattern valid for every input; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Global;
/// The pattern at a point, following the branches taken there; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl TracerKind for Jacobian {
    const HESSIAN: bool = false;
}
impl TracerKind for Hessian {
    const HESSIAN: bool = true;
}
impl TracerMode for Global {
    const LOCAL: bool = false;
}
impl TracerMode for Local {
    const LOCAL: bool = true;
}

/// A sparsity tracer scalar: implements [`Scalar`](tangent_ad::Scalar) so that any generic
/// function runs on it; see the module docs. Made by the detection functions
/// ([`jacobian_sparsity`](crate::jacobian_sparsity), …); a tracer made with
/// [`Scalar::cst`](tangent_ad::Scalar::cst) or `From<f64>` is a constant.
pub struct Tracer<K: TracerKind, M: TracerMode> {
    /// The primal value (NaN for a non-constant global tracer).
    pub(crate) value: f64,
    /// Input index (`< n`), node id, [`CONST`], [`OPAQUE`] or [`ORPHAN`].
    pub(crate) id: u32,
    /// The detection's generation (0 for constants and orphans).
    pub(crate) generation: u32,
    _marker: PhantomData<(K, M)>,
}

/// Jacobian tracer, global mode: the pattern valid for all inputs.
pub type GlobalJacobianTracer = Tracer<Jacobian, Global>;
/// Jacobian tracer, local mode: the pattern at a point.
pub type LocalJacobianTracer = Tracer<Jacobian, Local>;
/// Hessian tracer, global mode.
pub type GlobalHessianTracer = Tracer<Hessian, Global>;
/// Hessian tracer, local mode.
pub type LocalHessianTracer = Tracer<Hessian, Local>;

const _: () = assert!(core::mem::size_of::<GlobalJacobianTracer>() == 16);

impl<K: TracerKind, M: TracerMode> Clone for Tracer<K, M> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: TracerKind, M: TracerMode> Copy for Tracer<K, M> {}

impl<K: TracerKind, M: TracerMode> Tracer<K, M> {
    /// A constant tracer (depends on no input).
    #[inline(always)]
    pub const fn constant(value: f64) -> Self {
        Self {
            value,
            id: CONST,
            generation: 0,
            _marker: PhantomData,
        }
    }

    /// Input number `index` of the detection with generation `generation` and value `value`.
    #[inline(always)]
    pub(crate) fn input(value: f64, index: u32, generation: u32) -> Self {
        Self {
            value: if M::LOCAL { value } else { f64::NAN },
            id: index,
            generation,
            _marker: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn with_id(value: f64, id: u32, generation: u32) -> Self {
        Self {
            value,
            id,
            generation,
            _marker: PhantomData,
        }
    }

    /// `true` for a constant (a tracer that depends on no input).
    #[inline(always)]
    pub fn is_const(&self) -> bool {
        self.id >= OPAQUE
    }

    /// A global tracer without dependencies whose value is unknown.
    #[inline(always)]
    pub(crate) fn opaque() -> Self {
        Self::with_id(f64::NAN, OPAQUE, 0)
    }

    /// A tracer without dependencies: the constant `value(…)` when `known`, else opaque.
    #[inline(always)]
    fn no_deps(known: bool, value: impl FnOnce() -> f64) -> Self {
        if known {
            Self::constant(value())
        } else {
            Self::opaque()
        }
    }

    /// The primal value as carried: exact for constants and in local mode, NaN for a
    /// non-constant global tracer. Unlike [`Scalar::value`](tangent_ad::Scalar::value), never
    /// flags the detection.
    #[inline(always)]
    pub fn primal(&self) -> f64 {
        self.value
    }

    /// `true` when the value is known: a constant, or any tracer in local mode.
    #[inline(always)]
    pub(crate) fn known(&self) -> bool {
        M::LOCAL || self.id == CONST
    }

    /// Flags the active detection: `operation` needed a value a global tracer does not have.
    #[cold]
    #[inline(never)]
    pub(crate) fn flag_value_dependence(operation: &'static str) {
        with_active(|t| {
            t.fail(crate::SparsityError::ValueDependentControlFlow { operation });
        });
    }

    /// Result of a unary operation that keeps first-order dependencies: `linear` when its
    /// second derivative vanishes (only the Hessian tracer distinguishes).
    #[inline(always)]
    pub(crate) fn unary(self, value: impl FnOnce(f64) -> f64, linear: bool) -> Self {
        if self.is_const() {
            return Self::no_deps(self.known(), || value(self.value));
        }
        let v = if M::LOCAL {
            value(self.value)
        } else {
            f64::NAN
        };
        if !K::HESSIAN || linear || self.id == ORPHAN {
            return Self::with_id(v, self.id, self.generation);
        }
        let gen_ = self.generation;
        let id = with_active(|t| {
            if t.generation != gen_ {
                t.fail(crate::SparsityError::ForeignTracer);
                return ORPHAN;
            }
            t.push(Kind::Unary, self.id, self.id)
        })
        .unwrap_or(ORPHAN);
        Self::with_id(v, id, if id == ORPHAN { 0 } else { gen_ })
    }

    /// Result of a unary operation with derivative 0 everywhere (a constant).
    #[inline(always)]
    pub(crate) fn piecewise_constant(self, value: impl FnOnce(f64) -> f64) -> Self {
        // A global tracer: the value is unknown, but it depends on no input.
        Self::no_deps(self.known(), || value(self.value))
    }

    /// Result of a binary operation combining operands as `kind` (for the Hessian tracer).
    /// `kind_a_const` / `kind_b_const` say how the result depends on the other operand when one
    /// operand is a constant: `None` linear (keep the id), `Some(())` nonlinear.
    #[inline(always)]
    pub(crate) fn binary(
        a: Self,
        b: Self,
        value: impl FnOnce(f64, f64) -> f64,
        kind: Kind,
        nonlinear_in_a_alone: bool,
        nonlinear_in_b_alone: bool,
    ) -> Self {
        match (a.is_const(), b.is_const()) {
            (true, true) => Self::no_deps(a.known() && b.known(), || value(a.value, b.value)),
            (false, true) => {
                let v = if M::LOCAL {
                    value(a.value, b.value)
                } else {
                    f64::NAN
                };
                a.unary(|_| v, !nonlinear_in_a_alone)
            }
            (true, false) => {
                let v = if M::LOCAL {
                    value(a.value, b.value)
                } else {
                    f64::NAN
                };
                b.unary(|_| v, !nonlinear_in_b_alone)
            }
            (false, false) => {
                let v = if M::LOCAL {
                    value(a.value, b.value)
                } else {
                    f64::NAN
                };
                Self::join(a, b, kind, v)
            }
        }
    }

    /// Combines two non-constant tracers into a node of kind `kind` with value `v`.
    #[inline(always)]
    pub(crate) fn join(a: Self, b: Self, kind: Kind, v: f64) -> Self {
        if a.id == ORPHAN || b.id == ORPHAN {
            return Self::with_id(v, ORPHAN, 0);
        }
        // The Jacobian tracer only unions: `x op x` keeps `x`'s set.
        let kind = if K::HESSIAN { kind } else { Kind::Linear };
        if kind == Kind::Linear && a.id == b.id && a.generation == b.generation {
            return Self::with_id(v, a.id, a.generation);
        }
        let (ga, gb) = (a.generation, b.generation);
        let id = with_active(|t| {
            if ga != t.generation || gb != t.generation {
                t.fail(crate::SparsityError::ForeignTracer);
                return ORPHAN;
            }
            t.push(kind, a.id, b.id)
        })
        .unwrap_or(ORPHAN);
        Self::with_id(v, id, if id == ORPHAN { 0 } else { ga })
    }

    /// Compares by value; in global mode a comparison involving a non-constant tracer flags the
    /// detection and returns `None`.
    #[inline]
    pub(crate) fn compare(
        &self,
        other_value: f64,
        other_known: bool,
    ) -> Option<core::cmp::Ordering> {
        if self.known() && other_known {
            self.value.partial_cmp(&other_value)
        } else {
            Self::flag_value_dependence("comparison");
            None
        }
    }
}

impl<K: TracerKind, M: TracerMode> Default for Tracer<K, M> {
    #[inline(always)]
    fn default() -> Self {
        Self::constant(0.0)
    }
}

impl<K: TracerKind, M: TracerMode> From<f64> for Tracer<K, M> {
    #[inline(always)]
    fn from(v: f64) -> Self {
        Self::constant(v)
    }
}

impl<K: TracerKind, M: TracerMode> fmt::Debug for Tracer<K, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if K::HESSIAN { "Hessian" } else { "Jacobian" };
        let mode = if M::LOCAL { "Local" } else { "Global" };
        match self.id {
            CONST => write!(f, "{mode}{kind}Tracer(constant {})", self.value),
            OPAQUE => write!(f, "{mode}{kind}Tracer(constant of unknown value)"),
            ORPHAN => write!(f, "{mode}{kind}Tracer(orphan)"),
            id => write!(f, "{mode}{kind}Tracer(value {}, id {id})", self.value),
        }
    }
}

impl<K: TracerKind, M: TracerMode> fmt::Display for Tracer<K, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.known() {
            fmt::Display::fmt(&self.value, f)
        } else {
            write!(f, "<tracer {}>", self.id)
        }
    }
}

impl<K: TracerKind, M: TracerMode> PartialEq for Tracer<K, M> {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        self.compare(o.value, o.known()) == Some(core::cmp::Ordering::Equal)
    }
}
impl<K: TracerKind, M: TracerMode> PartialOrd for Tracer<K, M> {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        self.compare(o.value, o.known())
    }
}
impl<K: TracerKind, M: TracerMode> PartialEq<f64> for Tracer<K, M> {
    #[inline]
    fn eq(&self, o: &f64) -> bool {
        self.compare(*o, true) == Some(core::cmp::Ordering::Equal)
    }
}
impl<K: TracerKind, M: TracerMode> PartialOrd<f64> for Tracer<K, M> {
    #[inline]
    fn partial_cmp(&self, o: &f64) -> Option<core::cmp::Ordering> {
        self.compare(*o, true)
    }
}
