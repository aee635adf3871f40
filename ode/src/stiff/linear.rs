//! The iteration matrix `M = I − c J` of the implicit methods, assembled into preallocated storage
//! and factorised through `tangent_linsolve`.
//!
//! With a dense `J` the matrix is an `n × n` column-major buffer given to a dense LU. With a
//! sparse `J` its pattern is that of `J` plus the diagonal, built once: every entry of `J` has a
//! precomputed position in `M`'s values, so assembling `M` is one pass over `J`'s values and the
//! diagonal, and the sparse LU's symbolic analysis (ordering, elimination tree, supernodes) is done
//! once per solve — each factorisation is numeric only, and allocates nothing.

use sprs::CsMat;
use tangent_linsolve::{LinearAlgorithm, LinearCache, LinearProblem, LinsolveError, Matrix};

use crate::error::OdeError;
use crate::solution::Stats;
use crate::stiff::jacobian::{JacobianEvaluator, JacobianRef};

/// Why the iteration matrix could not be factorised or used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MatrixFailure {
    /// An exactly zero pivot at this column.
    Singular(usize),
    /// A non-finite entry of `J` at `(row, column)`.
    NonFinite(usize, usize),
    /// An iterative linear solver did not converge, or another solver failure: treated as a
    /// failed Newton iteration (the step is reduced).
    Solver,
}

impl From<LinsolveError> for MatrixFailure {
    fn from(e: LinsolveError) -> Self {
        match e {
            LinsolveError::Singular { pivot } => Self::Singular(pivot),
            LinsolveError::NonFinite {
                what: "matrix",
                row,
                col,
            } => Self::NonFinite(row, col),
            _ => Self::Solver,
        }
    }
}

enum Layout {
    /// `values` is `n × n` column-major.
    Dense,
    /// `values` follows `M`'s CSC storage; `from_jacobian[k]` is the position of `J`'s `k`-th
    /// stored value, `diagonal[j]` that of `M_jj`.
    Sparse {
        from_jacobian: Vec<usize>,
        diagonal: Vec<usize>,
    },
}

/// `M = I − c J`, factorised, with the coefficient `c` of its current factorisation.
pub(crate) struct IterationMatrix {
    n: usize,
    cache: LinearCache,
    direct: bool,
    layout: Layout,
    values: Vec<f64>,
    /// Buffer of the iterative solvers (which read `b` while writing `x`).
    work: Vec<f64>,
    /// `c` of the current factorisation (`None`: no valid factorisation).
    factored: Option<f64>,
}

impl core::fmt::Debug for IterationMatrix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IterationMatrix")
            .field("n", &self.n)
            .field("algorithm", &self.cache.algorithm().name())
            .field("nnz", &self.values.len())
            .field("factored", &self.factored)
            .finish()
    }
}

impl IterationMatrix {
    /// Storage and linear solver for `I − c J` with `J` as `jac` stores it.
    pub(crate) fn new(
        jac: &JacobianEvaluator,
        algorithm: &LinearAlgorithm,
        n: usize,
    ) -> Result<Self, OdeError> {
        let (matrix, layout, values) = match jac.matrix() {
            JacobianRef::Dense(_) => {
                let mut values = vec![0.0; n * n];
                for j in 0..n {
                    values[j + n * j] = 1.0;
                }
                (
                    Matrix::from_column_major(n, n, &values)?,
                    Layout::Dense,
                    values,
                )
            }
            JacobianRef::Sparse(j) => {
                let (m, from_jacobian, diagonal) = with_diagonal(j, n)?;
                let values = m.data().to_vec();
                (
                    Matrix::Sparse(m),
                    Layout::Sparse {
                        from_jacobian,
                        diagonal,
                    },
                    values,
                )
            }
        };
        let cache = tangent_linsolve::init(&LinearProblem::new(matrix, vec![0.0; n]), algorithm)?;
        let direct = cache.algorithm().is_direct();
        Ok(Self {
            n,
            direct,
            cache,
            layout,
            values,
            work: vec![0.0; if direct { 0 } else { n }],
            factored: None,
        })
    }

