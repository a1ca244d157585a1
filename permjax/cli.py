"""The ``permjax`` command: one entry point, one subcommand per computation.

The model of ``thermo``, ``finite``, ``sweep`` and ``optimize`` is a point of a model family:
the default family's flags (LMG: ``--J --h --Gamma --gamma``, defaults the paper's 𝒥 = 3,
h = 0.5, Γ = 1.68, γ = 1, in units of γ), or ``--model FILE.toml`` (a zoo family with values, or
terms spelled out: ``permjax.models.files``) with ``--set NAME=VALUE`` for any family's
parameters (``--axis NAME=VALUES`` for sweep axes). Each subcommand prints a short
human-readable report, or one JSON object with ``--json``. Negative values may follow a flag directly (``--J -3,-1``).
Bad input exits with status 2 and a one-line message, a computation that fails with status 1
and one line; Ctrl-C (SIGINT) exits with 130 and SIGTERM with 143, after the same clean-up
(figure points finished so far stay cached; output files are written atomically, so none is
left half-written). Never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import re
import signal
import sys
import time
import warnings

from .models.zoo import LMG

#: the family of the model flags, and of every command without --model
DEFAULT_FAMILY = LMG


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        raise CLIError(message)

    def add_argument(self, *args, **kwargs):
        """Every option that takes a value states its default in --help."""
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and action.nargs != 0 and action.help and "default" not in action.help:
            if action.default not in (None, argparse.SUPPRESS):
                action.help += f" (default {action.default})"
        return action


def _finite_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return x


def _int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {n}")
        return n

    parse.__name__ = f"integer >= {minimum}"
    return parse


_positive_int = _int_at_least(1)
#: the finite-N steady state needs N >= 2 (``steady_state``); the ground state N >= 1
_finite_N = _int_at_least(2)


def _tolerance(text: str) -> float:
    from .validate import tolerance

    try:
        return tolerance(_finite_float(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _mi_text(x: float) -> str:
    """I_M/N for the report: 12 significant digits, and a zero never printed as -0."""
    return f"{x + 0.0:.12g}"


_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--flag -3,-1`` → ``--flag=-3,-1``: argparse would take ``-3,-1`` for an option; no
    permjax option starts with a digit, so a token like that after a ``--flag`` is its value."""
    out: list[str] = []
    for tok in argv:
        prev = out[-1] if out else ""
        if _NEGATIVE_VALUE.match(tok) and prev.startswith("--") and "=" not in prev and prev != "--":
            out[-1] = f"{prev}={tok}"
        else:
            out.append(tok)
    return out


def add_model_flags(p: argparse.ArgumentParser, value_type=_finite_float, names=None, help=None, **defaults) -> None:
    """Flags for the default family's parameters ``names`` (all by default); ``defaults``
    overrides the family's values, ``help`` the help texts, ``value_type`` parses them."""
    d = {**DEFAULT_FAMILY.DEFAULTS, **defaults}
    texts = {**DEFAULT_FAMILY.HELP, **(help or {})}
    for name in names or DEFAULT_FAMILY.PARAMETERS:
        p.add_argument(f"--{name}", type=value_type, default=d[name], help=f"{texts[name]} (default {d[name]:g})")


def _assignment(value_type):
    def parse(text: str):
        name, sep, rest = text.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
        return name.strip(), value_type(rest.strip())

    return parse


def add_family_flags(p: argparse.ArgumentParser, value_type=_finite_float, axes: bool = False) -> None:
    """``--model FILE``, ``--set NAME=VALUE`` and the default family's flags (``value_type``
    parses them); with ``axes``, ``--axis NAME=VALUES`` too."""
    name = DEFAULT_FAMILY.NAME
    p.add_argument("--model", metavar="FILE.toml", default=None,
                   help=f"the model: a zoo family with values, or terms spelled out (default: {name} with the flags below)")
    for par in DEFAULT_FAMILY.PARAMETERS:
        p.add_argument(f"--{par}", type=value_type, default=None,
                       help=f"{name}: {DEFAULT_FAMILY.HELP[par]} (default {DEFAULT_FAMILY.DEFAULTS[par]:g})")
    p.add_argument("--set", action="append", type=_assignment(_finite_float), metavar="NAME=VALUE",
                   help="a parameter of the model's family, e.g. a model file's (repeatable)")
    if axes:
        p.add_argument("--axis", action="append", type=_assignment(_axis_values), metavar="NAME=VALUES",
                       help="a grid axis of any family's parameter, values as for the flags above (repeatable)")


