"""Qubit (d = 2) terms in collective-spin form (docs/theory.md §6).

Any 2×2 matrix is A = a₀ 1 + a₊ σ₊ + a₋ σ₋ + a_z σ_z (basis (|↑⟩, |↓⟩), σ₊ = |↑⟩⟨↓|), so

    A_tot = Σ_i A^(i) = a₀ N + a₊ J₊ + a₋ J₋ + 2 a_z J_z,

which acts inside every J-block (Dicke basis). ``components`` returns (a₀, a₊, a₋, a_z).
"""

from __future__ import annotations

import numpy as np

from .pimodel import Operator

#: the single-qubit basis of ``components``: 1, σ₊, σ₋, σ_z
LABELS = ("1", "+", "-", "z")


def components(A) -> np.ndarray:
    """(a₀, a₊, a₋, a_z) with A = a₀ 1 + a₊ σ₊ + a₋ σ₋ + a_z σ_z, complex, shape (4,)."""
    a = np.asarray(A.array if isinstance(A, Operator) else A, dtype=np.complex128)
    if a.shape != (2, 2):
        raise ValueError(f"a qubit operator is 2×2, got shape {a.shape}")
    return np.array([(a[0, 0] + a[1, 1]) / 2, a[0, 1], a[1, 0], (a[0, 0] - a[1, 1]) / 2])


def collective_components(A) -> np.ndarray:
    """A_tot = c_N N + c₊ J₊ + c₋ J₋ + c_z J_z: (c_N, c₊, c₋, c_z) = (a₀, a₊, a₋, 2a_z)."""
    a0, ap, am, az = components(A)
    return np.array([a0, ap, am, 2 * az])


def conserves_q(A) -> bool:
    """Whether A_tot (as a factor of a term) changes M by a single definite amount: it contains
    only one of {J₊}, {J₋}, {1, J_z} (q = M − M′ is then conserved by A ρ A†)."""
    a0, ap, am, az = components(A)
    nz = [abs(ap) > 0, abs(am) > 0, abs(a0) > 0 or abs(az) > 0]
    return sum(nz) <= 1
