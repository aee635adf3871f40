//! Compressed sparse Jacobians: prepare once (pattern, colouring, seeds, decompression plan),
//! then evaluate `J(x)` into the values of a preallocated `sprs::CsMat<f64>` at each call.
//!
//! # Forward compression
//!
//! With a structurally orthogonal column colouring of `p` colours (see [`crate::coloring`]),
//! one evaluation of `f` on [`Dual<N>`] numbers seeded with `N` colour groups — input `x_j`
//! gets the unit partial in lane `colour(j) − c₀` — yields `N` compressed columns
//! `b_c = Σ_{colour(j)=c} J e_j`, and `J_ij = (b_{colour(j)})_i` by direct lookup: for each
//! column `j` of a colour in the pass, the stored entries of column `j` of the `CsMat` are read
//! from lane `colour(j) − c₀` of the rows' partials. A Jacobian costs `⌈p/N⌉` evaluations on
//! `Dual<N>` instead of the `⌈n/N⌉` of dense forward mode.
//!
//! # Reverse compression
//!
//! With a row colouring of `q` colours, one recording of `f` on the [`Tape`] and one
//! vector–Jacobian product per colour, `w_c = Σ_{colour(i)=c} e_i`, give `J_ij = (Jᵀ w_c)_j`
//! for the unique row `i` of colour `c` with `J_ij ≠ 0`. Preferable when `q ≪ p` (few dense
//! rows). [`JacobianMode::Auto`] takes reverse mode when `3 + 2q < p` (`q` from a plain greedy
//! row colouring): a recording costs about
//! three evaluations of `f` and a reverse sweep about two, a `Dual<N>` pass about one per colour
//! for `N ≈ p` (rough estimates, not a tuned model).
//!
//! # Parallel
//!
//! [`SparseJacobian::compute_parallel`] (opt-in, `F: Sync`) evaluates the `⌈p/N⌉` forward
//! passes on rayon's thread pool, each into its own buffers, then decompresses serially.
//!
//! ```
//! use tangent_ad::problems::{Brusselator2D, BrusselatorState};
//! use tangent_sparsity::{SparseJacobian, SparseJacobianOptions};
//!
//! // P3: the 2-D Brusselator, N = 8 (128 states, 6 nonzeros per row).
//! let f = BrusselatorState { problem: Brusselator2D { n: 8 }, t: 2.0 };
//! let x = f.problem.initial_state();
//! let mut jac = SparseJacobian::<8>::new(&f, &x, &SparseJacobianOptions::default()).unwrap();
//! assert_eq!(jac.pattern_nnz(), 6 * 128);
//! assert!(jac.column_coloring().n_colors() <= 12);
//! let j = jac.compute(&f, &x).unwrap();
//! // ∂u̇_k/∂u_{k+1} = α/dx² = 10 · 7² (α/dx² is computed as 10 / (1/7)², one rounding off).
//! assert!((j.get(0, 1).unwrap() - 490.0).abs() < 1e-12);
//! ```

use rayon::prelude::*;
use sprs::CsMat;
use tangent_ad::{Dual, Tape, TapeError, Var, VectorFunction};

use crate::coloring::{
    Coloring, ColoringKind, GreedyColoring, check_orthogonal, column_coloring_compressed,
};
use crate::detect::Detector;
use crate::error::{SparsityError, check_len};
use crate::pattern::{Compressed, Pattern};

/// How a [`SparseJacobian`] evaluates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JacobianMode {
    /// Reverse when its estimated cost is lower (see the [module docs](self)), else forward.
    #[default]
    Auto,
    /// Forward mode on `Dual<N>` with a column colouring.
    Forward,
    /// Reverse mode on the tape with a row colouring.
    Reverse,
}

/// Options of [`SparseJacobian::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseJacobianOptions {
    /// Global (default) or local sparsity detection.
    pub detector: Detector,
    /// Colouring options.
    pub coloring: GreedyColoring,
    /// Forward, reverse or automatic.
    pub mode: JacobianMode,
}

/// Buffers of one forward pass.
struct Pass<const N: usize> {
    xd: Vec<Dual<N>>,
    yd: Vec<Dual<N>>,
}

/// Reverse-mode state: the tape and its buffers, the row colouring and the row-wise map into the
/// CSC values.
struct ReverseState {
    tape: Tape,
    xv: Vec<Var>,
    yv: Vec<Var>,
    w: Vec<f64>,
    xbar: Vec<f64>,
    coloring: Coloring,
    /// Rows of each colour: `rows[group_ptr[c]..group_ptr[c + 1]]`.
    group_ptr: Vec<usize>,
    rows: Vec<u32>,
    /// Entries of row `i`: `entries[row_ptr[i]..row_ptr[i + 1]]` as (column, CSC position).
    row_ptr: Vec<usize>,
    entries: Vec<(u32, u32)>,
}

