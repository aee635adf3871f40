//! The tape's encodings and sweeps: the `Square` instruction, replay's specialised arms, the
//! reverse sweep's breaks (inputs anywhere on the tape, constants materialised as entries) and
//! the P6 Rosenbrock gradient against its hand-written formula.
//!
//! Every derivative is checked against an independent route: an analytic formula, forward mode
//! (`Dual`), or a fresh recording at the same point (replay must reproduce its values bit for
//! bit — the same formulas — and its gradient to rounding: the replayed reverse sweep adds each
//! adjoint's contributions in the replay order).

#![allow(clippy::unwrap_used)] // tests: unwrap is the assertion

use tangent_ad::problems::ExtendedRosenbrock;
use tangent_ad::{Dual, Scalar, ScalarFunction, Tape, Var};

/// Seeded pseudo-random numbers (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        lo + (hi - lo) * ((z >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Forward-mode gradient of `f` at `x` (one `Dual<N>` pass).
fn forward_gradient<const N: usize>(f: impl Fn(&[Dual<N>]) -> Dual<N>, x: &[f64]) -> [f64; N] {
    let d: Vec<Dual<N>> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| Dual::variable(v, i))
        .collect();
    f(&d).d
}

/// `|a − b| ≤ tol · (1 + |b|)` elementwise.
fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn square_is_one_unary_entry_with_exact_derivatives() {
    let squares: [fn(Var) -> Var; 2] = [|x| x * x, |x| x.powi(2)];
    for square in squares {
        let mut tape = Tape::new();
        let y = tape.record(&[1.5], |x| square(x[0]));
        assert_eq!(tape.len(), 2, "input and one square entry");
        for x in [1.5, -0.3, 0.0, 7.25, -1e150] {
            tape.replay(&[x]).unwrap();
            // Value and derivative are one rounding each (x·x, x·2 exact): compare bits.
            assert_eq!(tape.value(y).unwrap().to_bits(), (x * x).to_bits());
            assert_eq!(x.powi(2).to_bits(), (x * x).to_bits());
            let mut g = [0.0];
            tape.gradient(y, &mut g).unwrap();
            assert_eq!(g[0], 2.0 * x);
            let mut hv = [0.0];
            let mut g2 = [0.0];
            tape.hvp(y, &[0.75], &mut hv, Some(&mut g2)).unwrap();
            assert_eq!(hv[0], 1.5, "second derivative 2 along 0.75");
            assert_eq!(g2[0], 2.0 * x);
            let mut jv = [0.0];
            tape.jvp(&[y], &[-2.0], &mut jv).unwrap();
            assert_eq!(jv[0], -4.0 * x);
        }
    }
    // The same variable from two recordings is not the same operand: still an error.
    let mut t1 = Tape::new();
    let old = t1.record(&[1.0], |x| x[0]);
    let mut t2 = Tape::new();
    let y = t2.record(&[1.0], |x| x[0] * old);
    assert!(t2.gradient(y, &mut [0.0]).is_err());
}

/// Uses every opcode replay has its own arm for (`+ − ×`, square, `± c`, `· c`, `/ c`, `c − x`,
/// negation) and some that go through the general formula table (`/`, `c / x`, sin, exp, pow,
/// atan2 with a materialised constant, max).
fn every_arm<S: Scalar>(x: &[S]) -> S {
    let (a, b, c) = (x[0], x[1], x[2]);
    let t = a * b - c * c + (a + 2.5) * 3.0 - (b / 4.0) + (S::cst(1.0) - c) - (-a);
    let u = (a / (b * b + 1.0)) + S::cst(2.0) / (c * c + 1.0) + t.sin() * b.exp();
    let w = (a * a + 1.0).pow(b) + S::cst(0.5).atan2(c) + a.max(S::cst(0.25));
    t * u + w * w + (b - a) * (c + b)
}

