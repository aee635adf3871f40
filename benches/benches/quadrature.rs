//! P8: quadrature and the cost of its derivatives, measured in one run.
//!
//! * per integral (I₁ on [0, 1], I₂ on [0, ∞), p = 2, rtol 1e-10, atol 0): the value with the
//!   default pair (QUADPACK's: (10, 21) finite, (7, 15) infinite) and with the (7, 15) and
//!   (10, 21) pairs everywhere, from a plain `f64` closure, the value through the generic
//!   integrand, `dI/dp` by the one-pass forward mode (`Dual<1>` integrand), through the rule in
//!   forward mode (primal + tangent integral on the primal's partition), by `value_and_vjp`
//!   (reverse without tape) and by the reverse tape through the rule. Reference: the value with
//!   the generic integrand (same code path as the derivatives);
//! * the vjp strategy: per-node cost of the integrand's vjp by `Dual<K>` chunks against recording
//!   it on the tape, for 1 and 16 parameters;
//! * cubature: Genz–Malik against tensor Gauss–Legendre on a 3-D box.
//!
//! Evaluation counts are printed first, as ratios to SciPy's quad (QUADPACK), which uses 63 and
//! 165 evaluations here (`python3 benches/peers/quadrature_scipy.py`), then the derivative's
//! cost over the value's, timed interleaved in this run.

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use tangent_ad::operators::{Reverse, value_and_gradient};
use tangent_ad::{Dual, Scalar, ScalarFunction, Tape, Var, VectorFunction};
use tangent_quadrature::cubature::{CubatureProblem, GenzMalikCubature, TensorGaussLegendre};
use tangent_quadrature::integrand::{BatchIntegrand, multi, scalar};
use tangent_quadrature::problems::{ExpPolynomial, P8, p8_first, p8_second};
use tangent_quadrature::{GaussKronrod, GaussKronrodRule, Integrator, ParametricIntegral};

/// The integral through the rule as a scalar loss (tape or forward operators).
struct Through<F>(ParametricIntegral<F>);

impl<F: VectorFunction + Send + Sync + 'static> ScalarFunction for Through<F> {
    fn eval<S: Scalar>(&self, x: &[S]) -> S {
        let mut out = [S::zero()];
        self.0.eval(x, &mut out).expect("P8 converges");
        out[0]
    }
}

fn alg(rule: Option<GaussKronrodRule>) -> GaussKronrod {
    GaussKronrod {
        rule,
        ..P8::algorithm()
    }
}

/// The pair choices compared: the default (QUADPACK's), then (7, 15) and (10, 21) everywhere.
const RULES: [Option<GaussKronrodRule>; 3] = [
    None,
    Some(GaussKronrodRule::K15),
    Some(GaussKronrodRule::K21),
];

/// SciPy's quad (QUADPACK) evaluations on P8 at epsrel 1e-10, epsabs 0.
const QUADPACK: (usize, usize) = (63, 165);

fn rule_name(rule: Option<GaussKronrodRule>) -> String {
    rule.map_or("default".to_string(), |r| format!("{r:?}"))
}

