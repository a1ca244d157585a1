"""Brute-force reference for any qubit PIModel on the full 2^N space, independent of permjax's assembly.

Reads only the model's data (term matrices and coefficients) and builds, with plain numpy
Kronecker products, the 2^N Hamiltonian and jump operators of Eq. 1:

    H = Σ c Σ_i A^(i) + Σ (c/N) A_tot B_tot,  collapse √(Γ/N) A_tot and √γ L^(i).

The Dicke basis |J, M, μ⟩ (Condon–Shortley phases, μ the multiplicity label) is built here
from scratch: the highest-weight vectors of each J are the kernel of Ĵ₊ in the Ĵ_z = J
eigenspace (orthonormalised), lowered with Ĵ₋. ``embed`` maps permjax's block grid
ρ[j, a, a′] to ρ_T = ⊕_J ρ_J ⊗ 1/dim_J, ``project`` maps back (ρ_J = Tr_μ).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import bruteforce as bf

SIGMA = bf.SIGMA


def site(op, i: int, N: int) -> sp.csr_matrix:
    return bf.site_operator(np.asarray(op, complex), i, N)


def total(op, N: int) -> sp.csr_matrix:
    """A_tot = Σ_i A^(i)."""
    return sp.csr_matrix(sum(site(op, i, N) for i in range(N)))


def model_operators(model, N: int):
    """(H, collapse) on the full space for a qubit PIModel with scalar coefficients."""
    dim = 2**N
    H = sp.csr_matrix((dim, dim), dtype=complex)
    for t in model.hamiltonian:
        c = float(t.c)
        if hasattr(t, "B"):
            H = H + (c / N) * (total(t.A.array, N) @ total(t.B.array, N))
        else:
            H = H + c * total(t.A.array, N)
    collapse = [np.sqrt(float(t.rate) / N) * total(t.A.array, N) for t in model.collective]
    for t in model.local:
        collapse += [np.sqrt(float(t.rate)) * site(t.L.array, i, N) for i in range(N)]
    return sp.csr_matrix(H), [sp.csr_matrix(c) for c in collapse]


def steady_state(model, N: int, method: str = "symmetric") -> np.ndarray:
    """ρ_ss on the 2^N space, unique steady state assumed: ``"symmetric"`` solves L restricted
    to the permutation-invariant operators (``bruteforce.symmetric_steady_state``), ``"full"``
    the sparse 4^N Liouvillian (slow beyond N = 5 with N local jumps)."""
    H, collapse = model_operators(model, N)
    if method == "full":
        return bf.steady_state(bf.liouvillian(H, collapse), 2**N)
    return bf.symmetric_steady_state(H, collapse, N)


def dicke_basis(N: int) -> dict:
    """{J: V} with V[M + J, μ] the 2^N vector |J, M, μ⟩, M = −J … J."""
    Jz = np.asarray(total(SIGMA["z"] / 2, N).todense())
    Jp = np.asarray(total(SIGMA["+"], N).todense())
    Jm = Jp.conj().T
    mz = np.real(np.diag(Jz))
    out = {}
    for twoJ in range(N, -1, -2):
        J = twoJ / 2
        E = np.eye(2**N)[:, np.abs(mz - J) < 1e-9]  # the M = J eigenspace
        _, s, vh = np.linalg.svd(Jp @ E)
        null = vh[np.sum(s > 1e-9):].conj().T
        top = E @ null  # highest weights, orthonormal
        V = np.zeros((twoJ + 1, dim_ := top.shape[1], 2**N), complex)
        V[twoJ] = top.T
        for idx in range(twoJ, 0, -1):
            M = idx - J
            V[idx - 1] = (Jm @ V[idx].T).T / np.sqrt((J + M) * (J - M + 1))
        out[J] = V
        assert dim_ >= 1
    return out


def embed(blocks: np.ndarray, N: int, basis=None) -> np.ndarray:
    """permjax's grid ρ[j, a, a′] (a = M + N/2) → ρ_T = ⊕_J ρ_J ⊗ 1/dim_J on 2^N."""
    basis = basis or dicke_basis(N)
    out = np.zeros((2**N, 2**N), complex)
    for J, V in basis.items():
        j = int(round(J - (N % 2) / 2))
        sl = slice(int(round(N / 2 - J)), int(round(N / 2 + J)) + 1)
        rJ = blocks[j][sl, sl]
        out += np.einsum("mk,mui,kuj->ij", rJ, V, V.conj()) / V.shape[1]
    return out


def project(X: np.ndarray, N: int, basis=None, n_J=None) -> np.ndarray:
    """ρ_T on 2^N → the grid ρ[j, a, a′] with ρ_J[M, M′] = Σ_μ ⟨J M μ|X|J M′ μ⟩."""
    basis = basis or dicke_basis(N)
    n_J = N // 2 + 1
    out = np.zeros((n_J, N + 1, N + 1), complex)
    for J, V in basis.items():
        j = int(round(J - (N % 2) / 2))
        sl = slice(int(round(N / 2 - J)), int(round(N / 2 + J)) + 1)
        out[j][sl, sl] = np.einsum("mui,ij,kuj->mk", V.conj(), X, V)
    return out


def symmetric_basis(N: int) -> np.ndarray:
    """The (N+1) vectors |N/2, M⟩ (M = −N/2 … N/2) of the symmetric subspace, rows."""
    return dicke_basis(N)[N / 2][:, 0, :]


def entropy(rho) -> float:
    return bf.entropy(rho)


def mutual_information(rho, N: int) -> float:
    return bf.mutual_information(rho, N)


def magnetization(rho, N: int) -> np.ndarray:
    return bf.magnetization(rho, N)
