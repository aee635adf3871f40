//! Sparsity patterns: [`sprs::CsStructure`] (a `CsMat` without values) in CSC storage, and the
//! few structural operations the crate needs.

use sprs::{CompressedStorage, CsMatI, CsStructure};

use crate::error::SparsityError;

/// A sparsity pattern: an `m × n` [`sprs::CsStructure`] (`CsMat<()>`), in CSC storage when made
/// by this crate, with sorted row indices in each column.
pub type Pattern = CsStructure;

/// Builds an `m × n` CSC pattern from column-sorted entries given row by row: row `i` holds the
/// columns `cols[row_ptr[i]..row_ptr[i + 1]]` (each row's columns sorted and distinct).
pub(crate) fn csc_from_rows(
    m: usize,
    n: usize,
    row_ptr: &[usize],
    cols: &[u32],
) -> Result<Pattern, SparsityError> {
    let nnz = cols.len();
    let mut indptr = vec![0usize; n + 1];
    for &j in cols {
        indptr[j as usize + 1] += 1;
    }
    for j in 0..n {
        indptr[j + 1] += indptr[j];
    }
    let mut next = indptr[..n].to_vec();
    let mut indices = vec![0usize; nnz];
    // Rows are visited in increasing order, so each column's rows come out sorted.
    for i in 0..m {
        for &j in &cols[row_ptr[i]..row_ptr[i + 1]] {
            let p = &mut next[j as usize];
            indices[*p] = i;
            *p += 1;
        }
    }
    build(CompressedStorage::CSC, (m, n), indptr, indices)
}

fn build(
    storage: CompressedStorage,
    shape: (usize, usize),
    indptr: Vec<usize>,
    indices: Vec<usize>,
) -> Result<Pattern, SparsityError> {
    let data = vec![(); indices.len()];
    let r = match storage {
        CompressedStorage::CSC => CsMatI::try_new_csc(shape, indptr, indices, data),
        CompressedStorage::CSR => CsMatI::try_new(shape, indptr, indices, data),
    };
    r.map_err(|_| SparsityError::InvalidPattern("internal: malformed compressed structure"))
}

/// The compressed structure of a pattern as `(indptr, indices)` of its CSC form
/// (column `j`'s rows are `indices[indptr[j]..indptr[j + 1]]`, sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Compressed {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) ptr: Vec<usize>,
    pub(crate) idx: Vec<u32>,
}

impl Compressed {
    /// The CSC structure of `p` (converted if `p` is stored CSR). Indices must fit in `u32`.
    pub(crate) fn csc_of<N: Clone>(p: &CsMatI<N, usize>) -> Result<Self, SparsityError> {
        let (m, n) = p.shape();
        if m > u32::MAX as usize || n > u32::MAX as usize {
            return Err(SparsityError::InvalidPattern(
                "more than u32::MAX rows or columns",
            ));
        }
        let v = p.structure_view();
        let csc;
        let v = if v.is_csc() {
            v
        } else {
            csc = v.to_csc();
            csc.view()
        };
        let mut out = Self {
            rows: m,
            cols: n,
            ptr: v.indptr().to_proper().into_owned(),
            idx: v.indices().iter().map(|&i| i as u32).collect(),
        };
        // sprs keeps indices sorted for matrices it built; sort defensively for user input.
        for j in 0..n {
            out.idx[out.ptr[j]..out.ptr[j + 1]].sort_unstable();
        }
        Ok(out)
    }

    /// The transpose (the CSR structure of the same matrix read as CSC).
    pub(crate) fn transpose(&self) -> Self {
        let (m, n) = (self.rows, self.cols);
        let mut ptr = vec![0usize; m + 1];
        for &i in &self.idx {
            ptr[i as usize + 1] += 1;
        }
        for i in 0..m {
            ptr[i + 1] += ptr[i];
        }
        let mut next = ptr[..m].to_vec();
        let mut idx = vec![0u32; self.idx.len()];
        for j in 0..n {
            for &i in &self.idx[self.ptr[j]..self.ptr[j + 1]] {
                let p = &mut next[i as usize];
                idx[*p] = j as u32;
                *p += 1;
            }
        }
        Self {
            rows: n,
            cols: m,
            ptr,
            idx,
        }
    }

    /// Entries of column `j`.
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &[u32] {
        &self.idx[self.ptr[j]..self.ptr[j + 1]]
    }

    /// Largest number of entries in one column.
    pub(crate) fn max_col_len(&self) -> usize {
        self.ptr.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }
}

/// The lower bound on the number of colours of any structurally orthogonal column partition:
/// the largest number of nonzeros in a row (those columns pairwise share that row).
pub fn column_coloring_lower_bound(pattern: &Pattern) -> usize {
    let (m, _) = pattern.shape();
    let mut count = vec![0usize; m];
    let v = pattern.structure_view();
    if v.is_csc() {
        for &i in v.indices() {
            count[i] += 1;
        }
        count.into_iter().max().unwrap_or(0)
    } else {
        v.indptr()
            .to_proper()
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }
}

/// The lower bound on the number of colours of any row partition: the largest number of
/// nonzeros in a column.
pub fn row_coloring_lower_bound(pattern: &Pattern) -> usize {
    column_coloring_lower_bound(&pattern.transpose_view().to_owned())
}
