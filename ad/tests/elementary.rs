//! First and second derivatives of every elementary function of [`Scalar`] in every AD mode,
//! checked against analytic formulas written out here by hand (not taken from the library), over
//! many points of each function's domain including its edges; the conventions at
//! non-differentiable points documented in `scalar.rs`; and bit-exact primal values of recording
//! and replay.
//!
//! Modes, at every point:
//! * `Dual<1>`, one input direction at a time (first derivatives);
//! * nested `Dual<1, Dual<1>>` (first derivatives from both levels, second derivatives);
//! * the tape: `gradient` and forward-over-reverse `hvp` (one unit direction per input) on a fresh
//!   recording at the point;
//! * the same on one tape recorded at the first point of the case and replayed at all others.
//!
//! Each case is one row of the tables below: name, function, analytic first and second
//! derivatives, points, tolerances. Run with `ELEMENTARY_ERRORS=1` and `--nocapture` to print each
//! case's worst error in units of its tolerance.

// Index loops over the (1 to 3) input dimensions read more clearly than iterator chains here.
#![allow(clippy::needless_range_loop)]

use core::f64::consts::{FRAC_PI_2, PI};
use core::ops::{Add, Div, Mul, Sub};

use tangent_ad::{Dual, Scalar, Tape, Var};

/// Forward over forward.
type D2 = Dual<1, Dual<1>>;

// ---------------------------------------------------------------------------------------------
// Tolerances
// ---------------------------------------------------------------------------------------------

/// Relative tolerance where the library evaluates the same closed form as the formula here (the
/// same libm calls; only the order of a few roundings differs): a few ulps, with room for the
/// extra roundings of the nested and forward-over-reverse chain rules.
const SAME: f64 = 1e-14;

/// Relative tolerance where the library computes the same quantity by a different but exact route
/// (`1 + tan²x` against `1/cos²x`, `1/(3 cbrt(x)²)` against `cbrt(x)/(3x)`, `powi` by repeated
/// multiplication against `powf`): each side is a few ulps off, but not the same few.
const ROUTE: f64 = 1e-13;

/// Condition factor for derivatives the library forms from `1 − x²` (asin, acos, atanh): `x²` is
/// rounded, so `1 − x²` carries a relative error up to `ε x²/(1 − x²)`. That is inherent to the
/// exact formula (it is the backward error of perturbing `x` by `ε/2`) and equals the derivative's
/// own condition number, so the relative tolerance is scaled by `1/(1 − x²)` near `±1`.
fn cond_one_minus_sq([x]: [f64; 1]) -> f64 {
    1.0 / ((1.0 - x) * (1.0 + x))
}

/// As [`cond_one_minus_sq`] for `x² − 1` (acosh): the factor is `x²/(x² − 1)`.
fn cond_sq_minus_one([x]: [f64; 1]) -> f64 {
    x * x / ((x - 1.0) * (x + 1.0))
}

// ---------------------------------------------------------------------------------------------
// Points
// ---------------------------------------------------------------------------------------------

/// `n` evenly spaced points from `a` to `b`, both included.
fn lin(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| a + (b - a) * k as f64 / (n - 1) as f64)
        .collect()
}

/// `n` logarithmically spaced points from `a` to `b`, both included (`0 < a < b`).
fn geo(a: f64, b: f64, n: usize) -> Vec<f64> {
    let (la, lb) = (a.log10(), b.log10());
    (0..n)
        .map(|k| 10f64.powf(la + (lb - la) * k as f64 / (n - 1) as f64))
        .collect()
}

/// The points and their negatives.
fn sym(p: impl IntoIterator<Item = f64>) -> Vec<f64> {
    p.into_iter().flat_map(|x| [x, -x]).collect()
}

/// All pairs `(x, y)`.
fn grid2(xs: &[f64], ys: &[f64]) -> Vec<[f64; 2]> {
    xs.iter()
        .flat_map(|&x| ys.iter().map(move |&y| [x, y]))
        .collect()
}

/// All triples `(x, y, z)`.
fn grid3(xs: &[f64], ys: &[f64], zs: &[f64]) -> Vec<[f64; 3]> {
    grid2(xs, ys)
        .into_iter()
        .flat_map(|[x, y]| zs.iter().map(move |&z| [x, y, z]))
        .collect()
}

/// Concatenates point lists (vectors or arrays).
macro_rules! pts {
    ($($v:expr),* $(,)?) => {{
        let mut p: Vec<f64> = Vec::new();
        $(p.extend($v);)*
        p
    }};
}

// ---------------------------------------------------------------------------------------------
// The evaluation engine
// ---------------------------------------------------------------------------------------------

/// One function instantiated for every scalar type.
#[derive(Clone, Copy)]
struct Fns {
    f64: fn(&[f64]) -> f64,
    dual: fn(&[Dual<1>]) -> Dual<1>,
    dual2: fn(&[D2]) -> D2,
    var: fn(&[Var]) -> Var,
}

/// Defines `fn $f<S: Scalar>(&[S]) -> S` binding the inputs to the given names. `f64` may stand
/// on the left of `+ − × ÷` (the bound is stated on the function, which generic code may do).
macro_rules! scalar_fn {
    ($f:ident, [$($x:ident),+], $body:expr) => {
        // Some cases use the same operand twice on purpose (`x − x`, `x / x`).
        #[allow(clippy::eq_op)]
        fn $f<S: Scalar>(v: &[S]) -> S
        where
            f64: Add<S, Output = S> + Sub<S, Output = S> + Mul<S, Output = S> + Div<S, Output = S>,
        {
            let &[$($x),+] = v else { unreachable!("wrong number of inputs") };
            $body
        }
    };
}

/// [`Fns`] of a function defined by [`scalar_fn!`].
macro_rules! fns {
    ($f:ident) => {
        Fns {
            f64: $f::<f64>,
            dual: $f::<Dual<1>>,
            dual2: $f::<D2>,
            var: $f::<Var>,
        }
    };
}

