"""CGLS: conjugate gradients on the normal equation A†A ρ = A†w (the paper's CG on L†L with the
trace fixed), in its least-squares form, which keeps the residual r = w − Aρ explicitly.

Memory (``CGLS.memory``): states on the padded grid (n_J, N+1, N+1) complex128 — x, r, s, p, q,
b, w, x0, the mask and the stencil Liouvillian's u⊗v temporaries, ``CGLS_GRIDS`` grids in all
(fitted to peaks of 43–66 MB at N = 40 and 93–98 MB at N = 60, fresh processes) — plus the
compiled executable (46, 59 MB measured at N = 40, 60).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp

from ..dicke.layout import DickeLayout
from ..dicke.structure import is_q_conserving
from ..resources import MB, SAFETY, MemoryEstimate
from .base import SolveResult, Solver, norm, small_block_memory, status

#: grid-sized arrays alive at once with the stencil Liouvillian
CGLS_GRIDS = 28
#: from this N ``Auto`` prefers GMRES for one solve (compile included; benchmarks/reach.py)
GMRES_FROM_N = 48


def grid_bytes(N: int, symmetric: bool = False) -> int:
    """Bytes of one state on the padded grid (n_J, N+1, N+1), complex128."""
    lay = DickeLayout(N, symmetric)
    return 16 * lay.n_J * lay.n_M**2


def cgls(matvec, rmatvec, b, x0, *, tol, maxiter) -> SolveResult:
    """CGLS on A†A x = A†b, stopping when ‖b − A x‖ ≤ tol ‖b‖ or after ``maxiter`` iterations.

    One A and one A† product per iteration; a ``lax.while_loop`` (jit/vmap friendly).
    """
    bnorm = norm(b)
    r = b - matvec(x0)
    s = rmatvec(r)
    g = jnp.real(jnp.vdot(s, s))

    def cond(c):
        k, _, r, _, _, _ = c
        return (k < maxiter) & (norm(r) > tol * bnorm)

    def body(c):
        k, x, r, s, p, g = c
        q = matvec(p)
        qq = jnp.real(jnp.vdot(q, q))
        alpha = jnp.where(qq > 0, g / jnp.where(qq > 0, qq, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * q
        s = rmatvec(r)
        g_new = jnp.real(jnp.vdot(s, s))
        p = s + jnp.where(g > 0, g_new / jnp.where(g > 0, g, 1.0), 0.0) * p
        return k + 1, x, r, s, p, g_new

    k, x, r, *_ = jax.lax.while_loop(cond, body, (jnp.asarray(0), x0, r, s, s, g))
    # the recursively updated residual drifts from the true one: report the true one
    res = norm(b - matvec(x)) / jnp.where(bnorm > 0, bnorm, 1.0)
    return SolveResult(x, status(res, tol, k, maxiter), k, res)


class CGLS(Solver):
    """Conjugate gradients on the normal equation A†A ρ = A†w (the paper's method).

    Attributes:
        below_N: ``Auto`` picks it below this N for a model that changes q (there it beats
            GMRES with its compile; above, GMRES).
    """

    below_N: int = GMRES_FROM_N
    name: ClassVar[str] = "cgls"

    def compute(self, state, operator, b, x0, maxiter):
        return cgls(operator.mv, operator.rmv, b, x0, tol=self.tol, maxiter=maxiter)

    def memory(self, N, batch=1, block="all"):
        if block == "symmetric":
            return small_block_memory(N, batch)
        G = grid_bytes(N)
        parts = {"work grids": CGLS_GRIDS * G}
        compiled = int(40 * MB + 8 * G)
        return MemoryEstimate(int(SAFETY * batch * sum(parts.values())), int(SAFETY * compiled),
                              {**parts, "compiled": compiled})

    def supports(self, N, model, block="all"):
        return block == "all" and N < self.below_N and not (model is not None and is_q_conserving(model))
