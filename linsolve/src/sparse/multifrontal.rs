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
//! the block is never zeroed — where it waits for the parent. The pool's blocks are placed by the symbolic analysis (first
//! fit among the blocks alive in the postorder), so a refactorisation copies nothing. Fronts
//! with more than [`SMALL_BLOCK`] fully summed columns run on faer's blocked kernels (LU of
//! `F11`, the triangular solves, the Schur-complement product); smaller ones on plain loops
//! that sum each column's `k` Schur products in registers (fused multiply–adds in an AVX2 + FMA
//! build of the factorisation loop, chosen at run time on x86-64).
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
//! # Solves
//!
//! With `Q` the block-diagonal product of the supernodes' row permutations, `Q Â = L U`:
//! `A x = b` is `x̂ = U⁻¹ L⁻¹ Q P b`, `x = Pᵀ x̂`, one forward and one backward sweep over the
//! supernodes, gathering and scattering through the row patterns; `Aᵀ x = b` is
//! `x = Pᵀ Qᵀ L⁻ᵀ U⁻ᵀ P b` on the same factors.

use faer::dyn_stack::StackReq;
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve as tri;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::sparse::SymbolicSparseColMatRef;
use faer::sparse::linalg::SupernodalThreshold;
use faer::sparse::linalg::cholesky::{
    CholeskySymbolicParams, SymbolicCholeskyRaw, SymmetricOrdering, factorize_symbolic_cholesky,
};
use faer::{Accum, MatMut, MatRef, Par, Spec};

