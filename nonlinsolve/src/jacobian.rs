//! Jacobians `J = ∂F/∂u`: how they are computed, and the matrix they are stored in.
//!
//! | [`JacobianMethod`] | how | cost of one Jacobian | storage |
//! | --- | --- | --- | --- |
//! | [`DenseForward`](JacobianMethod::DenseForward) | forward mode on [`Dual<8>`](tangent_ad::Dual), 8 columns per pass | `⌈n/8⌉` passes | dense, column-major |
//! | [`Sparse`](JacobianMethod::Sparse) | sparsity detected by tracers once, columns coloured (partial distance-2), one `Dual<N>` pass per `N` colours (`N` = 4, 8 or 16 by the number of colours) — [`tangent_sparsity`] | `⌈colours/N⌉` passes | CSC (`sprs::CsMat`) |
//! | [`FiniteDifferences`](JacobianMethod::FiniteDifferences) | forward (`n` extra evaluations, step `√ε·max(|u_j|, 1)`) or central (`2n`, step `∛ε·max(|u_j|, 1)`) differences, Dennis & Schnabel §5.4 | `n` or `2n` evaluations | dense |
//! | [`User`](JacobianMethod::User) | [`NonlinearFunction::jacobian`], or [`NonlinearFunction::sparse_jacobian`] with [`NonlinearFunction::jacobian_pattern`] | the user's | dense or CSC |
//! | [`Auto`](JacobianMethod::Auto) (default) | dense forward for `n <` [`AUTO_SPARSE_MIN`]; otherwise sparse when the detected pattern fills at most [`AUTO_SPARSE_MAX_DENSITY`] of the matrix, else dense | | |
//!
//! Everything a Jacobian needs (pattern, colouring, seeds, dual buffers, the matrix) is prepared
//! once; evaluating a Jacobian allocates nothing.

use sprs::CsMat;
use tangent_ad::Dual;
use tangent_linsolve::Matrix;
use tangent_sparsity::coloring::{GreedyColoring, column_coloring};
use tangent_sparsity::{Detector, SparseJacobian, SparsityError};

use crate::error::NonlinsolveError;
use crate::params::{AtParams, Params};
use crate::problem::NonlinearFunction;

/// Under [`JacobianMethod::Auto`], systems with fewer unknowns use the dense forward-mode
/// Jacobian without looking for sparsity: at most 8 `Dual<8>` passes, and a dense LU of order
/// below 64 costs less than a sparse analysis.
pub const AUTO_SPARSE_MIN: usize = 64;

/// Under [`JacobianMethod::Auto`], a detected pattern with at most this fraction of nonzeros is
/// stored sparse.
pub const AUTO_SPARSE_MAX_DENSITY: f64 = 0.1;

/// Options of the sparse coloured Jacobian.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseOptions {
    /// Global detection (default: the pattern holds for every `u`) or local (at the initial
    /// guess, following its branches: valid only near it).
    pub detector: Detector,
    /// The colouring heuristic.
    pub coloring: GreedyColoring,
}

/// Finite-difference scheme of [`JacobianMethod::FiniteDifferences`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DifferenceScheme {
    /// `(F(u + h e_j) − F(u)) / h`, reusing `F(u)`: `n` evaluations, error `O(√ε)`.
    #[default]
    Forward,
    /// `(F(u + h e_j) − F(u − h e_j)) / 2h`: `2n` evaluations, error `O(ε^{2/3})`.
    Central,
}

/// How the Jacobian `∂F/∂u` is computed; see the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JacobianMethod {
    /// Dense forward mode for small systems, sparse coloured when the pattern is sparse.
    #[default]
    Auto,
    /// Dense forward mode.
    DenseForward,
    /// Sparse coloured forward mode.
    Sparse(SparseOptions),
    /// Dense finite differences.
    FiniteDifferences(DifferenceScheme),
    /// The problem's hand-written Jacobian.
    User,
}

/// Lanes of the dense forward-mode passes.
const DENSE_LANES: usize = 8;

/// A sparse coloured Jacobian with the pass width chosen from the number of colours.
enum SparseAny {
    N4(SparseJacobian<4>),
    N8(SparseJacobian<8>),
    N16(SparseJacobian<16>),
}

macro_rules! sparse_dispatch {
    ($s:expr, $j:ident => $e:expr) => {
        match $s {
            SparseAny::N4($j) => $e,
            SparseAny::N8($j) => $e,
            SparseAny::N16($j) => $e,
        }
    };
}

