//! A supernodal multifrontal LU for matrices whose pattern is (nearly) structurally symmetric,
//! with all symbolic work done once and pivoting restricted to each supernode's diagonal block.
//!
//! # The method
//!
//! Let `Â = P A Pᵀ` with `P` a fill-reducing permutation of the pattern of `A + Aᵀ` (AMD by
//! default). If no row interchanges cross supernode boundaries, the factors `L` and `U` of `Â`
//! have the pattern of the Cholesky factor of `A + Aᵀ` and its transpose, which the symbolic
//! analysis computes once (faer's supernodal symbolic Cholesky, with relaxed amalgamation into
//! supernodes of consecutive columns with a shared row pattern). The numeric factorisation then
//! visits the supernodes in a postorder of the supernodal elimination tree and, for supernode
//! `s` with columns `[b, e)` (`k = e − b`) and off-diagonal row pattern `R` (`r = |R|`), forms
//! the `(k + r) × (k + r)` frontal matrix
//!
//! ```text
//!     F = [F11 F12] = (entries of Â in rows/columns [b, e) of the index set [b, e) ∪ R)
//!         [F21 F22]   + extend-add of the update matrices of the children of s,
//! ```
//!
//! factorises the fully summed block with partial pivoting inside it, `Q F11 = L11 U11`, and
//! computes `L21 = F21 U11⁻¹`, `U12 = L11⁻¹ Q F12` and the update matrix `F22 − L21 U12` that
//! the parent assembles (Duff & Reid, "The multifrontal solution of indefinite sparse symmetric
//! linear equations", ACM TOMS 9, 1983; Liu, "The multifrontal method for sparse matrix
//! solution: theory and practice", SIAM Review 34, 1992; Amestoy & Duff for the unsymmetric
//! variant of MUMPS). The front is never formed as one matrix: `[F11; F21]` is assembled in
//! place in `s`'s `L` panel and `F12` in its `U12` panel; `F22` only receives children's
//! contributions, so the Schur product `−L21 U12` is written (not added) into `s`'s block of an
//! update pool after the factorisation and the children's `F22` parts are added to it then —
//! the block is never zeroed — where it waits for the parent. The pool's blocks are placed by
//! the symbolic analysis (first fit among the blocks alive in the postorder), so a
//! refactorisation copies nothing. Fronts with more than [`SMALL_BLOCK`] fully summed columns
//! run on blocked kernels (the LU of `F11` recursive on column halves down to a
//! column-by-column LU, [`leaf_lu`], for at most [`LU_LEAF`] columns; faer's triangular solves
//! and products; see [`blocked_front_lu`]); smaller ones on plain loops that sum each column's
//! `k` Schur products in registers (fused multiply–adds in an AVX2 + FMA build of the
//! factorisation loop, chosen at run time on x86-64).
//!
//! Because the pivot search never leaves the diagonal block, the factorisation is *statically*
//! pivoted across supernodes. It is stable when `A` is diagonally dominant-ish (the iteration
//! matrices `I − γJ` of implicit ODE methods, discretised PDEs); to catch the cases where it is
//! not, every multiplier is checked: if some `|L21ᵢⱼ| > 1 / pivot_threshold` (pivot smaller
//! than `pivot_threshold` times an entry below it) or a pivot vanishes, the factorisation
//! reports failure and the caller falls back to a fully pivoted sparse LU. This is the
//! refactorisation strategy of KLU (Davis & Palamadai Natarajan, ACM TOMS 37, 2010) applied to
//! a supernodal code: the symbolic analysis and the memory layout are computed once, and a
//! refactorisation is only arithmetic — no graph traversal, no allocation.
//!
//! # Cost notes (P3's iteration matrix, n = 2048, AMD)
//!
//! 926 supernodes: 768 of one column (5 off-diagonal rows), 128 of 4–8 columns, 29 of 10–52
//! columns and a 180-column root; 14.1 Mflop per factorisation. Measured with rdtsc around the
//! phases of one refactorisation (≈ 3.0M cycles on a quiet core): the blocked fronts take
//! ≈ 55 % (the root's dense LU alone ≈ 18 %, faer's Schur products ≈ 18 %), the extend-adds
//! ≈ 24 % (291k entries), the fronts of 1–8 columns ≈ 14 %, zeroing and assembling the panels
//! ≈ 6 %. Tried and kept out: register kernels for 9–16 columns (the panel LU and `U12` solve
//! on loops, or with faer's product for the Schur update: both slower than faer's blocked path
//! at 10 columns); a left-looking, four-rows-in-registers `L21` for the small fronts (no change
//! in instructions or time); dropping the zero test in the small panel LU's rank-1 updates (no
//! change); faer's LU with other recursion thresholds for the root (its default, 16, was the
//! fastest).
//!
//! A second round of measurements (callgrind instructions per refactorisation, the difference
//! of 11 and 1 refactorisations over 10; wall time as single refactorisations timed 2000 at a
//! time, variants interleaved, min and 10th percentile, as the shared host's medians move by
//! 20 %) found the time in the extend-adds and the blocked fronts to be bound by memory and
//! faer's per-call costs rather than by instructions. Per phase (rdtsc, averages): factorising
//! the 24 ten-column fronts ≈ 15 % (faer's LU, `L21` and `U12` calls ≈ 11k cycles per front
//! before the Schur product), the four 26-column fronts ≈ 14 %, the root ≈ 18 %, the
//! extend-adds ≈ 23 %. Tried and kept out, against a base of 11.71M instructions and
//! ≈ 905 µs for the fastest single refactorisation:
//! register kernels for 9 and 10 columns (`SMALL_BLOCK` = 10: 11.16M instructions, but min
//! 922 µs and a worse 10th percentile; also with an 8 × 4 register-tiled Schur product:
//! 11.78M, within the noise); extend-adds by runs of consecutive parent positions (children
//! with runs of at least 4 or 8 entries on average, vectorised adds: 11.91M and 11.54M
//! instructions, the extend-add phase's fastest round 2 % shorter, no change in total);
//! more relaxed amalgamation of parent–last-child pairs (`RELAX` allowing 20 % or 30 % zeros
//! up to 48 columns and 10 % beyond: 15.3 or 16.0 Mflop, 11.51M or 12.10M instructions — the
//! 768 one-column leaves are never a last child, so only the separator chain merges).
//!
//! A third look (session 8, per-supernode `Instant` timing of serial refactorisations, 10th
//! percentile per supernode; the timer inflates the smallest fronts): the root ≈ 21 % of the
//! time, the four 26-column fronts ≈ 19 %, the 24 ten-column fronts ≈ 23 %, the 52-column front
//! ≈ 11 %, the 32 eight-column fronts ≈ 9 %, the 768 one-column fronts ≈ 7 %, the 4- and
//! 6-column fronts ≈ 8 %. faer's kernels timed alone on hot caches account for about two
//! thirds of the mid-sized fronts' time: for `k` = 10, `r` = 56 the LU 0.6 µs, the two
//! triangular solves 0.45 and 0.72 µs, the Schur product 2.2 µs (29 Gflop/s), ≈ 4 µs against
//! ≈ 6.7 µs in the factorisation; for `k` = 26, `r` = 120, 2.8 + 4.3 + 5.9 + 17.5 µs (the
//! product at 43 Gflop/s) ≈ 30 µs against ≈ 46 µs. The rest is assembly, extend-adds and
//! cache misses on the update pool. The blocks of at most [`LU_LEAF`] columns that faer's LU
//! factorised (the `F11` of the 10- and 26-column fronts, the leaves of the recursive LU of
//! the larger ones) now go through [`leaf_lu`]: on diagonally dominant blocks, 0.33 against
//! 0.53 µs for 10 × 10, 5.2 against 8.2 µs for 180 × 22, equal at 26 × 26; refactorisations
//! fastest 874–884 against 898–899 µs serial and 533–557 against 553–593 µs with two workers
//! (three interleaved runs). The same sweep now runs over the whole `L` panel with the pivots
//! among `F11`'s rows, so `L21` needs no triangular solve of its own (fastest 863–873 µs
//! serial). Tried and kept out: a substitution of our own for `U12 = L11⁻¹ Q F12` with up to
//! 32 columns (four right-hand sides sharing each load of `L`, as rows in registers or as
//! contiguous updates): fastest 904–932 µs against 867–871 µs with faer's triangular solve.
//!
//! Why the shared host's slow phases cost 50 % (serial median 1.4–1.6 ms against a fastest
//! 0.9 ms, within one run): a refactorisation touches ≈ 2.4 MB — the factors (1.29 MB,
//! read for ownership and written back), the update pool (0.67 MB at its peak), the assembly
//! maps (0.2 MB), the values (0.1 MB) — and on this host a random walk over 8 MB already runs
//! at DRAM latency (133–165 ns a step, 18–35 ns over 2 MB, 6–9 ns over 256 kB), so the
//! effective share of the L3 is about the size of the working set and every refactorisation
//! depends on what the neighbours leave of it. Pure register arithmetic (a 48-accumulator FMA
//! loop) runs at the same speed in both phases, and a 64 MB read–write loop on the other core
//! turns a fast phase into a slow one (serial median 1.06 → 1.65 ms, fastest unchanged).
//! Software prefetch of the factor panels and assembly maps 2–32 kB ahead of the front being
//! assembled (`_mm_prefetch`) changed neither the fastest times nor the medians: the stream
//! prefetchers already cover those streams. Cachegrind with a 2 MB last-level cache (60
//! refactorisations): per refactorisation 25.6k last-level write misses, 20k of them in the
//! zeroing of the panels (the whole 1.29 MB of factors: each line is read for ownership and
//! later written back), and 7.9k read misses (5.9k in the factorisation loop, 1.5k in
//! scattering the new values); so the factors themselves are the floor of the traffic, and a
//! second core (the two-worker path) is what adds memory-level parallelism to it. The index
//! maps the factorisation streams (assembly sources and targets, extend-add positions) are u32,
//! the assembly targets relative to their panels: ≈ 0.13 MB fewer per refactorisation, the same
//! 11.2M instructions, fastest 846–851 µs against 859–872 µs serial (three interleaved runs).
//! On an AVX-512 host (Sapphire Rapids class, where faer's large products already run 512-bit
//! kernels), the factorisation loop and [`leaf_lu`] built for AVX-512 as well (zmm code):
//! fastest 733 against 732 µs serial, three interleaved runs — left out.
//!
//! # Two workers
//!
//! With two threads or more ([`crate::SparseLu::threads`]) a refactorisation factorises two
//! sets of disjoint subtrees of the supernodal tree at the same time. The symbolic analysis
//! plans it once: with the cost of a front of `k` columns and order `f` estimated as
//! `2k³/3 + 2k²(f − k) + 2k(f − k)² + C` flops, `C` = 3000 for the per-front work the count
//! misses (zeroing and assembling the panels, kernel calls and extend-add set-up: about 1 µs a
//! front, which is what makes a subtree of 200 small fronts weigh more than its flops), the
//! candidate subtrees start at the roots and go to two bins largest first; while the heavier
//! bin holds more than 55 % of the assigned cost and the heaviest candidate has children, that
//! candidate's root moves to the *top* and its children become candidates. A worker's
//! subtrees are contiguous ranges of the postorder; the top (every other supernode) runs on the
//! calling thread after both workers, in increasing order. The update pool gets a second
//! layout for this plan, the same first fit run per sequence in a region of its own (worker 0,
//! worker 1, top), a block whose parent is in another sequence staying alive to the end of its
//! own; the workers write disjoint panels, pivots and pool regions, through a raw-pointer view
//! whose `unsafe` accessors rest on the plan's disjointness ([`FactorView`]). Each front is
//! computed by the same code on the same data in the same order as in the serial path, so the
//! factors are bit for bit the serial ones, and a static-pivot failure is the one the serial
//! path reports: each worker stops at its first failure, then the top supernodes before the
//! earlier of the two still run, and the first failure in postorder is returned.
//!
//! The second worker is a thread the factorisation starts once ([`Helper`]): the calling
//! thread runs worker 0 itself, posts worker 1's sequence to the helper (a task on the caller's
//! stack, nothing allocated) and waits for it; the helper spins for 2 ms after each task before
//! it sleeps, so refactorisations that follow each other closely hand over without a wake-up.
//! While the top runs, the helper also takes half of each large front's dense work
//! ([`Pair`]): each level of the recursive LU of `F11` updates its right half as two column
//! halves, `L21` and `U12` are solved side by side, and the Schur product is split by columns.
//! The serial path splits the same operations in the same places and runs both halves itself,
//! so this keeps the factors bit for bit the serial ones.
//!
//! On P3 (n = 2048, AMD) the plan is the four 26-column subtrees of 230 supernodes each, two per
//! worker, with the 52- and 180-column fronts on top: pool 126k values (84k serial). Single
//! refactorisations timed 200 at a time, serial and two workers interleaved over 20 rounds
//! (three runs, load average ≈ 1.5 on the shared 2-core host, in one of its slow phases):
//! fastest 891–896 µs serial against 610–618 µs, 10th percentile 918–972 µs against
//! 828–879 µs, median 1.45–1.48 ms against 1.03–1.06 ms. The first version handed the workers
//! to rayon with `rayon::join` from outside its pool — three hand-offs (the pool thread that
//! takes the join, the one that steals the second half, the blocked caller; an empty
//! `join` took 28 µs at the median here): fastest 643–707 µs, but bimodal, with medians no
//! better than serial (criterion: 1.10, 1.23 and 1.78 ms against 1.06, 1.01 and 1.11 ms), and
//! rayon has no allocation-free way for the caller to run one half itself. Also measured and
//! left out: the top fronts' dense kernels on faer's threads (slower: fastest 801–938 µs) and
//! the whole factorisation on a rayon pool thread (within the noise). The two-worker path is
//! opt-in: it keeps a second core busy (spinning included).
//!
//! Splitting the top fronts' dense work with the helper (the [`Pair`]) took the fastest
//! two-worker refactorisation from 614–621 µs to 561–562 µs (medians 0.95–1.04 ms against
//! 0.90–0.94 ms, two interleaved runs); serial stayed within 1 %. Where the two-worker time
//! goes then (fastest of 2000, `Instant` around the phases): each worker's half 343–352 µs
//! (a serial run spends ≈ 300 µs on the same subtrees: the two workers slow each other by
//! ≈ 15 % through the shared caches), the 52-column front 78–112 µs (assembly 15 µs) and the
//! root 166–240 µs (assembly — zeroing, `Â`, the children's extend-adds — 32 µs; faer's serial
//! LU of a 180 × 180 matrix alone takes 220 µs here). Splitting the top fronts' assembly by
//! columns too (each thread zeroes and extend-adds its half of the columns) was measured and
//! left out: no change in the two-worker times, and 5 % slower serial refactorisations from the
//! generalised extend-add loops.
//!
//! # Solves
//!
//! With `Q` the block-diagonal product of the supernodes' row permutations, `Q Â = L U`:
//! `A x = b` is `x̂ = U⁻¹ L⁻¹ Q P b`, `x = Pᵀ x̂`, one forward and one backward sweep over the
//! supernodes, gathering and scattering through the row patterns; `Aᵀ x = b` is
//! `x = Pᵀ Qᵀ L⁻ᵀ U⁻ᵀ P b` on the same factors.

use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve as tri;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::sparse::SymbolicSparseColMatRef;
use faer::sparse::linalg::SupernodalThreshold;
use faer::sparse::linalg::cholesky::{
    CholeskySymbolicParams, SymbolicCholeskyRaw, SymmetricOrdering, factorize_symbolic_cholesky,
};
use faer::{Accum, MatMut, MatRef, Par};

use super::helper::Helper;
use crate::error::LinsolveError;
use crate::matrix::CscPattern;

/// `$f::<K>(args)` for a supernode of `K = $k ∈ 1..=8` columns (the kernels' sums then live in
/// registers), `$other` for wider ones. Written `f::<K, G>(args)`, the call passes a second
/// generic argument `G` through: `$f::<K, G>(args)`.
macro_rules! by_width {
    ($k:expr, $f:ident $(::<K, $g:tt>)? ($($a:expr),*), $other:expr) => {
        match $k {
            1 => $f::<1 $(, $g)?>($($a),*),
            2 => $f::<2 $(, $g)?>($($a),*),
            3 => $f::<3 $(, $g)?>($($a),*),
            4 => $f::<4 $(, $g)?>($($a),*),
            5 => $f::<5 $(, $g)?>($($a),*),
            6 => $f::<6 $(, $g)?>($($a),*),
            7 => $f::<7 $(, $g)?>($($a),*),
            8 => $f::<8 $(, $g)?>($($a),*),
            _ => $other,
        }
    };
}

