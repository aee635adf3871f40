//! Arithmetic and elementary functions on [`Var`]: each records one tape entry.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use super::cursor::{self, index, push, push_unary};
use super::local::local;
use super::var::Var;
use super::{Op, record_rule};
use crate::rule::{Rule, RuleError};
use crate::scalar::Scalar;

/// Records a unary entry `op(x)` with constant `c` (the `c` of `x + c`, `x^c`, …, `n` of
/// `powi`; kept in the entry's unused partial slot), computing its value and partial from the
/// one table of formulas.
///
/// The fast path is one range test on the variable's tag (see [`cursor::index`]): it fails
/// for constants, orphans, variables of other recordings and when no tape records, which the
/// out-of-line [`unary_other`] then tells apart.
#[inline(always)]
fn unary(x: Var, op: Op, c: f64) -> Var {
    let (v, pa, _) = local::<f64>(op, x.value, 0.0, c);
    match index(x) {
        Some(i) => push_unary(op, i, v, pa, c),
        None => unary_other(x, v),
    }
}

/// The result `v` of a unary operation on `x` when `x` is not a variable of the active
/// recording: a constant for a constant, otherwise an orphan (and the recording, if any,
/// poisoned).
#[inline(never)]
fn unary_other(x: Var, v: f64) -> Var {
    if x.is_const() {
        return Var::constant(v);
    }
    cursor::poison(x);
    Var::orphan(v)
}

/// The entry indices of `a` and `b` if both are variables of the recording on this thread.
#[inline(always)]
fn recording_both(a: Var, b: Var) -> Option<(u32, u32)> {
    Some((index(a)?, index(b)?))
}

/// Records a binary entry `op(a, b)` of two variables of the active recording, or falls back
/// to [`binary_other`].
#[inline(always)]
fn binary_fast(a: Var, b: Var, op: Op) -> Var {
    match recording_both(a, b) {
        Some((ia, ib)) => {
            let (v, pa, pb) = local::<f64>(op, a.value, b.value, 0.0);
            push(op, ia, ib, v, pa, pb)
        }
        None => binary_other(a, b, op),
    }
}

/// A binary operation `op(a, b)` where `a` and `b` are not both variables of the active
/// recording: folded when both are constants; a constant operand of `+ − × ÷` becomes a unary
/// entry with the constant inline, of the other operations a `Const` entry; a variable of
/// another recording (or of none) poisons the recording and gives an orphan.
#[inline(never)]
fn binary_other(a: Var, b: Var, op: Op) -> Var {
    match (op, a.is_const(), b.is_const()) {
        (_, true, true) => Var::constant(local::<f64>(op, a.value, b.value, 0.0).0),
        (Op::Add, false, true) => unary(a, Op::AddC, b.value),
        (Op::Add, true, false) => unary(b, Op::AddC, a.value),
        // a − c = a + (−c) exactly in IEEE arithmetic.
        (Op::Sub, false, true) => unary(a, Op::AddC, -b.value),
        (Op::Sub, true, false) => unary(b, Op::CSub, a.value),
        (Op::Mul, false, true) => unary(a, Op::MulC, b.value),
        (Op::Mul, true, false) => unary(b, Op::MulC, a.value),
        (Op::Div, false, true) => unary(a, Op::DivC, b.value),
        (Op::Div, true, false) => unary(b, Op::CDiv, a.value),
        _ => {
            let (v, pa, pb) = local::<f64>(op, a.value, b.value, 0.0);
            match (cursor::operand(a), cursor::operand(b)) {
                (Some(ia), Some(ib)) => push(op, ia, ib, v, pa, pb),
                _ => Var::orphan(v),
            }
        }
    }
}

impl Neg for Var {
    type Output = Var;
    #[inline(always)]
    fn neg(self) -> Var {
        unary(self, Op::Neg, 0.0)
    }
}

