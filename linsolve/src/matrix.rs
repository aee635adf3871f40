//! The matrices a linear problem can hold: dense (faer, nalgebra), sparse (`sprs`, CSC or CSR)
//! and matrix-free operators.
//!
//! * [`Matrix`] owns the data of a [`LinearProblem`](crate::LinearProblem).
//! * [`MatrixRef`] borrows new values for [`LinearCache::set_matrix`](crate::LinearCache::set_matrix)
//!   without copying (a nalgebra `DMatrix` is column-major like faer's, so it is viewed in place).
//! * [`LinearOperator`] is the matrix-free interface: `y = A x` and, optionally, `y = Aᵀ x`
//!   (needed for transpose solves and reverse-mode derivatives). [`MatrixFree`] builds one from
//!   closures.
//!
//! Sparse matrices are converted once, at `init`, to an internal CSC copy; a CSR input keeps a
//! map from its storage positions to the CSC positions so that later value updates cost one
//! scatter and no allocation.

use std::sync::Arc;

use faer::{Mat, MatRef};
use sprs::{CompressedStorage, CsMat, CsMatView};

use crate::error::LinsolveError;

/// A matrix-free linear operator `A: Rⁿ → Rᵐ` (`m = nrows`, `n = ncols`).
///
/// Implement [`apply_transpose`](LinearOperator::apply_transpose) to enable transpose solves
/// (and thereby reverse-mode derivatives through iterative solves).
pub trait LinearOperator: Send + Sync {
    /// Number of rows `m` (length of `A x`).
    fn nrows(&self) -> usize;
    /// Number of columns `n` (length of `x`).
    fn ncols(&self) -> usize;
    /// `y = A x` with `x.len() == ncols`, `y.len() == nrows` (overwrite `y`).
    fn apply(&self, x: &[f64], y: &mut [f64]);
    /// `y = Aᵀ x` with `x.len() == nrows`, `y.len() == ncols`; the default reports that the
    /// operator has no transpose.
    fn apply_transpose(&self, x: &[f64], y: &mut [f64]) -> Result<(), LinsolveError> {
        let _ = (x, y);
        Err(LinsolveError::Unsupported {
            algorithm: "this linear operator",
            what: "products with the transpose",
        })
    }
}

type ApplyFn = dyn Fn(&[f64], &mut [f64]) + Send + Sync;

/// A [`LinearOperator`] from closures: `apply(x, y)` sets `y = A x`, and optionally
/// `apply_transpose(x, y)` sets `y = Aᵀ x`.
///
/// ```
/// use tangent_linsolve::{LinearOperator, MatrixFree};
/// // The 1-D Laplacian tridiag(−1, 2, −1) on 4 points, never stored.
/// let lap = |x: &[f64], y: &mut [f64]| {
///     let n = x.len();
///     for i in 0..n {
///         let l = if i > 0 { x[i - 1] } else { 0.0 };
///         let r = if i + 1 < n { x[i + 1] } else { 0.0 };
///         y[i] = 2.0 * x[i] - l - r;
///     }
/// };
/// let op = MatrixFree::square(4, lap).with_transpose(lap);
/// let mut y = [0.0; 4];
/// op.apply(&[1.0, 1.0, 1.0, 1.0], &mut y);
/// assert_eq!(y, [1.0, 0.0, 0.0, 1.0]);
/// ```
#[derive(Clone)]
pub struct MatrixFree {
    nrows: usize,
    ncols: usize,
    apply: Arc<ApplyFn>,
    apply_transpose: Option<Arc<ApplyFn>>,
}

impl core::fmt::Debug for MatrixFree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MatrixFree")
            .field("nrows", &self.nrows)
            .field("ncols", &self.ncols)
            .field("has_transpose", &self.apply_transpose.is_some())
            .finish()
    }
}

impl MatrixFree {
    /// An `nrows × ncols` operator with product `apply(x, y)`: `y = A x`.
    pub fn new(
        nrows: usize,
        ncols: usize,
        apply: impl Fn(&[f64], &mut [f64]) + Send + Sync + 'static,
    ) -> Self {
        Self {
            nrows,
            ncols,
            apply: Arc::new(apply),
            apply_transpose: None,
        }
    }

    /// An `n × n` operator.
    pub fn square(n: usize, apply: impl Fn(&[f64], &mut [f64]) + Send + Sync + 'static) -> Self {
        Self::new(n, n, apply)
    }

    /// Adds the transpose product `apply_transpose(x, y)`: `y = Aᵀ x`.
    pub fn with_transpose(
        mut self,
        apply_transpose: impl Fn(&[f64], &mut [f64]) + Send + Sync + 'static,
    ) -> Self {
        self.apply_transpose = Some(Arc::new(apply_transpose));
        self
    }
}

