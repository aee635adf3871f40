//! Differentiates P6's chained map `G = F∘…∘F` (10 times, `F(x)_i = sin x_i cos x_{i+1} + x_i/2`)
//! and the sum of its outputs: prints the value, the gradient (reverse mode, replayed tape) and
//! the 10×10 Jacobian (forward mode), and checks both against finite differences.

use tangent::ad::check::{check_gradient, check_jacobian};
use tangent::ad::operators::{
    Forward, GradientPrep, JacobianPrep, ReverseReplay, prepare_gradient, prepare_jacobian,
};
use tangent::ad::problems::{ChainedMap, ChainedMapSum};
use tangent::ad::{AdError, VectorFunction};

fn main() -> Result<(), AdError> {
    let x = ChainedMap.start();
    let n = x.len();

    let f = ChainedMapSum;
    let mut grad = vec![0.0; n];
    let value = prepare_gradient(&f, &ReverseReplay, &x)?.value_and_gradient(&f, &x, &mut grad)?;
    println!("f(x) = Σ G(x)_i = {value:.15}");
    println!("∇f(x) = {grad:.6?}");

    let g = ChainedMap;
    let mut y = vec![0.0; g.output_len()];
    let mut jac = vec![0.0; n * g.output_len()];
    prepare_jacobian(&g, &Forward::<10>, &x)?.value_and_jacobian(&g, &x, &mut y, &mut jac)?;
    println!("G(x) = {y:.6?}");
    println!("∂G/∂x (rows):");
    for i in 0..g.output_len() {
        let row: Vec<String> = (0..n)
            .map(|j| format!("{:+.4e}", jac[i + j * g.output_len()]))
            .collect();
        println!("  [{}]", row.join(", "));
    }

    let rg = check_gradient(&f, &ReverseReplay, &x)?;
    let rj = check_jacobian(&g, &Forward::<10>, &x)?;
    println!("gradient vs finite differences: {rg}");
    println!("Jacobian vs finite differences: {rj}");
    Ok(())
}
