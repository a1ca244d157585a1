"""``permjax ground``: I_M/N in the ground state of the ferromagnetic LMG model (Appendix B)."""

from __future__ import annotations

import time

from .common import add_json_flag, add_model_flags, emit, _mi_text, _positive_int

def run(args) -> None:
    from ..dicke.groundstate import ground_state

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


def add(sub) -> None:
    """Register the subcommand."""
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
    p.set_defaults(func=run)
