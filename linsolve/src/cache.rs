//! The cache: `init` once, then `set_matrix` / `set_rhs` / `solve` / `solve_transpose` reusing
//! the symbolic analysis, the factorisation and every buffer.
//!
//! The matrix is copied into the cache: a dense matrix solved by a dense factorisation goes
//! straight into the factor's storage (one copy, checked for NaN column by column while in
//! cache, then factorised in place), a sparse matrix into its CSC values, a dense matrix for a
//! Krylov method into a `faer::Mat`. Setting new values marks the factorisation stale; the next
//! solve refactorises (numeric phase only — the symbolic analysis of a sparse matrix is done
//! once, at `init`). Because a dense factorisation works in place, a rejected update (NaN) or a
//! failed factorisation (singular) leaves a dense direct cache without a valid matrix: every
//! solve returns that error until the next successful `set_matrix`/`set_values`; sparse and
//! Krylov caches keep their previous matrix on a rejected update.
//! After `init`, setting values of the same size or pattern and solving with the same number of
//! right-hand sides allocate nothing for the direct methods and the Krylov methods alike (the
//! only exception: a sparse LU whose multifrontal factorisation falls back to faer's pivoting
//! LU, which allocates on the fallback).

use std::sync::Arc;

use faer::dyn_stack::StackReq;
use faer::{Mat, MatMut, MatRef};

use crate::algorithm::{self, LinearAlgorithm, resolve_sparse_lu};
use crate::dense::{DenseCholesky, DenseLu, DenseQr, Scratch};
use crate::error::{LinsolveError, check_finite, check_len};
use crate::krylov::{self, Ilu0, KrylovWorkspace, Method, Op, PrecondState, Preconditioner};
use crate::matrix::{CscPattern, LinearOperator, Matrix, MatrixRef};
use crate::problem::{LinearProblem, LinearSolution, LinearStats, Termination};
use crate::sparse::{SparseCholeskyFactor, SparseLuFactor};

/// The matrix as the cache stores it.
enum System {
    /// A dense matrix held in the dense factorisation's own storage (loaded there directly, so
    /// new values cost one copy, which the factorisation then overwrites).
    Loaded,
    Dense(Mat<f64>),
    Sparse {
        pattern: CscPattern,
        values: Vec<f64>,
        /// A dense copy, kept when a dense algorithm solves a sparse matrix.
        dense: Option<Mat<f64>>,
    },
    Operator(Arc<dyn LinearOperator>),
}

impl System {
    fn dense(&self) -> Option<MatRef<'_, f64>> {
        match self {
            System::Dense(m) => Some(m.as_ref()),
            System::Sparse { dense: Some(d), .. } => Some(d.as_ref()),
            _ => None,
        }
    }

    fn op(&self) -> Op<'_> {
        match self {
            System::Dense(m) => Op::Dense(m.as_ref()),
            System::Sparse {
                pattern, values, ..
            } => Op::Sparse(pattern, values),
            System::Operator(op) => Op::Operator(op.as_ref()),
            // Only dense direct engines hold their matrix themselves; they never multiply.
            System::Loaded => Op::Dense(MatRef::from_column_major_slice(&[], 0, 0)),
        }
    }

    /// Rewrites the dense copy of a sparse matrix from its values.
    fn refresh_dense(&mut self) {
        if let System::Sparse {
            pattern,
            values,
            dense: Some(d),
        } = self
        {
            d.fill(0.0);
            for j in 0..pattern.ncols {
                for p in pattern.col_ptr[j]..pattern.col_ptr[j + 1] {
                    d[(pattern.row_idx[p], j)] = values[p];
                }
            }
        }
    }
}

/// The Krylov state: method, tolerances, preconditioner, workspace.
struct KrylovEngine {
    method: Method,
    tolerances: algorithm::KrylovTolerances,
    kind: Preconditioner,
    precond: PrecondState,
    ws: KrylovWorkspace,
}

