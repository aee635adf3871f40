//! Graph colouring for compressed Jacobians and Hessians.
//!
//! # Jacobians: column and row colouring
//!
//! Columns `j`, `k` of a Jacobian `J` are *structurally orthogonal* when no row has a nonzero in
//! both. Partition the columns into groups of pairwise orthogonal columns (*colours*
//! `c = 1…p`), and seed one forward-mode direction per colour, `s_c = Σ_{colour(j) = c} e_j`:
//! then `(J s_c)_i = J_ij` for the unique `j` of colour `c` with `J_ij ≠ 0`, so `p` directional
//! derivatives give every nonzero by direct lookup (Curtis, Powell & Reid, 1974). A valid
//! partition is a distance-1 colouring of the *column-intersection graph* (columns adjacent when
//! they share a row), equivalently a *partial distance-2 colouring* of the bipartite row/column
//! graph (Gebremedhin, Manne & Pothen, 2005, §3). Any partition needs at least as many colours
//! as the largest number of nonzeros in a row ([`Coloring::lower_bound`]). Row colouring is the
//! same on `Jᵀ`, for reverse mode (`w_cᵀ J` with one vector–Jacobian product per colour).
//!
//! # Hessians: star colouring
//!
//! For a symmetric `H`, a colouring of the adjacency graph (vertices `1…n`, an edge per
//! off-diagonal nonzero) is a *star colouring* when it is a proper distance-1 colouring and
//! every path on four vertices uses at least three colours (Coleman & Moré, 1984). Then
//! `B = H S` (one Hessian-vector product per colour) determines `H` by direct lookup:
//! `H_ij = B_{i, colour(j)}` if `i` has no other neighbour of `j`'s colour, else
//! `H_ij = B_{j, colour(i)}` (one of the two holds: otherwise the two other neighbours and
//! `i`, `j` form a two-coloured path on four vertices). Symmetry makes star colourings need far
//! fewer colours than column colourings of `H` (3 for a tridiagonal matrix, whatever `n`).
//! The greedy star colouring here is Algorithm 4.1 of Gebremedhin, Manne & Pothen (2005): when
//! colouring `v`, forbid the colours of its neighbours, of the coloured neighbours of its
//! uncoloured neighbours, and of every `x` that would close a two-coloured path `v–w–x–y`.
//!
//! # Orderings
//!
//! Greedy colouring visits the vertices in an [`Order`] and gives each the smallest colour its
//! neighbours leave free. Six orderings are sequential (natural, largest first, smallest last,
//! incidence degree, dynamic largest first, DSATUR; each costs `O(Σ_v Σ_{u ∈ N(v)} 1)`); the
//! seventh, [`Order::RecursiveLargestFirst`] (Leighton's RLF), builds one colour class at a time
//! as a maximal independent set packed against the vertices it already excludes, at about one
//! neighbourhood sweep per colour, and lists the classes in turn. [`GreedyColoring::default`]
//! runs all seven, keeps the fewest colours, then spends a small budget of *tabu search* steps
//! trying to remove colours one at a time (Hertz & de Werra's TabuCol). Optionally, passes of
//! Culberson's *iterated greedy* (re-colour listing whole colour classes together: never more
//! colours) run in between. [`GreedyColoring::thorough`] gives the tabu search a large budget.
//!
//! On P3 (the 2-D Brusselator, `2N²` states on an `N × N` periodic grid, 6 nonzeros per row)
//! the sequential orderings give 10–13 colours, RLF 9, and the default's tabu search, started
//! from RLF's 9, reaches 8 (N = 8, 32, 64). The numbering of the states matters to sequential
//! orderings: P3 stores all `u` then all `v`; numbered `(u, v)` per grid point instead (as
//! diffsol's P3 is), plain natural-order greedy gives 8 — it then colours a point's two species
//! together, like a stencil colouring of the grid — while it gives 12 on the blocked numbering.
//! RLF gives 9 on each numbering tried (blocked, interleaved, by first row, breadth-first).
//!
//! # Checks
//!
//! [`check_column_coloring`], [`check_row_coloring`] and [`check_star_coloring`] verify a
//! colouring structurally against its pattern; the compressed-evaluation objects verify the
//! colourings they are given.
//!
//! ```
//! use tangent_sparsity::coloring::{GreedyColoring, check_column_coloring, column_coloring};
//! use tangent_sparsity::jacobian_sparsity;
//! use tangent_ad::vector_fn;
//!
//! // A tridiagonal Jacobian: 3 colours, whatever n.
//! let f = vector_fn!(100; |x, y| {
//!     for i in 0..100 {
//!         let left = if i > 0 { x[i - 1] } else { S::cst(0.0) };
//!         let right = if i < 99 { x[i + 1] } else { S::cst(0.0) };
//!         y[i] = left - x[i] * 2.0 + right;
//!     }
//! });
//! let p = jacobian_sparsity(&f, &[0.0; 100]).unwrap();
//! let c = column_coloring(&p, &GreedyColoring::default()).unwrap();
//! assert_eq!((c.n_colors(), c.lower_bound()), (3, 3));
//! check_column_coloring(&p, &c).unwrap();
//! ```
//!
//! # References
//!
//! * A. R. Curtis, M. J. D. Powell, J. K. Reid, *On the estimation of sparse Jacobian matrices*,
//!   IMA J. Appl. Math. 13, 1974.
//! * T. F. Coleman, J. J. Moré, *Estimation of sparse Jacobian matrices and graph coloring
//!   problems*, SIAM J. Numer. Anal. 20, 1983; *Estimation of sparse Hessian matrices and graph
//!   coloring problems*, Math. Prog. 28, 1984.
//! * A. H. Gebremedhin, F. Manne, A. Pothen, *What color is your Jacobian? Graph coloring for
//!   computing derivatives*, SIAM Review 47(4), 2005.
//! * D. Brélaz, *New methods to color the vertices of a graph*, Comm. ACM 22(4), 1979 (DSATUR).
//! * F. T. Leighton, *A graph coloring algorithm for large scheduling problems*, J. Res. Natl.
//!   Bur. Stand. 84(6), 1979 (RLF).
//! * A. Hertz, D. de Werra, *Using tabu search techniques for graph coloring*, Computing 39,
//!   1987.
//! * J. C. Culberson, *Iterated greedy graph coloring and the difficulty landscape*, TR 92-07,
//!   University of Alberta, 1992.

