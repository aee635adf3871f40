//! Forward mode: [`Dual`], a value with `N` tangent directions carried at once on the stack.
//!
//! `Dual<N>` (that is `Dual<N, f64>`) propagates `N` directional derivatives through every
//! operation: a function of `n` inputs evaluated once on `Dual<N>` values seeded with `N` unit
//! directions yields `N` columns of its Jacobian. The partials are a plain `[f64; N]`, so the
//! arithmetic is a fixed-length loop the compiler unrolls and vectorises.
//!
//! **Nesting** gives higher derivatives: `Dual<N, Dual<M>>` is forward over forward (the outer
//! partials are themselves duals), so seeding the inner level with directions `v` and the outer
//! with directions `u` yields `uᵀ ∇²f v` in the inner partials of the outer partials.
//!
//! ```
//! use tangent_ad::{Dual, Scalar};
//!
//! // f(x, y) = x² sin y; gradient in one pass with two directions.
//! let x = Dual::<2>::variable(1.5, 0);
//! let y = Dual::<2>::variable(0.5, 1);
//! let f = x * x * y.sin();
//! assert!((f.d[0] - 2.0 * 1.5 * 0.5f64.sin()).abs() < 1e-15);
//! assert!((f.d[1] - 1.5 * 1.5 * 0.5f64.cos()).abs() < 1e-15);
//!
//! // Second derivative d²/dx² of x³ at 2 by nesting: 6x = 12.
//! let x = Dual::<1, Dual<1>>::new(Dual::variable(2.0, 0), [Dual::cst(1.0)]);
//! let f = x * x * x;
//! assert_eq!(f.d[0].d[0], 12.0);
//! ```

use core::fmt;
use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use crate::rule::{Rule, RuleError};
use crate::scalar::{Scalar, check_rule_shape, deriv};

/// A dual number: value `v` and `N` partial derivatives `d`, each of type `T` (`f64` unless
/// nested). See the module docs.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Dual<const N: usize, T = f64> {
    /// The value.
    pub v: T,
    /// The `N` directional derivatives.
    pub d: [T; N],
}

impl<const N: usize, T: Scalar> Dual<N, T> {
    /// A dual with value `v` and partials `d`.
    #[inline(always)]
    pub const fn new(v: T, d: [T; N]) -> Self {
        Self { v, d }
    }

    /// A constant (all partials zero).
    #[inline(always)]
    pub fn constant(v: T) -> Self {
        Self {
            v,
            d: [T::zero(); N],
        }
    }

    /// The independent variable number `i`: value `v`, partial `i` one, the others zero.
    /// An `i ≥ N` gives a constant.
    #[inline(always)]
    pub fn variable(v: impl Into<T>, i: usize) -> Self {
        let mut d = [T::zero(); N];
        if let Some(di) = d.get_mut(i) {
            *di = T::one();
        }
        Self { v: v.into(), d }
    }

    /// Chain rule for a unary function with value `v` and derivative `dv` at `self`.
    #[inline(always)]
    fn chain(self, v: T, dv: T) -> Self {
        let mut d = self.d;
        for di in &mut d {
            *di *= dv;
        }
        Self { v, d }
    }

    /// Most partials for which `sin` and `cos` test whether the argument is a constant.
    const CONSTANT_TEST_MAX: usize = 4;

    /// Whether every partial is exactly zero (at every nesting level).
    #[inline(always)]
    fn is_constant(&self) -> bool {
        self.d.iter().all(|t| t.is_all_zero())
    }

    /// Chain rule for a binary function with value `v` and partials `da`, `db`.
    #[inline(always)]
    fn chain2(a: Self, b: Self, v: T, da: T, db: T) -> Self {
        let mut d = a.d;
        for (di, bi) in d.iter_mut().zip(b.d) {
            *di = *di * da + bi * db;
        }
        Self { v, d }
    }

