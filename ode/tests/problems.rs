//! The problem zoo against `problems/oracles.json` and P1 against a tight-tolerance reference.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: indices mirror the maths; unwrap is the assertion

use tangent_ad::VectorFunction;
use tangent_ad::problems::BrusselatorState;
use tangent_ode::problems::{Brusselator, LotkaVolterra, Robertson};
use tangent_ode::{Dp5, OdeAlgorithm, OdeOptions, OdeRhs, Solution, Tsit5, Vern7, solve};

fn oracles() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../problems/oracles.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn oracle_constants_match_the_file() {
    let o = oracles();
    assert_eq!(
        o["P1"]["loss"].as_f64().unwrap(),
        LotkaVolterra::ORACLE_LOSS
    );
    for i in 0..6 {
        assert_eq!(
            o["P1"]["grad_p_u0"][i].as_f64().unwrap(),
            LotkaVolterra::ORACLE_GRADIENT[i]
        );
    }
    assert_eq!(
        o["P2"]["La_u3_T"].as_f64().unwrap(),
        Robertson::ORACLE_U3_END
    );
    assert_eq!(
        o["P2"]["Lb_sum_u3_tk"].as_f64().unwrap(),
        Robertson::ORACLE_SUM_U3
    );
    for i in 0..3 {
        assert_eq!(
            o["P2"]["dLa_dk"][i].as_f64().unwrap(),
            Robertson::ORACLE_DU3_END_DK[i]
        );
        assert_eq!(
            o["P2"]["dLb_dk"][i].as_f64().unwrap(),
            Robertson::ORACLE_DSUM_U3_DK[i]
        );
        assert_eq!(
            o["P3"]["N32"]["dL_dtheta"][i].as_f64().unwrap(),
            Brusselator::ORACLE_N32_DL_DTHETA[i]
        );
    }
    assert_eq!(
        o["P3"]["N32"]["L_sum_all"].as_f64().unwrap(),
        Brusselator::ORACLE_N32_SUM
    );
    assert_eq!(
        o["P3"]["N32"]["L_sum_u"].as_f64().unwrap(),
        Brusselator::ORACLE_N32_SUM_U
    );
    assert_eq!(
        o["P3"]["N32"]["L_sum_v"].as_f64().unwrap(),
        Brusselator::ORACLE_N32_SUM_V
    );
}

fn p1(rtol: f64, atol: f64) -> tangent_ode::OdeProblem<LotkaVolterra> {
    LotkaVolterra::problem().with_options(OdeOptions {
        rtol: rtol.into(),
        atol: atol.into(),
        saveat: LotkaVolterra::observation_times(),
        dense: false,
        ..Default::default()
    })
}

/// P1's tight-tolerance reference: Vern7 at rtol = atol = 1e-13.
fn p1_reference() -> Solution {
    solve(&p1(1e-13, 1e-13), &Vern7::default()).unwrap()
}

#[test]
fn p1_reference_matches_the_oracle() {
    let reference = p1_reference();
    assert_eq!(reference.times(), &LotkaVolterra::observation_times()[..]);
    let loss = LotkaVolterra::loss(&reference);
    let rel = (loss - LotkaVolterra::ORACLE_LOSS).abs() / LotkaVolterra::ORACLE_LOSS;
    println!(
        "P1 reference loss {loss} vs oracle {}: relative {rel:.1e}",
        LotkaVolterra::ORACLE_LOSS
    );
    // 1e-11: rtol 1e-13 over 10 time units (a few periods) against an oracle good to ~1e-14.
    assert!(rel < 1e-11);
    // The other methods at tight tolerance agree with it too.
    for sol in [
        solve(&p1(1e-12, 1e-12), &Tsit5::default()).unwrap(),
        solve(&p1(1e-12, 1e-12), &Dp5::default()).unwrap(),
    ] {
        let rel = (LotkaVolterra::loss(&sol) - LotkaVolterra::ORACLE_LOSS).abs()
            / LotkaVolterra::ORACLE_LOSS;
        // 1e-9: rtol 1e-12, global error growth of 10–100 × (see the adaptive tests).
        assert!(rel < 1e-9, "rel {rel:e}");
    }
}

#[test]
fn p1_against_the_tight_reference() {
    let reference = p1_reference();
    fn check<A: OdeAlgorithm>(alg: &A, reference: &Solution) {
        for rtol in [1e-4, 1e-6, 1e-8, 1e-10] {
            let sol = solve(&p1(rtol, rtol * 1e-2), alg).unwrap();
            let err = sol
                .states()
                .iter()
                .zip(reference.states())
                .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                .fold(0.0, f64::max);
            let loss_rel = (LotkaVolterra::loss(&sol) - LotkaVolterra::ORACLE_LOSS).abs()
                / LotkaVolterra::ORACLE_LOSS;
            println!(
                "P1 {} rtol {rtol:e}: max error {err:.2e} ({:.1} × rtol), loss error {loss_rel:.1e}, {} steps, {} f",
                alg.name(),
                err / rtol,
                sol.stats().accepted_steps,
                sol.stats().rhs_evaluations
            );
            // 100 × rtol: global error over ~3 periods of the cycle (measured ≤ 40 × rtol).
            assert!(
                err < 100.0 * rtol,
                "{} rtol {rtol:e}: error {err:e}",
                alg.name()
            );
            assert!(loss_rel < 100.0 * rtol);
        }
    }
    check(&Tsit5::default(), &reference);
    check(&Dp5::default(), &reference);
    check(&Vern7::default(), &reference);
}

#[test]
fn p2_rhs_conserves_mass_and_short_explicit_solve() {
    let prob = Robertson::problem();
    let mut du = [0.0; 3];
    Robertson.rhs(0.0, &[0.3, 2e-5, 0.7], &Robertson::PARAMS, &mut du);
    assert!((du[0] + du[1] + du[2]).abs() < 1e-15);
    // The stiff fast transient on [0, 0.01] with an explicit method: mass stays 1.
    let mut short = prob.clone();
    short.tspan = (0.0, 0.01);
    let sol = solve(&short, &Tsit5::default()).unwrap();
    let u = sol.last_state().unwrap();
    assert!((u.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(u[1] > 0.0 && u[1] < 1e-4);
    assert_eq!(Robertson::observation_times().len(), 91);
    assert_eq!(Robertson::observation_times()[0], 1e-4);
}

#[test]
fn p3_rhs_is_tangent_ad_brusselator() {
    let b = Brusselator::new(8);
    let u0 = b.grid.initial_state();
    let mut du = vec![0.0; u0.len()];
    let mut du_ref = vec![0.0; u0.len()];
    for t in [0.5, 2.0] {
        b.rhs(t, &u0, &Brusselator::PARAMS, &mut du);
        BrusselatorState { problem: b.grid, t }.eval(&u0, &mut du_ref);
        assert_eq!(du, du_ref);
    }
}