mod order;
mod rlf;
mod tabu;

pub use order::Order;

use crate::error::SparsityError;
use crate::pattern::{Compressed, Pattern};

/// A graph whose vertices are coloured.
pub(crate) trait Graph {
    /// Number of vertices.
    fn n_vertices(&self) -> usize;
    /// Calls `f(u)` once for each neighbour `u ≠ v` of `v`, using `stamp[u] == tag` to skip
    /// repeats (`tag` must differ from every value already in `stamp` that should not count).
    fn for_each_neighbor(&self, v: usize, stamp: &mut [u32], tag: u32, f: impl FnMut(usize));
    /// An upper bound on the total number of (directed) edges.
    fn edge_bound(&self) -> usize;
    /// The graph as adjacency lists, when it is stored that way.
    fn lists(&self) -> Option<&Lists> {
        None
    }
}

/// The column-intersection graph of a pattern, walked through the bipartite graph: vertices are
/// the columns of `by_vertex` (vertex → nets), `by_net` is its transpose (net → vertices).
pub(crate) struct Intersection<'a> {
    pub(crate) by_vertex: &'a Compressed,
    pub(crate) by_net: &'a Compressed,
}

impl Graph for Intersection<'_> {
    fn n_vertices(&self) -> usize {
        self.by_vertex.cols
    }
    fn edge_bound(&self) -> usize {
        (0..self.by_net.cols)
            .map(|net| self.by_net.col(net).len().pow(2))
            .fold(0usize, usize::saturating_add)
    }
    #[inline]
    fn for_each_neighbor(&self, v: usize, stamp: &mut [u32], tag: u32, mut f: impl FnMut(usize)) {
        stamp[v] = tag;
        for &net in self.by_vertex.col(v) {
            for &u in self.by_net.col(net as usize) {
                let u = u as usize;
                if stamp[u] != tag {
                    stamp[u] = tag;
                    f(u);
                }
            }
        }
    }
}

