"""The two preconditioners of the full-block steady state: q-conserving (``method="gmres"``) and
J-conserving (``method="jblock"``), on the same models and N.

``GMRES`` inverts the q-conserving part of L exactly (JAX, jitted: every J-changing local jump,
none of the q-changing Hamiltonian); ``JBlock`` inverts the J-conserving part (host SuperLU per
J-block: the whole Hamiltonian and the collective jumps, none of the J-changing local jumps).
Models: LMG at the paper's point (𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1), the general-model zoo of
``benchmarks/general.py`` (BTC with dephasing, XYZ with a field), and the all-to-all XYZ family
(γ = 0.2) at J_y = −3, −0.75, 3, where the anisotropic Hamiltonian dominates the weak decay.

Each (model, N, method) runs in a fresh process (``common.fresh_process``): the first call
(compile, assembly and factorisation included), a second, warm call, iterations, residual, peak
resident memory above the process before the solve against ``steady_state_memory``, I_M/N; where both
converged, |ΔI_M/N| between the methods and the time ratio gmres/jblock of each call. Prints a table and writes benchmarks/results/jblock.json.

    python3 benchmarks/jblock.py [N ...]      (default 40 80)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT_S = 600
MODELS = ["lmg", "btc", "xyz", "XYZ Jy=-3", "XYZ Jy=-0.75", "XYZ Jy=3"]


def model(name):
    if name.startswith("XYZ"):
        from permjax.models.zoo import XYZ

        return XYZ(Jy=float(name.split("=")[1]))
    from general import build

    return build(name)


def _solve(name, method, N):
    import permjax
    from permjax.solvers import memory as steady_state_memory

    m = model(name)
    with common.memory_added(reset=False) as mem:  # how far the solves raise the process's peak
        t = common.first_and_warm(lambda: permjax.steady_state(N, m, method=method, on_failure="warn"), repeats=1)
    st = t.value
    d = st.diagnostics.as_dict()
    return dict(first_s=t.first_s, warm_s=t.warm_s, iterations=int(d["iterations"]), residual=float(d["residual"]),
                converged=bool(d["converged"]), mi=float(permjax.mutual_information(st)) / N,
                peak_gb=mem.kb / 1e6, base_gb=mem.base_kb / 1e6,
                estimate_gb=steady_state_memory(N, method).total / 1e9)


def main(Ns):
    rows = []
    for N in Ns:
        for name in MODELS:
            row = dict(model=name, N=N)
            for method in ("gmres", "jblock"):
                row[method] = common.fresh_process(_solve, name, method, N, timeout=TIMEOUT_S)
            g, j = row["gmres"], row["jblock"]
            if "error" not in g and "error" not in j and g["converged"] and j["converged"]:
                row["mi_difference"] = abs(g["mi"] - j["mi"])
                row["first_ratio"] = g["first_s"] / j["first_s"]
                row["warm_ratio"] = g["warm_s"] / j["warm_s"]
            rows.append(row)
            print(f"{name} N={N} done", file=sys.stderr, flush=True)

    def iterations(key):
        return lambda r: f"{r[key]['iterations']}{'' if r[key]['converged'] else '*'}"

    print("full-block steady state: q-conserving (gmres) vs J-conserving (jblock) preconditioner, fresh process each")
    common.report("jblock", rows, [
        ("model", "model"), ("N", "N"), ("gmres it", iterations("gmres")), ("first s", "gmres.first_s", ".1f"),
        ("warm s", "gmres.warm_s", ".1f"), ("jblock it", iterations("jblock")), ("first s", "jblock.first_s", ".1f"),
        ("warm s", "jblock.warm_s", ".1f"), ("peak GB", "jblock.peak_gb", ".2f"),
        ("est. GB", "jblock.estimate_gb", ".2f"), ("first ×", "first_ratio", ".2f"), ("warm ×", "warm_ratio", ".2f"),
        ("|dI/N|", "mi_difference", ".1e"), common.errors("gmres", "jblock")],
        {"cpus": os.cpu_count(), "rows": rows})
    print("first ×, warm ×: gmres seconds over jblock seconds (>1: jblock is faster); *: not converged (stalled, "
          "flagged); peak GB: jblock's peak resident memory above the process before the solve")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 80])