    /// Applies `f` to every partial (the value is unchanged).
    #[inline(always)]
    fn map_d(self, v: T, mut f: impl FnMut(T) -> T) -> Self {
        let mut d = self.d;
        for di in &mut d {
            *di = f(*di);
        }
        Self { v, d }
    }
}

impl<const N: usize, T: Scalar> Default for Dual<N, T> {
    #[inline(always)]
    fn default() -> Self {
        Self::constant(T::zero())
    }
}

impl<const N: usize, T: Scalar> fmt::Debug for Dual<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dual({:?}; {:?})", self.v, self.d)
    }
}

impl<const N: usize, T: Scalar> fmt::Display for Dual<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.v, f)
    }
}

impl<const N: usize, T: Scalar> From<f64> for Dual<N, T> {
    #[inline(always)]
    fn from(v: f64) -> Self {
        Self::constant(T::cst(v))
    }
}

impl<const N: usize, T: Scalar> PartialEq for Dual<N, T> {
    #[inline(always)]
    fn eq(&self, o: &Self) -> bool {
        self.v == o.v
    }
}
impl<const N: usize, T: Scalar> PartialOrd for Dual<N, T> {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        self.v.partial_cmp(&o.v)
    }
}
impl<const N: usize, T: Scalar> PartialEq<f64> for Dual<N, T> {
    #[inline(always)]
    fn eq(&self, o: &f64) -> bool {
        self.v == *o
    }
}
impl<const N: usize, T: Scalar> PartialOrd<f64> for Dual<N, T> {
    #[inline(always)]
    fn partial_cmp(&self, o: &f64) -> Option<core::cmp::Ordering> {
        self.v.partial_cmp(o)
    }
}

impl<const N: usize, T: Scalar> Neg for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.map_d(-self.v, |x| -x)
    }
}

impl<const N: usize, T: Scalar> Add for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let mut d = self.d;
        for (di, oi) in d.iter_mut().zip(o.d) {
            *di += oi;
        }
        Self { v: self.v + o.v, d }
    }
}
impl<const N: usize, T: Scalar> Sub for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let mut d = self.d;
        for (di, oi) in d.iter_mut().zip(o.d) {
            *di -= oi;
        }
        Self { v: self.v - o.v, d }
    }
}
impl<const N: usize, T: Scalar> Mul for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self::chain2(self, o, self.v * o.v, o.v, self.v)
    }
}
impl<const N: usize, T: Scalar> Div for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // d(a/b) = (da − (a/b) db) / b; the value is a / b itself, bit-identical to `f64`.
        let inv = T::one() / o.v;
        let v = self.v / o.v;
        Self::chain2(self, o, v, inv, -v * inv)
    }
}
impl<const N: usize, T: Scalar> Rem for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        // a % b = a − b·trunc(a/b); trunc is piecewise constant.
        let q = (self.v / o.v).trunc();
        Self::chain2(self, o, self.v % o.v, T::one(), -q)
    }
}

