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
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import finite  # noqa: E402  (the piqs worker and the model of the finite-N benchmark)

MODEL = finite.MODEL


def vm_hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _steady(N, method, out):
    import jax

    import permjax
    from permjax.solvers import steady_state

    model = permjax.LMG(**MODEL)
    t0 = time.perf_counter()
    st = steady_state(N, model, method=method)
    jax.block_until_ready(st.blocks)
    first = time.perf_counter() - t0
    ts = []
    for _ in range(2 if N <= 120 else 1):
        t0 = time.perf_counter()
        st = steady_state(N, model, method=method)
        jax.block_until_ready(st.blocks)
        ts.append(time.perf_counter() - t0)
    d = st.diagnostics.as_dict()
    out.put(dict(mi=float(permjax.mutual_information(st)) / N, first_s=first, solve_s=float(np.median(ts)),
                 iterations=d["iterations"], residual=d["residual"], peak_mb=vm_hwm_mb(),
                 devices=[str(x) for x in jax.devices()]))


def _gmres(N, out):
    _steady(N, "gmres", out)


def _cgls(N, out):
    _steady(N, "cgls", out)


def _piqs(N, out):
    finite._piqs(N, out)


def _grad(N, out):
    import jax

    import permjax

    def mi(G):
        return permjax.mi_finite(N, permjax.LMG(MODEL["J"], MODEL["h"], G, MODEL["gamma"]), method="gmres")

    forward, both = jax.jit(mi), jax.jit(jax.value_and_grad(mi))
    G = MODEL["Gamma"]
    times = {}
    for name, fn in (("forward", forward), ("value_and_grad", both)):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(G))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        val = jax.block_until_ready(fn(G + 1e-3))
        times[name] = dict(first_s=first, warm_s=time.perf_counter() - t0)
    out.put(dict(**{f"{k}_{q}": v for k, d in times.items() for q, v in d.items()},
                 ratio=times["value_and_grad"]["warm_s"] / times["forward"]["warm_s"],
                 mi=float(val[0]), dmi_dGamma=float(val[1]), peak_mb=vm_hwm_mb()))


def _rates(N, out):
    import jax

    import permjax
    from permjax.solvers.rates import mi_rates, steady_populations

    model = permjax.LMG(MODEL["J"], 0.0, MODEL["Gamma"], MODEL["gamma"])
    t0 = time.perf_counter()
    sol = steady_populations(N, model)
    jax.block_until_ready(sol.populations)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = steady_populations(N, model)
    jax.block_until_ready(sol.populations)
    solve = time.perf_counter() - t0
    out.put(dict(first_s=first, solve_s=solve, mi=float(mi_rates(N, model)), peak_mb=vm_hwm_mb(),
                 **sol.diagnostics_dict()))


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
        row = dict(N=N, gmres=finite.run_isolated(_gmres, N, args.timeout))
        if N <= args.cgls_max:
            row["cgls"] = finite.run_isolated(_cgls, N, args.timeout)
        if N <= args.piqs_max:
            row["piqs"] = finite.run_isolated(_piqs, N, args.timeout)
        rows.append(row)
        print(f"N={N} done: {row}", file=sys.stderr, flush=True)
    rates = [dict(N=N, rates=finite.run_isolated(_rates, N, args.timeout)) for N in args.rates_N]
    grads = [dict(N=N, grad=finite.run_isolated(_grad, N, args.timeout)) for N in args.grad_N]
    devices = next((r["gmres"]["devices"] for r in rows if "devices" in r["gmres"]), None)

    print(f"finite-N steady state, LMG {MODEL}; devices {devices}; relative residual target 1e-10")
    print(f"{'N':>4} | {'gmres: it':>9} {'solve':>8} {'1st call':>8} {'peak MB':>8} {'resid':>8} | "
          f"{'cgls: it':>8} {'solve':>8} | {'piqs total':>10} | {'piqs/gmres':>10} {'cgls/gmres':>10} {'|dI/N| piqs':>11}")
    for r in rows:
        g, c, p = r["gmres"], r.get("cgls", {}), r.get("piqs", {})
        gs = (f"{g['iterations']:>9} {g['solve_s']:>7.2f}s {g['first_s']:>7.2f}s {g['peak_mb']:>8.0f} {g['residual']:>8.1e}"
              if "error" not in g else f"{g['error']:>46}")
        cs = f"{c['iterations']:>8} {c['solve_s']:>7.2f}s" if c and "error" not in c else f"{c.get('error', '-'):>17}"
        ps = f"{p['total_s']:>9.2f}s" if p and "error" not in p else f"{p.get('error', '-'):>10}"
        ok = "error" not in g
        rp = f"{p['total_s'] / g['solve_s']:>10.1f}" if ok and p and "error" not in p else f"{'-':>10}"
        rc = f"{c['solve_s'] / g['solve_s']:>10.1f}" if ok and c and "error" not in c else f"{'-':>10}"
        dm = f"{abs(p['mi'] - g['mi']):>11.1e}" if ok and p and "error" not in p else f"{'-':>11}"
        print(f"{r['N']:>4} | {gs} | {cs} | {ps} | {rp} {rc} {dm}")
    ex_solve, ex_first = growth_exponent(rows, "solve_s"), growth_exponent(rows, "first_s")
    print(f"growth exponent (N >= 40): warm solve ~ N^{ex_solve:.2f}, first call ~ N^{ex_first:.2f}"
          if ex_solve is not None else "growth exponent: not enough rows")
    print("piqs/gmres: piqs build+solve over gmres warm solve; cgls/gmres: warm solve ratio")
    print(f"\nh = 0, rate equations (Γ = {MODEL['Gamma']}):")
    print(f"{'N':>6} | {'1st call':>8} {'solve':>8} {'states':>9} {'residual':>9} {'peak MB':>8} {'I_M/N':>14}")
    for r in rates:
        x = r["rates"]
        print(f"{r['N']:>6} | " + (f"{x['first_s']:>7.2f}s {x['solve_s']:>7.2f}s {x['window_states']:>9} "
                                   f"{x['residual']:>9.1e} {x['peak_mb']:>8.0f} {x['mi']:>14.10f}"
                                   if "error" not in x else x["error"]))
    if grads:
        print("\nvalue_and_grad of I_M/N w.r.t. Γ against the forward solve (warm, same process):")
        print(f"{'N':>6} | {'forward':>8} {'v&g':>8} {'ratio':>6} | {'1st fwd':>8} {'1st v&g':>8} {'peak MB':>8}")
        for r in grads:
            x = r["grad"]
            print(f"{r['N']:>6} | " + (f"{x['forward_warm_s']:>7.2f}s {x['value_and_grad_warm_s']:>7.2f}s "
                                       f"{x['ratio']:>6.2f} | {x['forward_first_s']:>7.2f}s "
                                       f"{x['value_and_grad_first_s']:>7.2f}s {x['peak_mb']:>8.0f}"
                                       if "error" not in x else x["error"]))
    proj = {N: memory_projection(N) for N in (160, 400)}
    print("\nmemory of the dominant arrays (exact sizes; a projection for the GPU run, not a measurement):")
    for N, m in proj.items():
        print(f"  N={N}: preconditioner factors {m['factor_gib']:.2f} GiB, GMRES basis {m['krylov_gib']:.2f} GiB")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "reach_gpu.json" if args.gpu else "reach.json")
    with open(path, "w") as f:
        json.dump(dict(model=MODEL, devices=devices, rows=rows, rates=rates, grads=grads, growth_exponent_solve=ex_solve,
                       growth_exponent_first=ex_first, memory_projection=proj), f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