/// Marker for "no parent" in the supernodal elimination tree.
const NONE: usize = usize::MAX;

/// The symbolic analysis: ordering, supernodes, assembly and extend-add maps, memory layout.
#[derive(Debug, Clone)]
pub(crate) struct MultifrontalSymbolic {
    n: usize,
    /// `perm[i]`: original index of pivot `i`.
    perm: Vec<usize>,
    /// Supernode `s` has columns `begin[s]..begin[s + 1]` (permuted numbering).
    begin: Vec<usize>,
    /// Off-diagonal row pattern of `s`: `rows[rows_ptr[s]..rows_ptr[s + 1]]`, sorted.
    rows_ptr: Vec<usize>,
    rows: Vec<usize>,
    /// Position of each row of `rows` in the parent's frontal matrix.
    rel: Vec<u32>,
    /// Children of `s`: `children[children_ptr[s]..children_ptr[s + 1]]`, in processing order.
    children_ptr: Vec<usize>,
    children: Vec<usize>,
    /// Supernode `s` stores its `(k + r) × k` panel `[L11\U11; L21]` and then its `k × r` panel
    /// `U12` (both column-major) at `factors[panel_ptr[s]..panel_ptr[s + 1]]`.
    panel_ptr: Vec<usize>,
    /// Assembly of `Â` into the panels: for supernode `s`, `asm_src[e]` (CSC position in `A`)
    /// goes to `asm_dst[e]` (position in `s`'s panels, from `panel_ptr[s]`),
    /// `e ∈ asm_ptr[s]..asm_ptr[s+1]`.
    /// Every entry of `Â` lands in a fully summed row or column, so in a panel.
    asm_ptr: Vec<usize>,
    asm_src: Vec<u32>,
    asm_dst: Vec<u32>,
    /// Offset of `s`'s `r × r` update matrix in the update pool for the serial order (first fit
    /// among the blocks alive when `s` is factorised: its children's and the pending ones of
    /// earlier subtrees); the parallel plan has its own.
    update_ptr: Vec<usize>,
    /// Rows of `s`'s pattern that fall in the parent's fully summed columns: the first
    /// `rel_split[s]` entries of its `rel` (which ascends).
    rel_split: Vec<usize>,
    /// Largest front order, largest `k`, largest `r`, size of the update pool.
    max_front: usize,
    max_k: usize,
    max_r: usize,
    pool_len: usize,
    /// Entries of `L` and `U` (including the zeros that amalgamation adds) and the flop count
    /// of one numeric factorisation.
    nnz_l: usize,
    nnz_u: usize,
    flops: f64,
    /// The two-worker plan of the tree-parallel factorisation (`None` when the tree does not
    /// split into two nonempty shares).
    plan: Option<ParallelPlan>,
}

/// Two workers factor disjoint sets of subtrees at the same time, then one thread factors the
/// rest (the *top*: the ancestors of those subtrees) in increasing order.
#[derive(Debug, Clone)]
pub(crate) struct ParallelPlan {
    /// The supernodes of worker 0, worker 1 and the top, each as ascending disjoint ranges of
    /// the postorder (a subtree `t` is the range `first_descendant(t)..=t`); together they
    /// cover every supernode once.
    seqs: [Vec<core::ops::Range<usize>>; 3],
    /// Offset of each update matrix in the pool under this plan: each sequence first-fits its
    /// blocks in a region of its own (worker 0's, then worker 1's, then the top's).
    update_ptr: Vec<usize>,
    pool_len: usize,
}

/// The ordering of the symbolic analysis.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SymbolicOrdering<'a> {
    /// Approximate minimum degree on `A + Aᵀ`.
    Amd,
    /// The natural order.
    Natural,
    /// A user ordering: `perm[i]` is the original index eliminated `i`-th.
    Custom(&'a [usize]),
}

impl MultifrontalSymbolic {
    /// Analyses the pattern of a square matrix.
    pub(crate) fn new(
        pattern: &CscPattern,
        ordering: SymbolicOrdering<'_>,
    ) -> Result<Self, LinsolveError> {
        let n = pattern.ncols;
        // Pattern of A + Aᵀ, lower triangle with diagonal (what the symbolic Cholesky reads).
        let mut count = vec![1usize; n]; // the diagonal
        for j in 0..n {
            for &i in &pattern.row_idx[pattern.col_ptr[j]..pattern.col_ptr[j + 1]] {
                if i != j {
                    count[i.min(j)] += 1;
                }
            }
        }
        let mut sym_ptr = vec![0usize; n + 1];
        for j in 0..n {
            sym_ptr[j + 1] = sym_ptr[j] + count[j];
        }
        let mut sym_idx = vec![0usize; sym_ptr[n]];
        let mut next = sym_ptr.clone();
        for j in 0..n {
            sym_idx[next[j]] = j;
            next[j] += 1;
        }
        for j in 0..n {
            for &i in &pattern.row_idx[pattern.col_ptr[j]..pattern.col_ptr[j + 1]] {
                if i != j {
                    let (lo, hi) = (i.min(j), i.max(j));
                    sym_idx[next[lo]] = hi;
                    next[lo] += 1;
                }
            }
        }
        let mut sym_ptr_dedup = vec![0usize; n + 1];
        let mut w = 0;
        for j in 0..n {
            let (s, e) = (sym_ptr[j], sym_ptr[j + 1]);
            let start = w;
            let mut col: Vec<usize> = sym_idx[s..e].to_vec();
            col.sort_unstable();
            col.dedup();
            for (t, &i) in col.iter().enumerate() {
                sym_idx[start + t] = i;
            }
            w = start + col.len();
            sym_ptr_dedup[j + 1] = w;
        }
        sym_idx.truncate(w);
        let sym = SymbolicSparseColMatRef::new_checked(n, n, &sym_ptr_dedup, None, &sym_idx);

        // faer's symbolic Cholesky reads the lower triangle only through its permutation step,
        // which `SymmetricOrdering::Identity` skips: the natural order goes in as the identity
        // permutation.
        let identity: Vec<usize>;
        let custom: &[usize] = match ordering {
            SymbolicOrdering::Amd => &[],
            SymbolicOrdering::Natural => {
                identity = (0..n).collect();
                &identity
            }
            SymbolicOrdering::Custom(p) => p,
        };
        let custom_inv =
            crate::algorithm::inverse_permutation(custom, if custom.is_empty() { 0 } else { n })?;
        let ord = match ordering {
            SymbolicOrdering::Amd => SymmetricOrdering::Amd,
            _ => {
                SymmetricOrdering::Custom(faer::perm::PermRef::new_checked(custom, &custom_inv, n))
            }
        };
        let params = CholeskySymbolicParams {
            supernodal_flop_ratio_threshold: SupernodalThreshold::FORCE_SUPERNODAL,
            ..Default::default()
        };
        let chol = factorize_symbolic_cholesky(sym, faer::Side::Lower, ord, params)
            .map_err(|e| LinsolveError::Backend(format!("symbolic analysis: {e:?}")))?;
        let mut perm: Vec<usize> = match chol.perm() {
            Some(p) => p.arrays().0.to_vec(),
            None => (0..n).collect(),
        };
        // Supernodes (column ranges) and their off-diagonal row patterns; faer returns a
        // simplicial structure for tiny or flop-free matrices, which is one column per supernode.
        let (old_begin, old_rows): (Vec<usize>, Vec<Vec<usize>>) = match chol.raw() {
            SymbolicCholeskyRaw::Supernodal(sn) => {
                let nsn = sn.n_supernodes();
                let (rp, ri) = (sn.col_ptr_for_row_idx(), sn.row_idx());
                (
                    (0..=nsn)
                        .map(|s| if s < nsn { sn.supernode_begin()[s] } else { n })
                        .collect(),
                    (0..nsn).map(|s| ri[rp[s]..rp[s + 1]].to_vec()).collect(),
                )
            }
            SymbolicCholeskyRaw::Simplicial(sp) => {
                let (cp, ri) = (sp.col_ptr(), sp.row_idx());
                (
                    (0..=n).collect(),
                    (0..n)
                        .map(|j| {
                            ri[cp[j]..cp[j + 1]]
                                .iter()
                                .copied()
                                .filter(|&i| i > j)
                                .collect()
                        })
                        .collect(),
                )
            }
        };
        let nsn = old_begin.len() - 1;
        let mut sn_of = vec![0usize; n];
        for s in 0..nsn {
            sn_of[old_begin[s]..old_begin[s + 1]].fill(s);
        }

        // Postorder of the supernodal elimination tree, so that the update matrices form a stack.
        let parent_old: Vec<usize> = (0..nsn)
            .map(|s| old_rows[s].iter().min().map_or(NONE, |&r| sn_of[r]))
            .collect();
        let mut kids: Vec<Vec<usize>> = vec![Vec::new(); nsn];
        let mut roots = Vec::new();
        for (s, &p) in parent_old.iter().enumerate() {
            match p {
                NONE => roots.push(s),
                p => kids[p].push(s),
            }
        }
        let mut post = Vec::with_capacity(nsn);
        let mut dfs: Vec<(usize, usize)> = Vec::new();
        for &root in &roots {
            dfs.push((root, 0));
            while let Some(&mut (s, ref mut next_child)) = dfs.last_mut() {
                if *next_child < kids[s].len() {
                    let c = kids[s][*next_child];
                    *next_child += 1;
                    dfs.push((c, 0));
                } else {
                    post.push(s);
                    dfs.pop();
                }
            }
        }
        if post.len() != nsn {
            return Err(LinsolveError::Backend(
                "supernodal elimination tree is not a forest".into(),
            ));
        }
        // Relabel the columns: supernodes in postorder, columns inside each in order.
        let mut new_of_old_sn = vec![0usize; nsn];
        let mut begin = vec![0usize; nsn + 1];
        let mut new_col = vec![0usize; n]; // old permuted column -> new permuted column
        for (t, &s) in post.iter().enumerate() {
            new_of_old_sn[s] = t;
            let k = old_begin[s + 1] - old_begin[s];
            begin[t + 1] = begin[t] + k;
            for c in 0..k {
                new_col[old_begin[s] + c] = begin[t] + c;
            }
        }
        let mut new_perm = vec![0usize; n];
        for old in 0..n {
            new_perm[new_col[old]] = perm[old];
        }
        perm = new_perm;
        let mut perm_inv = vec![0usize; n];
        for (i, &p) in perm.iter().enumerate() {
            perm_inv[p] = i;
        }
        let mut rows_ptr = vec![0usize; nsn + 1];
        let mut rows = Vec::new();
        let mut parent = vec![NONE; nsn];
        for (t, &s) in post.iter().enumerate() {
            let mut r: Vec<usize> = old_rows[s].iter().map(|&i| new_col[i]).collect();
            r.sort_unstable();
            rows.extend_from_slice(&r);
            rows_ptr[t + 1] = rows.len();
            parent[t] = match parent_old[s] {
                NONE => NONE,
                p => new_of_old_sn[p],
            };
        }
        // Relaxed amalgamation (Ashcraft & Grimes, "The influence of relaxed supernode
        // partitions on the multifrontal method", ACM TOMS 15, 1989): merge a supernode into its
        // parent when it is the parent's last child (its columns precede the parent's, so the
        // merged columns stay contiguous) and the explicit zeros this adds to the factor stay
        // below a fraction that shrinks with the merged size. The merged node keeps the
        // parent's row pattern, which contains the child's.
        let (begin, rows_ptr, rows, parent) = amalgamate(&begin, &rows_ptr, &rows, &parent, RELAX);
        let nsn = begin.len() - 1;
        let mut sn_new = vec![0usize; n];
        for t in 0..nsn {
            sn_new[begin[t]..begin[t + 1]].fill(t);
        }
        let mut children_ptr = vec![0usize; nsn + 1];
        for &p in &parent {
            if p != NONE {
                children_ptr[p + 1] += 1;
            }
        }
        for t in 0..nsn {
            children_ptr[t + 1] += children_ptr[t];
        }
        let mut children = vec![0usize; children_ptr[nsn]];
        let mut fill = children_ptr.clone();
        for (t, &p) in parent.iter().enumerate() {
            if p != NONE {
                children[fill[p]] = t;
                fill[p] += 1;
            }
        }

        // Position of a (new permuted) index in supernode t's front.
        let front_pos = |t: usize, i: usize| -> Option<usize> {
            let (b, e) = (begin[t], begin[t + 1]);
            if (b..e).contains(&i) {
                Some(i - b)
            } else {
                rows[rows_ptr[t]..rows_ptr[t + 1]]
                    .binary_search(&i)
                    .ok()
                    .map(|q| e - b + q)
            }
        };
        let inconsistent = || LinsolveError::Backend("inconsistent symbolic structure".into());

        // The factorisation's index maps are u32 (half the bytes it streams per refactorisation):
        // front positions are below `n`, the entries of `A` number `nnz`, and assembly targets
        // are stored relative to their supernode's panels.
        let index = |x: usize| {
            u32::try_from(x).map_err(|_| {
                LinsolveError::Backend(format!("multifrontal index {x} does not fit in 32 bits"))
            })
        };
        let mut rel = vec![0u32; rows.len()];
        for t in 0..nsn {
            if parent[t] == NONE {
                continue;
            }
            for q in rows_ptr[t]..rows_ptr[t + 1] {
                rel[q] = index(front_pos(parent[t], rows[q]).ok_or_else(inconsistent)?)?;
            }
        }

        // Memory layout of the factors (each supernode's two panels side by side) and flops.
        let mut panel_ptr = vec![0usize; nsn + 1];
        let (mut max_front, mut max_k, mut max_r) = (0, 0, 0);
        let (mut nnz_l, mut nnz_u) = (0usize, 0usize);
        let mut flops = 0.0;
        for t in 0..nsn {
            let k = begin[t + 1] - begin[t];
            let r = rows_ptr[t + 1] - rows_ptr[t];
            let f = k + r;
            panel_ptr[t + 1] = panel_ptr[t] + f * k + k * r;
            nnz_l += f * k;
            nnz_u += k * r;
            max_front = max_front.max(f);
            max_k = max_k.max(k);
            max_r = max_r.max(r);
            flops += front_flops(k, r);
        }

        // Assembly map of A's entries.
        let nnz = pattern.nnz();
        let mut asm_count = vec![0usize; nsn + 1];
        let mut owner = vec![0usize; nnz];
        for j in 0..n {
            for p in pattern.col_ptr[j]..pattern.col_ptr[j + 1] {
                let (pi, pj) = (perm_inv[pattern.row_idx[p]], perm_inv[j]);
                let t = sn_new[pi.min(pj)];
                owner[p] = t;
                asm_count[t + 1] += 1;
            }
        }
        for t in 0..nsn {
            asm_count[t + 1] += asm_count[t];
        }
        let asm_ptr = asm_count.clone();
        let mut asm_src = vec![0u32; nnz];
        let mut asm_dst = vec![0u32; nnz];
        let mut fill = asm_count;
        for j in 0..n {
            for p in pattern.col_ptr[j]..pattern.col_ptr[j + 1] {
                let t = owner[p];
                let (pi, pj) = (perm_inv[pattern.row_idx[p]], perm_inv[j]);
                let k = begin[t + 1] - begin[t];
                let f = k + rows_ptr[t + 1] - rows_ptr[t];
                let (ri, cj) = (
                    front_pos(t, pi).ok_or_else(inconsistent)?,
                    front_pos(t, pj).ok_or_else(inconsistent)?,
                );
                asm_src[fill[t]] = index(p)?;
                asm_dst[fill[t]] = index(if cj < k {
                    cj * f + ri
                } else if ri < k {
                    f * k + (cj - k) * k + ri
                } else {
                    // `t` owns the entry because its row or its column is one of t's columns.
                    return Err(inconsistent());
                })?;
                fill[t] += 1;
            }
        }

        // Update-matrix pool: first fit among the live blocks, in the serial order.
        let mut update_ptr = vec![0usize; nsn];
        let pool_len = first_fit(
            core::slice::from_ref(&(0..nsn)),
            0,
            &rows_ptr,
            &children_ptr,
            &children,
            &mut update_ptr,
        );
        let plan = parallel_plan(&begin, &rows_ptr, &children_ptr, &children, &parent);
        let rel_split: Vec<usize> = (0..nsn)
            .map(|t| match parent[t] {
                NONE => 0,
                p => {
                    let kp = begin[p + 1] - begin[p];
                    rel[rows_ptr[t]..rows_ptr[t + 1]].partition_point(|&x| (x as usize) < kp)
                }
            })
            .collect();
        Ok(Self {
            n,
            perm,
            nnz_l,
            nnz_u,
            begin,
            rows_ptr,
            rows,
            rel,
            children_ptr,
            children,
            panel_ptr,
            asm_ptr,
            asm_src,
            asm_dst,
            update_ptr,
            rel_split,
            max_front,
            max_k,
            max_r,
            pool_len,
            flops,
            plan,
        })
    }

