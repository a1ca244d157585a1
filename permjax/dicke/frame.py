"""The quantization axis of the Dicke basis, chosen to suit the preconditioner.

The Dicke basis quantizes along z, and GMRES is preconditioned by the exact inverse of the part
of L that conserves q = M − M′ (``precondition.py``). A model whose q-changing part dominates
(a boundary time crystal driven by ω Ĵ_x with ω ≳ κ) then needs hundreds of iterations, or
stalls. The steady state of a model in another frame is the same state rotated, so we may
quantize along any unit vector n instead.

With U = e^{−iφσ_z/2} e^{−iθσ_y/2} (U σ_z U† = n·σ, n = (sin θ cos φ, sin θ sin φ, cos θ)),
the model with every single-unit matrix A replaced by A′ = U† A U has the steady state
ρ′ = U^{†⊗N} ρ U^{⊗N}. In the Dicke basis U^{⊗N} acts inside each J-block as the spin-J
representation D^J = e^{−iφĴ_z} e^{−iθĴ_y}, so

    ρ_J = D^J ρ′_J D^J†.

Entropies, the trace and the residual norm are unchanged (a unitary change of basis); ⟨m⟩
rotates as a vector. Which axis a solve uses is the solver's choice (``permjax.solvers.axis``).
"""

from __future__ import annotations

import functools

import numpy as np

from ..models.operators import sigma_y
from ..models.pimodel import OneBody, Operator, PIModel, as_model, is_concrete
from .layout import DickeLayout


def axis_unitary(axis) -> np.ndarray:
    """U = e^{−iφσ_z/2} e^{−iθσ_y/2} for ``axis = (θ, φ)``: U σ_z U† = n·σ."""
    theta, phi = (float(x) for x in axis)
    rz = np.diag([np.exp(-0.5j * phi), np.exp(0.5j * phi)])
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]], complex)
    return rz @ ry


def rotate_model(model, axis) -> PIModel:
    """The model quantized along ``axis``: every matrix A → U† A U (coefficients untouched, so
    gradients and batches pass through)."""
    model = as_model(model)
    U = axis_unitary(axis)

    def rot(A: Operator):
        return U.conj().T @ A.array @ U

    ham = [(t.c, rot(t.A)) if isinstance(t, OneBody) else (t.c, rot(t.A), rot(t.B)) for t in model.hamiltonian]
    return PIModel(model.d, hamiltonian=ham, collective=[(t.rate, rot(t.A)) for t in model.collective],
                   local=[(t.rate, rot(t.L)) for t in model.local])


@functools.lru_cache(maxsize=16)
def _wigner_cached(layout: DickeLayout, axis: tuple) -> np.ndarray:
    theta, phi = axis
    N = layout.N
    out = np.zeros((layout.n_J, layout.n_M, layout.n_M), complex)
    jy_bands = _bands(layout, sigma_y / 2)
    for j, J in enumerate(layout.J):
        lo, hi = int(round(N / 2 - J)), int(round(N / 2 + J)) + 1  # valid a = M + N/2
        Jy = np.zeros((hi - lo, hi - lo), complex)
        for d, x in jy_bands.items():
            for a in range(lo, hi):
                if lo <= a + d < hi:
                    Jy[a + d - lo, a - lo] = x[j, a]
        w, V = np.linalg.eigh(Jy)
        ry = (V * np.exp(-1j * theta * w)) @ V.conj().T
        M = layout.M[lo:hi]
        out[j, lo:hi, lo:hi] = np.exp(-1j * phi * M)[:, None] * ry
    return out


def _bands(layout, A):
    from .liouvillian import collective_bands

    return collective_bands(Operator(A), layout)


def wigner_blocks(layout: DickeLayout, axis) -> np.ndarray:
    """D^J = e^{−iφĴ_z} e^{−iθĴ_y} of every block on the padded grid (zero on padding)."""
    return _wigner_cached(layout, (float(axis[0]), float(axis[1])))


def to_lab(blocks, layout: DickeLayout, axis):
    """ρ_J = D^J ρ′_J D^J† for every block (``blocks`` of the model quantized along ``axis``;
    leading batch axes allowed)."""
    import jax.numpy as jnp

    D = jnp.asarray(wigner_blocks(layout, axis))
    return jnp.einsum("jab,...jbc,jdc->...jad", D, blocks, jnp.conj(D))


def to_frame(blocks, layout: DickeLayout, axis):
    """ρ′_J = D^J† ρ_J D^J (the inverse of ``to_lab``)."""
    import jax.numpy as jnp

    D = jnp.asarray(wigner_blocks(layout, axis))
    return jnp.einsum("jba,...jbc,jcd->...jad", jnp.conj(D), blocks, D)
