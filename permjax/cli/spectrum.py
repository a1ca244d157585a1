"""``permjax spectrum``: the Liouvillian eigenvalues nearest a shift."""

from __future__ import annotations

from .common import (_model_label, add_family_flags, add_json_flag, _check_out, emit, _finite_float, model_from_args,
                     _positive_int, _write_table)

def run(args) -> None:
    import numpy as np

    from ..models.parameters import point_name, values

    from ..timedomain.spectrum import spectrum

    _check_out(args)
    model = model_from_args(args)
    res = spectrum(args.N, model, k=args.k, shift=complex(args.shift, args.shift_im), progress=not args.quiet)
    record = {"family": point_name(model), "model": values(model), **res.as_dict()}
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
    lines = [f"spectrum N = {args.N}, {_model_label(model)}"]
    lines += [f"  λ = {z.real:+.10f} {z.imag:+.10f}i   residual {r:.1e}" for z, r in zip(lam, res.residuals)]
    lines += [f"gap = {res.gap:.10g}", "frequencies = " + ", ".join(f"{w:.8g}" for w in res.frequencies),
              f"seconds = {res.seconds:.2f} ({len(res.inner_iterations)} inner solves)"]
    emit(args, record, lines)


def add(sub) -> None:
    """Register the subcommand."""
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
    p.set_defaults(func=run)
