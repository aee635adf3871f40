//! The Leibniz rule in every mode: P8 against its oracles, analytic derivatives with moving and
//! infinite endpoints and endpoint singularities, Ridders finite differences, forward against
//! reverse (dot-product test), and an unrolled-AD oracle through a fixed composite rule.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use std::f64::consts::PI;

use tangent_ad::check::{check_gradient, check_jacobian};
use tangent_ad::operators::*;
use tangent_ad::{
    AsVector, Dual, Rule, RuleError, Scalar, ScalarFunction, VectorFunction, scalar_fn,
};
use tangent_quadrature::problems::{ExpPolynomial, P8, p8_first, p8_second};
use tangent_quadrature::{
    Endpoint, GaussKronrod, GaussKronrodRule, ParametricIntegral, QuadratureError,
};

/// A scalar loss that evaluates a one-output integral through the rule (any AD mode).
struct Through<F>(ParametricIntegral<F>);

impl<F: VectorFunction + Send + Sync + 'static> ScalarFunction for Through<F> {
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        let mut out = [S::zero()];
        self.0
            .eval(x, &mut out)
            .expect("integral converges in these tests");
        out[0]
    }
}

/// A vector function that evaluates a multi-output integral through the rule.
struct ThroughVec<F>(ParametricIntegral<F>);

impl<F: VectorFunction + Send + Sync + 'static> VectorFunction for ThroughVec<F> {
    fn output_len(&self) -> usize {
        self.0.output_len()
    }
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        self.0
            .eval(x, y)
            .expect("integral converges in these tests");
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The tolerance P8 asks for; the derivative integrals are run at the same rtol.
const P8_TOL: f64 = P8::RTOL;

#[test]
fn p8_against_oracles_in_every_mode() {
    for rule in [
        None,
        Some(GaussKronrodRule::K15),
        Some(GaussKronrodRule::K21),
    ] {
        let alg = GaussKronrod {
            rule,
            ..P8::algorithm()
        };
        let i1 = p8_first(alg).unwrap();
        let i2 = p8_second(alg).unwrap();
        let check = |name: &str, value: f64, dvalue: f64, exact: f64, dexact: f64| {
            assert!(
                rel(value, exact) <= P8_TOL,
                "{rule:?} {name}: value {value} vs {exact}"
            );
            assert!(
                rel(dvalue, dexact) <= P8_TOL,
                "{rule:?} {name}: dI/dp {dvalue} vs {dexact}"
            );
        };
        for (k, (exact, dexact)) in [(P8::I1, P8::DI1_DP), (P8::I2, P8::DI2_DP)]
            .into_iter()
            .enumerate()
        {
            // Forward mode through the rule (primal, then the tangent integral on its partition).
            let mut out = [Dual::<1>::default()];
            let input = [Dual::variable(P8::P, 0)];
            if k == 0 {
                i1.eval(&input, &mut out)
            } else {
                i2.eval(&input, &mut out)
            }
            .unwrap();
            check("rule forward", out[0].v, out[0].d[0], exact, dexact);
            // One-pass forward mode.
            let mut out = [Dual::<1>::default()];
            if k == 0 {
                i1.integrator().forward(&input, &mut out)
            } else {
                i2.integrator().forward(&input, &mut out)
            }
            .unwrap();
            check("one-pass forward", out[0].v, out[0].d[0], exact, dexact);
            // Reverse mode without a tape.
            let (mut v, mut g) = ([0.0], [0.0]);
            if k == 0 {
                i1.integrator()
                    .value_and_vjp(&[P8::P], &[1.0], &mut v, &mut g)
            } else {
                i2.integrator()
                    .value_and_vjp(&[P8::P], &[1.0], &mut v, &mut g)
            }
            .unwrap();
            check("value_and_vjp", v[0], g[0], exact, dexact);
        }
        // Reverse mode on the tape (recorded, and replayed) through the rule.
        for (k, (exact, dexact)) in [(P8::I1, P8::DI1_DP), (P8::I2, P8::DI2_DP)]
            .into_iter()
            .enumerate()
        {
            let mut g = [0.0];
            let value = if k == 0 {
                value_and_gradient(&Through(i1.clone()), &Reverse, &[P8::P], &mut g)
            } else {
                value_and_gradient(&Through(i2.clone()), &Reverse, &[P8::P], &mut g)
            }
            .unwrap();
            check("tape", value, g[0], exact, dexact);
            let mut g = [0.0];
            let value = if k == 0 {
                let f = Through(i1.clone());
                prepare_gradient(&f, &ReverseReplay, &[1.0])
                    .unwrap()
                    .value_and_gradient(&f, &[P8::P], &mut g)
            } else {
                let f = Through(i2.clone());
                prepare_gradient(&f, &ReverseReplay, &[1.0])
                    .unwrap()
                    .value_and_gradient(&f, &[P8::P], &mut g)
            }
            .unwrap();
            check("tape replay", value, g[0], exact, dexact);
        }
    }
}

