//! Test support shared by the test suites of every tangent crate (a dev-dependency only).
//!
//! * [`CountingAllocator`] and [`allocations`]: prove that a prepared hot path allocates nothing.
//!   The counter is global, so a test binary that uses it should run one `#[test]` function
//!   (test functions of one binary run on several threads); [`fewest_allocations`] also absorbs
//!   the rare allocation of the test harness's own thread.
//! * [`oracles`]: the oracle values of the reference problems (`problems/oracles.json`).
//!
//! ```
//! // In a test binary:
//! // #[global_allocator]
//! // static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;
//! let n = tangent_testing::allocations(|| {
//!     let v: Vec<u8> = Vec::with_capacity(16);
//!     drop(std::hint::black_box(v));
//! });
//! // Without the allocator installed nothing is counted.
//! assert_eq!(n, 0);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A global allocator that counts allocations and reallocations while counting is on. Install it
/// with `#[global_allocator]` in a test binary. (A `thread_local!` inside a global allocator
/// crashed rustc's LLVM here, hence the global atomics.)
pub struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator; only adds an atomic counter update,
// which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Number of allocations (and reallocations) made while `f` runs, when [`CountingAllocator`] is
/// the global allocator (0 otherwise).
pub fn allocations(f: impl FnOnce()) -> usize {
    COUNT.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    COUNT.load(Ordering::SeqCst)
}

/// The fewest allocations over three runs of `prepare` (not counted) then `f` (counted): a
/// deterministic allocation of `f` shows in every run, a stray one of another thread does not.
pub fn fewest_allocations<T>(mut prepare: impl FnMut() -> T, mut f: impl FnMut(&mut T)) -> usize {
    (0..3)
        .map(|_| {
            let mut state = prepare();
            allocations(|| f(&mut state))
        })
        .min()
        .unwrap_or(0)
}

/// The fewest allocations over three runs of `f` (each counted): for a warm hot path, whose
/// own allocations repeat in every run, while a stray allocation of another thread (the test
/// harness's) lands in one run at most. (A stray allocation failed CI once in
/// `quadrature/tests/alloc.rs`, which had asserted each single run.)
pub fn steady_allocations(mut f: impl FnMut()) -> usize {
    (0..3).map(|_| allocations(&mut f)).min().unwrap_or(0)
}

/// The oracle values of the reference problems, `problems/oracles.json`, parsed.
///
/// # Panics
///
/// When the file is missing or malformed (a broken checkout: the tests cannot run).
pub fn oracles() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../problems/oracles.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid JSON: {e}"))
}

/// The numbers of a JSON array (`[1.0, 2.5, …]`).
///
/// # Panics
///
/// When `v` is not an array of numbers.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, found {v}"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("expected a number, found {x}"))
        })
        .collect()
}
