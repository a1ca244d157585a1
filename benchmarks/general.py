"""Finite N for qubit models beyond LMG: GMRES iterations and warm solve time vs LMG at the same N.

Models (``MODELS``; the zoo's families where they exist, defined here otherwise):

* ``lmg``: the baseline, 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1 (``permjax.LMG``).
* ``btc``: a boundary time crystal with local noise, H = ω Ĵ_x, (κ/N) D[Ĵ₋], local dephasing
  γ_φ D[σ_z] and local decay γ D[σ₋]: ω = 1, κ = 1, γ_φ = 0.2, γ = 0.2.
* ``btc_weak``: the same with a weak drive ω = 0.3 (below the mean-field transition ω = κ/2,
  a stationary phase), to separate the model class from the time-crystal phase, whose slowly
  decaying oscillations put eigenvalues of L close to the imaginary axis.
* ``xyz``: an anisotropic collective XYZ model with local decay, H = (1/N)(J_x Ĵ_x² + J_y Ĵ_y² +
  J_z Ĵ_z²) + h Ĵ_x with (J_x, J_y, J_z) = (1, 0.5, −0.3) (as (σ/2, σ/2) two-body terms), h = 0.4,
  local decay γ = 1 D[σ₋].

Each (model, N) runs in a fresh process (``common.fresh_process``): ``first`` = compile + solve,
``solve`` = median of two warm solves, GMRES iterations, residual, I_M/N, and the quantization
axis (θ, φ) the solve ran in (``permjax.dicke.frame.choose_axis``). Baseline, same machine,
same run, for every model inside piqs's scope (local σ₋/σ₊/σ_z, collective J₋/J₊/J_z, any H;
all four here): QuTiP piqs's Liouvillian of ``permjax.interop.to_piqs(model)`` on the
block-diagonal entries with the trace row, solved by SuperLU (tests/piqs_reference.py, as in
finite.py): ``piqs total s`` (build + solve) and |ΔI_M/N| between the two (piqs's rates are
single precision: ~1e-8), at N ≤ 40. Without QuTiP those columns read "-". Prints a table and writes
benchmarks/results/general.json.

    python3 benchmarks/general.py [N ...]      (default 40 80)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT_S = 400
#: piqs's pipeline beyond this N takes minutes (274 s for LMG at N = 80): not run
PIQS_MAX_N = 40


def build(name):
    import numpy as np

    import permjax
    from permjax.models.operators import sigma_minus, sigma_x, sigma_y, sigma_z

    if name == "lmg":
        return permjax.LMG(3.0, 0.5, 1.68, 1.0)
    if name in ("btc", "btc_weak"):
        omega = 1.0 if name == "btc" else 0.3
        return permjax.PIModel(2, hamiltonian=[(omega, sigma_x / 2)], collective=[(1.0, sigma_minus)],
                               local=[(0.2, sigma_z), (0.2, sigma_minus)])
    if name == "xyz":
        return permjax.PIModel(2, hamiltonian=[(1.0, sigma_x / 2, sigma_x / 2), (0.5, sigma_y / 2, sigma_y / 2),
                                               (-0.3, sigma_z / 2, sigma_z / 2), (0.4, sigma_x / 2)],
                               local=[(1.0, sigma_minus)])
    raise ValueError(name)


MODELS = ("lmg", "btc", "btc_weak", "xyz")


def _run(name, N):
    import permjax
    from permjax.solvers.axis import choose_axis

    model = build(name)
    t = common.first_and_warm(lambda: permjax.steady_state(N, model, method="gmres"), repeats=2)
    st = t.value
    d = st.diagnostics.as_dict()
    axis = choose_axis(model)
    return dict(model=name, N=N, mi=float(permjax.mutual_information(st)) / N, first_s=t.first_s,
                solve_s=t.warm_s, iterations=d["iterations"], residual=d["residual"],
                axis="z" if axis is None else [round(float(a), 6) for a in axis])


def _piqs(name, N):
    try:
        import qutip  # noqa: F401
        from qutip import piqs  # noqa: F401
    except ImportError:
        return {"error": "qutip not installed"}
    sys.path.insert(0, common.TESTS)
    import piqs_reference as pr

    from permjax.interop import to_piqs

    build_t = common.first_and_warm(lambda: pr.dicke_system(to_piqs(build(name), N)), repeats=0)
    A, rhs, idx, nds, spins = build_t.value
    solve_t = common.first_and_warm(lambda: pr.solve(A, rhs, idx, nds), repeats=0)
    mi, _ = pr.mi_per_N(N, solve_t.value, nds, spins)
    return dict(mi=mi, build_s=build_t.first_s, solve_s=solve_t.first_s, total_s=build_t.first_s + solve_t.first_s)


def main(Ns):
    rows = []
    for N in Ns:
        for name in MODELS:
            r = common.fresh_process(_run, name, N, timeout=TIMEOUT_S)
            r.setdefault("model", name)
            r.setdefault("N", N)
            r["piqs"] = (common.fresh_process(_piqs, name, N, timeout=TIMEOUT_S) if N <= PIQS_MAX_N
                         else {"error": f"piqs run at N <= {PIQS_MAX_N} only"})
            if "mi" in r and "mi" in r["piqs"]:
                r["mi_difference_piqs"] = abs(r["mi"] - r["piqs"]["mi"])
            rows.append(r)
            print(r, flush=True)
    lmg = {r["N"]: r for r in rows if r["model"] == "lmg" and "iterations" in r}
    for r in rows:
        base = lmg.get(r["N"])
        if "iterations" in r:
            r["iterations_vs_lmg"] = r["iterations"] / base["iterations"] if base else float("nan")
            r["solve_vs_lmg"] = r["solve_s"] / base["solve_s"] if base else float("nan")
    print()
    common.report("general", rows, [
        ("model", "model"), ("N", "N"),
        ("axis", lambda r: r["axis"] if r["axis"] == "z" else f"({r['axis'][0]:.2f},{r['axis'][1]:.2f})"),
        ("iters", "iterations"), ("×LMG", "iterations_vs_lmg", ".2f"), ("first s", "first_s", ".2f"),
        ("solve s", "solve_s", ".2f"), ("×LMG", "solve_vs_lmg", ".2f"), ("I_M/N", "mi", ".6f"),
        ("resid", "residual", ".1e"), ("piqs total s", "piqs.total_s", ".2f"),
        ("|ΔI_M/N|", "mi_difference_piqs", ".1e"), common.errors(), common.errors("piqs", header="piqs")], rows)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 80])
