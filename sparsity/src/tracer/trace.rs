//! The trace: the dependency graph recorded while a function runs on tracers.
//!
//! A tracer is a `Copy` handle (`id`, `generation`), so the sets it stands for live here, on the
//! thread that runs the detection. Leaves `0..n` are the inputs; every other id is a node with
//! up to two operands and a kind saying how its operands' *second-order* dependencies combine.
//! Index sets are never materialised while the function runs: an operation costs one push of a
//! 12-byte node (or nothing, for unary operations of the Jacobian tracer), and the sets of the
//! outputs are read off the graph afterwards (see [`crate::detect`]).

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::error::SparsityError;

/// Id of a constant (depends on no input, value known).
pub(crate) const CONST: u32 = u32::MAX;
/// Id of a global tracer that depends on no input but whose value is unknown (`floor` of a
/// non-constant global tracer, say).
pub(crate) const OPAQUE: u32 = u32::MAX - 1;
/// Id of a value made from tracers outside their detection (foreign or no active trace).
pub(crate) const ORPHAN: u32 = u32::MAX - 2;
/// Largest number of ids (inputs + nodes) a trace holds; ids from here on are special.
const MAX_IDS: usize = ORPHAN as usize;

/// How a node combines the first-order sets `Ga`, `Gb` of its operands into second-order pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// `a ± b`, `min`, `max`, `a % b`: second derivatives vanish; no pairs.
    Linear,
    /// A nonlinear function of `a` alone: `Ga × Ga`.
    Unary,
    /// `a · b`: `Ga × Gb` (and its mirror).
    Mul,
    /// `a / b`: `Ga × Gb ∪ Gb × Gb` (and mirrors).
    Div,
    /// A general nonlinear function of `a` and `b` (`pow`, `atan2`, `hypot`): `(Ga ∪ Gb)²`.
    Full,
}

/// One node of the dependency graph.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) a: u32,
    /// Second operand; equal to `a` for unary nodes.
    pub(crate) b: u32,
}

/// The recorded graph of one detection.
#[derive(Debug)]
pub(crate) struct TraceData {
    pub(crate) n_inputs: u32,
    pub(crate) generation: u32,
    pub(crate) nodes: Vec<Node>,
    pub(crate) error: Option<SparsityError>,
}

impl TraceData {
    /// Records the first error; later ones are dropped (the first is the cause).
    #[cold]
    pub(crate) fn fail(&mut self, e: SparsityError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Appends a node and returns its id ([`ORPHAN`] and an error if the trace is full).
    #[inline(always)]
    pub(crate) fn push(&mut self, kind: Kind, a: u32, b: u32) -> u32 {
        let id = self.n_inputs as usize + self.nodes.len();
        if id >= MAX_IDS {
            self.fail(SparsityError::TooLarge(id));
            return ORPHAN;
        }
        self.nodes.push(Node { kind, a, b });
        id as u32
    }

    /// Total number of ids (inputs and nodes).
    #[inline]
    pub(crate) fn n_ids(&self) -> usize {
        self.n_inputs as usize + self.nodes.len()
    }

    /// The node behind a non-leaf id.
    #[inline(always)]
    pub(crate) fn node(&self, id: u32) -> Node {
        self.nodes[(id - self.n_inputs) as usize]
    }
}

static NEXT_GENERATION: AtomicU32 = AtomicU32::new(1);

/// A fresh generation number (never 0, which marks constants and orphans).
fn next_generation() -> u32 {
    loop {
        let g = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        if g != 0 {
            return g;
        }
    }
}

thread_local! {
    /// The trace recording on this thread (null when none). A const-initialised `Cell` of a raw
    /// pointer has no destructor, so reading it is a plain thread-local load.
    static ACTIVE: Cell<*mut TraceData> = const { Cell::new(core::ptr::null_mut()) };
}

/// Runs `op` on the trace active on this thread, or returns `None` when there is none.
#[inline(always)]
pub(crate) fn with_active<R>(op: impl FnOnce(&mut TraceData) -> R) -> Option<R> {
    let p = ACTIVE.get();
    if p.is_null() {
        None
    } else {
        // SAFETY: a non-null `ACTIVE` was set by a live `ActiveTrace`, which owns the boxed
        // `TraceData` (so the pointer is valid and the data does not move) and restores the
        // previous pointer when dropped. `op` is crate code that only pushes nodes or records an
        // error; it never runs user code, so no second `&mut` to the same data can be created
        // while this one lives.
        Some(op(unsafe { &mut *p }))
    }
}

/// A trace activated on this thread for the lifetime of the guard. Traces nest: dropping the
/// guard re-activates the one that was active before.
pub(crate) struct ActiveTrace {
    /// Always `Some` until [`ActiveTrace::finish`] takes it; boxed so that the pointer in
    /// `ACTIVE` stays valid while the guard moves.
    data: Option<Box<TraceData>>,
    previous: *mut TraceData,
}

impl ActiveTrace {
    /// Starts a trace with `n_inputs` leaves.
    pub(crate) fn start(n_inputs: usize) -> Result<Self, SparsityError> {
        if n_inputs >= MAX_IDS {
            return Err(SparsityError::TooLarge(n_inputs));
        }
        let mut data = Box::new(TraceData {
            n_inputs: n_inputs as u32,
            generation: next_generation(),
            nodes: Vec::with_capacity(4 * n_inputs + 16),
            error: None,
        });
        let ptr: *mut TraceData = &mut *data;
        let previous = ACTIVE.replace(ptr);
        Ok(Self {
            data: Some(data),
            previous,
        })
    }

    /// The generation number of this trace (carried by its tracers).
    pub(crate) fn generation(&self) -> u32 {
        self.data.as_ref().map_or(0, |d| d.generation)
    }

    /// Stops recording and hands back the graph.
    pub(crate) fn finish(mut self) -> Box<TraceData> {
        ACTIVE.set(self.previous);
        match self.data.take() {
            Some(d) => d,
            // Unreachable: `data` is `Some` from `start` until this method consumes the guard.
            None => Box::new(TraceData {
                n_inputs: 0,
                generation: 0,
                nodes: Vec::new(),
                error: Some(SparsityError::ForeignTracer),
            }),
        }
    }
}

impl Drop for ActiveTrace {
    fn drop(&mut self) {
        ACTIVE.set(self.previous);
    }
}