    /// Range of supernode `s`'s panel `[L11\U11; L21]` (`(k + r) × k`) in the factor storage.
    fn l_range(&self, s: usize) -> core::ops::Range<usize> {
        let (k, f) = self.order(s);
        self.panel_ptr[s]..self.panel_ptr[s] + f * k
    }

    /// Range of supernode `s`'s panel `U12` (`k × r`) in the factor storage.
    fn u_range(&self, s: usize) -> core::ops::Range<usize> {
        let (k, f) = self.order(s);
        self.panel_ptr[s] + f * k..self.panel_ptr[s + 1]
    }

    /// `(k, f)`: fully summed columns and front order of supernode `s`.
    fn order(&self, s: usize) -> (usize, usize) {
        let k = self.begin[s + 1] - self.begin[s];
        (k, k + self.rows_ptr[s + 1] - self.rows_ptr[s])
    }

    /// Number of supernodes.
    pub(crate) fn n_supernodes(&self) -> usize {
        self.begin.len() - 1
    }

    /// The update-pool layout (offsets and length) of the parallel plan when `parallel` (and
    /// there is one), of the serial order otherwise.
    fn pool_layout(&self, parallel: bool) -> (&[usize], usize) {
        match &self.plan {
            Some(plan) if parallel => (&plan.update_ptr, plan.pool_len),
            _ => (&self.update_ptr, self.pool_len),
        }
    }

    /// Supernodes, stored entries of `L` and `U`, flops of one factorisation, largest front.
    pub(crate) fn summary(&self) -> (usize, usize, f64, usize) {
        (
            self.n_supernodes(),
            self.nnz_l + self.nnz_u,
            self.flops,
            self.max_front,
        )
    }

    /// Scratch a solve with `k` right-hand sides needs (values): the gather block.
    pub(crate) fn solve_scratch_len(&self, k: usize) -> usize {
        self.n * k + self.max_r.max(self.max_k) * k
    }
}

/// Why a static-pivot factorisation failed: a pivot vanished or a multiplier exceeded the
/// growth bound. `column` is the column of the original matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StaticPivotFailure {
    pub(crate) column: usize,
    pub(crate) zero_pivot: bool,
}

/// The numeric factors and the working memory of refactorisations.
#[derive(Debug)]
pub(crate) struct MultifrontalLu {
    /// Each supernode's panels `[L11\U11; L21]` and `U12`, at the symbolic analysis's offsets.
    factors: Vec<f64>,
    /// Local row permutation of each supernode: pivot `i` of `s` is front row `piv[begin[s]+i]`.
    piv: Vec<usize>,
    /// The update matrices `F22 − L21 U12` waiting for their parents (laid out for the serial
    /// order, or for the parallel plan when there is a `helper`).
    pool: Vec<f64>,
    /// Scratch of the dense front kernels: one per worker (the serial path and the top use the
    /// first).
    scratch: Vec<FrontScratch>,
    par: Par,
    /// The second worker's thread: refactorisations run the two-worker plan when there is one
    /// (`par` asks for two threads or more and the symbolic analysis found a plan).
    helper: Option<Helper>,
    /// Whether the numeric factorisation runs its AVX2 + FMA build (x86-64 CPUs that have both).
    fma: bool,
}

/// One thread's scratch for the front kernels.
#[derive(Debug)]
struct FrontScratch {
    perm_tmp: Vec<usize>,
    perm_stack: Vec<usize>,
    row_tmp: Vec<f64>,
}

impl FrontScratch {
    fn new(max_k: usize) -> Self {
        Self {
            perm_tmp: vec![0; max_k],
            perm_stack: vec![0; perm_stack_len(max_k, max_k)],
            row_tmp: vec![0.0; max_k],
        }
    }
}

/// The factor storage as seen by the sequences of one factorisation: raw pointers, so that the
/// two workers of the parallel path can each hold mutable slices of it at the same time.
///
/// Invariant (what makes the accessors sound): while a `FactorView` is in use, every supernode
/// `s` is factorised by exactly one sequence, and that sequence alone touches `s`'s panels
/// (`factors[panel_ptr[s]..panel_ptr[s + 1]]`), its pivots (`piv[begin[s]..begin[s + 1]]`)
/// and, for writing, its update block; it reads the update blocks of `s`'s children only after
/// their sequence has written them (the same sequence earlier, or a worker the top waits
/// for). The pool layout of the sequence set in use gives blocks alive at the same time
/// disjoint ranges ([`first_fit`] within a sequence, one region per sequence).
struct FactorView<'a> {
    factors: *mut f64,
    factors_len: usize,
    piv: *mut usize,
    piv_len: usize,
    pool: *mut f64,
    pool_len: usize,
    _borrow: core::marker::PhantomData<&'a mut [f64]>,
}

// SAFETY: the view hands out slices only through its `unsafe` accessors, whose callers
// guarantee (by the invariant above) that no two threads touch overlapping ranges unless both
// only read.
unsafe impl Sync for FactorView<'_> {}

impl<'a> FactorView<'a> {
    /// The view of `factors`, `piv` and `pool`, borrowed mutably for `'a`.
    fn new(factors: &'a mut [f64], piv: &'a mut [usize], pool: &'a mut [f64]) -> Self {
        Self {
            factors_len: factors.len(),
            factors: factors.as_mut_ptr(),
            piv_len: piv.len(),
            piv: piv.as_mut_ptr(),
            pool_len: pool.len(),
            pool: pool.as_mut_ptr(),
            _borrow: core::marker::PhantomData,
        }
    }

    /// `factors[range]`, mutably.
    ///
    /// # Safety
    /// No other reference to an overlapping part of `factors` is alive while the slice is.
    #[allow(clippy::mut_from_ref)] // the caller's disjointness makes the aliasing sound
    unsafe fn factors_mut(&self, range: core::ops::Range<usize>) -> &mut [f64] {
        assert!(range.start <= range.end && range.end <= self.factors_len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe {
            core::slice::from_raw_parts_mut(self.factors.add(range.start), range.end - range.start)
        }
    }

    /// `piv[range]`, mutably.
    ///
    /// # Safety
    /// As for [`FactorView::factors_mut`], on `piv`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn piv_mut(&self, range: core::ops::Range<usize>) -> &mut [usize] {
        assert!(range.start <= range.end && range.end <= self.piv_len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe {
            core::slice::from_raw_parts_mut(self.piv.add(range.start), range.end - range.start)
        }
    }

    /// `pool[range]`.
    ///
    /// # Safety
    /// No mutable reference to an overlapping part of `pool` is alive while the slice is.
    unsafe fn pool(&self, range: core::ops::Range<usize>) -> &[f64] {
        assert!(range.start <= range.end && range.end <= self.pool_len);
        // SAFETY: in bounds (checked); not written meanwhile by the caller's contract.
        unsafe { core::slice::from_raw_parts(self.pool.add(range.start), range.end - range.start) }
    }

    /// `pool[range]`, mutably.
    ///
    /// # Safety
    /// No other reference to an overlapping part of `pool` is alive while the slice is.
    #[allow(clippy::mut_from_ref)]
    unsafe fn pool_mut(&self, range: core::ops::Range<usize>) -> &mut [f64] {
        assert!(range.start <= range.end && range.end <= self.pool_len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe {
            core::slice::from_raw_parts_mut(self.pool.add(range.start), range.end - range.start)
        }
    }
}

/// What every sequence of one factorisation shares.
struct FactorJob<'a> {
    sym: &'a MultifrontalSymbolic,
    values: &'a [f64],
    growth_limit: f64,
    /// The pool layout in use (serial or the plan's).
    update_ptr: &'a [usize],
    view: FactorView<'a>,
}

/// A sequence stopped at supernode `.0`, which failed with `.1`.
type SequenceFailure = (usize, StaticPivotFailure);

impl MultifrontalLu {
    /// Storage for the factors of `sym`; `par` with two threads or more selects the two-worker
    /// factorisation when `sym` has a plan (and is faer's parallelism for the solves).
    pub(crate) fn new(sym: &MultifrontalSymbolic, par: Par) -> Self {
        // The second worker's thread (started once here); should the system refuse a thread,
        // refactorisations run serially.
        let helper = if matches!(par, Par::Rayon(t) if t.get() >= 2) && sym.plan.is_some() {
            Helper::spawn().ok()
        } else {
            None
        };
        let (_, pool_len) = sym.pool_layout(helper.is_some());
        let mut scratch = vec![FrontScratch::new(sym.max_k)];
        if helper.is_some() {
            scratch.push(FrontScratch::new(sym.max_k));
        }
        Self {
            factors: vec![0.0; sym.nnz_l + sym.nnz_u],
            piv: vec![0; sym.n],
            pool: vec![0.0; pool_len],
            scratch,
            par,
            helper,
            fma: fma_available(),
        }
    }

    /// Numeric factorisation of the matrix with CSC `values` on the analysed pattern.
    ///
    /// `pivot_threshold ∈ [0, 1]`: a multiplier larger than `1 / pivot_threshold` in magnitude
    /// fails the factorisation (0 accepts any nonzero pivot).
    ///
    /// The front of supernode `s` is never formed as one matrix: its fully summed columns are
    /// assembled in place in the `L` panel, its fully summed rows in the `U12` panel and the
    /// rest in `s`'s block of the update pool, so nothing is copied after the arithmetic.
    ///
    /// On x86-64 CPUs with AVX2 and FMA the whole loop (assembly, extend-add, the small-front
    /// kernels) is compiled for them and the kernels fuse their multiply–subtracts: the
    /// small fronts' arithmetic is bound by the 2-wide SSE2 multiply/subtract pairs otherwise.
    /// Every factorisation on one machine takes the same path, so a refactorisation reproduces a
    /// fresh factorisation bit for bit.
    ///
    /// With the two-worker plan, the same supernode computation runs on the same data in the
    /// same order within each front, so the factors are those of the serial path bit for bit
    /// (the top's split dense kernels split as the serial path does); a failure is the one the
    /// serial path reports (the failing supernode first in postorder).
    pub(crate) fn factor(
        &mut self,
        sym: &MultifrontalSymbolic,
        values: &[f64],
        pivot_threshold: f64,
    ) -> Result<(), StaticPivotFailure> {
        let growth_limit = if pivot_threshold > 0.0 {
            1.0 / pivot_threshold
        } else {
            f64::INFINITY
        };
        let fma = self.fma;
        let plan = sym.plan.as_ref().zip(self.helper.as_mut());
        let job = FactorJob {
            sym,
            values,
            growth_limit,
            update_ptr: sym.pool_layout(plan.is_some()).0,
            view: FactorView::new(&mut self.factors, &mut self.piv, &mut self.pool),
        };
        let Some((plan, helper)) = plan else {
            let all = 0..sym.n_supernodes();
            let seq = core::slice::from_ref(&all);
            return run_sequence(fma, &job, seq, NONE, &mut self.scratch[0], self.par, None)
                .map_err(|f| f.1);
        };
        let (s0, s1) = self.scratch.split_at_mut(1);
        let (w0, w1) = (&mut s0[0], &mut s1[0]);
        let (r0, r1) = helper.join(
            || run_sequence(fma, &job, &plan.seqs[0], NONE, w0, Par::Seq, None),
            || run_sequence(fma, &job, &plan.seqs[1], NONE, &mut *w1, Par::Seq, None),
        );
        // Each worker stops at its first failure, having factorised every supernode of its own
        // before it: every supernode before the earlier of the two failures is done, and the
        // top supernodes before it are the serial path's remaining candidates for an earlier
        // failure.
        let failed = [r0.err(), r1.err()]
            .into_iter()
            .flatten()
            .min_by_key(|f| f.0);
        let limit = failed.map_or(NONE, |f| f.0);
        // The top's large fronts split their dense kernels with the helper.
        let mut pair = Pair {
            helper,
            row_tmp: &mut w1.row_tmp,
        };
        run_sequence(
            fma,
            &job,
            &plan.seqs[2],
            limit,
            w0,
            Par::Seq,
            Some(&mut pair),
        )
        .and(failed.map_or(Ok(()), Err))
        .map_err(|f| f.1)
    }

    /// `rhs ← A⁻¹ rhs` (or `A⁻ᵀ rhs` with `transpose`) for every column of `rhs` (`n × nrhs`,
    /// column-major slice); `work.len() ≥ sym.solve_scratch_len(nrhs)`.
    pub(crate) fn solve_in_place(
        &self,
        sym: &MultifrontalSymbolic,
        transpose: bool,
        rhs: &mut [f64],
        nrhs: usize,
        work: &mut [f64],
    ) {
        let n = sym.n;
        let (xhat, gather) = work.split_at_mut(n * nrhs);
        // x̂ = P b
        for c in 0..nrhs {
            let (src, dst) = (&rhs[c * n..(c + 1) * n], &mut xhat[c * n..(c + 1) * n]);
            for (i, d) in dst.iter_mut().enumerate() {
                *d = src[sym.perm[i]];
            }
        }
        if nrhs >= SOLVE_BLOCK {
            // Blocks of right-hand sides: faer's dense kernels per supernode.
            if transpose {
                self.sweep_ut(sym, xhat, nrhs, gather);
                self.sweep_lt(sym, xhat, nrhs, gather);
            } else {
                self.sweep_l(sym, xhat, nrhs, gather);
                self.sweep_u(sym, xhat, nrhs, gather);
            }
        } else {
            // Few right-hand sides: column by column with plain loops (most supernodes are too
            // small for a kernel call to pay).
            for x in xhat.chunks_exact_mut(n) {
                if transpose {
                    self.column_ut(sym, x, gather);
                    self.column_lt(sym, x, gather);
                } else {
                    self.column_l(sym, x, gather);
                    self.column_u(sym, x);
                }
            }
        }
        // x = Pᵀ x̂
        for c in 0..nrhs {
            let (src, dst) = (&xhat[c * n..(c + 1) * n], &mut rhs[c * n..(c + 1) * n]);
            for (i, &v) in src.iter().enumerate() {
                dst[sym.perm[i]] = v;
            }
        }
    }

    /// Forward sweep with `L` for one right-hand side.
    fn column_l(&self, sym: &MultifrontalSymbolic, x: &mut [f64], tmp: &mut [f64]) {
        for s in 0..sym.n_supernodes() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let f = k + rows.len();
            let lp = &self.factors[sym.l_range(s)];
            let piv = &self.piv[b..e];
            if piv.iter().enumerate().any(|(i, &p)| i != p) {
                for (i, &p) in piv.iter().enumerate() {
                    tmp[i] = x[b + p];
                }
                x[b..e].copy_from_slice(&tmp[..k]);
            }
            // x_s ← L11⁻¹ x_s.
            let xs = &mut x[b..e];
            for j in 0..k {
                let (head, tail) = xs.split_at_mut(j + 1);
                let xj = head[j];
                for (xi, &l) in tail.iter_mut().zip(&lp[j * f + j + 1..j * f + k]) {
                    *xi -= l * xj;
                }
            }
            if rows.is_empty() {
                continue;
            }
            // x_R ← x_R − L21 x_s: the products summed in `tmp` (contiguous, vectorisable),
            // then one scattered update per row.
            let acc = &mut tmp[..rows.len()];
            let xs = &x[b..e];
            by_width!(k, l21_product(lp, f, xs, acc), {
                acc.fill(0.0);
                for (j, &xj) in xs.iter().enumerate() {
                    for (a, &l) in acc.iter_mut().zip(&lp[j * f + k..(j + 1) * f]) {
                        *a += l * xj;
                    }
                }
            });
            for (&row, &a) in rows.iter().zip(acc.iter()) {
                *get_mut(x, row) -= a;
            }
        }
    }

