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
//! The schedule is stored as a compact program: per run, each entry's index followed by its
//! operands (one to three 4-byte words, by the run's class; see [`width`]) and, in a separate
//! array, the constants of the classes that have one. Replay and the reverse sweep after it
//! (the same program backwards, a valid reverse order because the forward order is a valid
//! evaluation order — runs may span several levels, as the running sum's does, so each run too
//! is walked last entry first) read the program instead of the 24-byte tape entries.
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

/// A run of entries of one [`run_class`]: `code[start..end]` and `consts[cstart..cend]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) op: Op,
    start: u32,
    end: u32,
    cstart: u32,
    cend: u32,
}

/// The replay order of a recording, as a compact program; see the module docs.
#[derive(Default, Debug)]
pub(crate) struct Schedule {
    /// The entries in evaluation order (every entry but the inputs and rule outputs, whose
    /// values replay sets from the inputs and rule nodes), each as its index followed by its
    /// operands: [`width`] words per entry, by the run's class.
    pub(crate) code: Vec<u32>,
    /// The constants of the entries of the classes that have one ([`has_const`]), in order.
    pub(crate) consts: Vec<f64>,
    pub(crate) runs: Vec<Run>,
    /// Number of tape entries the schedule was built for; `None` after the tape is cleared.
    built_for: Option<usize>,
    /// Scratch of the build: window levels and sort keys.
    levels: Vec<u32>,
    keys: Vec<u64>,
}

/// Words per entry in [`Schedule::code`] for a run of class `class`: the entry's index and its
/// operands (none for constants and rule nodes, whose node index replay reads from the tape).
pub(crate) const fn width(class: Op) -> usize {
    match class {
        Op::Const | Op::Rule | Op::Input | Op::RuleOut => 1,
        Op::Add | Op::Sub | Op::Mul | Op::Div => 3,
        _ => 2,
    }
}

