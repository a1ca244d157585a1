"""Model validation, entropy helpers and the analytic h = 0 limit (Eqs. 17-19, 21)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"Gamma": -0.1}, "Gamma"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": -1.0}, "gamma"),
        ({"J": float("nan")}, "J"),
        ({"h": float("inf")}, "h"),
        ({"Gamma": float("nan")}, "Gamma"),
        ({"gamma": np.array([1.0, -2.0])}, "gamma"),
    ],
)
def test_lmg_rejects_bad_parameters(kw, name):
    with pytest.raises(ValueError, match=name):
        LMG(**kw)


def test_lmg_is_a_pytree_that_vmaps_and_differentiates():
    models = LMG(3.0, 0.0, jnp.linspace(1.2, 3.0, 7), 1.0).broadcast()
    assert models.shape == (7,)
    out = jax.vmap(permjax.mi_thermo_analytic)(models)
    loop = [permjax.mi_thermo_analytic(LMG(3.0, 0.0, float(G), 1.0)) for G in models.Gamma]
    np.testing.assert_allclose(out, loop, rtol=0, atol=1e-15)
    g = jax.grad(lambda G: permjax.mi_thermo_analytic(LMG(3.0, 0.0, G, 1.0)))(2.5)
    eps = 1e-6
    fd = (
        permjax.mi_thermo_analytic(LMG(3.0, 0.0, 2.5 + eps, 1.0))
        - permjax.mi_thermo_analytic(LMG(3.0, 0.0, 2.5 - eps, 1.0))
    ) / (2 * eps)
    assert abs(g - fd) < 1e-8


def test_validate_N():
    assert permjax.validate_N(4) == 4
    assert permjax.validate_N(6.0) == 6
    for bad in (0, -3, 2.5, "x", True, float("nan")):
        with pytest.raises(ValueError, match="N"):
            permjax.validate_N(bad)


def test_binary_entropy_matches_qubit_entropy():
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = rng.normal(size=3)
        m *= rng.uniform(0, 1) / np.linalg.norm(m)
        sx = np.array([[0, 1], [1, 0]]); sy = np.array([[0, -1j], [1j, 0]]); sz = np.diag([1.0, -1.0])
        rho = 0.5 * (np.eye(2) + m[0] * sx + m[1] * sy + m[2] * sz)
        w = np.linalg.eigvalsh(rho)
        s = -sum(x * math.log(x) for x in w if x > 0)
        assert abs(float(permjax.binary_entropy(np.linalg.norm(m))) - s) < 1e-14
    assert float(permjax.binary_entropy(0.0)) == pytest.approx(math.log(2), abs=1e-15)
    assert float(permjax.binary_entropy(1.0)) == 0.0
    # b'(x) = -artanh(x), finite below 1
    assert float(jax.grad(permjax.binary_entropy)(0.3)) == pytest.approx(-math.atanh(0.3), rel=1e-12)


def test_von_neumann_entropy_and_its_derivative_at_a_degenerate_state():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = a @ a.conj().T
    rho /= np.trace(rho).real
    w = np.linalg.eigvalsh(rho)
    assert float(permjax.von_neumann_entropy(rho)) == pytest.approx(-np.sum(w * np.log(w)), abs=1e-13)
    # rank-2, degenerate: derivative along a direction inside the support matches finite differences
    v = np.linalg.qr(a)[0]
    p = v[:, :2] @ v[:, :2].conj().T / 2
    b = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    d = v[:, :2] @ (b[:2, :2] + b[:2, :2].conj().T) @ v[:, :2].conj().T
    f = lambda t: permjax.von_neumann_entropy(p + t * d)
    g = jax.jvp(f, (0.0,), (1.0,))[1]
    fd = (f(1e-6) - f(-1e-6)) / 2e-6
    assert np.isfinite(g) and abs(g - fd) < 1e-7


def test_log_dim_J_counts_states():
    for N in range(1, 9):
        Js = np.arange(N % 2 / 2, N / 2 + 0.1, 1.0)
        dims = np.exp(np.asarray(permjax.log_dim_J(N, Js)))
        # Σ_J dim_J (2J+1) = 2^N
        assert np.sum(dims * (2 * Js + 1)) == pytest.approx(2.0**N, rel=1e-12)
        assert np.allclose(dims, np.round(dims), atol=1e-9)


def test_analytic_limit_cycle_is_a_periodic_orbit_of_the_drift():
    model = LMG(J=3.0, h=0.0, Gamma=2.2, gamma=1.0)
    mz, mxy, om = permjax.limit_cycle_h0(model)
    for t in np.linspace(0, 3, 7):
        m = jnp.array([mxy * jnp.cos(om * t), -mxy * jnp.sin(om * t), mz])
        dm = jnp.array([-mxy * om * jnp.sin(om * t), -mxy * om * jnp.cos(om * t), 0.0])
        np.testing.assert_allclose(permjax.drift(m, model), dm, atol=1e-13)


def test_analytic_mi_maximum_and_phases():
    Gs = np.linspace(1.0, 4.0, 30001)
    vals = np.asarray(jax.vmap(lambda G: permjax.mi_thermo_analytic(LMG(3.0, 0.0, G, 1.0)))(Gs))
    assert Gs[np.argmax(vals)] == pytest.approx(1.6776, abs=2e-4)
    assert float(permjax.mi_thermo_analytic(LMG(3.0, 0.0, 0.7, 1.0))) == 0.0
    with pytest.raises(ValueError, match="h = 0"):
        permjax.mi_thermo_analytic(LMG(3.0, 0.5, 2.0, 1.0))