    /// Backward sweep with `U` for one right-hand side.
    fn column_u(&self, sym: &MultifrontalSymbolic, x: &mut [f64]) {
        for s in (0..sym.n_supernodes()).rev() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let f = k + rows.len();
            let lp = &self.factors[sym.l_range(s)];
            let up = &self.factors[sym.u_range(s)];
            // x_s ← x_s − U12 x_R.
            by_width!(k, u12_update(up, rows, x, b), {
                for (ucol, &row) in up.chunks_exact(k).zip(rows) {
                    let xr = get(x, row);
                    for (xi, &u) in x[b..e].iter_mut().zip(ucol) {
                        *xi -= u * xr;
                    }
                }
            });
            // x_s ← U11⁻¹ x_s.
            let xs = &mut x[b..e];
            for j in (0..k).rev() {
                let col = &lp[j * f..j * f + j + 1];
                let (head, tail) = xs.split_at_mut(j);
                let xj = tail[0] / col[j];
                tail[0] = xj;
                for (xi, &u) in head.iter_mut().zip(col) {
                    *xi -= u * xj;
                }
            }
        }
    }

    /// Forward sweep with `Uᵀ` for one right-hand side.
    fn column_ut(&self, sym: &MultifrontalSymbolic, x: &mut [f64], tmp: &mut [f64]) {
        for s in 0..sym.n_supernodes() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let f = k + rows.len();
            let lp = &self.factors[sym.l_range(s)];
            let up = &self.factors[sym.u_range(s)];
            by_width!(
                k,
                ut_column(lp, up, f, rows, x, b),
                ut_column_wide(lp, up, f, k, rows, x, b, tmp)
            );
        }
    }

    /// Backward sweep with `Lᵀ` for one right-hand side, undoing the row permutations.
    fn column_lt(&self, sym: &MultifrontalSymbolic, x: &mut [f64], tmp: &mut [f64]) {
        for s in (0..sym.n_supernodes()).rev() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let f = k + rows.len();
            let lp = &self.factors[sym.l_range(s)];
            by_width!(
                k,
                lt_column(lp, f, rows, x, b),
                lt_column_wide(lp, f, k, rows, x, b, tmp)
            );
            let piv = &self.piv[b..e];
            if piv.iter().enumerate().any(|(i, &p)| i != p) {
                for (i, &p) in piv.iter().enumerate() {
                    tmp[p] = x[b + i];
                }
                x[b..e].copy_from_slice(&tmp[..k]);
            }
        }
    }

    /// The panels of supernode `s`: `[L11\U11; L21]` (`f × k`) and `U12` (`k × r`).
    fn panels(&self, sym: &MultifrontalSymbolic, s: usize) -> (MatRef<'_, f64>, MatRef<'_, f64>) {
        let k = sym.begin[s + 1] - sym.begin[s];
        let r = sym.rows_ptr[s + 1] - sym.rows_ptr[s];
        (
            MatRef::from_column_major_slice(&self.factors[sym.l_range(s)], k + r, k),
            MatRef::from_column_major_slice(&self.factors[sym.u_range(s)], k, r),
        )
    }

    /// Forward sweep with `L` (rows pivoted per supernode on the way).
    fn sweep_l(&self, sym: &MultifrontalSymbolic, x: &mut [f64], nrhs: usize, gather: &mut [f64]) {
        let n = sym.n;
        for s in 0..sym.n_supernodes() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let r = rows.len();
            let (lp, _) = self.panels(sym, s);
            let piv = &self.piv[b..e];
            let tmp = &mut gather[..k];
            for c in 0..nrhs {
                let xs = &mut x[c * n + b..c * n + e];
                for (i, t) in tmp.iter_mut().enumerate() {
                    *t = xs[piv[i]];
                }
                xs.copy_from_slice(tmp);
            }
            let mut xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
            tri::solve_unit_lower_triangular_in_place(lp.get(..k, ..), xm.rb_mut(), self.par);
            if r > 0 {
                let mut g = MatMut::from_column_major_slice_mut(&mut gather[..r * nrhs], r, nrhs);
                matmul(
                    g.rb_mut(),
                    Accum::Replace,
                    lp.get(k.., ..),
                    xm.rb(),
                    1.0,
                    self.par,
                );
                for c in 0..nrhs {
                    for (t, &i) in rows.iter().enumerate() {
                        x[c * n + i] -= g[(t, c)];
                    }
                }
            }
        }
    }

    /// Backward sweep with `U`.
    fn sweep_u(&self, sym: &MultifrontalSymbolic, x: &mut [f64], nrhs: usize, gather: &mut [f64]) {
        let n = sym.n;
        for s in (0..sym.n_supernodes()).rev() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let r = rows.len();
            let (lp, up) = self.panels(sym, s);
            if r > 0 {
                let mut g = MatMut::from_column_major_slice_mut(&mut gather[..r * nrhs], r, nrhs);
                for c in 0..nrhs {
                    for (t, &i) in rows.iter().enumerate() {
                        g[(t, c)] = x[c * n + i];
                    }
                }
                let xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
                matmul(xm, Accum::Add, up, g.rb(), -1.0, self.par);
            }
            let xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
            tri::solve_upper_triangular_in_place(lp.get(..k, ..), xm, self.par);
        }
    }

    /// Forward sweep with `Uᵀ`.
    fn sweep_ut(&self, sym: &MultifrontalSymbolic, x: &mut [f64], nrhs: usize, gather: &mut [f64]) {
        let n = sym.n;
        for s in 0..sym.n_supernodes() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let r = rows.len();
            let (lp, up) = self.panels(sym, s);
            let mut xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
            tri::solve_lower_triangular_in_place(
                lp.get(..k, ..).transpose(),
                xm.rb_mut(),
                self.par,
            );
            if r > 0 {
                let mut g = MatMut::from_column_major_slice_mut(&mut gather[..r * nrhs], r, nrhs);
                matmul(
                    g.rb_mut(),
                    Accum::Replace,
                    up.transpose(),
                    xm.rb(),
                    1.0,
                    self.par,
                );
                for c in 0..nrhs {
                    for (t, &i) in rows.iter().enumerate() {
                        x[c * n + i] -= g[(t, c)];
                    }
                }
            }
        }
    }

    /// Backward sweep with `Lᵀ`, undoing each supernode's row permutation on the way.
    fn sweep_lt(&self, sym: &MultifrontalSymbolic, x: &mut [f64], nrhs: usize, gather: &mut [f64]) {
        let n = sym.n;
        for s in (0..sym.n_supernodes()).rev() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let k = e - b;
            let rows = &sym.rows[sym.rows_ptr[s]..sym.rows_ptr[s + 1]];
            let r = rows.len();
            let (lp, _) = self.panels(sym, s);
            if r > 0 {
                let mut g = MatMut::from_column_major_slice_mut(&mut gather[..r * nrhs], r, nrhs);
                for c in 0..nrhs {
                    for (t, &i) in rows.iter().enumerate() {
                        g[(t, c)] = x[c * n + i];
                    }
                }
                let xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
                matmul(
                    xm,
                    Accum::Add,
                    lp.get(k.., ..).transpose(),
                    g.rb(),
                    -1.0,
                    self.par,
                );
            }
            let xm = MatMut::from_column_major_slice_with_stride_mut(&mut x[b..], k, nrhs, n);
            tri::solve_unit_upper_triangular_in_place(lp.get(..k, ..).transpose(), xm, self.par);
            let piv = &self.piv[b..e];
            let tmp = &mut gather[..k];
            for c in 0..nrhs {
                let xs = &mut x[c * n + b..c * n + e];
                for (i, &p) in piv.iter().enumerate() {
                    tmp[p] = xs[i];
                }
                xs.copy_from_slice(tmp);
            }
        }
    }
}

/// Factorises the supernodes of `seq` (ascending ranges) below `limit` in order, on the
/// AVX2 + FMA build when `fma`; stops at the first failure.
fn run_sequence(
    fma: bool,
    job: &FactorJob<'_>,
    seq: &[core::ops::Range<usize>],
    limit: usize,
    scratch: &mut FrontScratch,
    par: Par,
    pair: Option<&mut Pair<'_>>,
) -> Result<(), SequenceFailure> {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only when the CPU reports AVX2 and FMA (`fma_available`).
        return unsafe { run_sequence_avx2_fma(job, seq, limit, scratch, par, pair) };
    }
    let _ = fma;
    run_sequence_with::<{ cfg!(target_arch = "aarch64") }>(job, seq, limit, scratch, par, pair)
}

/// [`run_sequence`] compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_sequence_avx2_fma(
    job: &FactorJob<'_>,
    seq: &[core::ops::Range<usize>],
    limit: usize,
    scratch: &mut FrontScratch,
    par: Par,
    pair: Option<&mut Pair<'_>>,
) -> Result<(), SequenceFailure> {
    run_sequence_with::<true>(job, seq, limit, scratch, par, pair)
}

/// The factorisation loop over a sequence; `FMA`: the kernels fuse multiply–subtracts
/// (instantiated with `true` only where the target has FMA: inlined into
/// [`run_sequence_avx2_fma`], or on aarch64).
#[inline(always)]
fn run_sequence_with<const FMA: bool>(
    job: &FactorJob<'_>,
    seq: &[core::ops::Range<usize>],
    limit: usize,
    scratch: &mut FrontScratch,
    par: Par,
    mut pair: Option<&mut Pair<'_>>,
) -> Result<(), SequenceFailure> {
    for range in seq {
        for s in range.start..range.end.min(limit) {
            factor_supernode::<FMA>(job, s, scratch, par, pair.as_deref_mut())
                .map_err(|f| (s, f))?;
        }
    }
    Ok(())
}

/// Assembles, factorises and extend-adds supernode `s` (its children done): the one body of
/// the serial and the parallel paths.
#[inline(always)]
fn factor_supernode<const FMA: bool>(
    job: &FactorJob<'_>,
    s: usize,
    scratch: &mut FrontScratch,
    par: Par,
    pair: Option<&mut Pair<'_>>,
) -> Result<(), StaticPivotFailure> {
    let sym = job.sym;
    let (b, e) = (sym.begin[s], sym.begin[s + 1]);
    let (k, f) = sym.order(s);
    let r = f - k;
    let base = sym.panel_ptr[s];
    let up = job.update_ptr[s];
    // SAFETY (all accesses to `job.view` below): `s` is factorised by this sequence alone, so
    // its panels, its pivots and its update block are touched by no other thread; its
    // children's blocks were written before (earlier in this sequence, or by a worker the top
    // has joined) and are only read now; the layout keeps a child's block disjoint from its
    // parent's (the child's is alive when the parent's is placed) — see [`FactorView`].
    let panels = unsafe { job.view.factors_mut(base..sym.panel_ptr[s + 1]) };
    panels.fill(0.0);
    let range = sym.asm_ptr[s]..sym.asm_ptr[s + 1];
    for (&dst, &src) in sym.asm_dst[range.clone()].iter().zip(&sym.asm_src[range]) {
        // `dst` is a position in `s`'s panels and `src < nnz` by construction of the map.
        *get_mut(panels, dst as usize) += get(job.values, src as usize);
    }
    // The children's update matrices: their rows and columns in s's fully summed block now,
    // the rest (in F22) after the Schur complement has overwritten F22, so that F22 is never
    // zeroed.
    let children = &sym.children[sym.children_ptr[s]..sym.children_ptr[s + 1]];
    for &c in children {
        let rel = &sym.rel[sym.rows_ptr[c]..sym.rows_ptr[c + 1]];
        let rc = rel.len();
        let pc = job.update_ptr[c];
        // SAFETY: see above.
        let child = unsafe { job.view.pool(pc..pc + rc * rc) };
        extend_add_panels(panels, f, k, child, rel, sym.rel_split[c]);
    }

    // Factor the fully summed block with pivoting inside it, and form L21, U12 and the update
    // matrix F22 − L21 U12.
    let (lp, u12) = panels.split_at_mut(f * k);
    // SAFETY: see above; `s`'s block is disjoint from its children's, read below.
    let f22 = unsafe { job.view.pool_mut(up..up + r * r) };
    let perm = &mut scratch.perm_tmp[..k];
    let outcome = if k <= SMALL_BLOCK {
        small_front_lu::<FMA>(lp, u12, f22, f, k, perm, job.growth_limit)
    } else {
        let dense = DenseScratch {
            fma: FMA && cfg!(target_arch = "x86_64"),
            perm_stack: &mut scratch.perm_stack,
            row_tmp: &mut scratch.row_tmp[..k],
            par,
        };
        blocked_front_lu(lp, u12, f22, f, k, perm, dense, pair, job.growth_limit)
    };
    if let Err((j, zero_pivot)) = outcome {
        return Err(StaticPivotFailure {
            column: sym.perm[b + j],
            zero_pivot,
        });
    }
    // SAFETY: see above.
    unsafe { job.view.piv_mut(b..e) }.copy_from_slice(&scratch.perm_tmp[..k]);
    for &c in children {
        let rel = &sym.rel[sym.rows_ptr[c]..sym.rows_ptr[c + 1]];
        let rc = rel.len();
        let pc = job.update_ptr[c];
        // The layout's promise that a child's block and its parent's are disjoint, checked
        // (once per child: cheap) since the two slices below coexist.
        assert!(pc + rc * rc <= up || up + r * r <= pc || rc * r == 0);
        // SAFETY: see above.
        let child = unsafe { job.view.pool(pc..pc + rc * rc) };
        extend_add_update(f22, r, k, child, rel, sym.rel_split[c]);
    }
    Ok(())
}

/// Flops of a front with `k` fully summed columns and `r` further rows: the LU of `F11`, two
/// triangular solves with `k × r` right-hand sides, the Schur update.
fn front_flops(k: usize, r: usize) -> f64 {
    let (k, r) = (k as f64, r as f64);
    2.0 / 3.0 * k * k * k + 2.0 * k * k * r + 2.0 * k * r * r
}

/// Per-front overhead of the plan's cost model, in flop equivalents: the fixed cost of a front
/// (zeroing and assembling the panels, the kernel calls, the extend-add loops' set-up) that
/// the flop count misses. About 1 µs at the ≈ 3 Gflop/s the small fronts reach; it makes a
/// subtree of many one-column fronts weigh what it costs rather than its few flops.
const FRONT_OVERHEAD: f64 = 3000.0;

/// A worker's share may exceed half of the parallel work by this fraction of it before the
/// plan splits the heaviest subtree further.
const PLAN_BALANCE: f64 = 0.55;

/// Places the update matrices of the supernodes of `seq` (ascending ranges of the postorder,
/// processed in that order) by first fit among the blocks alive at each step, from offset
/// `base`; returns the length of the region used. A block is alive from its supernode's
/// factorisation until its parent's; a block whose parent is not in `seq` stays alive to the
/// end of `seq` (it is read after this sequence has finished).
fn first_fit(
    seq: &[core::ops::Range<usize>],
    base: usize,
    rows_ptr: &[usize],
    children_ptr: &[usize],
    children: &[usize],
    update_ptr: &mut [usize],
) -> usize {
    let mut live: Vec<(usize, usize, usize)> = Vec::new(); // (offset, end, supernode), by offset
    let mut len = 0usize;
    for t in seq.iter().flat_map(Clone::clone) {
        let r = rows_ptr[t + 1] - rows_ptr[t];
        let size = r * r;
        if size > 0 {
            let mut at = 0usize;
            let mut slot = live.len();
            for (q, &(o, e, _)) in live.iter().enumerate() {
                if o >= at + size {
                    slot = q;
                    break;
                }
                at = at.max(e);
            }
            live.insert(slot, (at, at + size, t));
            update_ptr[t] = base + at;
            len = len.max(at + size);
        }
        // t's children are consumed by t: free them after t's block is placed (they are read
        // while t's block is written). Children of other sequences were never placed here.
        let kids = &children[children_ptr[t]..children_ptr[t + 1]];
        live.retain(|&(_, _, c)| !kids.contains(&c));
    }
    len
}

