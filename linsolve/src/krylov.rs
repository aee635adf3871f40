//! Krylov methods — CG, restarted GMRES, BiCGStab — and their preconditioners (Jacobi, ILU(0),
//! or the user's).
//!
//! All three start from `x₀ = 0`, stop when `‖b − A x‖₂ ≤ max(rtol ‖b‖₂, atol)`
//! ([`KrylovTolerances`]), record the residual norm after every iteration, and report
//! non-convergence as [`LinsolveError::NotConverged`] carrying that history. Every vector they
//! use lives in a workspace sized at `init`, so repeated solves allocate nothing.
//!
//! * **CG** (Hestenes & Stiefel 1952; preconditioned form of Golub & Van Loan, *Matrix
//!   Computations*, 4th ed., Alg. 11.5.1): minimises the `A`-norm of the error over the Krylov
//!   space of `M⁻¹A`; needs `A` and `M` symmetric positive definite. A non-positive curvature
//!   `pᵀAp ≤ 0` is reported as a [`LinsolveError::Breakdown`].
//! * **GMRES(m)** (Saad & Schultz 1986; Saad, *Iterative Methods for Sparse Linear Systems*,
//!   2nd ed., Alg. 9.5): minimises `‖b − A x‖₂` over the Krylov space of `A M⁻¹` (right
//!   preconditioning, so the monitored residual is the true one) with modified Gram–Schmidt and
//!   Givens rotations; restarts after `m` steps from the true residual.
//! * **BiCGStab** (van der Vorst 1992; right-preconditioned form of Barrett et al., *Templates
//!   for the Solution of Linear Systems*, 1994, Fig. 2.10): short recurrences for nonsymmetric
//!   `A`; a vanishing `ρ = r̂ᵀr`, `r̂ᵀv` or `ω` is a breakdown.
//!
//! # Preconditioners
//!
//! * **Jacobi**: `M = diag(A)`.
//! * **ILU(0)**: incomplete LU with the sparsity pattern of `A` (Saad, Alg. 10.4, IKJ variant on
//!   a CSR copy of the pattern): `M = L̃ Ũ` with `(L̃ Ũ)ᵢⱼ = Aᵢⱼ` on the pattern. Needs every
//!   diagonal entry in the pattern; a zero pivot is reported with its row.
//! * **Custom**: any [`PreconditionerOp`] (`z ≈ A⁻¹ r`).

use std::sync::Arc;

use faer::MatRef;

use crate::algorithm::KrylovTolerances;
use crate::error::LinsolveError;
use crate::matrix::{CscPattern, LinearOperator};

/// A user preconditioner: `z = M⁻¹ r` for some `M ≈ A`.
pub trait PreconditionerOp: Send + Sync {
    /// `z = M⁻¹ r` (`r.len() == z.len() == n`; overwrite `z`).
    fn apply(&self, r: &[f64], z: &mut [f64]);
    /// `z = M⁻ᵀ r`, for transpose solves; the default reports it unsupported.
    fn apply_transpose(&self, r: &[f64], z: &mut [f64]) -> Result<(), LinsolveError> {
        let _ = (r, z);
        Err(LinsolveError::Unsupported {
            algorithm: "this preconditioner",
            what: "transpose application",
        })
    }
}

/// The preconditioner of a Krylov method.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Preconditioner {
    /// None (`M = I`).
    #[default]
    None,
    /// `M = diag(A)` (dense and sparse matrices).
    Jacobi,
    /// Incomplete LU with zero fill (sparse matrices with a full diagonal in the pattern).
    Ilu0,
    /// The user's.
    Custom(Arc<dyn PreconditionerOp>),
}

impl core::fmt::Debug for Preconditioner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Preconditioner::None => "None",
            Preconditioner::Jacobi => "Jacobi",
            Preconditioner::Ilu0 => "Ilu0",
            Preconditioner::Custom(_) => "Custom(..)",
        })
    }
}

/// `NONE` marker of the ILU work array.
const NONE: usize = usize::MAX;

