"""Figures of finite-N dynamics for the paper's LMG point (𝒥 = 3, Γ = 1.68, γ = 1; docs/):

1. docs/dynamics_mi.png — I_M/N(t) from the all-down product state at N = 20, 40, 80, 160, next to the
   mean-field running estimate b(|m̄_t|) − ⟨b(|m|)⟩_t along the mean-field trajectory from the
   same state (m̄_t, ⟨·⟩_t: averages over [0, t]) and its limit ``mi_thermo`` (h = 0.5).
2. docs/dynamics_spectrum.png — the Liouvillian eigenvalues nearest 0 at h = 0 (N = 10 … 160) and
   h = 0.5 (N = 10 … 60): the "cycle mode" (among Im λ ≥ ω_MF/2 the eigenvalue of largest Re λ)
   — its decay rate −Re λ against N with a power-law fit, and its frequency Im λ against
   2π/T of the mean-field cycle (``mi_thermo``'s period), with fits ω_MF − Im λ ∝ N^{−β} and
   ω(N) = ω∞ + c N^{−b}.
3. docs/dynamics_emission.png — S(ω) of ⟨Ĵ₊(τ)Ĵ₋(0)⟩ at h = 0.5, N = 40, 80, 160 (time-domain
   quadrature of ``correlation``; at N = 40 also the resolvent ``power_spectrum``), with the
   mean-field frequencies marked.

Data are cached next to the figures (docs/dynamics_*.json), one size at a time (an interrupted
run resumes); ``--recompute`` redoes them, ``--N`` picks the sizes of parts 1 and 3.

    python3 scripts/dynamics_figures.py [--parts 1 2 3] [--recompute] [--N 20 40 80 160]
"""

import argparse
import json
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "docs")
POINT = dict(J=3.0, Gamma=1.68, gamma=1.0)


