//! The linear-solve rule: `X = A⁻¹ B` as a [`tangent_ad::Rule`], so a solve joins every AD mode
//! without its factorisation being differentiated through.
//!
//! # The derivatives
//!
//! Differentiating `A X = B` gives `Ȧ X + A Ẋ = Ḃ`, so
//!
//! * **forward** (jvp): `Ẋ = A⁻¹ (Ḃ − Ȧ X)` — for `N` tangent directions at once, one solve with
//!   `N · k` right-hand sides on the factorisation of the primal;
//! * **reverse** (vjp): with `B̄ = A⁻ᵀ X̄` (one transpose solve on the same factorisation),
//!   `B̄` is the cotangent of `B` and `Ā = −B̄ Xᵀ`. For a sparse `A` only the entries on `A`'s
//!   pattern are inputs, so `Ā` is `−B̄ Xᵀ` restricted to the pattern: `Āₚ = −Σ_c B̄[i,c] X[j,c]`
//!   for the stored entry `p` at `(i, j)` — `O(nnz · k)`, never a dense outer product.
//!
//! (Giles, "Collected matrix derivative results for forward and reverse mode algorithmic
//! differentiation", 2008.) The transposed rule `Aᵀ X = B` (used for the reverse rule's own
//! derivatives) swaps the roles: `Ẋ = A⁻ᵀ(Ḃ − Ȧᵀ X)`, `B̄ = A⁻¹ X̄`, `Ā = −X B̄ᵀ`.
//!
//! # Cost
//!
//! On a factorisation already computed the jvp is one solve plus `op(Ȧ) X`, the vjp one
//! transpose solve plus `Ā`: `O(nnz(A) · k)` extra, small against the solve for sparse `A`
//! (P3, n = 2048: jvp and vjp 1.05–1.24× the forward solve in criterion runs), but for dense
//! `A` as much memory traffic as the solve itself, since `n²` entries of `Ȧ` are read or of `Ā`
//! written (jvp 1.3–2.2×, vjp 1.7–2.3× at n = 100 and 1000; the transpose solve alone
//! 0.93–1.13×). On `f64` the dense products run as one faer product over all columns.
//!
//! # Second order
//!
//! The factorisation of the primal is the rule's state (`Arc`), reused by the jvp and the vjp,
//! together with the working memory of their solves (behind a `Mutex`, as the `Rule` API has no
//! prepared workspace): on `f64` the jvp forms its right-hand sides in its output and solves
//! there, the vjp keeps `B̄` in that memory, so neither allocates after its first call.
//! When the derivatives are themselves differentiated (`Dual<N, Dual<M>>` for Hessians, the
//! tape's forward-over-reverse for Hessian-vector products) the jvp and vjp run on dual numbers;
//! their solves are then written as `S::apply_rule` of the same rule holding the same
//! factorisation, whose primal solves without refactorising — so second (and higher) derivatives
//! through a solve never factorise again and never differentiate a factorisation.
//!
//! # Inputs and outputs
//!
//! Inputs: the values of `A` — dense: all `n²`, column-major (`a[i + n j] = Aᵢⱼ`); sparse: the
//! `nnz` stored values in the storage order of the matrix given to
//! [`LinearSolveRule::sparse`] (CSC or CSR) — followed by `B` (`n × k`, column-major). Outputs:
//! `X` (`n × k`). Only square `A` and the direct methods (LU, Cholesky, QR; dense and sparse).

use std::sync::{Arc, Mutex, TryLockError};

use faer::dyn_stack::StackReq;
use faer::{MatMut, MatRef, Par};
use sprs::CsMat;
use tangent_ad::{Rule, RuleError, Scalar, is_f64};

use crate::algorithm::{LinearAlgorithm, Ordering, SparseLuMethod, par};
use crate::dense::{DenseCholesky, DenseLu, DenseQr, Scratch};
use crate::error::LinsolveError;
use crate::matrix::CscPattern;
use crate::sparse::{SparseCholeskyFactor, SparseLuFactor};

/// The factorisation a rule's primal leaves for its derivatives, and the working memory of the
/// solves made with it.
#[derive(Debug)]
pub struct LinearSolveState {
    factor: Factor,
    /// Scratch of the derivatives' solves, kept between calls so that a jvp or vjp on `f64`
    /// allocates only the first time. A `Mutex` because the state is shared (`Arc`) and must be
    /// `Sync`; a call that finds it busy (another thread) uses fresh memory instead of waiting.
    workspace: Mutex<Workspace>,
}

