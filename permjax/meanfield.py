"""Mean-field (N → ∞) dynamics of the LMG model: drift and the exact h = 0 limit cycle (SPEC §2)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .entropy import binary_entropy
from .model import LMG, _is_concrete


def drift(m, model: LMG):
    """Mean-field drift dm/dt of the Bloch vector m = (m_x, m_y, m_z) (Eq. 16)::

        dm_x/dt =  𝒥 m_y m_z + Γ m_x m_z/2 - γ m_x/2
        dm_y/dt = -𝒥 m_x m_z - h m_z + Γ m_y m_z/2 - γ m_y/2
        dm_z/dt =  h m_y - Γ (m_x² + m_y²)/2 + γ (1 - m_z)

    Pure function of (m, model): usable by diffrax, jit, vmap and grad.
    """
    mx, my, mz = m[..., 0], m[..., 1], m[..., 2]
    J, h, G, g = model.J, model.h, model.Gamma, model.gamma
    dmx = J * my * mz + G * mx * mz / 2 - g * mx / 2
    dmy = -J * mx * mz - h * mz + G * my * mz / 2 - g * my / 2
    dmz = h * my - G * (mx**2 + my**2) / 2 + g * (1 - mz)
    return jnp.stack([dmx, dmy, dmz], axis=-1)


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
    if _is_concrete(model.h) and np.any(np.asarray(model.h) != 0):
        raise ValueError("mi_thermo_analytic needs h = 0 (Eq. 18); use mi_thermo for h != 0")
    mz, mxy, _ = limit_cycle_h0(model)
    val = binary_entropy(mz) - binary_entropy(jnp.sqrt(mz**2 + mxy**2))
    return jnp.where(model.Gamma > model.gamma, val, 0.0)
