//! A helper thread that runs one task at a time next to its caller: the two-worker
//! factorisation's second worker.
//!
//! The caller posts a task that lives on its own stack, runs its own half, and waits for the
//! helper before it returns (also when its own half panics), so the task may borrow anything the
//! caller can. Handing over costs one wake-up of the helper, or none while the helper is still
//! spinning after its previous task ([`SPIN`]); `rayon::join` called from outside rayon's pool
//! costs three (the pool thread that takes the join, the one that steals the second half, and the
//! caller blocked meanwhile), and allocation-free alternatives in rayon do not exist. Nothing is
//! allocated per task.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The helper waits for a task.
const IDLE: u32 = 0;
/// A task is posted in `Shared::task`.
const POSTED: u32 = 1;
/// The posted task has finished.
const DONE: u32 = 2;
/// The helper is asked to stop.
const EXIT: u32 = 3;

/// How long the helper spins for the next task before it sleeps: refactorisations that follow
/// each other closely (a Newton iteration, a benchmark) then hand over without a wake-up.
const SPIN: Duration = Duration::from_millis(2);

/// A posted task: its data and the function that runs it (type-erased, see [`Helper::join`]).
#[derive(Clone, Copy)]
struct Task {
    data: *const (),
    run: unsafe fn(*const ()),
}

/// State shared by the caller and the helper.
struct Shared {
    state: AtomicU32,
    /// Written by the caller before it publishes `POSTED`, read by the helper after it sees it.
    task: UnsafeCell<Option<Task>>,
    /// Set by the helper when the task panicked.
    panicked: AtomicBool,
}

// SAFETY: `task` is written only by the caller while the helper does not read it (state not
// `POSTED`), and read only by the helper while the caller does not write it (state `POSTED`
// until the helper publishes `DONE`); the state's release/acquire orders the accesses. The
// pointer in it is used only under `Helper::join`'s contract.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

/// The helper thread; stopped and joined on drop.
pub(crate) struct Helper {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl core::fmt::Debug for Helper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Helper").finish_non_exhaustive()
    }
}

impl Helper {
    /// Starts the helper thread.
    pub(crate) fn spawn() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: AtomicU32::new(IDLE),
            task: UnsafeCell::new(None),
            panicked: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("tangent-linsolve-worker".into())
            .spawn(move || serve(&theirs))?;
        Ok(Self {
            shared,
            handle: Some(handle),
        })
    }

    /// Runs `a` on this thread and `b` on the helper at the same time and returns both
    /// results once both have finished. A panic in `b` is raised here after both finished.
    pub(crate) fn join<RA, RB, B>(&mut self, a: impl FnOnce() -> RA, b: B) -> (RA, RB)
    where
        B: FnOnce() -> RB + Send,
        RB: Send,
    {
        /// `b` and its result, on the caller's stack.
        struct Slot<B, RB> {
            b: UnsafeCell<Option<B>>,
            out: UnsafeCell<Option<RB>>,
        }
        /// Runs the task in `data`, a `Slot<B, RB>`.
        ///
        /// # Safety
        /// `data` points to a live `Slot<B, RB>` that nothing else accesses meanwhile.
        unsafe fn run<B: FnOnce() -> RB, RB>(data: *const ()) {
            // SAFETY: by the caller's contract.
            let slot = unsafe { &*data.cast::<Slot<B, RB>>() };
            // SAFETY: the helper is the only one touching the slot until it publishes `DONE`.
            unsafe {
                if let Some(b) = (*slot.b.get()).take() {
                    *slot.out.get() = Some(b());
                }
            }
        }
        /// Waits for the helper to finish the posted task (also while `a` unwinds).
        struct Wait<'s>(&'s Shared);
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                let mut spins = 0u32;
                while self.0.state.load(Ordering::Acquire) != DONE {
                    spins = spins.saturating_add(1);
                    if spins < 1 << 16 {
                        core::hint::spin_loop();
                    } else {
                        thread::yield_now();
                    }
                }
                self.0.state.store(IDLE, Ordering::Relaxed);
            }
        }

        let slot = Slot {
            b: UnsafeCell::new(Some(b)),
            out: UnsafeCell::new(None::<RB>),
        };
        let shared = &*self.shared;
        // SAFETY: the state is `IDLE` (every `join` waits for `DONE` and resets it before it
        // returns, and `&mut self` excludes concurrent joins), so the helper does not read the
        // task now.
        unsafe {
            *shared.task.get() = Some(Task {
                data: (&raw const slot).cast(),
                run: run::<B, RB>,
            });
        }
        shared.state.store(POSTED, Ordering::Release);
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
        let wait = Wait(shared);
        let ra = a();
        // `slot` (and what `b` borrows) stays alive until the helper is done with it.
        drop(wait);
        if shared.panicked.swap(false, Ordering::Relaxed) {
            panic!("the linsolve worker thread panicked");
        }
        // Unreachable `None`: the helper ran `run`, which fills `out` unless `b` panicked
        // (handled just above).
        let rb = slot
            .out
            .into_inner()
            .expect("the worker thread finished its task");
        (ra, rb)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.shared.state.store(EXIT, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            // The helper only returns from `serve`; a join error would be its panic, which
            // `serve` catches.
            let _ = h.join();
        }
    }
}

