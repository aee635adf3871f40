#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops mirror the maths; unwrap is the assertion

//! Sparsity detection: exact patterns on P3 and on hand-made functions, both modes, rules,
//! value-dependent control flow and foreign tracers.

use tangent_ad::problems::{Brusselator2D, BrusselatorState, ChainedMap, ExtendedRosenbrock};
use tangent_ad::{DependencyPattern, Rule, RuleError, Scalar, ScalarFunction, VectorFunction};
use tangent_ad::{scalar_fn, vector_fn};
use tangent_sparsity::{
    Detector, Pattern, SparsityError, hessian_sparsity, jacobian_sparsity, local_hessian_sparsity,
    local_jacobian_sparsity,
};

/// The entries of a pattern as sorted `(row, col)` pairs.
fn entries(p: &Pattern) -> Vec<(usize, usize)> {
    let mut e: Vec<(usize, usize)> = p.iter().map(|(_, (i, j))| (i, j)).collect();
    e.sort_unstable();
    e
}

/// P3's known pattern: `u`-row `k` has the periodic five-point stencil of `u` around `k` and
/// `v` at `k`; `v`-row `k` the stencil of `v` and `u` at `k`.
fn brusselator_pattern(n: usize) -> Vec<(usize, usize)> {
    let nn = n * n;
    let mut e = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let k = i + n * j;
            let stencil = [
                k,
                (i + n - 1) % n + n * j,
                (i + 1) % n + n * j,
                i + n * ((j + n - 1) % n),
                i + n * ((j + 1) % n),
            ];
            for c in 0..2 {
                let row = k + c * nn;
                for &s in &stencil {
                    e.push((row, s + c * nn));
                }
                e.push((row, k + (1 - c) * nn));
            }
        }
    }
    e.sort_unstable();
    e.dedup();
    e
}

#[test]
fn brusselator_pattern_is_exact() {
    for n in [8, 32] {
        let f = BrusselatorState {
            problem: Brusselator2D { n },
            t: 2.0, // forcing on: the pattern does not depend on it
        };
        let x = f.problem.initial_state();
        let expected = brusselator_pattern(n);
        assert_eq!(expected.len(), 6 * 2 * n * n);
        for p in [
            jacobian_sparsity(&f, &x).unwrap(),
            local_jacobian_sparsity(&f, &x).unwrap(),
        ] {
            assert_eq!(p.shape(), (2 * n * n, 2 * n * n));
            assert!(p.is_csc());
            assert_eq!(entries(&p), expected, "N = {n}");
        }
    }
}

#[test]
fn rosenbrock_hessian_is_tridiagonal() {
    for n in [2, 3, 10, 100] {
        let f = ExtendedRosenbrock { n };
        let x = f.start();
        let mut expected = Vec::new();
        for i in 0..n {
            for j in i.saturating_sub(1)..(i + 2).min(n) {
                expected.push((i, j));
            }
        }
        for p in [
            hessian_sparsity(&f, &x).unwrap(),
            local_hessian_sparsity(&f, &x).unwrap(),
        ] {
            assert_eq!(entries(&p), expected, "n = {n}");
        }
    }
}

#[test]
fn chained_map_is_dense_after_ten_steps() {
    // F couples i and i+1 (mod 10); ten applications reach every input from every output.
    let p = jacobian_sparsity(&ChainedMap, &ChainedMap.start()).unwrap();
    assert_eq!(p.nnz(), 100);
    // One application: the cyclic bidiagonal pattern.
    let once = vector_fn!(10; |x, y| {
        for i in 0..10 {
            y[i] = x[i].sin() * x[(i + 1) % 10].cos() + x[i] * 0.5;
        }
    });
    let p = jacobian_sparsity(&once, &[0.1; 10]).unwrap();
    let expected: Vec<(usize, usize)> = {
        let mut e: Vec<_> = (0..10).flat_map(|i| [(i, i), (i, (i + 1) % 10)]).collect();
        e.sort_unstable();
        e
    };
    assert_eq!(entries(&p), expected);
}

