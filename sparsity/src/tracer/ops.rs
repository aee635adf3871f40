//! Arithmetic, elementary functions and rules on tracers.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use tangent_ad::{DependencyPattern, Rule, RuleError, Scalar};

use super::trace::Kind;
use super::{Tracer, TracerKind, TracerMode};

type T<K, M> = Tracer<K, M>;

macro_rules! binop {
    ($tr:ident, $m:ident, $op:tt, $kind:expr, $nla:expr, $nlb:expr) => {
        impl<K: TracerKind, M: TracerMode> $tr for T<K, M> {
            type Output = Self;
            #[inline(always)]
            fn $m(self, o: Self) -> Self {
                T::binary(self, o, |a, b| a $op b, $kind, $nla, $nlb)
            }
        }
    };
}
binop!(Add, add, +, Kind::Linear, false, false);
binop!(Sub, sub, -, Kind::Linear, false, false);
binop!(Mul, mul, *, Kind::Mul, false, false);
// a / c is linear in a; c / b is nonlinear in b.
binop!(Div, div, /, Kind::Div, false, true);
// a % b = a − b·trunc(a/b): linear almost everywhere in both.
binop!(Rem, rem, %, Kind::Linear, false, false);

macro_rules! constop {
    ($tr:ident, $m:ident, $op:tt, $linear:expr) => {
        impl<K: TracerKind, M: TracerMode> $tr<f64> for T<K, M> {
            type Output = Self;
            #[inline(always)]
            fn $m(self, c: f64) -> Self {
                self.unary(|a| a $op c, $linear)
            }
        }
    };
}
constop!(Add, add, +, true);
constop!(Sub, sub, -, true);
constop!(Mul, mul, *, true);
constop!(Div, div, /, true);
constop!(Rem, rem, %, true);

macro_rules! rconstop {
    ($tr:ident, $m:ident, $op:tt, $linear:expr) => {
        impl<K: TracerKind, M: TracerMode> $tr<T<K, M>> for f64 {
            type Output = T<K, M>;
            #[inline(always)]
            fn $m(self, x: T<K, M>) -> T<K, M> {
                let c = self;
                x.unary(|a| c $op a, $linear)
            }
        }
    };
}
rconstop!(Add, add, +, true);
rconstop!(Sub, sub, -, true);
rconstop!(Mul, mul, *, true);
rconstop!(Div, div, /, false);

macro_rules! assignop {
    ($tr:ident, $m:ident, $op:tt) => {
        impl<K: TracerKind, M: TracerMode> $tr for T<K, M> {
            #[inline(always)]
            fn $m(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
        impl<K: TracerKind, M: TracerMode> $tr<f64> for T<K, M> {
            #[inline(always)]
            fn $m(&mut self, o: f64) {
                *self = *self $op o;
            }
        }
    };
}
assignop!(AddAssign, add_assign, +);
assignop!(SubAssign, sub_assign, -);
assignop!(MulAssign, mul_assign, *);
assignop!(DivAssign, div_assign, /);

impl<K: TracerKind, M: TracerMode> Neg for T<K, M> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.unary(|a| -a, true)
    }
}

impl<K: TracerKind, M: TracerMode> Sum for T<K, M> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::constant(0.0), |s, x| s + x)
    }
}
impl<K: TracerKind, M: TracerMode> Product for T<K, M> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::constant(1.0), |s, x| s * x)
    }
}

