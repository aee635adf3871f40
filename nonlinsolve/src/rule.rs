//! The implicit-function-theorem rule: `u*(p)` defined by `F(u*(p), p) = 0` as a
//! [`tangent_ad::Rule`], differentiated through the factorisation of `J_u = ∂F/∂u` at the
//! solution, never through the iterations.
//!
//! # The derivatives
//!
//! Differentiating `F(u*(p), p) = 0` gives `J_u u̇ + J_p ṗ = 0` (Krantz & Parks, *The Implicit
//! Function Theorem*, 2002; the form used by NonlinearSolve.jl, CasADi's `rootfinder` and
//! JAX's `custom_root`), so
//!
//! * **forward** (jvp): `u̇ = −J_u⁻¹ (J_p ṗ)` — the `k` products `J_p ṗ_j` are directional
//!   derivatives of `F` in `p` (one forward-mode evaluation of `F` on `Dual<8>` per 8
//!   directions), then one solve with `k` right-hand sides on the factorisation of the primal;
//! * **reverse** (vjp): `J_uᵀ λ = ū` (one transposed solve on the same factorisation) and
//!   `p̄ −= J_pᵀ λ` — a vector–Jacobian product of `F` in `p` at `u*`: forward mode for up to
//!   [`FORWARD_PARAMETER_LIMIT`] parameters, otherwise one recording of `F` on the reverse-mode
//!   tape and one reverse sweep.
//!
//! The primal solves the nonlinear system (the algorithm and Jacobian method of its
//! [`NonlinearCache`]), evaluates `J_u` at the converged `u*` — not at the previous iterate, so
//! the derivative is exact up to the solve's tolerance — and factorises it into a linear-solver
//! cache that becomes the rule's state. States come from a small pool, so after the first
//! evaluation the symbolic analysis of a sparse `J_u` is never repeated. Sparse Jacobians
//! (coloured AD) and sparse LU are used throughout when the solver uses them.
//!
//! # Second order
//!
//! When the jvp or vjp runs on dual numbers (Hessians through the solve: forward over forward,
//! or forward over reverse on the tape), `u*`, `p` and the directions carry outer tangents and
//! the derivative formulas must be differentiated too. The rule then evaluates `J_u` and the
//! `J_p` products in that scalar type (forward mode on `Dual<8, S>`, with the colouring of the
//! sparse Jacobian) and writes the solves with `J_u` and `J_uᵀ` as
//! [`LinearSolveRule`]s of tangent-linsolve applied with
//! `S::apply_rule`, whose own rules differentiate them. This costs one extra factorisation of
//! `J_u` per second-order call; it never differentiates the nonlinear iterations.
//!
//! # Inputs and outputs
//!
//! Inputs: `p` (the problem's parameters, length `n_p`); outputs: `u*` (length `n`). Square
//! systems only (`m = n`).

use std::sync::{Arc, Mutex, OnceLock};

use sprs::CsMat;
use tangent_ad::{Dual, Rule, RuleError, Scalar, Tape, Var, is_f64};
use tangent_linsolve::{LinearAlgorithm, LinearCache, LinearProblem, LinearSolveRule};

use crate::algorithm::Algorithm;
use crate::cache::NonlinearCache;
use crate::error::NonlinsolveError;
use crate::jacobian::JacobianRef;
use crate::problem::{NonlinearFunction, NonlinearProblem};
use crate::solution::Stats;

/// Up to this many parameters the reverse rule computes `J_pᵀ λ` by forward mode (one
/// evaluation of `F` on `Dual<1>`, `Dual<4>` or `Dual<8>` per 1, 4 or 8 parameters); beyond, by one tape recording and one reverse
/// sweep (about five evaluations of `F`).
pub const FORWARD_PARAMETER_LIMIT: usize = 16;

/// Linear-solver caches kept for reuse by later primal evaluations.
const POOL_LIMIT: usize = 4;

/// Lanes of the forward-mode passes over `p`.
const LANES: usize = 8;

type Pool = Arc<Mutex<Vec<LinearCache>>>;

fn poisoned() -> RuleError {
    RuleError::Failed("a thread panicked while holding the nonlinear solver".into())
}

/// The factorisation of `J_u(u*)` that the primal leaves for the derivatives; returned to the
/// rule's pool when dropped.
pub struct ImplicitState {
    cache: Mutex<Option<LinearCache>>,
    pool: Pool,
    stats: Stats,
}

