//! The order in which replay evaluates a recorded tape: entries grouped into runs of one opcode.
//!
//! Replaying the tape in recording order costs one opcode dispatch (an indirect jump) per
//! entry, which is most of replay's time on cheap arithmetic. But an entry can be evaluated as
//! soon as its operands are, and in code that does the same thing to many elements (a sum over
//! terms, a loop over grid points) the entries that are ready together mostly share opcodes. So
//! the tape is cut into *windows* of at most [`WINDOW`] consecutive entries; within a window
//! each entry gets a *level* (one more than the highest level among its operands in the window;
//! operands from earlier windows count as level 0), and the window's entries are sorted by level
//! and then by opcode. Entries of one level depend only on entries of lower levels, so any order
//! within a level is valid, and sorting by opcode there makes runs of one opcode: replay
//! dispatches once per run and then evaluates the run's entries in a loop specialised to the
//! opcode. (The opcodes without a loop of their own share runs; see [`run_class`].)
//!
//! The values replay computes are the same, bit for bit, as in recording order: every entry is
//! the same function of the same operand values. The window bounds the working set (a window's
//! entries and values stay in cache however long the tape is). A rule node ends a window and is
//! replayed on its own, after everything before it and before everything after it.
//!
//! On the extended Rosenbrock function (8 entries per term, terms independent but for the
//! running sum) a window of 64 entries makes 7 runs of about 8 entries, one per opcode of a
//! term, and one run for the window's stretch of the running sum (8 one-entry levels of `+`,
//! merged). Replay of P6 at n = 10³ took 18 µs in recording order and 10 µs with this schedule.

use super::{Entry, Op};

/// Most entries in one window. Small windows stay in the first-level cache (64 entries: 1.5 KiB
/// of tape, 512 bytes of values), where reading entries out of recording order costs nothing;
/// measured on P6 at n = 10³ (replay time, unscheduled 18 µs): 4096 entries 15.5 µs, 1024
/// 13.9 µs, 256 11.8 µs, 64 and 128 about 10 µs.
pub(crate) const WINDOW: usize = 64;

/// A run of entries of one [`run_class`]: `order[previous run's end .. end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) op: Op,
    pub(crate) end: u32,
}

/// The replay order of a recording; see the module docs.
#[derive(Default, Debug)]
pub(crate) struct Schedule {
    /// Entry indices in evaluation order: every entry but the inputs and rule outputs (whose
    /// values replay sets from the inputs and rule nodes).
    pub(crate) order: Vec<u32>,
    pub(crate) runs: Vec<Run>,
    /// Number of tape entries the schedule was built for; `None` after the tape is cleared.
    built_for: Option<usize>,
    /// Scratch of the build: window levels and sort keys.
    levels: Vec<u32>,
    keys: Vec<u64>,
}

/// The run an opcode's entries go into: its own for the opcodes replay has a loop for; one run
/// for all other unary opcodes ([`Op::Exp`] stands for them) and one for all other binary ones
/// ([`Op::Div`]), which replay evaluates entry by entry through the table of formulas anyway.
/// Within those, entries are ordered by operand, so that `sin v` and `cos v` are evaluated one
/// after the other and the second costs a comparison (see `Scalar::sin_cos` on `f64`); by
/// opcode they would be in separate runs and each pay for a library call.
pub(crate) fn run_class(op: Op) -> Op {
    match op {
        Op::Input
        | Op::RuleOut
        | Op::Rule
        | Op::Const
        | Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Square
        | Op::AddC
        | Op::CSub
        | Op::MulC
        | Op::DivC
        | Op::Neg => op,
        op if op >= Op::FIRST_BINARY => Op::Div,
        _ => Op::Exp,
    }
}

/// Sort key of an entry in a window: `level << 52 | class << 44 | first operand << 16 |
/// position in the window` (levels and positions below 2¹², operands below 2²⁸).
const LEVEL_SHIFT: u32 = 52;
const CLASS_SHIFT: u32 = 44;
const OPERAND_SHIFT: u32 = 16;
const POSITION_MASK: u64 = (1 << OPERAND_SHIFT) - 1;
const _: () = assert!(WINDOW < 1 << 12);

