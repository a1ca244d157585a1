"""The benchmark tables that are kept as data, rendered as Markdown from their JSON files.

``docs/hooks.py`` calls ``expand`` on ``docs/benchmarks.md`` while mkdocs builds the site: each
marker ``<!-- bench: NAME -->`` on a line of its own is replaced by the table ``TABLES[NAME]``
renders from its file (the scripts in ``benchmarks/`` write them). Run it alone to print the
expanded page: ``python3 docs/gen_benchmarks.py``.
"""

from __future__ import annotations

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"^<!-- bench: ([a-z_]+) -->$", re.M)


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _sci(x: float, digits: int = 0) -> str:
    """1.4·10⁻¹³ style."""
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    sup = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa}·10{sup}"


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 100 else f"{s:.0f} s"


def _machine(data: dict) -> str:
    cpus = data.get("cpus")
    return f"{cpus}-core CPU" if cpus else "CPU"


def symmetric(path: pathlib.Path = RESULTS / "symmetric.json") -> str:
    """``benchmarks/symmetric.py``: the symmetric block by sparse LU (``Direct``) against GMRES,
    a boundary time crystal below (ω = 0.3) and above (ω = 2) its transition."""
    data = _load(path)
    by = {}
    for r in data["rows"]:
        by.setdefault(r["N"], {})[r["omega"]] = r
    omegas = sorted({r["omega"] for r in data["rows"]})
    header = ["N"]
    for w in omegas:
        header += [f"ω = {w:g}: sparse LU", "peak / estimate"]
    header.append("GMRES, same block (" + ", ".join(f"ω = {w:g}" for w in omegas) + ")")
    rows = []
    for N in sorted(by):
        row = [str(N)]
        gm = []
        for w in omegas:
            r = by[N].get(w)
            if r is None:
                row += ["—", "—"]
                continue
            d = r["direct"]
            row += [_seconds(d["seconds"]), f"{d['peak_gb']:.2f} / {d['estimate_gb']:.2f} GB"]
            g = r.get("gmres", {})
            if "seconds" in g:
                gm.append(f"{_seconds(g['seconds'])} ({g['iterations']:,} it.)")
        row.append(", ".join(gm) if gm else "—")
        rows.append(row)
    lu = max(r["direct"]["residual"] for r in data["rows"])
    gm = max((r["gmres"]["residual"] for r in data["rows"] if "residual" in r.get("gmres", {})), default=None)
    diff = max(r.get("mi_difference", 0.0) for r in data["rows"])
    note = (f"\n\nFrom `benchmarks/results/symmetric.json` ({_machine(data)}, machine `{data.get('machine', '?')}`). "
            f"Residuals ≤ {_sci(lu, 1)} (sparse LU)" + ("" if gm is None else f", ≤ {_sci(gm, 1)} (GMRES)")
            + f"; GMRES and the sparse LU agree to {_sci(diff, 0)} in I_M/N.")
    return _table(header, rows) + note


def jblock(path: pathlib.Path = RESULTS / "jblock.json") -> str:
    """``benchmarks/jblock.py``: GMRES (q-conserving preconditioner) against JBlock (J-conserving)."""
    data = _load(path)
    names = {"lmg": "LMG (paper point)", "btc": "BTC + dephasing", "xyz": "XYZ + field",
             "XYZ Jy=-3": "XYZ J_y = −3", "XYZ Jy=-0.75": "XYZ J_y = −0.75", "XYZ Jy=3": "XYZ J_y = 3"}
    header = ["model", "N", "GMRES it.", "first / warm", "JBlock it.", "first / warm", "JBlock peak / estimate",
              "difference in I_M/N"]
    rows = []
    for r in data["rows"]:
        g, j = r["gmres"], r["jblock"]
        g_it = f"{g['iterations']:,}" + ("" if g.get("converged", True) else " (stalled)")
        j_it = f"{j['iterations']:,}" + ("" if j.get("converged", True) else " (stalled)")
        diff = r.get("mi_difference")
        rows.append([names.get(r["model"], r["model"]), str(r["N"]), g_it,
                     f"{g['first_s']:.1f} / {g['warm_s']:.1f} s", j_it, f"{j['first_s']:.1f} / {j['warm_s']:.1f} s",
                     f"{j['peak_gb']:.2f} / {j['estimate_gb']:.2f} GB", "—" if diff is None else _sci(diff)])
    note = (f"\n\nFrom `benchmarks/results/jblock.json` ({_machine(data)}, machine `{data.get('machine', '?')}`, "
            "one fresh process per entry). Peak memory is the resident memory the solve added.")
    return _table(header, rows) + note


