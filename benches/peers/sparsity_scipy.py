#!/usr/bin/env python3
"""P3: SciPy's column grouping on the Jacobian pattern tangent detects, for the colour counts.

Creates its own virtual environment on first use (benches/peers/.venv, git-ignored):

    cargo bench -p tangent-benches --bench sparsity      # writes target/sparsity/p3_n{N}.txt
    python3 benches/peers/sparsity_scipy.py

The pattern files hold `rows cols` on the first line, then one `row col` pair per line. For each
file this prints the number of groups of `scipy.optimize._numdiff.group_columns` (the greedy
grouping `least_squares`/`approx_derivative` use for sparse finite differences) with its default
random column order (`order=0`) and with the natural order, next to the lower bound (largest
number of nonzeros in a row). Compare with the colours printed by the benchmark.
"""
import glob
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")
TARGET = os.path.join(HERE, "..", "..", "target", "sparsity")


def ensure_venv():
    if sys.prefix == VENV or os.environ.get("SPARSITY_PEER_INNER") == "1":
        return
    if not os.path.exists(PY):
        venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import scipy, numpy"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "numpy"], check=True)
    env = dict(os.environ, SPARSITY_PEER_INNER="1")
    os.execve(PY, [PY, __file__] + sys.argv[1:], env)


def main():
    import numpy as np
    from scipy.sparse import csc_matrix
    from scipy.optimize._numdiff import group_columns

    files = sorted(glob.glob(os.path.join(TARGET, "p3_n*.txt")))
    if not files:
        print("no pattern files in target/sparsity: run the sparsity benchmark first")
        return
    for path in files:
        with open(path) as fh:
            m, n = map(int, fh.readline().split())
            pairs = np.loadtxt(fh, dtype=np.int64).reshape(-1, 2)
        a = csc_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, n))
        bound = int(np.diff(a.tocsr().indptr).max())
        random_order = group_columns(a, order=0).max() + 1
        natural = group_columns(a, order=np.arange(n)).max() + 1
        name = os.path.basename(path)
        print(f"{name}: {m} x {n}, nnz {a.nnz}, lower bound {bound}, "
              f"SciPy groups: default (random order) {random_order}, natural order {natural}")


if __name__ == "__main__":
    ensure_venv()
    main()
