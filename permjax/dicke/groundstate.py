"""Ground state of the ferromagnetic LMG Hamiltonian and its I_M/N (docs/theory.md §5, Appendix B, Fig. 2).

For 𝒥 < 0 the ground state |g⟩ of H = (𝒥/N)(J_x² + J_y²) + h J_x lies in the J = N/2 block,
where, with J_x² + J_y² = J(J+1) - J_z²,

    H_J = (𝒥/N)(J(J+1) - M²) δ_{M,M'} + (h/2) √((J-M)(J+M+1)) (δ_{M',M+1} + δ_{M,M'+1})

is real, symmetric and tridiagonal in M. |g⟩ is pure, so S(ρ_T) = 0 and (Eq. 33)

    I_M/N = b(|m|),   m_α = 2⟨g|J_α|g⟩/N    (m_y = 0: H_J is real).

The lowest eigenpair costs O(N) per step: the eigenvalue by Sturm-count multisection, refined by Rayleigh-quotient steps, the eigenvector
as the null vector of a *twisted* factorisation of H_J - E (the MRRR construction: an LDLᵀ
sweep from the top and one from the bottom meeting at the index where the vector is largest).
The same factorisation gives the derivative (first-order perturbation theory, implicit in h
and 𝒥): dE = vᵀ dH v and dv = -(H - E)⁺ (dH - dE) v, so ``jax.grad``/``jax.jvp`` work, in O(N),
wherever the ground level is non-degenerate.

Degeneracy: for h ≠ 0 the tridiagonal matrix is irreducible, so its spectrum is simple. At h = 0
it is diagonal, E(M) = (𝒥/N)(J(J+1) - M²): for even N the ground state is the Dicke state M = 0
(unique; I_M/N = b(0) = ln 2 exactly), for odd N the level M = ±1/2 is two-fold degenerate.
There ``ground_state`` returns the state selected by an infinitesimal field, h → 0⁺:
(|M=1/2⟩ - |M=-1/2⟩)/√2, with m = (-(N+1)/(2N), 0, 0). That makes I_M/N continuous in h at
h = 0 (|m| is even in h); it is not differentiable there (a kink in |h|).

𝒥 ≥ 0 (antiferromagnetic or free): the ground state of the full 2^N space is then in general
not in the J = N/2 block, so the construction above does not apply; ``ValueError``.

Any collective Hamiltonian (``ground_state(N, model)``). A qubit model's H = Σ c A_tot +
Σ (c/N) A_tot B_tot is a polynomial of degree ≤ 2 in J_±, J_z, so on the J = N/2 block it is
banded in M with bandwidth ≤ 2 (pentadiagonal), H = Σ_k c_k H_k with static bands H_k. Its
lowest eigenpair in that block: the O(N) tridiagonal path above when H is real and tridiagonal
(LMG, checked on the concrete values), else a dense Hermitian ``eigh`` of the (N+1)×(N+1) block
(fine to N ~ 2000). Derivatives w.r.t. every coefficient c_k by first-order perturbation theory
(dE = v†dH v, dv = −(H − E)⁺ dH v from the block's spectrum: Hellmann–Feynman for E), valid where
the ground level is simple. A degenerate level (gap below ``DEGENERACY_RTOL`` × scale) makes
m — and I_M/N — depend on the state chosen in it: ``DegenerateGroundState`` (a ``ValueError``)
unless ``on_degenerate="warn"``. This is the ground state *within the symmetric block*, the pure
state Appendix B needs; whether it is also the ground state of the whole 2^N space depends on
the model (for ferromagnetic couplings it is).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import linalg
from ..entropy import binary_entropy, bloch_norm
from .structure import hamiltonian_bands
from ..models.families import validate_N
from ..models.pimodel import is_concrete as _is_concrete
from ..models.pimodel import PIModel, as_model

RAYLEIGH_STEPS = 2  # Rayleigh-quotient refinements of the multisection eigenvalue
DEGENERACY_RTOL = 1e-10  # ground level degenerate when E₁ − E₀ ≤ DEGENERACY_RTOL × (max |H_ij| + 1e-300)
RESIDUAL_RTOL = 1e-10  # converged when |(H - E) v| <= RESIDUAL_RTOL * (max|diag| + 2 max|offdiag|)


class GroundState(eqx.Module):
    """Ground state of H_J (J = N/2) and what Appendix B needs from it.

    Attributes:
        energy: ground energy E₀ of H.
        amplitudes: ⟨M|g⟩ on the index a = M + N/2 ∈ {0, …, N} (as ``DickeLayout``), unit norm,
            phase fixed by a real positive largest-magnitude component; real for the LMG path,
            complex for ``ground_state(N, model)``.
        m: Bloch vector (m_x, m_y, m_z) = 2⟨g|J_α|g⟩/N (Eq. 33).
        mi: I_M/N = b(|m|).
        gap: E₁ - E₀ within the block (0 at a degeneracy; derivatives scale like 1/gap).
        residual: |(H - E₀) v|, independent of how v was found.
        iterations: Rayleigh-quotient steps taken after multisection (13 passes); 0 for the
            dense path of ``ground_state(N, model)``.
        converged: residual ≤ 1e-10 × the matrix scale.
    """

    energy: jax.Array
    amplitudes: jax.Array
    m: jax.Array
    mi: jax.Array
    gap: jax.Array
    residual: jax.Array
    iterations: int = eqx.field(static=True)
    converged: jax.Array

    def diagnostics_dict(self) -> dict:
        return {
            "residual": float(self.residual),
            "iterations": int(self.iterations),
            "converged": bool(self.converged),
            "gap": float(self.gap),
        }


# --- the J = N/2 block -----------------------------------------------------------------------


def padded_size(N: int) -> int:
    """Array length used for N: the next power of two ≥ N + 1 (at least 16), so that one
    compilation serves every N of a bucket."""
    return max(16, 1 << N.bit_length())


def hamiltonian_block(N, J, h, n: int):
    """(diag, offdiag) of H_J - 𝒥J(J+1)/N in the J = N/2 block, padded to length n.

    Entries i ≤ N (M = i - N/2): diag -𝒥M²/N, offdiag h⟨M+1|J_x|M⟩ = (h/2)√((J-M)(J+M+1)).
    The constant 𝒥J(J+1)/N is left out (added back to the energy). Padding rows i > N are
    decoupled (offdiag 0) with a diagonal above the Gershgorin bound of the real block, so
    they never enter the two lowest eigenpairs. N may be traced.
    """
    i = jnp.arange(n, dtype=jnp.float64)
    S = N / 2.0
    M = i - S
    real = i <= N
    jx = jnp.where(i < N, 0.5 * jnp.sqrt(jnp.maximum((S - M) * (S + M + 1.0), 0.0)), 0.0)[:-1]
    diag = jnp.where(real, -(J / N) * M**2, 0.0)
    off = h * jx
    top = jnp.max(jnp.abs(diag)) + 2.0 * jnp.max(jnp.abs(off)) + 1.0
    return jnp.where(real, diag, top), off, M, jx


# --- lowest eigenpair of a symmetric tridiagonal matrix --------------------------------------


def _safe_div(a, b):
    return jnp.where(b != 0, a / jnp.where(b != 0, b, 1.0), 0.0)


def _twisted_factor(a, b):
    """Twisted factorisation A = N_k Δ N_kᵀ of a symmetric tridiagonal A (diag a, offdiag b).

    Top-down pivots d⁺ (LDLᵀ) and bottom-up pivots d⁻ (UDUᵀ); the twist pivots
    γ_i = d⁺_i + d⁻_i - a_i; k = argmin |γ_i|. Returns (l, u, dp, dm, gamma_k, k), with
    multipliers l_i = b_i/d⁺_i (used for i < k) and u_i = b_{i-1}/d⁻_i (used for i > k).
    """
    b_lo = jnp.concatenate([jnp.zeros(1, a.dtype), b])  # b_{i-1}
    b_hi = jnp.concatenate([b, jnp.zeros(1, a.dtype)])  # b_i

    def down(prev, x):
        ai, bi2 = x
        d = ai - _safe_div(bi2, prev)
        return d, d

    _, dp = jax.lax.scan(down, jnp.inf, (a, b_lo**2))
    _, dm = jax.lax.scan(down, jnp.inf, (a, b_hi**2), reverse=True)
    gam = dp + dm - a
    k = jnp.argmin(jnp.where(jnp.isfinite(gam), jnp.abs(gam), jnp.inf))
    l = _safe_div(b_hi, dp)
    u = _safe_div(b_lo, dm)
    return l, u, dp, dm, gam[k], k


def _back_substitute(fac, w, x_k):
    """Solve N_kᵀ x = w with x_k given: x_i = w_i - l_i x_{i+1} (i < k), x_i = w_i - u_i x_{i-1} (i > k)."""
    l, u, _, _, _, k = fac
    idx = jnp.arange(w.shape[0])

    def step(carry, x):
        i, wi, mult, side = x  # side: +1 walks i > k upward, -1 walks i < k downward
        xi = jnp.where(i == k, x_k, jnp.where(side * (i - k) > 0, wi - mult * carry, 0.0))
        return xi, xi

    _, lo = jax.lax.scan(step, 0.0, (idx, w, l, -jnp.ones_like(w)), reverse=True)
    _, hi = jax.lax.scan(step, 0.0, (idx, w, u, jnp.ones_like(w)))
    return jnp.where(idx < k, lo, jnp.where(idx > k, hi, x_k))


def _forward_substitute(fac, r):
    """Solve N_k y = r off the twist: y_i = r_i - l_{i-1} y_{i-1} (i < k), y_i = r_i - u_{i+1} y_{i+1} (i > k)."""
    l, u, _, _, _, k = fac
    idx = jnp.arange(r.shape[0])
    l_prev = jnp.concatenate([jnp.zeros(1, r.dtype), l[:-1]])
    u_next = jnp.concatenate([u[1:], jnp.zeros(1, r.dtype)])

    def step(carry, x):
        i, ri, mult, side = x
        yi = jnp.where(side * (k - i) > 0, ri - mult * carry, 0.0)
        return yi, yi

    _, top = jax.lax.scan(step, 0.0, (idx, r, l_prev, jnp.ones_like(r)))
    _, bot = jax.lax.scan(step, 0.0, (idx, r, u_next, -jnp.ones_like(r)), reverse=True)
    return jnp.where(idx < k, top, bot)  # y_k is not needed: it meets the zero twist pivot


MULTISECTION_POINTS = 31  # Sturm counts per eigenvalue and pass: the interval shrinks 32-fold
MULTISECTION_PASSES = 13  # 32^13 = 2^65: width below eps × scale


def _sturm_count(a, b, x):
    """Number of eigenvalues below each x (shape (k,)): negative pivots of LDLᵀ = A - x (Sylvester)."""
    b2 = jnp.concatenate([jnp.zeros(1, a.dtype), b**2])
    pivmin = jnp.finfo(a.dtype).tiny * jnp.maximum(1.0, jnp.max(b2))

    def step(q, ab):
        ai, bi2 = ab
        q = ai - x - bi2 / q
        q = jnp.where(jnp.abs(q) < pivmin, -pivmin, q)
        return q, q < 0

    _, neg = jax.lax.scan(step, jnp.full_like(x, jnp.inf), (a, b2), unroll=8)
    return jnp.sum(neg, axis=0)


def _lowest_two_eigenvalues(a, b):
    """E₀ ≤ E₁ of a symmetric tridiagonal matrix by Sturm-count multisection, O(n) per pass.

    Each pass counts eigenvalues below 31 equispaced points of each bracket in one vectorised
    sweep, shrinking the bracket 32-fold (bisection with 5 bits per pass).
    (Written out rather than taken from ``jax.scipy.linalg.eigh_tridiagonal``, which returns
    wrong eigenvalues for some matrices with a zero first off-diagonal, e.g. h = 0 here.)
    """
    rows = jnp.abs(jnp.concatenate([b, jnp.zeros(1, a.dtype)])) + jnp.abs(jnp.concatenate([jnp.zeros(1, a.dtype), b]))
    lo0, hi0 = jnp.min(a - rows), jnp.max(a + rows)
    target = jnp.array([0, 1])[:, None]
    frac = jnp.arange(1, MULTISECTION_POINTS + 1) / (MULTISECTION_POINTS + 1.0)

    def shrink(_, lohi):
        lo, hi = lohi
        x = lo[:, None] + (hi - lo)[:, None] * frac
        below = _sturm_count(a, b, x.ravel()).reshape(x.shape) <= target  # x ≤ E_target
        return jnp.max(jnp.where(below, x, lo[:, None]), axis=1), jnp.min(jnp.where(below, hi[:, None], x), axis=1)

    lo, hi = jax.lax.fori_loop(0, MULTISECTION_PASSES, shrink, (jnp.full(2, lo0), jnp.full(2, hi0)))
    return 0.5 * (lo + hi)


def _null_vector(a, b, E):
    """Unit null vector of A - E through the twisted factorisation, and γ_k (A - E)z = γ_k e_k."""
    fac = _twisted_factor(a - E, b)
    z = _back_substitute(fac, jnp.zeros_like(a), 1.0)
    nz = jnp.linalg.norm(z)
    return z / nz, fac[4] / nz**2


def _tridiag_matvec(a, b, x):
    return a * x + jnp.concatenate([b * x[1:], jnp.zeros(1, x.dtype)]) + jnp.concatenate([jnp.zeros(1, x.dtype), b * x[:-1]])


@jax.custom_jvp
def lowest_eigenpair(a, b):
    """(E₀, v, E₁) of the symmetric tridiagonal matrix with diagonal a and off-diagonal b.

    E₀, E₁ from Sturm-count multisection, E₀ refined by ``RAYLEIGH_STEPS``
    Rayleigh-quotient steps E ← E + γ_k/|z|² (z the twisted null vector with z_k = 1, so
    zᵀ(A - E)z = γ_k), v from the twisted factorisation. O(n). Differentiable in (a, b) where
    E₀ is simple: dE₀ = vᵀ dA v, dv = -(A - E₀)⁺ (dA - dE₀) v (E₁ is returned without tangent).
    """
    w = _lowest_two_eigenvalues(a, b)
    E = w[0]
    for _ in range(RAYLEIGH_STEPS):
        v, dE = _null_vector(a, b, E)
        E = E + dE
    v, _ = _null_vector(a, b, E)
    v = v * jnp.sign(v[jnp.argmax(jnp.abs(v))])
    return E, v, w[1]


@lowest_eigenpair.defjvp
def _lowest_eigenpair_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    E, v, E1 = lowest_eigenpair(a, b)
    dE = jnp.sum(da * v**2) + 2.0 * jnp.sum(db * v[:-1] * v[1:])
    r = _tridiag_matvec(da, db, v) - dE * v
    r = r - jnp.dot(v, r) * v
    fac = _twisted_factor(a - E, b)
    y = _forward_substitute(fac, r)
    _, _, dp, dm, _, k = fac
    idx = jnp.arange(a.shape[0])
    piv = jnp.where(idx < k, dp, jnp.where(idx > k, dm, 0.0))  # Δ with γ_k → 0: the pseudo-inverse
    x = _back_substitute(fac, _safe_div(y, piv), 0.0)
    x = x - jnp.dot(v, x) * v
    return (E, v, E1), (dE, -x, jnp.zeros_like(E1))


# --- ground state ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=0)
def _ground_state(n: int, N, J, h):
    """Padded core: N, J, h traced, n = padded_size(N) static."""
    idx = jnp.arange(n)
    degenerate = (N % 2 == 1) & (h == 0)
    h_safe = jnp.where(degenerate, 1.0, h)  # keeps the unused branch (and its gradient) finite
    a, b, _, _ = hamiltonian_block(N, J, h_safe, n)
    E, v, E1 = lowest_eigenpair(a, b)
    # h → 0⁺ limit of the degenerate M = ±1/2 pair (odd N): (|1/2⟩ - |-1/2⟩)/√2
    c = N // 2
    v_lim = jnp.where(idx == c, -(0.5**0.5), jnp.where(idx == c + 1, 0.5**0.5, 0.0))
    v = jnp.where(degenerate, v_lim, v)
    a, b, M, jx = hamiltonian_block(N, J, h, n)
    real = idx <= N
    E = jnp.where(degenerate, jnp.min(jnp.where(real, a, jnp.inf)), E)  # h = 0: H_J is diagonal
    gap = jnp.where(degenerate, 0.0, E1 - E)
    residual = jnp.linalg.norm(_tridiag_matvec(a, b, v) - E * v)
    scale = jnp.max(jnp.abs(jnp.where(real, a, 0.0))) + 2.0 * jnp.max(jnp.abs(b))
    mx = (2.0 / N) * 2.0 * jnp.sum(jx * v[:-1] * v[1:])
    mz = (2.0 / N) * jnp.sum(jnp.where(real, M, 0.0) * v**2)
    m = jnp.stack([mx, jnp.zeros_like(mx), mz])
    S = N / 2.0
    return dict(
        energy=E + (J / N) * S * (S + 1.0),
        amplitudes=v,
        m=m,
        mi=binary_entropy(bloch_norm(m)),
        gap=jax.lax.stop_gradient(gap),
        residual=jax.lax.stop_gradient(residual),
        converged=residual <= RESIDUAL_RTOL * jnp.maximum(scale, 1e-300),
    )


def _validate_coupling(J, h) -> None:
    for name, x in (("J", J), ("h", h)):
        if _is_concrete(x):
            arr = np.asarray(x, dtype=np.float64)
            if arr.ndim != 0:
                raise ValueError(f"{name} must be a scalar (use jax.vmap for batches), got shape {arr.shape}")
            if not np.isfinite(arr):
                raise ValueError(f"{name} must be finite, got {x!r}")
    if _is_concrete(J) and not float(J) < 0:
        raise ValueError(
            f"the ground state is computed for ferromagnetic coupling J < 0 only, got J = {float(J)!r} "
            "(for J >= 0 it does not lie in the J = N/2 block)"
        )


def ground_state(N: int, J=-1.0, h=0.0, *, method: str = "auto", on_degenerate: str = "raise") -> GroundState:
    """Ground state of H = (𝒥/N)(J_x² + J_y²) + h J_x for 𝒥 < 0, in the J = N/2 block (Appendix B);
    ``ground_state(N, model)``: the same for any qubit model's collective H (``ground_state_model``).

    Args:
        N: number of qubits, an integer ≥ 1 (one compilation per power-of-two bucket of N).
        J: exchange coupling 𝒥 < 0 (``ValueError`` otherwise); differentiable. Or a ``PIModel``
            / family point (then ``h`` is not used; ``method`` and ``on_degenerate`` apply).
        h: transverse field; differentiable for h ≠ 0 (and at h = 0 for even N).

    Returns a ``GroundState`` (energy, amplitudes over M, m, I_M/N = b(|m|), diagnostics).
    O(N) time and memory. At h = 0 and odd N (two-fold degenerate level) the h → 0⁺ state is
    returned (module docstring). Works under ``jit``/``vmap``/``grad``; called with concrete
    values, a residual above tolerance raises ``RuntimeError``.
    """
    if isinstance(J, PIModel) or hasattr(J, "to_model"):
        return ground_state_model(N, J, method=method, on_degenerate=on_degenerate)
    N = validate_N(N)
    _validate_coupling(J, h)
    out = _ground_state(padded_size(N), N, jnp.asarray(J, jnp.float64), jnp.asarray(h, jnp.float64))
    out["amplitudes"] = out["amplitudes"][..., : N + 1]
    res = GroundState(**out, iterations=RAYLEIGH_STEPS)
    if _is_concrete(res.residual) and not bool(res.converged):
        raise RuntimeError(
            f"ground state not converged for N={N}, J={J}, h={h}: residual |(H-E)v| = {float(res.residual):.3e}"
        )
    return res


def mi_ground(N: int, J=-1.0, h=0.0, **kwargs):
    """I_M/N = b(|m|) in the ground state of the ferromagnetic LMG model (Eq. 33, Fig. 2), or of
    any qubit model's H in the J = N/2 block (``mi_ground(N, model)``)."""
    return ground_state(N, J, h, **kwargs).mi


