//! Prepare, then execute: after `init`, `NonlinearCache::solve` allocates nothing — for every
//! algorithm, with dense and sparse coloured Jacobians, dense and sparse factorisations, and with
//! new parameters between solves. A counting global allocator around each call (one `#[test]`
//! in this binary: the counter is global).

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_nonlinsolve::problems::{Bard, Bratu, BroydenTridiagonal, HelicalValley};
use tangent_nonlinsolve::*;
use tangent_testing::fewest_allocations;

#[global_allocator]
static GLOBAL: tangent_testing::CountingAllocator = tangent_testing::CountingAllocator;

/// `init` (not counted), one warm-up solve (not counted), then a counted solve; the fewest
/// allocations over three runs (a stray allocation of another thread shows in one run only).
fn assert_solve_does_not_allocate<F: NonlinearFunction + Clone>(
    what: &str,
    problem: &NonlinearProblem<F>,
    algorithm: Algorithm,
    next_parameters: Option<&[f64]>,
) {
    let count = fewest_allocations(
        || {
            let mut cache = init(problem, &algorithm).unwrap();
            cache.solve().unwrap();
            cache
        },
        |cache| {
            if let Some(p) = next_parameters {
                cache.set_parameters(p).unwrap();
            }
            let s = cache.solve().unwrap();
            assert!(s.reason.is_success());
        },
    );
    assert_eq!(
        count,
        0,
        "{what} with {} allocated {count} times",
        algorithm.name()
    );
}

fn algorithms() -> Vec<Algorithm> {
    vec![
        NewtonRaphson::default().into(),
        NewtonRaphson {
            reuse: JacobianReuse::up_to(3),
            ..Default::default()
        }
        .into(),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
        Broyden::default().into(),
    ]
}

fn the_counter_counts() {
    assert_eq!(
        tangent_testing::allocations(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );
}

fn dense_square_systems() {
    let helical = NonlinearProblem::new(HelicalValley, HelicalValley.start(), vec![]);
    for alg in algorithms() {
        assert_solve_does_not_allocate("helical valley (dense forward)", &helical, alg, None);
    }
    for jacobian in [
        JacobianMethod::FiniteDifferences(DifferenceScheme::Forward),
        JacobianMethod::FiniteDifferences(DifferenceScheme::Central),
    ] {
        let alg = NewtonRaphson {
            jacobian,
            ..Default::default()
        };
        assert_solve_does_not_allocate(
            "helical valley (finite differences)",
            &helical,
            alg.into(),
            None,
        );
    }
}

fn sparse_square_systems() {
    // Broyden tridiagonal, n = 200: sparse coloured Jacobian (3 colours) and sparse LU.
    let f = BroydenTridiagonal { n: 200 };
    let prob = NonlinearProblem::new(f, f.start(), vec![]);
    for alg in algorithms() {
        assert_eq!(
            init(&prob, &alg).unwrap().jacobian_kind(),
            "sparse coloured"
        );
        assert_solve_does_not_allocate("Broyden tridiagonal (sparse)", &prob, alg, None);
    }
    // P7 on a 16 × 16 grid with a new λ before the counted solve.
    let b = Bratu::new(16);
    let prob = NonlinearProblem::new(b, b.start(), vec![Bratu::LAMBDA]);
    assert_solve_does_not_allocate(
        "Bratu 16 × 16 (sparse, new λ)",
        &prob,
        NewtonRaphson::default().into(),
        Some(&[5.0]),
    );
}

fn least_squares() {
    let prob = NonlinearProblem::new(Bard, Bard.start(), vec![]);
    for alg in [
        Algorithm::from(NewtonRaphson::default()),
        TrustRegion::default().into(),
        LevenbergMarquardt::default().into(),
    ] {
        assert_solve_does_not_allocate("Bard (least squares, QR)", &prob, alg, None);
    }
}

#[test]
fn solves_after_init_do_not_allocate() {
    the_counter_counts();
    dense_square_systems();
    sparse_square_systems();
    least_squares();
}
