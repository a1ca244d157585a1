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


def add_model_flags(p: argparse.ArgumentParser, **defaults) -> None:
    """The shared model flags; ``defaults`` overrides the paper's values."""
    d = {**DEFAULTS, **defaults}
    p.add_argument("--J", type=_finite_float, default=d["J"], help=f"exchange coupling 𝒥 (default {d['J']})")
    p.add_argument("--h", type=_finite_float, default=d["h"], help=f"transverse field h (default {d['h']})")
    p.add_argument("--Gamma", type=_finite_float, default=d["Gamma"], help=f"collective decay Γ >= 0 (default {d['Gamma']})")
    p.add_argument("--gamma", type=_finite_float, default=d["gamma"], help=f"local pumping γ > 0 (default {d['gamma']}; the unit of rates)")


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


def _cmd_thermo(args) -> None:
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
        f"seconds   = {seconds:.3f}",
    ]
    emit(args, record, lines)


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

    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.func(args)
    except (CLIError, ValueError) as e:
        print(f"permjax: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
