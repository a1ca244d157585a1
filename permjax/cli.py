"""The ``permjax`` command: one entry point, one subcommand per computation.

Every computing subcommand takes the model flags ``--J --h --Gamma --gamma`` (defaults are
the paper's: 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1, in units of γ), prints a short human-readable
report, or one JSON object with ``--json``. Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

DEFAULTS = {"J": 3.0, "h": 0.5, "Gamma": 1.68, "gamma": 1.0}


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


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


MODEL_FLAG_HELP = {
    "J": "exchange coupling 𝒥, in units of γ",
    "h": "transverse field h, in units of γ",
    "Gamma": "collective decay Γ >= 0, in units of γ",
    "gamma": "local pumping γ > 0 (the unit of rates)",
}


def add_model_flags(p: argparse.ArgumentParser, value_type=_finite_float, names=tuple(DEFAULTS), help=None, **defaults) -> None:
    """The shared model flags ``names`` (all four by default); ``defaults`` overrides the paper's
    values, ``help`` the help texts, ``value_type`` parses them."""
    d = {**DEFAULTS, **defaults}
    texts = {**MODEL_FLAG_HELP, **(help or {})}
    for name in names:
        p.add_argument(f"--{name}", type=value_type, default=d[name], help=f"{texts[name]} (default {d[name]:g})")


def add_json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a report")


def model_from_args(args):
    from .model import LMG

    return LMG(J=args.J, h=args.h, Gamma=args.Gamma, gamma=args.gamma)


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


NOT_RESOLVED_EXIT = 3  #: exit status of ``permjax thermo`` when the attractor is not resolved


def _cmd_thermo(args) -> int:
    from .attractor import mi_thermo

    model = model_from_args(args)
    t0 = time.perf_counter()
    res = mi_thermo(model)
    mi = float(res.mi)
    seconds = time.perf_counter() - t0
    record = {
        "model": model.as_dict(),
        "mi_per_N": mi,
        "attractor": res.kind_name,
        "period": float(res.period) if res.has_period else None,
        "m_mean": [float(v) for v in res.m_mean],
        "diagnostics": res.diagnostics_dict(),
        "seconds": seconds,
    }
    period = f"{record['period']:.10g}" if record["period"] is not None else "-"
    lines = [
        f"N -> infinity, LMG {model.as_dict()}",
        f"I_M/N     = {mi:.12g}",
        f"attractor = {res.kind_name}",
        f"period    = {period}",
        f"<m>       = ({', '.join(f'{v:.8g}' for v in record['m_mean'])})",
        f"residual  = {res.diagnostics_dict()['residual']} ({int(res.newton_steps)} Newton steps)",
        f"seconds   = {seconds:.3f}",
    ]
    if int(res.n_attractors) > 1:
        record["attractors"] = res.attractors()
        lines.append(f"note      = {int(res.n_attractors)} coexisting attractors; I_M/N is the one reached from the "
                     "first initial state: " + "; ".join(f"{a['kind']} I_M/N={a['mi']} ({a['fraction']:.0%} of starts)"
                                                         for a in record["attractors"]))
    if res.kind_name == "not resolved":
        lines.append("note      = no stable periodic orbit found (chaotic/aperiodic?): I_M/N is a smooth-window average"
                     if bool(res.finished) else "note      = the integration did not finish: no value")
    if not math.isfinite(mi):
        record["mi_per_N"] = None
    emit(args, record, lines)
    if res.kind_name == "not resolved":
        print("permjax: not resolved: " + ("the attractor is not a fixed point or a stable cycle (I_M/N is a "
              "smooth-window estimate)" if bool(res.finished) else "the integration did not finish (I_M/N is NaN)"),
              file=sys.stderr)
        return NOT_RESOLVED_EXIT
    return 0


def _cmd_finite(args) -> None:
    import numpy as np

    from .dicke import magnetization, mutual_information, steady_state

    model = model_from_args(args)
    t0 = time.perf_counter()
    state = steady_state(args.N, model, tol=args.tol, maxiter=args.maxiter, method=args.method)
    mi = float(mutual_information(state)) / state.N
    m = [float(v) for v in np.asarray(magnetization(state))]
    seconds = time.perf_counter() - t0
    diag = state.diagnostics.as_dict()
    record = {"N": state.N, "model": model.as_dict(), "mi_per_N": mi, "m": m,
              "diagnostics": diag, "seconds": seconds}
    lines = [
        f"finite N = {state.N}, LMG {model.as_dict()}",
        f"I_M/N      = {mi:.12g}",
        f"<m>        = ({', '.join(f'{v:.8g}' for v in m)})",
        f"residual   = {diag['residual']:.3g}   (|L rho|/|rho|)",
        f"iterations = {diag['iterations']}",
        f"seconds    = {seconds:.3f}",
    ]
    emit(args, record, lines)


# --- sweep and optimize ----------------------------------------------------------------------

RANGE_HELP = (
    "Each model flag takes a number (1.68), an inclusive range START:STOP:COUNT "
    "(1:4:31 is 31 evenly spaced values from 1 to 4), or a comma list (0,0.5); "
    "the grid is the outer product, in the order J, h, Gamma, gamma"
)
DEFAULT_BOUNDS = {"J": (0.5, 6.0), "h": (0.0, 2.0), "Gamma": (1.0, 4.0), "gamma": (0.25, 4.0)}


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
        from .attractor import mi_thermo

        return mi_thermo
    from . import mi_finite

    return functools.partial(mi_finite, N, method=method)


def _limit_label(N) -> str:
    return "N -> infinity" if N is None else f"N = {N}"


def _cmd_sweep(args) -> None:
    from .sweep import grid, sweep, sweep_finite

    models = grid(J=args.J, h=args.h, Gamma=args.Gamma, gamma=args.gamma)
    if args.out is not None and not args.out.endswith((".csv", ".json")):
        raise ValueError(f"--out must end in .csv or .json, got {args.out!r}")
    if args.N is None:
        if args.warm_start:
            raise ValueError("--warm-start needs --N (it warm-starts the finite-N steady-state solves)")
        res = sweep(_mi_function(None), models, chunk_size=args.chunk_size or 256, progress=not args.quiet)
    else:
        res = sweep_finite(args.N, models, warm_start=args.warm_start, chunk_size=args.chunk_size,
                           progress=not args.quiet, method=args.method)
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
    from .optimize import maximize

    over = tuple(args.over or ["Gamma"])
    bounds = {p: DEFAULT_BOUNDS[p] for p in over}
    for name, lohi in args.bounds or []:
        if name not in over:
            raise ValueError(f"--bounds {name}=... given but {name} is not optimised (--over {name})")
        bounds[name] = lohi
    model = model_from_args(args)
    solver = None
    if args.N is not None:
        from .dicke.solve import batch_method

        solver = batch_method(args.N, None if "h" in over else model.h)  # h fixed at 0: the rate equations
    t0 = time.perf_counter()
    res = maximize(_mi_function(args.N, solver), model, over=over, bounds=bounds, steps=args.steps, starts=args.starts, gtol=args.gtol)
    record = {"N": args.N, "solver": solver, "bounds": bounds, **res.as_dict(), "seconds": time.perf_counter() - t0}
    lines = [
        f"maximise I_M/N ({_limit_label(args.N)}{f', solver {solver}' if solver else ''}) over {', '.join(over)}; "
        f"fixed: {model.as_dict()}",
        *(f"{p:<9} = {v:.10g}   (bounds {bounds[p][0]:g}, {bounds[p][1]:g})" for p, v in res.params.items()),
        f"I_M/N     = {float(res.value):.12g}",
        f"|grad|    = {float(res.grad_norm):.3g}   converged = {res.converged}   steps = {res.steps}",
        f"starts    = {len(res.start_values)}: values {', '.join(f'{v:.8g}' for v in res.start_values)}",
        f"seconds   = {record['seconds']:.3f}",
    ]
    emit(args, record, lines)


def _cmd_ground(args) -> None:
    from .groundstate import ground_state

    t0 = time.perf_counter()
    g = ground_state(args.N, args.J, args.h)
    mi = float(g.mi)
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
        f"I_M/N     = {mi:.12g}",
        f"energy    = {record['energy']:.12g}",
        f"m         = ({', '.join(f'{v:.8g}' for v in record['m'])})",
        f"gap       = {float(g.gap):.6g}   residual = {float(g.residual):.3g}",
        f"seconds   = {seconds:.3f}",
    ]
    emit(args, record, lines)


def _cmd_figure(args) -> None:
    from .figures import make_figure

    res = make_figure(args.name, out_dir=args.out, quick=args.quick, progress=not args.quiet, max_N=args.max_N)
    record = res.as_dict()
    lines = [
        f"figure {args.name}{' (quick)' if args.quick else ''}: {res.n_points} points "
        f"({res.n_cached} from cache) in {res.seconds:.1f} s",
        f"png       = {res.png}",
        f"csv       = {res.csv}",
    ]
    emit(args, record, lines)


def _add_N_flag(p) -> None:
    p.add_argument("--N", type=_positive_int, default=None, help="finite N: exact mi_finite at this N (default: N -> infinity, mi_thermo)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="permjax",
        description="Multipartite mutual information I_M/N in the steady state of the "
        "driven-dissipative LMG model (permutation-invariant qubits). Rates in units of gamma.",
    )
    parser.add_argument("--version", action="version", version=f"permjax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("thermo", help="lim N->inf I_M/N from the mean-field attractor (Eq. 13)")
    add_model_flags(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_thermo)

    p = sub.add_parser("finite", help="exact finite-N I_M/N from the Dicke-basis steady state (Eqs. 20-29)")
    p.add_argument("--N", type=_positive_int, default=40, help="number of qubits, >= 2 (default 40)")
    add_model_flags(p)
    p.add_argument("--tol", type=_finite_float, default=1e-12, help="relative residual of the solve (default 1e-12)")
    p.add_argument("--maxiter", type=_positive_int, default=None, help="iteration cap (default: scales with N^3)")
    p.add_argument("--method", default="auto", help="steady-state solver (default auto)")
    add_json_flag(p)
    p.set_defaults(func=_cmd_finite)

    p = sub.add_parser(
        "sweep",
        help="I_M/N over a parameter grid (vmap in chunks, sharded over all devices)",
        description="Evaluate I_M/N over a grid of models. " + RANGE_HELP + ".",
    )
    add_model_flags(p, value_type=_axis_values)
    _add_N_flag(p)
    p.add_argument("--out", default=None, help="also write the table to this .csv or .json file")
    p.add_argument("--chunk-size", type=_positive_int, default=None, help="points evaluated at once (default 256; 64 with --N, 16 with --warm-start)")
    p.add_argument("--warm-start", action="store_true", help="with --N: solve the points in order, each from its neighbour's steady state")
    p.add_argument("--method", default="auto", help="with --N: steady_state method (auto: rates if every h = 0, else gmres from N = 20, cgls below)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_json_flag(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser(
        "optimize",
        help="maximise I_M/N over chosen parameters by bounded multi-start gradient ascent",
        description="Maximise I_M/N over the parameters named by --over (L-BFGS on a sigmoid "
        "reparametrisation of the bounds; several starts). The model flags fix the others. "
        "Default bounds: " + ", ".join(f"{k}={lo:g},{hi:g}" for k, (lo, hi) in DEFAULT_BOUNDS.items()) + ".",
    )
    add_model_flags(p)
    _add_N_flag(p)
    p.add_argument("--over", action="append", choices=("J", "h", "Gamma", "gamma"), help="a parameter to optimise (repeatable; default Gamma)")
    p.add_argument("--bounds", action="append", type=_bounds_item, metavar="NAME=LO,HI", help="bounds of an optimised parameter (repeatable)")
    p.add_argument("--steps", type=_positive_int, default=100, help="maximum optimiser steps per start (default 100)")
    p.add_argument("--starts", type=_positive_int, default=4, help="number of starts (default 4)")
    p.add_argument("--gtol", type=_finite_float, default=1e-8, help="convergence: projected gradient norm below this (default 1e-8)")
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
        help="regenerate a figure of the paper as PNG + CSV (1a, 1b, 2)",
        description="Regenerate Fig. 1a (h = 0), Fig. 1b (h = 0.5) or Fig. 2 (ground state) of "
        "Ptaszynski, Chudak, Esposito (2025) as DIR/figNAME.png plus the CSV behind it. Finished "
        "points are cached in DIR/figNAME.cache.jsonl: an interrupted run resumes where it stopped.",
    )
    p.add_argument("name", choices=("1a", "1b", "2"), help="which figure")
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder (default ./figures)")
    p.add_argument("--quick", action="store_true", help="small N and few points (under a minute; for tests)")
    p.add_argument("--max-N", type=_positive_int, default=None, help="leave out finite-N series above this N (default: none left out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=_cmd_figure)

    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        rc = args.func(args)
    except (CLIError, ValueError) as e:
        print(f"permjax: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # a solver that did not converge: says so with its residual
        print(f"permjax: failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("permjax: interrupted (figure points finished so far are cached)", file=sys.stderr)
        return 130
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