/// The two-worker plan: subtrees assigned to two bins, largest first (LPT), starting from the
/// roots; while the heavier bin holds more than [`PLAN_BALANCE`] of the assigned cost and the
/// heaviest subtree has children, that subtree's root moves to the top and its children join
/// the candidates. `None` when one bin stays empty.
fn parallel_plan(
    begin: &[usize],
    rows_ptr: &[usize],
    children_ptr: &[usize],
    children: &[usize],
    parent: &[usize],
) -> Option<ParallelPlan> {
    let nsn = begin.len() - 1;
    let kids = |t: usize| &children[children_ptr[t]..children_ptr[t + 1]];
    // Own cost, subtree cost and first descendant (children precede parents in postorder).
    let mut subtree = vec![0.0f64; nsn];
    let mut first = vec![0usize; nsn];
    for t in 0..nsn {
        let (k, r) = (begin[t + 1] - begin[t], rows_ptr[t + 1] - rows_ptr[t]);
        subtree[t] += front_flops(k, r) + FRONT_OVERHEAD;
        first[t] = kids(t).iter().map(|&c| first[c]).min().unwrap_or(t);
        if parent[t] != NONE {
            subtree[parent[t]] += subtree[t];
        }
    }
    let mut frontier: Vec<usize> = (0..nsn).filter(|&t| parent[t] == NONE).collect();
    let mut bins: [Vec<usize>; 2];
    let mut load: [f64; 2];
    loop {
        // Largest first, ties by index (deterministic).
        frontier.sort_by(|&a, &b| subtree[b].total_cmp(&subtree[a]).then(a.cmp(&b)));
        bins = [Vec::new(), Vec::new()];
        load = [0.0; 2];
        for &t in &frontier {
            let w = usize::from(load[1] < load[0]);
            bins[w].push(t);
            load[w] += subtree[t];
        }
        let total = load[0] + load[1];
        let heaviest = frontier[0];
        if load[0].max(load[1]) <= PLAN_BALANCE * total || kids(heaviest).is_empty() {
            break;
        }
        frontier.remove(0);
        frontier.extend_from_slice(kids(heaviest));
    }
    if bins.iter().any(Vec::is_empty) {
        return None;
    }
    let mut owner = vec![2u8; nsn];
    let mut seqs: [Vec<core::ops::Range<usize>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for w in 0..2 {
        let mut ranges: Vec<_> = bins[w].iter().map(|&t| first[t]..t + 1).collect();
        ranges.sort_by_key(|r| r.start);
        for range in &ranges {
            owner[range.clone()].fill(w as u8);
        }
        seqs[w] = ranges;
    }
    // The top: the complement, as maximal ranges.
    let mut t = 0;
    while t < nsn {
        if owner[t] == 2 {
            let start = t;
            while t < nsn && owner[t] == 2 {
                t += 1;
            }
            seqs[2].push(start..t);
        } else {
            t += 1;
        }
    }
    let mut update_ptr = vec![0usize; nsn];
    let mut pool_len = 0;
    for seq in &seqs {
        pool_len += first_fit(
            seq,
            pool_len,
            rows_ptr,
            children_ptr,
            children,
            &mut update_ptr,
        );
    }
    Some(ParallelPlan {
        seqs,
        update_ptr,
        pool_len,
    })
}

/// Amalgamation thresholds `(max merged columns, max fraction of explicit zeros)`: a merge is
/// accepted when any pair allows it. These are faer's defaults for its own relaxed supernodes
/// (which, applied to the Cholesky structure, leave most of the small leaf supernodes of P3
/// unmerged: this pass merges further along parent–last-child chains, 1054 → 926 supernodes at
/// n = 2048).
const RELAX: &[(usize, f64)] = &[(4, 1.0), (16, 0.8), (48, 0.1), (usize::MAX, 0.05)];

/// Merges each supernode into its parent when it is the last child and [`RELAX`] allows it;
/// returns the new `(begin, rows_ptr, rows, parent)`, still in postorder.
fn amalgamate(
    begin: &[usize],
    rows_ptr: &[usize],
    rows: &[usize],
    parent: &[usize],
    relax: &[(usize, f64)],
) -> (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>) {
    let nsn = begin.len() - 1;
    let lower = |k: usize, r: usize| (k * r + k * (k + 1) / 2) as f64;
    let mut start: Vec<usize> = begin[..nsn].to_vec();
    let mut alive = vec![true; nsn];
    // Structural entries of the lower factor in each (merged) node.
    let mut true_entries: Vec<f64> = (0..nsn)
        .map(|s| lower(begin[s + 1] - begin[s], rows_ptr[s + 1] - rows_ptr[s]))
        .collect();
    for s in 0..nsn {
        let p = parent[s];
        if p != s + 1 {
            continue;
        }
        let km = begin[p + 1] - start[s];
        let rp = rows_ptr[p + 1] - rows_ptr[p];
        let merged_true = true_entries[s] + true_entries[p];
        let zeros = 1.0 - merged_true / lower(km, rp);
        if relax.iter().any(|&(cols, z)| km <= cols && zeros < z) {
            alive[s] = false;
            start[p] = start[s];
            true_entries[p] = merged_true;
        }
    }
    // Renumber the surviving nodes; a merged node's role passes to the next surviving one.
    let mut new_id = vec![NONE; nsn];
    let mut count = 0;
    for s in 0..nsn {
        if alive[s] {
            new_id[s] = count;
            count += 1;
        }
    }
    let mut next_alive = vec![NONE; nsn + 1];
    for s in (0..nsn).rev() {
        next_alive[s] = if alive[s] { s } else { next_alive[s + 1] };
    }
    let mut nb = Vec::with_capacity(count + 1);
    let mut nrp = vec![0usize];
    let mut nr = Vec::new();
    let mut np = Vec::with_capacity(count);
    for s in 0..nsn {
        if !alive[s] {
            continue;
        }
        nb.push(start[s]);
        nr.extend_from_slice(&rows[rows_ptr[s]..rows_ptr[s + 1]]);
        nrp.push(nr.len());
        np.push(match parent[s] {
            NONE => NONE,
            p => new_id[next_alive[p]],
        });
    }
    nb.push(begin[nsn]);
    (nb, nrp, nr, np)
}

/// Fully summed blocks up to this order are factorised by [`small_front_lu`]; larger ones by
/// faer's blocked kernels. Chosen by measurement on P3's iteration matrix (n = 2048, 2000
/// refactorisations per run, runs interleaved): 8 was the fastest, by a median 2% over 4 (more
/// kernel calls on small blocks) and 9% over 16 (unblocked rank-1 updates on larger ones).
const SMALL_BLOCK: usize = 8;
// `small_front_lu` sums in registers for widths up to 8 (`by_width!`).
const _: () = assert!(SMALL_BLOCK <= 8);

/// Solves with at least this many right-hand sides use faer's kernels per supernode; fewer go
/// column by column through plain loops.
const SOLVE_BLOCK: usize = 4;

/// Extend-add of the part of a child's `rc × rc` update matrix `block` that falls in its
/// parent's fully summed rows or columns: the `L` panel (`f × k`, the first `f k` entries of
/// `panels`) and the `U12` panel (`k × r`, the rest): `front[rel[i], rel[j]] += block[i, j]` for
/// `rel[i] < k` or `rel[j] < k`, where `rel` ascends and its first `split` positions are `< k`.
/// The rest is [`extend_add_update`]'s.
#[inline(always)]
fn extend_add_panels(
    panels: &mut [f64],
    f: usize,
    k: usize,
    block: &[f64],
    rel: &[u32],
    split: usize,
) {
    let rc = rel.len();
    let (lp, u12) = panels.split_at_mut(f * k);
    for (jc, &fj) in rel.iter().enumerate() {
        let fj = fj as usize;
        let src = &block[jc * rc..(jc + 1) * rc];
        if fj < k {
            let dst = &mut lp[fj * f..(fj + 1) * f];
            for (&fi, &v) in rel.iter().zip(src) {
                let fi = fi as usize;
                debug_assert!(fi < f);
                // SAFETY: `rel` holds positions in the parent's front, computed by the symbolic
                // analysis as indices of its index set of size `f = dst.len()`.
                unsafe { *dst.get_unchecked_mut(fi) += v };
            }
        } else {
            let c = fj - k;
            let ucol = &mut u12[c * k..(c + 1) * k];
            for (&fi, &v) in rel[..split].iter().zip(&src[..split]) {
                let fi = fi as usize;
                debug_assert!(fi < k);
                // SAFETY: the first `split` positions of `rel` are below `k = ucol.len()`.
                unsafe { *ucol.get_unchecked_mut(fi) += v };
            }
        }
    }
}

/// Extend-add of the part of a child's update matrix `block` that falls in its parent's
/// update matrix `f22` (`r × r`, `r > 0` when `split < rc`): rows and columns `split..rc` of `block`, whose positions
/// `rel[split..]` lie in `k..k + r`.
#[inline(always)]
fn extend_add_update(
    f22: &mut [f64],
    r: usize,
    k: usize,
    block: &[f64],
    rel: &[u32],
    split: usize,
) {
    let rc = rel.len();
    let rows = &rel[split..];
    for (jc, &fj) in rel.iter().enumerate().skip(split) {
        let src = &block[jc * rc + split..(jc + 1) * rc];
        let c = fj as usize - k;
        let fcol = &mut f22[c * r..(c + 1) * r];
        // Front position `fi ∈ k..k + r` is `fcol[fi − k]`: the column's address shifted by
        // `−k` once, so that the loop adds `fi` alone (a wrapping offset: it may point before
        // the slice, but is only dereferenced after adding `fi ≥ k`).
        let shifted = fcol.as_mut_ptr().wrapping_sub(k);
        for (&fi, &v) in rows.iter().zip(src) {
            let fi = fi as usize;
            debug_assert!((k..k + r).contains(&fi));
            // SAFETY: the positions after `split` lie in `k..k + r`, so `shifted + fi` is
            // `fcol[fi − k]`, inside `fcol` (`fi − k < r = fcol.len()`).
            unsafe { *shifted.wrapping_add(fi) += v };
        }
    }
}

/// Right-looking LU of a small front's `f × k` panel `lp` with row pivoting among its first `k`
/// rows (applied to `u12` too), then `U12 ← L11⁻¹ U12` and `F22 ← −L21 U12` (overwritten: the
/// children add their part afterwards). `perm[i]` is
/// the panel row moved to position `i`. Fails with `(j, true)` at a zero or non-finite pivot
/// `j`, and with `(j, false)` when a multiplier of column `j` is NaN or exceeds `growth`.
#[inline(always)]
fn small_front_lu<const FMA: bool>(
    lp: &mut [f64],
    u12: &mut [f64],
    f22: &mut [f64],
    f: usize,
    k: usize,
    perm: &mut [usize],
    growth: f64,
) -> Result<(), (usize, bool)> {
    let r = f - k;
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    for j in 0..k {
        // Pivot: the largest entry of column j among the fully summed rows j..k.
        let col = &lp[j * f..(j + 1) * f];
        let mut p = j;
        for i in j + 1..k {
            if col[i].abs() > col[p].abs() {
                p = i;
            }
        }
        if p != j {
            for c in 0..k {
                lp.swap(c * f + j, c * f + p);
            }
            for c in 0..r {
                u12.swap(c * k + j, c * k + p);
            }
            perm.swap(j, p);
        }
        let pivot = lp[j * f + j];
        if pivot == 0.0 || !pivot.is_finite() {
            return Err((j, true));
        }
        let inv = 1.0 / pivot;
        for m in &mut lp[j * f + j + 1..(j + 1) * f] {
            *m *= inv;
        }
        if exceeds(&lp[j * f + k..(j + 1) * f], growth) {
            return Err((j, false));
        }
        // Rank-1 update of the panel's remaining columns.
        let (left, right) = lp.split_at_mut((j + 1) * f);
        let lcol = &left[j * f + j + 1..];
        for c in right.chunks_exact_mut(f) {
            let u = c[j];
            if u != 0.0 {
                for (x, &l) in c[j + 1..].iter_mut().zip(lcol) {
                    *x = nmadd::<FMA>(l, u, *x);
                }
            }
        }
    }
    if r == 0 {
        return Ok(());
    }
    // U12 ← L11⁻¹ U12 (unit lower triangular), column by column.
    by_width!(k, unit_lower_solve::<K, FMA>(lp, f, u12), {
        // Wider fronts go to `blocked_front_lu`; the general loop keeps this function total.
        for col in u12.chunks_exact_mut(k) {
            for j in 0..k {
                let uj = col[j];
                for i in j + 1..k {
                    col[i] = nmadd::<FMA>(lp[j * f + i], uj, col[i]);
                }
            }
        }
    });
    by_width!(k, schur_update::<K, FMA>(lp, u12, f22, f), {
        // Wider fronts go to `blocked_front_lu`; the general loop keeps this function total.
        f22.fill(0.0);
        for (ucol, fcol) in u12.chunks_exact(k).zip(f22.chunks_exact_mut(r)) {
            for (j, &u) in ucol.iter().enumerate() {
                for (x, &l) in fcol.iter_mut().zip(&lp[j * f + k..(j + 1) * f]) {
                    *x = nmadd::<FMA>(l, u, *x);
                }
            }
        }
    });
    Ok(())
}

/// `U12 ← L11⁻¹ U12` for a front with `K` fully summed columns: `L11` is the unit lower
/// triangle of the first `K` rows of the `f × K` panel `lp`, `U12` is `K × r` (column-major).
/// Each column is solved in registers with no branches: a loop that keeps the column in memory
/// chains every update through a store and a reload, and one that skips zero entries
/// mispredicts on them.
#[inline(always)]
fn unit_lower_solve<const K: usize, const FMA: bool>(lp: &[f64], f: usize, u12: &mut [f64]) {
    let l: [[f64; K]; K] = core::array::from_fn(|j| core::array::from_fn(|i| lp[j * f + i]));
    let (cols, _) = u12.as_chunks_mut::<K>();
    for col in cols {
        let mut x = *col;
        for j in 0..K {
            for i in j + 1..K {
                x[i] = nmadd::<FMA>(l[j][i], x[j], x[i]);
            }
        }
        *col = x;
    }
}

/// `F22 ← −L21 U12` (overwritten) for a front with `K` fully summed columns: `L21` is rows
/// `K..f` of the `f × K` panel `lp`, `U12` is `K × r`, `F22` is `r × r` (all column-major, `r = f − K > 0`).
/// Each column of `F22` is written once, its `K` products summed in registers (fused when
/// `FMA`).
#[inline(always)]
fn schur_update<const K: usize, const FMA: bool>(
    lp: &[f64],
    u12: &[f64],
    f22: &mut [f64],
    f: usize,
) {
    let r = f - K;
    let l: [&[f64]; K] = core::array::from_fn(|j| &lp[j * f + K..(j + 1) * f]);
    for (ucol, fcol) in u12.chunks_exact(K).zip(f22.chunks_exact_mut(r)) {
        let u: [f64; K] = core::array::from_fn(|j| ucol[j]);
        for (i, x) in fcol.iter_mut().enumerate() {
            let mut acc = 0.0;
            for j in 0..K {
                // SAFETY: every `l[j]` has `r = fcol.len()` entries and `i < r`.
                acc = nmadd::<FMA>(unsafe { *l[j].get_unchecked(i) }, u[j], acc);
            }
            *x = acc;
        }
    }
}

/// `acc − a b`, with one rounding when `FMA` (instantiated so only where the target has FMA,
/// otherwise `mul_add` would be a library call).
#[inline(always)]
fn nmadd<const FMA: bool>(a: f64, b: f64, acc: f64) -> f64 {
    if FMA {
        (-a).mul_add(b, acc)
    } else {
        acc - a * b
    }
}

/// Whether this CPU has AVX2 and FMA (checked once per factor object).
fn fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `acc[i] = Σ_j L21[i, j] xs[j]` for a supernode with `K` columns, `L21` being rows `K..f`
/// of the `f × K` panel `lp` (column-major); `acc.len() = f − K`.
#[inline(always)]
fn l21_product<const K: usize>(lp: &[f64], f: usize, xs: &[f64], acc: &mut [f64]) {
    let r = acc.len();
    let xs: [f64; K] = core::array::from_fn(|j| xs[j]);
    let cols: [&[f64]; K] = core::array::from_fn(|j| &lp[j * f + K..j * f + K + r]);
    for (i, a) in acc.iter_mut().enumerate() {
        let mut sum = 0.0;
        for j in 0..K {
            // SAFETY: every `cols[j]` has `r = acc.len()` entries and `i < r`.
            sum += unsafe { *cols[j].get_unchecked(i) } * xs[j];
        }
        *a = sum;
    }
}

/// `x[b + j] −= Σ_t U12[j, t] x[rows[t]]` for a supernode with `K` columns (`U12` is `K × r`,
/// column-major).
#[inline(always)]
fn u12_update<const K: usize>(up: &[f64], rows: &[usize], x: &mut [f64], b: usize) {
    let mut acc = [0.0; K];
    for (ucol, &row) in up.chunks_exact(K).zip(rows) {
        let xr = get(x, row);
        for j in 0..K {
            acc[j] += ucol[j] * xr;
        }
    }
    for (xi, a) in x[b..b + K].iter_mut().zip(acc) {
        *xi -= a;
    }
}

/// `x_s ← U11⁻ᵀ x_s`, then `x_R ← x_R − U12ᵀ x_s`, for a supernode with `K` columns starting at
/// `b` (`lp` its `f × K` panel, `up` its `K × r` panel `U12`, `rows` its `r` row indices): `x_s`
/// stays in registers, each row of `U12ᵀ` is a contiguous column of `U12`.
#[inline(always)]
fn ut_column<const K: usize>(
    lp: &[f64],
    up: &[f64],
    f: usize,
    rows: &[usize],
    x: &mut [f64],
    b: usize,
) {
    let mut xs: [f64; K] = core::array::from_fn(|j| x[b + j]);
    for j in 0..K {
        let col = &lp[j * f..j * f + K];
        let mut v = xs[j];
        for i in 0..j {
            v -= col[i] * xs[i];
        }
        xs[j] = v / col[j];
    }
    x[b..b + K].copy_from_slice(&xs);
    let (ucols, _) = up.as_chunks::<K>();
    for (ucol, &row) in ucols.iter().zip(rows) {
        let mut d = 0.0;
        for j in 0..K {
            d += ucol[j] * xs[j];
        }
        *get_mut(x, row) -= d;
    }
}

/// `x_s ← x_s − L21ᵀ x_R`, then `x_s ← L11⁻ᵀ x_s` (unit diagonal), for a supernode with `K`
/// columns starting at `b` (`lp` its `f × K` panel, `rows` its `r = f − K` row indices): each
/// `x[rows[i]]` is read once and feeds `K` sums held in registers.
#[inline(always)]
fn lt_column<const K: usize>(lp: &[f64], f: usize, rows: &[usize], x: &mut [f64], b: usize) {
    let r = f - K;
    let cols: [&[f64]; K] = core::array::from_fn(|j| &lp[j * f + K..j * f + K + r]);
    let mut acc = [0.0; K];
    for (i, &row) in rows.iter().enumerate().take(r) {
        let xr = get(x, row);
        for j in 0..K {
            // SAFETY: every `cols[j]` has `r` entries and `i < r`.
            acc[j] += unsafe { *cols[j].get_unchecked(i) } * xr;
        }
    }
    let mut xs: [f64; K] = core::array::from_fn(|j| x[b + j] - acc[j]);
    for j in (0..K).rev() {
        let col = &lp[j * f..j * f + K];
        let mut v = xs[j];
        for i in j + 1..K {
            v -= col[i] * xs[i];
        }
        xs[j] = v;
    }
    x[b..b + K].copy_from_slice(&xs);
}

/// [`ut_column`] for any width `k` (`tmp.len() ≥ k`): the triangular solve and `U12ᵀ x_s` by
/// contiguous dot products.
#[allow(clippy::too_many_arguments)] // a supernode's panels, shape, rows, the vector, scratch
fn ut_column_wide(
    lp: &[f64],
    up: &[f64],
    f: usize,
    k: usize,
    rows: &[usize],
    x: &mut [f64],
    b: usize,
    tmp: &mut [f64],
) {
    // x_s ← U11⁻ᵀ x_s: row j of U11ᵀ is the contiguous column j of the panel.
    for j in 0..k {
        let (done, rest) = x[b..b + k].split_at_mut(j);
        rest[0] = (rest[0] - dot(&lp[j * f..j * f + j], done)) / lp[j * f + j];
    }
    // x_R ← x_R − U12ᵀ x_s: row t of U12ᵀ is the contiguous column t of U12 (x_s copied out,
    // as the rows scattered to lie outside it).
    let xs = &mut tmp[..k];
    xs.copy_from_slice(&x[b..b + k]);
    for (ucol, &row) in up.chunks_exact(k).zip(rows) {
        *get_mut(x, row) -= dot(ucol, xs);
    }
}

/// [`lt_column`] for any width `k` (`tmp.len() ≥ f − k`): `x_R` gathered once, then contiguous
/// dot products per column of `L21` and of `L11`.
fn lt_column_wide(
    lp: &[f64],
    f: usize,
    k: usize,
    rows: &[usize],
    x: &mut [f64],
    b: usize,
    tmp: &mut [f64],
) {
    if !rows.is_empty() {
        let g = &mut tmp[..rows.len()];
        for (gi, &row) in g.iter_mut().zip(rows) {
            *gi = get(x, row);
        }
        for j in 0..k {
            x[b + j] -= dot(&lp[j * f + k..(j + 1) * f], g);
        }
    }
    // x_s ← L11⁻ᵀ x_s (unit diagonal).
    for j in (0..k).rev() {
        let (head, tail) = x[b..b + k].split_at_mut(j + 1);
        head[j] -= dot(&lp[j * f + j + 1..j * f + k], tail);
    }
}

/// `Σ a[i] b[i]` over the common length, in four interleaved partial sums (vectorisable).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (a4, a_rest) = a.as_chunks::<4>();
    let (b4, b_rest) = b.as_chunks::<4>();
    let mut acc = [0.0; 4];
    for (x, y) in a4.iter().zip(b4) {
        for q in 0..4 {
            acc[q] += x[q] * y[q];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_rest.iter().zip(b_rest) {
        tail += x * y;
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// Scratch of the blocked front factorisation.
struct DenseScratch<'a> {
    /// Whether the leaf LU runs its AVX2 + FMA build.
    fma: bool,
    /// The row interchanges of [`split_lu`]'s pending recursion levels.
    perm_stack: &'a mut [usize],
    row_tmp: &'a mut [f64],
    par: Par,
}

/// The second thread a front's dense kernels may split their work with, and a row buffer of
/// its own (the top of the two-worker plan: worker 1's scratch is idle then).
struct Pair<'a> {
    helper: &'a mut Helper,
    row_tmp: &'a mut [f64],
}

/// Runs `f(part, first column, row buffer)` over the columns of `c`: when `work` (its
/// multiply–adds) reaches [`SPLIT_MIN`], on the two column halves — at the same time on the
/// caller and the pair's helper when there is a pair, one after the other on the caller
/// otherwise, so the results do not depend on the pair — and on the whole of `c` on the caller
/// below that (no hand-over for small work).
fn by_halves(
    pair: Option<&mut Pair<'_>>,
    row_tmp: &mut [f64],
    c: MatMut<'_, f64>,
    work: usize,
    f: impl Fn(MatMut<'_, f64>, usize, &mut [f64]) + Sync,
) {
    if work < SPLIT_MIN {
        return f(c, 0, row_tmp);
    }
    let at = c.ncols() / 2;
    let (a, b) = c.split_at_col_mut(at);
    match pair {
        Some(p) => {
            let theirs = &mut *p.row_tmp;
            let f = &f;
            p.helper.join(|| f(a, 0, row_tmp), move || f(b, at, theirs));
        }
        None => {
            f(a, 0, &mut *row_tmp);
            f(b, at, row_tmp);
        }
    }
}

/// Widest column block [`split_lu`] hands to [`leaf_lu`] whole.
const LU_LEAF: usize = 32;

/// Products `m × n × p` of at least this many multiply–adds are split into two column halves
/// (run on both threads when there is a [`Pair`]): about 12 µs of work, against ≈ 1 µs for
/// handing a half over.
const SPLIT_MIN: usize = 128 * 1024;

/// `c ← rows perm of c`: row `i < perm.len()` becomes the old row `perm[i]` (the rows below stay),
/// column by column through `tmp` (`≥ perm.len()` entries); nothing when `perm` is the identity.
fn permute_rows(c: MatMut<'_, f64>, perm: &[usize], tmp: &mut [f64]) {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return;
    }
    let mut c = c;
    let tmp = &mut tmp[..perm.len()];
    for j in 0..c.ncols() {
        let mut col = c.rb_mut().col_mut(j);
        for (t, &p) in tmp.iter_mut().zip(perm) {
            *t = col[p];
        }
        for (i, &t) in tmp.iter().enumerate() {
            col[i] = t;
        }
    }
}

/// LU with partial pivoting of the `m × n` block `a` in place, the pivots sought among its first
/// `perm.len()` rows (`n ≤ perm.len() ≤ m`; the rows below are those of a front's `F21`, whose
/// multipliers `L21` come out of the same sweep): on return row `i < perm.len()` of `a` holds
/// the factors of the input row `perm[i]`, and the rows below stay in place. Recursive on column
/// halves, as faer's own LU is, down to blocks of at most [`LU_LEAF`] columns factorised by
/// [`leaf_lu`]; each level's triangular solve and product for the right half run as two column
/// halves, on both threads when there is a `pair` (the same operations either way).
/// `perm_stack` holds the pending levels' interchanges ([`perm_stack_len`] entries).
fn split_lu(
    a: MatMut<'_, f64>,
    perm: &mut [usize],
    perm_stack: &mut [usize],
    scratch: &mut DenseScratch<'_>,
    mut pair: Option<&mut Pair<'_>>,
) {
    let (m, n, mp) = (a.nrows(), a.ncols(), perm.len());
    debug_assert!(n <= mp && mp <= m);
    if n <= LU_LEAF {
        leaf_lu(a, perm, scratch.fma);
        return;
    }
    let n1 = n / 2;
    let (mut left, mut right) = a.split_at_col_mut(n1);
    split_lu(
        left.rb_mut(),
        perm,
        perm_stack,
        scratch,
        pair.as_deref_mut(),
    );
    {
        // The right columns take the left block's row interchanges, then
        // A12 ← L11⁻¹ A12 and A22 ← A22 − L21 A12.
        let (l11, l21) = left.rb().split_at_row(n1);
        let perm = &*perm;
        let par = scratch.par;
        let update = |mut c: MatMut<'_, f64>, _: usize, tmp: &mut [f64]| {
            permute_rows(c.rb_mut(), perm, tmp);
            let (mut top, bottom) = c.split_at_row_mut(n1);
            tri::solve_unit_lower_triangular_in_place(l11, top.rb_mut(), par);
            matmul(bottom, Accum::Add, l21, top.rb(), -1.0, par);
        };
        let work = (m - n1) * n1 * right.ncols();
        by_halves(
            pair.as_deref_mut(),
            &mut *scratch.row_tmp,
            right.rb_mut(),
            work,
            update,
        );
    }
    // The trailing block, with interchanges of its own, which the left block's L21 then takes.
    let (p2, rest) = perm_stack.split_at_mut(mp - n1);
    split_lu(right.split_at_row_mut(n1).1, p2, rest, scratch, pair);
    permute_rows(left.split_at_row_mut(n1).1, p2, &mut *scratch.row_tmp);
    for q in p2.iter_mut() {
        *q = perm[n1 + *q];
    }
    perm[n1..].copy_from_slice(p2);
}

/// LU with partial pivoting of the `m × n` block `a` (unit row stride) in place, the pivots
/// among its first `perm.len()` rows, as [`split_lu`] specifies, by columns (left-looking,
/// Crout): column `j` first takes `U[0..j, j] = L[0..j, 0..j]⁻¹ a[0..j, j]`, then
/// `a[j.., j] −= L[j.., 0..j] U[0..j, j]` summed in registers ([`gemv_rows`]: one load per
/// multiply–add, where the right-looking update would store each entry `j` times), then the
/// pivot search, the row interchange across the block and the scaling. For the narrow blocks
/// this is called on (at most [`LU_LEAF`] columns) it does the arithmetic of faer's LU without
/// its per-column kernel calls.
fn leaf_lu(a: MatMut<'_, f64>, perm: &mut [usize], fma: bool) {
    let (m, n) = (a.nrows(), a.ncols());
    assert!(n <= perm.len() && perm.len() <= m && (n == 0 || a.row_stride() == 1));
    let cs = a.col_stride();
    assert!(n <= 1 || cs >= m as isize);
    let ptr = a.as_ptr_mut();
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only when the CPU has AVX2 and FMA; the block is `a`'s, borrowed
        // mutably, with unit row stride and columns `cs ≥ m` apart (checked above).
        unsafe { leaf_lu_avx2_fma(ptr, cs as usize, m, n, perm) };
        return;
    }
    let _ = fma;
    // SAFETY: as above.
    unsafe { leaf_lu_body::<{ cfg!(target_arch = "aarch64") }>(ptr, cs as usize, m, n, perm) }
}