/// Buffers of [`LinearSolveState`]'s solves, grown on demand.
#[derive(Debug, Default)]
struct Workspace {
    /// The solve kernels' scratch (`None` until the first solve).
    scratch: Option<Scratch>,
    /// A dense LU's column buffer, a dense QR's copy of the right-hand side.
    work: Vec<f64>,
    /// The vjp's `B̄`.
    rhs: Vec<f64>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per primal evaluation, behind an Arc
enum Factor {
    DenseLu(DenseLu),
    DenseCholesky(DenseCholesky),
    DenseQr(DenseQr),
    SparseLu(SparseLuFactor),
    SparseCholesky(SparseCholeskyFactor),
}

impl LinearSolveState {
    fn new(factor: Factor) -> Self {
        Self {
            factor,
            workspace: Mutex::new(Workspace::default()),
        }
    }

    /// Runs `f` on the workspace, or on a fresh one when another thread holds it (a poisoned
    /// lock is taken over: the workspace holds only scratch values).
    fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        match self.workspace.try_lock() {
            Ok(mut ws) => f(&mut ws),
            Err(TryLockError::Poisoned(p)) => f(&mut p.into_inner()),
            Err(TryLockError::WouldBlock) => f(&mut Workspace::default()),
        }
    }

    /// `rhs ← A⁻¹ rhs` (or `A⁻ᵀ rhs`), `rhs` is `n × k` column-major.
    fn solve(&self, transpose: bool, rhs: &mut [f64], n: usize) -> Result<(), LinsolveError> {
        self.with_workspace(|ws| self.solve_in(&mut ws.scratch, &mut ws.work, transpose, rhs, n))
    }

    /// [`LinearSolveState::solve`] with the given buffers (grown when too small).
    fn solve_in(
        &self,
        scratch: &mut Option<Scratch>,
        work: &mut Vec<f64>,
        transpose: bool,
        rhs: &mut [f64],
        n: usize,
    ) -> Result<(), LinsolveError> {
        let k = rhs.len().checked_div(n).unwrap_or(0);
        match &self.factor {
            Factor::DenseLu(f) => {
                work.resize(n, 0.0);
                let m = MatMut::from_column_major_slice_mut(rhs, n, k);
                if transpose {
                    f.solve_transpose_in_place(m, work);
                } else {
                    f.solve_in_place(m, work);
                }
            }
            Factor::DenseCholesky(f) => {
                f.solve_in_place(MatMut::from_column_major_slice_mut(rhs, n, k))
            }
            Factor::DenseQr(f) => {
                let (req, len) = f.scratch_req(k);
                let scratch = ensure_scratch(scratch, req, len)?;
                work.clear();
                work.extend_from_slice(rhs);
                f.solve(
                    transpose,
                    MatRef::from_column_major_slice(work, n, k),
                    MatMut::from_column_major_slice_mut(rhs, n, k),
                    scratch,
                );
            }
            Factor::SparseLu(f) => {
                let (req, len) = f.scratch_req(k);
                f.solve_in_place(transpose, rhs, k, ensure_scratch(scratch, req, len)?);
            }
            Factor::SparseCholesky(f) => {
                let scratch = ensure_scratch(scratch, f.scratch_req(k), 0)?;
                f.solve_in_place(
                    MatMut::from_column_major_slice_mut(rhs, n, k),
                    scratch.mem.stack(),
                );
            }
        }
        if let Some(p) = rhs.iter().position(|v| !v.is_finite()) {
            return Err(LinsolveError::Singular {
                pivot: p % n.max(1),
            });
        }
        Ok(())
    }
}

/// `scratch`, created or grown to hold `req` and `len` values.
fn ensure_scratch(
    scratch: &mut Option<Scratch>,
    req: StackReq,
    len: usize,
) -> Result<&mut Scratch, LinsolveError> {
    match scratch {
        Some(s) => {
            s.ensure(req, len)?;
            Ok(s)
        }
        None => Ok(scratch.insert(Scratch::new(req, len)?)),
    }
}

/// Which dense factorisation.
#[derive(Debug, Clone, Copy)]
enum DenseKind {
    Lu,
    Cholesky,
    Qr,
}

