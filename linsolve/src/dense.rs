//! Dense factorisations on faer: LU with partial pivoting, Cholesky, Householder QR.
//!
//! # LU with partial pivoting
//!
//! `P A = L U` with `L` unit lower triangular and `U` upper triangular (Golub & Van Loan,
//! *Matrix Computations*, 4th ed., §3.4); faer's blocked recursive kernel. A solve is a row
//! permutation and two triangular solves; the transpose solve `Aᵀ x = b` uses the same factors
//! (`Uᵀ y = b`, `Lᵀ z = y`, `x = Pᵀ z`). A pivot that is exactly zero (or not finite) is reported
//! as [`LinsolveError::Singular`] with its column; near-singularity is not an error (the
//! residual tests measure what it costs).
//!
//! # Cholesky
//!
//! `A = L Lᵀ` for symmetric positive definite `A` (only the lower triangle is read);
//! a non-positive pivot is [`LinsolveError::NotPositiveDefinite`]. Half the flops of LU.
//!
//! # QR and least squares
//!
//! For `m ≥ n`, `A = Q R` by Householder reflections (faer's blocked WY form); the
//! least-squares solution of `min ‖A x − b‖₂` is `x = R⁻¹ (Qᵀ b)[..n]` (Golub & Van Loan §5.3).
//! For `m < n` the factorisation is of `Aᵀ = Q R`, and `A x = b` has the minimum-norm solution
//! `x = Q [R⁻ᵀ b; 0]` (§5.6). The transpose problem `Aᵀ x = b` swaps the two recipes on the same
//! factors. A zero diagonal entry of `R` is reported as rank deficiency
//! ([`LinsolveError::Singular`]); QR is unpivoted, so numerical rank deficiency shows as a large
//! solution rather than an error.
//!
//! Every factor object owns its storage and scratch, so refactorising with new values of the
//! same size allocates nothing.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::{
    LltError, LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
};
use faer::linalg::householder;
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::qr::no_pivoting::factor::{
    qr_in_place, qr_in_place_scratch, recommended_block_size,
};
use faer::linalg::triangular_solve as tri;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Conj, Mat, MatMut, MatRef, Par, Spec};

use crate::error::LinsolveError;

/// faer's scratch memory.
pub(crate) struct Buf(MemBuffer);

impl core::fmt::Debug for Buf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Buf")
    }
}

impl Buf {
    /// The buffer as a stack for faer's kernels.
    pub(crate) fn stack(&mut self) -> &mut MemStack {
        MemStack::new(&mut self.0)
    }
}

/// Allocates a scratch buffer, reporting failure as a typed error.
pub(crate) fn mem_buffer(req: StackReq) -> Result<Buf, LinsolveError> {
    MemBuffer::try_new(req)
        .map(Buf)
        .map_err(|_| LinsolveError::Backend("out of memory for scratch".into()))
}

/// Grows `mem` (only when too small) to hold `req`.
pub(crate) fn ensure_mem(mem: &mut Buf, req: StackReq) -> Result<(), LinsolveError> {
    if !mem.stack().can_hold(req) {
        *mem = mem_buffer(req)?;
    }
    Ok(())
}

/// Copies `a` (or its transpose) into `dst` column by column, checking each column for NaN/∞
/// right after copying it, while it is still in cache. On a non-finite entry `dst` holds a
/// partial copy and the entry's position in `a` is returned.
pub(crate) fn load_checked(
    mut dst: MatMut<'_, f64>,
    a: MatRef<'_, f64>,
    transpose: bool,
) -> Result<(), LinsolveError> {
    let src = if transpose { a.transpose() } else { a };
    for j in 0..src.ncols() {
        let fast = match (
            src.col(j).try_as_col_major(),
            dst.rb_mut().col_mut(j).try_as_col_major_mut(),
        ) {
            (Some(s), Some(d)) => {
                // Contiguous columns (the common case): one pass copying and checking.
                let (s, d) = (s.as_slice(), d.as_slice_mut());
                d.copy_from_slice(s);
                crate::error::all_finite(d)
            }
            _ => {
                dst.rb_mut().col_mut(j).copy_from(src.col(j));
                false
            }
        };
        if fast {
            continue;
        }
        let col = dst.rb().col(j);
        if let Some(i) = (0..col.nrows()).find(|&i| !col[i].is_finite()) {
            let (row, col) = if transpose { (j, i) } else { (i, j) };
            return Err(LinsolveError::NonFinite {
                what: "matrix",
                row,
                col,
            });
        }
    }
    Ok(())
}

