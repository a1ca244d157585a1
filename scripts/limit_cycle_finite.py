"""Finite N against N → ∞ on a limit cycle of a model other than LMG: I_M/N at N = 10 … 80.

Model: examples/models/xyz_pumped.toml — the zoo XYZ couplings (J_x, J_y, J_z) = (3, 0, −1)
with collective decay (κ/N) D[S_−], κ = 1, and local pumping γ↑ Σ_i D[σ_+^(i)], γ↑ = 0.5. Its
mean field has a stable limit cycle (period 2π); ``permjax.mi_thermo`` gives lim I_M/N (Eq. 13,
one-period average). The finite-N steady states (GMRES on every J-block, Eqs. 27–29) are
cached in docs/limit_cycle_finite.csv, one row per N, the N → ∞ value in the row N = inf;
rows present are skipped, so a larger N can be added later:

    python3 scripts/limit_cycle_finite.py                  # N = 10 20 40 80
    python3 scripts/limit_cycle_finite.py --N 160          # adds N = 160 to the table

Prints |I_M/N − lim| against N, the local exponents ln(Δ_k/Δ_{k+1}) / ln(N_{k+1}/N_k), a
least-squares exponent, and the limit extrapolated from the three largest N with
I_M/N ≈ a + b N^−q (q free) and with a + (b + c ln N)/N. Writes docs/limit_cycle_finite.png (I_M/N against 1/N; |Δ| against N).
"""

import argparse
import math
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite_points import FIELDS, finite_point, read_rows, trusted, write_rows  # noqa: E402

ROOT = os.path.join(HERE, "..")
MODEL_FILE = os.path.join(ROOT, "examples", "models", "xyz_pumped.toml")
CSV = os.path.join(ROOT, "docs", "limit_cycle_finite.csv")
PNG = os.path.join(ROOT, "docs", "limit_cycle_finite.png")
DEFAULT_N = (10, 20, 40, 80)
COLUMNS = FIELDS + ["kind", "period"]


def mean_field(point) -> dict:
    """The N → ∞ row: lim I_M/N from ``mi_thermo``; an attractor other than a finished limit
    cycle is an error (this script is about limit cycles)."""
    import permjax

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # several attractors or an unfinished stage: stop
        res = permjax.mi_thermo(point)
    if res.kind_name != "limit cycle" or not bool(res.finished):
        raise SystemExit(f"mi_thermo: {res.kind_name}, finished={bool(res.finished)}: not a limit cycle")
    return dict(N="inf", mi_per_N=float(res.mi), converged=True, residual=float(res.residual),
                iterations=int(res.newton_steps), method="mi_thermo", kind=res.kind_name,
                period=float(res.period), note=f"Floquet max |mu| = {float(res.floquet_max):.4f}")


def convergence(Ns, mis, limit):
    """(Δ, local exponents, least-squares exponent, extrapolations or None).

    Extrapolations from the three largest N: ``power``, a + b N^−q with q free (for N doubling,
    a = x₃ + (x₃ − x₂) ρ/(1 − ρ), ρ = (x₃ − x₂)/(x₂ − x₁); in general solved for q), and ``log``,
    a + (b + c ln N)/N."""
    Ns, mis = np.asarray(Ns, float), np.asarray(mis, float)
    delta = np.abs(mis - limit)
    local = np.log(delta[:-1] / delta[1:]) / np.log(Ns[1:] / Ns[:-1])
    p = -np.polyfit(np.log(Ns), np.log(delta), 1)[0] if len(Ns) >= 2 else float("nan")
    extrapolated = None
    if len(Ns) >= 3:
        n, x = Ns[-3:], mis[-3:]
        a_log, *_ = np.linalg.solve(np.stack([np.ones(3), 1 / n, np.log(n) / n], 1), x)
        ratio = (x[2] - x[1]) / (x[1] - x[0])
        # q from (n₂^−q − n₃^−q)/(n₁^−q − n₂^−q) = ratio, by bisection on q ∈ (0, 4)
        g = lambda q: (n[1] ** -q - n[2] ** -q) / (n[0] ** -q - n[1] ** -q) - ratio
        lo, hi = 1e-6, 4.0
        if 0 < ratio < 1 and g(lo) * g(hi) < 0:
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if g(lo) * g(mid) > 0 else (lo, mid)
            q = 0.5 * (lo + hi)
            b = (x[2] - x[1]) / (n[2] ** -q - n[1] ** -q)
            a_pow = float(x[2] - b * n[2] ** -q)
        else:
            q = a_pow = float("nan")
        extrapolated = dict(power=a_pow, q=float(q), log=float(a_log))
    return delta, local, float(p), extrapolated


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=list(DEFAULT_N),
                    help="N to add (default 10 20 40 80; rows already in the CSV are kept, not recomputed)")
    args = ap.parse_args()
    import permjax

    point = permjax.load_model(MODEL_FILE)
    rows = read_rows(CSV)
    have = {r["N"] for r in rows}
    if "inf" not in have:
        rows.append(mean_field(point))
        write_rows(CSV, _sorted(rows), COLUMNS)
    for N in sorted(set(args.N)):
        if str(N) in have:
            continue
        row = finite_point(N, point, method="gmres")
        print(f"N={N}: I_M/N = {row['mi_per_N']:.10f}  converged={row['converged']}  "
              f"residual={row['residual']:.1e}  iterations={row['iterations']}  {row['seconds']:.1f} s", flush=True)
        rows.append(row)
        write_rows(CSV, _sorted(rows), COLUMNS)
    report(_sorted(read_rows(CSV)))


