//! Derivatives of integrals: the Leibniz integral rule as a [`Rule`], and a one-pass forward mode.
//!
//! # The rule
//!
//! For `I(p) = ∫_{a}^{b} f(x, p) dx` with parameters `p ∈ Rⁿ` and endpoints `a`, `b` that may
//! themselves be inputs,
//!
//! ```text
//! dI = ∫_a^b ∂f/∂p(x, p) · dp dx  +  f(b, p) db  −  f(a, p) da
//! ```
//!
//! (Leibniz's rule; valid when `f` and `∂f/∂p` are integrable, e.g. dominated convergence). Both
//! derivative directions are themselves integrals, and [`ParametricIntegral`] computes them as
//! such — it never differentiates through the adaptive subdivision, whose branches would give a
//! derivative of the discretisation rather than of the integral:
//!
//! * **forward (jvp)**: the tangent integrand `∂f/∂p · ṗ` (for all `k` directions at once) is
//!   evaluated by running `f` on [`Dual`] numbers (chunks of up to 8 directions per evaluation)
//!   and integrated adaptively with its own error control: every direction is a group that must
//!   meet `max(atol, rtol·‖İ_j‖)`;
//! * **reverse (vjp)**: the integrand's vector–Jacobian product `(∂f/∂p)ᵀ ȳ` is integrated the
//!   same way (one group of `n` components). Each node computes it with `⌈n/8⌉` evaluations of
//!   `f` on `Dual<8>` (or `Dual<1…4>` for fewer parameters): for the few parameters an integrand
//!   typically has this is cheaper than recording `f` on a tape at every node, whose per-node
//!   recording costs several evaluations of `f` (measured in the quadrature benchmark);
//! * **state reuse**: the primal's final partition is the state; the derivative integrals start
//!   from it instead of from `[a, b]`, so a derivative whose integrand is as smooth as `f` costs
//!   one pass over the final pieces (about half of what a fresh adaptive run would), and pieces
//!   are bisected further only where the derivative integrand needs it;
//! * **endpoint terms** `f(b)·ḃ − f(a)·ȧ` (forward) and `ā −= f(a)ᵀȳ`, `b̄ += f(b)ᵀȳ` (reverse)
//!   evaluate `f` at the endpoints only when their direction or adjoint is needed; an infinite
//!   endpoint contributes nothing (a convergent integral's integrand vanishes there).
//!
//! # Second order
//!
//! When the jvp or vjp is called on dual numbers (forward-over-forward Hessians, the tape's
//! forward-over-reverse Hessian-vector products), the derivative integrals are written as rules
//! again: a [`ParametricIntegral`] of the tangent integrand `(x, p, v) ↦ ∂f/∂p(x, p)·v` or the
//! adjoint integrand `(x, p, ȳ) ↦ (∂f/∂p)ᵀ ȳ` (both run `f` on nested duals), split at the
//! primal's partition, applied with `S::apply_rule`, plus the endpoint terms computed on `S`.
//! Second derivatives therefore come from the same adaptive machinery, with their own error
//! control, and are tested against analytic Hessians.
//!
//! # One-pass forward mode
//!
//! [`ParametricIntegrator::forward`] integrates the `Dual<N>`-valued integrand once: value and
//! `N` partials share every node, and the adaptive loop stops when the value *and* each partial
//! meet the tolerance. That is the cheapest way to get a value with a few derivatives (the
//! rule's route does the primal and then the tangent integral); the rule is what nests inside
//! larger differentiable programs and the tape.
//!
//! # Integrands
//!
//! The integrand is a [`VectorFunction`] of `z = (x, p₀, …, p_{n−1})` (length `1 + n`), written
//! once for every scalar type, so `scalar_fn!`/`vector_fn!` from `tangent_ad` define it:
//!
//! ```
//! use tangent_ad::{AsVector, Dual, Scalar, scalar_fn};
//! use tangent_quadrature::{Endpoint, GaussKronrod, ParametricIntegral};
//!
//! // I(p, b) = ∫_0^b exp(−p x²) dx; inputs (p, b).
//! let f = AsVector(scalar_fn!(|z| (-z[1] * z[0] * z[0]).exp()));
//! let alg = GaussKronrod { rtol: 1e-12, ..Default::default() };
//! let integral = ParametricIntegral::new(f, 1, Endpoint::Fixed(0.0), Endpoint::Input, alg).unwrap();
//!
//! // Value and both partials in forward mode through the rule.
//! let (p, b) = (2.0, 1.5);
//! let inputs = [Dual::<2>::variable(p, 0), Dual::<2>::variable(b, 1)];
//! let mut out = [Dual::<2>::default()];
//! integral.eval(&inputs, &mut out).unwrap();
//! // ∂I/∂b = f(b) = exp(−p b²).
//! assert!((out[0].d[1] - (-p * b * b).exp()).abs() < 1e-14);
//! // ∂I/∂p = −∫_0^b x² exp(−p x²) dx, checked against a central difference.
//! let h = 1e-5;
//! let mut up = [0.0];
//! let mut dn = [0.0];
//! integral.eval(&[p + h, b], &mut up).unwrap();
//! integral.eval(&[p - h, b], &mut dn).unwrap();
//! assert!((out[0].d[0] - (up[0] - dn[0]) / (2.0 * h)).abs() < 1e-9);
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

use tangent_ad::{Dual, Rule, RuleError, Scalar, VectorFunction, is_f64};

use crate::adaptive::{Interval, Outcome, Workspace};
use crate::error::QuadratureError;
use crate::integrand::BatchIntegrand;
use crate::quadgk::{GaussKronrod, Stats, finish, set_breaks};

/// Where an endpoint of a [`ParametricIntegral`] comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Endpoint {
    /// A constant (may be infinite).
    Fixed(f64),
    /// An input of the rule (after the parameters; the lower endpoint first), differentiable.
    Input,
}