/// Ridders differences of an adaptive integral: the partition can change with the parameter,
/// which puts jumps of the size of the integration error (≤ 2e-14 for I₁ at rtol 1e-11, whose
/// rounding floor is ~2e-15) into the function; with Ridders' steps of order 1e-2…1e-4 that is
/// ≤ 1e-9 in the difference, so 1e-8.
const VS_RIDDERS: f64 = 1e-8;

#[test]
fn p8_against_finite_differences() {
    let alg = GaussKronrod {
        rtol: 1e-11,
        ..Default::default()
    };
    let i1 = Through(p8_first(alg).unwrap());
    let i2 = Through(p8_second(alg).unwrap());
    for (name, r) in [
        ("I1 forward", check_gradient(&i1, &Forward::<1>, &[P8::P])),
        ("I1 reverse", check_gradient(&i1, &Reverse, &[P8::P])),
        ("I2 forward", check_gradient(&i2, &Forward::<1>, &[P8::P])),
        ("I2 reverse", check_gradient(&i2, &Reverse, &[P8::P])),
    ] {
        let r = r.unwrap();
        assert!(r.passes(VS_RIDDERS), "{name}: {r}");
    }
}

/// Analytic derivatives are met to the integration tolerance (rtol 1e-12), with a factor 10 for
/// the endpoint terms' and the tangent integral's separate errors.
const VS_ANALYTIC: f64 = 1e-11;

