//! faer (`faer-traits` 0.24) implementations for the AD scalar types, behind the cargo feature
//! `faer`.
//!
//! [`Dual<N, T>`](crate::Dual) (for every inner `T: Scalar`, so `Dual<N>` and nested
//! `Dual<N, Dual<M>>`) and [`Var`](crate::Var) implement `faer_traits::RealField`, hence
//! `ComplexField`, `Conjugate` (faer's blanket impl for real fields) and `RefOps`, so faer's
//! generic dense linear algebra runs on them and propagates derivatives:
//!
//! ```
//! use faer::Mat;
//! use faer::linalg::solvers::Solve;
//! use tangent_ad::Dual;
//!
//! // x(p) = A⁻¹ b(p) with b = (p, 1): dx/dp = A⁻¹ (1, 0).
//! let p = Dual::<1>::variable(2.0, 0);
//! let a = Mat::from_fn(2, 2, |i, j| Dual::<1>::from([[4.0, 1.0], [1.0, 3.0]][i][j]));
//! let b = Mat::from_fn(2, 1, |i, _| if i == 0 { p } else { Dual::from(1.0) });
//! let x = a.partial_piv_lu().solve(&b);
//! assert!((x[(0, 0)].d[0] - 3.0 / 11.0).abs() < 1e-15);
//! assert!((x[(1, 0)].d[0] + 1.0 / 11.0).abs() < 1e-15);
//! ```
//!
//! # A non-SIMD scalar
//!
//! The AD types follow faer's model for its non-SIMD scalars (`Symbolic`): they declare
//! `SIMD_CAPABILITIES = SimdCapabilities::Copy`, the scalar architecture `pulp::Scalar`, and a
//! SIMD register `SimdVec<S> = ()` of **zero lanes**. faer checks
//! `SIMD_CAPABILITIES.is_simd()` before every vectorised kernel (and its SIMD context asserts it),
//! so on these types it always takes its scalar code paths, which call only the arithmetic
//! operators and the `*_impl` methods below. The `simd_*` methods are never called by faer for
//! such a type; they are implemented with zero-lane semantics (a sum of no lanes is 0, a maximum
//! of no lanes is −∞, no lane is ever true).
//!
//! # Conventions
//!
//! Every math method delegates to the [`Scalar`] method of the same meaning, so its derivative is
//! the one the AD type defines: `sqrt_impl` → [`Scalar::sqrt`], `abs_impl`/`abs1_impl` →
//! [`Scalar::abs`], `recip_impl` → [`Scalar::recip`], `abs2_impl` → `x·x`, `mul_real_impl` and
//! `mul_pow2_impl` → `x·y`. The rest, all on the **primal value** (as the comparison operators of
//! the AD types, which faer uses for pivoting, convergence tests and scaling decisions):
//!
//! * `is_finite_impl` and `is_nan_impl` look at the primal value only (a finite value with an
//!   infinite derivative is "finite" to faer: the algorithm proceeds and the infinite derivative
//!   is returned to the caller);
//! * `zero`, `one`, `nan`, `infinity`, `from_f64` and `epsilon` are constants with `f64`'s
//!   values, and `nbits` is `f64`'s 53; `min_positive`, `max_positive`, `sqrt_min_positive`,
//!   `sqrt_max_positive` are constants of a narrower safe range (next section);
//! * a real type: `real_part` is the value itself, `imag_part` is the constant 0, `conj` is the
//!   identity.
//!
//! faer's `RealField` also requires `num_traits::Num` and `NumAssign` (shared with the nalgebra
//! implementations in `nalgebra_impls`) and arithmetic on references (`&a + &b`, `a += &b`,
//! `-&a`, …), implemented here by copying the operands into the by-value operators.
//!
//! # Safe range: `min_positive = 2^−768`, not `f64::MIN_POSITIVE`
//!
//! faer's generic `hypot` (`faer_traits::math_utils::hypot`, used by its non-SIMD `norm_l2`, by
//! every Householder reflection — QR, bidiagonalisation, tridiagonalisation — and by every Givens
//! rotation — SVD, eigensolvers) avoids underflow by scaling arguments `|x| ≤ 1` by
//! `sqrt_max_positive` before squaring: `√((x·big)² + (y·big)²)·small`. With `f64`'s constants
//! (`big = 2^511`) the *value* `(x·big)²` stays finite but its *tangent* `2·x·dx·2^1022` overflows
//! as soon as `|x·dx| ≥ 2`, so forward mode returns NaN derivatives from `norm_l2`, QR, the SVD and
//! the eigensolvers on ordinary data; in reverse mode the adjoint passes through `2^−1023/x`,
//! the subnormal range, and silently loses digits.
//!
//! The AD types therefore declare the safe range `min_positive = 2^−768` (≈ 6.4e−232),
//! `max_positive = 2^768`, `sqrt_min_positive = 2^−384`, `sqrt_max_positive = 2^384`, keeping the
//! identities faer relies on (`max = 1/min`, `sqrt_min² = min`, `sqrt_min·sqrt_max = 1`). The
//! tangent of the scaled square then overflows only for `|x·dx| ≥ 2^255`, and reverse-mode
//! adjoints stay normal. The cost, on the primal values: faer's safe-minimum tests treat
//! magnitudes below ≈ 6.4e−232 as zero (e.g. a Householder tail whose norm is below it is left
//! alone), and `hypot` loses precision (subnormal squares) below ≈ 2.4e−270 (2^−895) and
//! overflows above ≈ 5.3e269 (2^896), against 2^−1022 ≈ 2.2e−308 and 2^1023 ≈ 9e307 with `f64`'s
//! constants.
//!
//! Independently of these constants, faer's non-SIMD `norm_l2` squares its `hypot`-accumulated
//! norm before rescaling it, so for *every* non-SIMD scalar it is accurate only for norms in
//! ≈ [1.5e−154, 1.3e154] (`2^∓511`) — it overflows to ∞ above and loses precision (then returns 0)
//! below. `f64` itself takes faer's SIMD path and is not affected.
//!
//! # Parallelism and the tape
//!
//! [`Var`](crate::Var) records on the tape active on the **current thread**. faer's generic
//! (non-SIMD) matrix product runs on rayon worker threads whenever it is given `Par::Rayon` —
//! for every size, and faer's default global parallelism is `Par::rayon(0)`. Values computed on a
//! worker thread are not recorded; using them on the recording thread poisons the recording and
//! the next sweep returns [`TapeError::ForeignVariable`](crate::TapeError::ForeignVariable)
//! (never a silently wrong derivative). So with `Var`, run faer sequentially:
//! `faer::set_global_parallelism(faer::Par::Seq)` before using the high-level API
//! (`partial_piv_lu`, `llt`, `qr`, …), or pass `Par::Seq` to the low-level functions.
//! [`Dual`](crate::Dual) is a plain value and works under either parallelism.
//!
//! # What is tested
//!
//! The `faer` integration test of this crate checks derivatives through, on `Dual<2>` (and `Var`
//! where marked), against central finite differences of the `f64` computation, closed forms,
//! first-order perturbation theory, or the same computation with nalgebra on the same AD type:
//! LU with partial pivoting (`partial_piv_lu().solve`; `Var`; nested `Dual<1, Dual<1>>` second
//! derivatives) and full pivoting, Cholesky `llt` (`Var`), `ldlt`, `lblt`, Householder QR least
//! squares (`qr().solve_lstsq`; `Var`), column-pivoted QR, the determinant, the matrix product
//! (sequential and rayon), the norms `norm_l2` (`Var`), `squared_norm_l2`, `norm_l1`, `norm_max`,
//! singular values (`svd`; `Var`) and symmetric eigenvalues (`self_adjoint_eigenvalues`). The
//! iterative decompositions are differentiated through their converged iterations: right for
//! simple singular values and eigenvalues, not meaningful at repeated ones (as for any AD of an
//! eigensolver). Not covered by the tests: the general (non-symmetric) eigendecomposition, the
//! generalised eigensolvers and faer's sparse solvers.

