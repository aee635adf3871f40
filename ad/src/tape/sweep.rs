//! The forward and reverse sweeps over a recorded instruction list, generic over the value type.
//!
//! With `T = f64` the forward sweep is replay and the reverse sweep the gradient. With
//! `T = Dual<K>` the forward sweep propagates `K` tangents and the reverse sweep, run on those
//! values, is forward-over-reverse: its adjoints' partials are Hessian-vector products.
//!
//! # Cost (P6, extended Rosenbrock)
//!
//! A Rosenbrock term records 8 entries (3 `Square`, `−`, `c − x`, `· c`, two `+`). Counted with
//! `valgrind --tool=callgrind` at n = 10³, per entry (inputs included): recording ≈ 30
//! instructions; replay ≈ 10.8 (the schedule's runs: a loop per opcode over the compact
//! program); the `f64` reverse sweep after a recording ≈ 15.5 (the stream: no dispatch, a
//! zero-adjoint test, two fused multiply-adds, one clear, a prefetch every other entry) and
//! after a replay ≈ 13.5 (the program backwards, a loop per opcode, no zero test where the
//! partials are ±1); plain `f64` evaluation is ≈ 15.5 instructions per *term*. Before the
//! stream and the `Square` instruction the reverse sweep took ≈ 27 per entry (a branch per
//! entry on the opcode's arity); replay took ≈ 37 before its specialised arms, ≈ 20 with one
//! jump-table dispatch per entry in recording order and ≈ 14.4 in the schedule's runs reading
//! operands from the tape entries.
//!
//! Instructions are not the whole story. Recording ran at the speed of a chain of dependent
//! loads (the active tape's pointer from thread-local storage, then its length through it)
//! until the recording state moved into thread-local storage itself (−25% time for the same
//! instruction count). The reverse stream is bound by latency: an entry's adjoint is usually
//! completed by the step just before and read back at once, so every hop pays a multiply-add
//! and a store-to-load forward (fusing the multiply-add saved 15%; unrolling further, which
//! saves instructions, saved no time). Replay in recording order was bound by its dispatch and,
//! like the reverse stream, by values read back right after they were stored; the schedule's
//! runs have neither (time 18 → 10 µs at n = 10³).
//!
//! At n = 10⁵ the tape (24 bytes × 9 entries per term = 21.6 MB), the values and the adjoints
//! (8 bytes per entry each) no longer fit in cache, and memory traffic decides. When replay
//! read the tape entries and wrote the refreshed partials back, a replayed gradient moved
//! about 94 MB (the tape read twice and written once, the values and adjoints read for
//! ownership and written) and ran near what one core draws from memory here (≈ 30 GB/s):
//! replay 2.1 ms, replay and gradient 37× f. Replay and the reverse sweep after it now read
//! the compact program (about 12 bytes per entry here: 10.8 MB against 21.6 MB of tape) and
//! never touch the tape, and products and squares take their partials from the values: replay
//! 1.3 ms, replay and gradient 26.5× f (minimum of ten interleaved rounds against the previous
//! build; at n = 10³, 26.0× → 23.5×). The recorded gradient still streams over the tape,
//! asking for it ahead of use (see [`prefetch`]). Going lower still means recognising the
//! repeated blocks of a long tape (the loops that recorded it) and compiling those.

use super::local::local;
use super::schedule::WINDOW;
use super::{Entry, Node, Op, TapeData, TapeError};
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
/// index of entry `i` is `≤ i` (`< i` for a real operand, `= i` for the own-index placeholder
/// of unary and nullary entries), the replay program holds only entry indices and operand
/// indices copied from the entries (and has one constant per row of the runs that have one),
/// and the value and adjoint buffers have one element per entry (asserted before each loop).
/// The sweeps only index with those numbers.
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

