#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

//! Prepared compressed Jacobians and Hessians allocate nothing per call: a counting global
//! allocator around every call. One test function on purpose: the counter is global, and tests
//! of one binary run in parallel threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tangent_ad::problems::{Brusselator2D, BrusselatorState, ExtendedRosenbrock};
use tangent_sparsity::{JacobianMode, SparseHessian, SparseJacobian, SparseJacobianOptions};

struct Counting;

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

#[test]
fn compressed_evaluations_are_allocation_free() {
    let f = BrusselatorState {
        problem: Brusselator2D { n: 16 },
        t: 2.0,
    };
    let x = f.problem.initial_state();
    let mut y = vec![0.0; x.len()];
    for mode in [JacobianMode::Forward, JacobianMode::Reverse] {
        let options = SparseJacobianOptions {
            mode,
            ..Default::default()
        };
        let mut jac = SparseJacobian::<8>::new(&f, &x, &options).unwrap();
        // The first call after prepare must already be allocation-free.
        for _ in 0..2 {
            let n = allocations(|| {
                jac.compute(&f, &x).unwrap();
            });
            assert_eq!(n, 0, "{mode:?} compute");
            let n = allocations(|| {
                jac.compute_with_value(&f, &x, &mut y).unwrap();
            });
            assert_eq!(n, 0, "{mode:?} compute_with_value");
        }
    }
    let r = ExtendedRosenbrock { n: 100 };
    let xr = r.start();
    let mut grad = vec![0.0; 100];
    let mut h = SparseHessian::new(&r, &xr, &Default::default()).unwrap();
    for _ in 0..2 {
        let n = allocations(|| {
            h.compute(&r, &xr).unwrap();
        });
        assert_eq!(n, 0, "compute");
        let n = allocations(|| {
            h.compute_with_gradient(&r, &xr, &mut grad).unwrap();
        });
        assert_eq!(n, 0, "compute_with_gradient");
    }
}
