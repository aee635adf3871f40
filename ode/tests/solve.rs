//! The solve's features: tolerances, backward integration, `saveat`, dense output between steps,
//! events, typed errors with partial solutions, counters, serde, the integrator object.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: indices mirror the maths; unwrap is the assertion

mod common;

use common::*;
use tangent_ad::Scalar;
use tangent_ode::{
    Crossing, Dp5, EventFunction, OdeAlgorithm, OdeError, OdeOptions, OdeProblem, OdeRhs,
    ReturnCode, Solution, Tsit5, Vern7, init, solve,
};

fn opts(rtol: f64, atol: f64) -> OdeOptions {
    OdeOptions {
        rtol: rtol.into(),
        atol: atol.into(),
        ..Default::default()
    }
}

/// The global error of an adaptive solve stays within a modest multiple of the tolerance.
#[test]
fn adaptive_error_follows_tolerance() {
    fn run<A: OdeAlgorithm>(alg: &A) {
        for tol in [1e-4, 1e-6, 1e-8, 1e-10] {
            let prob = OdeProblem::new(Kepler, kepler_initial(0.5), (0.0, 10.0), vec![])
                .with_options(opts(tol, tol));
            let sol = solve(&prob, alg).unwrap();
            let ex = kepler_exact(0.5, 10.0);
            let u = sol.last_state().unwrap();
            let err = (0..4).map(|i| (u[i] - ex[i]).abs()).fold(0.0, f64::max);
            // 300 × tol: local error control does not bound the global error; along an
            // eccentric orbit the phase error grows with time (measured: 5–110 × tol over 1.6
            // revolutions).
            println!(
                "{} tol {tol:e}: error {err:.2e} ({:.1} × tol), {} steps",
                alg.name(),
                err / tol,
                sol.stats().accepted_steps
            );
            assert!(err < 300.0 * tol, "{} tol {tol}: error {err:e}", alg.name());
            assert!(sol.stats().accepted_steps > 3);
        }
    }
    run(&Tsit5::default());
    run(&Dp5::default());
    run(&Vern7::default());
}

/// Per-component tolerances are honoured: a component with a loose tolerance gets a larger
/// error than with a tight one.
#[test]
fn per_component_tolerances() {
    let base = OdeProblem::new(Kepler, kepler_initial(0.5), (0.0, 6.0), vec![]);
    let mut loose = base.clone();
    loose.options = OdeOptions {
        rtol: vec![1e-3, 1e-3, 1e-3, 1e-3].into(),
        atol: 1e-3.into(),
        ..Default::default()
    };
    let mut tight = base.clone();
    tight.options = OdeOptions {
        rtol: vec![1e-9, 1e-9, 1e-9, 1e-9].into(),
        atol: vec![1e-9, 1e-9, 1e-9, 1e-9].into(),
        ..Default::default()
    };
    let sl = solve(&loose, &Tsit5::default()).unwrap();
    let st = solve(&tight, &Tsit5::default()).unwrap();
    assert!(st.stats().accepted_steps > 5 * sl.stats().accepted_steps);
    let ex = kepler_exact(0.5, 6.0);
    let e = |s: &Solution| {
        (0..4)
            .map(|i| (s.last_state().unwrap()[i] - ex[i]).abs())
            .fold(0.0, f64::max)
    };
    assert!(e(&st) < 1e-7 && e(&sl) > 1e-6);
    // Wrong length.
    let mut bad = base.clone();
    bad.options.atol = vec![1e-6; 3].into();
    assert!(matches!(
        solve(&bad, &Tsit5::default()),
        Err(OdeError::DimensionMismatch {
            what: "atol",
            expected: 4,
            found: 3
        })
    ));
}

