//! Reverse mode: a [`Tape`] of instructions and its `Copy` variable [`Var`].
//!
//! # Recording
//!
//! A [`Tape`] is activated for recording on the current thread for the duration of a closure,
//! by [`Tape::record`] (inputs created from a slice) or [`Tape::recording`] (inputs created by
//! the closure, anywhere in the program). A recording cannot outlive its closure, so no tape
//! is left half-active when the closure returns or unwinds. While it is active every
//! arithmetic operation on a [`Var`] appends one *instruction* — an opcode and up to two
//! operand indices — and its value to the tape. A [`Var`] is 16 bytes: its value and a tag
//! holding the recording's generation number (36 bits) and its entry index (28 bits). It is
//! `Copy + 'static`, so it runs inside nalgebra's generic code like any float.
//!
//! The recording state (which tape, its entry buffer, length and generation) lives in
//! thread-local storage, so recording an operation is a few loads at fixed offsets from the
//! thread pointer, a range test per operand and one 24-byte store into the buffer — no pointer
//! to the tape is followed (see the `cursor` module).
//!
//! Operations whose operands are all constants are folded (no tape entry); a constant operand of
//! `+ − × ÷` is stored inline in the instruction (a unary entry such as `x + c`); `x * x` and
//! `x.powi(2)` record one unary `Square` entry.
//!
//! # Memory
//!
//! One tape entry holds the instruction (opcode and two 28-bit operand indices packed in one
//! word) and its two local partials: **24 bytes per recorded operation**, unary or binary (a
//! unary entry keeps its constant in the unused partial slot, so there is no constant pool;
//! values live in the variables). Each input and rule node adds a 4-byte break index for the
//! reverse sweep. A rule node stores its input indices (4 bytes each), its input and output
//! values, and a boxed copy of the rule and its state. At most 2²⁸ − 1 entries (a 6.4 GB tape)
//! are recorded. The first replay adds an 8-byte value per entry and the replay program
//! (below): 4 bytes per entry and operand, 8 per constant and 20 per run — about 12 bytes per
//! entry on P6's Rosenbrock. The reverse sweep adds an 8-byte adjoint per entry.
//!
//! # Sweeps
//!
//! The recorded program is a plain instruction list. Storing the partials at recording time
//! makes the `f64` reverse sweep after a recording a stream without opcode dispatch: every
//! entry but the inputs and rule nodes is the same step `adj[a] += adj[i]·pa; adj[b] +=
//! adj[i]·pb; adj[i] = 0` (a unary or nullary entry names itself as its missing operands, so
//! the step is harmless there), run as one stream between those breaks.
//!
//! Replay re-evaluates the program at new inputs in an order built once per recording (the
//! *schedule*): within windows of 64 entries, by dependency level and then by opcode, so that
//! one dispatch serves a run of entries with the same opcode. The schedule is kept as a compact
//! program — each entry's index, operands and constant, run by run — that replay and the
//! reverse sweep after it read instead of the tape: loops specialised to the common opcodes
//! recompute the partials of products and squares from the values rather than storing them,
//! so a replayed gradient reads 4–16 bytes of program per entry twice instead of reading the
//! 24-byte entry twice and writing it back once. The other opcodes refresh their partials in
//! their entries. A replayed gradient equals a fresh recording's to rounding (the reverse
//! sweep adds each adjoint's contributions in the replay order); replayed values are
//! bit-identical. A generic tangent sweep (with [`Dual`]) and a generic reverse sweep on `Dual`
//! values give Jacobian-vector products and forward-over-reverse Hessian-vector products and
//! Hessian columns in chunks.
//!
//! # Isolation
//!
//! Tapes on different threads are independent. Each recording has a fresh generation number: a
//! variable from an earlier recording (or another tape) used in a new one, or an operation on a
//! non-constant variable while no tape is active, is detected and reported as a
//! [`TapeError`] by the next sweep — never a panic and never a silently wrong derivative.
//!
//! The test is one range test on the tag: a recording with generation `g` and `len` entries owns
//! the tags `g·2²⁸ .. g·2²⁸ + len`. Generation numbers come round after 2³⁶ − 2 ≈ 6.9·10¹⁰
//! recordings; a variable kept that long whose index lies past the new recording's end is still
//! reported, and no operand index past the entry being written can reach the tape — the sweeps,
//! which index without bounds checks, stay in bounds whatever variables the user keeps.
//!
//! ```
//! use tangent_ad::{Scalar, Tape};
//!
//! let mut tape = Tape::new();
//! let y = tape.record(&[1.0, 2.0], |x| x[0] * x[1].sin() + x[0].exp());
//! let mut g = [0.0; 2];
//! tape.gradient(y, &mut g).unwrap();
//! assert!((g[0] - (2f64.sin() + 1f64.exp())).abs() < 1e-15);
//! assert!((g[1] - 2f64.cos()).abs() < 1e-15);
//!
//! // Replay at new inputs without re-recording (no value-dependent branches in the function).
//! tape.replay(&[0.5, 1.0]).unwrap();
//! tape.gradient(y, &mut g).unwrap();
//! assert!((tape.value(y).unwrap() - (0.5 * 1f64.sin() + 0.5f64.exp())).abs() < 1e-15);
//! ```

