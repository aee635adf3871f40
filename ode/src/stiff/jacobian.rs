//! The Jacobian `J = ∂f/∂u` of the right-hand side, and `∂f/∂t`, for the stiff methods.
//!
//! Three sources ([`JacobianMethod`]):
//!
//! * **dense forward AD**: `f` evaluated on [`Dual<8>`](tangent_ad::Dual) numbers, eight columns
//!   of `J` per evaluation (`⌈n/8⌉` evaluations), through `tangent_ad`'s prepared
//!   [`Forward`] operator, into an `n × n` column-major buffer;
//! * **sparse coloured forward AD**: the pattern of `J` detected once per solve by running `f` on
//!   `tangent_sparsity`'s global tracers, its columns coloured so that columns of one colour share
//!   no row, and each Jacobian computed with one `Dual<8>` evaluation per eight colours
//!   ([`SparseJacobian`]) straight into the values of a preallocated `sprs::CsMat<f64>` — for P3
//!   (`2N²` states, 6 entries per row) a handful of colours whatever `N`;
//! * **user-supplied**: a function writing a dense column-major `J`, or the values of a sparse
//!   `J` on a pattern given once ([`UserJacobian`]).
//!
//! [`JacobianMethod::Auto`] (the default) detects the pattern and takes the sparse route when
//! `n > 16` and at most a fifth of the entries are structurally nonzero — below 16 unknowns
//! the linear solver densifies anyway (`tangent_linsolve`'s `SMALL_SPARSE_AS_DENSE`), and
//! above a fifth the fill of the factorisation makes a sparse LU no cheaper than a dense one;
//! if detection fails (the right-hand side branches on `u`), the dense route.
//!
//! Parameters enter `f` as constants: they are lifted to `Dual<8>` once per solve, so that
//! evaluating `J` allocates nothing. Rosenbrock methods also need `∂f/∂t`; it is computed with
//! one evaluation on `Dual<1>` (time seeded), skipped when tracing shows that `f` does not
//! depend on `t`.

use std::any::Any;
use std::sync::Arc;

use sprs::CsMat;
use tangent_ad::operators::{Forward, ForwardPrep, JacobianBackend, JacobianPrep};
use tangent_ad::{Dual, Scalar, VectorFunction};
use tangent_sparsity::{Pattern, SparseJacobian, SparseJacobianOptions, SparsityError};

use crate::error::OdeError;
use crate::problem::OdeRhs;

/// Columns (dense) or colours (sparse) per forward-mode evaluation: the lanes of `Dual<8>`.
pub const CHUNK: usize = 8;

/// Above this many states, and with at most a fifth of the entries structurally nonzero,
/// [`JacobianMethod::Auto`] takes the sparse route.
pub const AUTO_SPARSE_MIN_DIM: usize = 16;

/// A user-supplied dense Jacobian: `jac(t, u, p, out)` writes `∂f/∂u` at `(t, u)` into `out`,
/// `n × n` column-major (`out[i + n j] = ∂f_i/∂u_j`).
pub type DenseJacobianFn = dyn Fn(f64, &[f64], &[f64], &mut [f64]) + Send + Sync;

/// A user-supplied Jacobian ([`JacobianMethod::User`]).
///
/// ```
/// use tangent_ode::UserJacobian;
///
/// // u₁' = −u₁ + u₂², u₂' = −10 u₂: J = [[−1, 2u₂], [0, −10]], column-major.
/// let jac = UserJacobian::dense(|_t, u, _p, out| {
///     out.copy_from_slice(&[-1.0, 0.0, 2.0 * u[1], -10.0]);
/// });
/// # let _ = jac;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum UserJacobian {
    /// `J` as a dense `n × n` column-major matrix.
    Dense(Arc<DenseJacobianFn>),
    /// `J` on a fixed sparsity pattern: `values(t, u, p, out)` writes the `nnz` values in the
    /// storage order of `pattern` converted to CSC (column by column, rows increasing).
    Sparse {
        /// The `n × n` pattern (CSC or CSR; converted to CSC).
        pattern: Arc<Pattern>,
        /// Writes the values.
        values: Arc<DenseJacobianFn>,
    },
}

impl UserJacobian {
    /// A dense user Jacobian from `jac(t, u, p, out)` (`out` is `n × n` column-major).
    pub fn dense(jac: impl Fn(f64, &[f64], &[f64], &mut [f64]) + Send + Sync + 'static) -> Self {
        Self::Dense(Arc::new(jac))
    }