impl<const N: usize, T: Scalar> Add<f64> for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: f64) -> Self {
        Self {
            v: self.v + o,
            d: self.d,
        }
    }
}
impl<const N: usize, T: Scalar> Sub<f64> for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: f64) -> Self {
        Self {
            v: self.v - o,
            d: self.d,
        }
    }
}
impl<const N: usize, T: Scalar> Mul<f64> for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: f64) -> Self {
        self.map_d(self.v * o, |x| x * o)
    }
}
impl<const N: usize, T: Scalar> Div<f64> for Dual<N, T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: f64) -> Self {
        self.map_d(self.v / o, |x| x / o)
    }
}
impl<const N: usize, T: Scalar> Add<Dual<N, T>> for f64 {
    type Output = Dual<N, T>;
    #[inline(always)]
    fn add(self, o: Dual<N, T>) -> Dual<N, T> {
        o + self
    }
}
impl<const N: usize, T: Scalar> Sub<Dual<N, T>> for f64 {
    type Output = Dual<N, T>;
    #[inline(always)]
    fn sub(self, o: Dual<N, T>) -> Dual<N, T> {
        o.map_d(T::cst(self) - o.v, |x| -x)
    }
}
impl<const N: usize, T: Scalar> Mul<Dual<N, T>> for f64 {
    type Output = Dual<N, T>;
    #[inline(always)]
    fn mul(self, o: Dual<N, T>) -> Dual<N, T> {
        o * self
    }
}
impl<const N: usize, T: Scalar> Div<Dual<N, T>> for f64 {
    type Output = Dual<N, T>;
    #[inline(always)]
    fn div(self, o: Dual<N, T>) -> Dual<N, T> {
        let inv = T::one() / o.v;
        let v = T::cst(self) / o.v;
        let dv = -v * inv;
        o.chain(v, dv)
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<const N: usize, T: Scalar> $tr for Dual<N, T> {
            #[inline(always)]
            fn $m(&mut self, o: Self) { *self = *self $op o; }
        }
        impl<const N: usize, T: Scalar> $tr<f64> for Dual<N, T> {
            #[inline(always)]
            fn $m(&mut self, o: f64) { *self = *self $op o; }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl<const N: usize, T: Scalar> Sum for Dual<N, T> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + b)
    }
}
impl<const N: usize, T: Scalar> Product for Dual<N, T> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::from(1.0), |a, b| a * b)
    }
}

const LN_2: f64 = core::f64::consts::LN_2;
const LN_10: f64 = core::f64::consts::LN_10;

