"""The steady state of a q-conserving qubit model from its rate equations (docs/theory.md §4, §6; Eqs. 30–31).

When the Liouvillian conserves q = M − M′ (``structure.is_q_conserving``: H diagonal in J_z, no
jump mixing ΔM = +1, −1, 0 — LMG at h = 0 is the paper's case), the q = 0 sector, the diagonal
ρ_{J,M,M} = p_{J,M}, evolves on its own, and the (unique) steady state is diagonal with
0 = W p. H drops out of W, and so do collective jumps in {1, J_z} and the σ_z–identity cross
terms of local jumps; what is left is fixed by five rates (``population_rates``):

    Γ₊ = Σ rate |c₊|²,  Γ₋ = Σ rate |c₋|²     collective (Γ/N) D[c₊J₊ + …], (Γ/N) D[c₋J₋ + …]
    γ₊ = Σ rate |l₊|²,  γ₋ = Σ rate |l₋|²,  γ_z = Σ rate |l_z|²   local, L = l₀ + l₊σ₊ + l₋σ₋ + l_zσ_z

with A = a₀1 + a₊σ₊ + a₋σ₋ + a_zσ_z (``models.qubit.components``; A_tot = … + a₊J₊ + a₋J₋ + 2a_zJ_z).

Transition rates out of (J, M) (``transition_rates``):

    collective  (J, M) → (J, M+1):  (Γ₊/N)(J−M)(J+M+1)      (J, M) → (J, M−1):  (Γ₋/N)(J+M)(J−M+1)
    local       (J, M) → (J+k, M+q):  γ_q w_q f_k(J) ⟨J, M; 1, q | J+k, M+q⟩²,   k, q ∈ {+1, 0, −1}

with q = +1, −1, 0 for σ₊, σ₋, σ_z (γ₀ ≡ γ_z), w_± = 1, w_0 = 2 (σ_z = 2 s_z against σ_± = s_±),
and f_k the reduced weights of a single-site rank-1 operator between the J-multiplets of N
spins: f_{+1} = N/2 − J, f_0 = N/2 + 1, f_{−1} = N/2 + J + 1 (Wigner–Eckart; the J → J, M → M
dephasing term returns to its own state and drops out). The squared Clebsch–Gordan
coefficients for spin 1:

    k = +1:  q=+1 (J+M+1)(J+M+2)/((2J+1)(2J+2)),  q=0 (J−M+1)(J+M+1)/((2J+1)(J+1)),  q=−1 (J−M+1)(J−M+2)/((2J+1)(2J+2))
    k =  0:  q=+1 (J−M)(J+M+1)/(2J(J+1)),          q=0 M²/(J(J+1)),                  q=−1 (J+M)(J−M+1)/(2J(J+1))
    k = −1:  q=+1 (J−M)(J−M−1)/(2J(2J+1)),         q=0 (J−M)(J+M)/(J(2J+1)),          q=−1 (J+M)(J+M−1)/(2J(2J+1))

For LMG (Γ₋ = Γ, γ₊ = γ) these are Eq. 31's C2…C5, and the outflow Σ_k f_k CG² = N/2 − M is
C1's local part; the totals out of (J, M) are N/2 − M (σ₊), N/2 + M (σ₋), N (σ_z, self term
included), as Σ_i ⟨L_i†L_i⟩ requires. W is a generator: each column sums to zero. A transition
whose target lies outside |M′| ≤ J′, J_min ≤ J′ ≤ N/2 is absent (masked, never evaluated where
a denominator vanishes).

Solver. W is a 2-D (J, M) nearest-neighbour stencil, so a sparse LU with a fill-reducing
ordering solves it directly (measured for LMG: N = 1600, 6.4·10⁵ unknowns, in ≈ 5 s). Only the
recurrent states carry weight: the solve runs on the closed communicating class of the
transition graph (a single absorbing state for pure pumping); more than one closed class on
the whole grid means the steady state is not unique (e.g. no local jumps: every J conserved),
a ``ValueError``. (That check sees the populations only: stationary coherences with q ≠ 0,
which a q-conserving Liouvillian could in principle also have, are the full solver's to detect.)
For large N the populations are exponentially concentrated, p ∝ exp(−N f(J/N,
M/N)) (a large-deviation form): at N = 10⁴ only ~10⁶ of the 2.5·10⁷ states carry p > 10⁻²⁰ of
the maximum. The solve is therefore done on a window S of states — the level set
p ≥ ``cutoff`` × max p predicted from the solution at N/2 (the rate function f does not depend
on N, so ln p at N ≈ 2 ln p at N/2), recursively down to ``full_below`` where the whole grid
is used. The window's generator keeps only transitions inside S (a generator again);
afterwards every state of S next to a state outside it must have p ≤ cutoff × max p,
otherwise S is widened there and the solve repeated. The pinned state of the solve is taken
near the mean-field peak (``_mean_field_peak``, Eq. 17 generalised). The returned ``residual``
is that of the zero-extended p against the full, untruncated W (matrix-free, in JAX), so
truncation cannot hide.

Derivatives: implicit differentiation of W p = 0, Σ p = 1 (``jax.custom_vjp``) w.r.t. the five
rates, hence w.r.t. every rate leaf of the model; the adjoint solve reuses the same window and
sparse LU. The derivatives w.r.t. Hamiltonian coefficients are zero: at a q-conserving point a
perturbation of H (or of a jump) that changes q moves the populations only at second order (its
first-order response lies in q ≠ 0), and the q-conserving part of H drops out of W. The host
solve runs through ``permjax.host.host_call`` (jit- and vmap-compatible; on a GPU it runs on
the host CPU).

Entropies of the result: wrap ``populations`` in ``permjax.dicke.state.DickeState`` (the
diagonal representation); ``total_entropy``/``mutual_information`` there implement Eq. 32,
S(ρ_T) = Σ p (−ln p + ln dim_J), and ⟨m⟩ = (0, 0, (2/N) Σ p M). ``mi_rates`` below does exactly
that — the formula lives in one place, state.py.
"""

