//! The Genz–Malik degree-7 cubature rule with its embedded degree-5 rule, on d-dimensional boxes.
//!
//! On the cube [−1, 1]^d the rule uses `2^d + 2d² + 2d + 1` points in five fully symmetric
//! classes (Genz & Malik 1980, with λ₂ = √(9/70), λ₃ = λ₄ = √(9/10), λ₅ = √(9/19)):
//!
//! | class | points | count | degree-7 weight / 2^d | degree-5 weight / 2^d |
//! | --- | --- | --- | --- | --- |
//! | 1 | the centre | 1 | (12824 − 9120 d + 400 d²) / 19683 | (729 − 950 d + 50 d²) / 729 |
//! | 2 | ±λ₂ eᵢ | 2d | 980 / 6561 | 245 / 486 |
//! | 3 | ±λ₃ eᵢ | 2d | (1820 − 400 d) / 19683 | (265 − 100 d) / 1458 |
//! | 4 | ±λ₄ eᵢ ± λ₄ eⱼ, i < j | 2d(d−1) | 200 / 19683 | 25 / 729 |
//! | 5 | (±λ₅, …, ±λ₅) | 2^d | 6859 / 19683 / 2^d | 0 |
//!
//! Scaled to a box with half-widths hᵢ, the sums are multiplied by `∏ hᵢ` (the weights above
//! already carry the cube's volume 2^d). The difference of the two rules is the box's error
//! estimate. The subdivision axis is the one with the largest fourth divided difference
//! `|f(c+λ₂eᵢ) + f(c−λ₂eᵢ) − 2f(c) − (λ₂²/λ₃²)(f(c+λ₃eᵢ) + f(c−λ₃eᵢ) − 2f(c))|`, ties broken by
//! the widest side (Genz & Malik 1980, §3).
//!
//! Reference: A. C. Genz, A. A. Malik, *An adaptive algorithm for numerical integration over an
//! N-dimensional rectangular region*, J. Comput. Appl. Math. 6 (1980) 295–302.

use crate::error::QuadratureError;

/// Largest supported dimension: the rule has `2^d` points in its last class, so beyond this the
/// rule stops being a sensible choice (about a million points per box).
pub const MAX_GENZ_MALIK_DIM: usize = 20;

/// The Genz–Malik (7, 5) rule in dimension `d ≥ 2`; see the module docs.
///
/// ```
/// use tangent_quadrature::GenzMalik;
///
/// let rule = GenzMalik::new(2).unwrap();
/// assert_eq!(rule.len(), 17);
/// // Degree 7: ∫∫_{[0,1]²} x⁴ y³ = 1/20 exactly.
/// let (i7, i5) = rule.integrate_once(|x| x[0].powi(4) * x[1].powi(3), &[0.0, 0.0], &[1.0, 1.0]);
/// assert!((i7 - 1.0 / 20.0).abs() < 1e-15);
/// assert!((i7 - i5).abs() > 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GenzMalik {
    dim: usize,
    /// Points on [−1, 1]^d, point-major (`len() × dim`), in class order.
    points: Vec<f64>,
    /// Degree-7 weights per class (including the factor 2^d of the cube's volume).
    w7: [f64; 5],
    /// Degree-5 weights per class.
    w5: [f64; 4],
}

/// λ₂ = √(9/70).
fn lambda2() -> f64 {
    (9.0f64 / 70.0).sqrt()
}
/// λ₃ = λ₄ = √(9/10).
fn lambda3() -> f64 {
    (9.0f64 / 10.0).sqrt()
}
/// λ₅ = √(9/19).
fn lambda5() -> f64 {
    (9.0f64 / 19.0).sqrt()
}