/// First diagonal entry of the upper triangle of `a` that is zero or not finite.
fn zero_diagonal(a: MatRef<'_, f64>) -> Option<usize> {
    (0..a.nrows().min(a.ncols())).find(|&i| {
        let d = a[(i, i)];
        d == 0.0 || !d.is_finite()
    })
}

/// Orders up to which [`DenseLu`] factorises and solves by plain loops on contiguous storage
/// instead of faer's blocked routines. faer's set-up and dispatch cost ~2000 instructions per
/// 3 × 3 factorisation and ~500 per solve (callgrind, Robertson under Rodas5P); measured
/// through the cache, the loops are 1.5–2.9× faster for a factorisation plus solve at n = 3…16
/// and on par at 24–32.
const SMALL_LU: usize = 16;

/// `P A = L U` by plain loops for `n ≤ SMALL_LU`: column-major `n × n` storage without
/// padding, the same pivot rule as faer (largest magnitude, first on ties) and the same
/// permutation convention (row `i` of `P A` is row `perm[i]` of `A`).
#[derive(Debug)]
struct SmallLu {
    n: usize,
    lu: Vec<f64>,
    perm: Vec<usize>,
}

impl SmallLu {
    fn new(n: usize) -> Self {
        Self {
            n,
            lu: vec![0.0; n * n],
            perm: (0..n).collect(),
        }
    }

    fn load(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        for (j, dst) in self.lu.chunks_exact_mut(n).enumerate() {
            match a.col(j).try_as_col_major() {
                Some(c) => dst.copy_from_slice(c.as_slice()),
                None => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = a[(i, j)];
                    }
                }
            }
            if !crate::error::all_finite(dst) {
                // `all_finite` failed: some entry of this column is NaN or ∞.
                let row = dst.iter().position(|x| !x.is_finite()).unwrap_or(0);
                return Err(LinsolveError::NonFinite {
                    what: "matrix",
                    row,
                    col: j,
                });
            }
        }
        Ok(())
    }

    fn factor(&mut self) -> Result<(), LinsolveError> {
        // Constant orders unroll (see `solve`).
        let (lu, perm) = (&mut self.lu[..], &mut self.perm[..]);
        let singular = match self.n {
            1 => lu_factor(1, lu, perm),
            2 => lu_factor(2, lu, perm),
            3 => lu_factor(3, lu, perm),
            4 => lu_factor(4, lu, perm),
            5 => lu_factor(5, lu, perm),
            6 => lu_factor(6, lu, perm),
            n => lu_factor(n, lu, perm),
        };
        match singular {
            None => Ok(()),
            Some(pivot) => Err(LinsolveError::Singular { pivot }),
        }
    }

    /// `b ← A⁻¹ b` (`b.len() == n`).
    fn solve(&self, b: &mut [f64]) {
        // Each arm inlines `lu_solve` with a constant order, so the loops unroll fully: at
        // n = 3 the generic loop costs ~350 instructions in loop set-up, the unrolled one ~40.
        let (lu, perm) = (&self.lu[..], &self.perm[..]);
        match self.n {
            1 => lu_solve(1, lu, perm, b),
            2 => lu_solve(2, lu, perm, b),
            3 => lu_solve(3, lu, perm, b),
            4 => lu_solve(4, lu, perm, b),
            5 => lu_solve(5, lu, perm, b),
            6 => lu_solve(6, lu, perm, b),
            n => lu_solve(n, lu, perm, b),
        }
    }

    /// `b ← A⁻ᵀ b` (`b.len() == n`): `Uᵀ y = b`, `Lᵀ z = y`, `x = Pᵀ z`.
    fn solve_transpose(&self, b: &mut [f64]) {
        let n = self.n;
        if n == 0 {
            return;
        }
        let mut w = [0.0; SMALL_LU];
        let w = &mut w[..n];
        w.copy_from_slice(b);
        for (i, col) in self.lu.chunks_exact(n).enumerate() {
            let s: f64 = col[..i].iter().zip(&w[..i]).map(|(u, x)| u * x).sum();
            w[i] = (w[i] - s) / col[i];
        }
        for (i, col) in self.lu.chunks_exact(n).enumerate().rev() {
            let s: f64 = col[i + 1..]
                .iter()
                .zip(&w[i + 1..])
                .map(|(l, x)| l * x)
                .sum();
            w[i] -= s;
        }
        for (&p, &x) in self.perm.iter().zip(w.iter()) {
            b[p] = x;
        }
    }
}