/// Re-evaluates the tape at `d.input_values` into `d.vals` (and the rule nodes' states and
/// values), and refreshes the local partials of the entries in the generic runs for the next
/// reverse sweep, which after a replay is [`reverse_scheduled`].
///
/// Entries are evaluated as the recording's [`Schedule`](super::schedule) lists them (built
/// here on the first replay): one dispatch per run, then a loop specialised to the run's class
/// over the schedule's program, which holds each entry's operands and constant — these loops
/// do not touch the tape. They compute exactly what [`local`] computes, so replayed values are
/// bit-identical to a fresh recording. Their partials are either constants or products of
/// values that [`reverse_scheduled`] recomputes, so nothing is written back. The other opcodes
/// (two generic runs) go through [`local`] and store their partials in their tape entries.
pub(crate) fn replay_f64(d: &mut TapeData) -> Result<(), TapeError> {
    let n = d.entries.len();
    if !d.schedule.is_built_for(n) {
        d.schedule.build(&d.entries);
    }
    let TapeData {
        entries,
        vals,
        replayed,
        schedule,
        inputs,
        input_values,
        nodes,
        node_inputs: ni,
        ..
    } = d;
    *replayed = false;
    // Every slot is written below (inputs here, the others by the schedule, which lists every
    // entry but the inputs and the rule outputs, written by their rule nodes), so the buffer is
    // only resized, never cleared.
    vals.resize(n, 0.0);
    for (&i, &x) in inputs.iter().zip(input_values.iter()) {
        vals[i as usize] = x;
    }
    let mut es = UncheckedMut(&mut entries[..]);
    let mut v = UncheckedMut(&mut vals[..]);
    for (class, code, cs) in schedule.runs() {
        match class {
            // Not scheduled: inputs were set above, rule outputs are written by their node.
            Op::Input | Op::RuleOut => {}
            Op::Rule => {
                for &i in code {
                    let i = i as usize;
                    replay_rule(&mut nodes[es[i].a()], ni, &mut v.0[..], i)?;
                }
            }
            Op::Const => {
                for (&i, &c) in code.iter().zip(cs) {
                    v[i as usize] = c;
                }
            }
            Op::Add => binary(code, &mut v, |x, y| x + y),
            Op::Sub => binary(code, &mut v, |x, y| x - y),
            Op::Mul => binary(code, &mut v, |x, y| x * y),
            Op::Square => unary(code, &mut v, |x| x * x),
            Op::Neg => unary(code, &mut v, |x| -x),
            Op::AddC => unary_c(code, cs, &mut v, |x, c| x + c),
            Op::CSub => unary_c(code, cs, &mut v, |x, c| c - x),
            Op::MulC => unary_c(code, cs, &mut v, |x, c| x * c),
            Op::DivC => unary_c(code, cs, &mut v, |x, c| x / c),
            // The other opcodes share two runs (see `run_class`): each entry's own opcode.
            op if op >= Op::FIRST_BINARY => {
                for &[i, a, b] in code.as_chunks::<3>().0 {
                    let i = i as usize;
                    prefetch(es.0, i + PREFETCH_AHEAD);
                    let e = &mut es[i];
                    let (value, pa, pb) = local::<f64>(e.op(), v[a as usize], v[b as usize], 0.0);
                    (e.pa, e.pb) = (pa, pb);
                    v[i] = value;
                }
            }
            _ => {
                for &[i, a] in code.as_chunks::<2>().0 {
                    let i = i as usize;
                    prefetch(es.0, i + PREFETCH_AHEAD);
                    let e = &mut es[i];
                    let (value, pa, _) = local::<f64>(e.op(), v[a as usize], 0.0, e.pb);
                    e.pa = pa;
                    v[i] = value;
                }
            }
        }
    }
    *replayed = true;
    Ok(())
}

/// Replays a run of binary entries `[i, a, b]`: `v[i] = f(v[a], v[b])`.
#[inline(always)]
fn binary(code: &[u32], v: &mut UncheckedMut<'_, f64>, f: impl Fn(f64, f64) -> f64) {
    for &[i, a, b] in code.as_chunks::<3>().0 {
        v[i as usize] = f(v[a as usize], v[b as usize]);
    }
}

