"""N → ∞ engine (mi_thermo): speed, gradient cost, and accuracy against a scipy long-average baseline.

Measured (every timing after compilation, best of ``--repeats``):
  * time per point of a single jitted ``mi_thermo`` call (𝒥 = 3, γ = 1; h = 0 and 0.5, Γ = 1.68);
  * a 1000-point vmapped Γ sweep (𝒥 = 3, h = 0.5, Γ ∈ [1, 4]) and its time per point;
  * gradient (jax.grad of .mi w.r.t. J, h, Gamma, gamma) relative to the forward pass;
  * baseline: scipy solve_ivp (DOP853, rtol 1e-10) past the same transient, then a plain
    average over a window of length τ (what docs/theory.md §3 warns about: O(1/τ) bias). Accuracy is
    measured at h = 0 against Eq. 18 (exact); at h = 0.5 the baseline is compared with mi_thermo
    (whose agreement with event-located scipy cycles to ≤ 1e-12 is in tests/test_thermo.py).

    python3 benchmarks/thermo.py [--points 1000] [--repeats 3] [--sweep-only] [--gpu]

``--gpu`` runs on JAX's default backend (a GPU where present; otherwise the CPU is forced);
``--sweep-only`` measures the vmapped sweeps alone (``--points`` may list several sizes).

Prints a table and writes benchmarks/results/thermo.json.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import solve_ivp

import permjax
from permjax import LMG
from permjax.models.zoo import BTC, XYZ, SpinOneLMG

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def best_time(fn, repeats):
    """Compile (first call, timed separately), then the best of ``repeats`` calls."""
    t = common.first_and_warm(fn, repeats)
    return t.best_s, t.first_s


def scipy_long_average(p, window, transient=300.0):
    """Baseline: plain average of b(|m|) and m over [transient, transient + window]."""

    def f(t, m):
        J, h, G, g = p
        mx, my, mz = m
        return [J * my * mz + G * mx * mz / 2 - g * mx / 2, -J * mx * mz - h * mz + G * my * mz / 2 - g * my / 2,
                h * my - G * (mx * mx + my * my) / 2 + g * (1 - mz)]

    t_eval = np.linspace(transient, transient + window, int(window * 50) + 1)
    sol = solve_ivp(f, (0, transient + window), [0.1, 0.0, 0.99], method="DOP853", rtol=1e-10, atol=1e-12, t_eval=t_eval)
    m = sol.y.T
    b = lambda x: -sum(q * np.log(q) for q in ((1 + x) / 2, (1 - x) / 2) if np.all(q > 0))
    norms = np.linalg.norm(m, axis=1)
    mean_b = np.trapezoid(b(norms), t_eval) / window
    return float(b(np.linalg.norm(np.trapezoid(m, t_eval, axis=0) / window)) - mean_b)


def scipy_zoo_average(model, xi0, kappa, transient=300.0, window=100.0):
    """Baseline for any model: the drift as a numpy polynomial, DOP853 past transient/κ, then a
    plain average of ξ and S(r) over window/κ."""
    from permjax.meanfield import drift_polynomial

    f = drift_polynomial(model)
    a, B, C = (np.asarray(x) for x in (f.a, f.B, f.C))
    d = model.d
    v = permjax.gell_mann(d)
    t_eval = np.linspace(transient, transient + window, int(window * 50) + 1) / kappa
    sol = solve_ivp(lambda t, x: a + B @ x + np.einsum("klm,l,m->k", C, x, x), (0, t_eval[-1]), xi0, method="DOP853",
                    rtol=1e-10, atol=1e-12, t_eval=t_eval)

    def S(x):
        w = np.linalg.eigvalsh((np.eye(d) + np.tensordot(x, v, axes=1)) / d)
        w = w[w > 1e-300]
        return float(-np.sum(w * np.log(w)))

    xs = sol.y.T
    mean_S = np.trapezoid([S(x) for x in xs], t_eval) / (t_eval[-1] - t_eval[0])
    return S(np.trapezoid(xs, t_eval, axis=0) / (t_eval[-1] - t_eval[0])) - mean_S


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[1000])
    ap.add_argument("--sweep-only", action="store_true", help="only the vmapped sweeps")
    ap.add_argument("--gpu", action="store_true", help="run on the default (GPU) backend and record it")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--windows", default="100,1000", help="baseline averaging windows (comma-separated)")
    args = ap.parse_args()
    if not args.gpu:
        jax.config.update("jax_platforms", "cpu")
    rows, report = [], {"backend": jax.default_backend(), "jax": jax.__version__, "devices": str(jax.devices())}
    if not args.sweep_only:
        single_points(args, rows, report)
    report["sweep"] = []
    for n in args.points:
        models = LMG(3.0, 0.5, jnp.linspace(1.0, 4.0, n), 1.0).broadcast()
        sweep = jax.jit(jax.vmap(permjax.mi_thermo))
        t_sweep, c_sweep = best_time(lambda: sweep(models).mi, args.repeats)
        res = sweep(models)
        kinds = np.bincount(np.asarray(res.kind), minlength=3).tolist()
        rec = {"points": n, "seconds": t_sweep, "compile_s": c_sweep, "points_per_s": n / t_sweep,
               "kinds_fp_cycle_unresolved": kinds}
        report["sweep"].append(rec)
        rows.append((f"vmapped sweep, {n} points", f"{t_sweep:.2f} s", f"{n / t_sweep:.0f} points/s"))
        rows.append(("  kinds (fixed point, cycle, not resolved)", str(kinds), f"first call (compiles) {c_sweep:.1f} s"))

    print(f"permjax {permjax.__version__}, jax {jax.__version__}, {jax.devices()}")
    common.report("thermo_gpu" if args.gpu else "thermo", rows, [("measurement", 0), ("result", 1), ("note", 2)], report)


def single_points(args, rows, report):
    """Single points and gradients (h = 0, 0.5), the zoo's defaults, and the scipy baselines."""
    forward = jax.jit(lambda p: permjax.mi_thermo(LMG(p[0], p[1], p[2], p[3])).mi)
    gradient = jax.jit(jax.grad(lambda p: permjax.mi_thermo(LMG(p[0], p[1], p[2], p[3])).mi))
    for h in (0.0, 0.5):
        p = jnp.array([3.0, h, 1.68, 1.0])
        t_fwd, c_fwd = best_time(lambda: forward(p), args.repeats)
        t_grad, c_grad = best_time(lambda: gradient(p), args.repeats)
        mi = float(forward(p))
        rec = {"h": h, "mi": mi, "forward_s": t_fwd, "compile_forward_s": c_fwd, "grad_s": t_grad,
               "compile_grad_s": c_grad, "grad_over_forward": t_grad / t_fwd}
        if h == 0.0:
            rec["error_vs_eq18"] = abs(mi - float(permjax.mi_thermo_analytic(LMG(3.0, 0.0, 1.68, 1.0))))
        base = []
        for w in (float(x) for x in args.windows.split(",")):
            t = common.first_and_warm(lambda: scipy_long_average(np.asarray(p), w), repeats=0)
            val, tb = t.value, t.first_s
            ref = float(permjax.mi_thermo_analytic(LMG(3.0, 0.0, 1.68, 1.0))) if h == 0.0 else mi
            base.append({"window": w, "mi": val, "seconds": tb, "deviation": abs(val - ref),
                         "time_ratio_baseline_over_permjax": tb / t_fwd})
        rec["baseline"] = base
        report[f"point_h{h}"] = rec
        rows.append((f"single point h={h}: forward", f"{t_fwd * 1e3:.1f} ms", f"first call (compiles) {c_fwd:.1f} s"))
        rows.append((f"single point h={h}: grad / forward", f"{t_grad / t_fwd:.2f}x", f"grad {t_grad * 1e3:.1f} ms"))
        if h == 0.0:
            rows.append(("  |mi - Eq.18|", f"{rec['error_vs_eq18']:.1e}", ""))
        for b in base:
            what = "Eq.18" if h == 0.0 else "mi_thermo"
            rows.append((f"  scipy plain average, window {b['window']:g}", f"|dev vs {what}| {b['deviation']:.1e}",
                         f"{b['seconds']:.2f} s = {b['time_ratio_baseline_over_permjax']:.0f}x permjax"))

    lmg_per_point = report["point_h0.5"]["forward_s"]
    report["zoo"] = {}
    for name, fam in (("btc", BTC), ("xyz", XYZ), ("spin1_lmg", SpinOneLMG)):
        names = fam.PARAMETERS
        fwd = jax.jit(lambda p, fam=fam, names=names: permjax.mi_thermo(fam(**dict(zip(names, p)))).mi)
        grd = jax.jit(jax.grad(lambda p, fam=fam, names=names: permjax.mi_thermo(fam(**dict(zip(names, p)))).mi))
        p = jnp.array([fam.DEFAULTS[k] for k in names])
        t_fwd, c_fwd = best_time(lambda: fwd(p), args.repeats)
        t_grad, _ = best_time(lambda: grd(p), args.repeats)
        res = permjax.mi_thermo(fam())
        t = common.first_and_warm(lambda: scipy_zoo_average(fam().to_model(), np.asarray(res.starts)[0],
                                                            float(permjax.meanfield.rate_unit(fam().to_model()))),
                                  repeats=0)
        base, tb = t.value, t.first_s
        rec = {"mi": float(res.mi), "attractor": res.kind_name, "forward_s": t_fwd, "compile_forward_s": c_fwd,
               "grad_over_forward": t_grad / t_fwd, "over_lmg": t_fwd / lmg_per_point, "scipy_s": tb,
               "scipy_mi": base, "scipy_deviation": abs(base - float(res.mi)), "scipy_over_permjax": tb / t_fwd}
        report["zoo"][name] = rec
        rows.append((f"{fam.NAME} default ({res.kind_name}): forward", f"{t_fwd * 1e3:.1f} ms",
                     f"{t_fwd / lmg_per_point:.2f}x LMG h=0.5; grad/forward {t_grad / t_fwd:.2f}x"))
        rows.append((f"  scipy long average (window 100/κ)", f"|dev| {rec['scipy_deviation']:.1e}",
                     f"{tb:.2f} s = {tb / t_fwd:.0f}x permjax"))


if __name__ == "__main__":
    main()