/// In-place partial-pivoting LU of an `n × n` column-major matrix; returns the first zero (or
/// non-finite) pivot.
#[inline(always)]
fn lu_factor(n: usize, lu: &mut [f64], perm: &mut [usize]) -> Option<usize> {
    let (lu, perm) = (&mut lu[..n * n], &mut perm[..n]);
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    let mut singular = None;
    for k in 0..n {
        let (mut p, mut best) = (k, lu[k * n + k].abs());
        for i in k + 1..n {
            let v = lu[k * n + i].abs();
            if v > best {
                (p, best) = (i, v);
            }
        }
        if p != k {
            for j in 0..n {
                lu.swap(j * n + k, j * n + p);
            }
            perm.swap(k, p);
        }
        let pivot = lu[k * n + k];
        if pivot == 0.0 || !pivot.is_finite() {
            singular.get_or_insert(k);
            continue;
        }
        for i in k + 1..n {
            lu[k * n + i] /= pivot;
        }
        for j in k + 1..n {
            let ukj = lu[j * n + k];
            for i in k + 1..n {
                lu[j * n + i] -= lu[k * n + i] * ukj;
            }
        }
    }
    singular
}

/// `b ← U⁻¹ L⁻¹ P b` for an `n × n` column-major LU (`n ≤ SMALL_LU`).
#[inline(always)]
fn lu_solve(n: usize, lu: &[f64], perm: &[usize], b: &mut [f64]) {
    let (lu, b, perm) = (&lu[..n * n], &mut b[..n], &perm[..n]);
    let mut w = [0.0; SMALL_LU];
    for i in 0..n {
        w[i] = b[perm[i]];
    }
    for j in 0..n {
        let x = w[j];
        for i in j + 1..n {
            w[i] -= lu[j * n + i] * x;
        }
    }
    for j in (0..n).rev() {
        let x = w[j] / lu[j * n + j];
        b[j] = x;
        for i in 0..j {
            w[i] -= lu[j * n + i] * x;
        }
    }
}

/// `P A = L U` of a square matrix.
#[derive(Debug)]
pub(crate) struct DenseLu {
    engine: LuEngine,
}

#[derive(Debug)]
enum LuEngine {
    Small(SmallLu),
    Faer {
        lu: Mat<f64>,
        perm: Vec<usize>,
        perm_inv: Vec<usize>,
        mem: Buf,
        par: Par,
    },
}

impl DenseLu {
    /// Storage for an `n × n` factorisation.
    pub(crate) fn new(n: usize, par: Par) -> Result<Self, LinsolveError> {
        let engine = if n <= SMALL_LU {
            LuEngine::Small(SmallLu::new(n))
        } else {
            LuEngine::Faer {
                lu: Mat::zeros(n, n),
                perm: vec![0; n],
                perm_inv: vec![0; n],
                mem: mem_buffer(lu_in_place_scratch::<usize, f64>(
                    n,
                    n,
                    par,
                    Spec::default(),
                ))?,
                par,
            }
        };
        Ok(Self { engine })
    }

    /// Order `n`.
    pub(crate) fn n(&self) -> usize {
        match &self.engine {
            LuEngine::Small(s) => s.n,
            LuEngine::Faer { lu, .. } => lu.nrows(),
        }
    }

    /// Factorises `a` (`n × n`).
    pub(crate) fn factor(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        self.load(a)?;
        self.factor_loaded()
    }

    /// Copies `a` into the factor's storage, checking finiteness.
    pub(crate) fn load(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        match &mut self.engine {
            LuEngine::Small(s) => s.load(a),
            LuEngine::Faer { lu, .. } => load_checked(lu.as_mut(), a, false),
        }
    }

