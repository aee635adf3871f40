//! The forward and reverse sweeps over a recorded instruction list, generic over the value type.
//!
//! With `T = f64` the forward sweep is replay and the reverse sweep the gradient. With
//! `T = Dual<K>` the forward sweep propagates `K` tangents and the reverse sweep, run on those
//! values, is forward-over-reverse: its adjoints' partials are Hessian-vector products.

use super::{Inst, Node, Op, TapeData, TapeError};
use crate::dual::Dual;
use crate::rule::RuleError;
use crate::scalar::{Scalar, deriv};

const LN_2: f64 = core::f64::consts::LN_2;
const LN_10: f64 = core::f64::consts::LN_10;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl<const K: usize> Sealed for crate::dual::Dual<K, f64> {}
}

/// The value types the tape's sweeps run on: `f64` (replay, gradients) and `Dual<K>` (tangent
/// sweeps, forward over reverse). Sealed.
pub trait TapeScalar: Scalar + sealed::Sealed {
    /// Number of tangent directions carried.
    const TANGENTS: usize;
    /// Tangent `k < TANGENTS`.
    fn tangent(&self, k: usize) -> f64;
    /// Builds a value from its primal and its tangents (`tangents.len() == TANGENTS`).
    fn from_parts(v: f64, tangents: impl Fn(usize) -> f64) -> Self;
}

impl TapeScalar for f64 {
    const TANGENTS: usize = 0;
    #[inline(always)]
    fn tangent(&self, _k: usize) -> f64 {
        0.0
    }
    #[inline(always)]
    fn from_parts(v: f64, _tangents: impl Fn(usize) -> f64) -> Self {
        v
    }
}

impl<const K: usize> TapeScalar for Dual<K, f64> {
    const TANGENTS: usize = K;
    #[inline(always)]
    fn tangent(&self, k: usize) -> f64 {
        self.d[k]
    }
    #[inline(always)]
    fn from_parts(v: f64, tangents: impl Fn(usize) -> f64) -> Self {
        Dual::new(v, core::array::from_fn(tangents))
    }
}

/// Reusable buffers for rule nodes.
#[derive(Default)]
pub(crate) struct Scratch {
    x: Vec<f64>,
    y: Vec<f64>,
    dx: Vec<f64>,
    dy: Vec<f64>,
    xd: Vec<Dual<1>>,
    yd: Vec<Dual<1>>,
    ybd: Vec<Dual<1>>,
    xbd: Vec<Dual<1>>,
}

/// A slice indexed without bounds checks inside the sweeps.
///
/// Invariant (established when the tape is recorded, checked by `debug_assert`): every operand
/// index of entry `i` is `< i`, every constant index is `< consts.len()`, and the value and
/// adjoint buffers have one element per entry. The sweeps only index with those numbers.
struct Unchecked<'a, T>(&'a [T]);
struct UncheckedMut<'a, T>(&'a mut [T]);

impl<T> core::ops::Index<usize> for Unchecked<'_, T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, i: usize) -> &T {
        debug_assert!(i < self.0.len());
        // SAFETY: see the type's invariant.
        unsafe { self.0.get_unchecked(i) }
    }
}
impl<T> core::ops::Index<usize> for UncheckedMut<'_, T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, i: usize) -> &T {
        debug_assert!(i < self.0.len());
        // SAFETY: see `Unchecked`.
        unsafe { self.0.get_unchecked(i) }
    }
}
impl<T> core::ops::IndexMut<usize> for UncheckedMut<'_, T> {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut T {
        debug_assert!(i < self.0.len());
        // SAFETY: see `Unchecked`.
        unsafe { self.0.get_unchecked_mut(i) }
    }
}

fn node_inputs<'a>(node_inputs: &'a [u32], node: &Node) -> &'a [u32] {
    let s = node.inputs_start as usize;
    &node_inputs[s..s + node.n_inputs as usize]
}

fn rule_err(entry: usize) -> impl FnOnce(RuleError) -> TapeError {
    move |source| TapeError::Rule { entry, source }
}