/// Replays a run of unary entries `[i, a]`: `v[i] = f(v[a])`.
#[inline(always)]
fn unary(code: &[u32], v: &mut UncheckedMut<'_, f64>, f: impl Fn(f64) -> f64) {
    for &[i, a] in code.as_chunks::<2>().0 {
        v[i as usize] = f(v[a as usize]);
    }
}

/// Replays a run of unary entries `[i, a]` with constants `cs`: `v[i] = f(v[a], c)`.
#[inline(always)]
fn unary_c(code: &[u32], cs: &[f64], v: &mut UncheckedMut<'_, f64>, f: impl Fn(f64, f64) -> f64) {
    for (&[i, a], &c) in code.as_chunks::<2>().0.iter().zip(cs) {
        v[i as usize] = f(v[a as usize], c);
    }
}

/// How far ahead (in entries) replay asks for the tape: two windows.
const PREFETCH_AHEAD: usize = 2 * WINDOW;

/// How far behind (in entries) the reverse stream asks for the tape.
const PREFETCH_BEHIND: usize = 256;

/// Asks for element `i` of `xs` to be brought into cache (nothing if `i` is out of range).
///
/// Replay's generic runs ask for tape entry `i + PREFETCH_AHEAD` while they evaluate entry
/// `i`: they read the tape out of recording order, which the hardware prefetcher (it follows
/// sequential and strided streams) does not foresee. The reverse stream asks for entry
/// `i − PREFETCH_BEHIND` while it steps entry `i`. Both matter only for tapes beyond the cache:
/// on P6 Rosenbrock at n = 10⁵ (a 21.6 MB tape) replay, when it still read every entry from the
/// tape, went from about the unscheduled time to about 20 % less, and the reverse stream from
/// 2.6 to 2.2–2.3 ms (interleaved runs on a loaded machine); at n = 10³ neither changed
/// measurably. The replayed reverse sweep reads its program in order and gained nothing from
/// asking for the adjoints and values ahead.
#[inline(always)]
fn prefetch<T>(xs: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // A prefetch never faults, and `wrapping_add` makes no claim that the address is
        // inside the buffer (outside it the hint is just wasted).
        let p = xs.as_ptr().wrapping_add(i).cast::<i8>();
        // SAFETY: prefetching has no effect on memory or program state.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (xs, i);
}