/// `I(p) = ∫_{a}^{b} f(x, p) dx` as a differentiable map of `(p, a, b)`; see the module docs.
///
/// Inputs: the `n_params` parameters, then the lower endpoint if it is [`Endpoint::Input`], then
/// the upper one if it is. Outputs: the `m = f.output_len()` components of the integral. The
/// integrand `f` is a [`VectorFunction`] of `z = (x, p)`. Cloning is cheap (the integrand is
/// shared).
pub struct ParametricIntegral<F> {
    integrand: Arc<F>,
    n_params: usize,
    lower: Endpoint,
    upper: Endpoint,
    breakpoints: Arc<Vec<f64>>,
    alg: GaussKronrod,
}

impl<F> Clone for ParametricIntegral<F> {
    fn clone(&self) -> Self {
        Self {
            integrand: Arc::clone(&self.integrand),
            n_params: self.n_params,
            lower: self.lower,
            upper: self.upper,
            breakpoints: Arc::clone(&self.breakpoints),
            alg: self.alg,
        }
    }
}

impl<F> core::fmt::Debug for ParametricIntegral<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParametricIntegral")
            .field("n_params", &self.n_params)
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .field("breakpoints", &self.breakpoints)
            .field("alg", &self.alg)
            .finish()
    }
}

/// What the primal leaves for the derivatives: the interval, its final partition, and the
/// engine's buffers (already sized, so the derivative integrals reuse them).
#[derive(Debug)]
pub struct IntegralState {
    interval: Interval,
    /// Breakpoints of the final partition in the interval's `t` variable.
    partition: Vec<f64>,
    /// Evaluations the primal spent.
    evaluations: usize,
    /// Buffers for the derivative integrals (the jvp and vjp take `&State`).
    buffers: RefCell<(Workspace, Scratch)>,
}

impl IntegralState {
    /// Number of pieces of the primal's final partition.
    pub fn pieces(&self) -> usize {
        self.partition.len().saturating_sub(1)
    }

    /// Integrand evaluations the primal spent.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }
}

impl<F: VectorFunction + Send + Sync + 'static> ParametricIntegral<F> {
    /// `∫_{lower}^{upper} f(x, p) dx` with `n_params` parameters, integrated with `alg` (checked).
    pub fn new(
        integrand: F,
        n_params: usize,
        lower: Endpoint,
        upper: Endpoint,
        alg: GaussKronrod,
    ) -> Result<Self, QuadratureError> {
        alg.validate()?;
        Ok(Self {
            integrand: Arc::new(integrand),
            n_params,
            lower,
            upper,
            breakpoints: Arc::new(Vec::new()),
            alg,
        })
    }

    /// Adds fixed breakpoints (where `f` is not smooth in `x`); they must lie inside the interval
    /// at every point of use.
    pub fn with_breakpoints(mut self, points: &[f64]) -> Self {
        let mut b = (*self.breakpoints).clone();
        b.extend_from_slice(points);
        self.breakpoints = Arc::new(b);
        self
    }

    /// Number of parameters `n`.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Number of rule inputs: `n` plus one per [`Endpoint::Input`].
    pub fn input_len(&self) -> usize {
        self.n_params
            + usize::from(self.lower == Endpoint::Input)
            + usize::from(self.upper == Endpoint::Input)
    }

    /// Number of outputs `m`.
    pub fn output_len(&self) -> usize {
        self.integrand.output_len()
    }

    /// The integrand.
    pub fn integrand(&self) -> &F {
        &self.integrand
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &GaussKronrod {
        &self.alg
    }

    /// Evaluates the integral in any AD mode: `S::apply_rule(self, inputs, out)`.
    /// `inputs.len() == input_len()`, `out.len() == output_len()`.
    pub fn eval<S: Scalar>(&self, inputs: &[S], out: &mut [S]) -> Result<(), RuleError> {
        S::apply_rule(self, inputs, out)
    }

    /// A prepared integrator for repeated evaluations without allocation.
    pub fn integrator(&self) -> ParametricIntegrator<F> {
        ParametricIntegrator {
            problem: self.clone(),
            ws: Workspace::default(),
            breaks: Vec::new(),
            zbuf: Vec::new(),
            pbuf: Vec::new(),
            dirs: Vec::new(),
            values: Vec::new(),
            scratch: Scratch::default(),
        }
    }

    /// Index of the lower endpoint among the inputs, if it is one.
    fn lower_index(&self) -> Option<usize> {
        (self.lower == Endpoint::Input).then_some(self.n_params)
    }

    /// Index of the upper endpoint among the inputs, if it is one.
    fn upper_index(&self) -> Option<usize> {
        (self.upper == Endpoint::Input)
            .then_some(self.n_params + usize::from(self.lower == Endpoint::Input))
    }

    /// The endpoints' values from the inputs.
    fn endpoints<S: Scalar>(&self, x: &[S]) -> (S, S) {
        let a = match (self.lower, self.lower_index()) {
            (_, Some(i)) => x[i],
            (Endpoint::Fixed(v), None) => S::cst(v),
            (Endpoint::Input, None) => S::cst(f64::NAN), // unreachable: Input always has an index
        };
        let b = match (self.upper, self.upper_index()) {
            (_, Some(i)) => x[i],
            (Endpoint::Fixed(v), None) => S::cst(v),
            (Endpoint::Input, None) => S::cst(f64::NAN),
        };
        (a, b)
    }

    fn check_inputs(&self, found: usize) -> Result<(), QuadratureError> {
        if found != self.input_len() {
            return Err(QuadratureError::DimensionMismatch {
                what: "integral inputs",
                expected: self.input_len(),
                found,
            });
        }
        Ok(())
    }

    fn check_outputs(&self, found: usize) -> Result<(), QuadratureError> {
        if found != self.output_len() {
            return Err(QuadratureError::DimensionMismatch {
                what: "integral outputs",
                expected: self.output_len(),
                found,
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Integrand adaptors: f(x, p) on f64, its tangents and its vjp as batch integrands.

/// `x ↦ f(x, p)` on `f64`.
struct ValueAdaptor<'a, F> {
    f: &'a F,
    z: RefCell<&'a mut Vec<f64>>,
}

impl<'a, F: VectorFunction> ValueAdaptor<'a, F> {
    fn new(f: &'a F, p: &[f64], z: &'a mut Vec<f64>) -> Self {
        z.clear();
        z.push(0.0);
        z.extend_from_slice(p);
        Self {
            f,
            z: RefCell::new(z),
        }
    }
}

impl<F: VectorFunction> BatchIntegrand for ValueAdaptor<'_, F> {
    fn output_len(&self) -> usize {
        self.f.output_len()
    }
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        let m = self.f.output_len();
        let mut z = self.z.borrow_mut();
        for (i, &xi) in x.iter().enumerate() {
            z[0] = xi;
            self.f.eval(&z[..], &mut y[i * m..(i + 1) * m]);
        }
    }
}

/// `x ↦ (f(x, p) if with_value, ∂f/∂p(x, p) · v_j for j < k)` with `f` run on `Dual<K>`
/// (directions in chunks of `K`). Direction `j`'s parameter part is `dirs[j*stride..j*stride+n]`.
struct TangentAdaptor<'a, F, const K: usize> {
    f: &'a F,
    p: &'a [f64],
    dirs: &'a [f64],
    stride: usize,
    k: usize,
    with_value: bool,
    buf: RefCell<&'a mut Vec<Dual<K>>>,
}

/// Inputs `z = (x, p)` and outputs of the integrand on the stack up to these lengths (so that
/// the optimiser keeps an inlined integrand's inputs and outputs in registers); longer ones go
/// to the adaptor's buffer.
const STACK_INPUTS: usize = 8;
const STACK_OUTPUTS: usize = 4;

impl<F: VectorFunction, const K: usize> TangentAdaptor<'_, F, K> {
    /// One chunk of directions (`first..first + K`) at every node of `x`, with `z[1..]` seeded:
    /// the value (if `value`) and the chunk's lanes into each node's row of `y`.
    #[inline(always)]
    fn chunk(
        &self,
        x: &[f64],
        y: &mut [f64],
        z: &mut [Dual<K>],
        out: &mut [Dual<K>],
        first: usize,
        value: bool,
    ) {
        let m = out.len();
        let nc = self.output_len();
        let lanes = K.min(self.k.saturating_sub(first));
        // Direction j, component r of a node's row at off + j·m + r: this chunk's lanes are the
        // contiguous range off + first·m .. off + (first + lanes)·m.
        let lo = if self.with_value { m } else { 0 } + first * m;
        let hi = lo + lanes * m;
        for (&xi, row) in x.iter().zip(y.chunks_exact_mut(nc)) {
            z[0] = Dual::constant(xi);
            self.f.eval(z, out);
            if value {
                for (o, v) in row[..m].iter_mut().zip(out.iter()) {
                    *o = v.v;
                }
            }
            if m == 1 {
                // A fixed-length copy when the chunk is full (no call to memcpy).
                match <&mut [f64; K]>::try_from(&mut row[lo..hi]) {
                    Ok(dst) => *dst = out[0].d,
                    Err(_) => {
                        for (o, &d) in row[lo..hi].iter_mut().zip(&out[0].d) {
                            *o = d;
                        }
                    }
                }
            } else {
                for (l, dst) in row[lo..hi].chunks_exact_mut(m).enumerate() {
                    for (o, v) in dst.iter_mut().zip(out.iter()) {
                        *o = v.d[l];
                    }
                }
            }
        }
    }

    /// Seeds `z[1..]` with the parameters and the directions `first..first + K`.
    fn seed(&self, z: &mut [Dual<K>], first: usize) {
        let lanes = K.min(self.k.saturating_sub(first));
        for (i, zi) in z[1..].iter_mut().enumerate() {
            let mut d = [0.0; K];
            for (l, dl) in d[..lanes].iter_mut().enumerate() {
                *dl = self.dirs[(first + l) * self.stride + i];
            }
            *zi = Dual::new(self.p[i], d);
        }
    }
}

