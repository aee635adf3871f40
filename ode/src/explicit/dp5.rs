//! DP5: the 5(4) pair of Dormand and Prince with Shampine's 4th-order dense output.
//!
//! J. R. Dormand, P. J. Prince, *A family of embedded Runge–Kutta formulae*, J. Comput. Appl.
//! Math. 6 (1980) 19–26 (the pair RK5(4)7M: 7 stages, FSAL); the continuous extension of
//! L. F. Shampine, *Some practical Runge–Kutta formulas*, Math. Comp. 46 (1986) 135–150, in the
//! form of Hairer, Nørsett & Wanner, *Solving ODEs I* (2nd ed., §II.6, `dopri5`'s `contd5`
//! coefficients `d_i`), expanded here to the weights `b_i(θ)` exactly in rational arithmetic.
//!
//! Every coefficient is a rational number, converted once to the nearest `f64` (shortest
//! round-trip decimal). The tests check the order conditions up to order 5 for `b`, 4 for
//! `b̂` and 4 for `b(θ)`, and measure the orders.

use crate::algorithm::PiController;
use crate::explicit::ExplicitRungeKutta;

/// The Dormand–Prince 5(4) pair (DP5, MATLAB's `ode45`, Hairer's `dopri5`) with Shampine's
/// dense output.
///
/// ```
/// use tangent_ode::{Dp5, OdeProblem, OdeRhs, solve};
/// use tangent_ad::Scalar;
///
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn rhs<S: Scalar>(&self, _t: S, u: &[S], _p: &[S], du: &mut [S]) {
///         du[0] = -u[0];
///     }
/// }
/// let sol = solve(&OdeProblem::new(Decay, vec![1.0], (0.0, 2.0), vec![]), &Dp5::default()).unwrap();
/// assert!((sol.at(1.5).unwrap()[0] - (-1.5f64).exp()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dp5 {
    /// The step-size controller.
    pub controller: PiController,
}

impl ExplicitRungeKutta for Dp5 {
    const NAME: &'static str = "DP5";
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

// Dormand & Prince (1980), RK5(4)7M; e = b − b̂ with b̂ = (5179/57600, 0, 7571/16695, 393/640,
// −92097/339200, 187/2100, 1/40). Interpolation weights: Shampine's d_i (HNW I, p. 192) expanded
// exactly: b_i(θ) = θ b_i + θ(1−θ)(δ_i1 − b_i) + θ²(1−θ)(2b_i − δ_i1 − δ_i7) + θ²(1−θ)² d_i.
#[rustfmt::skip]
const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 0.8888888888888888, 1.0, 1.0];
#[rustfmt::skip]
const A: [&[f64]; 7] = [
    &[],
    &[0.2],
    &[0.075, 0.225],
    &[0.9777777777777777, -3.7333333333333334, 3.5555555555555554],
    &[2.9525986892242035, -11.595793324188385, 9.822892851699436, -0.2908093278463649],
    &[2.8462752525252526, -10.757575757575758, 8.906422717743473, 0.2784090909090909, -0.2735313036020583],
    &[0.09114583333333333, 0.0, 0.44923629829290207, 0.6510416666666666, -0.322376179245283, 0.13095238095238096],
];
#[rustfmt::skip]
const B: [f64; 7] = [0.09114583333333333, 0.0, 0.44923629829290207, 0.6510416666666666, -0.322376179245283, 0.13095238095238096, 0.0];
#[rustfmt::skip]
const E: [f64; 7] = [0.0012326388888888888, 0.0, -0.0042527702905061394, 0.03697916666666667, -0.05086379716981132, 0.0419047619047619, -0.025];
#[rustfmt::skip]
const R: [[f64; 4]; 7] = [
    [1.0, -2.8535800653862835, 3.0717434641059005, -1.1270175653862835],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 4.023133379230305, -6.249321565289, 2.675424484351598],
    [0.0, -3.7324019615885042, 10.068970589843675, -5.685526961588504],
    [0.0, 2.5548038301849423, -6.399112377351017, 3.5219323679207912],
    [0.0, -1.3744241142186024, 3.272657752246729, -1.7672812570757455],
    [0.0, 1.3824689317781436, -3.764937863556287, 2.382468931778144],
];