def add_json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a report")


def model_values_from_args(args):
    """(the base point, ``{name: value}``): the model file's point (or the default family's
    defaults), and the values given by the family flags, ``--set`` and ``--axis``, in order."""
    from .models.files import load_model
    from .models.parameters import check_names, point_name

    from .models.zoo import FAMILIES

    family = getattr(args, "family", None)  # ``figure husimi --family NAME``: a zoo family at its defaults
    if family is not None and args.model is not None:
        raise ValueError("give either --model or --family, not both")
    base = (load_model(args.model) if args.model is not None else FAMILIES[family]() if family is not None
            else DEFAULT_FAMILY())
    given = [(f"--{n}", n, getattr(args, n)) for n in DEFAULT_FAMILY.PARAMETERS if getattr(args, n, None) is not None]
    if given and not isinstance(base, DEFAULT_FAMILY):
        source = args.model if args.model is not None else f"--family {family}"
        raise ValueError(f"{given[0][0]} is a {DEFAULT_FAMILY.NAME} flag, but the model of {source} is "
                         f"{point_name(base)}: use --set NAME=VALUE")
    given += [("--set", n, v) for n, v in getattr(args, "set", None) or []]
    given += [("--axis", n, v) for n, v in getattr(args, "axis", None) or []]
    values = {}
    for flag, name, v in given:
        if name in values:
            raise ValueError(f"parameter {name} given twice ({flag})")
        values[name] = v
    check_names(base, values)
    return base, values


def model_from_args(args):
    """The model point of the command line (a family point or a ``PIModel``)."""
    from .models.parameters import with_parameters

    base, values = model_values_from_args(args)
    return with_parameters(base, **values) if values else base


def _model_label(model) -> str:
    from .models.parameters import point_name, values

    return f"{point_name(model)} {values(model)}"


def emit(args, record: dict, lines: list[str]) -> None:
    """Print ``record`` as JSON (``--json``) or the human-readable ``lines``."""
    if getattr(args, "json", False):
        print(json.dumps(record, default=_json_default))
    else:
        print("\n".join(lines))


def _json_default(x):
    import numpy as np

    a = np.asarray(x)
    return a.item() if a.ndim == 0 else a.tolist()


# --- subcommands -----------------------------------------------------------------------------


NOT_RESOLVED_EXIT = 3  #: exit status of ``permjax thermo`` when I_M/N is not a number (not resolved, multistable)


def _orbit_text(orbit: dict) -> str:
    if orbit["dim"]:
        return f"continuous (dimension {orbit['dim']}: a ring of attractors related by a symmetry)"
    if orbit["size"] > 1:
        return f"{orbit['size']} attractors related by a symmetry"
    return "1 attractor"


def _cmd_thermo(args) -> int:
    from .meanfield import mi_thermo
    from .models.parameters import point_name, values

    model = model_from_args(args)
    t0 = time.perf_counter()
    res = mi_thermo(model)
    mi = float(res.mi) + 0.0  # a zero never as -0
    err = float(res.mi_err)
    seconds = time.perf_counter() - t0
    orbit = res.orbit
    record = {
        "family": point_name(model),
        "model": values(model),
        "mi_per_N": mi if math.isfinite(mi) else None,
        "mi_err": err if math.isfinite(err) else None,
        "attractor": res.kind_name,
        "orbit_size": orbit["size"],
        "orbit_dim": orbit["dim"],
        "period": float(res.period) if res.has_period else None,
        "m_mean": [float(v) for v in res.m_mean],
        "m_orbit": [float(v) for v in res.m_orbit],
        "diagnostics": res.diagnostics_dict(),
        "seconds": seconds,
    }
    period = f"{record['period']:.10g}" if record["period"] is not None else "-"
    ergodic = res.kind_name in ("chaotic", "quasi-periodic")
    lines = [
        f"N -> infinity, {_model_label(model)}",
        f"I_M/N     = {_mi_text(mi)}" + (f" +- {err:.2g} (ergodic average)" if ergodic else ""),
        f"attractor = {res.kind_name}",
        f"orbit     = {_orbit_text(orbit)}",
        f"period    = {period}",
        f"<m>       = ({', '.join(f'{v:.8g}' for v in record['m_mean'])})",
        f"<m>orbit  = ({', '.join(f'{v:.8g}' for v in record['m_orbit'])})",
        (f"lyapunov  = {float(res.lyapunov):.4g} (largest exponent over the window)" if ergodic else
         f"residual  = {res.diagnostics_dict()['residual']} ({int(res.newton_steps)} Newton steps)"),
        f"seconds   = {seconds:.3f}",
    ]
    if int(res.n_attractors) > 1 or res.kind_name == "multistable":
        record["attractors"] = res.attractors()
        lines.append("orbits    = " + "; ".join(
            f"{a['kind']} I_M/N={a['mi']} ({a['fraction']:.0%} of starts, {len(a['attractors'])} attractor(s) reached)"
            for a in record["attractors"]))
    emit(args, record, lines)
    if not math.isfinite(mi):
        why = {"multistable": "attractors not related by a symmetry: their finite-N weights are not given by the "
                              "mean field (I_M/N is NaN; the orbits are listed)",
               "not resolved": "no fixed point, stable cycle or stationary ergodic average" if bool(res.finished)
               else "the integration did not finish (I_M/N is NaN)"}[res.kind_name]
        print(f"permjax: {res.kind_name}: {why}", file=sys.stderr)
        return NOT_RESOLVED_EXIT
    return 0


