"""Finite N against the N → ∞ orbit value (docs/theory.md §7) for the symmetric examples and LMG.

Models: the superradiant laser at ω = 0 (a ring of fixed points, U(1)), example 2 (two fixed points
exchanged by the π rotation about z), the XYZ zoo point J_y = −1.5 (the same), and LMG at the
paper's point (a limit cycle, no symmetry). For each: lim I_M/N from ``mi_thermo`` (the orbit's
Holevo value), the value of one attractor alone (what the mean field gave before orbits were
averaged: 0 for a fixed point), and I_M/N at N = 10 … 80 (``--N``), cached in
docs/orbit_series.csv (rows present are skipped). Prints a markdown table of the values and of
the distance to the orbit value.

    python3 scripts/orbit_series.py                 # N = 10 20 40 80
    python3 scripts/orbit_series.py --N 160 320 --only laser --method auto   # the laser's rate equations reach further
"""

import argparse
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite_points import FIELDS, finite_point, read_rows, trusted, write_rows  # noqa: E402

ROOT = os.path.join(HERE, "..")
CSV = os.path.join(ROOT, "docs", "orbit_series.csv")
COLUMNS = ["model"] + FIELDS


def models():
    import permjax
    from permjax import PIModel, sigma_minus, sigma_x, sigma_y, sigma_z

    pair = PIModel(2, hamiltonian=[(1.2, sigma_x / 2, sigma_x / 2), (-2.0, sigma_y / 2, sigma_y / 2),
                                   (-0.8, sigma_z / 2, sigma_z / 2)], local=[(0.25, sigma_minus), (0.05, sigma_z)])
    return {"laser (omega = 0)": permjax.SuperradiantLaser(), "example 2": pair,
            "XYZ (J_y = -1.5)": permjax.XYZ(1.0, -1.5, -1.0, 0.2), "LMG (paper point)": permjax.LMG()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, nargs="+", default=[10, 20, 40, 80])
    p.add_argument("--only", nargs="+", help="model names (default all)")
    p.add_argument("--method", default="gmres", help="steady-state method (default gmres; auto picks the rate "
                   "equations for the q-conserving laser)")
    args = p.parse_args(argv)
    import permjax

    rows = read_rows(CSV)
    have = {(r["model"], r["N"]) for r in rows if trusted(r)}
    table = {}
    for name, point in models().items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            res = permjax.mi_thermo(point)
        one = float(res.start_mi[0]) if res.orbit["size"] == 1 and res.orbit["dim"] == 0 else 0.0
        table[name] = {"inf": float(res.mi), "kind": res.kind_name, "orbit": res.orbit, "single": one}
        for N in args.N:
            if (name, str(N)) in have or (args.only and not any(o in name for o in args.only)):
                continue
            row = finite_point(N, point, method=args.method)
            row["model"] = name
            rows.append(row)
            write_rows(CSV, rows, COLUMNS)
            print(f"{name} N = {N}: {row['mi_per_N']:.6f} ({row['iterations']} iterations, {row['seconds']:.1f} s)",
                  flush=True)
    values = {(r["model"], int(r["N"])): float(r["mi_per_N"]) for r in rows if trusted(r)}
    Ns = sorted({N for _, N in values})
    print("| model | attractor | orbit | " + " | ".join(f"N = {N}" for N in Ns) + " | N → ∞ (orbit) | one attractor |")
    print("|---" * (len(Ns) + 5) + "|")
    for name, t in table.items():
        orbit = "ring" if t["orbit"]["dim"] else f"{t['orbit']['size']}"
        cells = [f"{values[(name, N)]:.4f}" if (name, N) in values else "" for N in Ns]
        print(f"| {name} | {t['kind']} | {orbit} | " + " | ".join(cells) + f" | {t['inf']:.4f} | {t['single']:.4f} |")
    print("\ndistance to the orbit value:")
    for name, t in table.items():
        d = [t["inf"] - values[(name, N)] for N in Ns if (name, N) in values]
        ratios = np.array(d[1:]) / np.array(d[:-1]) if len(d) > 1 else []
        print(f"{name}: " + ", ".join(f"{x:.4f}" for x in d) + "; ratio per doubling " +
              ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
