"""The finite-N state pytree and what is measured on it: I_M (Eqs. 27–29, 32) and ⟨m⟩.

``DickeState.blocks`` is either

* the full block grid ρ[j, a, a′], shape (n_J, N+1, N+1) (``DickeLayout``), or
* the diagonal representation p[j, a] = ρ_{J,M,M}, shape (n_J, N+1) — what the h = 0 steady
  state is (Eqs. 30–32); it never builds (N+1)² blocks, so it reaches large N.

Both are normalised as Σ_J Tr ρ_J = 1, padding (|M| > J) zero.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import linalg
from ..entropy import binary_entropy, bloch_norm, von_neumann_entropy, xlogx
from .layout import DickeLayout


class Diagnostics(eqx.Module):
    """How well a steady state solves L ρ = 0 (all leaves are arrays, so this is a pytree).

    Attributes:
        residual: relative residual ‖L ρ‖ / ‖ρ‖ (Frobenius norms over all blocks).
        iterations: solver iterations.
        converged: whether the solver met its tolerance within ``maxiter``.
        trace: Σ_J Tr ρ_J (1 up to round-off).
        hermiticity_error: max |ρ − ρ†| over all blocks.
        min_eigenvalue: smallest eigenvalue of any block ρ_J (≥ −round-off for a state).
        status: why the solver stopped (``permjax.solvers.base.Status``: 0 successful, 1 out of
            iterations, 2 stagnated, 3 a direct solve's breakdown).
    """

    residual: jax.Array
    iterations: jax.Array
    converged: jax.Array
    trace: jax.Array
    hermiticity_error: jax.Array
    min_eigenvalue: jax.Array
    status: jax.Array

    def __repr__(self) -> str:
        if any(isinstance(getattr(self, k), jax.core.Tracer) for k in ("residual", "converged")):
            return "Diagnostics(<traced>)"
        return "Diagnostics(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"

    def as_dict(self) -> dict:
        out = {}
        for k in ("residual", "iterations", "converged", "trace", "hermiticity_error", "min_eigenvalue", "status"):
            v = np.asarray(getattr(self, k))
            out[k] = v.item() if v.ndim == 0 else v.tolist()
        return out


class DickeState(eqx.Module):
    """A permutation-invariant state of N qubits in the Dicke basis (Eq. 20), with diagnostics.

    ``symmetric=True``: ``blocks`` holds the J = N/2 block alone, shape (1, N+1, N+1)."""

    blocks: jax.Array
    diagnostics: Diagnostics | None
    N: int = eqx.field(static=True)
    symmetric: bool = eqx.field(static=True, default=False)  # the J = N/2 block alone

    @property
    def layout(self) -> DickeLayout:
        return DickeLayout(self.N, self.symmetric)

    @property
    def is_diagonal(self) -> bool:
        """True for the populations-only representation (shape (..., n_J, N+1))."""
        return jnp.ndim(self.blocks) == _batch_ndim(self) + 2

    @property
    def populations(self) -> jax.Array:
        """p[j, a] = ρ_{J,M,M}, shape (..., n_J, N+1)."""
        if self.is_diagonal:
            return self.blocks
        return jnp.real(jnp.diagonal(self.blocks, axis1=-2, axis2=-1))


def _batch_ndim(state: DickeState) -> int:
    # a full state has trailing (n_J, N+1, N+1); a diagonal one (n_J, N+1); leading axes are a batch
    lay = state.layout
    shp = jnp.shape(state.blocks)
    full = len(shp) >= 3 and shp[-3:] == (lay.n_J, lay.n_M, lay.n_M)
    return len(shp) - (3 if full else 2)


def hermitian_part(blocks):
    return 0.5 * (blocks + jnp.conj(jnp.swapaxes(blocks, -1, -2)))


@jax.jit  # one compiled (and cacheable) program per shape, not one per operation
def total_entropy(state: DickeState):
    """S(ρ_T) = Σ_J [S(ρ_J) + p_J ln dim_J]  (Eq. 27 with unnormalised blocks:
    Σ_J p_J(−ln p_J + S(ρ̄_J)) = −Σ_J Tr ρ_J ln ρ_J). Diagonal states: Eq. 32,
    S = Σ_{J,M} p_{J,M}(−ln p_{J,M} + ln dim_J)."""
    log_dim = jnp.asarray(state.layout.log_dim)
    p = state.populations
    if state.is_diagonal:
        s_blocks = -jnp.sum(xlogx(p), axis=-1)
    else:
        s_blocks = von_neumann_entropy(hermitian_part(state.blocks))
    return jnp.sum(s_blocks + jnp.sum(p, axis=-1) * log_dim, axis=-1)


@jax.jit  # one compiled (and cacheable) program per shape, not one per operation
def magnetization(state: DickeState):
    """⟨m⟩ = (2/N) Σ_J Tr(ρ_J Ĵ_α), α = x, y, z (Eq. 28), shape (..., 3).

    Tr(ρ_J Ĵ_+) = Σ_M A(J,M) ρ_{M,M+1} with A = √((J−M)(J+M+1)); ⟨Ĵ_x⟩ = Re, ⟨Ĵ_y⟩ = Im of it
    (ρ Hermitian). Diagonal states have m_x = m_y = 0.
    """
    lay = state.layout
    M = jnp.asarray(lay.M)
    mz = 2.0 / lay.N * jnp.sum(state.populations * M, axis=(-2, -1))
    if state.is_diagonal:
        zero = jnp.zeros_like(mz)
        return jnp.stack([zero, zero, mz], axis=-1)
    J, Mg = lay.J[:, None], lay.M[None, :]
    A = jnp.asarray(np.sqrt(np.where(lay.mask, np.clip((J - Mg) * (J + Mg + 1), 0, None), 0.0)))
    rho = hermitian_part(state.blocks)
    tp = jnp.sum(A[..., :-1] * jnp.diagonal(rho, offset=1, axis1=-2, axis2=-1), axis=(-2, -1))
    return jnp.stack([2.0 / lay.N * jnp.real(tp), 2.0 / lay.N * jnp.imag(tp), mz], axis=-1)


@jax.jit  # one compiled (and cacheable) program per shape, not one per operation
def mutual_information(state: DickeState):
    """I_M = N S(ρ_i) − S(ρ_T), with S(ρ_i) = b(|⟨m⟩|) (Eqs. 27–29; divide by N for I_M/N).

    Differentiable: the block entropies use ``von_neumann_entropy``'s JVP, finite at zero
    and degenerate eigenvalues.
    """
    m = magnetization(state)
    return state.N * binary_entropy(bloch_norm(m)) - total_entropy(state)


def block_diagnostics(blocks, residual, iterations, status, layout: DickeLayout) -> Diagnostics:
    """Trace, Hermiticity error and smallest block eigenvalue of a solved full state; converged
    where the solver's ``status`` is 0 (successful)."""
    trace = jnp.real(jnp.sum(jnp.trace(blocks, axis1=-2, axis2=-1), axis=-1))
    herm = jnp.max(jnp.abs(blocks - jnp.conj(jnp.swapaxes(blocks, -1, -2))), axis=(-3, -2, -1))
    # padding rows/cols are zero and decoupled: lift them to eigenvalue 1 so they do not count
    pad = jnp.asarray(np.eye(layout.n_M)[None] * (~layout.mask)[:, :, None])
    w = linalg.eigvalsh(hermitian_part(blocks) / trace[..., None, None, None] + pad)
    return Diagnostics(residual, iterations, status == 0, trace, herm, jnp.min(w, axis=(-2, -1)), status)
