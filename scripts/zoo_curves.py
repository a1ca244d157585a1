"""N → ∞ I_M/N of each zoo family against one parameter (the others at their defaults).

BTC against ω/κ, all-to-all XYZ against J_y, spin-1 LMG against Γ: ``permjax.mi_thermo`` on a
batch of points (vmapped), with the attractor kind of each point. Writes docs/zoo_<name>.csv and
docs/zoo_<name>.png.

    python3 scripts/zoo_curves.py [--points 41]
"""

import argparse
import csv
import os
import warnings

import numpy as np

import permjax
from permjax.models.zoo import BTC, XYZ, SpinOneLMG

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "docs")
CURVES = [("btc", BTC, "omega", (0.0, 4.0)), ("xyz", XYZ, "Jy", (-3.0, 3.0)), ("spin1_lmg", SpinOneLMG, "Gamma", (0.5, 6.0))]
KINDS = {0: "fixed point", 1: "limit cycle", 2: "not resolved"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=41)
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, fam, par, (lo, hi) in CURVES:
        x = np.linspace(lo, hi, args.points)
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
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(x, mi, "-", color="0.6", lw=1)
        for k, c in ((0, "tab:blue"), (1, "tab:red"), (2, "tab:gray")):
            sel = kind == k
            if sel.any():
                ax.plot(x[sel], mi[sel], "o", ms=3, color=c, label=KINDS[k])
        multi = n_attr > 1
        if multi.any():
            ax.plot(x[multi], mi[multi], "x", color="k", ms=6, label="several attractors")
        defaults = ", ".join(f"{k}={v:g}" for k, v in fam.DEFAULTS.items() if k != par)
        ax.set_xlabel(par)
        ax.set_ylabel(r"$\lim_{N\to\infty} I_M/N$")
        ax.set_title(f"{fam.NAME} ({defaults})", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(DOCS, f"zoo_{name}.png"), dpi=120)
        plt.close(fig)
        print(name, "kinds", np.bincount(kind, minlength=3).tolist(), "max I_M/N", np.nanmax(mi))


if __name__ == "__main__":
    main()
