"""Ground state of any collective qubit Hamiltonian in the J = N/2 block (Appendix B generalised):
against a 2^N brute force restricted to the symmetric subspace (and full diagonalisation where the
ground state is symmetric), the LMG path, Hellmann–Feynman, finite differences, and the
degenerate cases found by hand."""

import math

import jax
import numpy as np
import pytest
import scipy.linalg

import permjax
from permjax import LMG, PIModel, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z
from permjax.dicke.groundstate import DegenerateGroundState

from bruteforce import entropy, site_operator

ONE = np.eye(2, dtype=complex)


def total(A, N):
    return sum(site_operator(A, i, N) for i in range(N)).toarray()


def full_hamiltonian(N, terms):
    H = np.zeros((2**N, 2**N), complex)
    for t in terms:
        H += t[0] * total(t[1], N) if len(t) == 2 else (t[0] / N) * total(t[1], N) @ total(t[2], N)
    return H


def symmetric_subspace(N):
    """Orthonormal basis of the J = N/2 subspace of (C²)^⊗N (eigenvectors of J² at S(S+1))."""
    Jp = total(sigma_plus, N)
    Jz = total(sigma_z, N) / 2
    J2 = Jp @ Jp.conj().T + Jz @ Jz - Jz
    w, V = np.linalg.eigh(J2)
    S = N / 2
    return V[:, np.abs(w - S * (S + 1)) < 1e-8]


def bruteforce_ground(N, terms):
    """(E0, E1, m, S(ρ_1)) of H restricted to the symmetric subspace, from 2^N matrices."""
    H = full_hamiltonian(N, terms)
    P = symmetric_subspace(N)
    w, U = np.linalg.eigh(P.conj().T @ H @ P)
    psi = (P @ U[:, 0]).reshape(2, -1)
    rho1 = psi @ psi.conj().T  # qubit 0, basis (↑, ↓)
    m = np.array([np.trace(rho1 @ s).real for s in (sigma_x, sigma_y, sigma_z)])
    return w[0], w[1], m, entropy(rho1), np.linalg.eigvalsh(H)[0]


def general_terms(seed):
    """An anisotropic collective H with every kind of term (complex one-body, J_x J_z products)."""
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    c = u(0.1, 0.6)
    return [(u(-1, 1), sigma_x / 2), (u(-1, 1), sigma_y / 2), (u(-1, 1), sigma_z / 2),
            (u(-2, -0.5), sigma_x / 2, sigma_x / 2), (u(-2, 0), sigma_y / 2, sigma_y / 2),
            (u(-1, 1), sigma_z / 2, sigma_z / 2), (c, sigma_x / 2, sigma_z / 2), (c, sigma_z / 2, sigma_x / 2),
            (u(-0.5, 0.5), sigma_plus, sigma_minus), (u(-0.3, 0.3), ONE)]


@pytest.mark.parametrize("N,seed", [(2, 0), (3, 1), (4, 2), (5, 3), (6, 4), (7, 5), (8, 6)])
def test_general_hamiltonian_against_bruteforce(N, seed):
    terms = general_terms(seed)
    E0, E1, m, s1, _ = bruteforce_ground(N, terms)
    assert E1 - E0 > 1e-6
    g = permjax.ground_state(N, PIModel(2, hamiltonian=terms))
    assert bool(g.converged) and float(g.residual) < 1e-12
    assert float(g.energy) == pytest.approx(E0, abs=1e-12)
    assert float(g.gap) == pytest.approx(E1 - E0, abs=1e-11)
    np.testing.assert_allclose(np.asarray(g.m), m, rtol=0, atol=1e-12)
    assert float(g.mi) == pytest.approx(s1, abs=1e-12)  # pure: I_M/N = S(ρ_1)


def test_ferromagnet_block_ground_state_is_the_global_one():
    """Ferromagnetic couplings: the symmetric block holds the ground state of the whole space."""
    N = 7
    terms = [(-1.3, sigma_x / 2, sigma_x / 2), (-0.4, sigma_y / 2, sigma_y / 2), (0.35, sigma_z / 2), (0.2, sigma_x / 2)]
    E0, _, m, s1, Efull = bruteforce_ground(N, terms)
    assert E0 == pytest.approx(Efull, abs=1e-12)
    g = permjax.ground_state(N, PIModel(2, hamiltonian=terms))
    assert float(g.energy) == pytest.approx(Efull, abs=1e-12)
    assert float(g.mi) == pytest.approx(s1, abs=1e-12)