fn print_counts() {
    println!("== P8 integrand evaluations (rtol 1e-10, atol 0) ==");
    let f1 = scalar(|x: f64| (-P8::P * x * x).exp() * (10.0 * x).cos());
    let f2 = scalar(|x: f64| (-P8::P * x).exp() * x * x);
    for rule in RULES {
        let mut it = Integrator::new(&alg(rule)).unwrap();
        let mut v = [0.0];
        let n1 = it
            .integrate_into(&f1, 0.0, 1.0, &mut v)
            .unwrap()
            .evaluations;
        let n2 = it
            .integrate_into(&f2, 0.0, f64::INFINITY, &mut v)
            .unwrap()
            .evaluations;
        let i1 = p8_first(alg(rule)).unwrap();
        let i2 = p8_second(alg(rule)).unwrap();
        let mut d = [Dual::<1>::default()];
        let f1n = i1
            .integrator()
            .forward(&[Dual::variable(P8::P, 0)], &mut d)
            .unwrap()
            .evaluations;
        let f2n = i2
            .integrator()
            .forward(&[Dual::variable(P8::P, 0)], &mut d)
            .unwrap()
            .evaluations;
        let (mut g, mut v) = ([0.0], [0.0]);
        let r1 = i1
            .integrator()
            .value_and_vjp(&[P8::P], &[1.0], &mut v, &mut g)
            .unwrap()
            .evaluations;
        let (mut g, mut v) = ([0.0], [0.0]);
        let r2 = i2
            .integrator()
            .value_and_vjp(&[P8::P], &[1.0], &mut v, &mut g)
            .unwrap()
            .evaluations;
        let (q1, q2) = (QUADPACK.0 as f64, QUADPACK.1 as f64);
        println!(
            "{:<8} value I1 {n1:4} ({:.2} × QUADPACK) I2 {n2:4} ({:.2} × QUADPACK) | one-pass forward (Dual<1> evaluations) I1 {f1n:4} I2 {f2n:4} | value_and_vjp I1 {r1:4} I2 {r2:4}",
            rule_name(rule),
            n1 as f64 / q1,
            n2 as f64 / q2,
        );
    }
}

fn p8(c: &mut Criterion) {
    let f1 = scalar(|x: f64| (-P8::P * x * x).exp() * (10.0 * x).cos());
    let f2 = scalar(|x: f64| (-P8::P * x).exp() * x * x);
    for (k, name) in ["P8 I1", "P8 I2"].into_iter().enumerate() {
        let mut group = c.benchmark_group(name);
        let upper = if k == 0 { 1.0 } else { f64::INFINITY };
        for rule in RULES {
            let mut it = Integrator::new(&alg(rule)).unwrap();
            let mut v = [0.0];
            let f: &dyn BatchIntegrand = if k == 0 { &f1 } else { &f2 };
            group.bench_function(format!("value closure {}", rule_name(rule)), |b| {
                b.iter(|| it.integrate_into(f, 0.0, black_box(upper), &mut v).unwrap())
            });
        }
        macro_rules! routes {
            ($integral:expr) => {{
                let integral = $integral;
                let mut it = integral.integrator();
                let mut v = [0.0];
                group.bench_function("value", |b| {
                    b.iter(|| it.value(black_box(&[P8::P]), &mut v).unwrap())
                });
                let mut d = [Dual::<1>::default()];
                group.bench_function("dI/dp one-pass forward", |b| {
                    b.iter(|| {
                        it.forward(black_box(&[Dual::variable(P8::P, 0)]), &mut d)
                            .unwrap()
                    })
                });
                group.bench_function("dI/dp rule forward", |b| {
                    b.iter(|| {
                        integral
                            .eval(black_box(&[Dual::variable(P8::P, 0)]), &mut d)
                            .unwrap()
                    })
                });
                let mut g = [0.0];
                group.bench_function("dI/dp value_and_vjp", |b| {
                    b.iter(|| {
                        g[0] = 0.0;
                        it.value_and_vjp(black_box(&[P8::P]), &[1.0], &mut v, &mut g)
                            .unwrap()
                    })
                });
                let loss = Through(integral.clone());
                group.bench_function("dI/dp tape through rule", |b| {
                    b.iter(|| {
                        value_and_gradient(&loss, &Reverse, black_box(&[P8::P]), &mut g).unwrap()
                    })
                });
            }};
        }
        if k == 0 {
            routes!(p8_first(P8::algorithm()).unwrap());
        } else {
            routes!(p8_second(P8::algorithm()).unwrap());
        }
        group.finish();
    }
}

