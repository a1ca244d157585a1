"""Matrix-free Dicke-basis Liouvillian of the LMG model on the padded J-block grid (SPEC §3).

L = ⊕_J L_J + L_loc acting on ρ[j, a, a′] (a = M + N/2, see ``DickeLayout``), split into
pieces that can be used separately (a preconditioner, for instance, can be built from
the h = 0 part alone):

* ``liouvillian_h0``  — everything at h = 0: −i[(𝒥/N)(Ĵ_x² + Ĵ_y²), ρ], the collective decay
  (Γ/N) D[Ĵ_−]  (Eq. 23) and the local pumping γ Σ_i D[σ_+^(i)] (Eqs. 24–26).
  It maps a diagonal ρ to a diagonal ρ (this is why h = 0 has a diagonal steady state).
* ``liouvillian_field`` — the transverse-field part −i h [Ĵ_x, ρ] (Eq. 23).
* ``liouvillian`` = their sum;  ``liouvillian_adjoint`` = its Hilbert–Schmidt adjoint L†.

Every term is an elementwise product with a coefficient array built from (N, J, M) once,
plus a unit shift of the (j, a, a′) grid, the same for every block: a matvec is a handful
of fused vectorised array operations, with no gathers and no assembled matrix. All
functions are pure, complex-linear in ρ, and differentiable in the model parameters.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..model import LMG
from .layout import DickeLayout


@functools.lru_cache(maxsize=64)
def _coefficients(layout: DickeLayout) -> dict[str, np.ndarray]:
    """Parameter-free coefficient arrays on the (n_J, N+1) grid, zero off the valid range.

    ``A[j, a]`` = √((J−M)(J+M+1)), so Ĵ_+|J,M⟩ = A|J,M+1⟩.  The pumping rates factorise,
    R^(k)_{J,M,M′} = (γ/2) u_k[J,M] u_k[J,M′] (Eqs. 25–26), with u_k = √(f_k(J)) × (A, B or D):

        u_1  = B(J,M) √((N/2+J+1)/(J(2J+1)))     source block J → target J−1
        u_0  = A(J,M) √((N/2+1)/(J(J+1)))        J → J
        u_−1 = D(J,M) √((N/2−J)/((J+1)(2J+1)))   J → J+1

    each carrying (J, M, M′) to M+1, M′+1. R^(1), R^(0) vanish at J = 0 (guarded, not evaluated).
    """
    N = layout.N
    J = layout.J[:, None]
    M = layout.M[None, :]
    mask = layout.mask

    def root(x):
        return np.sqrt(np.where(mask, np.clip(x, 0.0, None), 0.0))

    A = root((J - M) * (J + M + 1))
    B = root((J - M) * (J - M - 1))
    D = -root((J + M + 1) * (J + M + 2))
    Jpos = np.where(J > 0, J, 1.0)
    u1 = np.where(J > 0, B * np.sqrt((N / 2 + J + 1) / (Jpos * (2 * J + 1))), 0.0)
    u0 = np.where(J > 0, A * np.sqrt((N / 2 + 1) / (Jpos * (J + 1))), 0.0)
    um1 = D * np.sqrt((N / 2 - J) / ((J + 1) * (2 * J + 1)))
    return {
        "mask": mask.astype(np.float64),
        "A": A,
        "M": np.broadcast_to(M, mask.shape) * mask,
        "JJ1": np.broadcast_to(J * (J + 1), mask.shape) * mask,
        "u1": u1,
        "u0": u0,
        "um1": um1,
    }


def _shift_M(x, s: int):
    """y[..., a, a′] = x[..., a−s, a′−s] (zero-filled): moves M, M′ up by s ∈ {+1, −1}."""
    pad = [(0, 0)] * (x.ndim - 2)
    if s == 1:
        return jnp.pad(x[..., :-1, :-1], pad + [(1, 0), (1, 0)])
    return jnp.pad(x[..., 1:, 1:], pad + [(0, 1), (0, 1)])


def _shift_row(x, s: int):
    """y[..., a, a′] = x[..., a−s, a′]: moves the row index M up by s ∈ {+1, −1}."""
    pad = [(0, 0)] * (x.ndim - 2)
    if s == 1:
        return jnp.pad(x[..., :-1, :], pad + [(1, 0), (0, 0)])
    return jnp.pad(x[..., 1:, :], pad + [(0, 1), (0, 0)])


def _shift_col(x, s: int):
    """y[..., a, a′] = x[..., a, a′−s]."""
    pad = [(0, 0)] * (x.ndim - 1)
    if s == 1:
        return jnp.pad(x[..., :, :-1], pad + [(1, 0)])
    return jnp.pad(x[..., :, 1:], pad + [(0, 1)])


def _shift_J(x, s: int):
    """y[j] = x[j−s] along the block axis (axis −3), zero-filled."""
    pad = [(0, 0)] * x.ndim
    pad[-3] = (1, 0) if s == 1 else (0, 1)
    return jnp.pad(x[..., :-1, :, :] if s == 1 else x[..., 1:, :, :], pad)


def _outer(u):
    return u[:, :, None] * u[:, None, :]


def liouvillian_h0(rho, model: LMG, layout: DickeLayout):
    """The h = 0 part of L on ρ[j, a, a′] (Eqs. 23–26):

        −i(𝒥/N)(M′² − M²) ρ_{J,M,M′}                                   (Ĵ_x²+Ĵ_y² = J(J+1) − Ĵ_z²)
        + (Γ/N)[A(J,M)A(J,M′) ρ_{J,M+1,M′+1} − ½(c_M + c_M′) ρ_{J,M,M′}],  c_M = J(J+1) − M² + M
        + Σ_k R^(k)_{J+k,M−1,M′−1} ρ_{J+k,M−1,M′−1} − (γ/2)(N − M − M′) ρ_{J,M,M′}.

    ``model`` leaves must be scalars (vmap over models for a batch).
    """
    c = {k: jnp.asarray(v) for k, v in _coefficients(layout).items()}
    N = layout.N
    M, Mp = c["M"][:, :, None], c["M"][:, None, :]
    mask2 = c["mask"][:, :, None] * c["mask"][:, None, :]
    cM = c["JJ1"] - c["M"] ** 2 + c["M"]  # diagonal of Ĵ_+Ĵ_−
    diag = (
        -1j * (model.J / N) * (Mp**2 - M**2)
        - (model.Gamma / N) * 0.5 * (cM[:, :, None] + cM[:, None, :])
        - (model.gamma / 2) * (N - M - Mp)
    ) * mask2
    out = diag * rho
    # collective decay: Ĵ_− ρ Ĵ_+ takes (M+1, M′+1) to (M, M′)
    out = out + (model.Gamma / N) * _outer(c["A"]) * _shift_M(rho, -1)
    # local pumping, Eqs. 24–26: source (J′, M, M′) feeds (J′−k, M+1, M′+1)
    gain = _outer(c["u0"]) * rho
    gain = gain + _shift_J(_outer(c["u1"]) * rho, -1)  # J′ = J+1 → J
    gain = gain + _shift_J(_outer(c["um1"]) * rho, +1)  # J′ = J−1 → J
    return out + (model.gamma / 2) * _shift_M(gain, +1)


def liouvillian_field(rho, model: LMG, layout: DickeLayout):
    """The transverse-field part −i h [Ĵ_x, ρ] (Eq. 23), Ĵ_x = (Ĵ_+ + Ĵ_−)/2.

    (Ĵ_+ρ)_{M,M′} = A(J,M−1) ρ_{M−1,M′},  (Ĵ_−ρ)_{M,M′} = A(J,M) ρ_{M+1,M′};  ρĴ_± likewise on M′.
    """
    A = jnp.asarray(_coefficients(layout)["A"])
    Ar, Ac = A[:, :, None], A[:, None, :]
    jx_rho = 0.5 * (_shift_row(Ar * rho, +1) + Ar * _shift_row(rho, -1))
    rho_jx = 0.5 * (_shift_col(Ac * rho, +1) + Ac * _shift_col(rho, -1))
    return -1j * model.h * (jx_rho - rho_jx)


def liouvillian(rho, model: LMG, layout: DickeLayout):
    """L ρ = ⊕_J L_J ρ_J + L_loc ρ (Eqs. 23–26) on the padded grid; matrix-free."""
    return liouvillian_h0(rho, model, layout) + liouvillian_field(rho, model, layout)


def adjoint(op, rho_like):
    """The Hilbert–Schmidt adjoint X ↦ L†X of a complex-linear map ``op``, via its transpose:
    L† = conj ∘ Lᵀ ∘ conj (``jax.linear_transpose``)."""
    t = jax.linear_transpose(op, jax.ShapeDtypeStruct(jnp.shape(rho_like), jnp.complex128))

    def op_adj(x):
        (y,) = t(jnp.conj(x))
        return jnp.conj(y)

    return op_adj


def liouvillian_adjoint(x, model: LMG, layout: DickeLayout):
    """L† x, with ⟨y, L x⟩ = ⟨L† y, x⟩ for the Frobenius inner product summed over blocks."""
    return adjoint(lambda r: liouvillian(r, model, layout), x)(x)


def block_trace(rho, layout: DickeLayout):
    """Σ_J Tr ρ_J over the valid entries only (|M| ≤ J), so padding never enters a solve."""
    d = jnp.diagonal(rho, axis1=-2, axis2=-1)
    return jnp.sum(d * jnp.asarray(layout.mask, dtype=d.real.dtype), axis=(-2, -1))
