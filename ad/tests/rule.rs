//! The `Rule` hook in every mode: a 2×2 linear solve as a rule, nested inside a larger function,
//! against the same computation written with plain operations and against finite differences.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::check::{check_gradient, check_hessian, check_hvp, check_jacobian};
use tangent_ad::operators::*;
use tangent_ad::{
    AdError, Dual, Rule, RuleError, Scalar, ScalarFunction, Tape, TapeError, VectorFunction, is_f64,
};

/// Closed-form solve of `A y = b` for row-major 2×2 `A`, in any scalar type.
fn solve2<S: Scalar>(a: &[S], b: &[S]) -> [S; 2] {
    let det = a[0] * a[3] - a[1] * a[2];
    [
        (a[3] * b[0] - a[1] * b[1]) / det,
        (a[0] * b[1] - a[2] * b[0]) / det,
    ]
}

/// `y = A⁻¹ b` as a rule: inputs (a00, a01, a10, a11, b0, b1), outputs y. The state is the
/// inverse determinant (standing in for a factorisation that the derivatives reuse); the jvp and
/// vjp are written with scalar operations on `S`, so they differentiate themselves.
#[derive(Clone)]
struct Solve2 {
    second_order: bool,
}

impl Rule for Solve2 {
    type State = f64;
    fn n_inputs(&self) -> usize {
        6
    }
    fn n_outputs(&self) -> usize {
        2
    }
    fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<f64, RuleError> {
        let det = x[0] * x[3] - x[1] * x[2];
        if det == 0.0 {
            return Err(RuleError::Failed("singular 2×2 matrix".into()));
        }
        y.copy_from_slice(&solve2(&x[..4], &x[4..]));
        Ok(1.0 / det)
    }
    fn jvp<S: Scalar>(
        &self,
        _st: &f64,
        x: &[S],
        y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        if !self.second_order && !is_f64::<S>() {
            return Err(RuleError::Unsupported("second derivatives"));
        }
        for (d, out) in dx.chunks_exact(6).zip(dy.chunks_exact_mut(2)) {
            let r = [
                d[4] - (d[0] * y[0] + d[1] * y[1]),
                d[5] - (d[2] * y[0] + d[3] * y[1]),
            ];
            out.copy_from_slice(&solve2(&x[..4], &r));
        }
        Ok(())
    }
    fn vjp<S: Scalar>(
        &self,
        _st: &f64,
        x: &[S],
        y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        if !self.second_order && !is_f64::<S>() {
            return Err(RuleError::Unsupported("second derivatives"));
        }
        let at = [x[0], x[2], x[1], x[3]];
        let bb = solve2(&at, ybar);
        for i in 0..2 {
            for j in 0..2 {
                xbar[2 * i + j] -= bb[i] * y[j];
            }
            xbar[4 + i] += bb[i];
        }
        Ok(())
    }
}

/// The outer program: builds `A(p)`, `b(p)`, solves (by rule or by plain operations) and
/// combines the solution nonlinearly with the parameters.
fn program<S: Scalar>(p: &[S], by_rule: Option<&Solve2>) -> [S; 2] {
    let a = [p[0] + 2.0, p[1], p[1] * p[2], p[2].sin() + 3.0];
    let b = [p[0] * p[1], p[2].exp()];
    let y = match by_rule {
        Some(r) => {
            let mut x = [S::zero(); 6];
            x[..4].copy_from_slice(&a);
            x[4..].copy_from_slice(&b);
            let mut y = [S::zero(); 2];
            S::apply_rule(r, &x, &mut y).expect("nonsingular in the tests");
            y
        }
        None => solve2(&a, &b),
    };
    [
        y[0] * y[1] + y[0].sin() + p[0] * y[1] * y[1],
        (y[0] - p[2]).exp() * y[1],
    ]
}

struct Loss {
    rule: Option<Solve2>,
}
impl ScalarFunction for Loss {
    fn eval<S: Scalar>(&self, p: &[S]) -> S {
        let o = program(p, self.rule.as_ref());
        o[0] + o[1] * 0.5
    }
}
impl VectorFunction for Loss {
    fn output_len(&self) -> usize {
        2
    }
    fn eval<S: Scalar>(&self, p: &[S], y: &mut [S]) {
        y.copy_from_slice(&program(p, self.rule.as_ref()));
    }
}

const P: [f64; 3] = [0.4, 0.7, -0.3];
const RULE: Loss = Loss {
    rule: Some(Solve2 { second_order: true }),
};
const PLAIN: Loss = Loss { rule: None };

