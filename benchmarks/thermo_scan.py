"""Issue 13 scan: mi_thermo on a (𝒥, h, Γ) grid of LMG (γ = 1) against long scipy runs.

Γ ∈ [0, 10], h ∈ [0, 100], 𝒥 ∈ [−100, 100]; every point's mi_thermo verdict against the
reference of tests/meanfield_reference.py (one vectorised DOP853 run per chunk, bump-window
averages over 100/γ after 400/γ): "agrees", "nan" (not resolved, no number) or "contradicted".

    python3 benchmarks/thermo_scan.py [--J 9] [--h 6] [--Gamma 6]

Prints the counts and writes benchmarks/results/thermo_scan.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import permjax
from permjax import LMG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from meanfield_reference import lmg_long_run, verdicts  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


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
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = permjax.mi_thermo(LMG(J, h, G, 1.0))
        mi = np.asarray(res.mi)
    t_permjax = time.perf_counter() - t0
    kind, m_mean = np.asarray(res.kind), np.asarray(res.m_mean)
    out, t_ref = [], 0.0
    for s in range(0, len(J), args.chunk):
        sl = slice(s, s + args.chunk)
        t0 = time.perf_counter()
        ref = lmg_long_run(np.stack([J[sl], h[sl], G[sl], np.ones_like(J[sl])], -1))
        t_ref += time.perf_counter() - t0
        out += verdicts(kind[sl], mi[sl], m_mean[sl], ref)
    counts = {k: out.count(k) for k in ("agrees", "nan", "contradicted")}
    kinds = np.bincount(kind, minlength=3).tolist()
    bad = [{"J": J[i], "h": h[i], "Gamma": G[i], "mi": float(mi[i])} for i, v in enumerate(out) if v == "contradicted"]
    nan = [{"J": J[i], "h": h[i], "Gamma": G[i]} for i, v in enumerate(out) if v == "nan"]
    report = {"points": len(J), "verdicts": counts, "kinds_fp_cycle_unresolved": kinds, "permjax_s": t_permjax,
              "scipy_s": t_ref, "contradicted": bad, "nan": nan,
              "multistable": int(np.sum(np.asarray(res.n_attractors) > 1))}
    print(f"{len(J)} points: {counts}; kinds (fixed point, cycle, not resolved) {kinds}; "
          f"{report['multistable']} with several attractors; permjax {t_permjax:.1f} s (incl. compile), scipy {t_ref:.1f} s")
    for b in bad:
        print("  contradicted:", b)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "thermo_scan.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