/// A prepared sparse Jacobian of a function `f: Rⁿ → Rᵐ`; see the [module docs](self).
/// `N` is the number of colours per forward pass (`Dual<N>` lanes).
pub struct SparseJacobian<const N: usize = 8> {
    n: usize,
    m: usize,
    structure: Compressed,
    matrix: CsMat<f64>,
    column_coloring: Coloring,
    pass: Pass<N>,
    parallel: Vec<Pass<N>>,
    reverse: Option<Box<ReverseState>>,
}

impl<const N: usize> core::fmt::Debug for SparseJacobian<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SparseJacobian")
            .field("m", &self.m)
            .field("n", &self.n)
            .field("nnz", &self.structure.idx.len())
            .field("column_colors", &self.column_coloring.n_colors())
            .field("mode", &self.mode())
            .finish()
    }
}

impl<const N: usize> SparseJacobian<N> {
    /// Detects the pattern of `f` (at `x` in local mode), colours it and allocates every buffer.
    ///
    /// # Errors
    /// Detection errors (see [`crate::detect`]); [`SparsityError::InvalidArgument`] for `N = 0`.
    pub fn new<F: VectorFunction + ?Sized>(
        f: &F,
        x: &[f64],
        options: &SparseJacobianOptions,
    ) -> Result<Self, SparsityError> {
        let pattern = options.detector.jacobian_sparsity(f, x)?;
        Self::from_pattern(f, x, &pattern, options)
    }

    /// As [`SparseJacobian::new`] with a pattern given by the caller (`m × n`, any storage).
    /// Entries outside the pattern are taken as zero.
    pub fn from_pattern<F: VectorFunction + ?Sized>(
        f: &F,
        x: &[f64],
        pattern: &Pattern,
        options: &SparseJacobianOptions,
    ) -> Result<Self, SparsityError> {
        let structure = Compressed::csc_of(pattern)?;
        let transpose = structure.transpose();
        let column = column_coloring_compressed(&structure, &transpose, &options.coloring);
        let color_rows = |alg: &GreedyColoring| {
            let mut r = column_coloring_compressed(&transpose, &structure, alg);
            r.set_kind(ColoringKind::Row);
            r
        };
        let row = match options.mode {
            JacobianMode::Forward => None,
            JacobianMode::Reverse => Some(color_rows(&options.coloring)),
            JacobianMode::Auto => {
                // Decide on a plain greedy row colouring; refine only if reverse mode wins.
                let quick = color_rows(&GreedyColoring {
                    tabu_steps: 0,
                    ..options.coloring
                });
                (3 + 2 * quick.n_colors() < column.n_colors())
                    .then(|| color_rows(&options.coloring))
            }
        };
        Self::build(f, x, structure, column, row)
    }

    /// From a pattern and a column colouring given by the caller (checked structurally
    /// orthogonal); forward mode.
    ///
    /// # Errors
    /// [`SparsityError::InvalidColoring`] if two columns of one colour share a row.
    pub fn from_coloring<F: VectorFunction + ?Sized>(
        f: &F,
        x: &[f64],
        pattern: &Pattern,
        coloring: Coloring,
    ) -> Result<Self, SparsityError> {
        let structure = Compressed::csc_of(pattern)?;
        check_orthogonal(
            &structure.transpose(),
            structure.cols,
            &coloring,
            "column colouring (one colour per column)",
        )?;
        Self::build(f, x, structure, coloring, None)
    }

    fn build<F: VectorFunction + ?Sized>(
        f: &F,
        x: &[f64],
        structure: Compressed,
        column_coloring: Coloring,
        row_coloring: Option<Coloring>,
    ) -> Result<Self, SparsityError> {
        if N == 0 {
            return Err(SparsityError::InvalidArgument(
                "colours per pass N must be at least 1",
            ));
        }
        let (m, n) = (structure.rows, structure.cols);
        check_len("x (columns of the pattern)", n, x.len())?;
        check_len("f.output_len() (rows of the pattern)", m, f.output_len())?;
        let matrix = CsMat::try_new_csc(
            (m, n),
            structure.ptr.clone(),
            structure.idx.iter().map(|&i| i as usize).collect(),
            vec![0.0; structure.idx.len()],
        )
        .map_err(|_| SparsityError::InvalidPattern("internal: malformed Jacobian structure"))?;
        let reverse = row_coloring.map(|coloring| {
            let (gp, rows) = coloring.groups();
            // Row-wise (column, CSC position) lists.
            let mut row_ptr = vec![0usize; m + 1];
            for &i in &structure.idx {
                row_ptr[i as usize + 1] += 1;
            }
            for i in 0..m {
                row_ptr[i + 1] += row_ptr[i];
            }
            let mut next = row_ptr[..m].to_vec();
            let mut entries = vec![(0u32, 0u32); structure.idx.len()];
            for j in 0..n {
                for p in structure.ptr[j]..structure.ptr[j + 1] {
                    let i = structure.idx[p] as usize;
                    entries[next[i]] = (j as u32, p as u32);
                    next[i] += 1;
                }
            }
            Box::new(ReverseState {
                tape: Tape::new(),
                xv: vec![Var::default(); n],
                yv: vec![Var::default(); m],
                w: vec![0.0; m],
                xbar: vec![0.0; n],
                coloring,
                group_ptr: gp,
                rows,
                row_ptr,
                entries,
            })
        });
        let mut this = Self {
            n,
            m,
            structure,
            matrix,
            column_coloring,
            pass: Pass {
                xd: vec![Dual::default(); n],
                yd: vec![Dual::default(); m],
            },
            parallel: Vec::new(),
            reverse,
        };
        if this.reverse.is_some() {
            // One evaluation sizes the tape's buffers, so that the first call allocates nothing.
            this.compute(f, x)?;
        }
        Ok(this)
    }