mod cursor;
mod local;
mod ops;
mod schedule;
mod sweep;
mod var;

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, Ordering};

pub use sweep::TapeScalar;
pub use var::Var;

use crate::dual::Dual;
use crate::rule::{Rule, RuleError};

/// Why a tape operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TapeError {
    /// A variable from another recording (an earlier one, or another tape) was used while this
    /// tape recorded, or the requested output does not belong to this recording.
    #[error(
        "variable with tape index {index} belongs to another recording (generation {found}, this tape records generation {expected})"
    )]
    ForeignVariable {
        /// The variable's index.
        index: u32,
        /// The generation of the recording it came from (0: made while no tape was active).
        /// Equal to `expected` for a stale variable whose generation number came round again
        /// (after 2³⁶ − 2 recordings) with an index past this recording's end.
        found: u64,
        /// The generation of this tape's recording.
        expected: u64,
    },
    /// More than 2²⁸ − 1 entries were recorded.
    #[error("tape is full ({0} entries)")]
    TooLarge(usize),
    /// A slice has the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument.
        what: &'static str,
        /// The length needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A rule node failed (on recording, replay or a sweep).
    #[error("rule node at tape entry {entry} failed: {source}")]
    Rule {
        /// The tape entry of the rule node.
        entry: usize,
        /// What the rule reported.
        source: RuleError,
    },
    /// The tape holds no recording.
    #[error("the tape holds no recording")]
    Empty,
    /// An input was created on a recording while a nested recording (of another tape)
    /// interrupted it.
    #[error("input created while a nested recording interrupted this one")]
    Interrupted,
    /// The last [`Tape::replay`] failed part way (a rule node's primal failed), so the tape
    /// holds no consistent point: replay again, or record anew.
    #[error("the last replay failed; the tape holds no consistent point until a replay succeeds")]
    ReplayFailed,
}

/// Opcodes of the tape's instruction set. `a`, `b` are operand entry indices unless noted.
///
/// Ordered by arity (nullary, unary, binary) so that the reverse sweep tells them apart with one
/// comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Op {
    // --- nullary ---
    /// Independent variable (value set from the inputs).
    Input,
    /// Constant `consts[b]` (materialised operand of a binary op).
    Const,
    /// Output of rule node `a` (its value is written by the node's `Rule` entry).
    RuleOut,
    /// Rule node `a`; placed after its outputs.
    Rule,
    // --- unary (operand `a`; `b` is a constant index or immediate) ---
    /// `a + consts[b]`.
    AddC,
    /// `consts[b] − a`.
    CSub,
    /// `a · consts[b]`.
    MulC,
    /// `a / consts[b]`.
    DivC,
    /// `consts[b] / a`.
    CDiv,
    Neg,
    /// `a · a` (recorded for `x * x` and `x.powi(2)`): one operand, so its reverse step updates
    /// one adjoint once instead of the same adjoint twice.
    Square,
    Exp,
    Exp2,
    ExpM1,
    Ln,
    Ln1p,
    Log2,
    Log10,
    Sqrt,
    Cbrt,
    Recip,
    /// `a^n` with `n` in the constant slot.
    PowI,
    /// `a^consts[b]`.
    PowF,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Abs,
    Erf,
    Erfc,
    /// Piecewise-constant functions (derivative 0), recorded so that replay recomputes them.
    Floor,
    Ceil,
    Round,
    Trunc,
    Signum,
    // --- binary (operands `a`, `b`) ---
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    /// `atan2(a, b)` (`a` is y).
    Atan2,
    Min,
    Max,
    Hypot,
}

impl Op {
    /// First unary opcode.
    pub(crate) const FIRST_UNARY: Op = Op::AddC;
    /// First binary opcode.
    pub(crate) const FIRST_BINARY: Op = Op::Add;
}

/// One tape entry: its two local partials and the instruction packed in one word (operand
/// indices in 28 bits each, the opcode in the byte between them). 24 bytes. Values are not stored: the
/// variables carry them, replay recomputes them into a separate buffer.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Entry {
    /// `∂/∂a`.
    pub(crate) pa: f64,
    /// `∂/∂b` for a binary entry; the constant of a unary entry (`c` of `x + c`, `n` of `x^n`)
    /// or the value of a `Const`.
    pub(crate) pb: f64,
    /// `a | op << 28 | b << 36`: `a` is one mask and `b` one shift away (the reverse stream
    /// decodes both for every entry), the opcode a shift and a byte.
    code: u64,
}

const _: () = assert!(core::mem::size_of::<Entry>() == 24);

/// Bits of an operand index in [`Entry`] (and of the index in a [`Var`]'s tag).
pub(crate) const INDEX_BITS: u32 = 28;
pub(crate) const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Position of operand `b` in an [`Entry`]'s instruction word: above `a` and the opcode byte.
const B_SHIFT: u32 = INDEX_BITS + 8;
const _: () = assert!(B_SHIFT + INDEX_BITS == 64);