/// Rule derivatives against plain-operation derivatives: the two differ only by rounding in a
/// well-conditioned 2×2 solve (condition number about 4), so 1e-13 relative.
const RULE_VS_PLAIN: f64 = 1e-13;
/// Against Ridders differences (see the operators tests): 1e-8.
const VS_RIDDERS: f64 = 1e-8;

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn values_agree() {
    let r = ScalarFunction::eval(&RULE, &P);
    let p = ScalarFunction::eval(&PLAIN, &P);
    assert!((r - p).abs() < 1e-15 * p.abs().max(1.0));
}

#[test]
fn gradients_in_every_mode() {
    let mut reference = [0.0; 3];
    gradient(&PLAIN, &Reverse, &P, &mut reference).unwrap();
    let mut g = [0.0; 3];
    gradient(&RULE, &Forward::<1>, &P, &mut g).unwrap();
    close(&g, &reference, RULE_VS_PLAIN, "forward<1>");
    gradient(&RULE, &Forward::<3>, &P, &mut g).unwrap();
    close(&g, &reference, RULE_VS_PLAIN, "forward<3>");
    gradient(&RULE, &Reverse, &P, &mut g).unwrap();
    close(&g, &reference, RULE_VS_PLAIN, "reverse");
    // Replay re-runs the rule's primal at the new point.
    let mut prep = prepare_gradient(&RULE, &ReverseReplay, &[0.1, 0.2, 0.3]).unwrap();
    prep.gradient(&RULE, &P, &mut g).unwrap();
    close(&g, &reference, RULE_VS_PLAIN, "replay");
    for (name, r) in [
        ("forward", check_gradient(&RULE, &Forward::<2>, &P)),
        ("reverse", check_gradient(&RULE, &Reverse, &P)),
        ("replay", check_gradient(&RULE, &ReverseReplay, &P)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(VS_RIDDERS), "{name}: {r}");
    }
}

#[test]
fn jacobians_in_every_mode() {
    let mut reference = [0.0; 6];
    jacobian(&PLAIN, &Forward::<3>, &P, &mut reference).unwrap();
    let mut j = [0.0; 6];
    jacobian(&RULE, &Forward::<2>, &P, &mut j).unwrap();
    close(&j, &reference, RULE_VS_PLAIN, "forward");
    jacobian(&RULE, &Reverse, &P, &mut j).unwrap();
    close(&j, &reference, RULE_VS_PLAIN, "reverse");
    jacobian(&RULE, &ReverseReplay, &P, &mut j).unwrap();
    close(&j, &reference, RULE_VS_PLAIN, "replay");
    let mut jv = [0.0; 2];
    jvp(&RULE, &Reverse, &P, &[1.0, -2.0, 0.5], &mut jv).unwrap();
    let expect: Vec<f64> = (0..2)
        .map(|i| reference[i] - 2.0 * reference[i + 2] + 0.5 * reference[i + 4])
        .collect();
    close(&jv, &expect, RULE_VS_PLAIN, "tape jvp");
    let r = check_jacobian(&RULE, &Reverse, &P).unwrap();
    assert!(r.passes(VS_RIDDERS), "{r}");
}

#[test]
fn second_order_through_the_rule() {
    let mut reference = [0.0; 9];
    hessian(&PLAIN, &Forward::<3>, &P, &mut reference).unwrap();
    let mut h = [0.0; 9];
    // Forward over forward: the rule's jvp runs on Dual numbers.
    hessian(&RULE, &Forward::<2>, &P, &mut h).unwrap();
    close(&h, &reference, RULE_VS_PLAIN, "forward over forward");
    // Forward over reverse: the rule's vjp runs on Dual numbers.
    hessian(&RULE, &Reverse, &P, &mut h).unwrap();
    close(&h, &reference, RULE_VS_PLAIN, "forward over reverse");
    hessian(&RULE, &ReverseReplay, &P, &mut h).unwrap();
    close(&h, &reference, RULE_VS_PLAIN, "forward over replay");
    let v = [0.3, -1.0, 2.0];
    let mut hv = [0.0; 3];
    let expect: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|j| reference[i + 3 * j] * v[j]).sum())
        .collect();
    for b in 0..3 {
        match b {
            0 => hvp(&RULE, &Forward::<2>, &P, &v, &mut hv).unwrap(),
            1 => hvp(&RULE, &Reverse, &P, &v, &mut hv).unwrap(),
            _ => hvp(&RULE, &ReverseReplay, &P, &v, &mut hv).unwrap(),
        }
        close(&hv, &expect, RULE_VS_PLAIN, "hvp");
    }
    for (name, r) in [
        ("hessian reverse", check_hessian(&RULE, &Reverse, &P)),
        ("hessian forward", check_hessian(&RULE, &Forward::<3>, &P)),
        ("hvp reverse", check_hvp(&RULE, &Reverse, &P, &v)),
    ] {
        let r = r.unwrap();
        assert!(r.passes(VS_RIDDERS), "{name}: {r}");
    }
    // Third order by nesting three levels: d³/dp0³ through the rule against plain operations.
    let third = |rule: Option<&Solve2>| {
        let x0 = Dual::<1, Dual<1, Dual<1>>>::new(
            Dual::new(Dual::variable(P[0], 0), [Dual::constant(1.0)]),
            [Dual::constant(Dual::constant(1.0))],
        );
        let p = [x0, Dual::from(P[1]), Dual::from(P[2])];
        program(&p, rule)[0].d[0].d[0].d[0]
    };
    let (a, b) = (third(Some(&Solve2 { second_order: true })), third(None));
    assert!(
        (a - b).abs() < 1e-12 * b.abs().max(1.0),
        "third derivative {a} vs {b}"
    );
}