use crate::dense::{Buf, mem_buffer};
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
    rel: Vec<usize>,
    /// Children of `s`: `children[children_ptr[s]..children_ptr[s + 1]]`, in processing order.
    children_ptr: Vec<usize>,
    children: Vec<usize>,
    /// Supernode `s` stores its `(k + r) × k` panel `[L11\U11; L21]` and then its `k × r` panel
    /// `U12` (both column-major) at `factors[panel_ptr[s]..panel_ptr[s + 1]]`.
    panel_ptr: Vec<usize>,
    /// Assembly of `Â` into the panels: for supernode `s`, `asm_src[e]` (CSC position in `A`)
    /// goes to `asm_dst[e]` (position in the factor storage), `e ∈ asm_ptr[s]..asm_ptr[s+1]`.
    /// Every entry of `Â` lands in a fully summed row or column, so in a panel.
    asm_ptr: Vec<usize>,
    asm_src: Vec<usize>,
    asm_dst: Vec<usize>,
    /// Offset of `s`'s `r × r` update matrix in the update pool (first fit among the blocks
    /// alive when `s` is factorised: its children's and the pending ones of earlier subtrees).
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

        let mut rel = vec![0usize; rows.len()];
        for t in 0..nsn {
            if parent[t] == NONE {
                continue;
            }
            for q in rows_ptr[t]..rows_ptr[t + 1] {
                rel[q] = front_pos(parent[t], rows[q]).ok_or_else(inconsistent)?;
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
            let (kf, rf) = (k as f64, r as f64);
            // LU of F11, two triangular solves with k × r right-hand sides, the Schur update.
            flops += 2.0 / 3.0 * kf * kf * kf + 2.0 * kf * kf * rf + 2.0 * kf * rf * rf;
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
        let mut asm_src = vec![0usize; nnz];
        let mut asm_dst = vec![0usize; nnz];
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
                asm_src[fill[t]] = p;
                asm_dst[fill[t]] = if cj < k {
                    panel_ptr[t] + cj * f + ri
                } else if ri < k {
                    panel_ptr[t] + f * k + (cj - k) * k + ri
                } else {
                    // `t` owns the entry because its row or its column is one of t's columns.
                    return Err(inconsistent());
                };
                fill[t] += 1;
            }
        }

        // Update-matrix pool: first fit among the live blocks. In postorder, the blocks alive
        // while `t` is factorised are the ones of finished supernodes whose parent comes later.
        let mut update_ptr = vec![0usize; nsn];
        let mut live: Vec<(usize, usize, usize)> = Vec::new(); // (offset, end, supernode), by offset
        let mut pool_len = 0usize;
        for t in 0..nsn {
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
                update_ptr[t] = at;
                pool_len = pool_len.max(at + size);
            }
            // t's children are consumed by t: free them after t's block is placed (they are
            // read while t's block is written).
            let kids = &children[children_ptr[t]..children_ptr[t + 1]];
            live.retain(|&(_, _, c)| !kids.contains(&c));
        }
        let rel_split: Vec<usize> = (0..nsn)
            .map(|t| match parent[t] {
                NONE => 0,
                p => {
                    let kp = begin[p + 1] - begin[p];
                    rel[rows_ptr[t]..rows_ptr[t + 1]].partition_point(|&x| x < kp)
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
    /// The update matrices `F22 − L21 U12` waiting for their parents.
    pool: Vec<f64>,
    perm_tmp: Vec<usize>,
    perm_inv_tmp: Vec<usize>,
    row_tmp: Vec<f64>,
    mem: Buf,
    par: Par,
    /// Whether the numeric factorisation runs its AVX2 + FMA build (x86-64 CPUs that have both).
    fma: bool,
}

impl MultifrontalLu {
    /// Storage for the factors of `sym`.
    pub(crate) fn new(sym: &MultifrontalSymbolic, par: Par) -> Result<Self, LinsolveError> {
        let req = lu_in_place_scratch::<usize, f64>(sym.max_k, sym.max_k, par, Spec::default());
        Ok(Self {
            factors: vec![0.0; sym.nnz_l + sym.nnz_u],
            piv: vec![0; sym.n],
            pool: vec![0.0; sym.pool_len],
            perm_tmp: vec![0; sym.max_k],
            perm_inv_tmp: vec![0; sym.max_k],
            row_tmp: vec![0.0; sym.max_k],
            mem: mem_buffer(StackReq::any_of(&[req]))?,
            par,
            fma: fma_available(),
        })
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
    pub(crate) fn factor(
        &mut self,
        sym: &MultifrontalSymbolic,
        values: &[f64],
        pivot_threshold: f64,
    ) -> Result<(), StaticPivotFailure> {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: `fma` is set only when the CPU reports AVX2 and FMA (`fma_available`).
            return unsafe { self.factor_avx2_fma(sym, values, pivot_threshold) };
        }
        self.factor_with::<{ cfg!(target_arch = "aarch64") }>(sym, values, pivot_threshold)
    }

    /// [`MultifrontalLu::factor`] compiled for AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn factor_avx2_fma(
        &mut self,
        sym: &MultifrontalSymbolic,
        values: &[f64],
        pivot_threshold: f64,
    ) -> Result<(), StaticPivotFailure> {
        self.factor_with::<true>(sym, values, pivot_threshold)
    }

    /// The factorisation loop; `FMA`: the kernels fuse multiply–subtracts (instantiated with
    /// `true` only where the target has FMA: inlined into [`MultifrontalLu::factor_avx2_fma`], or
    /// on aarch64).
    #[inline(always)]
    fn factor_with<const FMA: bool>(
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
        for s in 0..sym.n_supernodes() {
            let (b, e) = (sym.begin[s], sym.begin[s + 1]);
            let (k, f) = sym.order(s);
            let r = f - k;
            let block = sym.panel_ptr[s]..sym.panel_ptr[s + 1];
            let up = sym.update_ptr[s];
            self.factors[block.clone()].fill(0.0);
            let range = sym.asm_ptr[s]..sym.asm_ptr[s + 1];
            for (&dst, &src) in sym.asm_dst[range.clone()].iter().zip(&sym.asm_src[range]) {
                // `dst` lies in the factor storage and `src < nnz` by construction of the map.
                *get_mut(&mut self.factors, dst) += get(values, src);
            }
            // The children's update matrices: their rows and columns in s's fully summed
            // block now, the rest (in F22) after the Schur complement has overwritten F22, so
            // that F22 is never zeroed.
            let children = &sym.children[sym.children_ptr[s]..sym.children_ptr[s + 1]];
            for &c in children {
                let rel = &sym.rel[sym.rows_ptr[c]..sym.rows_ptr[c + 1]];
                let rc = rel.len();
                let child = &self.pool[sym.update_ptr[c]..sym.update_ptr[c] + rc * rc];
                extend_add_panels(
                    &mut self.factors[block.clone()],
                    f,
                    k,
                    child,
                    rel,
                    sym.rel_split[c],
                );
            }

            // Factor the fully summed block with pivoting inside it, and form L21, U12 and the
            // update matrix F22 − L21 U12.
            let (lp, u12) = self.factors[block].split_at_mut(f * k);
            let f22 = &mut self.pool[up..up + r * r];
            let perm = &mut self.perm_tmp[..k];
            let outcome = if k <= SMALL_BLOCK {
                small_front_lu::<FMA>(lp, u12, f22, f, k, perm, growth_limit)
            } else {
                let dense = DenseScratch {
                    perm_inv: &mut self.perm_inv_tmp[..k],
                    row_tmp: &mut self.row_tmp[..k],
                    mem: &mut self.mem,
                    par: self.par,
                };
                blocked_front_lu(lp, u12, f22, f, k, perm, dense, growth_limit)
            };
            if let Err((j, zero_pivot)) = outcome {
                return Err(StaticPivotFailure {
                    column: sym.perm[b + j],
                    zero_pivot,
                });
            }
            self.piv[b..e].copy_from_slice(&self.perm_tmp[..k]);
            for &c in children {
                let rel = &sym.rel[sym.rows_ptr[c]..sym.rows_ptr[c + 1]];
                let rc = rel.len();
                let (child, f22) = pool_pair(&mut self.pool, sym.update_ptr[c], rc * rc, up, r * r);
                extend_add_update(f22, r, k, child, rel, sym.rel_split[c]);
            }
        }
        Ok(())
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

/// A child's update matrix and its parent's block in the update pool: disjoint ranges (the
/// parent's block is placed while the child's is alive).
fn pool_pair(
    pool: &mut [f64],
    child: usize,
    child_len: usize,
    parent: usize,
    parent_len: usize,
) -> (&[f64], &mut [f64]) {
    if child < parent {
        let (lo, hi) = pool.split_at_mut(parent);
        (&lo[child..child + child_len], &mut hi[..parent_len])
    } else {
        let (lo, hi) = pool.split_at_mut(child);
        (&hi[..child_len], &mut lo[parent..parent + parent_len])
    }
}

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
    rel: &[usize],
    split: usize,
) {
    let rc = rel.len();
    let (lp, u12) = panels.split_at_mut(f * k);
    for (jc, &fj) in rel.iter().enumerate() {
        let src = &block[jc * rc..(jc + 1) * rc];
        if fj < k {
            let dst = &mut lp[fj * f..(fj + 1) * f];
            for (&fi, &v) in rel.iter().zip(src) {
                debug_assert!(fi < f);
                // SAFETY: `rel` holds positions in the parent's front, computed by the symbolic
                // analysis as indices of its index set of size `f = dst.len()`.
                unsafe { *dst.get_unchecked_mut(fi) += v };
            }
        } else {
            let c = fj - k;
            let ucol = &mut u12[c * k..(c + 1) * k];
            for (&fi, &v) in rel[..split].iter().zip(&src[..split]) {
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
    rel: &[usize],
    split: usize,
) {
    let rc = rel.len();
    let rows = &rel[split..];
    for (jc, &fj) in rel.iter().enumerate().skip(split) {
        let src = &block[jc * rc + split..(jc + 1) * rc];
        let c = fj - k;
        let fcol = &mut f22[c * r..(c + 1) * r];
        // Front position `fi ∈ k..k + r` is `fcol[fi − k]`: the column's address shifted by
        // `−k` once, so that the loop adds `fi` alone (a wrapping offset: it may point before
        // the slice, but is only dereferenced after adding `fi ≥ k`).
        let shifted = fcol.as_mut_ptr().wrapping_sub(k);
        for (&fi, &v) in rows.iter().zip(src) {
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

/// faer's working memory for the blocked front factorisation.
struct DenseScratch<'a> {
    perm_inv: &'a mut [usize],
    row_tmp: &'a mut [f64],
    mem: &'a mut Buf,
    par: Par,
}

/// [`small_front_lu`]'s job by faer's blocked kernels (large fully summed blocks).
#[allow(clippy::too_many_arguments)] // the three blocks of a front, its shape and the scratch
fn blocked_front_lu(
    lp: &mut [f64],
    u12: &mut [f64],
    f22: &mut [f64],
    f: usize,
    k: usize,
    perm: &mut [usize],
    scratch: DenseScratch<'_>,
    growth: f64,
) -> Result<(), (usize, bool)> {
    let r = f - k;
    {
        let panel = MatMut::from_column_major_slice_mut(&mut *lp, f, k);
        let (mut f11, mut f21) = panel.split_at_row_mut(k);
        lu_in_place(
            f11.rb_mut(),
            &mut *perm,
            scratch.perm_inv,
            scratch.par,
            scratch.mem.stack(),
            Spec::default(),
        );
        if let Some(i) = (0..k).find(|&i| {
            let d = f11[(i, i)];
            d == 0.0 || !d.is_finite()
        }) {
            return Err((i, true));
        }
        if r == 0 {
            return Ok(());
        }
        // L21 = F21 U11⁻¹  ⇔  U11ᵀ L21ᵀ = F21ᵀ.
        tri::solve_lower_triangular_in_place(
            f11.rb().transpose(),
            f21.rb_mut().transpose_mut(),
            scratch.par,
        );
    }
    // Multipliers bounded by `growth`, checked on the panel's contiguous columns.
    if let Some(j) = (0..k).find(|&j| exceeds(&lp[j * f + k..(j + 1) * f], growth)) {
        return Err((j, false));
    }
    // U12 = L11⁻¹ Q F12: permute the rows (each column of F12 is contiguous), then the unit
    // lower triangular solve.
    if perm.iter().enumerate().any(|(i, &p)| i != p) {
        let tmp = &mut scratch.row_tmp[..k];
        for col in u12.chunks_exact_mut(k) {
            for (t, &p) in tmp.iter_mut().zip(perm.iter()) {
                *t = col[p];
            }
            col.copy_from_slice(tmp);
        }
    }
    let panel = MatRef::from_column_major_slice(lp, f, k);
    let (f11, f21) = panel.split_at_row(k);
    let mut f12 = MatMut::from_column_major_slice_mut(u12, k, r);
    tri::solve_unit_lower_triangular_in_place(f11, f12.rb_mut(), scratch.par);
    let f22 = MatMut::from_column_major_slice_mut(f22, r, r);
    matmul(f22, Accum::Replace, f21, f12.rb(), -1.0, scratch.par);
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
                let mut num = MultifrontalLu::new(&sym, Par::Seq).unwrap();
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
            // Perturbed values: every entry scaled by a factor in [0.9, 1.1).
            let vals: Vec<f64> = a
                .data()
                .iter()
                .zip(values(a.nnz(), 5))
                .map(|(v, p)| v * (1.0 + 0.1 * p))
                .collect();
            let sym = MultifrontalSymbolic::new(&pattern, SymbolicOrdering::Amd).unwrap();
            let mut plain = MultifrontalLu::new(&sym, Par::Seq).unwrap();
            let mut fused = MultifrontalLu::new(&sym, Par::Seq).unwrap();
            plain.factor_with::<false>(&sym, &vals, 0.01).unwrap();
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
        let (mut lp_b, mut u12_b, mut f22_b, mut perm_b) = (lp, u12, vec![0.0; r * r], vec![0; k]);
        small_front_lu::<false>(&mut lp_a, &mut u12_a, &mut f22_a, f, k, &mut perm_a, 1e6).unwrap();
        let mut mem = mem_buffer(lu_in_place_scratch::<usize, f64>(
            k,
            k,
            Par::Seq,
            Spec::default(),
        ))
        .unwrap();
        let (mut perm_inv, mut row_tmp) = (vec![0; k], vec![0.0; k]);
        let scratch = DenseScratch {
            perm_inv: &mut perm_inv,
            row_tmp: &mut row_tmp,
            mem: &mut mem,
            par: Par::Seq,
        };
        blocked_front_lu(
            &mut lp_b,
            &mut u12_b,
            &mut f22_b,
            f,
            k,
            &mut perm_b,
            scratch,
            1e6,
        )
        .unwrap();
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
}