impl LinearOperator for MatrixFree {
    fn nrows(&self) -> usize {
        self.nrows
    }
    fn ncols(&self) -> usize {
        self.ncols
    }
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        (self.apply)(x, y)
    }
    fn apply_transpose(&self, x: &[f64], y: &mut [f64]) -> Result<(), LinsolveError> {
        match &self.apply_transpose {
            Some(t) => {
                t(x, y);
                Ok(())
            }
            None => Err(LinsolveError::Unsupported {
                algorithm: "this MatrixFree operator",
                what: "products with the transpose (use `with_transpose`)",
            }),
        }
    }
}

/// The matrix of a linear problem, owned.
#[derive(Clone)]
#[non_exhaustive]
pub enum Matrix {
    /// A dense matrix (faer, column-major).
    Dense(Mat<f64>),
    /// A sparse matrix in CSC or CSR storage (sorted indices, no duplicates, as `sprs`
    /// guarantees).
    Sparse(CsMat<f64>),
    /// A matrix-free operator (Krylov methods only).
    Operator(Arc<dyn LinearOperator>),
}

impl core::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Matrix::Dense(m) => write!(f, "Matrix::Dense({} × {})", m.nrows(), m.ncols()),
            Matrix::Sparse(m) => write!(
                f,
                "Matrix::Sparse({} × {}, {} entries, {:?})",
                m.rows(),
                m.cols(),
                m.nnz(),
                m.storage()
            ),
            Matrix::Operator(op) => {
                write!(f, "Matrix::Operator({} × {})", op.nrows(), op.ncols())
            }
        }
    }
}

impl Matrix {
    /// Wraps a matrix-free operator.
    pub fn operator(op: impl LinearOperator + 'static) -> Self {
        Matrix::Operator(Arc::new(op))
    }

    /// A dense matrix from a column-major slice (`data.len() == nrows * ncols`).
    pub fn from_column_major(
        nrows: usize,
        ncols: usize,
        data: &[f64],
    ) -> Result<Self, LinsolveError> {
        crate::error::check_len("column-major matrix data", nrows * ncols, data.len())?;
        Ok(Matrix::Dense(Mat::from_fn(nrows, ncols, |i, j| {
            data[i + nrows * j]
        })))
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.nrows(),
            Matrix::Sparse(m) => m.rows(),
            Matrix::Operator(op) => op.nrows(),
        }
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.ncols(),
            Matrix::Sparse(m) => m.cols(),
            Matrix::Operator(op) => op.ncols(),
        }
    }

    /// A borrowed view for [`LinearCache::set_matrix`](crate::LinearCache::set_matrix); `None`
    /// for an operator.
    pub fn as_matrix_ref(&self) -> Option<MatrixRef<'_>> {
        match self {
            Matrix::Dense(m) => Some(MatrixRef::Dense(m.as_ref())),
            Matrix::Sparse(m) => Some(MatrixRef::Sparse(m.view())),
            Matrix::Operator(_) => None,
        }
    }
}

impl From<Mat<f64>> for Matrix {
    fn from(m: Mat<f64>) -> Self {
        Matrix::Dense(m)
    }
}

impl From<MatRef<'_, f64>> for Matrix {
    fn from(m: MatRef<'_, f64>) -> Self {
        Matrix::Dense(m.to_owned())
    }
}

impl From<nalgebra::DMatrix<f64>> for Matrix {
    fn from(m: nalgebra::DMatrix<f64>) -> Self {
        Matrix::Dense(Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)]))
    }
}

impl From<CsMat<f64>> for Matrix {
    fn from(m: CsMat<f64>) -> Self {
        Matrix::Sparse(m)
    }
}

impl From<MatrixFree> for Matrix {
    fn from(op: MatrixFree) -> Self {
        Matrix::Operator(Arc::new(op))
    }
}

/// A borrowed dense or sparse matrix: new values for a cache, without copying.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum MatrixRef<'a> {
    /// Dense, any strides.
    Dense(MatRef<'a, f64>),
    /// Sparse, CSC or CSR.
    Sparse(CsMatView<'a, f64>),
}

impl MatrixRef<'_> {
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        match self {
            MatrixRef::Dense(m) => m.nrows(),
            MatrixRef::Sparse(m) => m.rows(),
        }
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        match self {
            MatrixRef::Dense(m) => m.ncols(),
            MatrixRef::Sparse(m) => m.cols(),
        }
    }
}

