"""Ground state of the ferromagnetic LMG model and its I_M/N (docs/theory.md §5, Appendix B, Eq. 33).

References: a brute-force ground state on the full 2^N space (numpy Kronecker products, here),
LAPACK's tridiagonal eigensolver (scipy) on the J = N/2 block for large N, the Hellmann-Feynman
theorem, central finite differences, and the exact h = 0 values.
"""

import math
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

import permjax

J_FERRO = -1.0


# --- brute force on 2^N ----------------------------------------------------------------------

_SIGMA = {  # real 2x2: σ_x and σ_+ = |↑⟩⟨↓|, qubit basis (|↑⟩, |↓⟩)
    "x": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "+": np.array([[0.0, 1.0], [0.0, 0.0]]),
}


def _collective(N, op):
    """Σ_i op^(i) on (C²)^⊗N, sparse (Kronecker products)."""
    return sum(scipy.sparse.kron(scipy.sparse.kron(scipy.sparse.identity(2**i), op), scipy.sparse.identity(2 ** (N - i - 1))) for i in range(N))


def brute_force(N, J, h):
    """(E0, E1, m, S(ρ_1)) of H = (𝒥/N)(J_x² + J_y²) + h J_x on the full 2^N space.

    J_x² + J_y² = (J_+J_- + J_-J_+)/2 keeps H real. Dense eigh up to 2^8, sparse Lanczos
    (ARPACK, two lowest) above.
    """
    Jx = _collective(N, _SIGMA["x"]) / 2
    Jp = _collective(N, _SIGMA["+"])
    H = ((J / N) * (Jp @ Jp.T + Jp.T @ Jp) / 2 + h * Jx).tocsr()
    if N <= 8:
        w, V = np.linalg.eigh(H.toarray())
    else:
        w, V = scipy.sparse.linalg.eigsh(H, k=2, which="SA", tol=1e-15)
    psi = V[:, 0].reshape(2, 2 ** (N - 1))
    rho1 = psi @ psi.T  # qubit 0
    m = np.array([2 * rho1[0, 1], 0.0, rho1[0, 0] - rho1[1, 1]])  # Tr(ρ_1 σ_α), real state: m_y = 0
    p = np.linalg.eigvalsh(rho1)
    s1 = -sum(x * math.log(x) for x in p if x > 1e-300)
    return w[0], w[1], m, s1


BRUTE_CASES = [(2, 0.3), (3, 0.05), (4, 0.0), (4, 1.7), (5, -0.4), (6, 0.2), (7, 0.01), (8, 0.0), (8, 0.6), (9, 2.0), (10, 0.1)]


@pytest.mark.parametrize("N,h", BRUTE_CASES)
def test_matches_brute_force_ground_state(N, h):
    E0, E1, m, s1 = brute_force(N, J_FERRO, h)
    assert E1 - E0 > 1e-6  # non-degenerate: the comparison below is well defined
    g = permjax.ground_state(N, J_FERRO, h)
    assert bool(g.converged) and float(g.residual) < 1e-13
    assert float(g.energy) == pytest.approx(E0, abs=1e-12)
    np.testing.assert_allclose(np.asarray(g.m), m, rtol=0, atol=1e-12)
    # pure state: I_M/N = (N S(ρ_1) - 0)/N
    assert float(g.mi) == pytest.approx(s1, abs=1e-12)


