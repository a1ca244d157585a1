"""Finite-N steady state (docs/theory.md §4): permjax's matrix-free CGLS against QuTiP piqs.

Model: 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1 (h ≠ 0: the full-block solve).
Baseline, same machine, same run: piqs builds its Dicke-basis Liouvillian, restricted to the
block-diagonal entries with the trace row (tests/piqs_reference.py), solved by scipy's sparse
direct solver (SuperLU).

Every (method, N) runs in a fresh subprocess so that its peak memory (ru_maxrss) is its own;
``rss_start`` is the resident size after imports, before the work. permjax times: ``first`` is
compile + solve, ``solve`` the median of warm repeats. Prints a table, writes
benchmarks/results/finite.json.

    python3 benchmarks/finite.py [N ...]      (default 20 40 60 80)
"""

import json
import multiprocessing as mp
import os
import resource
import sys
import time

MODEL = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)
HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S = 300


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _permjax(N, out):
    import jax
    import numpy as np

    import permjax

    model = permjax.LMG(**MODEL)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    st = permjax.steady_state(N, model)
    jax.block_until_ready(st.blocks)
    first = time.perf_counter() - t0
    ts = []
    for _ in range(2):
        t0 = time.perf_counter()
        st = permjax.steady_state(N, model)
        jax.block_until_ready(st.blocks)
        ts.append(time.perf_counter() - t0)
    d = st.diagnostics.as_dict()
    out.put(dict(mi=float(permjax.mutual_information(st)) / N, first_s=first, solve_s=float(np.median(ts)),
                 iterations=d["iterations"], residual=d["residual"], rss_start_mb=rss0, peak_mb=_rss_mb()))


def _piqs(N, out):
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import piqs_reference as pr

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    A, rhs, idx, nds, spins = pr.block_diagonal_system(N, *MODEL.values())
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    rho = pr.solve(A, rhs, idx, nds)
    solve = time.perf_counter() - t0
    mi, _ = pr.mi_per_N(N, rho, nds, spins)
    out.put(dict(mi=mi, build_s=build, solve_s=solve, total_s=build + solve, unknowns=len(idx),
                 rss_start_mb=rss0, peak_mb=_rss_mb()))


def run_isolated(fn, N, timeout=TIMEOUT_S):
    """Run ``fn(N, queue)`` in a fresh process (own peak memory, own XLA state); its dict, or an error."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(N, q))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.kill()
        p.join()
        return {"error": f"timeout after {timeout} s"}
    return q.get() if not q.empty() else {"error": f"exit code {p.exitcode}"}


def main(Ns):
    rows = []
    for N in Ns:
        pj = run_isolated(_permjax, N)
        pq = run_isolated(_piqs, N)
        row = dict(N=N, permjax=pj, piqs=pq)
        if "error" not in pj and "error" not in pq:
            row["mi_difference"] = abs(pj["mi"] - pq["mi"])
            row["piqs_total_over_permjax_solve"] = pq["total_s"] / pj["solve_s"]
            row["piqs_total_over_permjax_first"] = pq["total_s"] / pj["first_s"]
        rows.append(row)
        print(f"N={N} done", file=sys.stderr, flush=True)

    print(f"finite-N steady state, LMG {MODEL}")
    print(f"{'N':>4} | {'permjax: iters':>14} {'solve':>8} {'1st call':>8} {'peak MB':>8} | "
          f"{'piqs: build':>11} {'solve':>8} {'peak MB':>8} | {'piqs/pj':>7} {'|dI/N|':>8}")
    for r in rows:
        pj, pq = r["permjax"], r["piqs"]
        left = (f"{pj['iterations']:>14} {pj['solve_s']:>7.2f}s {pj['first_s']:>7.2f}s {pj['peak_mb']:>8.0f}"
                if "error" not in pj else f"{pj['error']:>41}")
        mid = (f"{pq['build_s']:>10.2f}s {pq['solve_s']:>7.2f}s {pq['peak_mb']:>8.0f}"
               if "error" not in pq else f"{pq['error']:>29}")
        right = (f"{r['piqs_total_over_permjax_solve']:>7.2f} {r['mi_difference']:>8.1e}"
                 if "mi_difference" in r else f"{'-':>7} {'-':>8}")
        print(f"{r['N']:>4} | {left} | {mid} | {right}")
    print("piqs/pj: piqs build+solve seconds over permjax warm solve seconds (>1: permjax faster)")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "finite.json")
    with open(path, "w") as f:
        json.dump(dict(model=MODEL, rows=rows), f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20, 40, 60, 80])
