//! Sparsity detection: run the function on tracers, read the patterns off the recorded graph.
//!
//! * [`jacobian_sparsity`] / [`local_jacobian_sparsity`]: the `m × n` pattern of `∂f/∂x` of a
//!   [`VectorFunction`]; row `i` is the set of inputs reachable from output `i` in the graph
//!   (one depth-first search per output with a visit stamp, `O(size of the output's cone)`).
//! * [`hessian_sparsity`] / [`local_hessian_sparsity`]: the symmetric `n × n` pattern of `∇²f`
//!   of a [`ScalarFunction`]: the union, over the nonlinear nodes reachable from the output, of
//!   the pairs each contributes (see the table in [`crate::tracer`]), which is exactly the
//!   propagated `H` set of the output: linear nodes pass second-order sets through unchanged, so
//!   the output's set is the union of what its nonlinear ancestors create.
//!
//! The patterns are exact for the operations as declared in [`crate::tracer`]: an entry is
//! present iff the derivative is not identically zero along the traced operations (no
//! cancellation is detected: `x − x` still depends on `x`, and `(x + y)² − x² − y²` still has
//! `∂²/∂x²`); rules contribute their declared dependencies (dense by default).
//!
//! ```
//! use tangent_sparsity::{hessian_sparsity, jacobian_sparsity};
//! use tangent_ad::{scalar_fn, vector_fn, Scalar};
//!
//! let f = vector_fn!(2; |x, y| {
//!     y[0] = x[0] * x[1];
//!     y[1] = x[2].sin() + x[1];
//! });
//! let p = jacobian_sparsity(&f, &[0.0; 3]).unwrap();
//! assert_eq!(p.nnz(), 4);
//! assert!(p.get(0, 2).is_none() && p.get(1, 0).is_none());
//!
//! let g = scalar_fn!(|x| x[0] * x[1] + x[2].exp());
//! let h = hessian_sparsity(&g, &[0.0; 3]).unwrap();
//! // Entries (0,1), (1,0) and (2,2).
//! assert_eq!(h.nnz(), 3);
//! assert!(h.get(0, 1).is_some() && h.get(2, 2).is_some() && h.get(0, 0).is_none());
//! ```

use std::collections::HashMap;

use tangent_ad::{ScalarFunction, VectorFunction};

use crate::error::SparsityError;
use crate::pattern::{Pattern, csc_from_rows};
use crate::tracer::trace::{ActiveTrace, CONST, Kind, OPAQUE, ORPHAN, TraceData};
use crate::tracer::{Global, Hessian, Jacobian, Local, Tracer, TracerMode};

/// Which tracer mode a detection uses; see [`crate::tracer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detector {
    /// The pattern valid for every input (fails with
    /// [`SparsityError::ValueDependentControlFlow`] on value-dependent branches).
    #[default]
    Global,
    /// The pattern at the given point, following its branches. A Jacobian prepared from a local
    /// pattern is valid at points that take the same branches.
    Local,
}

impl Detector {
    /// The Jacobian pattern of `f` (`m × n` with `n = x.len()`, `m = f.output_len()`); `x` is
    /// the point for local mode and only gives `n` in global mode.
    pub fn jacobian_sparsity<F: VectorFunction + ?Sized>(
        &self,
        f: &F,
        x: &[f64],
    ) -> Result<Pattern, SparsityError> {
        match self {
            Detector::Global => trace_jacobian::<F, Global>(f, x),
            Detector::Local => trace_jacobian::<F, Local>(f, x),
        }
    }

    /// The symmetric Hessian pattern of `f` (`n × n`, both triangles stored).
    pub fn hessian_sparsity<F: ScalarFunction + ?Sized>(
        &self,
        f: &F,
        x: &[f64],
    ) -> Result<Pattern, SparsityError> {
        match self {
            Detector::Global => trace_hessian::<F, Global>(f, x),
            Detector::Local => trace_hessian::<F, Local>(f, x),
        }
    }
}

/// The global Jacobian pattern of `f: Rⁿ → Rᵐ`: `m × n`, CSC, valid for every input
/// (`x` only gives `n`). See the [module docs](self).
///
/// # Errors
/// [`SparsityError::ValueDependentControlFlow`] if `f` branches on input-dependent values (use
/// [`local_jacobian_sparsity`]), [`SparsityError::ForeignTracer`], [`SparsityError::TooLarge`].
pub fn jacobian_sparsity<F: VectorFunction + ?Sized>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    trace_jacobian::<F, Global>(f, x)
}