impl<'a> From<&'a Mat<f64>> for MatrixRef<'a> {
    fn from(m: &'a Mat<f64>) -> Self {
        MatrixRef::Dense(m.as_ref())
    }
}
impl<'a> From<MatRef<'a, f64>> for MatrixRef<'a> {
    fn from(m: MatRef<'a, f64>) -> Self {
        MatrixRef::Dense(m)
    }
}
impl<'a> From<&'a nalgebra::DMatrix<f64>> for MatrixRef<'a> {
    fn from(m: &'a nalgebra::DMatrix<f64>) -> Self {
        // nalgebra's DMatrix is contiguous column-major: viewed in place.
        MatrixRef::Dense(MatRef::from_column_major_slice(
            m.as_slice(),
            m.nrows(),
            m.ncols(),
        ))
    }
}
impl<'a> From<&'a CsMat<f64>> for MatrixRef<'a> {
    fn from(m: &'a CsMat<f64>) -> Self {
        MatrixRef::Sparse(m.view())
    }
}
impl<'a> From<CsMatView<'a, f64>> for MatrixRef<'a> {
    fn from(m: CsMatView<'a, f64>) -> Self {
        MatrixRef::Sparse(m)
    }
}

/// The sparsity pattern of a sparse matrix in CSC form, with the map from the user's storage
/// (CSC or CSR) to CSC positions and the user's own arrays for pattern comparisons.
#[derive(Debug, Clone)]
pub(crate) struct CscPattern {
    pub(crate) nrows: usize,
    pub(crate) ncols: usize,
    pub(crate) col_ptr: Vec<usize>,
    pub(crate) row_idx: Vec<usize>,
    /// Storage of the user's matrix.
    pub(crate) user_storage: CompressedStorage,
    /// The user's outer pointers and inner indices (for `PatternMismatch` checks).
    pub(crate) user_indptr: Vec<usize>,
    pub(crate) user_indices: Vec<usize>,
    /// `to_csc[p]`: CSC position of the user's storage entry `p` (`None`: the user's storage is
    /// CSC, the identity).
    pub(crate) to_csc: Option<Vec<usize>>,
    /// Position of each diagonal entry in CSC storage (`None` where the pattern lacks it).
    pub(crate) diag: Vec<Option<usize>>,
}

impl CscPattern {
    /// Validates a `sprs` matrix (monotone pointers, in-range, strictly increasing inner
    /// indices) and builds the CSC pattern.
    pub(crate) fn from_sprs(a: CsMatView<'_, f64>) -> Result<Self, LinsolveError> {
        let (nrows, ncols) = (a.rows(), a.cols());
        let storage = a.storage();
        let (outer, inner) = match storage {
            CompressedStorage::CSC => (ncols, nrows),
            CompressedStorage::CSR => (nrows, ncols),
        };
        let indptr = a.indptr();
        let indptr = indptr.raw_storage();
        let indices = a.indices();
        if indptr.len() != outer + 1 {
            return Err(LinsolveError::InvalidSparse {
                what: "pointer array length is not outer dimension + 1",
                index: indptr.len(),
            });
        }
        // A view may start at an offset into shared storage.
        let base = indptr[0];
        let user_indptr: Vec<usize> = indptr.iter().map(|&p| p - base.min(p)).collect();
        let nnz = user_indptr[outer];
        if nnz > indices.len() || a.data().len() < nnz {
            return Err(LinsolveError::InvalidSparse {
                what: "pointer array exceeds the index array",
                index: outer,
            });
        }
        let user_indices: Vec<usize> = indices[base..base + nnz].to_vec();
        for o in 0..outer {
            let (s, e) = (user_indptr[o], user_indptr[o + 1]);
            if e < s {
                return Err(LinsolveError::InvalidSparse {
                    what: "pointer array is not monotone",
                    index: o,
                });
            }
            for p in s..e {
                if user_indices[p] >= inner {
                    return Err(LinsolveError::InvalidSparse {
                        what: "index out of range",
                        index: p,
                    });
                }
                if p > s && user_indices[p] <= user_indices[p - 1] {
                    return Err(LinsolveError::InvalidSparse {
                        what: "indices not strictly increasing (unsorted or duplicated)",
                        index: p,
                    });
                }
            }
        }
        let (col_ptr, row_idx, to_csc) = match storage {
            CompressedStorage::CSC => (user_indptr.clone(), user_indices.clone(), None),
            CompressedStorage::CSR => {
                // Transpose the pattern: counting sort by column keeps rows increasing.
                let mut col_ptr = vec![0usize; ncols + 1];
                for &j in &user_indices {
                    col_ptr[j + 1] += 1;
                }
                for j in 0..ncols {
                    col_ptr[j + 1] += col_ptr[j];
                }
                let mut next = col_ptr.clone();
                let mut row_idx = vec![0usize; nnz];
                let mut map = vec![0usize; nnz];
                for i in 0..nrows {
                    for p in user_indptr[i]..user_indptr[i + 1] {
                        let j = user_indices[p];
                        let q = next[j];
                        next[j] += 1;
                        row_idx[q] = i;
                        map[p] = q;
                    }
                }
                (col_ptr, row_idx, Some(map))
            }
        };
        let mut diag = vec![None; nrows.min(ncols)];
        for (j, d) in diag.iter_mut().enumerate() {
            let rows = &row_idx[col_ptr[j]..col_ptr[j + 1]];
            if let Ok(k) = rows.binary_search(&j) {
                *d = Some(col_ptr[j] + k);
            }
        }
        Ok(Self {
            nrows,
            ncols,
            col_ptr,
            row_idx,
            user_storage: storage,
            user_indptr,
            user_indices,
            to_csc,
            diag,
        })
    }

