"""Model parameters as a JAX pytree.

The driven-dissipative Lipkin-Meshkov-Glick (LMG) model (SPEC §1, Eqs. 14-15)::

    dρ/dt = -i[H, ρ] + (Γ/N) D[J_-]ρ + γ Σ_i D[σ_+^(i)]ρ,
    H     = (𝒥/N)(J_x² + J_y²) + h J_x .
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

PARAMETERS = ("J", "h", "Gamma", "gamma")


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


class LMG(eqx.Module):
    """LMG parameters (𝒥, h, Γ, γ); a pytree whose four leaves are differentiable.

    Leaves may be scalars or arrays of a common (broadcastable) shape, so a batch of
    models is one ``LMG`` and ``jax.vmap`` maps over it. Construction with concrete
    values validates them: every value finite, ``Gamma >= 0``, ``gamma > 0``;
    otherwise ``ValueError`` naming the parameter. Inside ``jit``/``vmap``/``grad``
    (tracer leaves) no check is possible and none is made.

    Attributes:
        J: exchange coupling 𝒥.
        h: transverse field.
        Gamma: collective decay rate Γ ≥ 0.
        gamma: local pumping rate γ > 0.
    """

    J: jax.Array
    h: jax.Array
    Gamma: jax.Array
    gamma: jax.Array

    def __init__(self, J=3.0, h=0.5, Gamma=1.68, gamma=1.0):
        vals = {"J": J, "h": h, "Gamma": Gamma, "gamma": gamma}
        for name, v in vals.items():
            if _is_concrete(v):
                _validate(name, v)
        self.J = _as_float(J)
        self.h = _as_float(h)
        self.Gamma = _as_float(Gamma)
        self.gamma = _as_float(gamma)

    @property
    def shape(self) -> tuple[int, ...]:
        """Broadcast shape of the leaves (``()`` for a single model)."""
        return jnp.broadcast_shapes(*(jnp.shape(getattr(self, p)) for p in PARAMETERS))

    def broadcast(self) -> "LMG":
        """The same model(s) with every leaf broadcast to ``self.shape`` (ready for vmap)."""
        s = self.shape
        return jax.tree.map(lambda x: jnp.broadcast_to(x, s), self)

    def replace(self, **changes) -> "LMG":
        """A copy with some parameters changed (validated like the constructor)."""
        vals = {p: getattr(self, p) for p in PARAMETERS}
        unknown = set(changes) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"unknown LMG parameter(s): {sorted(unknown)}")
        vals.update(changes)
        return LMG(**vals)

    def as_dict(self) -> dict:
        """Parameters as plain Python floats (single model) or lists (batch)."""
        out = {}
        for p in PARAMETERS:
            v = np.asarray(getattr(self, p))
            out[p] = float(v) if v.ndim == 0 else v.tolist()
        return out


def _as_float(x):
    if _is_concrete(x) and isinstance(x, (int, float, np.integer, np.floating)):
        return jnp.asarray(x, dtype=jnp.float64)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float64)
    return x


def _validate(name: str, v) -> None:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"LMG parameter {name} must be a real number, got {v!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"LMG parameter {name} must be finite, got {v!r}")
    if name == "Gamma" and np.any(a < 0):
        raise ValueError(f"LMG parameter Gamma (collective decay) must be >= 0, got {v!r}")
    if name == "gamma" and np.any(a <= 0):
        raise ValueError(f"LMG parameter gamma (local pumping) must be > 0, got {v!r}")


def validate_N(N, minimum: int = 1) -> int:
    """Return ``N`` as a Python int, or raise ``ValueError`` if it is not an integer >= minimum."""
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)):
        if isinstance(N, (float, np.floating)) and math.isfinite(N) and float(N).is_integer():
            N = int(N)
        else:
            raise ValueError(f"N must be an integer >= {minimum}, got {N!r}")
    N = int(N)
    if N < minimum:
        raise ValueError(f"N must be an integer >= {minimum}, got {N}")
    return N
