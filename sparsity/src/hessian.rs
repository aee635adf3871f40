//! Compressed sparse Hessians by star colouring and Hessian-vector products.
//!
//! With a star colouring of the Hessian's adjacency graph (`p` colours, see
//! [`crate::coloring`]), `B = H S` — one Hessian-vector product per colour along
//! `s_c = Σ_{colour(j)=c} e_j` — determines every entry by direct lookup:
//!
//! * diagonal: `H_jj = B_{j, colour(j)}` (no neighbour of `j` shares its colour);
//! * off-diagonal `(i, j)`: `H_ij = B_{j, colour(i)}` if `j` has no neighbour other than `i` of
//!   `i`'s colour, else `H_ij = B_{i, colour(j)}` (Coleman & Moré, 1984; one of the two holds for
//!   a star colouring).
//!
//! The source of every stored entry in `B` is computed once in [`SparseHessian::new`] (the
//! *decompression plan*); each call records `f` on the [`Tape`] once, runs `p` forward-over-
//! reverse Hessian-vector products, four colours per sweep ([`Tape::hvp_many`]), and gathers
//! the values. Extended Rosenbrock has a tridiagonal Hessian: 3 colours, whatever `n`, so one
//! sweep.
//!
//! ```
//! use tangent_ad::problems::ExtendedRosenbrock;
//! use tangent_sparsity::{SparseHessian, SparseHessianOptions};
//!
//! let f = ExtendedRosenbrock { n: 50 };
//! let x = f.start();
//! let mut h = SparseHessian::new(&f, &x, &SparseHessianOptions::default()).unwrap();
//! assert_eq!(h.coloring().n_colors(), 3);
//! let m = h.compute(&f, &x).unwrap();
//! // ∂²f/∂x₀∂x₁ = −400 x₀.
//! assert!((m.get(0, 1).unwrap() + 400.0 * 1.2).abs() < 1e-12);
//! ```

use sprs::CsMat;
use tangent_ad::{HvpWorkspace, ScalarFunction, Tape, TapeError, Var};

use crate::coloring::{
    Coloring, GreedyColoring, check_star_compressed, check_symmetric, star_coloring_compressed,
};
use crate::detect::Detector;
use crate::error::{SparsityError, check_len};
use crate::pattern::{Compressed, Pattern};

/// Options of [`SparseHessian::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseHessianOptions {
    /// Global (default) or local sparsity detection.
    pub detector: Detector,
    /// Colouring options (star colouring; iterated-greedy passes do not apply).
    pub coloring: GreedyColoring,
}

/// A prepared sparse Hessian of `f: Rⁿ → R`; see the [module docs](self).
pub struct SparseHessian {
    n: usize,
    structure: Compressed,
    matrix: CsMat<f64>,
    coloring: Coloring,
    /// Vertices of each colour: `vertices[group_ptr[c]..group_ptr[c + 1]]`.
    group_ptr: Vec<usize>,
    vertices: Vec<u32>,
    /// Source of stored entry `p` in the compressed matrix `B` (`n × p`, column-major).
    plan: Vec<u32>,
    compressed: Vec<f64>,
    tape: Tape,
    xv: Vec<Var>,
    /// Seeds and results of one batch of `LANES` colours.
    directions: Vec<[f64; LANES]>,
    out: Vec<[f64; LANES]>,
    work: HvpWorkspace<LANES>,
}

/// Colours per forward-over-reverse sweep (one `Dual<LANES>` tangent sweep and reverse sweep
/// give `LANES` Hessian-vector products).
const LANES: usize = 4;

impl core::fmt::Debug for SparseHessian {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SparseHessian")
            .field("n", &self.n)
            .field("nnz", &self.structure.idx.len())
            .field("colors", &self.coloring.n_colors())
            .finish()
    }
}

impl SparseHessian {
    /// Detects the Hessian pattern of `f`, star-colours it, builds the decompression plan and
    /// allocates every buffer (one evaluation sizes the tape).
    pub fn new<F: ScalarFunction + ?Sized>(
        f: &F,
        x: &[f64],
        options: &SparseHessianOptions,
    ) -> Result<Self, SparsityError> {
        let pattern = options.detector.hessian_sparsity(f, x)?;
        Self::from_pattern(f, x, &pattern, options)
    }

    /// As [`SparseHessian::new`] with a symmetric pattern (both triangles) given by the caller.
    pub fn from_pattern<F: ScalarFunction + ?Sized>(
        f: &F,
        x: &[f64],
        pattern: &Pattern,
        options: &SparseHessianOptions,
    ) -> Result<Self, SparsityError> {
        let structure = Compressed::csc_of(pattern)?;
        check_symmetric(&structure)?;
        let coloring = star_coloring_compressed(&structure, &options.coloring);
        Self::build(f, x, structure, coloring)
    }

    /// From a symmetric pattern and a star colouring given by the caller (checked).
    ///
    /// # Errors
    /// [`SparsityError::InvalidColoring`] if `coloring` is not a star colouring of `pattern`.
    pub fn from_coloring<F: ScalarFunction + ?Sized>(
        f: &F,
        x: &[f64],
        pattern: &Pattern,
        coloring: Coloring,
    ) -> Result<Self, SparsityError> {
        let structure = Compressed::csc_of(pattern)?;
        check_symmetric(&structure)?;
        Self::build(f, x, structure, coloring)
    }

