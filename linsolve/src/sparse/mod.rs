//! Sparse direct factorisations: LU (a supernodal multifrontal LU of our own, or faer's pivoting
//! sparse LU) and Cholesky (faer's), each with the symbolic analysis done once and numeric
//! refactorisation when only the values change.
//!
//! * **Multifrontal LU** ([`multifrontal`]): AMD on `A + Aᵀ`, supernodes and every index map
//!   computed once; a refactorisation is dense arithmetic on frontal matrices. Pivoting stays
//!   inside each supernode's diagonal block; when a multiplier exceeds `1 / pivot_threshold`
//!   the factorisation falls back to faer's pivoting LU for that matrix (counted in the cache's
//!   statistics), so the result is always a stable factorisation.
//! * **faer's LU** (`PartialPivoting`): COLAMD column ordering, partial pivoting by rows during
//!   the numeric factorisation (Gilbert–Peierls simplicial, or supernodal), the symbolic analysis
//!   (ordering, elimination tree, supernodes) reused across refactorisations.
//! * **Cholesky**: faer's symbolic analysis (AMD, simplicial or supernodal by its flop ratio)
//!   once, numeric `L Lᵀ` per refactorisation; reads the lower triangle.

mod helper;
pub(crate) mod multifrontal;

use std::sync::Arc;

use faer::dyn_stack::{MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::LltError;
use faer::sparse::linalg::cholesky::{
    CholeskySymbolicParams, LltRef, SymbolicCholesky, SymbolicCholeskyRaw, SymmetricOrdering,
    factorize_symbolic_cholesky,
};
use faer::sparse::linalg::lu::{
    LuRef, LuSymbolicParams, NumericLu, SymbolicLu, factorize_symbolic_lu,
};
use faer::sparse::linalg::{LuError, SupernodalThreshold};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Spec};

use crate::algorithm::{FaerVariant, Ordering, SparseLuMethod};
use crate::dense::{Buf, Scratch, mem_buffer};
use crate::error::LinsolveError;
use crate::matrix::CscPattern;
use multifrontal::{MultifrontalLu, MultifrontalSymbolic, SymbolicOrdering};

/// faer's view of a validated pattern.
fn faer_pattern(p: &CscPattern) -> SymbolicSparseColMatRef<'_, usize> {
    // The pattern was validated when the cache was built (monotone pointers, sorted in-range
    // indices), which is all `new_checked` asserts.
    SymbolicSparseColMatRef::new_checked(p.nrows, p.ncols, &p.col_ptr, None, &p.row_idx)
}

/// faer's sparse LU with partial pivoting.
#[derive(Debug)]
pub(crate) struct FaerLu {
    symbolic: Arc<SymbolicLu<usize>>,
    numeric: NumericLu<usize, f64>,
    mem: Buf,
    par: Par,
}

impl FaerLu {
    pub(crate) fn new(
        pattern: &CscPattern,
        variant: FaerVariant,
        par: Par,
    ) -> Result<Self, LinsolveError> {
        let threshold = match variant {
            FaerVariant::Auto => SupernodalThreshold::AUTO,
            FaerVariant::Simplicial => SupernodalThreshold::FORCE_SIMPLICIAL,
            FaerVariant::Supernodal => SupernodalThreshold::FORCE_SUPERNODAL,
        };
        let params = LuSymbolicParams {
            supernodal_flop_ratio_threshold: threshold,
            ..Default::default()
        };
        let symbolic = factorize_symbolic_lu(faer_pattern(pattern), params)
            .map_err(|e| LinsolveError::Backend(format!("sparse LU symbolic analysis: {e:?}")))?;
        Self::with_symbolic(Arc::new(symbolic), par)
    }

    /// Fresh numeric storage on a shared symbolic analysis.
    fn with_symbolic(symbolic: Arc<SymbolicLu<usize>>, par: Par) -> Result<Self, LinsolveError> {
        let req = symbolic.factorize_numeric_lu_scratch::<f64>(par, Spec::default());
        Ok(Self {
            symbolic,
            numeric: NumericLu::new(),
            mem: mem_buffer(req)?,
            par,
        })
    }