impl core::fmt::Debug for ImplicitState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ImplicitState")
            .field("stats", &self.stats)
            .finish()
    }
}

impl ImplicitState {
    /// Counters of the nonlinear solve that produced this state.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Runs `f` on the factorisation.
    fn with_cache<R>(
        &self,
        f: impl FnOnce(&mut LinearCache) -> Result<R, RuleError>,
    ) -> Result<R, RuleError> {
        let mut guard = self.cache.lock().map_err(|_| poisoned())?;
        match guard.as_mut() {
            Some(c) => f(c),
            None => Err(RuleError::Failed(
                "implicit state without factorisation".into(),
            )),
        }
    }
}

impl Drop for ImplicitState {
    fn drop(&mut self) {
        let cache = match self.cache.get_mut() {
            Ok(c) => c.take(),
            Err(p) => p.into_inner().take(),
        };
        if let (Some(c), Ok(mut pool)) = (cache, self.pool.lock())
            && pool.len() < POOL_LIMIT
        {
            pool.push(c);
        }
    }
}

/// The structure the second-order paths need, built at their first use.
struct SecondOrder {
    /// `J_u` (CSC; dense: all entries, column-major).
    indptr: Vec<usize>,
    indices: Vec<usize>,
    /// Column colours and their number (dense: each column its own colour).
    colors: Vec<u32>,
    n_colors: usize,
    /// `J_u⁻¹` and `J_u⁻ᵀ` as linear-solve rules (values of `J_u` in CSC order; for the
    /// transpose, permuted by `transpose_perm`).
    solve: LinearSolveRule,
    solve_transpose: LinearSolveRule,
    transpose_perm: Vec<usize>,
}

struct Inner<F> {
    f: F,
    solver: Mutex<NonlinearCache<F>>,
    u0: Vec<f64>,
    n: usize,
    n_params: usize,
    linear_solver: LinearAlgorithm,
    warm_start: bool,
    pool: Pool,
    second: OnceLock<Result<SecondOrder, RuleError>>,
}

/// `u*(p)`, the solution of `F(u, p) = 0`, as a differentiation rule; see the
/// [module docs](self).
///
/// ```
/// use tangent_ad::{Scalar, ScalarFunction};
/// use tangent_ad::operators::{Reverse, gradient};
/// use tangent_nonlinsolve::{ImplicitSolveRule, NonlinearFunction, NonlinearProblem, Algorithm};
///
/// /// u³ + u − p = 0: u*(p) is increasing, du*/dp = 1 / (3u*² + 1).
/// #[derive(Clone)]
/// struct Cubic;
/// impl NonlinearFunction for Cubic {
///     fn residual<S: Scalar>(&self, u: &[S], p: &[S], r: &mut [S]) {
///         r[0] = u[0] * u[0] * u[0] + u[0] - p[0];
///     }
/// }
/// let rule = ImplicitSolveRule::new(
///     &NonlinearProblem::new(Cubic, vec![0.0], vec![2.0]),
///     &Algorithm::default(),
/// ).unwrap();
///
/// // L(p) = u*(p)²: dL/dp = 2 u* / (3u*² + 1); at p = 2, u* = 1.
/// struct Loss(ImplicitSolveRule<Cubic>);
/// impl ScalarFunction for Loss {
///     fn eval<S: Scalar>(&self, p: &[S]) -> S {
///         let mut u = [S::zero()];
///         self.0.solve(p, &mut u).unwrap();
///         u[0] * u[0]
///     }
/// }
/// let mut g = [0.0];
/// gradient(&Loss(rule), &Reverse, &[2.0], &mut g).unwrap();
/// assert!((g[0] - 0.5).abs() < 1e-12);
/// ```
pub struct ImplicitSolveRule<F> {
    inner: Arc<Inner<F>>,
}

impl<F> Clone for ImplicitSolveRule<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F> core::fmt::Debug for ImplicitSolveRule<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ImplicitSolveRule")
            .field("n", &self.inner.n)
            .field("n_params", &self.inner.n_params)
            .field("warm_start", &self.inner.warm_start)
            .finish()
    }
}

