"""QuTiP piqs reference for finite-N steady states (docs/theory.md §5; LMG, or any piqs ``Dicke``), independent of permjax.

piqs builds the Dicke-basis Liouvillian; its own ``steadystate`` fails on this model
("Matrix is singular"), so the steady state is a sparse direct solve on the block-diagonal
entries with one population row replaced by the trace. Conventions (checked against the 2^N
brute force in tests/test_finite.py): H from ``piqs.jspin``, ``pumping = γ`` is γ Σ_i D[σ_+^(i)],
``collective_emission = Γ/N`` is (Γ/N) D[J_-]. piqs computes its coefficients in single
precision: expect agreement to ~1e-8, not better.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse.linalg as spla


def block_diagonal_system(N, J, h, Gamma, gamma):
    """piqs's LMG Liouvillian restricted to the block-diagonal entries, trace row in place of one
    population row. Returns (A, rhs, idx, nds, (jx, jy, jz)); idx are column-stacked vec indices."""
    from qutip import piqs

    jx, jy, jz = piqs.jspin(N)
    H = (J / N) * (jx * jx + jy * jy) + h * jx
    return dicke_system(piqs.Dicke(N, hamiltonian=H, pumping=gamma, collective_emission=Gamma / N))


def dicke_system(dicke):
    """``block_diagonal_system`` for any piqs ``Dicke`` object."""
    from qutip import piqs

    N = dicke.N
    L = dicke.liouvillian().data.as_scipy().tocsr()
    nds = piqs.num_dicke_states(N)
    sizes = [N + 1 - 2 * k for k in range(N // 2 + 1)]  # piqs order: J = N/2 first, M from J down
    starts = np.cumsum([0] + sizes)
    idx = np.concatenate([(s0 + a) + (s0 + np.arange(d)) * nds for s0, d in zip(starts, sizes) for a in range(d)])
    A = L[idx][:, idx].tolil()
    pos = {k: i for i, k in enumerate(idx)}
    tr = [pos[i + i * nds] for i in range(nds)]
    A[tr[0], :] = 0
    A[tr[0], tr] = 1.0
    rhs = np.zeros(len(idx), complex)
    rhs[tr[0]] = 1.0
    return A.tocsc(), rhs, idx, nds, piqs.jspin(N)


def mi_per_N(N, rho, nds, spins):
    """I_M/N = b(|m|) − S(ρ_T)/N with S(ρ_T) = Σ_J [S(ρ_J) + p_J ln dim_J] (Eqs. 27–29)."""
    S = 0.0
    s0 = 0
    for k in range(N // 2 + 1):
        j, d = N / 2 - k, N + 1 - 2 * k
        w = np.linalg.eigvalsh(rho[s0 : s0 + d, s0 : s0 + d])
        w = w[w > 0]
        log_dim = math.log(2 * j + 1) + math.lgamma(N + 1) - math.lgamma(N / 2 + j + 2) - math.lgamma(N / 2 - j + 1)
        S += -np.sum(w * np.log(w)) + w.sum() * log_dim
        s0 += d
    m = np.array([2 / N * np.trace(rho @ op.full()).real for op in spins])
    x = np.linalg.norm(m)
    b = -sum(q * math.log(q) for q in ((1 + x) / 2, (1 - x) / 2) if q > 0)
    return b - S / N, m


def solve(A, rhs, idx, nds):
    x = spla.spsolve(A, rhs)
    rho = np.zeros((nds, nds), complex)
    rho[idx % nds, idx // nds] = x
    return 0.5 * (rho + rho.conj().T)


def piqs_mi_per_N(N, J, h, Gamma, gamma):
    """(I_M/N, ⟨m⟩) from piqs for the LMG model."""
    A, rhs, idx, nds, spins = block_diagonal_system(N, J, h, Gamma, gamma)
    return mi_per_N(N, solve(A, rhs, idx, nds), nds, spins)
