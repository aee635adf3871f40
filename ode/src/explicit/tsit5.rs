//! Tsit5: the 5(4) pair of Tsitouras with its 4th-order continuous extension.
//!
//! Ch. Tsitouras, *Runge–Kutta pairs of order 5(4) satisfying only the first column simplifying
//! assumption*, Computers & Mathematics with Applications 62 (2011) 770–775. Imposing only
//! the simplifying assumption on the first column leaves free parameters, spent on smaller
//! principal error coefficients than Dormand–Prince's at the same cost: 7 stages, FSAL, 6
//! evaluations of `f` per step. The interpolation weights are the expanded polynomials `b_i(θ)` of
//! the paper's continuous extension (order 4).
//!
//! Coefficients: `c`, `a` and `b̂` from the paper's table, at the 60-digit precision of the values
//! OrdinaryDiffEq.jl derived from it, rounded once to the nearest `f64`; the interpolant's
//! coefficients as printed in the paper (16–20 digits). The tests check every order condition
//! (rooted trees) up to order 5 for `b`, 4 for `b̂` and 4 for `b(θ)`, and measure the orders.

use crate::algorithm::PiController;
use crate::explicit::ExplicitRungeKutta;

/// Tsitouras' 5(4) Runge–Kutta pair (Tsit5) with its 4th-order dense output: the default
/// non-stiff method (as in OrdinaryDiffEq.jl).
///
/// ```
/// use tangent_ode::{OdeProblem, OdeRhs, Tsit5, solve};
/// use tangent_ad::Scalar;
///
/// struct Logistic;
/// impl OdeRhs for Logistic {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], p: &[S], du: &mut [S]) {
///         du[0] = p[0] * u[0] * (S::cst(1.0) - u[0]);
///     }
/// }
/// let prob = OdeProblem::new(Logistic, vec![0.1], (0.0, 5.0), vec![1.0]);
/// let sol = solve(&prob, &Tsit5::default()).unwrap();
/// let exact = 1.0 / (1.0 + 9.0 * (-5.0f64).exp());
/// assert!((sol.last_state().unwrap()[0] - exact).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tsit5 {
    /// The step-size controller.
    pub controller: PiController,
}

impl ExplicitRungeKutta for Tsit5 {
    const NAME: &'static str = "Tsit5";
    const ORDER: usize = 5;
    const EMBEDDED_ORDER: usize = 4;
    const INTERPOLANT_ORDER: usize = 4;
    const STAGES: usize = 7;
    const FSAL: bool = true;
    const END_STAGE: usize = 6;
    const C: &'static [f64] = &C;
    const A: &'static [&'static [f64]] = &A;
    const B: &'static [f64] = &B;
    const E: &'static [f64] = &E;
    const DEGREE: usize = 4;
    const R: &'static [f64] = R.as_flattened();

    fn controller(&self) -> PiController {
        self.controller
    }
}

// Nodes, stage coefficients, weights b (= the last row: FSAL) and error weights b − b̂
// (Tsitouras 2011, Table 1); interpolation weights β_{i,m} of θ^{m+1} (Tsitouras 2011, §4).
#[rustfmt::skip]
const C: [f64; 7] = [0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0];
#[rustfmt::skip]
const A: [&[f64]; 7] = [
    &[],
    &[0.161],
    &[-0.008480655492356989, 0.335480655492357],
    &[2.8971530571054935, -6.359448489975075, 4.3622954328695815],
    &[5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
    &[5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383],
    &[0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774],
];
#[rustfmt::skip]
const B: [f64; 7] = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0.0];
#[rustfmt::skip]
const E: [f64; 7] = [0.0017800110522257714, 0.0008164344596567469, -0.007880878010261995, 0.1447110071732629, -0.5823571654525552, 0.45808210592918697, -0.015151515151515152];
#[rustfmt::skip]
const R: [[f64; 4]; 7] = [
    [1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
    [0.0, 0.13169999999999998, -0.2234, 0.1017],
    [0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
    [0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
    [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
    [0.0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
    [0.0, 1.5, -4.0, 2.5],
];
