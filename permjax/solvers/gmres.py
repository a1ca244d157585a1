"""Restarted GMRES, right-preconditioned; with the exact inverse of the q-conserving part of L
(``QConserving``, ``qconserving.py``) it is the default method from N ≈ 50.

Right preconditioning: A P⁻¹ y = b, x = P⁻¹ y. With P = A₀ = L₀ + w Tr, L₀ the ΔM = ΔM′ terms,
one GMRES step is exact for a q-conserving model (LMG at h = 0); q-changing terms (a transverse
field −ih[Ĵ_x, ·], Ĵ_x², mixed jumps, cross local jumps) couple sectors q ↔ q±1, q±2 and cost a
few tens of iterations (LMG at 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1: ≈ 25–40 for N = 10…160),
against thousands for CG on the normal equation.

GMRES(m): restarted every ``restart`` iterations, Arnoldi with modified Gram–Schmidt (work ∝ the
basis in use), Givens rotations for the small least-squares problem (its residual is the
stopping test inside a cycle), the true residual ‖b − A x‖/‖b‖ recomputed at every restart and
reported. The basis holds packed states: the valid entries (|M|, |M′| ≤ J) only, a third of the
padded grid (``DickeLayout.pack``).

Memory (``GMRES.memory``): the Krylov basis, ``restart + 1`` packed states (Σ_J (2J+1)²
complex128 each); about ten work grids (x, x0, b, w, r, the mask, the update, the
preconditioner's Hermitian parts and outputs) and the stencil's 9 probes and 5 coefficient grids
while the preconditioner is built; the preconditioner's factors (its ``memory``); and the compiled
executable, whose folded constants grow with N (208, 468, 831 MB measured at N = 40, 80, 120).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..resources import MB, SAFETY, MemoryEstimate
from .base import Preconditioner, SolveResult, Solver, Status, norm, small_block_memory
from .cgls import grid_bytes
from .qconserving import QConserving

#: smallest Krylov basis between restarts (memory: restart+1 packed states, ``DickeLayout.pack``)
DEFAULT_RESTART = 20
#: stagnation: GMRES stops when the true residual has not halved over this many restarts (a model
#: whose q-changing part dominates the preconditioned part can stall for tens of thousands of
#: iterations at a residual ≈ 1; ``Auto`` then retries with a doubled basis, then other methods)
STALL_RESTARTS = 10
#: largest basis, and the memory the default basis may take (at least DEFAULT_RESTART vectors): models
#: whose q-changing part dominates (a boundary time crystal's drive) stagnate under short restarts
MAX_RESTART = 100
KRYLOV_BYTES = 2**30
#: work grids besides the basis, and the stencil's probes and coefficients while the preconditioner is built
GMRES_WORK_GRIDS = 10
STENCIL_GRIDS = 14


def krylov_restart(layout) -> int:
    """Basis size for ``layout``: as large as ``KRYLOV_BYTES`` allows, within [DEFAULT_RESTART, MAX_RESTART]."""
    return int(max(DEFAULT_RESTART, min(MAX_RESTART, KRYLOV_BYTES // krylov_vector_bytes(layout) - 1)))


def krylov_vector_bytes(layout) -> int:
    """Bytes of one basis vector: the packed state, Σ_J (2J+1)² complex128 (a third of the grid)."""
    return 16 * layout.n_unknowns


def compiled_bytes(N: int) -> int:
    """Compiling a GMRES solve (fit: 208, 468, 831 MB at N = 40, 80, 120); also the bound taken
    for the J-block method's jitted wrapper (measured peaks 0.15–0.19 GB above the process at
    N = 40, 0.52–0.83 GB at N = 80, arrays included)."""
    return int((51 + 2.64 * N + 0.0322 * N**2) * MB)


def gmres(matvec, psolve, b, x0, *, tol, maxiter, restart=DEFAULT_RESTART) -> SolveResult:
    """Right-preconditioned restarted GMRES for matvec(x) = b (``psolve`` approximates A⁻¹).

    Stops when the true residual ‖b − A x‖ ≤ tol ‖b‖ at a restart (``Status.SUCCESSFUL``), after
    ``maxiter`` iterations in total (``MAX_STEPS``), or when the residual has not halved over
    ``STALL_RESTARTS`` restarts (``STAGNATED``).
    """
    m = int(restart)
    bnorm = norm(b)
    bsafe = jnp.where(bnorm > 0, bnorm, 1.0)

    def cycle(x, k):
        r = b - matvec(x)
        beta = norm(r)
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
                ht = jnp.vdot(V[t], w)
                return w - ht * V[t], h.at[t].set(ht)

            w, h = jax.lax.fori_loop(0, i + 1, mgs, (w, jnp.zeros(m + 1, b.dtype)))
            hn = norm(w)
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
        res = norm(b - matvec(x)) / bsafe
        halved = res <= 0.5 * ref
        return x, k, res, jnp.where(halved, res, ref), jnp.where(halved, 0, since + 1)

    res0 = norm(b - matvec(x0)) / bsafe
    x, k, res, _, since = jax.lax.while_loop(outer_cond, outer_body,
                                             (x0, jnp.asarray(0), res0, res0, jnp.asarray(0)))
    st = jnp.where(res <= tol, Status.SUCCESSFUL, jnp.where(since >= STALL_RESTARTS, Status.STAGNATED,
                                                            Status.MAX_STEPS))
    return SolveResult(x, st, k, res)


class GMRES(Solver):
    """Restarted GMRES on the packed valid entries, right-preconditioned.

    Attributes:
        restart: Krylov basis between restarts (``None``: as large as 1 GiB of packed states allows, 20–100).
        preconditioner: ``QConserving()`` (default: the exact inverse of the q-conserving part of
            A; ``QConserving(precision="single")`` halves its memory) or ``Identity()``.
        axis: quantization axis of the Dicke basis the solve runs in (``dicke.frame``; the state
            returned is always in the lab frame): ``"auto"`` (``axis.choose_axis``: the axis
            whose q-changing part is smallest, e.g. x for a strongly driven time crystal; z
            when the coefficients are traced), ``"z"``, or ``(θ, φ)``.
    """

    restart: int | None = eqx.field(default=None, static=True)
    preconditioner: Preconditioner = eqx.field(default=QConserving(), static=True)
    axis: str | tuple = eqx.field(default="auto", static=True)
    name: ClassVar[str] = "gmres"

    def __check_init__(self):
        ok = self.axis in ("auto", "z") or (isinstance(self.axis, tuple) and len(self.axis) == 2
                                             and all(isinstance(x, (int, float)) and np.isfinite(x) for x in self.axis))
        if not ok:
            raise ValueError(f"GMRES axis must be 'auto', 'z' or a tuple (theta, phi), got {self.axis!r}")
        if not isinstance(self.preconditioner, Preconditioner):
            raise ValueError(f"GMRES preconditioner must be a Preconditioner (QConserving(), Identity()), "
                             f"got {self.preconditioner!r}")
        if self.restart is not None and (isinstance(self.restart, bool) or not isinstance(self.restart, int)
                                         or self.restart < 1):
            raise ValueError(f"GMRES restart must be an integer >= 1 or None, got {self.restart!r}")

    def frame_axis(self, model):
        """The axis (θ, φ) this solve uses for ``model``, or ``None`` for z."""
        if self.axis == "z":
            return None
        if self.axis == "auto":
            from .axis import choose_axis

            return choose_axis(model)
        return None if tuple(map(float, self.axis)) == (0.0, 0.0) else tuple(map(float, self.axis))

    def basis(self, layout) -> int:
        return krylov_restart(layout) if self.restart is None else self.restart

    def init(self, operator):
        return self.preconditioner.init(operator)

    def transpose(self, state, operator):
        return self.preconditioner.transpose(state, operator)

    def compute(self, state, operator, b, x0, maxiter):
        layout = operator.layout
        pack, unpack = layout.pack, layout.unpack  # the basis holds the valid entries only
        res = gmres(lambda v: pack(operator.mv(unpack(v))), lambda v: pack(state(unpack(v))), pack(b), pack(x0),
                    tol=self.tol, maxiter=maxiter, restart=self.basis(layout))
        return res._replace(x=unpack(res.x))

    def memory(self, N, batch=1, block="all"):
        from ..dicke.layout import DickeLayout

        if block == "symmetric":
            return small_block_memory(N, batch)
        layout = DickeLayout(N)
        G = grid_bytes(N)
        parts = {"Krylov basis": (self.basis(layout) + 1) * krylov_vector_bytes(layout),
                 "work grids": (GMRES_WORK_GRIDS + STENCIL_GRIDS) * G,
                 **self.preconditioner.memory(N, block)}
        compiled = compiled_bytes(N)
        return MemoryEstimate(int(SAFETY * batch * sum(parts.values())), int(SAFETY * compiled),
                              {**parts, "compiled": compiled})
