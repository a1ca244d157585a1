"""Memory estimate (``permjax.resources``) against measured peak memory of finite-N solves.

Each (method, N) runs in a fresh process: a small solve of the same method first (runtime and
libraries up), then VmRSS is read, ``steady_state(N)`` runs, and the peak VmHWM less that
baseline is what the solve added. The baseline run is the estimate itself, in the same
script: ratio = estimate / measured (≥ 1: the estimate bounds the measurement). Prints a table,
writes benchmarks/results/memory.json.

    python3 benchmarks/memory.py [--gmres 20 40 60 80] [--cgls 20 40] [--rates 400 800 3200]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORKER = """
import json, sys
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
import jax, permjax
from permjax.solvers import memory as steady_state_memory
method, N, h = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
warm = permjax.steady_state(3, permjax.LMG(3.0, h, 1.68, 1.0), method=method)
jax.block_until_ready(warm.blocks)
base = status("VmRSS")
st = permjax.steady_state(N, permjax.LMG(3.0, h, 1.68, 1.0), method=method)
jax.block_until_ready(st.blocks)
est = steady_state_memory(N, method)
print(json.dumps({"method": method, "N": N, "measured": status("VmHWM") - base, "estimate": est.total,
                  "parts": est.parts}))
"""


def measure(method, N):
    h = 0.0 if method == "rates" else 0.5
    r = subprocess.run([sys.executable, "-c", WORKER, method, str(N), str(h)], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=1200)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gmres", type=int, nargs="*", default=[20, 40, 60, 80])
    ap.add_argument("--cgls", type=int, nargs="*", default=[20, 40])
    ap.add_argument("--rates", type=int, nargs="*", default=[400, 800, 3200])
    args = ap.parse_args()
    rows = [measure(m, N) for m, Ns in (("gmres", args.gmres), ("cgls", args.cgls), ("rates", args.rates)) for N in Ns]
    print(f"{'method':<7} {'N':>6} {'measured MB':>12} {'estimate MB':>12} {'ratio':>6}")
    for r in rows:
        r["ratio"] = r["estimate"] / r["measured"]
        print(f"{r['method']:<7} {r['N']:>6} {r['measured'] / 1e6:>12.0f} {r['estimate'] / 1e6:>12.0f} {r['ratio']:>6.2f}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "memory.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