    pub(crate) fn factor(
        &mut self,
        pattern: &CscPattern,
        values: &[f64],
    ) -> Result<(), LinsolveError> {
        // faer's kernels do not report an exactly zero pivot (they divide by it); an all-zero
        // column, the common case, is caught here for O(nnz).
        if let Some(j) = (0..pattern.ncols).find(|&j| {
            values[pattern.col_ptr[j]..pattern.col_ptr[j + 1]]
                .iter()
                .all(|&v| v == 0.0)
        }) {
            return Err(LinsolveError::Singular { pivot: j });
        }
        let a = SparseColMatRef::new(faer_pattern(pattern), values);
        match self.symbolic.factorize_numeric_lu(
            &mut self.numeric,
            a,
            self.par,
            self.mem.stack(),
            Spec::default(),
        ) {
            Ok(_) => Ok(()),
            Err(LuError::SymbolicSingular { index }) => Err(LinsolveError::Singular {
                pivot: self
                    .symbolic
                    .col_perm()
                    .arrays()
                    .0
                    .get(index)
                    .copied()
                    .unwrap_or(index),
            }),
            Err(LuError::Generic(e)) => Err(LinsolveError::Backend(format!("sparse LU: {e:?}"))),
        }
    }

    pub(crate) fn solve_req(&self, k: usize) -> StackReq {
        self.symbolic.solve_in_place_scratch::<f64>(k, self.par)
    }

    pub(crate) fn solve_in_place(
        &self,
        transpose: bool,
        rhs: MatMut<'_, f64>,
        stack: &mut MemStack,
    ) {
        let lu = LuRef::new_unchecked(&self.symbolic, &self.numeric);
        if transpose {
            lu.solve_transpose_in_place_with_conj(Conj::No, rhs, self.par, stack);
        } else {
            lu.solve_in_place_with_conj(Conj::No, rhs, self.par, stack);
        }
    }
}

/// Sparse LU: the multifrontal engine with faer's pivoting LU as fallback, or faer's alone.
#[derive(Debug)]
pub(crate) struct SparseLuFactor {
    method: SparseLuMethod,
    multifrontal: Option<(Arc<MultifrontalSymbolic>, MultifrontalLu)>,
    faer: Option<FaerLu>,
    /// Which engine holds the current factors.
    use_faer: bool,
    /// Number of factorisations that fell back from the multifrontal engine to faer's.
    pub(crate) fallbacks: usize,
    par: Par,
}

impl SparseLuFactor {
    /// Symbolic analysis of a square pattern.
    pub(crate) fn new(
        pattern: &CscPattern,
        ordering: &Ordering,
        method: SparseLuMethod,
        par: Par,
    ) -> Result<Self, LinsolveError> {
        let method = crate::algorithm::resolve_sparse_lu(method, pattern);
        let (multifrontal, faer) = match method {
            SparseLuMethod::Auto | SparseLuMethod::Multifrontal { .. } => {
                let sym = Arc::new(MultifrontalSymbolic::new(
                    pattern,
                    symbolic_ordering(ordering),
                )?);
                let num = MultifrontalLu::new(&sym, par);
                (Some((sym, num)), None)
            }
            SparseLuMethod::PartialPivoting(variant) => {
                (None, Some(FaerLu::new(pattern, variant, par)?))
            }
        };
        Ok(Self {
            method,
            multifrontal,
            faer,
            use_faer: matches!(method, SparseLuMethod::PartialPivoting(_)),
            fallbacks: 0,
            par,
        })
    }

    /// A factor object with fresh numeric storage sharing this one's symbolic analyses.
    pub(crate) fn fresh(&self) -> Result<Self, LinsolveError> {
        let multifrontal = self
            .multifrontal
            .as_ref()
            .map(|(sym, _)| (sym.clone(), MultifrontalLu::new(sym, self.par)));
        let faer = match &self.faer {
            Some(f) => Some(FaerLu::with_symbolic(f.symbolic.clone(), self.par)?),
            None => None,
        };
        Ok(Self {
            method: self.method,
            multifrontal,
            faer,
            use_faer: self.use_faer,
            fallbacks: 0,
            par: self.par,
        })
    }

