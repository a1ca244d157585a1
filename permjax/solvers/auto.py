"""``method="auto"``: the one rule that picks a steady-state method, and what to try when it stalls.

``Auto`` only orders the solvers: ``select`` takes the first of ``order`` whose ``supports(N,
model, block)`` holds — each solver states its own applicability — and ``fallback`` walks the
chain tried after a concrete solve did not converge. Adding a solver is one module defining it
and one entry in the order ``Auto.candidates`` returns (or ``Auto(order=...)``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx

from ..dicke.layout import DickeLayout
from ..resources import available_memory
from .base import Solver
from .cgls import CGLS, GMRES_FROM_N
from .direct import ALL_BLOCKS_MAX_N, Direct
from .gmres import GMRES, krylov_restart, krylov_vector_bytes
from .jblock import JBlock
from .rates import Rates

#: N from which a sweep (many solves at one N sharing a compile) prefers GMRES over CGLS
SWEEP_GMRES_FROM_N = 20
#: largest Krylov basis of the retries of a stalled GMRES solve (each retry doubles it)
FALLBACK_MAX_RESTART = 200
#: largest N at which a stalled GMRES solve is retried with the sparse LU of every J-block
#: (N³/6 unknowns; measured 51–65 s and 4.9–5.7 GB peak at N = 80 for LMG, XYZ and the BTC)
DIRECT_FALLBACK_MAX_N = 80


class Auto(Solver):
    """The one rule for ``method="auto"``.

    ``select`` (the first of ``order`` that supports the problem):

    * ``Rates`` where L conserves q = M − M′ (concrete coefficients) and the rate equations
      serve the model: the steady state is diagonal;
    * ``Direct`` for ``block="symmetric"`` (one (N+1)² block, a 2-D stencil: sparse LU) and for
      every J-block up to N = ``direct_max_N`` (a host LU, no Krylov loop to compile);
    * ``CGLS`` below N = ``gmres_from_N`` for a model that changes q (with its compile, CGLS is
      faster there; benchmarks/reach.py);
    * ``GMRES`` otherwise (for a q-conserving model its preconditioner is exact: one iteration).

    ``fallback`` after a concrete solve did not converge: GMRES with twice its Krylov basis (up to
    ``FALLBACK_MAX_RESTART``, while the basis fits in a quarter of the memory available), then
    ``JBlock`` (the other preconditioner: the J-conserving part), then ``Direct`` (the sparse LU
    of every J-block) up to N = ``DIRECT_FALLBACK_MAX_N``. GMRES stalls when the q-changing part
    dominates (a strongly anisotropic XYZ model, a driven time crystal), more so under short restarts.

    Attributes:
        direct_max_N: largest N at which every J-block is solved by the sparse LU (``Direct``);
            0 leaves small problems to the Krylov solvers.
        gmres_from_N: N from which GMRES replaces CGLS for a model that changes q (one solve:
            ``GMRES_FROM_N``; many solves at one N sharing a compile: ``SWEEP_GMRES_FROM_N``).
        axis, restart: the quantization axis and Krylov basis of GMRES solves (``GMRES``).
        order: the solvers in the order ``select`` tries them (``None``: the default order);
            the options above and ``tol``, ``maxiter`` are given to each.
    """

    gmres_from_N: int = eqx.field(default=GMRES_FROM_N, static=True)
    direct_max_N: int = eqx.field(default=ALL_BLOCKS_MAX_N, static=True)
    axis: str | tuple = eqx.field(default="auto", static=True)
    restart: int | None = eqx.field(default=None, static=True)
    order: tuple | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "auto"

    def candidates(self) -> tuple:
        """The solvers ``select`` tries, in order, carrying this rule's options."""
        if self.order is not None:
            return tuple(self.order)
        common = dict(tol=self.tol, maxiter=self.maxiter)
        return (Rates(**common), Direct(all_blocks_max_N=self.direct_max_N, **common), CGLS(below_N=self.gmres_from_N, **common),
                GMRES(axis=self.axis, restart=self.restart, **common))

    def select(self, N: int, model=None, block: str = "all") -> Solver:
        """The first candidate whose ``supports(N, model, block)`` holds. ``model``: a PIModel or
        family point, or ``None`` when it varies (traced)."""
        for solver in self.candidates():
            if solver.supports(N, model, block):
                return solver
        raise ValueError(f"no steady-state method supports N={N}, block={block!r} for this model")

    def fallback(self, N: int, failed: Solver, block: str = "all") -> Solver | None:
        """What to try after ``failed`` did not converge (class docstring), or None."""
        if not isinstance(failed, (GMRES, JBlock)) or block != "all":
            return None
        common = dict(tol=self.tol, maxiter=self.maxiter)
        if isinstance(failed, GMRES):
            layout = DickeLayout(N)
            bigger = 2 * failed.basis(layout)
            _, host, _ = available_memory()
            budget = None if host is None else host // 4
            if bigger <= FALLBACK_MAX_RESTART and (budget is None or (bigger + 1) * krylov_vector_bytes(layout) <= budget):
                return dataclasses.replace(failed, restart=bigger)
            return JBlock(**common)
        if N <= DIRECT_FALLBACK_MAX_N:
            return Direct(tol=self.tol)
        return None

    def memory(self, N, batch=1, block="all"):
        return self.select(N, None, block).memory(N, batch, block)

    def supports(self, N, model, block="all"):
        return True



