"""The h = 0 steady state from the rate equations (SPEC §3, Eqs. 30–31).

At h = 0 the Dicke-basis steady state is diagonal, ρ_{J,M,M′} = δ_{MM′} p_{J,M}, and the
populations solve 0 = W p with (Eq. 30)

    (W p)_{J,M} = −C1 p_{J,M} + C2 p_{J,M+1} + C3 p_{J+1,M−1} + C4 p_{J,M−1} + C5 p_{J−1,M−1}

    C1 = (Γ/N)(1 + J − M)(J + M) + γ(N/2 − M)                       out of (J, M)
    C2 = (Γ/N)(J − M)(J + M + 1)                                    decay   (J, M+1) → (J, M)
    C3 = γ (J−M+1)(J−M+2)(N/2+J+2) / (2(J+1)(2J+3))                 pumping (J+1, M−1) → (J, M)
    C4 = γ (J−M+1)(J+M)(N/2+1) / (2J(J+1))                          pumping (J, M−1) → (J, M)
    C5 = γ (J+M−1)(J+M)(N/2−J+1) / (2J(2J−1))                       pumping (J−1, M−1) → (J, M)

(Eq. 31). A term whose source lies outside |M′| ≤ J′, J_min ≤ J′ ≤ N/2 is absent; its
denominator may vanish there (J = 0, 1/2), so it is masked, never evaluated. W is a
generator: each column sums to zero (C1 is the total outflow).

Solver. W is a 2-D (J, M) nearest-neighbour stencil, so a sparse LU with a fill-reducing
ordering solves it directly (measured: N = 1600, 6.4·10⁵ unknowns, in ≈ 5 s; block-Jacobi,
Gauss–Seidel and SGS-preconditioned GMRES all need iterations growing like N^1.2–1.5).
For large N the populations are exponentially concentrated, p ∝ exp(−N f(J/N, M/N)) (a
large-deviation form): at N = 10⁴ only ~10⁶ of the 2.5·10⁷ states carry p > 10⁻²⁰ of the
maximum. The solve is therefore done on a window S of states — the level set
p ≥ ``cutoff`` × max p predicted from the solution at N/2 (the rate function f does not
depend on N, so ln p at N ≈ 2 ln p at N/2), recursively down to ``full_below`` where the
whole grid is used. The window's generator keeps only transitions inside S (a generator
again); afterwards every state of S next to a state outside it must have p ≤ cutoff × max p,
otherwise S is widened there and the solve repeated. The returned ``residual`` is that of
the zero-extended p against the full, untruncated W (matrix-free, in JAX), so truncation
cannot hide.

Derivatives: implicit differentiation of W p = 0, Σ p = 1 (``jax.custom_vjp``); the adjoint
solve reuses the same window and sparse LU. W depends on Γ, γ only; the derivative in 𝒥
is zero, and so is the one in h at h = 0 (p is even in h). The host solve runs through
``permjax.host.host_call`` (jit- and vmap-compatible; on a GPU it runs on the host CPU).

Entropies of the result: wrap ``populations`` in ``permjax.dicke.state.DickeState`` (the
diagonal representation); ``total_entropy``/``mutual_information`` there implement
Eq. 32, S(ρ_T) = Σ p (−ln p + ln dim_J), and ⟨m⟩ = (0, 0, (2/N) Σ p M). ``mi_rates`` below
does exactly that — the formula lives in one place, state.py.
"""

from __future__ import annotations

import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..host import host_call
from ..resources import check_memory
from ..model import LMG, _is_concrete, validate_N
from .layout import DickeLayout

#: relative residual ‖W p‖₂ / (max C1 · ‖p‖₂) above which the result is flagged (and warned)
DEFAULT_RTOL = 1e-10


# --- the rate coefficients (Eq. 31), one implementation for numpy and jax.numpy ------------