/// Evaluates one non-rule instruction from its operands' values.
#[inline(always)]
fn eval<T: Scalar>(inst: Inst, i: usize, vals: &[T], consts: &[f64]) -> T {
    let (a, b) = (inst.a as usize, inst.b as usize);
    let (vals, consts) = (Unchecked(vals), Unchecked(consts));
    match inst.op {
        Op::Const => T::cst(consts[b]),
        Op::Add => vals[a] + vals[b],
        Op::Sub => vals[a] - vals[b],
        Op::Mul => vals[a] * vals[b],
        Op::Div => vals[a] / vals[b],
        Op::Rem => vals[a] % vals[b],
        Op::AddC => vals[a] + consts[b],
        Op::CSub => T::cst(consts[b]) - vals[a],
        Op::MulC => vals[a] * consts[b],
        Op::DivC => vals[a] / consts[b],
        Op::CDiv => T::cst(consts[b]) / vals[a],
        Op::Neg => -vals[a],
        Op::Exp => vals[a].exp(),
        Op::Exp2 => vals[a].exp2(),
        Op::ExpM1 => vals[a].exp_m1(),
        Op::Ln => vals[a].ln(),
        Op::Ln1p => vals[a].ln_1p(),
        Op::Log2 => vals[a].log2(),
        Op::Log10 => vals[a].log10(),
        Op::Sqrt => vals[a].sqrt(),
        Op::Cbrt => vals[a].cbrt(),
        Op::Recip => vals[a].recip(),
        Op::PowI => vals[a].powi(inst.b as i32),
        Op::PowF => vals[a].powf(consts[b]),
        Op::Pow => vals[a].pow(vals[b]),
        Op::Sin => vals[a].sin(),
        Op::Cos => vals[a].cos(),
        Op::Tan => vals[a].tan(),
        Op::Asin => vals[a].asin(),
        Op::Acos => vals[a].acos(),
        Op::Atan => vals[a].atan(),
        Op::Atan2 => vals[a].atan2(vals[b]),
        Op::Sinh => vals[a].sinh(),
        Op::Cosh => vals[a].cosh(),
        Op::Tanh => vals[a].tanh(),
        Op::Asinh => vals[a].asinh(),
        Op::Acosh => vals[a].acosh(),
        Op::Atanh => vals[a].atanh(),
        Op::Abs => vals[a].abs(),
        Op::Min => vals[a].min(vals[b]),
        Op::Max => vals[a].max(vals[b]),
        Op::Hypot => vals[a].hypot(vals[b]),
        Op::Erf => vals[a].erf(),
        Op::Erfc => vals[a].erfc(),
        Op::Floor => vals[a].floor(),
        Op::Ceil => vals[a].ceil(),
        Op::Round => vals[a].round(),
        Op::Trunc => vals[a].trunc(),
        Op::Signum => vals[a].signum(),
        // Values set elsewhere (inputs by the caller, rule outputs by their node): unchanged.
        Op::Input | Op::RuleOut | Op::Rule => vals[i],
    }
}

/// Re-evaluates the tape in place at the input values already written into `d.vals`.
pub(crate) fn replay_f64(d: &mut TapeData, s: &mut Scratch) -> Result<(), TapeError> {
    let TapeData {
        ops,
        vals,
        consts,
        nodes,
        node_inputs: ni,
        ..
    } = d;
    for i in 0..ops.len() {
        let inst = ops[i];
        match inst.op {
            Op::Rule => {
                let node = &mut nodes[inst.a as usize];
                s.x.clear();
                s.x.extend(node_inputs(ni, node).iter().map(|&j| vals[j as usize]));
                let (o, m) = (node.first_out as usize, node.n_outputs as usize);
                node.rule
                    .replay(&s.x, &mut vals[o..o + m])
                    .map_err(rule_err(i))?;
            }
            _ => vals[i] = eval(inst, i, vals, consts),
        }
    }
    Ok(())
}

/// Sets `vals` to the tape's values with tangent `v` on the inputs.
pub(crate) fn tangent_seed(d: &TapeData, v: &[f64], vals: &mut Vec<Dual<1>>) {
    vals.clear();
    vals.extend(d.vals.iter().map(|&x| Dual::constant(x)));
    for (&i, &vi) in d.inputs.iter().zip(v) {
        vals[i as usize].d[0] = vi;
    }
}

/// Tangent sweep: re-evaluates the tape on `T` values (inputs already seeded in `vals`); rule
/// nodes apply their jvp at the recorded state.
pub(crate) fn forward<T: TapeScalar>(
    d: &TapeData,
    vals: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    for i in 0..d.ops.len() {
        let inst = d.ops[i];
        match inst.op {
            Op::Rule => {
                let node = &d.nodes[inst.a as usize];
                let inputs = node_inputs(&d.node_inputs, node);
                let (o, m, n, k) = (
                    node.first_out as usize,
                    node.n_outputs as usize,
                    inputs.len(),
                    T::TANGENTS,
                );
                s.x.clear();
                s.x.extend(inputs.iter().map(|&j| d.vals[j as usize]));
                s.dx.clear();
                for t in 0..k {
                    s.dx.extend(inputs.iter().map(|&j| vals[j as usize].tangent(t)));
                }
                s.dy.clear();
                s.dy.resize(m * k, 0.0);
                if k > 0 {
                    node.rule
                        .jvp(&s.x, &d.vals[o..o + m], &s.dx, &mut s.dy)
                        .map_err(rule_err(i))?;
                }
                debug_assert_eq!(n * k, s.dx.len());
                for r in 0..m {
                    let dy = &s.dy;
                    vals[o + r] = T::from_parts(d.vals[o + r], |t| dy[t * m + r]);
                }
            }
            _ => vals[i] = eval(inst, i, vals, &d.consts),
        }
    }
    Ok(())
}

