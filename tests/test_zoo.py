"""The zoo's families: each one's default N → ∞ attractor (fixed point or limit cycle) and
I_M/N against long scipy integrations of the brute-force mean-field drift (N = 2, 3 Lindbladians
extrapolated in 1/N, tests/meanfield_reference.py)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax
from permjax.models.zoo import BTC, FAMILIES, LMG, XYZ, SpinOneLMG, SuperradiantLaser

from meanfield_reference import TIGHT, fitted_drift, one_period, terms_of



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
    T, closure, mi_ref = one_period(f, np.asarray(res.starts)[0], 600, float(res.period), v)
    assert closure < 1e-8  # period 1: it closes
    assert abs(float(res.period) - T) <= 1e-7 * T
    assert abs(float(res.mi) - mi_ref) <= 1e-8
    assert 0.4 < mi_ref < math.log(3)
