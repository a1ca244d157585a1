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

    python3 benchmarks/rates_general.py [--quick]      (--quick: smaller N, a smoke test)
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import permjax  # noqa: E402
from permjax import LMG, PIModel, sigma_minus, sigma_plus, sigma_x, sigma_z  # noqa: E402
from permjax.solvers.rates import steady_populations  # noqa: E402

GENERAL = PIModel(2, hamiltonian=[(0.7, sigma_z, sigma_z)], collective=[(2.5, sigma_minus), (0.4, sigma_plus)],
                  local=[(1.0, sigma_plus), (0.1, sigma_minus), (0.2, sigma_z)])
BASELINE = LMG(3.0, 0.0, 1.68, 1.0)


def rates_rows(Ns):
    rows = []
    for N in Ns:
        for name, model in (("LMG h=0", BASELINE), ("general", GENERAL)):
            t = common.first_and_warm(lambda: steady_populations(N, model), repeats=0)  # blocks on the populations
            rows.append(dict(N=N, model=name, seconds=t.first_s, **t.value.diagnostics_dict()))
    return rows


def ground_rows(Ns):
    rows = []
    ising = PIModel(2, hamiltonian=[(-1.0, sigma_x / 2, sigma_x / 2), (1.5, sigma_z / 2)])
    lmg = LMG(-1.0, 1e-3, 1.0, 1.0)
    for N in Ns:
        out = dict(N=N)
        for key, model in (("lmg_tridiagonal", lmg), ("ising_dense", ising)):
            t = common.first_and_warm(lambda: permjax.mi_ground(N, model), repeats=5)
            out[key + "_first_s"], out[key + "_s"] = t.first_s, t.warm_s
        S, M = N / 2, np.arange(N + 1) - N / 2
        Jx = np.diag(np.sqrt((S - M[:-1]) * (S + M[:-1] + 1)) / 2, 1)
        Jx = Jx + Jx.T
        A = -Jx @ Jx / N + 1.5 * np.diag(M)
        out["numpy_eigh_s"] = common.first_and_warm(lambda: np.linalg.eigh(A), repeats=2).median_s  # every call
        rows.append(out)
    return rows


def main():
    quick = "--quick" in sys.argv
    rates = rates_rows((200, 800) if quick else (400, 1600, 6400))
    print(common.table(rates, [
        ("N", "N"), ("model", "model"), ("seconds", "seconds", ".2f"), ("window", "window_states"),
        ("residual", "residual", ".1e"), ("refine", "iterations")]))
    ground = ground_rows((100, 400) if quick else (200, 800, 2000))
    print()
    common.report("rates_general", ground, [
        ("N", "N"), ("LMG trid ms", "lmg_tridiagonal_s", common.ms(1)), ("Ising dense ms", "ising_dense_s", common.ms(1)),
        ("numpy eigh ms", "numpy_eigh_s", common.ms(1)),
        ("first trid s", "lmg_tridiagonal_first_s", ".2f"), ("first dense s", "ising_dense_first_s", ".2f")],
        dict(rates=rates, ground=ground))


if __name__ == "__main__":
    main()
