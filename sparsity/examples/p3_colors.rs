//! Prints the colours each ordering gives on P3's Jacobian pattern, and writes the pattern to
//! `target/sparsity/p3_n{N}.txt` (one `row col` pair per line) for the SciPy peer script.

use tangent_ad::problems::{Brusselator2D, BrusselatorState};
use tangent_sparsity::coloring::{GreedyColoring, Order, column_coloring};
use tangent_sparsity::jacobian_sparsity;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sparsity");
    std::fs::create_dir_all(&out_dir)?;
    for n in [8, 32, 64] {
        let f = BrusselatorState {
            problem: Brusselator2D { n },
            t: 2.0,
        };
        let p = jacobian_sparsity(&f, &f.problem.initial_state())?;
        let mut text = format!("{} {}\n", p.rows(), p.cols());
        for (_, (i, j)) in p.iter() {
            text.push_str(&format!("{i} {j}\n"));
        }
        std::fs::write(out_dir.join(format!("p3_n{n}.txt")), text)?;
        print!("P3 N = {n:>2}:");
        for o in Order::ALL {
            let c = column_coloring(&p, &GreedyColoring::with_order(o))?;
            print!(" {o:?} {}", c.n_colors());
        }
        for steps in [0, 1_000, 5_000, 20_000, 100_000] {
            let t = std::time::Instant::now();
            let c = column_coloring(
                &p,
                &GreedyColoring {
                    tabu_steps: steps,
                    ..GreedyColoring::default()
                },
            )?;
            print!(
                " | tabu {steps}: {} ({:.1} ms)",
                c.n_colors(),
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        print!(
            " (bound {})",
            tangent_sparsity::column_coloring_lower_bound(&p)
        );
        println!();
    }
    Ok(())
}