/// The solver state (one per cache, never moved in hot code: the size difference between
/// variants costs nothing).
#[allow(clippy::large_enum_variant)]
enum Engine {
    DenseLu(DenseLu),
    DenseCholesky(DenseCholesky),
    DenseQr(DenseQr),
    SparseLu(SparseLuFactor),
    SparseCholesky(SparseCholeskyFactor),
    Krylov(Box<KrylovEngine>),
}

/// A linear solver initialised for one matrix size (and sparsity pattern): see the module docs.
///
/// ```
/// use tangent_linsolve::{init, LinearProblem, LinearAlgorithm, SparseLu};
/// use sprs::TriMat;
///
/// // tridiag(−1, 4, −1), 5 × 5, CSC.
/// let mut t = TriMat::new((5, 5));
/// for i in 0..5 {
///     t.add_triplet(i, i, 4.0);
///     if i > 0 { t.add_triplet(i, i - 1, -1.0); t.add_triplet(i - 1, i, -1.0); }
/// }
/// let a: sprs::CsMat<f64> = t.to_csc();
/// let prob = LinearProblem::new(a.clone(), vec![1.0; 5]);
/// let mut cache = init(&prob, &SparseLu::default().into()).unwrap();
/// let x = cache.solve().unwrap().to_vec();
///
/// // New values on the same pattern: numeric refactorisation only.
/// let scaled = a.map(|v| 2.0 * v);
/// cache.set_matrix(&scaled).unwrap();
/// let y = cache.solve().unwrap();
/// for i in 0..5 {
///     assert!((y[i] - x[i] / 2.0).abs() < 1e-15);
/// }
/// assert_eq!(cache.stats().symbolic_factorizations, 1);
/// assert_eq!(cache.stats().factorizations, 2);
/// ```
pub struct LinearCache {
    nrows: usize,
    ncols: usize,
    algorithm: LinearAlgorithm,
    system: System,
    engine: Engine,
    b: Vec<f64>,
    x: Vec<f64>,
    stale: bool,
    /// A matrix loaded into a dense factor's storage was rejected (NaN) or failed to factorise:
    /// the storage holds no valid matrix until the next successful `set_matrix`/`set_values`.
    poisoned: Option<LinsolveError>,
    scratch: Scratch,
    stats: LinearStats,
    termination: Termination,
}

impl core::fmt::Debug for LinearCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LinearCache")
            .field("nrows", &self.nrows)
            .field("ncols", &self.ncols)
            .field("algorithm", &self.algorithm.name())
            .field("stats", &self.stats)
            .finish()
    }
}

fn not_square(what: &'static str, nrows: usize, ncols: usize) -> Result<(), LinsolveError> {
    if nrows == ncols {
        Ok(())
    } else {
        Err(LinsolveError::NotSquare { what, nrows, ncols })
    }
}

fn check_dense_finite(a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
    for j in 0..a.ncols() {
        if let Some(c) = a.col(j).try_as_col_major()
            && crate::error::all_finite(c.as_slice())
        {
            continue;
        }
        for i in 0..a.nrows() {
            if !a[(i, j)].is_finite() {
                return Err(LinsolveError::NonFinite {
                    what: "matrix",
                    row: i,
                    col: j,
                });
            }
        }
    }
    Ok(())
}

/// Copies a dense matrix into a dense direct engine's storage (checking finiteness).
fn load_dense(engine: &mut Engine, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
    match engine {
        Engine::DenseLu(f) => f.load(a),
        Engine::DenseCholesky(f) => f.load(a),
        Engine::DenseQr(f) => f.load(a),
        _ => Err(LinsolveError::Backend(
            "dense load into a non-dense engine (internal)".into(),
        )),
    }
}

/// Number of right-hand sides in a column-major block of `len` values with `rows` rows.
fn n_rhs(rows: usize, len: usize) -> Result<usize, LinsolveError> {
    if rows == 0 {
        return Ok(if len == 0 { 1 } else { 0 });
    }
    if len == 0 || !len.is_multiple_of(rows) {
        return Err(LinsolveError::DimensionMismatch {
            what: "right-hand side length (a positive multiple of the number of rows)",
            expected: rows,
            found: len,
        });
    }
    Ok(len / rows)
}