impl GenzMalik {
    /// The rule in dimension `dim` (2 ≤ dim ≤ [`MAX_GENZ_MALIK_DIM`]).
    pub fn new(dim: usize) -> Result<Self, QuadratureError> {
        if !(2..=MAX_GENZ_MALIK_DIM).contains(&dim) {
            return Err(QuadratureError::InvalidOption {
                what: "Genz–Malik dimension",
                reason: "must be between 2 and 20 (use Gauss–Kronrod in one dimension)",
            });
        }
        let d = dim as f64;
        let vol = (dim as f64).exp2();
        let w7 = [
            vol * (12824.0 - 9120.0 * d + 400.0 * d * d) / 19683.0,
            vol * 980.0 / 6561.0,
            vol * (1820.0 - 400.0 * d) / 19683.0,
            vol * 200.0 / 19683.0,
            6859.0 / 19683.0,
        ];
        let w5 = [
            vol * (729.0 - 950.0 * d + 50.0 * d * d) / 729.0,
            vol * 245.0 / 486.0,
            vol * (265.0 - 100.0 * d) / 1458.0,
            vol * 25.0 / 729.0,
        ];
        let (l2, l3, l5) = (lambda2(), lambda3(), lambda5());
        let n = Self::count(dim);
        let mut points = Vec::with_capacity(n * dim);
        let mut push = |coords: &[(usize, f64)]| {
            let start = points.len();
            points.resize(start + dim, 0.0);
            for &(i, v) in coords {
                points[start + i] = v;
            }
        };
        push(&[]);
        // Classes 2 and 3 interleaved per axis: (−λ₂, +λ₂, −λ₃, +λ₃) for axis i at 1 + 4i.
        for i in 0..dim {
            push(&[(i, -l2)]);
            push(&[(i, l2)]);
            push(&[(i, -l3)]);
            push(&[(i, l3)]);
        }
        for i in 0..dim {
            for j in i + 1..dim {
                for (si, sj) in [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)] {
                    push(&[(i, si * l3), (j, sj * l3)]);
                }
            }
        }
        for mask in 0..(1usize << dim) {
            let start = points.len();
            points.resize(start + dim, 0.0);
            for i in 0..dim {
                points[start + i] = if mask >> i & 1 == 1 { l5 } else { -l5 };
            }
        }
        debug_assert_eq!(points.len(), n * dim);
        Ok(Self {
            dim,
            points,
            w7,
            w5,
        })
    }

    /// Number of points `2^d + 2d² + 2d + 1`.
    pub fn count(dim: usize) -> usize {
        (1usize << dim) + 2 * dim * dim + 2 * dim + 1
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of points of the rule.
    pub fn len(&self) -> usize {
        self.points.len() / self.dim
    }

    /// Always `false`.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The points on [−1, 1]^d, point-major: point `k` is `points()[k*d..(k+1)*d]`.
    pub fn points(&self) -> &[f64] {
        &self.points
    }

    /// Writes the rule's points mapped to the box with centre `c` and half-widths `h` into
    /// `out` (point-major, `len() × d`).
    pub(crate) fn map_points(&self, c: &[f64], h: &[f64], out: &mut [f64]) {
        for (p, o) in self
            .points
            .chunks_exact(self.dim)
            .zip(out.chunks_exact_mut(self.dim))
        {
            for i in 0..self.dim {
                o[i] = c[i] + h[i] * p[i];
            }
        }
    }

    /// Combines the values `f` (point-major, `len() × m`) on a box with half-widths `h`:
    /// writes the degree-7 and degree-5 estimates per component to `i7`, `i5` and returns the
    /// axis to split (largest fourth difference, widest side on ties).
    pub(crate) fn combine(
        &self,
        f: &[f64],
        m: usize,
        h: &[f64],
        i7: &mut [f64],
        i5: &mut [f64],
    ) -> usize {
        let d = self.dim;
        let vol: f64 = h.iter().product();
        let ratio = lambda2() * lambda2() / (lambda3() * lambda3());
        let n4_start = 1 + 4 * d;
        let n5_start = n4_start + 2 * d * (d - 1);
        let n = self.len();
        let mut best_axis = 0;
        let mut best_diff = -1.0;
        for i in 0..d {
            let base = 1 + 4 * i;
            let mut diff = 0.0;
            for c in 0..m {
                let f0 = f[c];
                let s2 = f[base * m + c] + f[(base + 1) * m + c];
                let s3 = f[(base + 2) * m + c] + f[(base + 3) * m + c];
                diff += (s2 - 2.0 * f0 - ratio * (s3 - 2.0 * f0)).abs();
            }
            // Ties (within rounding) go to the widest side.
            let tie = (diff - best_diff).abs() <= 1e-12 * diff.abs().max(best_diff.abs());
            if (tie && h[i] > h[best_axis]) || (!tie && diff > best_diff) {
                best_axis = i;
                best_diff = diff;
            }
        }
        for c in 0..m {
            let s1 = f[c];
            let (mut s2, mut s3, mut s4, mut s5) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..d {
                let base = 1 + 4 * i;
                s2 += f[base * m + c] + f[(base + 1) * m + c];
                s3 += f[(base + 2) * m + c] + f[(base + 3) * m + c];
            }
            for k in n4_start..n5_start {
                s4 += f[k * m + c];
            }
            for k in n5_start..n {
                s5 += f[k * m + c];
            }
            let (w7, w5) = (&self.w7, &self.w5);
            i7[c] = vol * (w7[0] * s1 + w7[1] * s2 + w7[2] * s3 + w7[3] * s4 + w7[4] * s5);
            i5[c] = vol * (w5[0] * s1 + w5[1] * s2 + w5[2] * s3 + w5[3] * s4);
        }
        best_axis
    }

    /// Applies the rule once to `f` on the box `[lower, upper]` (no adaptivity): returns the
    /// (degree-7, degree-5) estimates. `lower` and `upper` have length `dim()`.
    pub fn integrate_once(
        &self,
        f: impl Fn(&[f64]) -> f64,
        lower: &[f64],
        upper: &[f64],
    ) -> (f64, f64) {
        let d = self.dim;
        let c: Vec<f64> = lower
            .iter()
            .zip(upper)
            .map(|(a, b)| 0.5 * (a + b))
            .collect();
        let h: Vec<f64> = lower
            .iter()
            .zip(upper)
            .map(|(a, b)| 0.5 * (b - a))
            .collect();
        let mut x = vec![0.0; self.points.len()];
        self.map_points(&c, &h, &mut x);
        let fx: Vec<f64> = x.chunks_exact(d).map(&f).collect();
        let (mut i7, mut i5) = ([0.0], [0.0]);
        self.combine(&fx, 1, &h, &mut i7, &mut i5);
        (i7[0], i5[0])
    }
}
