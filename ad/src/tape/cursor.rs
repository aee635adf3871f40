//! The recording state of this thread: which tape records, and where its next entry goes.
//!
//! Recording an operation reads this state from thread-local storage — a few loads at fixed
//! offsets from the thread pointer — and writes the entry straight into the tape's buffer: no
//! pointer to the tape is followed and no "is a tape active?" test is needed, because with no
//! tape active the state says "no entries", which no variable's tag passes (see [`index`]).
//!
//! While a tape records, the cursor's `len` is its length; the entries' `Vec` is brought up to
//! date when the buffer grows, when a nested recording interrupts it and when it stops.

use core::cell::Cell;

use super::var::Var;
use super::{Entry, MAX_ENTRIES, Op, TapeData, TapeError};

/// The recording state of one thread.
struct Cursor {
    /// The tape recording on this thread (null when none).
    data: Cell<*mut TapeData>,
    /// Its entry buffer (`data.entries.as_mut_ptr()`).
    entries: Cell<*mut Entry>,
    /// Its number of entries (the `Vec`'s length lags behind while it records).
    len: Cell<usize>,
    /// `min(capacity, MAX_ENTRIES)`: where recording stops to grow the buffer or fail.
    /// (`Vec::reserve` may give more capacity than asked, past what the 28-bit operand indices
    /// can name; comparing with the capacity alone would let such entries be written.)
    limit: Cell<usize>,
    /// The tag of its entry 0 (`generation << 28`).
    base: Cell<u64>,
}

/// A copy of a [`Cursor`]: the recording a nested one interrupts, resumed when it stops.
#[derive(Clone, Copy)]
pub(crate) struct Saved {
    data: *mut TapeData,
    entries: *mut Entry,
    len: usize,
    limit: usize,
    base: u64,
}

impl Cursor {
    fn save(&self) -> Saved {
        Saved {
            data: self.data.get(),
            entries: self.entries.get(),
            len: self.len.get(),
            limit: self.limit.get(),
            base: self.base.get(),
        }
    }

    fn load(&self, s: Saved) {
        self.data.set(s.data);
        self.entries.set(s.entries);
        self.len.set(s.len);
        self.limit.set(s.limit);
        self.base.set(s.base);
    }

    /// Brings the recording tape's `Vec` length up to date.
    fn sync(&self) {
        let d = self.data.get();
        if !d.is_null() {
            // SAFETY: `data` is the tape of a live `Recording` (or a nested recording's
            // interrupted one, whose `Recording` outlives it), borrowed uniquely by it.
            // Entries `0..len` were written by `push_with` (or were there when the recording
            // began), within the buffer's capacity.
            unsafe { (*d).entries.set_len(self.len.get()) };
        }
    }
}

thread_local! {
    /// Const-initialised and without a destructor, so every access is a plain thread-local
    /// load or store.
    static CURSOR: Cursor = const {
        Cursor {
            data: Cell::new(core::ptr::null_mut()),
            entries: Cell::new(core::ptr::null_mut()),
            len: Cell::new(0),
            limit: Cell::new(0),
            base: Cell::new(0),
        }
    };
}

/// Makes `data` (cleared, with its new generation) the tape recording on this thread; returns
/// the state of the recording it interrupts (whose length is brought up to date first).
pub(crate) fn begin(data: &mut TapeData) -> Saved {
    let next = Saved {
        data,
        entries: data.entries.as_mut_ptr(),
        len: data.entries.len(),
        limit: data.entries.capacity().min(MAX_ENTRIES),
        base: data.base,
    };
    CURSOR.with(|c| {
        c.sync();
        let previous = c.save();
        c.load(next);
        previous
    })
}

/// Stops the recording into `data` (bringing its length up to date) and resumes `previous`.
pub(crate) fn end(data: *mut TapeData, previous: Saved) {
    CURSOR.with(|c| {
        // Always this tape: recordings are closure scopes, so they end in the reverse order
        // they began.
        debug_assert!(c.data.get() == data);
        if c.data.get() == data {
            c.sync();
        }
        c.load(previous);
    });
}

