"""``permjax thermo``: lim N → ∞ I_M/N from the mean-field attractors and their symmetry orbits."""

from __future__ import annotations

import math
import sys
import time

from .common import add_family_flags, add_json_flag, emit, _mi_text, model_from_args, _model_label

NOT_RESOLVED_EXIT = 3  #: exit status of ``permjax thermo`` when I_M/N is not a number (not resolved, multistable)


def _orbit_text(orbit: dict) -> str:
    if orbit["dim"]:
        return f"continuous (dimension {orbit['dim']}: a ring of attractors related by a symmetry)"
    if orbit["size"] > 1:
        return f"{orbit['size']} attractors related by a symmetry"
    return "1 attractor"


def run(args) -> int:
    from ..meanfield import mi_thermo
    from ..models.parameters import point_name, values

    model = model_from_args(args)
    t0 = time.perf_counter()
    res = mi_thermo(model)
    mi = float(res.mi) + 0.0  # a zero never as -0
    err = float(res.mi_err)
    seconds = time.perf_counter() - t0
    orbit = res.orbit
    record = {
        "family": point_name(model),
        "model": values(model),
        "mi_per_N": mi if math.isfinite(mi) else None,
        "mi_err": err if math.isfinite(err) else None,
        "attractor": res.kind_name,
        "orbit_size": orbit["size"],
        "orbit_dim": orbit["dim"],
        "period": float(res.period) if res.has_period else None,
        "m_mean": [float(v) for v in res.m_mean],
        "m_orbit": [float(v) for v in res.m_orbit],
        "diagnostics": res.diagnostics_dict(),
        "seconds": seconds,
    }
    period = f"{record['period']:.10g}" if record["period"] is not None else "-"
    ergodic = res.kind_name in ("chaotic", "quasi-periodic")
    lines = [
        f"N -> infinity, {_model_label(model)}",
        f"I_M/N     = {_mi_text(mi)}" + (f" +- {err:.2g} (ergodic average)" if ergodic else ""),
        f"attractor = {res.kind_name}",
        f"orbit     = {_orbit_text(orbit)}",
        f"period    = {period}",
        f"<m>       = ({', '.join(f'{v:.8g}' for v in record['m_mean'])})",
        f"<m>orbit  = ({', '.join(f'{v:.8g}' for v in record['m_orbit'])})",
        (f"lyapunov  = {float(res.lyapunov):.4g} (largest exponent over the window)" if ergodic else
         f"residual  = {res.diagnostics_dict()['residual']} ({int(res.newton_steps)} Newton steps)"),
        f"seconds   = {seconds:.3f}",
    ]
    if int(res.n_attractors) > 1 or res.kind_name == "multistable":
        record["attractors"] = res.attractors()
        lines.append("orbits    = " + "; ".join(
            f"{a['kind']} I_M/N={a['mi']} ({a['fraction']:.0%} of starts, {len(a['attractors'])} attractor(s) reached)"
            for a in record["attractors"]))
    emit(args, record, lines)
    if not math.isfinite(mi):
        why = {"multistable": "attractors not related by a symmetry: their finite-N weights are not given by the "
                              "mean field (I_M/N is NaN; the orbits are listed)",
               "not resolved": "no fixed point, stable cycle or stationary ergodic average" if bool(res.finished)
               else "the integration did not finish (I_M/N is NaN)"}[res.kind_name]
        print(f"permjax: {res.kind_name}: {why}", file=sys.stderr)
        return NOT_RESOLVED_EXIT
    return 0


def add(sub) -> None:
    """Register the subcommand."""
    p = sub.add_parser("thermo", help="lim N->inf I_M/N from the mean-field attractor (Eq. 13)")
    add_family_flags(p)
    add_json_flag(p)
    p.set_defaults(func=run)