@pytest.mark.parametrize("N,h", [(9, 0.05), (301, 3e-4)])
def test_lmg_model_equals_the_lmg_path(N, h):
    ref = permjax.ground_state(N, -1.0, h)
    for method in ("auto", "dense"):
        g = permjax.ground_state(N, LMG(-1.0, h, 1.0, 1.0), method=method)
        assert float(g.energy) == pytest.approx(float(ref.energy), rel=1e-13)
        np.testing.assert_allclose(np.asarray(g.m), np.asarray(ref.m), rtol=0, atol=1e-11)
        assert abs(np.vdot(np.asarray(g.amplitudes), np.asarray(ref.amplitudes))) == pytest.approx(1.0, abs=1e-11)
    assert permjax.ground_state(N, LMG(-1.0, h, 1.0, 1.0)).iterations > 0  # the tridiagonal path was taken


def test_large_N_dense_against_lapack():
    """A pentadiagonal H at N = 400: the block built here from J_± by hand, LAPACK's eigh."""
    N = 400
    S, M = N / 2, np.arange(N + 1) - N / 2
    up = np.sqrt((S - M[:-1]) * (S + M[:-1] + 1))
    Jp = np.diag(up, -1)
    Jx, Jz = (Jp + Jp.T) / 2, np.diag(M)
    H = (-1.0 / N) * Jx @ Jx + (-0.3 / N) * Jz @ Jz + 0.4 * Jz + 0.1 * Jx
    w, V = scipy.linalg.eigh(H, subset_by_index=[0, 0])
    v = V[:, 0]
    g = permjax.ground_state(N, PIModel(2, hamiltonian=[(-1.0, sigma_x / 2, sigma_x / 2), (-0.3, sigma_z / 2, sigma_z / 2),
                                                        (0.4, sigma_z / 2), (0.1, sigma_x / 2)]))
    assert float(g.energy) == pytest.approx(w[0], rel=1e-13)
    m = 2 / N * np.array([v @ Jx @ v, 0.0, v @ Jz @ v])
    np.testing.assert_allclose(np.asarray(g.m), m, rtol=0, atol=1e-11)


def test_derivatives_hellmann_feynman_and_finite_differences():
    N = 9
    terms = general_terms(11)

    def model(c):
        return PIModel(2, hamiltonian=[(c[k],) + tuple(t[1:]) for k, t in enumerate(terms)])

    c0 = np.array([t[0] for t in terms])
    # Hellmann–Feynman: dE/dc_k = ⟨H_k⟩ (here from the brute-force state)
    dE = np.asarray(jax.grad(lambda c: permjax.ground_state(N, model(c)).energy)(c0))
    P = symmetric_subspace(N)
    H = full_hamiltonian(N, terms)
    psi = P @ np.linalg.eigh(P.conj().T @ H @ P)[1][:, 0]
    for k, t in enumerate(terms):
        Hk = full_hamiltonian(N, [(1.0,) + tuple(t[1:])])
        assert dE[k] == pytest.approx(np.vdot(psi, Hk @ psi).real, abs=1e-11)
    f = lambda c: permjax.mi_ground(N, model(c))  # noqa: E731
    grad = np.asarray(jax.grad(f)(c0))
    for k in (0, 1, 3, 5, 8):
        e = np.zeros_like(c0)
        e[k] = 1e-6
        assert grad[k] == pytest.approx(float((f(c0 + e) - f(c0 - e)) / 2e-6), rel=1e-6, abs=1e-9)


def test_degenerate_ground_level_is_reported():
    """H = J_z² (a two-body σ_z σ_z term): M = 0 for even N (unique, Dicke state, I_M/N = ln 2),
    M = ±1/2 for odd N (two-fold)."""
    m = PIModel(2, hamiltonian=[(1.0, sigma_z, sigma_z)])
    assert float(permjax.mi_ground(6, m)) == pytest.approx(math.log(2), abs=1e-14)
    with pytest.raises(DegenerateGroundState, match="degenerate"):
        permjax.ground_state(5, m)
    with pytest.warns(RuntimeWarning, match="degenerate"):
        g = permjax.ground_state(5, m, on_degenerate="warn")
    assert float(g.gap) == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="tridiagonal"):
        permjax.ground_state(4, PIModel(2, hamiltonian=[(1.0, sigma_x / 2, sigma_x / 2)]), method="tridiagonal")
    with pytest.raises(ValueError, match="no Hamiltonian"):
        permjax.ground_state(4, PIModel(2, local=[(1.0, sigma_minus)]))
    with pytest.raises(ValueError, match="d = 2"):
        permjax.ground_state(4, PIModel(3, hamiltonian=[(1.0, np.diag([1.0, 0, -1]))]))
    with pytest.raises(ValueError, match="method"):
        permjax.ground_state(4, LMG(-1.0, 0.1, 1.0, 1.0), method="lanczos")