impl Add for Var {
    type Output = Var;
    #[inline(always)]
    fn add(self, o: Var) -> Var {
        if let Some((ia, ib)) = recording_both(self, o) {
            let (v, pa, pb) = local::<f64>(Op::Add, self.value, o.value, 0.0);
            return push(Op::Add, ia, ib, v, pa, pb);
        }
        // A constant operand is kept inline in a unary entry.
        match (self.is_const(), o.is_const()) {
            (false, true) => unary(self, Op::AddC, o.value),
            (true, false) => unary(o, Op::AddC, self.value),
            _ => binary_other(self, o, Op::Add),
        }
    }
}
impl Sub for Var {
    type Output = Var;
    #[inline(always)]
    fn sub(self, o: Var) -> Var {
        if let Some((ia, ib)) = recording_both(self, o) {
            let (v, pa, pb) = local::<f64>(Op::Sub, self.value, o.value, 0.0);
            return push(Op::Sub, ia, ib, v, pa, pb);
        }
        // A constant operand is kept inline in a unary entry.
        match (self.is_const(), o.is_const()) {
            // a − c = a + (−c) exactly in IEEE arithmetic.
            (false, true) => unary(self, Op::AddC, -o.value),
            (true, false) => unary(o, Op::CSub, self.value),
            _ => binary_other(self, o, Op::Sub),
        }
    }
}
impl Mul for Var {
    type Output = Var;
    #[inline(always)]
    fn mul(self, o: Var) -> Var {
        match recording_both(self, o) {
            // `x * x`: one operand (the same variable twice, bit for bit the same value).
            Some((ia, ib)) if ia == ib => {
                let (v, pa, _) = local::<f64>(Op::Square, self.value, 0.0, 0.0);
                push_unary(Op::Square, ia, v, pa, 0.0)
            }
            Some((ia, ib)) => {
                let (v, pa, pb) = local::<f64>(Op::Mul, self.value, o.value, 0.0);
                push(Op::Mul, ia, ib, v, pa, pb)
            }
            None => match (self.is_const(), o.is_const()) {
                (false, true) => unary(self, Op::MulC, o.value),
                (true, false) => unary(o, Op::MulC, self.value),
                _ => binary_other(self, o, Op::Mul),
            },
        }
    }
}
impl Div for Var {
    type Output = Var;
    #[inline(always)]
    fn div(self, o: Var) -> Var {
        if let Some((ia, ib)) = recording_both(self, o) {
            let (v, pa, pb) = local::<f64>(Op::Div, self.value, o.value, 0.0);
            return push(Op::Div, ia, ib, v, pa, pb);
        }
        // A constant operand is kept inline in a unary entry.
        match (self.is_const(), o.is_const()) {
            (false, true) => unary(self, Op::DivC, o.value),
            (true, false) => unary(o, Op::CDiv, self.value),
            _ => binary_other(self, o, Op::Div),
        }
    }
}
impl Rem for Var {
    type Output = Var;
    #[inline(always)]
    fn rem(self, o: Var) -> Var {
        binary_fast(self, o, Op::Rem)
    }
}

