//! Arithmetic and elementary functions on [`Var`]: each records one tape entry.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

use super::local::local;
use super::var::Var;
use super::{Op, TapeData, active, record_rule};
use crate::rule::{Rule, RuleError};
use crate::scalar::Scalar;

/// Records a unary entry `op(x)` with constant `c` (the `c` of `x + c`, `x^c`, …, `n` of
/// `powi`; kept in the entry's unused partial slot), computing its value and partial from the
/// one table of formulas.
///
/// The fast path is one test: constants and orphans have generation 0, which no recording has,
/// so `x.generation == t.generation` says at once that `x` is a variable of the active tape.
#[inline(always)]
fn unary(x: Var, op: Op, c: f64) -> Var {
    let (v, pa, _) = local::<f64>(op, x.value, 0.0, c);
    if let Some(t) = active()
        && x.generation == t.generation
    {
        return t.push_unary(op, x.index, v, pa, c);
    }
    if x.is_const() {
        return Var::constant(v);
    }
    let Some(t) = active() else {
        return Var::orphan(v);
    };
    if x.generation != t.generation {
        return t.foreign(x, v);
    }
    t.push_unary(op, x.index, v, pa, c)
}

/// The active tape if both `a` and `b` are variables of its recording (see [`unary`]).
#[inline(always)]
fn recording_both<'a>(a: Var, b: Var) -> Option<&'a mut TapeData> {
    let t = active()?;
    (a.generation == t.generation && b.generation == t.generation).then_some(t)
}

/// Records a binary entry `op(a, b)` of two variables of the active recording, or falls back
/// to [`binary`].
#[inline(always)]
fn binary_fast(a: Var, b: Var, op: Op) -> Var {
    match recording_both(a, b) {
        Some(t) => {
            let (v, pa, pb) = local::<f64>(op, a.value, b.value, 0.0);
            t.push(op, a.index, b.index, v, pa, pb)
        }
        None => binary(a, b, op),
    }
}

/// Records a binary entry `op(a, b)`; a constant operand is materialised as a `Const` entry.
#[inline(always)]
fn binary(a: Var, b: Var, op: Op) -> Var {
    let (v, pa, pb) = local::<f64>(op, a.value, b.value, 0.0);
    if a.is_const() && b.is_const() {
        return Var::constant(v);
    }
    let Some(t) = active() else {
        return Var::orphan(v);
    };
    if !a.is_const() && !b.is_const() {
        // The common case: two variables of this recording.
        if a.generation != t.generation {
            return t.foreign(a, v);
        }
        if b.generation != t.generation {
            return t.foreign(b, v);
        }
        return t.push(op, a.index, b.index, v, pa, pb);
    }
    match (t.operand(a), t.operand(b)) {
        (Some(ia), Some(ib)) => t.push(op, ia, ib, v, pa, pb),
        _ => Var::orphan(v),
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
        if recording_both(self, o).is_some() {
            return binary_fast(self, o, Op::Add);
        }
        match (self.is_const(), o.is_const()) {
            (false, false) => binary(self, o, Op::Add),
            (false, true) => unary(self, Op::AddC, o.value),
            (true, _) => unary(o, Op::AddC, self.value),
        }
    }
}
impl Sub for Var {
    type Output = Var;
    #[inline(always)]
    fn sub(self, o: Var) -> Var {
        if recording_both(self, o).is_some() {
            return binary_fast(self, o, Op::Sub);
        }
        match (self.is_const(), o.is_const()) {
            (false, false) => binary(self, o, Op::Sub),
            // a − c = a + (−c) exactly in IEEE arithmetic.
            (false, true) => unary(self, Op::AddC, -o.value),
            (true, _) => unary(o, Op::CSub, self.value),
        }
    }
}
impl Mul for Var {
    type Output = Var;
    #[inline(always)]
    fn mul(self, o: Var) -> Var {
        if let Some(t) = recording_both(self, o) {
            // `x * x`: one operand (the same variable twice, bit for bit the same value).
            if self.index == o.index {
                let (v, pa, _) = local::<f64>(Op::Square, self.value, 0.0, 0.0);
                return t.push_unary(Op::Square, self.index, v, pa, 0.0);
            }
            let (v, pa, pb) = local::<f64>(Op::Mul, self.value, o.value, 0.0);
            return t.push(Op::Mul, self.index, o.index, v, pa, pb);
        }
        match (self.is_const(), o.is_const()) {
            // `x * x`: one operand (the same variable twice, bit for bit the same value).
            (false, false) if self.index == o.index && self.generation == o.generation => {
                unary(self, Op::Square, 0.0)
            }
            (false, false) => binary(self, o, Op::Mul),
            (false, true) => unary(self, Op::MulC, o.value),
            (true, _) => unary(o, Op::MulC, self.value),
        }
    }
}
impl Div for Var {
    type Output = Var;
    #[inline(always)]
    fn div(self, o: Var) -> Var {
        if recording_both(self, o).is_some() {
            return binary_fast(self, o, Op::Div);
        }
        match (self.is_const(), o.is_const()) {
            (false, false) => binary(self, o, Op::Div),
            (false, true) => unary(self, Op::DivC, o.value),
            (true, _) => unary(o, Op::CDiv, self.value),
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