/// Backward integration: from t = 2 back to t = −1, and a forward–backward round trip.
#[test]
fn backward_integration() {
    for alg in [0, 1, 2] {
        let prob = OdeProblem::new(CosGrowth, vec![cos_growth_exact(2.0)], (2.0, -1.0), vec![])
            .with_options(OdeOptions {
                saveat: vec![2.0, 1.0, 0.0, -0.5, -1.0],
                ..opts(1e-10, 1e-12)
            });
        let sol = match alg {
            0 => solve(&prob, &Tsit5::default()),
            1 => solve(&prob, &Dp5::default()),
            _ => solve(&prob, &Vern7::default()),
        }
        .unwrap();
        assert_eq!(sol.times(), &[2.0, 1.0, 0.0, -0.5, -1.0]);
        for (t, u) in sol.iter() {
            // 1e-9: rtol 1e-10 over 3 time units.
            assert!(
                (u[0] - cos_growth_exact(t)).abs() < 1e-9,
                "t = {t}: {}",
                u[0]
            );
        }
        // Dense output works backwards too.
        for t in [1.7, 0.3, -0.9] {
            assert!((sol.at(t).unwrap()[0] - cos_growth_exact(t)).abs() < 1e-9);
        }
        assert_eq!(sol.start_time(), 2.0);
        assert_eq!(sol.end_time(), -1.0);
        assert!(sol.at(2.5).is_err() && sol.at(-1.5).is_err());
    }
    // Round trip: forward to 5, back to 0.
    let fwd = OdeProblem::new(Kepler, kepler_initial(0.3), (0.0, 5.0), vec![])
        .with_options(opts(1e-11, 1e-13));
    let s1 = solve(&fwd, &Vern7::default()).unwrap();
    let back = OdeProblem::new(
        Kepler,
        s1.last_state().unwrap().to_vec(),
        (5.0, 0.0),
        vec![],
    )
    .with_options(opts(1e-11, 1e-13));
    let s2 = solve(&back, &Vern7::default()).unwrap();
    let u = s2.last_state().unwrap();
    let u0 = kepler_initial(0.3);
    for i in 0..4 {
        // 1e-9: two solves at rtol 1e-11 over 5 time units each.
        assert!((u[i] - u0[i]).abs() < 1e-9);
    }
}

/// `saveat` times are returned exactly, values come from the interpolant, and the end point is
/// the step's own value.
#[test]
fn saveat_times_are_exact() {
    let times: Vec<f64> = (0..=30).map(|k| k as f64 * 0.1).collect();
    let prob = OdeProblem::new(Riccati, vec![1.0], (0.0, 3.0), vec![]).with_options(OdeOptions {
        saveat: times.clone(),
        dense: false,
        ..opts(1e-9, 1e-11)
    });
    // saveat does not change the steps taken.
    let mut every_step = prob.clone();
    every_step.options.saveat.clear();
    assert_eq!(
        solve(&every_step, &Tsit5::default()).unwrap().stats(),
        solve(&prob, &Tsit5::default()).unwrap().stats()
    );
    for sol in [
        solve(&prob, &Tsit5::default()).unwrap(),
        solve(&prob, &Dp5::default()).unwrap(),
        solve(&prob, &Vern7::default()).unwrap(),
    ] {
        assert_eq!(sol.times(), &times[..]);
        assert_eq!(sol.len(), 31);
        for (t, u) in sol.iter() {
            // 1e-8: rtol 1e-9, and the 4th-order interpolants add error of the same size.
            assert!((u[0] - riccati_exact(t)).abs() < 1e-8, "t = {t}");
        }
        assert!(matches!(sol.at(1.0), Err(OdeError::NoDenseOutput)));
    }
    // A span end not in saveat is not saved; the initial point only when asked for.
    let prob2 = OdeProblem::new(Riccati, vec![1.0], (0.0, 3.0), vec![]).with_options(OdeOptions {
        saveat: vec![0.5, 2.5],
        ..opts(1e-9, 1e-11)
    });
    let sol = solve(&prob2, &Tsit5::default()).unwrap();
    assert_eq!(sol.times(), &[0.5, 2.5]);
    assert_eq!(sol.end_time(), 3.0);
    // Invalid saveat.
    for (bad, index) in [
        (vec![0.5, 0.4], 1),
        (vec![-0.1], 0),
        (vec![1.0, 1.0], 1),
        (vec![3.5], 0),
    ] {
        let p = OdeProblem::new(Riccati, vec![1.0], (0.0, 3.0), vec![]).with_options(OdeOptions {
            saveat: bad,
            ..Default::default()
        });
        match solve(&p, &Tsit5::default()) {
            Err(OdeError::InvalidSaveat { index: i, .. }) => assert_eq!(i, index),
            other => panic!("expected InvalidSaveat, got {other:?}"),
        }
    }
}