/// The matrix structure a rule solves with, built once.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per rule, behind an Arc
enum Structure {
    Dense {
        kind: DenseKind,
        par: Par,
    },
    Sparse {
        pattern: CscPattern,
        /// The input values' positions, in the user's storage order.
        user: UserPattern,
        /// A factor object holding the symbolic analysis; every primal takes fresh numeric
        /// storage sharing it.
        template: SparseTemplate,
    },
}

/// A sparse matrix's pattern in the user's storage order: entry `p` of outer index `o`
/// (`outer_ptr[o] ≤ p < outer_ptr[o + 1]`, a column for CSC, a row for CSR) has inner index
/// `inner[p] < n` (32-bit to halve the index traffic of the rules' passes over the values).
#[derive(Debug)]
struct UserPattern {
    n: usize,
    by_columns: bool,
    outer_ptr: Vec<usize>,
    inner: Vec<u32>,
}

impl UserPattern {
    /// `out −= M y`, or `out −= Mᵀ y` with `transpose`, for `M` with values `m` (storage
    /// order) and `y`, `out` of length `n`: a sum per outer index when it indexes `out`, else
    /// one update per entry with the outer index's `y` read once.
    fn sub_matvec<S: Scalar>(&self, transpose: bool, m: &[S], y: &[S], out: &mut [S]) {
        let (Some(y), Some(out)) = (y.get(..self.n), out.get_mut(..self.n)) else {
            return; // callers pass columns of length n
        };
        let outer = self.outer_ptr.windows(2).enumerate();
        if self.by_columns == transpose {
            for (o, w) in outer {
                let mut sum = S::zero();
                for (&v, &i) in m[w[0]..w[1]].iter().zip(&self.inner[w[0]..w[1]]) {
                    // SAFETY: inner indices are below n (validated pattern) = y.len().
                    sum += v * unsafe { *y.get_unchecked(i as usize) };
                }
                out[o] -= sum;
            }
        } else {
            for (o, w) in outer {
                let yo = y[o];
                for (&v, &i) in m[w[0]..w[1]].iter().zip(&self.inner[w[0]..w[1]]) {
                    // SAFETY: inner indices are below n (validated pattern) = out.len().
                    unsafe { *out.get_unchecked_mut(i as usize) -= v * yo };
                }
            }
        }
    }

    /// `abar[p] −= u[i] w[j]` for every stored entry `p` at `(i, j)` (`u`, `w` of length `n`):
    /// the outer index's `u` or `w` read once, the inner one gathered.
    fn sub_outer_product<S: Scalar>(&self, u: &[S], w: &[S], abar: &mut [S]) {
        let (outer_vec, inner_vec) = if self.by_columns { (w, u) } else { (u, w) };
        let Some(inner_vec) = inner_vec.get(..self.n) else {
            return; // callers pass columns of length n
        };
        for (w, &vo) in self.outer_ptr.windows(2).zip(outer_vec) {
            for (a, &i) in abar[w[0]..w[1]].iter_mut().zip(&self.inner[w[0]..w[1]]) {
                // SAFETY: inner indices are below n (validated pattern) = inner_vec.len().
                *a -= unsafe { *inner_vec.get_unchecked(i as usize) } * vo;
            }
        }
    }
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per rule, behind an Arc
enum SparseTemplate {
    Lu(SparseLuFactor),
    Cholesky(SparseCholeskyFactor),
}

/// `x` as `f64` values when `S` is `f64`.
fn f64_values<S: Scalar>(x: &[S]) -> Option<&[f64]> {
    // SAFETY: `S` is `f64` (`is_f64` compares type ids), so `[S]` is `[f64]`.
    is_f64::<S>().then(|| unsafe { &*(x as *const [S] as *const [f64]) })
}

/// `x` as mutable `f64` values when `S` is `f64`.
fn f64_values_mut<S: Scalar>(x: &mut [S]) -> Option<&mut [f64]> {
    // SAFETY: `S` is `f64` (`is_f64` compares type ids), so `[S]` is `[f64]`.
    is_f64::<S>().then(|| unsafe { &mut *(x as *mut [S] as *mut [f64]) })
}

/// `dst −= lhs · rhs` on faer's kernels (SIMD chosen at run time), serial.
fn sub_product(dst: MatMut<'_, f64>, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) {
    faer::linalg::matmul::matmul(dst, faer::Accum::Add, lhs, rhs, -1.0, Par::Seq);
}

#[derive(Debug)]
struct Shared {
    n: usize,
    n_values: usize,
    structure: Structure,
}

/// `X = A⁻¹ B` as a differentiation rule; see the module docs.
///
/// ```
/// use tangent_ad::{Dual, Scalar};
/// use tangent_linsolve::LinearSolveRule;
///
/// // A(p) = [[2 + p, 1], [1, 3]], b = [1, 2]; x(p) = A(p)⁻¹ b, differentiated in p at p = 0.
/// let rule = LinearSolveRule::dense(2);
/// let p = Dual::<1>::variable(0.0, 0);
/// let a = [p + 2.0, Dual::from(1.0), Dual::from(1.0), Dual::from(3.0)]; // column-major
/// let b = [Dual::from(1.0), Dual::from(2.0)];
/// let mut x = [Dual::<1>::default(); 2];
/// rule.solve(&a, &b, &mut x).unwrap();
/// // x = (0.2, 0.6); dx/dp = −A⁻¹ (∂A/∂p) x = −A⁻¹ [0.2, 0] = [−0.12, 0.04].
/// assert!((x[0].v - 0.2).abs() < 1e-15 && (x[1].v - 0.6).abs() < 1e-15);
/// assert!((x[0].d[0] + 0.12).abs() < 1e-15 && (x[1].d[0] - 0.04).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct LinearSolveRule {
    shared: Arc<Shared>,
    nrhs: usize,
    transpose: bool,
    /// Set on the rules the derivatives apply: solve with this factorisation (of the same `A`).
    factor: Option<Arc<LinearSolveState>>,
}