impl Entry {
    /// Packs an instruction (`a`, `b` < 2²⁸: guaranteed by [`MAX_ENTRIES`]).
    #[inline(always)]
    fn new(op: Op, a: u32, b: u32, pa: f64, pb: f64) -> Self {
        debug_assert!(u64::from(a) <= INDEX_MASK && u64::from(b) <= INDEX_MASK);
        Self {
            pa,
            pb,
            code: u64::from(a) | ((op as u64) << INDEX_BITS) | (u64::from(b) << B_SHIFT),
        }
    }

    /// The opcode.
    #[inline(always)]
    pub(crate) fn op(&self) -> Op {
        // SAFETY: the byte above `a` was written from an `Op` (a `repr(u8)` enum) in
        // `Entry::new`, the only constructor, so it is a valid discriminant.
        unsafe { core::mem::transmute::<u8, Op>((self.code >> INDEX_BITS) as u8) }
    }

    /// First operand (entry index); the entry's own index for `Input`, `Const` and `RuleOut`;
    /// the node index of a `Rule` entry.
    #[inline(always)]
    pub(crate) fn a(&self) -> usize {
        (self.code & INDEX_MASK) as usize
    }

    /// Second operand (entry index) of a binary entry; the entry's own index for a unary or
    /// nullary entry.
    #[inline(always)]
    pub(crate) fn b(&self) -> usize {
        (self.code >> B_SHIFT) as usize
    }
}

/// Largest number of entries (operand indices have 28 bits): 268 million, a 6.4 GB tape.
pub(crate) const MAX_ENTRIES: usize = INDEX_MASK as usize;

/// A recorded rule application.
pub(crate) struct Node {
    pub(crate) rule: Box<dyn TapeRule>,
    /// Range in `TapeData::node_inputs`.
    pub(crate) inputs_start: u32,
    pub(crate) n_inputs: u32,
    /// First output entry; outputs are consecutive.
    pub(crate) first_out: u32,
    pub(crate) n_outputs: u32,
    /// The node's input and output values at the current point (recording or last replay).
    pub(crate) x: Vec<f64>,
    pub(crate) y: Vec<f64>,
}

/// Object-safe face of a recorded [`Rule`] with its state.
pub(crate) trait TapeRule: Send {
    /// Re-runs the primal at new inputs and keeps the new state.
    fn replay(&mut self, x: &[f64], y: &mut [f64]) -> Result<(), RuleError>;
    /// Batched jvp at the stored state.
    fn jvp(&self, x: &[f64], y: &[f64], dx: &[f64], dy: &mut [f64]) -> Result<(), RuleError>;
    /// vjp at the stored state (accumulating into `xbar`).
    fn vjp(&self, x: &[f64], y: &[f64], ybar: &[f64], xbar: &mut [f64]) -> Result<(), RuleError>;
    /// vjp differentiated along one direction (forward over reverse).
    fn vjp_dual(
        &self,
        x: &[Dual<1>],
        y: &[Dual<1>],
        ybar: &[Dual<1>],
        xbar: &mut [Dual<1>],
    ) -> Result<(), RuleError>;
}

struct RuleNode<R: Rule> {
    rule: R,
    state: R::State,
}

impl<R: Rule> TapeRule for RuleNode<R> {
    fn replay(&mut self, x: &[f64], y: &mut [f64]) -> Result<(), RuleError> {
        self.state = self.rule.primal(x, y)?;
        Ok(())
    }
    fn jvp(&self, x: &[f64], y: &[f64], dx: &[f64], dy: &mut [f64]) -> Result<(), RuleError> {
        self.rule.jvp::<f64>(&self.state, x, y, dx, dy)
    }
    fn vjp(&self, x: &[f64], y: &[f64], ybar: &[f64], xbar: &mut [f64]) -> Result<(), RuleError> {
        self.rule.vjp::<f64>(&self.state, x, y, ybar, xbar)
    }
    fn vjp_dual(
        &self,
        x: &[Dual<1>],
        y: &[Dual<1>],
        ybar: &[Dual<1>],
        xbar: &mut [Dual<1>],
    ) -> Result<(), RuleError> {
        self.rule.vjp::<Dual<1>>(&self.state, x, y, ybar, xbar)
    }
}