def _save(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def _cached(name, recompute, fn, Ns=(), one=None):
    """The cached data of a part; ``one(N)`` adds each size of ``Ns`` missing from it (saved
    after each, so an interrupted run resumes)."""
    path = os.path.join(DOCS, f"dynamics_{name}.json")
    if os.path.exists(path) and not recompute:
        with open(path) as f:
            data = json.load(f)
    else:
        data = fn()
        _save(path, data)
    for N in Ns:
        if str(N) not in data["N"]:
            data["N"][str(N)] = one(N)
            _save(path, data)
    return data


def _meanfield_running(model, m0, ts):
    """b(|m̄_t|) − ⟨b(|m|)⟩_t along the mean-field trajectory (Eq. 16) from m0."""
    import scipy.integrate

    import permjax

    def f(t, y):
        return np.asarray(permjax.drift(y[:3], model))

    def rhs(t, y):
        m = y[:3]
        b = float(permjax.binary_entropy(np.linalg.norm(m)))
        return np.concatenate([f(t, y), m, [b]])

    sol = scipy.integrate.solve_ivp(rhs, (ts[0], ts[-1]), np.concatenate([m0, np.zeros(4)]), t_eval=ts,
                                    rtol=1e-10, atol=1e-12, method="DOP853")
    Y = sol.y.T
    t = np.where(ts > 0, ts, 1.0)
    mbar = Y[:, 3:6] / t[:, None]
    bbar = Y[:, 6] / t
    est = np.array([float(permjax.binary_entropy(np.linalg.norm(v))) for v in mbar]) - bbar
    est[ts == 0] = 0.0
    return Y[:, :3], est


def part1(recompute, Ns=(20, 40, 80, 160)):
    import permjax

    ts = np.linspace(0.0, 40.0, 161)

    def one(N):
        t0 = time.perf_counter()
        from permjax.timedomain.evolve import evolve_segments

        r = evolve_segments(N, permjax.LMG(h=0.5, **POINT), "down", ts)
        rec = {"mi": np.asarray(r.mi).tolist(), "m": np.asarray(r.m).tolist(),
               "seconds": time.perf_counter() - t0, "steps": int(r.num_steps)}
        print(f"  evolve N={N}: {rec['seconds']:.1f} s", flush=True)
        return rec

    def compute():
        out = {"t": ts.tolist(), "N": {}}
        model = permjax.LMG(h=0.5, **POINT)
        m_mf, est = _meanfield_running(model, np.array([0.0, 0.0, -1.0]), ts)
        th = permjax.mi_thermo(model)
        out.update(mf_running=est.tolist(), mf_m=m_mf.tolist(), mi_thermo=float(th.mi), period=float(th.period))
        return out

    d = _cached("mi", recompute, compute, Ns, one)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    t = np.array(d["t"])
    Ns = [N for N in Ns if str(N) in d["N"]]
    for N in Ns:
        ax[0].plot(t, d["N"][str(N)]["mi"], label=f"N = {N}")
        ax[1].plot(t, np.array(d["N"][str(N)]["m"])[:, 2], label=f"N = {N}")
    ax[0].plot(t, d["mf_running"], "k--", label="mean field: b(|m̄_t|) − ⟨b(|m|)⟩_t")
    ax[0].axhline(d["mi_thermo"], color="k", lw=0.8, ls=":", label=f"mi_thermo = {d['mi_thermo']:.4f}")
    ax[1].plot(t, np.array(d["mf_m"])[:, 2], "k--", label="mean field")
    ax[0].set(xlabel="γt", ylabel="I_M/N", title="I_M/N(t) from all-down, J=3, h=0.5, Γ=1.68")
    ax[1].set(xlabel="γt", ylabel="⟨m_z⟩")
    ax[0].legend(fontsize=7)
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "dynamics_mi.png"), dpi=130)
    plt.close(fig)
    for N in Ns:
        mi = np.array(d["N"][str(N)]["mi"])
        print(f"  N={N}: I_M/N(t=40) = {mi[-1]:.5f}, max = {mi.max():.5f} at t = {t[np.argmax(mi)]:.2f}")
    print(f"  mean-field running estimate at t=40: {d['mf_running'][-1]:.5f}; mi_thermo = {d['mi_thermo']:.5f}")
    return d


def _cycle_mode(lam, omega):
    """The mode that becomes the limit cycle: among the eigenvalues with Im λ ≥ ω_MF/2, the one of
    largest real part."""
    lam = np.asarray(lam)
    osc = lam[np.imag(lam) >= 0.5 * omega]
    return osc[np.argmax(osc.real)] if osc.size else np.nan


