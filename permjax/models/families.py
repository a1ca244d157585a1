"""Model families: named real parameters (differentiable leaves) → a ``PIModel``.

A family point is a small pytree of named parameters (``LMG(J=3, h=0.5, Gamma=1.68,
gamma=1)``) with a ``to_model()`` that builds the ``PIModel`` (Eq. 1) from them. Sweeps,
``maximize`` and the CLI work on family points: the parameter names, their defaults, the
domain each must lie in and default search bounds all come from the family. A batch of
points is one point with array leaves. Define a family with the ``family`` decorator::

    @permjax.family(defaults={"kappa": 1.0, "omega": 1.5, "gamma_phi": 0.1},
                    domain={"kappa": ">=0", "gamma_phi": ">=0"})
    def btc(kappa, omega, gamma_phi):
        return permjax.PIModel(2, hamiltonian=[(omega, sigma_x / 2)],
                               collective=[(kappa, sigma_minus)], local=[(gamma_phi, sigma_z)])

    btc(omega=2.0).to_model()
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from typing import Callable, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .pimodel import PIModel, _coefficient, is_concrete

_DOMAINS = {">=0": (0.0, False, ">= 0"), ">0": (0.0, True, "> 0")}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of a family, declared once as a class attribute::

        class Laser(Family):
            w = Parameter(0.3, domain=">=0", bounds=(0.01, 1.0), help="repumping rate w", optimize=True)

    Attributes:
        default: its default value (``None``: it must be given).
        domain: ``">=0"`` or ``">0"`` for a parameter that must be non-negative / positive.
        bounds: default search box ``(lo, hi)`` for ``maximize`` and the CLI.
        help: a one-line description.
        optimize: whether ``maximize`` optimises it when ``over`` is not given.
    """

    default: float | None = None
    domain: str | None = None
    bounds: tuple | None = None
    help: str = ""
    optimize: bool = False

    def __post_init__(self):
        if self.domain is not None and self.domain not in _DOMAINS:
            raise ValueError(f"Parameter domain must be one of {sorted(_DOMAINS)}, got {self.domain!r}")
        if self.bounds is not None and len(self.bounds) != 2:
            raise ValueError(f"Parameter bounds must be (lo, hi), got {self.bounds!r}")


class Family(eqx.Module):
    """Base class of family points. Subclasses declare one ``Parameter`` per parameter (in order)
    and implement ``to_model``; the class-level tables below (class attributes) are built from them.

    Attributes:
        NAME: the family's name (model files, CLI).
        PARAMETERS: parameter names, in order (positional arguments follow it).
        DEFAULTS: a value for every parameter.
        DOMAIN: ``{name: ">=0" | ">0"}`` for parameters that must be non-negative / positive.
        BOUNDS: default search box ``{name: (lo, hi)}`` for ``maximize`` and the CLI.
        OPTIMIZE: the parameters ``maximize`` optimises when ``over`` is not given.
        HELP: one-line descriptions of the parameters.
    """

    NAME: ClassVar[str] = "family"
    PARAMETERS: ClassVar[tuple] = ()
    DEFAULTS: ClassVar[dict] = {}
    DOMAIN: ClassVar[dict] = {}
    BOUNDS: ClassVar[dict] = {}
    OPTIMIZE: ClassVar[tuple] = ()
    HELP: ClassVar[dict] = {}

    def __init_subclass__(cls, **kwargs):
        params = {k: v for k, v in vars(cls).items() if isinstance(v, Parameter)}
        if params:
            annotations = dict(cls.__dict__.get("__annotations__", {}))
            for k in params:
                delattr(cls, k)
                annotations[k] = jax.Array
            cls.__annotations__ = annotations
            cls.PARAMETERS = tuple(params)
            cls.DEFAULTS = {k: float(p.default) for k, p in params.items() if p.default is not None}
            cls.DOMAIN = {k: p.domain for k, p in params.items() if p.domain is not None}
            cls.BOUNDS = {k: tuple(float(x) for x in p.bounds) for k, p in params.items() if p.bounds is not None}
            cls.HELP = {k: p.help for k, p in params.items() if p.help}
            cls.OPTIMIZE = tuple(k for k, p in params.items() if p.optimize)
        super().__init_subclass__(**kwargs)

    def __init__(self, *args, **kwargs):
        names = type(self).PARAMETERS
        if len(args) > len(names):
            raise ValueError(f"{self.NAME} takes at most {len(names)} parameters {names}, got {len(args)}")
        values = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise ValueError(f"unknown {self.NAME} parameter {k!r}; expected some of {names}")
            if k in values:
                raise ValueError(f"{self.NAME} parameter {k} given twice")
            values[k] = v
        for name in names:
            v = values.get(name, type(self).DEFAULTS.get(name))
            if v is None:
                raise ValueError(f"{self.NAME} parameter {name} has no default: give a value")
            setattr(self, name, check_parameter(type(self), name, v))

    def to_model(self) -> PIModel:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        """Broadcast shape of the parameters (``()`` for a single point)."""
        return jnp.broadcast_shapes(*(jnp.shape(getattr(self, p)) for p in self.PARAMETERS))

    def broadcast(self):
        """Every parameter broadcast to ``self.shape`` (ready for ``jax.vmap``)."""
        s = self.shape
        return jax.tree.map(lambda x: jnp.broadcast_to(x, s), self)

    def replace(self, **changes):
        """A copy with some parameters changed (validated like the constructor)."""
        unknown = set(changes) - set(self.PARAMETERS)
        if unknown:
            raise ValueError(f"unknown {self.NAME} parameter(s): {sorted(unknown)}")
        return type(self)(**{**self.params(), **changes})

    def params(self) -> dict:
        """The parameters as a dict of leaves."""
        return {p: getattr(self, p) for p in self.PARAMETERS}

    def as_dict(self) -> dict:
        """Parameters as plain Python floats (single point) or lists (batch)."""
        out = {}
        for p in self.PARAMETERS:
            v = np.asarray(getattr(self, p))
            out[p] = float(v) if v.ndim == 0 else v.tolist()
        return out