from __future__ import annotations

import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from typing import ClassVar

from .. import validate
from ..dicke.layout import DickeLayout
from ..dicke.state import DickeState, Diagnostics, mutual_information
from ..dicke.structure import Q_ATOL, conserves_q_by_term, is_q_conserving, violations_by_part
from ..host import host_call
from ..models.families import validate_N
from ..models.pimodel import as_model, is_concrete
from ..models.qubit import collective_components, components
from ..resources import SAFETY, MemoryEstimate, check_memory
from .base import Solver

#: float64 (n_J, N+1) grids alive at once (populations, window, index map and labels on the host,
#: the residual's coefficients in JAX); sparse-LU bytes per state solved for; window states per
#: unit N beyond ``RATES_FULL_BELOW`` (measured: 6·10⁵ at N = 10⁴), below which the whole grid is solved
RATES_GRIDS = 6
RATES_LU_BYTES_PER_STATE = 1600
RATES_WINDOW_PER_N = 60
RATES_FULL_BELOW = 800

#: relative residual ‖W p‖₂ / (max outflow · ‖p‖₂) above which the result is flagged (and warned)
DEFAULT_RTOL = 1e-10

#: the five population rates, in the order of ``population_rates``
RATE_NAMES = ("collective_raise", "collective_lower", "pump", "emission", "dephasing")


# --- the model's population rates -------------------------------------------------------------

#: what the rate equations serve, for messages
SCOPE = "qubit models whose Liouvillian conserves q = M − M′ and that have local jumps"


def supports(model) -> bool:
    """Whether ``steady_populations`` serves the model (every model of a batch): d = 2, the
    Liouvillian conserves q (``structure.is_q_conserving``) and there are local jumps (without
    them every J is conserved: no unique steady state). A model inside this scope may still have
    several stationary population distributions (e.g. local dephasing alone conserves M):
    ``steady_populations`` then raises ``NonUniqueSteadyState``."""
    model = as_model(model)
    return model.d == 2 and model.has_local and is_q_conserving(model)