#[test]
fn moving_endpoints_analytic() {
    // I(p, a, b) = ∫_a^b e^{p x} dx = (e^{pb} − e^{pa}) / p.
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    let f = AsVector(scalar_fn!(|z| (z[1] * z[0]).exp()));
    let integral = ParametricIntegral::new(f, 1, Endpoint::Input, Endpoint::Input, alg).unwrap();
    assert_eq!(integral.input_len(), 3);
    let (p, a, b) = (0.7, -0.4, 1.3);
    let (ea, eb) = ((p * a).exp(), (p * b).exp());
    let value = (eb - ea) / p;
    let grad = [(b * eb - a * ea) / p - (eb - ea) / (p * p), -ea, eb];
    let x = [p, a, b];
    let loss = Through(integral.clone());
    let mut g = [0.0; 3];
    for mode in 0..4 {
        let v = match mode {
            0 => value_and_gradient(&loss, &Forward::<3>, &x, &mut g).unwrap(),
            1 => value_and_gradient(&loss, &Forward::<1>, &x, &mut g).unwrap(),
            2 => value_and_gradient(&loss, &Reverse, &x, &mut g).unwrap(),
            _ => {
                let mut v = [0.0];
                g = [0.0; 3];
                integral
                    .integrator()
                    .value_and_vjp(&x, &[1.0], &mut v, &mut g)
                    .unwrap();
                v[0]
            }
        };
        assert!(rel(v, value) < VS_ANALYTIC, "mode {mode}");
        for i in 0..3 {
            assert!(
                rel(g[i], grad[i]) < VS_ANALYTIC,
                "mode {mode} ∂/∂x{i}: {} vs {}",
                g[i],
                grad[i]
            );
        }
    }
    // One-pass forward with all three directions.
    let mut out = [Dual::<3>::default()];
    let xd = [
        Dual::variable(p, 0),
        Dual::variable(a, 1),
        Dual::variable(b, 2),
    ];
    integral.integrator().forward(&xd, &mut out).unwrap();
    assert!(rel(out[0].v, value) < VS_ANALYTIC);
    for i in 0..3 {
        assert!(rel(out[0].d[i], grad[i]) < VS_ANALYTIC, "one-pass ∂/∂x{i}");
    }
    // Reversed interval: the same formulas hold.
    let mut out = [Dual::<3>::default()];
    let xd = [
        Dual::variable(p, 0),
        Dual::variable(b, 1),
        Dual::variable(a, 2),
    ];
    integral.eval(&xd, &mut out).unwrap();
    assert!(rel(out[0].v, -value) < VS_ANALYTIC);
    assert!(rel(out[0].d[0], -grad[0]) < VS_ANALYTIC);
    assert!(rel(out[0].d[1], -grad[2]) < VS_ANALYTIC && rel(out[0].d[2], -grad[1]) < VS_ANALYTIC);
}

/// `I(p) = ∫_0^p sin(p x) dx = (1 − cos p²)/p`: the endpoint is computed from the parameter by
/// the outer program, and both the integrand and the limit carry the derivative.
struct SineToP;
impl ScalarFunction for SineToP {
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        let f = AsVector(scalar_fn!(|z| (z[1] * z[0]).sin()));
        let alg = GaussKronrod {
            rtol: 1e-12,
            ..Default::default()
        };
        let integral =
            ParametricIntegral::new(f, 1, Endpoint::Fixed(0.0), Endpoint::Input, alg).unwrap();
        let p = x[0];
        let mut out = [S::zero()];
        integral.eval(&[p, p], &mut out).unwrap();
        out[0]
    }
}

#[test]
fn limit_depending_on_the_parameter() {
    let p: f64 = 1.7;
    let value = (1.0 - (p * p).cos()) / p;
    let deriv = (2.0 * p * p * (p * p).sin() - (1.0 - (p * p).cos())) / (p * p);
    let mut g = [0.0];
    for mode in 0..2 {
        let v = if mode == 0 {
            value_and_gradient(&SineToP, &Forward::<1>, &[p], &mut g).unwrap()
        } else {
            value_and_gradient(&SineToP, &Reverse, &[p], &mut g).unwrap()
        };
        assert!(rel(v, value) < VS_ANALYTIC);
        assert!(
            rel(g[0], deriv) < VS_ANALYTIC,
            "mode {mode}: {} vs {deriv}",
            g[0]
        );
    }
}