def reach(path: pathlib.Path = RESULTS / "reach_cpu_160_240.json") -> str:
    """``benchmarks/reach.py --N 160 240``: GMRES at the paper's point at the largest N on the CPU."""
    data = _load(path)
    header = ["N", "GMRES iterations", "warm solve", "first call", "peak memory", "residual", "I_M/N"]
    rows = []
    for r in data["rows"]:
        g = r["gmres"]
        rows.append([str(r["N"]), str(g["iterations"]), _seconds(g["solve_s"]), _seconds(g["first_s"]),
                     f"{g['peak_mb'] / 1000:.1f} GB", _sci(g["residual"], 1), f"{g['mi']:.6f}"])
    m = data.get("model", {})
    point = ", ".join(f"{k} = {v:g}" for k, v in m.items())
    note = (f"\n\nFrom `benchmarks/results/reach_cpu_160_240.json` ({point}; devices "
            f"{', '.join(data.get('devices', []))}; idle 2-core CPU, Liouvillian fused, Krylov basis of 20 grid "
            f"vectors). Warm-solve growth exponent N^{data['growth_exponent_solve']:.1f} from N = 160 to 240.")
    proj = data.get("memory_projection")
    if proj:
        note += " Projected memory: " + "; ".join(
            f"N = {N}: factors {v['factor_gib']:.2f} GiB, Krylov basis {v['krylov_gib']:.2f} GiB" for N, v in proj.items()) + "."
    return _table(header, rows) + note


def thermo_gpu(path: pathlib.Path = ROOT / "docs" / "gpu" / "thermo_gpu.json") -> str:
    """``benchmarks/thermo.py --gpu --sweep-only``: vmapped mean-field Γ sweeps on a GPU."""
    data = _load(path)
    header = ["points", "seconds", "points/s", "compile", "fixed point / limit cycle / not resolved"]
    rows = [[f"{r['points']:,}", f"{r['seconds']:.2f} s", f"{r['points_per_s']:.0f}", f"{r['compile_s']:.0f} s",
             " / ".join(str(k) for k in r["kinds_fp_cycle_unresolved"])] for r in data["sweep"]]
    note = (f"\n\nFrom `docs/gpu/thermo_gpu.json` (backend {data['backend']}, jax {data['jax']}, "
            f"{data['devices']}: one NVIDIA H200).")
    return _table(header, rows) + note


