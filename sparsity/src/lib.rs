//! # tangent-sparsity — sparse Jacobians and Hessians in a handful of evaluations
//!
//! Large systems (a reaction–diffusion grid with thousands of states) have Jacobians with a few
//! nonzeros per row. This crate finds the nonzeros, groups structurally independent columns,
//! and computes the whole Jacobian with one forward pass per *group* instead of per column:
//!
//! 1. **Detection** ([`detect`], [`tracer`]): run the user's generic function once on tracer
//!    scalars that record which inputs each value depends on — [`jacobian_sparsity`],
//!    [`hessian_sparsity`] (valid for all inputs) and their `local_*` variants (at a point,
//!    following its branches). Patterns are [`sprs::CsStructure`] (`CsMat<()>`, CSC).
//! 2. **Colouring** ([`coloring`]): column colouring (partial distance-2) for forward
//!    compression, row colouring for reverse compression, star colouring for symmetric Hessians;
//!    six greedy orderings, the best kept; every colouring checkable for structural
//!    orthogonality.
//! 3. **Compressed evaluation** ([`SparseJacobian`], [`SparseHessian`]): prepare once (pattern,
//!    colouring, seeds, decompression plan, buffers), then each call seeds colour groups into
//!    [`Dual<N>`](tangent_ad::Dual) lanes (or runs reverse sweeps per row colour, or
//!    Hessian-vector products per star colour) and writes straight into the values of a
//!    preallocated `sprs::CsMat<f64>`, allocating nothing. Forward passes run in parallel on
//!    request ([`SparseJacobian::compute_parallel`]).
//! 4. **AD operators** ([`Sparse`]): a backend for the `jacobian`/`hessian` operators of
//!    [`tangent_ad::operators`].
//!
//! ```
//! use tangent_ad::problems::{Brusselator2D, BrusselatorState};
//! use tangent_ad::operators::{Forward, JacobianPrep, prepare_jacobian};
//! use tangent_sparsity::coloring::{GreedyColoring, column_coloring};
//! use tangent_sparsity::{SparseJacobian, SparseJacobianOptions, jacobian_sparsity};
//!
//! // P3: the 2-D Brusselator on a 16 × 16 periodic grid, 512 states.
//! let f = BrusselatorState { problem: Brusselator2D { n: 16 }, t: 2.0 };
//! let x = f.problem.initial_state();
//!
//! // 1–2: the pattern has 6 nonzeros per row; a handful of colours cover the 512 columns.
//! let pattern = jacobian_sparsity(&f, &x).unwrap();
//! assert_eq!(pattern.nnz(), 6 * 512);
//! let colors = column_coloring(&pattern, &GreedyColoring::default()).unwrap();
//! assert_eq!(colors.lower_bound(), 6);
//! assert!(colors.n_colors() <= 12);
//!
//! // 3: prepared once, each Jacobian is ⌈colours / 16⌉ = 1 pass on Dual<16>.
//! let mut jac = SparseJacobian::<16>::new(&f, &x, &SparseJacobianOptions::default()).unwrap();
//! assert_eq!(jac.passes(), 1);
//! let sparse = jac.compute(&f, &x).unwrap().clone();
//!
//! // Same values as the dense forward-mode Jacobian (512 × 512, 32 passes on Dual<16>).
//! let mut dense = vec![0.0; 512 * 512];
//! prepare_jacobian(&f, &Forward::<16>, &x).unwrap().jacobian(&f, &x, &mut dense).unwrap();
//! for (&v, (i, j)) in sparse.iter() {
//!     assert_eq!(v, dense[i + 512 * j]);
//! }
//! // Every dense nonzero is in the pattern (some pattern entries are zero at this point: u = 0
//! // on the boundary row makes ∂(u²v)/∂v vanish there).
//! assert!(dense.iter().filter(|v| **v != 0.0).count() <= sparse.nnz());
//! ```
//!
//! # Errors
//!
//! Everything returns [`SparsityError`]: wrong lengths, value-dependent control flow in global
//! detection, tracers used outside their detection, invalid colourings or patterns, and the
//! tape's and rules' errors. Nothing panics on bad input.

pub mod backend;
pub mod coloring;
pub mod detect;
pub mod error;
pub mod hessian;
pub mod jacobian;
pub mod pattern;
pub mod tracer;

pub use backend::Sparse;
pub use detect::{
    Detector, hessian_sparsity, jacobian_sparsity, local_hessian_sparsity, local_jacobian_sparsity,
};
pub use error::SparsityError;
pub use hessian::{SparseHessian, SparseHessianOptions};
pub use jacobian::{JacobianMode, SparseJacobian, SparseJacobianOptions};
pub use pattern::{Pattern, column_coloring_lower_bound, row_coloring_lower_bound};
pub use tracer::{
    GlobalHessianTracer, GlobalJacobianTracer, LocalHessianTracer, LocalJacobianTracer, Tracer,
};
