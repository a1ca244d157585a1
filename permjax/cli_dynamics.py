"""``permjax evolve`` and ``permjax spectrum``: finite-N dynamics and the Liouvillian spectrum.

Registered on the main parser by ``add_commands``; output as a report, ``--json``, a table
(``--out`` .csv or .json) and a plot (``--png``); progress on stderr.
"""

from __future__ import annotations

import time


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


def _cmd_evolve(args) -> None:
    import numpy as np

    from .cli import emit, model_from_args
    from .timedomain.evolve import evolve_segments

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
                          mi=not args.no_mi, rtol=args.rtol, atol=args.atol)
    seconds = time.perf_counter() - t0
    m = np.asarray(res.m)
    mi = None if res.mi is None else np.asarray(res.mi)
    record = {"N": args.N, "model": model.as_dict(), "state": args.state, "t": ts.tolist(), "m": m.tolist(),
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
    lines = [f"evolve N = {args.N}, LMG {model.as_dict()}, from {args.state}",
             f"t = {ts[-1]:.6g}: <m> = ({', '.join(f'{v:.8g}' for v in m[-1])})"
             + ("" if mi is None else f", I_M/N = {mi[-1]:.10g}"),
             f"max |Tr rho - 1| = {record['trace_error']:.2e}", f"seconds = {seconds:.2f}"]
    emit(args, record, lines)


def _cmd_spectrum(args) -> None:
    import numpy as np

    from .cli import emit, model_from_args
    from .timedomain.spectrum import spectrum

    _check_out(args)
    model = model_from_args(args)
    res = spectrum(args.N, model, k=args.k, shift=complex(args.shift, args.shift_im), progress=not args.quiet)
    record = {"model": model.as_dict(), **res.as_dict()}
    lam = res.eigenvalues
    if args.out:
        _write_table(args.out, ["re", "im", "residual"], np.stack([lam.real, lam.imag, res.residuals], 1), record)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.scatter(lam.real, lam.imag)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel("Re λ / γ")
        ax.set_ylabel("Im λ / γ")
        ax.set_title(f"N = {args.N}: {len(lam)} eigenvalues nearest {complex(args.shift, args.shift_im):g}")
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        plt.close(fig)
    lines = [f"spectrum N = {args.N}, LMG {model.as_dict()}"]
    lines += [f"  λ = {z.real:+.10f} {z.imag:+.10f}i   residual {r:.1e}" for z, r in zip(lam, res.residuals)]
    lines += [f"gap = {res.gap:.10g}", "frequencies = " + ", ".join(f"{w:.8g}" for w in res.frequencies),
              f"seconds = {res.seconds:.2f} ({len(res.inner_iterations)} inner solves)"]
    emit(args, record, lines)


def add_commands(sub) -> None:
    """Add ``evolve`` and ``spectrum`` to the subcommand parser ``sub``."""
    from .cli import _finite_float, _positive_int, add_family_flags, add_json_flag

    p = sub.add_parser("evolve", help="finite-N time evolution: <m>(t), I_M/N(t), block populations")
    p.add_argument("--N", type=_positive_int, default=20, help="number of qubits, >= 2 (default 20)")
    add_family_flags(p)
    p.add_argument("--state", default="down",
                   help="initial state: up, down, dicke:J,M or bloch:x,y,z (product state) (default down)")
    p.add_argument("--t", type=_finite_float, default=20.0, help="final time in units of 1/γ (default 20)")
    p.add_argument("--points", type=_positive_int, default=201, help="saved times, evenly spaced from 0 (default 201)")
    p.add_argument("--rtol", type=_finite_float, default=1e-9, help="relative tolerance (default 1e-9)")
    p.add_argument("--atol", type=_finite_float, default=1e-11, help="absolute tolerance (default 1e-11)")
    p.add_argument("--no-mi", action="store_true", help="skip I_M/N (block eigenvalues at every time)")
    p.add_argument("--out", default=None, help="write the table to this .csv or .json file")
    p.add_argument("--png", default=None, help="plot to this PNG file")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=_cmd_evolve)

    p = sub.add_parser("spectrum", help="the k Liouvillian eigenvalues nearest a shift (shift-invert Arnoldi)")
    p.add_argument("--N", type=_positive_int, default=20, help="number of qubits, >= 2 (default 20)")
    add_family_flags(p)
    p.add_argument("--k", type=_positive_int, default=6, help="number of eigenvalues (default 6)")
    p.add_argument("--shift", type=_finite_float, default=0.0, help="real part of the shift σ (default 0)")
    p.add_argument("--shift-im", type=_finite_float, default=0.0, help="imaginary part of the shift σ (default 0)")
    p.add_argument("--out", default=None, help="write the eigenvalues to this .csv or .json file")
    p.add_argument("--png", default=None, help="plot the eigenvalues to this PNG file")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_json_flag(p)
    p.set_defaults(func=_cmd_spectrum)
