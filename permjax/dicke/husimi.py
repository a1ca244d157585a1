"""The Husimi Q function of a finite-N Dicke-basis state (docs/theory.md §4) on the unit sphere.

With the spin-coherent states |J, n⟩ = R(θ, φ)|J, M = J⟩, R = e^{−iφĴ_z} e^{−iθĴ_y}, pointing along
n = (sin θ cos φ, sin θ sin φ, cos θ) (⟨J, n|Ĵ|J, n⟩ = J n), the POVM on the 2^N space

    E(n) = Σ_J (2J+1)/(4π) Σ_α |J, n, α⟩⟨J, n, α|,    ∫ E(n) dΩ = 1    (α the multiplicity label)

gives, for ρ_T = ⊕_J ρ_J ⊗ 1_{dim_J}/dim_J (Eq. 20),

    Q(n) = Tr(ρ_T E(n)) = Σ_J Q_J(n),    Q_J(n) = (2J+1)/(4π) ⟨J, n|ρ_J|J, n⟩,    ∫ Q dΩ = Σ_J Tr ρ_J = 1.

Q_J is the phase-space density of block J over the Bloch ball at radius r_J = 2J/N. In the
Condon–Shortley phases of this code (Ĵ_+|J, M⟩ = √((J−M)(J+M+1)) |J, M+1⟩, M = +1/2 is ↑)

    ⟨J, M|J, n⟩ = e^{iJφ} b_M(θ) e^{−iMφ},   b_M(θ) = √C(2J, J+M) cos(θ/2)^{J+M} sin(θ/2)^{J−M}

(for J = 1/2: cos(θ/2)|↑⟩ + e^{iφ} sin(θ/2)|↓⟩), so with u_M = b_M e^{−iMφ}

    Q_J(n) = (2J+1)/(4π) Σ_{M,M′} b_M b_{M′} e^{i(M−M′)φ} ρ_{J,M,M′} = (2J+1)/(4π) u† ρ_J u.

b_M is evaluated as exp(½ ln C(2J, J+M) + (J+M) ln|cos(θ/2)| + (J−M) ln|sin(θ/2)|) times the
signs of cos and sin to the powers J±M (log-binomials: no overflow at N in the hundreds; any real θ).
Q_J is a polynomial of degree 2J in n, so a product rule of Gauss–Legendre nodes in cos θ and
uniform φ (``sphere_quadrature``) integrates Q, and Q times a polynomial of degree k in n, exactly
once n_θ ≥ (N + k + 1)/2 and n_φ ≥ N + k + 1.

All functions take one state (vmap over a batch of states) and angle arrays of any broadcastable
shape; they are pure and jit-able in the angles. Three state kinds: full blocks (n_J, N+1, N+1),
populations only (n_J, N+1), the symmetric block alone (``symmetric=True``).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from ..validate import integer
from .layout import DickeLayout
from .state import DickeState


@functools.lru_cache(maxsize=64)
def _half_log_binomial(layout: DickeLayout) -> np.ndarray:
    """½ ln C(2J, J+M) on the padded grid (n_J, N+1), 0 on padding (numpy: static)."""
    J, M = layout.J[:, None], layout.M[None, :]
    up, down = np.clip(J + M, 0, None), np.clip(J - M, 0, None)
    lg = np.vectorize(math.lgamma)
    out = np.where(layout.mask, 0.5 * (lg(2 * J + 1) - lg(up + 1) - lg(down + 1)), 0.0)
    out.setflags(write=False)
    return out


def coherent_amplitudes(layout: DickeLayout, theta):
    """b_M(θ) = |⟨J, M|J, n⟩| with its sign (module docstring), shape (*θ.shape, n_J, N+1), 0 on padding."""
    J, M = jnp.asarray(layout.J)[:, None], jnp.asarray(layout.M)[None, :]
    half = jnp.asarray(theta, jnp.float64)[..., None, None] / 2
    c, s = jnp.cos(half), jnp.sin(half)
    up, down = jnp.maximum(J + M, 0), jnp.maximum(J - M, 0)  # integers (padding masked below)
    log_b = jnp.asarray(_half_log_binomial(layout)) + xlogy(up, jnp.abs(c)) + xlogy(down, jnp.abs(s))
    odd = lambda k: jnp.round(k) % 2 == 1  # noqa: E731
    sign = jnp.where((c < 0) & odd(up), -1.0, 1.0) * jnp.where((s < 0) & odd(down), -1.0, 1.0)
    return jnp.where(jnp.asarray(layout.mask), sign * jnp.exp(log_b), 0.0)


@jax.jit
def husimi_blocks(state: DickeState, theta, phi):
    """Q_J(n) = (2J+1)/(4π) ⟨J, n|ρ_J|J, n⟩ for every J, shape (n_J, *S), S the broadcast shape of
    ``theta`` and ``phi``: the density of block J on the sphere of radius r_J = 2J/N of the Bloch
    ball. Σ_J gives ``husimi``; ∫ Q_J dΩ = Tr ρ_J."""
    lay = state.layout
    theta, phi = jnp.broadcast_arrays(jnp.asarray(theta, jnp.float64), jnp.asarray(phi, jnp.float64))
    b = coherent_amplitudes(lay, theta)  # (*S, n_J, N+1)
    if state.is_diagonal:
        q = jnp.sum(b * b * state.blocks, axis=-1)
    else:
        u = b * jnp.exp(-1j * jnp.asarray(lay.M) * phi[..., None, None])
        q = jnp.real(jnp.sum(jnp.conj(u) * jnp.einsum("jab,...jb->...ja", state.blocks, u), axis=-1))
    q = q * jnp.asarray((2 * lay.J + 1) / (4 * math.pi))
    return jnp.moveaxis(q, -1, 0)


def husimi(state: DickeState, theta, phi):
    """Q(n) = Σ_J Q_J(n) = Tr(ρ_T E(n)) (module docstring), shape: that of ``theta``, ``phi`` broadcast."""
    return jnp.sum(husimi_blocks(state, theta, phi), axis=0)


def sphere_quadrature(n_theta: int, n_phi: int):
    """Nodes and weights of ∫ f dΩ ≈ Σ_{ik} w_ik f(θ_i, φ_k): Gauss–Legendre in cos θ (θ ascending),
    φ_k = 2πk/n_φ. Exact for polynomials in n of degree ≤ min(2 n_θ − 1, n_φ − 1).
    Returns numpy (theta (n_θ,), phi (n_φ,), w (n_θ, n_φ))."""
    n_theta, n_phi = integer("n_theta", n_theta, 1), integer("n_phi", n_phi, 1)
    x, wx = np.polynomial.legendre.leggauss(n_theta)
    theta = np.arccos(x[::-1])
    phi = 2 * math.pi * np.arange(n_phi) / n_phi
    return theta, phi, np.outer(wx[::-1], np.full(n_phi, 2 * math.pi / n_phi))


def exact_grid_size(N: int, degree: int = 0) -> tuple[int, int]:
    """The smallest (n_θ, n_φ) for which ``sphere_quadrature`` integrates Q times a polynomial of
    degree ``degree`` in n exactly: Q has degree ≤ N."""
    return (N + degree) // 2 + 1, N + degree + 1


class HusimiGrid(NamedTuple):
    """Q on a quadrature grid: ∫ f Q dΩ ≈ Σ weights · f · Q (``sphere_quadrature``)."""

    theta: jax.Array  # (n_θ,)
    phi: jax.Array  # (n_φ,)
    Q: jax.Array  # (n_θ, n_φ)
    weights: jax.Array  # (n_θ, n_φ)


def husimi_grid(state: DickeState, n_theta: int | None = None, n_phi: int | None = None) -> HusimiGrid:
    """Q on the product grid of ``sphere_quadrature``; by default the smallest one on which the
    normalisation and the first moments ∫ Q n dΩ are exact (``exact_grid_size(N, 1)``)."""
    dt, dp = exact_grid_size(state.N, 1)
    theta, phi, w = sphere_quadrature(dt if n_theta is None else n_theta, dp if n_phi is None else n_phi)
    q = husimi(state, jnp.asarray(theta)[:, None], jnp.asarray(phi)[None, :])
    return HusimiGrid(jnp.asarray(theta), jnp.asarray(phi), q, jnp.asarray(w))


__all__ = ["husimi", "husimi_blocks", "husimi_grid", "HusimiGrid", "sphere_quadrature", "exact_grid_size",
           "coherent_amplitudes"]