def rate_coefficients(xp, N: int, J, M, Gamma, gamma):
    """C1…C5 of Eq. 31 at target states (J, M), zero where the source state does not exist.

    ``xp`` is ``numpy`` or ``jax.numpy``; ``J``, ``M`` broadcastable arrays; all five are zero
    where the target itself is padding (|M| > J). Returns ``(C1, C2, C3, C4, C5)``.
    """
    J_min = (N % 2) / 2.0
    tol = 1e-9
    valid = xp.abs(M) <= J + tol  # the target itself (padding gets finite zeros: safe gradients)
    has2 = valid & (M + 1 <= J + tol)  # source (J, M+1)
    has3 = valid & (J + 1 <= N / 2 + tol)  # source (J+1, M−1): |M−1| ≤ J+1 holds for |M| ≤ J
    has4 = valid & (M - 1 >= -J - tol)  # source (J, M−1)
    has5 = valid & (J - 1 >= J_min - tol) & (M - 1 >= -(J - 1) - tol) & (M - 1 <= J - 1 + tol)
    Jp = xp.where(has4 | has5, J, 1.0)  # guarded J for the 1/J, 1/(2J−1) denominators
    J5 = xp.where(has5, J, 1.0)
    C1 = xp.where(valid, (Gamma / N) * (1 + J - M) * (J + M) + gamma * (N / 2 - M), 0.0)
    C2 = xp.where(has2, (Gamma / N) * (J - M) * (J + M + 1), 0.0)
    C3 = xp.where(has3, gamma * (J - M + 1) * (J - M + 2) * (N / 2 + J + 2) / (2 * (J + 1) * (2 * J + 3)), 0.0)
    C4 = xp.where(has4, gamma * (J - M + 1) * (J + M) * (N / 2 + 1) / (2 * Jp * (Jp + 1)), 0.0)
    C5 = xp.where(has5, gamma * (J + M - 1) * (J + M) * (N / 2 - J + 1) / (2 * J5 * (2 * J5 - 1)), 0.0)
    return C1, C2, C3, C4, C5


def _shift(x, dj: int, da: int):
    """y[j, a] = x[j + dj, a + da], zero where that index is off the grid."""
    nj, na = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(max(-dj, 0), max(dj, 0)), (max(-da, 0), max(da, 0))]
    xp_ = jnp.pad(x, pad)
    j0, a0 = max(dj, 0), max(da, 0)
    return xp_[..., j0 : j0 + nj, a0 : a0 + na]


def rate_matvec(p, N: int, Gamma, gamma):
    """(W p)[j, a] on the padded (n_J, N+1) grid (Eq. 30), matrix-free and differentiable.

    Coefficients are built from iotas inside the computation (XLA fuses them), so memory is
    a few grid-sized arrays even at N = 10⁴. Padding entries of the result are zero.
    """
    lay = DickeLayout(N)
    J = lay.J_min + jax.lax.broadcasted_iota(jnp.float64, (lay.n_J, lay.n_M), 0)
    M = jax.lax.broadcasted_iota(jnp.float64, (lay.n_J, lay.n_M), 1) - N / 2.0
    valid = jnp.abs(M) <= J + 1e-9
    C1, C2, C3, C4, C5 = rate_coefficients(jnp, N, J, M, Gamma, gamma)
    out = -C1 * p + C2 * _shift(p, 0, 1) + C3 * _shift(p, 1, -1) + C4 * _shift(p, 0, -1) + C5 * _shift(p, -1, -1)
    return jnp.where(valid, out, 0.0)


@functools.partial(jax.jit, static_argnums=1)
def _relative_residual(p, N, Gamma, gamma):
    """‖W p‖₂ / (max C1 · ‖p‖₂): dimensionless, scaled by the fastest rate."""
    r = rate_matvec(p, N, Gamma, gamma)
    c1max = (Gamma / N) * (N / 2 + 1) * (N / 2) + gamma * N  # ≥ max C1 over the grid
    return jnp.linalg.norm(r) / (c1max * jnp.linalg.norm(p))


# --- host-side sparse solve on a window -----------------------------------------------------

_TERMS = ((1, 0, 1), (2, 1, -1), (3, 0, -1), (4, -1, -1))  # (coefficient index, dj, da) of sources


