"""The steady-state superradiant laser (Meiser, Ye, Carlson and Holland, Phys. Rev. Lett. 102,
163601 (2009); Meiser and Holland, Phys. Rev. A 81, 033847 (2010)), cavity eliminated.

    dρ/dt = −i[ω J_z, ρ] + (Γ_c/N) D[J_−]ρ + w Σ_i D[σ_+^(i)]ρ + γ Σ_i D[σ_−^(i)]ρ + γ_φ Σ_i D[σ_z^(i)]ρ,

J_α = Σ_i σ_α^(i)/2. Γ_c here is N times the single-atom collective decay rate of the literature
(Γ_C = Ω²/κ for an atom-cavity coupling Ω and cavity decay κ), so that the collective term is O(N)
as in Eq. 1; w is the incoherent repumping rate, γ the spontaneous emission rate and γ_φ the local
dephasing (1/(2T₂) in Meiser and Holland's notation). ω is the atomic detuning from the frame.

Every term commutes with rotations about z, so the model has a U(1) symmetry for every ω. Its
mean field has, for w(1 − m_z) > γ(1 + m_z), the ring

    m_z = (w + γ + 4γ_φ)/Γ_c,    m_x² + m_y² = 2[w(1 − m_z) − γ(1 + m_z)]/Γ_c,

rotating at frequency ω (a limit cycle; at ω = 0 a ring of fixed points). Averaged over the ring
(the symmetry orbit, docs/theory.md §7) lim I_M/N = b(m_z) − b(|m|) whatever ω. In terms of Eq. 1 (docs/theory.md §2):
one-body ω σ_z/2, collective Γ_c with A = σ_−, local w with σ_+, γ with σ_− and γ_φ with σ_z.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ...entropy import binary_entropy
from ..families import Family, Parameter
from ..operators import sigma_minus, sigma_plus, sigma_z
from ..pimodel import PIModel


class SuperradiantLaser(Family):
    """Superradiant laser (ω, Γ_c, w, γ, γ_φ); a pytree of five differentiable leaves."""

    omega = Parameter(0.0, bounds=(0.0, 2.0), help="detuning ω of ω J_z")
    Gamma_c = Parameter(1.0, domain=">=0", bounds=(0.1, 4.0),
                      help="collective decay Γ_c >= 0 of D[J_-]/N (N times the literature's Γ_C)")
    w = Parameter(0.3, domain=">=0", bounds=(0.01, 1.0), help="incoherent repumping w >= 0 of D[σ_+]", optimize=True)
    gamma = Parameter(0.0, domain=">=0", bounds=(0.0, 0.5), help="spontaneous emission γ >= 0 of D[σ_-]")
    gamma_phi = Parameter(0.0, domain=">=0", bounds=(0.0, 0.5), help="local dephasing γ_φ >= 0 of D[σ_z]")

    NAME = 'laser'

    def to_model(self) -> PIModel:
        return PIModel(
            2,
            hamiltonian=[(self.omega, sigma_z / 2)],
            collective=[(self.Gamma_c, sigma_minus)],
            local=[(self.w, sigma_plus), (self.gamma, sigma_minus), (self.gamma_phi, sigma_z)],
        )


def laser_ring(model: SuperradiantLaser):
    """The mean-field ring (m_z, m_xy) of the module docstring; m_xy = 0 where it does not exist
    (then the attractor is the fixed point on the z axis, not given here)."""
    G = jnp.where(model.Gamma_c > 0, model.Gamma_c, 1.0)
    mz = (model.w + model.gamma + 4.0 * model.gamma_phi) / G
    sq = 2.0 * (model.w * (1.0 - mz) - model.gamma * (1.0 + mz)) / G
    ring = (model.Gamma_c > 0) & (sq > 0)
    return mz, jnp.where(ring, jnp.sqrt(jnp.where(ring, sq, 1.0)), 0.0)


def mi_thermo_laser(model: SuperradiantLaser):
    """lim I_M/N of the laser on its ring, b(m_z) − b(|m|), averaged over the U(1) orbit (0 off it)."""
    mz, mxy = laser_ring(model)
    return jnp.where(mxy > 0, binary_entropy(jnp.abs(mz)) - binary_entropy(jnp.sqrt(mz**2 + mxy**2)), 0.0)