/// Replays rule node `node` (its `Rule` entry is `entry`): gathers its inputs from `vals`, re-runs
/// the primal and writes its outputs back.
#[cold]
#[inline(never)]
fn replay_rule(
    node: &mut Node,
    node_inputs: &[u32],
    vals: &mut [f64],
    entry: usize,
) -> Result<(), TapeError> {
    let (o, m) = (node.first_out as usize, node.n_outputs as usize);
    let inputs = &node_inputs[node.inputs_start as usize..][..node.n_inputs as usize];
    let Node { rule, x, y, .. } = node;
    x.clear();
    x.extend(inputs.iter().map(|&j| vals[j as usize]));
    rule.replay(x, y).map_err(rule_err(entry))?;
    vals[o..o + m].copy_from_slice(y);
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

/// Reverse sweep on `f64`: accumulates `adj` (seeded at the outputs) back to every entry. On
/// return every slot but the inputs' is zero again.
///
/// After a replay this is [`reverse_scheduled`]. After a recording, it uses the local partials
/// stored in the entries: the entries between two *breaks* (inputs, rule nodes; see
/// `TapeData::breaks`) run through [`reverse_stream`], a multiply-add stream without opcode
/// dispatch; a rule node's vjp runs at its break.
pub(crate) fn reverse_f64(d: &TapeData, adj: &mut [f64], s: &mut Scratch) -> Result<(), TapeError> {
    let n = d.entries.len();
    assert!(adj.len() == n, "adjoint buffer has one slot per entry");
    if d.replayed {
        return reverse_scheduled_best(d, adj, s);
    }
    // Inputs created before any operation (the usual case: inputs are increasing entry
    // indices, so the last is `len − 1` exactly when they are entries `0..len`) are the first
    // breaks, with nothing to stream between them: the stream stops above them.
    let below = match d.inputs.last() {
        Some(&l) if l as usize + 1 == d.inputs.len() => d.inputs.len(),
        _ => 0,
    };
    let mut hi = n;
    for &b in d.breaks[below..].iter().rev() {
        let b = b as usize;
        if b + 1 < hi {
            reverse_stream_best(&d.entries[..hi], adj, b + 1);
        }
        if d.entries[b].op() == Op::Rule {
            reverse_rule(d, b, Values::<f64>::Node, adj, s)?;
        }
        // An input's adjoint is the result, read (and cleared) by the caller.
        hi = b;
    }
    reverse_stream_best(&d.entries[..hi], adj, below.min(hi));
    Ok(())
}

/// The reverse step of entries `lo..es.len()`, last first: `adj[a] += adj[i]·pa`,
/// `adj[b] += adj[i]·pb`, then `adj[i] = 0` — with fused multiply-adds where the CPU has them
/// (x86-64 with FMA, detected at run time; aarch64 always).
///
/// No entry here is an input or a rule node, so the step is the same for all: a unary entry's
/// `b` is its own index (its constant in `pb` lands in its own slot, cleared right after),
/// a `Const` or `RuleOut` entry's `a` and `b` are its own index. Each adjoint is final when its
/// entry is reached; clearing it leaves the buffer all zero for the next sweep, without a
/// clearing pass. A zero adjoint is skipped, so an infinite partial (`sqrt` at 0) never meets
/// a zero.
///
/// The sweep is bound by latency rather than by instructions: an entry's adjoint is usually
/// completed by a store of the step just before and read back at once. A fused multiply-add
/// (one rounding instead of two, so gradients may differ from the unfused sweep in the last
/// bits) shortens that chain from a multiply and an add to one instruction: on P6 Rosenbrock
/// the sweep takes 15% less time. (Unrolling by four instead of two, or dropping the zero test,
/// saved instructions but no time.)
#[inline(always)]
fn reverse_stream_best(es: &[Entry], adj: &mut [f64], lo: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA (checked just above).
        unsafe { reverse_stream_fma(es, adj, lo) };
        return;
    }
    reverse_stream::<{ cfg!(target_arch = "aarch64") }>(es, adj, lo)
}

/// [`reverse_stream`] with fused multiply-adds, compiled for CPUs with FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
fn reverse_stream_fma(es: &[Entry], adj: &mut [f64], lo: usize) {
    reverse_stream::<true>(es, adj, lo)
}

/// See [`reverse_stream_best`]; `FMA` selects fused multiply-adds (a library call where the
/// CPU lacks them, so only where it has them).
#[inline(always)]
fn reverse_stream<const FMA: bool>(es: &[Entry], adj: &mut [f64], lo: usize) {
    assert!(
        es.len() <= adj.len(),
        "adjoint buffer has one slot per entry"
    );
    let es = Unchecked(es);
    let mut adj = UncheckedMut(adj);
    let mut step = |i: usize| {
        let e = &es[i];
        debug_assert!(e.a() < i || (e.a() == i && e.op() < Op::FIRST_UNARY));
        debug_assert!(e.b() <= i);
        let g = adj[i];
        if g != 0.0 {
            if FMA {
                adj[e.a()] = g.mul_add(e.pa, adj[e.a()]);
                adj[e.b()] = g.mul_add(e.pb, adj[e.b()]);
            } else {
                adj[e.a()] += g * e.pa;
                adj[e.b()] += g * e.pb;
            }
            adj[i] = 0.0;
        }
    };
    // Two entries per trip: the loop's own bookkeeping is a fifth of the step. One prefetch
    // per trip (48 bytes of tape) reaches every cache line.
    let mut i = es.0.len();
    while i >= lo + 2 {
        prefetch(es.0, i.wrapping_sub(PREFETCH_BEHIND));
        step(i - 1);
        step(i - 2);
        i -= 2;
    }
    if i > lo {
        step(i - 1);
    }
}