def population_rates(model):
    """(Γ₊, Γ₋, γ₊, γ₋, γ_z) of a q-conserving qubit model (module docstring), a float64 array of
    shape (5,), differentiable in the model's rate leaves. Not checked for q-conservation here
    (``steady_populations`` does that)."""
    model = as_model(model)
    out = [jnp.zeros(model.shape)] * 5
    for t in model.collective:
        _, cp, cm, _ = np.abs(collective_components(t.A)) ** 2
        out[0] = out[0] + t.rate * cp
        out[1] = out[1] + t.rate * cm
    for t in model.local:
        _, lp, lm, lz = np.abs(components(t.L)) ** 2
        out[2] = out[2] + t.rate * lp
        out[3] = out[3] + t.rate * lm
        out[4] = out[4] + t.rate * lz
    return jnp.stack([jnp.asarray(x, jnp.float64) for x in out], axis=-1)


def rate_vector(*rates):
    """The five rates as an array: from one array of shape (5,), or from the pair (Γ, γ) of LMG at
    h = 0 (collective decay Γ, local pumping γ: Γ₋ = Γ, γ₊ = γ)."""
    if len(rates) == 1:
        return rates[0]
    if len(rates) == 2:
        Gamma, gamma = rates
        if all(isinstance(x, (int, float, np.ndarray, np.generic)) for x in rates):
            return np.array([0.0, Gamma, gamma, 0.0, 0.0], dtype=np.float64)
        Gamma, gamma = jnp.broadcast_arrays(jnp.asarray(Gamma, jnp.float64), jnp.asarray(gamma, jnp.float64))
        zero = jnp.zeros_like(Gamma)
        return jnp.stack([zero, Gamma, gamma, zero, zero], axis=-1)
    raise ValueError(f"expected the five population rates or (Gamma, gamma), got {len(rates)} values")


# --- transition rates, one implementation for numpy and jax.numpy -----------------------------

#: moves (ΔJ, ΔM) of the population dynamics (the (0, 0) dephasing self-term drops out)
MOVES = ((0, 1), (0, -1), (1, 1), (1, 0), (1, -1), (-1, 1), (-1, 0), (-1, -1))


def transition_rates(xp, N: int, J, M, rates) -> dict:
    """Rates out of the states (J, M) for each move (ΔJ, ΔM) in ``MOVES`` (module docstring).

    ``xp`` is ``numpy`` or ``jax.numpy``; ``J``, ``M`` broadcastable arrays; ``rates`` the five
    population rates. Zero where the source (|M| ≤ J) or the target (J_min ≤ J+ΔJ ≤ N/2,
    |M+ΔM| ≤ J+ΔJ) does not exist; denominators are guarded, never evaluated at J = 0.
    """
    Gp, Gm, gp, gm, gz = (rates[..., i] for i in range(5))
    tol = 1e-9
    J_min = (N % 2) / 2.0
    valid = xp.abs(M) <= J + tol
    pos = J > tol
    Jg = xp.where(pos, J, 1.0)  # guarded J for 1/J
    f = {1: N / 2 - J, 0: N / 2 + 1.0, -1: N / 2 + J + 1}
    cg2 = {
        (1, 1): (J + M + 1) * (J + M + 2) / ((2 * J + 1) * (2 * J + 2)),
        (1, 0): (J - M + 1) * (J + M + 1) / ((2 * J + 1) * (J + 1)),
        (1, -1): (J - M + 1) * (J - M + 2) / ((2 * J + 1) * (2 * J + 2)),
        (0, 1): (J - M) * (J + M + 1) / (2 * Jg * (Jg + 1)),
        (0, -1): (J + M) * (J - M + 1) / (2 * Jg * (Jg + 1)),
        (-1, 1): (J - M) * (J - M - 1) / (2 * Jg * (2 * Jg + 1)),
        (-1, 0): (J - M) * (J + M) / (Jg * (2 * Jg + 1)),
        (-1, -1): (J + M) * (J + M - 1) / (2 * Jg * (2 * Jg + 1)),
    }
    local = {1: gp, -1: gm, 0: 2.0 * gz}  # γ_q w_q
    out = {}
    for dj, da in MOVES:
        Jt, Mt = J + dj, M + da
        ok = valid & (Jt >= J_min - tol) & (Jt <= N / 2 + tol) & (xp.abs(Mt) <= Jt + tol)
        if dj != 1:
            ok = ok & pos  # k = 0, −1 carry 1/J (and vanish at J = 0)
        r = local[da] * f[dj] * cg2[(dj, da)]
        if dj == 0:
            r = r + (Gp * (J - M) * (J + M + 1) if da == 1 else Gm * (J + M) * (J - M + 1)) / N
        out[(dj, da)] = xp.where(ok, r, 0.0)
    return out