/// What every mode computed at one point.
struct Measured<const N: usize> {
    /// Primal values by mode.
    values: Vec<(&'static str, f64)>,
    /// Gradients by mode.
    grads: Vec<(&'static str, [f64; N])>,
    /// Hessians by mode (`[i][j] = ∂²f/∂xᵢ∂xⱼ`).
    hessians: Vec<(&'static str, [[f64; N]; N])>,
}

/// Forward-mode labels (the others are reverse mode, on the tape).
fn is_forward(label: &str) -> bool {
    label.starts_with("Dual") || label.starts_with("nested")
}

/// A tape recorded once, replayed at every point.
struct Replay {
    tape: Tape,
    y: Var,
}

impl Replay {
    fn record(fns: &Fns, at: &[f64]) -> Self {
        let mut tape = Tape::new();
        let y = tape.record(at, |v| (fns.var)(v));
        Self { tape, y }
    }
}

/// Gradient and Hessian (by one `hvp` per unit direction) of `y` on `tape`.
fn sweeps<const N: usize>(tape: &mut Tape, y: Var, labels: [&'static str; 3], m: &mut Measured<N>) {
    let mut g = [0.0; N];
    tape.gradient(y, &mut g).expect("gradient");
    m.grads.push((labels[0], g));
    let (mut h, mut hg) = ([[0.0; N]; N], [0.0; N]);
    for j in 0..N {
        let mut e = [0.0; N];
        e[j] = 1.0;
        let mut col = [0.0; N];
        tape.hvp(y, &e, &mut col, Some(&mut hg)).expect("hvp");
        for i in 0..N {
            h[i][j] = col[i];
        }
        m.grads.push((labels[1], hg));
    }
    m.hessians.push((labels[2], h));
}

/// Every mode at `x`.
fn measure<const N: usize>(fns: &Fns, x: [f64; N], replay: &mut Replay) -> Measured<N> {
    let mut m = Measured {
        values: Vec::new(),
        grads: Vec::new(),
        hessians: Vec::new(),
    };
    // Dual<1>: direction e_i (input k is variable 0 when k = i, else a constant).
    let mut g = [0.0; N];
    for i in 0..N {
        let xs: Vec<Dual<1>> = (0..N)
            .map(|k| Dual::variable(x[k], usize::from(k != i)))
            .collect();
        let r = (fns.dual)(&xs);
        g[i] = r.d[0];
        m.values.push(("Dual<1>", r.v));
    }
    m.grads.push(("Dual<1>", g));
    // Nested: inner direction e_j, outer direction e_i.
    let (mut h, mut outer, mut inner) = ([[0.0; N]; N], [0.0; N], [0.0; N]);
    for i in 0..N {
        for j in 0..N {
            let xs: Vec<D2> = (0..N)
                .map(|k| {
                    let outer_t = if k == i { 1.0 } else { 0.0 };
                    D2::new(
                        Dual::variable(x[k], usize::from(k != j)),
                        [Dual::cst(outer_t)],
                    )
                })
                .collect();
            let r = (fns.dual2)(&xs);
            h[i][j] = r.d[0].d[0];
            outer[i] = r.d[0].v;
            inner[j] = r.v.d[0];
            m.values.push(("nested", r.v.v));
        }
    }
    m.grads.push(("nested (outer level)", outer));
    m.grads.push(("nested (inner level)", inner));
    m.hessians.push(("nested", h));
    // A fresh recording at x.
    let mut tape = Tape::new();
    let y = tape.record(&x, |v| (fns.var)(v));
    m.values.push(("tape", tape.value(y).expect("tape value")));
    sweeps(
        &mut tape,
        y,
        ["tape gradient", "tape hvp (gradient)", "tape hvp"],
        &mut m,
    );
    // The replayed tape.
    replay.tape.replay(&x).expect("replay");
    m.values
        .push(("replay", replay.tape.value(replay.y).expect("replay value")));
    sweeps(
        &mut replay.tape,
        replay.y,
        ["replay gradient", "replay hvp (gradient)", "replay hvp"],
        &mut m,
    );
    m
}

/// Error of `got` against `want` in units of the allowed error `rtol · max(|want|, floor)`; ≤ 1
/// passes. The floor is at least the smallest normal number, so subnormal results (a few ulps of
/// `2⁻¹⁰⁷⁴` apart) compare absolutely. Infinite and NaN expectations must be met exactly.
fn err_ratio(got: f64, want: f64, rtol: f64, floor: f64) -> f64 {
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if want.is_infinite() || got.is_infinite() {
        return if got == want { 0.0 } else { f64::INFINITY };
    }
    (got - want).abs() / (rtol * want.abs().max(floor).max(f64::MIN_POSITIVE))
}

/// Same value bit for bit (any NaN matches any NaN).
fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Per-case settings beyond the tolerances.
struct Opts<const N: usize> {
    /// Multiplies the relative tolerance at a point: the condition factor of the library's exact
    /// formula where it forms a difference of nearly equal terms (1 elsewhere).
    cond: fn([f64; N]) -> f64,
    /// Magnitude of the terms whose difference forms a second derivative in the chain rule
    /// (0: plain relative error). Entries that cancel to (near) zero are compared to
    /// `tolerance · scale2` instead of their own size.
    scale2: fn([f64; N]) -> f64,
    /// Whether the replayed tape must reproduce the `f64` value bit for bit.
    replay_values: bool,
    /// The `f64` evaluation the tape's values must match bit for bit (default: the function on
    /// `f64`).
    tape_ref: Option<fn(&[f64]) -> f64>,
}

impl<const N: usize> Default for Opts<N> {
    fn default() -> Self {
        Self {
            cond: |_| 1.0,
            scale2: |_| 0.0,
            replay_values: true,
            tape_ref: None,
        }
    }
}

/// One row of the tables.
struct Case<const N: usize> {
    name: &'static str,
    fns: Fns,
    grad: Box<dyn Fn([f64; N]) -> [f64; N]>,
    hess: Box<dyn Fn([f64; N]) -> [[f64; N]; N]>,
    points: Vec<[f64; N]>,
    /// Relative tolerances of first and second derivatives.
    tol: (f64, f64),
    opts: Opts<N>,
}

/// Checks a case at all its points in all modes; panics listing every failure.
fn run<const N: usize>(case: Case<N>) {
    assert!(
        case.points.len() >= 30,
        "{}: only {} points",
        case.name,
        case.points.len()
    );
    let mut replay = Replay::record(&case.fns, &case.points[0]);
    let mut fails = Vec::new();
    let (mut worst1, mut worst2) = ((0.0f64, "", [0.0; N]), (0.0f64, "", [0.0; N]));
    for &x in &case.points {
        let m = measure(&case.fns, x, &mut replay);

        let want_v = (case.fns.f64)(&x);
        let want_tape = case.opts.tape_ref.map_or(want_v, |r| r(&x));
        for &(label, got) in &m.values {
            let (want, checked) = match label {
                "tape" => (want_tape, true),
                "replay" => (want_tape, case.opts.replay_values),
                _ => (want_v, true),
            };
            if checked && !same_bits(got, want) {
                fails.push(format!(
                    "{label} value at {x:?}: got {got:e}, want {want:e} (f64 evaluation)"
                ));
            }
        }

        let (g, h) = ((case.grad)(x), (case.hess)(x));
        let (k, s) = ((case.opts.cond)(x), (case.opts.scale2)(x));
        let (t1, t2) = (case.tol.0 * k, case.tol.1 * k);
        for &(label, got) in &m.grads {
            for i in 0..N {
                let r = err_ratio(got[i], g[i], t1, 0.0);
                if r > worst1.0 {
                    worst1 = (r, label, x);
                }
                if r > 1.0 {
                    fails.push(format!(
                        "{label}: ∂f/∂x{i} at {x:?}: got {:e}, want {:e} (error {r:.2e} × tolerance {t1:.1e})",
                        got[i], g[i]
                    ));
                }
            }
        }
        for &(label, got) in &m.hessians {
            for i in 0..N {
                for j in 0..N {
                    let r = err_ratio(got[i][j], h[i][j], t2, s);
                    if r > worst2.0 {
                        worst2 = (r, label, x);
                    }
                    if r > 1.0 {
                        fails.push(format!(
                            "{label}: ∂²f/∂x{i}∂x{j} at {x:?}: got {:e}, want {:e} (error {r:.2e} × tolerance {t2:.1e})",
                            got[i][j], h[i][j]
                        ));
                    }
                }
            }
        }
    }
    if std::env::var_os("ELEMENTARY_ERRORS").is_some() {
        eprintln!(
            "{:<16} worst f' {:.3} × tol ({} at {:?}), worst f'' {:.3} × tol ({} at {:?})",
            case.name, worst1.0, worst1.1, worst1.2, worst2.0, worst2.1, worst2.2
        );
    }
    let shown = fails
        .iter()
        .take(25)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n  ");
    assert!(
        fails.is_empty(),
        "{}: {} failures, first ones:\n  {shown}",
        case.name,
        fails.len()
    );
}

/// Table of one-input cases: `name: |x| f, d1 = f′, d2 = f″, at = points, tol = (tol f′, tol f″)`
/// followed by optional `, option = value` settings of [`Opts`]. Each row is one test.
macro_rules! unary {
    ($(
        $(#[$attr:meta])*
        $name:ident: |$x:ident| $body:expr,
        d1 = $d1:expr, d2 = $d2:expr,
        at = $pts:expr, tol = ($t1:expr, $t2:expr) $(, $opt:ident = $val:expr)* ;
    )*) => {$(
        $(#[$attr])*
        #[test]
        fn $name() {
            scalar_fn!(f, [$x], $body);
            run(Case::<1> {
                name: stringify!($name),
                fns: fns!(f),
                grad: Box::new(|[$x]: [f64; 1]| {
                    let _ = $x;
                    [$d1]
                }),
                hess: Box::new(|[$x]: [f64; 1]| {
                    let _ = $x;
                    [[$d2]]
                }),
                points: $pts.into_iter().map(|p| [p]).collect(),
                tol: ($t1, $t2),
                opts: Opts { $($opt: $val,)* ..Opts::default() },
            });
        }
    )*};
}

/// Table of several-input cases: `name: |x, y, …| f, grad = [..], hess = [[..], ..], at = points,
/// tol = (..)` with optional settings as in [`unary!`].
macro_rules! nary {
    ($(
        $(#[$attr:meta])*
        $name:ident: |$($x:ident),+| $body:expr,
        grad = $g:expr, hess = $h:expr,
        at = $pts:expr, tol = ($t1:expr, $t2:expr) $(, $opt:ident = $val:expr)* ;
    )*) => {$(
        $(#[$attr])*
        #[test]
        fn $name() {
            const N: usize = [$(stringify!($x)),+].len();
            scalar_fn!(f, [$($x),+], $body);
            run(Case::<N> {
                name: stringify!($name),
                fns: fns!(f),
                grad: Box::new(|[$($x),+]: [f64; N]| {
                    let _ = ($($x,)+);
                    $g
                }),
                hess: Box::new(|[$($x),+]: [f64; N]| {
                    let _ = ($($x,)+);
                    $h
                }),
                points: $pts,
                tol: ($t1, $t2),
                opts: Opts { $($opt: $val,)* ..Opts::default() },
            });
        }
    )*};
}

// ---------------------------------------------------------------------------------------------
// Points shared by several rows
// ---------------------------------------------------------------------------------------------

/// Positive points over the whole exponent range (for logarithms, square roots).
fn positive_wide() -> Vec<f64> {
    pts![
        geo(1e-300, 1e300, 31),
        [0.25, 0.5, 2.0, 3.0, 1.0 - 1e-10, 1.0 + 1e-10],
        [f64::MIN_POSITIVE, f64::MAX],
    ]
}

/// Points of moderate size, both signs, including 0.
fn moderate() -> Vec<f64> {
    pts![lin(-10.0, 10.0, 31), sym([1e-300, 1e-8, 0.3, 1e3])]
}

/// As [`moderate`] without 0, for division: down to |x| = 1e-100 only, where `1/x³` still fits
/// in an f64. Closer to 0 the quotient rule's intermediate terms (of size 1/x², 1/x³) overflow and
/// `∞ − ∞` gives NaN second derivatives (for `1/x` the true value is not representable either).
fn moderate_nonzero() -> Vec<f64> {
    pts![
        lin(-10.0, 10.0, 31).into_iter().filter(|&x| x != 0.0),
        sym([1e-100, 1e-8, 0.3, 1e3]),
    ]
}

/// Integers, half-integers and points between them (jumps of the piecewise-constant functions).
fn steps() -> Vec<f64> {
    pts![lin(-5.0, 5.0, 41), [-0.0, 0.1, -0.1, 1e-300, 1e300, -1e300]]
}

// ---------------------------------------------------------------------------------------------
// One input
// ---------------------------------------------------------------------------------------------

unary! {
    exp: |x| x.exp(), d1 = x.exp(), d2 = x.exp(),
        at = pts![lin(-700.0, 700.0, 29), [0.0, 1e-300, -1e-300, 1.0, -1.0, 709.7, -740.0]],
        tol = (SAME, SAME);
    exp2: |x| x.exp2(), d1 = x.exp2() * 2f64.ln(), d2 = x.exp2() * 2f64.ln() * 2f64.ln(),
        at = pts![lin(-1070.0, 1023.0, 31), [0.0, 1e-300, -1e-300, 0.5]],
        tol = (SAME, SAME);
    // The library forms e^x as expm1(x) + 1 (ROUTE); accurate for x ≥ −1, see
    // `exp_m1_negative_arguments` below for x < −1.
    exp_m1: |x| x.exp_m1(), d1 = x.exp(), d2 = x.exp(),
        at = pts![lin(-1.0, 700.0, 25), sym(geo(1e-300, 1e-3, 8)), [-0.5, 1.0]],
        tol = (ROUTE, ROUTE);
    ln: |x| x.ln(), d1 = 1.0 / x, d2 = -1.0 / x / x,
        at = positive_wide(), tol = (SAME, SAME);
    ln_1p: |x| x.ln_1p(), d1 = 1.0 / (1.0 + x), d2 = -1.0 / (1.0 + x) / (1.0 + x),
        at = pts![
            sym(geo(1e-300, 1e-3, 10)),
            lin(-0.999, 10.0, 12),
            [-1.0 + 1e-12, -0.999999],
            geo(20.0, 1e300, 6),
        ],
        tol = (SAME, SAME);
    log2: |x| x.log2(), d1 = 1.0 / (x * 2f64.ln()), d2 = -1.0 / (x * 2f64.ln()) / x,
        at = positive_wide(), tol = (SAME, SAME);
    log10: |x| x.log10(), d1 = 1.0 / (x * 10f64.ln()), d2 = -1.0 / (x * 10f64.ln()) / x,
        at = positive_wide(), tol = (SAME, SAME);
    // x = 0 is checked in `sqrt_cbrt_at_zero_*`.
    sqrt: |x| x.sqrt(), d1 = 0.5 / x.sqrt(), d2 = -0.25 / x / x.sqrt(),
        at = positive_wide(), tol = (SAME, SAME);
    // Library: 1/(3 cbrt(x)²); here x^(−2/3) = cbrt(x)/x (ROUTE).
    cbrt: |x| x.cbrt(), d1 = x.cbrt() / (3.0 * x), d2 = -2.0 / 9.0 * x.cbrt() / x / x,
        at = pts![sym(geo(1e-300, 1e300, 21)), sym([1.0, 8.0, 0.001, 27.5])],
        tol = (ROUTE, ROUTE);

    // powi: the library multiplies (`powi`), the formulas here use `powf` (ROUTE).
    powi_m3: |x| x.powi(-3), d1 = -3.0 * x.powf(-4.0), d2 = 12.0 * x.powf(-5.0),
        at = sym(pts![lin(0.05, 10.0, 14), [1e-3, 1e3]]), tol = (ROUTE, ROUTE);
    powi_m1: |x| x.powi(-1), d1 = -x.powf(-2.0), d2 = 2.0 * x.powf(-3.0),
        at = sym(pts![lin(0.05, 10.0, 14), [1e-3, 1e3]]), tol = (ROUTE, ROUTE);
    powi_0: |x| x.powi(0), d1 = 0.0, d2 = 0.0,
        at = moderate(), tol = (SAME, SAME);
    powi_1: |x| x.powi(1), d1 = 1.0, d2 = 0.0,
        at = moderate(), tol = (SAME, SAME);
    powi_2: |x| x.powi(2), d1 = 2.0 * x, d2 = 2.0,
        at = moderate(), tol = (SAME, SAME);
    powi_3: |x| x.powi(3), d1 = 3.0 * x.powf(2.0), d2 = 6.0 * x,
        at = moderate(), tol = (ROUTE, ROUTE);
    powi_7: |x| x.powi(7), d1 = 7.0 * x.powf(6.0), d2 = 42.0 * x.powf(5.0),
        at = moderate(), tol = (ROUTE, ROUTE);

    // powf: c·x^(c−1), c(c−1)·x^(c−2). The exponents c − 1, c − 2 are formed in f64 as the
    // library must form them (writing 1.7 for 3.7 − 2 would change the exponent by an ulp, i.e.
    // the result by |ln x|·ε).
    powf_m1_5: |x| x.powf(-1.5),
        d1 = -1.5 * x.powf(-1.5 - 1.0), d2 = -1.5 * (-1.5 - 1.0) * x.powf(-1.5 - 2.0),
        at = pts![geo(1e-50, 1e50, 21), lin(0.1, 20.0, 12)], tol = (SAME, SAME);
    powf_0_5: |x| x.powf(0.5),
        d1 = 0.5 * x.powf(0.5 - 1.0), d2 = 0.5 * (0.5 - 1.0) * x.powf(0.5 - 2.0),
        at = pts![geo(1e-50, 1e50, 21), lin(0.1, 20.0, 12)], tol = (SAME, SAME);
    powf_2: |x| x.powf(2.0), d1 = 2.0 * x, d2 = 2.0,
        at = pts![lin(-20.0, 20.0, 31), sym(geo(1e-50, 1e50, 6))], tol = (SAME, SAME);
    powf_3_7: |x| x.powf(3.7),
        d1 = 3.7 * x.powf(3.7 - 1.0), d2 = 3.7 * (3.7 - 1.0) * x.powf(3.7 - 2.0),
        at = pts![geo(1e-50, 1e50, 21), lin(0.1, 20.0, 12)], tol = (SAME, SAME);

    sin: |x| x.sin(), d1 = x.cos(), d2 = -x.sin(),
        at = pts![moderate(), [FRAC_PI_2, PI, 1e5, 1e10, 1e15]], tol = (SAME, SAME);
    cos: |x| x.cos(), d1 = -x.sin(), d2 = -x.cos(),
        at = pts![moderate(), [FRAC_PI_2, PI, 1e5, 1e10, 1e15]], tol = (SAME, SAME);
    sin_cos_sin: |x| x.sin_cos().0, d1 = x.cos(), d2 = -x.sin(),
        at = moderate(), tol = (SAME, SAME);
    sin_cos_cos: |x| x.sin_cos().1, d1 = -x.sin(), d2 = -x.cos(),
        at = moderate(), tol = (SAME, SAME);
    // Library: 1 + tan²x; here 1/cos²x and 2 sin x/cos³x (ROUTE). Both are relatively accurate
    // near the poles, including at the double nearest π/2.
    tan: |x| x.tan(), d1 = 1.0 / x.cos().powi(2), d2 = 2.0 * x.sin() / x.cos().powi(3),
        at = pts![
            lin(-1.5, 1.5, 25),
            sym([FRAC_PI_2, FRAC_PI_2 - 1e-7, 1e-300, 2.0, 3.0, 10.0, 1e5]),
        ],
        tol = (ROUTE, ROUTE);
    // Formulas here use (1 − x)(1 + x), exact near ±1; the library's 1 − x² is not.
    asin: |x| x.asin(),
        d1 = 1.0 / ((1.0 - x) * (1.0 + x)).sqrt(),
        d2 = { let u = (1.0 - x) * (1.0 + x); x / (u * u.sqrt()) },
        at = pts![lin(-0.999, 0.999, 31), sym([0.999999, 1.0 - 1e-10, 1e-300])],
        tol = (SAME, SAME), cond = cond_one_minus_sq;
    acos: |x| x.acos(),
        d1 = -1.0 / ((1.0 - x) * (1.0 + x)).sqrt(),
        d2 = { let u = (1.0 - x) * (1.0 + x); -x / (u * u.sqrt()) },
        at = pts![lin(-0.999, 0.999, 31), sym([0.999999, 1.0 - 1e-10, 1e-300])],
        tol = (SAME, SAME), cond = cond_one_minus_sq;
    atan: |x| x.atan(),
        d1 = 1.0 / (1.0 + x * x), d2 = -2.0 * x / (1.0 + x * x) / (1.0 + x * x),
        at = pts![moderate(), sym([1e10, 1e50])], tol = (SAME, SAME);
    sinh: |x| x.sinh(), d1 = x.cosh(), d2 = x.sinh(),
        at = pts![lin(-700.0, 700.0, 29), sym([1e-300, 1e-8, 1.0])], tol = (SAME, SAME);
    cosh: |x| x.cosh(), d1 = x.sinh(), d2 = x.cosh(),
        at = pts![lin(-700.0, 700.0, 29), sym([1e-300, 1e-8, 1.0])], tol = (SAME, SAME);
    // Library: 1 − tanh²x; here 1/cosh²x (ROUTE). The library's difference cancels as
    // |x| grows; see `tanh_tails` for |x| > 2.
    tanh: |x| x.tanh(),
        d1 = 1.0 / x.cosh().powi(2), d2 = -2.0 * x.tanh() / x.cosh().powi(2),
        at = pts![lin(-2.0, 2.0, 31), sym([1e-300, 1e-8])], tol = (ROUTE, ROUTE);
    // Here 1/hypot(x, 1), robust for any x; see `asinh_huge` for |x| > 1.3e154.
    asinh: |x| x.asinh(),
        d1 = 1.0 / x.hypot(1.0), d2 = { let h = x.hypot(1.0); -x / h / h / h },
        at = pts![moderate(), sym(geo(1e4, 1e150, 5))], tol = (SAME, SAME);
    acosh: |x| x.acosh(),
        d1 = 1.0 / ((x - 1.0).sqrt() * (x + 1.0).sqrt()),
        d2 = { let s = (x - 1.0).sqrt() * (x + 1.0).sqrt(); -x / s / s / s },
        at = pts![[1.0 + 1e-12, 1.0 + 1e-8, 1.001], lin(1.01, 100.0, 25), geo(1e3, 1e150, 5)],
        tol = (SAME, SAME), cond = cond_sq_minus_one;
    atanh: |x| x.atanh(),
        d1 = 1.0 / ((1.0 - x) * (1.0 + x)),
        d2 = { let u = (1.0 - x) * (1.0 + x); 2.0 * x / u / u },
        at = pts![lin(-0.999, 0.999, 31), sym([0.999999, 1.0 - 1e-10, 1e-300])],
        tol = (SAME, SAME), cond = cond_one_minus_sq;
    // x = 0 is checked in `abs_at_zero`.
    abs: |x| x.abs(), d1 = x.signum(), d2 = 0.0,
        at = moderate_nonzero(), tol = (SAME, SAME);
    recip: |x| x.recip(), d1 = -1.0 / x / x, d2 = 2.0 / x / x / x,
        at = pts![moderate_nonzero(), sym(geo(1e-100, 1e100, 5))], tol = (SAME, SAME);
    sqr: |x| x.sqr(), d1 = 2.0 * x, d2 = 2.0,
        at = moderate(), tol = (SAME, SAME);
    erf: |x| x.erf(),
        d1 = 2.0 / PI.sqrt() * (-x * x).exp(), d2 = -2.0 * x * 2.0 / PI.sqrt() * (-x * x).exp(),
        at = pts![lin(-6.0, 6.0, 31), sym([1e-300, 1e-8, 27.0, 30.0])], tol = (SAME, SAME);
    // Large arguments: e^(−x²) reaches the subnormals at x ≈ 26.6 and 0 at x ≈ 27.3.
    erfc: |x| x.erfc(),
        d1 = -2.0 / PI.sqrt() * (-x * x).exp(), d2 = 2.0 * x * 2.0 / PI.sqrt() * (-x * x).exp(),
        at = pts![lin(-6.0, 27.0, 34), [26.5, 26.9, 27.2, 30.0, 1e3, 1e300, -30.0, 1e-300]],
        tol = (SAME, SAME);

    // Piecewise constant: derivative 0 everywhere, including at the jumps. Their values after a
    // replay are checked separately (`piecewise_constant_replay_values`).
    signum: |x| x.signum(), d1 = 0.0, d2 = 0.0, at = steps(), tol = (SAME, SAME),
        replay_values = false;
    floor: |x| x.floor(), d1 = 0.0, d2 = 0.0, at = steps(), tol = (SAME, SAME),
        replay_values = false;
    ceil: |x| x.ceil(), d1 = 0.0, d2 = 0.0, at = steps(), tol = (SAME, SAME),
        replay_values = false;
    round: |x| x.round(), d1 = 0.0, d2 = 0.0, at = steps(), tol = (SAME, SAME),
        replay_values = false;
    trunc: |x| x.trunc(), d1 = 0.0, d2 = 0.0, at = steps(), tol = (SAME, SAME),
        replay_values = false;

    // Arithmetic with f64 on either side (f64 on the left compiles here through the `where`
    // bound of `scalar_fn!`), and with constants lifted by `S::cst`.
    neg: |x| -x, d1 = -1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    add_f64: |x| x + 2.5, d1 = 1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    f64_add: |x| 2.5 + x, d1 = 1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    sub_f64: |x| x - 2.5, d1 = 1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    f64_sub: |x| 2.5 - x, d1 = -1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    cst_sub: |x| S::cst(2.5) - x, d1 = -1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    mul_f64: |x| x * 2.5, d1 = 2.5, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    f64_mul: |x| 2.5 * x, d1 = 2.5, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    div_f64: |x| x / 3.0, d1 = 1.0 / 3.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    f64_div: |x| 3.0 / x, d1 = -3.0 / x / x, d2 = 6.0 / x / x / x,
        at = moderate_nonzero(), tol = (SAME, SAME);
    cst_div: |x| S::cst(3.0) / x, d1 = -3.0 / x / x, d2 = 6.0 / x / x / x,
        at = moderate_nonzero(), tol = (SAME, SAME);
    // a % b = a − b·trunc(a/b).
    rem_cst: |x| x % S::cst(2.5), d1 = 1.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    cst_rem: |x| S::cst(7.5) % x, d1 = -(7.5 / x).trunc(), d2 = 0.0,
        at = moderate_nonzero(), tol = (SAME, SAME);
    // The same variable twice (the tape accumulates both adjoints into one entry).
    add_self: |x| x + x, d1 = 2.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    sub_self: |x| x - x, d1 = 0.0, d2 = 0.0, at = moderate(), tol = (SAME, SAME);
    mul_self: |x| x * x, d1 = 2.0 * x, d2 = 2.0, at = moderate(), tol = (SAME, SAME);
    div_self: |x| x / x, d1 = 0.0, d2 = 0.0, at = moderate_nonzero(), tol = (SAME, SAME);
    // ((x + 2.5)·x − 1)/2.
    assign_f64: |x| {
            let mut y = x;
            y += 2.5;
            y *= x;
            y -= 1.0;
            y /= 2.0;
            y
        },
        d1 = x + 1.25, d2 = 1.0, at = moderate(), tol = (SAME, SAME);
    // ((x + x)·x − x)/x = 2x − 1. The quotient rule's terms are of size 4/|x| and cancel in f″.
    assign_self: |x| {
            let mut y = x;
            y += x;
            y *= x;
            y -= x;
            y /= x;
            y
        },
        d1 = 2.0, d2 = 0.0,
        // |x| ≥ 0.3: closer to 0 the function itself loses 2x² − x to rounding.
        at = pts![lin(-10.0, 10.0, 31).into_iter().filter(|&x| x != 0.0), sym([0.3, 1e3])],
        tol = (SAME, SAME), scale2 = |[x]| 4.0 / x.abs();
    // x + 2x + x² and x · 2x · x² = 2x⁴.
    sum: |x| [x, x * 2.0, x * x].into_iter().sum::<S>(), d1 = 3.0 + 2.0 * x, d2 = 2.0,
        at = moderate(), tol = (SAME, SAME);
    product: |x| [x, x * 2.0, x * x].into_iter().product::<S>(),
        d1 = 8.0 * x * x * x, d2 = 24.0 * x * x, at = moderate(), tol = (SAME, SAME);
}

// ---------------------------------------------------------------------------------------------
// Several inputs
// ---------------------------------------------------------------------------------------------

/// Both signs, no zero.
const NONZERO: [f64; 8] = [-13.0, -2.0, -0.7, -0.3, 0.3, 1.7, 5.0, 40.0];
/// Points around the origin for atan2 and hypot (the origin itself is an edge case).
const AROUND: [f64; 7] = [-3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0];

fn around_origin() -> Vec<[f64; 2]> {
    grid2(&AROUND, &AROUND)
        .into_iter()
        .filter(|p| *p != [0.0, 0.0])
        .collect()
}

nary! {
    add: |a, b| a + b, grad = [1.0, 1.0], hess = [[0.0; 2]; 2],
        at = grid2(&NONZERO, &pts![NONZERO, [0.0]]), tol = (SAME, SAME);
    sub: |a, b| a - b, grad = [1.0, -1.0], hess = [[0.0; 2]; 2],
        at = grid2(&NONZERO, &pts![NONZERO, [0.0]]), tol = (SAME, SAME);
    mul: |a, b| a * b, grad = [b, a], hess = [[0.0, 1.0], [1.0, 0.0]],
        at = grid2(&NONZERO, &pts![NONZERO, [0.0]]), tol = (SAME, SAME);
    div: |a, b| a / b,
        grad = [1.0 / b, -a / b / b],
        hess = [[0.0, -1.0 / b / b], [-1.0 / b / b, 2.0 * a / b / b / b]],
        at = grid2(&pts![NONZERO, [0.0]], &NONZERO), tol = (SAME, SAME);
    rem: |a, b| a % b, grad = [1.0, -(a / b).trunc()], hess = [[0.0; 2]; 2],
        at = grid2(&[-7.3, -2.2, 0.0, 0.7, 3.9, 11.1], &[-2.5, -0.7, 0.35, 1.3, 3.0, 4.6]),
        tol = (SAME, SAME);
    // Ties (a = b) are checked in `min_max_ties`.
    min: |a, b| a.min(b),
        grad = if a < b { [1.0, 0.0] } else { [0.0, 1.0] }, hess = [[0.0; 2]; 2],
        at = grid2(&NONZERO, &[-5.0, -0.5, 0.0, 1.0, 30.0]), tol = (SAME, SAME);
    max: |a, b| a.max(b),
        grad = if a > b { [1.0, 0.0] } else { [0.0, 1.0] }, hess = [[0.0; 2]; 2],
        at = grid2(&NONZERO, &[-5.0, -0.5, 0.0, 1.0, 30.0]), tol = (SAME, SAME);
    // h = hypot(a, b): ∇h = (a, b)/h, ∇²h = (b², −ab; −ab, a²)/h³. AD forms ∂²h/∂a² as
    // 1/h − a²/h³, a difference of terms of size 1/h (scale2). The origin is checked in
    // `hypot_and_atan2_at_origin`.
    hypot: |a, b| a.hypot(b),
        grad = { let h = a.hypot(b); [a / h, b / h] },
        hess = {
            let h = a.hypot(b);
            let (u, v) = (a / h, b / h);
            [[v * v / h, -u * v / h], [-u * v / h, u * u / h]]
        },
        at = [around_origin(), vec![[1e200, 3e200], [-1e-200, 2e-200], [3.0, 4.0]]].concat(),
        tol = (SAME, SAME), scale2 = |[a, b]| 1.0 / a.hypot(b);
    // atan2(y, x): ∇ = (x, −y)/r², ∇² = (−2xy, y² − x²; y² − x², 2xy)/r⁴. AD forms
    // ∂²/∂x∂y as 1/r² − 2x²/r⁴, a difference of terms of size 1/r² (scale2).
    atan2: |y, x| y.atan2(x),
        grad = { let r2 = x * x + y * y; [x / r2, -y / r2] },
        hess = {
            let r2 = x * x + y * y;
            let (a, b) = (2.0 * x * y / r2 / r2, (y * y - x * x) / r2 / r2);
            [[-a, b], [b, a]]
        },
        at = around_origin(), tol = (SAME, SAME), scale2 = |[y, x]| 1.0 / (x * x + y * y);
    // The tape records mul_add as x·a + b, two roundings (documented in `Scalar::mul_add`).
    mul_add: |x, a, b| x.mul_add(a, b),
        grad = [a, x, 1.0],
        hess = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        at = grid3(&[-2.0, 0.1, 3.0, 1e8], &[-1.5, 10.0, 7.0], &[-1.0, 0.0, 2.5]),
        tol = (SAME, SAME), tape_ref = Some(|v| v[0] * v[1] + v[2]);
    // f = x^y: ∂x = y x^(y−1), ∂y = x^y ln x, ∂xx = y(y−1) x^(y−2),
    // ∂xy = x^(y−1) (1 + y ln x), ∂yy = x^y ln²x.
    pow: |x, y| x.pow(y),
        grad = [y * x.powf(y - 1.0), x.powf(y) * x.ln()],
        hess = {
            let xy = x.powf(y - 1.0) * (1.0 + y * x.ln());
            [
                [y * (y - 1.0) * x.powf(y - 2.0), xy],
                [xy, x.powf(y) * x.ln() * x.ln()],
            ]
        },
        at = grid2(
            &pts![geo(1e-3, 1e3, 7), [0.5, 2.5, 7.0]],
            &[-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.3],
        ),
        tol = (SAME, SAME);
}

// ---------------------------------------------------------------------------------------------
// Conventions at non-differentiable points (the table in `scalar.rs`), asserted exactly
// ---------------------------------------------------------------------------------------------

/// Which modes an expectation applies to.
#[derive(Clone, Copy)]
enum Modes {
    All,
    /// `Dual<1>` and nested duals.
    Forward,
    /// The tape: gradient, hvp, replay.
    Reverse,
}

impl Modes {
    fn includes(self, label: &str) -> bool {
        match self {
            Modes::All => true,
            Modes::Forward => is_forward(label),
            Modes::Reverse => !is_forward(label),
        }
    }
}

/// Every mode at `x`, the replay tape recorded at `record_at`.
fn at_point<const N: usize>(fns: &Fns, x: [f64; N], record_at: [f64; N]) -> Measured<N> {
    let mut replay = Replay::record(fns, &record_at);
    measure(fns, x, &mut replay)
}

/// Asserts first derivatives exactly (`==`: 0 matches −0, ∞ must have its sign, NaN fails).
fn assert_grad<const N: usize>(what: &str, m: &Measured<N>, modes: Modes, want: [f64; N]) {
    let fails: Vec<String> = m
        .grads
        .iter()
        .filter(|(label, g)| modes.includes(label) && *g != want)
        .map(|(label, g)| format!("{label}: {g:?}"))
        .collect();
    assert!(
        fails.is_empty(),
        "{what}: want {want:?}, got\n  {}",
        fails.join("\n  ")
    );
}

/// Asserts second derivatives exactly, as [`assert_grad`].
fn assert_hess<const N: usize>(what: &str, m: &Measured<N>, modes: Modes, want: [[f64; N]; N]) {
    let fails: Vec<String> = m
        .hessians
        .iter()
        .filter(|(label, h)| modes.includes(label) && *h != want)
        .map(|(label, h)| format!("{label}: {h:?}"))
        .collect();
    assert!(
        fails.is_empty(),
        "{what}: want {want:?}, got\n  {}",
        fails.join("\n  ")
    );
}

#[test]
fn abs_at_zero() {
    scalar_fn!(abs, [x], x.abs());
    scalar_fn!(composite, [x], (x * 3.0).abs() + x);
    for x in [0.0, -0.0] {
        for record_at in [1.0, -1.0] {
            let m = at_point(&fns!(abs), [x], [record_at]);
            assert_grad("abs′(0)", &m, Modes::All, [0.0]);
            assert_hess("abs″(0)", &m, Modes::All, [[0.0]]);
            let m = at_point(&fns!(composite), [x], [record_at]);
            assert_grad("d/dx (|3x| + x) at 0", &m, Modes::All, [1.0]);
        }
    }
}

#[test]
fn min_max_ties() {
    scalar_fn!(min, [a, b], a.min(b));
    scalar_fn!(max, [a, b], a.max(b));
    scalar_fn!(min_self, [x], x.min(x));
    scalar_fn!(max_self, [x], x.max(x));
    let ties = [
        [0.0, 0.0],
        [0.0, -0.0],
        [-0.0, 0.0],
        [1.5, 1.5],
        [-3.0, -3.0],
        [1e300, 1e300],
    ];
    for t in ties {
        for fns in [fns!(min), fns!(max)] {
            // Recorded away from the tie, so the replay recomputes the weights.
            let m = at_point(&fns, t, [1.0, 2.0]);
            assert_grad("min/max at a tie", &m, Modes::All, [0.5, 0.5]);
            assert_hess("min/max at a tie", &m, Modes::All, [[0.0; 2]; 2]);
        }
        for fns in [fns!(min_self), fns!(max_self)] {
            let m = at_point(&fns, [t[0]], [7.0]);
            assert_grad("max(x, x)", &m, Modes::All, [1.0]);
            assert_hess("max(x, x)", &m, Modes::All, [[0.0]]);
        }
    }
}

/// sqrt and cbrt of a quantity with a zero tangent (forward) or zero adjoint (reverse) at 0 pass
/// on 0, not NaN.
#[test]
fn sqrt_cbrt_at_zero_with_zero_tangent() {
    // x·0 is 0 with a zero tangent in forward mode (on the tape it is a recorded product whose
    // adjoint is not zero, so only the forward modes apply).
    scalar_fn!(sqrt_zero_tangent, [x], x + (x * 0.0).sqrt());
    scalar_fn!(cbrt_zero_tangent, [x], x + (x * 0.0).cbrt());
    // A constant 0: every mode.
    scalar_fn!(sqrt_constant, [x], x + S::cst(0.0).sqrt() * x);
    scalar_fn!(cbrt_constant, [x], x + S::cst(0.0).cbrt() * x);
    // The adjoint of sqrt(x) is 0 (reverse modes; forward mode has the tangent +∞ times 0).
    scalar_fn!(sqrt_zero_adjoint, [x], x + x.sqrt() * 0.0);
    scalar_fn!(cbrt_zero_adjoint, [x], x + x.cbrt() * 0.0);
    for x in [0.0, 1.0, -3.0, 2.5] {
        for fns in [fns!(sqrt_zero_tangent), fns!(cbrt_zero_tangent)] {
            let m = at_point(&fns, [x], [4.0]);
            assert_grad("zero tangent into sqrt/cbrt", &m, Modes::Forward, [1.0]);
            assert_hess("zero tangent into sqrt/cbrt", &m, Modes::Forward, [[0.0]]);
        }
        for fns in [fns!(sqrt_constant), fns!(cbrt_constant)] {
            let m = at_point(&fns, [x], [4.0]);
            assert_grad("sqrt/cbrt of a constant 0", &m, Modes::All, [1.0]);
            assert_hess("sqrt/cbrt of a constant 0", &m, Modes::All, [[0.0]]);
        }
    }
    for fns in [fns!(sqrt_zero_adjoint), fns!(cbrt_zero_adjoint)] {
        let m = at_point(&fns, [0.0], [4.0]);
        assert_grad("zero adjoint into sqrt/cbrt", &m, Modes::Reverse, [1.0]);
        assert_hess("zero adjoint into sqrt/cbrt", &m, Modes::Reverse, [[0.0]]);
    }
    assert_eq!(Dual::<1>::cst(0.0).sqrt().d, [0.0]);
    assert_eq!(Dual::<1>::cst(0.0).cbrt().d, [0.0]);
}

/// With a nonzero tangent or adjoint, sqrt and cbrt at +0 have derivative +∞ in every mode.
#[test]
fn sqrt_cbrt_at_zero_with_nonzero_tangent() {
    scalar_fn!(sqrt, [x], x.sqrt());
    scalar_fn!(cbrt, [x], x.cbrt());
    for fns in [fns!(sqrt), fns!(cbrt)] {
        let m = at_point(&fns, [0.0], [4.0]);
        assert_grad("sqrt′(0), cbrt′(0)", &m, Modes::All, [f64::INFINITY]);
    }
    let m = at_point(&fns!(cbrt), [-0.0], [4.0]);
    assert_grad("cbrt′(−0)", &m, Modes::All, [f64::INFINITY]);
}

#[test]
fn hypot_and_atan2_at_origin() {
    scalar_fn!(hypot, [a, b], a.hypot(b));
    scalar_fn!(atan2, [y, x], y.atan2(x));
    for p in [[0.0, 0.0], [-0.0, 0.0], [0.0, -0.0], [-0.0, -0.0]] {
        for fns in [fns!(hypot), fns!(atan2)] {
            let m = at_point(&fns, p, [1.0, 2.0]);
            assert_grad("hypot/atan2 at the origin", &m, Modes::All, [0.0, 0.0]);
            assert_hess("hypot/atan2 at the origin", &m, Modes::All, [[0.0; 2]; 2]);
        }
    }
}

/// pow(0, y): ∂/∂y = 0; ∂/∂x = y·0^(y−1) in IEEE arithmetic (finite for y ≥ 1).
#[test]
fn pow_at_zero_base() {
    scalar_fn!(pow, [x, y], x.pow(y));
    for y in [1.0, 2.0, 2.5, 3.0, 7.5] {
        let m = at_point(&fns!(pow), [0.0, y], [1.5, 2.0]);
        assert_grad(
            &format!("pow(0, {y})"),
            &m,
            Modes::All,
            [y * 0f64.powf(y - 1.0), 0.0],
        );
    }
}

/// pow(0, y) for y < 1, where ∂/∂x is infinite: ∂/∂y must still be 0 (table in `scalar.rs`).
#[test]
fn pow_at_zero_base_infinite_x_partial() {
    scalar_fn!(pow, [x, y], x.pow(y));
    for y in [0.5, -1.5] {
        let m = at_point(&fns!(pow), [0.0, y], [1.5, 2.0]);
        assert_grad(
            &format!("pow(0, {y})"),
            &m,
            Modes::All,
            [y * 0f64.powf(y - 1.0), 0.0],
        );
    }
}

/// powi and powf at 0: n·0^(n−1), c·0^(c−1) in IEEE arithmetic.
#[test]
fn powi_powf_at_zero() {
    macro_rules! check {
        ($($f:ident: |$x:ident| $body:expr => $want:expr;)*) => {$({
            scalar_fn!($f, [$x], $body);
            let m = at_point(&fns!($f), [0.0], [2.0]);
            assert_grad(stringify!($body), &m, Modes::All, [$want]);
        })*};
    }
    check! {
        powi_m3: |x| x.powi(-3) => -3.0 * 0f64.powi(-4);
        powi_m1: |x| x.powi(-1) => -0f64.powi(-2);
        powi_1: |x| x.powi(1) => 1.0;
        powi_2: |x| x.powi(2) => 0.0;
        powi_3: |x| x.powi(3) => 0.0;
        powi_7: |x| x.powi(7) => 0.0;
        powf_m1_5: |x| x.powf(-1.5) => -1.5 * 0f64.powf(-2.5);
        powf_0_5: |x| x.powf(0.5) => 0.5 * 0f64.powf(-0.5);
        powf_1: |x| x.powf(1.0) => 1.0;
        powf_2: |x| x.powf(2.0) => 0.0;
        powf_3_7: |x| x.powf(3.7) => 0.0;
    }
    assert_eq!(0.5 * 0f64.powf(-0.5), f64::INFINITY);
    assert_eq!(-1.5 * 0f64.powf(-2.5), f64::NEG_INFINITY);
}

#[test]
fn powi_zero_exponent() {
    scalar_fn!(p0, [x], x.powi(0));
    for x in [0.0, -0.0, -2.0, 3.5, 1e300, -1e-300] {
        let m = at_point(&fns!(p0), [x], [2.0]);
        assert_grad("powi(x, 0)", &m, Modes::All, [0.0]);
        assert_hess("powi(x, 0)", &m, Modes::All, [[0.0]]);
        assert!(m.values.iter().all(|&(_, v)| v == 1.0), "{:?}", m.values);
    }
}

#[test]
fn piecewise_constant_at_jumps() {
    scalar_fn!(signum, [x], x.signum());
    scalar_fn!(floor, [x], x.floor());
    scalar_fn!(ceil, [x], x.ceil());
    scalar_fn!(round, [x], x.round());
    scalar_fn!(trunc, [x], x.trunc());
    for fns in [
        fns!(signum),
        fns!(floor),
        fns!(ceil),
        fns!(round),
        fns!(trunc),
    ] {
        for x in [0.0, -0.0, 0.5, -0.5, 1.0, -2.0, 2.5] {
            let m = at_point(&fns, [x], [0.25]);
            assert_grad("piecewise constant", &m, Modes::All, [0.0]);
            assert_hess("piecewise constant", &m, Modes::All, [[0.0]]);
        }
    }
    // signum(±0) = 0 (std's f64::signum gives ±1).
    assert_eq!(Scalar::signum(0.0), 0.0);
    assert_eq!(Dual::<1>::variable(-0.0, 0).signum().v, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Extreme domains: tails and overflow-prone arguments, where naive derivative formulas lose every
// digit (1 − tanh², x² + 1, exp_m1 + 1) or overflow.
// ---------------------------------------------------------------------------------------------

unary! {
    exp_m1_negative_arguments: |x| x.exp_m1(), d1 = x.exp(), d2 = x.exp(),
        at = lin(-50.0, -1.0, 30), tol = (ROUTE, ROUTE);
    tanh_tails: |x| x.tanh(),
        d1 = 1.0 / x.cosh().powi(2), d2 = -2.0 * x.tanh() / x.cosh().powi(2),
        at = sym(lin(2.0, 40.0, 15)), tol = (ROUTE, ROUTE);
    asinh_huge: |x| x.asinh(),
        d1 = 1.0 / x.hypot(1.0), d2 = { let h = x.hypot(1.0); -x / h / h / h },
        at = sym(geo(1e155, 1e300, 15)), tol = (SAME, SAME);
    acosh_huge: |x| x.acosh(),
        d1 = 1.0 / ((x - 1.0).sqrt() * (x + 1.0).sqrt()),
        d2 = { let s = (x - 1.0).sqrt() * (x + 1.0).sqrt(); -x / s / s / s },
        at = geo(1e155, 1e300, 30), tol = (SAME, SAME);
    // For |x| ≥ 1e80, 1/(1 + x²) = 1/x² and −2x/(1 + x²)² = −2/x³ to far below an ulp.
    atan_huge: |x| x.atan(),
        d1 = 1.0 / x / x, d2 = -2.0 / x / x / x,
        at = sym(geo(1e80, 1e150, 15)), tol = (SAME, SAME);
}

nary! {
    atan2_huge: |y, x| y.atan2(x),
        grad = { let r = x.hypot(y); [x / r / r, -y / r / r] },
        hess = {
            let r = x.hypot(y);
            let (u, v) = (x / r, y / r);
            let (a, b) = (2.0 * u * v / r / r, (v * v - u * u) / r / r);
            [[-a, b], [b, a]]
        },
        at = grid2(&sym([1e155, 5e160, 2e180, 3e200, 1e300]), &sym([1.0, 2e155, 7e170, 1e250])),
        tol = (SAME, SAME),
        scale2 = |[y, x]| 1.0 / x.hypot(y) / x.hypot(y);
}

/// Piecewise-constant functions of a variable are recorded as constants, so a replayed tape keeps
/// the value of the recording point.
#[test]
fn piecewise_constant_replay_values() {
    scalar_fn!(signum, [x], x.signum());
    scalar_fn!(floor, [x], x.floor());
    scalar_fn!(ceil, [x], x.ceil());
    scalar_fn!(round, [x], x.round());
    scalar_fn!(trunc, [x], x.trunc());
    let mut fails = Vec::new();
    for (name, fns) in [
        ("signum", fns!(signum)),
        ("floor", fns!(floor)),
        ("ceil", fns!(ceil)),
        ("round", fns!(round)),
        ("trunc", fns!(trunc)),
    ] {
        let mut replay = Replay::record(&fns, &[0.3]);
        for x in steps() {
            replay.tape.replay(&[x]).expect("replay");
            let got = replay.tape.value(replay.y).expect("value");
            let want = (fns.f64)(&[x]);
            if !same_bits(got, want) {
                fails.push(format!(
                    "{name} recorded at 0.3, replayed at {x}: got {got}, want {want}"
                ));
            }
        }
    }
    assert!(
        fails.is_empty(),
        "{} failures:\n  {}",
        fails.len(),
        fails.join("\n  ")
    );
}

/// sqrt at −0 (which is 0): the table in `scalar.rs` documents +∞ at 0 (cbrt gets it right,
/// see `sqrt_cbrt_at_zero_with_nonzero_tangent`).
#[test]
fn sqrt_at_negative_zero() {
    scalar_fn!(sqrt, [x], x.sqrt());
    let m = at_point(&fns!(sqrt), [-0.0], [4.0]);
    assert_grad("sqrt′(−0)", &m, Modes::All, [f64::INFINITY]);
}

/// `sin` and `cos` of a constant dual (all partials zero) skip the derivative's second
/// transcendental: the value must still be the `f64` one, the partials exactly zero, and a nested
/// dual whose *inner* level moves must keep its inner derivative.
#[test]
fn sin_cos_of_constants() {
    let x = 0.7_f64;
    let c = Dual::<3>::constant(x);
    assert!(same_bits(c.sin().value(), x.sin()) && c.sin().d.iter().all(|&d| d == 0.0));
    assert!(same_bits(c.cos().value(), x.cos()) && c.cos().d.iter().all(|&d| d == 0.0));
    // Outer partials zero, inner tangent one: d/dx of the inner level must be cos x (resp. −sin x).
    let nested = Dual::<1, Dual<1>>::constant(Dual::<1>::variable(x, 0));
    assert_eq!(nested.sin().v.d[0], x.cos());
    assert_eq!(nested.cos().v.d[0], -x.sin());
    assert!(nested.sin().d[0].is_all_zero() && nested.cos().d[0].is_all_zero());
    // A moving dual still gets its derivative.
    let v = Dual::<1>::variable(x, 0);
    assert_eq!(v.cos().d[0], -x.sin());
}

/// `Scalar::sin_cos` on `f64` (glibc's `sincos` where available, the last result kept) gives
/// exactly `f64::sin` and
/// `f64::cos`: forward mode and the tape rely on it, so that a dual number's value and a tape
/// entry's value are bit-identical to plain `f64` evaluation.
#[test]
fn f64_sin_cos_is_bit_identical_to_sin_and_cos() {
    let mut xs = vec![
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        5e-324,
        1e-300,
        1e-8,
        FRAC_PI_2,
        PI,
        1e5,
        1e15,
        1e22,
        1e300,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    xs.extend(sym(geo(1e-20, 1e20, 20_000)));
    xs.extend(sym(lin(-10.0, 10.0, 20_001)));
    // Each point twice in a row (the second call is answered from the kept last result) and
    // once more after the next point.
    let mut previous = 0.5;
    for x in xs {
        for y in [x, x, previous] {
            let (s, c) = Scalar::sin_cos(y);
            assert!(same_bits(s, y.sin()), "sin({y:e}): {s:e} vs {:e}", y.sin());
            assert!(same_bits(c, y.cos()), "cos({y:e}): {c:e} vs {:e}", y.cos());
        }
        previous = x;
    }
}