/// [`reverse_scheduled`] with fused multiply-adds where the CPU has them (as
/// [`reverse_stream_best`]).
fn reverse_scheduled_best(d: &TapeData, adj: &mut [f64], s: &mut Scratch) -> Result<(), TapeError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA (checked just above).
        return unsafe { reverse_scheduled_fma(d, adj, s) };
    }
    reverse_scheduled::<{ cfg!(target_arch = "aarch64") }>(d, adj, s)
}

/// [`reverse_scheduled`] with fused multiply-adds, compiled for CPUs with FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
fn reverse_scheduled_fma(d: &TapeData, adj: &mut [f64], s: &mut Scratch) -> Result<(), TapeError> {
    reverse_scheduled::<true>(d, adj, s)
}

/// Runs `f(adj, g, k, entry)` on the entries `[i, operands…]` of a run of width `W`, last
/// first, where `g` is the entry's adjoint (taken: the slot is cleared) and `k` the entry's
/// position in the run (its constant's index).
#[inline(always)]
fn back<'a, const W: usize>(
    code: &[u32],
    adj: &mut UncheckedMut<'a, f64>,
    mut f: impl FnMut(&mut UncheckedMut<'a, f64>, f64, usize, &[u32; W]),
) {
    for (k, row) in code.as_chunks::<W>().0.iter().enumerate().rev() {
        let g = core::mem::take(&mut adj[row[0] as usize]);
        f(adj, g, k, row);
    }
}

/// `acc + g·p` (fused when `FMA`), and `acc` unchanged when `g` is zero, so that a zero
/// adjoint never meets an infinite partial.
#[inline(always)]
fn madd_nz<const FMA: bool>(g: f64, p: f64, acc: f64) -> f64 {
    if g != 0.0 {
        madd::<FMA>(g, p, acc)
    } else {
        acc
    }
}

/// `acc + g·p`, fused when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(g: f64, p: f64, acc: f64) -> f64 {
    if FMA { g.mul_add(p, acc) } else { acc + g * p }
}

