"""GPU path against the CPU path of the same code, at small sizes (run only where a GPU is present).

The CPU results are the references: the same functions placed on ``jax.devices("cpu")``. On a
GPU the dense linear algebra is XLA's (cuSOLVER) instead of numpy's LAPACK (``permjax.linalg``),
and reductions run in another order, so agreement is to round-off, not bit for bit.
"""

import numpy as np
import pytest

import jax

import permjax
from permjax import LMG, PIModel, sigma_minus, sigma_plus, sigma_x, sigma_z

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a GPU (jax default backend)")]


def _on(device, fn):
    with jax.default_device(device):
        return jax.tree.map(np.asarray, fn())


def _both(fn):
    return _on(jax.devices("gpu")[0], fn), _on(jax.devices("cpu")[0], fn)


GENERAL = PIModel(2, hamiltonian=[(0.7, sigma_x / 2), (1.3, sigma_x / 2, sigma_x / 2)],
                  collective=[(1.0, sigma_minus + 0.3 * sigma_z)],
                  local=[(0.4, sigma_z), (0.5, 0.3 * sigma_minus + 0.95 * sigma_plus)])


@pytest.mark.parametrize("N", [8, 20])
@pytest.mark.parametrize("name", ["lmg", "general"])
def test_finite_gpu_matches_cpu(N, name):
    model = LMG(3.0, 0.5, 1.68, 1.0) if name == "lmg" else GENERAL

    def run():
        st = permjax.steady_state(N, model, method="gmres")
        return permjax.mutual_information(st) / N, permjax.magnetization(st), st.diagnostics.residual

    (mi_g, m_g, res_g), (mi_c, m_c, _) = _both(run)
    assert res_g < 1e-10
    assert abs(mi_g - mi_c) <= 1e-12
    assert np.max(np.abs(m_g - m_c)) <= 1e-12


def test_finite_gradient_gpu_matches_cpu():
    def run():
        return jax.value_and_grad(lambda g: permjax.mi_finite(10, LMG(3.0, 0.5, g, 1.0), method="gmres"))(1.68)

    (v_g, d_g), (v_c, d_c) = _both(run)
    assert abs(v_g - v_c) <= 1e-12
    assert abs(d_g - d_c) <= 1e-10 * max(1.0, abs(d_c))


@pytest.mark.parametrize("h", [0.0, 0.5])
def test_thermo_gpu_matches_cpu(h):
    def run():
        r = permjax.mi_thermo(LMG(3.0, h, np.array([1.0, 1.68, 2.5]), 1.0))
        return r.mi, r.kind

    (mi_g, k_g), (mi_c, k_c) = _both(run)
    np.testing.assert_array_equal(k_g, k_c)
    # adaptive steps may be accepted differently at round-off level: agreement to the
    # Newton-shooting tolerance (ThermoOptions.rtol 1e-12 relative on the orbit)
    assert np.max(np.abs(mi_g - mi_c)) <= 1e-10


def test_evolve_gpu_matches_cpu():
    ts = np.linspace(0.0, 2.0, 5)

    def run():
        r = permjax.evolve(10, GENERAL, "down", ts)
        return r.mi, r.m

    (mi_g, m_g), (mi_c, m_c) = _both(run)
    assert np.max(np.abs(mi_g - mi_c)) <= 1e-10
    assert np.max(np.abs(m_g - m_c)) <= 1e-10
