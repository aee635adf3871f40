//! tangent-ad: forward and reverse automatic differentiation with custom rules.

pub mod check;
pub mod dual;
pub mod error;
pub mod function;
mod nalgebra_impls;
pub mod operators;
pub mod problems;
pub mod rule;
pub mod scalar;
pub mod tape;

pub use dual::Dual;
pub use error::AdError;
pub use function::{AsVector, ScalarFunction, VectorFunction};
pub use rule::{DependencyPattern, Rule, RuleError, is_f64};
pub use scalar::Scalar;
pub use tape::{Recording, Tape, TapeError, TapeScalar, Var};