/// The recorded program.
pub(crate) struct TapeData {
    /// The recorded program with its local partials (computed when recording; replay refreshes
    /// those of the opcodes without a loop of their own, see `sweep::replay_f64`). A unary
    /// entry's `pb` slot holds its constant, so there is no constant pool.
    /// While the tape records, its length lags behind (see the `cursor` module).
    pub(crate) entries: Vec<Entry>,
    /// Values of every entry after a replay (empty until the first replay).
    pub(crate) vals: Vec<f64>,
    /// `true` when `vals` holds the current values (after a replay).
    pub(crate) replayed: bool,
    /// `true` after a replay that failed part way (until the next successful replay or
    /// recording): values and partials are a mixture of two points.
    pub(crate) replay_failed: bool,
    /// The order replay evaluates the entries in, as a compact program (built by the first
    /// replay of a recording).
    pub(crate) schedule: schedule::Schedule,
    /// Values of the inputs at the current point (recording or last replay).
    pub(crate) input_values: Vec<f64>,
    /// Entry index of each input, in the order the inputs were created.
    pub(crate) inputs: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) node_inputs: Vec<u32>,
    /// Entries the reverse sweep's multiply-add stream does not cover, in increasing order:
    /// the inputs (whose adjoints are the result) and the `Rule` entries (a vjp call).
    pub(crate) breaks: Vec<u32>,
    /// This recording's number (`1..=GENERATIONS`), 0 before the first recording.
    pub(crate) generation: u64,
    /// `generation << 28`: the tag of entry 0 (a variable's tag is `base | index`).
    base: u64,
    /// First failure during recording; reported by every later sweep.
    pub(crate) error: Option<TapeError>,
}

/// Number of distinct generations: 36 bits of a [`Var`]'s tag, less two so that no tag of a
/// recording (`generation << 28 | index`, `index < 2²⁸ − 1`) reaches [`var::ORPHAN`].
const GENERATIONS: u64 = (1 << (64 - INDEX_BITS)) - 2;
const _: () = assert!((GENERATIONS << INDEX_BITS | (MAX_ENTRIES as u64 - 1)) < var::ORPHAN);

/// Recordings started so far in this process.
static RECORDINGS: AtomicU64 = AtomicU64::new(0);

/// A generation number for a new recording, in `1..=GENERATIONS` (the counter comes round
/// after 6.9·10¹⁰ recordings; see [`cursor::index`] for why that is harmless).
fn next_generation() -> u64 {
    RECORDINGS.fetch_add(1, Ordering::Relaxed) % GENERATIONS + 1
}

impl TapeData {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            vals: Vec::new(),
            replayed: false,
            replay_failed: false,
            schedule: schedule::Schedule::default(),
            input_values: Vec::new(),
            inputs: Vec::new(),
            nodes: Vec::new(),
            node_inputs: Vec::new(),
            breaks: Vec::new(),
            generation: 0,
            base: 0,
            error: None,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.replayed = false;
        self.replay_failed = false;
        self.schedule.invalidate();
        self.input_values.clear();
        self.inputs.clear();
        self.nodes.clear();
        self.node_inputs.clear();
        self.breaks.clear();
        self.error = None;
        self.set_generation(next_generation());
    }

    fn set_generation(&mut self, generation: u64) {
        debug_assert!((1..=GENERATIONS).contains(&generation));
        self.generation = generation;
        self.base = generation << INDEX_BITS;
    }

    /// The entry index of `x` if it is a variable of this (finished) recording: its tag lies
    /// in `base .. base + len` (see [`cursor::index`], the same test while recording).
    fn index_of(&self, x: Var) -> Option<u32> {
        let i = x.tag.wrapping_sub(self.base);
        (i < self.entries.len() as u64).then_some(i as u32)
    }

    #[cold]
    pub(crate) fn foreign_error(&self, x: Var) -> TapeError {
        TapeError::ForeignVariable {
            index: x.index(),
            found: x.generation(),
            expected: self.generation,
        }
    }

    #[cold]
    pub(crate) fn fail(&mut self, e: TapeError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    pub(crate) fn check(&self) -> Result<(), TapeError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None if self.replay_failed => Err(TapeError::ReplayFailed),
            None => Ok(()),
        }
    }

    /// Checks that `y` is an output of this recording; `Ok(None)` for a constant.
    pub(crate) fn output_index(&self, y: Var) -> Result<Option<usize>, TapeError> {
        if y.is_const() {
            return Ok(None);
        }
        match self.index_of(y) {
            Some(i) => Ok(Some(i as usize)),
            None => Err(self.foreign_error(y)),
        }
    }
}

/// A reverse-mode tape; see the module docs.
pub struct Tape {
    data: Box<TapeData>,
    /// Adjoint buffer reused by the sweeps.
    adj: Vec<f64>,
    /// `true` when every element of `adj` is zero (after a completed sweep).
    adj_clean: bool,
    /// Scratch for rule nodes in sweeps.
    scratch: sweep::Scratch,
    /// Buffers for forward-over-reverse sweeps (`Dual<1>`).
    dual_vals: Vec<Dual<1>>,
    dual_adj: Vec<Dual<1>>,
}

impl Default for Tape {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Tape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tape")
            .field("entries", &self.data.entries.len())
            .field("inputs", &self.data.inputs.len())
            .field("rule_nodes", &self.data.nodes.len())
            .field("generation", &self.data.generation)
            .finish()
    }
}

/// An active recording, lent to the closure of [`Tape::recording`] (by shared reference, so
/// it can be neither leaked nor swapped with another: the recording ends when the closure
/// returns or unwinds, whatever the closure does).
pub struct Recording<'t> {
    data: *mut TapeData,
    previous: cursor::Saved,
    _tape: PhantomData<&'t mut Tape>,
}