def _shift(x, dj: int, da: int):
    """y[j, a] = x[j + dj, a + da], zero where that index is off the grid."""
    nj, na = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(max(-dj, 0), max(dj, 0)), (max(-da, 0), max(da, 0))]
    xp_ = jnp.pad(x, pad)
    j0, a0 = max(dj, 0), max(da, 0)
    return xp_[..., j0 : j0 + nj, a0 : a0 + na]


def _grid(N: int):
    lay = DickeLayout(N)
    J = lay.J_min + jax.lax.broadcasted_iota(jnp.float64, (lay.n_J, lay.n_M), 0)
    M = jax.lax.broadcasted_iota(jnp.float64, (lay.n_J, lay.n_M), 1) - N / 2.0
    return J, M


def rate_matvec(p, N: int, *rates):
    """(W p)[j, a] on the padded (n_J, N+1) grid, matrix-free and differentiable; ``rates`` as
    in ``rate_vector`` (the five rates, or LMG's (Γ, γ)).

    Coefficients are built from iotas inside the computation (XLA fuses them), so memory is
    a few grid-sized arrays even at N = 10⁴. Padding entries of the result are zero.
    """
    J, M = _grid(N)
    T = transition_rates(jnp, N, J, M, jnp.asarray(rate_vector(*rates), jnp.float64))
    out = -sum(T.values()) * p
    for (dj, da), t in T.items():
        out = out + _shift(t * p, -dj, -da)  # inflow at (J+ΔJ, M+ΔM)
    return jnp.where(jnp.abs(M) <= J + 1e-9, out, 0.0)


def outflow_bound(N: int, rates):
    """An upper bound of the total rate out of any state: scales the residual."""
    Gp, Gm, gp, gm, gz = (rates[..., i] for i in range(5))
    return (Gp + Gm) * (N / 2 + 1) / 2 + (gp + gm + 2 * gz) * N


@functools.partial(jax.jit, static_argnums=1)
def _relative_residual(p, N, rates):
    """‖W p‖₂ / (max outflow · ‖p‖₂): dimensionless, scaled by the fastest rate."""
    r = rate_matvec(p, N, rates)
    return jnp.linalg.norm(r) / (outflow_bound(N, rates) * jnp.linalg.norm(p))


# --- host-side sparse solve on a window -----------------------------------------------------


def _generator(N: int, *args):
    """Sparse W restricted to the states of ``window`` (bool (n_J, N+1)), as CSC, plus the
    flat index map; ``args`` = (*rates, window), rates as in ``rate_vector``. Off-window
    transitions are dropped from off-diagonal and diagonal alike, so columns still sum to zero."""
    import scipy.sparse as sp

    *rates, window = args
    rates = np.asarray(rate_vector(*rates), dtype=np.float64)
    lay = DickeLayout(N)
    jj, aa = np.nonzero(window)
    idx = np.full(window.shape, -1, dtype=np.int64)
    idx[jj, aa] = np.arange(jj.size)
    T = transition_rates(np, N, lay.J[jj], lay.M[aa], rates)
    rows, cols, vals = [], [], []
    for (dj, da), t in T.items():
        jt, at = jj + dj, aa + da
        ok = (t != 0) & (jt >= 0) & (jt < lay.n_J) & (at >= 0) & (at < lay.n_M)
        tgt = np.full(jj.shape, -1)
        tgt[ok] = idx[jt[ok], at[ok]]
        ok &= tgt >= 0
        rows.append(tgt[ok])
        cols.append(np.nonzero(ok)[0])
        vals.append(t[ok])
    rows, cols, vals = map(np.concatenate, (rows, cols, vals))
    n = jj.size
    out = np.bincount(cols, weights=vals, minlength=n)  # total in-window outflow of each column
    W = sp.csc_matrix((np.concatenate([vals, -out]), (np.concatenate([rows, np.arange(n)]), np.concatenate([cols, np.arange(n)]))), shape=(n, n))
    return W, idx, (jj, aa)