/// Gives the recording on this thread the tag base `base` (tests: a generation coming round).
#[cfg(test)]
pub(crate) fn set_base(base: u64) {
    CURSOR.with(|c| c.base.set(base));
}

/// The tape recording on this thread, if any, with its length up to date.
///
/// Callers use the reference only for the duration of one recording operation on this thread
/// and never run user code (which could call `active` again) while holding it.
#[inline(always)]
pub(crate) fn active<'a>() -> Option<&'a mut TapeData> {
    CURSOR.with(|c| {
        let p = c.data.get();
        if p.is_null() {
            return None;
        }
        c.sync();
        // SAFETY: a non-null `data` was set by a live `Recording`, which holds the unique borrow
        // of the tape for its lifetime and takes it out of the cursor when dropped (`end`).
        // `Tape::recording` owns that `Recording` and drops it when its closure returns or
        // unwinds (the closure only gets a shared reference: it cannot leak or swap it), so
        // no tape leaves its borrow — or this thread — while the cursor points at it.
        Some(unsafe { &mut *p })
    })
}

/// `true` when `data` is the tape recording on this thread (not one a nested recording
/// interrupts).
pub(crate) fn records(data: *mut TapeData) -> bool {
    CURSOR.with(|c| c.data.get() == data)
}

/// Number of entries of the recording on this thread (0 when none).
#[inline(always)]
pub(crate) fn len() -> usize {
    CURSOR.with(|c| c.len.get())
}

/// The entry index of `x` if it is a variable of the recording on this thread: its tag lies in
/// `base .. base + len`. One subtraction and one comparison.
///
/// Constants, orphans and variables of other recordings fail it (with no tape recording,
/// `len = 0` fails everything), and so does a stale variable whose generation number came round
/// again (after 2³⁶ − 2 recordings) if its index is past this recording's end. An operand
/// index written to the tape is therefore always below the index of the entry being written —
/// the invariant that lets the sweeps index without bounds checks — whatever variables the
/// user keeps around.
#[inline(always)]
pub(crate) fn index(x: Var) -> Option<u32> {
    CURSOR.with(|c| {
        let i = x.tag.wrapping_sub(c.base.get());
        if i < c.len.get() as u64 {
            // SAFETY: `i < len ≤ limit ≤ MAX_ENTRIES` (entries are only added by `push_with`
            // below `limit`). Telling the compiler spares masking the index when it is packed.
            unsafe { core::hint::assert_unchecked(i < MAX_ENTRIES as u64) };
            Some(i as u32)
        } else {
            None
        }
    })
}

/// Appends a binary entry `op(a, b)` (or a `Rule` entry, `a` its node) with value `v` and local
/// partials `pa`, `pb`; returns its variable (an orphan if the tape is full or none records).
#[inline(always)]
pub(crate) fn push(op: Op, a: u32, b: u32, v: f64, pa: f64, pb: f64) -> Var {
    push_with(op, v, pa, pb, |_| (a, b))
}

/// Appends a unary entry `op(a)` with value `v`, partial `pa` and constant `c` (kept in the
/// `pb` slot). Its `b` is its own index, so that the reverse sweep's one multiply-add step (see
/// `sweep::reverse_stream`) is harmless there: the product lands in the entry's own adjoint
/// slot, which the step clears right after.
#[inline(always)]
pub(crate) fn push_unary(op: Op, a: u32, v: f64, pa: f64, c: f64) -> Var {
    push_with(op, v, pa, c, |own| (a, own))
}

/// Appends an `Input`, `Const` or `RuleOut` entry with value `v` (`pb` is the constant's
/// value); both operands are its own index (see [`push_unary`]).
#[inline(always)]
pub(crate) fn push_nullary(op: Op, v: f64, pb: f64) -> Var {
    push_with(op, v, 0.0, pb, |own| (own, own))
}