use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use faer_traits::pulp;
use faer_traits::{ComplexField, RealField, SimdCapabilities};

use crate::dual::Dual;
use crate::scalar::Scalar;
use crate::tape::Var;

/// `2^e` for `−1022 ≤ e ≤ 1023`, exactly.
const fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// faer's "safe minimum" (`min_positive`) for the AD types: `2^−768` ≈ 6.4e−232.
const SAFE_MIN: f64 = pow2(-768);
/// `1 / SAFE_MIN = 2^768` ≈ 1.6e231.
const SAFE_MAX: f64 = pow2(768);
/// `√SAFE_MIN = 2^−384`.
const SQRT_SAFE_MIN: f64 = pow2(-384);
/// `√SAFE_MAX = 2^384`.
const SQRT_SAFE_MAX: f64 = pow2(384);

const _: () = assert!(SAFE_MIN * SAFE_MAX == 1.0 && SQRT_SAFE_MIN * SQRT_SAFE_MIN == SAFE_MIN);
const _: () =
    assert!(SQRT_SAFE_MAX * SQRT_SAFE_MAX == SAFE_MAX && SQRT_SAFE_MIN * SQRT_SAFE_MAX == 1.0);

/// Arithmetic on references (faer's `RefOps`): `&a ⊕ &b`, `a ⊕ &b`, `&a ⊕ b`, `a ⊕= &b`, `-&a`,
/// each copying its operands into the by-value operator.
macro_rules! impl_ref_ops {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> Neg for &$ty {
            type Output = $ty;
            #[inline(always)]
            fn neg(self) -> $ty {
                -*self
            }
        }
        impl_ref_ops!(@bin [$($g)*] $ty; Add add AddAssign add_assign);
        impl_ref_ops!(@bin [$($g)*] $ty; Sub sub SubAssign sub_assign);
        impl_ref_ops!(@bin [$($g)*] $ty; Mul mul MulAssign mul_assign);
        impl_ref_ops!(@bin [$($g)*] $ty; Div div DivAssign div_assign);
    };
    (@bin [$($g:tt)*] $ty:ty; $op:ident $f:ident $aop:ident $af:ident) => {
        impl<$($g)*> $op<&$ty> for $ty {
            type Output = $ty;
            #[inline(always)]
            fn $f(self, rhs: &$ty) -> $ty {
                $op::$f(self, *rhs)
            }
        }
        impl<$($g)*> $op<$ty> for &$ty {
            type Output = $ty;
            #[inline(always)]
            fn $f(self, rhs: $ty) -> $ty {
                $op::$f(*self, rhs)
            }
        }
        impl<$($g)*> $op<&$ty> for &$ty {
            type Output = $ty;
            #[inline(always)]
            fn $f(self, rhs: &$ty) -> $ty {
                $op::$f(*self, *rhs)
            }
        }
        impl<$($g)*> $aop<&$ty> for $ty {
            #[inline(always)]
            fn $af(&mut self, rhs: &$ty) {
                $aop::$af(self, *rhs);
            }
        }
    };
}