def _generator(N: int, Gamma: float, gamma: float, window: np.ndarray):
    """Sparse W restricted to the states of ``window`` (bool (n_J, N+1)), as CSC, plus the
    flat index map. Off-window transitions are dropped from off-diagonal and diagonal alike,
    so columns still sum to zero."""
    import scipy.sparse as sp

    lay = DickeLayout(N)
    jj, aa = np.nonzero(window)
    idx = np.full(window.shape, -1, dtype=np.int64)
    idx[jj, aa] = np.arange(jj.size)
    C = rate_coefficients(np, N, lay.J[jj], lay.M[aa], Gamma, gamma)
    rows, cols, vals = [], [], []
    for k, dj, da in _TERMS:
        js, as_ = jj + dj, aa + da
        ok = (C[k] != 0) & (js >= 0) & (js < lay.n_J) & (as_ >= 0) & (as_ < lay.n_M)
        src = np.full(jj.shape, -1)
        src[ok] = idx[js[ok], as_[ok]]
        ok &= src >= 0
        rows.append(np.nonzero(ok)[0])
        cols.append(src[ok])
        vals.append(C[k][ok])
    rows, cols, vals = map(np.concatenate, (rows, cols, vals))
    n = jj.size
    out = np.bincount(cols, weights=vals, minlength=n)  # total in-window outflow of each column
    W = sp.csc_matrix((np.concatenate([vals, -out]), (np.concatenate([rows, np.arange(n)]), np.concatenate([cols, np.arange(n)]))), shape=(n, n))
    return W, idx, (jj, aa)


def _solve_window(N, Gamma, gamma, window, pin):
    """Populations on ``window`` (zero elsewhere), normalised, and the factorisation.

    The state ``pin`` (of non-negligible weight) is fixed to q_pin = 1: its balance equation
    and its column leave the system, whose matrix −W_{S∖pin} is then a nonsingular M-matrix
    with a nonnegative right-hand side; LU with diagonal pivots keeps the solution positive
    (no cancellation reaches the exponentially small tails). Then p = q / Σ q.
    """
    import scipy.sparse.linalg as spla

    W, idx, (jj, aa) = _generator(N, Gamma, gamma, window)
    k = idx[pin]
    keep = np.ones(W.shape[0], dtype=bool)
    keep[k] = False
    A = W[keep][:, keep].tocsc()
    b = -W[keep][:, [k]].toarray().ravel()
    lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)
    q = np.ones(W.shape[0])
    q[keep] = lu.solve(b)
    p = np.zeros(window.shape)
    p[jj, aa] = q / q.sum()
    return p, (lu, keep)


def _mean_field_peak(N, Gamma, gamma):
    """(j, a) nearest the h = 0 amplitude fixed point: m_z = γ/Γ, |m|² = m_z² + 2γ(Γ−γ)/Γ² for
    Γ > γ (Eq. 17), else m = (0, 0, 1); J ≈ N|m|/2, M ≈ N m_z/2."""
    lay = DickeLayout(N)
    if Gamma > gamma:
        mz = gamma / Gamma
        mabs = np.sqrt(mz**2 + 2 * gamma * (Gamma - gamma) / Gamma**2)
    else:
        mz = mabs = 1.0
    j = int(np.clip(round(N * mabs / 2 - lay.J_min), 0, lay.n_J - 1))
    J = lay.J[j]
    a = int(np.clip(round(N * mz / 2 + N / 2), N / 2 - J, N / 2 + J))
    return j, a


def _neighbours(window: np.ndarray) -> np.ndarray:
    """States reachable from ``window`` in one transition (J±1 or J, M±1), including itself."""
    out = window.copy()
    for dj in (-1, 0, 1):
        for da in (-1, 1):
            out |= _shift_np(window, dj, da)
    return out