    /// Number of stored entries.
    pub(crate) fn nnz(&self) -> usize {
        self.row_idx.len()
    }

    /// Checks that `a` has this pattern (same storage, pointers and indices); O(nnz), no
    /// allocation.
    pub(crate) fn check_same(&self, a: &CsMatView<'_, f64>) -> Result<(), LinsolveError> {
        if a.rows() != self.nrows || a.cols() != self.ncols {
            return Err(LinsolveError::PatternMismatch { what: "shape" });
        }
        if a.storage() != self.user_storage {
            return Err(LinsolveError::PatternMismatch {
                what: "storage order (CSC vs CSR)",
            });
        }
        let indptr = a.indptr();
        let indptr = indptr.raw_storage();
        let base = indptr[0];
        if indptr.len() != self.user_indptr.len()
            || indptr
                .iter()
                .zip(&self.user_indptr)
                .any(|(&p, &q)| p.wrapping_sub(base) != q)
        {
            return Err(LinsolveError::PatternMismatch {
                what: "pointer array",
            });
        }
        let nnz = self.nnz();
        if a.indices().len() < base + nnz || a.indices()[base..base + nnz] != self.user_indices[..]
        {
            return Err(LinsolveError::PatternMismatch {
                what: "index array",
            });
        }
        Ok(())
    }

    /// Writes the user's values (storage order of the user's matrix) into CSC order, checking
    /// finiteness.
    pub(crate) fn scatter_values(
        &self,
        user: &[f64],
        csc: &mut [f64],
    ) -> Result<(), LinsolveError> {
        crate::error::check_len("sparse matrix values", self.nnz(), user.len())?;
        if let Some(p) = user.iter().position(|v| !v.is_finite()) {
            let (row, col) = self.user_position(p);
            return Err(LinsolveError::NonFinite {
                what: "matrix",
                row,
                col,
            });
        }
        match &self.to_csc {
            None => csc.copy_from_slice(user),
            Some(map) => {
                for (&q, &v) in map.iter().zip(user) {
                    csc[q] = v;
                }
            }
        }
        Ok(())
    }

    /// `(row, col)` of the user's storage entry `p`.
    pub(crate) fn user_position(&self, p: usize) -> (usize, usize) {
        let outer = self
            .user_indptr
            .partition_point(|&q| q <= p)
            .saturating_sub(1);
        let inner = self.user_indices[p];
        match self.user_storage {
            CompressedStorage::CSC => (inner, outer),
            CompressedStorage::CSR => (outer, inner),
        }
    }

    /// `y = A x` for CSC values `v`.
    pub(crate) fn mul(&self, v: &[f64], x: &[f64], y: &mut [f64]) {
        y.fill(0.0);
        for (j, &xj) in x.iter().enumerate().take(self.ncols) {
            if xj == 0.0 {
                continue;
            }
            for p in self.col_ptr[j]..self.col_ptr[j + 1] {
                y[self.row_idx[p]] += v[p] * xj;
            }
        }
    }

    /// `y = Aᵀ x` for CSC values `v`.
    pub(crate) fn mul_transpose(&self, v: &[f64], x: &[f64], y: &mut [f64]) {
        for (j, yj) in y.iter_mut().enumerate().take(self.ncols) {
            let mut s = 0.0;
            for p in self.col_ptr[j]..self.col_ptr[j + 1] {
                s += v[p] * x[self.row_idx[p]];
            }
            *yj = s;
        }
    }
}
