"""``permjax optimize``: maximise I_M/N by bounded multi-start gradient ascent."""

from __future__ import annotations

import functools
import time

from . import common
from .common import (add_method_flags, solver_from_args, add_family_flags, add_json_flag, _add_memory_flag, _add_N_flag, _bounds_item, CLIError,
                     DEFAULT_FAMILY, emit, _finite_float, _limit_label, _mi_text,
                     model_from_args, _model_label, _positive_int)

def run(args) -> None:
    from ..models.parameters import default_bounds, default_over, parameter_names, point_name, values
    from ..optimize import maximize

    model = model_from_args(args)
    names = parameter_names(model)
    over = tuple(args.over or default_over(model))
    if not over:
        raise ValueError(f"--over is needed: name a parameter of {point_name(model)} among {', '.join(names)}")
    for name in over:
        if name not in names:
            raise CLIError(f"argument --over: invalid choice: {name!r} (choose from {', '.join(names)})")
    family_bounds = default_bounds(model)
    bounds = {p: family_bounds[p] for p in over if p in family_bounds}
    for name, lohi in args.bounds or []:
        if name not in over:
            raise ValueError(f"--bounds {name}=... given but {name} is not optimised (--over {name})")
        bounds[name] = lohi
    for name in over:
        if name not in bounds:
            raise ValueError(f"--bounds {name}=LO,HI is needed: {point_name(model)} gives no default search box for {name}")
    solver = None
    if args.N is not None:
        from ..solvers import Auto
        from ..sweep import grid

        solver = solver_from_args(args, batch=True)
        if isinstance(solver, Auto):  # the rule sees the corners of the search box (nothing held at a special value)
            solver = solver.select(args.N, grid(family=model, **{p: list(bounds[p]) for p in over}))
    t0 = time.perf_counter()
    objective = common._mi_function(args.N, solver)
    if args.N is not None and args.no_memory_check:
        objective = functools.partial(objective, memory_check=False)
    res = maximize(objective, model, over=over, bounds=bounds, steps=args.steps, starts=args.starts, gtol=args.gtol)
    record = {"N": args.N, "solver": solver and solver.name, "family": point_name(model), "bounds": bounds, **res.as_dict(),
              "seconds": time.perf_counter() - t0}
    lines = [
        f"maximise I_M/N ({_limit_label(args.N)}{f', solver {solver.name}' if solver else ''}) over {', '.join(over)}; "
        f"fixed: {_model_label(model)}",
        *(f"{p:<9} = {v:.10g}   (bounds {bounds[p][0]:g}, {bounds[p][1]:g})" for p, v in res.params.items()),
        f"I_M/N     = {_mi_text(float(res.value))}",
        f"|grad|    = {float(res.grad_norm):.3g}   converged = {res.converged}   steps = {res.steps}",
        f"starts    = {len(res.start_values)}: values {', '.join(f'{v:.8g}' for v in res.start_values)}",
        f"seconds   = {record['seconds']:.3f}",
    ]
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "optimize",
        help="maximise I_M/N over chosen parameters by bounded multi-start gradient ascent",
        description="Maximise I_M/N over the parameters named by --over (L-BFGS on a sigmoid "
        "reparametrisation of the bounds; several starts). The model flags fix the others. "
        "Default bounds: the family's (" + DEFAULT_FAMILY.NAME + ": "
        + ", ".join(f"{k}={lo:g},{hi:g}" for k, (lo, hi) in DEFAULT_FAMILY.BOUNDS.items())
        + "; a model file's [parameters] bounds).",
    )
    add_family_flags(p)
    _add_N_flag(p)
    p.add_argument("--over", action="append", metavar="NAME",
                   help="a parameter to optimise (repeatable; default: the family's, "
                   + ", ".join(DEFAULT_FAMILY.OPTIMIZE) + " for " + DEFAULT_FAMILY.NAME + ")")
    p.add_argument("--bounds", action="append", type=_bounds_item, metavar="NAME=LO,HI", help="bounds of an optimised parameter (repeatable)")
    p.add_argument("--steps", type=_positive_int, default=100, help="maximum optimiser steps per start (default 100)")
    p.add_argument("--starts", type=_positive_int, default=4, help="number of starts (default 4)")
    p.add_argument("--gtol", type=_finite_float, default=1e-8, help="convergence: projected gradient norm below this (default 1e-8)")
    add_method_flags(p, tolerance=False, what="with --N: ")
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)
