"""Finite-N steady state (docs/theory.md §4): permjax's matrix-free CGLS against QuTiP piqs.

Model: 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1 (h ≠ 0: the full-block solve).
Baseline, same machine, same run: piqs builds its Dicke-basis Liouvillian, restricted to the
block-diagonal entries with the trace row (tests/piqs_reference.py), solved by scipy's sparse
direct solver (SuperLU).

Every (method, N) runs in a fresh process (``common.fresh_process``) so that its peak memory
(VmHWM) is its own; ``rss_start`` is the peak resident size after imports, before the work.
permjax times: ``first`` is compile + solve, ``solve`` the median of warm repeats. Prints a table, writes
benchmarks/results/finite.json.

    python3 benchmarks/finite.py [N ...]      (default 20 40 60 80)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MODEL = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)
TIMEOUT_S = 300


def _permjax(N):
    import permjax

    model = permjax.LMG(**MODEL)
    rss0 = common.peak_memory_mb()
    t = common.first_and_warm(lambda: permjax.steady_state(N, model), repeats=2)
    st = t.value
    d = st.diagnostics.as_dict()
    return dict(mi=float(permjax.mutual_information(st)) / N, first_s=t.first_s, solve_s=t.warm_s,
                iterations=d["iterations"], residual=d["residual"], rss_start_mb=rss0, peak_mb=common.peak_memory_mb())


def _piqs(N):
    sys.path.insert(0, common.TESTS)
    import piqs_reference as pr

    rss0 = common.peak_memory_mb()
    build = common.first_and_warm(lambda: pr.block_diagonal_system(N, *MODEL.values()), repeats=0)
    A, rhs, idx, nds, spins = build.value
    solve = common.first_and_warm(lambda: pr.solve(A, rhs, idx, nds), repeats=0)
    mi, _ = pr.mi_per_N(N, solve.value, nds, spins)
    return dict(mi=mi, build_s=build.first_s, solve_s=solve.first_s, total_s=build.first_s + solve.first_s,
                unknowns=len(idx), rss_start_mb=rss0, peak_mb=common.peak_memory_mb())


def main(Ns):
    rows = []
    for N in Ns:
        pj = common.fresh_process(_permjax, N, timeout=TIMEOUT_S)
        pq = common.fresh_process(_piqs, N, timeout=TIMEOUT_S)
        row = dict(N=N, permjax=pj, piqs=pq)
        if "error" not in pj and "error" not in pq:
            row["mi_difference"] = abs(pj["mi"] - pq["mi"])
            row["piqs_total_over_permjax_solve"] = pq["total_s"] / pj["solve_s"]
            row["piqs_total_over_permjax_first"] = pq["total_s"] / pj["first_s"]
        rows.append(row)
        print(f"N={N} done", file=sys.stderr, flush=True)

    print(f"finite-N steady state, LMG {MODEL}")
    common.report("finite", rows, [
        ("N", "N"), ("permjax iters", "permjax.iterations"), ("solve s", "permjax.solve_s", ".2f"),
        ("1st call s", "permjax.first_s", ".2f"), ("peak MB", "permjax.peak_mb", ".0f"),
        ("piqs build s", "piqs.build_s", ".2f"), ("piqs solve s", "piqs.solve_s", ".2f"),
        ("piqs peak MB", "piqs.peak_mb", ".0f"), ("piqs/pj", "piqs_total_over_permjax_solve", ".2f"),
        ("abs dI/N", "mi_difference", ".1e"), common.errors("permjax", "piqs")], dict(model=MODEL, rows=rows))
    print("piqs/pj: piqs build+solve seconds over permjax warm solve seconds (>1: permjax faster)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20, 40, 60, 80])