    /// The mode this Jacobian evaluates in ([`JacobianMode::Forward`] or
    /// [`JacobianMode::Reverse`]).
    pub fn mode(&self) -> JacobianMode {
        if self.reverse.is_some() {
            JacobianMode::Reverse
        } else {
            JacobianMode::Forward
        }
    }

    /// The column colouring (used in forward mode).
    pub fn column_coloring(&self) -> &Coloring {
        &self.column_coloring
    }

    /// The row colouring, when reverse mode is used.
    pub fn row_coloring(&self) -> Option<&Coloring> {
        self.reverse.as_ref().map(|r| &r.coloring)
    }

    /// Number of stored entries of the pattern.
    pub fn pattern_nnz(&self) -> usize {
        self.structure.idx.len()
    }

    /// Evaluations per Jacobian: `⌈p/N⌉` passes on `Dual<N>` in forward mode; in reverse mode one
    /// recording plus one reverse sweep per row colour (`1 + q`).
    pub fn passes(&self) -> usize {
        match &self.reverse {
            Some(r) => 1 + r.coloring.n_colors(),
            None => self.column_coloring.n_colors().div_ceil(N),
        }
    }

    /// The Jacobian as last computed (`m × n`, CSC; zeros before the first call).
    pub fn matrix(&self) -> &CsMat<f64> {
        &self.matrix
    }

