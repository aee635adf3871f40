//! Recursive Largest First (Leighton, 1979): colour classes built one at a time.
//!
//! Each colour class is grown as a maximal independent set of the still-uncoloured vertices.
//! The candidates `U` start as all uncoloured vertices and the excluded set `W` empty. The class
//! starts with a vertex of largest degree in `U`; each vertex added to the class moves its
//! neighbours from `U` to `W`, and the next one added is the candidate with the most neighbours
//! in `W` (ties: the fewest neighbours left in `U`). Packing the class next to the vertices it
//! already excludes leaves the remaining graph as small and sparse as possible, which on mesh
//! and stencil graphs usually saves colours over any sequential greedy ordering.
//!
//! Cost: each class walks the neighbourhoods of the vertices it colours or excludes, so
//! `O(k · Σ_v deg v)` for `k` colours at most, plus `O(k · n)` for restarting each class. The
//! candidates sit in a bucket queue keyed by their count of neighbours in `W` (lazy deletion);
//! among the candidates of the top bucket the tie-break looks at no more than `TIE_SCAN` (64)
//! of them, which keeps the cost linear in the number of queue entries. On P3 (N = 32, 2048
//! columns, 17 neighbours each) that is about 1 ms: 9 classes, 10⁵ neighbour visits.
//!
//! Listing the vertices class by class gives an ordering in which greedy colouring reproduces
//! this colouring exactly: a class is maximal among the vertices left, so each vertex has a
//! neighbour in every earlier class.
//!
//! Reference: F. T. Leighton, *A graph coloring algorithm for large scheduling problems*,
//! J. Res. Natl. Bur. Stand. 84(6), 1979.

use super::{Graph, Lists, TABU_MAX_EDGES};

/// The most candidates of the top bucket compared for the tie-break.
const TIE_SCAN: usize = 64;

/// Per-vertex state during one class.
const COLORED: u8 = 0;
const CANDIDATE: u8 = 1;
const EXCLUDED: u8 = 2;

/// Neighbourhood walks with fresh tags (the same vertex is walked many times).
struct Walker {
    stamp: Vec<u32>,
    next: u32,
}

impl Walker {
    /// The neighbours of `v`: a slice of `g`'s lists when it has them, else collected into
    /// `out`.
    fn neighbors<'a, G: Graph>(&mut self, g: &'a G, v: usize, out: &'a mut Vec<u32>) -> &'a [u32] {
        if let Some(lists) = g.lists() {
            return &lists.adj[lists.ptr[v]..lists.ptr[v + 1]];
        }
        if self.next == u32::MAX {
            self.stamp.fill(u32::MAX);
            self.next = 0;
        }
        let tag = self.next;
        self.next += 1;
        out.clear();
        g.for_each_neighbor(v, &mut self.stamp, tag, |u| out.push(u as u32));
        out
    }
}

/// The vertices of `g` in RLF's colouring order (class by class). The graph is materialised
/// as adjacency lists when it has at most [`TABU_MAX_EDGES`] edges, else walked in place.
pub(crate) fn order<G: Graph>(g: &G) -> Vec<u32> {
    if let Some(lists) = g.lists() {
        rlf(lists)
    } else if g.edge_bound() <= TABU_MAX_EDGES {
        rlf(&Lists::of(g))
    } else {
        rlf(g)
    }
}

