"""The anisotropic all-to-all (XYZ) spin model with local decay.

    dρ/dt = −i[H, ρ] + γ Σ_i D[σ_−^(i)]ρ,    H = (1/N)(J_x S_x² + J_y S_y² + J_z S_z²),

S_α = Σ_i σ_α^(i)/2: the dissipative XYZ model of Lee, Gopalakrishnan and Lukin (Phys. Rev. Lett.
110, 257204 (2013)) with all-to-all couplings. Its mean field is
dm/dt = (J_x m_x, J_y m_y, J_z m_z) × m + local decay; for (J_x − J_z)(J_y − J_z) < −γ²/4 the
state m = (0, 0, −1) is unstable and a pair of ferromagnetic fixed points (related by m → −m in
the plane) is the attractor. At the defaults (J_x = 1, J_y = 0, J_z = −1, γ = 0.2) the attractor is
the fixed point m = (0, 0, −1), lim I_M/N = 0. In terms of Eq. 1 (docs/theory.md §2): two-body J_α
(σ_α/2, σ_α/2), local γ with σ_−.
"""

from __future__ import annotations


from ..families import Family, Parameter
from ..operators import sigma_minus, sigma_x, sigma_y, sigma_z
from ..pimodel import PIModel


class XYZ(Family):
    """All-to-all XYZ parameters (J_x, J_y, J_z, γ); a pytree of four differentiable leaves."""

    Jx = Parameter(1.0, bounds=(-3.0, 3.0), help="coupling J_x of S_x²/N")
    Jy = Parameter(0.0, bounds=(-3.0, 3.0), help="coupling J_y of S_y²/N")
    Jz = Parameter(-1.0, bounds=(-3.0, 3.0), help="coupling J_z of S_z²/N")
    gamma = Parameter(0.2, domain=">0", bounds=(0.05, 2.0), help="local decay γ > 0 of D[σ_-]")

    NAME = 'XYZ'

    def to_model(self) -> PIModel:
        return PIModel(
            2,
            hamiltonian=[(self.Jx, sigma_x / 2, sigma_x / 2), (self.Jy, sigma_y / 2, sigma_y / 2),
                         (self.Jz, sigma_z / 2, sigma_z / 2)],
            local=[(self.gamma, sigma_minus)],
        )