macro_rules! nonlinear {
    ($($(#[$doc:meta])* $m:ident => $f:expr;)*) => {
        $(
            #[inline(always)]
            fn $m(self) -> Self {
                self.unary($f, false)
            }
        )*
    };
}

impl<K: TracerKind, M: TracerMode> T<K, M> {
    /// `min`/`max`: in local mode the chosen argument (both on a tie), in global mode both.
    #[inline]
    fn select(self, o: Self, take_self: impl Fn(f64, f64) -> Option<bool> + Copy) -> Self {
        let pick = |a: f64, b: f64| match take_self(a, b) {
            Some(true) => a,
            Some(false) => b,
            None => a, // tie: equal values
        };
        if M::LOCAL || (self.is_const() && o.is_const()) {
            match (self.known() && o.known()).then(|| take_self(self.value, o.value)) {
                Some(Some(true)) => return self,
                Some(Some(false)) => return o,
                _ => {}
            }
        }
        T::binary(self, o, pick, Kind::Linear, false, false)
    }
}

impl<K: TracerKind, M: TracerMode> Scalar for T<K, M> {
    #[inline]
    fn value(&self) -> f64 {
        if self.known() {
            self.value
        } else {
            Self::flag_value_dependence("value()");
            f64::NAN
        }
    }
    #[inline(always)]
    fn cst(v: f64) -> Self {
        Self::constant(v)
    }
    #[inline]
    fn is_all_zero(&self) -> bool {
        if self.known() {
            self.is_const() && self.value == 0.0
        } else if self.is_const() {
            Self::flag_value_dependence("is_all_zero()");
            false
        } else {
            false // depends on an input: its derivative part is structurally nonzero
        }
    }
    #[inline]
    fn is_finite(&self) -> bool {
        !self.known() || self.value.is_finite()
    }
    #[inline]
    fn is_nan(&self) -> bool {
        self.known() && self.value.is_nan()
    }

    nonlinear! {
        exp => f64::exp;
        exp2 => f64::exp2;
        exp_m1 => f64::exp_m1;
        ln => f64::ln;
        ln_1p => f64::ln_1p;
        log2 => f64::log2;
        log10 => f64::log10;
        sqrt => f64::sqrt;
        cbrt => f64::cbrt;
        sin => f64::sin;
        cos => f64::cos;
        tan => f64::tan;
        asin => f64::asin;
        acos => f64::acos;
        atan => f64::atan;
        sinh => f64::sinh;
        cosh => f64::cosh;
        tanh => f64::tanh;
        asinh => f64::asinh;
        acosh => f64::acosh;
        atanh => f64::atanh;
        erf => <f64 as Scalar>::erf;
        erfc => <f64 as Scalar>::erfc;
        recip => f64::recip;
    }

    #[inline(always)]
    fn sqr(self) -> Self {
        self.unary(|a| a * a, false)
    }

    #[inline]
    fn powi(self, n: i32) -> Self {
        match n {
            0 => self.piecewise_constant(|a| a.powi(0)),
            1 => self.unary(|a| a, true),
            _ => self.unary(|a| a.powi(n), false),
        }
    }
    #[inline]
    fn powf(self, c: f64) -> Self {
        if c == 0.0 {
            self.piecewise_constant(|a| a.powf(0.0))
        } else if c == 1.0 {
            self.unary(|a| a.powf(1.0), true)
        } else {
            self.unary(|a| a.powf(c), false)
        }
    }
    #[inline]
    fn pow(self, y: Self) -> Self {
        T::binary(self, y, f64::powf, Kind::Full, true, true)
    }
    #[inline]
    fn atan2(self, x: Self) -> Self {
        T::binary(self, x, f64::atan2, Kind::Full, true, true)
    }
    #[inline]
    fn hypot(self, o: Self) -> Self {
        T::binary(self, o, f64::hypot, Kind::Full, true, true)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // Linear on either side of 0: no second-order interaction.
        self.unary(f64::abs, true)
    }
    #[inline]
    fn signum(self) -> Self {
        self.piecewise_constant(<f64 as Scalar>::signum)
    }
    #[inline]
    fn floor(self) -> Self {
        self.piecewise_constant(f64::floor)
    }
    #[inline]
    fn ceil(self) -> Self {
        self.piecewise_constant(f64::ceil)
    }
    #[inline]
    fn round(self) -> Self {
        self.piecewise_constant(f64::round)
    }
    #[inline]
    fn trunc(self) -> Self {
        self.piecewise_constant(f64::trunc)
    }
    #[inline]
    fn min(self, o: Self) -> Self {
        self.select(o, |a, b| {
            if a < b {
                Some(true)
            } else if b < a {
                Some(false)
            } else {
                None
            }
        })
    }
    #[inline]
    fn max(self, o: Self) -> Self {
        self.select(o, |a, b| {
            if a > b {
                Some(true)
            } else if b > a {
                Some(false)
            } else {
                None
            }
        })
    }
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut r = self * a + b;
        if self.known() && a.known() && b.known() {
            // The value as `f64` computes it (fused), so local-mode branches match.
            r.value = self.value.mul_add(a.value, b.value);
        }
        r
    }

    fn apply_rule<R: Rule>(rule: &R, x: &[Self], y: &mut [Self]) -> Result<(), RuleError> {
        apply(rule, x, y, false).map(|_| ())
    }

    fn apply_rule_with_state<R: Rule>(
        rule: &R,
        x: &[Self],
        y: &mut [Self],
    ) -> Result<R::State, RuleError> {
        match apply(rule, x, y, true)? {
            Some(state) => Ok(state),
            None => Err(RuleError::Unsupported(
                "the state of a rule applied to global sparsity tracers (they carry no values); use local detection",
            )),
        }
    }
}

/// Records a rule on tracers: runs the primal when the input values are known (local mode, or
/// constant inputs) and gives each output the dependencies the rule declares. Returns the
/// primal's state when it ran.
fn apply<R: Rule, K: TracerKind, M: TracerMode>(
    rule: &R,
    x: &[T<K, M>],
    y: &mut [T<K, M>],
    want_state: bool,
) -> Result<Option<R::State>, RuleError> {
    let (n, m) = (rule.n_inputs(), rule.n_outputs());
    if x.len() != n {
        return Err(RuleError::DimensionMismatch {
            what: "rule inputs",
            expected: n,
            found: x.len(),
        });
    }
    if y.len() != m {
        return Err(RuleError::DimensionMismatch {
            what: "rule outputs",
            expected: m,
            found: y.len(),
        });
    }
    let known = x.iter().all(|xi| xi.known());
    let all_const = x.iter().all(|xi| xi.is_const());
    let mut values = vec![f64::NAN; m];
    let mut state = None;
    if known {
        let xv: Vec<f64> = x.iter().map(|xi| xi.value).collect();
        state = Some(rule.primal(&xv, &mut values)?);
    } else if want_state {
        return Ok(None);
    }
    if all_const {
        for (o, &v) in y.iter_mut().zip(&values) {
            *o = if known { T::constant(v) } else { T::opaque() };
        }
        return Ok(state);
    }
    // Union of a set of inputs as one id (a chain of linear nodes), then, for the Hessian
    // tracer, one nonlinear node on it: every pair of those inputs interacts.
    let output_of = |inputs: &mut dyn Iterator<Item = T<K, M>>, v: f64| -> T<K, M> {
        let mut acc = T::<K, M>::constant(0.0);
        for xi in inputs {
            acc += xi;
        }
        if acc.is_const() {
            return if known { T::constant(v) } else { T::opaque() };
        }
        acc.unary(|_| v, false)
    };
    match rule.dependencies() {
        DependencyPattern::PerOutput(deps) => {
            if deps.len() != m {
                return Err(RuleError::DimensionMismatch {
                    what: "rule dependency pattern (one list per output)",
                    expected: m,
                    found: deps.len(),
                });
            }
            if let Some(&bad) = deps.iter().flatten().find(|&&j| j >= n) {
                return Err(RuleError::DimensionMismatch {
                    what: "rule dependency pattern (input index out of range)",
                    expected: n,
                    found: bad,
                });
            }
            for ((o, d), &v) in y.iter_mut().zip(&deps).zip(&values) {
                *o = output_of(&mut d.iter().map(|&j| x[j]), v);
            }
        }
        _ => {
            // Dense: one shared node for all outputs.
            let shared = output_of(&mut x.iter().copied(), f64::NAN);
            for (o, &v) in y.iter_mut().zip(&values) {
                *o = T::with_id(v, shared.id, shared.generation);
            }
        }
    }
    Ok(state)
}