impl Add<f64> for Var {
    type Output = Var;
    #[inline(always)]
    fn add(self, c: f64) -> Var {
        unary(self, Op::AddC, c)
    }
}
impl Sub<f64> for Var {
    type Output = Var;
    #[inline(always)]
    fn sub(self, c: f64) -> Var {
        unary(self, Op::AddC, -c)
    }
}
impl Mul<f64> for Var {
    type Output = Var;
    #[inline(always)]
    fn mul(self, c: f64) -> Var {
        unary(self, Op::MulC, c)
    }
}
impl Div<f64> for Var {
    type Output = Var;
    #[inline(always)]
    fn div(self, c: f64) -> Var {
        unary(self, Op::DivC, c)
    }
}
impl Add<Var> for f64 {
    type Output = Var;
    #[inline(always)]
    fn add(self, x: Var) -> Var {
        unary(x, Op::AddC, self)
    }
}
impl Sub<Var> for f64 {
    type Output = Var;
    #[inline(always)]
    fn sub(self, x: Var) -> Var {
        unary(x, Op::CSub, self)
    }
}
impl Mul<Var> for f64 {
    type Output = Var;
    #[inline(always)]
    fn mul(self, x: Var) -> Var {
        unary(x, Op::MulC, self)
    }
}
impl Div<Var> for f64 {
    type Output = Var;
    #[inline(always)]
    fn div(self, x: Var) -> Var {
        unary(x, Op::CDiv, self)
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl $tr for Var {
            #[inline(always)]
            fn $m(&mut self, o: Var) { *self = *self $op o; }
        }
        impl $tr<f64> for Var {
            #[inline(always)]
            fn $m(&mut self, o: f64) { *self = *self $op o; }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl Sum for Var {
    fn sum<I: Iterator<Item = Var>>(iter: I) -> Var {
        iter.fold(Var::constant(0.0), |a, b| a + b)
    }
}
impl Product for Var {
    fn product<I: Iterator<Item = Var>>(iter: I) -> Var {
        iter.fold(Var::constant(1.0), |a, b| a * b)
    }
}

macro_rules! unary_fns {
    ($($name:ident => $op:ident),* $(,)?) => {$(
        #[inline(always)]
        fn $name(self) -> Var {
            unary(self, Op::$op, 0.0)
        }
    )*};
}

impl Scalar for Var {
    #[inline(always)]
    fn value(&self) -> f64 {
        self.value
    }
    #[inline(always)]
    fn cst(v: f64) -> Self {
        Var::constant(v)
    }
    #[inline(always)]
    fn is_all_zero(&self) -> bool {
        self.value == 0.0 && self.is_const()
    }
    #[inline(always)]
    fn is_finite(&self) -> bool {
        self.value.is_finite()
    }

    unary_fns! {
        exp => Exp, exp2 => Exp2, exp_m1 => ExpM1, ln => Ln, ln_1p => Ln1p, log2 => Log2,
        log10 => Log10, sqrt => Sqrt, cbrt => Cbrt, sin => Sin, cos => Cos, tan => Tan,
        asin => Asin, acos => Acos, atan => Atan, sinh => Sinh, cosh => Cosh, tanh => Tanh,
        asinh => Asinh, acosh => Acosh, atanh => Atanh, abs => Abs, erf => Erf, erfc => Erfc,
        recip => Recip,
    }

    #[inline(always)]
    fn powi(self, n: i32) -> Var {
        match n {
            0 => Var::constant(1.0),
            1 => self,
            // `powi(2)` is `x * x` in IEEE arithmetic (binary powering's one product).
            2 => unary(self, Op::Square, 0.0),
            _ => unary(self, Op::PowI, f64::from(n)),
        }
    }
    #[inline(always)]
    fn powf(self, c: f64) -> Var {
        if c == 0.0 {
            return Var::constant(1.0);
        }
        unary(self, Op::PowF, c)
    }
    #[inline(always)]
    fn pow(self, y: Var) -> Var {
        if y.is_const() {
            return self.powf(y.value);
        }
        binary_fast(self, y, Op::Pow)
    }
    #[inline(always)]
    fn atan2(self, x: Var) -> Var {
        binary_fast(self, x, Op::Atan2)
    }
    #[inline(always)]
    fn signum(self) -> Var {
        unary(self, Op::Signum, 0.0)
    }
    // Piecewise constant: derivative 0, but recorded (not folded to constants) so that a replayed
    // tape recomputes them at the new inputs.
    #[inline(always)]
    fn floor(self) -> Var {
        unary(self, Op::Floor, 0.0)
    }
    #[inline(always)]
    fn ceil(self) -> Var {
        unary(self, Op::Ceil, 0.0)
    }
    #[inline(always)]
    fn round(self) -> Var {
        unary(self, Op::Round, 0.0)
    }
    #[inline(always)]
    fn trunc(self) -> Var {
        unary(self, Op::Trunc, 0.0)
    }
    #[inline(always)]
    fn min(self, o: Var) -> Var {
        binary_fast(self, o, Op::Min)
    }
    #[inline(always)]
    fn max(self, o: Var) -> Var {
        binary_fast(self, o, Op::Max)
    }
    #[inline(always)]
    fn hypot(self, o: Var) -> Var {
        binary_fast(self, o, Op::Hypot)
    }
    #[inline(always)]
    fn mul_add(self, a: Var, b: Var) -> Var {
        self * a + b
    }

    fn apply_rule<R: Rule>(rule: &R, x: &[Self], y: &mut [Self]) -> Result<(), RuleError> {
        record_rule(rule, x, y)
    }

    fn apply_rule_with_state<R: Rule>(
        _rule: &R,
        _x: &[Self],
        _y: &mut [Self],
    ) -> Result<R::State, RuleError> {
        Err(RuleError::Unsupported(
            "returning the primal state from a tape variable (a dual number over `Var`); \
             use forward over reverse through the tape instead",
        ))
    }
}
