"""Finite-N I_M/N at single model points, cached as rows of a CSV (shared by the scripts here).

``finite_point`` solves one steady state (``permjax.steady_state``, ``on_failure="warn"``) and
returns its row: I_M/N (Eqs. 27–29), the solver's residual, iterations, whether it converged,
and the wall time. A row that did not converge keeps its number but says so; readers must not
treat it as a result. ``read_rows`` / ``write_rows`` keep the CSV resumable: the caller skips
the keys already present and rewrites the file (atomically) after each new row.
"""

from __future__ import annotations

import csv
import os
import time
import warnings

FIELDS = ["N", "mi_per_N", "converged", "residual", "iterations", "method", "seconds", "note"]


def finite_point(N: int, point, method: str = "gmres", maxiter: int | None = None) -> dict:
    """One finite-N solve of a family point or ``PIModel``: a CSV row (``FIELDS``).
    ``maxiter``: iteration cap (``None``: the solver's default)."""
    import jax

    import permjax

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        state = permjax.steady_state(N, point, method=method, maxiter=maxiter, on_failure="warn")
        jax.block_until_ready(state.blocks)
        mi = float(permjax.mutual_information(state)) / N
    seconds = time.perf_counter() - t0
    d = state.diagnostics.as_dict()
    note = "; ".join(str(w.message).splitlines()[0] for w in caught if issubclass(w.category, RuntimeWarning))
    return dict(N=N, mi_per_N=mi, converged=bool(d["converged"]), residual=float(d["residual"]),
                iterations=int(d["iterations"]), method=method, seconds=seconds, note=note)


def read_rows(path: str) -> list[dict]:
    """The rows of a cache CSV (strings as written), or [] when it does not exist."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path: str, rows: list[dict], fields: list[str]) -> None:
    """Write all rows at once (atomically: the file is complete or unchanged)."""
    from permjax.files import atomic_write

    with atomic_write(path, newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in fields})


def _fmt(v):
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.12g}"
    return v


def trusted(row: dict) -> bool:
    """A cached row whose solve converged and whose value is a number."""
    return str(row.get("converged")) == "True" and row.get("mi_per_N", "") not in ("", "nan")
