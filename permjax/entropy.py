"""Entropies with derivatives that stay finite at pure and degenerate states.

docs/theory.md §3–4: b(x) (Eq. 19), von Neumann entropy of Dicke blocks (Eq. 27), ln dim_J (Eq. 21).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from . import linalg


@jax.custom_jvp
def xlogx(p):
    """p ln p, with 0 ln 0 = 0; its derivative ln p + 1 is taken as 0 off the support (p <= 0)."""
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.where(p > 0, p * jnp.log(safe), 0.0)


@xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (p,), (dp,) = primals, tangents
    safe = jnp.where(p > 0, p, 1.0)
    return xlogx(p), jnp.where(p > 0, jnp.log(safe) + 1.0, 0.0) * dp


def binary_entropy(x):
    """b(x) = -(1+x)/2 ln((1+x)/2) - (1-x)/2 ln((1-x)/2)  (Eq. 19).

    The entropy of the qubit state (1 + m·σ)/2 with |m| = x ∈ [0, 1]; values are clipped into
    that interval. Its derivative b'(x) = -artanh(x) is finite for x < 1.
    """
    x = jnp.clip(x, 0.0, 1.0)
    return -xlogx((1.0 + x) / 2.0) - xlogx((1.0 - x) / 2.0)


def bloch_norm(m, axis=-1):
    """|m| with a derivative that is finite (zero) at m = 0."""
    sq = jnp.sum(m * m, axis=axis)
    safe = jnp.where(sq > 0, sq, 1.0)
    return jnp.where(sq > 0, jnp.sqrt(safe), 0.0)


@jax.custom_jvp
def von_neumann_entropy(rho):
    """S(ρ) = -Tr ρ ln ρ for a Hermitian (possibly unnormalised, batched) matrix.

    Eigenvalues below zero (round-off) count as zero. The derivative is
    dS = -Tr[(ln ρ + 1) dρ] restricted to the support of ρ, which stays finite when ρ
    has zero or degenerate eigenvalues.
    """
    w = linalg.eigvalsh(rho)
    return -jnp.sum(xlogx(w), axis=-1)


@von_neumann_entropy.defjvp
def _vn_jvp(primals, tangents):
    (rho,), (drho,) = primals, tangents
    w, v = linalg.eigh(rho)
    s = -jnp.sum(xlogx(w), axis=-1)
    safe = jnp.where(w > 0, w, 1.0)
    g = jnp.where(w > 0, jnp.log(safe) + 1.0, 0.0)
    # diagonal of V† dρ V
    d = jnp.einsum("...ji,...jk,...ki->...i", v.conj(), drho, v)
    return s, -jnp.sum(g * jnp.real(d), axis=-1)


def log_dim_J(N, J):
    """ln dim_J, the multiplicity of spin J among N qubits (Eq. 21):

    dim_J = (2J+1) N! / ((N/2 + J + 1)! (N/2 - J)!).
    """
    N = jnp.asarray(N, dtype=jnp.float64)
    J = jnp.asarray(J, dtype=jnp.float64)
    return (
        jnp.log(2.0 * J + 1.0)
        + gammaln(N + 1.0)
        - gammaln(N / 2.0 + J + 2.0)
        - gammaln(N / 2.0 - J + 1.0)
    )
