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

Each (model, N) runs in a fresh process (``finite.run_isolated``): ``first`` = compile + solve,
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

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite import run_isolated  # noqa: E402

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


def _run(arg, out):
    name, N = arg
    import jax
    import numpy as np

    import permjax

    model = build(name)
    t0 = time.perf_counter()
    st = permjax.steady_state(N, model, method="gmres")
    jax.block_until_ready(st.blocks)
    first = time.perf_counter() - t0
    ts = []
    for _ in range(2):
        t0 = time.perf_counter()
        st = permjax.steady_state(N, model, method="gmres")
        jax.block_until_ready(st.blocks)
        ts.append(time.perf_counter() - t0)
    d = st.diagnostics.as_dict()
    from permjax.solvers.axis import choose_axis

    axis = choose_axis(model)
    out.put(dict(model=name, N=N, mi=float(permjax.mutual_information(st)) / N, first_s=first,
                 solve_s=float(np.median(ts)), iterations=d["iterations"], residual=d["residual"],
                 axis="z" if axis is None else [round(float(a), 6) for a in axis]))


def _piqs(arg, out):
    name, N = arg
    try:
        import qutip  # noqa: F401
        from qutip import piqs  # noqa: F401
    except ImportError:
        out.put({"error": "qutip not installed"})
        return
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import piqs_reference as pr

    from permjax.interop import to_piqs

    t0 = time.perf_counter()
    A, rhs, idx, nds, spins = pr.dicke_system(to_piqs(build(name), N))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rho = pr.solve(A, rhs, idx, nds)
    solve_s = time.perf_counter() - t0
    mi, _ = pr.mi_per_N(N, rho, nds, spins)
    out.put(dict(mi=mi, build_s=build_s, solve_s=solve_s, total_s=build_s + solve_s))


def main(Ns):
    rows = []
    for N in Ns:
        for name in MODELS:
            r = run_isolated(_run, (name, N), timeout=TIMEOUT_S)
            r.setdefault("model", name)
            r.setdefault("N", N)
            r["piqs"] = (run_isolated(_piqs, (name, N), timeout=TIMEOUT_S) if N <= PIQS_MAX_N
                         else {"error": f"piqs run at N <= {PIQS_MAX_N} only"})
            if "mi" in r and "mi" in r["piqs"]:
                r["mi_difference_piqs"] = abs(r["mi"] - r["piqs"]["mi"])
            rows.append(r)
            print(r, flush=True)
    lmg = {r["N"]: r for r in rows if r["model"] == "lmg" and "iterations" in r}
    print(f"\n{'model':8} {'N':>4} {'axis':>10} {'iters':>6} {'×LMG':>6} {'first s':>8} {'solve s':>8} {'×LMG':>6} {'I_M/N':>10} "
          f"{'resid':>9} {'piqs total s':>12} {'|ΔI_M/N|':>9}")
    for r in rows:
        if "iterations" not in r:
            print(f"{r['model']:8} {r['N']:4}  {r.get('error', 'failed')}")
            continue
        base = lmg.get(r["N"])
        ri = r["iterations"] / base["iterations"] if base else float("nan")
        rt = r["solve_s"] / base["solve_s"] if base else float("nan")
        r["iterations_vs_lmg"], r["solve_vs_lmg"] = ri, rt
        pq = r["piqs"]
        piqs_cols = (f"{pq['total_s']:12.2f} {r['mi_difference_piqs']:9.1e}" if "mi_difference_piqs" in r
                     else f"{'-':>12} {'-':>9}")
        ax = r["axis"] if r["axis"] == "z" else f"({r['axis'][0]:.2f},{r['axis'][1]:.2f})"
        print(f"{r['model']:8} {r['N']:4} {ax:>10} {r['iterations']:6} {ri:6.2f} {r['first_s']:8.2f} {r['solve_s']:8.2f} "
              f"{rt:6.2f} {r['mi']:10.6f} {r['residual']:9.1e} {piqs_cols}")
        if "error" in pq:
            print(f"         piqs: {pq['error']}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "general.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 80])