impl LinearSolveRule {
    /// Dense `n × n` `A`, LU with partial pivoting.
    pub fn dense(n: usize) -> Self {
        Self::from_shared(Shared {
            n,
            n_values: n * n,
            structure: Structure::Dense {
                kind: DenseKind::Lu,
                par: Par::Seq,
            },
        })
    }

    /// Dense `n × n` `A` with the given algorithm: [`DenseLu`](crate::DenseLu),
    /// [`DenseCholesky`](crate::DenseCholesky) (`A` SPD; the lower triangle is read) or
    /// [`DenseQr`](crate::DenseQr); `Auto` is LU.
    pub fn dense_with(n: usize, alg: &LinearAlgorithm) -> Result<Self, LinsolveError> {
        let (kind, threads) = match alg {
            LinearAlgorithm::Auto => (DenseKind::Lu, 1),
            LinearAlgorithm::DenseLu(o) => (DenseKind::Lu, o.threads),
            LinearAlgorithm::DenseCholesky(o) => (DenseKind::Cholesky, o.threads),
            LinearAlgorithm::DenseQr(o) => (DenseKind::Qr, o.threads),
            _ => {
                return Err(LinsolveError::Unsupported {
                    algorithm: alg.name(),
                    what: "the dense linear-solve rule (use DenseLu, DenseCholesky or DenseQr)",
                });
            }
        };
        Ok(Self::from_shared(Shared {
            n,
            n_values: n * n,
            structure: Structure::Dense {
                kind,
                par: par(threads),
            },
        }))
    }

    /// Sparse square `A` with the pattern of `a` (values ignored), sparse LU with the default
    /// options; the symbolic analysis runs here, once.
    pub fn sparse(a: &CsMat<f64>) -> Result<Self, LinsolveError> {
        Self::sparse_with(a, &LinearAlgorithm::SparseLu(Default::default()))
    }