    fn build<F: ScalarFunction + ?Sized>(
        f: &F,
        x: &[f64],
        structure: Compressed,
        coloring: Coloring,
    ) -> Result<Self, SparsityError> {
        let n = structure.cols;
        check_len("x (columns of the pattern)", n, x.len())?;
        check_star_compressed(&structure, &coloring)?;
        let colors = coloring.colors();
        let n_colors = coloring.n_colors();
        // The plan. In column j, the count of j's neighbours of each colour tells whether
        // H_ij = B[j, colour(i)] is unambiguous.
        let mut count = vec![0u32; n_colors];
        let mut plan = vec![0u32; structure.idx.len()];
        for j in 0..n {
            let col = structure.col(j);
            for &i in col {
                if i as usize != j {
                    count[colors[i as usize] as usize] += 1;
                }
            }
            for (k, &i) in col.iter().enumerate() {
                let i = i as usize;
                let src = if i == j {
                    j + colors[j] as usize * n
                } else if count[colors[i] as usize] == 1 {
                    j + colors[i] as usize * n
                } else {
                    // The star property makes i's neighbours of j's colour unique.
                    i + colors[j] as usize * n
                };
                plan[structure.ptr[j] + k] = u32::try_from(src)
                    .map_err(|_| SparsityError::InvalidArgument("n × colours exceeds u32::MAX"))?;
            }
            for &i in col {
                if i as usize != j {
                    count[colors[i as usize] as usize] = 0;
                }
            }
        }
        let matrix = CsMat::try_new_csc(
            (n, n),
            structure.ptr.clone(),
            structure.idx.iter().map(|&i| i as usize).collect(),
            vec![0.0; structure.idx.len()],
        )
        .map_err(|_| SparsityError::InvalidPattern("internal: malformed Hessian structure"))?;
        let (group_ptr, vertices) = coloring.groups();
        let mut this = Self {
            n,
            structure,
            matrix,
            coloring,
            group_ptr,
            vertices,
            plan,
            compressed: vec![0.0; n * n_colors],
            tape: Tape::new(),
            xv: vec![Var::default(); n],
            directions: vec![[0.0; LANES]; n],
            out: vec![[0.0; LANES]; n],
            work: HvpWorkspace::new(),
        };
        // One evaluation sizes the tape's buffers, so that the first call allocates nothing.
        this.compute(f, x)?;
        Ok(this)
    }

    /// The star colouring.
    pub fn coloring(&self) -> &Coloring {
        &self.coloring
    }

    /// Number of stored entries (both triangles).
    pub fn pattern_nnz(&self) -> usize {
        self.structure.idx.len()
    }

    /// The Hessian as last computed (`n × n`, CSC, both triangles).
    pub fn matrix(&self) -> &CsMat<f64> {
        &self.matrix
    }

    /// Computes `∇²f(x)` into the prepared matrix and returns it.
    pub fn compute<F: ScalarFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
    ) -> Result<&CsMat<f64>, SparsityError> {
        self.evaluate(f, x, None)?;
        Ok(&self.matrix)
    }

    /// Computes `∇f(x)` into `grad` (length `n`) and `∇²f(x)` into the prepared matrix; returns
    /// `f(x)` and the matrix.
    pub fn compute_with_gradient<F: ScalarFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<(f64, &CsMat<f64>), SparsityError> {
        check_len("gradient", self.n, grad.len())?;
        let v = self.evaluate(f, x, Some(grad))?;
        Ok((v, &self.matrix))
    }

    fn evaluate<F: ScalarFunction + ?Sized>(
        &mut self,
        f: &F,
        x: &[f64],
        grad: Option<&mut [f64]>,
    ) -> Result<f64, SparsityError> {
        let n = self.n;
        check_len("x", n, x.len())?;
        let y = self.tape.recording(|rec| {
            rec.inputs_into(x, &mut self.xv)?;
            Ok::<_, TapeError>(f.eval(&self.xv))
        })?;
        if let Some(e) = self.tape.error() {
            return Err(e.clone().into());
        }
        self.work.reserve(self.tape.len());
        self.tape.reserve_adjoints();
        let value = self.tape.value(y)?;
        let n_colors = self.coloring.n_colors();
        for first in (0..n_colors).step_by(LANES) {
            let lanes = LANES.min(n_colors - first);
            for d in &mut self.directions {
                *d = [0.0; LANES];
            }
            for k in 0..lanes {
                let c = first + k;
                for &j in &self.vertices[self.group_ptr[c]..self.group_ptr[c + 1]] {
                    self.directions[j as usize][k] = 1.0;
                }
            }
            self.tape
                .hvp_many(y, &self.directions, &mut self.out, &mut self.work)?;
            for k in 0..lanes {
                let column = &mut self.compressed[(first + k) * n..(first + k + 1) * n];
                for (c, o) in column.iter_mut().zip(&self.out) {
                    *c = o[k];
                }
            }
        }
        if let Some(g) = grad {
            self.tape.gradient(y, g)?;
        }
        for (v, &src) in self.matrix.data_mut().iter_mut().zip(&self.plan) {
            *v = self.compressed[src as usize];
        }
        Ok(value)
    }

    /// Writes the last computed Hessian densely into `hess` (`n × n`, column-major).
    pub fn to_dense_column_major(&self, hess: &mut [f64]) -> Result<(), SparsityError> {
        check_len("hessian (n × n)", self.n * self.n, hess.len())?;
        hess.fill(0.0);
        let values = self.matrix.data();
        for j in 0..self.n {
            for p in self.structure.ptr[j]..self.structure.ptr[j + 1] {
                hess[self.structure.idx[p] as usize + j * self.n] = values[p];
            }
        }
        Ok(())
    }
}