/// The adjacency graph of a symmetric pattern (diagonal entries ignored).
pub(crate) struct Adjacency<'a> {
    pub(crate) csc: &'a Compressed,
}

impl Graph for Adjacency<'_> {
    fn n_vertices(&self) -> usize {
        self.csc.cols
    }
    fn edge_bound(&self) -> usize {
        self.csc.idx.len()
    }
    #[inline]
    fn for_each_neighbor(&self, v: usize, _stamp: &mut [u32], _tag: u32, mut f: impl FnMut(usize)) {
        for &u in self.csc.col(v) {
            if u as usize != v {
                f(u as usize);
            }
        }
    }
}

/// A graph materialised as adjacency lists: `v`'s neighbours are `adj[ptr[v]..ptr[v + 1]]`,
/// distinct and without `v` (for algorithms that revisit neighbourhoods many times).
pub(crate) struct Lists {
    pub(crate) ptr: Vec<usize>,
    pub(crate) adj: Vec<u32>,
}

impl Lists {
    /// The adjacency lists of `g`.
    pub(crate) fn of<G: Graph>(g: &G) -> Self {
        let n = g.n_vertices();
        let mut stamp = vec![u32::MAX; n];
        let mut ptr = Vec::with_capacity(n + 1);
        ptr.push(0);
        let mut adj = Vec::new();
        for v in 0..n {
            g.for_each_neighbor(v, &mut stamp, v as u32, |u| adj.push(u as u32));
            ptr.push(adj.len());
        }
        Self { ptr, adj }
    }
}

impl Graph for Lists {
    fn n_vertices(&self) -> usize {
        self.ptr.len() - 1
    }
    fn edge_bound(&self) -> usize {
        self.adj.len()
    }
    #[inline]
    fn for_each_neighbor(&self, v: usize, _stamp: &mut [u32], _tag: u32, mut f: impl FnMut(usize)) {
        for &u in &self.adj[self.ptr[v]..self.ptr[v + 1]] {
            f(u as usize);
        }
    }
    fn lists(&self) -> Option<&Lists> {
        Some(self)
    }
}

/// What a [`Coloring`] partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColoringKind {
    /// Columns, structurally orthogonal (forward-mode compression).
    Column,
    /// Rows, structurally orthogonal (reverse-mode compression).
    Row,
    /// Star colouring of a symmetric pattern (symmetric compression of Hessians).
    Star,
}

/// Which orderings a [`GreedyColoring`] tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OrderChoice {
    /// Every [`Order`]; the one with the fewest colours is kept (ties: the cheapest).
    #[default]
    Best,
    /// One ordering.
    Fixed(Order),
}

/// Greedy colouring options; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GreedyColoring {
    /// The orderings to try.
    pub order: OrderChoice,
    /// Passes of iterated greedy re-colouring after the best ordering (column and row
    /// colourings; star colourings are not re-coloured). Never increases the colour count.
    pub recolor_passes: usize,
    /// Step budget of the tabu search that then tries to remove colours one at a time (column
    /// and row colourings; skipped when the column-intersection graph could exceed
    /// [`TABU_MAX_EDGES`] edges). 0 disables it.
    pub tabu_steps: usize,
}

/// Largest column-intersection graph (bound on its directed edges) the tabu search materialises.
pub const TABU_MAX_EDGES: usize = 1 << 24;

impl Default for GreedyColoring {
    /// The cheap default: all seven orderings (Recursive Largest First included), no
    /// iterated-greedy passes (on P3, from DSATUR's 10, even 1000 passes leave the count at 10),
    /// then 2 000 tabu steps. On P3 (the colour counts are deterministic): the sequential
    /// orderings give 10 colours at best, RLF 9, and the tabu search from RLF's colouring 8 at
    /// N = 8, 32 and 64 (the lower bound is 6; at N = 24 it finds 7). Time, release build: about
    /// 7 ms at N = 32 (RLF 1 ms of it; most of the rest is the search failing to find 7) and
    /// 16 ms at N = 64 on a quiet machine; in the `sparsity` benchmark on a loaded one 7.6 and
    /// 26 ms, where the previous default (no RLF, slower tabu steps), which stopped at 9
    /// colours, took 9.6 and 38 ms. See [`GreedyColoring::thorough`] for more.
    fn default() -> Self {
        Self {
            order: OrderChoice::Best,
            recolor_passes: 0,
            tabu_steps: 2_000,
        }
    }
}