def drift_forms(path: pathlib.Path = RESULTS / "drift_forms.json") -> str:
    """``benchmarks/drift_forms.py``: the mean-field drift as a polynomial (``DriftPolynomial``)
    against d×d matrices (``DriftMatrix``), per evaluation and inside ``mi_thermo``."""
    data = _load(path)
    meta = data.get("meta", {})
    batch = meta.get("batch", 64)

    def us(x):
        if x is None:
            return "—"
        return f"{x * 1e6:.3g} µs" if x < 1e-3 else f"{x * 1e3:.3g} ms"

    header = ["d", "n = d² − 1", "polynomial: f(ξ)", "matrix: f(ξ)", f"polynomial: f, vmap {batch}",
              f"matrix: f, vmap {batch}", "polynomial / matrix leaves"]
    rows = []
    for r in data["rows"]:
        p, m = r.get("polynomial") or {}, r.get("matrix") or {}
        leaves = f"{p['leaf_bytes']:,} / {m['leaf_bytes']:,} B" if "leaf_bytes" in p and "leaf_bytes" in m else "—"
        rows.append([str(r["d"]), str(r["n"]), us(p.get("eval")), us(m.get("eval")), us(p.get("eval_vmap64")),
                     us(m.get("eval_vmap64")), leaves])
    out = _table(header, rows)
    thermo = data.get("mi_thermo") or []
    if thermo:
        out += "\n\n" + _table(["d", "`mi_thermo`, polynomial", "`mi_thermo`, matrix", "\\|Δ I_M/N\\|"],
                                [[str(r["d"]), f"{r['polynomial'] * 1e3:.0f} ms", f"{r['matrix'] * 1e3:.0f} ms",
                                  (_sci(abs(r["polynomial_mi"] - r["matrix_mi"]), 0) if r["polynomial_mi"] != r["matrix_mi"] else "0")] for r in thermo])
    note = (f"\n\nFrom `benchmarks/results/drift_forms.json` ({meta.get('cpu_count', '?')}-core CPU, jax "
            f"{meta.get('jax', '?')}; warm times: one evaluation of the drift, one `mi_thermo` call). `make_drift` takes the polynomial up to "
            f"d = {meta.get('polynomial_max_d', '?')} (`POLYNOMIAL_MAX_D`) and the matrix form above.")
    return out + note


def startup(path: pathlib.Path = RESULTS / "startup.json") -> str:
    """``benchmarks/startup.py``: fresh-process wall times against a baseline checkout, with an
    empty and with a filled persistent compilation cache."""
    data = _load(path)
    rows = [[f"`{r['case']}`", f"{r['baseline_cold_s']:.2f}", f"{r['cold_s']:.2f}", f"{r['cold_ratio']:.2f}×",
             f"{r['baseline_warm_cache_s']:.2f}", f"{r['warm_cache_s']:.2f}", f"{r['warm_cache_ratio']:.2f}×"]
            for r in data["rows"]]
    out = _table(["case", "baseline, empty cache (s)", "empty cache (s)", "gain", "baseline, filled cache (s)",
                  "filled cache (s)", "gain"], rows)
    machine = data.get("machine") or {}
    piqs = data.get("piqs")
    if piqs:
        fin = next((r for r in data["rows"] if r["case"] == f"permjax finite --N {piqs['N']}"), None)
        if fin:
            out += (f"\n\nReference: the QuTiP piqs pipeline at N = {piqs['N']} (Liouvillian, SuperLU, I_M/N) in a "
                    f"fresh process took {piqs['wall_s']:.2f} s: {piqs['wall_s'] / fin['cold_s']:.2f}× the time of "
                    f"`permjax finite --N {piqs['N']}` with an empty cache, {piqs['wall_s'] / fin['warm_cache_s']:.2f}× "
                    "with a filled one.")
    return out + (f"\n\nFrom `benchmarks/results/startup.json` ({_machine(machine)}, baseline `{data['baseline']}`, "
                  f"{data.get('repeats', 1)} run(s) per cell, wall seconds of the whole process).")


def thermo_sweep(path: pathlib.Path = RESULTS / "thermo_sweep.json") -> str:
    """``benchmarks/thermo_sweep.py``: one ``jit(vmap(mi_thermo))`` over an LMG grid against a
    baseline checkout, fresh processes with empty caches."""
    data = _load(path)
    rows = [[r["case"], f"{r['baseline_first_s']:.1f}", f"{r['first_s']:.1f}", f"{r['baseline_pts_per_s']:.0f}",
             f"{r['pts_per_s']:.0f}", f"{r['warm_ratio']:.1f}×", f"{r['baseline_single_ms']:.0f}",
             f"{r['single_ms']:.0f}", _sci(r["max_abs_dmi"], 0) if r.get("max_abs_dmi") else "0"]
            for r in data["rows"]]
    out = _table(["sweep", "baseline first call (s)", "first call (s)", "baseline points/s", "points/s", "gain",
                  "baseline one point (ms)", "one point (ms)", "max \\|Δ I_M/N\\|"], rows)
    machine = data.get("machine") or {}
    return out + (f"\n\nFrom `benchmarks/results/thermo_sweep.json` ({_machine(machine)}, baseline "
                  f"`{data['baseline']}`; first call: tracing and compilation included; points/s: warm, median of "
                  f"{data.get('repeats', 1)}; one point: warm, median of 20).")