/// Reverse sweep: accumulates `adj` (seeded at the outputs) back to every entry.
pub(crate) fn reverse<T: TapeScalar>(
    d: &TapeData,
    vals: &[T],
    adj: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let n = d.ops.len();
    assert!(
        vals.len() == n && adj.len() == n,
        "sweep buffers sized to the tape"
    );
    let consts = Unchecked(&d.consts[..]);
    let ops = Unchecked(&d.ops[..]);
    for i in (0..n).rev() {
        let inst = ops[i];
        if inst.op == Op::Rule {
            reverse_rule(d, i, vals, adj, s)?;
            continue;
        }
        let (vals, mut adj) = (Unchecked(vals), UncheckedMut(&mut *adj));
        let g = adj[i];
        if g.is_all_zero() {
            continue;
        }
        let (a, b) = (inst.a as usize, inst.b as usize);
        match inst.op {
            Op::Input
            | Op::Const
            | Op::RuleOut
            | Op::Rule
            | Op::Floor
            | Op::Ceil
            | Op::Round
            | Op::Trunc
            | Op::Signum => {}
            Op::Add => {
                adj[a] += g;
                adj[b] += g;
            }
            Op::Sub => {
                adj[a] += g;
                adj[b] -= g;
            }
            Op::Mul => {
                let (va, vb) = (vals[a], vals[b]);
                adj[a] += g * vb;
                adj[b] += g * va;
            }
            Op::Div => {
                let inv = vals[b].recip();
                let y = vals[i];
                adj[a] += g * inv;
                adj[b] -= g * y * inv;
            }
            Op::Rem => {
                let q = (vals[a] / vals[b]).trunc();
                adj[a] += g;
                adj[b] -= g * q;
            }
            Op::AddC => adj[a] += g,
            Op::CSub | Op::Neg => adj[a] -= g,
            Op::MulC => adj[a] += g * consts[b],
            Op::DivC => adj[a] += g / consts[b],
            Op::CDiv => {
                let y = vals[i];
                adj[a] -= g * y / vals[a];
            }
            Op::Exp => adj[a] += g * vals[i],
            Op::Exp2 => adj[a] += g * vals[i] * LN_2,
            Op::ExpM1 => adj[a] += g * vals[a].exp(),
            Op::Ln => adj[a] += g / vals[a],
            Op::Ln1p => adj[a] += g / (vals[a] + 1.0),
            Op::Log2 => adj[a] += g / (vals[a] * LN_2),
            Op::Log10 => adj[a] += g / (vals[a] * LN_10),
            Op::Sqrt => adj[a] += deriv::sqrt_tangent(g, vals[i]),
            Op::Cbrt => adj[a] += deriv::cbrt_tangent(g, vals[i]),
            Op::Recip => {
                let y = vals[i];
                adj[a] -= g * y * y;
            }
            Op::PowI => {
                let n = inst.b as i32;
                let x = vals[a];
                adj[a] += if n == 2 {
                    g * x * 2.0
                } else {
                    g * x.powi(n - 1) * f64::from(n)
                };
            }
            Op::PowF => {
                let c = consts[b];
                adj[a] += g * vals[a].powf(c - 1.0) * c;
            }
            Op::Pow => {
                let (x, p, y) = (vals[a], vals[b], vals[i]);
                adj[a] += g * p * x.pow(p - 1.0);
                if x.value() != 0.0 {
                    adj[b] += g * y * x.ln();
                }
            }
            Op::Sin => adj[a] += g * vals[a].cos(),
            Op::Cos => adj[a] -= g * vals[a].sin(),
            Op::Tan => {
                let y = vals[i];
                adj[a] += g * (y * y + 1.0);
            }
            Op::Asin => {
                let x = vals[a];
                adj[a] += g / (T::one() - x * x).sqrt();
            }
            Op::Acos => {
                let x = vals[a];
                adj[a] -= g / (T::one() - x * x).sqrt();
            }
            Op::Atan => adj[a] += g * deriv::atan_slope(vals[a]),
            Op::Atan2 => {
                if let Some((dy, dx)) = deriv::atan2_partials(vals[a], vals[b]) {
                    adj[a] += g * dy;
                    adj[b] += g * dx;
                }
            }
            Op::Sinh => adj[a] += g * vals[a].cosh(),
            Op::Cosh => adj[a] += g * vals[a].sinh(),
            Op::Tanh => adj[a] += g * deriv::tanh_slope(vals[a], vals[i]),
            Op::Asinh => adj[a] += g * deriv::asinh_slope(vals[a]),
            Op::Acosh => adj[a] += g * deriv::acosh_slope(vals[a]),
            Op::Atanh => {
                let x = vals[a];
                adj[a] += g / (T::one() - x * x);
            }
            Op::Abs => adj[a] += g * deriv::abs_slope(vals[a].value()),
            Op::Min | Op::Max => {
                let (va, vb) = (vals[a].value(), vals[b].value());
                let (wa, wb) = if inst.op == Op::Min {
                    deriv::min_weights(va, vb)
                } else {
                    deriv::max_weights(va, vb)
                };
                if wa != 0.0 {
                    adj[a] += g * wa;
                }
                if wb != 0.0 {
                    adj[b] += g * wb;
                }
            }
            Op::Hypot => {
                let h = vals[i];
                if h.value() != 0.0 {
                    let (x, y) = (vals[a], vals[b]);
                    adj[a] += g * x / h;
                    adj[b] += g * y / h;
                }
            }
            Op::Erf => {
                let x = vals[a];
                adj[a] += g * (-(x * x)).exp() * deriv::FRAC_2_SQRT_PI;
            }
            Op::Erfc => {
                let x = vals[a];
                adj[a] -= g * (-(x * x)).exp() * deriv::FRAC_2_SQRT_PI;
            }
        }
    }
    Ok(())
}

