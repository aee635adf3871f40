//! Reference linear systems shared by the tests and the benchmarks.
//!
//! * [`brusselator_jacobian`] and [`brusselator_iteration_matrix`]: the Jacobian `J` of P3 (the
//!   2-D Brusselator of `problems/README.md`, `tangent_ad::problems::Brusselator2D`) and the
//!   iteration matrix `I − γJ` that an implicit ODE method factorises at every Jacobian update.
//!   The pattern comes from the stencil (below); the values from forward-mode AD of the
//!   right-hand side, compressed by a column colouring so that one evaluation on
//!   `Dual<8>` numbers yields eight colours at once.
//! * [`poisson_2d`]: the five-point Laplacian with homogeneous Dirichlet boundary conditions on
//!   an `m × m` interior grid (symmetric positive definite), the classic test of CG and ILU(0).
//!
//! # The Brusselator pattern
//!
//! With the state ordering `(i, j, c) ↦ i + N j + N² c` of P3 (`c = 0` for `u`, `1` for `v`),
//! row `u(i, j)` depends on `u` at `(i, j)` and its four periodic neighbours `(i ± 1, j)`,
//! `(i, j ± 1)`, and on `v(i, j)` (the reaction term `u²v`); row `v(i, j)` likewise on `v` at the
//! five points and on `u(i, j)`. Each row has 6 entries for `N ≥ 3` (fewer for `N < 3`, where
//! neighbours coincide); the pattern is structurally symmetric.

use sprs::{CsMat, TriMat};
use tangent_ad::problems::{Brusselator2D, BrusselatorState};
use tangent_ad::{Dual, VectorFunction};

/// The sparsity pattern of P3's Jacobian on an `n_grid × n_grid` grid, as sorted `(row, col)`
/// pairs in column-major order (see the module docs).
fn brusselator_pattern(n_grid: usize) -> Vec<(usize, usize)> {
    let n = n_grid;
    let nn = n * n;
    let mut entries = Vec::with_capacity(12 * nn);
    for j in 0..n {
        let (jm, jp) = ((j + n - 1) % n, (j + 1) % n);
        for i in 0..n {
            let (im, ip) = ((i + n - 1) % n, (i + 1) % n);
            let k = i + n * j;
            for c in [0, nn] {
                let row = k + c;
                for col in [k, im + n * j, ip + n * j, i + n * jm, i + n * jp] {
                    entries.push((row, col + c));
                }
                // The u–v coupling of the reaction terms.
                entries.push((row, k + (nn - c)));
            }
        }
    }
    entries.sort_unstable_by_key(|&(r, c)| (c, r));
    entries.dedup();
    entries
}

/// Greedy distance-2 column colouring: two columns that share a row get different colours.
/// Returns the colour of each column and the number of colours.
fn column_colouring(nrows: usize, ncols: usize, entries: &[(usize, usize)]) -> (Vec<usize>, usize) {
    // Rows of each column and columns of each row.
    let mut col_rows = vec![Vec::new(); ncols];
    let mut row_cols = vec![Vec::new(); nrows];
    for &(r, c) in entries {
        col_rows[c].push(r);
        row_cols[r].push(c);
    }
    let mut colour = vec![usize::MAX; ncols];
    let mut forbidden_by = Vec::<usize>::new(); // forbidden_by[k] = last column that forbade k
    let mut n_colours = 0;
    for c in 0..ncols {
        for &r in &col_rows[c] {
            for &other in &row_cols[r] {
                let k = colour[other];
                if k != usize::MAX {
                    forbidden_by[k] = c;
                }
            }
        }
        let k = (0..n_colours)
            .find(|&k| forbidden_by[k] != c)
            .unwrap_or(n_colours);
        if k == n_colours {
            n_colours += 1;
            forbidden_by.push(usize::MAX);
        }
        colour[c] = k;
    }
    (colour, n_colours)
}