#[test]
fn hessian_rules_of_each_operation() {
    // x0·x1: only the cross pair; x2/x3: (2,3) and (3,3); exp(x4 + x5): all pairs of {4, 5};
    // x6 + 3 x7 and abs(x8): linear, nothing; pow(x9, x10): all pairs of {9, 10}.
    let f = scalar_fn!(|x| x[0] * x[1]
        + x[2] / x[3]
        + (x[4] + x[5]).exp()
        + x[6]
        + x[7] * 3.0
        + x[8].abs()
        + x[9].pow(x[10])
        + x[11].max(x[12])
        + x[13].floor() * x[14]);
    let p = hessian_sparsity(&f, &[1.0; 15]).unwrap();
    let mut expected = vec![
        (0, 1),
        (1, 0),
        (2, 3),
        (3, 2),
        (3, 3),
        (4, 4),
        (4, 5),
        (5, 4),
        (5, 5),
        (9, 9),
        (9, 10),
        (10, 9),
        (10, 10),
    ];
    expected.sort_unstable();
    // floor(x13) is piecewise constant, but in global mode its value is unknown, not a branch.
    assert_eq!(entries(&p), expected);
    let j = jacobian_sparsity(&scalar_as_vector(&f), &[1.0; 15]).unwrap();
    // Every input but x13 (floor has derivative 0).
    assert_eq!(
        entries(&j),
        (0..15)
            .filter(|&i| i != 13)
            .map(|i| (0, i))
            .collect::<Vec<_>>()
    );
}

fn scalar_as_vector<F: ScalarFunction>(f: &F) -> tangent_ad::AsVector<&F> {
    tangent_ad::AsVector(f)
}

/// `y = x0 < x1 ? x0² : x1 + x2`: a value-dependent branch.
struct Branchy;
impl VectorFunction for Branchy {
    fn output_len(&self) -> usize {
        1
    }
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        y[0] = if x[0] < x[1] {
            x[0] * x[0]
        } else {
            x[1] + x[2]
        };
    }
}

#[test]
fn value_dependent_branches() {
    // Global mode refuses with a typed error…
    let err = jacobian_sparsity(&Branchy, &[0.0, 1.0, 2.0]).unwrap_err();
    assert_eq!(
        err,
        SparsityError::ValueDependentControlFlow {
            operation: "comparison"
        }
    );
    // …local mode follows the branch at the point.
    let p = local_jacobian_sparsity(&Branchy, &[0.0, 1.0, 2.0]).unwrap();
    assert_eq!(entries(&p), vec![(0, 0)]);
    let p = Detector::Local
        .jacobian_sparsity(&Branchy, &[3.0, 1.0, 2.0])
        .unwrap();
    assert_eq!(entries(&p), vec![(0, 1), (0, 2)]);
    // Comparisons among constants are fine in global mode.
    let f = vector_fn!(1; |x, y| {
        let c = S::cst(2.0);
        y[0] = if c > S::cst(1.0) { x[0] } else { x[1] };
    });
    assert_eq!(
        entries(&jacobian_sparsity(&f, &[0.0; 2]).unwrap()),
        vec![(0, 0)]
    );
    // value() of an input-dependent global tracer is flagged too.
    let g = vector_fn!(1; |x, y| {
        y[0] = if x[0].value() > 0.0 { x[0] } else { x[1] };
    });
    assert_eq!(
        jacobian_sparsity(&g, &[1.0, 1.0]).unwrap_err(),
        SparsityError::ValueDependentControlFlow {
            operation: "value()"
        }
    );
}

#[test]
fn local_min_max_pick_the_active_argument() {
    let f = vector_fn!(2; |x, y| {
        y[0] = x[0].max(x[1]);
        y[1] = x[0].min(x[1]);
    });
    assert_eq!(
        entries(&local_jacobian_sparsity(&f, &[2.0, 1.0]).unwrap()),
        vec![(0, 0), (1, 1)]
    );
    // A tie depends on both; global mode on both.
    assert_eq!(local_jacobian_sparsity(&f, &[1.0, 1.0]).unwrap().nnz(), 4);
    assert_eq!(jacobian_sparsity(&f, &[2.0, 1.0]).unwrap().nnz(), 4);
}

/// A rule `y0 = x0 · x1`, `y1 = exp(x2)` declaring its per-output dependencies (or not).
#[derive(Clone)]
struct TwoOutputs {
    declare: bool,
}
impl Rule for TwoOutputs {
    type State = ();
    fn n_inputs(&self) -> usize {
        3
    }
    fn n_outputs(&self) -> usize {
        2
    }
    fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<(), RuleError> {
        y[0] = x[0] * x[1];
        y[1] = x[2].exp();
        Ok(())
    }
    fn jvp<S: Scalar>(
        &self,
        _: &(),
        x: &[S],
        y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        for (d, o) in dx.chunks_exact(3).zip(dy.chunks_exact_mut(2)) {
            o[0] = d[0] * x[1] + d[1] * x[0];
            o[1] = d[2] * y[1];
        }
        Ok(())
    }
    fn vjp<S: Scalar>(
        &self,
        _: &(),
        x: &[S],
        y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        xbar[0] += ybar[0] * x[1];
        xbar[1] += ybar[0] * x[0];
        xbar[2] += ybar[1] * y[1];
        Ok(())
    }
    fn dependencies(&self) -> DependencyPattern {
        if self.declare {
            DependencyPattern::PerOutput(vec![vec![0, 1], vec![2]])
        } else {
            DependencyPattern::Dense
        }
    }
}

