"""N → ∞ I_M/N of each zoo family against one parameter (the others at their defaults), with
finite-N points for the qubit families.

BTC against ω/κ, all-to-all XYZ against J_y, spin-1 LMG against Γ: ``permjax.mi_thermo`` on a
batch of points (vmapped), with the attractor kind of each point. Writes docs/zoo_<name>.csv and
docs/zoo_<name>.png.

Finite N (qubit families only; the spin-1 LMG has d = 3, outside the Dicke-basis solver): the
steady state on every J-block (GMRES, Eqs. 27–29) at ``--finite-points`` parameter values
along the curve and each N of ``--finite-N``, cached in docs/zoo_<name>_finite.csv, one row per
(value, N). Converged rows already there are kept; one that was skipped or did not converge is
tried again. A point is skipped at N when its estimated time exceeds ``--budget`` seconds
(``estimated_seconds``: from its GMRES iterations at smaller N and the warm time per iteration
there), and a solve stops after the iterations that fit the budget (a stagnating one costs about
the budget). Every solve records its residual, iterations and whether it converged; the figure
plots the converged points only and counts the others (not converged, over the time budget) in a
note. The figures are drawn from whatever the caches hold.

    python3 scripts/zoo_curves.py [--points 41]                      # N → ∞ curves (+ cached finite N)
    python3 scripts/zoo_curves.py --finite-N 20 40 80 --only-finite  # add finite-N points, redraw
    python3 scripts/zoo_curves.py --finite-N 160 --only-finite --budget 600   # a larger N, later
"""

import argparse
import csv
import math
import os
import sys
import warnings

import numpy as np

import permjax
from permjax.models.zoo import BTC, XYZ, SpinOneLMG

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite_points import FIELDS, finite_point, read_rows, trusted, write_rows  # noqa: E402

DOCS = os.path.join(HERE, "..", "docs")
CURVES = [("btc", BTC, "omega", (0.0, 4.0)), ("xyz", XYZ, "Jy", (-3.0, 3.0)), ("spin1_lmg", SpinOneLMG, "Gamma", (0.5, 6.0))]
KINDS = permjax.meanfield.KIND_NAMES
SKIPPED = "skipped"