    /// A sparse user Jacobian on `pattern` (`n × n`); `values(t, u, p, out)` writes the values in
    /// CSC order.
    pub fn sparse(
        pattern: Pattern,
        values: impl Fn(f64, &[f64], &[f64], &mut [f64]) + Send + Sync + 'static,
    ) -> Self {
        Self::Sparse {
            pattern: Arc::new(pattern),
            values: Arc::new(values),
        }
    }
}

impl core::fmt::Debug for UserJacobian {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Dense(_) => f.write_str("UserJacobian::Dense"),
            Self::Sparse { pattern, .. } => write!(
                f,
                "UserJacobian::Sparse({} × {}, {} entries)",
                pattern.rows(),
                pattern.cols(),
                pattern.nnz()
            ),
        }
    }
}

/// How a stiff method obtains `J = ∂f/∂u` (see the [module docs](self)).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum JacobianMethod {
    /// Sparse coloured AD when the detected pattern is large and sparse, dense AD otherwise.
    #[default]
    Auto,
    /// Dense forward-mode AD (`⌈n/8⌉` evaluations of `f` on `Dual<8>`).
    Dense,
    /// Sparse coloured forward-mode AD on the globally detected pattern (fails at `init` with
    /// [`OdeError::Jacobian`] if the right-hand side branches on `u`).
    Sparse,
    /// A function supplied by the user.
    User(UserJacobian),
}

/// The Jacobian as last evaluated.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JacobianRef<'a> {
    /// `n × n`, column-major.
    Dense(&'a [f64]),
    /// `n × n`, CSC.
    Sparse(&'a CsMat<f64>),
}

enum Engine {
    Dense {
        prep: ForwardPrep<CHUNK>,
        values: Vec<f64>,
    },
    Sparse(Box<SparseJacobian<CHUNK>>),
    UserDense {
        jac: Arc<DenseJacobianFn>,
        values: Vec<f64>,
    },
    UserSparse {
        jac: Arc<DenseJacobianFn>,
        matrix: CsMat<f64>,
    },
}

/// Evaluates `J` (and `∂f/∂t`) at given points, allocation-free after construction.
pub(crate) struct JacobianEvaluator {
    n: usize,
    engine: Engine,
    /// `p` lifted to `Dual<CHUNK>` (constants).
    p_chunk: Vec<Dual<CHUNK>>,
    /// Whether `f` may depend on `t` (then `∂f/∂t` is computed).
    time_dependent: bool,
    u1: Vec<Dual<1>>,
    f1: Vec<Dual<1>>,
    p1: Vec<Dual<1>>,
}

/// `u ↦ f(t, u, p)` at fixed `t` and `p`, as a [`VectorFunction`] for the AD operators.
struct RhsAt<'a, F: ?Sized> {
    rhs: &'a F,
    t: f64,
    p: &'a [f64],
    /// `p` already lifted to the scalar type of the forward passes.
    p_chunk: &'a Vec<Dual<CHUNK>>,
    n: usize,
}

impl<F: OdeRhs + ?Sized> VectorFunction for RhsAt<'_, F> {
    fn output_len(&self) -> usize {
        self.n
    }

    #[inline]
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        let lifted: &dyn Any = self.p_chunk;
        if let Some(p) = lifted.downcast_ref::<Vec<S>>() {
            self.rhs.rhs(S::cst(self.t), x, p, y);
        } else {
            // Another scalar type (the tracers of the detection, run once at init): lift `p`.
            let p: Vec<S> = self.p.iter().map(|&v| S::cst(v)).collect();
            self.rhs.rhs(S::cst(self.t), x, &p, y);
        }
    }
}

/// `t ↦ f(t, u, p)` at fixed `u` and `p` (for detecting whether `f` depends on `t`).
struct RhsOfTime<'a, F: ?Sized> {
    rhs: &'a F,
    u: &'a [f64],
    p: &'a [f64],
}

impl<F: OdeRhs + ?Sized> VectorFunction for RhsOfTime<'_, F> {
    fn output_len(&self) -> usize {
        self.u.len()
    }

    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        let u: Vec<S> = self.u.iter().map(|&v| S::cst(v)).collect();
        let p: Vec<S> = self.p.iter().map(|&v| S::cst(v)).collect();
        self.rhs.rhs(x[0], &u, &p, y);
    }
}

