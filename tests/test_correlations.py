"""Two-time correlations by the quantum regression theorem (issue 14).

References: the 2^N Lindblad integration of B ρ_ss with the 2^N steady state
(tests/lindblad_reference.py, tests/bruteforce.py), and QuTiP's own ``spectrum`` on the 2^N model.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import permjax
from permjax import LMG
from permjax.timedomain.correlations import correlation, power_spectrum, spectrum_from_correlation

import bruteforce as bf
import lindblad_reference as ref

PAPER = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)
OPS = {"J+": np.array([[0, 1], [0, 0]], complex), "J-": np.array([[0, 0], [1, 0]], complex),
       "Jz": np.diag([0.5, -0.5]).astype(complex), "Jx": np.array([[0, 0.5], [0.5, 0]], complex)}


def _full_steady(model, N):
    H, cops = ref.model_operators(model.to_model(), N)
    return bf.symmetric_steady_state(sp.csr_matrix(H), [sp.csr_matrix(c) for c in cops], N)


@pytest.mark.parametrize("method", ["tsit5", "expm"])
@pytest.mark.parametrize("N,A,B,params", [(4, "J+", "J-", PAPER), (4, "Jz", "Jx", dict(J=-1.0, h=0.7, Gamma=0.9, gamma=1.3))])
def test_correlation_matches_full_space_regression(N, A, B, params, method):
    model = LMG(**params)
    taus = np.linspace(0.0, 3.0, 7) if method == "tsit5" else np.array([0.0, 0.5, 1.4, 3.0])  # expm: uneven steps
    res = correlation(N, model, A, B, taus, rtol=1e-12, atol=1e-14, method=method)
    rho = _full_steady(model, N)
    Af, Bf = ref.total(OPS[A], N), ref.total(OPS[B], N)
    X = ref.integrate(model.to_model(), N, Bf @ rho, taus)
    g_ref = np.array([np.trace(Af @ x) for x in X])
    assert np.max(np.abs(np.asarray(res.g) - g_ref)) < 1e-8
    assert abs(complex(res.g_inf) - np.trace(Af @ rho) * np.trace(Bf @ rho)) < 1e-9


def test_power_spectrum_matches_qutip_and_the_time_domain():
    qutip = pytest.importorskip("qutip")
    N, model = 4, LMG(**PAPER)
    omegas = np.array([-2.0, -0.7, 0.3, 0.65, 1.1, 2.5])
    S = power_spectrum(N, model, "J+", omegas)
    H, cops = ref.model_operators(model.to_model(), N)
    a = qutip.Qobj(ref.total(OPS["J+"], N))
    S_q = qutip.spectrum(qutip.Qobj(H), omegas, [qutip.Qobj(c) for c in cops], a, a.dag(), solver="pi")
    np.testing.assert_allclose(S.S, S_q, rtol=1e-8, atol=1e-10)
    # the same integral from the sampled g(τ) (trapezoid, decayed by τ = 40)
    taus = np.linspace(0.0, 40.0, 8001)
    g = correlation(N, model, "J+", "J-", taus, rtol=1e-11, atol=1e-13)
    S_t = spectrum_from_correlation(taus, g.g, g.g_inf, omegas)
    np.testing.assert_allclose(S_t, S.S, rtol=1e-4, atol=1e-6)


def test_correlation_from_a_later_tau_agrees_between_the_host_and_diffrax():
    """τ measured from 0 when taus start later: ``expm`` (the default here) and Tsit5 agree."""
    N, model = 5, LMG(**PAPER)
    taus = np.array([0.3, 0.8, 2.0])
    a = correlation(N, model, "J+", "J-", taus)
    b = correlation(N, model, "J+", "J-", taus, method="tsit5", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(a.g), np.asarray(b.g), rtol=0, atol=1e-10)
    assert abs(complex(a.g_inf) - complex(b.g_inf)) < 1e-14
