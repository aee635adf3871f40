//! Tape recording, replay, isolation and error reporting.

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops read like the formulas; unwrap is the assertion

use tangent_ad::{Dual, Scalar, Tape, TapeError, Var};

fn f<S: Scalar>(x: &[S]) -> S {
    let a = x[0] * x[1].sin() + x[0].exp() / x[1];
    let b = (x[0] - x[1]).powi(3) + (x[1] * 2.0).sqrt() * x[0].atan2(x[1]);
    a * b.tanh() + (x[0] * x[0] + 1.0).ln()
}

fn forward_grad(x: &[f64]) -> Vec<f64> {
    let d: Vec<Dual<2>> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| Dual::variable(v, i))
        .collect();
    f(&d).d.to_vec()
}

#[test]
fn gradient_matches_forward_mode() {
    let x = [0.7, 1.3];
    let mut tape = Tape::new();
    let y = tape.record(&x, f);
    let mut g = [0.0; 2];
    tape.gradient(y, &mut g).unwrap();
    let gf = forward_grad(&x);
    for i in 0..2 {
        // 1e-14: the two modes evaluate the same partials in a different order.
        assert!(
            (g[i] - gf[i]).abs() < 1e-14 * (1.0 + gf[i].abs()),
            "{g:?} vs {gf:?}"
        );
    }
    assert_eq!(tape.value(y).unwrap(), f(&x));
}

#[test]
fn replay_matches_fresh_recording() {
    let mut tape = Tape::new();
    let y = tape.record(&[0.7, 1.3], f);
    for x in [[0.2, 0.9], [1.5, 2.5], [-0.3, 0.4]] {
        tape.replay(&x).unwrap();
        let mut g = [0.0; 2];
        tape.gradient(y, &mut g).unwrap();
        assert_eq!(tape.value(y).unwrap(), f(&x));
        let gf = forward_grad(&x);
        for i in 0..2 {
            assert!((g[i] - gf[i]).abs() < 1e-14 * (1.0 + gf[i].abs()));
        }
    }
}

#[test]
fn hvp_matches_nested_forward() {
    let x = [0.7, 1.3];
    let v = [0.3, -1.1];
    let mut tape = Tape::new();
    let y = tape.record(&x, f);
    let mut hv = [0.0; 2];
    tape.hvp(y, &v, &mut hv, None).unwrap();
    // forward over forward: outer direction v, inner unit directions.
    for i in 0..2 {
        let xs: Vec<Dual<1, Dual<1>>> = (0..2)
            .map(|j| {
                Dual::new(
                    Dual::variable(x[j], usize::from(j != i)),
                    [Dual::constant(v[j])],
                )
            })
            .collect();
        let r = f(&xs).d[0].d[0];
        assert!(
            (r - hv[i]).abs() < 1e-13 * (1.0 + r.abs()),
            "{r} vs {}",
            hv[i]
        );
    }
}

#[test]
fn foreign_variable_is_an_error_not_a_panic() {
    let mut t1 = Tape::new();
    let old = t1.record(&[1.0], |x| x[0] * 2.0);
    let y = t1.record(&[3.0], |x| x[0] * old);
    let mut g = [0.0];
    assert!(matches!(
        t1.gradient(y, &mut g),
        Err(TapeError::ForeignVariable { .. })
    ));
    // The old output asked of the new recording: also foreign.
    let _ = t1.record(&[3.0], |x| x[0] * 2.0);
    assert!(matches!(
        t1.gradient(old, &mut g),
        Err(TapeError::ForeignVariable { .. })
    ));
}

#[test]
fn operations_outside_a_recording_are_orphans() {
    let mut t = Tape::new();
    let x = t.record(&[2.0], |x| x[0]);
    let z: Var = x * 3.0; // no tape active
    assert_eq!(z.val(), 6.0);
    let mut g = [0.0];
    assert!(t.gradient(z, &mut g).is_err());
    // Constants need no tape.
    let c = Var::from(2.0) * 3.0;
    assert!(c.is_const());
}