    /// Numeric factorisation of CSC `values` on `pattern`.
    pub(crate) fn factor(
        &mut self,
        pattern: &CscPattern,
        values: &[f64],
    ) -> Result<(), LinsolveError> {
        let mut static_failure = None;
        if let (SparseLuMethod::Multifrontal { pivot_threshold }, Some((sym, num))) =
            (self.method, self.multifrontal.as_mut())
        {
            match num.factor(sym, values, pivot_threshold) {
                Ok(()) => {
                    self.use_faer = false;
                    return Ok(());
                }
                Err(f) => static_failure = Some(f),
            }
        }
        // faer's pivoting LU: the method chosen, or the fallback (analysed on first use).
        let faer = match self.faer {
            Some(ref mut f) => f,
            None => self
                .faer
                .insert(FaerLu::new(pattern, FaerVariant::Auto, self.par)?),
        };
        if static_failure.is_some() {
            self.fallbacks += 1;
        }
        self.use_faer = true;
        let zero_static_pivot = static_failure.filter(|f| f.zero_pivot).map(|f| f.column);
        match faer.factor(pattern, values) {
            Err(LinsolveError::Singular { pivot }) => Err(LinsolveError::Singular {
                // The static-pivot column names the failure more precisely when there was one.
                pivot: zero_static_pivot.unwrap_or(pivot),
            }),
            Err(e) => Err(e),
            Ok(()) => match zero_static_pivot {
                // faer's LU does not report an exactly zero pivot: after a static zero pivot,
                // one probe solve tells a singular matrix from one that only needed pivoting
                // across supernodes (allocates; this path is rare).
                Some(column) => {
                    let n = pattern.ncols;
                    let mut probe: Vec<f64> =
                        (0..n).map(|i| 1.0 + (i % 7) as f64 * 0.125).collect();
                    let mut mem = mem_buffer(faer.solve_req(1))?;
                    faer.solve_in_place(
                        false,
                        MatMut::from_column_major_slice_mut(&mut probe, n, 1),
                        mem.stack(),
                    );
                    if probe.iter().all(|v| v.is_finite()) {
                        Ok(())
                    } else {
                        Err(LinsolveError::Singular { pivot: column })
                    }
                }
                None => Ok(()),
            },
        }
    }

    /// Scratch for a solve with `k` right-hand sides.
    pub(crate) fn scratch_req(&self, k: usize) -> (StackReq, usize) {
        let mut req = StackReq::EMPTY;
        let mut len = 0;
        if let Some((sym, _)) = &self.multifrontal {
            len = sym.solve_scratch_len(k);
        }
        if let Some(f) = &self.faer {
            req = f.solve_req(k);
        }
        (req, len)
    }

    /// `rhs ← A⁻¹ rhs` or `A⁻ᵀ rhs` (`rhs` is `n × k` column-major); scratch from
    /// [`SparseLuFactor::scratch_req`].
    pub(crate) fn solve_in_place(
        &self,
        transpose: bool,
        rhs: &mut [f64],
        k: usize,
        scratch: &mut Scratch,
    ) {
        if self.use_faer {
            if let Some(f) = &self.faer {
                let n = rhs.len() / k.max(1);
                let m = MatMut::from_column_major_slice_mut(rhs, n, k);
                f.solve_in_place(transpose, m, scratch.mem.stack());
            }
        } else if let Some((sym, num)) = &self.multifrontal {
            num.solve_in_place(sym, transpose, rhs, k, &mut scratch.vec);
        }
    }

    /// Diagnostics of the factorisation.
    pub(crate) fn summary(&self) -> crate::problem::SparseLuSummary {
        let (supernodes, factor_entries, flops, max_front) = match &self.multifrontal {
            Some((sym, _)) => sym.summary(),
            None => (0, 0, 0.0, 0),
        };
        crate::problem::SparseLuSummary {
            kernel: if self.use_faer {
                "faer"
            } else {
                "multifrontal"
            },
            supernodes,
            factor_entries,
            flops,
            max_front,
        }
    }

    /// Whether the current factors come from the fallback (or the chosen) faer engine.
    pub(crate) fn uses_faer(&self) -> bool {
        self.use_faer
    }
}

fn symbolic_ordering(o: &Ordering) -> SymbolicOrdering<'_> {
    match o {
        Ordering::Amd => SymbolicOrdering::Amd,
        Ordering::Natural => SymbolicOrdering::Natural,
        Ordering::Custom(p) => SymbolicOrdering::Custom(p),
    }
}