/// The dense output between steps is as accurate as the steps.
#[test]
fn dense_output_between_steps() {
    fn run<A: OdeAlgorithm>(alg: &A, tol: f64) {
        let prob = OdeProblem::new(Kepler, kepler_initial(0.5), (0.0, 6.0), vec![])
            .with_options(opts(tol, tol));
        let sol = solve(&prob, alg).unwrap();
        let dense = sol.dense_output().unwrap();
        assert_eq!(dense.pieces(), sol.stats().accepted_steps);
        let error_at = |t: f64, u: &[f64]| {
            let ex = kepler_exact(0.5, t);
            (0..4).map(|i| (u[i] - ex[i]).abs()).fold(0.0, f64::max)
        };
        // The error of the step values.
        let node = sol.iter().map(|(t, u)| error_at(t, u)).fold(0.0, f64::max);
        // Midpoints between steps, and 600 uniform points.
        let mids = sol.times().windows(2).map(|w| 0.5 * (w[0] + w[1]));
        let uniform = (0..=600).map(|j| 6.0 * j as f64 / 600.0);
        let dense_err = mids
            .chain(uniform)
            .map(|t| error_at(t, &sol.at(t).unwrap()))
            .fold(0.0, f64::max);
        println!(
            "{} tol {tol:e}: dense error {dense_err:.2e}, step error {node:.2e}",
            alg.name()
        );
        // 1.5 × the steps' error: between steps the interpolant adds its own local error
        // (O(h⁵) for the 4th-order interpolants, O(h⁸) for Vern7's), which at these tolerances
        // is below the global error it inherits from the steps.
        assert!(
            dense_err <= 1.5 * node,
            "{} tol {tol}: dense {dense_err:e} vs steps {node:e}",
            alg.name()
        );
        // At the saved points the interpolant returns the step values.
        for (t, u) in sol.iter() {
            let v = sol.at(t).unwrap();
            for i in 0..4 {
                assert!(
                    (v[i] - u[i]).abs() <= 1e-14 * (1.0 + u[i].abs()),
                    "{} t = {t}",
                    alg.name()
                );
            }
        }
    }
    for tol in [1e-6, 1e-9] {
        run(&Tsit5::default(), tol);
        run(&Dp5::default(), tol);
        run(&Vern7::default(), tol);
    }
    run(&Vern7::default(), 1e-12);
}

/// Zero crossings of `u₁ = cos t` for the oscillator: at π/2 + kπ.
struct CosineZero {
    crossing: Crossing,
    terminal: bool,
}

impl EventFunction for CosineZero {
    fn n_conditions(&self) -> usize {
        2
    }
    fn conditions<S: Scalar>(&self, t: S, u: &[S], _p: &[S], g: &mut [S]) {
        g[0] = u[0];
        // A time event: never crosses before t = 100.
        g[1] = t - 100.0;
    }
    fn crossing(&self, _i: usize) -> Crossing {
        self.crossing
    }
    fn terminal(&self, _i: usize) -> bool {
        self.terminal
    }
}