/// faer: `ComplexField` (as a real, non-SIMD field: `Real = Self`) and `RealField`.
macro_rules! impl_faer_real_field {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> ComplexField for $ty {
            const IS_REAL: bool = true;
            const SIMD_CAPABILITIES: SimdCapabilities = SimdCapabilities::Copy;

            type Arch = pulp::Scalar;
            type Unit = Self;
            type SimdCtx<S: pulp::Simd> = S;
            type Index = usize;
            type Real = Self;
            type SimdMask<S: pulp::Simd> = ();
            type SimdMemMask<S: pulp::Simd> = ();
            type SimdVec<S: pulp::Simd> = ();
            type SimdIndex<S: pulp::Simd> = ();

            #[inline(always)]
            fn zero_impl() -> Self {
                Scalar::cst(0.0)
            }
            #[inline(always)]
            fn one_impl() -> Self {
                Scalar::cst(1.0)
            }
            #[inline(always)]
            fn nan_impl() -> Self {
                Scalar::cst(f64::NAN)
            }
            #[inline(always)]
            fn infinity_impl() -> Self {
                Scalar::cst(f64::INFINITY)
            }
            #[inline(always)]
            fn from_real_impl(real: &Self) -> Self {
                *real
            }
            #[inline(always)]
            fn from_f64_impl(real: f64) -> Self {
                Scalar::cst(real)
            }
            #[inline(always)]
            fn real_part_impl(value: &Self) -> Self {
                *value
            }
            #[inline(always)]
            fn imag_part_impl(_: &Self) -> Self {
                Scalar::cst(0.0)
            }
            #[inline(always)]
            fn copy_impl(value: &Self) -> Self {
                *value
            }
            #[inline(always)]
            fn conj_impl(value: &Self) -> Self {
                *value
            }
            #[inline(always)]
            fn recip_impl(value: &Self) -> Self {
                Scalar::recip(*value)
            }
            #[inline(always)]
            fn sqrt_impl(value: &Self) -> Self {
                Scalar::sqrt(*value)
            }
            #[inline(always)]
            fn abs_impl(value: &Self) -> Self {
                Scalar::abs(*value)
            }
            #[inline(always)]
            fn abs1_impl(value: &Self) -> Self {
                Scalar::abs(*value)
            }
            #[inline(always)]
            fn abs2_impl(value: &Self) -> Self {
                *value * *value
            }
            #[inline(always)]
            fn mul_real_impl(lhs: &Self, rhs: &Self) -> Self {
                *lhs * *rhs
            }
            #[inline(always)]
            fn mul_pow2_impl(lhs: &Self, rhs: &Self) -> Self {
                *lhs * *rhs
            }
            /// On the primal value only.
            #[inline(always)]
            fn is_finite_impl(value: &Self) -> bool {
                Scalar::value(value).is_finite()
            }
            /// On the primal value only.
            #[inline(always)]
            fn is_nan_impl(value: &Self) -> bool {
                Scalar::is_nan(value)
            }

            // --- SIMD interface: a register of zero lanes, never used by faer (see the module
            // docs), since `SIMD_CAPABILITIES` is not `Simd`. ---

            #[inline(always)]
            fn simd_ctx<S: pulp::Simd>(simd: S) -> S {
                simd
            }
            #[inline(always)]
            fn ctx_from_simd<S: pulp::Simd>(ctx: &S) -> S {
                *ctx
            }
            #[inline(always)]
            fn simd_mask_between<S: pulp::Simd>(_: &S, _: usize, _: usize) {}
            #[inline(always)]
            fn simd_mem_mask_between<S: pulp::Simd>(_: &S, _: usize, _: usize) {}
            #[inline(always)]
            unsafe fn simd_mask_load_raw<S: pulp::Simd>(_: &S, _: (), _: *const ()) {}
            #[inline(always)]
            unsafe fn simd_mask_store_raw<S: pulp::Simd>(_: &S, _: (), _: *mut (), _: ()) {}
            #[inline(always)]
            fn simd_splat<S: pulp::Simd>(_: &S, _: &Self) {}
            #[inline(always)]
            fn simd_splat_real<S: pulp::Simd>(_: &S, _: &Self) {}
            #[inline(always)]
            fn simd_add<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_sub<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_neg<S: pulp::Simd>(_: &S, _: ()) {}
            #[inline(always)]
            fn simd_conj<S: pulp::Simd>(_: &S, _: ()) {}
            #[inline(always)]
            fn simd_abs1<S: pulp::Simd>(_: &S, _: ()) {}
            #[inline(always)]
            fn simd_abs_max<S: pulp::Simd>(_: &S, _: ()) {}
            #[inline(always)]
            fn simd_mul_real<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_mul_pow2<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_mul<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_conj_mul<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_mul_add<S: pulp::Simd>(_: &S, _: (), _: (), _: ()) {}
            #[inline(always)]
            fn simd_conj_mul_add<S: pulp::Simd>(_: &S, _: (), _: (), _: ()) {}
            #[inline(always)]
            fn simd_abs2<S: pulp::Simd>(_: &S, _: ()) {}
            #[inline(always)]
            fn simd_abs2_add<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            /// The sum of zero lanes: 0.
            #[inline(always)]
            fn simd_reduce_sum<S: pulp::Simd>(_: &S, _: ()) -> Self {
                Scalar::cst(0.0)
            }
            /// The maximum of zero lanes: −∞.
            #[inline(always)]
            fn simd_reduce_max<S: pulp::Simd>(_: &S, _: ()) -> Self {
                Scalar::cst(f64::NEG_INFINITY)
            }
            #[inline(always)]
            fn simd_equal<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_less_than<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_less_than_or_equal<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_greater_than<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_greater_than_or_equal<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_select<S: pulp::Simd>(_: &S, _: (), _: (), _: ()) {}
            #[inline(always)]
            fn simd_index_select<S: pulp::Simd>(_: &S, _: (), _: (), _: ()) {}
            #[inline(always)]
            fn simd_index_splat<S: pulp::Simd>(_: &S, _: usize) {}
            #[inline(always)]
            fn simd_index_add<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_index_less_than<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_and_mask<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_or_mask<S: pulp::Simd>(_: &S, _: (), _: ()) {}
            #[inline(always)]
            fn simd_not_mask<S: pulp::Simd>(_: &S, _: ()) {}
            /// No lane is true: the index of the first true lane is the lane count, 0.
            #[inline(always)]
            fn simd_first_true_mask<S: pulp::Simd>(_: &S, _: ()) -> usize {
                0
            }
        }

        impl<$($g)*> RealField for $ty {
            #[inline(always)]
            fn epsilon_impl() -> Self {
                Scalar::cst(f64::EPSILON)
            }
            #[inline(always)]
            fn nbits_impl() -> usize {
                f64::MANTISSA_DIGITS as usize
            }
            /// `2^−768` (not `f64::MIN_POSITIVE`): see "Safe range" in the module docs.
            #[inline(always)]
            fn min_positive_impl() -> Self {
                Scalar::cst(SAFE_MIN)
            }
            /// `2^768 = 1 / min_positive`.
            #[inline(always)]
            fn max_positive_impl() -> Self {
                Scalar::cst(SAFE_MAX)
            }
            /// `2^−384`, exactly `√min_positive`.
            #[inline(always)]
            fn sqrt_min_positive_impl() -> Self {
                Scalar::cst(SQRT_SAFE_MIN)
            }
            /// `2^384`, exactly `√max_positive`.
            #[inline(always)]
            fn sqrt_max_positive_impl() -> Self {
                Scalar::cst(SQRT_SAFE_MAX)
            }
        }
    };
}

/// Applies an implementation macro to both AD types.
macro_rules! for_ad_types {
    ($($m:ident),* $(,)?) => {$(
        $m!([const N: usize, T: Scalar] Dual<N, T>);
        $m!([] Var);
    )*};
}

for_ad_types!(impl_ref_ops, impl_faer_real_field);
