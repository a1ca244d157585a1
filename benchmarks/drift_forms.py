"""The two forms of the mean-field drift (permjax/meanfield/drift.py): the dense quadratic polynomial
(``DriftPolynomial``, n³ = (d² − 1)³ numbers) against d×d matrices (``DriftMatrix``, O(d³) per
evaluation), for the spin-s LMG (``spin_lmg``, d = 2s + 1: one-body, two-body, collective and
local terms), d = 2, 3, 4, 5, 6, 10.

Each d runs in a fresh process (``common.fresh_process``: its own XLA state and peak memory).
Times are per evaluation inside one jitted ``lax.fori_loop`` of R chained evaluations (as inside
an ODE solver: no dispatch overhead), best of 5, for f(ξ) and the Jacobian Df(ξ), each for one
model and vmapped over 64 models (batched leaves and ξ). With ``--thermo`` also a whole
``mi_thermo`` of the default spin-s LMG with each form forced, d = 2 … 6, each (d, form) in a
fresh process: the first call (compile included) and the best of 3 warm calls. The warm times set
``drift.POLYNOMIAL_MAX_D``, since mi_thermo evaluates f on several starts at once and the
shooting needs Df Φ (the polynomial's Jacobian is cheap, the matrix form's a column per
direction).

    python3 benchmarks/drift_forms.py [--d 2 3 ...] [--thermo [--thermo-d 2 3 ...]]

Prints the tables, writes benchmarks/results/drift_forms.json.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DS = (2, 3, 4, 5, 6, 10)
THERMO_DS = (2, 3, 4, 5, 6)
BATCH = 64
REPEATS = 5
KEYS = ("eval", "eval_vmap64", "jacobian", "jacobian_vmap64")
FORMS = {"polynomial": 10**6, "matrix": 1}  # the POLYNOMIAL_MAX_D that forces each form
TIMEOUT_S = 900


def per_call(step, x0, budget=0.2):
    """Seconds per evaluation of ``step`` (x ↦ x'), chained R times in one jitted loop: R grows
    ×4 until a warm loop takes ``budget`` seconds, then the best of ``REPEATS`` loops over R."""
    import jax

    loop = jax.jit(lambda x, R: jax.lax.fori_loop(0, R, lambda i, y: step(y), x), static_argnums=1)
    R = 4
    while common.first_and_warm(lambda: loop(x0, R), repeats=1).warm_s <= budget and R < 1 << 20:
        R *= 4
    return common.first_and_warm(lambda: loop(x0, R), repeats=REPEATS).best_s / R


def measure(d: int) -> dict:
    """Both forms at d, one model and 64: seconds per evaluation of f and Df, leaf bytes."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from permjax.meanfield.drift import drift_matrix, drift_polynomial
    from permjax.models.zoo import spin_lmg

    fam = spin_lmg((d - 1) / 2)
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
    out["peak_mb"] = common.peak_memory_mb()
    return out


def thermo_time(d: int, form: str) -> dict:
    """mi_thermo of spin_lmg((d − 1)/2)() with ``form`` forced: first call (compile included) and
    the best of 3 warm calls."""
    import permjax
    from permjax.meanfield import drift
    from permjax.models.zoo import spin_lmg

    drift.POLYNOMIAL_MAX_D = FORMS[form]  # this process only
    point = spin_lmg((d - 1) / 2)()
    t = common.first_and_warm(lambda: permjax.mi_thermo(point).mi, repeats=3)
    return {"first_s": t.first_s, "warm_s": t.best_s, "mi": float(t.value), "peak_mb": common.peak_memory_mb()}


def ratio(key):
    """A table column: polynomial seconds over matrix seconds (>1: the matrix form is faster)."""
    return lambda r: r["polynomial"][key] / r["matrix"][key]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, nargs="+", default=list(DS), help="local dimensions d (default 2 3 4 5 6 10)")
    ap.add_argument("--thermo", action="store_true", help="also time mi_thermo with each form forced")
    ap.add_argument("--thermo-d", type=int, nargs="+", default=list(THERMO_DS), help="d for --thermo (default 2 … 6)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds a fresh process may take")
    args = ap.parse_args(argv)

    rows = []
    for d in args.d:
        rows.append(common.fresh_process(measure, d, timeout=args.timeout) | {"d": d})
        print(f"d={d} done", file=sys.stderr, flush=True)
    thermo = []
    for d in args.thermo_d if args.thermo else ():
        row = {"d": d}
        for form in FORMS:
            row[form] = common.fresh_process(thermo_time, d, form, timeout=args.timeout)
        if not any("error" in row[form] for form in FORMS):
            row["mi_difference"] = abs(row["polynomial"]["mi"] - row["matrix"]["mi"])
        thermo.append(row)
        print(f"mi_thermo d={d} done", file=sys.stderr, flush=True)

    from permjax.meanfield.drift import POLYNOMIAL_MAX_D  # after the fresh processes (imports JAX)

    micro = lambda seconds: f"{seconds * 1e6:.3g}"  # noqa: E731
    print("seconds per evaluation of the drift f and its Jacobian Df (µs), polynomial (P) and matrix (M) form; "
          "P/M > 1: the matrix form is faster")
    columns = [("d", "d"), ("n", "n")]
    for key in KEYS:
        columns += [(f"{key} P µs", f"polynomial.{key}", micro), (f"{key} M µs", f"matrix.{key}", micro),
                    ("P/M", ratio(key), ".2g")]
    columns += [("leaves P B", "polynomial.leaf_bytes", ".3g"), ("leaves M B", "matrix.leaf_bytes", ".3g"),
                ("peak MB", "peak_mb", ".0f"), common.errors()]
    print(common.table(rows, columns))
    faster = [r["d"] for r in rows if "error" not in r and r["matrix"]["eval"] < r["polynomial"]["eval"]]
    print(f"matrix form faster per evaluation from d = {min(faster) if faster else None}; "
          f"POLYNOMIAL_MAX_D = {POLYNOMIAL_MAX_D}")
    if thermo:
        print("\nmi_thermo of the default spin-s LMG with each form forced, fresh process each (s)")
        print(common.table(thermo, [
            ("d", "d"), ("P first s", "polynomial.first_s", ".2f"), ("P warm s", "polynomial.warm_s", ".3f"),
            ("M first s", "matrix.first_s", ".2f"), ("M warm s", "matrix.warm_s", ".3f"),
            ("P/M warm", lambda r: r["polynomial"]["warm_s"] / r["matrix"]["warm_s"], ".2g"),
            ("abs dI", "mi_difference", ".1e"), common.errors(*FORMS)]))
    common.write_results("drift_forms", {
        "batch": BATCH, "polynomial_max_d": POLYNOMIAL_MAX_D, "units": "seconds per evaluation",
        "rows": rows, "mi_thermo": thermo})


if __name__ == "__main__":
    main()
