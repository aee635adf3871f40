//! Repeated solves through a prepared [`Integrator`](tangent_ode::Integrator) allocate nothing:
//! a counting global allocator around every solve after `init`.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tangent_ad::Scalar;
use tangent_ode::problems::LotkaVolterra;
use tangent_ode::{Crossing, Dp5, EventFunction, OdeOptions, Tsit5, Vern7, init};

struct Counting;

/// Whether allocations are being counted, and how many were seen. The binary has a single test
/// function, so no other test allocates while counting is on.
static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator; only adds an atomic counter update.
unsafe impl GlobalAlloc for Counting {
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
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Number of allocations made while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    COUNT.load(Ordering::SeqCst)
}

/// The fewest allocations over three runs of `prepare` (not counted) then `f` (counted). The
/// counter is global, so the test harness's own thread can, rarely, allocate while a solve is
/// being counted; the solves are deterministic, so an allocation of theirs shows in every run.
fn fewest_allocations<T>(mut prepare: impl FnMut() -> T, mut f: impl FnMut(&mut T)) -> usize {
    (0..3)
        .map(|_| {
            let mut state = prepare();
            allocations(|| f(&mut state))
        })
        .min()
        .unwrap_or(0)
}

/// Prey population crossing 2 upwards (non-terminal: recorded, the solve goes on).
struct PreyAboveTwo;
impl EventFunction for PreyAboveTwo {
    fn n_conditions(&self) -> usize {
        1
    }
    fn conditions<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], g: &mut [S]) {
        g[0] = u[0] - 2.0;
    }
    fn crossing(&self, _i: usize) -> Crossing {
        Crossing::Rising
    }
    fn terminal(&self, _i: usize) -> bool {
        false
    }
}

#[test]
fn repeated_solves_do_not_allocate() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);

    // saveat, no dense output: storage is reserved at init, so even the first solve is free.
    let saveat = OdeOptions {
        saveat: LotkaVolterra::observation_times(),
        dense: false,
        ..Default::default()
    };
    let prob = LotkaVolterra::problem().with_options(saveat.clone());
    let n = fewest_allocations(
        || init(&prob, &Tsit5::default()).unwrap(),
        |it| {
            it.solve().unwrap();
        },
    );
    assert_eq!(n, 0, "Tsit5 saveat: first solve allocated {n} times");
    let p2 = [1.4, 1.1, 2.9, 1.05];
    let n = fewest_allocations(
        || {
            let mut it = init(&prob, &Tsit5::default()).unwrap();
            it.solve().unwrap();
            it
        },
        |it| {
            it.set_parameters(&p2).unwrap();
            it.set_initial_value(&[1.2, 0.8]).unwrap();
            it.solve().unwrap();
        },
    );
    assert_eq!(n, 0, "Tsit5 saveat with new p, u0: {n} allocations");
    let n = fewest_allocations(
        || init(&prob, &Vern7::default()).unwrap(),
        |it| {
            it.solve().unwrap();
        },
    );
    assert_eq!(n, 0, "Vern7 saveat: {n} allocations");

    // Every step saved with dense output and a non-terminal event: the first solve sizes the
    // storage, later ones reuse it.
    let dense = LotkaVolterra::problem()
        .with_options(OdeOptions {
            rtol: 1e-10.into(),
            atol: 1e-12.into(),
            ..Default::default()
        })
        .with_events(PreyAboveTwo);
    let mut it = init(&dense, &Dp5::default()).unwrap();
    it.solve().unwrap();
    assert!(
        it.solution().stats().accepted_steps > 128,
        "exceeds the initial reserve"
    );
    assert!(!it.solution().events().is_empty());
    let n = fewest_allocations(
        || (),
        |_| {
            it.solve().unwrap();
        },
    );
    assert_eq!(n, 0, "DP5 dense + events: {n} allocations");
    // reserve_steps makes the first solve free too.
    let n = fewest_allocations(
        || {
            let mut it = init(&dense, &Vern7::default()).unwrap();
            it.reserve_steps(1000);
            it
        },
        |it| {
            it.solve().unwrap();
        },
    );
    assert_eq!(n, 0, "Vern7 dense after reserve_steps: {n} allocations");
}