    /// Factorises the loaded matrix in place.
    pub(crate) fn factor_loaded(&mut self) -> Result<(), LinsolveError> {
        match &mut self.engine {
            LuEngine::Small(s) => s.factor(),
            LuEngine::Faer {
                lu,
                perm,
                perm_inv,
                mem,
                par,
            } => {
                lu_in_place(
                    lu.as_mut(),
                    perm,
                    perm_inv,
                    *par,
                    mem.stack(),
                    Spec::default(),
                );
                match zero_diagonal(lu.as_ref()) {
                    None => Ok(()),
                    Some(pivot) => Err(LinsolveError::Singular { pivot }),
                }
            }
        }
    }

    /// `rhs ← A⁻¹ rhs` (or `A⁻ᵀ rhs`) for the `rhs.len() / n` columns of a column-major slice.
    pub(crate) fn solve_slice_in_place(
        &self,
        transpose: bool,
        rhs: &mut [f64],
        scratch: &mut Scratch,
    ) -> Result<(), LinsolveError> {
        let n = self.n();
        match &self.engine {
            LuEngine::Small(s) => {
                for b in rhs.chunks_exact_mut(n.max(1)) {
                    if transpose {
                        s.solve_transpose(b);
                    } else {
                        s.solve(b);
                    }
                }
            }
            LuEngine::Faer { .. } => {
                scratch.ensure(StackReq::EMPTY, n)?;
                let k = rhs.len().checked_div(n).unwrap_or(0);
                let m = MatMut::from_column_major_slice_mut(rhs, n, k);
                if transpose {
                    self.solve_transpose_in_place(m, &mut scratch.vec);
                } else {
                    self.solve_in_place(m, &mut scratch.vec);
                }
            }
        }
        Ok(())
    }

    /// `rhs ← A⁻¹ rhs` for every column; `work.len() ≥ n`.
    pub(crate) fn solve_in_place(&self, mut rhs: MatMut<'_, f64>, work: &mut [f64]) {
        let n = self.n();
        match &self.engine {
            LuEngine::Small(s) => by_columns(rhs, &mut work[..n], |w| s.solve(w)),
            LuEngine::Faer { lu, perm, par, .. } => {
                let work = &mut work[..n];
                for j in 0..rhs.ncols() {
                    let mut col = rhs.rb_mut().col_mut(j);
                    for (i, w) in work.iter_mut().enumerate() {
                        *w = col[perm[i]];
                    }
                    for (i, &w) in work.iter().enumerate() {
                        col[i] = w;
                    }
                }
                tri::solve_unit_lower_triangular_in_place(lu.as_ref(), rhs.rb_mut(), *par);
                tri::solve_upper_triangular_in_place(lu.as_ref(), rhs.rb_mut(), *par);
            }
        }
    }

    /// `rhs ← A⁻ᵀ rhs` for every column; `work.len() ≥ n`.
    pub(crate) fn solve_transpose_in_place(&self, mut rhs: MatMut<'_, f64>, work: &mut [f64]) {
        let n = self.n();
        let work = &mut work[..n];
        match &self.engine {
            LuEngine::Small(s) => by_columns(rhs, work, |w| s.solve_transpose(w)),
            LuEngine::Faer { lu, perm, par, .. } => {
                tri::solve_lower_triangular_in_place(lu.transpose(), rhs.rb_mut(), *par);
                tri::solve_unit_upper_triangular_in_place(lu.transpose(), rhs.rb_mut(), *par);
                for j in 0..rhs.ncols() {
                    let mut col = rhs.rb_mut().col_mut(j);
                    for (i, &p) in perm.iter().enumerate() {
                        work[p] = col[i];
                    }
                    for (i, &w) in work.iter().enumerate() {
                        col[i] = w;
                    }
                }
            }
        }
    }
}

/// `A = L Lᵀ` of a symmetric positive definite matrix.
#[derive(Debug)]
pub(crate) struct DenseCholesky {
    l: Mat<f64>,
    mem: Buf,
    par: Par,
}

impl DenseCholesky {
    /// Storage for an `n × n` factorisation.
    pub(crate) fn new(n: usize, par: Par) -> Result<Self, LinsolveError> {
        Ok(Self {
            l: Mat::zeros(n, n),
            mem: mem_buffer(cholesky_in_place_scratch::<f64>(n, par, Spec::default()))?,
            par,
        })
    }

