//! The algorithms: one small options struct per method (each with `Default`), the
//! [`LinearAlgorithm`] enum that names them, and the automatic choice.
//!
//! # The default choice
//!
//! [`LinearAlgorithm::Auto`] looks at the matrix and at the problem's declared symmetric positive
//! definiteness ([`LinearProblem::spd`](crate::LinearProblem)):
//!
//! | matrix | declared SPD | choice |
//! | --- | --- | --- |
//! | operator | yes / no | [`Cg`] / [`Gmres`] (no preconditioner) |
//! | dense, rectangular | — | [`DenseQr`] (least squares or minimum norm) |
//! | dense, square | yes / no | [`DenseCholesky`] / [`DenseLu`] |
//! | sparse, rectangular | — | [`DenseQr`] on the densified matrix |
//! | sparse, square, `n ≤` [`SMALL_SPARSE_AS_DENSE`] | yes / no | dense Cholesky / LU on the densified matrix |
//! | sparse, square, larger | yes / no | [`SparseCholesky`] / [`SparseLu`] |
//!
//! [`SparseLu`]'s own default ([`SparseLuMethod::Auto`]) then chooses the kernel from the
//! pattern, as UMFPACK chooses its strategy (Davis, "A column pre-ordering strategy for the
//! unsymmetric-pattern multifrontal method", ACM TOMS 30, 2004): when at least half of the
//! off-diagonal entries have their transposed partner and at least 90% of the diagonal is
//! present, the multifrontal LU on the symmetric structure (refactorisation is pure
//! arithmetic); otherwise faer's pivoting LU with a COLAMD ordering.

use std::sync::Arc;

use faer::Par;

use crate::error::LinsolveError;
use crate::krylov::Preconditioner;
use crate::matrix::{CscPattern, Matrix};

/// Sparse matrices up to this order are solved densely by the default choice. Measured in
/// `benches/benches/linsolve.rs` (group `linsolve/small-sparse`, P3's pattern with 6 entries per
/// row): the sparse LU's refactorisation and solve already beat densify + dense LU + solve at
/// n = 18 (1.6×) and the gap grows with n (2.3× at n = 128), while below about 16 unknowns the
/// dense kernels' simplicity wins.
pub const SMALL_SPARSE_AS_DENSE: usize = 16;

/// Fill-reducing ordering of a sparse factorisation.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Ordering {
    /// Approximate minimum degree on the pattern of `A + Aᵀ` (Amestoy, Davis & Duff, SIAM J.
    /// Matrix Anal. Appl. 17, 1996), faer's implementation.
    #[default]
    Amd,
    /// No reordering.
    Natural,
    /// A user ordering: `perm[i]` is the original index of the `i`-th pivot (length `n`).
    Custom(Arc<[usize]>),
}

/// faer's sparse LU variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaerVariant {
    /// faer decides by its flop-per-entry ratio.
    #[default]
    Auto,
    /// Left-looking Gilbert–Peierls, column by column.
    Simplicial,
    /// Supernodal with dense blocks.
    Supernodal,
}

/// The kernel of [`SparseLu`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum SparseLuMethod {
    /// Choose from the pattern (see the module docs).
    #[default]
    Auto,
    /// The supernodal multifrontal LU on the structure of `A + Aᵀ` with pivoting restricted to
    /// the supernodes' diagonal blocks: a multiplier larger than `1 / pivot_threshold` in
    /// magnitude (or a zero pivot) makes that factorisation fall back to faer's pivoting LU.
    Multifrontal {
        /// In `(0, 1]`; 0 accepts any nonzero pivot.
        pivot_threshold: f64,
    },
    /// faer's sparse LU with partial pivoting by rows and a COLAMD column ordering (the
    /// [`SparseLu::ordering`] does not apply).
    PartialPivoting(FaerVariant),
}

/// The pivot threshold of [`SparseLuMethod::Multifrontal`] under [`SparseLuMethod::Auto`]:
/// multipliers up to 100 in magnitude, the element-growth bound of threshold partial pivoting
/// with parameter 0.01 (SuperLU's and UMFPACK's symmetric-strategy default is 0.001, MA48's
/// 0.01; the tighter value costs nothing on the diagonally dominant matrices the
/// multifrontal path is chosen for).
pub const DEFAULT_PIVOT_THRESHOLD: f64 = 0.01;

/// Dense LU with partial pivoting (faer). Square matrices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseLu {
    /// Threads for the factorisation and solves (1: serial).
    pub threads: usize,
}

impl Default for DenseLu {
    fn default() -> Self {
        Self { threads: 1 }
    }
}