def _cmd_finite(args) -> None:
    import numpy as np

    from .dicke import magnetization, mutual_information
    from .solvers import steady_state
    from .models.parameters import point_name, values

    model = model_from_args(args)
    t0 = time.perf_counter()
    state = steady_state(args.N, model, tol=args.tol, maxiter=args.maxiter, method=args.method,
                         memory_check=not args.no_memory_check)
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
        f"iterations = {diag['iterations']}",
        f"seconds    = {seconds:.3f}",
    ]
    emit(args, record, lines)


# --- sweep and optimize ----------------------------------------------------------------------

RANGE_HELP = (
    "Each model flag (and --axis NAME=VALUES, for any family's parameter) takes a number (1.68), "
    "an inclusive range START:STOP:COUNT (1:4:31 is 31 evenly spaced values from 1 to 4), or a "
    "comma list (0,0.5); the grid is the outer product, in the order of the "
    + DEFAULT_FAMILY.NAME + " flags (" + ", ".join(DEFAULT_FAMILY.PARAMETERS) + "), then --set and --axis as given"
)


def _axis_values(text: str):
    """A grid axis: ``x``, ``START:STOP:COUNT`` (inclusive, evenly spaced) or ``a,b,c``."""
    import numpy as np

    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(f"a range is START:STOP:COUNT, got {text!r}")
        start, stop = _finite_float(parts[0]), _finite_float(parts[1])
        count = _positive_int(parts[2])
        return np.linspace(start, stop, count)
    if "," in text:
        return np.array([_finite_float(t) for t in text.split(",")])
    return _finite_float(text)


def _bounds_item(text: str) -> tuple[str, tuple[float, float]]:
    """``NAME=LO,HI`` → (name, (lo, hi))."""
    name, sep, rest = text.partition("=")
    lohi = rest.split(",")
    if not sep or len(lohi) != 2:
        raise argparse.ArgumentTypeError(f"bounds are NAME=LO,HI (e.g. Gamma=1,4), got {text!r}")
    return name.strip(), (_finite_float(lohi[0]), _finite_float(lohi[1]))


def _mi_function(N, method: str = "auto"):
    """I_M/N as a function of one model: mi_thermo (N → ∞) or mi_finite at fixed N."""
    import functools

    if N is None:
        from .meanfield import mi_thermo

        return mi_thermo
    from .solvers import mi_finite

    return functools.partial(mi_finite, N, method=method)


def _limit_label(N) -> str:
    return "N -> infinity" if N is None else f"N = {N}"


