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

import contextlib
import signal
import sys
import warnings

from . import evolve, figure, finite, ground, optimize, spectrum, sweep, thermo
from .common import CLIError, _join_negative_values, _mi_text, _Parser  # noqa: F401  (re-exported)

#: the subcommands, in the order ``--help`` lists them
COMMANDS = (thermo, finite, sweep, optimize, ground, figure, evolve, spectrum)


def build_parser():
    from ..version import __version__

    parser = _Parser(
        prog="permjax",
        description="Multipartite mutual information I_M/N in the steady state of permutation-invariant "
        "open quantum systems: the driven-dissipative LMG model (rates in units of gamma) or any model "
        "given by --model FILE.toml.",
    )
    parser.add_argument("--version", action="version", version=f"permjax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        command.add(sub)
    return parser


@contextlib.contextmanager
def _signals_and_warnings(program: bool = False):
    """While a command runs: SIGINT and SIGTERM raise ``KeyboardInterrupt``/``Terminated``
    without getting lost (``permjax.interrupt``), and warnings print as one line
    ``permjax: warning: ...``. Afterwards the previous handlers are restored — or, for the
    program itself (``program``), SIGINT and SIGTERM are ignored: the work is done and its files
    are closed, and a signal during interpreter shutdown (where Python puts back the default
    handlers, which kill) must not turn a finished run into one killed by the signal."""
    from .. import interrupt

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
    from .. import interrupt

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