impl<F: VectorFunction, const K: usize> BatchIntegrand for TangentAdaptor<'_, F, K> {
    fn output_len(&self) -> usize {
        self.f.output_len() * (self.k + usize::from(self.with_value))
    }
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        let m = self.f.output_len();
        let np = self.p.len();
        if self.output_len() == 0 {
            return;
        }
        let chunks = self.k.div_ceil(K).max(1);
        if np < STACK_INPUTS && m <= STACK_OUTPUTS {
            let mut zs = [Dual::<K>::default(); STACK_INPUTS];
            let mut os = [Dual::<K>::default(); STACK_OUTPUTS];
            let (z, out) = (&mut zs[..1 + np], &mut os[..m]);
            for chunk in 0..chunks {
                self.seed(z, chunk * K);
                self.chunk(x, y, z, out, chunk * K, self.with_value && chunk == 0);
            }
            return;
        }
        let mut buf = self.buf.borrow_mut();
        buf.clear();
        buf.resize(1 + np + m, Dual::default());
        let (z, out) = buf.split_at_mut(1 + np);
        for chunk in 0..chunks {
            self.seed(z, chunk * K);
            self.chunk(x, y, z, out, chunk * K, self.with_value && chunk == 0);
        }
    }
}

/// `x ↦ (∂f/∂p(x, p))ᵀ ȳ` (length n) with `f` run on `Dual<K>` seeded with unit directions.
struct AdjointAdaptor<'a, F, const K: usize> {
    f: &'a F,
    p: &'a [f64],
    ybar: &'a [f64],
    buf: RefCell<&'a mut Vec<Dual<K>>>,
}

