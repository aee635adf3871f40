//! The stiff methods allocate nothing per step after `init`: repeated solves through a prepared
//! [`Integrator`](tangent_ode::Integrator), with Jacobians (dense and sparse coloured AD),
//! factorisations (dense LU and the sparse LU's numeric refactorisation) and Newton iterations,
//! counted by a global allocator. One `#[test]` function: the counter is global.

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_ode::problems::{Brusselator, Robertson};
use tangent_ode::{
    Bdf, JacobianMethod, OdeAlgorithm, OdeOptions, OdeProblem, OdeRhs, Rodas5P, TrBdf2, init,
};
use tangent_testing::{CountingAllocator, fewest_allocations};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations of a second solve through a prepared integrator (the first sizes nothing with
/// `saveat` and no dense output, but the solve is repeated to include any lazy set-up).
fn second_solve_allocations<F: OdeRhs, A: OdeAlgorithm>(prob: &OdeProblem<F>, alg: &A) -> usize {
    fewest_allocations(
        || {
            let mut it = init(prob, alg).unwrap();
            it.solve().unwrap();
            it
        },
        |it| {
            let s = it.solve().unwrap().stats();
            assert!(s.accepted_steps > 10 && s.jacobian_evaluations > 0);
        },
    )
}

#[test]
fn stiff_solves_do_not_allocate() {
    // P2 (dense Jacobian, dense LU), output at the 91 observation times.
    let p2 = Robertson::problem().with_options(OdeOptions {
        saveat: Robertson::observation_times(),
        dense: false,
        ..Robertson::problem().options
    });
    assert_eq!(
        second_solve_allocations(&p2, &Rodas5P::default()),
        0,
        "Rodas5P P2"
    );
    assert_eq!(second_solve_allocations(&p2, &Bdf::default()), 0, "BDF P2");
    assert_eq!(
        second_solve_allocations(&p2, &TrBdf2::default()),
        0,
        "TR-BDF2 P2"
    );

    // P3 at N = 8 (128 states) across the forcing switch: sparse coloured Jacobian and the sparse
    // LU's refactorisation, and the restart at the tstop.
    let b = Brusselator::new(8);
    let p3 = OdeProblem::new(
        b,
        b.grid.initial_state(),
        (0.0, Brusselator::T_END),
        Brusselator::PARAMS.to_vec(),
    )
    .with_options(OdeOptions {
        dense: false,
        saveat: vec![1.0, Brusselator::T_END],
        tstops: vec![Brusselator::FORCING_ON],
        ..Default::default()
    });
    let sparse = Bdf {
        jacobian: JacobianMethod::Sparse,
        ..Default::default()
    };
    assert_eq!(second_solve_allocations(&p3, &sparse), 0, "BDF P3 sparse");
    let rodas = Rodas5P {
        jacobian: JacobianMethod::Sparse,
        ..Default::default()
    };
    assert_eq!(
        second_solve_allocations(&p3, &rodas),
        0,
        "Rodas5P P3 sparse"
    );
    let trbdf2 = TrBdf2 {
        jacobian: JacobianMethod::Sparse,
        ..Default::default()
    };
    assert_eq!(
        second_solve_allocations(&p3, &trbdf2),
        0,
        "TR-BDF2 P3 sparse"
    );
    let dense = Bdf {
        jacobian: JacobianMethod::Dense,
        ..Default::default()
    };
    assert_eq!(second_solve_allocations(&p3, &dense), 0, "BDF P3 dense");
}
