//! P3's numeric refactorisation (n = 2048 and 8192): the multifrontal LU with AMD, serial and
//! with two workers, and faer's sparse LU (COLAMD, partial pivoting, its automatic
//! simplicial/supernodal choice) as the peer, timed one refactorisation at a time and
//! interleaved: batches of each variant alternate over several rounds, so all see the same
//! phases of a shared host, and the distribution (fastest, 10th percentile, median, 90th
//! percentile, mean) is printed rather than criterion's mean of back-to-back batches, which a
//! host whose memory bandwidth is shared with its neighbours moves by ±30 % between runs (see
//! the cost notes of the multifrontal module).
//!
//! `cargo bench -p tangent-benches --bench refactor` (optionally `-- 2048` or `-- 8192`).

#![allow(clippy::unwrap_used)] // benchmarks: a failed set-up should abort the run loudly

use std::time::Instant;

use tangent_linsolve::problems::brusselator_iteration_matrix;
use tangent_linsolve::*;

/// `(fastest, 10th percentile, median, 90th percentile, mean)` of `t` (sorted in place).
fn summary(t: &mut [f64]) -> [f64; 5] {
    t.sort_by(f64::total_cmp);
    let at = |q: f64| t[((t.len() - 1) as f64 * q) as usize];
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    [t[0], at(0.1), at(0.5), at(0.9), mean]
}

fn main() {
    // `cargo bench` passes `--bench`; a size given on the command line selects it.
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for m in [32usize, 64] {
        let a = brusselator_iteration_matrix(m, 0.05);
        let n = a.rows();
        if !sizes.is_empty() && !sizes.contains(&n) {
            continue;
        }
        let values = a.data().to_vec();
        let prob = LinearProblem::new(a.clone(), vec![1.0; n]);
        let multifrontal = |threads| -> LinearAlgorithm {
            SparseLu {
                threads,
                ..Default::default()
            }
            .into()
        };
        let variants: [(&str, LinearAlgorithm); 3] = [
            ("multifrontal, serial", multifrontal(1)),
            ("multifrontal, two workers", multifrontal(2)),
            (
                "faer COLAMD auto",
                SparseLu {
                    method: SparseLuMethod::PartialPivoting(FaerVariant::Auto),
                    ..Default::default()
                }
                .into(),
            ),
        ];
        let mut caches: Vec<_> = variants
            .iter()
            .map(|(_, alg)| {
                let mut c = init(&prob, alg).unwrap();
                c.factorize().unwrap();
                c
            })
            .collect();
        let (rounds, per) = if m <= 32 { (20, 200) } else { (10, 20) };
        let mut times = vec![Vec::with_capacity(rounds * per); variants.len()];
        for _ in 0..rounds {
            for (c, t) in caches.iter_mut().zip(times.iter_mut()) {
                for _ in 0..per {
                    c.set_values(&values).unwrap();
                    let start = Instant::now();
                    c.factorize().unwrap();
                    t.push(start.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        println!("P3 n = {n}, numeric refactorisation, {rounds} rounds x {per} interleaved (us):");
        println!("  {:28} fastest     p10  median     p90    mean", "");
        let mut medians = Vec::new();
        for ((label, _), t) in variants.iter().zip(times.iter_mut()) {
            let [lo, p10, med, p90, mean] = summary(t);
            medians.push(med);
            println!("  {label:28} {lo:7.0} {p10:7.0} {med:7.0} {p90:7.0} {mean:7.0}");
        }
        println!(
            "  median ratios: two workers / serial {:.2}, faer / serial {:.2}, faer / two workers {:.2}",
            medians[1] / medians[0],
            medians[2] / medians[0],
            medians[2] / medians[1]
        );
    }
}