def _closed_classes(W):
    """Labels of the strongly connected components of the transition graph (edge s → t where
    W[t, s] > 0) and the labels of the closed ones (no transition leaves them)."""
    from scipy.sparse.csgraph import connected_components

    G = W.T.tocsr().copy()
    G.setdiag(0)
    G.eliminate_zeros()
    n, labels = connected_components(G, directed=True, connection="strong")
    src, tgt = G.nonzero()
    leaving = np.zeros(n, dtype=bool)
    leaving[labels[src[labels[src] != labels[tgt]]]] = True
    return labels, np.nonzero(~leaving)[0]


class NonUniqueSteadyState(ValueError):
    """The rate equations have more than one stationary distribution."""


def _solve_window(N, rates, window, pin, full_grid: bool = False):
    """Populations on ``window`` (zero elsewhere), normalised, and the factorisation.

    Only the closed class of the transition graph carries weight; the solve runs there (with
    ``full_grid`` several closed classes raise ``NonUniqueSteadyState``; on a truncated window
    the largest is taken). The state of that class nearest ``pin`` is fixed to q_pin = 1: its
    balance equation and its column leave the system, whose matrix −W_{C∖pin} is then a
    nonsingular M-matrix with a nonnegative right-hand side; LU with diagonal pivots keeps the
    solution positive (no cancellation reaches the exponentially small tails). Then p = q / Σ q.
    """
    import scipy.sparse.linalg as spla

    W, idx, (jj, aa) = _generator(N, rates, window)
    labels, closed = _closed_classes(W)
    if closed.size > 1:
        if full_grid:
            raise NonUniqueSteadyState(
                f"the population dynamics of this model has {closed.size} closed classes at N={N}: its steady "
                "state is not unique (e.g. without local jumps every J is conserved, without σ± jumps every M "
                "is); add the jumps that connect them or use the symmetric-block solvers")
        sizes = np.bincount(labels)[closed]
        closed = closed[[np.argmax(sizes)]]
    cls = labels == closed[0]
    d2 = (jj - pin[0]) ** 2 + (aa - pin[1]) ** 2
    k = int(np.argmin(np.where(cls, d2, np.iinfo(np.int64).max)))
    keep = cls.copy()
    keep[k] = False
    Wc = W[keep]
    A = Wc[:, keep].tocsc()
    b = -Wc[:, [k]].toarray().ravel()
    q = np.zeros(W.shape[0])
    q[k] = 1.0
    lu = None
    if A.shape[0]:
        lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)
        q[keep] = lu.solve(b)
    p = np.zeros(window.shape)
    p[jj, aa] = q / q.sum()
    return p, (lu, keep)


def _mean_field_peak(N, rates):
    """(j, a) nearest the mean-field fixed point of a q-conserving model (Eq. 17 generalised).

    Mean field (docs/theory.md §6) for the five rates, with u = m_x² + m_y²:
        dm_z/dt = (Γ₊ − Γ₋) u/2 + γ₊(1 − m_z) − γ₋(1 + m_z),
        du/dt   = u [(Γ₋ − Γ₊) m_z − γ₊ − γ₋ − 4γ_z].
    The u > 0 fixed point m_z = (γ₊ + γ₋ + 4γ_z)/(Γ₋ − Γ₊), u = 2(γ₊(1 − m_z) − γ₋(1 + m_z))/(Γ₋ − Γ₊)
    is the stable one where it exists (u > 0), else u = 0 and m_z = (γ₊ − γ₋)/(γ₊ + γ₋) (the sign
    of Γ₊ − Γ₋ without σ± jumps). LMG: m_z = γ/Γ, u = 2γ(Γ−γ)/Γ² for Γ > γ, else m = (0, 0, 1).
    J ≈ N|m|/2, M ≈ N m_z/2. Only a starting point: the solve pins the nearest recurrent state.
    """
    Gp, Gm, gp, gm, gz = (float(x) for x in rates)
    lay = DickeLayout(N)
    loc = gp + gm
    mz = (gp - gm) / loc if loc > 0 else float(np.sign(Gp - Gm))
    mabs = abs(mz)
    dG = Gm - Gp
    if dG != 0:
        mz1 = (loc + 4 * gz) / dG
        u1 = 2 * (gp * (1 - mz1) - gm * (1 + mz1)) / dG
        if u1 > 0 and abs(mz1) <= 1:
            mz, mabs = mz1, min(1.0, np.sqrt(mz1**2 + u1))
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