impl<F: NonlinearFunction + Clone + Send + Sync + 'static> ImplicitSolveRule<F> {
    /// The rule for `problem` (square), solved by `algorithm` from the problem's `u₀` at every
    /// primal evaluation. The solver is initialised here (Jacobian preparation, sparsity
    /// detection and colouring, symbolic analysis).
    ///
    /// # Errors
    /// [`NonlinsolveError::NotSquare`] for a least-squares problem, and those of
    /// [`init`](crate::init).
    pub fn new(
        problem: &NonlinearProblem<F>,
        algorithm: &Algorithm,
    ) -> Result<Self, NonlinsolveError> {
        let (n, m) = (problem.n_unknowns(), problem.n_residuals());
        if m != n {
            return Err(NonlinsolveError::NotSquare {
                algorithm: "the implicit-function rule",
                m,
                n,
            });
        }
        let solver = NonlinearCache::build(
            problem.f.clone(),
            &problem.u0,
            &problem.p,
            problem.options,
            algorithm,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                f: problem.f.clone(),
                solver: Mutex::new(solver),
                u0: problem.u0.clone(),
                n,
                n_params: problem.p.len(),
                linear_solver: LinearAlgorithm::Auto,
                warm_start: false,
                pool: Arc::new(Mutex::new(Vec::new())),
                second: OnceLock::new(),
            }),
        })
    }

    fn rebuild(self, edit: impl FnOnce(&mut Inner<F>)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                edit(&mut inner);
                Self {
                    inner: Arc::new(inner),
                }
            }
            // Shared already: keep the rule as it is (builders are meant for fresh rules).
            Err(inner) => Self { inner },
        }
    }

    /// Starts each primal solve from the previous solution instead of `u₀` (continuation: faster
    /// for nearby parameters; the result then depends on the call history within the solve's
    /// tolerance). Call on a freshly built rule.
    pub fn with_warm_start(self, warm: bool) -> Self {
        self.rebuild(|i| i.warm_start = warm)
    }

    /// The linear solver of the derivative solves with `J_u(u*)` (default: chosen by
    /// tangent-linsolve — sparse LU for a sparse `J_u`, dense LU otherwise). Direct methods
    /// only. Call on a freshly built rule.
    pub fn with_linear_solver(self, alg: LinearAlgorithm) -> Self {
        self.rebuild(|i| i.linear_solver = alg)
    }

    /// Unknowns `n` (outputs).
    pub fn n(&self) -> usize {
        self.inner.n
    }

    /// Parameters `n_p` (inputs).
    pub fn n_params(&self) -> usize {
        self.inner.n_params
    }

    /// Counters of the last nonlinear solve.
    pub fn last_stats(&self) -> Result<Stats, RuleError> {
        Ok(*self.inner.solver.lock().map_err(|_| poisoned())?.stats())
    }

    /// `u = u*(p)` in any scalar type (`p.len() == n_p`, `u.len() == n`): `S::apply_rule`.
    pub fn solve<S: Scalar>(&self, p: &[S], u: &mut [S]) -> Result<(), RuleError> {
        S::apply_rule(self, p, u)
    }

    /// `J_p · dir` for `k = dirs.len() / n_p` directions at `(u, p)`, written to `out`
    /// (`n · k`), in `f64`: forward mode, `L` directions per evaluation.
    fn param_jvp<const L: usize>(&self, u: &[f64], p: &[f64], dirs: &[f64], out: &mut [f64]) {
        let (n, np) = (self.inner.n, self.inner.n_params);
        let k = dirs.len() / np.max(1);
        let ud: Vec<Dual<L>> = u.iter().map(|&v| Dual::constant(v)).collect();
        let mut pd = vec![Dual::<L>::default(); np];
        let mut rd = vec![Dual::<L>::default(); n];
        for j0 in (0..k).step_by(L) {
            let j1 = (j0 + L).min(k);
            for (l, x) in pd.iter_mut().enumerate() {
                *x = Dual::constant(p[l]);
                for j in j0..j1 {
                    x.d[j - j0] = dirs[j * np + l];
                }
            }
            self.inner.f.residual(&ud, &pd, &mut rd);
            for j in j0..j1 {
                for (o, r) in out[j * n..(j + 1) * n].iter_mut().zip(&rd) {
                    *o = r.d[j - j0];
                }
            }
        }
    }

    /// `pbar −= J_pᵀ λ` at `(u, p)` by forward mode, `L` parameters per evaluation.
    fn param_vjp_forward<const L: usize>(
        &self,
        u: &[f64],
        p: &[f64],
        lambda: &[f64],
        pbar: &mut [f64],
    ) {
        let (n, np) = (self.inner.n, self.inner.n_params);
        let ud: Vec<Dual<L>> = u.iter().map(|&v| Dual::constant(v)).collect();
        let mut pd: Vec<Dual<L>> = p.iter().map(|&v| Dual::constant(v)).collect();
        let mut rd = vec![Dual::<L>::default(); n];
        for l0 in (0..np).step_by(L) {
            let l1 = (l0 + L).min(np);
            for (l, x) in pd.iter_mut().enumerate() {
                *x = Dual::variable(p[l], l.wrapping_sub(l0));
            }
            self.inner.f.residual(&ud, &pd, &mut rd);
            for (lane, o) in pbar[l0..l1].iter_mut().enumerate() {
                let s: f64 = rd.iter().zip(lambda).map(|(r, lam)| r.d[lane] * lam).sum();
                *o -= s;
            }
        }
    }

    /// `pbar −= J_pᵀ λ` at `(u, p)`, in `f64`.
    fn param_vjp(
        &self,
        u: &[f64],
        p: &[f64],
        lambda: &[f64],
        pbar: &mut [f64],
    ) -> Result<(), RuleError> {
        let (n, np) = (self.inner.n, self.inner.n_params);
        match np {
            1 => {
                self.param_vjp_forward::<1>(u, p, lambda, pbar);
                return Ok(());
            }
            2..=4 => {
                self.param_vjp_forward::<4>(u, p, lambda, pbar);
                return Ok(());
            }
            5..=FORWARD_PARAMETER_LIMIT => {
                self.param_vjp_forward::<LANES>(u, p, lambda, pbar);
                return Ok(());
            }
            _ => {}
        }
        let mut tape = Tape::new();
        let r = tape.record(p, |pv| {
            let uv: Vec<Var> = u.iter().map(|&v| Var::from(v)).collect();
            let mut rv = vec![Var::default(); n];
            self.inner.f.residual(&uv, pv, &mut rv);
            rv
        });
        let mut g = vec![0.0; np];
        tape.vjp(&r, lambda, &mut g)
            .map_err(|e| RuleError::Failed(format!("J_pᵀλ on the tape: {e}")))?;
        for (o, gi) in pbar.iter_mut().zip(g) {
            *o -= gi;
        }
        Ok(())
    }

    /// The second-order structure, built at its first use.
    fn second_order(&self) -> Result<&SecondOrder, RuleError> {
        self.inner
            .second
            .get_or_init(|| self.build_second_order())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn build_second_order(&self) -> Result<SecondOrder, RuleError> {
        let n = self.inner.n;
        let solver = self.inner.solver.lock().map_err(|_| poisoned())?;
        let colors_sparse = solver.jacobian_column_colors().map(<[u32]>::to_vec);
        match (solver.jacobian_ref(), colors_sparse) {
            (JacobianRef::Sparse(a), Some(colors)) => {
                let pattern: CsMat<f64> = a.map(|_| 0.0);
                let n_colors = colors.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
                // Position of each entry of Jᵀ (CSC) in J's CSC values.
                let numbered = CsMat::new_csc(
                    (n, n),
                    pattern.indptr().raw_storage().to_vec(),
                    pattern.indices().to_vec(),
                    (0..pattern.nnz()).map(|p| p as f64).collect(),
                );
                let transposed = numbered.transpose_view().to_other_storage();
                let transpose_perm = transposed.data().iter().map(|&v| v as usize).collect();
                let transposed_pattern = transposed.map(|_| 0.0);
                Ok(SecondOrder {
                    indptr: pattern.indptr().raw_storage().to_vec(),
                    indices: pattern.indices().to_vec(),
                    colors,
                    n_colors,
                    solve: LinearSolveRule::sparse(&pattern)?,
                    solve_transpose: LinearSolveRule::sparse(&transposed_pattern)?,
                    transpose_perm,
                })
            }
            (JacobianRef::Sparse(_), None) => Err(RuleError::Unsupported(
                "second derivatives with a user-supplied sparse Jacobian",
            )),
            (JacobianRef::Dense { .. }, _) => {
                // Dense: every entry, column-major; the transpose permutes (i, j) ↦ (j, i).
                let indptr = (0..=n).map(|j| j * n).collect();
                let indices = (0..n * n).map(|p| p % n).collect();
                let transpose_perm = (0..n * n).map(|q| (q % n) * n + q / n).collect();
                Ok(SecondOrder {
                    indptr,
                    indices,
                    colors: (0..n as u32).collect(),
                    n_colors: n,
                    solve: LinearSolveRule::dense(n),
                    solve_transpose: LinearSolveRule::dense(n),
                    transpose_perm,
                })
            }
        }
    }

    /// The values of `J_u(u, p)` in `S` (CSC order of the second-order structure), by
    /// compressed forward mode on `Dual<8, S>`.
    fn jacobian_in<S: Scalar>(&self, so: &SecondOrder, u: &[S], p: &[S]) -> Vec<S> {
        let n = self.inner.n;
        let mut values = vec![S::zero(); so.indices.len()];
        let pd: Vec<Dual<LANES, S>> = p.iter().map(|&v| Dual::constant(v)).collect();
        let mut ud: Vec<Dual<LANES, S>> = vec![Dual::default(); n];
        let mut rd: Vec<Dual<LANES, S>> = vec![Dual::default(); n];
        for c0 in (0..so.n_colors).step_by(LANES) {
            for ((x, &v), &c) in ud.iter_mut().zip(u).zip(&so.colors) {
                *x = Dual::constant(v);
                if let Some(lane) = (c as usize).checked_sub(c0).filter(|&l| l < LANES) {
                    x.d[lane] = S::one();
                }
            }
            self.inner.f.residual(&ud, &pd, &mut rd);
            for (j, &c) in so.colors.iter().enumerate() {
                if let Some(lane) = (c as usize).checked_sub(c0).filter(|&l| l < LANES) {
                    for q in so.indptr[j]..so.indptr[j + 1] {
                        values[q] = rd[so.indices[q]].d[lane];
                    }
                }
            }
        }
        values
    }

    /// Second-order jvp: `u̇ = −J_u⁻¹ J_p ṗ` with everything in `S`.
    fn jvp_general<S: Scalar>(
        &self,
        p: &[S],
        u: &[S],
        dp: &[S],
        du: &mut [S],
    ) -> Result<(), RuleError> {
        let (n, np) = (self.inner.n, self.inner.n_params);
        let so = self.second_order()?;
        let k = dp.len() / np.max(1);
        // W = J_p ṗ (n × k), one Dual<1, S> evaluation per direction.
        let ud: Vec<Dual<1, S>> = u.iter().map(|&v| Dual::constant(v)).collect();
        let mut pd: Vec<Dual<1, S>> = vec![Dual::default(); np];
        let mut rd: Vec<Dual<1, S>> = vec![Dual::default(); n];
        let mut input = self.jacobian_in(so, u, p);
        let nv = input.len();
        input.resize(nv + n * k, S::zero());
        for j in 0..k {
            for (l, x) in pd.iter_mut().enumerate() {
                *x = Dual::new(p[l], [dp[j * np + l]]);
            }
            self.inner.f.residual(&ud, &pd, &mut rd);
            for (o, r) in input[nv + j * n..nv + (j + 1) * n].iter_mut().zip(&rd) {
                *o = r.d[0];
            }
        }
        let rule = so.solve.clone().with_rhs(k);
        S::apply_rule(&rule, &input, du)?;
        for v in du.iter_mut() {
            *v = -*v;
        }
        Ok(())
    }

    /// Second-order vjp: `J_uᵀ λ = ū`, `p̄ −= J_pᵀ λ` with everything in `S`.
    fn vjp_general<S: Scalar>(
        &self,
        p: &[S],
        u: &[S],
        ubar: &[S],
        pbar: &mut [S],
    ) -> Result<(), RuleError> {
        let (n, np) = (self.inner.n, self.inner.n_params);
        let so = self.second_order()?;
        let values = self.jacobian_in(so, u, p);
        let mut input: Vec<S> = so.transpose_perm.iter().map(|&q| values[q]).collect();
        input.extend_from_slice(ubar);
        let mut lambda = vec![S::zero(); n];
        S::apply_rule(&so.solve_transpose, &input, &mut lambda)?;
        // J_pᵀ λ by forward mode over p, LANES parameters per evaluation.
        let ud: Vec<Dual<LANES, S>> = u.iter().map(|&v| Dual::constant(v)).collect();
        let mut pd: Vec<Dual<LANES, S>> = vec![Dual::default(); np];
        let mut rd: Vec<Dual<LANES, S>> = vec![Dual::default(); n];
        for l0 in (0..np).step_by(LANES) {
            let l1 = (l0 + LANES).min(np);
            for (l, x) in pd.iter_mut().enumerate() {
                *x = Dual::constant(p[l]);
                if (l0..l1).contains(&l) {
                    x.d[l - l0] = S::one();
                }
            }
            self.inner.f.residual(&ud, &pd, &mut rd);
            for (lane, o) in pbar[l0..l1].iter_mut().enumerate() {
                let mut s = S::zero();
                for (r, &lam) in rd.iter().zip(&lambda) {
                    s += r.d[lane] * lam;
                }
                *o -= s;
            }
        }
        Ok(())
    }
}

