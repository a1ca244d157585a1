"""``permjax evolve``: finite-N time evolution."""

from __future__ import annotations

import time

from .common import (_model_label, add_family_flags, add_json_flag, _check_out, emit, _finite_float, model_from_args,
                     _positive_int, _state_spec, _write_table)

def run(args) -> None:
    import numpy as np

    from ..models.parameters import point_name, values

    from ..timedomain.evolve import evolve_method, evolve_segments

    if not args.t > 0:
        raise ValueError(f"--t must be > 0, got {args.t}")
    _check_out(args)
    model = model_from_args(args)
    state = _state_spec(args.state)
    if args.points < 2:
        raise ValueError(f"--points must be >= 2, got {args.points}")
    ts = np.linspace(0.0, args.t, args.points)
    t0 = time.perf_counter()
    res = evolve_segments(args.N, model, state, ts, n_segments=min(20, args.points - 1), progress=not args.quiet,
                          mi=not args.no_mi, rtol=args.rtol, atol=args.atol, method=args.method)
    seconds = time.perf_counter() - t0
    m = np.asarray(res.m)
    mi = None if res.mi is None else np.asarray(res.mi)
    record = {"N": args.N, "method": evolve_method(args.N, True, args.method), "family": point_name(model), "model": values(model), "state": args.state, "t": ts.tolist(), "m": m.tolist(),
              "mi_per_N": None if mi is None else mi.tolist(), "populations": np.asarray(res.populations).tolist(),
              "trace_error": float(np.max(np.abs(np.asarray(res.trace) - 1))), "seconds": seconds}
    if args.out:
        cols = [ts, m[:, 0], m[:, 1], m[:, 2]] + ([] if mi is None else [mi])
        _write_table(args.out, ["t", "m_x", "m_y", "m_z"] + ([] if mi is None else ["mi_per_N"]),
                     np.stack(cols, 1), record)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2 if mi is not None else 1, figsize=(9 if mi is not None else 5, 3.4), squeeze=False)
        for k, name in enumerate("xyz"):
            axes[0, 0].plot(ts, m[:, k], label=f"m_{name}")
        axes[0, 0].set_xlabel("γt")
        axes[0, 0].legend()
        if mi is not None:
            axes[0, 1].plot(ts, mi)
            axes[0, 1].set_xlabel("γt")
            axes[0, 1].set_ylabel("I_M/N")
        fig.suptitle(f"N = {args.N}, {args.state}")
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        plt.close(fig)
    lines = [f"evolve N = {args.N}, {_model_label(model)}, from {args.state} ({record['method']})",
             f"t = {ts[-1]:.6g}: <m> = ({', '.join(f'{v:.8g}' for v in m[-1])})"
             + ("" if mi is None else f", I_M/N = {mi[-1]:.10g}"),
             f"max |Tr rho - 1| = {record['trace_error']:.2e}", f"seconds = {seconds:.2f}"]
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
    p = sub.add_parser("evolve", help="finite-N time evolution: <m>(t), I_M/N(t), block populations")
    p.add_argument("--N", type=_positive_int, default=20, help="number of qubits, >= 2 (default 20)")
    add_family_flags(p)
    p.add_argument("--state", default="down",
                   help="initial state: up, down, dicke:J,M or bloch:x,y,z (product state) (default down)")
    p.add_argument("--t", type=_finite_float, default=20.0, help="final time in units of 1/γ (default 20)")
    p.add_argument("--points", type=_positive_int, default=201, help="saved times, evenly spaced from 0 (default 201)")
    p.add_argument("--method", choices=("auto", "expm", "tsit5", "dopri5", "dopri8"), default="auto",
                   help="auto (default): expm (exact e^{Lt} on the host) at small N, else tsit5 (diffrax)")
    p.add_argument("--rtol", type=_finite_float, default=1e-9, help="relative tolerance (default 1e-9)")
    p.add_argument("--atol", type=_finite_float, default=1e-11, help="absolute tolerance (default 1e-11)")
    p.add_argument("--no-mi", action="store_true", help="skip I_M/N (block eigenvalues at every time)")
    p.add_argument("--out", default=None, help="write the table to this .csv or .json file")
    p.add_argument("--png", default=None, help="plot to this PNG file")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=run)