impl GreedyColoring {
    /// All orderings and 200 000 tabu steps: sometimes fewer colours, for a one-off cost of
    /// up to about a second (P3 N = 32 and 64: 8 colours, like the default, in 0.3–0.8 s).
    pub fn thorough() -> Self {
        Self {
            order: OrderChoice::Best,
            recolor_passes: 0,
            tabu_steps: 200_000,
        }
    }

    /// One ordering, plain greedy (no re-colouring, no tabu search).
    pub fn with_order(order: Order) -> Self {
        Self {
            order: OrderChoice::Fixed(order),
            recolor_passes: 0,
            tabu_steps: 0,
        }
    }
}

/// A colouring: the colour (`0…n_colors−1`) of each column, row, or vertex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coloring {
    kind: ColoringKind,
    colors: Vec<u32>,
    n_colors: usize,
    order: Option<Order>,
    lower_bound: usize,
}

impl Coloring {
    /// A colouring given by the caller (`colors[v]` is the colour of column/row/vertex `v`).
    /// Checked against the pattern wherever it is used.
    pub fn from_colors(kind: ColoringKind, colors: Vec<u32>) -> Self {
        let n_colors = colors.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        Self {
            kind,
            colors,
            n_colors,
            order: None,
            lower_bound: 0,
        }
    }

    pub(crate) fn set_kind(&mut self, kind: ColoringKind) {
        self.kind = kind;
    }

    /// What is coloured.
    pub fn kind(&self) -> ColoringKind {
        self.kind
    }

    /// The colour of each vertex (length: number of columns, rows, or `n`).
    pub fn colors(&self) -> &[u32] {
        &self.colors
    }

    /// Number of colours (compressed directions).
    pub fn n_colors(&self) -> usize {
        self.n_colors
    }

    /// The ordering that produced it (`None` for a colouring given by the caller).
    pub fn order(&self) -> Option<Order> {
        self.order
    }

    /// A lower bound on the number of colours of any valid colouring of this kind of the same
    /// pattern: the largest number of nonzeros in a row (column colouring), in a column (row
    /// colouring), or, for a star colouring, 3 when the graph has a path on four vertices (2 with
    /// an edge, 1 without); 0 for a colouring given by the caller.
    pub fn lower_bound(&self) -> usize {
        self.lower_bound
    }

    /// The vertices of each colour, as `(ptr, vertices)`: colour `c` holds
    /// `vertices[ptr[c]..ptr[c + 1]]` in increasing order.
    pub fn groups(&self) -> (Vec<usize>, Vec<u32>) {
        let mut ptr = vec![0usize; self.n_colors + 1];
        for &c in &self.colors {
            ptr[c as usize + 1] += 1;
        }
        for c in 0..self.n_colors {
            ptr[c + 1] += ptr[c];
        }
        let mut next = ptr[..self.n_colors].to_vec();
        let mut vertices = vec![0u32; self.colors.len()];
        for (v, &c) in self.colors.iter().enumerate() {
            let p = &mut next[c as usize];
            vertices[*p] = v as u32;
            *p += 1;
        }
        (ptr, vertices)
    }
}

/// Greedy distance-1 colouring of `g` in the order `order`; returns the colours and their count.
fn greedy<G: Graph>(g: &G, order: &[u32], stamp: &mut [u32]) -> (Vec<u32>, usize) {
    let n = g.n_vertices();
    let mut colors = vec![u32::MAX; n];
    let mut forbidden: Vec<u32> = Vec::new();
    let mut n_colors = 0;
    stamp.fill(u32::MAX);
    for &v in order {
        g.for_each_neighbor(v as usize, stamp, v, |u| {
            let c = colors[u];
            if c != u32::MAX {
                forbidden[c as usize] = v;
            }
        });
        let c = first_free(&mut forbidden, v);
        colors[v as usize] = c;
        n_colors = n_colors.max(c as usize + 1);
    }
    (colors, n_colors)
}

