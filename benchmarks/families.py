"""Cost of the family layer: the same LMG sweep given as the LMG family, as the spelled-out model
file examples/models/lmg_terms.toml (a family made from the file) and as a batch of bare PIModels.

The baseline is the LMG family, run in this script; each row reports the time per point after
compilation (one warm-up sweep of the same shape first), the ratio to the baseline and the largest
difference of I_M/N from it. A solver that does not take the model kind yet shows "n/a".

    python3 benchmarks/families.py                     # N → ∞ (mi_thermo) and N = 20 (mi_finite)
    python3 benchmarks/families.py --points 16 --N 12

Prints a table and writes benchmarks/results/families.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

import permjax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = Path(__file__).resolve().parent


def batches(points: int) -> dict:
    gammas = np.linspace(1.0, 4.0, points)
    lmg = permjax.grid(h=0.5, Gamma=gammas)
    terms = permjax.load_model(HERE.parent / "examples" / "models" / "lmg_terms.toml")
    pimodel = permjax.LMG().to_model()
    return {
        "LMG family": lmg,
        "model file (lmg_terms.toml)": permjax.grid(family=terms, h=0.5, Gamma=gammas),
        "PIModel": permjax.grid(family=pimodel, **{"hamiltonian[2]": 0.5, "collective[0]": gammas}),
    }


def timed(fn, models, chunk: int):
    """Seconds of a warm sweep (one sweep of the same shape first: compiles) and its I_M/N, or why not."""
    try:
        t = common.first_and_warm(lambda: permjax.sweep(fn, models, chunk_size=chunk, progress=False), repeats=1)
    except ValueError as e:
        return None, str(e)
    out = t.value.outputs
    return (t.warm_s, np.asarray(out.mi if hasattr(out, "mi") else out)), None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--N", type=int, default=20)
    args = ap.parse_args(argv)
    objectives = {
        "N -> infinity (mi_thermo)": permjax.mi_thermo,
        f"N = {args.N} (mi_finite)": lambda m: permjax.mi_finite(args.N, m, method="gmres" if args.N >= 20 else "cgls"),
    }
    rows = []
    for label, fn in objectives.items():
        base = None
        for kind, models in batches(args.points).items():
            result, why = timed(fn, models, args.points)
            row = {"objective": label, "model": kind, "points": args.points}
            if result is None:
                row.update(status="n/a", reason=why)
            else:
                seconds, mi = result
                base = base or (seconds, mi)
                row.update(status="ok", ms_per_point=1e3 * seconds / args.points, ratio=seconds / base[0],
                           max_abs_diff=float(np.max(np.abs(mi - base[1]))))
            rows.append(row)

    common.report("families", rows, [
        ("objective", "objective"), ("model", "model"), ("ms/point", "ms_per_point", ".2f"), ("ratio", "ratio", ".2f"),
        ("max abs diff of I_M/N", "max_abs_diff", ".1e"), ("n/a: why", lambda r: r.get("reason", "")[:60] or None)],
        rows)


if __name__ == "__main__":
    main()