# --- any collective Hamiltonian in the J = N/2 block ------------------------------------------


class DegenerateGroundState(ValueError):
    """The ground level within the J = N/2 block is degenerate: m and I_M/N are not defined."""


def _lowest_of(w, V):
    """(E₀, v, E₁) from a full eigendecomposition; v's phase fixed by a real positive
    largest-magnitude component."""
    v = V[:, 0]
    k = jnp.argmax(jnp.abs(v))
    v = v * (jnp.conj(v[k]) / jnp.abs(v[k]))
    return w[0], v, w[1]


@jax.custom_jvp
def lowest_eigenpair_dense(H):
    """(E₀, v, E₁) of a dense Hermitian (or real symmetric) matrix, by LAPACK (``linalg.eigh``:
    numpy's on CPU hosts). JVP by perturbation theory, using only 1/(E_i − E₀), so degeneracies
    above the ground level do no harm: dE₀ = v†dH v, dv = −Σ_{i>0} v_i (v_i†dH v)/(E_i − E₀)."""
    return _lowest_of(*linalg.eigh(H))


@lowest_eigenpair_dense.defjvp
def _lowest_eigenpair_dense_jvp(primals, tangents):
    (H,), (dH,) = primals, tangents
    w, V = linalg.eigh(H)
    E, v, E1 = _lowest_of(w, V)
    dHv = dH @ v
    dE = jnp.real(jnp.vdot(v, dHv))
    gaps = w[1:] - w[0]
    coef = (jnp.conj(V[:, 1:]).T @ dHv) / jnp.where(gaps > 0, gaps, jnp.inf)
    dv = -(V[:, 1:] @ coef)
    return (E, v, E1), (dE, dv, jnp.zeros_like(E1))


