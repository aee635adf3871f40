#!/usr/bin/env python3
"""P8 with SciPy's quad (QUADPACK): integrand evaluations and median time per integral.

Creates its own virtual environment on first use:

    python3 benches/peers/quadrature_scipy.py

and prints, for each integral and tolerance setting, SciPy's `neval`, the error against the
oracle, and the median wall time of `quad` over repeated calls (the integrand is a Python
function, so the time includes the interpreter's call overhead — the figure SciPy users see).
Compare evaluation counts with `cargo bench -p tangent-benches --bench quadrature`, which prints
tangent's counts for the same integrals and tolerances.
"""
import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")


def ensure_venv():
    if sys.prefix == VENV or os.environ.get("QUADRATURE_PEER_INNER") == "1":
        return
    if not os.path.exists(PY):
        venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import scipy, numpy"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "numpy"], check=True)
    env = dict(os.environ, QUADRATURE_PEER_INNER="1")
    os.execve(PY, [PY, __file__] + sys.argv[1:], env)


def main():
    import math
    import statistics
    import time

    import scipy
    from scipy.integrate import quad

    with open(os.path.join(HERE, "..", "..", "problems", "oracles.json")) as fh:
        oracle = json.load(fh)["P8"]
    p = 2.0

    def f1(x):
        return math.exp(-p * x * x) * math.cos(10.0 * x)

    def f2(x):
        return math.exp(-p * x) * x * x

    print(f"scipy {scipy.__version__}: quad (QUADPACK qags on [0, 1], qagi on [0, inf))")
    cases = [
        ("I1 = int_0^1 exp(-p x^2) cos(10 x) dx", f1, 0.0, 1.0, oracle["I1"]),
        ("I2 = int_0^inf exp(-p x) x^2 dx", f2, 0.0, math.inf, oracle["I2"]),
    ]
    for name, f, a, b, ref in cases:
        for epsabs in (0.0, 1.49e-8):
            val, err, info = quad(f, a, b, epsrel=1e-10, epsabs=epsabs, full_output=1)
            times = []
            for _ in range(7):
                reps = 200
                t0 = time.perf_counter()
                for _ in range(reps):
                    quad(f, a, b, epsrel=1e-10, epsabs=epsabs)
                times.append((time.perf_counter() - t0) / reps)
            med = statistics.median(times)
            print(
                f"{name}  epsrel=1e-10 epsabs={epsabs:g}: neval={info['neval']:4d}  "
                f"rel.err={abs(val - ref) / abs(ref):.1e}  est={err:.1e}  median {med * 1e6:.1f} us"
            )


if __name__ == "__main__":
    ensure_venv()
    main()
