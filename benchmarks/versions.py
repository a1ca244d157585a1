"""This checkout against a baseline version of permjax, in the same run on the same machine (made
for a GPU machine: one run measures both versions).

    python3 benchmarks/versions.py [--baseline REF | --baseline-root DIR] [--points 1000 100000]
                                   [--N 400] [--repeats 2] [--singles 20] [--timeout 300]
                                   [--no-baseline] [--name versions]

Each case runs in a fresh process per version with an empty compilation cache:

* the N → ∞ sweep: one ``jit(vmap(mi_thermo))`` over P LMG points with the default options
  (4 starts), ``thermo_sweep.py``'s worker: first call (compilation included), points/s warm
  (median of R), one point warm (median of 20); |ΔI_M/N| between the versions and whether their
  NaNs agree;
* finite N: ``steady_state`` (default method) and ``mutual_information`` of the LMG point of
  ``finite.py`` (𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1): the first call, then a warm call at Γ = 1.70;
  iterations, residual and the device's peak memory; |ΔI_M/N| between the versions.

The baseline is ``git worktree`` of REF, or a folder holding the baseline's ``permjax/`` (where
git is not available); ``--no-baseline`` measures this checkout alone (a short run). The JSON
is rewritten after every case, so a run cut short keeps what it finished.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import thermo_sweep  # noqa: E402

FINITE = r"""
import json, sys, time
import jax, numpy as np
import permjax
from permjax.solvers import steady_state

N = int(sys.argv[1])
def run(G):
    t = time.perf_counter()
    st = steady_state(N, permjax.LMG(J=3.0, h=0.5, Gamma=G, gamma=1.0))
    mi = float(permjax.mutual_information(st)) / N
    return st, mi, time.perf_counter() - t
st, mi, first = run(1.68)
_, mi2, warm = run(1.70)
d = st.diagnostics.as_dict()
try:
    peak = jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**30
except Exception:
    peak = None
print(json.dumps({"first_s": first, "warm_s": warm, "mi": mi, "mi_warm": mi2, "iterations": d.get("iterations"),
                  "residual": d.get("residual"), "peak_device_gib": peak, "device": str(jax.devices()[0])}))
"""


def finite(root: str, N: int, timeout: float) -> dict:
    cache = tempfile.mkdtemp(prefix="permjax-cache-")
    env = dict(os.environ, PYTHONPATH=root, PERMJAX_CACHE_DIR=cache)
    try:
        out = subprocess.run([sys.executable, "-c", FINITE, str(N)], cwd=root, env=env, capture_output=True,
                             text=True, timeout=timeout)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if out.returncode != 0:
        raise RuntimeError(f"exited {out.returncode}: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _attempt(fn, *args) -> dict:
    try:
        return fn(*args)
    except subprocess.TimeoutExpired as e:
        return {"error": f"timed out after {e.timeout:.0f} s"}
    except Exception as e:  # noqa: BLE001 (a version that fails is a result)
        return {"error": str(e)}


@contextlib.contextmanager
def _baseline(ref: str | None, root: str | None, skip: bool):
    if skip:
        yield None
    elif root:
        yield os.path.abspath(root)
    else:
        with common.checkout(ref) as base:
            yield base


def _row(case: str, b: dict | None, n: dict, fields) -> dict:
    """One table row: ``fields(run)`` of each version (or its error), then the warm ratio and the
    agreement of I_M/N where both ran."""
    row = {"case": case}
    for key, r in (("baseline_", b), ("", n)):
        if r is None:
            continue
        row.update({key + "error": r["error"]} if "error" in r else {key + k: v for k, v in fields(r).items()})
    if b is not None and "error" not in b and "error" not in n:
        row.update(warm_ratio=b["warm_s"] / n["warm_s"], **thermo_sweep.mi_agreement(b["mi"], n["mi"]))
    return row


def _sweep_fields(points):
    return lambda r: {"first_s": r["first_s"], "pts_per_s": points / r["warm_s"], "single_ms": 1e3 * r["single_warm_s"]}


def _finite_fields(r):
    return {k: r[k] for k in ("first_s", "warm_s", "iterations", "residual", "peak_device_gib")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="5eb51bb", help="git ref of the baseline")
    ap.add_argument("--baseline-root", help="folder holding the baseline's permjax/ (instead of --baseline)")
    ap.add_argument("--points", type=int, nargs="*", default=[1000, 100000])
    ap.add_argument("--N", type=int, nargs="*", default=[400])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--singles", type=int, default=20, help="warm single-point calls timed (0: none)")
    ap.add_argument("--no-baseline", action="store_true", help="this checkout alone")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per fresh process")
    ap.add_argument("--name", default="versions", help="JSON name under the results folder")
    args = ap.parse_args()

    rows, runs = [], {}
    record = {"baseline": None if args.no_baseline else (args.baseline_root and "folder " + args.baseline_root
                                                          or args.baseline),
              "points": args.points, "N": args.N, "repeats": args.repeats, "rows": rows, "runs": runs}
    columns = [("case", "case"), ("baseline first (s)", "baseline_first_s", ".1f"), ("first (s)", "first_s", ".1f"),
               ("baseline pts/s", "baseline_pts_per_s", ".0f"), ("pts/s", "pts_per_s", ".0f"),
               ("baseline warm (s)", "baseline_warm_s", ".2f"), ("warm (s)", "warm_s", ".2f"),
               ("× warm", "warm_ratio", ".1f"), ("baseline 1 pt (ms)", "baseline_single_ms", ".1f"),
               ("1 pt (ms)", "single_ms", ".1f"), ("max |ΔI_M/N|", "max_abs_dmi", ".1e"),
               ("NaNs agree", "nan_agree"), ("baseline error", "baseline_error"), ("error", "error")]
    with _baseline(args.baseline, args.baseline_root, args.no_baseline) as base:
        for points in args.points:
            timed = lambda root: thermo_sweep.measure(root, points, args.repeats, 4, timeout=args.timeout,  # noqa: E731
                                                      singles=args.singles)
            n, b = _attempt(timed, common.ROOT), base and _attempt(timed, base)
            runs[f"sweep {points}"] = {"baseline": b, "now": n}
            rows.append(_row(f"sweep, {points} points", b, n, _sweep_fields(points)))
            print(common.table(rows[-1:], columns), flush=True)
            common.write_results(args.name, record)
        for N in args.N:
            n, b = _attempt(finite, common.ROOT, N, args.timeout), base and _attempt(finite, base, N, args.timeout)
            runs[f"finite {N}"] = {"baseline": b, "now": n}
            rows.append(_row(f"finite N = {N}", b, n, _finite_fields))
            print(common.table(rows[-1:], columns), flush=True)
            common.write_results(args.name, record)
    common.report(args.name, rows, columns, record)


if __name__ == "__main__":
    main()