/// The Jacobian pattern of `f` at the point `x`, following the branches taken there: `m × n`,
/// CSC. See the [module docs](self).
pub fn local_jacobian_sparsity<F: VectorFunction + ?Sized>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    trace_jacobian::<F, Local>(f, x)
}

/// The global Hessian pattern of `f: Rⁿ → R`: `n × n`, symmetric, both triangles stored, CSC.
///
/// # Errors
/// As [`jacobian_sparsity`].
pub fn hessian_sparsity<F: ScalarFunction + ?Sized>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    trace_hessian::<F, Global>(f, x)
}

/// The Hessian pattern of `f` at the point `x`: `n × n`, symmetric, CSC.
pub fn local_hessian_sparsity<F: ScalarFunction + ?Sized>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    trace_hessian::<F, Local>(f, x)
}

/// Checks an output tracer of the trace with generation `generation`.
fn check_output<K: crate::tracer::TracerKind, M: TracerMode>(
    y: &Tracer<K, M>,
    generation: u32,
) -> Result<(), SparsityError> {
    if y.id == ORPHAN || (y.id < ORPHAN && y.generation != generation) {
        return Err(SparsityError::ForeignTracer);
    }
    Ok(())
}

fn trace_jacobian<F: VectorFunction + ?Sized, M: TracerMode>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    let (n, m) = (x.len(), f.output_len());
    let guard = ActiveTrace::start(n)?;
    let generation = guard.generation();
    let xt: Vec<Tracer<Jacobian, M>> = x
        .iter()
        .enumerate()
        .map(|(j, &v)| Tracer::input(v, j as u32, generation))
        .collect();
    let mut yt = vec![Tracer::<Jacobian, M>::constant(0.0); m];
    f.eval(&xt, &mut yt);
    let trace = guard.finish();
    if let Some(e) = trace.error {
        return Err(e);
    }
    for y in &yt {
        check_output(y, generation)?;
    }
    let mut walker = Walker::new(&trace);
    let mut row_ptr = Vec::with_capacity(m + 1);
    row_ptr.push(0);
    let mut cols: Vec<u32> = Vec::with_capacity(2 * m);
    for y in &yt {
        let start = cols.len();
        if y.id < ORPHAN {
            walker.leaves(&trace, y.id, &mut cols);
            cols[start..].sort_unstable();
        }
        row_ptr.push(cols.len());
    }
    csc_from_rows(m, n, &row_ptr, &cols)
}

fn trace_hessian<F: ScalarFunction + ?Sized, M: TracerMode>(
    f: &F,
    x: &[f64],
) -> Result<Pattern, SparsityError> {
    let n = x.len();
    let guard = ActiveTrace::start(n)?;
    let generation = guard.generation();
    let xt: Vec<Tracer<Hessian, M>> = x
        .iter()
        .enumerate()
        .map(|(j, &v)| Tracer::input(v, j as u32, generation))
        .collect();
    let y = f.eval(&xt);
    let trace = guard.finish();
    if let Some(e) = trace.error {
        return Err(e);
    }
    check_output(&y, generation)?;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    if y.id < ORPHAN {
        hessian_pairs(&trace, y.id, &mut pairs);
    }
    // Both triangles, sorted by (column, row).
    let mut entries: Vec<(u32, u32)> = Vec::with_capacity(2 * pairs.len());
    for &(i, j) in &pairs {
        entries.push((j, i));
        if i != j {
            entries.push((i, j));
        }
    }
    entries.sort_unstable();
    entries.dedup();
    let mut indptr = vec![0usize; n + 1];
    for &(j, _) in &entries {
        indptr[j as usize + 1] += 1;
    }
    for j in 0..n {
        indptr[j + 1] += indptr[j];
    }
    let indices: Vec<usize> = entries.iter().map(|&(_, i)| i as usize).collect();
    let data = vec![(); indices.len()];
    sprs::CsMatI::try_new_csc((n, n), indptr, indices, data)
        .map_err(|_| SparsityError::InvalidPattern("internal: malformed Hessian pattern"))
}

