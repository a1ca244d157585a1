"""Rate equations beyond LMG, and the ground state for a general collective H, against baselines.

1. ``steady_populations`` for a q-conserving model with every population channel (collective
   decay and pumping, local pumping, emission and dephasing, a J_z² Hamiltonian) against LMG at
   h = 0 (the paper's case, the baseline), same N, same run: seconds, window size, residual.
2. ``ground_state(N, model)``: the dense path for a pentadiagonal H (−J_x²/N + h J_z, the
   transverse Ising) against the O(N) tridiagonal path for LMG (baseline) and numpy's dense
   ``eigh`` of the same block (what the dense path costs at least).

Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 on a shared machine. First calls (compile +
solve) are reported; times are medians of warm calls. Prints tables, writes
benchmarks/results/rates_general.json.
"""

import json
import os
import sys
import time

import numpy as np

import permjax
from permjax import LMG, PIModel, sigma_minus, sigma_plus, sigma_x, sigma_z
from permjax.solvers.rates import steady_populations

from bench_groundstate import median_time  # noqa: E402  (one timing helper for the benchmarks)

GENERAL = PIModel(2, hamiltonian=[(0.7, sigma_z, sigma_z)], collective=[(2.5, sigma_minus), (0.4, sigma_plus)],
                  local=[(1.0, sigma_plus), (0.1, sigma_minus), (0.2, sigma_z)])
BASELINE = LMG(3.0, 0.0, 1.68, 1.0)


def rates_rows(Ns):
    rows = []
    for N in Ns:
        for name, model in (("LMG h=0", BASELINE), ("general", GENERAL)):
            t0 = time.perf_counter()
            sol = steady_populations(N, model)
            np.asarray(sol.populations)
            rows.append(dict(N=N, model=name, seconds=time.perf_counter() - t0, **sol.diagnostics_dict()))
    return rows


def ground_rows(Ns):
    rows = []
    ising = PIModel(2, hamiltonian=[(-1.0, sigma_x / 2, sigma_x / 2), (1.5, sigma_z / 2)])
    lmg = LMG(-1.0, 1e-3, 1.0, 1.0)
    for N in Ns:
        out = dict(N=N)
        for key, model in (("lmg_tridiagonal", lmg), ("ising_dense", ising)):
            t0 = time.perf_counter()
            permjax.mi_ground(N, model).block_until_ready()
            out[key + "_first_s"] = time.perf_counter() - t0
            out[key + "_s"] = median_time(lambda: permjax.mi_ground(N, model).block_until_ready(), 5)
        S, M = N / 2, np.arange(N + 1) - N / 2
        Jx = np.diag(np.sqrt((S - M[:-1]) * (S + M[:-1] + 1)) / 2, 1)
        Jx = Jx + Jx.T
        A = -Jx @ Jx / N + 1.5 * np.diag(M)
        out["numpy_eigh_s"] = median_time(lambda: np.linalg.eigh(A), 3)
        rows.append(out)
    return rows


def main():
    quick = "--quick" in sys.argv
    rates = rates_rows((200, 800) if quick else (400, 1600, 6400))
    print(f"{'N':>6} {'model':>9} {'seconds':>8} {'window':>9} {'residual':>9} {'refine':>6}")
    for r in rates:
        print(f"{r['N']:>6} {r['model']:>9} {r['seconds']:>8.2f} {r['window_states']:>9} {r['residual']:>9.1e} {r['iterations']:>6}")
    ground = ground_rows((100, 400) if quick else (200, 800, 2000))
    print(f"\n{'N':>6} {'LMG trid':>10} {'Ising dense':>12} {'numpy eigh':>11} {'first (trid/dense)':>20}")
    for r in ground:
        print(f"{r['N']:>6} {r['lmg_tridiagonal_s']*1e3:>8.1f}ms {r['ising_dense_s']*1e3:>10.1f}ms "
              f"{r['numpy_eigh_s']*1e3:>9.1f}ms {r['lmg_tridiagonal_first_s']:>9.2f}s/{r['ising_dense_first_s']:.2f}s")
    path = os.path.join(os.path.dirname(__file__), "results")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "rates_general.json"), "w") as f:
        json.dump(dict(rates=rates, ground=ground), f, indent=1)


if __name__ == "__main__":
    main()