/// [`leaf_lu_body`] compiled for AVX2 + FMA.
///
/// # Safety
/// As [`leaf_lu_body`]; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn leaf_lu_avx2_fma(a: *mut f64, cs: usize, m: usize, n: usize, perm: &mut [usize]) {
    // SAFETY: the caller's contract.
    unsafe { leaf_lu_body::<true>(a, cs, m, n, perm) }
}

/// [`leaf_lu`]'s arithmetic on the block at `a`.
///
/// # Safety
/// `a` points to an exclusively borrowed `m × n` column-major block whose columns are `cs ≥ m`
/// entries apart (when `n > 1`); `n ≤ perm.len() ≤ m`.
#[inline(always)]
unsafe fn leaf_lu_body<const FMA: bool>(
    a: *mut f64,
    cs: usize,
    m: usize,
    n: usize,
    perm: &mut [usize],
) {
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    // SAFETY (every access below): column `c < n` is `a + c cs .. a + c cs + m`, inside the
    // block; distinct columns are disjoint (`cs ≥ m`), so the column being computed (`cj`) and
    // the earlier ones read with it (`cp`) never alias.
    let col = |c: usize| unsafe { a.add(c * cs) };
    for j in 0..n {
        let cj = col(j);
        unsafe {
            // U[0..j, j]: forward substitution with the unit lower triangle.
            for p in 0..j {
                let u = *cj.add(p);
                let cp = col(p);
                for i in p + 1..j {
                    *cj.add(i) = nmadd::<FMA>(*cp.add(i), u, *cj.add(i));
                }
            }
            // a[j.., j] −= L[j.., 0..j] U[0..j, j]: 16, then 4, then single rows at a time.
            let mut i = j;
            while i + 16 <= m {
                gemv_rows::<16, FMA>(a, cs, cj, i, j);
                i += 16;
            }
            while i + 4 <= m {
                gemv_rows::<4, FMA>(a, cs, cj, i, j);
                i += 4;
            }
            while i < m {
                gemv_rows::<1, FMA>(a, cs, cj, i, j);
                i += 1;
            }
            // The pivot: the first entry of largest magnitude in the column (NaN never wins, as
            // in faer): the largest magnitude in a branch-free pass, then where it is.
            let column = core::slice::from_raw_parts(cj.add(j), perm.len() - j);
            let best = largest_magnitude(column);
            let piv = j + column.iter().position(|x| x.abs() == best).unwrap_or(0);
            if piv != j {
                for c in 0..n {
                    core::ptr::swap(col(c).add(j), col(c).add(piv));
                }
                perm.swap(j, piv);
            }
            let inv = 1.0 / *cj.add(j);
            for i in j + 1..m {
                *cj.add(i) *= inv;
            }
        }
    }
}

