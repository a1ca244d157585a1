"""Ground-state I_M/N (Appendix B): permjax's O(N) tridiagonal solver against LAPACK baselines.

Baselines, same J = N/2 block, same machine, same run:
  * dense  — numpy.linalg.eigh of the (N+1)² matrix (what a plain implementation does),
  * lapack — scipy.linalg.eigh_tridiagonal(select lowest) (LAPACK stebz + stein, O(N)).
Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 on a shared machine: the dense baseline is
multithreaded BLAS and otherwise measures contention. Times are medians of repeated warm calls (compilation excluded and reported separately).
Prints a table, writes benchmarks/results/groundstate.json.

    python3 benchmarks/bench_groundstate.py [--quick]
"""

import argparse
import os
import sys

import jax
import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import permjax  # noqa: E402

J, H = -1.0, 1e-3


def block(N):
    S = N / 2
    M = np.arange(N + 1) - S
    return (J / N) * (S * (S + 1) - M**2), H * 0.5 * np.sqrt((S - M[:-1]) * (S + M[:-1] + 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 100, 400 only (a smoke test)")
    args = ap.parse_args()
    rows = []
    for N in (100, 400) if args.quick else (100, 400, 1000, 2000, 4000):
        d, e = block(N)
        ours = common.first_and_warm(lambda: permjax.mi_ground(N, J, H), repeats=20)
        grad = jax.grad(lambda h: permjax.mi_ground(N, J, h))
        ours_grad = common.first_and_warm(lambda: grad(H), repeats=10).warm_s
        # the LAPACK baselines compile nothing: the median over every call
        lapack = common.first_and_warm(lambda: scipy.linalg.eigh_tridiagonal(d, e, select="i", select_range=(0, 0)),
                                       repeats=19).median_s
        A = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
        dense = common.first_and_warm(lambda: np.linalg.eigh(A), repeats=2).median_s if N <= 2000 else float("nan")
        rows.append(dict(N=N, compile_s=ours.first_s, permjax_s=ours.warm_s, grad_s=ours_grad, lapack_s=lapack,
                         dense_s=dense, lapack_over_permjax=lapack / ours.warm_s, dense_over_permjax=dense / ours.warm_s))
    common.report("groundstate", rows, [
        ("N", "N"), ("permjax ms", "permjax_s", common.ms(2)), ("grad ms", "grad_s", common.ms(2)),
        ("LAPACK trid ms", "lapack_s", common.ms(2)), ("dense eigh ms", "dense_s", common.ms(1)),
        ("LAPACK/pj", "lapack_over_permjax", ".2f"), ("dense/pj", "dense_over_permjax", ".1f"),
        ("compile s", "compile_s", ".2f")], {"J": J, "h": H, "device": str(jax.devices()[0]), "rows": rows})


if __name__ == "__main__":
    main()