def _shift_np(x, dj, da, fill=0):
    """y[j, a] = x[j − dj, a − da], ``fill`` off the grid."""
    y = np.full_like(x, fill)
    nj, na = x.shape
    ys = (slice(max(dj, 0), nj + min(dj, 0)), slice(max(da, 0), na + min(da, 0)))
    xs = (slice(max(-dj, 0), nj + min(-dj, 0)), slice(max(-da, 0), na + min(-da, 0)))
    y[ys] = x[xs]
    return y


def _component(window: np.ndarray, seed) -> np.ndarray:
    """The part of ``window`` connected to ``seed`` through transitions (J, M±1), (J±1, M±1):
    a window made of disconnected pieces would make the truncated generator singular."""
    from scipy import ndimage

    structure = np.array([[1, 0, 1], [1, 1, 1], [1, 0, 1]], dtype=bool)  # rows: ΔJ, columns: ΔM
    labels, _ = ndimage.label(window, structure=structure)
    return labels == labels[seed]


def _predict_window(N, p_half, N_half, cutoff, margin):
    """Level set {ln(p/max p) ≥ ln cutoff − margin} at N from the solution at N_half, using
    ln p_N(x) ≈ (N/N_half) ln p_{N_half}(x) at equal scaled coordinates x = (J/N, M/N)."""
    lay, lh = DickeLayout(N), DickeLayout(N_half)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log(np.clip(p_half, 0.0, None) / p_half.max())
    lp = np.where(lh.mask, lp, -np.inf)
    # max over a 3×3 neighbourhood, so rounding to the coarse grid loses nothing
    lpd = lp.copy()
    for dj in (-1, 0, 1):
        for da in (-1, 0, 1):
            lpd = np.maximum(lpd, _shift_np(lp, dj, da, fill=-np.inf))
    r = N_half / N
    jh = np.clip(np.rint(lay.J * r - lh.J_min), 0, lh.n_J - 1).astype(int)
    ah = np.clip(np.rint(lay.M * r + N_half / 2), 0, lh.n_M - 1).astype(int)
    keep = (N / N_half) * lpd >= np.log(cutoff) - margin  # on the coarse grid
    rows, cols = np.nonzero(keep.any(1))[0], np.nonzero(keep.any(0))[0]
    out = np.zeros(lay.mask.shape, dtype=bool)
    jsel = np.nonzero((jh >= rows.min()) & (jh <= rows.max()))[0]  # fine rows/columns that can
    asel = np.nonzero((ah >= cols.min()) & (ah <= cols.max()))[0]  # map into the kept box
    out[np.ix_(jsel, asel)] = keep[np.ix_(jh[jsel], ah[asel])]
    return lay.mask & out