impl Recording<'_> {
    /// A new independent variable with value `v` (inputs are numbered in creation order).
    ///
    /// Called while a nested recording (of another tape) interrupts this one, it records
    /// nothing: the tape is poisoned with [`TapeError::Interrupted`] and the variable belongs
    /// to no recording.
    pub fn input(&self, v: f64) -> Var {
        if !cursor::records(self.data) {
            // SAFETY: see below; the cursor does not write to this tape while another records.
            unsafe { &mut *self.data }.fail(TapeError::Interrupted);
            return Var::orphan(v);
        }
        let var = cursor::push_nullary(Op::Input, v, 0.0);
        if let Some(i) = cursor::index(var) {
            // SAFETY: `data` points into the tape this recording borrows uniquely; no other
            // reference to it is alive during this call (the `Recording` is not `Sync`, and its
            // methods run no user code).
            let t = unsafe { &mut *self.data };
            t.inputs.push(i);
            t.input_values.push(v);
            t.breaks.push(i);
        }
        var
    }

    /// New independent variables with the values `x`, written to `out` (`out.len() == x.len()`).
    /// An error while a nested recording interrupts this one (see [`Recording::input`]).
    pub fn inputs_into(&self, x: &[f64], out: &mut [Var]) -> Result<(), TapeError> {
        if !cursor::records(self.data) {
            return Err(TapeError::Interrupted);
        }
        if out.len() != x.len() {
            return Err(TapeError::DimensionMismatch {
                what: "input variables",
                expected: x.len(),
                found: out.len(),
            });
        }
        let first = cursor::len();
        let count = cursor::push_inputs(x, out);
        // Entries `first .. first + count` (`< 2²⁸`, so the casts are exact) are the new inputs.
        let indices = (first..first + count).map(|i| i as u32);
        // SAFETY: see `Recording::input`.
        let t = unsafe { &mut *self.data };
        t.inputs.extend(indices.clone());
        t.input_values.extend_from_slice(&x[..count]);
        // Above every entry recorded so far: the breaks stay increasing.
        t.breaks.extend(indices);
        Ok(())
    }

    /// New independent variables with the values `x` (orphans, and the tape poisoned, while a
    /// nested recording interrupts this one).
    pub fn inputs(&self, x: &[f64]) -> Vec<Var> {
        let mut out = vec![Var::default(); x.len()];
        // The lengths agree, so the only error is an interruption.
        if self.inputs_into(x, &mut out).is_err() {
            // SAFETY: see `Recording::input`.
            unsafe { &mut *self.data }.fail(TapeError::Interrupted);
            out = x.iter().map(|&v| Var::orphan(v)).collect();
        }
        out
    }
}

#[cfg(test)]
impl Recording<'_> {
    /// Gives the recording generation `g`, as if the counter had come round to it.
    fn set_generation(&self, g: u64) {
        // SAFETY: see `Recording::input`.
        let t = unsafe { &mut *self.data };
        t.set_generation(g);
        cursor::set_base(t.base);
    }
}