def _window_solve(N, rates, cutoff, full_below, max_refine=8):
    """Recursive windowed solve: (p, window, refinements, edge ratio, factorisation)."""
    lay = DickeLayout(N)
    full = N <= full_below
    if full:
        window = lay.mask.copy()
    else:
        N_half = max(N // 2, 1)
        p_half = _window_solve(N_half, rates, cutoff, full_below, max_refine)[0]
        window = _predict_window(N, p_half, N_half, cutoff, margin=10.0)
    j0, a0 = _mean_field_peak(N, rates)
    refinements = 0
    while True:
        jj, aa = np.nonzero(window)
        i = np.argmin((jj - j0) ** 2 + (aa - a0) ** 2)
        pin = (jj[i], aa[i])
        if not full:
            window = _component(window, pin)
        p, fact = _solve_window(N, rates, window, pin, full_grid=full)
        top = np.unravel_index(np.argmax(np.where(np.isfinite(p), p, np.inf)), p.shape)
        if not p[pin] >= 1e-3 * p[top]:  # re-pin at the maximum: keeps the unnormalised q moderate
            p, fact = _solve_window(N, rates, window, top, full_grid=full)
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


def _host_forward(N, cutoff, full_below):
    def f(rates):
        rates = np.asarray(rates, dtype=np.float64)
        p, window, nref, ratio, fact = _window_solve(N, rates, cutoff, full_below)
        if ratio > cutoff:
            warnings.warn(
                f"rate equations N={N}: window edge carries p/max p = {ratio:.3g} > cutoff {cutoff:g} "
                f"after {nref} refinements", RuntimeWarning, stacklevel=2)
        _CACHE.clear()
        _CACHE[(N, tuple(rates), cutoff, full_below)] = (window, fact)
        aux = np.array([window.sum(), nref, ratio], dtype=np.float64)
        return p, window, aux

    return f


def _host_adjoint(N, cutoff, full_below):
    def f(rates, p, window, pbar):
        rates = np.asarray(rates, dtype=np.float64)
        p, window, pbar = np.asarray(p), np.asarray(window), np.asarray(pbar)
        hit = _CACHE.get((N, tuple(rates), cutoff, full_below))
        if hit is not None and np.array_equal(hit[0], window):
            lu, keep = hit[1]
        else:
            pin = np.unravel_index(np.argmax(p), p.shape)
            _, (lu, keep) = _solve_window(N, rates, window, pin)
        jj, aa = np.nonzero(window)
        b = pbar[jj, aa] - np.sum(pbar * p)  # p̄ − (p̄·p) 1: the normalisation's cotangent
        mu = np.zeros(jj.size)  # the pinned equation and the transient states: multiplier 0
        if lu is not None:
            mu[keep] = lu.solve(b[keep], trans="T")
        out = np.zeros(p.shape)
        out[jj, aa] = mu
        return out

    return f


def _call_forward(rates, N, cutoff, full_below):
    lay = DickeLayout(N)
    shapes = (
        jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.float64),
        jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.bool_),
        jax.ShapeDtypeStruct((3,), jnp.float64),
    )
    return host_call(_host_forward(N, cutoff, full_below), shapes, rates)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _populations(rates, N, cutoff, full_below):
    p, _, aux = _call_forward(rates, N, cutoff, full_below)
    return p, aux


def _populations_fwd(rates, N, cutoff, full_below):
    p, window, aux = _call_forward(rates, N, cutoff, full_below)
    return (p, aux), (rates, p, window)


