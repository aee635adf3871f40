//! Prepared operators allocate nothing: a counting global allocator around every call made
//! through a prepared object.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_ad::operators::*;
use tangent_ad::problems::{ChainedMap, ChainedMapSum, ExtendedRosenbrock};
use tangent_testing::allocations;

#[global_allocator]
static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;

macro_rules! assert_no_alloc {
    ($what:expr, $body:expr) => {{
        // Twice: the first call after prepare must already be allocation-free.
        for _ in 0..2 {
            let n = allocations(|| {
                $body;
            });
            assert_eq!(n, 0, "{} allocated {} times", $what, n);
        }
    }};
}

fn the_counter_counts() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

fn prepared_gradients_do_not_allocate() {
    let f = ExtendedRosenbrock { n: 100 };
    let x = f.start();
    let x2: Vec<f64> = x.iter().map(|v| v * 0.9).collect();
    let mut g = vec![0.0; x.len()];
    let mut p1 = prepare_gradient(&f, &Forward::<8>, &x).unwrap();
    assert_no_alloc!("forward gradient", p1.gradient(&f, &x2, &mut g).unwrap());
    let mut p2 = prepare_gradient(&f, &Reverse, &x).unwrap();
    assert_no_alloc!("reverse gradient", p2.gradient(&f, &x2, &mut g).unwrap());
    let mut p3 = prepare_gradient(&f, &ReverseReplay, &x).unwrap();
    assert_no_alloc!("replay gradient", p3.gradient(&f, &x2, &mut g).unwrap());
    let mut p4 = prepare_gradient(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!("fd gradient", p4.gradient(&f, &x2, &mut g).unwrap());
    let mut p5 = prepare_gradient(&f, &Auto, &x).unwrap();
    assert_no_alloc!("auto gradient", p5.gradient(&f, &x2, &mut g).unwrap());
}

fn prepared_jacobians_jvps_vjps_do_not_allocate() {
    let f = ChainedMap;
    let x = f.start();
    let v = vec![0.5; 10];
    let (mut y, mut out, mut jac) = (vec![0.0; 10], vec![0.0; 10], vec![0.0; 100]);
    let mut a = prepare_jacobian(&f, &Forward::<4>, &x).unwrap();
    assert_no_alloc!("forward jacobian", a.jacobian(&f, &x, &mut jac).unwrap());
    let mut b = prepare_jacobian(&f, &Reverse, &x).unwrap();
    assert_no_alloc!(
        "reverse jacobian",
        b.value_and_jacobian(&f, &x, &mut y, &mut jac).unwrap()
    );
    let mut c = prepare_jacobian(&f, &ReverseReplay, &x).unwrap();
    assert_no_alloc!("replay jacobian", c.jacobian(&f, &x, &mut jac).unwrap());
    let mut d = prepare_jacobian(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!("fd jacobian", d.jacobian(&f, &x, &mut jac).unwrap());
    let mut e = prepare_jacobian(&f, &Auto, &x).unwrap();
    assert_no_alloc!("auto jacobian", e.jacobian(&f, &x, &mut jac).unwrap());

    let mut j1 = prepare_jvp(&f, &Forward::<1>, &x).unwrap();
    assert_no_alloc!(
        "forward jvp",
        j1.value_and_jvp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
    let mut j2 = prepare_jvp(&f, &Reverse, &x).unwrap();
    assert_no_alloc!(
        "tape jvp",
        j2.value_and_jvp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
    let mut j3 = prepare_jvp(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!(
        "fd jvp",
        j3.value_and_jvp(&f, &x, &v, &mut y, &mut out).unwrap()
    );

    let mut v1 = prepare_vjp(&f, &Reverse, &x).unwrap();
    assert_no_alloc!(
        "reverse vjp",
        v1.value_and_vjp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
    let mut v2 = prepare_vjp(&f, &ReverseReplay, &x).unwrap();
    assert_no_alloc!(
        "replay vjp",
        v2.value_and_vjp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
    let mut v3 = prepare_vjp(&f, &Forward::<4>, &x).unwrap();
    assert_no_alloc!(
        "forward vjp",
        v3.value_and_vjp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
    let mut v4 = prepare_vjp(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!(
        "fd vjp",
        v4.value_and_vjp(&f, &x, &v, &mut y, &mut out).unwrap()
    );
}

fn prepared_second_order_does_not_allocate() {
    let f = ChainedMapSum;
    let x = ChainedMap.start();
    let v = vec![0.25; 10];
    let (mut out, mut h) = (vec![0.0; 10], vec![0.0; 100]);
    let mut a = prepare_hessian(&f, &Forward::<4>, &x).unwrap();
    assert_no_alloc!("forward hessian", a.hessian(&f, &x, &mut h).unwrap());
    let mut b = prepare_hessian(&f, &Reverse, &x).unwrap();
    assert_no_alloc!("reverse hessian", b.hessian(&f, &x, &mut h).unwrap());
    let mut c = prepare_hessian(&f, &ReverseReplay, &x).unwrap();
    assert_no_alloc!("replay hessian", c.hessian(&f, &x, &mut h).unwrap());
    let mut d = prepare_hessian(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!("fd hessian", d.hessian(&f, &x, &mut h).unwrap());
    let mut e = prepare_hvp(&f, &Forward::<4>, &x).unwrap();
    assert_no_alloc!("forward hvp", e.hvp(&f, &x, &v, &mut out).unwrap());
    let mut g = prepare_hvp(&f, &Reverse, &x).unwrap();
    assert_no_alloc!("reverse hvp", g.hvp(&f, &x, &v, &mut out).unwrap());
    let mut k = prepare_hvp(&f, &ReverseReplay, &x).unwrap();
    assert_no_alloc!("replay hvp", k.hvp(&f, &x, &v, &mut out).unwrap());
    let mut l = prepare_hvp(&f, &FiniteDifferences::default(), &x).unwrap();
    assert_no_alloc!("fd hvp", l.hvp(&f, &x, &v, &mut out).unwrap());
}

fn prepared_derivatives_do_not_allocate() {
    let f = tangent_ad::vector_fn!(2; |x, y| {
        y[0] = x[0].sin();
        y[1] = x[0].exp() * x[0];
    });
    let (mut y, mut dy) = ([0.0; 2], [0.0; 2]);
    let mut a = prepare_derivative(&f, &Forward::<1>, 0.5).unwrap();
    assert_no_alloc!(
        "forward derivative",
        a.value_and_derivative(&f, 0.7, &mut y, &mut dy).unwrap()
    );
    let mut b = prepare_derivative(&f, &Reverse, 0.5).unwrap();
    assert_no_alloc!(
        "reverse derivative",
        b.value_and_derivative(&f, 0.7, &mut y, &mut dy).unwrap()
    );
    let mut c = prepare_derivative(&f, &FiniteDifferences::default(), 0.5).unwrap();
    assert_no_alloc!(
        "fd derivative",
        c.value_and_derivative(&f, 0.7, &mut y, &mut dy).unwrap()
    );
}

/// One test function, so no other test thread allocates while the counter runs.
#[test]
fn all_prepared_operators_are_allocation_free() {
    the_counter_counts();
    prepared_gradients_do_not_allocate();
    prepared_jacobians_jvps_vjps_do_not_allocate();
    prepared_second_order_does_not_allocate();
    prepared_derivatives_do_not_allocate();
}
