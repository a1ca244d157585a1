"""The driven-dissipative Lipkin-Meshkov-Glick model (docs/theory.md §2, Eqs. 14-15) and its exact results.

    dρ/dt = −i[H, ρ] + (Γ/N) D[J_−]ρ + γ Σ_i D[σ_+^(i)]ρ,    H = (𝒥/N)(J_x² + J_y²) + h J_x,

with J_α = Σ_i σ_α^(i)/2: in terms of Eq. 1 (docs/theory.md §2), one-body h σ_x/2, two-body 𝒥 (σ_x/2, σ_x/2)
and 𝒥 (σ_y/2, σ_y/2), collective Γ with A = σ_−, local γ with σ_+.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ...entropy import binary_entropy
from ..families import Family, Parameter
from ..operators import sigma_minus, sigma_plus, sigma_x, sigma_y
from ..pimodel import PIModel, is_concrete


class LMG(Family):
    """LMG parameters (𝒥, h, Γ, γ); a pytree whose four leaves are differentiable.

    Leaves may be scalars or arrays of a common (broadcastable) shape, so a batch of
    models is one ``LMG`` and ``jax.vmap`` maps over it. Construction with concrete
    values validates them: every value a finite real number, ``Gamma >= 0``, ``gamma > 0``;
    otherwise ``ValueError`` naming the parameter. Inside ``jit``/``vmap``/``grad``
    (tracer leaves) no check is possible and none is made.

    Attributes:
        J: exchange coupling 𝒥.
        h: transverse field.
        Gamma: collective decay rate Γ ≥ 0.
        gamma: local pumping rate γ > 0.
    """

    J = Parameter(3.0, bounds=(0.5, 6.0), help="exchange coupling 𝒥, in units of γ")
    h = Parameter(0.5, bounds=(0.0, 2.0), help="transverse field h, in units of γ")
    Gamma = Parameter(1.68, domain=">=0", bounds=(1.0, 4.0), help="collective decay Γ >= 0, in units of γ",
                      optimize=True)
    gamma = Parameter(1.0, domain=">0", bounds=(0.25, 4.0), help="local pumping γ > 0 (the unit of rates)")

    NAME = 'LMG'

    def to_model(self) -> PIModel:
        return PIModel(
            2,
            hamiltonian=[(self.J, sigma_x / 2, sigma_x / 2), (self.J, sigma_y / 2, sigma_y / 2), (self.h, sigma_x / 2)],
            collective=[(self.Gamma, sigma_minus)],
            local=[(self.gamma, sigma_plus)],
        )


def limit_cycle_h0(model: LMG):
    """The exact h = 0 limit cycle (Eq. 17), valid for Γ > γ.

    Returns ``(m_z, m_xy, omega)``: the cycle is m = (m_xy cos ωt, -m_xy sin ωt, m_z)
    with m_z = γ/Γ, m_xy = √(2γ(Γ-γ))/Γ and ω = 𝒥γ/Γ. For Γ ≤ γ, m_xy is returned as 0
    (the stable fixed point m = (0, 0, 1) replaces the cycle; m_z is then 1).
    """
    G, g = model.Gamma, model.gamma
    cycle = G > g
    safe_G = jnp.where(cycle, G, 2.0 * g)
    mz = jnp.where(cycle, g / safe_G, 1.0)
    mxy = jnp.where(cycle, jnp.sqrt(jnp.where(cycle, 2 * g * (safe_G - g), 1.0)) / safe_G, 0.0)
    omega = jnp.where(cycle, model.J * g / safe_G, 0.0)
    return mz, mxy, omega


def mi_thermo_analytic(model: LMG):
    """lim_{N→∞} I_M/N at h = 0 (Eq. 18): b(γ/Γ) - b(√((γ/Γ)² + m_xy²)) for Γ > γ, else 0.

    Raises ``ValueError`` if h is concretely nonzero (no closed form exists then).
    """
    import numpy as np

    if not isinstance(model, LMG):
        raise ValueError(f"mi_thermo_analytic needs an LMG model, got {type(model).__name__}")
    if is_concrete(model.h) and np.any(np.asarray(model.h) != 0):
        raise ValueError("mi_thermo_analytic needs h = 0 (Eq. 18); use mi_thermo for h != 0")
    mz, mxy, _ = limit_cycle_h0(model)
    val = binary_entropy(mz) - binary_entropy(jnp.sqrt(mz**2 + mxy**2))
    return jnp.where(model.Gamma > model.gamma, val, 0.0)
