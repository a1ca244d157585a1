"""Issue 13 scan: mi_thermo on a (𝒥, h, Γ) grid of LMG (γ = 1) against long scipy runs.

Γ ∈ [0, 10], h ∈ [0, 100], 𝒥 ∈ [−100, 100]; every point's mi_thermo verdict against the
reference of tests/meanfield_reference.py (one vectorised DOP853 run per chunk, bump-window
averages over 100/γ after 400/γ): "agrees", "nan" (not resolved, no number) or "contradicted".

    python3 benchmarks/thermo_scan.py [--J 9] [--h 6] [--Gamma 6]

Prints the counts and writes benchmarks/results/thermo_scan.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

import permjax
from permjax import LMG

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

sys.path.insert(0, common.TESTS)
from meanfield_reference import lmg_long_run, verdicts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--J", type=int, default=9, help="points in 𝒥 ∈ [−100, 100]")
    ap.add_argument("--h", type=int, default=6, help="points in h ∈ [0, 100]")
    ap.add_argument("--Gamma", type=int, default=6, help="points in Γ ∈ [0, 10]")
    ap.add_argument("--chunk", type=int, default=54)
    args = ap.parse_args()
    J, h, G = np.meshgrid(np.linspace(-100, 100, args.J), np.linspace(0, 100, args.h), np.linspace(0, 10, args.Gamma),
                          indexing="ij")
    J, h, G = J.ravel(), h.ravel(), G.ravel()

    def solve():
        res = permjax.mi_thermo(LMG(J, h, G, 1.0))
        return res, np.asarray(res.mi)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = common.first_and_warm(solve, repeats=0)
    (res, mi), t_permjax = run.value, run.first_s
    kind, m_mean = np.asarray(res.kind), np.asarray(res.m_mean)
    out, t_ref = [], 0.0
    for s in range(0, len(J), args.chunk):
        sl = slice(s, s + args.chunk)
        ref = common.first_and_warm(lambda: lmg_long_run(np.stack([J[sl], h[sl], G[sl], np.ones_like(J[sl])], -1)),
                                    repeats=0)
        t_ref += ref.first_s
        out += verdicts(kind[sl], mi[sl], m_mean[sl], ref.value)
    counts = {k: out.count(k) for k in ("agrees", "nan", "contradicted")}
    kinds = np.bincount(kind, minlength=3).tolist()
    bad = [{"J": J[i], "h": h[i], "Gamma": G[i], "mi": float(mi[i])} for i, v in enumerate(out) if v == "contradicted"]
    nan = [{"J": J[i], "h": h[i], "Gamma": G[i]} for i, v in enumerate(out) if v == "nan"]
    report = {"points": len(J), "verdicts": counts, "kinds_fp_cycle_unresolved": kinds, "permjax_s": t_permjax,
              "scipy_s": t_ref, "contradicted": bad, "nan": nan,
              "multistable": int(np.sum(np.asarray(res.n_attractors) > 1))}
    print(f"{len(J)} points; kinds (fixed point, cycle, not resolved) {kinds}; "
          f"{report['multistable']} with several attractors; permjax {t_permjax:.1f} s (incl. compile), scipy {t_ref:.1f} s")
    for b in bad:
        print("  contradicted:", b)
    common.report("thermo_scan", [counts], [(k, k) for k in counts], report)


if __name__ == "__main__":
    main()