def _cmd_sweep(args) -> None:
    from .sweep import grid, sweep, sweep_finite

    from .files import check_output_file

    if args.out is not None:  # before computing: an unusable path fails now, not after the sweep
        check_output_file(args.out, (".csv", ".json"))
    base, axes = model_values_from_args(args)
    models = grid(family=base, **axes)
    if args.N is None:
        if args.warm_start:
            raise ValueError("--warm-start needs --N (it warm-starts the finite-N steady-state solves)")
        res = sweep(_mi_function(None), models, chunk_size=args.chunk_size or 256, progress=not args.quiet)
    else:
        res = sweep_finite(args.N, models, warm_start=args.warm_start, chunk_size=args.chunk_size,
                           progress=not args.quiet, method=args.method,
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


def _cmd_optimize(args) -> None:
    from .models.parameters import default_bounds, default_over, parameter_names, point_name, values
    from .optimize import maximize

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
        from .solvers.steady import batch_method
        from .sweep import grid

        # the solver rule sees the corners of the search box (what varies is not held at a special value)
        solver = batch_method(args.N, grid(family=model, **{p: list(bounds[p]) for p in over}))
    t0 = time.perf_counter()
    objective = _mi_function(args.N, solver)
    if args.N is not None and args.no_memory_check:
        objective = functools.partial(objective, memory_check=False)
    res = maximize(objective, model, over=over, bounds=bounds, steps=args.steps, starts=args.starts, gtol=args.gtol)
    record = {"N": args.N, "solver": solver, "family": point_name(model), "bounds": bounds, **res.as_dict(),
              "seconds": time.perf_counter() - t0}
    lines = [
        f"maximise I_M/N ({_limit_label(args.N)}{f', solver {solver}' if solver else ''}) over {', '.join(over)}; "
        f"fixed: {_model_label(model)}",
        *(f"{p:<9} = {v:.10g}   (bounds {bounds[p][0]:g}, {bounds[p][1]:g})" for p, v in res.params.items()),
        f"I_M/N     = {_mi_text(float(res.value))}",
        f"|grad|    = {float(res.grad_norm):.3g}   converged = {res.converged}   steps = {res.steps}",
        f"starts    = {len(res.start_values)}: values {', '.join(f'{v:.8g}' for v in res.start_values)}",
        f"seconds   = {record['seconds']:.3f}",
    ]
    emit(args, record, lines)


def _cmd_ground(args) -> None:
    from .dicke.groundstate import ground_state

    t0 = time.perf_counter()
    g = ground_state(args.N, args.J, args.h)
    mi = float(g.mi) + 0.0  # a zero never as -0
    seconds = time.perf_counter() - t0
    record = {
        "N": args.N,
        "J": args.J,
        "h": args.h,
        "mi_per_N": mi,
        "energy": float(g.energy),
        "m": [float(v) for v in g.m],
        "diagnostics": g.diagnostics_dict(),
        "seconds": seconds,
    }
    lines = [
        f"ground state, N = {args.N}, J = {args.J:g}, h = {args.h:g} (J = N/2 block)",
        f"I_M/N     = {_mi_text(mi)}",
        f"energy    = {record['energy']:.12g}",
        f"m         = ({', '.join(f'{v:.8g}' for v in record['m'])})",
        f"gap       = {float(g.gap):.6g}   residual = {float(g.residual):.3g}",
        f"seconds   = {seconds:.3f}",
    ]
    emit(args, record, lines)


#: ``figure`` flags that only ``figure husimi`` takes (dest names), and those it does not take
_HUSIMI_ONLY = ("model", "family", "set", "N", "grid", "basin_grid", "projection", *DEFAULT_FAMILY.PARAMETERS)
_PAPER_ONLY = ("quick", "max_N")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _grid(text: str) -> tuple[int, int]:
    """``NTHETAxNPHI`` (e.g. 46x91) → (n_θ, n_φ), each >= 2."""
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"a grid is NTHETAxNPHI (e.g. 46x91), got {text!r}")
    return tuple(_int_at_least(2)(t) for t in parts)


def _cmd_figure(args) -> None:
    from .figures import make_figure

    if args.name == "husimi":
        return _cmd_figure_husimi(args)
    for dest in _HUSIMI_ONLY:
        if getattr(args, dest, None) is not None:
            raise CLIError(f"{_flag(dest)} applies to figure husimi only")
    res = make_figure(args.name, out_dir=args.out, quick=args.quick, progress=not args.quiet, max_N=args.max_N)
    record = res.as_dict()
    lines = [
        f"figure {args.name}{' (quick)' if args.quick else ''}: {res.n_points} points "
        f"({res.n_cached} from cache) in {res.seconds:.1f} s",
        f"png       = {res.png}",
        f"csv       = {res.csv}",
    ]
    emit(args, record, lines)