impl<F: VectorFunction, const K: usize> BatchIntegrand for AdjointAdaptor<'_, F, K> {
    fn output_len(&self) -> usize {
        self.p.len()
    }
    fn eval_batch(&self, x: &[f64], y: &mut [f64]) {
        let m = self.f.output_len();
        let np = self.p.len();
        let mut buf = self.buf.borrow_mut();
        buf.clear();
        buf.resize(1 + np + m, Dual::default());
        let (z, out) = buf.split_at_mut(1 + np);
        for chunk in 0..np.div_ceil(K) {
            for (i, zi) in z[1..].iter_mut().enumerate() {
                // Index ≥ K (parameters outside this chunk) gives a constant.
                *zi = Dual::variable(self.p[i], i.wrapping_sub(chunk * K));
            }
            for (node, &xi) in x.iter().enumerate() {
                z[0] = Dual::constant(xi);
                self.f.eval(z, out);
                for l in 0..K.min(np - chunk * K) {
                    let mut s = 0.0;
                    for (v, yb) in out.iter().zip(self.ybar) {
                        s += v.d[l] * yb;
                    }
                    y[node * np + chunk * K + l] = s;
                }
            }
        }
    }
}

/// A type-erased buffer of dual numbers, so that a prepared integrator reuses it for whichever
/// `Dual<K>` a call needs.
#[derive(Default)]
struct Scratch {
    slot: Option<Box<dyn Any + Send>>,
}

impl Scratch {
    fn get<T: Send + 'static>(&mut self) -> &mut Vec<T> {
        let slot = self.slot.get_or_insert_with(|| Box::new(Vec::<T>::new()));
        if !slot.is::<Vec<T>>() {
            *slot = Box::new(Vec::<T>::new());
        }
        match slot.downcast_mut::<Vec<T>>() {
            Some(v) => v,
            // The slot was just set to a `Vec<T>` when it held anything else.
            None => unreachable!("scratch slot holds Vec<T>"),
        }
    }
}

impl core::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Scratch")
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels shared by the rule and the prepared integrator.

/// Turns a stopped run with several groups into [`QuadratureError::ToleranceNotMet`] for the
/// group furthest from its tolerance.
fn check_outcome(ws: &Workspace, outcome: Outcome) -> Result<(), QuadratureError> {
    match outcome {
        Outcome::Converged => Ok(()),
        Outcome::Stopped(reason) => {
            let (g, _) = ws.errors().iter().zip(ws.tolerances()).enumerate().fold(
                (0, f64::NEG_INFINITY),
                |best, (g, (e, t))| {
                    let r = e / t;
                    if r > best.1 { (g, r) } else { best }
                },
            );
            Err(QuadratureError::ToleranceNotMet {
                value: ws.value().to_vec(),
                error: ws.errors().get(g).copied().unwrap_or(0.0),
                tolerance: ws.tolerances().get(g).copied().unwrap_or(0.0),
                evaluations: ws.evaluations(),
                reason,
            })
        }
    }
}

/// Integrates the value `∫ f(x, p)` over `[a, b]` into `out`; leaves the final partition in
/// `breaks`.
#[allow(clippy::too_many_arguments)]
fn value_kernel<F: VectorFunction>(
    prob: &ParametricIntegral<F>,
    ws: &mut Workspace,
    breaks: &mut Vec<f64>,
    zbuf: &mut Vec<f64>,
    p: &[f64],
    a: f64,
    b: f64,
    out: &mut [f64],
) -> Result<(Interval, Stats), QuadratureError> {
    let interval = Interval::new(a, b)?;
    set_breaks(breaks, &interval, &prob.breakpoints)?;
    let f = ValueAdaptor::new(&*prob.integrand, p, zbuf);
    let outcome = ws.run(
        &f,
        interval.map,
        breaks,
        1,
        1,
        &prob.alg.options(interval.map),
    )?;
    let m = prob.integrand.output_len();
    let stats = finish(ws, &interval, outcome, out, 0, m)?;
    ws.partition_into(breaks);
    Ok((interval, stats))
}

/// Integrates `∂f/∂p · v_j` for `k` directions (parameter part of direction `j` at
/// `dirs[j*stride..]`) from the partition `breaks`, each direction its own group; with
/// `with_value` also the value (group 0). Results in `ws.value()`, unsigned.
#[allow(clippy::too_many_arguments)]
fn tangent_kernel<F: VectorFunction, const K: usize>(
    prob: &ParametricIntegral<F>,
    ws: &mut Workspace,
    interval: &Interval,
    breaks: &[f64],
    buf: &mut Vec<Dual<K>>,
    p: &[f64],
    dirs: &[f64],
    stride: usize,
    k: usize,
    with_value: bool,
) -> Result<Outcome, QuadratureError> {
    let f = TangentAdaptor::<F, K> {
        f: &*prob.integrand,
        p,
        dirs,
        stride,
        k,
        with_value,
        buf: RefCell::new(buf),
    };
    // The value (if any) is strict; the directions accept their rounding floor.
    let groups = k + usize::from(with_value);
    ws.run(
        &f,
        interval.map,
        breaks,
        groups,
        usize::from(with_value),
        &prob.alg.options(interval.map),
    )
}

/// Dispatches [`tangent_kernel`] on a chunk size suited to `k` directions, so that the integrand
/// runs on `Dual<1>`, `Dual<2>`, `Dual<4>` or `Dual<8>`.
#[allow(clippy::too_many_arguments)]
fn tangent_dispatch<F: VectorFunction>(
    prob: &ParametricIntegral<F>,
    ws: &mut Workspace,
    interval: &Interval,
    breaks: &[f64],
    scratch: &mut Scratch,
    p: &[f64],
    dirs: &[f64],
    stride: usize,
    k: usize,
    with_value: bool,
) -> Result<Outcome, QuadratureError> {
    macro_rules! go {
        ($K:literal) => {
            tangent_kernel::<F, $K>(
                prob,
                ws,
                interval,
                breaks,
                scratch.get(),
                p,
                dirs,
                stride,
                k,
                with_value,
            )
        };
    }
    match k {
        0 | 1 => go!(1),
        2 => go!(2),
        3 | 4 => go!(4),
        _ => go!(8),
    }
}

