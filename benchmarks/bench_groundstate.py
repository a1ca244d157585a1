"""Ground-state I_M/N (Appendix B): permjax's O(N) tridiagonal solver against LAPACK baselines.

Baselines, same J = N/2 block, same machine, same run:
  * dense  — numpy.linalg.eigh of the (N+1)² matrix (what a plain implementation does),
  * lapack — scipy.linalg.eigh_tridiagonal(select lowest) (LAPACK stebz + stein, O(N)).
Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 on a shared machine: the dense baseline is
multithreaded BLAS and otherwise measures contention. Times are medians of repeated warm calls (compilation excluded and reported separately).
Prints a table, writes benchmarks/results/groundstate.json.
"""

import json
import os
import time

import jax
import numpy as np
import scipy.linalg

import permjax

J, H = -1.0, 1e-3


def block(N):
    S = N / 2
    M = np.arange(N + 1) - S
    return (J / N) * (S * (S + 1) - M**2), H * 0.5 * np.sqrt((S - M[:-1]) * (S + M[:-1] + 1))


def median_time(f, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main():
    rows = []
    for N in (100, 400, 1000, 2000, 4000):
        d, e = block(N)
        t0 = time.perf_counter()
        permjax.mi_ground(N, J, H).block_until_ready()
        compile_s = time.perf_counter() - t0
        ours = median_time(lambda: permjax.mi_ground(N, J, H).block_until_ready(), 20)
        grad = jax.grad(lambda h: permjax.mi_ground(N, J, h))
        grad(H).block_until_ready()
        ours_grad = median_time(lambda: grad(H).block_until_ready(), 10)
        lapack = median_time(lambda: scipy.linalg.eigh_tridiagonal(d, e, select="i", select_range=(0, 0)), 20)
        A = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
        dense = median_time(lambda: np.linalg.eigh(A), 3) if N <= 2000 else float("nan")
        rows.append(dict(N=N, compile_s=compile_s, permjax_s=ours, grad_s=ours_grad, lapack_s=lapack, dense_s=dense,
                         lapack_over_permjax=lapack / ours, dense_over_permjax=dense / ours))
    head = f"{'N':>6} {'permjax':>10} {'grad':>10} {'LAPACK trid':>12} {'dense eigh':>11} {'LAPACK/pj':>10} {'dense/pj':>9} {'compile':>8}"
    print(head)
    for r in rows:
        print(f"{r['N']:>6} {r['permjax_s']*1e3:>8.2f}ms {r['grad_s']*1e3:>8.2f}ms {r['lapack_s']*1e3:>10.2f}ms "
              f"{r['dense_s']*1e3:>9.1f}ms {r['lapack_over_permjax']:>10.2f} {r['dense_over_permjax']:>9.1f} {r['compile_s']:>7.2f}s")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "results", "groundstate.json")
    with open(out, "w") as f:
        json.dump({"J": J, "h": H, "device": str(jax.devices()[0]), "rows": rows}, f, indent=1)
    print("written", out)


if __name__ == "__main__":
    main()