def _window_solve(N, Gamma, gamma, cutoff, full_below, max_refine=8):
    """Recursive windowed solve: (p, window, refinements, edge ratio, factorisation)."""
    lay = DickeLayout(N)
    if N <= full_below:
        window = lay.mask.copy()
    else:
        N_half = max(N // 2, 1)
        p_half = _window_solve(N_half, Gamma, gamma, cutoff, full_below, max_refine)[0]
        window = _predict_window(N, p_half, N_half, cutoff, margin=10.0)
    j0, a0 = _mean_field_peak(N, Gamma, gamma)
    refinements = 0
    while True:
        jj, aa = np.nonzero(window)
        i = np.argmin((jj - j0) ** 2 + (aa - a0) ** 2)
        pin = (jj[i], aa[i])
        window = _component(window, pin)
        p, fact = _solve_window(N, Gamma, gamma, window, pin)
        top = np.unravel_index(np.argmax(p), p.shape)
        if p[pin] < 1e-3 * p[top]:  # re-pin at the maximum: keeps the unnormalised q moderate
            p, fact = _solve_window(N, Gamma, gamma, window, top)
        outside = lay.mask & ~window
        edge = window & _neighbours(outside)
        ratio = float(p[edge].max() / p.max()) if edge.any() else 0.0
        if ratio <= cutoff or refinements >= max_refine:
            return p, window, refinements, ratio, fact
        grow = edge & (p > cutoff * p.max())
        for _ in range(max(4, int(np.sqrt(N)) // 2)):
            grow = _neighbours(grow)
        window = (window | grow) & lay.mask
        refinements += 1


# --- the public solver ------------------------------------------------------------------------


_CACHE: dict = {}  # the last factorisation, reused by the adjoint solve


def _host_forward(N, cutoff, full_below, rtol):
    def f(Gamma, gamma):
        G, g = float(Gamma), float(gamma)
        p, window, nref, ratio, fact = _window_solve(N, G, g, cutoff, full_below)
        if ratio > cutoff:
            warnings.warn(
                f"rate equations N={N}: window edge carries p/max p = {ratio:.3g} > cutoff {cutoff:g} "
                f"after {nref} refinements", RuntimeWarning, stacklevel=2)
        _CACHE.clear()
        _CACHE[(N, G, g, cutoff, full_below)] = (window, fact)
        aux = np.array([window.sum(), nref, ratio], dtype=np.float64)
        return p, window, aux

    return f


def _host_adjoint(N, cutoff, full_below):
    def f(Gamma, gamma, p, window, pbar):
        G, g = float(Gamma), float(gamma)
        p, window, pbar = np.asarray(p), np.asarray(window), np.asarray(pbar)
        hit = _CACHE.get((N, G, g, cutoff, full_below))
        if hit is not None and np.array_equal(hit[0], window):
            lu, keep = hit[1]
        else:
            pin = np.unravel_index(np.argmax(p), p.shape)
            _, (lu, keep) = _solve_window(N, G, g, window, pin)
        jj, aa = np.nonzero(window)
        b = pbar[jj, aa] - np.sum(pbar * p)  # p̄ − (p̄·p) 1: the normalisation's cotangent
        mu = np.zeros(jj.size)  # the pinned equation is absent: its multiplier is 0
        mu[keep] = lu.solve(b[keep], trans="T")
        out = np.zeros(p.shape)
        out[jj, aa] = mu
        return out

    return f


def _call_forward(Gamma, gamma, N, cutoff, full_below, rtol):
    lay = DickeLayout(N)
    shapes = (
        jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.float64),
        jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.bool_),
        jax.ShapeDtypeStruct((3,), jnp.float64),
    )
    return host_call(_host_forward(N, cutoff, full_below, rtol), shapes, Gamma, gamma)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _populations(Gamma, gamma, N, cutoff, full_below, rtol):
    p, _, aux = _call_forward(Gamma, gamma, N, cutoff, full_below, rtol)
    return p, aux


def _populations_fwd(Gamma, gamma, N, cutoff, full_below, rtol):
    p, window, aux = _call_forward(Gamma, gamma, N, cutoff, full_below, rtol)
    return (p, aux), (Gamma, gamma, p, window)


def _populations_bwd(N, cutoff, full_below, rtol, res, cot):
    Gamma, gamma, p, window = res
    pbar = cot[0]
    lay = DickeLayout(N)
    shape = jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.float64)
    mu = host_call(_host_adjoint(N, cutoff, full_below), shape, Gamma, gamma, p, window, pbar)
    # θ̄ = −μᵀ ∂_θ(W p)  (implicit function theorem; W is linear in Γ and γ)
    _, vjp = jax.vjp(lambda G, g: rate_matvec(p, N, G, g), Gamma, gamma)
    dG, dg = vjp(mu)
    return -dG, -dg


_populations.defvjp(_populations_fwd, _populations_bwd)


class RateSteadyState(eqx.Module):
    """Populations p[j, a] of the h = 0 steady state on ``DickeLayout(N)``'s padded grid, with
    diagnostics (all leaves arrays: a pytree that jit/vmap carry).

    Attributes:
        populations: p[j, a] = p_{J,M}, a = M + N/2, shape (n_J, N+1); Σ p = 1, zero padding.
        residual: ‖W p‖₂ / (max C1 ‖p‖₂) against the full, untruncated rate matrix (Eq. 30).
        iterations: window refinements after the first solve (0 when the prediction sufficed).
        converged: residual ≤ rtol and window edge ≤ cutoff.
        truncation: largest p on the window's edge divided by max p.
        window_states: number of states solved for (Σ_J (2J+1) when the whole grid is used).
    """

    populations: jax.Array
    residual: jax.Array
    iterations: jax.Array
    converged: jax.Array
    truncation: jax.Array
    window_states: jax.Array
    N: int = eqx.field(static=True)

    def diagnostics_dict(self) -> dict:
        keys = ("residual", "iterations", "converged", "truncation", "window_states")
        return {k: np.asarray(getattr(self, k)).tolist() for k in keys}


