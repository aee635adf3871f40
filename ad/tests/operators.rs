//! Every operator in every backend: against Ridders finite differences (the `check` module),
//! against each other, and against the P6 oracle values.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::check::{
    check_gradient, check_hessian, check_hvp, check_jacobian, check_jvp, check_vjp,
};
use tangent_ad::operators::*;
use tangent_ad::problems::{ChainedMap, ChainedMapSum, ExtendedRosenbrock};
use tangent_ad::{AdError, AsVector, ScalarFunction, VectorFunction, scalar_fn, vector_fn};
use tangent_testing::{floats, oracles};

/// AD against Ridders differences: Ridders reaches about 1e-10 relative on these smooth
/// functions; 1e-8 leaves two digits of margin.
const AD_VS_RIDDERS: f64 = 1e-8;
/// Plain central differences (the FiniteDifferences backend) against Ridders: ε^{2/3} ≈ 4e-11
/// times the third derivative's scale; 1e-5 covers the chained map's large derivatives.
const FD_VS_RIDDERS: f64 = 1e-5;
/// Second-order central differences: error about ε^{1/2} ≈ 1.5e-8 relative times curvature scale.
const FD2_VS_RIDDERS: f64 = 1e-4;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// A function with transcendental functions and a division, 5 inputs (not a multiple of the chunk).
fn mixed() -> impl ScalarFunction {
    scalar_fn!(|x| {
        let a = x[0].sin() * x[1].exp() + x[2].powi(3) / (x[3] * x[3] + 1.0);
        let b = (x[4] * x[0]).tanh() + x[1].hypot(x[2]) + x[3].atan2(x[4]);
        a * b + (x[2] * 0.5).ln_1p() * x[4].sqrt()
    })
}

const XM: [f64; 5] = [0.3, -0.4, 0.8, 1.1, 0.6];

#[test]
fn gradients_all_backends_against_ridders() {
    let f = mixed();
    let x = XM.to_vec();
    for (name, r) in [
        ("forward<1>", check_gradient(&f, &Forward::<1>, &x)),
        ("forward<4>", check_gradient(&f, &Forward::<4>, &x)),
        ("forward<8>", check_gradient(&f, &Forward::<8>, &x)),
        ("reverse", check_gradient(&f, &Reverse, &x)),
        ("replay", check_gradient(&f, &ReverseReplay, &x)),
        ("auto", check_gradient(&f, &Auto, &x)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(AD_VS_RIDDERS), "{name}: {r}");
    }
    let r = check_gradient(&f, &FiniteDifferences::default(), &x).unwrap();
    assert!(r.passes(FD_VS_RIDDERS), "fd: {r}");
}

#[test]
fn forward_and_reverse_gradients_agree_to_rounding() {
    let f = mixed();
    let mut gf = [0.0; 5];
    let mut gr = [0.0; 5];
    let vf = value_and_gradient(&f, &Forward::<2>, &XM, &mut gf).unwrap();
    let vr = value_and_gradient(&f, &Reverse, &XM, &mut gr).unwrap();
    assert_eq!(vf, vr);
    for i in 0..5 {
        // 1e-14: same partials, different association order.
        assert!(
            (gf[i] - gr[i]).abs() <= 1e-14 * gf[i].abs().max(1.0),
            "{i}: {gf:?} {gr:?}"
        );
    }
}

#[test]
fn replay_follows_new_points() {
    let f = mixed();
    let mut prep = prepare_gradient(&f, &ReverseReplay, &XM).unwrap();
    let mut fwd = prepare_gradient(&f, &Forward::<8>, &XM).unwrap();
    for k in 0..20 {
        let x: Vec<f64> = XM
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.01 * (k * (i + 1)) as f64)
            .collect();
        let (mut g1, mut g2) = ([0.0; 5], [0.0; 5]);
        let v1 = prep.value_and_gradient(&f, &x, &mut g1).unwrap();
        let v2 = fwd.value_and_gradient(&f, &x, &mut g2).unwrap();
        assert_eq!(
            v1, v2,
            "replayed value must be bit-identical to f64 evaluation"
        );
        for i in 0..5 {
            assert!((g1[i] - g2[i]).abs() <= 1e-14 * g2[i].abs().max(1.0));
        }
    }
}