/// Collects the second-order pairs `(i ≤ j)` of the output `root` (sorted, distinct).
fn hessian_pairs(trace: &TraceData, root: u32, pairs: &mut Vec<(u32, u32)>) {
    let n = trace.n_inputs;
    // The nonlinear nodes reachable from the output.
    let mut walker = Walker::new(trace);
    let mut nonlinear = Vec::new();
    walker.visit(trace, root, |id, node| {
        if let Some(node) = node
            && node.kind != Kind::Linear
        {
            nonlinear.push(id);
        }
    });
    // First-order sets of their operands, memoised (operands are often shared: `t * t`).
    let mut sets: HashMap<u32, (usize, usize)> = HashMap::new();
    let mut pool: Vec<u32> = Vec::new();
    let mut set_of = |id: u32, walker: &mut Walker, pool: &mut Vec<u32>| -> (usize, usize) {
        if id < n {
            pool.push(id);
            return (pool.len() - 1, pool.len());
        }
        if let Some(&r) = sets.get(&id) {
            return r;
        }
        let start = pool.len();
        walker.leaves(trace, id, pool);
        pool[start..].sort_unstable();
        let r = (start, pool.len());
        sets.insert(id, r);
        r
    };
    let mut squared: HashMap<u32, ()> = HashMap::new();
    for &id in &nonlinear {
        let node = trace.node(id);
        let ra = set_of(node.a, &mut walker, &mut pool);
        let rb = set_of(node.b, &mut walker, &mut pool);
        let (ga, gb) = (&pool[ra.0..ra.1], &pool[rb.0..rb.1]);
        match node.kind {
            Kind::Linear => {}
            Kind::Unary => {
                if squared.insert(node.a, ()).is_none() {
                    square(ga, pairs);
                }
            }
            Kind::Mul => cross(ga, gb, pairs),
            Kind::Div => {
                cross(ga, gb, pairs);
                if squared.insert(node.b, ()).is_none() {
                    square(gb, pairs);
                }
            }
            Kind::Full => {
                let mut u: Vec<u32> = ga.iter().chain(gb).copied().collect();
                u.sort_unstable();
                u.dedup();
                square(&u, pairs);
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
}

fn square(g: &[u32], pairs: &mut Vec<(u32, u32)>) {
    for (k, &i) in g.iter().enumerate() {
        for &j in &g[k..] {
            pairs.push((i, j));
        }
    }
}

fn cross(ga: &[u32], gb: &[u32], pairs: &mut Vec<(u32, u32)>) {
    for &i in ga {
        for &j in gb {
            pairs.push((i.min(j), i.max(j)));
        }
    }
}

/// Depth-first traversal of the graph with a visit stamp per id (reset by bumping the stamp).
struct Walker {
    stamp: Vec<u32>,
    mark: u32,
    stack: Vec<u32>,
}

impl Walker {
    fn new(trace: &TraceData) -> Self {
        Self {
            stamp: vec![0; trace.n_ids()],
            mark: 0,
            stack: Vec::new(),
        }
    }

    fn next_mark(&mut self) -> u32 {
        if self.mark == u32::MAX {
            self.stamp.fill(0);
            self.mark = 0;
        }
        self.mark += 1;
        self.mark
    }

    /// Appends the distinct leaves (inputs) reachable from `root` to `out`, unsorted.
    fn leaves(&mut self, trace: &TraceData, root: u32, out: &mut Vec<u32>) {
        self.visit(trace, root, |id, node| {
            if node.is_none() {
                out.push(id);
            }
        });
    }

    /// Calls `f(id, node)` once for every id reachable from `root` (`node` is `None` for inputs).
    fn visit(
        &mut self,
        trace: &TraceData,
        root: u32,
        mut f: impl FnMut(u32, Option<crate::tracer::trace::Node>),
    ) {
        if root >= ORPHAN {
            return;
        }
        let mark = self.next_mark();
        let n = trace.n_inputs;
        self.stack.clear();
        self.stack.push(root);
        self.stamp[root as usize] = mark;
        while let Some(id) = self.stack.pop() {
            if id < n {
                f(id, None);
                continue;
            }
            let node = trace.node(id);
            f(id, Some(node));
            for c in [node.a, node.b] {
                if c < ORPHAN && self.stamp[c as usize] != mark {
                    self.stamp[c as usize] = mark;
                    self.stack.push(c);
                }
            }
        }
    }
}

// `CONST` and `OPAQUE` are never stored as operands (constants do not make nodes); the check
// `c < ORPHAN` above skips them defensively.
const _: () = assert!(CONST > ORPHAN && OPAQUE > ORPHAN);