/// Dense Cholesky `L Lᵀ` (faer); reads the lower triangle. Symmetric positive definite matrices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseCholesky {
    /// Threads (1: serial).
    pub threads: usize,
}

impl Default for DenseCholesky {
    fn default() -> Self {
        Self { threads: 1 }
    }
}

/// Dense Householder QR (faer): least squares for `m ≥ n`, minimum norm for `m < n`, and square
/// systems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseQr {
    /// Threads (1: serial).
    pub threads: usize,
}

impl Default for DenseQr {
    fn default() -> Self {
        Self { threads: 1 }
    }
}

/// Sparse LU with the symbolic analysis done once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseLu {
    /// Fill-reducing ordering (multifrontal kernel).
    pub ordering: Ordering,
    /// The kernel.
    pub method: SparseLuMethod,
    /// Threads of the numeric factorisation (0 or 1: serial, the default). With 2 or more, the
    /// multifrontal kernel factorises two independent sets of subtrees of the elimination tree
    /// at the same time when the symbolic analysis finds such a split (the second set on a
    /// thread of its own, started with the factorisation's storage), then splits the large
    /// fronts above them (their LU, triangular solve and Schur product) between the two
    /// threads; the factors are the serial path's bit for bit. faer's kernels (the
    /// partial-pivoting LU, the solves with blocks of right-hand sides) may use that many
    /// threads.
    pub threads: usize,
}

/// Sparse Cholesky (faer) with the symbolic analysis done once; reads the lower triangle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseCholesky {
    /// Fill-reducing ordering.
    pub ordering: Ordering,
}

/// Stopping rule of the Krylov methods: stop when `‖b − A x‖₂ ≤ max(rtol ‖b‖₂, atol)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KrylovTolerances {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Iteration limit (matrix–vector products for CG and GMRES, half of them for BiCGStab).
    pub max_iterations: usize,
}

impl Default for KrylovTolerances {
    /// `rtol = 1e-10`, `atol = 0`, 1000 iterations: tight enough that derivatives computed from
    /// the solution keep about ten digits.
    fn default() -> Self {
        Self {
            rtol: 1e-10,
            atol: 0.0,
            max_iterations: 1000,
        }
    }
}

/// Restarted GMRES with right preconditioning (Saad & Schultz, SIAM J. Sci. Stat. Comput. 7,
/// 1986). Any square nonsingular matrix.
#[derive(Clone, Debug)]
pub struct Gmres {
    /// Krylov subspace dimension before a restart.
    pub restart: usize,
    /// Stopping rule.
    pub tolerances: KrylovTolerances,
    /// Right preconditioner.
    pub preconditioner: Preconditioner,
}

impl Default for Gmres {
    fn default() -> Self {
        Self {
            restart: 30,
            tolerances: KrylovTolerances::default(),
            preconditioner: Preconditioner::None,
        }
    }
}

/// Preconditioned conjugate gradients (Hestenes & Stiefel, J. Res. NBS 49, 1952). Symmetric
/// positive definite matrices and preconditioners.
#[derive(Clone, Debug, Default)]
pub struct Cg {
    /// Stopping rule.
    pub tolerances: KrylovTolerances,
    /// Preconditioner (must be symmetric positive definite).
    pub preconditioner: Preconditioner,
}

/// BiCGStab with right preconditioning (van der Vorst, SIAM J. Sci. Stat. Comput. 13, 1992).
/// Square nonsymmetric matrices.
#[derive(Clone, Debug, Default)]
pub struct BiCgStab {
    /// Stopping rule.
    pub tolerances: KrylovTolerances,
    /// Right preconditioner.
    pub preconditioner: Preconditioner,
}

/// Which algorithm solves a [`LinearProblem`](crate::LinearProblem).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum LinearAlgorithm {
    /// Chosen from the matrix (see the module docs).
    #[default]
    Auto,
    /// See [`DenseLu`].
    DenseLu(DenseLu),
    /// See [`DenseCholesky`].
    DenseCholesky(DenseCholesky),
    /// See [`DenseQr`].
    DenseQr(DenseQr),
    /// See [`SparseLu`].
    SparseLu(SparseLu),
    /// See [`SparseCholesky`].
    SparseCholesky(SparseCholesky),
    /// See [`Gmres`].
    Gmres(Gmres),
    /// See [`Cg`].
    Cg(Cg),
    /// See [`BiCgStab`].
    BiCgStab(BiCgStab),
}

macro_rules! from_alg {
    ($($t:ident),*) => {$(
        impl From<$t> for LinearAlgorithm {
            fn from(a: $t) -> Self {
                LinearAlgorithm::$t(a)
            }
        }
    )*};
}
from_alg!(
    DenseLu,
    DenseCholesky,
    DenseQr,
    SparseLu,
    SparseCholesky,
    Gmres,
    Cg,
    BiCgStab
);