#[test]
fn events_are_located_to_tolerance() {
    use std::f64::consts::PI;
    fn run<A: OdeAlgorithm>(alg: &A, tol: f64, bound: f64) {
        // Non-terminal, both directions: π/2, 3π/2, 5π/2 in [0, 10].
        let prob = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 10.0), vec![])
            .with_options(opts(tol, tol))
            .with_events(CosineZero {
                crossing: Crossing::Either,
                terminal: false,
            });
        let sol = solve(&prob, alg).unwrap();
        assert_eq!(sol.retcode(), ReturnCode::Success);
        let ev = sol.events();
        assert_eq!(ev.len(), 3);
        for (k, e) in ev.iter().enumerate() {
            let exact = PI / 2.0 + k as f64 * PI;
            assert_eq!(e.index, 0);
            assert!(!e.terminal);
            assert!(
                (e.t - exact).abs() < bound,
                "{}: event {k} at {} vs {exact}",
                alg.name(),
                e.t
            );
            assert!(sol.event_state(k).unwrap()[0].abs() < bound);
        }
        // Rising only, terminal: cos t rises through 0 at 3π/2.
        let prob = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 10.0), vec![])
            .with_options(opts(tol, tol))
            .with_events(CosineZero {
                crossing: Crossing::Rising,
                terminal: true,
            });
        let sol = solve(&prob, alg).unwrap();
        assert_eq!(sol.retcode(), ReturnCode::Terminated);
        assert_eq!(sol.events().len(), 1);
        let te = sol.events()[0].t;
        assert!((te - 1.5 * PI).abs() < bound);
        assert_eq!(sol.end_time(), te);
        assert_eq!(*sol.times().last().unwrap(), te);
        assert!(sol.last_state().unwrap()[0].abs() < bound);
        assert!(sol.at(te).is_ok() && sol.at(te + 0.1).is_err());
    }
    // Bounds: the event time inherits the interpolant's error (~ tol here) divided by
    // |d cos t/dt| = 1 at the zeros.
    run(&Tsit5::default(), 1e-8, 1e-7);
    run(&Dp5::default(), 1e-8, 1e-7);
    run(&Vern7::default(), 1e-8, 1e-7);
    run(&Vern7::default(), 1e-12, 1e-11);
}

/// A right-hand side with a square root that turns NaN after t = 1.
struct SqrtCliff;
impl OdeRhs for SqrtCliff {
    fn rhs<S: Scalar>(&self, t: S, _u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = (S::cst(1.0) - t).sqrt();
    }
}

/// `u' = u²`, `u(0) = 1`: blows up at t = 1.
struct BlowUp;
impl OdeRhs for BlowUp {
    fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
        du[0] = u[0] * u[0];
    }
}

#[test]
fn failures_are_typed_and_keep_the_partial_solution() {
    // NaN in f past t = 1.
    let prob = OdeProblem::new(SqrtCliff, vec![0.0], (0.0, 2.0), vec![]);
    match solve(&prob, &Tsit5::default()) {
        Err(err @ OdeError::NonFiniteRhs { .. }) => {
            let OdeError::NonFiniteRhs {
                t,
                component,
                value,
                ref solution,
            } = err
            else {
                unreachable!()
            };
            assert!(t > 1.0 && t < 1.0 + 1e-6, "t = {t}");
            assert_eq!(component, 0);
            assert!(value.is_nan());
            assert_eq!(solution.retcode(), ReturnCode::NonFiniteRhs);
            // The partial solution reaches (almost) t = 1, with its dense output.
            let end = solution.end_time();
            assert!(end <= 1.0 && end > 1.0 - 1e-6, "end = {end}");
            let exact = |t: f64| (2.0 - 2.0 * (1.0 - t).powf(1.5)) / 3.0;
            assert!((solution.at(0.5).unwrap()[0] - exact(0.5)).abs() < 1e-6);
            assert!(err.partial_solution().is_some());
            assert!(err.to_string().contains("not finite at t = 1"));
        }
        other => panic!("expected NonFiniteRhs, got {other:?}"),
    }
    // NaN at the initial point: fails at once.
    let prob = OdeProblem::new(SqrtCliff, vec![0.0], (2.0, 3.0), vec![]);
    match solve(&prob, &Vern7::default()) {
        Err(OdeError::NonFiniteRhs { t, solution, .. }) => {
            assert_eq!(t, 2.0);
            assert_eq!(solution.stats().accepted_steps, 0);
            assert_eq!(solution.len(), 0);
        }
        other => panic!("expected NonFiniteRhs, got {other:?}"),
    }
    // Blow-up: the step size falls below the minimum near t = 1.
    let prob = OdeProblem::new(BlowUp, vec![1.0], (0.0, 2.0), vec![]).with_options(OdeOptions {
        min_step: 1e-10,
        ..Default::default()
    });
    match solve(&prob, &Dp5::default()) {
        Err(OdeError::StepSizeTooSmall {
            t,
            h,
            min_step,
            solution,
        }) => {
            assert!((t - 1.0).abs() < 1e-5, "t = {t}");
            assert!(h.abs() < min_step && min_step == 1e-10);
            assert_eq!(solution.retcode(), ReturnCode::StepSizeTooSmall);
            assert_eq!(solution.end_time(), t);
            // The last saved state is 1 / (1 − t).
            let u = solution.last_state().unwrap()[0];
            // The numerical blow-up time differs from 1 by about the tolerance.
            assert!(u > 1e6, "u = {u}");
        }
        other => panic!("expected StepSizeTooSmall, got {other:?}"),
    }
    // Step budget.
    let prob = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 100.0), vec![]).with_options(
        OdeOptions {
            max_steps: 5,
            ..Default::default()
        },
    );
    match solve(&prob, &Tsit5::default()) {
        Err(OdeError::MaxStepsReached {
            t,
            max_steps,
            solution,
        }) => {
            assert_eq!(max_steps, 5);
            assert_eq!(solution.stats().accepted_steps, 5);
            assert_eq!(solution.len(), 6);
            assert_eq!(solution.end_time(), t);
            assert_eq!(*solution.times().last().unwrap(), t);
            assert_eq!(solution.retcode(), ReturnCode::MaxStepsReached);
        }
        other => panic!("expected MaxStepsReached, got {other:?}"),
    }
}