/// The reverse sweep on `f64` after a replay: the schedule's program run backwards, run by run
/// and each run last entry first (the exact reverse of the replay order, which is a valid
/// evaluation order, so every adjoint is complete when its entry is reached).
///
/// Each run's loop is specialised to its class and reads the operands from the schedule's
/// program, not from the tape: the partials of `+`, `−`, `± c`, `· c`, `/ c` and negation are
/// constants, those of `·` and squares are recomputed from the replayed values (the same
/// formulas as [`local`], so the same partials as a fresh recording's); only the two generic
/// runs read the partials replay stored in their tape entries. As in [`reverse_stream`], each
/// entry's adjoint is cleared once used, a zero adjoint is never multiplied by a partial, and
/// the inputs' adjoints are left for the caller; a rule node's outputs are cleared after its
/// vjp.
///
/// Against the stream over the tape this reads 4 to 16 bytes of program per entry instead of
/// 24 bytes of tape, and replay writes nothing back into the tape.
#[inline(always)]
fn reverse_scheduled<const FMA: bool>(
    d: &TapeData,
    adj: &mut [f64],
    s: &mut Scratch,
) -> Result<(), TapeError> {
    let n = d.entries.len();
    assert!(
        adj.len() == n && d.vals.len() == n && d.schedule.is_built_for(n),
        "sweep buffers sized to the tape"
    );
    let (es, v) = (Unchecked(&d.entries[..]), Unchecked(&d.vals[..]));
    for (class, code, cs) in d.schedule.runs().rev() {
        let mut g = UncheckedMut(&mut *adj);
        match class {
            Op::Input | Op::RuleOut => {}
            Op::Rule => {
                for &i in code.iter().rev() {
                    let i = i as usize;
                    reverse_rule(d, i, Values::<f64>::Node, g.0, s)?;
                    let node = &d.nodes[es[i].a()];
                    let o = node.first_out as usize;
                    g.0[o..o + node.n_outputs as usize].fill(0.0);
                }
            }
            Op::Const => {
                for &i in code.iter().rev() {
                    g[i as usize] = 0.0;
                }
            }
            // Partials ±1: adding a zero adjoint changes nothing.
            Op::Add => back::<3>(code, &mut g, |g, x, _, &[_, a, b]| {
                g[a as usize] += x;
                g[b as usize] += x;
            }),
            Op::Sub => back::<3>(code, &mut g, |g, x, _, &[_, a, b]| {
                g[a as usize] += x;
                g[b as usize] -= x;
            }),
            Op::Neg | Op::CSub => back::<2>(code, &mut g, |g, x, _, &[_, a]| g[a as usize] -= x),
            Op::AddC => back::<2>(code, &mut g, |g, x, _, &[_, a]| g[a as usize] += x),
            Op::Mul => back::<3>(code, &mut g, |g, x, _, &[_, a, b]| {
                let (a, b) = (a as usize, b as usize);
                g[a] = madd_nz::<FMA>(x, v[b], g[a]);
                g[b] = madd_nz::<FMA>(x, v[a], g[b]);
            }),
            Op::Square => back::<2>(code, &mut g, |g, x, _, &[_, a]| {
                let a = a as usize;
                g[a] = madd_nz::<FMA>(x, v[a] * 2.0, g[a]);
            }),
            Op::MulC => back::<2>(code, &mut g, |g, x, k, &[_, a]| {
                let a = a as usize;
                g[a] = madd_nz::<FMA>(x, Unchecked(cs)[k], g[a]);
            }),
            Op::DivC => back::<2>(code, &mut g, |g, x, k, &[_, a]| {
                let a = a as usize;
                g[a] = madd_nz::<FMA>(x, Unchecked(cs)[k].recip(), g[a]);
            }),
            // The generic runs: the partials replay stored in the tape entries.
            op if op >= Op::FIRST_BINARY => back::<3>(code, &mut g, |g, x, _, &[i, a, b]| {
                if x != 0.0 {
                    let (e, a, b) = (&es[i as usize], a as usize, b as usize);
                    g[a] = madd::<FMA>(x, e.pa, g[a]);
                    g[b] = madd::<FMA>(x, e.pb, g[b]);
                }
            }),
            _ => back::<2>(code, &mut g, |g, x, _, &[i, a]| {
                let a = a as usize;
                g[a] = madd_nz::<FMA>(x, es[i as usize].pa, g[a]);
            }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::ScalarFunction;
    use crate::problems::{ChainedMap, ChainedMapSum, ExtendedRosenbrock};
    use crate::tape::Tape;

    /// The fused and the unfused reverse streams agree to rounding.
    #[test]
    fn fused_and_unfused_streams_agree() {
        let rosenbrock = ExtendedRosenbrock { n: 50 };
        let x = rosenbrock.start();
        let mut tape = Tape::new();
        let y = tape.record(&x, |v| rosenbrock.eval(v));
        let chained = ChainedMapSum;
        let mut tape2 = Tape::new();
        let x2 = ChainedMap.start();
        let y2 = tape2.record(&x2, |v| chained.eval(v));
        for (tape, y) in [(&tape, y), (&tape2, y2)] {
            let es = &tape.data.entries[..];
            let seed = |adj: &mut Vec<f64>| {
                adj.clear();
                adj.resize(es.len(), 0.0);
                adj[y.tape_index().unwrap_or(0)] = 1.0;
            };
            let (mut plain, mut fused) = (Vec::new(), Vec::new());
            seed(&mut plain);
            seed(&mut fused);
            // The inputs are entries `0..n_inputs`: the stream stops there.
            let lo = tape.n_inputs();
            reverse_stream::<false>(es, &mut plain, lo);
            reverse_stream::<true>(es, &mut fused, lo);
            for (p, f) in plain.iter().zip(&fused) {
                // 1e-13: two roundings per step instead of one, over a few dozen steps.
                assert!((p - f).abs() <= 1e-13 * p.abs().max(1.0), "{p} vs {f}");
            }
            assert!(plain.iter().any(|&g| g != 0.0));
        }
    }
}