def _populations_bwd(N, cutoff, full_below, res, cot):
    rates, p, window = res
    pbar = cot[0]
    lay = DickeLayout(N)
    shape = jax.ShapeDtypeStruct((lay.n_J, lay.n_M), jnp.float64)
    mu = host_call(_host_adjoint(N, cutoff, full_below), shape, rates, p, window, pbar)
    # θ̄ = −μᵀ ∂_θ(W p)  (implicit function theorem; W is linear in the rates)
    _, vjp = jax.vjp(lambda r: rate_matvec(p, N, r), rates)
    return (-vjp(mu)[0],)


_populations.defvjp(_populations_fwd, _populations_bwd)


class RateSteadyState(eqx.Module):
    """Populations p[j, a] of a q-conserving model's steady state on ``DickeLayout(N)``'s padded
    grid, with diagnostics (all leaves arrays: a pytree that jit/vmap carry).

    Attributes:
        populations: p[j, a] = p_{J,M}, a = M + N/2, shape (n_J, N+1); Σ p = 1, zero padding.
        residual: ‖W p‖₂ / (max outflow ‖p‖₂) against the full, untruncated rate matrix.
        iterations: window refinements after the first solve (0 when the prediction sufficed).
        converged: residual ≤ rtol and window edge ≤ cutoff.
        truncation: largest p on the window's edge divided by max p.
        window_states: number of states solved for (Σ_J (2J+1) when the whole grid is used).
        rates: the five population rates (Γ₊, Γ₋, γ₊, γ₋, γ_z) the populations solve for.
    """

    populations: jax.Array
    residual: jax.Array
    iterations: jax.Array
    converged: jax.Array
    truncation: jax.Array
    window_states: jax.Array
    rates: jax.Array
    N: int = eqx.field(static=True)

    def diagnostics_dict(self) -> dict:
        keys = ("residual", "iterations", "converged", "truncation", "window_states")
        return {k: np.asarray(getattr(self, k)).tolist() for k in keys}


def _check_model(model):
    """The rate equations' precondition: a single qubit model conserving q — decided on the values
    where they are concrete; jumps with traced rates must conserve q term by term; a Hamiltonian
    with traced coefficients is taken to conserve q (module docstring: its derivatives vanish)."""
    if model.d != 2:
        raise ValueError(f"the rate equations are for qubit models (d = 2), got d = {model.d}")
    if model.shape != ():
        raise ValueError("steady_populations takes a single model; use jax.vmap for a batch")
    for (terms, v), part in zip(violations_by_part(model), ("Hamiltonian", "collective jumps", "local jumps")):
        if v is not None and v > Q_ATOL:
            raise ValueError(
                "the rate equations need a model whose Liouvillian conserves q = M − M′ (for LMG: h = 0): "
                f"its {part} mix q (relative size {v:.3g}); use steady_state")
        if v is None and part != "Hamiltonian" and not conserves_q_by_term(terms):
            raise ValueError(f"the rate equations need {part} that each change M by one definite amount "
                             "(J±, J_z, σ±, σ_z): with traced rates a cancellation between terms cannot be checked")


