"""Closed forms used as references by several tests, written out in numpy (independent of permjax)."""

import numpy as np


def eq18_numpy(Gamma, gamma=1.0):
    """Eq. 18 written out in numpy: b(γ/Γ) − b(√((γ/Γ)² + 2γ(Γ−γ)/Γ²)) for Γ > γ."""

    def b(x):
        p, q = (1 + x) / 2, (1 - x) / 2
        return -p * np.log(p) - q * np.log(q)

    mz = gamma / Gamma
    return b(mz) - b(np.sqrt(mz**2 + 2 * gamma * (Gamma - gamma) / Gamma**2))
