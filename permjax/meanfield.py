"""Mean-field (N → ∞) dynamics of the LMG model: drift and the exact h = 0 limit cycle (SPEC §2)."""

from __future__ import annotations

import jax.numpy as jnp

from .model import LMG
from .models.zoo.lmg import limit_cycle_h0, mi_thermo_analytic  # noqa: F401  (Eqs. 17-18)


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