def check_parameter(cls, name: str, v):
    """A parameter as a float64 leaf; concrete values must be real, finite and in the domain."""
    what = f"{cls.NAME} parameter {name}"
    x = _coefficient(v, what)
    if is_concrete(x) and name in cls.DOMAIN:
        lo, strict, text = _DOMAINS[cls.DOMAIN[name]]
        a = np.asarray(x)
        if np.any(a <= lo) if strict else np.any(a < lo):
            raise ValueError(f"{cls.NAME} parameter {name} must be {text}, got {v!r}")
    return x


def family(build: Callable | None = None, *, name: str | None = None, defaults: dict | None = None,
           domain: dict | None = None, bounds: dict | None = None, help: dict | None = None,
           optimize: tuple | None = None):
    """Make a model family from ``build(**params) -> PIModel`` (usable as a decorator).

    The parameters are ``build``'s arguments; ``defaults`` gives a value for each (or the
    function's own defaults are used); ``domain`` marks non-negative (``">=0"``) or positive
    (``">0"``) ones; ``bounds`` gives default search boxes for ``maximize`` and ``optimize`` the
    parameters it optimises by default. Returns a
    ``Family`` subclass: calling it makes a (validated) family point.
    """

    def make(fn):
        sig = inspect.signature(fn)
        names = tuple(sig.parameters)
        if not names:
            raise ValueError("a family needs at least one parameter")
        dflt = {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
        dflt.update(defaults or {})
        for k, v in (domain or {}).items():
            if v not in _DOMAINS:
                raise ValueError(f"domain of {k} must be one of {sorted(_DOMAINS)}, got {v!r}")
        for table, label in ((dflt, "defaults"), (domain or {}, "domain"), (bounds or {}, "bounds"), (help or {}, "help")):
            extra = set(table) - set(names)
            if extra:
                raise ValueError(f"family {label} name unknown parameters {sorted(extra)}")
        if set(optimize or ()) - set(names):
            raise ValueError(f"family optimize names unknown parameters {sorted(set(optimize) - set(names))}")
        ns = {
            "__annotations__": {p: jax.Array for p in names},
            "__module__": getattr(fn, "__module__", __name__),
            "__doc__": fn.__doc__,
            "NAME": name or fn.__name__,
            "PARAMETERS": names,
            "DEFAULTS": {k: float(v) for k, v in dflt.items()},
            "DOMAIN": dict(domain or {}),
            "BOUNDS": {k: tuple(float(x) for x in v) for k, v in (bounds or {}).items()},
            "HELP": dict(help or {}),
            "OPTIMIZE": tuple(optimize or ()),
            "to_model": lambda self: fn(**self.params()),
        }
        return type(name or fn.__name__, (Family,), ns)

    return make if build is None else make(build)


def validate_N(N, minimum: int = 1) -> int:
    """Return ``N`` as a Python int, or raise ``ValueError`` if it is not an integer >= minimum."""
    if isinstance(N, (bool, np.bool_)) or not isinstance(N, numbers.Integral):
        if isinstance(N, (float, np.floating)) and math.isfinite(N) and float(N).is_integer():
            N = int(N)
        else:
            raise ValueError(f"N must be an integer >= {minimum}, got {N!r}")
    N = int(N)
    if N < minimum:
        raise ValueError(f"N must be an integer >= {minimum}, got {N}")
    return N