fn rlf<G: Graph>(g: &G) -> Vec<u32> {
    let n = g.n_vertices();
    let mut walker = Walker {
        stamp: vec![u32::MAX; n],
        next: 0,
    };
    let (mut nbrs, mut second) = (Vec::new(), Vec::new());
    // Uncoloured neighbours of each vertex (kept up to date across classes).
    let mut uncolored_degree: Vec<u32> = (0..n)
        .map(|v| walker.neighbors(g, v, &mut nbrs).len() as u32)
        .collect();
    let mut state = vec![CANDIDATE; n];
    let mut in_w = vec![0u32; n]; // neighbours in W
    let mut in_u = vec![0u32; n]; // neighbours in U
    let mut uncolored: Vec<u32> = (0..n as u32).collect();
    let mut order = Vec::with_capacity(n);
    // Bucket 0: the candidates by increasing `in_u` (a sorted list read from the front: a
    // candidate's `in_u` only drops when a neighbour joins W, which takes it out of bucket 0).
    let mut zero: Vec<u32> = Vec::with_capacity(n);
    let mut count: Vec<usize> = Vec::new();
    // Buckets 1, 2, …: candidates by `in_w` (index `in_w − 1`), lazy deletion.
    let mut buckets: Vec<Vec<u32>> = Vec::new();
    while !uncolored.is_empty() {
        // A new class: every uncoloured vertex is a candidate.
        let mut max_degree = 0u32;
        for &v in &uncolored {
            let v = v as usize;
            state[v] = CANDIDATE;
            in_w[v] = 0;
            in_u[v] = uncolored_degree[v];
            max_degree = max_degree.max(in_u[v]);
        }
        // Counting sort by `in_u`, stable (ties in index order).
        count.clear();
        count.resize(max_degree as usize + 2, 0);
        for &v in &uncolored {
            count[in_u[v as usize] as usize + 1] += 1;
        }
        for d in 0..=max_degree as usize {
            count[d + 1] += count[d];
        }
        zero.clear();
        zero.resize(uncolored.len(), 0);
        for &v in &uncolored {
            let p = &mut count[in_u[v as usize] as usize];
            zero[*p] = v;
            *p += 1;
        }
        let mut front = 0usize;
        for b in &mut buckets {
            b.clear();
        }
        let mut top = 0usize; // highest possibly nonempty bucket (0: the sorted list)
        // The class starts with a vertex of largest degree among the uncoloured (smallest index).
        let first = zero
            .iter()
            .copied()
            .find(|&v| in_u[v as usize] == max_degree);
        let mut next = first.map(|v| v as usize);
        while let Some(v) = next {
            state[v] = COLORED;
            order.push(v as u32);
            for &u in walker.neighbors(g, v, &mut nbrs) {
                let u = u as usize;
                uncolored_degree[u] -= 1;
                if state[u] != CANDIDATE {
                    continue;
                }
                // u leaves U for W: its candidate neighbours gain a W-neighbour, lose a
                // U-neighbour.
                state[u] = EXCLUDED;
                for &x in walker.neighbors(g, u, &mut second) {
                    let x = x as usize;
                    if state[x] != CANDIDATE {
                        continue;
                    }
                    in_w[x] += 1;
                    in_u[x] -= 1;
                    let b = in_w[x] as usize;
                    if buckets.len() < b {
                        buckets.resize_with(b, Vec::new);
                    }
                    buckets[b - 1].push(x as u32);
                    top = top.max(b);
                }
            }
            // The next vertex: most neighbours in W, then fewest in U.
            next = None;
            while top > 0 {
                let bucket = &mut buckets[top - 1];
                let mut best: Option<(usize, u32)> = None; // (position, in_u)
                let mut seen = 0;
                let mut i = bucket.len();
                while i > 0 && seen < TIE_SCAN {
                    i -= 1;
                    let x = bucket[i] as usize;
                    if state[x] != CANDIDATE || in_w[x] as usize != top {
                        bucket.swap_remove(i); // stale
                        if let Some((p, _)) = &mut best
                            && *p == bucket.len()
                        {
                            *p = i; // the best entry was moved into the hole
                        }
                        continue;
                    }
                    seen += 1;
                    if best.is_none_or(|(_, d)| in_u[x] < d) {
                        best = Some((i, in_u[x]));
                    }
                }
                if let Some((p, _)) = best {
                    next = Some(bucket.swap_remove(p) as usize);
                    break;
                }
                top -= 1;
            }
            if next.is_none() {
                while front < zero.len() {
                    let x = zero[front] as usize;
                    front += 1;
                    if state[x] == CANDIDATE && in_w[x] == 0 {
                        next = Some(x);
                        break;
                    }
                }
            }
        }
        uncolored.retain(|&v| state[v as usize] != COLORED);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::{Lists, rlf};
    use crate::coloring::Intersection;
    use crate::pattern::Compressed;

    /// Walking the bipartite graph in place (the path for graphs too large to materialise)
    /// gives the same order as the adjacency lists, whose neighbours come in walk order.
    #[test]
    fn walked_and_materialised_graphs_give_the_same_order() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut below = |n: usize| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
        };
        for (m, n) in [(1, 1), (30, 40), (200, 150)] {
            let mut cols: Vec<Vec<u32>> = vec![Vec::new(); n];
            for i in 0..m {
                for _ in 0..1 + below(6) {
                    cols[below(n)].push(i as u32);
                }
            }
            let mut ptr = vec![0];
            let mut idx = Vec::new();
            for c in &mut cols {
                c.sort_unstable();
                c.dedup();
                idx.extend_from_slice(c);
                ptr.push(idx.len());
            }
            let csc = Compressed {
                rows: m,
                cols: n,
                ptr,
                idx,
            };
            let csr = csc.transpose();
            let g = Intersection {
                by_vertex: &csc,
                by_net: &csr,
            };
            let walked = rlf(&g);
            assert_eq!(walked, rlf(&Lists::of(&g)));
            let mut sorted = walked.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
        }
    }
}