/// The largest magnitude in `x` (0 when empty; NaN ignored), four lanes at a time.
#[inline(always)]
fn largest_magnitude(x: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for t in 0..4 {
            let v = c[t].abs();
            lanes[t] = if v > lanes[t] { v } else { lanes[t] };
        }
    }
    let mut best = 0.0f64;
    for v in lanes.into_iter().chain(tail.iter().map(|v| v.abs())) {
        best = if v > best { v } else { best };
    }
    best
}

/// `cj[i..i + R] −= Σ_{p < j} a[i..i + R, p] cj[p]` for [`leaf_lu_body`]: the even and the odd
/// `p` summed in two sets of `R` registers, so that `R = 16` keeps eight 4-wide multiply–add
/// chains in flight (the latency of one times the two FMA ports).
///
/// # Safety
/// As [`leaf_lu_body`], with `i + R ≤ m` and `j < n`; `cj` is column `j`.
#[inline(always)]
unsafe fn gemv_rows<const R: usize, const FMA: bool>(
    a: *mut f64,
    cs: usize,
    cj: *mut f64,
    i: usize,
    j: usize,
) {
    // SAFETY: rows `i..i + R` of columns `p < j` and of column `j` lie in the block; column `j`
    // is disjoint from the columns `p` read.
    unsafe {
        let (mut even, mut odd) = ([0.0; R], [0.0; R]);
        for (t, x) in even.iter_mut().enumerate() {
            *x = *cj.add(i + t);
        }
        let mut p = 0;
        while p + 2 <= j {
            let (u0, u1) = (*cj.add(p), *cj.add(p + 1));
            let (c0, c1) = (a.add(p * cs + i), a.add((p + 1) * cs + i));
            for t in 0..R {
                even[t] = nmadd::<FMA>(*c0.add(t), u0, even[t]);
                odd[t] = nmadd::<FMA>(*c1.add(t), u1, odd[t]);
            }
            p += 2;
        }
        if p < j {
            let (u0, c0) = (*cj.add(p), a.add(p * cs + i));
            for (t, x) in even.iter_mut().enumerate() {
                *x = nmadd::<FMA>(*c0.add(t), u0, *x);
            }
        }
        for (t, (x, y)) in even.iter().zip(&odd).enumerate() {
            *cj.add(i + t) = x + y;
        }
    }
}

/// Entries of the interchange stack [`split_lu`] needs for a block of `n` columns with `mp`
/// pivot rows.
fn perm_stack_len(mp: usize, n: usize) -> usize {
    if n <= LU_LEAF {
        return 0;
    }
    let n1 = n / 2;
    perm_stack_len(mp, n1).max(mp - n1 + perm_stack_len(mp - n1, n - n1))
}

/// [`small_front_lu`]'s job by blocked kernels (large fully summed blocks): [`split_lu`] on the
/// whole `L` panel `[F11; F21]` with the pivots among `F11`'s rows (which gives `L21` too), then
/// `U12 = L11⁻¹ Q F12` and the Schur product, each in two column halves when it is large — on
/// both threads when there is a `pair`.
#[allow(clippy::too_many_arguments)] // the three blocks of a front, its shape and the scratch
fn blocked_front_lu(
    lp: &mut [f64],
    u12: &mut [f64],
    f22: &mut [f64],
    f: usize,
    k: usize,
    perm: &mut [usize],
    mut scratch: DenseScratch<'_>,
    mut pair: Option<&mut Pair<'_>>,
    growth: f64,
) -> Result<(), (usize, bool)> {
    let r = f - k;
    let par = scratch.par;
    let stack = core::mem::take(&mut scratch.perm_stack);
    split_lu(
        MatMut::from_column_major_slice_mut(&mut *lp, f, k),
        perm,
        stack,
        &mut scratch,
        pair.as_deref_mut(),
    );
    if let Some(i) = (0..k).find(|&i| {
        let d = lp[i * f + i];
        d == 0.0 || !d.is_finite()
    }) {
        return Err((i, true));
    }
    if r == 0 {
        return Ok(());
    }
    // Multipliers bounded by `growth`, checked on the panel's contiguous columns.
    if let Some(j) = (0..k).find(|&j| exceeds(&lp[j * f + k..(j + 1) * f], growth)) {
        return Err((j, false));
    }
    let panel = MatRef::from_column_major_slice(lp, f, k);
    let (f11, f21) = panel.split_at_row(k);
    {
        // U12 = L11⁻¹ Q F12.
        let perm = &*perm;
        by_halves(
            pair.as_deref_mut(),
            &mut *scratch.row_tmp,
            MatMut::from_column_major_slice_mut(&mut *u12, k, r),
            k * k * r / 2,
            |mut c, _, t| {
                permute_rows(c.rb_mut(), perm, t);
                tri::solve_unit_lower_triangular_in_place(f11, c, par);
            },
        );
    }
    let f12 = MatRef::from_column_major_slice(u12, k, r);
    by_halves(
        pair,
        &mut *scratch.row_tmp,
        MatMut::from_column_major_slice_mut(f22, r, r),
        k * r * r,
        |c, c0, _| {
            let u = f12.subcols(c0, c.ncols());
            matmul(c, Accum::Replace, f21, u, -1.0, par);
        },
    );
    Ok(())
}

/// Whether some multiplier in `col` is NaN or exceeds `growth` in magnitude: one pass with no
/// branch per entry (vectorised), as a multiplier check passes on almost every column.
#[inline(always)]
fn exceeds(col: &[f64], growth: f64) -> bool {
    let mut bad = false;
    for &m in col {
        // `|`, not `||`: both tests on every entry, no branch.
        bad |= m.is_nan() | (m.abs() > growth);
    }
    bad
}

/// `x[i]` without a bounds check.
#[inline(always)]
fn get(x: &[f64], i: usize) -> f64 {
    debug_assert!(i < x.len());
    // SAFETY: called only with indices computed by the symbolic analysis for slices of the
    // analysed sizes (row indices `< n`, assembly positions `< f²` and `< nnz`).
    unsafe { *x.get_unchecked(i) }
}