def part2(recompute):
    import permjax

    # h = 0: the preconditioner is exact, one application per inner solve (N = 160 in ~1 min on
    # 2 cores); h = 0.5: tens of GMRES iterations per inner solve, so N stops at 60 on the CPU
    sizes = {0.0: [10, 20, 30, 40, 60, 80, 120, 160], 0.5: [10, 20, 30, 40, 60]}
    path = os.path.join(DOCS, "dynamics_spectrum.json")
    old = {}
    if os.path.exists(path) and not recompute:
        with open(path) as f:
            old = json.load(f)

    def compute():
        out = {}
        for h, Ns in sizes.items():
            model = permjax.LMG(h=h, **POINT)
            th = permjax.mi_thermo(model)
            have = {r["N"]: r for r in old.get(str(h), {}).get("rows", [])}
            rows = []
            for N in Ns:
                if N in have:
                    rows.append(have[N])
                    continue
                # from N = 120 slow modes crowd the 10 eigenvalues nearest 0: look near iω_MF
                shift = 1j * 2 * np.pi / float(th.period) if N >= 120 else 0.0
                r = permjax.spectrum(N, model, k=10, shift=shift)
                rows.append({"N": N, "shift": [float(np.real(shift)), float(np.imag(shift))],
                             "eigenvalues": [[z.real, z.imag] for z in r.eigenvalues],
                             "residual": float(np.max(r.residuals)), "seconds": r.seconds,
                             "inner_solves": int(len(r.inner_iterations))})
                print(f"  spectrum h={h} N={N}: {r.seconds:.1f} s, max residual {np.max(r.residuals):.1e}", flush=True)
            out[str(h)] = {"rows": rows, "period": float(th.period), "omega": 2 * np.pi / float(th.period)}
        return out

    d = _cached("spectrum", True, compute)  # rows already computed are kept (above)
    from scipy.optimize import curve_fit

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    fits = {}
    for h, marker in (("0.0", "o"), ("0.5", "s")):
        rows, omega = d[h]["rows"], d[h]["omega"]
        Ns = np.array([r["N"] for r in rows], float)
        slow = np.array([_cycle_mode([complex(*z) for z in r["eigenvalues"]], omega) for r in rows])
        for r in rows:
            lam = np.array([complex(*z) for z in r["eigenvalues"]])
            ax[0].scatter(lam.real, lam.imag, s=12, marker=marker, alpha=0.6,
                          label=f"h={h}, N={r['N']}" if h == "0.5" or r["N"] in (10, 160) else None)
        rate = -slow.real
        sel = Ns >= 20
        alpha, loga = np.polyfit(np.log(Ns[sel]), np.log(rate[sel]), 1)
        ax[1].loglog(Ns, rate, marker, label=f"h={h}: −Re λ ∝ N^{alpha:.2f}")
        ax[1].loglog(Ns, np.exp(loga) * Ns**alpha, "k:", lw=0.8)
        beta, logb = np.polyfit(np.log(Ns[sel]), np.log(omega - slow.imag[sel]), 1)
        fit = {"decay_exponent": float(alpha), "decay_prefactor": float(np.exp(loga)), "omega_mf": omega,
               "frequency_deficit_exponent": float(beta), "N": Ns.tolist(), "cycle_mode": [[z.real, z.imag] for z in slow]}
        ax[2].plot(Ns, slow.imag, marker, label=f"h={h}: Im λ of the cycle mode")
        ax[2].axhline(omega, ls="--", lw=0.8, color="C0" if h == "0.0" else "C1", label=f"h={h}: 2π/T_MF = {omega:.3f}")
        if len(Ns) >= 4:
            try:
                p, _ = curve_fit(lambda n, w, c, b: w + c * n ** (-b), Ns[sel], slow.imag[sel], p0=(omega, -10.0, 1.0),
                                 bounds=([0.0, -1e3, 0.05], [5.0, 1e3, 3.0]), maxfev=20000)
                fit.update(omega_inf=float(p[0]), omega_coeff=float(p[1]), omega_exponent=float(p[2]))
                nn = np.linspace(Ns.min(), 400, 200)
                ax[2].plot(nn, p[0] + p[1] * nn ** (-p[2]), "k:", lw=0.8)
            except (RuntimeError, ValueError):
                fit.update(omega_inf=None)
        fits[h] = fit
    ax[0].set(xlabel="Re λ / γ", ylabel="Im λ / γ", title="10 eigenvalues nearest 0")
    ax[0].legend(fontsize=6)
    ax[1].set(xlabel="N", ylabel="−Re λ of the cycle mode", title="closing gap (fit: N ≥ 20)")
    ax[1].legend(fontsize=7)
    ax[2].set(xlabel="N", ylabel="Im λ / γ", title="frequency vs mean-field cycle")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "dynamics_spectrum.png"), dpi=130)
    plt.close(fig)
    with open(os.path.join(DOCS, "dynamics_spectrum_fits.json"), "w") as f:
        json.dump(fits, f, indent=1)
    for h, fit in fits.items():
        print(f"  h={h}: cycle mode λ(N) = {[f'{a:.4f}{b:+.4f}i' for a, b in fit['cycle_mode']]} at N = {fit['N']}")
        print(f"    −Re λ ∝ N^{fit['decay_exponent']:.3f};  ω_MF − Im λ ∝ N^{fit['frequency_deficit_exponent']:.3f} "
              f"(ω_MF = 2π/T_MF = {fit['omega_mf']:.4f});  free fit ω(N) = ω∞ + c N^(−b): ω∞ = "
              f"{fit.get('omega_inf')}, b = {fit.get('omega_exponent')}")
    return d, fits


