"""Low-lying Liouvillian spectrum in the Dicke basis (issue 14): ``spectrum``.

References, independent of permjax's Dicke-basis code: the dense 4^N Liouvillian of the 2^N
model (tests/lindblad_reference.py, numpy ``eig``), and its restriction to the permutation-
invariant operators (the commutant of the permutations, ⊕_J End(V_J) ⊗ 1 — exactly what the
Dicke-basis block form represents).
"""

import numpy as np
import pytest
import scipy.linalg

import permjax
from permjax import LMG
from permjax.timedomain.spectrum import spectrum

import lindblad_reference as ref


def _distance_to_spectrum(L, z, steps=3):
    """‖(L − z)x‖ after inverse iteration from a random x (‖x‖ = 1): of the order of the distance
    from z to the nearest eigenvalue of L (times its condition)."""
    lu = scipy.linalg.lu_factor(L - z * np.eye(L.shape[0]))
    x = np.random.default_rng(0).normal(size=L.shape[0]) + 0j
    for _ in range(steps):
        x = scipy.linalg.lu_solve(lu, x)
        x /= np.linalg.norm(x)
    return np.linalg.norm(L @ x - z * x)


def _match(found, reference):
    """Max distance of a one-to-one greedy matching of ``found`` into ``reference``."""
    pool = list(reference)
    worst = 0.0
    for z in found:
        i = int(np.argmin(np.abs(np.asarray(pool) - z)))
        worst = max(worst, abs(pool.pop(i) - z))
    return worst


@pytest.mark.parametrize("N,params,k,shift", [
    (4, dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0), 8, 0.0),
    (4, dict(J=-1.3, h=0.8, Gamma=0.7, gamma=1.2), 6, 0.0),
    (4, dict(J=3.0, h=0.0, Gamma=1.68, gamma=1.0), 6, 0.0),
    (4, dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0), 5, -1.5 + 1.0j),
    (4, dict(J=3.0, h=0.0, Gamma=1.68, gamma=1.0), 5, 1.8j),
])
def test_spectrum_matches_the_dense_full_liouvillian(N, params, k, shift):
    model = LMG(**params)
    res = spectrum(N, model, k=k, shift=shift, eigenvectors=True)  # default ARPACK tolerance 1e-12
    L = ref.dense_liouvillian(model.to_model(), N)
    _, Lpi = ref.symmetric_sector(L, N)
    pi = np.linalg.eigvals(Lpi)
    lam = res.eigenvalues
    assert lam.shape == (k,)
    # every eigenvalue is one of the full 4^N Liouvillian (dense eig at N = 4; inverse iteration)
    if N <= 4:
        full = np.linalg.eigvals(L)
        assert max(np.min(np.abs(full - z)) for z in lam) < 1e-10
    assert max(_distance_to_spectrum(L, z) for z in lam) < 1e-10
    # and they are the k permutation-invariant eigenvalues closest to the shift
    closest = pi[np.argsort(np.abs(pi - shift))[:k]]
    d_k = np.sort(np.abs(pi - shift))
    if d_k[k] - d_k[k - 1] > 1e-8:  # no tie at the cut
        assert _match(lam, closest) < 1e-10
    assert np.max(res.residuals) < 1e-8
    if params["h"] == 0:  # q-conserving: the shifted preconditioner is (A − σ)⁻¹ itself, complex σ too
        assert np.max(res.inner_iterations) <= 1
    # eigenvectors: L v = λ v in the permutation-invariant sector, via the dense matrix
    assert res.eigenvectors.shape[0] == k
    if shift == 0:
        assert lam[0] == 0
        ss = permjax.steady_state(N, model, method="cgls", tol=1e-13)
        np.testing.assert_allclose(res.eigenvectors[0], np.asarray(ss.blocks), atol=1e-10)
        nz = lam[np.abs(lam) > 0]
        assert res.gap == pytest.approx(np.min(np.abs(nz.real)))
        assert np.all(res.frequencies > 0)


@pytest.mark.parametrize("shift", [0.0, -1.5 + 1.0j])
def test_small_N_default_is_the_sparse_lu_and_equals_the_gmres_inner_solves(shift):
    """Up to N = 16 the default inner solves are ARPACK's own sparse LU of A − σ (``Direct``, one
    factorisation, nothing compiled); the GMRES path gives the same eigenpairs, and both match the
    dense 4^N Liouvillian (above)."""
    from permjax.solvers import GMRES

    model = LMG(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)
    lu = spectrum(5, model, k=6, shift=shift, eigenvectors=True)
    kr = spectrum(5, model, k=6, shift=shift, eigenvectors=True, method=GMRES(tol=1e-12, maxiter=2000))
    assert list(lu.inner_iterations) == [1] and np.max(kr.inner_iterations) > 1
    np.testing.assert_allclose(lu.eigenvalues, kr.eigenvalues, rtol=0, atol=1e-10)
    assert np.max(lu.residuals) < 1e-10 and np.max(lu.inner_residuals) < 1e-12
    for a, b in zip(lu.eigenvectors, kr.eigenvectors):  # the same vectors up to a phase
        phase = np.vdot(b.ravel(), a.ravel())
        np.testing.assert_allclose(a, b * phase / abs(phase), atol=1e-8)
    L = ref.dense_liouvillian(model.to_model(), 5)
    assert max(_distance_to_spectrum(L, z) for z in lu.eigenvalues) < 1e-10


def test_spectrum_rejects_bad_input():
    with pytest.raises(ValueError):
        spectrum(4, LMG(3.0, 0.5, 1.68, 1.0), k=0)
    with pytest.raises(ValueError):
        spectrum(4, LMG(3.0, 0.5, 1.68, 1.0), k=6, shift=np.nan)


from test_dynamics import GENERAL  # noqa: E402


@GENERAL
def test_spectrum_general_model_matches_the_dense_full_liouvillian():
    N, k = 4, 6
    model = ref.random_qubit_model(3)
    res = spectrum(N, model, k=k)
    L = ref.dense_liouvillian(model, N)
    full = np.linalg.eigvals(L)
    _, Lpi = ref.symmetric_sector(L, N)
    pi = np.linalg.eigvals(Lpi)
    assert max(np.min(np.abs(full - z)) for z in res.eigenvalues) < 1e-10
    assert _match(res.eigenvalues, pi[np.argsort(np.abs(pi))[:k]]) < 1e-10
    assert np.max(res.residuals) < 1e-8