    /// Computes `J(x)` into the prepared matrix and returns it. Allocates nothing (for functions
    /// without rule nodes in reverse mode).
    ///
    /// # Errors
    /// [`SparsityError::DimensionMismatch`] for a wrong `x` or output length; tape errors in
    /// reverse mode.
    pub fn compute<F: VectorFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
    ) -> Result<&CsMat<f64>, SparsityError> {
        self.evaluate(f, x, None)?;
        Ok(&self.matrix)
    }

    /// Computes `f(x)` into `y` (length `m`) and `J(x)` into the prepared matrix.
    pub fn compute_with_value<F: VectorFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
    ) -> Result<&CsMat<f64>, SparsityError> {
        self.evaluate(f, x, Some(y))?;
        Ok(&self.matrix)
    }

    fn check<F: VectorFunction + ?Sized>(
        &self,
        f: &F,
        x: &[f64],
        y: Option<&[f64]>,
    ) -> Result<(), SparsityError> {
        check_len("x", self.n, x.len())?;
        check_len("f.output_len()", self.m, f.output_len())?;
        if let Some(y) = y {
            check_len("y", self.m, y.len())?;
        }
        Ok(())
    }

    fn evaluate<F: VectorFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
        y: Option<&mut [f64]>,
    ) -> Result<(), SparsityError> {
        self.check(f, x, y.as_deref())?;
        if self.reverse.is_some() {
            return self.evaluate_reverse(f, x, y);
        }
        let colors = self.column_coloring.colors();
        let n_colors = self.column_coloring.n_colors();
        let values = self.matrix.data_mut();
        let mut evaluated = false;
        for c0 in (0..n_colors).step_by(N) {
            seed(&mut self.pass.xd, x, colors, c0);
            f.eval(&self.pass.xd, &mut self.pass.yd);
            evaluated = true;
            decompress(
                &self.structure,
                colors,
                c0..(c0 + N).min(n_colors),
                &self.pass.yd,
                values,
            );
        }
        if let Some(y) = y {
            if evaluated {
                for (o, yd) in y.iter_mut().zip(&self.pass.yd) {
                    *o = yd.v;
                }
            } else {
                f.eval::<f64>(x, y);
            }
        }
        Ok(())
    }

    fn evaluate_reverse<F: VectorFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
        y: Option<&mut [f64]>,
    ) -> Result<(), SparsityError> {
        let Some(r) = self.reverse.as_deref_mut() else {
            return Ok(());
        };
        r.tape.recording(|rec| {
            rec.inputs_into(x, &mut r.xv)?;
            f.eval(&r.xv, &mut r.yv);
            Ok::<(), TapeError>(())
        })?;
        if let Some(e) = r.tape.error() {
            return Err(e.clone().into());
        }
        r.tape.reserve_adjoints();
        let values = self.matrix.data_mut();
        for c in 0..r.coloring.n_colors() {
            let rows = &r.rows[r.group_ptr[c]..r.group_ptr[c + 1]];
            for &i in rows {
                r.w[i as usize] = 1.0;
            }
            r.tape.vjp(&r.yv, &r.w, &mut r.xbar)?;
            for &i in rows {
                let i = i as usize;
                r.w[i] = 0.0;
                for &(j, p) in &r.entries[r.row_ptr[i]..r.row_ptr[i + 1]] {
                    values[p as usize] = r.xbar[j as usize];
                }
            }
        }
        if let Some(y) = y {
            for (o, &v) in y.iter_mut().zip(&r.yv) {
                *o = r.tape.value(v)?;
            }
        }
        Ok(())
    }

    /// As [`SparseJacobian::compute`] with the forward passes run in parallel on rayon's thread
    /// pool (opt-in: `f` must be `Sync`). Each pass has its own buffers, allocated by the first
    /// parallel call; rayon's scheduling may allocate. In reverse mode this is the serial call.
    pub fn compute_parallel<F: VectorFunction + Sync + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
    ) -> Result<&CsMat<f64>, SparsityError> {
        self.check(f, x, None)?;
        if self.reverse.is_some() {
            return self.compute(f, x);
        }
        let n_colors = self.column_coloring.n_colors();
        let n_passes = n_colors.div_ceil(N);
        if self.parallel.len() != n_passes {
            self.parallel = (0..n_passes)
                .map(|_| Pass {
                    xd: vec![Dual::default(); self.n],
                    yd: vec![Dual::default(); self.m],
                })
                .collect();
        }
        let colors = self.column_coloring.colors();
        self.parallel
            .par_iter_mut()
            .enumerate()
            .for_each(|(k, pass)| {
                seed(&mut pass.xd, x, colors, k * N);
                f.eval(&pass.xd, &mut pass.yd);
            });
        let values = self.matrix.data_mut();
        for (k, pass) in self.parallel.iter().enumerate() {
            let c0 = k * N;
            decompress(
                &self.structure,
                colors,
                c0..(c0 + N).min(n_colors),
                &pass.yd,
                values,
            );
        }
        Ok(&self.matrix)
    }

    /// Writes the last computed Jacobian densely into `jac` (`m × n`, column-major, as the AD
    /// crate's operators).
    pub fn to_dense_column_major(&self, jac: &mut [f64]) -> Result<(), SparsityError> {
        check_len("jacobian (m × n)", self.m * self.n, jac.len())?;
        jac.fill(0.0);
        let values = self.matrix.data();
        for j in 0..self.n {
            for p in self.structure.ptr[j]..self.structure.ptr[j + 1] {
                jac[self.structure.idx[p] as usize + j * self.m] = values[p];
            }
        }
        Ok(())
    }
}

/// Seeds `xd` with `x` and unit partials in lane `colour(j) − c0` for the colours of this pass
/// (`Dual::variable` with a lane `≥ N` is a constant).
#[inline]
fn seed<const N: usize>(xd: &mut [Dual<N>], x: &[f64], colors: &[u32], c0: usize) {
    for ((xd, &xj), &c) in xd.iter_mut().zip(x).zip(colors) {
        *xd = Dual::variable(xj, (c as usize).wrapping_sub(c0));
    }
}

/// Reads the entries of the columns of colours `range` from the lanes of `yd`, in column order:
/// one sweep over `values` and (for banded patterns) over `yd`. Column by column colour by colour
/// swept `yd` once per colour: at P3 N = 64 (8192 states, `Dual<8>`: 590 KB) that is eight passes
/// over a working set larger than L2.
#[inline]
fn decompress<const N: usize>(
    structure: &Compressed,
    colors: &[u32],
    range: core::ops::Range<usize>,
    yd: &[Dual<N>],
    values: &mut [f64],
) {
    let c0 = range.start;
    for (j, &c) in colors.iter().enumerate() {
        let c = c as usize;
        if !range.contains(&c) {
            continue;
        }
        let lane = c - c0;
        let (start, end) = (structure.ptr[j], structure.ptr[j + 1]);
        for (v, &i) in values[start..end]
            .iter_mut()
            .zip(&structure.idx[start..end])
        {
            *v = yd[i as usize].d[lane];
        }
    }
}