#[test]
fn replay_reproduces_a_fresh_recording_bit_for_bit() {
    let mut rng = Rng(0x5eed_0001);
    let x0 = [0.7, -0.4, 1.1];
    let mut replayed = Tape::new();
    let y = replayed.record(&x0, every_arm);
    for _ in 0..50 {
        let x: [f64; 3] = core::array::from_fn(|_| rng.uniform(-1.5, 1.5));
        replayed.replay(&x).unwrap();
        let mut g = [0.0; 3];
        replayed.gradient(y, &mut g).unwrap();
        let mut fresh = Tape::new();
        let yf = fresh.record(&x, every_arm);
        let mut gf = [0.0; 3];
        fresh.gradient(yf, &mut gf).unwrap();
        assert_eq!(
            replayed.value(y).unwrap().to_bits(),
            every_arm(&x).to_bits()
        );
        // The same partials (bit for bit: replay and recording evaluate the same formulas),
        // but the replayed sweep adds each adjoint's contributions in the replay order, not
        // the recording's: equal to a few roundings.
        assert_close(&g, &gf, 4e-15, &format!("at {x:?}: replay vs recording"));
        // 1e-13: forward mode evaluates the same partials, but sums the products in another
        // order; |∇f| is O(10) here.
        assert_close(
            &g,
            &forward_gradient::<3>(every_arm, &x),
            1e-13,
            "vs forward mode",
        );
    }
}

#[test]
fn inputs_between_operations_and_an_input_as_output() {
    // Inputs created after arithmetic split the reverse sweep's stream; an output that is an
    // input (and one that is a constant) is seeded at that entry directly.
    let f = |a: Var, b: Var| (a.sin() * b + a * a).max(Var::from(-10.0)) + b.sqrt();
    // The weighted sum the vjp below computes, y + 0.5 b + 7·3, in forward mode.
    let weighted = |x: &[Dual<2>]| {
        let (a, b) = (x[0], x[1]);
        (a.sin() * b + a * a).max(Dual::cst(-10.0)) + b.sqrt() + a.sin() * 2.0 + b * 0.5
    };
    for &(x0, x1) in &[(0.3, 2.0), (-1.2, 0.5), (2.0, 1e-3)] {
        let mut tape = Tape::new();
        let (y, b) = tape.recording(|rec| {
            let a = rec.input(x0);
            let s = a.sin() * 2.0;
            let b = rec.input(x1);
            (f(a, b) + s, b)
        });
        let mut g = [0.0; 2];
        tape.vjp(&[y, b, Var::from(3.0)], &[1.0, 0.5, 7.0], &mut g)
            .unwrap();
        let fd = forward_gradient(weighted, &[x0, x1]);
        // 1e-14: the same partials, summed in another order.
        assert_close(&g, &fd, 1e-14, "vjp vs forward mode");
        // Again: the sweep left its buffer clean, so a second sweep gives the same numbers.
        let mut g2 = [0.0; 2];
        tape.vjp(&[y, b, Var::from(3.0)], &[1.0, 0.5, 7.0], &mut g2)
            .unwrap();
        assert_eq!(g, g2);
        // Replay (the inputs are not the first entries, so replay walks past them) at a
        // shifted point, against forward mode there.
        let (z0, z1) = (x0 + 0.25, x1 * 1.5);
        tape.replay(&[z0, z1]).unwrap();
        tape.vjp(&[y, b, Var::from(3.0)], &[1.0, 0.5, 7.0], &mut g)
            .unwrap();
        let fz = forward_gradient(weighted, &[z0, z1]);
        // 1e-14: as above.
        assert_close(&g, &fz, 1e-14, "replayed vjp vs forward mode");
    }
}

