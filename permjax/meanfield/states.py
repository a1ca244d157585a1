"""Single-unit states of the mean field: r = (1 + ξ·v)/d (Eq. 3), their entropy, the default
initial states, and the rate that sets the time unit."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..entropy import binary_entropy, bloch_norm, von_neumann_entropy
from ..models.operators import gell_mann_combination, gell_mann_components, state_from_bloch
from ..models.pimodel import LocalJump, PIModel


def unit_entropy(xi, d: int):
    """S(r) of the single-unit state r = (1 + ξ·v)/d (Eq. 3): b(|m|) for d = 2 (Eq. 19), else the
    von Neumann entropy of the d×d matrix."""
    if d == 2:
        return binary_entropy(bloch_norm(xi))
    return von_neumann_entropy(state_from_bloch(xi, d))


def bloch(r):
    """ξ_l = (d/2) Tr(r v_l) (Eq. 3) in numpy (static data)."""
    d = r.shape[-1]
    return (d / 2.0) * gell_mann_components(np.asarray(r, complex), d)


def default_m0(d: int) -> np.ndarray:
    """The default first initial state: (0.1, 0, 0.99) for d = 2; for any d the state
    0.99 |ψ⟩⟨ψ| + 0.01/d with |ψ⟩ = cos(0.05)|0⟩ + sin(0.05)|1⟩ (near the top level, off any axis)."""
    if d == 2:
        return np.array([0.1, 0.0, 0.99])
    psi = np.zeros(d, complex)
    psi[0], psi[1] = math.cos(0.05), math.sin(0.05)
    return bloch(0.99 * np.outer(psi, psi.conj()) + 0.01 * np.eye(d) / d)


def initial_states(d: int, count: int, seed: int = 0) -> np.ndarray:
    """The default spread of initial states: ``count`` Bloch vectors of the mixed states
    0.9 |ψ⟩⟨ψ| + 0.1/d, |ψ⟩ Haar-random from a fixed seed (for d = 2: points at |m| = 0.9 in
    uniformly random directions, never exactly on an axis)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(count, d)) + 1j * rng.normal(size=(count, d))
    psi = z / np.linalg.norm(z, axis=-1, keepdims=True)
    r = 0.9 * np.einsum("ki,kj->kij", psi, psi.conj()) + 0.1 * np.eye(d) / d
    return bloch(r).reshape(count, d * d - 1)


def check_state(xi, d: int, what: str) -> None:
    """``ValueError`` unless r = (1 + ξ·v)/d is a state (eigenvalues ≥ −1e-12)."""
    w = np.linalg.eigvalsh(np.eye(d) / d + gell_mann_combination(np.asarray(xi, float), d) / d)
    if w[0] < -1e-12:
        raise ValueError(f"{what} is not a state (r = (1 + ξ·v)/d has eigenvalue {w[0]:.3g} < 0)")


def rate_unit(model: PIModel):
    """κ, the rate that sets the time unit of transients and windows: the total local jump
    rate Σ_n γ_n ‖L_n‖² (spectral norm; for LMG, γ); without local jumps the total collective
    rate Σ_m Γ_m ‖A_m‖²; 1 if that is zero (a purely Hamiltonian model)."""

    def total(terms):
        out = jnp.asarray(0.0)
        for t in terms:
            out = out + t.rate * float(np.linalg.norm(t.L.array if isinstance(t, LocalJump) else t.A.array, 2) ** 2)
        return out

    k = total(model.local) if model.local else total(model.collective)
    return jnp.where(k > 0, k, 1.0)