struct WithRule {
    declare: bool,
}
impl VectorFunction for WithRule {
    fn output_len(&self) -> usize {
        3
    }
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        let mut r = [S::zero(); 2];
        let inputs = [x[0], x[1], x[2]];
        // An error here would be a bug in the test rule; the output stays constant 0 then.
        if S::apply_rule(
            &TwoOutputs {
                declare: self.declare,
            },
            &inputs,
            &mut r,
        )
        .is_ok()
        {
            y[0] = r[0];
            y[1] = r[1] * x[3];
        }
        y[2] = x[3];
    }
}

#[test]
fn rules_record_their_declared_dependencies() {
    let x = [1.0, 2.0, 0.5, 3.0];
    let declared = vec![(0, 0), (0, 1), (1, 2), (1, 3), (2, 3)];
    let dense = vec![
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 3),
    ];
    for d in [Detector::Global, Detector::Local] {
        let p = d
            .jacobian_sparsity(&WithRule { declare: true }, &x)
            .unwrap();
        assert_eq!(entries(&p), declared);
        let p = d
            .jacobian_sparsity(&WithRule { declare: false }, &x)
            .unwrap();
        assert_eq!(entries(&p), dense);
    }
    // The rule's values are carried in local mode.
    let rule = TwoOutputs { declare: true };
    let xt: Vec<tangent_sparsity::LocalJacobianTracer> =
        [1.0, 2.0, 0.5].iter().map(|&v| v.into()).collect();
    let mut yt = [tangent_sparsity::LocalJacobianTracer::default(); 2];
    Scalar::apply_rule(&rule, &xt, &mut yt).unwrap();
    assert_eq!(yt[0].value(), 2.0);
    assert_eq!(yt[1].value(), 0.5f64.exp());
    // A wrong length is a typed error.
    let mut short = [tangent_sparsity::LocalJacobianTracer::default(); 1];
    assert!(matches!(
        Scalar::apply_rule(&rule, &xt, &mut short),
        Err(RuleError::DimensionMismatch { .. })
    ));
}

#[test]
fn hessian_through_rules_is_dense_in_declared_inputs() {
    let f = scalar_fn!(|x| {
        let mut r = [S::zero(); 2];
        let _ = S::apply_rule(&TwoOutputs { declare: true }, &x[..3], &mut r);
        r[0] + r[1] * x[3]
    });
    let p = hessian_sparsity(&f, &[1.0; 4]).unwrap();
    // r0 = F(x0, x1): {0,1}²; r1 = G(x2): (2,2); r1 · x3: (2,3).
    let expected = vec![(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2)];
    assert_eq!(entries(&p), expected);
}

thread_local! {
    static KEPT: std::cell::Cell<Option<tangent_sparsity::GlobalJacobianTracer>> =
        const { std::cell::Cell::new(None) };
}

/// Keeps its first input tracer across detections (a misuse the detection must report).
struct Leaky;
impl VectorFunction for Leaky {
    fn output_len(&self) -> usize {
        1
    }
    fn eval<S: Scalar>(&self, x: &[S], y: &mut [S]) {
        let any: &dyn std::any::Any = &x[0];
        if let Some(t) = any.downcast_ref::<tangent_sparsity::GlobalJacobianTracer>() {
            if let Some(old) = KEPT.get() {
                let old_s: &dyn std::any::Any = &old;
                if let Some(o) = old_s.downcast_ref::<S>() {
                    y[0] = x[1] + *o;
                    return;
                }
            }
            KEPT.set(Some(*t));
        }
        y[0] = x[1] * x[0];
    }
}

#[test]
fn foreign_tracers_are_reported() {
    assert!(jacobian_sparsity(&Leaky, &[1.0, 2.0]).is_ok());
    assert_eq!(
        jacobian_sparsity(&Leaky, &[1.0, 2.0]).unwrap_err(),
        SparsityError::ForeignTracer
    );
}

#[test]
fn empty_and_constant_functions() {
    let f = vector_fn!(2; |x, y| {
        y[0] = S::cst(1.0);
        y[1] = x[0] * 0.0 + 2.0;
    });
    let p = jacobian_sparsity(&f, &[1.0]).unwrap();
    // `x · 0` keeps its structural dependency.
    assert_eq!(entries(&p), vec![(1, 0)]);
    let g = vector_fn!(2; |x, y| {
        y[0] = x.iter().copied().sum::<S>();
    });
    let p = jacobian_sparsity(&g, &[]).unwrap();
    assert_eq!(p.shape(), (2, 0));
    assert_eq!(p.nnz(), 0);
}
