#!/usr/bin/env python3
"""P7 (2-D Bratu, N = 64, lambda = 6, from u = 0): SciPy's Newton with a hand-written sparse
Jacobian and SuperLU, plus the implicit derivative d(sum u)/d(lambda), for orientation next to
`cargo bench -p tangent-benches --bench nonlinsolve`.

Creates its own virtual environment on first use (benches/peers/.venv, git-ignored):

    python3 benches/peers/nonlinsolve_scipy.py

The same discretisation as tangent_ad::problems::Bratu2D (five-point Laplacian times (N+1)^2,
u = 0 on the boundary), the same stopping rule (max |F| <= 1e-10). Times are medians of repeated
runs on this machine; the ratio that carries over to tangent's run is "implicit derivative /
solve", and the absolute times are only comparable when both run back to back on an idle machine.
"""
import os
import subprocess
import sys
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")

# problems/oracles.json, key P7.
SUM_U = 1490.4069803756113
DSUM_DLAMBDA = 549.9917116127283


def ensure_venv():
    if sys.prefix == VENV or os.environ.get("NONLINSOLVE_PEER_INNER") == "1":
        return
    if not os.path.exists(PY):
        venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import scipy, numpy"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "numpy"], check=True)
    env = dict(os.environ, NONLINSOLVE_PEER_INNER="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    os.execve(PY, [PY, __file__] + sys.argv[1:], env)


def median_time(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    n, lam = 64, 6.0
    # Column-major grid index i + n j, as in Bratu2D.
    one_d = sp.diags([np.ones(n - 1), -2.0 * np.ones(n), np.ones(n - 1)], [-1, 0, 1])
    eye = sp.identity(n)
    laplacian = ((sp.kron(eye, one_d) + sp.kron(one_d, eye)) * float((n + 1) ** 2)).tocsc()

    def residual(u, lam):
        return laplacian @ u + lam * np.exp(u)

    def jacobian(u, lam):
        return (laplacian + sp.diags(lam * np.exp(u))).tocsc()

    def newton(lam):
        u = np.zeros(n * n)
        r = residual(u, lam)
        while np.max(np.abs(r)) > 1e-10:
            lu = splu(jacobian(u, lam))
            u -= lu.solve(r)
            r = residual(u, lam)
        return u

    def implicit_derivative(u, lam):
        # d(sum u)/d(lambda) = -1^T J_u^{-1} J_lambda, J_lambda = exp(u); one factorisation at u*.
        lu = splu(jacobian(u, lam))
        return -np.sum(lu.solve(np.exp(u)))

    u = newton(lam)
    d = implicit_derivative(u, lam)
    print(f"P7 SciPy Newton: sum u = {u.sum():.13f} (oracle {SUM_U}), d(sum u)/dlambda = {d:.13f} "
          f"(oracle {DSUM_DLAMBDA})")
    t_solve = median_time(lambda: newton(lam), 20)
    t_deriv = median_time(lambda: implicit_derivative(u, lam), 20)
    print(f"  solve                           {t_solve * 1e3:8.2f} ms")
    print(f"  implicit derivative (J + LU + solve) {t_deriv * 1e3:8.2f} ms  = {t_deriv / t_solve:.2f} x solve")
    print(f"  solve + derivative              {(t_solve + t_deriv) * 1e3:8.2f} ms")


if __name__ == "__main__":
    ensure_venv()
    main()