/// ILU(0) on a CSR copy of the pattern.
#[derive(Debug, Clone)]
pub(crate) struct Ilu0 {
    n: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<usize>,
    /// CSR position of each CSC entry.
    from_csc: Vec<usize>,
    diag: Vec<usize>,
    values: Vec<f64>,
    /// `1 / Ũᵢᵢ`: the triangular sweeps multiply (a division's latency would sit on the
    /// sweeps' dependency chain).
    inv_diag: Vec<f64>,
    marker: Vec<usize>,
}

impl Ilu0 {
    pub(crate) fn new(p: &CscPattern) -> Result<Self, LinsolveError> {
        let n = p.nrows;
        let nnz = p.nnz();
        let mut row_ptr = vec![0usize; n + 1];
        for &i in &p.row_idx {
            row_ptr[i + 1] += 1;
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr.clone();
        let mut col_idx = vec![0usize; nnz];
        let mut from_csc = vec![0usize; nnz];
        for j in 0..p.ncols {
            let range = p.col_ptr[j]..p.col_ptr[j + 1];
            for (&i, slot) in p.row_idx[range.clone()].iter().zip(&mut from_csc[range]) {
                col_idx[next[i]] = j;
                *slot = next[i];
                next[i] += 1;
            }
        }
        let mut diag = vec![0usize; n];
        for (i, d) in diag.iter_mut().enumerate() {
            let row = &col_idx[row_ptr[i]..row_ptr[i + 1]];
            *d = row_ptr[i]
                + row
                    .binary_search(&i)
                    .map_err(|_| LinsolveError::InvalidSparse {
                        what: "ILU(0) needs every diagonal entry in the pattern; missing in row",
                        index: i,
                    })?;
        }
        Ok(Self {
            n,
            row_ptr,
            col_idx,
            from_csc,
            diag,
            values: vec![0.0; nnz],
            inv_diag: vec![0.0; n],
            marker: vec![NONE; n],
        })
    }

    /// Factorises the matrix with CSC values `csc` (Saad, Alg. 10.4).
    pub(crate) fn factor(&mut self, csc: &[f64]) -> Result<(), LinsolveError> {
        for (&q, &v) in self.from_csc.iter().zip(csc) {
            self.values[q] = v;
        }
        let a = &mut self.values;
        for i in 0..self.n {
            let (s, e) = (self.row_ptr[i], self.row_ptr[i + 1]);
            for p in s..e {
                self.marker[self.col_idx[p]] = p;
            }
            for p in s..self.diag[i] {
                let k = self.col_idx[p];
                let lik = a[p] * self.inv_diag[k];
                a[p] = lik;
                for q in self.diag[k] + 1..self.row_ptr[k + 1] {
                    let m = self.marker[self.col_idx[q]];
                    if m != NONE {
                        a[m] -= lik * a[q];
                    }
                }
            }
            for p in s..e {
                self.marker[self.col_idx[p]] = NONE;
            }
            let d = a[self.diag[i]];
            if d == 0.0 || !d.is_finite() {
                return Err(LinsolveError::Singular { pivot: i });
            }
            self.inv_diag[i] = 1.0 / d;
        }
        Ok(())
    }

    /// `z = (L̃Ũ)⁻¹ r` or, transposed, `z = (L̃Ũ)⁻ᵀ r`.
    fn apply(&self, transpose: bool, r: &[f64], z: &mut [f64]) {
        let (a, cols) = (&self.values, &self.col_idx);
        // Row i's strictly lower part is `l(i)`, its strictly upper part `u(i)`.
        let l = |i: usize| self.row_ptr[i]..self.diag[i];
        let u = |i: usize| self.diag[i] + 1..self.row_ptr[i + 1];
        z.copy_from_slice(r);
        if !transpose {
            for i in 0..self.n {
                let mut s = z[i];
                for (&v, &c) in a[l(i)].iter().zip(&cols[l(i)]) {
                    s -= v * z[c];
                }
                z[i] = s;
            }
            for i in (0..self.n).rev() {
                let mut s = z[i];
                for (&v, &c) in a[u(i)].iter().zip(&cols[u(i)]) {
                    s -= v * z[c];
                }
                z[i] = s * self.inv_diag[i];
            }
        } else {
            // Ũᵀ w = r (forward, by rows of Ũ), then L̃ᵀ z = w (backward).
            for i in 0..self.n {
                let wi = z[i] * self.inv_diag[i];
                z[i] = wi;
                for (&v, &c) in a[u(i)].iter().zip(&cols[u(i)]) {
                    z[c] -= v * wi;
                }
            }
            for i in (0..self.n).rev() {
                let zi = z[i];
                for (&v, &c) in a[l(i)].iter().zip(&cols[l(i)]) {
                    z[c] -= v * zi;
                }
            }
        }
    }
}

/// The preconditioner a cache holds, built from the matrix.
#[derive(Clone)]
pub(crate) enum PrecondState {
    None,
    Jacobi(Vec<f64>),
    Ilu0(Box<Ilu0>),
    Custom(Arc<dyn PreconditionerOp>),
}

impl PrecondState {
    /// `z = M⁻¹ r` (or `M⁻ᵀ r`).
    pub(crate) fn apply(
        &self,
        transpose: bool,
        r: &[f64],
        z: &mut [f64],
    ) -> Result<(), LinsolveError> {
        match self {
            PrecondState::None => z.copy_from_slice(r),
            PrecondState::Jacobi(inv) => {
                for ((zi, ri), di) in z.iter_mut().zip(r).zip(inv) {
                    *zi = ri * di;
                }
            }
            PrecondState::Ilu0(ilu) => ilu.apply(transpose, r, z),
            PrecondState::Custom(p) => {
                if transpose {
                    p.apply_transpose(r, z)?;
                } else {
                    p.apply(r, z);
                }
            }
        }
        Ok(())
    }
}

/// Inverse diagonal for Jacobi, with a zero diagonal entry reported by row.
pub(crate) fn jacobi_inverse(
    diag: impl Iterator<Item = f64>,
    inv: &mut [f64],
) -> Result<(), LinsolveError> {
    for (i, (d, o)) in diag.zip(inv.iter_mut()).enumerate() {
        if d == 0.0 {
            return Err(LinsolveError::Singular { pivot: i });
        }
        *o = 1.0 / d;
    }
    Ok(())
}

/// The matrix a Krylov method multiplies with.
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    Dense(MatRef<'a, f64>),
    Sparse(&'a CscPattern, &'a [f64]),
    Operator(&'a dyn LinearOperator),
}

impl Op<'_> {
    /// `y = A x` (or `Aᵀ x`).
    fn apply(&self, transpose: bool, x: &[f64], y: &mut [f64]) -> Result<(), LinsolveError> {
        match *self {
            Op::Dense(a) => {
                if transpose {
                    for (j, yj) in y.iter_mut().enumerate() {
                        let col = a.col(j);
                        *yj = (0..a.nrows()).map(|i| col[i] * x[i]).sum();
                    }
                } else {
                    y.fill(0.0);
                    for (j, &xj) in x.iter().enumerate() {
                        let col = a.col(j);
                        for (i, yi) in y.iter_mut().enumerate() {
                            *yi += col[i] * xj;
                        }
                    }
                }
            }
            Op::Sparse(p, v) => {
                if transpose {
                    p.mul_transpose(v, x, y)
                } else {
                    p.mul(v, x, y)
                }
            }
            Op::Operator(op) => {
                if transpose {
                    op.apply_transpose(x, y)?
                } else {
                    op.apply(x, y)
                }
            }
        }
        Ok(())
    }
}

/// Which Krylov method, with its parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Method {
    Cg,
    Gmres { restart: usize },
    BiCgStab,
}

