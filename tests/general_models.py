"""Shared by the tests of model families: a test-side N = 1 steady state of any model, and checks
that skip a test only while a solver does not yet take a general ``PIModel``.

``one_unit_state`` reads the terms of a ``PIModel`` as data and solves the d² × d² Lindblad
equation of a single unit (N = 1: A_tot B_tot / N = AB, (rate/N) D[A_tot] = rate D[A]) with
``jnp.linalg.solve``; it shares nothing with permjax's solvers and is differentiable.
"""

import functools

import jax.numpy as jnp
import pytest

import permjax
from permjax.models import TwoBody


def one_unit_state(point):
    """The N = 1 steady state ρ (d × d) of a family point or PIModel."""
    m = permjax.as_model(point)
    d = m.d
    eye = jnp.eye(d)
    H = jnp.zeros((d, d), complex)
    for t in m.hamiltonian:
        H = H + t.c * jnp.asarray(t.A.array @ t.B.array if isinstance(t, TwoBody) else t.A.array)
    # row-major vec: vec(A X B) = (A ⊗ Bᵀ) vec(X)
    L = -1j * (jnp.kron(H, eye) - jnp.kron(eye, H.T))
    for rate, A in [(t.rate, t.A.array) for t in m.collective] + [(t.rate, t.L.array) for t in m.local]:
        AdA = A.conj().T @ A
        L = L + rate * (jnp.kron(A, A.conj()) - 0.5 * jnp.kron(AdA, eye) - 0.5 * jnp.kron(eye, AdA.T))
    M = L.at[0].set(eye.reshape(-1))  # the trace replaces the first (dependent) row
    b = jnp.zeros(d * d, complex).at[0].set(1.0)
    return jnp.linalg.solve(M, b).reshape(d, d)


def upper_population(point):
    """⟨↑|ρ|↑⟩ of the N = 1 steady state."""
    return jnp.real(one_unit_state(point)[0, 0])


def closed_form(Delta, Omega, kappa, gamma_phi):
    """ρ_↑↑ of one unit with H = Δσ_z/2 + Ωσ_x/2, decay κ D[σ₋], dephasing γ_φ D[σ_z]:
    (Ω²/2)(γ₂/κ) / (Δ² + γ₂² + Ω²γ₂/κ), γ₂ = κ/2 + 2γ_φ (maximal over γ₂ at γ₂ = |Δ|)."""
    g2 = kappa / 2 + 2 * gamma_phi
    return (Omega**2 / 2) * (g2 / kappa) / (Delta**2 + g2**2 + Omega**2 * g2 / kappa)


def _takes_pimodel(call) -> bool:
    try:
        call(permjax.LMG(h=0.0).to_model())
    except ValueError as e:
        if "LMG" in str(e):  # "needs an LMG model": the general solver is not there yet
            return False
        raise
    return True


@functools.cache
def _thermo_general() -> bool:
    return _takes_pimodel(permjax.mi_thermo)


@functools.cache
def _finite_general() -> bool:
    return _takes_pimodel(lambda m: permjax.steady_state(2, m, method="cgls"))


def needs_general_thermo():
    """Skip unless ``mi_thermo`` takes any PIModel (it runs as soon as it does)."""
    if not _thermo_general():
        pytest.skip("mi_thermo does not take a general PIModel yet")


def needs_general_finite():
    """Skip unless ``steady_state`` takes any PIModel (it runs as soon as it does)."""
    if not _finite_general():
        pytest.skip("steady_state does not take a general PIModel yet")