enum Engine {
    Dense {
        ud: Vec<Dual<DENSE_LANES>>,
        rd: Vec<Dual<DENSE_LANES>>,
        values: Vec<f64>,
    },
    Sparse(Box<SparseAny>),
    Differences {
        scheme: DifferenceScheme,
        work_u: Vec<f64>,
        r1: Vec<f64>,
        r2: Vec<f64>,
        values: Vec<f64>,
    },
    UserDense {
        values: Vec<f64>,
    },
    UserSparse {
        matrix: CsMat<f64>,
    },
}

/// The Jacobian of a nonlinear problem, prepared once (crate-internal).
pub(crate) struct Jacobian {
    m: usize,
    n: usize,
    engine: Engine,
}

impl core::fmt::Debug for Jacobian {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Jacobian")
            .field("m", &self.m)
            .field("n", &self.n)
            .field("kind", &self.kind())
            .finish()
    }
}

/// A borrowed Jacobian: dense column-major or CSC.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JacobianRef<'a> {
    Dense {
        m: usize,
        n: usize,
        values: &'a [f64],
    },
    Sparse(&'a CsMat<f64>),
}

impl JacobianRef<'_> {
    /// The stored values (dense: column-major; sparse: CSC storage order).
    pub(crate) fn values(&self) -> &[f64] {
        match self {
            JacobianRef::Dense { values, .. } => values,
            JacobianRef::Sparse(a) => a.data(),
        }
    }

    /// `out = J v`.
    pub(crate) fn mul(&self, v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        match self {
            JacobianRef::Dense { m, values, .. } => {
                for (col, &vj) in values.chunks_exact(*m).zip(v) {
                    if vj != 0.0 {
                        for (o, &a) in out.iter_mut().zip(col) {
                            *o += a * vj;
                        }
                    }
                }
            }
            JacobianRef::Sparse(a) => {
                let (ptr, idx, val) = (a.indptr(), a.indices(), a.data());
                let ptr = ptr.raw_storage();
                for (j, &vj) in v.iter().enumerate() {
                    for p in ptr[j]..ptr[j + 1] {
                        out[idx[p]] += val[p] * vj;
                    }
                }
            }
        }
    }

    /// `out = Jᵀ w`.
    pub(crate) fn mul_transpose(&self, w: &[f64], out: &mut [f64]) {
        match self {
            JacobianRef::Dense { m, values, .. } => {
                for (o, col) in out.iter_mut().zip(values.chunks_exact(*m)) {
                    *o = col.iter().zip(w).map(|(a, b)| a * b).sum();
                }
            }
            JacobianRef::Sparse(a) => {
                let (ptr, idx, val) = (a.indptr(), a.indices(), a.data());
                let ptr = ptr.raw_storage();
                for (j, o) in out.iter_mut().enumerate() {
                    let mut s = 0.0;
                    for p in ptr[j]..ptr[j + 1] {
                        s += val[p] * w[idx[p]];
                    }
                    *o = s;
                }
            }
        }
    }

    /// `max_j |g_j| / (‖J e_j‖₂ ‖F‖₂)` for `g = Jᵀ F` (zero columns skipped): the largest
    /// cosine between `F` and a column of `J` (MINPACK's `gtol` test).
    pub(crate) fn max_cosine(&self, g: &[f64], f_norm2: f64) -> f64 {
        if f_norm2 == 0.0 {
            return 0.0;
        }
        let mut worst = 0.0f64;
        for (j, &gj) in g.iter().enumerate() {
            let col_sq: f64 = match self {
                JacobianRef::Dense { m, values, .. } => {
                    values[j * m..(j + 1) * m].iter().map(|a| a * a).sum()
                }
                JacobianRef::Sparse(a) => {
                    let ptr = a.indptr();
                    let ptr = ptr.raw_storage();
                    a.data()[ptr[j]..ptr[j + 1]].iter().map(|a| a * a).sum()
                }
            };
            if col_sq > 0.0 {
                worst = worst.max(gj.abs() / (col_sq.sqrt() * f_norm2));
            }
        }
        worst
    }

    /// Row and column of the first non-finite entry.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, usize)> {
        let p = crate::error::first_non_finite(self.values())?;
        Some(match self {
            JacobianRef::Dense { m, .. } => (p % m, p / m),
            JacobianRef::Sparse(a) => {
                let ptr = a.indptr();
                let ptr = ptr.raw_storage();
                let col = ptr.partition_point(|&q| q <= p).saturating_sub(1);
                (a.indices()[p], col)
            }
        })
    }

    /// An owned copy for initialising a linear solver.
    pub(crate) fn to_matrix(self) -> Result<Matrix, NonlinsolveError> {
        Ok(match self {
            JacobianRef::Dense { m, n, values } => Matrix::from_column_major(m, n, values)?,
            JacobianRef::Sparse(a) => Matrix::Sparse(a.clone()),
        })
    }
}