#[test]
fn infinite_intervals_and_endpoint_singularities() {
    let alg = GaussKronrod {
        rtol: 1e-11,
        ..Default::default()
    };
    // ∫_{−∞}^{∞} e^{−p x²} dx = √(π/p).
    let gauss = AsVector(scalar_fn!(|z| (-z[1] * z[0] * z[0]).exp()));
    let integral = ParametricIntegral::new(
        gauss,
        1,
        Endpoint::Fixed(f64::NEG_INFINITY),
        Endpoint::Fixed(f64::INFINITY),
        alg,
    )
    .unwrap();
    let p = 1.3;
    let mut g = [0.0];
    let v = value_and_gradient(&Through(integral.clone()), &Reverse, &[p], &mut g).unwrap();
    assert!(rel(v, (PI / p).sqrt()) < 1e-11);
    assert!(rel(g[0], -0.5 * PI.sqrt() * p.powf(-1.5)) < 1e-10);
    let mut out = [Dual::<1>::default()];
    integral
        .integrator()
        .forward(&[Dual::variable(p, 0)], &mut out)
        .unwrap();
    assert!(rel(out[0].d[0], -0.5 * PI.sqrt() * p.powf(-1.5)) < 1e-10);

    // ∫_a^∞ e^{−p x} dx = e^{−pa}/p with the lower limit an input: ∂/∂a = −e^{−pa}; the infinite
    // limit contributes nothing.
    let expo = AsVector(scalar_fn!(|z| (-z[1] * z[0]).exp()));
    let integral = ParametricIntegral::new(
        expo,
        1,
        Endpoint::Input,
        Endpoint::Fixed(f64::INFINITY),
        alg,
    )
    .unwrap();
    let (p, a) = (0.8, 0.5);
    let mut g = [0.0; 2];
    let v = value_and_gradient(&Through(integral.clone()), &Forward::<2>, &[p, a], &mut g).unwrap();
    let e = (-p * a).exp();
    assert!(rel(v, e / p) < 1e-11);
    assert!(rel(g[0], -a * e / p - e / (p * p)) < 1e-10);
    assert!(rel(g[1], -e) < 1e-10);

    // ∫_0^1 x^p dx = 1/(1+p) at p = −1/2: the integrand x^{−1/2} and the derivative integrand
    // x^p ln x are both singular at 0 (and never evaluated there).
    let power = AsVector(scalar_fn!(|z| z[0].pow(z[1])));
    let integral = ParametricIntegral::new(
        power,
        1,
        Endpoint::Fixed(0.0),
        Endpoint::Fixed(1.0),
        GaussKronrod {
            rtol: 1e-10,
            ..Default::default()
        },
    )
    .unwrap();
    let p = -0.5;
    for mode in 0..3 {
        let mut g = [0.0];
        let v = match mode {
            0 => {
                value_and_gradient(&Through(integral.clone()), &Forward::<1>, &[p], &mut g).unwrap()
            }
            1 => value_and_gradient(&Through(integral.clone()), &Reverse, &[p], &mut g).unwrap(),
            _ => {
                let mut out = [Dual::<1>::default()];
                integral
                    .integrator()
                    .forward(&[Dual::variable(p, 0)], &mut out)
                    .unwrap();
                g[0] = out[0].d[0];
                out[0].v
            }
        };
        // 1e-9: the singular integrands converge slowly; rtol 1e-10 is met with margin 10.
        assert!(rel(v, 2.0) < 1e-9, "mode {mode}: {v}");
        assert!(rel(g[0], -4.0) < 1e-9, "mode {mode}: {}", g[0]);
    }
}

#[test]
fn derivative_that_cancels_to_zero() {
    // I(p) = ∫_{−1}^{1} cos x + sin(p x) dx = 2 sin 1 for every p: dI/dp = ∫ x cos(p x) = 0 by
    // symmetry. No relative tolerance is reachable for the derivative; it is accepted at its
    // rounding floor instead of failing.
    let f = AsVector(scalar_fn!(|z| z[0].cos() + (z[1] * z[0]).sin()));
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    let integral =
        ParametricIntegral::new(f, 1, Endpoint::Fixed(-1.0), Endpoint::Fixed(1.0), alg).unwrap();
    let mut g = [0.0];
    for mode in 0..3 {
        let v = match mode {
            0 => value_and_gradient(&Through(integral.clone()), &Forward::<1>, &[0.9], &mut g)
                .unwrap(),
            1 => value_and_gradient(&Through(integral.clone()), &Reverse, &[0.9], &mut g).unwrap(),
            _ => {
                let mut out = [Dual::<1>::default()];
                integral
                    .integrator()
                    .forward(&[Dual::variable(0.9, 0)], &mut out)
                    .unwrap();
                g[0] = out[0].d[0];
                out[0].v
            }
        };
        assert!(rel(v, 2.0 * 1f64.sin()) < 1e-12);
        // The floor: 50 ε ∫|x cos(px)| ≈ 1e-14.
        assert!(g[0].abs() < 1e-13, "mode {mode}: {}", g[0]);
    }
}

