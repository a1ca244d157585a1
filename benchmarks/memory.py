"""Memory estimate (``permjax.resources``) against measured peak memory of finite-N solves.

Each (method, N) runs in a fresh process: a small solve of the same method first (runtime and
libraries up), then VmHWM is reset to VmRSS (/proc/self/clear_refs, as tests/test_reliability.py
does; ``common.memory_added``), ``steady_state(N)`` runs, and the peak VmHWM less that baseline
is what the solve added. The baseline run is the estimate itself, in the same
script: ratio = estimate / measured (≥ 1: the estimate bounds the measurement). Prints a table,
writes benchmarks/results/memory.json.

    python3 benchmarks/memory.py [--gmres 20 40 60 80] [--cgls 20 40] [--rates 400 800 3200]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TIMEOUT_S = 1200


def _measure(method, N, h):
    import jax

    import permjax
    from permjax.solvers import memory as steady_state_memory

    warm = permjax.steady_state(3, permjax.LMG(3.0, h, 1.68, 1.0), method=method)  # runtime and libraries up
    jax.block_until_ready(warm.blocks)
    with common.memory_added() as mem:  # VmHWM reset: the warm-up's peak is not counted
        st = permjax.steady_state(N, permjax.LMG(3.0, h, 1.68, 1.0), method=method)
        jax.block_until_ready(st.blocks)
    est = steady_state_memory(N, method)
    return {"method": method, "N": N, "measured": mem.bytes, "estimate": est.total, "parts": est.parts}


def measure(method, N):
    h = 0.0 if method == "rates" else 0.5
    r = common.fresh_process(_measure, method, N, h, timeout=TIMEOUT_S)
    if "error" in r:
        r = {"method": method, "N": N, **r}
    else:
        r["ratio"] = r["estimate"] / r["measured"]
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gmres", type=int, nargs="*", default=[20, 40, 60, 80])
    ap.add_argument("--cgls", type=int, nargs="*", default=[20, 40])
    ap.add_argument("--rates", type=int, nargs="*", default=[400, 800, 3200])
    args = ap.parse_args()
    rows = [measure(m, N) for m, Ns in (("gmres", args.gmres), ("cgls", args.cgls), ("rates", args.rates)) for N in Ns]
    common.report("memory", rows, [
        ("method", "method"), ("N", "N"), ("measured MB", lambda r: r["measured"] / 1e6, ".0f"),
        ("estimate MB", lambda r: r["estimate"] / 1e6, ".0f"), ("ratio", "ratio", ".2f"), common.errors()], rows)


if __name__ == "__main__":
    main()