def _cmd_figure_husimi(args) -> None:
    import os

    from .figures import HUSIMI_GRID, husimi_figure

    for dest in _PAPER_ONLY:
        if getattr(args, dest) not in (None, False):
            raise CLIError(f"{_flag(dest)} applies to figures 1a, 1b and 2, not husimi")
    model = model_from_args(args)
    N = 20 if args.N is None else args.N
    if args.model is not None:
        name = os.path.splitext(os.path.basename(args.model))[0]
    else:
        name = args.family or DEFAULT_FAMILY.NAME.lower()
    rec = husimi_figure(model, N, out_dir=args.out, stem=f"husimi_{name}_N{N}", grid=args.grid or HUSIMI_GRID,
                        basin_grid=args.basin_grid, projection=args.projection or "equirectangular",
                        source=args.model or f"family {name}")
    lines = [
        f"figure husimi, N = {N}, {_model_label(model)}: {rec['seconds']['total']:.1f} s",
        f"<m>       = ({', '.join(f'{v:.6g}' for v in rec['m'])})",
        f"int Q - 1 = {rec['normalisation_error']:.2e}",
        *(f"attractor = {a['kind']} at ({', '.join(f'{v:.4f}' for v in a['mean'])}): weight {a['weight']:.6f}"
          for a in rec["attractors"]),
        f"png       = {rec['png']}",
        f"csv       = {rec['csv']}",
        f"json      = {rec['json']}",
    ]
    emit(args, {k: v for k, v in rec.items() if k not in ("terms",)}, lines)


def _add_N_flag(p) -> None:
    p.add_argument("--N", type=_finite_N, default=None, help="finite N >= 2: exact mi_finite at this N (default: N -> infinity, mi_thermo)")