#[test]
fn jacobians_all_backends_against_ridders_and_oracle() {
    let g = ChainedMap;
    let x = g.start();
    let oracle = oracles();
    let jac_oracle: Vec<Vec<f64>> = oracle["P6"]["chain10"]["jac"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    let g_oracle = floats(&oracle["P6"]["chain10"]["G"]);
    let n = ChainedMap::DIM;
    let scale = jac_oracle
        .iter()
        .flatten()
        .fold(0.0f64, |a, b| a.max(b.abs()));
    macro_rules! run {
        ($name:expr, $b:expr) => {{
            let r = check_jacobian(&g, &$b, &x).unwrap();
            assert!(r.passes(AD_VS_RIDDERS), "{}: {r}", $name);
            let mut y = vec![0.0; n];
            let mut j = vec![0.0; n * n];
            value_and_jacobian(&g, &$b, &x, &mut y, &mut j).unwrap();
            for i in 0..n {
                // The oracle is an independent evaluation: agreement to 1e-13 relative (G) and
                // 1e-13 of the Jacobian's scale (entries span 12 orders of magnitude).
                assert!(rel(y[i], g_oracle[i]) < 1e-12, "{} G[{i}]", $name);
                for c in 0..n {
                    assert!(
                        (j[i + c * n] - jac_oracle[i][c]).abs() < 1e-13 * scale,
                        "{} J[{i},{c}] = {} vs {}",
                        $name,
                        j[i + c * n],
                        jac_oracle[i][c]
                    );
                }
            }
        }};
    }
    run!("forward<3>", Forward::<3>);
    run!("forward<10>", Forward::<10>);
    run!("reverse", Reverse);
    run!("replay", ReverseReplay);
    run!("auto", Auto);
    let r = check_jacobian(&g, &FiniteDifferences::default(), &x).unwrap();
    assert!(r.passes(FD_VS_RIDDERS), "fd: {r}");
}

#[test]
fn jvp_vjp_dot_product_test() {
    // ⟨J v, w⟩ = ⟨v, Jᵀ w⟩ across modes.
    let g = ChainedMap;
    let x = g.start();
    let v: Vec<f64> = (0..10).map(|i| (i as f64 * 0.7).sin()).collect();
    let w: Vec<f64> = (0..10).map(|i| (i as f64 * 1.3).cos()).collect();
    let mut jv = vec![0.0; 10];
    let mut jtw = vec![0.0; 10];
    jvp(&g, &Forward::<1>, &x, &v, &mut jv).unwrap();
    vjp(&g, &Reverse, &x, &w, &mut jtw).unwrap();
    let lhs: f64 = jv.iter().zip(&w).map(|(a, b)| a * b).sum();
    let rhs: f64 = v.iter().zip(&jtw).map(|(a, b)| a * b).sum();
    assert!(rel(lhs, rhs) < 1e-13, "{lhs} vs {rhs}");
    for (name, r) in [
        ("jvp forward", check_jvp(&g, &Forward::<1>, &x, &v)),
        ("jvp reverse", check_jvp(&g, &Reverse, &x, &v)),
        ("jvp replay", check_jvp(&g, &ReverseReplay, &x, &v)),
        ("jvp auto", check_jvp(&g, &Auto, &x, &v)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(AD_VS_RIDDERS), "{name}: {r}");
    }
    for (name, r) in [
        ("vjp forward", check_vjp(&g, &Forward::<4>, &x, &w)),
        ("vjp reverse", check_vjp(&g, &Reverse, &x, &w)),
        ("vjp replay", check_vjp(&g, &ReverseReplay, &x, &w)),
        ("vjp auto", check_vjp(&g, &Auto, &x, &w)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(AD_VS_RIDDERS), "{name}: {r}");
    }
    let r = check_jvp(&g, &FiniteDifferences::default(), &x, &v).unwrap();
    assert!(r.passes(FD_VS_RIDDERS), "jvp fd: {r}");
    let r = check_vjp(&g, &FiniteDifferences::default(), &x, &w).unwrap();
    assert!(r.passes(FD_VS_RIDDERS), "vjp fd: {r}");
}

#[test]
fn hessians_and_hvps_all_backends() {
    let f = mixed();
    let x = XM.to_vec();
    let v = [0.5, -1.0, 0.25, 2.0, -0.75];
    for (name, r) in [
        ("forward<2>", check_hessian(&f, &Forward::<2>, &x)),
        ("forward<8>", check_hessian(&f, &Forward::<8>, &x)),
        ("reverse", check_hessian(&f, &Reverse, &x)),
        ("replay", check_hessian(&f, &ReverseReplay, &x)),
        ("auto", check_hessian(&f, &Auto, &x)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(AD_VS_RIDDERS), "hessian {name}: {r}");
    }
    let r = check_hessian(&f, &FiniteDifferences::default(), &x).unwrap();
    assert!(r.passes(FD2_VS_RIDDERS), "hessian fd: {r}");
    for (name, r) in [
        ("forward<3>", check_hvp(&f, &Forward::<3>, &x, &v)),
        ("reverse", check_hvp(&f, &Reverse, &x, &v)),
        ("replay", check_hvp(&f, &ReverseReplay, &x, &v)),
        ("auto", check_hvp(&f, &Auto, &x, &v)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(AD_VS_RIDDERS), "hvp {name}: {r}");
    }
    let r = check_hvp(&f, &FiniteDifferences::default(), &x, &v).unwrap();
    assert!(r.passes(FD2_VS_RIDDERS), "hvp fd: {r}");

    // Hessian times v equals the hvp (same backend family, to rounding).
    let mut h = vec![0.0; 25];
    hessian(&f, &Reverse, &x, &mut h).unwrap();
    let mut hv = [0.0; 5];
    hvp(&f, &Reverse, &x, &v, &mut hv).unwrap();
    for i in 0..5 {
        let r: f64 = (0..5).map(|j| h[i + 5 * j] * v[j]).sum();
        assert!((r - hv[i]).abs() < 1e-12 * r.abs().max(1.0));
    }
    // Exactly symmetric.
    for i in 0..5 {
        for j in 0..5 {
            assert_eq!(h[i + 5 * j], h[j + 5 * i]);
        }
    }
}

#[test]
fn derivatives_of_a_curve() {
    let c = vector_fn!(3; |x, y| {
        y[0] = x[0].sin();
        y[1] = x[0] * x[0].exp();
        y[2] = x[0].powf(2.5);
    });
    let t = 1.3f64;
    let exact = [t.cos(), (1.0 + t) * t.exp(), 2.5 * t.powf(1.5)];
    let mut d = [0.0; 3];
    for b in 0..4 {
        match b {
            0 => derivative(&c, &Forward::<1>, t, &mut d).unwrap(),
            1 => derivative(&c, &Reverse, t, &mut d).unwrap(),
            2 => derivative(&c, &Auto, t, &mut d).unwrap(),
            _ => derivative(&c, &ReverseReplay, t, &mut d).unwrap(),
        }
        for i in 0..3 {
            assert!(rel(d[i], exact[i]) < 1e-15, "backend {b}, {i}");
        }
    }
    derivative(&c, &FiniteDifferences::default(), t, &mut d).unwrap();
    for i in 0..3 {
        // Central differences with h = ε^{1/3}: about 1e-10 relative here.
        assert!(rel(d[i], exact[i]) < 1e-9, "fd {i}");
    }
}

#[test]
fn p6_rosenbrock_oracle() {
    let o = oracles();
    for (key, n) in [("n1000", 1000usize), ("n100000", 100_000)] {
        let f = ExtendedRosenbrock { n };
        let x = f.start();
        let oo = &o["P6"][key];
        let mut g = vec![0.0; n];
        let mut prep = prepare_gradient(&f, &ReverseReplay, &x).unwrap();
        let v = prep.value_and_gradient(&f, &x, &mut g).unwrap();
        // f is exact in rational arithmetic; the f64 sum of n terms errs by at most n·ε relative.
        assert!(rel(v, oo["f"].as_f64().unwrap()) < n as f64 * f64::EPSILON);
        let first4 = floats(&oo["grad_first4"]);
        let last2 = floats(&oo["grad_last2"]);
        for i in 0..4 {
            assert!(rel(g[i], first4[i]) < 1e-14, "{key} g[{i}]");
        }
        assert!(rel(g[n - 2], last2[0]) < 1e-14 && rel(g[n - 1], last2[1]) < 1e-14);
        let norm = g.iter().map(|a| a * a).sum::<f64>().sqrt();
        assert!(
            rel(norm, oo["grad_norm2"].as_f64().unwrap()) < 1e-12,
            "{key} |g| = {norm}"
        );
        let mut gf = vec![0.0; n];
        if n <= 1000 {
            gradient(&f, &Forward::<8>, &x, &mut gf).unwrap();
            for i in 0..n {
                assert!((gf[i] - g[i]).abs() <= 1e-13 * g[i].abs().max(1.0));
            }
        }
    }
    // Hessian (n = 1000 by forward over reverse; oracle diagonal and off-diagonal entries).
    let f = ExtendedRosenbrock { n: 1000 };
    let x = f.start();
    let mut h = vec![0.0; 1000 * 1000];
    hessian(&f, &Reverse, &x, &mut h).unwrap();
    let diag = floats(&o["P6"]["n1000"]["hess_diag_first4"]);
    let off = floats(&o["P6"]["n1000"]["hess_offdiag_first4"]);
    for i in 0..4 {
        assert!(rel(h[i + 1000 * i], diag[i]) < 1e-14);
        assert!(rel(h[i + 1000 * (i + 1)], off[i]) < 1e-14);
    }
    // Tridiagonal: everything else exactly zero.
    for j in 0..1000usize {
        for i in 0..1000usize {
            if i.abs_diff(j) > 1 {
                assert_eq!(h[i + 1000 * j], 0.0);
            }
        }
    }
}

#[test]
fn chained_map_sum_gradient() {
    let f = ChainedMapSum;
    let x = ChainedMap.start();
    let r = check_gradient(&f, &ReverseReplay, &x).unwrap();
    assert!(r.passes(AD_VS_RIDDERS), "{r}");
    // Gradient of Σ G_i = column sums of the oracle Jacobian.
    let o = oracles();
    let jac: Vec<Vec<f64>> = o["P6"]["chain10"]["jac"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    let mut g = vec![0.0; 10];
    gradient(&f, &Reverse, &x, &mut g).unwrap();
    for c in 0..10 {
        let s: f64 = (0..10).map(|r| jac[r][c]).sum();
        assert!((g[c] - s).abs() < 1e-12 * s.abs().max(1.0), "{c}");
    }
}

#[test]
fn dimension_mismatches_are_typed_errors() {
    let f = mixed();
    let mut prep = prepare_gradient(&f, &Reverse, &XM).unwrap();
    let mut g = [0.0; 4];
    assert!(matches!(
        prep.value_and_gradient(&f, &XM, &mut g),
        Err(AdError::DimensionMismatch {
            what: "gradient",
            expected: 5,
            found: 4
        })
    ));
    let mut g5 = [0.0; 5];
    assert!(matches!(
        prep.value_and_gradient(&f, &XM[..3], &mut g5),
        Err(AdError::DimensionMismatch { .. })
    ));
    let mut fp = prepare_gradient(&f, &Forward::<4>, &XM).unwrap();
    assert!(matches!(
        fp.gradient(&f, &XM[..4], &mut g5),
        Err(AdError::DimensionMismatch { .. })
    ));
    let mut rp = prepare_gradient(&f, &ReverseReplay, &XM).unwrap();
    assert!(matches!(
        rp.gradient(&f, &XM[..4], &mut g5),
        Err(AdError::DimensionMismatch { .. })
    ));
    let mut jac = vec![0.0; 99];
    assert!(matches!(
        jacobian(&ChainedMap, &Forward::<4>, &ChainedMap.start(), &mut jac),
        Err(AdError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        jacobian(&ChainedMap, &Reverse, &ChainedMap.start(), &mut jac),
        Err(AdError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        jacobian(
            &ChainedMap,
            &FiniteDifferences::default(),
            &ChainedMap.start(),
            &mut jac
        ),
        Err(AdError::DimensionMismatch { .. })
    ));
    let mut h = vec![0.0; 24];
    assert!(hessian(&f, &Reverse, &XM, &mut h).is_err());
    assert!(hessian(&f, &Forward::<2>, &XM, &mut h).is_err());
    let mut hv = [0.0; 5];
    assert!(hvp(&f, &Reverse, &XM, &[1.0; 4], &mut hv).is_err());
    assert!(matches!(
        prepare_gradient(&f, &Forward::<0>, &XM),
        Err(AdError::InvalidArgument(_))
    ));
    assert!(matches!(
        prepare_gradient(
            &f,
            &FiniteDifferences {
                relative_step: Some(-1.0)
            },
            &XM
        ),
        Err(AdError::InvalidArgument(_))
    ));
    // A scalar function seen as a vector function.
    let mut j = [0.0; 5];
    jacobian(&AsVector(&f), &Reverse, &XM, &mut j).unwrap();
    let mut g = [0.0; 5];
    gradient(&f, &Reverse, &XM, &mut g).unwrap();
    assert_eq!(j, g);
    assert_eq!(AsVector(&f).output_len(), 1);
}
