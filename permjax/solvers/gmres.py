"""Fast steady-state method: GMRES on the augmented Liouvillian, preconditioned by the exact
inverse of its q-conserving part (``precondition.py``). Registered as ``steady_state(method="gmres")``.

The system is A ρ = w with A ρ = L ρ + w Tr ρ (``solve.py``; trace fixed through Tr(Lρ) = 0).
Right preconditioning, A P⁻¹ y = w, ρ = P⁻¹ y with P = A₀ = L₀ + w Tr, L₀ the ΔM = ΔM′ terms:
for a q-conserving model (LMG at h = 0) one GMRES step is exact; q-changing terms (a transverse
field −ih[Ĵ_x, ·], Ĵ_x², mixed jumps, cross local jumps) couple sectors q ↔ q±1, q±2 and cost a
few tens of iterations (LMG at 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1: ≈ 25–40 for N = 10…160),
against thousands for CG on the normal equation. The reverse-mode (transposed) solve of
``custom_linear_solve`` gets the factorisation of A₀ᵀ, built by the same code.

GMRES(m): restarted every ``restart`` iterations, Arnoldi with modified Gram–Schmidt (work ∝ the
basis in use), Givens rotations for the small least-squares problem (its
residual is the stopping test inside a cycle), the true residual ‖b − A x‖/‖b‖ recomputed at
every restart and reported.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..dicke.liouvillian import dicke_liouvillian
from .qconserving import conserving_preconditioner
from .steady import KrylovResult, trace_weight

#: smallest Krylov basis between restarts (memory: restart+1 packed states, ``DickeLayout.pack``)
DEFAULT_RESTART = 20
#: stagnation: GMRES stops when the true residual has not halved over this many restarts (a model
#: whose q-changing part dominates the preconditioned part can stall for tens of thousands of
#: iterations at a residual ≈ 1; ``Auto`` then retries with a doubled basis, then the sparse LU, solve.py)
STALL_RESTARTS = 10
#: largest basis, and the memory the default basis may take (at least DEFAULT_RESTART vectors): models
#: whose q-changing part dominates (a boundary time crystal's drive) stagnate under short restarts
MAX_RESTART = 100
KRYLOV_BYTES = 2**30


def krylov_restart(layout) -> int:
    """Basis size for ``layout``: as large as ``KRYLOV_BYTES`` allows, within [DEFAULT_RESTART, MAX_RESTART]."""
    return int(max(DEFAULT_RESTART, min(MAX_RESTART, KRYLOV_BYTES // krylov_vector_bytes(layout) - 1)))


def krylov_vector_bytes(layout) -> int:
    """Bytes of one basis vector: the packed state, Σ_J (2J+1)² complex128 (a third of the grid)."""
    return 16 * layout.n_unknowns


def _dot(a, b):
    return jnp.vdot(a, b)


def gmres(matvec, psolve, b, x0, *, tol, maxiter, restart=DEFAULT_RESTART):
    """Right-preconditioned restarted GMRES for matvec(x) = b; returns ``KrylovResult``.

    Stops when the true residual ‖b − A x‖ ≤ tol ‖b‖ at a restart, after ``maxiter`` iterations
    in total, or when the residual has not halved over ``STALL_RESTARTS`` restarts (stagnation).
    ``psolve`` approximates A⁻¹.
    """
    m = int(restart)
    bnorm = jnp.sqrt(jnp.real(_dot(b, b)))
    bsafe = jnp.where(bnorm > 0, bnorm, 1.0)

    def cycle(x, k):
        r = b - matvec(x)
        beta = jnp.sqrt(jnp.real(_dot(r, r)))
        V = jnp.zeros((m + 1,) + b.shape, b.dtype).at[0].set(r / jnp.where(beta > 0, beta, 1.0))
        R = jnp.zeros((m + 1, m), b.dtype)  # H reduced to upper-triangular form by Givens rotations
        cs = jnp.zeros(m, b.dtype)
        sn = jnp.zeros(m, b.dtype)
        g = jnp.zeros(m + 1, b.dtype).at[0].set(beta)  # rotated β e₁; |g[i]| is the residual

        def cond(c):
            i, *_, g = c
            return (i < m) & (k + i < maxiter) & (jnp.abs(g[i]) > tol * bsafe)

        def body(c):
            i, V, R, cs, sn, g = c
            w = matvec(psolve(V[i]))

            def mgs(t, c):  # modified Gram–Schmidt against V[0..i] (memory traffic ∝ i)
                w, h = c
                ht = _dot(V[t], w)
                return w - ht * V[t], h.at[t].set(ht)

            w, h = jax.lax.fori_loop(0, i + 1, mgs, (w, jnp.zeros(m + 1, b.dtype)))
            hn = jnp.sqrt(jnp.real(_dot(w, w)))
            V = V.at[i + 1].set(w / jnp.where(hn > 0, hn, 1.0))
            h = h.at[i + 1].set(hn)

            def rotate(t, h):  # apply the earlier rotations t < i
                a, bb = h[t], h[t + 1]
                return jnp.where(t < i, h.at[t].set(jnp.conj(cs[t]) * a + jnp.conj(sn[t]) * bb)
                                 .at[t + 1].set(-sn[t] * a + cs[t] * bb), h)

            h = jax.lax.fori_loop(0, m, rotate, h)
            a, bb = h[i], h[i + 1]
            nrm = jnp.sqrt(jnp.abs(a) ** 2 + jnp.abs(bb) ** 2)
            safe = jnp.where(nrm > 0, nrm, 1.0)
            c_i, s_i = jnp.where(nrm > 0, a / safe, 1.0), jnp.where(nrm > 0, bb / safe, 0.0)
            h = h.at[i].set(nrm).at[i + 1].set(0.0)
            g = g.at[i + 1].set(-s_i * g[i]).at[i].set(jnp.conj(c_i) * g[i])
            return i + 1, V, R.at[:, i].set(h), cs.at[i].set(c_i), sn.at[i].set(s_i), g

        i, V, R, cs, sn, g = jax.lax.while_loop(cond, body, (jnp.asarray(0), V, R, cs, sn, g))
        # back substitution on the leading i × i triangle (unused columns: identity)
        used = jnp.arange(m) < i
        T = jnp.where(used[:, None] & used[None, :], R[:m], 0.0) + jnp.diag(jnp.where(used, 0.0, 1.0))
        y = jax.scipy.linalg.solve_triangular(T, jnp.where(used, g[:m], 0.0), lower=False)
        dx = psolve(jnp.einsum("k,k...->...", y, V[:m]))
        return x + dx, k + i

    def outer_cond(c):
        x, k, res, ref, since = c
        return (k < maxiter) & (res > tol) & (since < STALL_RESTARTS)

    def outer_body(c):
        x, k, _, ref, since = c
        x, k = cycle(x, k)
        r = b - matvec(x)
        res = jnp.sqrt(jnp.real(_dot(r, r))) / bsafe
        halved = res <= 0.5 * ref
        return x, k, res, jnp.where(halved, res, ref), jnp.where(halved, 0, since + 1)

    r0 = b - matvec(x0)
    res0 = jnp.sqrt(jnp.real(_dot(r0, r0))) / bsafe
    x, k, res, _, _ = jax.lax.while_loop(outer_cond, outer_body, (x0, jnp.asarray(0), res0, res0, jnp.asarray(0)))
    return KrylovResult(x, k, res)


def gmres_conserving(matvec, b, x0, *, tol, maxiter, context, restart=None, precision="double") -> KrylovResult:
    """``steady_state(method=GMRES())``: GMRES preconditioned by the exact inverse of the
    q-conserving part (``restart``: the basis size, default ``krylov_restart(layout)``;
    ``precision``: storage of the preconditioner's factors, ``conserving_preconditioner``)."""
    layout = context.layout
    L = context.liouvillian if context.liouvillian is not None else dicke_liouvillian(context.model, layout)
    with jax.ensure_compile_time_eval():  # w is static: keep it a concrete array
        w = trace_weight(layout)
    P = conserving_preconditioner(L, layout, w, transposed=context.transposed, precision=precision)
    pack, unpack = layout.pack, layout.unpack  # the basis holds the valid entries only
    res = gmres(lambda v: pack(matvec(unpack(v))), lambda v: pack(P(unpack(v))), pack(b), pack(x0), tol=tol,
                maxiter=maxiter, restart=krylov_restart(layout) if restart is None else restart)
    return KrylovResult(unpack(res.x), res.iterations, res.residual)
