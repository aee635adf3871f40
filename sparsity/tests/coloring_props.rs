#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: index loops mirror the maths; unwrap is the assertion

//! Property tests: on random patterns every colouring (each ordering, the default with tabu
//! search, the thorough one) is valid — structurally orthogonal for columns and rows, a star
//! colouring for symmetric patterns — and uses at least the lower bound.

use proptest::prelude::*;
use sprs::{CsMatI, TriMat};
use tangent_sparsity::Pattern;
use tangent_sparsity::coloring::{
    GreedyColoring, Order, check_column_coloring, check_row_coloring, check_star_coloring,
    column_coloring, row_coloring, star_coloring,
};

fn pattern(m: usize, n: usize, entries: &[(usize, usize)], symmetric: bool) -> Pattern {
    let mut t = TriMat::new((m, n));
    let mut seen = std::collections::HashSet::new();
    for &(i, j) in entries {
        let (i, j) = (i % m, j % n);
        if seen.insert((i, j)) {
            t.add_triplet(i, j, 1.0);
        }
        if symmetric && i != j && seen.insert((j, i)) {
            t.add_triplet(j, i, 1.0);
        }
    }
    let a: CsMatI<f64, usize> = t.to_csc();
    a.map(|_| ())
}

fn algorithms() -> Vec<GreedyColoring> {
    let mut v: Vec<GreedyColoring> = Order::ALL
        .iter()
        .map(|&o| GreedyColoring::with_order(o))
        .collect();
    v.push(GreedyColoring::default());
    v.push(GreedyColoring {
        recolor_passes: 7,
        tabu_steps: 5_000,
        ..GreedyColoring::default()
    });
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn column_and_row_colourings_are_orthogonal(
        m in 1usize..40,
        n in 1usize..40,
        entries in proptest::collection::vec((0usize..40, 0usize..40), 0..200),
    ) {
        let p = pattern(m, n, &entries, false);
        for alg in algorithms() {
            let c = column_coloring(&p, &alg).unwrap();
            check_column_coloring(&p, &c).unwrap();
            prop_assert!(c.n_colors() >= c.lower_bound());
            prop_assert_eq!(c.colors().len(), n);
            let r = row_coloring(&p, &alg).unwrap();
            check_row_coloring(&p, &r).unwrap();
            prop_assert!(r.n_colors() >= r.lower_bound());
            prop_assert_eq!(r.colors().len(), m);
        }
    }

    #[test]
    fn star_colourings_are_star(
        n in 1usize..40,
        entries in proptest::collection::vec((0usize..40, 0usize..40), 0..150),
    ) {
        let p = pattern(n, n, &entries, true);
        for alg in algorithms() {
            let c = star_coloring(&p, &alg).unwrap();
            check_star_coloring(&p, &c).unwrap();
            prop_assert!(c.n_colors() >= c.lower_bound());
        }
    }
}