/// Initialises a cache for `problem` with `alg` (resolving [`LinearAlgorithm::Auto`]): copies
/// the matrix and right-hand side, runs the symbolic analysis of a sparse matrix, allocates every
/// buffer. The factorisation itself happens at the first solve (or [`LinearCache::factorize`]).
pub fn init(problem: &LinearProblem, alg: &LinearAlgorithm) -> Result<LinearCache, LinsolveError> {
    let algorithm = alg.resolve(&problem.a, problem.spd);
    let (nrows, ncols) = (problem.a.nrows(), problem.a.ncols());
    let name = algorithm.name();
    let mut system = match &problem.a {
        Matrix::Dense(m) => {
            check_dense_finite(m.as_ref())?;
            System::Dense(m.clone())
        }
        Matrix::Sparse(m) => {
            let pattern = CscPattern::from_sprs(m.view())?;
            let mut values = vec![0.0; pattern.nnz()];
            let end = pattern.nnz();
            let base = m.indptr().raw_storage()[0];
            pattern.scatter_values(&m.data()[base..base + end], &mut values)?;
            System::Sparse {
                pattern,
                values,
                dense: None,
            }
        }
        Matrix::Operator(op) => System::Operator(op.clone()),
    };
    let mut stats = LinearStats::default();
    let unsupported = |what| LinsolveError::Unsupported {
        algorithm: name,
        what,
    };
    // Dense algorithms on a sparse matrix work on a dense copy.
    if matches!(
        algorithm,
        LinearAlgorithm::DenseLu(_)
            | LinearAlgorithm::DenseCholesky(_)
            | LinearAlgorithm::DenseQr(_)
    ) {
        match &mut system {
            System::Sparse { dense, .. } => *dense = Some(Mat::zeros(nrows, ncols)),
            System::Operator(_) => {
                return Err(unsupported("matrix-free operators (use a Krylov method)"));
            }
            System::Dense(_) | System::Loaded => {}
        }
        system.refresh_dense();
    }
    let load_here = matches!(system, System::Dense(_))
        && matches!(
            algorithm,
            LinearAlgorithm::DenseLu(_)
                | LinearAlgorithm::DenseCholesky(_)
                | LinearAlgorithm::DenseQr(_)
        );
    let mut scratch = Scratch::new(StackReq::EMPTY, nrows.max(ncols))?;
    let krylov = |method: Method,
                  tolerances: &algorithm::KrylovTolerances,
                  kind: &Preconditioner,
                  system: &System| {
        not_square(name, nrows, ncols)?;
        let precond = match (kind, system) {
            (Preconditioner::None, _) => PrecondState::None,
            (Preconditioner::Jacobi, System::Operator(_)) => {
                return Err(unsupported(
                    "a Jacobi preconditioner on a matrix-free operator",
                ));
            }
            (Preconditioner::Jacobi, _) => PrecondState::Jacobi(vec![0.0; nrows]),
            (Preconditioner::Ilu0, System::Sparse { pattern, .. }) => {
                PrecondState::Ilu0(Box::new(Ilu0::new(pattern)?))
            }
            (Preconditioner::Ilu0, _) => {
                return Err(unsupported("ILU(0) on a dense matrix or an operator"));
            }
            (Preconditioner::Custom(p), _) => PrecondState::Custom(p.clone()),
        };
        Ok(Engine::Krylov(Box::new(KrylovEngine {
            method,
            tolerances: *tolerances,
            kind: kind.clone(),
            precond,
            ws: KrylovWorkspace::new(method, nrows, tolerances),
        })))
    };
    let engine = match &algorithm {
        LinearAlgorithm::Auto => return Err(unsupported("being resolved (internal)")),
        LinearAlgorithm::DenseLu(o) => {
            not_square(name, nrows, ncols)?;
            Engine::DenseLu(DenseLu::new(nrows, algorithm::par(o.threads))?)
        }
        LinearAlgorithm::DenseCholesky(o) => {
            not_square(name, nrows, ncols)?;
            Engine::DenseCholesky(DenseCholesky::new(nrows, algorithm::par(o.threads))?)
        }
        LinearAlgorithm::DenseQr(o) => {
            let f = DenseQr::new(nrows, ncols, algorithm::par(o.threads))?;
            let (req, len) = f.scratch_req(1);
            scratch.ensure(req, len)?;
            Engine::DenseQr(f)
        }
        LinearAlgorithm::SparseLu(o) => {
            not_square(name, nrows, ncols)?;
            let System::Sparse { pattern, .. } = &system else {
                return Err(unsupported(
                    "dense matrices or operators (pass a sprs::CsMat)",
                ));
            };
            let method = resolve_sparse_lu(o.method, pattern);
            let f = SparseLuFactor::new(pattern, &o.ordering, method, algorithm::par(o.threads))?;
            stats.symbolic_factorizations += 1;
            let (req, len) = f.scratch_req(1);
            scratch.ensure(req, len)?;
            Engine::SparseLu(f)
        }
        LinearAlgorithm::SparseCholesky(o) => {
            not_square(name, nrows, ncols)?;
            let System::Sparse { pattern, .. } = &system else {
                return Err(unsupported(
                    "dense matrices or operators (pass a sprs::CsMat)",
                ));
            };
            let f = SparseCholeskyFactor::new(pattern, &o.ordering, faer::Par::Seq)?;
            stats.symbolic_factorizations += 1;
            scratch.ensure(f.scratch_req(1), 0)?;
            Engine::SparseCholesky(f)
        }
        LinearAlgorithm::Gmres(o) => krylov(
            Method::Gmres { restart: o.restart },
            &o.tolerances,
            &o.preconditioner,
            &system,
        )?,
        LinearAlgorithm::Cg(o) => krylov(Method::Cg, &o.tolerances, &o.preconditioner, &system)?,
        LinearAlgorithm::BiCgStab(o) => {
            krylov(Method::BiCgStab, &o.tolerances, &o.preconditioner, &system)?
        }
    };
    let mut engine = engine;
    if load_here {
        if let Matrix::Dense(m) = &problem.a {
            load_dense(&mut engine, m.as_ref())?;
        }
        system = System::Loaded;
    }
    let k = n_rhs(nrows, problem.b.len())?;
    check_finite("right-hand side", nrows, &problem.b)?;
    Ok(LinearCache {
        nrows,
        ncols,
        algorithm,
        system,
        engine,
        b: problem.b.clone(),
        x: vec![0.0; ncols * k],
        stale: true,
        poisoned: None,
        scratch,
        stats,
        termination: Termination::Direct,
    })
}