/// Per-node vjp `(∂f/∂p)ᵀ ȳ`: `Dual<K>` chunks (what the rule does) against one tape recording
/// and reverse sweep per node.
fn vjp_strategy(c: &mut Criterion) {
    let mut group = c.benchmark_group("vjp per node");
    let x = 0.37;
    let gc = tangent_quadrature::problems::GaussianCosine;
    let mut y = [0.0];
    group.bench_function("1 param f64", |b| {
        b.iter(|| gc.eval(black_box(&[x, P8::P]), &mut y))
    });
    let mut yd = [Dual::<1>::default()];
    group.bench_function("1 param dual1", |b| {
        b.iter(|| {
            gc.eval(
                black_box(&[Dual::constant(x), Dual::variable(P8::P, 0)]),
                &mut yd,
            )
        })
    });
    let mut tape = Tape::new();
    let mut grad = [0.0; 17];
    group.bench_function("1 param tape", |b| {
        b.iter(|| {
            let out = tape.record(black_box(&[x, P8::P]), |z| {
                let mut o = [Var::default()];
                gc.eval(z, &mut o);
                o[0]
            });
            tape.gradient(out, &mut grad[..2]).unwrap();
        })
    });
    let p16: Vec<f64> = (0..16).map(|i| 0.1 * (i as f64 + 1.0)).collect();
    let mut z = vec![x];
    z.extend_from_slice(&p16);
    group.bench_function("16 params f64", |b| {
        b.iter(|| ExpPolynomial.eval(black_box(&z[..]), &mut y))
    });
    let mut zd = vec![Dual::<8>::default(); 17];
    let mut yd8 = [Dual::<8>::default()];
    group.bench_function("16 params dual8 x2", |b| {
        b.iter(|| {
            for chunk in 0..2 {
                zd[0] = Dual::constant(x);
                for i in 0..16 {
                    zd[1 + i] = Dual::variable(p16[i], i.wrapping_sub(8 * chunk));
                }
                ExpPolynomial.eval(black_box(&zd[..]), &mut yd8);
            }
        })
    });
    group.bench_function("16 params tape", |b| {
        b.iter(|| {
            let out = tape.record(black_box(&z[..]), |zv| {
                let mut o = [Var::default()];
                ExpPolynomial.eval(zv, &mut o);
                o[0]
            });
            tape.gradient(out, &mut grad).unwrap();
        })
    });
    group.finish();
}