/// Two outputs, three parameters: `f(x, p) = (e^{−p₀ x} cos(p₁ x), x^{p₂} / (1 + x))`.
struct TwoByThree;
impl VectorFunction for TwoByThree {
    fn output_len(&self) -> usize {
        2
    }
    fn eval<S: Scalar>(&self, z: &[S], y: &mut [S]) {
        let x = z[0];
        y[0] = (-z[1] * x).exp() * (z[2] * x).cos();
        y[1] = (z[3] * x.ln()).exp() / (x + 1.0);
    }
}

/// The unrolled-AD oracle: a fixed composite (30, 61) Gauss–Kronrod rule on 64 equal pieces of
/// [0, 2], run on dual numbers — the exact derivative of a fixed discretisation whose error on
/// these smooth integrands (away from 0, see below) is at rounding level.
fn unrolled_jacobian(p: &[f64; 3], lower: f64, upper: f64) -> ([f64; 2], [f64; 6]) {
    let rule = GaussKronrodRule::K61;
    let mut val = [0.0; 2];
    let mut jac = [0.0; 6];
    let pieces = 64;
    let h = (upper - lower) / pieces as f64;
    for piece in 0..pieces {
        let (a, b) = (lower + piece as f64 * h, lower + (piece + 1) as f64 * h);
        for out in 0..2 {
            for dir in 0..3 {
                let pd = [0, 1, 2].map(|i| Dual::<1>::new(p[i], [f64::from(u8::from(i == dir))]));
                let g = |x: f64| {
                    let z = [Dual::constant(x), pd[0], pd[1], pd[2]];
                    let mut y = [Dual::<1>::default(); 2];
                    TwoByThree.eval(&z, &mut y);
                    y[out]
                };
                let (xk, wk) = (rule.kronrod_nodes(), rule.kronrod_weights());
                let c = 0.5 * (a + b);
                let hh = 0.5 * (b - a);
                let mut s = g(c) * wk[30];
                for j in 0..30 {
                    s += (g(c - hh * xk[j]) + g(c + hh * xk[j])) * wk[j];
                }
                s *= hh;
                if dir == 0 {
                    val[out] += s.v;
                }
                jac[out + 2 * dir] += s.d[0];
            }
        }
    }
    (val, jac)
}

#[test]
fn jacobian_forward_reverse_and_unrolled_oracle() {
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    // On [0.5, 2] the integrands are smooth, so the fixed composite rule is an exact oracle.
    let integral = ParametricIntegral::new(
        TwoByThree,
        3,
        Endpoint::Fixed(0.5),
        Endpoint::Fixed(2.0),
        alg,
    )
    .unwrap();
    let p = [0.6, 2.5, 1.5];
    let (val, oracle) = unrolled_jacobian(&p, 0.5, 2.0);
    let f = ThroughVec(integral.clone());
    let mut jac = [0.0; 6];
    for mode in 0..4 {
        match mode {
            0 => jacobian(&f, &Forward::<3>, &p, &mut jac).unwrap(),
            1 => jacobian(&f, &Forward::<2>, &p, &mut jac).unwrap(),
            2 => jacobian(&f, &Reverse, &p, &mut jac).unwrap(),
            _ => {
                // Rows by value_and_vjp.
                let mut it = integral.integrator();
                for r in 0..2 {
                    let mut ybar = [0.0; 2];
                    ybar[r] = 1.0;
                    let (mut v, mut xb) = ([0.0; 2], [0.0; 3]);
                    it.value_and_vjp(&p, &ybar, &mut v, &mut xb).unwrap();
                    for c in 0..3 {
                        jac[r + 2 * c] = xb[c];
                    }
                    for i in 0..2 {
                        assert!(rel(v[i], val[i]) < 1e-12);
                    }
                }
            }
        }
        // The Jacobian entries are each controlled relative to their direction's (forward) or
        // the gradient's (reverse) norm at rtol 1e-12: 1e-11 of the largest entry.
        let scale = oracle.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..6 {
            assert!(
                (jac[i] - oracle[i]).abs() < 1e-11 * scale,
                "mode {mode} entry {i}: {} vs {}",
                jac[i],
                oracle[i]
            );
        }
    }
    // One-pass forward: value and the three partials in one adaptive run.
    let mut out = [Dual::<3>::default(); 2];
    let xd = [0, 1, 2].map(|i| Dual::variable(p[i], i));
    integral.integrator().forward(&xd, &mut out).unwrap();
    for r in 0..2 {
        assert!(rel(out[r].v, val[r]) < 1e-12);
        for c in 0..3 {
            assert!(
                (out[r].d[c] - oracle[r + 2 * c]).abs() < 1e-11 * oracle[r + 2 * c].abs().max(1e-3)
            );
        }
    }
    let report = check_jacobian(&f, &Reverse, &p).unwrap();
    assert!(report.passes(VS_RIDDERS), "{report}");
}