/// The smallest colour `c` with `forbidden[c] != tag` (growing `forbidden` when all are taken).
#[inline]
fn first_free(forbidden: &mut Vec<u32>, tag: u32) -> u32 {
    match forbidden.iter().position(|&f| f != tag) {
        Some(c) => c as u32,
        None => {
            forbidden.push(u32::MAX);
            (forbidden.len() - 1) as u32
        }
    }
}

/// Culberson's iterated greedy: re-colour with whole colour classes listed together, classes
/// in decreasing order of colour index (the last classes, often the smallest and hardest, go
/// first). The new colouring never uses more colours.
fn iterated_greedy<G: Graph>(
    g: &G,
    mut colors: Vec<u32>,
    mut n_colors: usize,
    passes: usize,
    stamp: &mut [u32],
) -> (Vec<u32>, usize) {
    // xorshift64* with a fixed seed: deterministic colourings.
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move || {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut rank = Vec::new();
    for pass in 0..passes {
        let mut order: Vec<u32> = (0..g.n_vertices() as u32).collect();
        // Class orders: reverse colour order, largest class first, random (Culberson's mix).
        rank.clear();
        rank.extend(0..n_colors as u64);
        match pass % 3 {
            0 => rank.reverse(),
            1 => {
                let mut size = vec![0u64; n_colors];
                for &c in &colors {
                    size[c as usize] += 1;
                }
                let mut by_size: Vec<u64> = (0..n_colors as u64).collect();
                by_size.sort_by_key(|&c| core::cmp::Reverse(size[c as usize]));
                for (r, &c) in by_size.iter().enumerate() {
                    rank[c as usize] = r as u64;
                }
            }
            _ => {
                for r in rank.iter_mut() {
                    *r = rand();
                }
            }
        }
        order.sort_by_key(|&v| rank[colors[v as usize] as usize]);
        let (c, k) = greedy(g, &order, stamp);
        if k <= n_colors {
            colors = c;
            n_colors = k;
        }
    }
    (colors, n_colors)
}

fn color_graph<G: Graph>(
    g: &G,
    alg: &GreedyColoring,
    kind: ColoringKind,
    lower_bound: usize,
) -> Coloring {
    // Several orderings, RLF and the tabu search each walk every neighbourhood at least once:
    // then materialise the graph once (distinct neighbours, no stamps) if it is not too large.
    let revisits = match alg.order {
        OrderChoice::Best | OrderChoice::Fixed(Order::RecursiveLargestFirst) => true,
        OrderChoice::Fixed(_) => alg.tabu_steps > 0,
    };
    if revisits && g.lists().is_none() && g.edge_bound() <= TABU_MAX_EDGES {
        return color_graph(&Lists::of(g), alg, kind, lower_bound);
    }
    let orders: &[Order] = match &alg.order {
        OrderChoice::Best => &Order::ALL,
        OrderChoice::Fixed(o) => core::slice::from_ref(o),
    };
    let mut stamp = vec![u32::MAX; g.n_vertices()];
    let mut best: Option<(Vec<u32>, usize, Order)> = None;
    for &o in orders {
        let order = o.compute(g);
        let (colors, k) = greedy(g, &order, &mut stamp);
        if best.as_ref().is_none_or(|b| k < b.1) {
            best = Some((colors, k, o));
        }
        if k <= lower_bound {
            break; // optimal
        }
    }
    let (colors, k, o) = best.unwrap_or((Vec::new(), 0, Order::Natural));
    let (colors, k) = if k > lower_bound {
        iterated_greedy(g, colors, k, alg.recolor_passes, &mut stamp)
    } else {
        (colors, k)
    };
    // The tabu search runs on the materialised graph (above), so not on graphs larger than
    // `TABU_MAX_EDGES`.
    let (colors, k) = match g.lists() {
        Some(lists) if k > lower_bound => {
            tabu::improve(lists, colors, k, lower_bound, alg.tabu_steps)
        }
        _ => (colors, k),
    };
    Coloring {
        kind,
        colors,
        n_colors: k,
        order: Some(o),
        lower_bound,
    }
}

/// A structurally orthogonal partition of the columns of `pattern` (`m × n`): `colors()` has
/// length `n`. See the [module docs](self).
pub fn column_coloring(pattern: &Pattern, alg: &GreedyColoring) -> Result<Coloring, SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    Ok(column_coloring_compressed(&csc, &csc.transpose(), alg))
}

