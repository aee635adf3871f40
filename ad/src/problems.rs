//! Reference problem P6 (AD cost) of `problems/README.md`, shared by tests and benchmarks.
//!
//! * [`ExtendedRosenbrock`]: `f(x) = Σ_{i=1}^{n−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)²` at
//!   [`ExtendedRosenbrock::start`] (`x_i = 1.2` for odd `i`, `1.0` for even `i`, 1-based);
//!   cheap arithmetic that plain `f64` code vectorises, the hardest case for any tape.
//! * [`ChainedMap`]: `G = F ∘ F ∘ … ∘ F` (10 times) with
//!   `F(x)_i = sin(x_i) cos(x_{(i+1) mod 10}) + 0.5 x_i` on `R¹⁰`, at `x_i = 0.1 (i + 1)`.
//!
//! Oracle values are in `problems/oracles.json` (key `P6`).

use crate::function::{ScalarFunction, VectorFunction};
use crate::scalar::Scalar;

/// The extended Rosenbrock function of P6.
#[derive(Clone, Copy, Debug)]
pub struct ExtendedRosenbrock {
    /// Number of variables `n ≥ 2`.
    pub n: usize,
}

impl ExtendedRosenbrock {
    /// P6's starting point: `1.2` at odd 1-based positions, `1.0` at even ones.
    pub fn start(&self) -> Vec<f64> {
        (0..self.n)
            .map(|i| if i % 2 == 0 { 1.2 } else { 1.0 })
            .collect()
    }
}

impl ScalarFunction for ExtendedRosenbrock {
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        let mut s = S::zero();
        for w in x.windows(2) {
            let (a, b) = (w[0], w[1]);
            let t = b - a * a;
            let u = S::cst(1.0) - a;
            s += t * t * 100.0 + u * u;
        }
        s
    }
}

/// The chained map of P6: ten applications of `F` on `R¹⁰`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainedMap;

impl ChainedMap {
    /// Dimension (inputs = outputs).
    pub const DIM: usize = 10;
    /// Number of applications of `F`.
    pub const DEPTH: usize = 10;

    /// P6's point `x_i = 0.1 (i + 1)`.
    pub fn start(&self) -> Vec<f64> {
        (0..Self::DIM).map(|i| 0.1 * (i as f64 + 1.0)).collect()
    }
}

impl VectorFunction for ChainedMap {
    fn output_len(&self) -> usize {
        Self::DIM
    }
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        let mut cur = [S::zero(); Self::DIM];
        cur.copy_from_slice(&x[..Self::DIM]);
        for _ in 0..Self::DEPTH {
            let mut next = [S::zero(); Self::DIM];
            for i in 0..Self::DIM {
                next[i] = cur[i].sin() * cur[(i + 1) % Self::DIM].cos() + cur[i] * 0.5;
            }
            cur = next;
        }
        y[..Self::DIM].copy_from_slice(&cur);
    }
}

/// The scalar function `Σ_i G(x)_i` of P6 ("typical" code with transcendental functions).
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainedMapSum;

impl ScalarFunction for ChainedMapSum {
    #[inline]
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        let mut y = [S::zero(); ChainedMap::DIM];
        ChainedMap.eval(x, &mut y);
        y.iter().copied().sum()
    }
}
