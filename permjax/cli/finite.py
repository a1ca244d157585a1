"""``permjax finite``: the exact finite-N steady state and its I_M/N."""

from __future__ import annotations

import time

from .common import (_add_memory_flag, _finite_N, _mi_text, _model_label, add_family_flags, add_json_flag,
                     add_method_flags, emit, model_from_args, solver_from_args)


def run(args) -> None:
    import numpy as np

    from ..dicke import magnetization, mutual_information
    from ..solvers import steady_state
    from ..models.parameters import point_name, values

    model = model_from_args(args)
    t0 = time.perf_counter()
    solver = solver_from_args(args)
    state = steady_state(args.N, model, method=solver, memory_check=not args.no_memory_check)
    mi = float(mutual_information(state)) / state.N + 0.0  # a zero never as -0
    m = [float(v) for v in np.asarray(magnetization(state))]
    seconds = time.perf_counter() - t0
    diag = state.diagnostics.as_dict()
    record = {"N": state.N, "family": point_name(model), "model": values(model), "mi_per_N": mi, "m": m,
              "diagnostics": diag, "seconds": seconds}
    lines = [
        f"finite N = {state.N}, {_model_label(model)}",
        f"I_M/N      = {_mi_text(mi)}",
        f"<m>        = ({', '.join(f'{v:.8g}' for v in m)})",
        f"residual   = {diag['residual']:.3g}   (|L rho|/|rho|)",
        f"iterations = {diag['iterations']}   ({solver.name}, status {diag['status']})",
        f"seconds    = {seconds:.3f}",
    ]
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
    p = sub.add_parser("finite", help="exact finite-N I_M/N from the Dicke-basis steady state (Eqs. 20-29)")
    p.add_argument("--N", type=_finite_N, default=40, help="number of units, >= 2 (default 40)")
    add_family_flags(p)
    add_method_flags(p)
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)
