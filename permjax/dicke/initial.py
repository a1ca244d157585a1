"""Initial states in the Dicke basis, built exactly from their J-block decomposition (docs/theory.md §4).

A permutation-invariant state is ρ_T = ⊕_J ρ_J ⊗ 1_{dim_J}/dim_J (Eq. 20), stored as the padded
grid ρ[j, a, a′] (``DickeLayout``; a = M + N/2, qubit basis (|↑⟩, |↓⟩), so a = N is all-up).

Product states r^{⊗N}: with r = U diag(p, 1−p) U† (U maps |↑⟩ to the eigenvector of weight p),

    diag(p, 1−p)^{⊗N} = Σ_{bit strings} p^{n↑}(1−p)^{n↓} |s⟩⟨s| = ⊕_J Σ_M p^{N/2+M}(1−p)^{N/2−M} |J,M⟩⟨J,M| ⊗ 1_{dim_J}

(a function of Ĵ_z only, so the identity on every multiplicity space), i.e. in the normalisation
of Eq. 20

    ρ_J = dim_J · diag_M( p^{N/2+M} (1−p)^{N/2−M} ),      Σ_J Tr ρ_J = Σ_n C(N,n) p^n (1−p)^{N−n} = 1,

and U^{⊗N} = ⊕_J D^J(U) ⊗ 1 rotates each block: ρ_J → D^J ρ_J D^J†, with D^J(U) = exp(−i k·Ĵ) for
U ∝ exp(−i k·σ/2). A pure r (p = 1) gives the spin coherent state in J = N/2. No 2^N object is
ever formed; the (2J+1)-dimensional rotations are exponentials of Hermitian generators.
"""

from __future__ import annotations

import math

import numpy as np

from .layout import DickeLayout

#: named initial states (every unit up / down): (J, M) = (N/2, ±N/2), built exactly
NAMED = {"up": +1, "down": -1}


def _spin_matrices(J: float):
    """Ĵ_x, Ĵ_y, Ĵ_z in block J, basis M = −J … J (ascending, the grid's order)."""
    M = np.arange(-J, J + 0.5)
    a = np.sqrt(np.clip((J - M[:-1]) * (J + M[:-1] + 1), 0, None))  # ⟨M+1|Ĵ_+|M⟩
    jp = np.diag(a, -1).astype(complex)
    return 0.5 * (jp + jp.T), -0.5j * (jp - jp.T), np.diag(M).astype(complex)


def rotation_generator(U) -> np.ndarray:
    """k with U ∝ exp(−i k·σ/2) (U unitary 2×2; the global phase and the sign of U drop out)."""
    U = np.asarray(U, dtype=complex)
    V = U / np.sqrt(np.linalg.det(U))
    if np.real(np.trace(V)) < 0:  # −V gives the same conjugation; keeps the rotation angle ≤ π
        V = -V
    w, P = np.linalg.eig(V)
    K = 1j * (P @ np.diag(np.log(w)) @ np.linalg.inv(P))  # V = exp(−iK)
    K = 0.5 * (K + K.conj().T)
    return np.real(np.array([np.trace(K @ s) for s in _PAULI]))  # K = k·σ/2 ⇒ Tr(Kσ_α) = k_α


_PAULI = (np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]], complex),
          np.array([[1, 0], [0, -1]], complex))


def wigner_D(k, J: float) -> np.ndarray:
    """D^J = exp(−i k·Ĵ) on block J (basis M ascending), by eigendecomposition of k·Ĵ."""
    jx, jy, jz = _spin_matrices(J)
    w, P = np.linalg.eigh(k[0] * jx + k[1] * jy + k[2] * jz)
    return (P * np.exp(-1j * w)) @ P.conj().T


def single_qubit_state(r) -> np.ndarray:
    """Validate a 2×2 density matrix (Hermitian, trace 1, positive semidefinite)."""
    r = np.asarray(r, dtype=complex)
    if r.shape != (2, 2):
        raise ValueError(f"a single-qubit state is a 2×2 matrix, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("the single-qubit state has non-finite entries")
    if np.max(np.abs(r - r.conj().T)) > 1e-12 or abs(np.trace(r) - 1) > 1e-12:
        raise ValueError("a single-qubit state must be Hermitian with unit trace")
    if np.linalg.eigvalsh(r)[0] < -1e-12:
        raise ValueError("a single-qubit state must be positive semidefinite")
    return r


def product_state_blocks(N: int, r) -> np.ndarray:
    """ρ[j, a, a′] of r^{⊗N} (module docstring), shape (n_J, N+1, N+1), complex."""
    lay = DickeLayout(N)
    r = single_qubit_state(r)
    w, P = np.linalg.eigh(r)  # ascending: w[1] = p, P[:, 1] its eigenvector
    p = float(np.clip(w[1], 0.0, 1.0))
    U = P[:, ::-1]  # |↑⟩ ↦ eigenvector of p, |↓⟩ ↦ that of 1 − p
    k = rotation_generator(U)
    out = np.zeros((lay.n_J, lay.n_M, lay.n_M), complex)
    logp, logq = (math.log(x) if x > 0 else -np.inf for x in (p, 1.0 - p))
    for j, J in enumerate(lay.J):
        M = np.arange(-J, J + 0.5)
        n_up, n_dn = N / 2 + M, N / 2 - M
        # p^{n↑}(1−p)^{n↓} dim_J, with 0^0 = 1
        with np.errstate(invalid="ignore"):  # 0 · ln 0 is masked out (0^0 = 1)
            lw = lay.log_dim[j] + np.where(n_up > 0, n_up * logp, 0.0) + np.where(n_dn > 0, n_dn * logq, 0.0)
        pops = np.exp(lw)
        D = wigner_D(k, J)
        sl = slice(int(round(N / 2 - J)), int(round(N / 2 + J)) + 1)
        out[j, sl, sl] = (D * pops) @ D.conj().T
    return out


def dicke_state_blocks(N: int, J: float, M: float) -> np.ndarray:
    """ρ of the permutation-invariant Dicke state |J, M⟩⟨J, M| ⊗ 1_{dim_J}/dim_J (pure for J = N/2)."""
    lay = DickeLayout(N)
    j = J - lay.J_min
    if not (abs(j - round(j)) < 1e-9 and 0 <= round(j) < lay.n_J):
        raise ValueError(f"J must be one of {lay.J_min}, …, {N / 2} for N = {N}, got {J}")
    a = M + N / 2
    if not (abs(a - round(a)) < 1e-9 and abs(M) <= J + 1e-9):
        raise ValueError(f"M must satisfy |M| ≤ J with J − M an integer, got J = {J}, M = {M}")
    out = np.zeros((lay.n_J, lay.n_M, lay.n_M), complex)
    out[int(round(j)), int(round(a)), int(round(a))] = 1.0
    return out