def mean_field_curve(name, fam, par, lo, hi, points):
    """The N → ∞ curve: computed and written to docs/zoo_<name>.csv."""
    x = np.linspace(lo, hi, points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = permjax.mi_thermo(fam(**{par: x}))
        mi = np.asarray(res.mi)
    kind, n_attr, period = np.asarray(res.kind), np.asarray(res.n_attractors), np.asarray(res.period)
    with open(os.path.join(DOCS, f"zoo_{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([par, "mi_per_N", "attractor", "period", "n_attractors"])
        for row in zip(x, mi, kind, period, n_attr):
            w.writerow([f"{row[0]:.6g}", f"{row[1]:.12g}", KINDS[int(row[2])], f"{row[3]:.10g}", int(row[4])])
    print(name, "kinds", {KINDS[k]: int(c) for k, c in enumerate(np.bincount(kind, minlength=len(KINDS))) if c},
          "max I_M/N", np.nanmax(mi))
    return x, mi, kind, n_attr


def read_curve(name, par):
    """The N → ∞ curve as written by ``mean_field_curve``."""
    rows = read_rows(os.path.join(DOCS, f"zoo_{name}.csv"))
    if not rows:
        raise SystemExit(f"docs/zoo_{name}.csv is missing: run without --only-finite first")
    inv = {v: k for k, v in KINDS.items()}
    x = np.array([float(r[par]) for r in rows])
    mi = np.array([float(r["mi_per_N"]) for r in rows])
    return x, mi, np.array([inv[r["attractor"]] for r in rows]), np.array([int(r["n_attractors"]) for r in rows])


def estimated_seconds(N, done, rows, method="gmres"):
    """(estimated seconds, seconds per iteration) at N for a point from its rows ``done`` solved
    by ``method`` (N′ < N; a sparse-LU row's one "iteration" says nothing of GMRES): its
    iterations at the largest N′, grown as between its last two N (×N/N′ with one), times the
    fastest seconds per iteration of any point at N′ (warm: without the compile) times (N/N′)³.
    (0, None) without a smaller N."""
    solved = lambda r: (r["note"] != SKIPPED and r["seconds"] not in ("", None) and int(r["iterations"]) > 0
                        and r.get("method", method) == method)
    prev = sorted((r for r in done if int(r["N"]) < N and solved(r)), key=lambda r: int(r["N"]))
    if not prev:
        return 0.0, None
    last = prev[-1]
    Np = int(last["N"])
    ratio = N / Np
    growth = ratio
    if len(prev) >= 2:
        step = Np / int(prev[-2]["N"])
        growth = max(1.0, int(last["iterations"]) / int(prev[-2]["iterations"])) ** (math.log(ratio) / math.log(step))
    per_iteration = ratio**3 * min(float(r["seconds"]) / int(r["iterations"])
                                   for r in rows if int(r["N"]) == Np and solved(r))
    return per_iteration * int(last["iterations"]) * growth, per_iteration


def finite_points(name, fam, par, lo, hi, Ns, count, budget, method="gmres"):
    """Solve the missing (value, N) rows of docs/zoo_<name>_finite.csv; returns all rows."""
    path = os.path.join(DOCS, f"zoo_{name}_finite.csv")
    fields = [par] + FIELDS
    rows = read_rows(path)
    key = lambda r: (f"{float(r[par]):.6g}", int(r["N"]))
    values = [f"{v:.6g}" for v in np.linspace(lo, hi, count)]
    for N in sorted(set(Ns)):
        for v in values:
            have = {key(r): r for r in rows}
            old = have.get((v, N))
            if old is not None and trusted(old):
                continue
            done = [r for r in rows if f"{float(r[par]):.6g}" == v]
            est, per_iteration = estimated_seconds(N, done, rows, method)
            # a solve that stagnates stops near the budget (an unconverged row, tried again next time)
            maxiter = None if per_iteration is None else max(100, int(budget / per_iteration))
            rows = [r for r in rows if key(r) != (v, N)]
            if est > budget:
                row = {par: v, "N": N, "mi_per_N": "", "converged": False, "note": SKIPPED,
                       "seconds": "", "method": method, "residual": "", "iterations": "",
                       "estimated_seconds": f"{est:.0f}"}
                print(f"{name} {par}={v} N={N}: skipped (estimated {est:.0f} s > budget {budget:g} s)", flush=True)
            else:
                row = {par: v, **finite_point(N, fam(**{par: float(v)}), method=method,
                                              maxiter=maxiter if method == "gmres" else None),
                       "estimated_seconds": f"{est:.0f}"}
                print(f"{name} {par}={v} N={N}: I_M/N = {row['mi_per_N']:.3e} converged={row['converged']} "
                      f"residual={row['residual']:.1e} iterations={row['iterations']} {row['seconds']:.1f} s", flush=True)
            rows.append(row)
            rows.sort(key=lambda r: (int(r["N"]), float(r[par])))
            write_rows(path, rows, fields + ["estimated_seconds"])
    return read_rows(path)


def plot(name, fam, par, curve, finite, d):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, mi, kind, n_attr = curve
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(x, mi, "-", color="0.6", lw=1)
    for k, c in ((0, "tab:blue"), (1, "tab:red"), (2, "tab:gray"), (3, "tab:purple"), (4, "tab:orange"),
                 (5, "k")):
        sel = kind == k
        if sel.any():
            ax.plot(x[sel], mi[sel], "o", ms=3, color=c, label=KINDS[k])
    multi = (n_attr > 1) & np.isfinite(mi)
    if multi.any():
        ax.plot(x[multi], mi[multi], "x", color="k", ms=6, label="several attractors (one orbit)")
    good = [r for r in finite if trusted(r)]
    Ns = sorted({int(r["N"]) for r in finite})
    shades = plt.cm.Greens(np.linspace(0.45, 0.95, max(len(Ns), 1)))
    left_out = []
    for N, c in zip(Ns, shades):
        sel = [r for r in good if int(r["N"]) == N]
        if sel:
            ax.plot([float(r[par]) for r in sel], [float(r["mi_per_N"]) for r in sel], "s", ms=4, color=c, ls="none",
                    label=f"N = {N}")
        skipped = sum(int(r["N"]) == N and r["note"] == SKIPPED for r in finite)
        failed = sum(int(r["N"]) == N and r["note"] != SKIPPED and not trusted(r) for r in finite)
        if skipped or failed:
            left_out.append(f"N = {N}: " + ", ".join(t for t in (f"{failed} not converged" if failed else "",
                                                                  f"{skipped} over the time budget" if skipped else "") if t))
    if left_out:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.12 * (hi - lo))  # room for the note
        ax.text(0.02, 0.98, "not shown: " + "; ".join(left_out), transform=ax.transAxes, fontsize=6, va="top",
                color="0.3")
    if d > 2:
        ax.text(0.98, 0.02, f"d = {d}: no finite-N solver (qubits only)", transform=ax.transAxes, fontsize=7,
                color="0.3", ha="right")
    defaults = ", ".join(f"{k}={v:g}" for k, v in fam.DEFAULTS.items() if k != par)
    ax.set_xlabel(par)
    ax.set_ylabel(r"$I_M/N$")
    ax.set_title(f"{fam.NAME} ({defaults})", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, f"zoo_{name}.png"), dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=41, help="parameter values of the N → ∞ curve")
    ap.add_argument("--finite-N", type=int, nargs="+", default=[], metavar="N",
                    help="finite N to add for the qubit families (e.g. 20 40 80 160); cached rows are kept")
    ap.add_argument("--finite-points", type=int, default=9, help="parameter values with finite-N points")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="skip a finite-N point whose estimated time exceeds this many seconds")
    ap.add_argument("--method", default="gmres", choices=["gmres", "jblock", "direct", "auto"],
                    help="steady-state method of the finite-N points (jblock: GMRES preconditioned by the J-conserving part; "
                         "direct: sparse LU of every J-block, N <= 80)")
    ap.add_argument("--only-finite", action="store_true",
                    help="do not recompute the N → ∞ curves: read docs/zoo_<name>.csv")
    args = ap.parse_args()
    if any(N < 2 for N in args.finite_N):
        ap.error("--finite-N: every N must be >= 2")
    for name, fam, par, (lo, hi) in CURVES:
        d = fam().to_model().d
        curve = read_curve(name, par) if args.only_finite else mean_field_curve(name, fam, par, lo, hi, args.points)
        if d == 2 and args.finite_N:
            finite = finite_points(name, fam, par, lo, hi, args.finite_N, args.finite_points, args.budget,
                                   args.method)
        else:
            finite = read_rows(os.path.join(DOCS, f"zoo_{name}_finite.csv")) if d == 2 else []
        plot(name, fam, par, curve, finite, d)


if __name__ == "__main__":
    main()
