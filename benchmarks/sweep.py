"""Sweep throughput: points per second for N → ∞ and finite-N sweeps of I_M/N.

Compares, as ratios against a baseline run in this script:
  * 1 device vs 4 forced host devices (XLA_FLAGS=--xla_force_host_platform_device_count=4,
    run in a subprocess), for an N → ∞ sweep (mi_thermo) and an N = 40 sweep (mi_finite);
  * vmap (chunked) vs the warm-started sequential path for finite N (N = 20, 40, 80);
and runs the gradient search (maximize) for the closing note.

Each timing excludes compilation: one chunk is evaluated first (reported as ``warmup_s``).
The grid is 𝒥 = 3, h = 0.5, γ = 1, Γ evenly spaced in [1, 4].

    python3 benchmarks/sweep.py                       # the issue's sizes (long on a small CPU)
    python3 benchmarks/sweep.py --thermo-points 200 --finite-points 16 --warm-N 20,40 --warm-points 8

Prints a table and writes benchmarks/results/sweep.json.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def run_case(case: dict) -> dict:
    """One timed sweep: warm-up on one chunk (compiles), then the whole grid."""
    import jax
    import numpy as np

    import permjax
    from permjax.sweep import sweep_finite

    grid = permjax.grid(J=3.0, h=0.5, Gamma=np.linspace(1.0, 4.0, case["points"]), gamma=1.0)
    warm_grid = permjax.grid(J=3.0, h=0.5, Gamma=np.linspace(1.0, 4.0, case["chunk"]), gamma=1.0)

    def once(g):
        if case["kind"] == "thermo":
            from permjax import mi_thermo

            return permjax.sweep(mi_thermo, g, chunk_size=case["chunk"], progress=False)
        return sweep_finite(case["N"], g, warm_start=case["method"] == "sequential", chunk_size=case["chunk"],
                            progress=False, method=case["solver"])

    warmup = common.first_and_warm(lambda: once(warm_grid), repeats=0).first_s
    timed = common.first_and_warm(lambda: once(grid), repeats=0)
    res, seconds = timed.value, timed.first_s
    out = res.outputs
    mi = np.asarray(out.mi if hasattr(out, "mi") else out["mi"])
    iters = out["diagnostics"]["iterations"] if isinstance(out, dict) else None
    return {
        **case,
        "n_devices": res.n_devices if case["method"] == "vmap" else 1,
        "devices_visible": len(jax.devices()),
        "chunk_used": res.chunk_size,
        "warmup_s": warmup,
        "seconds": seconds,
        "points_per_s": case["points"] / seconds,
        "mean_iterations": float(np.mean(iters)) if iters is not None else None,
        "mi": mi.tolist(),
    }


def in_subprocess(case: dict, devices: int, timeout: float) -> dict:
    """``run_case`` in a fresh process that sees ``devices`` forced host devices."""
    r = common.fresh_process(run_case, case, timeout=timeout, env={
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"})
    if "error" in r:
        raise RuntimeError(f"worker failed: {r['error']}")
    return r


def scan(N, h, G, solver):
    """I_M/N on a Γ grid (J = 3, γ = 1): mi_thermo for N = None, else sweep_finite."""
    import permjax

    axes = {"J": 3.0, "h": h, "Gamma": G, "gamma": 1.0}
    if N is None:
        from permjax import mi_thermo

        return permjax.sweep(mi_thermo, axes, progress=False).outputs.mi
    return permjax.sweep_finite(N, axes, method=solver, progress=False).outputs["mi"]


def run_optimizer(N_list, solver: str) -> list[dict]:
    """Gradient searches over Γ, each compared with a refined grid scan (tests/grid_reference.py)."""
    sys.path.insert(0, common.TESTS)
    from grid_reference import refined_grid_argmax

    import permjax
    from permjax import LMG

    rows = []
    cases = [("inf", 0.0, None), ("inf", 0.5, None)] + [(str(N), 0.5, N) for N in N_list]
    for label, h, N in cases:
        if N is None:
            from permjax import mi_thermo as objective
        else:
            def objective(m, N=N):
                return permjax.mi_finite(N, m, method=solver)
        timed = common.first_and_warm(lambda: permjax.maximize(objective, LMG(J=3.0, h=h, gamma=1.0),
                                                               bounds={"Gamma": (1.05, 4.0)}, starts=4), repeats=0)
        res, seconds = timed.value, timed.first_s
        G_grid, v_grid = refined_grid_argmax(lambda G, h=h, N=N: scan(N, h, G, solver), 1.05, 4.0, points=11)
        rows.append({"N": label, "h": h, "Gamma_star": res.params["Gamma"], "mi_max": float(res.value),
                     "grad_norm": float(res.grad_norm), "converged": res.converged, "steps": res.steps,
                     "seconds": seconds, "Gamma_grid": float(G_grid), "mi_grid": float(v_grid),
                     "abs_dGamma_vs_grid": abs(res.params["Gamma"] - float(G_grid))})
        print(f"maximize N={label} h={h}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--thermo-points", type=int, default=1000)
    p.add_argument("--thermo-chunk", type=int, default=256)
    p.add_argument("--finite-N", type=int, default=40)
    p.add_argument("--finite-points", type=int, default=100)
    p.add_argument("--finite-chunk", type=int, default=8)
    p.add_argument("--warm-N", default="20,40,80", help="N values for vmap vs warm-started sequential")
    p.add_argument("--warm-points", type=int, default=100)
    p.add_argument("--optimize-N", default="40", help="finite N values for the gradient search ('' to skip)")
    p.add_argument("--solver", default="gmres", help="steady_state method for finite N (default gmres)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: thermo,finite,warm,optimize")
    p.add_argument("--timeout", type=float, default=3600, help="seconds a case's fresh process may take")
    args = p.parse_args(argv)

    skip = set(filter(None, args.skip.split(",")))
    rows = []
    report = {"solver": args.solver, "rows": rows}  # write_results adds the machine

    def add(label, baseline, result):
        import numpy as np

        result["section"] = label
        result["speedup_vs_baseline"] = result["points_per_s"] / baseline["points_per_s"]
        result["max_abs_diff_vs_baseline"] = float(np.max(np.abs(np.subtract(result["mi"], baseline["mi"]))))
        rows.append(result)

    if "thermo" not in skip:
        case = {"kind": "thermo", "N": None, "points": args.thermo_points, "chunk": args.thermo_chunk, "method": "vmap"}
        base = in_subprocess(case, 1, args.timeout)
        add("N=inf, 1 device (baseline)", base, base)
        add("N=inf, 4 host devices", base, in_subprocess(case, 4, args.timeout))
    if "finite" not in skip:
        case = {"kind": "finite", "N": args.finite_N, "points": args.finite_points, "chunk": args.finite_chunk,
                "method": "vmap", "solver": args.solver}
        base = in_subprocess(case, 1, args.timeout)
        add(f"N={args.finite_N}, 1 device (baseline)", base, base)
        add(f"N={args.finite_N}, 4 host devices", base, in_subprocess(case, 4, args.timeout))
    if "warm" not in skip:
        for N in [int(n) for n in args.warm_N.split(",") if n]:
            case = {"kind": "finite", "N": N, "points": args.warm_points, "chunk": args.finite_chunk, "method": "vmap",
                    "solver": args.solver}
            base = in_subprocess(case, 1, args.timeout)
            add(f"N={N}, vmap (baseline)", base, base)
            add(f"N={N}, warm-started sequential", base, in_subprocess({**case, "method": "sequential"}, 1, args.timeout))

    print(common.table(rows, [
        ("case", "section"), ("points", "points"), ("dev", "n_devices"), ("chunk", "chunk_used"),
        ("warmup s", "warmup_s", ".2f"), ("run s", "seconds", ".2f"), ("pts/s", "points_per_s", ".3g"),
        ("ratio", "speedup_vs_baseline", ".2f"), ("iters", "mean_iterations", ".0f"),
        ("max|Δ|", "max_abs_diff_vs_baseline", ".1e")]))

    if "optimize" not in skip:
        report["optimize"] = run_optimizer([int(n) for n in args.optimize_N.split(",") if n], args.solver)
        print("\nmaximize I_M/N over Gamma")
        print(common.table(report["optimize"], [
            ("N", "N"), ("h", "h"), ("Gamma*", "Gamma_star", ".8f"), ("I_M/N max", "mi_max", ".12f"),
            ("|grad|", "grad_norm", ".1e"), ("conv", "converged"), ("steps", "steps"), ("s", "seconds", ".1f"),
            ("Gamma grid", "Gamma_grid", ".8f"), ("|dGamma|", "abs_dGamma_vs_grid", ".1e")]))

    print()
    common.write_results("sweep", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