/// Solves `problem` with `alg` once: [`init`] and one solve.
///
/// ```
/// use tangent_linsolve::{solve, LinearProblem, LinearAlgorithm, DenseQr};
/// // Least squares: fit y = c0 + c1 t to three points.
/// let a = faer::mat![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]];
/// let sol = solve(&LinearProblem::new(a, vec![1.0, 2.0, 4.0]), &DenseQr::default().into()).unwrap();
/// assert!((sol.x[0] - 5.0 / 6.0).abs() < 1e-14 && (sol.x[1] - 1.5).abs() < 1e-14);
/// ```
pub fn solve(
    problem: &LinearProblem,
    alg: &LinearAlgorithm,
) -> Result<LinearSolution, LinsolveError> {
    let mut cache = init(problem, alg)?;
    cache.solve()?;
    let residual_history = match &cache.engine {
        Engine::Krylov(k) => k.ws.history.clone(),
        _ => Vec::new(),
    };
    Ok(LinearSolution {
        algorithm: cache.algorithm.name(),
        termination: cache.termination,
        stats: cache.stats,
        residual_history,
        x: std::mem::take(&mut cache.x),
    })
}

impl LinearCache {
    /// Rows `m` of `A`.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Columns `n` of `A`.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The algorithm (after resolving `Auto`).
    pub fn algorithm(&self) -> &LinearAlgorithm {
        &self.algorithm
    }

    /// Counters since `init`.
    pub fn stats(&self) -> &LinearStats {
        &self.stats
    }

    /// How the last solve ended.
    pub fn termination(&self) -> Termination {
        self.termination
    }

    /// The current right-hand side(s) (`m · k`).
    pub fn rhs(&self) -> &[f64] {
        &self.b
    }