#[test]
fn dot_product_test_of_the_rule() {
    // ⟨J v, w⟩ = ⟨v, Jᵀ w⟩ with the rule's own jvp and vjp (inputs: p and both endpoints).
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    let integral =
        ParametricIntegral::new(TwoByThree, 3, Endpoint::Input, Endpoint::Input, alg).unwrap();
    let x = [0.6, 2.5, 1.5, 0.25, 1.75];
    let mut y = [0.0; 2];
    let state = integral.primal(&x, &mut y).unwrap();
    assert!(state.pieces() >= 1 && state.evaluations() > 0);
    // Two directions at once (batched jvp).
    let v = [
        0.3, -1.0, 0.5, 0.2, -0.7, /* second */ 1.0, 0.0, 0.0, 0.0, 0.0,
    ];
    let mut jv = [0.0; 4];
    integral.jvp::<f64>(&state, &x, &y, &v, &mut jv).unwrap();
    let w = [0.8, -1.1];
    let mut jtw = [0.0; 5];
    integral.vjp::<f64>(&state, &x, &y, &w, &mut jtw).unwrap();
    for dir in 0..2 {
        let lhs = jv[2 * dir] * w[0] + jv[2 * dir + 1] * w[1];
        let rhs: f64 = (0..5).map(|i| v[5 * dir + i] * jtw[i]).sum();
        // Both sides are integrals at rtol 1e-12 relative to their norms (~1): 1e-11.
        assert!(
            (lhs - rhs).abs() < 1e-11 * lhs.abs().max(1.0),
            "direction {dir}: {lhs} vs {rhs}"
        );
    }
    // vjp accumulates.
    let mut twice = jtw;
    integral.vjp::<f64>(&state, &x, &y, &w, &mut twice).unwrap();
    for i in 0..5 {
        assert!((twice[i] - 2.0 * jtw[i]).abs() <= 1e-15 * jtw[i].abs());
    }
}

