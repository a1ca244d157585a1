"""What every steady-state solver shares: the operator it solves, its result, and the contract.

The steady state solves A ρ = w with A ρ = L ρ + w Tr ρ (Eq. 22; docs/theory.md §4): since Tr(L ρ) = 0 for every
ρ, A is nonsingular when the steady state is unique, and A ρ = w ⇔ (L ρ = 0 and Tr ρ = 1); w is
the maximally mixed block-diagonal matrix (``dicke.liouvillian.trace_weight``). Shift-invert
solves (``timedomain.spectrum``, ``timedomain.correlations``) use A − σ.

A solver is a small ``equinox.Module`` carrying its options (static: it is a jit static
argument), the lineax way:

    state = solver.init(operator)                  # factorise what can be factorised once
    result = solver.compute(state, operator, b, x0, maxiter)
    state_T = solver.transpose(state, operator.T)  # the adjoint solve of reverse-mode derivatives

and it owns ``memory(N, batch, block)`` (its estimate, compared with what is available by
``permjax.resources``) and ``supports(N, model, block)`` (whether ``Auto`` may pick it there).
Adding a solver is one module defining such a class plus one entry in ``Auto``'s order.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import DickeLiouvillian, adjoint
from ..resources import MemoryEstimate

#: a solve is converged when its true residual is within this factor of ``tol`` (round-off slack)
ROUNDOFF_SLACK = 10.0


class ConvergenceError(RuntimeError):
    """A steady-state solve did not reach its tolerance."""


class Status:
    """Why a solve stopped (``SolveResult.status``)."""

    SUCCESSFUL = 0  # the true residual met the tolerance
    MAX_STEPS = 1  # ran out of iterations
    STAGNATED = 2  # the residual stopped falling (GMRES: not halved over ``STALL_RESTARTS`` restarts)
    BREAKDOWN = 3  # a direct solve whose answer misses the tolerance (a singular or ill-conditioned system)
    NAMES = {0: "successful", 1: "max_steps", 2: "stagnated", 3: "breakdown"}


class SolveResult(NamedTuple):
    """x, with the solver's ``status``, ``iterations`` and true relative residual ‖b − A x‖/‖b‖."""

    x: jax.Array
    status: jax.Array
    iterations: jax.Array
    residual: jax.Array


def norm(a):
    return jnp.sqrt(jnp.real(jnp.vdot(a, a)))


def small_block_memory(N: int, batch: int = 1, factors: int = 0, peak: float = 1.0) -> MemoryEstimate:
    """The symmetric block alone ((N+1)² unknowns): a few states, 0.5 GB of runtime and
    ``factors`` bytes of a sparse factorisation (``peak`` times them at its peak), all host."""
    from ..resources import MB, SAFETY

    parts = {"sparse LU factors": int(factors), "states": 64 * (N + 1) ** 2, "runtime": int(500 * MB)}
    return MemoryEstimate(0, int(SAFETY * batch * (peak * factors + parts["states"] + parts["runtime"])), parts)


def status(residual, tol, iterations, maxiter):
    """The status of a stopped iteration: successful where the residual met ``tol`` (with round-off
    slack), else out of steps where ``maxiter`` was reached, else stagnated."""
    ok = residual <= ROUNDOFF_SLACK * tol
    return jnp.where(ok, Status.SUCCESSFUL, jnp.where(iterations >= maxiter, Status.MAX_STEPS, Status.STAGNATED))


@dataclasses.dataclass(frozen=True)
class Operator:
    """A = L + w Tr(·) − σ on a layout's padded grid (or, ``transposed``, Aᵀ), as a solver sees it.

    Attributes:
        matvec: x ↦ A x on (n_J, N+1, N+1) arrays (the transpose's when ``transposed``).
        liouvillian: L, whose stencil and coefficients preconditioners and host solvers read.
        layout: the Dicke layout.
        transposed: whether ``matvec`` is Aᵀ (reverse-mode derivatives).
        shift: σ (0 for the steady state; may be traced).
        real_shift: whether σ is real (static: a real shift keeps L₀ − σ Hermiticity-preserving).
    """

    matvec: Callable
    liouvillian: DickeLiouvillian
    layout: DickeLayout
    transposed: bool = False
    shift: complex | jax.Array = 0.0
    real_shift: bool = True

    def mv(self, x):
        return self.matvec(x)

    def rmv(self, x):
        """A† x (the Hilbert–Schmidt adjoint)."""
        return adjoint(self.matvec, x)(x)

    def with_matvec(self, matvec, transposed: bool) -> "Operator":
        return dataclasses.replace(self, matvec=matvec, transposed=transposed)


class Solver(eqx.Module):
    """A steady-state method with its options: a static, hashable pytree (a jit static argument).

    Attributes:
        tol: relative residual ‖w − Aρ‖/‖w‖ of the augmented system at which to stop (≥ 1e-14).
        maxiter: iteration cap (``None``: ``max(2000, 4 Σ_J(2J+1)²)``).
    """

    tol: float = eqx.field(default=1e-12, static=True)
    maxiter: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = ""
    #: the method solves the population (rate) equations: a diagonal state, not A ρ = w
    diagonal: ClassVar[bool] = False

    def init(self, operator: Operator):
        """What can be prepared once for ``operator`` (factors of a preconditioner); a pytree."""
        return None

    def transpose(self, state, operator: Operator):
        """The state for the transposed operator (reverse-mode derivatives), reusing ``state``
        where the factorisation allows; by default prepared afresh."""
        return self.init(operator)

    def compute(self, state, operator: Operator, b, x0, maxiter: int) -> SolveResult:
        raise NotImplementedError(f"{type(self).__name__}.compute")

    def memory(self, N: int, batch: int = 1, block: str = "all") -> MemoryEstimate:
        """The memory a solve of N qubits needs (``batch`` at once under ``vmap``)."""
        raise NotImplementedError(f"{type(self).__name__}.memory")

    def supports(self, N: int, model, block: str = "all") -> bool:
        """Whether ``Auto`` may pick this method for ``model`` (a PIModel, family point or None
        when traced) at N on ``block``; an explicit choice is not limited by it."""
        return block == "all"


class Preconditioner(eqx.Module):
    """An approximate inverse of the operator for a Krylov solver (``GMRES(preconditioner=...)``),
    with its options (static, hashable).

    ``init(operator)`` factorises and returns a callable pytree r ↦ P⁻¹ r on the padded grid;
    ``transpose(state, operator)`` the one for the transposed operator; ``memory(N, block)`` the
    bytes of its factors, by name."""

    def init(self, operator: Operator):
        raise NotImplementedError(f"{type(self).__name__}.init")

    def transpose(self, state, operator: Operator):
        return self.init(operator)

    def memory(self, N: int, block: str = "all") -> dict:
        return {}


class Identity(Preconditioner):
    """No preconditioning (P = 1)."""

    def init(self, operator):
        return _identity

    def __check_init__(self):
        pass


def _identity(r):
    return r