    /// Sparse square `A` with [`SparseLu`](crate::SparseLu) or
    /// [`SparseCholesky`](crate::SparseCholesky) (`Auto` is sparse LU).
    pub fn sparse_with(a: &CsMat<f64>, alg: &LinearAlgorithm) -> Result<Self, LinsolveError> {
        let pattern = CscPattern::from_sprs(a.view())?;
        let n = pattern.nrows;
        if pattern.ncols != n {
            return Err(LinsolveError::NotSquare {
                what: "the linear-solve rule",
                nrows: n,
                ncols: pattern.ncols,
            });
        }
        let template = match alg {
            LinearAlgorithm::Auto => SparseTemplate::Lu(SparseLuFactor::new(
                &pattern,
                &Ordering::Amd,
                SparseLuMethod::Auto,
                Par::Seq,
            )?),
            LinearAlgorithm::SparseLu(o) => SparseTemplate::Lu(SparseLuFactor::new(
                &pattern,
                &o.ordering,
                o.method,
                Par::Seq,
            )?),
            LinearAlgorithm::SparseCholesky(o) => SparseTemplate::Cholesky(
                SparseCholeskyFactor::new(&pattern, &o.ordering, Par::Seq)?,
            ),
            _ => {
                return Err(LinsolveError::Unsupported {
                    algorithm: alg.name(),
                    what: "the sparse linear-solve rule (use SparseLu or SparseCholesky)",
                });
            }
        };
        let nnz = pattern.nnz();
        if u32::try_from(n).is_err() {
            return Err(LinsolveError::Unsupported {
                algorithm: alg.name(),
                what: "the sparse linear-solve rule for orders of 2³² and above",
            });
        }
        let user = UserPattern {
            n,
            by_columns: matches!(pattern.user_storage, sprs::CompressedStorage::CSC),
            outer_ptr: pattern.user_indptr.clone(),
            // Validated below n, which fits in u32 (checked above).
            inner: pattern.user_indices.iter().map(|&i| i as u32).collect(),
        };
        Ok(Self::from_shared(Shared {
            n,
            n_values: nnz,
            structure: Structure::Sparse {
                pattern,
                user,
                template,
            },
        }))
    }

    fn from_shared(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
            nrhs: 1,
            transpose: false,
            factor: None,
        }
    }

    /// The same rule for `k` right-hand sides (`B` and `X` are `n × k`).
    pub fn with_rhs(mut self, k: usize) -> Self {
        self.nrhs = k;
        self
    }

    /// The order `n` of `A`.
    pub fn n(&self) -> usize {
        self.shared.n
    }

    /// Number of inputs that are values of `A` (`n²` dense, `nnz` sparse).
    pub fn n_values(&self) -> usize {
        self.shared.n_values
    }

    /// Applies the rule in any scalar type: `x = A⁻¹ b` with `a_values` as in the module docs,
    /// `b` and `x` of length `n · k`. Allocates the concatenated input.
    pub fn solve<S: Scalar>(&self, a_values: &[S], b: &[S], x: &mut [S]) -> Result<(), RuleError> {
        let mut input = Vec::with_capacity(a_values.len() + b.len());
        input.extend_from_slice(a_values);
        input.extend_from_slice(b);
        S::apply_rule(self, &input, x)
    }

    /// Factorises `A` from its values (the primal's work).
    fn factorise(&self, values: &[f64]) -> Result<LinearSolveState, LinsolveError> {
        let n = self.shared.n;
        if let Some(p) = values.iter().position(|v| !v.is_finite()) {
            let (row, col) = match &self.shared.structure {
                Structure::Dense { .. } => (p % n.max(1), p / n.max(1)),
                Structure::Sparse { pattern, .. } => pattern.user_position(p),
            };
            return Err(LinsolveError::NonFinite {
                what: "matrix",
                row,
                col,
            });
        }
        let factor = match &self.shared.structure {
            Structure::Dense { kind, par } => {
                let a = MatRef::from_column_major_slice(values, n, n);
                match kind {
                    DenseKind::Lu => {
                        let mut f = DenseLu::new(n, *par)?;
                        f.factor(a)?;
                        Factor::DenseLu(f)
                    }
                    DenseKind::Cholesky => {
                        let mut f = DenseCholesky::new(n, *par)?;
                        f.factor(a)?;
                        Factor::DenseCholesky(f)
                    }
                    DenseKind::Qr => {
                        let mut f = DenseQr::new(n, n, *par)?;
                        f.factor(a)?;
                        Factor::DenseQr(f)
                    }
                }
            }
            Structure::Sparse {
                pattern, template, ..
            } => {
                let mut csc = vec![0.0; pattern.nnz()];
                pattern.scatter_values(values, &mut csc)?;
                match template {
                    SparseTemplate::Lu(t) => {
                        let mut f = t.fresh()?;
                        f.factor(pattern, &csc)?;
                        Factor::SparseLu(f)
                    }
                    SparseTemplate::Cholesky(t) => {
                        let mut f = t.fresh()?;
                        f.factor(pattern, &csc)?;
                        Factor::SparseCholesky(f)
                    }
                }
            }
        };
        Ok(LinearSolveState::new(factor))
    }

    /// `out[c] −= op(M) y[c]` for each right-hand-side column, `M` given by its input values
    /// (`op` is the transpose when `transpose`).
    fn sub_matvec<S: Scalar>(&self, transpose: bool, m: &[S], y: &[S], out: &mut [S]) {
        let n = self.shared.n;
        if let (Structure::Dense { .. }, Some(m), Some(y), Some(out)) = (
            &self.shared.structure,
            f64_values(m),
            f64_values(y),
            f64_values_mut(out),
        ) {
            // On f64, one product over all the columns on faer's kernels.
            let k = y.len().min(out.len()).checked_div(n).unwrap_or(0);
            let m = MatRef::from_column_major_slice(&m[..n * n], n, n);
            sub_product(
                MatMut::from_column_major_slice_mut(&mut out[..n * k], n, k),
                if transpose { m.transpose() } else { m },
                MatRef::from_column_major_slice(&y[..n * k], n, k),
            );
            return;
        }
        for (yc, oc) in y.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            match &self.shared.structure {
                Structure::Dense { .. } => {
                    for j in 0..n {
                        let col = &m[j * n..(j + 1) * n];
                        if transpose {
                            let mut s = S::zero();
                            for i in 0..n {
                                s += col[i] * yc[i];
                            }
                            oc[j] -= s;
                        } else {
                            let yj = yc[j];
                            for i in 0..n {
                                oc[i] -= col[i] * yj;
                            }
                        }
                    }
                }
                Structure::Sparse { user, .. } => user.sub_matvec(transpose, m, yc, oc),
            }
        }
    }

    /// `X = op(A)⁻¹ R` for `R` holding `cols` columns: on `f64` directly with the factorisation,
    /// otherwise through the rule holding it (so that the solve is differentiated).
    fn solve_with_state<S: Scalar>(
        &self,
        state: &Arc<LinearSolveState>,
        transpose: bool,
        a_values: &[S],
        r: &[S],
        out: &mut [S],
    ) -> Result<(), RuleError> {
        let n = self.shared.n;
        let cols = r.len().checked_div(n).unwrap_or(0);
        if let Some(out) = f64_values_mut(out) {
            for (o, v) in out.iter_mut().zip(r) {
                *o = v.value();
            }
            state.solve(transpose, out, n)?;
            return Ok(());
        }
        let inner = Self {
            shared: self.shared.clone(),
            nrhs: cols,
            transpose,
            factor: Some(state.clone()),
        };
        let mut input = Vec::with_capacity(a_values.len() + r.len());
        input.extend_from_slice(a_values);
        input.extend_from_slice(r);
        S::apply_rule(&inner, &input, out)
    }
}