    /// The solution(s) of the last [`LinearCache::solve`] (`n · k`).
    pub fn solution(&self) -> &[f64] {
        &self.x
    }

    /// Krylov methods: the residual norms of the last solve (start and every iteration); empty
    /// for direct methods.
    pub fn residual_history(&self) -> &[f64] {
        match &self.engine {
            Engine::Krylov(k) => &k.ws.history,
            _ => &[],
        }
    }

    /// Replaces the matrix by one of the same size — and, for a sparse matrix, the same storage
    /// and sparsity pattern ([`LinsolveError::PatternMismatch`] otherwise). The factorisation is
    /// redone (numeric phase only) at the next solve.
    pub fn set_matrix<'a>(&mut self, a: impl Into<MatrixRef<'a>>) -> Result<(), LinsolveError> {
        let a = a.into();
        check_len("matrix rows", self.nrows, a.nrows())?;
        check_len("matrix columns", self.ncols, a.ncols())?;
        match (&mut self.system, a) {
            (System::Loaded, MatrixRef::Dense(a)) => {
                self.stale = true;
                let r = load_dense(&mut self.engine, a);
                self.poisoned = r.clone().err();
                return r;
            }
            (System::Dense(m), MatrixRef::Dense(a)) => {
                check_dense_finite(a)?;
                m.copy_from(a);
            }
            (
                System::Sparse {
                    pattern, values, ..
                },
                MatrixRef::Sparse(a),
            ) => {
                pattern.check_same(&a)?;
                let base = a.indptr().raw_storage()[0];
                let nnz = pattern.nnz();
                pattern.scatter_values(&a.data()[base..base + nnz], values)?;
            }
            (System::Operator(_), _) => {
                return Err(LinsolveError::Unsupported {
                    algorithm: "a cache built on an operator",
                    what: "set_matrix (use set_operator)",
                });
            }
            (System::Dense(_) | System::Loaded, MatrixRef::Sparse(_)) => {
                return Err(LinsolveError::PatternMismatch {
                    what: "sparse matrix given to a cache built on a dense one",
                });
            }
            (System::Sparse { .. }, MatrixRef::Dense(_)) => {
                return Err(LinsolveError::PatternMismatch {
                    what: "dense matrix given to a cache built on a sparse one",
                });
            }
        }
        self.system.refresh_dense();
        self.stale = true;
        Ok(())
    }

    /// Replaces the matrix's values without a pattern check: for a sparse matrix the `nnz`
    /// values in the storage order of the matrix given at `init` (CSC or CSR); for a dense
    /// matrix the `m · n` values column-major.
    pub fn set_values(&mut self, values: &[f64]) -> Result<(), LinsolveError> {
        match &mut self.system {
            System::Loaded => {
                check_len(
                    "dense matrix values (column-major)",
                    self.nrows * self.ncols,
                    values.len(),
                )?;
                self.stale = true;
                let a = MatRef::from_column_major_slice(values, self.nrows, self.ncols);
                let r = load_dense(&mut self.engine, a);
                self.poisoned = r.clone().err();
                return r;
            }
            System::Dense(m) => {
                check_len(
                    "dense matrix values (column-major)",
                    self.nrows * self.ncols,
                    values.len(),
                )?;
                check_finite("matrix", self.nrows, values)?;
                m.copy_from(MatRef::from_column_major_slice(
                    values, self.nrows, self.ncols,
                ));
            }
            System::Sparse {
                pattern, values: v, ..
            } => pattern.scatter_values(values, v)?,
            System::Operator(_) => {
                return Err(LinsolveError::Unsupported {
                    algorithm: "a cache built on an operator",
                    what: "set_values (use set_operator)",
                });
            }
        }
        self.system.refresh_dense();
        self.stale = true;
        Ok(())
    }

    /// Replaces the operator of a matrix-free cache (same size).
    pub fn set_operator(&mut self, op: Arc<dyn LinearOperator>) -> Result<(), LinsolveError> {
        check_len("operator rows", self.nrows, op.nrows())?;
        check_len("operator columns", self.ncols, op.ncols())?;
        match &mut self.system {
            System::Operator(o) => *o = op,
            _ => {
                return Err(LinsolveError::Unsupported {
                    algorithm: "a cache built on a matrix",
                    what: "set_operator",
                });
            }
        }
        self.stale = true;
        Ok(())
    }

    /// Replaces a Krylov method's preconditioner (e.g. after the matrix changed enough).
    pub fn set_preconditioner(&mut self, p: Preconditioner) -> Result<(), LinsolveError> {
        let Engine::Krylov(k) = &mut self.engine else {
            return Err(LinsolveError::Unsupported {
                algorithm: self.algorithm.name(),
                what: "preconditioners",
            });
        };
        k.precond = match (&p, &self.system) {
            (Preconditioner::None, _) => PrecondState::None,
            (Preconditioner::Jacobi, System::Operator(_))
            | (Preconditioner::Ilu0, System::Operator(_) | System::Dense(_) | System::Loaded) => {
                return Err(LinsolveError::Unsupported {
                    algorithm: "this cache's matrix",
                    what: "this preconditioner",
                });
            }
            (Preconditioner::Jacobi, _) => PrecondState::Jacobi(vec![0.0; self.nrows]),
            (Preconditioner::Ilu0, System::Sparse { pattern, .. }) => {
                PrecondState::Ilu0(Box::new(Ilu0::new(pattern)?))
            }
            (Preconditioner::Custom(c), _) => PrecondState::Custom(c.clone()),
        };
        k.kind = p;
        self.stale = true;
        Ok(())
    }

    /// Replaces the right-hand side(s): `m · k` values, column-major (allocates only when `k`
    /// changes).
    pub fn set_rhs(&mut self, b: &[f64]) -> Result<(), LinsolveError> {
        let k = n_rhs(self.nrows, b.len())?;
        check_finite("right-hand side", self.nrows, b)?;
        if self.b.len() != b.len() {
            self.b.resize(b.len(), 0.0);
            self.x.resize(self.ncols * k, 0.0);
        }
        self.b.copy_from_slice(b);
        Ok(())
    }

    /// Mutable access to the right-hand side for in-place updates (finiteness is checked at the
    /// next solve).
    pub fn rhs_mut(&mut self) -> &mut [f64] {
        &mut self.b
    }

    /// Factorises the current matrix if it changed since the last factorisation (numeric phase
    /// only); for Krylov methods, rebuilds the preconditioner.
    pub fn factorize(&mut self) -> Result<(), LinsolveError> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        if !self.stale {
            return Ok(());
        }
        if let System::Loaded = self.system {
            // The matrix is in the factor's storage: factorise it there, once.
            let r = match &mut self.engine {
                Engine::DenseLu(f) => f.factor_loaded(),
                Engine::DenseCholesky(f) => f.factor_loaded(),
                Engine::DenseQr(f) => f.factor_loaded(),
                _ => Err(LinsolveError::Backend(
                    "loaded matrix without a dense engine (internal)".into(),
                )),
            };
            self.stale = false;
            self.stats.factorizations += 1;
            if let Err(e) = &r {
                self.poisoned = Some(e.clone());
            }
            return r;
        }
        let Self {
            system,
            engine,
            stats,
            ..
        } = self;
        let dense = system.dense();
        let missing = || LinsolveError::Backend("cache without a dense copy (internal)".into());
        match engine {
            Engine::DenseLu(f) => f.factor(dense.ok_or_else(missing)?)?,
            Engine::DenseCholesky(f) => f.factor(dense.ok_or_else(missing)?)?,
            Engine::DenseQr(f) => f.factor(dense.ok_or_else(missing)?)?,
            Engine::SparseLu(f) => {
                if let System::Sparse {
                    pattern, values, ..
                } = &*system
                {
                    let r = f.factor(pattern, values);
                    stats.pivoting_fallbacks = f.fallbacks;
                    r?;
                }
            }
            Engine::SparseCholesky(f) => {
                if let System::Sparse {
                    pattern, values, ..
                } = &*system
                {
                    f.factor(pattern, values)?;
                }
            }
            Engine::Krylov(k) => match (&mut k.precond, &*system) {
                (PrecondState::Jacobi(inv), System::Dense(m)) => {
                    krylov::jacobi_inverse((0..m.nrows()).map(|i| m[(i, i)]), inv)?
                }
                (
                    PrecondState::Jacobi(inv),
                    System::Sparse {
                        pattern, values, ..
                    },
                ) => krylov::jacobi_inverse(
                    pattern.diag.iter().map(|d| d.map_or(0.0, |p| values[p])),
                    inv,
                )?,
                (PrecondState::Ilu0(ilu), System::Sparse { values, .. }) => ilu.factor(values)?,
                _ => {}
            },
        }
        stats.factorizations += 1;
        self.stale = false;
        Ok(())
    }

    /// Solves `A x = b` for the current right-hand side(s) and returns `x` (`n · k`).
    pub fn solve(&mut self) -> Result<&[f64], LinsolveError> {
        let b = std::mem::take(&mut self.b);
        let mut x = std::mem::take(&mut self.x);
        let r = self.solve_impl(false, &b, &mut x);
        self.b = b;
        self.x = x;
        r?;
        Ok(&self.x)
    }

    /// Solves `Aᵀ x = b` for the current right-hand side(s) (square `A`) and returns `x`.
    pub fn solve_transpose(&mut self) -> Result<&[f64], LinsolveError> {
        not_square(
            "solve_transpose (use solve_transpose_into for rectangular A)",
            self.nrows,
            self.ncols,
        )?;
        let b = std::mem::take(&mut self.b);
        let mut x = std::mem::take(&mut self.x);
        let r = self.solve_impl(true, &b, &mut x);
        self.b = b;
        self.x = x;
        r?;
        Ok(&self.x)
    }

    /// `x = A⁻¹ b` (least squares / minimum norm for rectangular `A`) for `k` right-hand sides:
    /// `b` is `m · k`, `x` is `n · k`, column-major.
    pub fn solve_into(&mut self, b: &[f64], x: &mut [f64]) -> Result<Termination, LinsolveError> {
        self.solve_impl(false, b, x)
    }

    /// `x = A⁻ᵀ b` for `k` right-hand sides: `b` is `n · k`, `x` is `m · k`.
    pub fn solve_transpose_into(
        &mut self,
        b: &[f64],
        x: &mut [f64],
    ) -> Result<Termination, LinsolveError> {
        self.solve_impl(true, b, x)
    }

    /// `rhs ← A⁻¹ rhs` for square `A` (`n · k` values).
    pub fn solve_in_place(&mut self, rhs: &mut [f64]) -> Result<Termination, LinsolveError> {
        self.in_place(false, rhs)
    }

    /// `rhs ← A⁻ᵀ rhs` for square `A`.
    pub fn solve_transpose_in_place(
        &mut self,
        rhs: &mut [f64],
    ) -> Result<Termination, LinsolveError> {
        self.in_place(true, rhs)
    }

    fn in_place(&mut self, transpose: bool, rhs: &mut [f64]) -> Result<Termination, LinsolveError> {
        not_square("in-place solves", self.nrows, self.ncols)?;
        if let Engine::Krylov(_) | Engine::DenseQr(_) = self.engine {
            // These read b while writing x: go through a copy (allocates; the `_into` forms
            // do not).
            let b = rhs.to_vec();
            return self.solve_impl(transpose, &b, rhs);
        }
        self.solve_direct_in_place(transpose, rhs, true)
    }

    fn solve_impl(
        &mut self,
        transpose: bool,
        b: &[f64],
        x: &mut [f64],
    ) -> Result<Termination, LinsolveError> {
        let (rows_in, rows_out) = if transpose {
            (self.ncols, self.nrows)
        } else {
            (self.nrows, self.ncols)
        };
        let k = n_rhs(rows_in, b.len())?;
        check_len("solution length", rows_out * k, x.len())?;
        check_finite("right-hand side", rows_in, b)?;
        match &mut self.engine {
            Engine::DenseQr(_) | Engine::Krylov(_) => {}
            _ => {
                x.copy_from_slice(b);
                // `b` was checked above.
                return self.solve_direct_in_place(transpose, x, false);
            }
        }
        self.factorize()?;
        let Self {
            system,
            engine,
            scratch,
            stats,
            ..
        } = self;
        let termination = match engine {
            Engine::DenseQr(f) => {
                let (req, len) = f.scratch_req(k);
                scratch.ensure(req, len)?;
                let bm = MatRef::from_column_major_slice(b, rows_in, k);
                let xm = MatMut::from_column_major_slice_mut(x, rows_out, k);
                f.solve(transpose, bm, xm, scratch);
                Termination::Direct
            }
            Engine::Krylov(e) => {
                let op = system.op();
                let n = rows_in;
                let (mut iterations, mut residual) = (0, 0.0f64);
                for c in 0..k {
                    let out = krylov::solve(
                        e.method,
                        op,
                        &e.precond,
                        transpose,
                        &e.tolerances,
                        &b[c * n..(c + 1) * n],
                        &mut x[c * n..(c + 1) * n],
                        &mut e.ws,
                    );
                    stats.iterations += e.ws.history.len().saturating_sub(1);
                    let out = out?;
                    iterations = iterations.max(out.iterations);
                    residual = residual.max(out.residual);
                }
                Termination::Converged {
                    iterations,
                    residual,
                }
            }
            _ => Termination::Direct,
        };
        if transpose {
            stats.transpose_solves += k;
        } else {
            stats.solves += k;
        }
        self.termination = termination;
        Ok(termination)
    }

    /// Direct methods on a square matrix: `rhs ← A⁻¹ rhs` (or `A⁻ᵀ rhs`).
    fn solve_direct_in_place(
        &mut self,
        transpose: bool,
        rhs: &mut [f64],
        check: bool,
    ) -> Result<Termination, LinsolveError> {
        let n = self.nrows;
        let k = n_rhs(n, rhs.len())?;
        if check {
            check_finite("right-hand side", n, rhs)?;
        }
        self.factorize()?;
        let Self {
            engine,
            scratch,
            stats,
            ..
        } = self;
        match engine {
            Engine::DenseLu(f) => f.solve_slice_in_place(transpose, &mut rhs[..n * k], scratch)?,
            Engine::DenseCholesky(f) => {
                f.solve_in_place(MatMut::from_column_major_slice_mut(rhs, n, k))
            }
            Engine::SparseLu(f) => {
                let (req, len) = f.scratch_req(k);
                scratch.ensure(req, len)?;
                f.solve_in_place(transpose, rhs, k, scratch);
            }
            Engine::SparseCholesky(f) => {
                scratch.ensure(f.scratch_req(k), 0)?;
                f.solve_in_place(
                    MatMut::from_column_major_slice_mut(rhs, n, k),
                    scratch.mem.stack(),
                );
            }
            Engine::DenseQr(_) | Engine::Krylov(_) => {
                return Err(LinsolveError::Unsupported {
                    algorithm: "this solver",
                    what: "direct in-place solves (internal)",
                });
            }
        }
        if let Engine::SparseLu(f) = engine
            && f.uses_faer()
            && let Some(p) = rhs.iter().position(|v| !v.is_finite())
        {
            // faer's pivoting sparse LU does not report an exactly zero pivot.
            return Err(LinsolveError::Singular {
                pivot: p % n.max(1),
            });
        }
        if transpose {
            stats.transpose_solves += k;
        } else {
            stats.solves += k;
        }
        self.termination = Termination::Direct;
        Ok(Termination::Direct)
    }

    /// Size of the sparse LU factorisation (`None` for other methods).
    pub fn sparse_lu_summary(&self) -> Option<crate::problem::SparseLuSummary> {
        match &self.engine {
            Engine::SparseLu(f) => Some(f.summary()),
            _ => None,
        }
    }

    /// Whether the current sparse LU factors come from faer's pivoting LU (the chosen method,
    /// or the fallback of the multifrontal one); `false` for every other method.
    pub fn uses_pivoting_fallback(&self) -> bool {
        matches!(&self.engine, Engine::SparseLu(f) if f.uses_faer())
    }
}
