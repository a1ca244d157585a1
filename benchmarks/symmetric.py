"""The symmetric block (J = N/2) of models without local jumps, to N in the thousands.

A model without local jumps conserves every J-block; ``steady_state(N, model, block="symmetric")``
solves J = N/2 alone: (N+1)² unknowns on a 2-D stencil, by default the sparse LU of
``direct.py`` (``method="auto"`` picks ``Direct`` for this block). Models: the boundary time
crystal H = ω Ĵ_x, (κ/N) D[Ĵ₋], κ = 1, below its mean-field transition (ω = 0.3, near a
spin-coherent state) and above it (ω = 2, the time-crystal phase).

Each (model, N, method) runs in a fresh process (``common.fresh_process``): wall time of the solve
(first call: assembly, factorisation, two refinement steps), peak resident memory, residual,
⟨m_z⟩, I_M/N, and the memory estimate ``permjax.solvers.memory`` refuses on.
Baseline, same run: GMRES on the same block (``method="gmres"``: the q-conserving preconditioner,
quantization axis chosen as for every block), where it finishes within ``GMRES_TIMEOUT_S``;
|ΔI_M/N| between the two. Prints a table and writes benchmarks/results/symmetric.json.

    python3 benchmarks/symmetric.py [N ...]      (default 250 500 1000 1500)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DIRECT_TIMEOUT_S = 900
GMRES_TIMEOUT_S = 300
GMRES_MAX_N = 500
OMEGAS = {"below (ω = 0.3)": 0.3, "above (ω = 2)": 2.0}


def _solve(omega, method, N):
    import numpy as np

    import permjax
    from permjax.dicke.state import magnetization
    from permjax.solvers import as_solver
    from permjax.solvers import memory as steady_state_memory

    model = permjax.BTC(kappa=1.0, omega=omega, gamma_phi=0.0, gamma_down=0.0)
    solver = as_solver(method)
    solver = solver.select(N, model, "symmetric") if method == "auto" else solver  # what steady_state runs
    t = common.first_and_warm(lambda: permjax.steady_state(N, model, method=method, block="symmetric",
                                                           on_failure="warn"), repeats=0)
    st = t.value
    d = st.diagnostics.as_dict()
    return dict(seconds=t.first_s, peak_gb=common.peak_memory_mb() * 1024 / 1e6,  # kB / 1e6, as recorded before
                residual=float(d["residual"]), converged=bool(d["converged"]), iterations=int(d["iterations"]),
                mz=float(np.asarray(magnetization(st))[2]), mi=float(permjax.mutual_information(st)) / N,
                estimate_gb=steady_state_memory(N, solver.name, block="symmetric").total / 1e9)


def main(Ns):
    rows = []
    for label, omega in OMEGAS.items():
        for N in Ns:
            direct = common.fresh_process(_solve, omega, "auto", N, timeout=DIRECT_TIMEOUT_S)
            gmres = (common.fresh_process(_solve, omega, "gmres", N, timeout=GMRES_TIMEOUT_S)
                     if N <= GMRES_MAX_N else {"error": "not run"})
            row = dict(model=label, omega=omega, N=N, direct=direct, gmres=gmres)
            if "error" not in direct and "error" not in gmres:
                row["mi_difference"] = abs(direct["mi"] - gmres["mi"])
                row["gmres_over_direct"] = gmres["seconds"] / direct["seconds"]
            rows.append(row)
            print(f"{label} N={N} done", file=sys.stderr, flush=True)

    print("symmetric block, boundary time crystal κ = 1 without local jumps (fresh process per entry)")
    common.report("symmetric", rows, [
        ("model", "model"), ("N", "N"), ("direct s", "direct.seconds", ".1f"), ("peak GB", "direct.peak_gb", ".2f"),
        ("est. GB", "direct.estimate_gb", ".2f"), ("residual", "direct.residual", ".1e"), ("<m_z>", "direct.mz", ".4f"),
        ("I_M/N", "direct.mi", ".6f"), ("GMRES s", "gmres.seconds", ".1f"), ("iters", "gmres.iterations"),
        ("ratio", "gmres_over_direct", ".2f"), ("|dI/N|", "mi_difference", ".1e"), common.errors("direct", "gmres")],
        {"cpus": os.cpu_count(), "rows": rows})
    print("ratio: GMRES seconds over direct seconds (>1: the sparse LU is faster)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [250, 500, 1000, 1500])