impl Rule for LinearSolveRule {
    type State = Arc<LinearSolveState>;

    fn n_inputs(&self) -> usize {
        self.shared.n_values + self.shared.n * self.nrhs
    }

    fn n_outputs(&self) -> usize {
        self.shared.n * self.nrhs
    }

    fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<Self::State, RuleError> {
        let (a, b) = x.split_at(self.shared.n_values);
        if let Some(p) = b.iter().position(|v| !v.is_finite()) {
            let n = self.shared.n.max(1);
            return Err(LinsolveError::NonFinite {
                what: "right-hand side",
                row: p % n,
                col: p / n,
            }
            .into());
        }
        let state = match &self.factor {
            Some(f) => f.clone(),
            None => Arc::new(self.factorise(a)?),
        };
        y.copy_from_slice(b);
        state.solve(self.transpose, y, self.shared.n)?;
        Ok(state)
    }

    /// `Ẋ = op(A)⁻¹ (Ḃ − op(Ȧ) X)` for all directions in one multi-right-hand-side solve (on
    /// `f64` formed and solved in place in `dy`).
    fn jvp<S: Scalar>(
        &self,
        state: &Self::State,
        x: &[S],
        y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        let (nv, ni, m) = (self.shared.n_values, self.n_inputs(), self.n_outputs());
        if ni == 0 || m == 0 {
            return Ok(());
        }
        let k = dx.len() / ni;
        let residuals = |r: &mut [S]| {
            for (d, rj) in dx.chunks_exact(ni).zip(r.chunks_exact_mut(m)) {
                let (da, db) = d.split_at(nv);
                rj.copy_from_slice(db);
                self.sub_matvec(self.transpose, da, y, rj);
            }
        };
        if is_f64::<S>() {
            residuals(&mut dy[..m * k]);
            if let Some(dy) = f64_values_mut(&mut dy[..m * k]) {
                state.solve(self.transpose, dy, self.shared.n)?;
                return Ok(());
            }
        }
        let mut r = vec![S::zero(); m * k];
        residuals(&mut r);
        self.solve_with_state(state, self.transpose, &x[..nv], &r, dy)
    }