/// Appends an entry whose operands `operands(own index)` gives.
#[inline(always)]
fn push_with(op: Op, v: f64, pa: f64, pb: f64, operands: impl FnOnce(u32) -> (u32, u32)) -> Var {
    CURSOR.with(|c| {
        let idx = c.len.get();
        let base = c.base.get();
        if idx >= c.limit.get() && !grow(c) {
            return Var::orphan(v);
        }
        // SAFETY: `idx < limit ≤ MAX_ENTRIES` (checked above). Telling the compiler spares
        // masking the index when it is packed into 28 bits.
        unsafe { core::hint::assert_unchecked(idx < MAX_ENTRIES) };
        let (a, b) = operands(idx as u32);
        // SAFETY: `entries` is the buffer of the recording tape (a tape is recording: `limit`
        // is 0 otherwise and `grow` fails), and `idx < limit ≤ capacity` (checked above, `grow`
        // reserves when needed): the slot just past the entries written so far is written
        // before the length is raised over it.
        unsafe { c.entries.get().add(idx).write(Entry::new(op, a, b, pa, pb)) };
        c.len.set(idx + 1);
        Var::on_tape(v, base, idx as u32)
    })
}

/// Appends one `Input` entry per value of `x`, their variables written to `out`
/// (`out.len() == x.len()`); returns how many were appended (fewer than `x.len()` only when
/// the tape is full or none records), which are the first ones.
///
/// With room for all of them (the usual case: a tape re-recorded keeps its buffer), one
/// capacity test and one store of the length for the lot.
pub(crate) fn push_inputs(x: &[f64], out: &mut [Var]) -> usize {
    let fitted = CURSOR.with(|c| {
        let start = c.len.get();
        if x.len() > c.limit.get() - start {
            return false;
        }
        let (entries, base) = (c.entries.get(), c.base.get());
        for (k, (o, &v)) in out.iter_mut().zip(x).enumerate() {
            let idx = start + k;
            // SAFETY: `idx < start + x.len() ≤ limit ≤ MAX_ENTRIES` (tested above) and
            // `limit ≤ capacity` of the recording tape's buffer (a tape records: `limit` is 0
            // otherwise, and `x.len() > 0` fails the test): see `push_with`.
            unsafe {
                core::hint::assert_unchecked(idx < MAX_ENTRIES);
                let own = idx as u32;
                entries
                    .add(idx)
                    .write(Entry::new(Op::Input, own, own, 0.0, 0.0));
            }
            *o = Var::on_tape(v, base, idx as u32);
        }
        c.len.set(start + x.len());
        true
    });
    if fitted {
        return x.len();
    }
    let mut count = 0;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = push_nullary(Op::Input, v, 0.0);
        if index(*o).is_none() {
            break;
        }
        count += 1;
    }
    count
}

/// Makes room for more entries (doubling); `false` when no tape records, or (and the tape
/// poisoned) past [`MAX_ENTRIES`].
#[cold]
#[inline(never)]
fn grow(c: &Cursor) -> bool {
    let d = c.data.get();
    if d.is_null() {
        return false;
    }
    c.sync();
    // SAFETY: see `Cursor::sync`.
    let t = unsafe { &mut *d };
    let len = t.entries.len();
    if len >= MAX_ENTRIES {
        t.fail(TapeError::TooLarge(len));
        return false;
    }
    t.entries.reserve(len.max(1024).min(MAX_ENTRIES - len));
    c.entries.set(t.entries.as_mut_ptr());
    c.limit.set(t.entries.capacity().min(MAX_ENTRIES));
    true
}

/// The entry index of `x` on the recording tape, materialising constants; `None` (and the tape
/// poisoned) for a foreign variable, a full tape or no tape recording.
pub(crate) fn operand(x: Var) -> Option<u32> {
    if x.is_const() {
        return index(push_nullary(Op::Const, x.value, x.value));
    }
    let i = index(x);
    if i.is_none() {
        poison(x);
    }
    i
}

/// Poisons the recording (if any) for `x`, a variable of another recording.
#[cold]
#[inline(never)]
pub(crate) fn poison(x: Var) {
    if let Some(t) = active() {
        t.fail(t.foreign_error(x));
    }
}