impl Schedule {
    /// Forgets the schedule (the recording changed).
    pub(crate) fn invalidate(&mut self) {
        self.built_for = None;
    }

    /// `true` when the schedule describes a tape of `n` entries.
    pub(crate) fn is_built_for(&self, n: usize) -> bool {
        self.built_for == Some(n)
    }

    /// Bytes held by the order and runs.
    pub(crate) fn bytes(&self) -> usize {
        self.order.len() * 4 + self.runs.len() * core::mem::size_of::<Run>()
    }

    /// Builds the schedule of `entries` (a finished recording: every operand index of an entry
    /// below its own, a `Rule` entry after its outputs).
    pub(crate) fn build(&mut self, entries: &[Entry]) {
        let Schedule {
            order,
            runs,
            built_for,
            levels,
            keys,
        } = self;
        order.clear();
        runs.clear();
        levels.clear();
        levels.resize(WINDOW, 0);
        keys.clear();
        keys.reserve(WINDOW);
        let n = entries.len();
        let mut push = |order: &mut Vec<u32>, op: Op, i: usize| {
            // Entry indices are below 2²⁸ (`MAX_ENTRIES`): the cast is exact.
            order.push(i as u32);
            let end = order.len() as u32;
            match runs.last_mut() {
                Some(run) if run.op == op => run.end = end,
                _ => runs.push(Run { op, end }),
            }
        };
        let mut w0 = 0;
        while w0 < n {
            keys.clear();
            let mut w1 = w0;
            while w1 < n && w1 - w0 < WINDOW {
                let e = &entries[w1];
                let op = e.op();
                if op == Op::Rule {
                    break;
                }
                let level_of = |j: usize| if j >= w0 { levels[j - w0] } else { 0 };
                let level = match op {
                    // Values known before the window runs (inputs), only read after the rule
                    // node that writes them, which ends the window (rule outputs), or without
                    // operands (constants).
                    Op::Input | Op::RuleOut | Op::Const => 0,
                    op if op >= Op::FIRST_BINARY => 1 + level_of(e.a()).max(level_of(e.b())),
                    _ => 1 + level_of(e.a()),
                };
                levels[w1 - w0] = level;
                if !matches!(op, Op::Input | Op::RuleOut) {
                    keys.push(
                        u64::from(level) << LEVEL_SHIFT
                            | (run_class(op) as u64) << CLASS_SHIFT
                            | (e.a() as u64) << OPERAND_SHIFT
                            | (w1 - w0) as u64,
                    );
                }
                w1 += 1;
            }
            keys.sort_unstable();
            for &k in keys.iter() {
                let i = w0 + (k & POSITION_MASK) as usize;
                push(order, run_class(entries[i].op()), i);
            }
            if w1 < n && entries[w1].op() == Op::Rule {
                push(order, Op::Rule, w1);
                w1 += 1;
            }
            w0 = w1;
        }
        *built_for = Some(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::ScalarFunction;
    use crate::problems::ExtendedRosenbrock;
    use crate::rule::{Rule, RuleError};
    use crate::scalar::Scalar;
    use crate::tape::{Tape, TapeData, Var};

    /// `y = (x₀ + x₁, x₀ − x₁)`.
    #[derive(Clone)]
    struct SumDiff;

    impl Rule for SumDiff {
        type State = ();
        fn n_inputs(&self) -> usize {
            2
        }
        fn n_outputs(&self) -> usize {
            2
        }
        fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<(), RuleError> {
            y.copy_from_slice(&[x[0] + x[1], x[0] - x[1]]);
            Ok(())
        }
        fn jvp<S: Scalar>(
            &self,
            _: &(),
            _x: &[S],
            _y: &[S],
            dx: &[S],
            dy: &mut [S],
        ) -> Result<(), RuleError> {
            for (d, out) in dx.chunks_exact(2).zip(dy.chunks_exact_mut(2)) {
                out.copy_from_slice(&[d[0] + d[1], d[0] - d[1]]);
            }
            Ok(())
        }
        fn vjp<S: Scalar>(
            &self,
            _: &(),
            _x: &[S],
            _y: &[S],
            ybar: &[S],
            xbar: &mut [S],
        ) -> Result<(), RuleError> {
            xbar[0] += ybar[0] + ybar[1];
            xbar[1] += ybar[0] - ybar[1];
            Ok(())
        }
    }

    /// Checks that `d.schedule` lists every entry but the inputs and rule outputs once, each
    /// after whatever writes its operands, in runs of one opcode. Returns the number of runs.
    fn check(d: &TapeData) -> usize {
        let (es, s) = (&d.entries, &d.schedule);
        assert!(s.is_built_for(es.len()));
        let mut pos = vec![usize::MAX; es.len()];
        for (p, &i) in s.order.iter().enumerate() {
            assert_eq!(pos[i as usize], usize::MAX, "entry {i} scheduled twice");
            pos[i as usize] = p;
        }
        // Where the value of entry `j` is written: never for an input (set before replay runs),
        // at its rule node's position for a rule output.
        let mut writer = pos.clone();
        for (i, e) in es.iter().enumerate() {
            match e.op() {
                Op::Input | Op::RuleOut => assert_eq!(pos[i], usize::MAX, "entry {i}"),
                Op::Rule => {
                    let node = &d.nodes[e.a()];
                    let o = node.first_out as usize;
                    for w in &mut writer[o..o + node.n_outputs as usize] {
                        *w = pos[i];
                    }
                }
                _ => assert_ne!(pos[i], usize::MAX, "entry {i} not scheduled"),
            }
        }
        let ready = |j: usize| match es[j].op() {
            Op::Input => None,
            _ => Some(writer[j]),
        };
        for (i, e) in es.iter().enumerate() {
            let operands: Vec<usize> = match e.op() {
                Op::Input | Op::RuleOut | Op::Const => vec![],
                Op::Rule => {
                    let node = &d.nodes[e.a()];
                    let s = node.inputs_start as usize;
                    d.node_inputs[s..s + node.n_inputs as usize]
                        .iter()
                        .map(|&j| j as usize)
                        .collect()
                }
                op if op >= Op::FIRST_BINARY => vec![e.a(), e.b()],
                _ => vec![e.a()],
            };
            for j in operands {
                if let Some(w) = ready(j) {
                    assert!(w < pos[i], "entry {i} scheduled before its operand {j}");
                }
            }
        }
        let mut start = 0;
        for run in &s.runs {
            assert!(run.end as usize > start, "empty run");
            for &i in &s.order[start..run.end as usize] {
                assert_eq!(run_class(es[i as usize].op()), run.op);
            }
            start = run.end as usize;
        }
        assert_eq!(start, s.order.len());
        s.runs.len()
    }

    /// A program of several windows with every kind of entry: inputs at the start and in the
    /// middle, constants, unary and binary entries, rule nodes.
    #[test]
    fn schedule_is_a_valid_order_in_runs() {
        let mut tape = Tape::new();
        {
            let mut rec = tape.recording();
            let x = rec.inputs(&[0.3, -1.2, 2.0]);
            let mut acc = x[0];
            for k in 0..300 {
                let t = (x[k % 3] * acc).sin() + x[(k + 1) % 3].powi(2) * 3.0;
                acc = if k % 50 == 7 {
                    let mut y = [Var::default(); 2];
                    Var::apply_rule(&SumDiff, &[acc, t], &mut y).unwrap();
                    y[0] * y[1]
                } else if k % 70 == 3 {
                    // A late input and a materialised constant.
                    let z = rec.input(0.5);
                    acc.atan2(Var::constant(2.0)) + z
                } else {
                    acc + t
                };
            }
            std::hint::black_box(acc);
        }
        assert!(tape.len() > 4 * WINDOW);
        tape.reserve_replay();
        check(&tape.data);
    }

    /// On P6 Rosenbrock (n = 1000: 9000 entries) the runs are long.
    #[test]
    fn rosenbrock_replays_in_long_runs() {
        let f = ExtendedRosenbrock { n: 1000 };
        let mut tape = Tape::new();
        tape.record(&f.start(), |x| f.eval(x));
        tape.reserve_replay();
        let runs = check(&tape.data);
        // Per 64-entry window, 7 runs of the term's opcodes and one of the running sum.
        let scheduled = tape.data.schedule.order.len();
        assert!(runs * 6 < scheduled, "{runs} runs for {scheduled} entries");
    }
}
