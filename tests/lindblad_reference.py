"""Plain-numpy 2^N references for any qubit model of the paper's Eq. 1, independent of permjax's
Dicke-basis code: dense Kronecker-product operators, a scipy ``solve_ivp`` Lindblad integration,
the dense 4^N Liouvillian and its permutation-invariant sector.

The model is read only as data (its terms' coefficients and 2×2 matrices):

    H = Σ_k c_k Σ_i A_k^(i) + Σ_k (c_k/N) A_tot B_tot,
    D = Σ_k (rate_k/N) D[A_tot] + Σ_k rate_k Σ_i D[L^(i)],    A_tot = Σ_i A^(i).
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.sparse as sp

import bruteforce as bf
import bruteforce_pi as bp
from bruteforce import symmetric_operator_basis


def site(op, i, N):
    return bp.site(op, i, N).toarray()


def total(op, N):
    return bp.total(op, N).toarray()


def model_operators(model, N):
    """(H, [collapse operators with √rate folded in]) as dense 2^N matrices (``bruteforce_pi``)."""
    H, cops = bp.model_operators(model, N)
    return H.toarray(), [c.toarray() for c in cops]


def lindblad(X, H, cops):
    out = -1j * (H @ X - X @ H)
    for c in cops:
        cd = c.conj().T
        out += c @ X @ cd - 0.5 * (cd @ c @ X + X @ cd @ c)
    return out


def integrate(model, N, X0, ts, rtol=1e-12, atol=1e-13):
    """X(t) at ts from dX/dt = L X (DOP853), dense 2^N × 2^N, shape (T, 2^N, 2^N); the right-hand
    side is the sparse 4^N superoperator of tests/bruteforce.py (column-stacked vec)."""
    H, cops = model_operators(model, N)
    d = 2**N
    L = bf.liouvillian(sp.csr_matrix(H), [sp.csr_matrix(c) for c in cops])
    x0 = np.asarray(X0, complex)
    # the dense right-hand side once, as a cross-check of the sparse superoperator
    assert np.allclose((L @ x0.ravel(order="F")).reshape(d, d, order="F"), lindblad(x0, H, cops), atol=1e-12)

    sol = scipy.integrate.solve_ivp(lambda t, y: L @ y, (ts[0], ts[-1]), x0.ravel(order="F"), t_eval=ts,
                                    method="DOP853", rtol=rtol, atol=atol)
    assert sol.success
    return sol.y.T.reshape(len(ts), d, d, order="F")  # row t: vec⁻¹ of the column-stacked y


def dense_liouvillian(model, N):
    """The 4^N × 4^N superoperator on row-major vec(X): vec(A X B) = (A ⊗ Bᵀ) vec(X)."""
    H, cops = model_operators(model, N)
    one = np.eye(2**N)
    L = -1j * (np.kron(H, one) - np.kron(one, H.T))
    for c in cops:
        cdc = c.conj().T @ c
        L += np.kron(c, c.conj()) - 0.5 * np.kron(cdc, one) - 0.5 * np.kron(one, cdc.T)
    return L


def symmetric_sector(L, N):
    """L restricted to the permutation-invariant operators (commutant of the permutations,
    = ⊕_J End(V_J) ⊗ 1): orthonormal basis Q of them (columns, row-major vec), Q† L Q."""
    occ, label = symmetric_operator_basis(N)
    Q = np.zeros((4**N, len(occ)))
    for k in range(len(occ)):
        v = (label == k).astype(float).ravel()
        Q[:, k] = v / np.linalg.norm(v)
    return Q, Q.T @ L @ Q


def entropy(rho):
    w = np.linalg.eigvalsh(0.5 * (rho + rho.conj().T))
    w = w[w > 1e-300]
    return float(-np.sum(w * np.log(w)))


def one_qubit(rho, N):
    t = rho.reshape(2, 2 ** (N - 1), 2, 2 ** (N - 1))
    return np.einsum("aibi->ab", t)


def mi_per_N(rho, N):
    """I_M/N = S(ρ_1) − S(ρ)/N (all units equivalent by permutation symmetry)."""
    return entropy(one_qubit(rho, N)) - entropy(rho) / N


SIGMA = {"x": np.array([[0, 1], [1, 0]], complex), "y": np.array([[0, -1j], [1j, 0]], complex),
         "z": np.array([[1, 0], [0, -1]], complex)}


def magnetization(rho, N):
    return np.array([2 / N * np.trace(total(SIGMA[a] / 2, N) @ rho).real for a in "xyz"])


def _herm(rng):
    a = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    return (a + a.conj().T) / 2


def random_qubit_model(seed):
    """A qubit PIModel with every kind of term: a complex Hermitian one-body field, a symmetrised
    two-body pair of non-commuting Hermitian operators, an anisotropic XYZ exchange, mixed and complex
    collective jumps, and local jumps (mixed raising/lowering, dephasing-like, one with an identity part)."""
    from permjax import PIModel

    rng = np.random.default_rng(seed)
    c = lambda: float(rng.uniform(0.2, 1.2))
    A, B = _herm(rng), _herm(rng)
    sx, sy, sz = SIGMA["x"], SIGMA["y"], SIGMA["z"]
    sm = np.array([[0, 0], [1, 0]], complex)
    sp_ = sm.T.copy()
    cab = c()
    cplx = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    return PIModel(2, hamiltonian=[(c(), _herm(rng)), (cab, A, B), (cab, B, A), (c(), sx, sx), (-c(), sy, sy),
                                   (0.5 * c(), sz, sz)],
                   collective=[(c(), sm + 0.2 * sz), (0.3 * c(), cplx / 2)],
                   local=[(c(), 0.4 * sm + 0.9 * sp_), (0.4 * c(), sz), (0.3 * c(), 0.5 * np.eye(2) + sm)])