/// A structurally orthogonal partition of the rows of `pattern` (`m × n`): `colors()` has length
/// `m`. See the [module docs](self).
pub fn row_coloring(pattern: &Pattern, alg: &GreedyColoring) -> Result<Coloring, SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    let csr = csc.transpose();
    let mut c = column_coloring_compressed(&csr, &csc, alg);
    c.set_kind(ColoringKind::Row);
    Ok(c)
}

pub(crate) fn column_coloring_compressed(
    csc: &Compressed,
    csr: &Compressed,
    alg: &GreedyColoring,
) -> Coloring {
    let g = Intersection {
        by_vertex: csc,
        by_net: csr,
    };
    color_graph(&g, alg, ColoringKind::Column, csr.max_col_len())
}

/// A star colouring of the symmetric pattern `pattern` (`n × n`): `colors()` has length `n`.
/// See the [module docs](self).
///
/// # Errors
/// [`SparsityError::InvalidPattern`] if `pattern` is not square and symmetric.
pub fn star_coloring(pattern: &Pattern, alg: &GreedyColoring) -> Result<Coloring, SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    check_symmetric(&csc)?;
    Ok(star_coloring_compressed(&csc, alg))
}

pub(crate) fn check_symmetric(csc: &Compressed) -> Result<(), SparsityError> {
    if csc.rows != csc.cols {
        return Err(SparsityError::InvalidPattern(
            "a Hessian pattern must be square",
        ));
    }
    if csc.transpose() != *csc {
        return Err(SparsityError::InvalidPattern(
            "a Hessian pattern must be symmetric (both triangles stored)",
        ));
    }
    Ok(())
}

pub(crate) fn star_coloring_compressed(csc: &Compressed, alg: &GreedyColoring) -> Coloring {
    let g = Adjacency { csc };
    let n = csc.cols;
    // Lower bound. Unlike column colourings, a star colouring may give all neighbours of a
    // vertex one colour (a star is allowed), so the row count is no bound; what holds for every
    // star colouring: 1 colour for a nonempty graph, 2 with an edge, 3 with a path on four
    // vertices (an edge whose ends both have another neighbour), since such a path must not be
    // two-coloured.
    let degree = |v: usize| csc.col(v).iter().filter(|&&u| u as usize != v).count();
    let has_edge = (0..n).any(|v| degree(v) > 0);
    let has_p4 = (0..n).any(|x| {
        degree(x) >= 2
            && csc
                .col(x)
                .iter()
                .any(|&y| y as usize != x && degree(y as usize) >= 2)
    });
    let lower_bound = if has_p4 {
        3
    } else if has_edge {
        2
    } else {
        usize::from(n > 0)
    };
    let orders: &[Order] = match &alg.order {
        OrderChoice::Best => &Order::ALL,
        OrderChoice::Fixed(o) => core::slice::from_ref(o),
    };
    let mut best: Option<(Vec<u32>, usize, Order)> = None;
    for &o in orders {
        let order = o.compute(&g);
        let (colors, k) = greedy_star(csc, &order);
        if best.as_ref().is_none_or(|b| k < b.1) {
            best = Some((colors, k, o));
        }
    }
    let (colors, n_colors, o) = best.unwrap_or((Vec::new(), 0, Order::Natural));
    Coloring {
        kind: ColoringKind::Star,
        colors,
        n_colors,
        order: Some(o),
        lower_bound,
    }
}

