//! The sparse backend of the AD crate's operator API.
//!
//! [`Sparse<N>`] implements [`JacobianBackend`] and [`HessianBackend`] of
//! [`tangent_ad::operators`], so generic code written against those traits gets compressed
//! Jacobians and Hessians by choosing the backend. The traits write **dense column-major**
//! output (their contract); the prepared objects ([`SparseJacobian`], [`SparseHessian`]) also
//! offer the sparse output (`&CsMat<f64>`) that sparse solvers want, and that is the primary API.
//! Errors without an [`AdError`] counterpart become [`AdError::Backend`] (see
//! `From<SparsityError> for AdError`).
//!
//! ```
//! use tangent_ad::operators::{JacobianPrep, prepare_jacobian};
//! use tangent_ad::vector_fn;
//! use tangent_sparsity::Sparse;
//!
//! let f = vector_fn!(3; |x, y| {
//!     y[0] = x[0] * x[0];
//!     y[1] = x[1].sin();
//!     y[2] = x[2] + x[0];
//! });
//! let x = [1.0, 0.0, 2.0];
//! let mut prep = prepare_jacobian(&f, &Sparse::<4>::default(), &x).unwrap();
//! let mut jac = [0.0; 9];
//! prep.jacobian(&f, &x, &mut jac).unwrap(); // dense, column-major
//! assert_eq!(prep.compute(&f, &x).unwrap().nnz(), 4); // the sparse matrix itself
//! assert_eq!(jac, [2.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
//! ```

use tangent_ad::operators::{HessianBackend, HessianPrep, JacobianBackend, JacobianPrep};
use tangent_ad::{AdError, ScalarFunction, VectorFunction};

use crate::hessian::{SparseHessian, SparseHessianOptions};
use crate::jacobian::{SparseJacobian, SparseJacobianOptions};

/// Sparse backend: detection, colouring and compressed evaluation with `N` colours per forward
/// pass. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sparse<const N: usize = 8> {
    /// Options of the Jacobians it prepares.
    pub jacobian: SparseJacobianOptions,
    /// Options of the Hessians it prepares.
    pub hessian: SparseHessianOptions,
}

impl<const N: usize> JacobianBackend for Sparse<N> {
    type Prep = SparseJacobian<N>;
    fn prepare_jacobian<F: VectorFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        Ok(SparseJacobian::new(f, x, &self.jacobian)?)
    }
}

impl<const N: usize> JacobianPrep for SparseJacobian<N> {
    fn value_and_jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        y: &mut [f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        self.compute_with_value(f, x, y)?;
        Ok(self.to_dense_column_major(jac)?)
    }
    fn jacobian<F: VectorFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        jac: &mut [f64],
    ) -> Result<(), AdError> {
        self.compute(f, x)?;
        Ok(self.to_dense_column_major(jac)?)
    }
}

impl<const N: usize> HessianBackend for Sparse<N> {
    type Prep = SparseHessian;
    fn prepare_hessian<F: ScalarFunction>(&self, f: &F, x: &[f64]) -> Result<Self::Prep, AdError> {
        Ok(SparseHessian::new(f, x, &self.hessian)?)
    }
}

impl HessianPrep for SparseHessian {
    fn hessian<F: ScalarFunction>(
        &mut self,
        f: &F,
        x: &[f64],
        hess: &mut [f64],
    ) -> Result<(), AdError> {
        self.compute(f, x)?;
        Ok(self.to_dense_column_major(hess)?)
    }
}