/// Whether `f` depends on `t`: `false` only when tracing proves it does not.
fn depends_on_time<F: OdeRhs + ?Sized>(rhs: &F, t0: f64, u0: &[f64], p: &[f64]) -> bool {
    let f = RhsOfTime { rhs, u: u0, p };
    match tangent_sparsity::jacobian_sparsity(&f, &[t0]) {
        Ok(pattern) => pattern.nnz() > 0,
        // `f` reads the value of `t` (a switch in time) or branches on it: assume it depends.
        Err(_) => true,
    }
}

/// `pattern` (any storage) as an `n × n` CSC pattern, checked.
fn square_csc(pattern: &Pattern, n: usize) -> Result<Pattern, OdeError> {
    if pattern.rows() != n || pattern.cols() != n {
        return Err(OdeError::DimensionMismatch {
            what: "user Jacobian pattern (n × n)",
            expected: n,
            found: if pattern.rows() != n {
                pattern.rows()
            } else {
                pattern.cols()
            },
        });
    }
    Ok(if pattern.is_csc() {
        pattern.clone()
    } else {
        pattern.to_csc()
    })
}

impl JacobianEvaluator {
    /// Prepares the Jacobian of `rhs` for states of length `u0.len()`: detection, colouring and
    /// buffers, as `method` asks.
    pub(crate) fn new<F: OdeRhs + ?Sized>(
        method: &JacobianMethod,
        rhs: &F,
        t0: f64,
        u0: &[f64],
        p: &[f64],
    ) -> Result<Self, OdeError> {
        let n = u0.len();
        let p_chunk: Vec<Dual<CHUNK>> = p.iter().map(|&v| Dual::constant(v)).collect();
        let f = RhsAt {
            rhs,
            t: t0,
            p,
            p_chunk: &p_chunk,
            n,
        };
        let dense = |f: &RhsAt<'_, F>| -> Result<Engine, OdeError> {
            let prep = Forward::<CHUNK>
                .prepare_jacobian(f, u0)
                .map_err(|e| SparsityError::InvalidArgument(ad_error_reason(&e)))?;
            Ok(Engine::Dense {
                prep,
                values: vec![0.0; n * n],
            })
        };
        let sparse = |f: &RhsAt<'_, F>, pattern: &Pattern| -> Result<Engine, OdeError> {
            let jac = SparseJacobian::<CHUNK>::from_pattern(
                f,
                u0,
                pattern,
                &SparseJacobianOptions {
                    mode: tangent_sparsity::JacobianMode::Forward,
                    ..Default::default()
                },
            )?;
            Ok(Engine::Sparse(Box::new(jac)))
        };
        let engine = match method {
            JacobianMethod::Dense => dense(&f)?,
            JacobianMethod::Sparse => {
                let pattern = tangent_sparsity::jacobian_sparsity(&f, u0)?;
                sparse(&f, &pattern)?
            }
            JacobianMethod::Auto => match tangent_sparsity::jacobian_sparsity(&f, u0) {
                Ok(pattern) if n > AUTO_SPARSE_MIN_DIM && 5 * pattern.nnz() <= n * n => {
                    sparse(&f, &pattern)?
                }
                _ => dense(&f)?,
            },
            JacobianMethod::User(UserJacobian::Dense(jac)) => Engine::UserDense {
                jac: jac.clone(),
                values: vec![0.0; n * n],
            },
            JacobianMethod::User(UserJacobian::Sparse { pattern, values }) => {
                let pattern = square_csc(pattern, n)?;
                let (indptr, indices, _) = pattern.into_raw_storage();
                let nnz = indices.len();
                let matrix =
                    CsMat::try_new_csc((n, n), indptr, indices, vec![0.0; nnz]).map_err(|_| {
                        OdeError::Jacobian(SparsityError::InvalidPattern(
                            "user Jacobian pattern is not a valid compressed matrix",
                        ))
                    })?;
                Engine::UserSparse {
                    jac: values.clone(),
                    matrix,
                }
            }
        };
        let time_dependent = depends_on_time(rhs, t0, u0, p);
        Ok(Self {
            n,
            engine,
            p1: p.iter().map(|&v| Dual::constant(v)).collect(),
            p_chunk,
            time_dependent,
            u1: vec![Dual::default(); if time_dependent { n } else { 0 }],
            f1: vec![Dual::default(); if time_dependent { n } else { 0 }],
        })
    }

    /// Lifts new parameter values (same length as at construction).
    pub(crate) fn set_parameters(&mut self, p: &[f64]) {
        for (d, &v) in self.p_chunk.iter_mut().zip(p) {
            *d = Dual::constant(v);
        }
        for (d, &v) in self.p1.iter_mut().zip(p) {
            *d = Dual::constant(v);
        }
    }

    /// Whether `J` is stored sparse.
    pub(crate) fn is_sparse(&self) -> bool {
        matches!(self.engine, Engine::Sparse(_) | Engine::UserSparse { .. })
    }

    /// Structurally nonzero entries of `J` (`n²` when dense).
    pub(crate) fn nnz(&self) -> usize {
        match &self.engine {
            Engine::Sparse(j) => j.pattern_nnz(),
            Engine::UserSparse { matrix, .. } => matrix.nnz(),
            _ => self.n * self.n,
        }
    }

    /// Colours of the sparse AD Jacobian (`None` for the other routes).
    pub(crate) fn colors(&self) -> Option<usize> {
        match &self.engine {
            Engine::Sparse(j) => Some(j.column_coloring().n_colors()),
            _ => None,
        }
    }

    /// Whether `∂f/∂t` is computed (tracing did not prove `f` autonomous).
    pub(crate) fn time_dependent(&self) -> bool {
        self.time_dependent
    }

    /// The Jacobian as last evaluated.
    pub(crate) fn matrix(&self) -> JacobianRef<'_> {
        match &self.engine {
            Engine::Dense { values, .. } | Engine::UserDense { values, .. } => {
                JacobianRef::Dense(values)
            }
            Engine::Sparse(j) => JacobianRef::Sparse(j.matrix()),
            Engine::UserSparse { matrix, .. } => JacobianRef::Sparse(matrix),
        }
    }

    /// Evaluates `J(t, u)`; on a non-finite entry returns its `(row, column)`.
    pub(crate) fn evaluate<F: OdeRhs + ?Sized>(
        &mut self,
        rhs: &F,
        t: f64,
        u: &[f64],
        p: &[f64],
    ) -> Result<(), (usize, usize)> {
        let n = self.n;
        let f = RhsAt {
            rhs,
            t,
            p,
            p_chunk: &self.p_chunk,
            n,
        };
        match &mut self.engine {
            Engine::Dense { prep, values } => {
                // Lengths were fixed at construction, so this cannot fail; if it did, the NaNs
                // would surface as a non-finite Jacobian rather than a panic.
                if prep.jacobian(&f, u, values).is_err() {
                    values.fill(f64::NAN);
                }
            }
            Engine::Sparse(jac) => {
                // As above: only length errors are possible, and the lengths are fixed.
                if jac.compute(&f, u).is_err() {
                    return Err((0, 0));
                }
            }
            Engine::UserDense { jac, values } => jac(t, u, p, values),
            Engine::UserSparse { jac, matrix } => jac(t, u, p, matrix.data_mut()),
        }
        self.first_non_finite()
    }

    /// The first non-finite entry of `J` as `(row, column)`.
    fn first_non_finite(&self) -> Result<(), (usize, usize)> {
        let n = self.n;
        match self.matrix() {
            JacobianRef::Dense(v) => match v.iter().position(|x| !x.is_finite()) {
                None => Ok(()),
                Some(k) => Err((k % n.max(1), k / n.max(1))),
            },
            JacobianRef::Sparse(m) => {
                if m.data().iter().all(|x| x.is_finite()) {
                    return Ok(());
                }
                for (j, col) in m.outer_iterator().enumerate() {
                    for (i, v) in col.iter() {
                        if !v.is_finite() {
                            return Err((i, j));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// `out = ∂f/∂t (t, u)` (zeros when `f` is autonomous).
    pub(crate) fn time_derivative<F: OdeRhs + ?Sized>(
        &mut self,
        rhs: &F,
        t: f64,
        u: &[f64],
        out: &mut [f64],
    ) {
        if !self.time_dependent {
            out.fill(0.0);
            return;
        }
        for (d, &v) in self.u1.iter_mut().zip(u) {
            *d = Dual::constant(v);
        }
        rhs.rhs(Dual::<1>::variable(t, 0), &self.u1, &self.p1, &mut self.f1);
        for (o, d) in out.iter_mut().zip(&self.f1) {
            *o = d.d[0];
        }
    }
}

/// The reason of a forward-operator set-up error, as a static string.
fn ad_error_reason(e: &tangent_ad::AdError) -> &'static str {
    match e {
        tangent_ad::AdError::InvalidArgument(r) => r,
        _ => "forward-mode Jacobian could not be prepared",
    }
}