/// The Jacobian `∂f/∂u` of P3's right-hand side at state `u` and time `t` on an
/// `n_grid × n_grid` grid: a `2N² × 2N²` CSC matrix with the stencil pattern of the module docs
/// (explicit zeros kept where the pattern has an entry whose value happens to vanish).
///
/// `u` must have length `2 n_grid²`; for any other length the state of
/// [`Brusselator2D::initial_state`] is used instead.
///
/// ```
/// let j = tangent_linsolve::problems::brusselator_jacobian(8, 0.0, &[]);
/// assert_eq!(j.rows(), 128);
/// assert_eq!(j.nnz(), 128 * 6);
/// ```
pub fn brusselator_jacobian(n_grid: usize, t: f64, u: &[f64]) -> CsMat<f64> {
    const CHUNK: usize = 8;
    let problem = Brusselator2D { n: n_grid };
    let dim = problem.len();
    let u0;
    let u = if u.len() == dim {
        u
    } else {
        u0 = problem.initial_state();
        &u0
    };
    let entries = brusselator_pattern(n_grid);
    let (colour, n_colours) = column_colouring(dim, dim, &entries);
    let f = BrusselatorState { problem, t };
    let mut values = vec![0.0; entries.len()];
    let mut x = vec![Dual::<CHUNK>::constant(0.0); dim];
    let mut y = vec![Dual::<CHUNK>::constant(0.0); dim];
    for base in (0..n_colours).step_by(CHUNK) {
        for (c, xc) in x.iter_mut().enumerate() {
            let k = colour[c];
            *xc = if (base..base + CHUNK).contains(&k) {
                Dual::variable(u[c], k - base)
            } else {
                Dual::constant(u[c])
            };
        }
        f.eval(&x, &mut y);
        for (v, &(r, c)) in values.iter_mut().zip(&entries) {
            let k = colour[c];
            if (base..base + CHUNK).contains(&k) {
                *v = y[r].d[k - base];
            }
        }
    }
    let mut tri = TriMat::with_capacity((dim, dim), entries.len());
    for (&(r, c), &v) in entries.iter().zip(&values) {
        tri.add_triplet(r, c, v);
    }
    tri.to_csc()
}

/// P3's iteration matrix `I − γ J` at the initial state and `t = 0` on an `n_grid × n_grid`
/// grid (`2 n_grid²` unknowns), in CSC storage with the pattern of [`brusselator_jacobian`].
///
/// This is the matrix a stiff solver (Rosenbrock, BDF, SDIRK) factorises whenever the step size
/// or the Jacobian changes; `γ` is the step size times the method's diagonal coefficient.
///
/// ```
/// let m = tangent_linsolve::problems::brusselator_iteration_matrix(4, 0.01);
/// assert_eq!((m.rows(), m.cols()), (32, 32));
/// ```
pub fn brusselator_iteration_matrix(n_grid: usize, gamma: f64) -> CsMat<f64> {
    let mut m = brusselator_jacobian(n_grid, 0.0, &[]);
    let n = m.cols();
    for c in 0..n {
        let range = m.indptr().outer_inds_sz(c);
        for p in range {
            let r = m.indices()[p];
            let v = &mut m.data_mut()[p];
            *v = if r == c {
                1.0 - gamma * *v
            } else {
                -gamma * *v
            };
        }
    }
    m
}

/// The five-point Laplacian `−Δ_h` (times `h²`: 4 on the diagonal, −1 to each of the up to four
/// neighbours) on an `m × m` interior grid with homogeneous Dirichlet boundary conditions;
/// `m² × m²`, symmetric positive definite, CSC. Unknown `(i, j) ↦ i + m j`.
///
/// ```
/// let a = tangent_linsolve::problems::poisson_2d(3);
/// assert_eq!(a.nnz(), 9 + 2 * 12);
/// ```
pub fn poisson_2d(m: usize) -> CsMat<f64> {
    let n = m * m;
    let mut tri = TriMat::with_capacity((n, n), 5 * n);
    for j in 0..m {
        for i in 0..m {
            let k = i + m * j;
            tri.add_triplet(k, k, 4.0);
            if i > 0 {
                tri.add_triplet(k - 1, k, -1.0);
            }
            if i + 1 < m {
                tri.add_triplet(k + 1, k, -1.0);
            }
            if j > 0 {
                tri.add_triplet(k - m, k, -1.0);
            }
            if j + 1 < m {
                tri.add_triplet(k + m, k, -1.0);
            }
        }
    }
    tri.to_csc()
}