/// Sparse Cholesky (faer).
#[derive(Debug)]
pub(crate) struct SparseCholeskyFactor {
    symbolic: Arc<SymbolicCholesky<usize>>,
    l_values: Vec<f64>,
    mem: Buf,
    par: Par,
}

impl SparseCholeskyFactor {
    pub(crate) fn new(
        pattern: &CscPattern,
        ordering: &Ordering,
        par: Par,
    ) -> Result<Self, LinsolveError> {
        let n = pattern.ncols;
        // faer reads only the lower triangle through its permutation step, which
        // `SymmetricOrdering::Identity` skips: the natural order goes in as the identity.
        let identity: Vec<usize>;
        let custom: &[usize] = match ordering {
            Ordering::Amd => &[],
            Ordering::Natural => {
                identity = (0..n).collect();
                &identity
            }
            Ordering::Custom(p) => p,
        };
        let inv =
            crate::algorithm::inverse_permutation(custom, if custom.is_empty() { 0 } else { n })?;
        let ord = match ordering {
            Ordering::Amd => SymmetricOrdering::Amd,
            _ => SymmetricOrdering::Custom(faer::perm::PermRef::new_checked(custom, &inv, n)),
        };
        let symbolic = factorize_symbolic_cholesky(
            faer_pattern(pattern),
            faer::Side::Lower,
            ord,
            CholeskySymbolicParams::default(),
        )
        .map_err(|e| LinsolveError::Backend(format!("sparse Cholesky symbolic analysis: {e:?}")))?;
        Self::with_symbolic(Arc::new(symbolic), par)
    }

    fn with_symbolic(
        symbolic: Arc<SymbolicCholesky<usize>>,
        par: Par,
    ) -> Result<Self, LinsolveError> {
        let req = symbolic.factorize_numeric_llt_scratch::<f64>(par, Spec::default());
        Ok(Self {
            l_values: vec![0.0; symbolic.len_val()],
            mem: mem_buffer(req)?,
            symbolic,
            par,
        })
    }

    /// A factor object with fresh numeric storage sharing this one's symbolic analysis.
    pub(crate) fn fresh(&self) -> Result<Self, LinsolveError> {
        Self::with_symbolic(self.symbolic.clone(), self.par)
    }

    pub(crate) fn factor(
        &mut self,
        pattern: &CscPattern,
        values: &[f64],
    ) -> Result<(), LinsolveError> {
        // faer's kernels do not report an exactly zero pivot (they divide by it); an all-zero
        // column, the common case, is caught here for O(nnz).
        if let Some(j) = (0..pattern.ncols).find(|&j| {
            values[pattern.col_ptr[j]..pattern.col_ptr[j + 1]]
                .iter()
                .all(|&v| v == 0.0)
        }) {
            return Err(LinsolveError::Singular { pivot: j });
        }
        let a = SparseColMatRef::new(faer_pattern(pattern), values);
        match self.symbolic.factorize_numeric_llt(
            &mut self.l_values,
            a,
            faer::Side::Lower,
            Default::default(),
            self.par,
            self.mem.stack(),
            Spec::default(),
        ) {
            Ok(_) => Ok(()),
            Err(LltError::NonPositivePivot { index }) => {
                // faer's simplicial kernel reports the pivot 1-based, the supernodal one 0-based.
                let index = match self.symbolic.raw() {
                    SymbolicCholeskyRaw::Simplicial(_) => index.saturating_sub(1),
                    SymbolicCholeskyRaw::Supernodal(_) => index,
                };
                let pivot = match self.symbolic.perm() {
                    Some(p) => p.arrays().0.get(index).copied().unwrap_or(index),
                    None => index,
                };
                Err(LinsolveError::NotPositiveDefinite { pivot })
            }
        }
    }

    pub(crate) fn scratch_req(&self, k: usize) -> StackReq {
        self.symbolic.solve_in_place_scratch::<f64>(k, self.par)
    }

    pub(crate) fn solve_in_place(&self, rhs: MatMut<'_, f64>, stack: &mut MemStack) {
        LltRef::new(&self.symbolic, &self.l_values).solve_in_place_with_conj(
            Conj::No,
            rhs,
            self.par,
            stack,
        );
    }
}
