"""The two forms of the mean-field drift (permjax/meanfield/drift.py): the dense quadratic polynomial
(``DriftPolynomial``, n³ = (d² − 1)³ numbers) against d×d matrices (``DriftMatrix``, O(d³) per
evaluation), for the spin-s LMG (``spin_lmg``, d = 2s + 1: one-body, two-body, collective and
local terms), d = 2, 3, 4, 5, 6, 10.

Times are per evaluation inside one jitted ``lax.fori_loop`` of R chained evaluations (as inside
an ODE solver: no dispatch overhead), best of 5, for f(ξ) and the Jacobian Df(ξ), each for one
model and vmapped over 64 models (batched leaves and ξ). With ``--thermo`` also the warm time
of a whole ``mi_thermo`` (best of 3) of the default spin-s LMG with each form forced, d = 2 … 6:
that sets ``drift.POLYNOMIAL_MAX_D``, since mi_thermo evaluates f on several starts at once and
the shooting needs Df Φ (the polynomial's Jacobian is cheap, the matrix form's a column per
direction).

    python benchmarks/drift_forms.py [--thermo]   # prints the tables, writes benchmarks/results/drift_forms.json
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import permjax
from permjax.meanfield.drift import POLYNOMIAL_MAX_D, drift_matrix, drift_polynomial
from permjax.models.zoo import spin_lmg

DS = (2, 3, 4, 5, 6, 10)
THERMO_DS = (2, 3, 4, 5, 6)
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


def thermo_times(d: int) -> dict:
    """Warm mi_thermo seconds of spin_lmg((d − 1)/2)() with each form forced."""
    module = sys.modules["permjax.meanfield.drift"]
    keep = module.POLYNOMIAL_MAX_D
    out = {"d": d}
    point = spin_lmg((d - 1) / 2)()
    try:
        for name, cut in (("polynomial", 10**6), ("matrix", 1)):
            module.POLYNOMIAL_MAX_D = cut
            jax.block_until_ready(permjax.mi_thermo(point).mi)
            times = []
            for _ in range(3):
                t = time.perf_counter()
                res = permjax.mi_thermo(point)
                jax.block_until_ready(res.mi)
                times.append(time.perf_counter() - t)
            out[name] = min(times)
            out[name + "_mi"] = float(res.mi)
    finally:
        module.POLYNOMIAL_MAX_D = keep
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
    thermo = []
    if "--thermo" in sys.argv:
        print(f"\n{'d':>3}  mi_thermo warm (s): polynomial / matrix")
        for d in THERMO_DS:
            thermo.append(thermo_times(d))
            r = thermo[-1]
            print(f"{d:>3}  {r['polynomial']:.3f} / {r['matrix']:.3f}  ({r['polynomial'] / r['matrix']:.2g}x)  "
                  f"mi {r['polynomial_mi']:.12f} / {r['matrix_mi']:.12f}", flush=True)
    meta = {"jax": jax.__version__, "backend": jax.default_backend(), "cpu_count": os.cpu_count(),
            "machine": platform.machine(), "permjax": permjax.__version__, "batch": BATCH,
            "polynomial_max_d": POLYNOMIAL_MAX_D, "units": "seconds per evaluation"}
    path = os.path.join(os.path.dirname(__file__), "results", "drift_forms.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump({"meta": meta, "rows": rows, "mi_thermo": thermo}, fh, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