impl<F: NonlinearFunction + Clone + Send + Sync + 'static> Rule for ImplicitSolveRule<F> {
    type State = ImplicitState;

    fn n_inputs(&self) -> usize {
        self.inner.n_params
    }

    fn n_outputs(&self) -> usize {
        self.inner.n
    }

    fn primal(&self, p: &[f64], u: &mut [f64]) -> Result<ImplicitState, RuleError> {
        let inner = &*self.inner;
        let mut solver = inner.solver.lock().map_err(|_| poisoned())?;
        solver.set_parameters(p)?;
        if inner.warm_start && solver.residual_norm().is_finite() {
            let last = solver.u().to_vec();
            solver.set_initial_guess(&last)?;
        } else {
            solver.set_initial_guess(&inner.u0)?;
        }
        let summary = solver.solve();
        if summary.is_err() {
            // A failed solve must not seed the next warm start.
            solver.norm = f64::NAN;
        }
        let summary = summary?;
        u.copy_from_slice(solver.u());
        let jac = solver.jacobian_at_solution()?;
        let pooled = inner.pool.lock().map_err(|_| poisoned())?.pop();
        let mut cache = match pooled {
            Some(c) => c,
            None => tangent_linsolve::init(
                &LinearProblem::new(jac.to_matrix()?, vec![0.0; inner.n]),
                &inner.linear_solver,
            )?,
        };
        cache.set_values(jac.values())?;
        cache.factorize()?;
        Ok(ImplicitState {
            cache: Mutex::new(Some(cache)),
            pool: inner.pool.clone(),
            stats: summary.stats,
        })
    }

    /// `u̇ = −J_u⁻¹ (J_p ṗ)` for all directions in one multi-right-hand-side solve.
    fn jvp<S: Scalar>(
        &self,
        state: &ImplicitState,
        x: &[S],
        y: &[S],
        dx: &[S],
        dy: &mut [S],
    ) -> Result<(), RuleError> {
        let (n, np) = (self.inner.n, self.inner.n_params);
        if np == 0 || n == 0 {
            dy.fill(S::zero());
            return Ok(());
        }
        if !is_f64::<S>() {
            return self.jvp_general(x, y, dx, dy);
        }
        let to_f64 = |v: &[S]| v.iter().map(Scalar::value).collect::<Vec<f64>>();
        let (p, u, dirs) = (to_f64(x), to_f64(y), to_f64(dx));
        let mut rhs = vec![0.0; dy.len()];
        match dy.len() / n {
            1 => self.param_jvp::<1>(&u, &p, &dirs, &mut rhs),
            2..=4 => self.param_jvp::<4>(&u, &p, &dirs, &mut rhs),
            _ => self.param_jvp::<LANES>(&u, &p, &dirs, &mut rhs),
        }
        state.with_cache(|c| {
            c.solve_in_place(&mut rhs)?;
            Ok(())
        })?;
        for (o, v) in dy.iter_mut().zip(rhs) {
            *o = S::cst(-v);
        }
        Ok(())
    }

    /// `J_uᵀ λ = ū`, `p̄ −= J_pᵀ λ`.
    fn vjp<S: Scalar>(
        &self,
        state: &ImplicitState,
        x: &[S],
        y: &[S],
        ybar: &[S],
        xbar: &mut [S],
    ) -> Result<(), RuleError> {
        let (n, np) = (self.inner.n, self.inner.n_params);
        if np == 0 || n == 0 {
            return Ok(());
        }
        if !is_f64::<S>() {
            return self.vjp_general(x, y, ybar, xbar);
        }
        let to_f64 = |v: &[S]| v.iter().map(Scalar::value).collect::<Vec<f64>>();
        let (p, u) = (to_f64(x), to_f64(y));
        let mut lambda = to_f64(ybar);
        state.with_cache(|c| {
            c.solve_transpose_in_place(&mut lambda)?;
            Ok(())
        })?;
        let mut pbar = to_f64(xbar);
        self.param_vjp(&u, &p, &lambda, &mut pbar)?;
        for (o, v) in xbar.iter_mut().zip(pbar) {
            *o = S::cst(v);
        }
        Ok(())
    }
}