def _band_matrix(d):
    """Dense matrix from diagonals d[o + 2][i] = H[i, i + o], o = −2 … 2."""
    n = d.shape[-1]
    out = 0
    for o in range(-2, 3):
        if n > abs(o):
            diag = d[o + 2][: n - o] if o >= 0 else d[o + 2][-o:]
            out = out + jnp.diag(diag, k=o)
    return out


def _observables(N, v):
    """m = 2⟨J_α⟩/N in the J = N/2 block state v (complex amplitudes over a = M + N/2)."""
    S = N / 2.0
    M = jnp.arange(N + 1) - S
    up = jnp.sqrt(jnp.maximum((S - M[:-1]) * (S + M[:-1] + 1.0), 0.0))  # J₊|a⟩ = up[a] |a+1⟩
    jp = jnp.sum(up * jnp.conj(v[1:]) * v[:-1])  # ⟨J₊⟩
    m = (2.0 / N) * jnp.stack([jnp.real(jp), jnp.imag(jp), jnp.sum(M * jnp.abs(v) ** 2)])
    return m


def ground_state_model(N: int, model, *, method: str = "auto", on_degenerate: str = "raise") -> GroundState:
    """Ground state of a qubit model's collective Hamiltonian in the J = N/2 block (module docstring).

    Args:
        N: number of qubits, an integer ≥ 1.
        model: ``PIModel`` (d = 2) or family point with scalar coefficients; only its Hamiltonian
            is used. Differentiable in every Hamiltonian coefficient.
        method: ``"auto"`` (tridiagonal O(N) path when H is concretely real and tridiagonal in M,
            else dense), ``"tridiagonal"`` (``ValueError`` when H is not), or ``"dense"``.
        on_degenerate: ``"raise"`` (``DegenerateGroundState``) or ``"warn"`` (``RuntimeWarning``;
            the state returned is one vector of the degenerate level, ``gap`` 0).

    Returns a ``GroundState`` (energy, complex amplitudes over M, m, I_M/N = b(|m|) (Eq. 33),
    gap E₁ − E₀, residual ‖(H − E₀)v‖). Concrete results with a residual above tolerance raise
    ``RuntimeError``. The degeneracy check (a gap below ``DEGENERACY_RTOL`` × max |H_ij|, e.g.
    the exponentially small splitting of a symmetry-broken pair) runs on concrete results;
    under jit/vmap read ``gap``.
    """
    N = validate_N(N)
    model = as_model(model)
    if model.d != 2:
        raise ValueError(f"ground_state works in the Dicke basis of qubits (d = 2), got d = {model.d}")
    if model.shape != ():
        raise ValueError(f"ground_state takes a single model (scalar coefficients), got shape {model.shape}; use jax.vmap")
    if method not in ("auto", "tridiagonal", "dense"):
        raise ValueError(f"method must be 'auto', 'tridiagonal' or 'dense', got {method!r}")
    if on_degenerate not in ("raise", "warn"):
        raise ValueError(f"on_degenerate must be 'raise' or 'warn', got {on_degenerate!r}")
    if not model.hamiltonian:
        raise ValueError("the model has no Hamiltonian: every state of the block is a ground state")
    bands = hamiltonian_bands(model, N)  # (terms, 5, N+1) complex, static
    c = jnp.stack([jnp.asarray(t.c, jnp.float64) for t in model.hamiltonian])
    if method == "auto":
        method = "tridiagonal" if _is_real_tridiagonal(c, bands) else "dense"
    elif method == "tridiagonal" and not _is_real_tridiagonal(c, bands, traced_ok=True):
        raise ValueError("method='tridiagonal' needs a real Hamiltonian tridiagonal in M (e.g. LMG)")
    if method == "dense" and np.all(bands.imag == 0):
        method = "dense_real"  # every term real: a real symmetric eigenproblem (~4× cheaper)
    out = _ground_state_bands(c, bands, N, method)
    degenerate = out.pop("degenerate")
    res = GroundState(**out, iterations=RAYLEIGH_STEPS if method == "tridiagonal" else 0)
    if _is_concrete(res.residual):
        if not bool(res.converged):
            raise RuntimeError(f"ground state not converged for N={N}: residual |(H-E)v| = {float(res.residual):.3e}")
        if bool(degenerate):
            msg = (f"the ground level of H in the J = N/2 block is degenerate to working precision at N={N} "
                   f"(gap {float(res.gap):.3g} <= {DEGENERACY_RTOL:g} x scale): m and I_M/N depend on the state "
                   "chosen in it; break the symmetry with a small field")
            if on_degenerate == "raise":
                raise DegenerateGroundState(msg)
            import warnings

            warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return res


