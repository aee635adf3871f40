//! Vertex orderings for greedy colouring.
//!
//! Every ordering is computed on a [`Graph`]: the column-intersection graph of a pattern (two
//! columns adjacent when they share a row: distance-2 neighbours in the bipartite graph, never
//! materialised) or the adjacency graph of a symmetric pattern. Degrees are exact (distinct
//! neighbours, counted with a visit stamp); the dynamic orderings keep their degrees in a bucket
//! queue with lazy deletion, `O(Σ_v Σ_{u ∈ N(v)} 1)` work in total.

use super::Graph;

/// A vertex ordering for greedy colouring (Gebremedhin, Manne & Pothen, SIAM Review 2005, §6;
/// the names of ColPack and SparseMatrixColorings.jl).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Order {
    /// Vertices in index order.
    Natural,
    /// By decreasing degree (Welsh & Powell, 1967).
    LargestFirst,
    /// Repeatedly remove a vertex of smallest degree in the remaining graph; colour in the reverse
    /// order of removal (Matula & Beck, 1983).
    SmallestLast,
    /// Repeatedly pick the vertex with the most already-ordered neighbours (Coleman & Moré, 1983).
    IncidenceDegree,
    /// Repeatedly pick the vertex of largest degree among the not-yet-ordered vertices, degrees
    /// counting only not-yet-ordered neighbours.
    DynamicLargestFirst,
    /// DSATUR (Brélaz, 1979): repeatedly colour the vertex whose neighbours already use the most
    /// distinct colours (its *saturation*), ties by larger degree. The ordering depends on the
    /// colours given so far; greedy colouring in this order reproduces DSATUR's colouring.
    Saturation,
    /// Recursive Largest First (Leighton, 1979): colour classes built one at a time, each a
    /// maximal independent set of the uncoloured vertices grown by repeatedly adding the
    /// candidate with the most neighbours already excluded from the class (ties: fewest
    /// candidate neighbours). The ordering lists the classes one after the other; greedy
    /// colouring in this order reproduces RLF's colouring. Dearer than the others (about `k`
    /// neighbourhood sweeps for `k` colours) and usually fewer colours on mesh and stencil
    /// patterns (P3: 9 where the others give 10–13; banded, block-diagonal and arrow-head
    /// patterns: the lower bound, as the others).
    RecursiveLargestFirst,
}

impl Order {
    /// All orderings, the cheapest first.
    pub const ALL: [Order; 7] = [
        Order::Natural,
        Order::LargestFirst,
        Order::SmallestLast,
        Order::IncidenceDegree,
        Order::DynamicLargestFirst,
        Order::Saturation,
        Order::RecursiveLargestFirst,
    ];

    /// The vertices of `g` in this order.
    pub(crate) fn compute<G: Graph>(self, g: &G) -> Vec<u32> {
        let n = g.n_vertices();
        match self {
            Order::Natural => (0..n as u32).collect(),
            Order::LargestFirst => {
                let deg = degrees(g);
                let mut v: Vec<u32> = (0..n as u32).collect();
                // Stable: ties keep index order.
                v.sort_by_key(|&i| core::cmp::Reverse(deg[i as usize]));
                v
            }
            Order::SmallestLast => {
                let mut removal = dynamic(g, degrees(g), Pick::Min, Update::Decrement);
                removal.reverse();
                removal
            }
            Order::IncidenceDegree => dynamic(g, vec![0; n], Pick::Max, Update::Increment),
            Order::DynamicLargestFirst => dynamic(g, degrees(g), Pick::Max, Update::Decrement),
            Order::Saturation => saturation(g),
            Order::RecursiveLargestFirst => super::rlf::order(g),
        }
    }
}