/// Greedy star colouring (Gebremedhin, Manne & Pothen 2005, Algorithm 4.1) in the given order.
fn greedy_star(csc: &Compressed, order: &[u32]) -> (Vec<u32>, usize) {
    const NONE: u32 = u32::MAX;
    let n = csc.cols;
    let mut colors = vec![NONE; n];
    let mut forbidden: Vec<u32> = Vec::new();
    let mut n_colors = 0;
    let nbrs = |v: usize| {
        csc.col(v)
            .iter()
            .map(|&u| u as usize)
            .filter(move |&u| u != v)
    };
    for &v in order {
        let vi = v as usize;
        let forbid = |c: u32, forbidden: &mut Vec<u32>| {
            if c != NONE {
                if forbidden.len() <= c as usize {
                    forbidden.resize(c as usize + 1, NONE);
                }
                forbidden[c as usize] = v;
            }
        };
        for w in nbrs(vi) {
            forbid(colors[w], &mut forbidden);
        }
        for w in nbrs(vi) {
            let cw = colors[w];
            for x in nbrs(w) {
                if x == vi || colors[x] == NONE {
                    continue;
                }
                if cw == NONE {
                    // Two coloured neighbours of an uncoloured vertex must differ.
                    forbid(colors[x], &mut forbidden);
                } else if nbrs(x).any(|y| y != w && colors[y] == cw) {
                    // v–w–x–y would be two-coloured if v took x's colour.
                    forbid(colors[x], &mut forbidden);
                }
            }
        }
        let c = first_free(&mut forbidden, v);
        colors[vi] = c;
        n_colors = n_colors.max(c as usize + 1);
    }
    (colors, n_colors)
}

fn check_length(what: &'static str, expected: usize, c: &Coloring) -> Result<(), SparsityError> {
    crate::error::check_len(what, expected, c.colors.len())?;
    if c.colors.iter().any(|&k| k as usize >= c.n_colors) {
        return Err(SparsityError::InvalidColoring("a colour is out of range"));
    }
    Ok(())
}

/// Checks that no two columns of the same colour share a row.
pub fn check_column_coloring(pattern: &Pattern, c: &Coloring) -> Result<(), SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    check_orthogonal(
        &csc.transpose(),
        csc.cols,
        c,
        "column colouring (one colour per column)",
    )
}

/// Checks that no two rows of the same colour share a column.
pub fn check_row_coloring(pattern: &Pattern, c: &Coloring) -> Result<(), SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    check_orthogonal(&csc, csc.rows, c, "row colouring (one colour per row)")
}

/// Each "net" (column of `nets`) must hold vertices of distinct colours.
pub(crate) fn check_orthogonal(
    nets: &Compressed,
    n_vertices: usize,
    c: &Coloring,
    what: &'static str,
) -> Result<(), SparsityError> {
    check_length(what, n_vertices, c)?;
    let mut seen = vec![u32::MAX; c.n_colors];
    for net in 0..nets.cols {
        for &v in nets.col(net) {
            let k = c.colors[v as usize] as usize;
            if seen[k] == net as u32 {
                return Err(SparsityError::InvalidColoring(
                    "two vertices of the same colour share a row/column (not structurally orthogonal)",
                ));
            }
            seen[k] = net as u32;
        }
    }
    Ok(())
}

/// Checks that `c` is a star colouring of the symmetric pattern: adjacent vertices differ and no
/// path on four vertices is two-coloured.
pub fn check_star_coloring(pattern: &Pattern, c: &Coloring) -> Result<(), SparsityError> {
    let csc = Compressed::csc_of(pattern)?;
    check_symmetric(&csc)?;
    check_star_compressed(&csc, c)
}

pub(crate) fn check_star_compressed(csc: &Compressed, c: &Coloring) -> Result<(), SparsityError> {
    check_length("star colouring (one colour per vertex)", csc.cols, c)?;
    let col = &c.colors;
    for x in 0..csc.cols {
        for &y in csc.col(x) {
            let y = y as usize;
            if y == x {
                continue;
            }
            if col[x] == col[y] {
                return Err(SparsityError::InvalidColoring(
                    "two adjacent vertices have the same colour",
                ));
            }
            // Middle edge x–y of a path w–x–y–z with colour(w) = colour(y), colour(z) = colour(x).
            let w = csc
                .col(x)
                .iter()
                .any(|&w| w as usize != y && w as usize != x && col[w as usize] == col[y]);
            let z = csc
                .col(y)
                .iter()
                .any(|&z| z as usize != x && z as usize != y && col[z as usize] == col[x]);
            if w && z {
                return Err(SparsityError::InvalidColoring(
                    "a path on four vertices is two-coloured (not a star colouring)",
                ));
            }
        }
    }
    Ok(())
}