impl LinearAlgorithm {
    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            LinearAlgorithm::Auto => "Auto",
            LinearAlgorithm::DenseLu(_) => "DenseLu",
            LinearAlgorithm::DenseCholesky(_) => "DenseCholesky",
            LinearAlgorithm::DenseQr(_) => "DenseQr",
            LinearAlgorithm::SparseLu(_) => "SparseLu",
            LinearAlgorithm::SparseCholesky(_) => "SparseCholesky",
            LinearAlgorithm::Gmres(_) => "GMRES",
            LinearAlgorithm::Cg(_) => "CG",
            LinearAlgorithm::BiCgStab(_) => "BiCGStab",
        }
    }

    /// `true` for the factorisation methods.
    pub fn is_direct(&self) -> bool {
        matches!(
            self,
            LinearAlgorithm::DenseLu(_)
                | LinearAlgorithm::DenseCholesky(_)
                | LinearAlgorithm::DenseQr(_)
                | LinearAlgorithm::SparseLu(_)
                | LinearAlgorithm::SparseCholesky(_)
        )
    }

    /// Resolves [`LinearAlgorithm::Auto`] for matrix `a` (declared SPD or not); any other
    /// algorithm is returned unchanged.
    ///
    /// ```
    /// use tangent_linsolve::{LinearAlgorithm, Matrix};
    /// let a = Matrix::from(faer::Mat::<f64>::identity(3, 3));
    /// assert_eq!(LinearAlgorithm::Auto.resolve(&a, false).name(), "DenseLu");
    /// assert_eq!(LinearAlgorithm::Auto.resolve(&a, true).name(), "DenseCholesky");
    /// ```
    pub fn resolve(&self, a: &Matrix, spd: bool) -> LinearAlgorithm {
        if !matches!(self, LinearAlgorithm::Auto) {
            return self.clone();
        }
        let square = a.nrows() == a.ncols();
        match a {
            Matrix::Operator(_) if spd => Cg::default().into(),
            Matrix::Operator(_) => Gmres::default().into(),
            _ if !square => DenseQr::default().into(),
            Matrix::Dense(_) if spd => DenseCholesky::default().into(),
            Matrix::Dense(_) => DenseLu::default().into(),
            Matrix::Sparse(m) if m.cols() <= SMALL_SPARSE_AS_DENSE => {
                if spd {
                    DenseCholesky::default().into()
                } else {
                    DenseLu::default().into()
                }
            }
            Matrix::Sparse(_) if spd => SparseCholesky::default().into(),
            Matrix::Sparse(_) => SparseLu::default().into(),
        }
    }
}

/// faer's parallelism for a thread count.
pub(crate) fn par(threads: usize) -> Par {
    if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

/// Inverse of a permutation of `0..n`, validated.
pub(crate) fn inverse_permutation(p: &[usize], n: usize) -> Result<Vec<usize>, LinsolveError> {
    crate::error::check_len("custom ordering", n, p.len())?;
    let mut inv = vec![usize::MAX; n];
    for (i, &pi) in p.iter().enumerate() {
        if pi >= n || inv[pi] != usize::MAX {
            return Err(LinsolveError::InvalidSparse {
                what: "custom ordering is not a permutation",
                index: i,
            });
        }
        inv[pi] = i;
    }
    Ok(inv)
}

/// Resolves [`SparseLuMethod::Auto`] from the pattern (see the module docs).
pub(crate) fn resolve_sparse_lu(method: SparseLuMethod, pattern: &CscPattern) -> SparseLuMethod {
    if method != SparseLuMethod::Auto {
        return method;
    }
    let n = pattern.ncols;
    let (mut off, mut matched) = (0usize, 0usize);
    for j in 0..n {
        for &i in &pattern.row_idx[pattern.col_ptr[j]..pattern.col_ptr[j + 1]] {
            if i != j {
                off += 1;
                let col_i = &pattern.row_idx[pattern.col_ptr[i]..pattern.col_ptr[i + 1]];
                if col_i.binary_search(&j).is_ok() {
                    matched += 1;
                }
            }
        }
    }
    let diag = pattern.diag.iter().filter(|d| d.is_some()).count();
    let symmetric = off == 0 || 2 * matched >= off;
    if symmetric && 10 * diag >= 9 * n {
        SparseLuMethod::Multifrontal {
            pivot_threshold: DEFAULT_PIVOT_THRESHOLD,
        }
    } else {
        SparseLuMethod::PartialPivoting(FaerVariant::Auto)
    }
}
