"""Finite-N scan of I_M/N against Γ at h = 0.5, 𝒥 = 3, γ = 1 — the paper's open question
(docs/theory.md §3: the N → ∞ theory shows a dip near Γ ≈ 2.5γ that finite-N data up to N = 160 did
not show).

Finite N: ``steady_state(method="gmres")``, warm-started along Γ (each solve starts from the
previous Γ's steady state). N → ∞: ``permjax.mi_thermo`` when the package provides it
(otherwise that column stays empty and the plot says so). Resumable: rows already in the CSV
are skipped. Writes docs/dip_scan.csv and docs/dip_scan.png.

    python3 scripts/scan_dip.py [--N 40 80 160] [--Gamma-min 1.5 --Gamma-max 3.5 --step 0.1]
                                [--csv FILE] [--no-plot]

On a GPU (large N), one N per device call: ``--N 240 --Gamma-min 2.0 --Gamma-max 3.2``; rows
already in the CSV are skipped, so an interrupted scan resumes where it stopped.
"""

import argparse
import csv
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "docs")
CSV = os.path.join(DOCS, "dip_scan.csv")
PNG = os.path.join(DOCS, "dip_scan.png")
FIELDS = ["N", "Gamma", "mi_per_N", "residual", "iterations", "converged", "seconds"]


def read_rows():
    if not os.path.exists(CSV):
        return []
    with open(CSV) as f:
        return list(csv.DictReader(f))


def append_row(row):
    new = not os.path.exists(CSV)
    with open(CSV, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def finite_scan(N, Gammas, J, h, gamma):
    import jax

    import permjax
    from permjax.dicke import mutual_information
    from permjax.solvers import steady_state

    done = {(int(r["N"]), round(float(r["Gamma"]), 6)) for r in read_rows() if r["N"] != "inf"}
    x0 = None
    for G in Gammas:
        if (N, round(G, 6)) in done:
            x0 = None  # resuming: the next solve starts cold
            continue
        t0 = time.perf_counter()
        st = steady_state(N, permjax.LMG(J, h, G, gamma), method="gmres", on_failure="warn", x0=x0)
        jax.block_until_ready(st.blocks)
        mi = float(mutual_information(st)) / N
        d = st.diagnostics.as_dict()
        append_row(dict(N=N, Gamma=f"{G:.6f}", mi_per_N=f"{mi:.12g}", residual=f"{d['residual']:.3e}",
                        iterations=d["iterations"], converged=d["converged"],
                        seconds=f"{time.perf_counter() - t0:.2f}"))
        print(f"N={N} Γ={G:.2f} I_M/N={mi:.10f} it={d['iterations']} res={d['residual']:.1e} "
              f"{time.perf_counter() - t0:.1f}s", flush=True)
        x0 = st.blocks


def thermo_scan(Gammas, J, h, gamma):
    import permjax

    if not hasattr(permjax, "mi_thermo"):
        print("permjax.mi_thermo not available: the N → ∞ column is left empty", flush=True)
        return False
    done = {round(float(r["Gamma"]), 6) for r in read_rows() if r["N"] == "inf"}
    for G in Gammas:
        if round(G, 6) in done:
            continue
        t0 = time.perf_counter()
        res = permjax.mi_thermo(permjax.LMG(J, h, G, gamma))
        mi = float(res.mi)
        diag = res.diagnostics_dict() if hasattr(res, "diagnostics_dict") else {}
        append_row(dict(N="inf", Gamma=f"{G:.6f}", mi_per_N=f"{mi:.12g}", residual=diag.get("residual", ""),
                        iterations=diag.get("iterations", ""), converged=diag.get("converged", ""),
                        seconds=f"{time.perf_counter() - t0:.2f}"))
        print(f"N=inf Γ={G:.2f} I_M/N={mi:.10f}", flush=True)
    return True


def plot(title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    keys = sorted({r["N"] for r in rows}, key=lambda n: float("inf") if n == "inf" else int(n))
    for n in keys:
        pts = sorted((float(r["Gamma"]), float(r["mi_per_N"])) for r in rows if r["N"] == n)
        g, m = np.array(pts).T
        if n == "inf":
            ax.plot(g, m, "k-", lw=2, label="N → ∞ (mean field)")
        else:
            ax.plot(g, m, "o-", ms=3, label=f"N = {n}")
    if "inf" not in keys:
        ax.text(0.02, 0.02, "N → ∞ curve not available (permjax.mi_thermo missing)", transform=ax.transAxes, fontsize=8)
    ax.set_xlabel("Γ / γ")
    ax.set_ylabel("I_M / N")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PNG, dpi=110)  # noqa
    print(f"wrote {PNG}")


def main():
    global CSV
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="*", default=[40, 80, 160])
    ap.add_argument("--Gamma-min", type=float, default=1.5)
    ap.add_argument("--Gamma-max", type=float, default=3.5)
    ap.add_argument("--step", type=float, default=0.1)
    ap.add_argument("--J", type=float, default=3.0)
    ap.add_argument("--h", type=float, default=0.5)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--csv", default=CSV, help="the CSV to extend (default docs/dip_scan.csv)")
    args = ap.parse_args()
    CSV = args.csv
    os.makedirs(DOCS, exist_ok=True)
    Gammas = list(np.round(np.arange(args.Gamma_min, args.Gamma_max + args.step / 2, args.step), 6))
    if not args.plot_only:
        thermo_scan(Gammas, args.J, args.h, args.gamma)
        for N in args.N:
            finite_scan(N, Gammas, args.J, args.h, args.gamma)
    if args.no_plot:
        return
    plot(f"LMG J={args.J:g}, h={args.h:g}, γ={args.gamma:g}: I_M/N vs Γ")


if __name__ == "__main__":
    main()
