"""The zoo's families: each one's default N → ∞ attractor (fixed point or limit cycle) and
I_M/N against long scipy integrations of the brute-force mean-field drift (N = 2, 3 Lindbladians
extrapolated in 1/N, tests/meanfield_reference.py)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax
from permjax.models.zoo import BTC, FAMILIES, LMG, XYZ, SpinOneLMG, SuperradiantLaser

from meanfield_reference import fitted_drift, terms_of

TIGHT = dict(method="DOP853", rtol=1e-11, atol=1e-13)


def _entropy(xi, v):
    d = v.shape[-1]
    w = np.linalg.eigvalsh((np.eye(d) + np.tensordot(xi, v, axes=1)) / d)
    w = w[w > 0]
    return float(-np.sum(w * np.log(w)))


def test_registry():
    assert FAMILIES == {"lmg": LMG, "btc": BTC, "xyz": XYZ, "spin1_lmg": SpinOneLMG, "laser": SuperradiantLaser}
    for fam in FAMILIES.values():
        assert fam.__doc__ and set(fam.DEFAULTS) == set(fam.PARAMETERS)
        fam().to_model()


@pytest.mark.parametrize("family", [BTC, XYZ])
def test_default_is_a_fixed_point(family):
    model = family().to_model()
    v = permjax.gell_mann(model.d)
    f = fitted_drift(terms_of(model), v)
    res = permjax.mi_thermo(family())
    assert res.kind_name == "fixed point" and float(res.mi) == 0.0 and int(res.n_attractors) == 1
    for xi0 in np.asarray(res.starts):
        sol = solve_ivp(f, (0, 3000), xi0, dense_output=True, **TIGHT)
        tail = sol.sol(np.linspace(2900, 3000, 201)).T
        assert np.max(np.abs(tail - np.asarray(res.m_mean))) < 1e-8


def test_spin1_lmg_default_is_a_limit_cycle():
    """Long run, then the period from returns to the plane through x ⟂ f(x), and one-period
    quadratures of ξ and S(r) (von Neumann entropy, numpy eigvalsh)."""
    fam = SpinOneLMG()
    model = fam.to_model()
    v = permjax.gell_mann(3)
    f = fitted_drift(terms_of(model), v)
    res = permjax.mi_thermo(fam)
    assert res.kind_name == "limit cycle" and int(res.n_attractors) == 1 and float(res.floquet_max) < 1
    x = solve_ivp(f, (0, 600), np.asarray(res.starts)[0], **TIGHT).y[:, -1]
    normal = f(0, x) / np.linalg.norm(f(0, x))
    plane = lambda t, y: normal @ (y - x)
    plane.direction = 1
    one = solve_ivp(f, (0, 2.5 * float(res.period)), x, events=plane, **TIGHT)
    T = one.t_events[0][one.t_events[0] > 1e-6][0]
    assert np.max(np.abs(one.y_events[0][one.t_events[0] > 1e-6][0] - x)) < 1e-8  # period 1: it closes
    aug = lambda t, y: np.concatenate([f(t, y[:8]), y[:8], [_entropy(y[:8], v)]])
    q = solve_ivp(aug, (0, T), np.concatenate([x, np.zeros(9)]), **TIGHT).y[8:, -1] / T
    mi_ref = _entropy(q[:8], v) - q[8]
    assert abs(float(res.period) - T) <= 1e-7 * T
    assert abs(float(res.mi) - mi_ref) <= 1e-8
    assert 0.4 < mi_ref < math.log(3)