#[test]
fn first_order_only_rule_reports_unsupported() {
    let first_only = Loss {
        rule: Some(Solve2 {
            second_order: false,
        }),
    };
    // First derivatives work.
    let mut g = [0.0; 3];
    gradient(&first_only, &Reverse, &P, &mut g).unwrap();
    // Forward over reverse reaches the rule's vjp with dual numbers: a typed error.
    let mut h = [0.0; 9];
    let err = hessian(&first_only, &Reverse, &P, &mut h).unwrap_err();
    assert!(
        matches!(
            err,
            AdError::Tape(TapeError::Rule {
                source: RuleError::Unsupported(_),
                ..
            })
        ),
        "{err:?}"
    );
    // Forward over forward: the error comes back from apply_rule to the caller.
    let x: Vec<Dual<1, Dual<1>>> = (0..6)
        .map(|i| Dual::new(Dual::variable(1.0 + i as f64, 0), [Dual::constant(1.0)]))
        .collect();
    let mut y = [Dual::<1, Dual<1>>::default(); 2];
    let r = <Dual<1, Dual<1>>>::apply_rule(
        &Solve2 {
            second_order: false,
        },
        &x,
        &mut y,
    );
    assert!(matches!(r, Err(RuleError::Unsupported(_))));
}

#[test]
fn rule_errors_and_shapes() {
    let singular = [1.0, 2.0, 2.0, 4.0, 1.0, 1.0];
    let mut y = [0.0; 2];
    assert!(matches!(
        f64::apply_rule(&Solve2 { second_order: true }, &singular, &mut y),
        Err(RuleError::Failed(_))
    ));
    let mut y3 = [0.0; 3];
    assert!(matches!(
        f64::apply_rule(&Solve2 { second_order: true }, &singular, &mut y3),
        Err(RuleError::DimensionMismatch {
            what: "rule outputs",
            expected: 2,
            found: 3
        })
    ));
    // On the tape: the error is returned at the call, nothing recorded.
    let mut tape = Tape::new();
    let r = tape.record(&singular, |x| {
        let mut y = [tangent_ad::Var::default(); 2];
        <tangent_ad::Var>::apply_rule(&Solve2 { second_order: true }, x, &mut y)
    });
    assert!(matches!(r, Err(RuleError::Failed(_))));
    assert_eq!(tape.n_rule_nodes(), 0);
    // A rule node's failure on replay is a typed tape error.
    let ok = [2.0, 1.0, 1.0, 3.0, 1.0, 1.0];
    let yv = tape.record(&ok, |x| {
        let mut y = [tangent_ad::Var::default(); 2];
        <tangent_ad::Var>::apply_rule(&Solve2 { second_order: true }, x, &mut y).unwrap();
        y[0] + y[1]
    });
    assert_eq!(tape.n_rule_nodes(), 1);
    assert!(matches!(
        tape.replay(&singular),
        Err(TapeError::Rule {
            source: RuleError::Failed(_),
            ..
        })
    ));
    // Until a replay succeeds, the tape has no consistent point: the sweeps say so.
    let mut g = [0.0; 6];
    assert_eq!(tape.gradient(yv, &mut g), Err(TapeError::ReplayFailed));
    assert_eq!(tape.value(yv), Err(TapeError::ReplayFailed));
    let mut jv = [0.0; 1];
    assert_eq!(
        tape.jvp(&[yv], &[1.0; 6], &mut jv),
        Err(TapeError::ReplayFailed)
    );
    // A rejected call leaves it so; a successful replay ends it.
    assert!(matches!(
        tape.replay(&ok[..5]),
        Err(TapeError::DimensionMismatch { .. })
    ));
    assert_eq!(tape.gradient(yv, &mut g), Err(TapeError::ReplayFailed));
    tape.replay(&ok).unwrap();
    tape.gradient(yv, &mut g).unwrap();
    // ∂(y0 + y1)/∂b = A⁻ᵀ 1.
    let bbar = solve2(&[2.0, 1.0, 1.0, 3.0], &[1.0, 1.0]);
    assert!((g[4] - bbar[0]).abs() < 1e-15 && (g[5] - bbar[1]).abs() < 1e-15);
}
