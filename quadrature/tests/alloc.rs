//! Prepared integrators allocate nothing once warm: a counting global allocator around repeated
//! calls. One test function on purpose: the counter is global, and test functions of one binary
//! run on several threads.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_ad::Dual;
use tangent_quadrature::integrand::{scalar, vector};
use tangent_quadrature::problems::{P8, p8_first, p8_second};
use tangent_quadrature::{GaussKronrod, Integrator};
use tangent_testing::steady_allocations;

#[global_allocator]
static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;

macro_rules! assert_no_alloc {
    ($what:expr, $body:expr) => {{
        // Warm once (buffers grow to size), then the calls must not allocate.
        $body;
        let n = steady_allocations(|| {
            $body;
        });
        assert_eq!(n, 0, "{} allocated {} times", $what, n);
    }};
}

#[test]
fn prepared_integrators_are_allocation_free() {
    // The counter sees a real allocation in every run.
    assert_eq!(
        steady_allocations(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );
    let alg = P8::algorithm();
    let mut it = Integrator::new(&alg).unwrap();
    let f1 = scalar(|x: f64| (-2.0 * x * x).exp() * (10.0 * x).cos());
    let f2 = scalar(|x: f64| (-2.0 * x).exp() * x * x);
    let fv = vector(3, |x: f64, y: &mut [f64]| {
        y[0] = x * x * (-x * x).exp();
        y[1] = (-x * x).exp();
        y[2] = 1.0 / (1.0 + x * x);
    });
    let mut v = [0.0];
    let mut v3 = [0.0; 3];
    assert_no_alloc!("Integrator finite", {
        it.integrate_into(&f1, 0.0, 1.0, &mut v).unwrap();
    });
    assert_no_alloc!("Integrator semi-infinite", {
        it.integrate_into(&f2, 0.0, f64::INFINITY, &mut v).unwrap();
    });
    let mut itv = Integrator::new(&GaussKronrod::default()).unwrap();
    assert_no_alloc!("Integrator vector, infinite", {
        itv.integrate_into(&fv, f64::NEG_INFINITY, f64::INFINITY, &mut v3)
            .unwrap();
    });

    let i1 = p8_first(alg).unwrap();
    let i2 = p8_second(alg).unwrap();
    let mut p1 = i1.integrator();
    let mut p2 = i2.integrator();
    let mut d1 = [Dual::<1>::default()];
    let mut d3 = [Dual::<3>::default()];
    let mut g = [0.0];
    assert_no_alloc!("ParametricIntegrator::value", {
        p1.value(&[P8::P], &mut v).unwrap();
    });
    assert_no_alloc!("ParametricIntegrator::forward<1>", {
        p1.forward(&[Dual::variable(P8::P, 0)], &mut d1).unwrap();
    });
    assert_no_alloc!("ParametricIntegrator::forward<3> (infinite)", {
        p2.forward(&[Dual::new(P8::P, [1.0, 0.5, -2.0])], &mut d3)
            .unwrap();
    });
    assert_no_alloc!("ParametricIntegrator::value_and_vjp", {
        g[0] = 0.0;
        p2.value_and_vjp(&[P8::P], &[1.0], &mut v, &mut g).unwrap();
    });
}
