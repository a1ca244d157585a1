"""Named real parameters of a model point, the one interface sweeps, ``maximize`` and the CLI use.

A *point* is a family point (``LMG(J=3, ...)``, any ``Family``) or a bare ``PIModel``. A family
point names its parameters itself (``PARAMETERS``, with ``DEFAULTS``, ``DOMAIN``, ``BOUNDS``); a
``PIModel`` is addressed by term: ``hamiltonian[k]`` (the coefficient c of the k-th Hamiltonian
term), ``collective[k]`` and ``local[k]`` (rates, ≥ 0 as the ``PIModel`` checks). Leaves may be arrays (a batch) or
tracers (inside jit/grad); concrete values are validated whenever a point is rebuilt.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .families import Family
from .pimodel import LocalJump, OneBody, PIModel, TwoBody

_KINDS = ("hamiltonian", "collective", "local")


def as_point(x, what: str = "model"):
    """``x`` if it is a family point or a ``PIModel``, else ``ValueError``."""
    if isinstance(x, (Family, PIModel)):
        return x
    raise ValueError(f"{what} must be a model family point (e.g. permjax.LMG(...)) or a permjax.PIModel, "
                     f"got {type(x).__name__}")


def point_name(point) -> str:
    """The family's name (``"LMG"``), or ``"PIModel(d=…)"``."""
    return f"PIModel(d={point.d})" if isinstance(point, PIModel) else point.NAME


def _term_value(t):
    return t.c if isinstance(t, (OneBody, TwoBody)) else t.rate


def parameters(point) -> dict:
    """The parameters as ``{name: leaf}``, in order."""
    if isinstance(point, PIModel):
        return {f"{kind}[{k}]": _term_value(t) for kind in _KINDS for k, t in enumerate(getattr(point, kind))}
    return point.params()


def parameter_names(point) -> tuple[str, ...]:
    return tuple(parameters(point))


def default_bounds(point) -> dict:
    """The family's default search boxes ``{name: (lo, hi)}`` (none for a ``PIModel``)."""
    return {} if isinstance(point, PIModel) else dict(point.BOUNDS)


def default_over(point) -> tuple[str, ...]:
    """The parameters ``maximize`` optimises when ``over`` is not given (the family's ``OPTIMIZE``)."""
    return () if isinstance(point, PIModel) else tuple(getattr(point, "OPTIMIZE", ()))


def check_names(point, names, what: str = "parameter") -> None:
    """``ValueError`` naming the unknown ones among ``names``."""
    known = parameter_names(point)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {point_name(point)} {what}(s) {unknown}; expected some of {known}")


def with_parameters(point, **values):
    """A copy of ``point`` with some parameters replaced (validated like the constructor when
    the values are concrete; tracers pass through)."""
    check_names(point, values)
    if isinstance(point, PIModel):
        new = {**parameters(point), **values}

        def terms(kind):
            out = []
            for k, t in enumerate(getattr(point, kind)):
                mats = (t.A, t.B) if isinstance(t, TwoBody) else (t.L,) if isinstance(t, LocalJump) else (t.A,)
                out.append((new[f"{kind}[{k}]"], *mats))
            return out

        return PIModel(point.d, hamiltonian=terms("hamiltonian"), collective=terms("collective"), local=terms("local"))
    return type(point)(**{**point.params(), **values})


def values(point) -> dict:
    """Parameters as plain Python floats (single point) or nested lists (batch)."""
    out = {}
    for name, v in parameters(point).items():
        a = np.asarray(v)
        out[name] = float(a) if a.ndim == 0 else a.tolist()
    return out


def broadcast_to(point, shape_):
    """Every parameter broadcast to ``shape_`` as numpy arrays, re-validated."""
    return with_parameters(point, **{n: np.broadcast_to(np.asarray(v, dtype=np.float64), shape_)
                                     for n, v in parameters(point).items()})


def stack(points):
    """One batch (leading axis) from a list of single points of the same family / structure."""
    first = points[0]
    for p in points[1:]:
        if type(p) is not type(first) or jax.tree.structure(p) != jax.tree.structure(first):
            raise ValueError(f"a list of models must hold points of one family with the same terms; got "
                             f"{point_name(first)} and {point_name(p)}")
    return jax.tree.map(lambda *xs: jnp.stack([jnp.broadcast_to(x, ()) for x in xs]), *points)


__all__ = ["as_point", "point_name", "parameters", "parameter_names", "default_bounds", "default_over",
           "check_names", "with_parameters", "values", "broadcast_to", "stack"]
