"""N → ∞ sweep throughput: one ``jit(vmap(mi_thermo))`` over an LMG grid, for this checkout and a
baseline version of permjax in the same run (each in a fresh process with an empty compilation
cache).

    python3 benchmarks/thermo_sweep.py [--baseline REF] [--points P] [--repeats R]

Per version and option set (default options: 4 starts; ``starts=1``): the first call (tracing and
compilation included), the warm call (median of R), points per second warm, and one point warm
(median of 20 calls). The grid is 𝒥 = 3, h = 0.5, γ = 1, Γ evenly spaced in [1, 4] (fixed points
and limit cycles). Accuracy: the largest |ΔI_M/N| between the two versions over the grid, and
whether every point's kind agrees. Prints a table and writes benchmarks/results/thermo_sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

WORKER = r"""
import json, statistics, sys, time
import jax, jax.numpy as jnp, numpy as np
import permjax
from permjax.models.zoo import LMG

points, repeats, starts, singles = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
grid = LMG(J=3.0, h=0.5, Gamma=jnp.linspace(1.0, 4.0, points), gamma=1.0)
run = jax.jit(jax.vmap(lambda G: permjax.mi_thermo(LMG(J=3.0, h=0.5, Gamma=G, gamma=1.0), starts=starts).mi))
t = time.perf_counter(); mi = np.asarray(run(grid.Gamma)); first = time.perf_counter() - t
warm = []
for _ in range(repeats):
    t = time.perf_counter(); jax.block_until_ready(run(grid.Gamma)); warm.append(time.perf_counter() - t)
one = lambda: permjax.mi_thermo(LMG(J=3.0, h=0.5, Gamma=2.5, gamma=1.0), starts=starts).mi.block_until_ready()
single = [float("nan")]
if singles:
    one()
    single = []
for _ in range(singles):
    t = time.perf_counter(); one(); single.append(time.perf_counter() - t)
print(json.dumps({"first_s": first, "warm_s": statistics.median(warm), "warm_all": warm,
                  "single_warm_s": statistics.median(single), "mi": mi.tolist()}))
"""


def measure(root: str, points: int, repeats: int, starts: int, timeout: float = 3600, singles: int = 20) -> dict:
    cache = tempfile.mkdtemp(prefix="permjax-cache-")
    env = dict(os.environ, PYTHONPATH=root, PERMJAX_CACHE_DIR=cache)
    try:
        out = subprocess.run([sys.executable, "-c", WORKER, str(points), str(repeats), str(starts), str(singles)], cwd=root,
                             env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker in {root} exited {out.returncode}: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def mi_agreement(baseline, now) -> dict:
    """The largest |ΔI_M/N| where both versions give a number, and whether their NaNs agree."""
    import numpy as np

    mb, mn = np.atleast_1d(np.asarray(baseline, float)), np.atleast_1d(np.asarray(now, float))
    both = np.isfinite(mb) & np.isfinite(mn)
    return {"max_abs_dmi": float(np.max(np.abs(mb[both] - mn[both]))) if both.any() else None,
            "nan_agree": bool(np.array_equal(np.isnan(mb), np.isnan(mn)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="5eb51bb")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    rows, runs = [], {}
    with common.checkout(args.baseline) as base:
        for starts in (4, 1):
            b = measure(base, args.points, args.repeats, starts)
            n = measure(common.ROOT, args.points, args.repeats, starts)
            runs[starts] = {"baseline": b, "now": n}
            rows.append({
                "case": f"{args.points} points, starts={starts}",
                "baseline_first_s": b["first_s"], "first_s": n["first_s"],
                "baseline_pts_per_s": args.points / b["warm_s"], "pts_per_s": args.points / n["warm_s"],
                "warm_ratio": b["warm_s"] / n["warm_s"],
                "baseline_single_ms": 1e3 * b["single_warm_s"], "single_ms": 1e3 * n["single_warm_s"],
                **mi_agreement(b["mi"], n["mi"]),
            })
    columns = [("case", "case"), ("baseline first (s)", "baseline_first_s", ".1f"), ("first (s)", "first_s", ".1f"),
               ("baseline pts/s", "baseline_pts_per_s", ".0f"), ("pts/s", "pts_per_s", ".0f"),
               ("× warm", "warm_ratio", ".1f"), ("baseline 1 pt (ms)", "baseline_single_ms", ".1f"),
               ("1 pt (ms)", "single_ms", ".1f"), ("max |ΔI_M/N|", "max_abs_dmi", ".1e"),
               ("NaNs agree", "nan_agree")]
    common.report("thermo_sweep", rows, columns, {"baseline": args.baseline, "points": args.points,
                                                    "repeats": args.repeats, "rows": rows, "runs": runs})


if __name__ == "__main__":
    main()
