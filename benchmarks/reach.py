"""Reach of the finite-N solvers (issue: N = 160 at h ≠ 0 on a 2-core CPU, N = 10⁴ at h = 0).

h ≠ 0 (𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1): ``steady_state(method="gmres")`` (GMRES preconditioned
by the exact h = 0 sector inverse) against, in the same run, the reference CGLS (``method=
"cgls"``) and the QuTiP piqs pipeline (assembled Liouvillian, block-diagonal part, SuperLU;
``benchmarks/finite.py``'s worker). h = 0: the rate equations (``rates.steady_populations``).

Each (method, N) runs in a fresh process; its peak memory is VmHWM from /proc/self/status
(XLA buffers included). ``first`` = compile + solve, ``solve`` = median of warm repeats. The
growth exponent is the log-log slope of the warm solve time over the N ≥ 40 rows. Prints a
table, writes benchmarks/results/reach.json.

    python3 benchmarks/reach.py [--N 20 40 ...] [--piqs-max 80] [--cgls-max 60]
                                [--rates-N 400 2000 10000] [--grad-N 160] [--gpu]

``--grad-N``: in one fresh process per N, the warm ``jax.value_and_grad`` of I_M/N w.r.t. Γ
against the warm forward solve (``mi_finite``) at the same N.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import finite  # noqa: E402  (the piqs worker and the model of the finite-N benchmark)

MODEL = finite.MODEL


def _steady(N, method):
    import jax

    import permjax
    from permjax.solvers import steady_state

    model = permjax.LMG(**MODEL)
    t = common.first_and_warm(lambda: steady_state(N, model, method=method), repeats=2 if N <= 120 else 1)
    st = t.value
    d = st.diagnostics.as_dict()
    return dict(mi=float(permjax.mutual_information(st)) / N, first_s=t.first_s, solve_s=t.warm_s,
                iterations=d["iterations"], residual=d["residual"], peak_mb=common.peak_memory_mb(),
                devices=[str(x) for x in jax.devices()])


def _grad(N):
    import jax

    import permjax

    def mi(G):
        return permjax.mi_finite(N, permjax.LMG(MODEL["J"], MODEL["h"], G, MODEL["gamma"]), method="gmres")

    forward, both = jax.jit(mi), jax.jit(jax.value_and_grad(mi))
    G = MODEL["Gamma"]
    times = {}
    for name, fn in (("forward", forward), ("value_and_grad", both)):
        args = iter((G, G + 1e-3))  # the warm call at a new Γ
        t = common.first_and_warm(lambda: fn(next(args)), repeats=1)
        times[name] = dict(first_s=t.first_s, warm_s=t.warm_s)
    val = t.value
    return dict(**{f"{k}_{q}": v for k, d in times.items() for q, v in d.items()},
                ratio=times["value_and_grad"]["warm_s"] / times["forward"]["warm_s"],
                mi=float(val[0]), dmi_dGamma=float(val[1]), peak_mb=common.peak_memory_mb())


def _rates(N):
    import permjax
    from permjax.solvers.rates import mi_rates, steady_populations

    model = permjax.LMG(MODEL["J"], 0.0, MODEL["Gamma"], MODEL["gamma"])
    t = common.first_and_warm(lambda: steady_populations(N, model), repeats=1)
    return dict(first_s=t.first_s, solve_s=t.warm_s, mi=float(mi_rates(N, model)), peak_mb=common.peak_memory_mb(),
                **t.value.diagnostics_dict())


def growth_exponent(rows, key):
    pts = [(r["N"], r["gmres"][key]) for r in rows if r["N"] >= 40 and "error" not in r["gmres"]]
    if len(pts) < 2:
        return None
    n, t = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(n, t, 1)[0])


def memory_projection(N, restart=None):
    """Bytes of the dominant arrays at N (exact sizes, not a measurement): the preconditioner's
    S⁻¹ blocks and the GMRES basis (restart+1 packed states), complex128."""
    from permjax.solvers.gmres import krylov_restart, krylov_vector_bytes
    from permjax.dicke.layout import DickeLayout
    from permjax.solvers.qconserving import sector_groups

    lay = DickeLayout(N)
    restart = krylov_restart(lay) if restart is None else restart
    factors = sum((q_hi - q_lo) * n_l * (lay.n_J - j_lo) ** 2 for q_lo, q_hi, j_lo, n_l in sector_groups(N))
    return dict(factor_gib=factors * 16 / 2**30, krylov_gib=(restart + 1) * krylov_vector_bytes(lay) / 2**30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="*", default=[20, 40, 60, 80, 120, 160])
    ap.add_argument("--piqs-max", type=int, default=80)
    ap.add_argument("--cgls-max", type=int, default=60)
    ap.add_argument("--rates-N", type=int, nargs="*", default=[400, 2000, 10000])
    ap.add_argument("--grad-N", type=int, nargs="*", default=[])
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--gpu", action="store_true", help="run on the default (GPU) backend and record it")
    args = ap.parse_args()
    if not args.gpu:
        os.environ["JAX_PLATFORMS"] = "cpu"

    rows = []
    for N in args.N:
        row = dict(N=N, gmres=common.fresh_process(_steady, N, "gmres", timeout=args.timeout))
        if N <= args.cgls_max:
            row["cgls"] = common.fresh_process(_steady, N, "cgls", timeout=args.timeout)
        if N <= args.piqs_max:
            row["piqs"] = common.fresh_process(finite._piqs, N, timeout=args.timeout)
        rows.append(row)
        print(f"N={N} done: {row}", file=sys.stderr, flush=True)
    rates = [dict(N=N, rates=common.fresh_process(_rates, N, timeout=args.timeout)) for N in args.rates_N]
    grads = [dict(N=N, grad=common.fresh_process(_grad, N, timeout=args.timeout)) for N in args.grad_N]
    devices = next((r["gmres"]["devices"] for r in rows if "devices" in r["gmres"]), None)

    def ok(r, key):
        return key in r and "error" not in r[key] and "error" not in r["gmres"]

    print(f"finite-N steady state, LMG {MODEL}; devices {devices}; relative residual target 1e-10")
    print(common.table(rows, [
        ("N", "N"), ("gmres it", "gmres.iterations"), ("solve s", "gmres.solve_s", ".2f"),
        ("1st call s", "gmres.first_s", ".2f"), ("peak MB", "gmres.peak_mb", ".0f"), ("resid", "gmres.residual", ".1e"),
        ("cgls it", "cgls.iterations"), ("cgls solve s", "cgls.solve_s", ".2f"), ("piqs total s", "piqs.total_s", ".2f"),
        ("piqs/gmres", lambda r: r["piqs"]["total_s"] / r["gmres"]["solve_s"] if ok(r, "piqs") else None, ".1f"),
        ("cgls/gmres", lambda r: r["cgls"]["solve_s"] / r["gmres"]["solve_s"] if ok(r, "cgls") else None, ".1f"),
        ("|dI/N| piqs", lambda r: abs(r["piqs"]["mi"] - r["gmres"]["mi"]) if ok(r, "piqs") else None, ".1e"),
        common.errors("gmres", "cgls", "piqs")]))
    ex_solve, ex_first = growth_exponent(rows, "solve_s"), growth_exponent(rows, "first_s")
    print(f"growth exponent (N >= 40): warm solve ~ N^{ex_solve:.2f}, first call ~ N^{ex_first:.2f}"
          if ex_solve is not None else "growth exponent: not enough rows")
    print("piqs/gmres: piqs build+solve over gmres warm solve; cgls/gmres: warm solve ratio")
    print(f"\nh = 0, rate equations (Γ = {MODEL['Gamma']}):")
    print(common.table(rates, [
        ("N", "N"), ("1st call s", "rates.first_s", ".2f"), ("solve s", "rates.solve_s", ".2f"),
        ("states", "rates.window_states"), ("residual", "rates.residual", ".1e"), ("peak MB", "rates.peak_mb", ".0f"),
        ("I_M/N", "rates.mi", ".10f"), common.errors("rates")]))
    if grads:
        print("\nvalue_and_grad of I_M/N w.r.t. Γ against the forward solve (warm, same process):")
        print(common.table(grads, [
            ("N", "N"), ("forward s", "grad.forward_warm_s", ".2f"), ("v&g s", "grad.value_and_grad_warm_s", ".2f"),
            ("ratio", "grad.ratio", ".2f"), ("1st fwd s", "grad.forward_first_s", ".2f"),
            ("1st v&g s", "grad.value_and_grad_first_s", ".2f"), ("peak MB", "grad.peak_mb", ".0f"),
            common.errors("grad")]))
    proj = {N: memory_projection(N) for N in (160, 400)}
    print("\nmemory of the dominant arrays (exact sizes; a projection for the GPU run, not a measurement):")
    for N, m in proj.items():
        print(f"  N={N}: preconditioner factors {m['factor_gib']:.2f} GiB, GMRES basis {m['krylov_gib']:.2f} GiB")
    common.write_results("reach_gpu" if args.gpu else "reach", dict(
        model=MODEL, devices=devices, rows=rows, rates=rates, grads=grads, growth_exponent_solve=ex_solve,
        growth_exponent_first=ex_first, memory_projection=proj))


if __name__ == "__main__":
    main()