impl Drop for Recording<'_> {
    fn drop(&mut self) {
        cursor::end(self.data, self.previous);
    }
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self {
            data: Box::new(TapeData::new()),
            adj: Vec::new(),
            adj_clean: true,
            scratch: sweep::Scratch::default(),
            dual_vals: Vec::new(),
            dual_adj: Vec::new(),
        }
    }

    /// Clears the tape (keeping its memory), activates it for recording on this thread, runs
    /// `f` with the [`Recording`] (which creates the inputs) and returns what `f` returns. The
    /// recording ends when `f` returns or unwinds. Recordings nest: a recording started inside
    /// `f` (of another tape) interrupts this one until it ends.
    ///
    /// ```
    /// use tangent_ad::Tape;
    ///
    /// let mut tape = Tape::new();
    /// let y = tape.recording(|rec| {
    ///     let x = rec.input(3.0);
    ///     let s = x * x; // operations between inputs are fine
    ///     s + rec.input(0.5)
    /// });
    /// let mut g = [0.0; 2];
    /// tape.gradient(y, &mut g).unwrap();
    /// assert_eq!(g, [6.0, 1.0]);
    /// ```
    pub fn recording<R>(&mut self, f: impl FnOnce(&Recording<'_>) -> R) -> R {
        self.data.clear();
        let previous = cursor::begin(&mut self.data);
        let rec = Recording {
            data: &mut *self.data,
            previous,
            _tape: PhantomData,
        };
        f(&rec)
    }

    /// Records `f` at the inputs `x`: clears the tape, creates one variable per input, runs `f`
    /// with the tape active and returns what `f` returns (typically the output variables).
    pub fn record<R>(&mut self, x: &[f64], f: impl FnOnce(&[Var]) -> R) -> R {
        self.recording(|rec| f(&rec.inputs(x)))
    }

    /// Reserves the reverse sweep's adjoint buffer for the current recording, so that the next
    /// [`Tape::gradient`] or [`Tape::vjp`] does not allocate.
    pub fn reserve_adjoints(&mut self) {
        let n = self.data.entries.len();
        self.adj.reserve(n.saturating_sub(self.adj.len()));
    }

    /// Reserves the value buffer that [`Tape::replay`] fills and builds its schedule, so that
    /// replays do not allocate.
    pub fn reserve_replay(&mut self) {
        let d = &mut *self.data;
        let n = d.entries.len();
        d.vals.reserve(n.saturating_sub(d.vals.len()));
        if !d.schedule.is_built_for(n) {
            d.schedule.build(&d.entries);
        }
    }

    /// Reserves the tangent and second-order buffers for the current recording, so that the
    /// next [`Tape::jvp`] or [`Tape::hvp`] does not allocate.
    pub fn reserve_tangents(&mut self) {
        let n = self.data.entries.len();
        self.dual_vals
            .reserve(n.saturating_sub(self.dual_vals.len()));
        self.dual_adj.reserve(n.saturating_sub(self.dual_adj.len()));
    }

    /// Number of recorded entries.
    pub fn len(&self) -> usize {
        self.data.entries.len()
    }

    /// `true` when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.data.entries.is_empty()
    }

    /// Number of independent variables of the recording.
    pub fn n_inputs(&self) -> usize {
        self.data.inputs.len()
    }

    /// Number of rule nodes on the tape.
    pub fn n_rule_nodes(&self) -> usize {
        self.data.nodes.len()
    }

    /// Bytes the recording occupies: 24 per entry (instruction and partials), the replay
    /// value buffer and program once built (8 per entry, and 4 per entry and operand plus 8
    /// per constant), the inputs' values and indices, the reverse
    /// sweep's break list and the rule nodes' records and input lists (not the rule objects
    /// and their states, nor the sweeps' adjoint and tangent buffers).
    pub fn bytes(&self) -> usize {
        let d = &self.data;
        d.entries.len() * core::mem::size_of::<Entry>()
            + d.vals.len() * 8
            + d.schedule.bytes()
            + d.input_values.len() * 8
            + d.inputs.len() * 4
            + d.node_inputs.len() * 4
            + d.breaks.len() * 4
            + d.nodes.len() * core::mem::size_of::<Node>()
    }

    /// The first error met while recording, if any.
    pub fn error(&self) -> Option<&TapeError> {
        self.data.error.as_ref()
    }

    /// The current value of a recorded variable (after [`Tape::replay`], the replayed value).
    pub fn value(&self, y: Var) -> Result<f64, TapeError> {
        self.data.check()?;
        Ok(match self.data.output_index(y)? {
            Some(i) if self.data.replayed => self.data.vals[i],
            _ => y.value,
        })
    }

    /// Re-evaluates the recorded program at new inputs `x` (`x.len() == n_inputs()`), without
    /// re-recording. Valid for programs whose operation sequence does not depend on the input
    /// values (no value-dependent branches); rule nodes re-run their primal.
    ///
    /// If a rule node fails, the error is returned and the tape is left without a consistent
    /// point: until a replay succeeds (or a new recording starts), the sweeps and
    /// [`Tape::value`] report [`TapeError::ReplayFailed`].
    pub fn replay(&mut self, x: &[f64]) -> Result<(), TapeError> {
        // A failed replay is no obstacle to the next: only a recording error is.
        if let Some(e) = &self.data.error {
            return Err(e.clone());
        }
        if self.data.entries.is_empty() {
            return Err(TapeError::Empty);
        }
        self.check_inputs(x.len(), "replay inputs")?;
        let d = &mut *self.data;
        d.input_values.copy_from_slice(x);
        let r = sweep::replay_f64(d);
        d.replay_failed = r.is_err();
        r
    }

    fn check_inputs(&self, found: usize, what: &'static str) -> Result<(), TapeError> {
        let expected = self.data.inputs.len();
        if found != expected {
            return Err(TapeError::DimensionMismatch {
                what,
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Gradient of the recorded output `y` with respect to the inputs, written to `grad`
    /// (`grad.len() == n_inputs()`).
    pub fn gradient(&mut self, y: Var, grad: &mut [f64]) -> Result<(), TapeError> {
        self.vjp(&[y], &[1.0], grad)
    }

    /// Vector–Jacobian product: `xbar = Σ_k ybar[k] ∂ys[k]/∂x` (`xbar.len() == n_inputs()`).
    pub fn vjp(&mut self, ys: &[Var], ybar: &[f64], xbar: &mut [f64]) -> Result<(), TapeError> {
        self.data.check()?;
        if ys.len() != ybar.len() {
            return Err(TapeError::DimensionMismatch {
                what: "output weights",
                expected: ys.len(),
                found: ybar.len(),
            });
        }
        self.check_inputs(xbar.len(), "input adjoints")?;
        let d = &*self.data;
        let n = d.entries.len();
        // The sweep leaves the adjoint buffer all zero (it clears each entry once used), so it
        // is zeroed here only when it grows or after a failed sweep — no pass over memory.
        if !self.adj_clean {
            self.adj.clear();
        }
        self.adj.resize(n, 0.0);
        self.adj_clean = false;
        for &y in ys {
            d.output_index(y)?;
        }
        for (&y, &w) in ys.iter().zip(ybar) {
            if let Some(i) = d.output_index(y)? {
                self.adj[i] += w;
            }
        }
        sweep::reverse_f64(d, &mut self.adj, &mut self.scratch)?;
        for (g, &i) in xbar.iter_mut().zip(&d.inputs) {
            *g = core::mem::take(&mut self.adj[i as usize]);
        }
        self.adj_clean = true;
        Ok(())
    }

    /// Jacobian–vector product of the outputs `ys` along `v` (`v.len() == n_inputs()`,
    /// `out.len() == ys.len()`), by one tangent sweep over the recording.
    pub fn jvp(&mut self, ys: &[Var], v: &[f64], out: &mut [f64]) -> Result<(), TapeError> {
        self.data.check()?;
        self.check_inputs(v.len(), "tangent")?;
        if out.len() != ys.len() {
            return Err(TapeError::DimensionMismatch {
                what: "jvp output",
                expected: ys.len(),
                found: out.len(),
            });
        }
        let d = &*self.data;
        sweep::tangent_seed(d, v, &mut self.dual_vals);
        sweep::forward(d, &mut self.dual_vals, &mut self.scratch)?;
        for (o, &y) in out.iter_mut().zip(ys) {
            *o = match d.output_index(y)? {
                Some(i) => self.dual_vals[i].d[0],
                None => 0.0,
            };
        }
        Ok(())
    }

    /// Hessian-vector product `∇²y · v` of the recorded scalar output `y` (forward over reverse:
    /// one tangent sweep along `v`, then the reverse sweep on dual numbers). Also returns the
    /// gradient in `grad` when given.
    pub fn hvp(
        &mut self,
        y: Var,
        v: &[f64],
        out: &mut [f64],
        grad: Option<&mut [f64]>,
    ) -> Result<(), TapeError> {
        self.data.check()?;
        self.check_inputs(v.len(), "hvp direction")?;
        self.check_inputs(out.len(), "hvp output")?;
        if let Some(g) = &grad {
            self.check_inputs(g.len(), "gradient")?;
        }
        let d = &*self.data;
        sweep::tangent_seed(d, v, &mut self.dual_vals);
        sweep::forward(d, &mut self.dual_vals, &mut self.scratch)?;
        self.dual_adj.clear();
        self.dual_adj.resize(d.entries.len(), Dual::default());
        if let Some(i) = d.output_index(y)? {
            self.dual_adj[i] = Dual::constant(1.0);
        }
        sweep::reverse_dual(d, &self.dual_vals, &mut self.dual_adj, &mut self.scratch)?;
        for (o, &i) in out.iter_mut().zip(&d.inputs) {
            *o = self.dual_adj[i as usize].d[0];
        }
        if let Some(g) = grad {
            for (o, &i) in g.iter_mut().zip(&d.inputs) {
                *o = self.dual_adj[i as usize].v;
            }
        }
        Ok(())
    }

    /// `K` Hessian-vector products at once: `out[i][k] = (∇²y · v_k)_i` for the directions
    /// `v_k[i] = directions[i][k]` (`directions.len() == out.len() == n_inputs()`), by one
    /// tangent sweep in `K` directions and one reverse sweep on `Dual<K>` values. The workspace
    /// keeps the buffers, so repeated calls allocate nothing.
    pub fn hvp_many<const K: usize>(
        &mut self,
        y: Var,
        directions: &[[f64; K]],
        out: &mut [[f64; K]],
        work: &mut HvpWorkspace<K>,
    ) -> Result<(), TapeError> {
        self.data.check()?;
        self.check_inputs(directions.len(), "hvp directions")?;
        self.check_inputs(out.len(), "hvp outputs")?;
        let d = &*self.data;
        let (vals, adj) = (&mut work.vals, &mut work.adj);
        vals.clear();
        vals.resize(d.entries.len(), Dual::default());
        for ((&i, &x), dir) in d.inputs.iter().zip(&d.input_values).zip(directions) {
            vals[i as usize] = Dual::new(x, *dir);
        }
        sweep::forward(d, vals, &mut self.scratch)?;
        adj.clear();
        adj.resize(d.entries.len(), Dual::default());
        if let Some(i) = d.output_index(y)? {
            adj[i] = Dual::constant(1.0);
        }
        sweep::reverse_dual(d, vals, adj, &mut self.scratch)?;
        for (o, &i) in out.iter_mut().zip(&d.inputs) {
            *o = adj[i as usize].d;
        }
        Ok(())
    }
}

/// Buffers for [`Tape::hvp_many`] with `K` directions (dual values and adjoints, one per entry).
#[derive(Clone, Debug, Default)]
pub struct HvpWorkspace<const K: usize> {
    vals: Vec<Dual<K>>,
    adj: Vec<Dual<K>>,
}

impl<const K: usize> HvpWorkspace<K> {
    /// An empty workspace.
    pub fn new() -> Self {
        Self {
            vals: Vec::new(),
            adj: Vec::new(),
        }
    }

    /// Reserves room for a tape of `entries` entries (see [`Tape::len`]), so that the first
    /// [`Tape::hvp_many`] does not allocate.
    pub fn reserve(&mut self, entries: usize) {
        self.vals.reserve(entries.saturating_sub(self.vals.len()));
        self.adj.reserve(entries.saturating_sub(self.adj.len()));
    }
}

/// Records a rule node for `Var` inputs; used by `Var::apply_rule`.
pub(crate) fn record_rule<R: Rule>(rule: &R, x: &[Var], y: &mut [Var]) -> Result<(), RuleError> {
    crate::scalar::check_rule_shape(rule, x, y)?;
    let xv: Vec<f64> = x.iter().map(|v| v.value).collect();
    let mut yv = vec![0.0; y.len()];
    let state = rule.primal(&xv, &mut yv)?;
    if x.iter().all(|v| v.is_const()) {
        for (o, &v) in y.iter_mut().zip(&yv) {
            *o = Var::constant(v);
        }
        return Ok(());
    }
    let recorded = 'rec: {
        if cursor::active().is_none() {
            break 'rec false;
        }
        let mut indices = Vec::with_capacity(x.len());
        for &xi in x {
            match cursor::operand(xi) {
                Some(i) => indices.push(i),
                None => break 'rec false,
            }
        }
        let first_out = cursor::len() as u32;
        for (o, &v) in y.iter_mut().zip(&yv) {
            *o = cursor::push_nullary(Op::RuleOut, v, 0.0);
        }
        let Some(node) = cursor::active().map(|t| t.nodes.len() as u32) else {
            break 'rec false;
        };
        let entry = cursor::push(Op::Rule, node, 0, f64::NAN, 0.0, 0.0);
        // No reference to the tape is held across the pushes above (a push may grow it).
        let Some(t) = cursor::active() else {
            break 'rec false;
        };
        let inputs_start = t.node_inputs.len() as u32;
        t.node_inputs.extend_from_slice(&indices);
        if let Some(e) = entry.tape_index() {
            t.breaks.push(e as u32);
        }
        t.nodes.push(Node {
            rule: Box::new(RuleNode {
                rule: rule.clone(),
                state,
            }),
            inputs_start,
            n_inputs: x.len() as u32,
            first_out,
            n_outputs: y.len() as u32,
            x: xv.clone(),
            y: yv.clone(),
        });
        true
    };
    if !recorded {
        for (o, &v) in y.iter_mut().zip(&yv) {
            *o = Var::orphan(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scalar;

    /// A variable kept from an earlier recording whose generation number is given out again
    /// (after 2³⁶ − 2 recordings; simulated) is reported when its index lies past the new
    /// recording's end, as an operand and as an output — never written to the tape.
    #[test]
    fn stale_variable_after_generation_wrap_is_reported() {
        let mut old = Tape::new();
        let stale = old.record(&[1.0, 2.0], |x| (x[0] * x[1]).sin() + x[0]);
        let generation = old.data.generation;
        let stale_index = stale.tape_index().unwrap_or(usize::MAX);
        assert!(
            stale_index >= 2,
            "the stale variable is past the new recording's end"
        );

        let mut tape = Tape::new();
        let y = tape.recording(|rec| {
            rec.set_generation(generation);
            let x = rec.input(3.0);
            x * stale
        });
        assert_eq!(tape.data.generation, generation);
        let expected = TapeError::ForeignVariable {
            index: stale_index as u32,
            found: generation,
            expected: generation,
        };
        assert_eq!(tape.error(), Some(&expected));
        let mut g = [0.0];
        assert_eq!(tape.gradient(y, &mut g), Err(expected.clone()));
        assert!(tape.replay(&[1.0]).is_err());

        // As an output of a clean recording of the same generation.
        let y = tape.recording(|rec| {
            rec.set_generation(generation);
            let x = rec.input(3.0);
            x.sin()
        });
        assert!(tape.error().is_none());
        assert_eq!(tape.value(stale), Err(expected.clone()));
        assert_eq!(tape.gradient(stale, &mut g), Err(expected));
        tape.gradient(y, &mut g).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g[0], 3f64.cos());
    }

    /// The last generation's tags stay clear of the constant and orphan tags.
    #[test]
    fn last_generation_records_and_differentiates() {
        let mut tape = Tape::new();
        let y = tape.recording(|rec| {
            rec.set_generation(GENERATIONS);
            let x = rec.inputs(&[2.0, 5.0]);
            let c = Var::constant(3.0);
            x[0] * x[1] + c * x[0] + (x[1] + 1.0).ln()
        });
        assert!(y.tape_index().is_some() && !y.is_const());
        let mut g = [0.0; 2];
        tape.gradient(y, &mut g).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g, [5.0 + 3.0, 2.0 + 1.0 / 6.0]);
    }
}
