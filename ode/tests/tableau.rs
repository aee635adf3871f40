//! Every tableau against the Runge–Kutta order conditions: for each rooted tree `τ` with
//! `|τ| ≤ p`, `Σ_i b_i Φ_i(τ) = 1/γ(τ)` (Butcher; HNW I, §II.2, Theorem 2.13), for the propagated
//! weights `b` (order `ORDER`), the embedded weights `b̂ = b − e` (order `EMBEDDED_ORDER`) and the
//! interpolation weights `b(θ)` (`Σ_i b_i(θ) Φ_i(τ) = θ^|τ|/γ(τ)`, order `INTERPOLANT_ORDER`). The
//! conditions of the next order must fail (the order is exact, not higher).

#![allow(clippy::needless_range_loop, clippy::unwrap_used)] // tests: indices mirror the maths

use tangent_ode::{Dp5, ExplicitRungeKutta, Tsit5, Vern7};

/// A rooted tree as the sorted list of its subtrees.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Tree(Vec<Tree>);

impl Tree {
    fn order(&self) -> usize {
        1 + self.0.iter().map(Tree::order).sum::<usize>()
    }
    fn gamma(&self) -> f64 {
        self.order() as f64 * self.0.iter().map(Tree::gamma).product::<f64>()
    }
}

/// All rooted trees with `n` nodes.
fn trees(n: usize) -> Vec<Tree> {
    if n == 1 {
        return vec![Tree(vec![])];
    }
    let mut out = Vec::new();
    // Multisets of subtrees with total order n − 1, built in non-increasing canonical order.
    fn extend(rest: usize, max: Option<&Tree>, acc: &mut Vec<Tree>, out: &mut Vec<Tree>) {
        if rest == 0 {
            let mut ch = acc.clone();
            ch.sort();
            out.push(Tree(ch));
            return;
        }
        for size in (1..=rest).rev() {
            for t in trees(size) {
                if let Some(m) = max
                    && (t.order(), &t) > (m.order(), m)
                {
                    continue;
                }
                acc.push(t.clone());
                extend(rest - size, Some(&t), acc, out);
                acc.pop();
            }
        }
    }
    extend(n - 1, None, &mut Vec::new(), &mut out);
    out.sort();
    out.dedup();
    out
}

/// Elementary weights Φ_i(τ) for every stage.
fn phi<M: ExplicitRungeKutta>(t: &Tree) -> Vec<f64> {
    let s = M::C.len();
    let mut v = vec![1.0; s];
    for child in &t.0 {
        let pc = phi::<M>(child);
        for i in 0..s {
            let sum: f64 = M::A[i].iter().zip(&pc).map(|(a, p)| a * p).sum();
            v[i] *= sum;
        }
    }
    v
}

/// Largest |Σ_i w_i Φ_i(τ) − scale/γ(τ)| over the trees of order `n` (scale θ^n for
/// interpolants).
fn defect<M: ExplicitRungeKutta>(w: &[f64], n: usize, theta: f64) -> f64 {
    trees(n)
        .iter()
        .map(|t| {
            let p = phi::<M>(t);
            let lhs: f64 = w.iter().zip(&p).map(|(a, b)| a * b).sum();
            (lhs - theta.powi(n as i32) / t.gamma()).abs()
        })
        .fold(0.0, f64::max)
}

fn check<M: ExplicitRungeKutta>() {
    // Rounding the coefficients to f64 (magnitudes up to ~10³ in Vern7's interpolant) leaves
    // defects of a few 1e-13 at most: 1e-11 is tight enough that any wrong digit in the first 11
    // of a coefficient fails, and far below the smallest genuine defect of the next order.
    const HOLDS: f64 = 1e-11;
    const FAILS: f64 = 1e-8;
    let b = M::B.to_vec();
    let bhat: Vec<f64> = M::B.iter().zip(M::E).map(|(b, e)| b - e).collect();
    for n in 1..=M::ORDER {
        let d = defect::<M>(&b, n, 1.0);
        assert!(d < HOLDS, "{} b: order {n} defect {d:e}", M::NAME);
    }
    let d = defect::<M>(&b, M::ORDER + 1, 1.0);
    assert!(
        d > FAILS,
        "{} b: order {} holds too ({d:e})",
        M::NAME,
        M::ORDER + 1
    );
    for n in 1..=M::EMBEDDED_ORDER {
        let d = defect::<M>(&bhat, n, 1.0);
        assert!(d < HOLDS, "{} b̂: order {n} defect {d:e}", M::NAME);
    }
    let d = defect::<M>(&bhat, M::EMBEDDED_ORDER + 1, 1.0);
    assert!(
        d > FAILS,
        "{} b̂: order {} holds too",
        M::NAME,
        M::EMBEDDED_ORDER + 1
    );
    for theta in [0.3, 0.7] {
        let w: Vec<f64> = (0..M::C.len())
            .map(|i| {
                let row = &M::R[i * M::DEGREE..(i + 1) * M::DEGREE];
                row.iter().rev().fold(0.0, |acc, r| acc * theta + r) * theta
            })
            .collect();
        for n in 1..=M::INTERPOLANT_ORDER {
            let d = defect::<M>(&w, n, theta);
            assert!(
                d < HOLDS,
                "{} b(θ={theta}): order {n} defect {d:e}",
                M::NAME
            );
        }
        let d = defect::<M>(&w, M::INTERPOLANT_ORDER + 1, theta);
        println!(
            "{} b(θ={theta}): order-{} defect {d:.2e}",
            M::NAME,
            M::INTERPOLANT_ORDER + 1
        );
        assert!(
            d > FAILS * 1e-2,
            "{} b(θ): order {} holds too",
            M::NAME,
            M::INTERPOLANT_ORDER + 1
        );
    }
}

#[test]
fn tree_counts() {
    // OEIS A000081: 1, 1, 2, 4, 9, 20, 48, 115.
    let counts: Vec<usize> = (1..=8).map(|n| trees(n).len()).collect();
    assert_eq!(counts, [1, 1, 2, 4, 9, 20, 48, 115]);
}

#[test]
fn tsit5_order_conditions() {
    check::<Tsit5>();
}

#[test]
fn dp5_order_conditions() {
    check::<Dp5>();
}

#[test]
fn vern7_order_conditions() {
    check::<Vern7>();
}
