#!/usr/bin/env python3
"""P3 and Poisson: SciPy's sparse LU (SuperLU) on the matrices tangent's benchmark factorises.

Creates its own virtual environment on first use (benches/peers/.venv, git-ignored):

    cargo bench -p tangent-benches --bench linsolve     # writes target/linsolve/*.txt
    python3 benches/peers/linsolve_scipy.py

Each file holds `rows cols nnz` on the first line, then one `row col value` line per entry.
SciPy has no numeric-only refactorisation, so `splu` is symbolic + numeric every time. Times
are medians of repeated runs and are reported as ratios to a dense LU of order 1000 (LAPACK
`getrf` through `scipy.linalg.lu_factor`, one thread) measured in the same run: compare with the
benchmark's ratios to `faer in-place factor + solve` at n = 1000.
"""
import glob
import os
import subprocess
import sys
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")
TARGET = os.path.join(HERE, "..", "..", "target", "linsolve")


def ensure_venv():
    if sys.prefix == VENV or os.environ.get("LINSOLVE_PEER_INNER") == "1":
        return
    if not os.path.exists(PY):
        venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import scipy, numpy, threadpoolctl"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "numpy", "threadpoolctl"], check=True)
    env = dict(os.environ, LINSOLVE_PEER_INNER="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
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
    import scipy.linalg
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    files = sorted(glob.glob(os.path.join(TARGET, "*.txt")))
    if not files:
        print("no matrix files in target/linsolve: run the linsolve benchmark first")
        return
    n = 1000
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dense = ((i * 7919 + j * 104729) % 1000) / 1000.0 - 0.5 + n * (i == j)
    rhs = np.sin(np.arange(n, dtype=float))

    def dense_lu():
        lu = scipy.linalg.lu_factor(dense)
        scipy.linalg.lu_solve(lu, rhs)

    ref = median_time(dense_lu, 10)
    print(f"reference: dense LU factor+solve n=1000: {ref * 1e3:.2f} ms")
    for path in files:
        with open(path) as fh:
            rows, cols, _ = map(int, fh.readline().split())
            data = np.loadtxt(fh).reshape(-1, 3)
        a = csc_matrix((data[:, 2], (data[:, 0].astype(int), data[:, 1].astype(int))), shape=(rows, cols))
        b = np.ones(rows)
        name = os.path.basename(path)
        for spec in ["COLAMD", "MMD_AT_PLUS_A"]:
            lu = splu(a, permc_spec=spec)
            fill = lu.L.nnz + lu.U.nnz
            t_fact = median_time(lambda: splu(a, permc_spec=spec), 5)
            t_solve = median_time(lambda: lu.solve(b), 20)
            print(
                f"{name:>18} splu {spec:<14} factor {t_fact * 1e3:8.2f} ms ({t_fact / ref:6.3f} × ref)"
                f"  solve {t_solve * 1e3:7.3f} ms ({t_solve / ref:6.4f} × ref)  nnz(L+U) {fill}"
            )


if __name__ == "__main__":
    ensure_venv()
    main()