#[test]
fn bad_input_is_rejected_before_solving() {
    let good = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 1.0), vec![]);
    let with = |f: &dyn Fn(&mut OdeProblem<Oscillator>)| {
        let mut p = good.clone();
        f(&mut p);
        solve(&p, &Tsit5::default()).unwrap_err()
    };
    assert!(matches!(
        with(&|p| p.u0[1] = f64::NAN),
        OdeError::NonFiniteInput {
            what: "u0",
            index: 1,
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.tspan = (0.0, f64::INFINITY)),
        OdeError::InvalidTimeSpan { .. }
    ));
    assert!(matches!(
        with(&|p| p.options.rtol = (-1e-6).into()),
        OdeError::InvalidOption { what: "rtol", .. }
    ));
    assert!(matches!(
        with(&|p| {
            p.options.rtol = 0.0.into();
            p.options.atol = 0.0.into();
        }),
        OdeError::InvalidOption {
            what: "atol + rtol",
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.options.adaptive = false),
        OdeError::InvalidOption {
            what: "initial_step",
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.options.initial_step = Some(0.0)),
        OdeError::InvalidOption {
            what: "initial_step",
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.options.max_steps = 0),
        OdeError::InvalidOption {
            what: "max_steps",
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.options.max_step = -1.0),
        OdeError::InvalidOption {
            what: "max_step",
            ..
        }
    ));
    assert!(matches!(
        with(&|p| p.options.min_step = f64::NAN),
        OdeError::InvalidOption {
            what: "min_step",
            ..
        }
    ));
    // Errors on input carry no partial solution.
    assert!(with(&|p| p.u0[0] = f64::NAN).partial_solution().is_none());
}