def _add_memory_flag(p) -> None:
    p.add_argument("--no-memory-check", action="store_true",
                   help="solve even when the estimated memory of a finite-N solve exceeds what is available")


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = _Parser(
        prog="permjax",
        description="Multipartite mutual information I_M/N in the steady state of permutation-invariant "
        "open quantum systems: the driven-dissipative LMG model (rates in units of gamma) or any model "
        "given by --model FILE.toml.",
    )
    parser.add_argument("--version", action="version", version=f"permjax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("thermo", help="lim N->inf I_M/N from the mean-field attractor (Eq. 13)")
    add_family_flags(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_thermo)

    p = sub.add_parser("finite", help="exact finite-N I_M/N from the Dicke-basis steady state (Eqs. 20-29)")
    p.add_argument("--N", type=_finite_N, default=40, help="number of units, >= 2 (default 40)")
    add_family_flags(p)
    p.add_argument("--tol", type=_tolerance, default=1e-12, help="relative residual of the solve, >= 1e-14 (default 1e-12)")
    p.add_argument("--maxiter", type=_positive_int, default=None, help="iteration cap (default: scales with N^3)")
    p.add_argument("--method", default="auto", help="steady-state solver (default auto)")
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_finite)

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
    p.add_argument("--method", default="auto", help="with --N: steady_state method (auto: the rule for many solves at one N, permjax.solvers.steady.batch_method)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_sweep)

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
    _add_memory_flag(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_optimize)

    p = sub.add_parser(
        "ground",
        help="I_M/N = b(|m|) in the ground state of the ferromagnetic LMG model (Appendix B)",
        description="Ground state of H = (J/N)(Jx^2 + Jy^2) + h Jx for J < 0 in the J = N/2 block "
        "(O(N), N in the thousands is fast). Energies in the units of J and h. At h = 0 and odd N "
        "the h -> 0+ state is returned.",
    )
    p.add_argument("--N", type=_positive_int, default=100, help="number of qubits N >= 1 (default 100)")
    add_model_flags(
        p,
        names=("J", "h"),
        J=-1.0,
        h=0.01,
        help={"J": "exchange coupling 𝒥 < 0 (ferromagnetic)", "h": "transverse field h, in the units of 𝒥"},
    )
    add_json_flag(p)
    p.set_defaults(func=_cmd_ground)

    p = sub.add_parser(
        "figure",
        help="regenerate a figure of the paper as PNG + CSV (1a, 1b, 2), or the Husimi map of a model (husimi)",
        description="Regenerate Fig. 1a (h = 0), Fig. 1b (h = 0.5) or Fig. 2 (ground state) of "
        "Ptaszynski, Chudak, Esposito (2025) as DIR/figNAME.png plus the CSV behind it. Finished "
        "points are cached in DIR/figNAME.cache.jsonl: an interrupted run resumes where it stopped. "
        "'husimi': the Husimi Q function of the finite-N steady state of a qubit model (the model "
        "flags, --model FILE or --family NAME; default " + DEFAULT_FAMILY.NAME + ") on the sphere, with "
        "the mean-field attractors and the Q mass of their basins, as DIR/husimi_NAME_N<N>.png, .csv "
        "(the drawn grid) and .json (attractors, weights, <m>).",
    )
    p.add_argument("name", choices=("1a", "1b", "2", "husimi"), help="which figure")
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder (default ./figures)")
    p.add_argument("--quick", action="store_true", help="small N and few points (under a minute; for tests)")
    p.add_argument("--max-N", type=_positive_int, default=None, help="leave out finite-N series above this N (default: none left out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    husimi = p.add_argument_group("figure husimi")
    add_family_flags(husimi)
    from .models.zoo import FAMILIES

    husimi.add_argument("--family", choices=sorted(FAMILIES), default=None,
                        help="a zoo family at its defaults (with --set NAME=VALUE), instead of --model")
    husimi.add_argument("--N", type=_finite_N, default=None, help="number of qubits N >= 2 (default 20)")
    husimi.add_argument("--grid", type=_grid, default=None, metavar="NTHETAxNPHI",
                        help="the drawn grid, uniform in theta and phi (default 46x91: 4 degrees)")
    husimi.add_argument("--basin-grid", type=_grid, default=None, metavar="NTHETAxNPHI",
                        help="the quadrature grid of the basin weights (default: exact for Q, (N/2+1)x(N+1), "
                        "n_phi rounded up to even)")
    husimi.add_argument("--projection", choices=("equirectangular", "mollweide"), default=None,
                        help="map projection (default equirectangular)")
    add_json_flag(p)
    p.set_defaults(func=_cmd_figure)

    from .cli_dynamics import add_commands as add_dynamics_commands

    add_dynamics_commands(sub)  # evolve, spectrum
    return parser


@contextlib.contextmanager
def _signals_and_warnings(program: bool = False):
    """While a command runs: SIGINT and SIGTERM raise ``KeyboardInterrupt``/``Terminated``
    without getting lost (``permjax.interrupt``), and warnings print as one line
    ``permjax: warning: ...``. Afterwards the previous handlers are restored — or, for the
    program itself (``program``), SIGINT and SIGTERM are ignored: the work is done and its files
    are closed, and a signal during interpreter shutdown (where Python puts back the default
    handlers, which kill) must not turn a finished run into one killed by the signal."""
    from . import interrupt

    old_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"permjax: warning: {_one_line(message)}", file=sys.stderr if file is None else file)

    warnings.showwarning = show
    after = signal.SIG_IGN if program else None
    try:
        with interrupt.handled(after):
            yield
    finally:
        warnings.showwarning = old_show


def _one_line(e) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _interrupted_note(args) -> str:
    command = getattr(args, "command", None)
    if command == "figure":
        return f"; finished points are cached in {args.out}: rerun the same command to resume"
    if command == "sweep" and getattr(args, "out", None):
        return f"; nothing was written to {args.out}"
    return ""


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``: the program itself); returns
    the exit status."""
    from . import interrupt

    status = [0]
    with _signals_and_warnings(program=argv is None):
        args = None
        try:
            args = build_parser().parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
            status[0] = args.func(args) or 0
            interrupt.check()  # a signal whose exception was swallowed on the way
        except Exception as e:
            if interrupt.pending() is None:
                status[0] = _failure(e)
            else:  # the interrupt surfaced wrapped (e.g. raised inside a host callback of XLA)
                status[0] = _interrupted(interrupt.pending() == signal.SIGTERM, args)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated)
            status[0] = _interrupted(isinstance(e, interrupt.Terminated), args)
    return status[0]


def _interrupted(terminated: bool, args) -> int:
    print(f"permjax: {'terminated' if terminated else 'interrupted'}{_interrupted_note(args)}", file=sys.stderr)
    return 143 if terminated else 130


def _failure(e: Exception) -> int:
    """Print the one-line message for ``e``; return the exit status."""
    if isinstance(e, (CLIError, ValueError)):  # bad input (InsufficientMemoryError included)
        print(f"permjax: error: {_one_line(e)}", file=sys.stderr)
        return 2
    if isinstance(e, MemoryError):
        print(f"permjax: failed: out of memory ({_one_line(e)}); see --no-memory-check in --help", file=sys.stderr)
    elif isinstance(e, (RuntimeError, OSError)):  # e.g. a solver that did not converge, with its residual
        print(f"permjax: failed: {_one_line(e)}", file=sys.stderr)
    else:  # a bug: still one line, with the exception's type
        print(f"permjax: internal error: {type(e).__name__}: {_one_line(e)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