/// Integrates `(∂f/∂p)ᵀ ȳ` from the partition `breaks`; result (length n, unsigned) in
/// `ws.value()`.
#[allow(clippy::too_many_arguments)]
fn adjoint_dispatch<F: VectorFunction>(
    prob: &ParametricIntegral<F>,
    ws: &mut Workspace,
    interval: &Interval,
    breaks: &[f64],
    scratch: &mut Scratch,
    p: &[f64],
    ybar: &[f64],
) -> Result<Outcome, QuadratureError> {
    macro_rules! go {
        ($K:literal) => {{
            let f = AdjointAdaptor::<F, $K> {
                f: &*prob.integrand,
                p,
                ybar,
                buf: RefCell::new(scratch.get()),
            };
            ws.run(
                &f,
                interval.map,
                breaks,
                1,
                0,
                &prob.alg.options(interval.map),
            )
        }};
    }
    match p.len() {
        0 | 1 => go!(1),
        2 => go!(2),
        3 | 4 => go!(4),
        _ => go!(8),
    }
}

/// `f(x_end, p)` into `out`; an error if it is not finite (the endpoint term needs it).
fn endpoint_value<F: VectorFunction>(
    f: &F,
    x_end: f64,
    p: &[f64],
    zbuf: &mut Vec<f64>,
    out: &mut [f64],
) -> Result<(), QuadratureError> {
    zbuf.clear();
    zbuf.push(x_end);
    zbuf.extend_from_slice(p);
    f.eval(&zbuf[..], out);
    if let Some((c, &v)) = out.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(QuadratureError::NonFiniteIntegrand {
            x: vec![x_end],
            component: c,
            value: v,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The rule.

impl<F: VectorFunction + Send + Sync + 'static> ParametricIntegral<F> {
    /// First-order jvp on `f64` data (see [`Rule::jvp`]).
    fn jvp_f64(
        &self,
        state: &IntegralState,
        x: &[f64],
        dx: &[f64],
        dy: &mut [f64],
    ) -> Result<(), QuadratureError> {
        let n = self.input_len();
        let m = self.output_len();
        let np = self.n_params;
        let k = dx.len().checked_div(n).unwrap_or(0);
        dy.fill(0.0);
        let p = &x[..np];
        let any_param = (0..k).any(|j| dx[j * n..j * n + np].iter().any(|&v| v != 0.0));
        let mut zbuf = Vec::new();
        if any_param {
            let mut buffers = state.buffers.borrow_mut();
            let (ws, scratch) = &mut *buffers;
            let outcome = tangent_dispatch(
                self,
                ws,
                &state.interval,
                &state.partition,
                scratch,
                p,
                dx,
                n,
                k,
                false,
            )?;
            check_outcome(ws, outcome)?;
            for (d, v) in dy.iter_mut().zip(ws.value()) {
                *d = state.interval.sign * v;
            }
        }
        let (a, b) = self.endpoints(x);
        let mut fv = vec![0.0; m];
        for (index, end, sign) in [(self.lower_index(), a, -1.0), (self.upper_index(), b, 1.0)] {
            let Some(i) = index else { continue };
            if !end.is_finite() || (0..k).all(|j| dx[j * n + i] == 0.0) {
                continue;
            }
            endpoint_value(&*self.integrand, end, p, &mut zbuf, &mut fv)?;
            for j in 0..k {
                let t = dx[j * n + i];
                if t != 0.0 {
                    for r in 0..m {
                        dy[j * m + r] += sign * fv[r] * t;
                    }
                }
            }
        }
        Ok(())
    }

    /// First-order vjp on `f64` data (see [`Rule::vjp`]); accumulates into `xbar`.
    fn vjp_f64(
        &self,
        state: &IntegralState,
        x: &[f64],
        ybar: &[f64],
        xbar: &mut [f64],
    ) -> Result<(), QuadratureError> {
        let np = self.n_params;
        let p = &x[..np];
        let mut zbuf = Vec::new();
        if np > 0 && ybar.iter().any(|&v| v != 0.0) {
            let mut buffers = state.buffers.borrow_mut();
            let (ws, scratch) = &mut *buffers;
            let outcome = adjoint_dispatch(
                self,
                ws,
                &state.interval,
                &state.partition,
                scratch,
                p,
                ybar,
            )?;
            check_outcome(ws, outcome)?;
            for (xb, v) in xbar[..np].iter_mut().zip(ws.value()) {
                *xb += state.interval.sign * v;
            }
        }
        let (a, b) = self.endpoints(x);
        let mut fv = vec![0.0; self.output_len()];
        for (index, end, sign) in [(self.lower_index(), a, -1.0), (self.upper_index(), b, 1.0)] {
            let Some(i) = index else { continue };
            if !end.is_finite() {
                continue;
            }
            endpoint_value(&*self.integrand, end, p, &mut zbuf, &mut fv)?;
            xbar[i] += sign * fv.iter().zip(ybar).map(|(f, y)| f * y).sum::<f64>();
        }
        Ok(())
    }
}

impl<F: VectorFunction + Send + Sync + 'static> Rule for ParametricIntegral<F> {
    type State = IntegralState;

    fn n_inputs(&self) -> usize {
        self.input_len()
    }

    fn n_outputs(&self) -> usize {
        self.output_len()
    }

    fn primal(&self, x: &[f64], y: &mut [f64]) -> Result<IntegralState, RuleError> {
        self.check_inputs(x.len())?;
        self.check_outputs(y.len())?;
        let (a, b) = self.endpoints(x);
        let mut ws = Workspace::default();
        let mut breaks = Vec::new();
        let mut zbuf = Vec::new();
        let (interval, stats) = value_kernel(
            self,
            &mut ws,
            &mut breaks,
            &mut zbuf,
            &x[..self.n_params],
            a,
            b,
            y,
        )?;
        Ok(IntegralState {
            interval,
            partition: breaks,
            evaluations: stats.evaluations,
            buffers: RefCell::new((ws, Scratch::default())),
        })
    }

    fn jvp<S: Scalar>(
        &self,
        state: &IntegralState,
        x: &[S],
        _y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        if !is_f64::<S>() {
            return self.jvp_generic(state, x, dx, dy);
        }
        // S is f64 here, so `value()` is the identity and `cst` its inverse.
        let xv: Vec<f64> = x.iter().map(Scalar::value).collect();
        let dxv: Vec<f64> = dx.iter().map(Scalar::value).collect();
        let mut dyv = vec![0.0; dy.len()];
        self.jvp_f64(state, &xv, &dxv, &mut dyv)?;
        for (o, v) in dy.iter_mut().zip(dyv) {
            *o = S::cst(v);
        }
        Ok(())
    }

    fn vjp<S: Scalar>(
        &self,
        state: &IntegralState,
        x: &[S],
        _y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        if !is_f64::<S>() {
            return self.vjp_generic(state, x, ybar, xbar);
        }
        let xv: Vec<f64> = x.iter().map(Scalar::value).collect();
        let ybv: Vec<f64> = ybar.iter().map(Scalar::value).collect();
        let mut xbv: Vec<f64> = xbar.iter().map(Scalar::value).collect();
        self.vjp_f64(state, &xv, &ybv, &mut xbv)?;
        for (o, v) in xbar.iter_mut().zip(xbv) {
            *o = S::cst(v);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Second order: the derivative integrals as rules again.

/// The tangent integrand `z = (x, p, v) ↦ ∂f/∂p(x, p) · v` (n = 2·n_params parameters), itself
/// generic over the scalar type, so that the jvp of a [`ParametricIntegral`] is again a
/// [`ParametricIntegral`] that every AD mode can differentiate.
struct TangentIntegrand<F> {
    f: Arc<F>,
    n_params: usize,
}

/// The adjoint integrand `z = (x, p, ȳ) ↦ (∂f/∂p(x, p))ᵀ ȳ` (n_params + m parameters,
/// n_params outputs); the vjp counterpart of [`TangentIntegrand`].
struct AdjointIntegrand<F> {
    f: Arc<F>,
    n_params: usize,
}

impl<F: VectorFunction> VectorFunction for TangentIntegrand<F> {
    fn output_len(&self) -> usize {
        self.f.output_len()
    }
    fn eval<T: Scalar>(&self, z: &[T], y: &mut [T]) {
        let np = self.n_params;
        let mut zz: Vec<Dual<1, T>> = Vec::with_capacity(1 + np);
        zz.push(Dual::constant(z[0]));
        for i in 0..np {
            zz.push(Dual::new(z[1 + i], [z[1 + np + i]]));
        }
        let mut yy = vec![Dual::<1, T>::default(); y.len()];
        self.f.eval(&zz, &mut yy);
        for (o, v) in y.iter_mut().zip(&yy) {
            *o = v.d[0];
        }
    }
}

impl<F: VectorFunction> VectorFunction for AdjointIntegrand<F> {
    fn output_len(&self) -> usize {
        self.n_params
    }
    fn eval<T: Scalar>(&self, z: &[T], y: &mut [T]) {
        let np = self.n_params;
        let m = self.f.output_len();
        let ybar = &z[1 + np..1 + np + m];
        let mut zz: Vec<Dual<1, T>> = Vec::with_capacity(1 + np);
        let mut yy = vec![Dual::<1, T>::default(); m];
        for (i, yi) in y.iter_mut().enumerate() {
            zz.clear();
            zz.push(Dual::constant(z[0]));
            for j in 0..np {
                let seed = if i == j { T::one() } else { T::zero() };
                zz.push(Dual::new(z[1 + j], [seed]));
            }
            self.f.eval(&zz, &mut yy);
            let mut s = T::zero();
            for (v, &w) in yy.iter().zip(ybar) {
                s += v.d[0] * w;
            }
            *yi = s;
        }
    }
}

impl<F: VectorFunction + Send + Sync + 'static> ParametricIntegral<F> {
    /// The same interval and algorithm with another integrand of `n_params` parameters, split at
    /// the primal's final partition (so the derived integral starts where the primal ended).
    fn derived<G: VectorFunction + Send + Sync + 'static>(
        &self,
        integrand: G,
        n_params: usize,
        state: &IntegralState,
    ) -> ParametricIntegral<G> {
        let inner = &state.partition[1..state.partition.len().saturating_sub(1)];
        let mut breakpoints = (*self.breakpoints).clone();
        breakpoints.extend(inner.iter().map(|&t| state.interval.map.x_jac(t).0));
        ParametricIntegral {
            integrand: Arc::new(integrand),
            n_params,
            lower: self.lower,
            upper: self.upper,
            breakpoints: Arc::new(breakpoints),
            alg: self.alg,
        }
    }

    /// `f(x_end, p)` on any scalar type; an error if its value is not finite.
    fn endpoint_generic<S: Scalar>(
        &self,
        end: S,
        p: &[S],
        out: &mut [S],
    ) -> Result<(), QuadratureError> {
        let mut z = Vec::with_capacity(1 + p.len());
        z.push(end);
        z.extend_from_slice(p);
        self.integrand.eval(&z, out);
        if let Some((c, v)) = out.iter().enumerate().find(|(_, v)| !v.value().is_finite()) {
            return Err(QuadratureError::NonFiniteIntegrand {
                x: vec![end.value()],
                component: c,
                value: v.value(),
            });
        }
        Ok(())
    }

    /// The jvp for any scalar type: the tangent integral as a rule (so that it is
    /// differentiated in turn), plus the endpoint terms on `S`.
    fn jvp_generic<S: Scalar>(
        &self,
        state: &IntegralState,
        x: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        let n = self.input_len();
        let m = self.output_len();
        let np = self.n_params;
        let k = dx.len().checked_div(n).unwrap_or(0);
        let tangent = self.derived(
            TangentIntegrand {
                f: Arc::clone(&self.integrand),
                n_params: np,
            },
            2 * np,
            state,
        );
        let mut inputs = Vec::with_capacity(tangent.input_len());
        let mut fv = vec![S::zero(); m];
        let (a, b) = self.endpoints(x);
        for j in 0..k {
            let d = &dx[j * n..(j + 1) * n];
            let out = &mut dy[j * m..(j + 1) * m];
            out.fill(S::zero());
            if d[..np].iter().any(|t| !t.is_all_zero()) {
                inputs.clear();
                inputs.extend_from_slice(&x[..np]);
                inputs.extend_from_slice(&d[..np]);
                inputs.extend_from_slice(&x[np..]);
                S::apply_rule(&tangent, &inputs, out)?;
            }
            for (index, end, sign) in [(self.lower_index(), a, -1.0), (self.upper_index(), b, 1.0)]
            {
                let Some(i) = index else { continue };
                if !end.value().is_finite() || d[i].is_all_zero() {
                    continue;
                }
                self.endpoint_generic(end, &x[..np], &mut fv)?;
                for (o, &f) in out.iter_mut().zip(&fv) {
                    *o += f * d[i] * sign;
                }
            }
        }
        Ok(())
    }

    /// The vjp for any scalar type: the adjoint integral as a rule, plus the endpoint terms.
    fn vjp_generic<S: Scalar>(
        &self,
        state: &IntegralState,
        x: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        let m = self.output_len();
        let np = self.n_params;
        if np > 0 && ybar.iter().any(|t| !t.is_all_zero()) {
            let adjoint = self.derived(
                AdjointIntegrand {
                    f: Arc::clone(&self.integrand),
                    n_params: np,
                },
                np + m,
                state,
            );
            let mut inputs = Vec::with_capacity(adjoint.input_len());
            inputs.extend_from_slice(&x[..np]);
            inputs.extend_from_slice(ybar);
            inputs.extend_from_slice(&x[np..]);
            let mut out = vec![S::zero(); np];
            S::apply_rule(&adjoint, &inputs, &mut out)?;
            for (xb, v) in xbar[..np].iter_mut().zip(out) {
                *xb += v;
            }
        }
        let (a, b) = self.endpoints(x);
        let mut fv = vec![S::zero(); m];
        for (index, end, sign) in [(self.lower_index(), a, -1.0), (self.upper_index(), b, 1.0)] {
            let Some(i) = index else { continue };
            if !end.value().is_finite() {
                continue;
            }
            self.endpoint_generic(end, &x[..np], &mut fv)?;
            let mut s = S::zero();
            for (&f, &w) in fv.iter().zip(ybar) {
                s += f * w;
            }
            xbar[i] += s * sign;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The prepared integrator.

/// Most parameters for which [`ParametricIntegrator::value_and_vjp`] integrates the value and
/// the parameter Jacobian in one pass (one `Dual<8>` evaluation per node still carries them).
pub const ONE_PASS_PARAMS: usize = 8;

/// A prepared [`ParametricIntegral`]: value, one-pass forward derivatives and reverse-mode
/// gradients with reused buffers (no allocation once warm).
///
/// ```
/// use tangent_ad::{AsVector, Dual, Scalar, scalar_fn};
/// use tangent_quadrature::{Endpoint, GaussKronrod, ParametricIntegral};
///
/// // P8's first integral: I(p) = ∫_0^1 exp(−p x²) cos(10 x) dx at p = 2.
/// let f = AsVector(scalar_fn!(|z| (-z[1] * z[0] * z[0]).exp() * (z[0] * 10.0).cos()));
/// let alg = GaussKronrod { rtol: 1e-10, ..Default::default() };
/// let integral = ParametricIntegral::new(f, 1, Endpoint::Fixed(0.0), Endpoint::Fixed(1.0), alg).unwrap();
/// let mut integrator = integral.integrator();
/// let mut out = [Dual::<1>::default()];
/// integrator.forward(&[Dual::variable(2.0, 0)], &mut out).unwrap();
/// assert!((out[0].v - -0.002146265214545982).abs() < 1e-15);
/// assert!((out[0].d[0] - 0.004749194907457723).abs() < 1e-14);
/// ```
#[derive(Debug)]
pub struct ParametricIntegrator<F> {
    problem: ParametricIntegral<F>,
    ws: Workspace,
    breaks: Vec<f64>,
    zbuf: Vec<f64>,
    pbuf: Vec<f64>,
    dirs: Vec<f64>,
    values: Vec<f64>,
    scratch: Scratch,
}

impl<F: VectorFunction + Send + Sync + 'static> ParametricIntegrator<F> {
    /// The integral being evaluated.
    pub fn problem(&self) -> &ParametricIntegral<F> {
        &self.problem
    }

    /// Writes `I(inputs)` to `out` (`inputs.len() == input_len()`, `out.len() == output_len()`).
    pub fn value(&mut self, inputs: &[f64], out: &mut [f64]) -> Result<Stats, QuadratureError> {
        let prob = &self.problem;
        prob.check_inputs(inputs.len())?;
        prob.check_outputs(out.len())?;
        let (a, b) = prob.endpoints(inputs);
        let (_, stats) = value_kernel(
            prob,
            &mut self.ws,
            &mut self.breaks,
            &mut self.zbuf,
            &inputs[..prob.n_params],
            a,
            b,
            out,
        )?;
        Ok(stats)
    }

    /// One adaptive pass over the `Dual<N>`-valued integrand: writes the integral and its `N`
    /// directional derivatives (along the inputs' partials) to `out`, with the value and every
    /// direction meeting the tolerance. Endpoint terms included. `Stats::error` is the value's.
    pub fn forward<const N: usize>(
        &mut self,
        inputs: &[Dual<N>],
        out: &mut [Dual<N>],
    ) -> Result<Stats, QuadratureError> {
        let prob = &self.problem;
        prob.check_inputs(inputs.len())?;
        prob.check_outputs(out.len())?;
        let np = prob.n_params;
        let m = prob.output_len();
        // p and the directions (direction j's parameter part at dirs[j*np..]).
        self.pbuf.clear();
        self.pbuf.extend(inputs[..np].iter().map(|v| v.v));
        self.dirs.clear();
        for j in 0..N {
            self.dirs.extend(inputs[..np].iter().map(|v| v.d[j]));
        }
        let (a, b) = prob.endpoints(inputs);
        let interval = Interval::new(a.v, b.v)?;
        set_breaks(&mut self.breaks, &interval, &prob.breakpoints)?;
        let outcome = tangent_kernel::<F, N>(
            prob,
            &mut self.ws,
            &interval,
            &self.breaks,
            self.scratch.get(),
            &self.pbuf,
            &self.dirs,
            np,
            N,
            true,
        )?;
        check_outcome(&self.ws, outcome)?;
        let total = self.ws.value();
        for (r, o) in out.iter_mut().enumerate() {
            o.v = interval.sign * total[r];
            for j in 0..N {
                o.d[j] = interval.sign * total[(1 + j) * m + r];
            }
        }
        let stats = Stats {
            error: self.ws.errors()[0],
            evaluations: self.ws.evaluations(),
            subdivisions: self.ws.pieces(),
        };
        // Endpoint terms f(b)·ḃ − f(a)·ȧ.
        for (end, sign) in [(a, -1.0), (b, 1.0)] {
            if !end.v.is_finite() || end.d.iter().all(|&t| t == 0.0) {
                continue;
            }
            self.values.clear();
            self.values.resize(m, 0.0);
            endpoint_value(
                &*prob.integrand,
                end.v,
                &self.pbuf,
                &mut self.zbuf,
                &mut self.values,
            )?;
            for (r, o) in out.iter_mut().enumerate() {
                for j in 0..N {
                    o.d[j] += sign * self.values[r] * end.d[j];
                }
            }
        }
        Ok(stats)
    }

    /// Reverse mode without a tape: writes `I(inputs)` to `out` and accumulates
    /// `(∂I/∂inputs)ᵀ ybar` into `xbar` (`ybar.len() == output_len()`,
    /// `xbar.len() == input_len()`).
    ///
    /// With at most [`ONE_PASS_PARAMS`] parameters the integrand runs on `Dual<n>` anyway (one
    /// evaluation per node gives the value and every partial), so the value and the parameter
    /// Jacobian `∂I/∂p` are integrated in one adaptive pass, as in
    /// [`forward`](Self::forward) (the value and each column meeting the tolerance), and
    /// contracted with `ybar`. With more parameters the value is integrated on `f64` first and
    /// the adjoint integral `∫ (∂f/∂p)ᵀ ȳ` starts from its final partition (`⌈n/8⌉`
    /// `Dual<8>` evaluations per node). Returns the statistics of the value (its error) with
    /// every evaluation counted.
    pub fn value_and_vjp(
        &mut self,
        inputs: &[f64],
        ybar: &[f64],
        out: &mut [f64],
        xbar: &mut [f64],
    ) -> Result<Stats, QuadratureError> {
        let prob = &self.problem;
        prob.check_inputs(inputs.len())?;
        prob.check_inputs(xbar.len())?;
        prob.check_outputs(out.len())?;
        prob.check_outputs(ybar.len())?;
        let np = prob.n_params;
        let m = prob.output_len();
        let (a, b) = prob.endpoints(inputs);
        let p = &inputs[..np];
        if (1..=ONE_PASS_PARAMS).contains(&np) && ybar.iter().any(|&v| v != 0.0) {
            // Unit directions: direction j's parameter part is e_j.
            self.dirs.clear();
            self.dirs.resize(np * np, 0.0);
            for j in 0..np {
                self.dirs[j * np + j] = 1.0;
            }
            let interval = Interval::new(a, b)?;
            set_breaks(&mut self.breaks, &interval, &prob.breakpoints)?;
            let outcome = tangent_dispatch(
                prob,
                &mut self.ws,
                &interval,
                &self.breaks,
                &mut self.scratch,
                p,
                &self.dirs,
                np,
                np,
                true,
            )?;
            check_outcome(&self.ws, outcome)?;
            let total = self.ws.value();
            for (o, t) in out.iter_mut().zip(&total[..m]) {
                *o = interval.sign * t;
            }
            for (j, xb) in xbar[..np].iter_mut().enumerate() {
                let column = &total[(1 + j) * m..(2 + j) * m];
                let dot: f64 = column.iter().zip(ybar).map(|(c, y)| c * y).sum();
                *xb += interval.sign * dot;
            }
            let stats = Stats {
                error: self.ws.errors()[0],
                evaluations: self.ws.evaluations(),
                subdivisions: self.ws.pieces(),
            };
            self.endpoint_adjoints(inputs, ybar, xbar)?;
            return Ok(stats);
        }
        let (interval, mut stats) = value_kernel(
            prob,
            &mut self.ws,
            &mut self.breaks,
            &mut self.zbuf,
            p,
            a,
            b,
            out,
        )?;
        if np > 0 && ybar.iter().any(|&v| v != 0.0) {
            let outcome = adjoint_dispatch(
                prob,
                &mut self.ws,
                &interval,
                &self.breaks,
                &mut self.scratch,
                p,
                ybar,
            )?;
            check_outcome(&self.ws, outcome)?;
            stats.evaluations += self.ws.evaluations();
            for (xb, v) in xbar[..np].iter_mut().zip(self.ws.value()) {
                *xb += interval.sign * v;
            }
        }
        self.endpoint_adjoints(inputs, ybar, xbar)?;
        Ok(stats)
    }

    /// Accumulates the endpoint terms `ā −= f(a)ᵀȳ`, `b̄ += f(b)ᵀȳ` into `xbar`.
    fn endpoint_adjoints(
        &mut self,
        inputs: &[f64],
        ybar: &[f64],
        xbar: &mut [f64],
    ) -> Result<(), QuadratureError> {
        let prob = &self.problem;
        let (a, b) = prob.endpoints(inputs);
        let p = &inputs[..prob.n_params];
        self.values.clear();
        self.values.resize(prob.output_len(), 0.0);
        for (index, end, sign) in [(prob.lower_index(), a, -1.0), (prob.upper_index(), b, 1.0)] {
            let Some(i) = index else { continue };
            if !end.is_finite() {
                continue;
            }
            endpoint_value(&*prob.integrand, end, p, &mut self.zbuf, &mut self.values)?;
            xbar[i] += sign
                * self
                    .values
                    .iter()
                    .zip(ybar)
                    .map(|(f, y)| f * y)
                    .sum::<f64>();
        }
        Ok(())
    }
}
