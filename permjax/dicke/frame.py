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
rotates as a vector. ``choose_axis`` is the one rule:

1. a steady state near a spin-coherent state (|⟨m⟩| ≥ ``COHERENT_MIN`` at N = ``SCORE_N``, from a
   sparse LU on the host) is quantized along ⟨m⟩, where it is nearly diagonal (a weakly driven
   boundary time crystal: 77 → 39 iterations at N = 80);
2. otherwise, among a few candidate axes, the one whose q-changing part of L is smallest
   relative to its q-conserving part (Frobenius norms of the stencil coefficients at a small
   N), z unless another is clearly better.
"""

from __future__ import annotations

import functools

import numpy as np

from ..models.operators import sigma_y
from ..models.pimodel import OneBody, Operator, PIModel, as_model, is_concrete
from .layout import DickeLayout

#: candidate axes (θ, φ): z, then tilted by 45° and 90° in four azimuths, and 135° (half-turns
#: of the axis give the same q-structure, so φ ∈ [0, π) suffices)
CANDIDATES = ((0.0, 0.0),) + tuple((t, p) for t in (np.pi / 4, np.pi / 2, 3 * np.pi / 4)
                                   for p in (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4))
#: another axis replaces z only when its mixing ratio is below this fraction of z's
SWITCH_RATIO = 0.7
#: N of the stencils that score the candidates, and of the state whose ⟨m⟩ is measured
SCORE_N = 10
#: |⟨m⟩| (per unit) of the N = SCORE_N steady state from which GMRES is quantized along ⟨m⟩
COHERENT_MIN = 0.8
#: an axis within this angle of z (radians) is z
Z_ANGLE = 0.05


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


def _numpy_stencil(model: PIModel, layout: DickeLayout):
    """(u, v, weights, groups) of the model's Dicke-basis stencil (``DickeLiouvillian``) in plain
    numpy: concrete coefficients, no dispatch."""
    from .liouvillian import _signature, _stencil_arrays, model_coefficients

    u, v, leaves, groups, _ = _stencil_arrays(_signature(model), layout)
    coeffs = np.array([float(c) for c in model_coefficients(model)])
    return u, v, (coeffs[leaves] if len(leaves) else np.zeros(0)), groups


def mixing_ratio(model, N: int = SCORE_N) -> float:
    """‖q-changing part of L‖/‖q-conserving part‖ (Frobenius norms of the stencil coefficients
    on the N-qubit grid, concrete coefficients, plain numpy): how far the preconditioner is from L."""
    from .liouvillian import conserves_q

    u, v, w, groups = _numpy_stencil(as_model(model), DickeLayout(N))
    norms = {True: 0.0, False: 0.0}
    for shift, lo, hi in groups:
        c = np.einsum("t,tja,tjb->jab", w[lo:hi], u[lo:hi], v[lo:hi])
        norms[conserves_q(shift)] += float(np.sum(np.abs(c) ** 2))
    return float(np.sqrt(norms[False] / max(norms[True], 1e-300)))


def small_magnetization(model, N: int = SCORE_N) -> np.ndarray | None:
    """⟨m⟩ = 2⟨Ĵ⟩/N of the N-qubit steady state (the symmetric block without local jumps), by
    the sparse LU of ``direct.py`` on the host (concrete coefficients, no compile); ``None``
    where that solve fails (e.g. a steady state that is not unique)."""
    import scipy.linalg

    from ..solvers.direct import AugmentedLU, liouvillian_matrix
    from ..solvers.steady import trace_weight
    from .state import DickeState, magnetization

    model = as_model(model)
    layout = DickeLayout(N, symmetric=not model.local)
    u, v, w, groups = _numpy_stencil(model, layout)
    valid = layout.block_mask
    try:
        with np.errstate(all="raise"):
            L = liouvillian_matrix(w, u, v, groups, layout)
            x = np.zeros(valid.shape, complex)
            x[valid] = AugmentedLU(L, layout).solve(np.real(np.asarray(trace_weight(layout)))[valid].astype(complex))
    except (RuntimeError, FloatingPointError, scipy.linalg.LinAlgError, ValueError):
        return None
    if not (np.all(np.isfinite(x)) and np.linalg.norm(L @ x[valid]) <= 1e-8 * np.linalg.norm(x[valid])):
        return None
    return np.asarray(magnetization(DickeState(x, None, N, layout.symmetric)))


def choose_axis(model) -> tuple[float, float] | None:
    """The quantization axis (θ, φ) for a GMRES solve, or ``None`` for z (also whenever the
    coefficients are traced: the choice needs their values)."""
    model = as_model(model)
    if model.shape != () or not all(is_concrete(x) for x in _leaves(model)):
        return None
    z = mixing_ratio(model)
    if z == 0.0:  # q-conserving along z: the preconditioner is exact
        return None
    m = small_magnetization(model)
    if m is not None and np.linalg.norm(m) >= COHERENT_MIN:
        n = m / np.linalg.norm(m) * (1.0 if m[2] >= 0 else -1.0)  # ±n: the same q-structure
        theta = float(np.arccos(np.clip(n[2], -1.0, 1.0)))
        return None if theta < Z_ANGLE else (theta, float(np.arctan2(n[1], n[0])))
    scores = [z] + [mixing_ratio(rotate_model(model, ax)) for ax in CANDIDATES[1:]]
    best = int(np.argmin(scores))
    return CANDIDATES[best] if best != 0 and scores[best] < SWITCH_RATIO * scores[0] else None


def _leaves(model: PIModel):
    import jax

    return jax.tree.leaves(model)
