//! Local derivatives of the tape's instructions: the one table of formulas that recording,
//! replay, tangent sweeps and second-order sweeps all use.

use super::Op;
use crate::scalar::{Scalar, deriv};

const LN_2: f64 = core::f64::consts::LN_2;
const LN_10: f64 = core::f64::consts::LN_10;

/// The value of instruction `op` at operand values `x` (operand `a`) and `y` (operand `b`, unused
/// by unary ops) with constant `c` (the pooled constant, or `n` for `PowI`), and its partials
/// `(∂/∂x, ∂/∂y)`.
///
/// Generic so that the same formulas give `f64` partials (recording, replay, the gradient sweep)
/// and dual-valued partials (whose derivatives are the second-order terms of
/// forward-over-reverse). Values are computed exactly as the `f64` scalar functions compute them,
/// so replayed values are bit-identical to plain evaluation. Conventions at non-differentiable
/// points are those of the [`scalar`](crate::scalar) module; an infinite partial (`sqrt`, `cbrt`
/// at 0) meets a zero adjoint or tangent only where the sweeps skip zeros.
#[inline(always)]
pub(crate) fn local<S: Scalar>(op: Op, x: S, y: S, c: f64) -> (S, S, S) {
    let z = S::zero();
    let one = S::one();
    match op {
        // Nullary: values are set elsewhere; no partials.
        Op::Input | Op::Const | Op::RuleOut | Op::Rule => (x, z, z),
        Op::AddC => (x + c, one, z),
        Op::CSub => (S::cst(c) - x, -one, z),
        Op::MulC => (x * c, S::cst(c), z),
        Op::DivC => (x / c, S::cst(c.recip()), z),
        Op::CDiv => {
            let v = S::cst(c) / x;
            (v, -v / x, z)
        }
        Op::Neg => (-x, -one, z),
        Op::Square => (x * x, x * 2.0, z),
        Op::Exp => {
            let v = x.exp();
            (v, v, z)
        }
        Op::Exp2 => {
            let v = x.exp2();
            (v, v * LN_2, z)
        }
        // d/dx (eˣ − 1) = eˣ directly: `exp_m1(x) + 1` loses the digits for x ≪ 0.
        Op::ExpM1 => (x.exp_m1(), x.exp(), z),
        Op::Ln => (x.ln(), x.recip(), z),
        Op::Ln1p => (x.ln_1p(), (x + 1.0).recip(), z),
        Op::Log2 => (x.log2(), (x * LN_2).recip(), z),
        Op::Log10 => (x.log10(), (x * LN_10).recip(), z),
        Op::Sqrt => {
            // |v|: sqrt(−0) = −0 and the derivative there is +∞ like at +0.
            let v = x.sqrt();
            (v, (v.abs() * 2.0).recip(), z)
        }
        Op::Cbrt => {
            let v = x.cbrt();
            (v, (v * v * 3.0).recip(), z)
        }
        Op::Recip => {
            let v = x.recip();
            (v, -(v * v), z)
        }
        Op::PowI => {
            let n = c as i32;
            let d = if n == 2 { x * 2.0 } else { x.powi(n - 1) * c };
            (x.powi(n), d, z)
        }
        Op::PowF => (x.powf(c), x.powf(c - 1.0) * c, z),
        Op::Sin => {
            let (s, co) = x.sin_cos();
            (s, co, z)
        }
        Op::Cos => {
            let (s, co) = x.sin_cos();
            (co, -s, z)
        }
        Op::Tan => {
            let v = x.tan();
            (v, v * v + 1.0, z)
        }
        Op::Asin => (x.asin(), (one - x * x).sqrt().recip(), z),
        Op::Acos => (x.acos(), -(one - x * x).sqrt().recip(), z),
        Op::Atan => (x.atan(), deriv::atan_slope(x), z),
        Op::Sinh => (x.sinh(), x.cosh(), z),
        Op::Cosh => (x.cosh(), x.sinh(), z),
        Op::Tanh => {
            let v = x.tanh();
            (v, deriv::tanh_slope(x, v), z)
        }
        Op::Asinh => (x.asinh(), deriv::asinh_slope(x), z),
        Op::Acosh => (x.acosh(), deriv::acosh_slope(x), z),
        Op::Atanh => (x.atanh(), (one - x * x).recip(), z),
        Op::Abs => (x.abs(), S::cst(deriv::abs_slope(x.value())), z),
        Op::Erf => (x.erf(), (-(x * x)).exp() * deriv::FRAC_2_SQRT_PI, z),
        Op::Erfc => (x.erfc(), (-(x * x)).exp() * (-deriv::FRAC_2_SQRT_PI), z),
        Op::Floor => (x.floor(), z, z),
        Op::Ceil => (x.ceil(), z, z),
        Op::Round => (x.round(), z, z),
        Op::Trunc => (x.trunc(), z, z),
        Op::Signum => (x.signum(), z, z),
        Op::Add => (x + y, one, one),
        Op::Sub => (x - y, one, -one),
        Op::Mul => (x * y, y, x),
        Op::Div => {
            let v = x / y;
            let inv = y.recip();
            (v, inv, -v * inv)
        }
        // a % b = a − b·trunc(a/b); trunc is piecewise constant.
        Op::Rem => (x % y, one, -(x / y).trunc()),
        Op::Pow => {
            // The ln x term is 0 at x = 0 (the limit for y > 0; see the scalar module).
            let v = x.pow(y);
            let dy = if x.value() == 0.0 { z } else { v * x.ln() };
            (v, y * x.pow(y - 1.0), dy)
        }
        Op::Atan2 => {
            let v = x.atan2(y);
            match deriv::atan2_partials(x, y) {
                Some((dy, dx)) => (v, dy, dx),
                None => (v, z, z),
            }
        }
        Op::Min => {
            let (wa, wb) = deriv::min_weights(x.value(), y.value());
            (x.min(y), S::cst(wa), S::cst(wb))
        }
        Op::Max => {
            let (wa, wb) = deriv::max_weights(x.value(), y.value());
            (x.max(y), S::cst(wa), S::cst(wb))
        }
        Op::Hypot => {
            let h = x.hypot(y);
            if h.value() == 0.0 {
                (h, z, z)
            } else {
                (h, x / h, y / h)
            }
        }
    }
}