    /// The coefficient `c` of the current factorisation (`None` when there is none).
    pub(crate) fn coefficient(&self) -> Option<f64> {
        self.factored
    }

    /// Forgets the factorisation (the next use refactorises).
    pub(crate) fn invalidate(&mut self) {
        self.factored = None;
    }

    /// The linear algorithm (after resolving `Auto`).
    pub(crate) fn algorithm_name(&self) -> &'static str {
        self.cache.algorithm().name()
    }

    /// Assembles `I − c J` and factorises it (counted in `stats`).
    pub(crate) fn factor(
        &mut self,
        jac: JacobianRef<'_>,
        c: f64,
        stats: &mut Stats,
    ) -> Result<(), MatrixFailure> {
        self.factored = None;
        let n = self.n;
        match (&self.layout, jac) {
            (Layout::Dense, JacobianRef::Dense(j)) => {
                for (m, &jv) in self.values.iter_mut().zip(j) {
                    *m = -c * jv;
                }
                for k in 0..n {
                    self.values[k + n * k] += 1.0;
                }
            }
            (
                Layout::Sparse {
                    from_jacobian,
                    diagonal,
                },
                JacobianRef::Sparse(j),
            ) => {
                self.values.fill(0.0);
                for (&pos, &jv) in from_jacobian.iter().zip(j.data()) {
                    self.values[pos] = -c * jv;
                }
                for &pos in diagonal {
                    self.values[pos] += 1.0;
                }
            }
            // The layout was built from the same evaluator's storage.
            _ => return Err(MatrixFailure::Solver),
        }
        self.cache.set_values(&self.values)?;
        stats.factorizations += 1;
        self.cache.factorize()?;
        self.factored = Some(c);
        Ok(())
    }

    /// `b ← M⁻¹ b` with the current factorisation (counted in `stats`).
    pub(crate) fn solve(&mut self, b: &mut [f64], stats: &mut Stats) -> Result<(), MatrixFailure> {
        stats.linear_solves += 1;
        if self.direct {
            self.cache.solve_in_place(b)?;
        } else {
            self.work.copy_from_slice(b);
            self.cache.solve_into(&self.work, b)?;
        }
        Ok(())
    }
}

/// `with_diagonal`'s result: the matrix, the positions of `J`'s entries and of the diagonal.
type WithDiagonal = (CsMat<f64>, Vec<usize>, Vec<usize>);

/// The CSC matrix with the pattern of `j` plus the diagonal (values: the identity), the position
/// of each of `j`'s entries in it, and the positions of the diagonal.
/// `j` is CSC (both Jacobian routes store it so).
fn with_diagonal(j: &CsMat<f64>, n: usize) -> Result<WithDiagonal, OdeError> {
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(j.nnz() + n);
    let mut from_jacobian = vec![0usize; j.nnz()];
    let mut diagonal = vec![0usize; n];
    indptr.push(0);
    let (jp, ji) = (j.indptr(), j.indices());
    let jp = jp.raw_storage();
    for col in 0..n {
        let mut diag_done = false;
        for k in jp[col]..jp[col + 1] {
            let row = ji[k];
            if !diag_done && row >= col {
                if row != col {
                    diagonal[col] = indices.len();
                    indices.push(col);
                }
                diag_done = true;
            }
            if row == col {
                diagonal[col] = indices.len();
            }
            from_jacobian[k - jp[0]] = indices.len();
            indices.push(row);
        }
        if !diag_done {
            diagonal[col] = indices.len();
            indices.push(col);
        }
        indptr.push(indices.len());
    }
    let mut data = vec![0.0; indices.len()];
    for &d in &diagonal {
        data[d] = 1.0;
    }
    let m = CsMat::try_new_csc((n, n), indptr, indices, data).map_err(|_| {
        OdeError::Jacobian(tangent_sparsity::SparsityError::InvalidPattern(
            "Jacobian pattern is not a valid n × n CSC matrix",
        ))
    })?;
    Ok((m, from_jacobian, diagonal))
}