#[test]
fn dimension_errors() {
    let mut t = Tape::new();
    let y = t.record(&[1.0, 2.0], |x| x[0] * x[1]);
    let mut g = [0.0; 3];
    assert!(matches!(
        t.gradient(y, &mut g),
        Err(TapeError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        t.replay(&[1.0]),
        Err(TapeError::DimensionMismatch { .. })
    ));
}

/// A recording started (and finished) inside another: the outer one resumes where it stopped,
/// across buffer growth in both (more than 1024 entries each).
#[test]
fn nested_recordings_resume_the_outer_one() {
    fn chain<S: Scalar>(x: S, k: usize) -> S {
        let mut y = x;
        for _ in 0..k {
            y = y * 0.5 + x.sin() * 0.25;
        }
        y
    }
    let k = 800; // ~3 entries per step
    let mut outer = Tape::new();
    let mut inner = Tape::new();
    let mut inner_out = None;
    let y = outer.record(&[0.7], |x| {
        let a = chain(x[0], k);
        inner_out = Some(inner.record(&[1.3], |z| chain(z[0], k)));
        chain(a, k) + x[0]
    });
    assert!(outer.error().is_none() && inner.error().is_none());
    assert!(outer.len() > 2048 && inner.len() > 1024);

    let d = |x: f64, k: usize| chain(Dual::<1>::new(x, [1.0]), k);
    let mut g = [0.0];
    outer.gradient(y, &mut g).unwrap();
    let expected = chain(d(0.7, k), k) + Dual::new(0.7, [1.0]);
    // 1e-13: the same operations in another order of accumulation.
    assert!((g[0] - expected.d[0]).abs() < 1e-13);
    assert_eq!(outer.value(y).unwrap(), expected.v);
    let z = inner_out.unwrap();
    inner.gradient(z, &mut g).unwrap();
    assert!((g[0] - d(1.3, k).d[0]).abs() < 1e-13);
}

/// A recording ends when its closure unwinds: afterwards the tape can go (here: dropped),
/// operations on its variables record nothing and give orphans, and a new tape records
/// normally. (The closure gets the `Recording` by shared reference, so it cannot leak it.)
#[test]
fn recording_ends_when_its_closure_unwinds() {
    let mut t = Tape::new();
    let mut kept = None;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        t.recording(|rec| {
            kept = Some(rec.input(2.0));
            panic!("user code panics while recording");
        })
    }));
    assert!(r.is_err());
    drop(t);
    let x = kept.unwrap();
    let y = x.sin() * x;
    assert_eq!(y.val(), 2f64.sin() * 2.0);
    assert!(y.tape_index().is_none() && !y.is_const());
    let mut t = Tape::new();
    let y = t.record(&[2.0], |x| x[0].sin() * x[0]);
    let mut g = [0.0];
    t.gradient(y, &mut g).unwrap();
    assert_eq!(g[0], 2f64.cos() * 2.0 + 2f64.sin());
}

/// Inputs asked of a recording that a nested one interrupts are refused (the indices would
/// belong to the other tape): an error, or an orphan and the outer tape poisoned.
#[test]
fn inputs_of_an_interrupted_recording_are_refused() {
    let (mut outer, mut inner) = (Tape::new(), Tape::new());
    let y = outer.recording(|rec| {
        let x = rec.input(1.5);
        let z = inner.recording(|inner_rec| {
            let mut out = [Var::default(); 2];
            assert_eq!(
                rec.inputs_into(&[1.0, 2.0], &mut out),
                Err(TapeError::Interrupted)
            );
            let stray = rec.input(3.0);
            assert!(stray.tape_index().is_none() && !stray.is_const());
            assert!(rec.inputs(&[4.0]).iter().all(|v| v.tape_index().is_none()));
            inner_rec.input(0.5).exp()
        });
        // The inner tape is untouched by the refused inputs.
        assert_eq!(inner.n_inputs(), 1);
        x * 2.0 + z.val()
    });
    assert_eq!(outer.error(), Some(&TapeError::Interrupted));
    let mut g = [0.0];
    assert_eq!(outer.gradient(y, &mut g), Err(TapeError::Interrupted));
    // Recorded again without the misuse, the outer tape works.
    let y = outer.recording(|rec| rec.input(1.5) * 2.0);
    outer.gradient(y, &mut g).unwrap();
    assert_eq!(g, [2.0]);
}

/// Inputs created in batches, the second after some operations, on a fresh tape (the buffer
/// grows while they are appended) and on a re-recorded one (room for all of them at once).
#[test]
fn input_batches_between_operations() {
    let x = [0.3, -1.2, 2.0, 0.7, 1.1];
    let f = |v: &[Var], w: &[Var]| (v[0] * v[1]).sin() * w[0] + w[1] * w[2] * v[1] + v[0].exp();
    let fd = |v: &[Dual<5>]| (v[0] * v[1]).sin() * v[2] + v[3] * v[4] * v[1] + v[0].exp();
    let seeded: Vec<Dual<5>> = (0..5)
        .map(|i| {
            Dual::new(
                x[i],
                core::array::from_fn(|k| if k == i { 1.0 } else { 0.0 }),
            )
        })
        .collect();
    let expected = fd(&seeded);
    let mut t = Tape::new();
    for _ in 0..2 {
        let y = t.recording(|rec| {
            let mut v = [Var::default(); 2];
            rec.inputs_into(&x[..2], &mut v).unwrap();
            let _between = v[0] * v[1]; // an entry before the second batch
            let mut w = [Var::default(); 3];
            rec.inputs_into(&x[2..], &mut w).unwrap();
            f(&v, &w)
        });
        assert_eq!(t.n_inputs(), 5);
        let mut g = [0.0; 5];
        t.gradient(y, &mut g).unwrap();
        for i in 0..5 {
            // 1e-14: the same operations, accumulated in another order.
            assert!(
                (g[i] - expected.d[i]).abs() < 1e-14,
                "{i}: {} vs {}",
                g[i],
                expected.d[i]
            );
        }
        t.replay(&x).unwrap();
        let mut g2 = [0.0; 5];
        t.gradient(y, &mut g2).unwrap();
        // The replayed sweep accumulates each adjoint's contributions in the replay order:
        // equal to rounding.
        for i in 0..5 {
            assert!(
                (g[i] - g2[i]).abs() <= 1e-15 * g[i].abs(),
                "{i}: {} vs {}",
                g[i],
                g2[i]
            );
        }
        assert_eq!(t.value(y).unwrap(), expected.v);
    }
    assert!(matches!(
        t.recording(|rec| rec.inputs_into(&x, &mut [Var::default(); 2])),
        Err(TapeError::DimensionMismatch { .. })
    ));
}