    /// Factorises `a` (its lower triangle).
    pub(crate) fn factor(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        self.load(a)?;
        self.factor_loaded()
    }

    /// Copies `a` into the factor's storage, checking finiteness.
    pub(crate) fn load(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        load_checked(self.l.as_mut(), a, false)
    }

    /// Factorises the loaded matrix in place.
    pub(crate) fn factor_loaded(&mut self) -> Result<(), LinsolveError> {
        match cholesky_in_place(
            self.l.as_mut(),
            LltRegularization::default(),
            self.par,
            self.mem.stack(),
            Spec::default(),
        ) {
            Ok(_) => Ok(()),
            Err(LltError::NonPositivePivot { index }) => {
                Err(LinsolveError::NotPositiveDefinite { pivot: index })
            }
        }
    }

    /// `rhs ← A⁻¹ rhs` (also `A⁻ᵀ`, `A` being symmetric).
    pub(crate) fn solve_in_place(&self, mut rhs: MatMut<'_, f64>) {
        tri::solve_lower_triangular_in_place(self.l.as_ref(), rhs.rb_mut(), self.par);
        tri::solve_upper_triangular_in_place(self.l.transpose(), rhs.rb_mut(), self.par);
    }
}

/// Householder QR of `A` (`m ≥ n`) or of `Aᵀ` (`m < n`).
#[derive(Debug)]
pub(crate) struct DenseQr {
    /// Rows and columns of `A`.
    m: usize,
    n: usize,
    /// `true` when the factors are of `Aᵀ` (`m < n`).
    of_transpose: bool,
    /// `p × q` with `p = max(m, n)`, `q = min(m, n)`: Householder vectors below the diagonal,
    /// `R` on and above.
    qr: Mat<f64>,
    q_coeff: Mat<f64>,
    mem: Buf,
    par: Par,
}

impl DenseQr {
    /// Storage for the factorisation of an `m × n` matrix.
    pub(crate) fn new(m: usize, n: usize, par: Par) -> Result<Self, LinsolveError> {
        let (p, q) = (m.max(n), m.min(n));
        let bs = recommended_block_size::<f64>(p, q);
        let req = qr_in_place_scratch::<f64>(p, q, bs, par, Spec::default());
        Ok(Self {
            m,
            n,
            of_transpose: m < n,
            qr: Mat::zeros(p, q),
            q_coeff: Mat::zeros(bs, q),
            mem: mem_buffer(req)?,
            par,
        })
    }

    /// Factorises `a` (`m × n`).
    pub(crate) fn factor(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        self.load(a)?;
        self.factor_loaded()
    }

    /// Copies `a` (or `Aᵀ`) into the factor's storage, checking finiteness.
    pub(crate) fn load(&mut self, a: MatRef<'_, f64>) -> Result<(), LinsolveError> {
        load_checked(self.qr.as_mut(), a, self.of_transpose)
    }

    /// Factorises the loaded matrix in place.
    pub(crate) fn factor_loaded(&mut self) -> Result<(), LinsolveError> {
        qr_in_place(
            self.qr.as_mut(),
            self.q_coeff.as_mut(),
            self.par,
            self.mem.stack(),
            Spec::default(),
        );
        match zero_diagonal(self.qr.as_ref()) {
            None => Ok(()),
            Some(pivot) => Err(LinsolveError::Singular { pivot }),
        }
    }