/// `&mut x[i]` without a bounds check.
#[inline(always)]
fn get_mut(x: &mut [f64], i: usize) -> &mut f64 {
    debug_assert!(i < x.len());
    // SAFETY: as for `get`.
    unsafe { x.get_unchecked_mut(i) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: unwrap is the assertion
mod tests {
    use super::*;
    use crate::problems::brusselator_iteration_matrix;

    /// Factors of P3's iteration matrix (16 × 16 grid) and 2-D Poisson (12 × 12) in AMD and
    /// natural order: supernodes on both sides of [`SMALL_BLOCK`].
    fn factored_test_matrices() -> Vec<(MultifrontalSymbolic, MultifrontalLu, usize)> {
        let mut out = Vec::new();
        let (mut narrow, mut wide) = (false, false);
        for a in [
            brusselator_iteration_matrix(16, 0.05),
            crate::problems::poisson_2d(12),
        ] {
            let pattern = CscPattern::from_sprs(a.view()).unwrap();
            for ordering in [SymbolicOrdering::Amd, SymbolicOrdering::Natural] {
                let sym = MultifrontalSymbolic::new(&pattern, ordering).unwrap();
                for s in 0..sym.n_supernodes() {
                    narrow |= sym.order(s).0 <= SMALL_BLOCK;
                    wide |= sym.order(s).0 > SMALL_BLOCK;
                }
                let mut num = MultifrontalLu::new(&sym, Par::Seq);
                num.factor(&sym, a.data(), 0.01).unwrap();
                out.push((sym, num, a.rows()));
            }
        }
        assert!(narrow && wide);
        out
    }

    /// Deterministic values in [−1, 1) (a multiplicative hash of the index and a seed).
    fn values(len: usize, seed: usize) -> Vec<f64> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f64 / 500.0 - 1.0)
            .collect()
    }

    /// `len` splitmix64 values in [−1, 1) (`values` repeats with period 1000: too short for
    /// dense blocks of more than a few hundred entries).
    fn random(len: usize, seed: u64) -> Vec<f64> {
        (0..len as u64)
            .map(|i| {
                let mut z = (i + seed * 0x1_0000_0000).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) as f64 / 2f64.powi(63) - 1.0
            })
            .collect()
    }

    /// The values of `a`, each scaled by a factor in [0.9, 1.1) (`seed` picks the factors).
    fn perturbed(a: &sprs::CsMat<f64>, seed: usize) -> Vec<f64> {
        a.data()
            .iter()
            .zip(values(a.nnz(), seed))
            .map(|(v, p)| v * (1.0 + 0.1 * p))
            .collect()
    }

    /// The fused (FMA) build of the factorisation against the plain one on P3's iteration matrix
    /// and 2-D Poisson with perturbed values (fronts with 1 … 8 columns on the register
    /// kernels, wider ones on faer's): the same factors up to rounding. Where the CPU has no
    /// FMA, `factor` takes the plain path and the two agree exactly.
    #[test]
    fn fused_factorisation_matches_the_plain_one() {
        for a in [
            brusselator_iteration_matrix(16, 0.05),
            crate::problems::poisson_2d(12),
        ] {
            let pattern = CscPattern::from_sprs(a.view()).unwrap();
            let vals = perturbed(&a, 5);
            let sym = MultifrontalSymbolic::new(&pattern, SymbolicOrdering::Amd).unwrap();
            let mut plain = MultifrontalLu::new(&sym, Par::Seq);
            let mut fused = MultifrontalLu::new(&sym, Par::Seq);
            plain.fma = false;
            plain.factor(&sym, &vals, 0.01).unwrap();
            fused.factor(&sym, &vals, 0.01).unwrap();
            let scale = plain.factors.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (p, q)) in plain.factors.iter().zip(&fused.factors).enumerate() {
                // 1e-12: the same operations on O(1) factors, some rounded once instead of twice.
                assert!((p - q).abs() <= 1e-12 * scale, "entry {i}: {p} vs {q}");
            }
            assert_eq!(plain.piv, fused.piv);
        }
    }

    /// The register kernel of the small fronts' `U12 ← L11⁻¹ U12` (`K = 1..=8`, plain and fused)
    /// against a plain triangular solve, on random panels with zeros among the right-hand sides
    /// (the entries a branching loop would skip).
    #[test]
    fn register_unit_lower_solve_matches_a_plain_solve() {
        fn check<const K: usize, const FMA: bool>() {
            let r = 13;
            let f = K + r;
            let lp = values(f * K, K);
            let mut u12 = values(K * r, K + 7);
            for (t, u) in u12.iter_mut().enumerate() {
                if t % 5 == 2 {
                    *u = 0.0;
                }
            }
            let mut want = u12.clone();
            for col in want.chunks_exact_mut(K) {
                for i in 0..K {
                    let s: f64 = (0..i).map(|j| lp[j * f + i] * col[j]).sum();
                    col[i] -= s;
                }
            }
            unit_lower_solve::<K, FMA>(&lp, f, &mut u12);
            for (t, (u, w)) in u12.iter().zip(&want).enumerate() {
                // 1e-12: unit multipliers in [−1, 1), K ≤ 8 steps, summed in another order.
                assert!(
                    (u - w).abs() <= 1e-12,
                    "K = {K}, FMA = {FMA}, entry {t}: {u} vs {w}"
                );
            }
        }
        fn both<const K: usize>() {
            check::<K, false>();
            // `mul_add` is exact wherever it runs; only its speed needs the FMA target feature.
            check::<K, true>();
        }
        both::<1>();
        both::<2>();
        both::<3>();
        both::<4>();
        both::<5>();
        both::<6>();
        both::<7>();
        both::<8>();
    }

    /// The multiplier check: NaN and entries beyond the bound fail, the bound itself passes.
    #[test]
    fn multiplier_check_catches_nan_and_growth() {
        assert!(!exceeds(&[0.5, -2.0, 2.0], 2.0));
        assert!(exceeds(&[0.5, -2.5, 1.0], 2.0));
        assert!(exceeds(&[0.5, f64::NAN, 1.0], 2.0));
        assert!(exceeds(&[f64::INFINITY], 2.0));
        assert!(!exceeds(&[f64::MAX], f64::INFINITY));
        assert!(exceeds(&[f64::NAN], f64::INFINITY));
        assert!(!exceeds(&[], 1.0));
    }

    /// The blocked front factorisation (faer's kernels) against the column-by-column loops on
    /// a front of 12 fully summed columns whose diagonal is small, so that rows are
    /// interchanged: the same pivots, factors and update matrix up to rounding.
    #[test]
    fn blocked_front_matches_the_loops_with_pivoting() {
        let (k, r) = (12, 9);
        let f = k + r;
        let mut lp = values(f * k, 11);
        for j in 0..k {
            lp[j * f + j] *= 0.01; // small diagonal: the pivots come from other rows
        }
        let u12 = values(k * r, 12);
        let (mut lp_a, mut u12_a, mut f22_a, mut perm_a) =
            (lp.clone(), u12.clone(), vec![0.0; r * r], vec![0; k]);
        small_front_lu::<false>(&mut lp_a, &mut u12_a, &mut f22_a, f, k, &mut perm_a, 1e6).unwrap();
        let (lp_b, u12_b, f22_b, perm_b) = dense_front(&lp, &u12, k, None, 1e6).unwrap();
        assert_eq!(perm_a, perm_b);
        assert!(perm_a.iter().enumerate().any(|(i, &p)| i != p));
        for (what, a, b) in [
            ("panel", &lp_a, &lp_b),
            ("U12", &u12_a, &u12_b),
            ("F22", &f22_a, &f22_b),
        ] {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                // 1e-10: partial pivoting keeps multipliers ≤ 1; growth over 12 steps is mild.
                assert!(
                    (x - y).abs() <= 1e-10 * (1.0 + x.abs()),
                    "{what} entry {i}: {x} vs {y}"
                );
            }
        }
    }

    /// The blocked front kernels split with a helper thread give the factors they give on one
    /// thread, bit for bit, and those are an LU of the front: `Q F11 = L11 U11` with `|L| ≤ 1`,
    /// `L21 U11 = F21`, `L11 U12 = Q F12` and `F22 = −L21 U12`, checked to rounding. The front
    /// (k = 150 > 4 `LU_LEAF`, r = 90) makes `split_lu` recurse three levels and the Schur
    /// product split.
    #[test]
    fn split_front_kernels_are_an_lu_on_one_thread_or_two() {
        let (k, r) = (150, 90);
        let f = k + r;
        assert!(k * r * r >= SPLIT_MIN && k > 4 * LU_LEAF);
        let lp0 = random(f * k, 1);
        let u120 = random(k * r, 2);
        let run = |pair| dense_front(&lp0, &u120, k, pair, 1e3).unwrap();
        let one = run(None);
        let mut helper = Helper::spawn().unwrap();
        let mut theirs = vec![0.0; k];
        let mut pair = Pair {
            helper: &mut helper,
            row_tmp: &mut theirs,
        };
        let two = run(Some(&mut pair));
        assert_eq!(one, two);

        let (lp, u12, f22, perm) = one;
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..k).collect::<Vec<_>>());
        assert!(perm.iter().enumerate().any(|(i, &p)| i != p));
        let l = |i: usize, j: usize| match i.cmp(&j) {
            core::cmp::Ordering::Less => 0.0,
            core::cmp::Ordering::Equal if i < k => 1.0,
            _ => lp[j * f + i],
        };
        let u = |i: usize, j: usize| if i <= j { lp[j * f + i] } else { 0.0 };
        let mut worst: f64 = 0.0;
        for j in 0..k {
            for i in 0..f {
                // Row i of [Q F11; F21] against column j of (L U11).
                let want = if i < k {
                    lp0[j * f + perm[i]]
                } else {
                    lp0[j * f + i]
                };
                let got: f64 = (0..=j.min(i)).map(|p| l(i, p) * u(p, j)).sum();
                worst = worst.max((got - want).abs());
                if i < k && j < i {
                    assert!(l(i, j).abs() <= 1.0, "multiplier ({i}, {j}) = {}", l(i, j));
                }
            }
        }
        for c in 0..r {
            for i in 0..k {
                let got: f64 = (0..=i).map(|p| l(i, p) * u12[c * k + p]).sum();
                worst = worst.max((got - u120[c * k + perm[i]]).abs());
            }
            for i in 0..r {
                let got: f64 = (0..k).map(|p| l(k + i, p) * u12[c * k + p]).sum();
                worst = worst.max((f22[c * r + i] + got).abs());
            }
        }
        // Entries are O(1); partial pivoting keeps |L| ≤ 1, and the growth of U over 150 steps
        // on these values stays below 10², so residuals stay within 150 · 10² · 1e-16 ≈ 2e-12.
        assert!(worst < 1e-10, "largest residual {worst:e}");
    }

    /// The column-by-column leaf LU, plain and fused, against faer's LU with partial pivoting on
    /// random blocks (no ties): the same interchanges and the same factors to rounding, on tall
    /// and square blocks up to [`LU_LEAF`] columns, inside a larger column stride; an exactly
    /// zero column leaves a zero pivot (reported by the caller) instead of failing.
    #[test]
    fn leaf_lu_matches_faers_lu() {
        use faer::Mat;
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
        for (m, n, seed) in [(1, 1, 1), (5, 3, 2), (10, 10, 3), (37, 32, 4), (180, 22, 5)] {
            let vals = random((m + 3) * n, seed);
            // Rows m..m+3 of the column-major (m+3) × n matrix are padding: the block is its
            // top m rows, with column stride m + 3.
            let full = Mat::<f64>::from_fn(m + 3, n, |i, j| vals[j * (m + 3) + i]);
            let mut want = full.clone();
            let (mut perm_w, mut perm_inv) = (vec![0usize; m], vec![0usize; m]);
            let mut mem = MemBuffer::new(lu_in_place_scratch::<usize, f64>(
                m,
                n,
                Par::Seq,
                Default::default(),
            ));
            lu_in_place(
                want.as_mut().subrows_mut(0, m),
                &mut perm_w,
                &mut perm_inv,
                Par::Seq,
                MemStack::new(&mut mem),
                Default::default(),
            );
            for fma in [false, fma_available()] {
                let mut got = full.clone();
                let mut perm = vec![0usize; m];
                leaf_lu(got.as_mut().subrows_mut(0, m), &mut perm, fma);
                assert_eq!(perm, perm_w, "{m} x {n}, fma {fma}");
                for j in 0..n {
                    for i in 0..m + 3 {
                        let (x, y) = (got[(i, j)], want[(i, j)]);
                        // Multipliers ≤ 1 and O(1) data: the two orders of the same sums
                        // differ by a few ulps times the number of terms (≤ 32).
                        assert!(
                            (x - y).abs() <= 1e-13 * (1.0 + y.abs()),
                            "{m} x {n} ({i}, {j})"
                        );
                    }
                }
            }
        }
        // An all-zero column gives a zero pivot, which the caller reports; no panic.
        let mut z =
            Mat::<f64>::from_fn(4, 3, |i, j| if j == 1 { 0.0 } else { (i + j) as f64 + 1.0 });
        let mut perm = vec![0; 4];
        leaf_lu(z.as_mut(), &mut perm, fma_available());
        assert_eq!(z[(1, 1)], 0.0);
    }

    /// [`blocked_front_lu`] on copies of a front's panels `lp` (`f × k`) and `u12` (`k × r`):
    /// the factored panels, the update matrix and the pivots.
    #[allow(clippy::type_complexity)] // the kernel's four outputs
    fn dense_front(
        lp: &[f64],
        u12: &[f64],
        k: usize,
        pair: Option<&mut Pair<'_>>,
        growth: f64,
    ) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>, Vec<usize>), (usize, bool)> {
        let f = lp.len() / k;
        let r = f - k;
        let (mut lp, mut u12, mut f22, mut perm) =
            (lp.to_vec(), u12.to_vec(), vec![0.0; r * r], vec![0; k]);
        let mut row_tmp = vec![0.0; k];
        let mut perm_stack = vec![0; perm_stack_len(k, k)];
        let scratch = DenseScratch {
            fma: fma_available(),
            perm_stack: &mut perm_stack,
            row_tmp: &mut row_tmp,
            par: Par::Seq,
        };
        blocked_front_lu(
            &mut lp, &mut u12, &mut f22, f, k, &mut perm, scratch, pair, growth,
        )?;
        Ok((lp, u12, f22, perm))
    }

    /// Each register kernel of the single-column solves (`K = 1..=8`) against the loop for any
    /// width, on a synthetic supernode: columns `[b, b + K)`, rows scattered around them.
    #[test]
    fn register_solve_kernels_match_the_wide_loops() {
        let (n, b) = (40, 13);
        for k in 1..=8 {
            let rows: Vec<usize> = (0..n)
                .filter(|&i| (i < b || i >= b + k) && i % 3 != 1)
                .collect();
            let (r, f) = (rows.len(), k + rows.len());
            let mut lp = values(f * k, k);
            for j in 0..k {
                lp[j * f + j] += 4.0; // a dominant diagonal for U11
            }
            let up = values(k * r, k + 1);
            let x0 = values(n, k + 2);
            let close = |a: &[f64], b: &[f64], what: &str| {
                for (i, (u, v)) in a.iter().zip(b).enumerate() {
                    // 1e-13: the same arithmetic on O(1) values, summed in another order.
                    assert!(
                        (u - v).abs() <= 1e-13,
                        "{what}, K = {k}, entry {i}: {u} vs {v}"
                    );
                }
            };
            let mut tmp = vec![0.0; f];
            let (mut x, mut y) = (x0.clone(), x0.clone());
            by_width!(k, ut_column(&lp, &up, f, &rows, &mut x, b), unreachable!());
            ut_column_wide(&lp, &up, f, k, &rows, &mut y, b, &mut tmp);
            close(&x, &y, "Uᵀ");
            let (mut x, mut y) = (x0.clone(), x0.clone());
            by_width!(k, lt_column(&lp, f, &rows, &mut x, b), unreachable!());
            lt_column_wide(&lp, f, k, &rows, &mut y, b, &mut tmp);
            close(&x, &y, "Lᵀ");
        }
    }

    /// The single-column sweeps (register kernels and plain loops) against the blocked sweeps on
    /// faer's kernels, which take a different summation order: forward and transpose solves.
    #[test]
    fn single_column_sweeps_match_the_blocked_sweeps() {
        for (sym, num, n) in factored_test_matrices() {
            let nrhs = SOLVE_BLOCK;
            let b: Vec<f64> = (0..n * nrhs)
                .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
                .collect();
            let mut work = vec![0.0; sym.solve_scratch_len(nrhs)];
            for transpose in [false, true] {
                let mut blocked = b.clone();
                num.solve_in_place(&sym, transpose, &mut blocked, nrhs, &mut work);
                for c in 0..nrhs {
                    let mut x = b[c * n..(c + 1) * n].to_vec();
                    num.solve_in_place(&sym, transpose, &mut x, 1, &mut work);
                    let scale = blocked[c * n..(c + 1) * n]
                        .iter()
                        .fold(0.0f64, |m, v| m.max(v.abs()));
                    for (i, (&xi, &yi)) in x.iter().zip(&blocked[c * n..]).enumerate() {
                        // 1e-12: the same factors, summed in another order (growth ≪ 10⁴ ε).
                        assert!(
                            (xi - yi).abs() <= 1e-12 * scale,
                            "n = {n}, transpose = {transpose}, column {c}, row {i}: {xi} vs {yi}"
                        );
                    }
                }
            }
        }
    }

    /// P3's iteration matrix (16 × 16 and 32 × 32 grids) and 2-D Poisson (24 × 24), AMD, with
    /// every value scaled by a factor in [0.9, 1.1): matrix, pattern and perturbed values.
    fn parallel_test_matrices() -> Vec<(sprs::CsMat<f64>, CscPattern, Vec<f64>)> {
        [
            brusselator_iteration_matrix(16, 0.05),
            brusselator_iteration_matrix(32, 0.05),
            crate::problems::poisson_2d(24),
        ]
        .into_iter()
        .map(|a| {
            let pattern = CscPattern::from_sprs(a.view()).unwrap();
            let vals = perturbed(&a, 3);
            (a, pattern, vals)
        })
        .collect()
    }

    /// The plan: every supernode in exactly one sequence, each sequence ascending, both
    /// workers nonempty, every child factorised before its parent (in the same sequence
    /// earlier, or by a worker when the parent is in the top; never in the other worker), and
    /// the update blocks alive at the same time — within a sequence, and across the two
    /// workers, whose blocks all live until the top has run — never overlapping.
    #[test]
    fn parallel_plan_is_a_valid_schedule() {
        for (a, pattern, _) in parallel_test_matrices() {
            let sym = MultifrontalSymbolic::new(&pattern, SymbolicOrdering::Amd).unwrap();
            let plan = sym.plan.as_ref().unwrap();
            let nsn = sym.n_supernodes();
            let mut owner = vec![usize::MAX; nsn];
            let mut position = vec![0usize; nsn];
            for (w, seq) in plan.seqs.iter().enumerate() {
                let list: Vec<usize> = seq.iter().flat_map(Clone::clone).collect();
                assert!(list.windows(2).all(|p| p[0] < p[1]), "sequence {w} ascends");
                for (q, &s) in list.iter().enumerate() {
                    assert_eq!(owner[s], usize::MAX, "supernode {s} owned twice");
                    owner[s] = w;
                    position[s] = q;
                }
            }
            assert!(owner.iter().all(|&w| w < 3), "every supernode owned");
            assert!(owner.contains(&0) && owner.contains(&1));
            for p in 0..nsn {
                for &c in &sym.children[sym.children_ptr[p]..sym.children_ptr[p + 1]] {
                    let ok = if owner[c] == owner[p] {
                        position[c] < position[p]
                    } else {
                        owner[p] == 2
                    };
                    assert!(ok, "child {c} (seq {}) of {p} (seq {})", owner[c], owner[p]);
                }
            }
            // Alive intervals in a global time: worker w's step q at (w, q); the workers run at
            // once, so any two worker blocks may coexist unless one is consumed (by the same
            // worker) before the other is placed; top step q after both.
            let parent_of = |c: usize| {
                (0..nsn).find(|&p| {
                    sym.children[sym.children_ptr[p]..sym.children_ptr[p + 1]].contains(&c)
                })
            };
            let block = |s: usize| {
                let r = sym.rows_ptr[s + 1] - sym.rows_ptr[s];
                plan.update_ptr[s]..plan.update_ptr[s] + r * r
            };
            // (sequence, placed at, freed at within the same sequence or `usize::MAX`).
            let life: Vec<(usize, usize, usize)> = (0..nsn)
                .map(|s| {
                    let freed = match parent_of(s) {
                        Some(p) if owner[p] == owner[s] => position[p],
                        _ => usize::MAX,
                    };
                    (owner[s], position[s], freed)
                })
                .collect();
            let coexist = |x: usize, y: usize| {
                let ((wx, px, fx), (wy, py, fy)) = (life[x], life[y]);
                if wx == wy {
                    // Both alive at a step of the sequence (a block is read at its freeing
                    // step while the parent's is written).
                    px <= fy && py <= fx
                } else if wx < 2 && wy < 2 {
                    true
                } else {
                    // A worker block and a top block: alive together if the worker block
                    // lives past its worker (its parent is in the top).
                    let (worker_block, _) = if wx < 2 { (x, y) } else { (y, x) };
                    life[worker_block].2 == usize::MAX
                }
            };
            for x in 0..nsn {
                let bx = block(x);
                if bx.is_empty() {
                    continue;
                }
                assert!(bx.end <= plan.pool_len);
                for y in x + 1..nsn {
                    let by = block(y);
                    if by.is_empty() || !coexist(x, y) {
                        continue;
                    }
                    assert!(
                        bx.end <= by.start || by.end <= bx.start,
                        "n = {}: blocks of {x} and {y} overlap",
                        a.rows()
                    );
                }
            }
        }
    }

    /// The two-worker factorisation against the serial one: the same factors and pivots bit for
    /// bit (the same operations on the same data in each front), two parallel refactorisations
    /// bit-identical, and a solve whose residual is at rounding level.
    #[test]
    fn parallel_factorisation_matches_the_serial_one() {
        for (a, pattern, vals) in parallel_test_matrices() {
            let n = a.rows();
            let sym = MultifrontalSymbolic::new(&pattern, SymbolicOrdering::Amd).unwrap();
            let mut serial = MultifrontalLu::new(&sym, Par::Seq);
            let mut parallel = MultifrontalLu::new(&sym, Par::rayon(2));
            assert!(serial.helper.is_none() && parallel.helper.is_some());
            serial.factor(&sym, &vals, 0.01).unwrap();
            parallel.factor(&sym, a.data(), 0.01).unwrap(); // other values first
            parallel.factor(&sym, &vals, 0.01).unwrap();
            let first = parallel.factors.clone();
            for (i, (p, q)) in serial.factors.iter().zip(&parallel.factors).enumerate() {
                assert_eq!(p.to_bits(), q.to_bits(), "n = {n}, entry {i}: {p} vs {q}");
            }
            assert_eq!(serial.piv, parallel.piv);
            parallel.factor(&sym, &vals, 0.01).unwrap();
            assert!(
                first
                    .iter()
                    .zip(&parallel.factors)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
            );
            // Residual of a solve with the parallel factors, against the perturbed matrix.
            let b: Vec<f64> = values(n, 9);
            let mut x = b.clone();
            let mut work = vec![0.0; sym.solve_scratch_len(1)];
            parallel.solve_in_place(&sym, false, &mut x, 1, &mut work);
            let mut res = b.clone();
            let (mut anorm, mut xnorm) = (0.0f64, 0.0f64);
            for (j, col) in a.outer_iterator().enumerate() {
                for ((i, _), &v) in col.iter().zip(&vals[a.indptr().outer_inds_sz(j)]) {
                    res[i] -= v * x[j];
                    anorm = anorm.max(v.abs());
                }
                xnorm = xnorm.max(x[j].abs());
            }
            let rnorm = res.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            // Backward error: n ε growth-free bound, loosely.
            assert!(
                rnorm <= 1e-12 * anorm * xnorm * n as f64,
                "n = {n}: residual {rnorm}"
            );
        }
    }

    /// A static-pivot failure inside a worker's subtree, in both workers' subtrees and in the
    /// top: the parallel path reports the serial path's failure (the first failing supernode in
    /// postorder).
    #[test]
    fn parallel_failure_is_the_serial_one() {
        let a = brusselator_iteration_matrix(16, 0.05);
        let pattern = CscPattern::from_sprs(a.view()).unwrap();
        let sym = MultifrontalSymbolic::new(&pattern, SymbolicOrdering::Amd).unwrap();
        let plan = sym.plan.as_ref().unwrap();
        // Zero the diagonal entry of the first column of a supernode: its own column in `A`.
        let zero_column_of = |s: usize| {
            let j = sym.perm[sym.begin[s]];
            let col = a.indptr().outer_inds_sz(j);
            let rows = &a.indices()[col.clone()];
            let d = rows.iter().position(|&i| i == j).unwrap();
            (j, col.start + d)
        };
        let last_of = |w: usize| plan.seqs[w].last().unwrap().end - 1;
        let first_of = |w: usize| plan.seqs[w][0].start;
        let cases: Vec<Vec<usize>> = vec![
            vec![first_of(0)],
            vec![last_of(1)],
            vec![last_of(0), first_of(1)],
            vec![first_of(0), last_of(1)],
            vec![plan.seqs[2][0].start, last_of(1)],
            vec![sym.n_supernodes() - 1],
        ];
        for zeroed in cases {
            let mut vals = a.data().to_vec();
            for &s in &zeroed {
                let (_, p) = zero_column_of(s);
                vals[p] = 0.0;
                // Also zero the rest of that column so that no pivot in the block saves it.
                let j = sym.perm[sym.begin[s]];
                for q in a.indptr().outer_inds_sz(j) {
                    vals[q] = 0.0;
                }
            }
            let mut serial = MultifrontalLu::new(&sym, Par::Seq);
            let mut parallel = MultifrontalLu::new(&sym, Par::rayon(2));
            let want = serial.factor(&sym, &vals, 0.01).unwrap_err();
            let got = parallel.factor(&sym, &vals, 0.01).unwrap_err();
            assert_eq!(want, got, "zeroed columns of supernodes {zeroed:?}");
        }
    }
}