/// The helper's loop: wait for a task (spinning for [`SPIN`] after the last one, then
/// sleeping), run it, publish `DONE`; stop on `EXIT`.
fn serve(shared: &Shared) {
    loop {
        let since = Instant::now();
        let mut spins = 0u32;
        let state = loop {
            let s = shared.state.load(Ordering::Acquire);
            if s == POSTED || s == EXIT {
                break s;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && since.elapsed() > SPIN {
                // Woken by `unpark` (or spuriously): the loop looks again.
                thread::park();
            } else {
                core::hint::spin_loop();
            }
        };
        if state == EXIT {
            return;
        }
        // SAFETY: the state is `POSTED`: the caller wrote the task before publishing it and
        // keeps it (and the slot it points to) alive until it sees `DONE`.
        let task = unsafe { *shared.task.get() };
        if let Some(task) = task {
            // SAFETY: `task.data` is the slot `task.run` expects, alive until `DONE`.
            let r = catch_unwind(AssertUnwindSafe(|| unsafe { (task.run)(task.data) }));
            if r.is_err() {
                shared.panicked.store(true, Ordering::Relaxed);
            }
        }
        shared.state.store(DONE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_runs_both_halves_and_returns_their_results() {
        let mut h = Helper::spawn().unwrap();
        let mut data = vec![0u64; 1000];
        for round in 0..200u64 {
            let (lo, hi) = data.split_at_mut(500);
            let (a, b) = h.join(
                || {
                    lo.iter_mut().for_each(|x| *x += round);
                    lo.iter().sum::<u64>()
                },
                || {
                    hi.iter_mut().for_each(|x| *x += 2 * round);
                    hi.iter().sum::<u64>()
                },
            );
            let t = round * (round + 1) / 2;
            assert_eq!((a, b), (500 * t, 1000 * t));
        }
        // After a pause longer than the spin, the helper sleeps and is woken.
        thread::sleep(SPIN * 3);
        assert_eq!(h.join(|| 1, || 2), (1, 2));
    }

    #[test]
    fn a_panic_in_the_helper_reaches_the_caller_after_both_finished() {
        let mut h = Helper::spawn().unwrap();
        let mut done = false;
        let r = catch_unwind(AssertUnwindSafe(|| {
            h.join(|| done = true, || -> u8 { panic!("worker fails") })
        }));
        assert!(r.is_err() && done);
        // The helper survives and serves the next task.
        assert_eq!(h.join(|| 3, || 4), (3, 4));
    }
}
