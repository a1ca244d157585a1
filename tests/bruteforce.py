"""Brute-force reference on the full 2^N Hilbert space, independent of permjax.

Plain numpy Kronecker products (scipy.sparse only to keep the 4^N × 4^N Liouvillian small
in memory, and one sparse LU). Nothing here imports permjax. Reusable by any test:

    rho = lmg_steady_state(N, J, h, Gamma, gamma)       # dense 2^N × 2^N steady state
    mutual_information(rho, N) / N, magnetization(rho, N)

Model (docs/theory.md §2):  dρ/dt = -i[H, ρ] + (Γ/N) D[J_-]ρ + γ Σ_i D[σ_+^(i)]ρ,
H = (𝒥/N)(J_x² + J_y²) + h J_x,  J_α = Σ_i σ_α^(i)/2,  σ_+ = |↑⟩⟨↓| raises σ_z.
Qubit basis (|↑⟩, |↓⟩), so σ_z = diag(1, -1).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

SIGMA = {
    "x": np.array([[0, 1], [1, 0]], dtype=complex),
    "y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "z": np.array([[1, 0], [0, -1]], dtype=complex),
    "+": np.array([[0, 1], [0, 0]], dtype=complex),  # |↑⟩⟨↓|
    "-": np.array([[0, 0], [1, 0]], dtype=complex),
}


def site_operator(op: np.ndarray, i: int, N: int) -> sp.csr_matrix:
    """op acting on qubit i of N (identity elsewhere), as a sparse 2^N × 2^N matrix."""
    return sp.kron(sp.kron(sp.identity(2**i), sp.csr_matrix(op)), sp.identity(2 ** (N - i - 1)), format="csr")


def collective_spin(N: int) -> dict[str, sp.csr_matrix]:
    """J_x, J_y, J_z, J_+, J_- = Σ_i σ^(i)/2 (σ_± for J_±), sparse."""
    out = {a: sum(site_operator(SIGMA[a], i, N) for i in range(N)) / 2 for a in "xyz"}
    out["+"] = sum(site_operator(SIGMA["+"], i, N) for i in range(N))
    out["-"] = sum(site_operator(SIGMA["-"], i, N) for i in range(N))
    return {k: sp.csr_matrix(v) for k, v in out.items()}


def lmg_hamiltonian(N: int, J: float, h: float) -> sp.csr_matrix:
    """H = (𝒥/N)(J_x² + J_y²) + h J_x on the full space."""
    s = collective_spin(N)
    return sp.csr_matrix((J / N) * (s["x"] @ s["x"] + s["y"] @ s["y"]) + h * s["x"])


def liouvillian(H, collapse) -> sp.csr_matrix:
    """Sparse Lindblad superoperator for column-stacked vec(ρ): vec(AρB) = (Bᵀ ⊗ A) vec(ρ).

    ``collapse`` are the jump operators with their rates folded in (√rate · L_k).
    """
    d = H.shape[0]
    one = sp.identity(d, format="csr")
    L = -1j * (sp.kron(one, H) - sp.kron(H.T, one))
    for c in collapse:
        cdc = c.conj().T @ c
        L = L + sp.kron(c.conj(), c) - 0.5 * sp.kron(one, cdc) - 0.5 * sp.kron(cdc.T, one)
    return sp.csr_matrix(L)


def steady_state(L: sp.csr_matrix, d: int) -> np.ndarray:
    """Full space: solve L vec(ρ) = 0 with Tr ρ = 1 (row 0 of L replaced by the trace), sparse LU.

    Fill-in makes this slow beyond N = 6; ``symmetric_steady_state`` scales to N = 8.
    """
    trace_row = sp.csr_matrix((np.ones(d), (np.zeros(d, int), np.arange(d) * (d + 1))), shape=(1, d * d))
    A = sp.vstack([trace_row, L[1:]], format="csc")
    b = np.zeros(d * d, dtype=complex)
    b[0] = 1.0
    x = spla.spsolve(A, b)
    rho = x.reshape(d, d, order="F")
    res = np.linalg.norm(L @ x) / np.linalg.norm(x)
    if not res < 1e-11:
        raise RuntimeError(f"brute-force steady state inaccurate: |L rho|/|rho| = {res:.2e}")
    return 0.5 * (rho + rho.conj().T)


def _right(X: np.ndarray, A) -> np.ndarray:
    """X @ A for dense X and sparse A."""
    return np.asarray((A.T @ X.T).T)


def lindblad_rhs(X: np.ndarray, H, collapse: list) -> np.ndarray:
    """-i[H, X] + Σ_k (c X c† - ½{c†c, X}) for a dense 2^N × 2^N X (H, c sparse)."""
    out = -1j * (H @ X - _right(X, H))
    for c in collapse:
        cd = sp.csr_matrix(c.conj().T)
        cdc = cd @ c
        out += c @ _right(X, cd) - 0.5 * (cdc @ X + _right(X, cdc))
    return np.asarray(out)


def symmetric_operator_basis(N: int) -> tuple[list[tuple], np.ndarray]:
    """The permutation-invariant operators on (C²)^⊗N: for each occupation (n_↑↑, n_↑↓, n_↓↑, n_↓↓)
    summing to N, B_n = Σ |s⟩⟨t| over bit strings s, t whose site pairs (s_i, t_i) have those counts.

    Distinct B_n have disjoint supports, so the basis is Hilbert-Schmidt orthogonal. Returns the
    occupations and a label array (2^N, 2^N) giving the index of the B_n that owns each entry.
    """
    d = 2**N
    bits = (np.arange(d)[:, None] >> np.arange(N)[None, :]) & 1  # 1 = ↓ (basis order ↑, ↓)
    s, t = bits[:, None, :], bits[None, :, :]
    pair = 2 * s + t  # 0 ↑↑, 1 ↑↓, 2 ↓↑, 3 ↓↓
    counts = np.stack([(pair == k).sum(-1) for k in range(4)], -1)
    key = ((counts[..., 0] * (N + 1) + counts[..., 1]) * (N + 1) + counts[..., 2])
    keys, label = np.unique(key, return_inverse=True)
    occ = [(k // (N + 1) ** 2, (k // (N + 1)) % (N + 1), k % (N + 1)) for k in keys]
    return occ, label.reshape(d, d)


def symmetric_steady_state(H, collapse, N: int) -> np.ndarray:
    """Steady state of a permutation-invariant Lindbladian, restricted to permutation-invariant ρ.

    L is applied to every basis operator B_n on the full 2^N space (``lindblad_rhs``) and
    projected back, giving a small dense matrix (dimension C(N+3, 3)); its null vector with
    Tr ρ = 1 is found by dense least squares. Exact when the steady state is unique (then it is
    permutation invariant); cross-checked against the full-space ``steady_state`` for small N.
    """
    H = sp.csr_matrix(H)
    collapse = [sp.csr_matrix(c) for c in collapse]
    occ, label = symmetric_operator_basis(N)
    n = len(occ)
    norms = np.bincount(label.ravel(), minlength=n).astype(float)  # ⟨B_n, B_n⟩
    Lmat = np.zeros((n, n), dtype=complex)
    for k in range(n):
        out = lindblad_rhs((label == k).astype(complex), H, collapse)
        Lmat[:, k] = np.bincount(label.ravel(), weights=out.real.ravel(), minlength=n) / norms
        Lmat[:, k] += 1j * np.bincount(label.ravel(), weights=out.imag.ravel(), minlength=n) / norms
    trace = np.array([np.trace(label == k) for k in range(n)], dtype=float)
    A = np.vstack([Lmat, trace[None, :]])
    b = np.zeros(n + 1, dtype=complex)
    b[-1] = 1.0
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    res = np.linalg.norm(Lmat @ x) / np.linalg.norm(x)
    if not res < 1e-11:
        raise RuntimeError(f"brute-force steady state inaccurate: |L rho|/|rho| = {res:.2e}")
    rho = x[label]
    return 0.5 * (rho + rho.conj().T)


def lmg_collapse(N: int, Gamma: float, gamma: float) -> list:
    s = collective_spin(N)
    return [np.sqrt(Gamma / N) * s["-"]] + [np.sqrt(gamma) * site_operator(SIGMA["+"], i, N) for i in range(N)]


def lmg_steady_state(N: int, J: float, h: float, Gamma: float, gamma: float, method: str = "symmetric") -> np.ndarray:
    """The steady state of the LMG master equation as a dense 2^N × 2^N matrix.

    ``method="symmetric"`` (default, N ≤ 8) or ``"full"`` (sparse 4^N Liouvillian, N ≤ 6).
    """
    H, collapse = lmg_hamiltonian(N, J, h), lmg_collapse(N, Gamma, gamma)
    if method == "full":
        return steady_state(liouvillian(H, collapse), 2**N)
    return symmetric_steady_state(H, collapse, N)


def entropy(rho: np.ndarray) -> float:
    w = np.linalg.eigvalsh(rho)
    w = w[w > 1e-300]
    return float(-np.sum(w * np.log(w)))


def one_qubit_state(rho: np.ndarray, N: int, i: int = 0) -> np.ndarray:
    """Reduced state of qubit i (partial trace over the others)."""
    t = rho.reshape([2] * (2 * N))
    # contract every other qubit's row index with its column index
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    sub = [letters[k] for k in range(2 * N)]
    for k in range(N):
        if k != i:
            sub[N + k] = sub[k]
    return np.einsum("".join(sub) + "->" + letters[i] + letters[N + i], t)


def mutual_information(rho: np.ndarray, N: int) -> float:
    """I_M = Σ_i S(ρ_i) - S(ρ) (all ρ_i equal by symmetry; computed for every qubit anyway)."""
    return sum(entropy(one_qubit_state(rho, N, i)) for i in range(N)) - entropy(rho)


def magnetization(rho: np.ndarray, N: int) -> np.ndarray:
    """⟨m_α⟩ = (2/N) Tr(ρ J_α), α = x, y, z."""
    s = collective_spin(N)
    return np.array([2.0 / N * np.trace(s[a] @ rho).real for a in "xyz"])
