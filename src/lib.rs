//! # tangent — a differentiable scientific solver suite
//!
//! The facade over tangent's crates; see the README for the tour.
//!
//! * [`ad`] — `Scalar`, forward (`Dual`) and reverse (`Tape`) mode, custom `Rule`s, prepared
//!   differentiation operators and derivative checks;
//! * [`sparsity`] — sparsity detection, colouring, compressed sparse Jacobians and Hessians;
//! * [`linsolve`] — dense, sparse and Krylov linear solvers with the linear-solve rule;
//! * [`nonlinsolve`] — Newton, trust-region, Levenberg–Marquardt and Broyden solvers with the
//!   implicit-function rule;
//! * [`quadrature`] — adaptive quadrature and cubature with Leibniz-rule derivatives;
//! * [`ode`] — explicit and stiff ODE solvers with dense or sparse AD Jacobians, dense output
//!   and events.
//!
//! ```
//! use tangent::ad::operators::{Reverse, gradient};
//! use tangent::ad::scalar_fn;
//!
//! let f = scalar_fn!(|x| x[0].sin() * x[1]);
//! let mut g = [0.0; 2];
//! gradient(&f, &Reverse, &[0.0, 2.0], &mut g).unwrap();
//! assert_eq!(g, [2.0, 0.0]);
//! ```

pub use tangent_ad as ad;
pub use tangent_linsolve as linsolve;
pub use tangent_nonlinsolve as nonlinsolve;
pub use tangent_ode as ode;
pub use tangent_quadrature as quadrature;
pub use tangent_sparsity as sparsity;
