"""The spin-1 (qutrit) driven-dissipative LMG model: the LMG of Eqs. 14-15 with each unit a spin 1.

    dρ/dt = −i[H, ρ] + (Γ/N) D[S_−]ρ + γ Σ_i D[s_+^(i)]ρ,    H = (𝒥/N)(S_x² + S_y²) + h S_x,

with s_α the spin-1 matrices of one unit (levels |+1⟩, |0⟩, |−1⟩ = 0, 1, 2; s_+ = √2(|+1⟩⟨0| +
|0⟩⟨−1|)) and S_α = Σ_i s_α^(i). Collective d-level generalisations of this kind are studied
as boundary time crystals in collective d-level systems (Prazeres, Souza, Iemini, Phys. Rev. B
103, 184308 (2021)). In terms of Eq. 1 (docs/theory.md §2), d = 3: two-body 𝒥 (s_x, s_x) + 𝒥 (s_y, s_y),
one-body h s_x, collective Γ with A = s_−, local γ with s_+.

At the defaults (𝒥 = 3, h = 0, Γ = 2, γ = 1) the mean field (8 components of ξ) has a stable
limit cycle, period ≈ 3.302/γ, lim I_M/N ≈ 0.4655 (checked against long scipy integrations of the
brute-force drift in tests/test_zoo.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..families import Family, Parameter
from ..pimodel import PIModel

s_plus = math.sqrt(2.0) * np.diag([1.0, 1.0], 1).astype(np.complex128)  # |+1⟩⟨0| + |0⟩⟨−1|, times √2
s_minus = s_plus.conj().T.copy()
s_x = (s_plus + s_minus) / 2
s_y = (s_plus - s_minus) / 2j
s_z = np.diag([1.0, 0.0, -1.0]).astype(np.complex128)
for _m in (s_plus, s_minus, s_x, s_y, s_z):
    _m.setflags(write=False)


class SpinOneLMG(Family):
    """Spin-1 LMG parameters (𝒥, h, Γ, γ); a pytree of four differentiable leaves."""

    J = Parameter(3.0, bounds=(0.5, 6.0), help="exchange coupling 𝒥 of (S_x² + S_y²)/N")
    h = Parameter(0.0, bounds=(0.0, 2.0), help="transverse field h of h S_x")
    Gamma = Parameter(2.0, domain=">=0", bounds=(0.5, 6.0), help="collective decay Γ >= 0 of D[S_-]/N")
    gamma = Parameter(1.0, domain=">0", bounds=(0.25, 4.0), help="local pumping γ > 0 of D[s_+]")

    NAME = 'spin1_lmg'

    def to_model(self) -> PIModel:
        return PIModel(
            3,
            hamiltonian=[(self.J, s_x, s_x), (self.J, s_y, s_y), (self.h, s_x)],
            collective=[(self.Gamma, s_minus)],
            local=[(self.gamma, s_plus)],
        )
