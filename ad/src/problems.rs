//! Reference problems of `problems/README.md` that need only the AD core (P6, and the functions
//! of P3 and P7), shared by tests and benchmarks of every crate.
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

/// P3: the 2-D Brusselator on an `N × N` periodic grid (SciML's `bruss_2d`), `2N²` states.
///
/// With `x_i = (i−1)/(N−1)`, `dx = 1/(N−1)` and parameters `p = (A, B, α)` (reference
/// `(3.4, 1, 10)`):
///
/// ```text
/// u̇ = α/dx² · Δu + B + u²v − (A + 1) u + f(x, y, t)
/// v̇ = α/dx² · Δv + A u − u²v
/// ```
///
/// with the periodic five-point Laplacian `Δ` and the forcing `f = 5` inside the disc
/// `(x − 0.3)² + (y − 0.6)² ≤ 0.1²` for `t ≥ 1.1`, else 0. State ordering: `(i, j, c) ↦
/// i + N j + N² c` (`c = 0` for `u`, `1` for `v`), as Julia's column-major `vec(u)`.
#[derive(Clone, Copy, Debug)]
pub struct Brusselator2D {
    /// Grid points per side.
    pub n: usize,
}

impl Brusselator2D {
    /// The reference parameters `(A, B, α) = (3.4, 1, 10)`.
    pub const PARAMS: [f64; 3] = [3.4, 1.0, 10.0];
    /// The time at which the forcing switches on.
    pub const FORCING_ON: f64 = 1.1;
    /// The end of the reference time span `[0, 11.5]`.
    pub const T_END: f64 = 11.5;

    /// Number of states `2N²`.
    pub fn len(&self) -> usize {
        2 * self.n * self.n
    }

    /// `true` for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn coordinate(&self, i: usize) -> f64 {
        if self.n <= 1 {
            0.0
        } else {
            i as f64 / (self.n - 1) as f64
        }
    }

    /// The initial state `u = 22 (y(1−y))^{3/2}`, `v = 27 (x(1−x))^{3/2}`.
    pub fn initial_state(&self) -> Vec<f64> {
        let n = self.n;
        let mut u0 = vec![0.0; self.len()];
        for j in 0..n {
            for i in 0..n {
                let (x, y) = (self.coordinate(i), self.coordinate(j));
                u0[i + n * j] = 22.0 * (y * (1.0 - y)).powf(1.5);
                u0[i + n * j + n * n] = 27.0 * (x * (1.0 - x)).powf(1.5);
            }
        }
        u0
    }

    /// The right-hand side at time `t` (`u.len() == du.len() == 2N²`, `p = (A, B, α)`).
    pub fn rhs<S: Scalar>(&self, t: f64, u: &[S], p: &[S], du: &mut [S]) {
        let n = self.n;
        if n == 0 {
            return;
        }
        let nn = n * n;
        let (a, b) = (p[0], p[1]);
        let dx = if n > 1 { 1.0 / (n - 1) as f64 } else { 1.0 };
        let alpha = p[2] / (dx * dx);
        let forcing_on = t >= Self::FORCING_ON;
        for j in 0..n {
            let (jm, jp) = ((j + n - 1) % n, (j + 1) % n);
            for i in 0..n {
                let (im, ip) = ((i + n - 1) % n, (i + 1) % n);
                let k = i + n * j;
                let (uk, vk) = (u[k], u[k + nn]);
                let lap_u =
                    u[im + n * j] + u[ip + n * j] + u[i + n * jp] + u[i + n * jm] - uk * 4.0;
                let lap_v = u[im + n * j + nn]
                    + u[ip + n * j + nn]
                    + u[i + n * jp + nn]
                    + u[i + n * jm + nn]
                    - vk * 4.0;
                let (x, y) = (self.coordinate(i), self.coordinate(j));
                let f = if forcing_on && (x - 0.3).powi(2) + (y - 0.6).powi(2) <= 0.01 {
                    5.0
                } else {
                    0.0
                };
                let uuv = uk * uk * vk;
                du[k] = alpha * lap_u + b + uuv - (a + 1.0) * uk + f;
                du[k + nn] = alpha * lap_v + a * uk - uuv;
            }
        }
    }
}

/// P3's right-hand side at a fixed time and the reference parameters, as a function of the state
/// (the Jacobian the stiff solvers need).
#[derive(Clone, Copy, Debug)]
pub struct BrusselatorState {
    /// The problem.
    pub problem: Brusselator2D,
    /// The time.
    pub t: f64,
}

impl VectorFunction for BrusselatorState {
    fn output_len(&self) -> usize {
        self.problem.len()
    }
    fn eval<S: Scalar>(&self, u: &[S], du: &mut [S]) {
        let p = Brusselator2D::PARAMS.map(S::cst);
        self.problem.rhs(self.t, u, &p, du);
    }
}

/// P7: the 2-D Bratu problem `Δu + λ eᵘ = 0` on the `N × N` interior points of the unit square,
/// `u = 0` on the boundary, the five-point Laplacian with `h = 1/(N + 1)`; reference `λ = 6`,
/// `N = 64`, start `u = 0`. Unknown `(i, j)` (0-based, interior) is `u[i + N j]`.
#[derive(Clone, Copy, Debug)]
pub struct Bratu2D {
    /// Interior points per side.
    pub n: usize,
}

impl Bratu2D {
    /// The reference parameter `λ = 6`.
    pub const LAMBDA: f64 = 6.0;

    /// Number of unknowns `N²`.
    pub fn len(&self) -> usize {
        self.n * self.n
    }

    /// `true` for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The residual `r = Δ_h u + λ eᵘ` (`u.len() == r.len() == N²`).
    pub fn residual<S: Scalar>(&self, u: &[S], lambda: S, r: &mut [S]) {
        let n = self.n;
        let inv_h2 = ((n + 1) * (n + 1)) as f64;
        let at = |i: usize, j: usize| u[i + n * j];
        for j in 0..n {
            for i in 0..n {
                let c = at(i, j);
                let mut lap = c * -4.0;
                if i > 0 {
                    lap += at(i - 1, j);
                }
                if i + 1 < n {
                    lap += at(i + 1, j);
                }
                if j > 0 {
                    lap += at(i, j - 1);
                }
                if j + 1 < n {
                    lap += at(i, j + 1);
                }
                r[i + n * j] = lap * inv_h2 + lambda * c.exp();
            }
        }
    }
}

/// P7's residual at the reference `λ` as a function of `u` (the Jacobian Newton needs).
#[derive(Clone, Copy, Debug)]
pub struct BratuResidual {
    /// The problem.
    pub problem: Bratu2D,
}

impl VectorFunction for BratuResidual {
    fn output_len(&self) -> usize {
        self.problem.len()
    }
    fn eval<S: Scalar>(&self, u: &[S], r: &mut [S]) {
        self.problem.residual(u, S::cst(Bratu2D::LAMBDA), r);
    }
}