/// Vectors and the residual history of a Krylov method, allocated once.
#[derive(Debug, Clone)]
pub(crate) struct KrylovWorkspace {
    n: usize,
    vecs: Vec<f64>,
    /// GMRES: basis (n × (m+1)), Hessenberg ((m+1) × m), rotations, right-hand side.
    basis: Vec<f64>,
    hess: Vec<f64>,
    cs: Vec<f64>,
    sn: Vec<f64>,
    g: Vec<f64>,
    pub(crate) history: Vec<f64>,
}

impl KrylovWorkspace {
    pub(crate) fn new(method: Method, n: usize, tol: &KrylovTolerances) -> Self {
        let (nvec, m) = match method {
            Method::Cg => (4, 0),
            Method::BiCgStab => (8, 0),
            Method::Gmres { restart } => (3, restart.max(1)),
        };
        Self {
            n,
            vecs: vec![0.0; nvec * n],
            basis: vec![0.0; n * (m + 1)],
            hess: vec![0.0; (m + 1) * m],
            cs: vec![0.0; m],
            sn: vec![0.0; m],
            g: vec![0.0; m + 1],
            history: Vec::with_capacity(tol.max_iterations + 2),
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// What a converged Krylov solve reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KrylovOutcome {
    pub(crate) iterations: usize,
    pub(crate) residual: f64,
}

/// Solves `A x = b` (or `Aᵀ x = b`) from `x₀ = 0`; the history is left in `ws.history`.
#[allow(clippy::too_many_arguments)] // internal: the method's full state, passed once per solve
pub(crate) fn solve(
    method: Method,
    op: Op<'_>,
    precond: &PrecondState,
    transpose: bool,
    tol: &KrylovTolerances,
    b: &[f64],
    x: &mut [f64],
    ws: &mut KrylovWorkspace,
) -> Result<KrylovOutcome, LinsolveError> {
    ws.history.clear();
    x.fill(0.0);
    let bnorm = norm(b);
    let target = (tol.rtol * bnorm).max(tol.atol);
    ws.history.push(bnorm);
    if bnorm <= target {
        return Ok(KrylovOutcome {
            iterations: 0,
            residual: bnorm,
        });
    }
    let out = match method {
        Method::Cg => cg(op, precond, transpose, tol.max_iterations, target, b, x, ws),
        Method::BiCgStab => bicgstab(op, precond, transpose, tol.max_iterations, target, b, x, ws),
        Method::Gmres { restart } => gmres(
            op,
            precond,
            transpose,
            restart.max(1),
            tol.max_iterations,
            target,
            b,
            x,
            ws,
        ),
    }?;
    match out {
        Some(o) => Ok(o),
        None => Err(LinsolveError::NotConverged {
            method: method_name(method),
            iterations: ws.history.len() - 1,
            residual_history: ws.history.clone(),
            tolerance: target,
        }),
    }
}

pub(crate) fn method_name(m: Method) -> &'static str {
    match m {
        Method::Cg => "CG",
        Method::Gmres { .. } => "GMRES",
        Method::BiCgStab => "BiCGStab",
    }
}

#[allow(clippy::too_many_arguments)]
fn cg(
    op: Op<'_>,
    m: &PrecondState,
    tr: bool,
    max_it: usize,
    target: f64,
    b: &[f64],
    x: &mut [f64],
    ws: &mut KrylovWorkspace,
) -> Result<Option<KrylovOutcome>, LinsolveError> {
    let n = ws.n;
    let (r, rest) = ws.vecs.split_at_mut(n);
    let (z, rest) = rest.split_at_mut(n);
    let (p, rest) = rest.split_at_mut(n);
    let q = &mut rest[..n];
    r.copy_from_slice(b);
    m.apply(tr, r, z)?;
    p.copy_from_slice(z);
    let mut rz = dot(r, z);
    for it in 1..=max_it {
        op.apply(tr, p, q)?;
        let pq = dot(p, q);
        let rnorm = norm(r);
        if pq.is_nan() || pq <= 0.0 {
            return Err(LinsolveError::Breakdown {
                method: "CG",
                iteration: it,
                what: "pᵀAp ≤ 0: matrix or preconditioner not positive definite",
                residual: rnorm,
            });
        }
        let alpha = rz / pq;
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
        }
        let rnorm = norm(r);
        ws.history.push(rnorm);
        if rnorm <= target {
            return Ok(Some(KrylovOutcome {
                iterations: it,
                residual: rnorm,
            }));
        }
        m.apply(tr, r, z)?;
        let rz_new = dot(r, z);
        let beta = rz_new / rz;
        rz = rz_new;
        for i in 0..n {
            p[i] = z[i] + beta * p[i];
        }
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
fn bicgstab(
    op: Op<'_>,
    m: &PrecondState,
    tr: bool,
    max_it: usize,
    target: f64,
    b: &[f64],
    x: &mut [f64],
    ws: &mut KrylovWorkspace,
) -> Result<Option<KrylovOutcome>, LinsolveError> {
    let n = ws.n;
    let mut chunks = ws.vecs.chunks_exact_mut(n);
    let mut next = || {
        chunks
            .next()
            .ok_or_else(|| LinsolveError::Backend("Krylov workspace too small".into()))
    };
    let (r, rhat, p, v, s, t, phat, shat) = (
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    );
    r.copy_from_slice(b);
    rhat.copy_from_slice(b);
    p.fill(0.0);
    v.fill(0.0);
    let (mut rho_old, mut alpha, mut omega) = (1.0, 1.0, 1.0);
    let breakdown = |it, what, residual| LinsolveError::Breakdown {
        method: "BiCGStab",
        iteration: it,
        what,
        residual,
    };
    for it in 1..=max_it {
        let rho = dot(rhat, r);
        if rho == 0.0 {
            return Err(breakdown(it, "ρ = r̂ᵀr = 0", norm(r)));
        }
        if it == 1 {
            p.copy_from_slice(r);
        } else {
            let beta = (rho / rho_old) * (alpha / omega);
            for i in 0..n {
                p[i] = r[i] + beta * (p[i] - omega * v[i]);
            }
        }
        m.apply(tr, p, phat)?;
        op.apply(tr, phat, v)?;
        let rv = dot(rhat, v);
        if rv == 0.0 {
            return Err(breakdown(it, "r̂ᵀv = 0", norm(r)));
        }
        alpha = rho / rv;
        for i in 0..n {
            s[i] = r[i] - alpha * v[i];
        }
        let snorm = norm(s);
        if snorm <= target {
            for i in 0..n {
                x[i] += alpha * phat[i];
            }
            ws.history.push(snorm);
            return Ok(Some(KrylovOutcome {
                iterations: it,
                residual: snorm,
            }));
        }
        m.apply(tr, s, shat)?;
        op.apply(tr, shat, t)?;
        let tt = dot(t, t);
        if tt == 0.0 {
            return Err(breakdown(it, "tᵀt = 0", snorm));
        }
        omega = dot(t, s) / tt;
        for i in 0..n {
            x[i] += alpha * phat[i] + omega * shat[i];
            r[i] = s[i] - omega * t[i];
        }
        let rnorm = norm(r);
        ws.history.push(rnorm);
        if rnorm <= target {
            return Ok(Some(KrylovOutcome {
                iterations: it,
                residual: rnorm,
            }));
        }
        if omega == 0.0 {
            return Err(breakdown(it, "ω = 0", rnorm));
        }
        rho_old = rho;
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
fn gmres(
    op: Op<'_>,
    m: &PrecondState,
    tr: bool,
    restart: usize,
    max_it: usize,
    target: f64,
    b: &[f64],
    x: &mut [f64],
    ws: &mut KrylovWorkspace,
) -> Result<Option<KrylovOutcome>, LinsolveError> {
    let n = ws.n;
    let mr = restart;
    let (r, rest) = ws.vecs.split_at_mut(n);
    let (w, rest) = rest.split_at_mut(n);
    let z = &mut rest[..n];
    let (basis, hess) = (&mut ws.basis, &mut ws.hess);
    let (cs, sn, g) = (&mut ws.cs, &mut ws.sn, &mut ws.g);
    // H(i, j) at hess[i + (m+1) j].
    let hidx = |i: usize, j: usize| i + (mr + 1) * j;
    r.copy_from_slice(b);
    let mut beta = norm(r);
    let mut total = 0usize;
    loop {
        for (vi, ri) in basis[..n].iter_mut().zip(r.iter()) {
            *vi = ri / beta;
        }
        g.fill(0.0);
        g[0] = beta;
        let mut k = 0; // columns built in this cycle
        let mut estimate = beta;
        while k < mr && total < max_it {
            // w = A M⁻¹ v_k
            m.apply(tr, &basis[k * n..(k + 1) * n], z)?;
            op.apply(tr, z, w)?;
            // Modified Gram–Schmidt.
            for i in 0..=k {
                let vi = &basis[i * n..(i + 1) * n];
                let h = dot(w, vi);
                hess[hidx(i, k)] = h;
                for (wj, vj) in w.iter_mut().zip(vi) {
                    *wj -= h * vj;
                }
            }
            let hnext = norm(w);
            hess[hidx(k + 1, k)] = hnext;
            // Previous rotations, then a new one zeroing H(k+1, k).
            for i in 0..k {
                let (a, bb) = (hess[hidx(i, k)], hess[hidx(i + 1, k)]);
                hess[hidx(i, k)] = cs[i] * a + sn[i] * bb;
                hess[hidx(i + 1, k)] = -sn[i] * a + cs[i] * bb;
            }
            let (a, bb) = (hess[hidx(k, k)], hess[hidx(k + 1, k)]);
            let rho = a.hypot(bb);
            let (c, s) = if rho == 0.0 {
                (1.0, 0.0)
            } else {
                (a / rho, bb / rho)
            };
            cs[k] = c;
            sn[k] = s;
            hess[hidx(k, k)] = rho;
            hess[hidx(k + 1, k)] = 0.0;
            g[k + 1] = -s * g[k];
            g[k] *= c;
            estimate = g[k + 1].abs();
            k += 1;
            total += 1;
            ws.history.push(estimate);
            if hnext != 0.0 {
                for (vj, wj) in basis[k * n..(k + 1) * n].iter_mut().zip(w.iter()) {
                    *vj = wj / hnext;
                }
            }
            if estimate <= target || hnext == 0.0 {
                break;
            }
        }
        // y = H⁻¹ g (upper triangular, k × k), x += M⁻¹ V y.
        for i in (0..k).rev() {
            let mut s = g[i];
            for j in i + 1..k {
                s -= hess[hidx(i, j)] * g[j];
            }
            let d = hess[hidx(i, i)];
            if d == 0.0 {
                return Err(LinsolveError::Breakdown {
                    method: "GMRES",
                    iteration: total,
                    what: "singular Hessenberg matrix (A M⁻¹ singular on the Krylov space)",
                    residual: estimate,
                });
            }
            g[i] = s / d;
        }
        w.fill(0.0);
        for j in 0..k {
            let vj = &basis[j * n..(j + 1) * n];
            for (wi, vi) in w.iter_mut().zip(vj) {
                *wi += g[j] * vi;
            }
        }
        m.apply(tr, w, z)?;
        for (xi, zi) in x.iter_mut().zip(z.iter()) {
            *xi += zi;
        }
        // True residual for the restart and the convergence test.
        op.apply(tr, x, w)?;
        for i in 0..n {
            r[i] = b[i] - w[i];
        }
        beta = norm(r);
        if let Some(last) = ws.history.last_mut() {
            *last = beta;
        }
        if beta <= target {
            return Ok(Some(KrylovOutcome {
                iterations: total,
                residual: beta,
            }));
        }
        if total >= max_it {
            return Ok(None);
        }
    }
}
