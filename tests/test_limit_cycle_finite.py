"""Finite N against N → ∞ on a limit cycle of a model other than LMG (examples/models/xyz_pumped.toml:
XYZ couplings (3, 0, −1), collective decay κ = 1, local pumping γ↑ = 0.5).

* the N → ∞ value: ``mi_thermo``'s limit cycle (period, I_M/N = b(|m̄|) − mean b(|m|), Eq. 13)
  against a long scipy integration of the brute-force mean-field drift (N = 2, 3 Lindbladians
  extrapolated in 1/N, tests/meanfield_reference.py) and one-period quadratures;
* N ≤ 6: the finite-N steady state (GMRES on every J-block) against the plain-numpy 2^N brute force;
* N = 10, 20, 30: I_M/N rises towards the N → ∞ value, |difference| strictly decreasing.

Measured (scripts/limit_cycle_finite.py, docs/limit_cycle_finite.csv): |I_M/N − lim| = 0.234,
0.179, 0.126, 0.086, 0.058 at N = 10, 20, 40, 80, 160 (local exponents 0.39, 0.50, 0.55, 0.55),
always from below. The approach is slower than 1/N and its exponent settles only from N ≈ 40
(a power law through N = 20, 40, 80 extrapolates to 0.34 against 0.297), so at the N of this test
no extrapolation is asserted: only the direction and the monotone decrease of the difference.
"""

import math
import os

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax

import bruteforce_pi as bp
from meanfield_reference import fitted_drift, terms_of

MODEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models", "xyz_pumped.toml")
TIGHT = dict(method="DOP853", rtol=1e-11, atol=1e-13)


def _b(x):
    return -sum(p * math.log(p) for p in ((1 + x) / 2, (1 - x) / 2) if p > 0)


@pytest.fixture(scope="module")
def point():
    return permjax.load_model(MODEL_FILE)


@pytest.fixture(scope="module")
def limit(point):
    res = permjax.mi_thermo(point)
    assert res.kind_name == "limit cycle" and bool(res.finished) and int(res.n_attractors) == 1
    assert float(res.floquet_max) < 1
    return res


def test_mean_field_limit_cycle_against_a_long_integration(point, limit):
    """Long run of the brute-force drift, the period from returns to the plane through x ⟂ f(x),
    then r̄ and mean b(|m|) over one period by quadrature."""
    f = fitted_drift(terms_of(point.to_model()), permjax.gell_mann(2))
    x = solve_ivp(f, (0, 400), np.asarray(limit.starts)[0], **TIGHT).y[:, -1]
    normal = f(0, x) / np.linalg.norm(f(0, x))
    plane = lambda t, y: normal @ (y - x)
    plane.direction = 1
    one = solve_ivp(f, (0, 2.5 * float(limit.period)), x, events=plane, **TIGHT)
    later = one.t_events[0] > 1e-6
    T = one.t_events[0][later][0]
    assert np.max(np.abs(one.y_events[0][later][0] - x)) < 1e-8  # it closes after one return
    aug = lambda t, y: np.concatenate([f(t, y[:3]), y[:3], [_b(np.linalg.norm(y[:3]))]])
    q = solve_ivp(aug, (0, T), np.concatenate([x, np.zeros(4)]), **TIGHT).y[3:, -1] / T
    mi_ref = _b(np.linalg.norm(q[:3])) - q[3]
    assert abs(float(limit.period) - T) <= 1e-7 * T
    assert abs(float(limit.mi) - mi_ref) <= 1e-8
    assert 0.2 < mi_ref < math.log(2)


@pytest.mark.parametrize("N", [6])
def test_small_N_against_bruteforce(point, N):
    rho = bp.steady_state(point.to_model(), N)
    st = permjax.steady_state(N, point, method="gmres", tol=1e-13)
    assert bool(st.diagnostics.converged)
    assert abs(float(permjax.mutual_information(st)) / N - bp.mutual_information(rho, N) / N) <= 1e-10
    np.testing.assert_allclose(np.asarray(permjax.magnetization(st)), bp.magnetization(rho, N), atol=1e-10)


def test_finite_N_approaches_the_limit_cycle_value(point, limit):
    Ns = (10, 20, 30)
    mis = []
    for N in Ns:
        st = permjax.steady_state(N, point, method="gmres")
        assert bool(st.diagnostics.converged)
        mis.append(float(permjax.mutual_information(st)) / N)
    gap = float(limit.mi) - np.asarray(mis)
    assert np.all(gap > 0), (mis, float(limit.mi))  # from below
    assert np.all(np.diff(gap) < 0), (mis, float(limit.mi))  # strictly closer at each larger N