#[test]
fn zero_adjoint_never_meets_an_infinite_partial() {
    // d/dx sqrt(x) = ∞ at 0, but sqrt(x) only reaches the output through a product with 0.
    let mut tape = Tape::new();
    let y = tape.record(&[0.0], |x| x[0].sqrt() * 0.0 + x[0] * 3.0);
    let mut g = [0.0];
    tape.gradient(y, &mut g).unwrap();
    assert_eq!(g[0], 3.0);
    tape.replay(&[0.0]).unwrap();
    tape.gradient(y, &mut g).unwrap();
    assert_eq!(g[0], 3.0);
    // Products, squares and `· c` whose partial is infinite, cut off by `min` (partial 0 on
    // the larger side): the replayed sweep recomputes those partials from the values, and
    // skips them as the recorded one does. d/dx0 = 3, d/dx1 = 0 at (1, ∞).
    let h = |x: &[Var]| {
        (x[0] * x[1]).min(Var::from(1.0))
            + (x[1] * x[1]).min(Var::from(2.0))
            + (x[0] * f64::INFINITY).min(Var::from(3.0))
            + x[0] * 3.0
    };
    let y = tape.record(&[0.5, 0.5], h);
    let mut g2 = [0.0; 2];
    tape.replay(&[1.0, f64::INFINITY]).unwrap();
    tape.gradient(y, &mut g2).unwrap();
    assert_eq!(g2, [3.0, 0.0]);
    let y = tape.record(&[1.0, f64::INFINITY], h);
    tape.gradient(y, &mut g2).unwrap();
    assert_eq!(g2, [3.0, 0.0]);
    // Where the infinite partial is reached, it is the answer.
    let y = tape.record(&[0.0], |x| x[0].sqrt());
    tape.gradient(y, &mut g).unwrap();
    assert_eq!(g[0], f64::INFINITY);
}

/// Hand-written gradient of the extended Rosenbrock function (P6).
fn rosenbrock_gradient(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let t = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * t * x[i] - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * t;
    }
    g
}

#[test]
fn rosenbrock_gradient_recorded_and_replayed_matches_the_formula() {
    let mut rng = Rng(0x5eed_0006);
    for n in [2, 3, 1000] {
        let f = ExtendedRosenbrock { n };
        let mut tape = Tape::new();
        let y = tape.record(&f.start(), |x| f.eval(x));
        // The inputs and 8 entries per term: square, −, c − x, square, · 100, square, + and the
        // running sum's + (a `+ c` entry for the first term, whose sum starts at the constant 0).
        assert_eq!(tape.len(), n + 8 * (n - 1));
        for _ in 0..5 {
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let reference = rosenbrock_gradient(&x);
            let scale = reference.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            tape.replay(&x).unwrap();
            let mut g = vec![0.0; n];
            tape.gradient(y, &mut g).unwrap();
            // 1e-14 of the largest component: each component sums two terms of a few roundings.
            assert_close(&g, &reference, 1e-14 * scale, "replay vs formula");
            let mut fresh = Tape::new();
            let yf = fresh.record(&x, |x| f.eval(x));
            let mut gf = vec![0.0; n];
            fresh.gradient(yf, &mut gf).unwrap();
            // The replayed sweep sums each adjoint's (two or three) contributions in another
            // order: equal to roundings of its largest terms.
            assert_close(
                &g,
                &gf,
                1e-15 * scale,
                "replay vs recording at the same point",
            );
            assert_eq!(tape.value(y).unwrap(), f.eval(&x));
        }
    }
}

#[test]
fn operators_on_variables_and_constants_in_every_combination() {
    // Recording takes a fast path when both operands are variables of the active tape, and the
    // general one otherwise (a constant operand, a constant result): same numbers either way.
    fn program<S: Scalar>(x: &[S]) -> S {
        let (a, b, k) = (x[0], x[1], S::cst(1.75));
        let mut s = S::zero();
        for (p, q) in [(a, b), (a, k), (k, b), (k, k), (a, a)] {
            s += p + q;
            s += p - q;
            s += p * q;
            s += p / (q * q + 1.0);
            s += p.atan2(q) + p.max(q) + p.min(q) + p.hypot(q);
        }
        s
    }
    let x = [0.4, -1.3];
    let mut tape = Tape::new();
    let y = tape.record(&x, program);
    let mut g = [0.0; 2];
    tape.gradient(y, &mut g).unwrap();
    assert_eq!(tape.value(y).unwrap(), program(&x));
    // 1e-14: the same partials as forward mode, summed in another order.
    assert_close(
        &g,
        &forward_gradient::<2>(program, &x),
        1e-14,
        "vs forward mode",
    );
}
