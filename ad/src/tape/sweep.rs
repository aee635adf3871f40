//! The forward and reverse sweeps over a recorded instruction list, generic over the value type.
//!
//! With `T = f64` the forward sweep is replay and the reverse sweep the gradient. With
//! `T = Dual<K>` the forward sweep propagates `K` tangents and the reverse sweep, run on those
//! values, is forward-over-reverse: its adjoints' partials are Hessian-vector products.

use super::local::local;
use super::{Node, Op, TapeData, TapeError};
use crate::dual::Dual;
use crate::rule::RuleError;
use crate::scalar::Scalar;

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
/// index of entry `i` is `< i`, and the value and adjoint buffers have one element per entry. The sweeps only index with those numbers.
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

/// Re-evaluates the tape at `d.input_values` into `d.vals`, and refreshes the local partials for
/// the next reverse sweep (and the rule nodes' states and values).
pub(crate) fn replay_f64(d: &mut TapeData) -> Result<(), TapeError> {
    let TapeData {
        entries,
        vals,
        replayed,
        inputs,
        input_values,
        nodes,
        node_inputs: ni,
        ..
    } = d;
    let n = entries.len();
    *replayed = false;
    // Every slot is written below (inputs here, the rest in entry order), so the buffer is only
    // resized, never cleared.
    vals.resize(n, 0.0);
    for (&i, &x) in inputs.iter().zip(input_values.iter()) {
        vals[i as usize] = x;
    }
    let (entries, vals) = (&mut entries[..], &mut vals[..]);
    for i in 0..n {
        let e = entries[i];
        let op = e.op();
        if op < Op::FIRST_UNARY {
            match op {
                Op::Const => vals[i] = e.pb,
                Op::Rule => {
                    let node = &mut nodes[e.a()];
                    let (o, m) = (node.first_out as usize, node.n_outputs as usize);
                    let Node { rule, x, y, .. } = node;
                    x.clear();
                    x.extend(
                        ni[node.inputs_start as usize..][..node.n_inputs as usize]
                            .iter()
                            .map(|&j| vals[j as usize]),
                    );
                    rule.replay(x, y).map_err(rule_err(i))?;
                    vals[o..o + m].copy_from_slice(y);
                }
                // Inputs were set above; rule outputs are written by their `Rule` entry.
                _ => {}
            }
            continue;
        }
        // One dispatch per entry (inside `local`): both operands are read unconditionally — a
        // unary entry's `b` is 0, a valid index — and a unary entry keeps its constant in `pb`.
        let mut v = UncheckedMut(&mut *vals);
        let (value, pa, pb) = local::<f64>(op, v[e.a()], v[e.b()], e.pb);
        v[i] = value;
        let slot = &mut entries[i];
        slot.pa = pa;
        slot.pb = if op >= Op::FIRST_BINARY { pb } else { e.pb };
    }
    *replayed = true;
    Ok(())
}

/// Sets `vals` to the inputs' values with tangent `v` (other entries are computed by
/// [`forward`]).
pub(crate) fn tangent_seed(d: &TapeData, v: &[f64], vals: &mut Vec<Dual<1>>) {
    vals.clear();
    vals.resize(d.entries.len(), Dual::default());
    for ((&i, &x), &vi) in d.inputs.iter().zip(&d.input_values).zip(v) {
        vals[i as usize] = Dual::new(x, [vi]);
    }
}

/// `p · t`, with a zero tangent staying zero even where the partial is infinite.
#[inline(always)]
fn scaled(p: f64, t: f64) -> f64 {
    if t == 0.0 { 0.0 } else { p * t }
}

/// Tangent sweep: evaluates the tape on `T` values (inputs already seeded in `vals`) by the
/// chain rule on the `f64` local partials; rule nodes apply their jvp at their current state.
pub(crate) fn forward<T: TapeScalar>(
    d: &TapeData,
    vals: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let n = d.entries.len();
    assert!(vals.len() == n, "tangent buffer has one slot per entry");
    for i in 0..n {
        let e = d.entries[i];
        match e.op() {
            Op::Input | Op::RuleOut => {}
            Op::Const => vals[i] = T::cst(e.pb),
            Op::Rule => {
                let node = &d.nodes[e.a()];
                let inputs = node_inputs(&d.node_inputs, node);
                let (o, m, k) = (
                    node.first_out as usize,
                    node.n_outputs as usize,
                    T::TANGENTS,
                );
                s.dx.clear();
                for t in 0..k {
                    s.dx.extend(inputs.iter().map(|&j| vals[j as usize].tangent(t)));
                }
                s.dy.clear();
                s.dy.resize(m * k, 0.0);
                if k > 0 {
                    node.rule
                        .jvp(&node.x, &node.y, &s.dx, &mut s.dy)
                        .map_err(rule_err(i))?;
                }
                for r in 0..m {
                    let dy = &s.dy;
                    vals[o + r] = T::from_parts(node.y[r], |t| dy[t * m + r]);
                }
            }
            op => {
                let v = Unchecked(&vals[..]);
                let xa = v[e.a()];
                let value = if op >= Op::FIRST_BINARY {
                    let xb = v[e.b()];
                    let (val, pa, pb) = local::<f64>(op, xa.value(), xb.value(), 0.0);
                    T::from_parts(val, |t| {
                        scaled(pa, xa.tangent(t)) + scaled(pb, xb.tangent(t))
                    })
                } else {
                    let (val, pa, _) = local::<f64>(op, xa.value(), 0.0, e.pb);
                    T::from_parts(val, |t| scaled(pa, xa.tangent(t)))
                };
                vals[i] = value;
            }
        }
    }
    Ok(())
}