def part3(recompute, Ns=(40, 80, 160)):
    import permjax
    from permjax.timedomain.correlations import spectrum_from_correlation

    taus = np.linspace(0.0, 50.0, 2001)
    omegas = np.linspace(-6.0, 6.0, 601)
    model = permjax.LMG(h=0.5, **POINT)

    def one(N):
        t0 = time.perf_counter()
        g = permjax.correlation(N, model, "J+", "J-", taus)
        S = spectrum_from_correlation(taus, g.g, g.g_inf, omegas)
        rec = {"S": S.tolist(), "g_abs_end": float(abs(complex(g.g[-1]) - complex(g.g_inf))),
               "g0": float(np.real(g.g[0])), "seconds": time.perf_counter() - t0}
        if N == 40:
            w_check = np.linspace(-4.0, 4.0, 33)
            rec["resolvent_omega"] = w_check.tolist()
            rec["resolvent_S"] = permjax.power_spectrum(N, model, "J+", w_check).S.tolist()
        print(f"  S(ω) N={N}: {rec['seconds']:.1f} s, |g(τmax) − g∞| = {rec['g_abs_end']:.1e}", flush=True)
        return rec

    def compute():
        th = permjax.mi_thermo(model)
        return {"omega": omegas.tolist(), "N": {}, "omega_mf": 2 * np.pi / float(th.period)}

    d = _cached("emission", recompute, compute, Ns, one)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    w = np.array(d["omega"])
    Ns = [N for N in Ns if str(N) in d["N"]]
    for N in Ns:
        rec = d["N"][str(N)]
        S = np.array(rec["S"]) / N**2
        ax.plot(w, S, label=f"N = {N}")
        peaks = w[1:-1][(S[1:-1] > S[:-2]) & (S[1:-1] > S[2:]) & (S[1:-1] > 0.05 * S.max())]
        print(f"  N={N}: peaks of S(ω) at ω = {np.round(peaks, 3)}")
        if "resolvent_S" in rec:
            ax.plot(rec["resolvent_omega"], np.array(rec["resolvent_S"]) / N**2, "k.", ms=4, label=f"N = {N}, resolvent")
            i = np.searchsorted(w, rec["resolvent_omega"])
            print(f"  N={N}: max |S_time − S_resolvent| / max S = "
                  f"{np.max(np.abs(np.interp(rec['resolvent_omega'], w, np.array(rec['S'])) - rec['resolvent_S'])) / np.max(rec['S']):.1e}")
            del i
    for k in (-2, -1, 1, 2):
        ax.axvline(k * d["omega_mf"], color="k", ls=":", lw=0.8)
    ax.set(xlabel="ω / γ", ylabel="S(ω) / N²", title="⟨J₊(τ)J₋(0)⟩ spectrum, J=3, h=0.5, Γ=1.68 (dotted: k·2π/T_MF)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "dynamics_emission.png"), dpi=130)
    plt.close(fig)
    print(f"  mean-field ω = {d['omega_mf']:.4f}")
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--N", type=int, nargs="+", help="sizes of parts 1 and 3 (default: 20…160 and 40…160)")
    a = ap.parse_args()
    for p in a.parts:
        print(f"part {p}", flush=True)
        if p == 2:
            part2(a.recompute)
        else:
            {1: part1, 3: part3}[p](a.recompute, **({"Ns": tuple(a.N)} if a.N else {}))


if __name__ == "__main__":
    main()
