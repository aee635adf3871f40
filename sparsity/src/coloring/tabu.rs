//! Fewer colours after greedy: tabu search for a `(k−1)`-colouring (TabuCol).
//!
//! Starting from a valid `k`-colouring, the vertices of the smallest colour class are moved to random
//! other colours, which leaves conflicts (adjacent vertices of one colour). Each step moves one
//! conflicting vertex to the colour that lowers the number of conflicts most, among the moves
//! not *tabu* (a vertex may not return to a colour it left during the next `0.6·conflicts + r`
//! steps, `r` random in `0..10`), unless the move gives the fewest conflicts seen so far. When no
//! conflict is left the `(k−1)`-colouring is valid and the search goes on for `k−2`; it stops
//! at the lower bound or when its step budget is spent, keeping the last valid colouring.
//!
//! Each step scans the `(conflicting vertex, colour)` pairs once, collecting the best moves,
//! and draws one of them uniformly (one draw per step, not one per tie as reservoir sampling
//! would: on P3, N = 32, that about halves the time per step). The search
//! starts from whatever colouring it is given — in [`GreedyColoring::default`](super::GreedyColoring::default)
//! the best of the orderings, which on mesh-like patterns is usually Recursive Largest First's
//! (on P3: 9 colours where the best sequential ordering gives 10, and from 9 a few hundred steps
//! find 8, where from 10 even 2 000 steps stop at 9).
//!
//! Reference: A. Hertz, D. de Werra, *Using tabu search techniques for graph coloring*,
//! Computing 39, 1987; the tenure rule is Galinier & Hao, *Hybrid evolutionary algorithms for
//! graph coloring*, J. Comb. Optim. 3, 1999.

use super::{Graph, Lists};

/// xorshift64* with a fixed seed: the search is deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Tries to lower the colour count of the valid colouring `colors` (`n_colors` colours) towards
/// `lower_bound` within `budget` steps in total; returns the best valid colouring found.
pub(crate) fn improve(
    lists: &Lists,
    colors: Vec<u32>,
    n_colors: usize,
    lower_bound: usize,
    budget: usize,
) -> (Vec<u32>, usize) {
    let n = lists.n_vertices();
    if budget == 0 || n_colors <= lower_bound.max(1) || n == 0 {
        return (colors, n_colors);
    }
    let (ptr, adj) = (&lists.ptr, &lists.adj);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut best = (colors, n_colors);
    let mut steps_left = budget;
    while best.1 > lower_bound.max(1) && steps_left > 0 {
        let k = best.1 - 1;
        // Drop the smallest colour class (fewest conflicts to repair): its vertices go to
        // random colours, and the last colour takes its index.
        let mut size = vec![0usize; best.1];
        for &c in &best.0 {
            size[c as usize] += 1;
        }
        let drop = (0..best.1).min_by_key(|&c| size[c]).unwrap_or(k);
        let mut col: Vec<u32> = best
            .0
            .iter()
            .map(|&c| match c as usize {
                c if c == drop => rng.below(k) as u32,
                c if c == k => drop as u32,
                c => c as u32,
            })
            .collect();
        match search(ptr, adj, &mut col, k, &mut steps_left, &mut rng) {
            true => best = (col, k),
            false => break,
        }
    }
    best
}

/// TabuCol with `k` colours from the colouring `col`; `true` (and `col` valid) on success.
fn search(
    ptr: &[usize],
    adj: &[u32],
    col: &mut [u32],
    k: usize,
    steps_left: &mut usize,
    rng: &mut Rng,
) -> bool {
    let n = col.len();
    // gamma[v·k + c]: neighbours of v coloured c.
    let mut gamma = vec![0u32; n * k];
    for v in 0..n {
        for &u in &adj[ptr[v]..ptr[v + 1]] {
            gamma[v * k + col[u as usize] as usize] += 1;
        }
    }
    let mut conflicts: usize = (0..n)
        .map(|v| gamma[v * k + col[v] as usize] as usize)
        .sum::<usize>()
        / 2;
    let mut tabu = vec![0usize; n * k];
    let mut best_conflicts = conflicts;
    // Conflicting vertices, kept as a set with positions for O(1) removal.
    let mut in_set = vec![usize::MAX; n];
    let mut set: Vec<u32> = Vec::new();
    let add = |v: usize, set: &mut Vec<u32>, in_set: &mut [usize]| {
        if in_set[v] == usize::MAX {
            in_set[v] = set.len();
            set.push(v as u32);
        }
    };
    let remove = |v: usize, set: &mut Vec<u32>, in_set: &mut [usize]| {
        let p = in_set[v];
        if p != usize::MAX {
            let last = set.len() - 1;
            set.swap(p, last);
            in_set[set[p] as usize] = p;
            set.pop();
            in_set[v] = usize::MAX;
        }
    };
    for v in 0..n {
        if gamma[v * k + col[v] as usize] > 0 {
            add(v, &mut set, &mut in_set);
        }
    }
    let mut iter = 0usize;
    let mut moves: Vec<(u32, u32)> = Vec::new();
    while conflicts > 0 {
        if *steps_left == 0 {
            return false;
        }
        *steps_left -= 1;
        iter += 1;
        // The best moves (v, c), all of the same conflict change; one is drawn at random.
        let mut best_delta = i64::MAX;
        moves.clear();
        for &v in &set {
            let v = v as usize;
            let (row, tenure) = (&gamma[v * k..(v + 1) * k], &tabu[v * k..(v + 1) * k]);
            let own = col[v] as usize;
            let cur = row[own] as i64;
            for c in 0..k {
                let delta = row[c] as i64 - cur;
                if c == own || delta > best_delta {
                    continue;
                }
                // Tabu unless it gives the fewest conflicts seen so far (aspiration).
                if tenure[c] > iter && conflicts as i64 + delta >= best_conflicts as i64 {
                    continue;
                }
                if delta < best_delta {
                    best_delta = delta;
                    moves.clear();
                }
                moves.push((v as u32, c as u32));
            }
        }
        if moves.is_empty() {
            continue; // every move tabu: let the tenures expire
        }
        let (v, c) = moves[rng.below(moves.len())];
        let (v, delta) = (v as usize, best_delta);
        let old = col[v];
        col[v] = c;
        conflicts = (conflicts as i64 + delta) as usize;
        tabu[v * k + old as usize] = iter + (6 * conflicts) / 10 + rng.below(10);
        for &u in &adj[ptr[v]..ptr[v + 1]] {
            let u = u as usize;
            gamma[u * k + old as usize] -= 1;
            gamma[u * k + c as usize] += 1;
            if gamma[u * k + col[u] as usize] > 0 {
                add(u, &mut set, &mut in_set);
            } else {
                remove(u, &mut set, &mut in_set);
            }
        }
        if gamma[v * k + c as usize] > 0 {
            add(v, &mut set, &mut in_set);
        } else {
            remove(v, &mut set, &mut in_set);
        }
        best_conflicts = best_conflicts.min(conflicts);
    }
    true
}