def _is_real_tridiagonal(c, bands, traced_ok: bool = False) -> bool:
    """Whether Σ c_k H_k is real with no M ± 2 band: on the values when concrete; with traced
    coefficients on each term alone (``traced_ok``) or not at all (False)."""
    if _is_concrete(c):
        d = np.einsum("k,kdi->di", np.asarray(c), bands)
        scale = max(1.0, float(np.max(np.abs(d))))
        return bool(np.max(np.abs(d[[0, 4]])) <= 1e-14 * scale and np.max(np.abs(d.imag)) <= 1e-14 * scale)
    if not traced_ok:
        return False
    return bool(np.all(bands[:, [0, 4]] == 0) and np.all(bands.imag == 0))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _ground_state_bands_jit(c, bands, N, method):
    d = jnp.einsum("k,kdi->di", c.astype(jnp.complex128), bands)
    scale = jnp.max(jnp.abs(d))
    if method == "tridiagonal":
        a, b = jnp.real(d[2]), jnp.real(d[3][:-1])
        E, v, E1 = lowest_eigenpair(a, b)
        v = v.astype(jnp.complex128)
        Hv = _tridiag_matvec(a, b, jnp.real(v)).astype(jnp.complex128)
    else:
        H = _band_matrix(jnp.real(d) if method == "dense_real" else d)
        E, v, E1 = lowest_eigenpair_dense(H)
        v = v.astype(jnp.complex128)
        Hv = _band_matrix(d) @ v
    residual = jnp.linalg.norm(Hv - E * v)
    m = _observables(N, v)
    return dict(
        energy=E,
        amplitudes=v,
        m=m,
        mi=binary_entropy(bloch_norm(m)),
        gap=jax.lax.stop_gradient(E1 - E),
        residual=jax.lax.stop_gradient(residual),
        converged=residual <= RESIDUAL_RTOL * jnp.maximum(3.0 * scale, 1e-300),
        degenerate=jax.lax.stop_gradient(E1 - E <= DEGENERACY_RTOL * scale),
    )


def _ground_state_bands(c, bands, N, method):
    return _ground_state_bands_jit(c, jnp.asarray(bands), N, method)