    /// `B̄ += op(A)⁻ᵀ X̄`, `Ā −= B̄ Xᵀ` (`X B̄ᵀ` transposed), on `A`'s pattern for sparse `A` (on
    /// `f64`, `B̄` lives in the state's workspace).
    fn vjp<S: Scalar>(
        &self,
        state: &Self::State,
        x: &[S],
        y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        let n = self.shared.n;
        if n == 0 {
            return Ok(());
        }
        if let (Some(ybar), Some(y), Some(xbar)) =
            (f64_values(ybar), f64_values(y), f64_values_mut(xbar))
        {
            return state.with_workspace(|ws| {
                ws.rhs.clear();
                ws.rhs.extend_from_slice(ybar);
                state.solve_in(
                    &mut ws.scratch,
                    &mut ws.work,
                    !self.transpose,
                    &mut ws.rhs,
                    n,
                )?;
                self.accumulate_vjp(y, &ws.rhs, xbar);
                Ok(())
            });
        }
        let mut bbar = vec![S::zero(); ybar.len()];
        self.solve_with_state(
            state,
            !self.transpose,
            &x[..self.shared.n_values],
            ybar,
            &mut bbar,
        )?;
        self.accumulate_vjp(y, &bbar, xbar);
        Ok(())
    }
}

impl LinearSolveRule {
    /// The vjp given `B̄ = op(A)⁻ᵀ X̄`: `xbar`'s `B` part `+= B̄`, its `A` part `−= B̄ Xᵀ` (or
    /// `X B̄ᵀ` for the transposed rule), on `A`'s pattern for sparse `A`.
    fn accumulate_vjp<S: Scalar>(&self, y: &[S], bbar: &[S], xbar: &mut [S]) {
        let n = self.shared.n;
        let (abar, bbar_out) = xbar.split_at_mut(self.shared.n_values);
        for (o, &v) in bbar_out.iter_mut().zip(bbar) {
            *o += v;
        }
        // Ā −= Σ_c u_c w_cᵀ with (u, w) = (B̄, X), or (X, B̄) for the transposed rule.
        let (u, w) = if self.transpose { (y, bbar) } else { (bbar, y) };
        match &self.shared.structure {
            Structure::Dense { .. } => {
                if let (Some(u), Some(w), Some(abar)) =
                    (f64_values(u), f64_values(w), f64_values_mut(abar))
                {
                    // On f64, Ā −= U Wᵀ as one product on faer's kernels.
                    let k = u.len().min(w.len()).checked_div(n).unwrap_or(0);
                    sub_product(
                        MatMut::from_column_major_slice_mut(&mut abar[..n * n], n, n),
                        MatRef::from_column_major_slice(&u[..n * k], n, k),
                        MatRef::from_column_major_slice(&w[..n * k], n, k).transpose(),
                    );
                    return;
                }
                for (uc, wc) in u.chunks_exact(n).zip(w.chunks_exact(n)) {
                    // Column by column, zipped slices (no bounds checks in the inner loop).
                    for (col, &wj) in abar.chunks_exact_mut(n).zip(wc) {
                        for (a, &ui) in col.iter_mut().zip(uc) {
                            *a -= ui * wj;
                        }
                    }
                }
            }
            Structure::Sparse { user, .. } => {
                for (uc, wc) in u.chunks_exact(n).zip(w.chunks_exact(n)) {
                    user.sub_outer_product(uc, wc, abar);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: unwrap is the assertion
mod tests {
    use super::*;

    /// A solve that finds the state's workspace busy (held by another caller) uses fresh memory
    /// and gives the same result.
    #[test]
    fn busy_workspace_falls_back_to_fresh_memory() {
        let a = crate::problems::brusselator_iteration_matrix(4, 0.05);
        let rule = LinearSolveRule::sparse(&a).unwrap();
        let n = rule.n();
        let mut input = a.data().to_vec();
        input.extend((0..n).map(|i| 1.0 + i as f64));
        let mut x = vec![0.0; n];
        let state = rule.primal(&input, &mut x).unwrap();
        let mut again = input[a.nnz()..].to_vec();
        {
            let _held = state.workspace.lock().unwrap();
            state.solve(false, &mut again, n).unwrap();
        }
        assert_eq!(again, x);
    }
}