#[test]
fn counters_add_up() {
    let prob = OdeProblem::new(Kepler, kepler_initial(0.5), (0.0, 10.0), vec![]).with_options(
        OdeOptions {
            dense: false,
            ..opts(1e-7, 1e-9)
        },
    );
    // Tsit5 and DP5 (FSAL): f(t0) + the first-step heuristic + 6 per attempt.
    for sol in [
        solve(&prob, &Tsit5::default()).unwrap(),
        solve(&prob, &Dp5::default()).unwrap(),
    ] {
        let s = sol.stats();
        assert!(
            s.rejected_steps > 0,
            "the eccentric orbit forces rejections"
        );
        assert_eq!(
            s.rhs_evaluations,
            2 + 6 * (s.accepted_steps + s.rejected_steps)
        );
        assert_eq!(
            (s.jacobian_evaluations, s.factorizations, s.linear_solves),
            (0, 0, 0)
        );
        assert_eq!(sol.len(), s.accepted_steps + 1);
    }
    // Vern7 without dense output: 9 per attempt, and a new first stage after each accepted step
    // but the last.
    let s = solve(&prob, &Vern7::default()).unwrap().stats();
    assert_eq!(
        s.rhs_evaluations,
        2 + 9 * (s.accepted_steps + s.rejected_steps) + s.accepted_steps - 1
    );
    // With dense output: 5 more per accepted step (the 6th interpolation stage is the next
    // step's first stage; after the last step it is evaluated too).
    let mut dense = prob.clone();
    dense.options.dense = true;
    let s2 = solve(&dense, &Vern7::default()).unwrap().stats();
    assert_eq!(s2.accepted_steps, s.accepted_steps);
    assert_eq!(
        s2.rhs_evaluations,
        s.rhs_evaluations + 5 * s.accepted_steps + 1
    );
}

#[test]
fn fixed_steps_and_zero_span() {
    let prob =
        OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.0, 1.0), vec![]).with_options(OdeOptions {
            adaptive: false,
            initial_step: Some(0.1),
            ..Default::default()
        });
    let sol = solve(&prob, &Tsit5::default()).unwrap();
    assert_eq!(sol.stats().accepted_steps, 10);
    assert_eq!(sol.stats().rejected_steps, 0);
    assert_eq!(*sol.times().last().unwrap(), 1.0);
    let prob = OdeProblem::new(Oscillator, vec![1.0, 0.0], (0.5, 0.5), vec![]);
    let sol = solve(&prob, &Vern7::default()).unwrap();
    assert_eq!(sol.times(), &[0.5]);
    assert_eq!(sol.at(0.5).unwrap(), vec![1.0, 0.0]);
}

#[test]
fn solution_round_trips_through_serde() {
    let prob = OdeProblem::new(Kepler, kepler_initial(0.5), (0.0, 3.0), vec![])
        .with_options(opts(1e-8, 1e-10));
    let sol = solve(&prob, &Tsit5::default()).unwrap();
    let json = serde_json::to_string(&sol).unwrap();
    let back: Solution = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sol);
    assert_eq!(back.at(1.2345).unwrap(), sol.at(1.2345).unwrap());
    // Options serialise too.
    let o: OdeOptions =
        serde_json::from_str(&serde_json::to_string(&prob.options).unwrap()).unwrap();
    assert_eq!(o, prob.options);
}

#[test]
fn integrator_reuses_buffers_and_takes_new_data() {
    let prob = OdeProblem::new(
        tangent_ode::problems::LotkaVolterra,
        vec![1.0, 1.0],
        (0.0, 10.0),
        vec![1.5, 1.0, 3.0, 1.0],
    )
    .with_options(OdeOptions {
        saveat: vec![10.0],
        dense: false,
        ..opts(1e-8, 1e-10)
    });
    let mut it = init(&prob, &Tsit5::default()).unwrap();
    let first = it.solve().unwrap().clone();
    let again = it.solve().unwrap().clone();
    assert_eq!(first, again);
    it.set_parameters(&[1.0, 1.0, 1.0, 1.0]).unwrap();
    it.set_initial_value(&[2.0, 0.5]).unwrap();
    let other = it.solve().unwrap().clone();
    let mut p2 = prob.clone();
    p2.p = vec![1.0, 1.0, 1.0, 1.0];
    p2.u0 = vec![2.0, 0.5];
    assert_eq!(other, solve(&p2, &Tsit5::default()).unwrap());
    assert!(matches!(
        it.set_parameters(&[1.0]),
        Err(OdeError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        it.set_initial_value(&[f64::NAN, 1.0]),
        Err(OdeError::NonFiniteInput { .. })
    ));
}
