"""What every ``permjax`` subcommand shares: the parser, argument types, the model and solver
flags, and the output (a report, or one JSON object with ``--json``)."""

from __future__ import annotations

import argparse
import json
import math
import re

from ..models.zoo import LMG

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
    from ..validate import tolerance

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
    from ..models.files import load_model
    from ..models.parameters import check_names, point_name

    from ..models.zoo import FAMILIES

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
    from ..models.parameters import with_parameters

    base, values = model_values_from_args(args)
    return with_parameters(base, **values) if values else base


def _model_label(model) -> str:
    from ..models.parameters import point_name, values

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


def _mi_function(N, method="auto"):
    """I_M/N as a function of one model: mi_thermo (N → ∞) or mi_finite at fixed N."""
    import functools

    if N is None:
        from ..meanfield import mi_thermo

        return mi_thermo
    from ..solvers import mi_finite

    return functools.partial(mi_finite, N, method=method)


def _limit_label(N) -> str:
    return "N -> infinity" if N is None else f"N = {N}"


def _add_N_flag(p) -> None:
    p.add_argument("--N", type=_finite_N, default=None, help="finite N >= 2: exact mi_finite at this N (default: N -> infinity, mi_thermo)")


def _add_memory_flag(p) -> None:
    p.add_argument("--no-memory-check", action="store_true",
                   help="solve even when the estimated memory of a finite-N solve exceeds what is available")




# --- the steady-state method and its options ---------------------------------------------------

METHODS = ("auto", "cgls", "gmres", "jblock", "direct", "rates")


def _quantization_axis(text: str):
    if text in ("auto", "z"):
        return text
    try:
        theta, phi = (_finite_float(t) for t in text.split(","))
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"auto, z or THETA,PHI (radians), got {text!r}") from None
    return (theta, phi)


def add_method_flags(p, *, tolerance: bool = True, what: str = "") -> None:
    """``--method`` (a choice) and the options of the chosen solver."""
    p.add_argument("--method", choices=METHODS, default="auto",
                   help=f"{what}steady-state solver: auto (the rule in permjax.solvers.Auto), or one of them")
    if tolerance:
        p.add_argument("--tol", type=_tolerance, default=1e-12, help="relative residual of the solve, >= 1e-14 (default 1e-12)")
        p.add_argument("--maxiter", type=_positive_int, default=None, help="iteration cap (default: scales with N^3)")
    p.add_argument("--restart", type=_positive_int, default=None,
                   help="gmres, jblock, auto: Krylov basis between restarts (default: as 1 GiB allows, 20-100)")
    p.add_argument("--precision", choices=("double", "single"), default=None,
                   help="gmres: storage of the preconditioner's factors (default double)")
    p.add_argument("--quantization-axis", type=_quantization_axis, default=None, metavar="AXIS",
                   help="gmres, auto: the Dicke basis's axis, auto, z or THETA,PHI (default auto)")


_METHOD_OPTIONS = {"restart": ("gmres", "jblock", "auto"), "precision": ("gmres",),
                   "quantization_axis": ("gmres", "auto")}


def solver_from_args(args, batch: bool = False):
    """The solver object of ``--method`` and its flags (a flag the method does not take is an
    error); ``batch``: ``auto`` is the rule for many solves at one N (GMRES from N = 20)."""
    from ..solvers import SOLVERS, GMRES, QConserving
    from ..solvers.auto import SWEEP_GMRES_FROM_N

    name = args.method
    for option, takers in _METHOD_OPTIONS.items():
        if getattr(args, option, None) is not None and name not in takers:
            raise CLIError(f"--{option.replace('_', '-')} applies to --method {', '.join(takers)}, not {name}")
    kwargs = dict(tol=getattr(args, "tol", 1e-12), maxiter=getattr(args, "maxiter", None))
    if name in ("gmres", "jblock", "auto") and args.restart is not None:
        kwargs["restart"] = args.restart
    if name in ("gmres", "auto") and args.quantization_axis is not None:
        kwargs["axis"] = args.quantization_axis
    if name == "gmres" and args.precision is not None:
        kwargs["preconditioner"] = QConserving(precision=args.precision)
    if name == "auto" and batch:
        kwargs["gmres_from_N"] = SWEEP_GMRES_FROM_N
    return (GMRES if name == "gmres" else SOLVERS[name])(**kwargs)


# --- tables of the time-domain commands ------------------------------------------------------


def _state_spec(text: str):
    """``up``, ``down``, ``dicke:J,M`` or ``bloch:x,y,z`` (single-unit Bloch vector, |r| ≤ 1)."""
    import numpy as np

    if text in ("up", "down"):
        return text
    kind, sep, rest = text.partition(":")
    try:
        vals = [float(t) for t in rest.split(",")] if sep else []
    except ValueError:
        vals = []
    if not np.all(np.isfinite(vals)):
        vals = []
    if kind == "dicke" and len(vals) == 2:
        return ("dicke", vals[0], vals[1])
    if kind == "bloch" and len(vals) == 3:
        r = np.asarray(vals)
        if np.linalg.norm(r) > 1 + 1e-12:
            raise ValueError(f"a Bloch vector has |r| <= 1, got {np.linalg.norm(r):.6g}")
        s = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]
        return 0.5 * (np.eye(2) + sum(x * si for x, si in zip(r, s)))
    raise ValueError(f"--state is up, down, dicke:J,M or bloch:x,y,z; got {text!r}")


def _check_out(args) -> None:
    if args.out and not args.out.endswith((".csv", ".json")):
        raise ValueError(f"--out must end in .csv or .json, got {args.out!r}")


def _write_table(path: str, header: list[str], rows, record: dict) -> None:
    import json

    import numpy as np

    if path.endswith(".json"):
        with open(path, "w") as f:
            json.dump(record, f, default=lambda x: np.asarray(x).tolist())
    elif path.endswith(".csv"):
        np.savetxt(path, np.asarray(rows, dtype=float), delimiter=",", header=",".join(header), comments="")
    else:
        raise ValueError(f"--out must end in .csv or .json, got {path!r}")