def steady_populations(
    N, model, *, cutoff: float = 1e-18, full_below: int = 800, rtol: float = DEFAULT_RTOL,
    memory_check: bool = True,
) -> RateSteadyState:
    """The diagonal steady state p_{J,M} of a q-conserving qubit model from its rate equations
    (module docstring; for LMG at h = 0, Eqs. 30–31), with diagnostics.

    Args:
        N: number of qubits (≥ 1).
        model: a ``PIModel`` (d = 2) or a family point, scalar leaves, whose Liouvillian
            conserves q (``structure.is_q_conserving``; checked when concrete, ``ValueError``
            otherwise). With traced coefficients only the jumps can be checked (term by term);
            a traced H is taken to conserve q (its derivatives are zero there, module docstring).
        cutoff: states with p < cutoff × max p may be left out of the solve (module docstring);
            the window edge is checked against it. ``cutoff=0`` solves the whole grid.
        full_below: N up to which the whole grid is solved.
        rtol: tolerance on the relative residual. Above it (or with the window edge above
            ``cutoff``) ``converged`` is False and, for concrete results, a ``RuntimeWarning``
            states the residual.
        memory_check: refuse (``permjax.resources.InsufficientMemoryError``) when the
            estimated memory exceeds what is available; ``False`` tries anyway.

    Returns:
        ``RateSteadyState``; differentiable in every rate leaf of the model (implicit
        differentiation), jit- and vmap-compatible (``N`` and the keywords static). A steady
        state that is not unique (several closed classes of the population dynamics) raises
        ``NonUniqueSteadyState`` (a ``ValueError``).
    """
    N = validate_N(N)
    if not (0.0 <= cutoff < 1e-6):
        raise ValueError(f"cutoff must lie in [0, 1e-6), got {cutoff!r}")
    model = as_model(model)
    _check_model(model)
    full_below = N if cutoff == 0 else validate.integer("full_below", full_below, 1)
    check_memory(N, Rates().memory, enabled=memory_check, what=f"steady_populations(N={N})")
    rates = population_rates(model)
    p, aux = _populations(rates, N, float(cutoff), full_below)
    aux = jax.lax.stop_gradient(aux)
    res = jax.lax.stop_gradient(_relative_residual(p, N, rates))
    converged = (res <= rtol) & (aux[2] <= max(cutoff, 0.0))
    out = RateSteadyState(p, res, aux[1].astype(jnp.int32), converged, aux[2], aux[0].astype(jnp.int64),
                          jax.lax.stop_gradient(rates), N)
    if is_concrete(res) and not bool(converged):
        warnings.warn(
            f"rate equations N={N}: relative residual {float(res):.3g} (rtol {rtol:g}), "
            f"window edge p/max p {float(aux[2]):.3g}", RuntimeWarning, stacklevel=2)
    return out


def _window_states(N: int) -> int:
    full = lambda n: (n // 2 + 1) * (n // 2 + 1 + n % 2)  # Σ_J (2J+1)  # noqa: E731
    if N <= RATES_FULL_BELOW:
        return full(N)
    return max(full(RATES_FULL_BELOW), RATES_WINDOW_PER_N * N)


class Rates(Solver):
    """The population (rate) equations of a q-conserving model (module docstring): a diagonal
    state, solved on the host by a sparse LU on the window of states that matter (N = 10⁴ in
    seconds), with implicit derivatives. It solves W p = 0 for the populations, not A ρ = w, so
    ``steady_state`` returns a diagonal ``DickeState``; its diagnostics' residual is ‖W p‖/(max
    outflow ‖p‖) and its iterations the window refinements."""

    name: ClassVar[str] = "rates"
    diagonal: ClassVar[bool] = True

    def steady_state(self, N: int, model, on_failure: str, memory_check: bool = True) -> DickeState:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # reported by the caller, with on_failure's policy
            sol = steady_populations(N, model, rtol=max(self.tol, 1e-14), memory_check=memory_check)
        p = sol.populations
        mask = jnp.asarray(DickeLayout(N).mask)
        diag = Diagnostics(sol.residual, sol.iterations, sol.converged, jnp.sum(p), jnp.zeros_like(sol.residual),
                           jnp.min(jnp.where(mask, p, jnp.inf)), jnp.where(sol.converged, 0, 1))
        return DickeState(p, diag, N)

    def memory(self, N, batch=1, block="all"):
        lay = DickeLayout(N)
        parts = {"rate grids": RATES_GRIDS * 8 * lay.n_J * lay.n_M,
                 "sparse LU": RATES_LU_BYTES_PER_STATE * _window_states(N)}
        return MemoryEstimate(0, int(SAFETY * batch * sum(parts.values())), parts)  # host: scipy's LU, numpy grids

    def supports(self, N, model, block="all"):
        return block == "all" and model is not None and supports(model)


def mi_rates(N, model, **kwargs):
    """I_M/N of a q-conserving model's steady state from the rate equations (Eq. 32 via ``state.py``).

    S(ρ_T) = Σ p(−ln p + ln dim_J) and ⟨m⟩ = (0, 0, (2/N) Σ p M) are evaluated by
    ``permjax.dicke.state.mutual_information`` on the diagonal ``DickeState`` — the one
    implementation of Eq. 32. ``kwargs`` go to ``steady_populations``. Differentiable in the rates.
    """
    sol = steady_populations(N, model, **kwargs)
    return mutual_information(DickeState(sol.populations, None, sol.N)) / sol.N