impl<const N: usize, T: Scalar> Scalar for Dual<N, T> {
    #[inline(always)]
    fn value(&self) -> f64 {
        self.v.value()
    }
    #[inline(always)]
    fn cst(v: f64) -> Self {
        Self::constant(T::cst(v))
    }
    #[inline(always)]
    fn is_all_zero(&self) -> bool {
        self.v.is_all_zero() && self.d.iter().all(|d| d.is_all_zero())
    }
    #[inline(always)]
    fn is_finite(&self) -> bool {
        self.v.is_finite() && self.d.iter().all(|d| d.is_finite())
    }
    #[inline(always)]
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    #[inline(always)]
    fn exp2(self) -> Self {
        let e = self.v.exp2();
        self.chain(e, e * LN_2)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        // d/dx (eˣ − 1) = eˣ, computed directly: `exp_m1(x) + 1` loses the digits for x ≪ 0.
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.chain(self.v.ln(), self.v.recip())
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), (self.v + 1.0).recip())
    }
    #[inline(always)]
    fn log2(self) -> Self {
        self.chain(self.v.log2(), (self.v * LN_2).recip())
    }
    #[inline(always)]
    fn log10(self) -> Self {
        self.chain(self.v.log10(), (self.v * LN_10).recip())
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        let y = self.v.sqrt();
        self.map_d(y, |t| deriv::sqrt_tangent(t, y))
    }
    #[inline(always)]
    fn cbrt(self) -> Self {
        let y = self.v.cbrt();
        self.map_d(y, |t| deriv::cbrt_tangent(t, y))
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        match n {
            0 => Self::constant(T::one()),
            1 => self,
            2 => self.chain(self.v.powi(2), self.v * 2.0),
            _ => self.chain(self.v.powi(n), self.v.powi(n - 1) * f64::from(n)),
        }
    }
    #[inline(always)]
    fn powf(self, c: f64) -> Self {
        if c == 0.0 {
            return Self::constant(T::one());
        }
        self.chain(self.v.powf(c), self.v.powf(c - 1.0) * c)
    }
    #[inline(always)]
    fn pow(self, y: Self) -> Self {
        // d(x^y) = y x^(y−1) dx + x^y ln x dy; the ln x term is 0 at x = 0 (module docs). A side
        // with no tangent contributes nothing (not `0 · ∞ = NaN`, e.g. `x^y ln x` for x < 0 or
        // `y x^(y−1)` at x = 0).
        let v = self.v.pow(y.v);
        let (x_moves, y_moves) = (!self.is_constant(), !y.is_constant());
        let dx = || y.v * self.v.pow(y.v - 1.0);
        let dy = || {
            if self.v.value() == 0.0 {
                T::zero()
            } else {
                v * self.v.ln()
            }
        };
        match (x_moves, y_moves) {
            (true, true) => Self::chain2(self, y, v, dx(), dy()),
            (true, false) => self.chain(v, dx()),
            (false, true) => y.chain(v, dy()),
            (false, false) => Self::constant(v),
        }
    }
    #[inline(always)]
    fn sin(self) -> Self {
        // A constant (every partial exactly zero: a quadrature node, a time) skips the second
        // transcendental its derivative would need. Only for few partials: the test's cost
        // grows with N and it splits the code in two, while a derivative's second
        // transcendental mostly comes at the price of a comparison (see `Scalar::sin_cos` on
        // `f64`). Measured: with the test, the `Dual<10>` Jacobian of P6's chained map took
        // 38.8k instructions and 3.8 µs, without it 31.3k and 3.0 µs; a `Dual<1>` quadrature
        // integrand `cos(10x)` at constant nodes (P8) is 16 % cheaper with it.
        if N <= Self::CONSTANT_TEST_MAX && self.is_constant() {
            return Self::constant(self.v.sin());
        }
        let (s, c) = self.v.sin_cos();
        self.chain(s, c)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        // See `sin`.
        if N <= Self::CONSTANT_TEST_MAX && self.is_constant() {
            return Self::constant(self.v.cos());
        }
        let (s, c) = self.v.sin_cos();
        self.chain(c, -s)
    }
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        let (s, c) = self.v.sin_cos();
        (self.chain(s, c), self.chain(c, -s))
    }
    #[inline(always)]
    fn tan(self) -> Self {
        let t = self.v.tan();
        self.chain(t, t * t + 1.0)
    }
    #[inline(always)]
    fn asin(self) -> Self {
        self.chain(self.v.asin(), (T::one() - self.v * self.v).sqrt().recip())
    }
    #[inline(always)]
    fn acos(self) -> Self {
        self.chain(self.v.acos(), -(T::one() - self.v * self.v).sqrt().recip())
    }
    #[inline(always)]
    fn atan(self) -> Self {
        self.chain(self.v.atan(), deriv::atan_slope(self.v))
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        let v = self.v.atan2(x.v);
        match deriv::atan2_partials(self.v, x.v) {
            Some((dy, dx)) => Self::chain2(self, x, v, dy, dx),
            None => Self::constant(v), // 0 at the origin (module docs)
        }
    }
    #[inline(always)]
    fn sinh(self) -> Self {
        self.chain(self.v.sinh(), self.v.cosh())
    }
    #[inline(always)]
    fn cosh(self) -> Self {
        self.chain(self.v.cosh(), self.v.sinh())
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        self.chain(t, deriv::tanh_slope(self.v, t))
    }
    #[inline(always)]
    fn asinh(self) -> Self {
        self.chain(self.v.asinh(), deriv::asinh_slope(self.v))
    }
    #[inline(always)]
    fn acosh(self) -> Self {
        self.chain(self.v.acosh(), deriv::acosh_slope(self.v))
    }
    #[inline(always)]
    fn atanh(self) -> Self {
        self.chain(self.v.atanh(), (T::one() - self.v * self.v).recip())
    }
    #[inline(always)]
    fn abs(self) -> Self {
        let s = deriv::abs_slope(self.v.value());
        self.map_d(self.v.abs(), |t| t * s)
    }
    #[inline(always)]
    fn signum(self) -> Self {
        Self::constant(self.v.signum())
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        let (wa, wb) = deriv::min_weights(self.v.value(), o.v.value());
        let v = self.v.min(o.v);
        weighted(self, o, v, wa, wb)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        let (wa, wb) = deriv::max_weights(self.v.value(), o.v.value());
        let v = self.v.max(o.v);
        weighted(self, o, v, wa, wb)
    }
    #[inline(always)]
    fn hypot(self, o: Self) -> Self {
        let h = self.v.hypot(o.v);
        if h.value() == 0.0 {
            return Self::constant(h);
        }
        Self::chain2(self, o, h, self.v / h, o.v / h)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut d = self.d;
        for ((di, ai), bi) in d.iter_mut().zip(a.d).zip(b.d) {
            *di = di.mul_add(a.v, ai.mul_add(self.v, bi));
        }
        Self {
            v: self.v.mul_add(a.v, b.v),
            d,
        }
    }
    #[inline(always)]
    fn erf(self) -> Self {
        let g = (-(self.v * self.v)).exp() * deriv::FRAC_2_SQRT_PI;
        self.chain(self.v.erf(), g)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        let g = (-(self.v * self.v)).exp() * (-deriv::FRAC_2_SQRT_PI);
        self.chain(self.v.erfc(), g)
    }
    #[inline(always)]
    fn floor(self) -> Self {
        Self::constant(self.v.floor())
    }
    #[inline(always)]
    fn ceil(self) -> Self {
        Self::constant(self.v.ceil())
    }
    #[inline(always)]
    fn round(self) -> Self {
        Self::constant(self.v.round())
    }
    #[inline(always)]
    fn trunc(self) -> Self {
        Self::constant(self.v.trunc())
    }
    #[inline(always)]
    fn recip(self) -> Self {
        let r = self.v.recip();
        self.chain(r, -r * r)
    }

    fn apply_rule<R: Rule>(rule: &R, x: &[Self], y: &mut [Self]) -> Result<(), RuleError> {
        Self::apply_rule_with_state(rule, x, y).map(|_| ())
    }

    fn apply_rule_with_state<R: Rule>(
        rule: &R,
        x: &[Self],
        y: &mut [Self],
    ) -> Result<R::State, RuleError> {
        check_rule_shape(rule, x, y)?;
        let (n, m) = (x.len(), y.len());
        let xv: Vec<T> = x.iter().map(|xi| xi.v).collect();
        let mut yv = vec![T::zero(); m];
        let state = T::apply_rule_with_state(rule, &xv, &mut yv)?;
        // Directions laid out one after another: dx[j*n + i] = ∂x_i along direction j.
        let mut dx = vec![T::zero(); n * N];
        for (i, xi) in x.iter().enumerate() {
            for (j, dij) in xi.d.iter().enumerate() {
                dx[j * n + i] = *dij;
            }
        }
        let mut dy = vec![T::zero(); m * N];
        if N > 0 && !dx.iter().all(|t| t.is_all_zero()) {
            rule.jvp::<T>(&state, &xv, &yv, &dx, &mut dy)?;
        }
        for (i, yi) in y.iter_mut().enumerate() {
            yi.v = yv[i];
            for j in 0..N {
                yi.d[j] = dy[j * m + i];
            }
        }
        Ok(state)
    }
}

/// `wa·a + wb·b` on the partials with value `v` (min/max).
#[inline(always)]
fn weighted<const N: usize, T: Scalar>(
    a: Dual<N, T>,
    b: Dual<N, T>,
    v: T,
    wa: f64,
    wb: f64,
) -> Dual<N, T> {
    // Exact weights 1 and 0 copy one side, so a non-finite partial of the other cannot leak in.
    if wb == 0.0 {
        return Dual { v, d: a.d };
    }
    if wa == 0.0 {
        return Dual { v, d: b.d };
    }
    let mut d = a.d;
    for (di, bi) in d.iter_mut().zip(b.d) {
        *di = *di * wa + bi * wb;
    }
    Dual { v, d }
}
