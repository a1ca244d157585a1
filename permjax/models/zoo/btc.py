"""The boundary time crystal with local dephasing and local decay.

    dρ/dt = −i[ω J_x, ρ] + (κ/N) D[J_−]ρ + γ_φ Σ_i D[σ_z^(i)]ρ + γ_↓ Σ_i D[σ_−^(i)]ρ,

J_α = Σ_i σ_α^(i)/2. Without the local terms this is the boundary time crystal of Iemini et al.
(Phys. Rev. A 98, 035109 (2018)): for ω > κ its mean field has a continuum of closed
(neutral) orbits. Local dephasing and decay make a stable fixed point the attractor: at the
defaults (κ = 1, ω = 2, γ_φ = γ_↓ = 0.05) the mean field relaxes to m ≈ (0, 0.0251, −0.0016), so
lim I_M/N = 0. In terms of Eq. 1 (docs/theory.md §2): one-body ω σ_x/2, collective κ with A = σ_−, local
γ_φ with σ_z and γ_↓ with σ_−.
"""

from __future__ import annotations


from ..families import Family, Parameter
from ..operators import sigma_minus, sigma_x, sigma_z
from ..pimodel import PIModel


class BTC(Family):
    """Boundary time crystal (κ, ω, γ_φ, γ_↓); a pytree of four differentiable leaves."""

    kappa = Parameter(1.0, domain=">=0", bounds=(0.1, 4.0), help="collective decay κ >= 0 of D[J_-]/N")
    omega = Parameter(2.0, bounds=(0.0, 4.0), help="drive ω of ω J_x")
    gamma_phi = Parameter(0.05, domain=">=0", bounds=(0.0, 1.0), help="local dephasing γ_φ >= 0 of D[σ_z]")
    gamma_down = Parameter(0.05, domain=">=0", bounds=(0.0, 1.0), help="local decay γ_↓ >= 0 of D[σ_-]")

    NAME = 'BTC'

    def to_model(self) -> PIModel:
        return PIModel(
            2,
            hamiltonian=[(self.omega, sigma_x / 2)],
            collective=[(self.kappa, sigma_minus)],
            local=[(self.gamma_phi, sigma_z), (self.gamma_down, sigma_minus)],
        )
