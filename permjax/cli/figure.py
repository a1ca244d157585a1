"""``permjax figure``: the paper's figures as PNG + CSV."""

from __future__ import annotations

from .common import add_json_flag, emit, _positive_int

def run(args) -> None:
    from ..figures import make_figure

    res = make_figure(args.name, out_dir=args.out, quick=args.quick, progress=not args.quiet, max_N=args.max_N)
    record = res.as_dict()
    lines = [
        f"figure {args.name}{' (quick)' if args.quick else ''}: {res.n_points} points "
        f"({res.n_cached} from cache) in {res.seconds:.1f} s",
        f"png       = {res.png}",
        f"csv       = {res.csv}",
    ]
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
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
    p.set_defaults(func=run)
