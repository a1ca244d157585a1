"""The symmetric block (J = N/2) of models without local jumps, to N in the thousands.

A model without local jumps conserves every J-block; ``steady_state(N, model, block="symmetric")``
solves J = N/2 alone: (N+1)² unknowns on a 2-D stencil, by default the sparse LU of
``direct.py`` (``method="auto"`` picks ``Direct`` for this block). Models: the boundary time
crystal H = ω Ĵ_x, (κ/N) D[Ĵ₋], κ = 1, below its mean-field transition (ω = 0.3, near a
spin-coherent state) and above it (ω = 2, the time-crystal phase).

Each (model, N, method) runs in a fresh process (``finite.run_isolated``): wall time of the solve
(first call: assembly, factorisation, two refinement steps), peak resident memory, residual,
⟨m_z⟩, I_M/N, and the memory estimate ``permjax.solvers.memory`` refuses on.
Baseline, same run: GMRES on the same block (``method="gmres"``: the q-conserving preconditioner,
quantization axis chosen as for every block), where it finishes within ``GMRES_TIMEOUT_S``;
|ΔI_M/N| between the two. Prints a table and writes benchmarks/results/symmetric.json.

    python3 benchmarks/symmetric.py [N ...]      (default 250 500 1000 1500)
"""

import functools
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from finite import run_isolated  # noqa: E402

DIRECT_TIMEOUT_S = 900
GMRES_TIMEOUT_S = 300
GMRES_MAX_N = 500
OMEGAS = {"below (ω = 0.3)": 0.3, "above (ω = 2)": 2.0}


def _solve(omega, method, N, q):
    import resource

    import jax
    import numpy as np

    import permjax
    from permjax.solvers import as_solver
    from permjax.dicke.state import magnetization
    from permjax.solvers import memory as steady_state_memory

    model = permjax.BTC(kappa=1.0, omega=omega, gamma_phi=0.0, gamma_down=0.0)
    solver = as_solver(method)
    solver = solver.select(N, model, "symmetric") if method == "auto" else solver  # what steady_state runs
    t0 = time.perf_counter()
    st = permjax.steady_state(N, model, method=method, block="symmetric", on_failure="warn")
    jax.block_until_ready(st.blocks)
    seconds = time.perf_counter() - t0
    d = st.diagnostics.as_dict()
    q.put(dict(seconds=seconds, peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
               residual=float(d["residual"]), converged=bool(d["converged"]), iterations=int(d["iterations"]),
               mz=float(np.asarray(magnetization(st))[2]), mi=float(permjax.mutual_information(st)) / N,
               estimate_gb=steady_state_memory(N, solver.name, block="symmetric").total / 1e9))


def main(Ns):
    rows = []
    for label, omega in OMEGAS.items():
        for N in Ns:
            direct = run_isolated(functools.partial(_solve, omega, "auto"), N, timeout=DIRECT_TIMEOUT_S)
            gmres = (run_isolated(functools.partial(_solve, omega, "gmres"), N, timeout=GMRES_TIMEOUT_S)
                     if N <= GMRES_MAX_N else {"error": "not run"})
            row = dict(model=label, omega=omega, N=N, direct=direct, gmres=gmres)
            if "error" not in direct and "error" not in gmres:
                row["mi_difference"] = abs(direct["mi"] - gmres["mi"])
                row["gmres_over_direct"] = gmres["seconds"] / direct["seconds"]
            rows.append(row)
            print(f"{label} N={N} done", file=sys.stderr, flush=True)

    print("symmetric block, boundary time crystal κ = 1 without local jumps (fresh process per entry)")
    print(f"{'model':>16} {'N':>5} | {'direct s':>8} {'peak GB':>7} {'est. GB':>7} {'residual':>8} {'<m_z>':>8} "
          f"{'I_M/N':>9} | {'GMRES s':>8} {'iters':>6} {'ratio':>6} {'|dI/N|':>8}")
    for r in rows:
        d, g = r["direct"], r["gmres"]
        left = (f"{d['seconds']:>8.1f} {d['peak_gb']:>7.2f} {d['estimate_gb']:>7.2f} {d['residual']:>8.1e} "
                f"{d['mz']:>8.4f} {d['mi']:>9.6f}" if "error" not in d else f"{d['error']:>52}")
        right = (f"{g['seconds']:>8.1f} {g['iterations']:>6} {r['gmres_over_direct']:>6.2f} {r['mi_difference']:>8.1e}"
                 if "mi_difference" in r else f"{g.get('error', '-'):>31}")
        print(f"{r['model']:>16} {r['N']:>5} | {left} | {right}")
    print("ratio: GMRES seconds over direct seconds (>1: the sparse LU is faster)")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "symmetric.json"), "w") as f:
        json.dump({"machine": os.uname().nodename, "cpus": os.cpu_count(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [250, 500, 1000, 1500])