/// `true` for the classes whose entries carry their constant in [`Schedule::consts`] (the value
/// of a `Const`, `c` of `x + c`, `c − x`, `x · c`, `x / c`). The other unary opcodes with a
/// constant (`c / x`, powers) share the generic run, which reads the tape entry anyway.
pub(crate) const fn has_const(class: Op) -> bool {
    matches!(class, Op::Const | Op::AddC | Op::CSub | Op::MulC | Op::DivC)
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

    /// Bytes held by the program and runs.
    pub(crate) fn bytes(&self) -> usize {
        self.code.len() * 4 + self.consts.len() * 8 + self.runs.len() * core::mem::size_of::<Run>()
    }

    /// The runs with their program and constants: `(class, code, consts)`.
    pub(crate) fn runs(&self) -> impl DoubleEndedIterator<Item = (Op, &[u32], &[f64])> {
        self.runs.iter().map(|r| {
            let (code, consts) = (
                self.code.get(r.start as usize..r.end as usize),
                self.consts.get(r.cstart as usize..r.cend as usize),
            );
            debug_assert!(code.is_some() && consts.is_some());
            // SAFETY: `build` makes each run's ranges from the lengths of `code` and `consts`
            // before and after pushing the run's entries, and nothing else changes them, so the
            // ranges are within the buffers (`None` is unreachable).
            unsafe { (r.op, code.unwrap_unchecked(), consts.unwrap_unchecked()) }
        })
    }

    /// Builds the schedule of `entries` (a finished recording: every operand index of an entry
    /// below its own, a `Rule` entry after its outputs).
    pub(crate) fn build(&mut self, entries: &[Entry]) {
        let Schedule {
            code,
            consts,
            runs,
            built_for,
            levels,
            keys,
        } = self;
        code.clear();
        consts.clear();
        runs.clear();
        levels.clear();
        levels.resize(WINDOW, 0);
        keys.clear();
        keys.reserve(WINDOW);
        let n = entries.len();
        let mut push = |op: Op, i: usize| {
            let e = &entries[i];
            // Entry indices are below 2²⁸ (`MAX_ENTRIES`): the casts are exact.
            code.push(i as u32);
            if width(op) > 1 {
                code.push(e.a() as u32);
            }
            if width(op) > 2 {
                code.push(e.b() as u32);
            }
            if has_const(op) {
                consts.push(e.pb);
            }
            let (end, cend) = (code.len() as u32, consts.len() as u32);
            match runs.last_mut() {
                Some(run) if run.op == op => (run.end, run.cend) = (end, cend),
                last => {
                    let (start, cstart) = last.map_or((0, 0), |r| (r.end, r.cend));
                    runs.push(Run {
                        op,
                        start,
                        end,
                        cstart,
                        cend,
                    })
                }
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
                push(run_class(entries[i].op()), i);
            }
            if w1 < n && entries[w1].op() == Op::Rule {
                push(Op::Rule, w1);
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
    /// after whatever writes its operands, in runs of one opcode, with the entry's operands and
    /// constant. Returns the number of runs.
    fn check(d: &TapeData) -> usize {
        let (es, s) = (&d.entries, &d.schedule);
        assert!(s.is_built_for(es.len()));
        let mut order = Vec::new();
        for (class, code, consts) in s.runs() {
            assert!(!code.is_empty(), "empty run");
            let w = width(class);
            assert_eq!(code.len() % w, 0);
            let n = code.len() / w;
            assert_eq!(consts.len(), if has_const(class) { n } else { 0 });
            for (k, row) in code.chunks_exact(w).enumerate() {
                let e = &es[row[0] as usize];
                assert_eq!(run_class(e.op()), class);
                if w > 1 {
                    assert_eq!(row[1] as usize, e.a());
                }
                if w > 2 {
                    assert_eq!(row[2] as usize, e.b());
                }
                if has_const(class) {
                    assert_eq!(consts[k].to_bits(), e.pb.to_bits());
                }
                order.push(row[0]);
            }
        }
        assert_eq!(s.code.len(), s.runs.last().map_or(0, |r| r.end as usize));
        assert_eq!(s.consts.len(), s.runs.last().map_or(0, |r| r.cend as usize));
        let mut pos = vec![usize::MAX; es.len()];
        for (p, &i) in order.iter().enumerate() {
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
        s.runs.len()
    }

    /// A program of several windows with every kind of entry: inputs at the start and in the
    /// middle, constants, unary and binary entries, rule nodes.
    #[test]
    fn schedule_is_a_valid_order_in_runs() {
        let mut tape = Tape::new();
        let y = tape.recording(|rec| {
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
            acc
        });
        assert!(tape.len() > 4 * WINDOW);
        tape.reserve_replay();
        check(&tape.data);
        // The reverse sweep after a replay walks the schedule backwards (rule nodes, late
        // inputs, constants and all): at the recorded point it gives the recorded sweep's
        // gradient, to rounding (contributions are added in another order).
        let n = tape.n_inputs();
        let (mut recorded, mut replayed) = (vec![0.0; n], vec![0.0; n]);
        tape.gradient(y, &mut recorded).unwrap();
        let x = tape.data.input_values.clone();
        tape.replay(&x).unwrap();
        tape.gradient(y, &mut replayed).unwrap();
        let scale = recorded.iter().fold(1.0f64, |m, g| m.max(g.abs()));
        for (r, p) in recorded.iter().zip(&replayed) {
            assert!((r - p).abs() <= 1e-13 * scale, "{r} vs {p}");
        }
        assert!(recorded.iter().all(|g| *g != 0.0));
        // The sweep left the adjoint buffer all zero (rule outputs included): again, the same.
        let mut again = vec![0.0; n];
        tape.gradient(y, &mut again).unwrap();
        assert_eq!(again, replayed);
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
        let scheduled = tape.len() - tape.n_inputs();
        assert!(runs * 6 < scheduled, "{runs} runs for {scheduled} entries");
    }
}