def _sorted(rows):
    return sorted(rows, key=lambda r: math.inf if str(r["N"]) == "inf" else int(r["N"]))


def report(rows):
    limit = float(next(r for r in rows if r["N"] == "inf")["mi_per_N"])
    fin = [r for r in rows if r["N"] != "inf"]
    good = [r for r in fin if trusted(r)]
    Ns = [int(r["N"]) for r in good]
    mis = [float(r["mi_per_N"]) for r in good]
    print(f"N -> inf (mi_thermo, limit cycle): I_M/N = {limit:.10f}")
    for r in fin:
        if not trusted(r):
            print(f"N={r['N']}: not converged (residual {r['residual']}), left out")
    if len(Ns) < 2:
        return
    delta, local, p, extrapolated = convergence(Ns, mis, limit)
    print(f"{'N':>5} {'I_M/N':>12} {'|diff|':>10} {'local exponent':>15}")
    for k, (N, m, d) in enumerate(zip(Ns, mis, delta)):
        loc = f"{local[k - 1]:15.3f}" if k else f"{'':15}"
        print(f"{N:5d} {m:12.8f} {d:10.6f} {loc}")
    print(f"least-squares |diff| ~ N^-p over N = {Ns}: p = {p:.3f}")
    if extrapolated is not None:
        e = extrapolated
        print(f"a + b N^-q through N = {Ns[-3:]}: q = {e['q']:.3f}, a = {e['power']:.6f} "
              f"(mi_thermo {limit:.6f}, difference {e['power'] - limit:+.2e})")
        print(f"a + (b + c ln N)/N through N = {Ns[-3:]}: a = {e['log']:.6f} (difference {e['log'] - limit:+.2e})")
    plot(Ns, mis, [r for r in fin if not trusted(r)], limit, delta, p, extrapolated)


def plot(Ns, mis, bad, limit, delta, p, extrapolated=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Ns = np.asarray(Ns, float)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.5, 3.4))
    ax.plot(1 / Ns, mis, "o-", color="tab:red", label="finite N (GMRES)")
    if bad:
        ax.plot([1 / int(r["N"]) for r in bad], [float(r["mi_per_N"]) for r in bad], "o", mfc="none",
                color="tab:red", label="not converged")
    if extrapolated is not None and np.isfinite(extrapolated["power"]):
        a, q = extrapolated["power"], extrapolated["q"]
        b = (mis[-1] - a) * Ns[-1] ** q
        n = np.geomspace(Ns[-3], 1e8, 200)
        ax.plot(np.r_[1 / n, 0], np.r_[a + b * n**-q, a], "--", color="0.5", lw=1,
                label=f"$a + bN^{{-q}}$ through N = {', '.join(str(int(k)) for k in Ns[-3:])} (q = {q:.2f})")
    ax.plot([0], [limit], "*", ms=12, color="k", label=r"$N\to\infty$ (mi_thermo, limit cycle)")
    ax.axhline(limit, color="k", ls=":", lw=0.8)
    ax.set_xlim(left=-0.005)
    ax.set_xlabel("1/N")
    ax.set_ylabel(r"$I_M/N$")
    ax.set_title("XYZ (3, 0, −1), κ = 1, local pumping γ↑ = 0.5", fontsize=9)
    ax.legend(fontsize=7)
    bx.loglog(Ns, delta, "o", color="tab:red")
    bx.loglog(Ns, delta[0] * (Ns / Ns[0]) ** (-p), "--", color="0.5", label=f"least squares: $N^{{-{p:.2f}}}$")
    bx.set_xticks(Ns, [str(int(n)) for n in Ns])
    bx.minorticks_off()
    bx.set_xlabel("N")
    bx.set_ylabel(r"$|I_M/N - I_M/N\,(N\to\infty)|$")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PNG, dpi=120)
    plt.close(fig)
    print(f"wrote {os.path.relpath(PNG, ROOT)}")


if __name__ == "__main__":
    main()
