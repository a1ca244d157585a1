"""The quantization axis a GMRES solve runs along (``GMRES(axis="auto")``), chosen to suit the
q-conserving preconditioner (``dicke.frame`` rotates the model and the state). The one rule:

1. a steady state near a spin-coherent state (|⟨m⟩| ≥ ``COHERENT_MIN`` at N = ``SCORE_N``, from a
   sparse LU on the host) is quantized along ⟨m⟩, where it is nearly diagonal (a weakly driven
   boundary time crystal: 77 → 39 iterations at N = 80);
2. otherwise, among a few candidate axes, the one whose q-changing part of L is smallest
   relative to its q-conserving part (Frobenius norms of the stencil coefficients at a small
   N), z unless another is clearly better.
"""

from __future__ import annotations

import numpy as np

from ..dicke.frame import rotate_model
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import _signature, _stencil_arrays, conserves_q, model_coefficients, trace_weight
from ..dicke.state import DickeState, magnetization
from ..models.pimodel import PIModel, as_model, is_concrete
from .direct import AugmentedLU, liouvillian_matrix

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


def _numpy_stencil(model: PIModel, layout: DickeLayout):
    """(u, v, weights, groups) of the model's Dicke-basis stencil (``DickeLiouvillian``) in plain
    numpy: concrete coefficients, no dispatch."""
    u, v, leaves, groups, _ = _stencil_arrays(_signature(model), layout)
    coeffs = np.array([float(c) for c in model_coefficients(model)])
    return u, v, (coeffs[leaves] if len(leaves) else np.zeros(0)), groups


def mixing_ratio(model, N: int = SCORE_N) -> float:
    """‖q-changing part of L‖/‖q-conserving part‖ (Frobenius norms of the stencil coefficients
    on the N-qubit grid, concrete coefficients, plain numpy): how far the preconditioner is from L."""
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