/// Exact degrees (distinct neighbours).
pub(crate) fn degrees<G: Graph>(g: &G) -> Vec<usize> {
    let n = g.n_vertices();
    let mut stamp = vec![u32::MAX; n];
    (0..n)
        .map(|v| {
            let mut d = 0;
            g.for_each_neighbor(v, &mut stamp, v as u32, |_| d += 1);
            d
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Pick {
    Min,
    Max,
}
#[derive(Clone, Copy)]
enum Update {
    Increment,
    Decrement,
}

/// Orders vertices by repeatedly picking one of smallest/largest key among those not yet
/// picked; after each pick, the keys of its unpicked neighbours move by one.
fn dynamic<G: Graph>(g: &G, mut key: Vec<usize>, pick: Pick, update: Update) -> Vec<u32> {
    let n = g.n_vertices();
    let max_key = n; // keys stay in 0..=n−1 (degrees) or grow to at most n−1 (incidence)
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); max_key + 1];
    // Push in reverse so that ties pop in index order.
    for v in (0..n).rev() {
        buckets[key[v]].push(v as u32);
    }
    let mut done = vec![false; n];
    let mut stamp = vec![u32::MAX; n];
    let mut order = Vec::with_capacity(n);
    let mut cur = match pick {
        Pick::Min => 0,
        Pick::Max => max_key,
    };
    while order.len() < n {
        // Find the next live entry (lazy deletion: stale entries have a different key).
        let v = loop {
            match buckets[cur].pop() {
                Some(v) if !done[v as usize] && key[v as usize] == cur => break v as usize,
                Some(_) => continue,
                None => match pick {
                    Pick::Min => cur += 1,
                    Pick::Max => cur -= 1,
                },
            }
        };
        done[v] = true;
        order.push(v as u32);
        g.for_each_neighbor(v, &mut stamp, v as u32, |u| {
            if done[u] {
                return;
            }
            let k = match update {
                Update::Increment => key[u] + 1,
                Update::Decrement => key[u].saturating_sub(1),
            };
            key[u] = k;
            buckets[k].push(u as u32);
            match pick {
                Pick::Min => cur = cur.min(k),
                Pick::Max => cur = cur.max(k),
            }
        });
    }
    order
}

/// DSATUR's colouring order. The colours adjacent to each vertex are kept as a bitset of
/// `max degree + 1` bits (no vertex needs a larger colour).
fn saturation<G: Graph>(g: &G) -> Vec<u32> {
    let n = g.n_vertices();
    let deg = degrees(g);
    let max_deg = deg.iter().copied().max().unwrap_or(0);
    let words = max_deg / 64 + 1;
    let mut adjacent = vec![0u64; n * words];
    let mut color = vec![u32::MAX; n];
    let mut sat = vec![0usize; n];
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); max_deg + 2];
    // Within a bucket the last pushed pops first: push by increasing degree so that ties go to
    // the largest degree initially.
    let mut by_degree: Vec<u32> = (0..n as u32).collect();
    by_degree.sort_by_key(|&v| deg[v as usize]);
    buckets[0].extend(by_degree);
    let mut stamp = vec![u32::MAX; n];
    let mut order = Vec::with_capacity(n);
    let mut cur = 0usize;
    while order.len() < n {
        let v = loop {
            match buckets[cur].pop() {
                Some(v) if color[v as usize] == u32::MAX && sat[v as usize] == cur => {
                    break v as usize;
                }
                Some(_) => continue,
                None => cur -= 1,
            }
        };
        let bits = &adjacent[v * words..(v + 1) * words];
        let c = bits
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)
            .map_or(words * 64, |(k, w)| k * 64 + w.trailing_ones() as usize);
        color[v] = c as u32;
        order.push(v as u32);
        g.for_each_neighbor(v, &mut stamp, v as u32, |u| {
            if color[u] != u32::MAX || c >= words * 64 {
                return;
            }
            let (w, b) = (u * words + c / 64, 1u64 << (c % 64));
            if adjacent[w] & b == 0 {
                adjacent[w] |= b;
                sat[u] += 1;
                let s = sat[u].min(max_deg + 1);
                buckets[s].push(u as u32);
                cur = cur.max(s);
            }
        });
    }
    order
}