/// Pulls the adjoints of a rule node's outputs back to its inputs through the rule's vjp (once
/// per tangent direction, differentiated, when `T` carries tangents).
fn reverse_rule<T: TapeScalar>(
    d: &TapeData,
    i: usize,
    vals: &[T],
    adj: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let node = &d.nodes[d.ops[i].a as usize];
    let inputs = node_inputs(&d.node_inputs, node);
    let (o, m, n) = (
        node.first_out as usize,
        node.n_outputs as usize,
        inputs.len(),
    );
    if adj[o..o + m].iter().all(|g| g.is_all_zero()) {
        return Ok(());
    }
    if T::TANGENTS == 0 {
        s.x.clear();
        s.x.extend(inputs.iter().map(|&j| vals[j as usize].value()));
        s.y.clear();
        s.y.extend(vals[o..o + m].iter().map(|v| v.value()));
        s.dy.clear();
        s.dy.extend(adj[o..o + m].iter().map(|v| v.value()));
        s.dx.clear();
        s.dx.resize(n, 0.0);
        node.rule
            .vjp(&s.x, &s.y, &s.dy, &mut s.dx)
            .map_err(rule_err(i))?;
        for (&j, &g) in inputs.iter().zip(&s.dx) {
            adj[j as usize] += T::cst(g);
        }
        return Ok(());
    }
    // Forward over reverse: one differentiated vjp per tangent direction.
    let k = T::TANGENTS;
    s.dx.clear();
    s.dx.resize(n * (k + 1), 0.0); // [values | tangent 0 | tangent 1 | …]
    for t in 0..k {
        let lane = |v: &T| Dual::new(v.value(), [v.tangent(t)]);
        s.xd.clear();
        s.xd.extend(inputs.iter().map(|&j| lane(&vals[j as usize])));
        s.yd.clear();
        s.yd.extend(vals[o..o + m].iter().map(lane));
        s.ybd.clear();
        s.ybd.extend(adj[o..o + m].iter().map(lane));
        s.xbd.clear();
        s.xbd.resize(n, Dual::default());
        node.rule
            .vjp_dual(&s.xd, &s.yd, &s.ybd, &mut s.xbd)
            .map_err(rule_err(i))?;
        for (r, xb) in s.xbd.iter().enumerate() {
            if t == 0 {
                s.dx[r] = xb.v;
            }
            s.dx[(t + 1) * n + r] = xb.d[0];
        }
    }
    for (r, &j) in inputs.iter().enumerate() {
        let dx = &s.dx;
        adj[j as usize] += T::from_parts(dx[r], |t| dx[(t + 1) * n + r]);
    }
    Ok(())
}
