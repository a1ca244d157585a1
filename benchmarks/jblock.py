"""The two preconditioners of the full-block steady state: q-conserving (``method="gmres"``) and
J-conserving (``method="jblock"``), on the same models and N.

``GMRES`` inverts the q-conserving part of L exactly (JAX, jitted: every J-changing local jump,
none of the q-changing Hamiltonian); ``JBlock`` inverts the J-conserving part (host SuperLU per
J-block: the whole Hamiltonian and the collective jumps, none of the J-changing local jumps).
Models: LMG at the paper's point (𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1), the general-model zoo of
``benchmarks/general.py`` (BTC with dephasing, XYZ with a field), and the all-to-all XYZ family
(γ = 0.2) at J_y = −3, −0.75, 3, where the anisotropic Hamiltonian dominates the weak decay.

Each (model, N, method) runs in a fresh process (``finite.run_isolated``): the first call
(compile, assembly and factorisation included), a second, warm call, iterations, residual, peak
resident memory above the process before the solve against ``steady_state_memory``, I_M/N; where both
converged, |ΔI_M/N| between the methods and the time ratio gmres/jblock of each call. Prints a table and writes benchmarks/results/jblock.json.

    python3 benchmarks/jblock.py [N ...]      (default 40 80)
"""

import functools
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite import run_isolated  # noqa: E402

TIMEOUT_S = 600
MODELS = ["lmg", "btc", "xyz", "XYZ Jy=-3", "XYZ Jy=-0.75", "XYZ Jy=3"]


def model(name):
    if name.startswith("XYZ"):
        from permjax.models.zoo import XYZ

        return XYZ(Jy=float(name.split("=")[1]))
    from general import build

    return build(name)


def _solve(name, method, N, q):
    import resource

    import jax

    import permjax
    from permjax.solvers import memory as steady_state_memory

    m = model(name)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # the process before the solve
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        st = permjax.steady_state(N, m, method=method, on_failure="warn")
        jax.block_until_ready(st.blocks)
        times.append(time.perf_counter() - t0)
    d = st.diagnostics.as_dict()
    q.put(dict(first_s=times[0], warm_s=times[1], iterations=int(d["iterations"]), residual=float(d["residual"]),
               converged=bool(d["converged"]), mi=float(permjax.mutual_information(st)) / N,
               peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6 - base, base_gb=base,
               estimate_gb=steady_state_memory(N, method).total / 1e9))


def main(Ns):
    rows = []
    for N in Ns:
        for name in MODELS:
            row = dict(model=name, N=N)
            for method in ("gmres", "jblock"):
                row[method] = run_isolated(functools.partial(_solve, name, method), N, timeout=TIMEOUT_S)
            g, j = row["gmres"], row["jblock"]
            if "error" not in g and "error" not in j and g["converged"] and j["converged"]:
                row["mi_difference"] = abs(g["mi"] - j["mi"])
                row["first_ratio"] = g["first_s"] / j["first_s"]
                row["warm_ratio"] = g["warm_s"] / j["warm_s"]
            rows.append(row)
            print(f"{name} N={N} done", file=sys.stderr, flush=True)

    print("full-block steady state: q-conserving (gmres) vs J-conserving (jblock) preconditioner, fresh process each")
    print(f"{'model':>13} {'N':>4} | {'gmres it':>8} {'first s':>7} {'warm s':>7} | {'jblock it':>9} {'first s':>7} "
          f"{'warm s':>7} {'peak GB':>7} {'est. GB':>7} | {'first ×':>7} {'warm ×':>6} {'|dI/N|':>8}")
    for r in rows:
        g, j = r["gmres"], r["jblock"]
        flag = lambda x: "" if x["converged"] else "*"  # noqa: E731
        left = (f"{str(g['iterations']) + flag(g):>8} {g['first_s']:>7.1f} {g['warm_s']:>7.1f}" if "error" not in g
                else f"{g['error'][:24]:>24}")
        mid = (f"{str(j['iterations']) + flag(j):>9} {j['first_s']:>7.1f} {j['warm_s']:>7.1f} {j['peak_gb']:>7.2f} "
               f"{j['estimate_gb']:>7.2f}" if "error" not in j else f"{j['error'][:41]:>41}")
        right = (f"{r['first_ratio']:>7.2f} {r['warm_ratio']:>6.2f} {r['mi_difference']:>8.1e}" if "mi_difference" in r
                 else f"{'-':>23}")
        print(f"{r['model']:>13} {r['N']:>4} | {left} | {mid} | {right}")
    print("first ×, warm ×: gmres seconds over jblock seconds (>1: jblock is faster); *: not converged (stalled, "
          "flagged); peak GB: jblock's peak resident memory above the process before the solve")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "jblock.json"), "w") as f:
        json.dump({"machine": os.uname().nodename, "cpus": os.cpu_count(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 80])