fn sparse_with_width<F: NonlinearFunction>(
    f: &AtParams<'_, F>,
    u0: &[f64],
    options: &SparseOptions,
) -> Result<SparseAny, SparsityError> {
    let pattern = options.detector.jacobian_sparsity(f, u0)?;
    let coloring = column_coloring(&pattern, &options.coloring)?;
    let colors = coloring.n_colors();
    Ok(if colors <= 4 {
        SparseAny::N4(SparseJacobian::from_coloring(f, u0, &pattern, coloring)?)
    } else if colors <= 8 {
        SparseAny::N8(SparseJacobian::from_coloring(f, u0, &pattern, coloring)?)
    } else {
        SparseAny::N16(SparseJacobian::from_coloring(f, u0, &pattern, coloring)?)
    })
}

impl Jacobian {
    /// Prepares the Jacobian of `u ↦ F(u, p)` (`m` residuals) at the initial guess `u0`.
    pub(crate) fn new<F: NonlinearFunction>(
        method: &JacobianMethod,
        f: &F,
        params: &mut Params,
        u0: &[f64],
        m: usize,
    ) -> Result<Self, NonlinsolveError> {
        let n = u0.len();
        let dense = |params: &mut Params| {
            params.register::<Dual<DENSE_LANES>>();
            Engine::Dense {
                ud: vec![Dual::default(); n],
                rd: vec![Dual::default(); m],
                values: vec![0.0; m * n],
            }
        };
        let sparse = |params: &mut Params, options: &SparseOptions| {
            params.register::<Dual<4>>();
            params.register::<Dual<8>>();
            params.register::<Dual<16>>();
            let at = AtParams { f, p: params, m };
            sparse_with_width(&at, u0, options).map(|s| Engine::Sparse(Box::new(s)))
        };
        let engine = match method {
            JacobianMethod::DenseForward => dense(params),
            JacobianMethod::Sparse(options) => sparse(params, options)?,
            JacobianMethod::Auto => {
                if n < AUTO_SPARSE_MIN {
                    dense(params)
                } else {
                    let at = AtParams { f, p: params, m };
                    match Detector::Global.jacobian_sparsity(&at, u0) {
                        Ok(pattern)
                            if (pattern.nnz() as f64)
                                <= AUTO_SPARSE_MAX_DENSITY * (m as f64) * (n as f64) =>
                        {
                            sparse(params, &SparseOptions::default())?
                        }
                        // Dense pattern, or value-dependent branches: dense forward mode.
                        _ => dense(params),
                    }
                }
            }
            JacobianMethod::FiniteDifferences(scheme) => Engine::Differences {
                scheme: *scheme,
                work_u: vec![0.0; n],
                r1: vec![0.0; m],
                r2: vec![0.0; m],
                values: vec![0.0; m * n],
            },
            JacobianMethod::User => match f.jacobian_pattern(n) {
                Some(pattern) => {
                    if pattern.rows() != m || pattern.cols() != n {
                        return Err(NonlinsolveError::DimensionMismatch {
                            what: "user Jacobian pattern (rows × columns = m × n)",
                            expected: m * n,
                            found: pattern.rows() * pattern.cols(),
                        });
                    }
                    let csc = pattern.to_csc();
                    let (indptr, indices, _) = csc.into_raw_storage();
                    let nnz = indices.len();
                    let matrix = CsMat::try_new_csc((m, n), indptr, indices, vec![0.0; nnz])
                        .map_err(|_| {
                            NonlinsolveError::InvalidOption("user Jacobian pattern is malformed")
                        })?;
                    let mut engine = Engine::UserSparse { matrix };
                    if let Engine::UserSparse { matrix } = &mut engine
                        && !f.sparse_jacobian(u0, params.values(), matrix)
                    {
                        return Err(NonlinsolveError::NoUserJacobian);
                    }
                    engine
                }
                None => {
                    let mut values = vec![0.0; m * n];
                    if !f.jacobian(u0, params.values(), &mut values) {
                        return Err(NonlinsolveError::NoUserJacobian);
                    }
                    Engine::UserDense { values }
                }
            },
        };
        Ok(Self { m, n, engine })
    }