#[test]
fn errors_in_the_rule() {
    let alg = GaussKronrod {
        rtol: 1e-10,
        ..Default::default()
    };
    // The endpoint term needs f at a singular endpoint: reported with the point.
    let f = AsVector(scalar_fn!(|z| z[0].powf(-0.5) * z[1]));
    let integral =
        ParametricIntegral::new(f, 1, Endpoint::Input, Endpoint::Fixed(1.0), alg).unwrap();
    let mut out = [Dual::<2>::default()];
    let err = integral
        .eval(&[Dual::variable(2.0, 0), Dual::variable(0.0, 1)], &mut out)
        .unwrap_err();
    assert!(
        matches!(err, RuleError::Failed(ref s) if s.contains("not finite at x = [0.0]")),
        "{err}"
    );
    let mut it = integral.integrator();
    assert!(matches!(
        it.forward(
            &[Dual::<2>::variable(2.0, 0), Dual::variable(0.0, 1)],
            &mut out
        ),
        Err(QuadratureError::NonFiniteIntegrand { .. })
    ));
    // …but a fixed value of the singular endpoint is fine.
    let mut out = [Dual::<1>::default()];
    integral
        .eval(&[Dual::variable(2.0, 0), Dual::constant(0.0)], &mut out)
        .unwrap();
    assert!(rel(out[0].v, 4.0) < 1e-9 && rel(out[0].d[0], 2.0) < 1e-9);
    // Shapes.
    let mut v = [0.0];
    assert!(matches!(
        integral.integrator().value(&[1.0], &mut v),
        Err(QuadratureError::DimensionMismatch {
            expected: 2,
            found: 1,
            ..
        })
    ));
    assert!(integral.eval(&[1.0, 0.5, 0.1], &mut v).is_err());
}

/// Second derivatives through the rule: the jvp and vjp are integrals written as rules again.
/// `I(p, a, b) = ∫_a^b e^{p x} dx` has the analytic Hessian
/// `∂²/∂p² = ∫_a^b x² e^{px}`, `∂²/∂p∂a = −a e^{pa}`, `∂²/∂p∂b = b e^{pb}`, `∂²/∂a² = −p e^{pa}`,
/// `∂²/∂b² = p e^{pb}`, `∂²/∂a∂b = 0`.
#[test]
fn hessians_through_the_rule() {
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    let f = AsVector(scalar_fn!(|z| (z[1] * z[0]).exp()));
    let integral = ParametricIntegral::new(f, 1, Endpoint::Input, Endpoint::Input, alg).unwrap();
    let (p, a, b): (f64, f64, f64) = (0.7, -0.4, 1.3);
    let (ea, eb) = ((p * a).exp(), (p * b).exp());
    let antider = |x: f64, e: f64| e * (x * x / p - 2.0 * x / (p * p) + 2.0 / (p * p * p));
    let hpp = antider(b, eb) - antider(a, ea);
    #[rustfmt::skip]
    let exact = [
        hpp,        -a * ea,    b * eb,
        -a * ea,    -p * ea,    0.0,
        b * eb,     0.0,        p * eb,
    ];
    let loss = Through(integral);
    let x = [p, a, b];
    let mut h = [0.0; 9];
    for mode in 0..3 {
        match mode {
            0 => hessian(&loss, &Forward::<3>, &x, &mut h).unwrap(),
            1 => hessian(&loss, &Forward::<1>, &x, &mut h).unwrap(),
            _ => hessian(&loss, &Reverse, &x, &mut h).unwrap(),
        }
        for i in 0..9 {
            // The second-derivative integrals run at rtol 1e-12 too: 1e-11 of the largest entry.
            assert!(
                (h[i] - exact[i]).abs() < 1e-11 * 3.0,
                "mode {mode} entry {i}: {} vs {}",
                h[i],
                exact[i]
            );
        }
    }
    // P8: d²I₁/dp² = ∫_0^1 x⁴ e^{−p x²} cos(10 x) dx, integrated directly as the reference.
    let alg = GaussKronrod {
        rtol: 1e-12,
        ..Default::default()
    };
    let reference = tangent_quadrature::solve(
        &tangent_quadrature::IntegralProblem::new(
            tangent_quadrature::integrand::scalar(|x: f64| {
                x.powi(4) * (-P8::P * x * x).exp() * (10.0 * x).cos()
            }),
            0.0,
            1.0,
        ),
        &alg,
    )
    .unwrap()
    .value[0];
    // I₁ itself cancels down to 2e-3 of ∫|f|: rtol 1e-11 is near its rounding floor (~1e-12).
    let i1 = Through(p8_first(GaussKronrod { rtol: 1e-11, ..alg }).unwrap());
    let mut h = [0.0];
    hessian(&i1, &Forward::<1>, &[P8::P], &mut h).unwrap();
    assert!(rel(h[0], reference) < 1e-10, "{} vs {reference}", h[0]);
    hessian(&i1, &Reverse, &[P8::P], &mut h).unwrap();
    assert!(rel(h[0], reference) < 1e-10, "{} vs {reference}", h[0]);
    let mut hv = [0.0];
    hvp(&i1, &Reverse, &[P8::P], &[2.0], &mut hv).unwrap();
    assert!(rel(hv[0], 2.0 * reference) < 1e-10);
}

