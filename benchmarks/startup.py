"""What a user meets first: the wall time of fresh processes (import, the CLI's one-off points),
with an empty persistent compilation cache and again with the cache the first run filled, for
this checkout and a baseline version of permjax in the same run.

    python3 benchmarks/startup.py [--baseline REF] [--repeats R]

The baseline is checked out with ``git worktree`` (default ``f228fab``: the version before lazy
imports, the jitted entropies and the sparse LU for small N). Each case runs ``R`` times per cache
state; the table shows the median wall seconds and the ratio baseline / this checkout. The
QuTiP piqs pipeline at N = 60 (Liouvillian, SuperLU, I_M/N; a fresh process) is the reference for
``permjax finite --N 60``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CASES = {
    "import permjax": [sys.executable, "-c", "import permjax"],
    "permjax finite --N 6": [sys.executable, "-m", "permjax", "finite", "--N", "6"],
    "permjax finite --N 20": [sys.executable, "-m", "permjax", "finite", "--N", "20"],
    "permjax finite --N 60": [sys.executable, "-m", "permjax", "finite", "--N", "60"],
    "permjax thermo": [sys.executable, "-m", "permjax", "thermo"],
    "permjax spectrum --N 10 --k 4": [sys.executable, "-m", "permjax", "spectrum", "--N", "10", "--k", "4"],
    "permjax evolve --N 20": [sys.executable, "-m", "permjax", "evolve", "--N", "20", "--quiet"],
}


#: the reference for ``permjax finite --N 60``: QuTiP piqs' Liouvillian, SuperLU, I_M/N, in a fresh
#: process (it keeps no compiled programs: one number for both cache states)
PIQS_N = 60
PIQS = [sys.executable, "-c", "import sys; sys.path.insert(0, 'tests'); import piqs_reference as pr; "
        f"print(pr.piqs_mi_per_N({PIQS_N}, 3.0, 0.5, 1.68, 1.0))"]


def wall(cmd, root: str, cache: str) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=root, PERMJAX_CACHE_DIR=cache)
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])} in {root} exited {out.returncode}: {out.stderr.strip()[-300:]}")
    return dt, out.stdout


def measure(root: str, repeats: int) -> dict:
    rows = {}
    for name, cmd in CASES.items():
        cold, warm = [], []
        for _ in range(repeats):
            cache = tempfile.mkdtemp(prefix="permjax-cache-")
            try:
                cold.append(wall(cmd, root, cache)[0])  # an empty cache
                warm.append(wall(cmd, root, cache)[0])  # the cache the first run filled
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        rows[name] = {"cold_s": statistics.median(cold), "warm_cache_s": statistics.median(warm),
                      "cold_all": cold, "warm_all": warm}
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="f228fab")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with common.checkout(args.baseline) as base:
        baseline = measure(base, args.repeats)
        now = measure(common.ROOT, args.repeats)
    piqs = [wall(PIQS, common.ROOT, tempfile.gettempdir())[0] for _ in range(args.repeats)]
    piqs_s = statistics.median(piqs)
    rows = []
    for name in CASES:
        b, n = baseline[name], now[name]
        rows.append({"case": name, "baseline_cold_s": b["cold_s"], "cold_s": n["cold_s"],
                     "cold_ratio": b["cold_s"] / n["cold_s"], "baseline_warm_cache_s": b["warm_cache_s"],
                     "warm_cache_s": n["warm_cache_s"], "warm_cache_ratio": b["warm_cache_s"] / n["warm_cache_s"]})
    columns = [("case", "case"), ("baseline cold (s)", "baseline_cold_s", ".2f"), ("cold (s)", "cold_s", ".2f"),
               ("×", "cold_ratio", ".2f"), ("baseline cached (s)", "baseline_warm_cache_s", ".2f"),
               ("cached (s)", "warm_cache_s", ".2f"), ("× cached", "warm_cache_ratio", ".2f")]
    common.report("startup", rows, columns, {"baseline": args.baseline, "repeats": args.repeats, "rows": rows,
                                               "baseline_runs": baseline, "runs": now,
                                               "piqs": {"N": PIQS_N, "wall_s": piqs_s, "all": piqs}})
    n = now[f"permjax finite --N {PIQS_N}"]
    print(f"piqs pipeline, N = {PIQS_N}, fresh process: {piqs_s:.2f} s; over permjax finite --N {PIQS_N}: "
          f"{piqs_s / n['cold_s']:.2f}× (empty cache), {piqs_s / n['warm_cache_s']:.2f}× (filled cache)")


if __name__ == "__main__":
    main()
