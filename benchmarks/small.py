"""Small problems, where the dense or sparse-direct path compiles nothing: where should ``Auto``
switch to the Krylov solvers (steady states) and to diffrax (time evolution)?

    python3 benchmarks/small.py [--steady-N 12 16 ...] [--evolve-N 4 6 ...] [--families lmg xyz btc]

Steady states: ``mi_finite(N, model)`` by ``Direct`` (the sparse LU of every J-block on the host)
against the Krylov solver ``Auto`` picks without it (``Auto(direct_max_N=0)``: CGLS below
N = 20, GMRES from there), for LMG (𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1), XYZ and the boundary time
crystal at their defaults. Time evolution: ``evolve(N, LMG, "down", 201 times in [0, 20])`` by
``method="expm"`` (e^{LΔt} on the host, scipy's ``expm_multiply``) against ``"tsit5"`` (diffrax).

Every (case, method) runs in two fresh processes sharing one new compilation cache: the first
finds it empty, the second filled. Each process times the first call (compilation included), a
warm call (median of 3, other parameters), and its whole wall time from the interpreter's start.
The two methods' values are compared (|Δ|). Prints a table and writes benchmarks/results/small.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

WORKER = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import numpy as np
import permjax
from permjax.models.zoo import LMG, XYZ, BTC
from permjax.solvers import Auto, Direct
kind, family, N, method = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
point = {"lmg": lambda x: LMG(J=3.0, h=0.5, Gamma=1.68 + x, gamma=1.0), "xyz": lambda x: XYZ(gamma=0.2 + x),
         "btc": lambda x: BTC(gamma_down=0.05 + x)}[family]
if kind == "steady":
    solver = Direct() if method == "direct" else Auto(direct_max_N=0)
    run = lambda x: float(permjax.mi_finite(N, point(x), method=solver))
else:
    ts = np.linspace(0.0, 20.0, 201)
    run = lambda x: np.asarray(permjax.evolve(N, point(x), "down", ts, method=method).mi)
t = time.perf_counter(); value = run(0.0); first = time.perf_counter() - t
warm = []
for x in (0.01, 0.02, 0.03):
    t = time.perf_counter(); run(x); warm.append(time.perf_counter() - t)
print(json.dumps({"first_s": first, "warm_s": statistics.median(warm), "wall_s": time.perf_counter() - t0,
                  "value": np.asarray(value).tolist()}))
"""


def _process(args, cache: str) -> dict:
    env = dict(os.environ, PYTHONPATH=common.ROOT, PERMJAX_CACHE_DIR=cache)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WORKER, *map(str, args)], cwd=common.ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    rec["process_s"] = time.perf_counter() - t
    return rec


def measure(kind: str, family: str, N: int, method: str) -> dict:
    """The empty-cache and the filled-cache process of one case."""
    cache = tempfile.mkdtemp(prefix="permjax-cache-")
    try:
        return {"empty": _process((kind, family, N, method), cache), "filled": _process((kind, family, N, method), cache)}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _diff(a, b):
    import numpy as np

    if "value" not in a or "value" not in b:
        return None
    return float(np.max(np.abs(np.asarray(a["value"], float) - np.asarray(b["value"], float))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steady-N", type=int, nargs="*", default=[12, 16, 20, 24, 28, 32])
    ap.add_argument("--evolve-N", type=int, nargs="*", default=[6, 10, 16, 20, 24, 28])
    ap.add_argument("--families", nargs="*", default=["lmg", "xyz", "btc"])
    args = ap.parse_args()

    rows = []
    cases = ([("steady", fam, N, ("direct", "krylov")) for fam in args.families for N in args.steady_N]
             + [("evolve", "lmg", N, ("expm", "tsit5")) for N in args.evolve_N])
    for kind, fam, N, (fast, ref) in cases:
        a, b = measure(kind, fam, N, fast), measure(kind, fam, N, ref)
        row = {"case": f"{kind} {fam} N={N}", "kind": kind, "family": fam, "N": N, "method": fast, "baseline": ref,
               fast: a, ref: b, "max_abs_diff": _diff(a["empty"], b["empty"])}
        for tag, rec in (("", a), ("baseline_", b)):
            for cache in ("empty", "filled"):
                r = rec[cache]
                row[f"{tag}{cache}_first_s"] = r.get("first_s")
                row[f"{tag}{cache}_wall_s"] = r.get("wall_s")
            row[f"{tag}warm_s"] = rec["filled"].get("warm_s")
        rows.append(row)
        print(f"{row['case']}: {fast} first {row['empty_first_s']}, {ref} first {row['baseline_empty_first_s']}",
              file=sys.stderr, flush=True)
    f = ".2f"
    columns = [("case", "case"), ("method", "method"), ("baseline", "baseline"),
               ("first, empty cache (s)", "empty_first_s", f), ("baseline", "baseline_empty_first_s", f),
               ("first, filled cache (s)", "filled_first_s", f), ("baseline", "baseline_filled_first_s", f),
               ("warm (ms)", "warm_s", common.ms()), ("baseline", "baseline_warm_s", common.ms()),
               ("max |Δ|", "max_abs_diff", ".1e")]
    common.report("small", rows, columns, {"rows": rows})


if __name__ == "__main__":
    main()
