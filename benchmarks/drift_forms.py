"""The two forms of the mean-field drift (permjax/meanfield/drift.py): the dense quadratic polynomial
(``DriftPolynomial``, n³ = (d² − 1)³ numbers) against d×d matrices (``DriftMatrix``, O(d³) per
evaluation), for the spin-s LMG (``spin_lmg``, d = 2s + 1: one-body, two-body, collective and
local terms), d = 2, 3, 4, 6, 10.

Times are per evaluation inside one jitted ``lax.fori_loop`` of R chained evaluations (as inside
an ODE solver: no dispatch overhead), best of 5, for f(ξ) and the Jacobian Df(ξ), each for one
model and vmapped over 64 models (batched leaves and ξ). The crossover sets
``drift.POLYNOMIAL_MAX_D``.

    python benchmarks/drift_forms.py      # prints the table, writes benchmarks/results/drift_forms.json
"""

from __future__ import annotations

import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import permjax
from permjax.meanfield.drift import POLYNOMIAL_MAX_D, drift_matrix, drift_polynomial
from permjax.models.zoo import spin_lmg

DS = (2, 3, 4, 6, 10)
BATCH = 64
REPEATS = 5


def per_call(step, x0, budget=0.2):
    """Seconds per evaluation of ``step`` (x ↦ x'), chained R times in one jitted loop."""
    loop = jax.jit(lambda x, R: jax.lax.fori_loop(0, R, lambda i, y: step(y), x), static_argnums=1)
    R = 4
    while True:
        jax.block_until_ready(loop(x0, R))
        t = time.perf_counter()
        jax.block_until_ready(loop(x0, R))
        dt = time.perf_counter() - t
        if dt > budget or R >= 1 << 20:
            break
        R *= 4
    best = min(_timed(loop, x0, R) for _ in range(REPEATS))
    return best / R


def _timed(loop, x0, R):
    t = time.perf_counter()
    jax.block_until_ready(loop(x0, R))
    return time.perf_counter() - t


def measure(d: int) -> dict:
    s = (d - 1) / 2
    fam = spin_lmg(s)
    one = fam()
    many = fam(J=jnp.linspace(2.0, 4.0, BATCH)).broadcast()
    n = d * d - 1
    rng = np.random.default_rng(0)
    xi1 = jnp.asarray(0.3 * rng.normal(size=n) / np.sqrt(n))
    xiB = jnp.asarray(0.3 * rng.normal(size=(BATCH, n)) / np.sqrt(n))
    out = {"d": d, "n": n}
    for name, build in (("polynomial", drift_polynomial), ("matrix", drift_matrix)):
        f1, fB = build(one), build(many)
        vf = jax.vmap(lambda f, x: f(x))
        vj = jax.vmap(lambda f, x: f.jacobian(x))
        out[name] = {
            "eval": per_call(lambda x: x + 1e-6 * f1(x), xi1),
            "eval_vmap64": per_call(lambda x: x + 1e-6 * vf(fB, x), xiB),
            "jacobian": per_call(lambda x: x + 1e-9 * jnp.sum(f1.jacobian(x), axis=-1), xi1),
            "jacobian_vmap64": per_call(lambda x: x + 1e-9 * jnp.sum(vj(fB, x), axis=-1), xiB),
            "leaf_bytes": int(sum(x.nbytes for x in jax.tree.leaves(f1))),
        }
    return out


def main():
    rows = [measure(d) for d in DS]
    keys = ("eval", "eval_vmap64", "jacobian", "jacobian_vmap64")
    print(f"{'d':>3} {'n':>4}  " + "  ".join(f"{k + ' P/M (µs)':>27}" for k in keys) + "   leaves P/M")
    for r in rows:
        cells = "  ".join(f"{r['polynomial'][k] * 1e6:>11.3g} / {r['matrix'][k] * 1e6:>9.3g}  ({r['polynomial'][k] / r['matrix'][k]:4.2g}x)"
                          for k in keys)
        print(f"{r['d']:>3} {r['n']:>4}  {cells}   {r['polynomial']['leaf_bytes']:.3g} / {r['matrix']['leaf_bytes']:.3g} B")
    faster = [r["d"] for r in rows if r["matrix"]["eval"] < r["polynomial"]["eval"]]
    print(f"matrix form faster per evaluation from d = {min(faster) if faster else None}; "
          f"POLYNOMIAL_MAX_D = {POLYNOMIAL_MAX_D}")
    meta = {"jax": jax.__version__, "backend": jax.default_backend(), "cpu_count": os.cpu_count(),
            "machine": platform.machine(), "permjax": permjax.__version__, "batch": BATCH,
            "polynomial_max_d": POLYNOMIAL_MAX_D, "units": "seconds per evaluation"}
    path = os.path.join(os.path.dirname(__file__), "results", "drift_forms.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
