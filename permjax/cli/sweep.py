"""``permjax sweep``: I_M/N over a parameter grid."""

from __future__ import annotations

from . import common
from .common import (add_method_flags, solver_from_args, add_family_flags, add_json_flag, _add_memory_flag, _add_N_flag, _axis_values, emit,
                     _limit_label, model_values_from_args, _positive_int, RANGE_HELP)

def run(args) -> None:
    from ..sweep import grid, sweep, sweep_finite

    from ..files import check_output_file

    if args.out is not None:  # before computing: an unusable path fails now, not after the sweep
        check_output_file(args.out, (".csv", ".json"))
    base, axes = model_values_from_args(args)
    models = grid(family=base, **axes)
    if args.N is None:
        if args.warm_start:
            raise ValueError("--warm-start needs --N (it warm-starts the finite-N steady-state solves)")
        res = sweep(common._mi_function(None), models, chunk_size=args.chunk_size or 256, progress=not args.quiet)
    else:
        res = sweep_finite(args.N, models, warm_start=args.warm_start, chunk_size=args.chunk_size,
                           progress=not args.quiet, method=solver_from_args(args, batch=True),
                           memory_check=not args.no_memory_check)
    if args.out is not None:
        (res.to_csv if args.out.endswith(".csv") else res.to_json)(args.out)
    record = {"N": args.N, **res.to_json(), "out": args.out}
    lines = [
        f"{_limit_label(args.N)}, {res.n_points} points on {res.n_devices} device(s), {res.seconds:.3f} s"
        + (f", solver {res.solver} ({res.method})" if res.solver else ""),
        res.table(),
    ] + ([f"written to {args.out}"] if args.out else [])
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "sweep",
        help="I_M/N over a parameter grid (vmap in chunks, sharded over all devices)",
        description="Evaluate I_M/N over a grid of models. " + RANGE_HELP + ".",
    )
    add_family_flags(p, value_type=_axis_values, axes=True)
    _add_N_flag(p)
    p.add_argument("--out", default=None, help="also write the table to this .csv or .json file")
    p.add_argument("--chunk-size", type=_positive_int, default=None, help="points evaluated at once (default 256; 64 with --N, 16 with --warm-start)")
    p.add_argument("--warm-start", action="store_true", help="with --N: solve the points in order, each from its neighbour's steady state")
    add_method_flags(p, tolerance=False, what="with --N: ")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)