/// The constants in `problems.rs` are the oracle file's.
#[test]
fn p8_constants_match_the_oracle_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../problems/oracles.json");
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p8 = &json["P8"];
    for (key, value) in [
        ("I1", P8::I1),
        ("dI1_dp", P8::DI1_DP),
        ("I2", P8::I2),
        ("dI2_dp", P8::DI2_DP),
    ] {
        assert_eq!(p8[key].as_f64().unwrap(), value, "{key}");
    }
}

/// 1e-9: the value, each forward partial and the vjp are each within rtol 1e-10 of the exact
/// numbers (the forward partials relative to themselves, the vjp relative to its norm), so two
/// routes agree to a few times 1e-10 of the largest entry.
const ROUTES_AGREE: f64 = 1e-9;

#[test]
fn value_and_vjp_one_pass_and_two_pass_against_forward() {
    // 3 and 4 parameters (one pass: value and Jacobian on Dual<4>, with a lane unused for 3),
    // 8 (one pass on Dual<8>, the integrand's inputs in the adaptor's buffer rather than on the
    // stack) and 11 (two passes: value on f64, then the adjoint integral in Dual<8> chunks from
    // the value's partition).
    for n in [3, 4, 8, 11] {
        let alg = GaussKronrod {
            rtol: 1e-10,
            ..Default::default()
        };
        let integral =
            ParametricIntegral::new(ExpPolynomial, n, Endpoint::Fixed(0.0), Endpoint::Input, alg)
                .unwrap();
        let inputs: Vec<f64> = (0..n).map(|i| 0.3 + 0.1 * i as f64).chain([1.7]).collect();
        let mut it = integral.integrator();
        let (mut v, mut xbar) = ([0.0], vec![0.0; n + 1]);
        let stats = it
            .value_and_vjp(&inputs, &[1.0], &mut v, &mut xbar)
            .unwrap();
        assert!(stats.evaluations > 0 && stats.error <= 1e-10 * v[0].abs());
        let mut forward = vec![0.0; n + 1];
        let mut value = 0.0;
        for j in 0..=n {
            let xd: Vec<Dual<1>> = inputs
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if i == j {
                        Dual::variable(x, 0)
                    } else {
                        Dual::constant(x)
                    }
                })
                .collect();
            let mut out = [Dual::<1>::default()];
            it.forward(&xd, &mut out).unwrap();
            forward[j] = out[0].d[0];
            value = out[0].v;
        }
        assert!(
            rel(v[0], value) < ROUTES_AGREE,
            "n={n}: {} vs {value}",
            v[0]
        );
        let scale = forward.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        for j in 0..=n {
            assert!(
                (xbar[j] - forward[j]).abs() < ROUTES_AGREE * scale,
                "n={n} input {j}: vjp {} vs forward {}",
                xbar[j],
                forward[j]
            );
        }
        // ∂I/∂b = f(b): the endpoint term, exactly.
        let mut fb = [0.0];
        let mut z = vec![inputs[n]];
        z.extend_from_slice(&inputs[..n]);
        ExpPolynomial.eval(&z, &mut fb);
        assert!(
            (xbar[n] - fb[0]).abs() < 1e-15 * fb[0].abs().max(1.0),
            "n={n}"
        );
    }
}
