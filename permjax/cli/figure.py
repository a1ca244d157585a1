"""``permjax figure``: the paper's figures as PNG + CSV, and ``figure husimi``: the Husimi map of a
qubit model's finite-N steady state with the mean-field attractors (PNG + CSV + JSON)."""

from __future__ import annotations

import argparse

from .common import (DEFAULT_FAMILY, CLIError, _finite_N, _int_at_least, _model_label, _positive_int, add_family_flags,
                     add_json_flag, emit, model_from_args)

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


def run(args) -> None:
    from ..figures import make_figure

    if args.name == "husimi":
        return run_husimi(args)
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


def run_husimi(args) -> None:
    import os

    from ..figures import HUSIMI_GRID, husimi_figure

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
    emit(args, {k: v for k, v in rec.items() if k != "terms"}, lines)


def add(sub) -> None:
    """Register the subcommand."""
    from ..models.zoo import FAMILIES

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
    p.set_defaults(func=run)