def small(path: pathlib.Path = RESULTS / "small.json") -> str:
    """``benchmarks/small.py``: the host paths for small problems (sparse LU steady states,
    ``expm_multiply`` time evolution) against the Krylov solvers and diffrax, fresh processes."""
    data = _load(path)
    f = lambda x: "—" if x is None else f"{x:.2f}"
    ms = lambda x: "—" if x is None else f"{1e3 * x:.0f}"
    rows = [[r["case"], f"{r['method']} / {r['baseline']}", f"{f(r['empty_first_s'])} / {f(r['baseline_empty_first_s'])}",
             f"{f(r['filled_first_s'])} / {f(r['baseline_filled_first_s'])}", f"{ms(r['warm_s'])} / {ms(r['baseline_warm_s'])}",
             _sci(r["max_abs_diff"], 0) if r.get("max_abs_diff") else "0"] for r in data["rows"]]
    out = _table(["case", "method / baseline", "first call, empty cache (s)", "first call, filled cache (s)",
                  "warm (ms)", "max \\|Δ\\|"], rows)
    machine = data.get("machine") or {}
    return out + (f"\n\nFrom `benchmarks/results/small.json` ({_machine(machine)}; each cell one fresh process; "
                  "warm: median of 3 calls with other parameters; max |Δ|: between the two methods' values).")


def versions_gpu(sweep: pathlib.Path = ROOT / "docs" / "gpu" / "versions_gpu.json",
                 finite: pathlib.Path = ROOT / "docs" / "gpu" / "versions_gpu_400.json") -> str:
    """``benchmarks/versions.py`` on a GPU: the 1000-point sweep against the baseline folder in the
    same call, and N = 400 of this version alone."""
    rows = []
    for r in _load(sweep)["rows"]:
        rows.append([r["case"], f"{r['baseline_first_s']:.1f} / {r['first_s']:.1f}",
                     f"{r['baseline_pts_per_s']:.0f} / {r['pts_per_s']:.0f} points/s",
                     f"{r['baseline_single_ms'] / 1e3:.2f} / {r['single_ms'] / 1e3:.2f}",
                     f"{_sci(r['max_abs_dmi'], 0)}; NaNs agree: {r['nan_agree']}"])
    for r in _load(finite)["rows"]:
        rows.append([r["case"], f"— / {r['first_s']:.1f}", f"— / {r['warm_s']:.1f} s warm ({r['iterations']} iterations, "
                     f"residual {_sci(r['residual'], 1)}, device peak {r['peak_device_gib']:.1f} GiB)", "—", "—"])
    return _table(["case", "first call (s): baseline / now", "warm: baseline / now", "one point warm (s): baseline / now",
                   "max \\|Δ I_M/N\\|"], rows) + (
        "\n\nFrom `docs/gpu/versions_gpu.json` and `docs/gpu/versions_gpu_400.json` (one NVIDIA H200, jax 0.11.2; "
        "each cell one fresh process with an empty compilation cache; warm: one call).")


TABLES = {"versions_gpu": versions_gpu, "small": small, "thermo_sweep": thermo_sweep, "startup": startup, "symmetric": symmetric, "jblock": jblock, "reach": reach, "thermo_gpu": thermo_gpu,
          "drift_forms": drift_forms}


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- bench: NAME -->`` line replaced by its table."""

    def table(m):
        name = m.group(1)
        if name not in TABLES:
            raise KeyError(f"docs/benchmarks.md: unknown benchmark table {name!r}; known: {sorted(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(table, markdown)


if __name__ == "__main__":
    print(expand((ROOT / "docs" / "benchmarks.md").read_text()))