@pytest.mark.parametrize("N", [2, 10, 64, 1000])
def test_even_N_zero_field_is_the_Dicke_state_with_ln2(N):
    g = permjax.ground_state(N, J_FERRO, 0.0)
    assert float(g.mi) == pytest.approx(math.log(2), abs=1e-15)
    v = np.asarray(g.amplitudes)
    assert v[N // 2] == pytest.approx(1.0, abs=1e-15) and np.sum(v**2) == pytest.approx(1.0, abs=1e-14)
    # E = (𝒥/N) J(J+1) at M = 0
    assert float(g.energy) == pytest.approx(J_FERRO / N * (N / 2) * (N / 2 + 1), rel=1e-14)


@pytest.mark.parametrize("N", [3, 7])
def test_odd_N_zero_field_returns_the_small_field_limit(N):
    g = permjax.ground_state(N, J_FERRO, 0.0)
    assert float(g.gap) == 0.0
    np.testing.assert_allclose(np.asarray(g.m), [-(N + 1) / (2 * N), 0, 0], atol=1e-15)
    # the limit of the brute-force ground state as h -> 0+: error is O(h N² / |𝒥|)
    h = 1e-8
    E0, _, m, s1 = brute_force(N, J_FERRO, h)
    assert float(g.energy) == pytest.approx(E0, abs=1e-7)
    assert float(g.mi) == pytest.approx(s1, abs=1e-6)
    assert float(permjax.mi_ground(N, J_FERRO, -h)) == pytest.approx(float(g.mi), abs=1e-6)


def _block_reference(N, J, h):
    """Lowest eigenpair of the J = N/2 block by LAPACK (scipy.linalg.eigh_tridiagonal)."""
    S = N / 2
    M = np.arange(N + 1) - S
    d = (J / N) * (S * (S + 1) - M**2)
    e = h * 0.5 * np.sqrt((S - M[:-1]) * (S + M[:-1] + 1))
    w, V = scipy.linalg.eigh_tridiagonal(d, e, select="i", select_range=(0, 0))
    v = V[:, 0]
    mx = 2 / N * 2 * np.sum(0.5 * np.sqrt((S - M[:-1]) * (S + M[:-1] + 1)) * v[:-1] * v[1:])
    mz = 2 / N * np.sum(M * v**2)
    return w[0], v, np.array([mx, 0.0, mz])


@pytest.mark.parametrize("N,h", [(501, 3e-4), (3000, 1e-3), (3000, 0.2)])
def test_large_N_matches_lapack_tridiagonal_solver(N, h):
    E0, v, m = _block_reference(N, J_FERRO, h)
    g = permjax.ground_state(N, J_FERRO, h)
    assert float(g.energy) == pytest.approx(E0, rel=1e-13)
    assert abs(np.dot(np.asarray(g.amplitudes), v)) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(np.asarray(g.m), m, rtol=0, atol=1e-11)


@pytest.mark.parametrize("N,h", [(10, 0.05), (11, 0.02), (300, 2e-4), (300, 0.3)])
def test_derivatives_in_h_and_J(N, h):
    mi = lambda J, h: permjax.mi_ground(N, J, h)  # noqa: E731
    dmi_dJ, dmi_dh = jax.grad(mi, argnums=(0, 1))(J_FERRO, h)
    eps = 1e-5 * h
    fd_h = (mi(J_FERRO, h + eps) - mi(J_FERRO, h - eps)) / (2 * eps)
    fd_J = (mi(J_FERRO + 1e-5, h) - mi(J_FERRO - 1e-5, h)) / 2e-5
    assert float(dmi_dh) == pytest.approx(float(fd_h), rel=1e-6)
    assert float(dmi_dJ) == pytest.approx(float(fd_J), rel=1e-6, abs=1e-9)
    # Hellmann-Feynman: dE/dh = ⟨J_x⟩ = N m_x / 2
    g = permjax.ground_state(N, J_FERRO, h)
    dE = jax.grad(lambda h: permjax.ground_state(N, J_FERRO, h).energy)(h)
    assert float(dE) == pytest.approx(N * float(g.m[0]) / 2, rel=1e-12)


def test_vmap_over_h_and_the_decay_with_N():
    hs = jnp.array([0.0, 1e-4, 1e-3, 1e-2, 0.1])
    curves = {}
    for N in (40, 400):
        batch = jax.vmap(lambda h: permjax.mi_ground(N, J_FERRO, h))(hs)
        loop = [float(permjax.mi_ground(N, J_FERRO, float(h))) for h in hs]
        np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-14)
        curves[N] = np.asarray(batch)
    # Fig. 2: ln 2 at h = 0 (even N), decaying with |h|, faster for larger N
    assert curves[40][0] == curves[400][0] == pytest.approx(math.log(2), abs=1e-15)
    assert np.all(np.diff(curves[40]) < 0) and np.all(np.diff(curves[400]) < 0)
    assert np.all(curves[400][1:] < curves[40][1:])


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"N": 0}, "N"),
        ({"N": 2.5}, "N"),
        ({"J": 0.0}, "J < 0"),
        ({"J": 3.0}, "J < 0"),
        ({"h": float("nan")}, "h"),
        ({"J": float("inf")}, "J"),
    ],
)
def test_bad_input(kw, match):
    args = {"N": 4, "J": J_FERRO, "h": 0.1, **kw}
    with pytest.raises(ValueError, match=match):
        permjax.ground_state(**args)