def steady_populations(
    N, model: LMG, *, cutoff: float = 1e-18, full_below: int = 800, rtol: float = DEFAULT_RTOL,
    memory_check: bool = True,
) -> RateSteadyState:
    """The h = 0 steady state p_{J,M} of the rate equations (Eqs. 30–31), with diagnostics.

    Args:
        N: number of qubits (≥ 1).
        model: ``LMG`` with scalar leaves; h must be 0 (checked when concrete; a traced h is
            treated as 0 — the populations are even in h, so their h-derivative at 0 vanishes).
        cutoff: states with p < cutoff × max p may be left out of the solve (module docstring);
            the window edge is checked against it. ``cutoff=0`` solves the whole grid.
        full_below: N up to which the whole grid is solved.
        rtol: tolerance on the relative residual. Above it (or with the window edge above
            ``cutoff``) ``converged`` is False and, for concrete results, a ``RuntimeWarning``
            states the residual.
        memory_check: refuse (``permjax.resources.InsufficientMemoryError``) when the
            estimated memory exceeds what is available; ``False`` tries anyway.

    Returns:
        ``RateSteadyState``; differentiable in Γ and γ (implicit differentiation), jit- and
        vmap-compatible (``N`` and the keywords static).
    """
    N = validate_N(N)
    if not (0.0 <= cutoff < 1e-6):
        raise ValueError(f"cutoff must lie in [0, 1e-6), got {cutoff!r}")
    if _is_concrete(model.h) and np.any(np.asarray(model.h) != 0):
        raise ValueError("steady_populations is the h = 0 steady state (rate equations, Eq. 30); got h != 0")
    if jnp.ndim(model.Gamma) or jnp.ndim(model.gamma):
        raise ValueError("steady_populations takes a single model; use jax.vmap for a batch")
    full_below = N if cutoff == 0 else validate.integer("full_below", full_below, 1)
    check_memory(N, "rates", enabled=memory_check)
    Gamma = jnp.asarray(model.Gamma, jnp.float64)
    gamma = jnp.asarray(model.gamma, jnp.float64)
    p, aux = _populations(Gamma, gamma, N, float(cutoff), full_below, float(rtol))
    aux = jax.lax.stop_gradient(aux)
    res = jax.lax.stop_gradient(_relative_residual(p, N, Gamma, gamma))
    converged = (res <= rtol) & (aux[2] <= max(cutoff, 0.0))
    out = RateSteadyState(p, res, aux[1].astype(jnp.int32), converged, aux[2], aux[0].astype(jnp.int64), N)
    if _is_concrete(res) and not bool(converged):
        warnings.warn(
            f"rate equations N={N}: relative residual {float(res):.3g} (rtol {rtol:g}), "
            f"window edge p/max p {float(aux[2]):.3g}", RuntimeWarning, stacklevel=2)
    return out


def mi_rates(N, model: LMG, **kwargs):
    """I_M/N of the h = 0 steady state from the rate equations (Eq. 32 via ``state.py``).

    S(ρ_T) = Σ p(−ln p + ln dim_J) and ⟨m⟩ = (0, 0, (2/N) Σ p M) are evaluated by
    ``permjax.dicke.state.mutual_information`` on the diagonal ``DickeState`` — the one
    implementation of Eq. 32. ``kwargs`` go to ``steady_populations``. Differentiable in Γ, γ.
    """
    from .state import DickeState, mutual_information

    sol = steady_populations(N, model, **kwargs)
    return mutual_information(DickeState(sol.populations, None, sol.N)) / sol.N