    /// `"dense forward"`, `"sparse coloured"`, `"finite differences"`, `"user dense"` or
    /// `"user sparse"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self.engine {
            Engine::Dense { .. } => "dense forward",
            Engine::Sparse(_) => "sparse coloured",
            Engine::Differences { .. } => "finite differences",
            Engine::UserDense { .. } => "user dense",
            Engine::UserSparse { .. } => "user sparse",
        }
    }

    /// Number of colours of a sparse coloured Jacobian.
    pub(crate) fn colors(&self) -> Option<usize> {
        match &self.engine {
            Engine::Sparse(s) => Some(sparse_dispatch!(&**s, j => j.column_coloring().n_colors())),
            _ => None,
        }
    }

    /// The column colouring of a sparse coloured Jacobian.
    pub(crate) fn column_colors(&self) -> Option<&[u32]> {
        match &self.engine {
            Engine::Sparse(s) => Some(sparse_dispatch!(&**s, j => j.column_coloring().colors())),
            _ => None,
        }
    }

    /// The matrix as last computed.
    pub(crate) fn matrix(&self) -> JacobianRef<'_> {
        let (m, n) = (self.m, self.n);
        match &self.engine {
            Engine::Dense { values, .. }
            | Engine::Differences { values, .. }
            | Engine::UserDense { values } => JacobianRef::Dense { m, n, values },
            Engine::Sparse(s) => JacobianRef::Sparse(sparse_dispatch!(&**s, j => j.matrix())),
            Engine::UserSparse { matrix } => JacobianRef::Sparse(matrix),
        }
    }

    /// Computes `J(u)`. `r` is `F(u, p)` (used by forward differences). Allocates nothing.
    pub(crate) fn evaluate<F: NonlinearFunction>(
        &mut self,
        f: &F,
        params: &Params,
        u: &[f64],
        r: &[f64],
    ) -> Result<(), NonlinsolveError> {
        let (m, n) = (self.m, self.n);
        let at = AtParams { f, p: params, m };
        match &mut self.engine {
            Engine::Dense { ud, rd, values } => {
                for (x, &v) in ud.iter_mut().zip(u) {
                    *x = Dual::constant(v);
                }
                for j0 in (0..n).step_by(DENSE_LANES) {
                    let j1 = (j0 + DENSE_LANES).min(n);
                    for j in j0..j1 {
                        ud[j] = Dual::variable(u[j], j - j0);
                    }
                    tangent_ad::VectorFunction::eval(&at, ud, rd);
                    for j in j0..j1 {
                        let col = &mut values[j * m..(j + 1) * m];
                        for (o, y) in col.iter_mut().zip(rd.iter()) {
                            *o = y.d[j - j0];
                        }
                        ud[j] = Dual::constant(u[j]);
                    }
                }
            }
            Engine::Sparse(s) => {
                sparse_dispatch!(&mut **s, j => { j.compute(&at, u)?; })
            }
            Engine::Differences {
                scheme,
                work_u,
                r1,
                r2,
                values,
            } => {
                work_u.copy_from_slice(u);
                let p = params.values();
                for j in 0..n {
                    let col = &mut values[j * m..(j + 1) * m];
                    match scheme {
                        DifferenceScheme::Forward => {
                            let h = representable_step(u[j], f64::EPSILON.sqrt());
                            work_u[j] = u[j] + h;
                            f.residual(work_u, p, r1);
                            for ((o, a), b) in col.iter_mut().zip(r1.iter()).zip(r) {
                                *o = (a - b) / h;
                            }
                        }
                        DifferenceScheme::Central => {
                            let h = representable_step(u[j], f64::EPSILON.cbrt());
                            work_u[j] = u[j] + h;
                            f.residual(work_u, p, r1);
                            work_u[j] = u[j] - h;
                            f.residual(work_u, p, r2);
                            for ((o, a), b) in col.iter_mut().zip(r1.iter()).zip(r2.iter()) {
                                *o = (a - b) / (2.0 * h);
                            }
                        }
                    }
                    work_u[j] = u[j];
                }
            }
            Engine::UserDense { values } => {
                if !f.jacobian(u, params.values(), values) {
                    return Err(NonlinsolveError::NoUserJacobian);
                }
            }
            Engine::UserSparse { matrix } => {
                if !f.sparse_jacobian(u, params.values(), matrix) {
                    return Err(NonlinsolveError::NoUserJacobian);
                }
            }
        }
        Ok(())
    }
}

/// A step near `rel · max(|x|, 1)` such that `(x + h) − x == h` exactly.
#[inline]
fn representable_step(x: f64, rel: f64) -> f64 {
    let h = rel * x.abs().max(1.0);
    (x + h) - x
}