fn cubature(c: &mut Criterion) {
    let mut group = c.benchmark_group("cubature 3-D exp(x+y+z)");
    let problem = CubatureProblem::new(
        multi(3, |x: &[f64]| (x[0] + x[1] + x[2]).exp()),
        &[0.0; 3],
        &[1.0; 3],
    );
    let gm = GenzMalikCubature {
        rtol: 1e-10,
        ..Default::default()
    };
    let n_gm = gm.solve(&problem).unwrap().evaluations;
    println!(
        "cubature 3-D: Genz–Malik rtol 1e-10 uses {n_gm} evaluations; tensor Gauss–Legendre 8³ = 512"
    );
    group.bench_function("genz-malik rtol 1e-10", |b| {
        b.iter(|| gm.solve(black_box(&problem)).unwrap())
    });
    let tgl = TensorGaussLegendre { points: 8 };
    group.bench_function("tensor gauss-legendre 8 cubed", |b| {
        b.iter(|| tgl.solve(black_box(&problem)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, p8, vjp_strategy, cubature);

/// Median over blocks of `t(b) / t(a)`, the two timed alternately in blocks of `reps` calls, so
/// that both see the same load on a shared machine (criterion's sequential groups do not).
fn interleaved_ratio(mut a: impl FnMut(), mut b: impl FnMut(), reps: usize) -> f64 {
    let mut ratios = Vec::new();
    for block in 0..41 {
        let time = |f: &mut dyn FnMut()| {
            let t = std::time::Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64()
        };
        // Alternate the order so that neither always runs first.
        let (ta, tb) = if block % 2 == 0 {
            let ta = time(&mut a);
            (ta, time(&mut b))
        } else {
            let tb = time(&mut b);
            (time(&mut a), tb)
        };
        ratios.push(tb / ta);
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// The derivative's cost as a ratio to the integral itself, interleaved (see above).
fn print_interleaved() {
    println!("== P8 derivative cost / value cost, interleaved medians (rtol 1e-10) ==");
    macro_rules! report {
        ($name:expr, $integral:expr) => {{
            let integral = $integral;
            let mut it = integral.integrator();
            let mut it2 = integral.integrator();
            let mut v = [0.0];
            let mut v2 = [0.0];
            let mut d = [Dual::<1>::default()];
            let mut g = [0.0];
            let p = [P8::P];
            let pd = [Dual::variable(P8::P, 0)];
            let loss = Through(integral.clone());
            let one = interleaved_ratio(
                || {
                    it.value(black_box(&p), &mut v).unwrap();
                },
                || {
                    it2.forward(black_box(&pd), &mut d).unwrap();
                },
                200,
            );
            let rule = interleaved_ratio(
                || {
                    it.value(black_box(&p), &mut v).unwrap();
                },
                || integral.eval(black_box(&pd), &mut d).unwrap(),
                200,
            );
            let rev = interleaved_ratio(
                || {
                    it.value(black_box(&p), &mut v).unwrap();
                },
                || {
                    g[0] = 0.0;
                    it2.value_and_vjp(black_box(&p), &[1.0], &mut v2, &mut g).unwrap();
                },
                200,
            );
            let tape = interleaved_ratio(
                || {
                    it.value(black_box(&p), &mut v).unwrap();
                },
                || {
                    value_and_gradient(&loss, &Reverse, black_box(&p), &mut g).unwrap();
                },
                200,
            );
            println!(
                "{:<10} one-pass forward {one:.2}x | rule forward {rule:.2}x | value_and_vjp {rev:.2}x | tape through rule {tape:.2}x",
                $name
            );
        }};
    }
    for rule in RULES {
        report!(
            format!("I1 {}", rule_name(rule)),
            p8_first(alg(rule)).unwrap()
        );
        report!(
            format!("I2 {}", rule_name(rule)),
            p8_second(alg(rule)).unwrap()
        );
    }
    // Per node: the Dual<1> integrand against the f64 one.
    let gc = tangent_quadrature::problems::GaussianCosine;
    let (mut y, mut yd) = ([0.0], [Dual::<1>::default()]);
    let node = interleaved_ratio(
        || gc.eval(black_box(&[0.37, P8::P]), &mut y),
        || {
            gc.eval(
                black_box(&[Dual::constant(0.37), Dual::variable(P8::P, 0)]),
                &mut yd,
            )
        },
        20_000,
    );
    println!("per node: exp(-p x^2) cos(10 x) on Dual<1> costs {node:.2}x its f64 evaluation");
}

fn main() {
    tangent_benches::ignore_earlier_runs();
    print_counts();
    print_interleaved();
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== ratios (medians of this run) ==");
    for name in ["P8 I1", "P8 I2"] {
        tangent_benches::print_ratios(
            name,
            "value",
            &[
                "value closure default",
                "value closure K15",
                "value closure K21",
                "dI/dp one-pass forward",
                "dI/dp rule forward",
                "dI/dp value_and_vjp",
                "dI/dp tape through rule",
            ],
        );
    }
    tangent_benches::print_ratios(
        "vjp per node",
        "1 param f64",
        &["1 param dual1", "1 param tape"],
    );
    tangent_benches::print_ratios(
        "vjp per node",
        "16 params f64",
        &["16 params dual8 x2", "16 params tape"],
    );
    tangent_benches::print_ratios(
        "cubature 3-D exp(x+y+z)",
        "tensor gauss-legendre 8 cubed",
        &["genz-malik rtol 1e-10"],
    );
}