/// Reverse sweep on `f64`: accumulates `adj` (seeded at the outputs) back to every entry using
/// the local partials stored at recording (or refreshed by replay) — a stream without opcode
/// dispatch. Zero adjoints are skipped, so an infinite partial never meets a zero. On return
/// every slot but the inputs' is zero again.
pub(crate) fn reverse_f64(d: &TapeData, adj: &mut [f64], s: &mut Scratch) -> Result<(), TapeError> {
    let n = d.entries.len();
    assert!(adj.len() == n, "adjoint buffer has one slot per entry");
    let es = Unchecked(&d.entries[..]);
    for i in (0..n).rev() {
        let e = &es[i];
        let op = e.op();
        if op < Op::FIRST_UNARY {
            match op {
                Op::Rule => reverse_rule(d, i, Values::<f64>::Node, adj, s)?,
                // Inputs are read (and cleared) by the caller.
                Op::Input => {}
                _ => adj[i] = 0.0,
            }
            continue;
        }
        let mut adj = UncheckedMut(&mut *adj);
        // Each adjoint is final when its entry is reached: read it and leave the slot zero, so
        // the buffer is all zero after the sweep and the next one needs no clearing pass.
        let g = core::mem::take(&mut adj[i]);
        if g == 0.0 {
            continue;
        }
        adj[e.a()] += g * e.pa;
        if op >= Op::FIRST_BINARY {
            adj[e.b()] += g * e.pb;
        }
    }
    Ok(())
}

/// Reverse sweep on dual numbers (forward over reverse): the partials are recomputed from the
/// dual values by the same formulas, so their tangents carry the second-order terms.
pub(crate) fn reverse_dual<T: TapeScalar>(
    d: &TapeData,
    vals: &[T],
    adj: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let n = d.entries.len();
    assert!(
        vals.len() == n && adj.len() == n,
        "sweep buffers sized to the tape"
    );
    let es = Unchecked(&d.entries[..]);
    for i in (0..n).rev() {
        let e = es[i];
        let op = e.op();
        if op < Op::FIRST_UNARY {
            if op == Op::Rule {
                reverse_rule(d, i, Values::Scalars(vals), adj, s)?;
            }
            continue;
        }
        let (v, mut adj) = (Unchecked(vals), UncheckedMut(&mut *adj));
        let g = adj[i];
        if g.is_all_zero() {
            continue;
        }
        let (a, b) = (e.a(), e.b());
        if op >= Op::FIRST_BINARY {
            let (_, pa, pb) = local::<T>(op, v[a], v[b], 0.0);
            adj[a] += g * pa;
            adj[b] += g * pb;
        } else {
            let (_, pa, _) = local::<T>(op, v[a], T::zero(), e.pb);
            adj[a] += g * pa;
        }
    }
    Ok(())
}

/// Where a reverse sweep reads the values of a rule node's inputs and outputs.
enum Values<'a, T> {
    /// The `f64` values the node keeps (recording or last replay).
    Node,
    /// A buffer of dual values (forward over reverse).
    Scalars(&'a [T]),
}

/// Pulls the adjoints of a rule node's outputs back to its inputs through the rule's vjp (once
/// per tangent direction, differentiated, when `T` carries tangents).
fn reverse_rule<T: TapeScalar>(
    d: &TapeData,
    i: usize,
    vals: Values<'_, T>,
    adj: &mut [T],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let node = &d.nodes[d.entries[i].a()];
    let inputs = node_inputs(&d.node_inputs, node);
    let (o, m, n) = (
        node.first_out as usize,
        node.n_outputs as usize,
        inputs.len(),
    );
    if adj[o..o + m].iter().all(|g| g.is_all_zero()) {
        return Ok(());
    }
    // The value (and, for dual values, the tangent) of input `r` / output `r` of the node.
    let input = |r: usize| match &vals {
        Values::Node => T::cst(node.x[r]),
        Values::Scalars(v) => v[inputs[r] as usize],
    };
    let output = |r: usize| match &vals {
        Values::Node => T::cst(node.y[r]),
        Values::Scalars(v) => v[o + r],
    };
    if T::TANGENTS == 0 {
        s.x.clear();
        s.x.extend((0..n).map(|r| input(r).value()));
        s.y.clear();
        s.y.extend((0..m).map(|r| output(r).value()));
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
        s.xd.extend((0..n).map(|r| lane(&input(r))));
        s.yd.clear();
        s.yd.extend((0..m).map(|r| lane(&output(r))));
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
