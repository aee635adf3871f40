#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

//! Prepared compressed Jacobians and Hessians allocate nothing per call: a counting global
//! allocator around every call. One test function on purpose: the counter is global, and tests
//! of one binary run in parallel threads.

use tangent_ad::problems::{Brusselator2D, BrusselatorState, ExtendedRosenbrock};
use tangent_sparsity::{JacobianMode, SparseHessian, SparseJacobian, SparseJacobianOptions};
use tangent_testing::fewest_allocations;

#[global_allocator]
static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;

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
        // The first calls after prepare must already be allocation-free; the fewest over three
        // fresh preparations absorbs a stray allocation of the harness's thread (the counter is
        // global), while an allocation of the calls themselves shows in every run.
        let n = fewest_allocations(
            || SparseJacobian::<8>::new(&f, &x, &options).unwrap(),
            |jac| {
                for _ in 0..2 {
                    jac.compute(&f, &x).unwrap();
                    jac.compute_with_value(&f, &x, &mut y).unwrap();
                }
            },
        );
        assert_eq!(n, 0, "{mode:?} compute / compute_with_value");
    }
    let r = ExtendedRosenbrock { n: 100 };
    let xr = r.start();
    let mut grad = vec![0.0; 100];
    let n = fewest_allocations(
        || SparseHessian::new(&r, &xr, &Default::default()).unwrap(),
        |h| {
            for _ in 0..2 {
                h.compute(&r, &xr).unwrap();
                h.compute_with_gradient(&r, &xr, &mut grad).unwrap();
            }
        },
    );
    assert_eq!(n, 0, "compute / compute_with_gradient");
}