    /// Scratch for solves with `k` right-hand sides: a stack for applying `Q`/`Qᵀ` and a
    /// `p × k` work block.
    pub(crate) fn scratch_req(&self, k: usize) -> (StackReq, usize) {
        let (p, bs) = (self.qr.nrows(), self.q_coeff.nrows());
        let req = StackReq::any_of(&[
            householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<
                f64,
            >(p, bs, k),
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                p, bs, k,
            ),
        ]);
        (req, p * k)
    }

    /// Least squares on the stored factors: `work` (`p × k`) holds right-hand sides on entry;
    /// on exit its first `q` rows hold `R⁻¹ (Qᵀ work)[..q]`.
    fn least_squares(&self, mut work: MatMut<'_, f64>, stack: &mut MemStack) {
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
            self.qr.as_ref(),
            self.q_coeff.as_ref(),
            Conj::No,
            work.rb_mut(),
            self.par,
            stack,
        );
        let q = self.qr.ncols();
        tri::solve_upper_triangular_in_place(
            self.qr.as_ref().get(..q, ..),
            work.subrows_mut(0, q),
            self.par,
        );
    }

    /// Minimum norm on the stored factors: `work` (`p × k`) holds right-hand sides in its first
    /// `q` rows on entry; on exit it holds `Q [R⁻ᵀ b; 0]`.
    fn minimum_norm(&self, mut work: MatMut<'_, f64>, stack: &mut MemStack) {
        let (p, q) = (self.qr.nrows(), self.qr.ncols());
        tri::solve_lower_triangular_in_place(
            self.qr.as_ref().get(..q, ..).transpose(),
            work.rb_mut().subrows_mut(0, q),
            self.par,
        );
        work.rb_mut().subrows_mut(q, p - q).fill(0.0);
        householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
            self.qr.as_ref(),
            self.q_coeff.as_ref(),
            Conj::No,
            work.rb_mut(),
            self.par,
            stack,
        );
    }

    /// `x = A⁺ b` (least squares for `m ≥ n`, minimum norm for `m < n`), or with `transpose`
    /// `x = (Aᵀ)⁺ b`. `b` has `m` rows (`n` transposed), `x` has `n` rows (`m` transposed), both
    /// `k` columns; `scratch` must hold [`DenseQr::scratch_req`]`(k)`.
    pub(crate) fn solve(
        &self,
        transpose: bool,
        b: MatRef<'_, f64>,
        mut x: MatMut<'_, f64>,
        scratch: &mut Scratch,
    ) {
        let (rows_in, rows_out) = if transpose {
            (self.n, self.m)
        } else {
            (self.m, self.n)
        };
        let (p, k) = (self.qr.nrows(), b.ncols());
        let Scratch { mem, vec } = scratch;
        let mut work = MatMut::from_column_major_slice_mut(&mut vec[..p * k], p, k);
        work.rb_mut().subrows_mut(0, rows_in).copy_from(b);
        let stack = mem.stack();
        // A = QR (m ≥ n): A x = b is least squares, Aᵀ x = b minimum norm; with the factors of
        // Aᵀ (m < n) the roles swap.
        if transpose == self.of_transpose {
            self.least_squares(work.rb_mut(), stack);
        } else {
            self.minimum_norm(work.rb_mut(), stack);
        }
        x.copy_from(work.rb().subrows(0, rows_out));
    }
}

/// Reusable scratch of the solves: a faer stack and a vector of `f64`. Grows on demand, so a
/// cache that has solved once with `k` right-hand sides solves again without allocating.
#[derive(Debug)]
pub(crate) struct Scratch {
    pub(crate) mem: Buf,
    pub(crate) vec: Vec<f64>,
}

impl Scratch {
    /// Scratch holding at least `req` and `len` values.
    pub(crate) fn new(req: StackReq, len: usize) -> Result<Self, LinsolveError> {
        Ok(Self {
            mem: mem_buffer(req)?,
            vec: vec![0.0; len],
        })
    }

    /// Grows (only when too small) to hold `req` and `len` values.
    pub(crate) fn ensure(&mut self, req: StackReq, len: usize) -> Result<(), LinsolveError> {
        ensure_mem(&mut self.mem, req)?;
        if self.vec.len() < len {
            self.vec.resize(len, 0.0);
        }
        Ok(())
    }
}

/// Applies `solve` to every column of `rhs` through the contiguous buffer `work` (`len = nrows`):
/// the small kernels work on slices, a column of a `MatMut` may be strided.
fn by_columns(mut rhs: MatMut<'_, f64>, work: &mut [f64], mut solve: impl FnMut(&mut [f64])) {
    for j in 0..rhs.ncols() {
        let mut col = rhs.rb_mut().col_mut(j);
        for (i, w) in work.iter_mut().enumerate() {
            *w = col[i];
        }
        solve(work);
        for (i, &w) in work.iter().enumerate() {
            col[i] = w;
        }
    }
}
