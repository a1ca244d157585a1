"""Finite-N steady state L ρ = 0, Σ_J Tr ρ_J = 1 of any qubit PIModel (docs/theory.md §4, §6): the driver
every method goes through (``base.py`` states the contract; one module per method).

The augmented system A ρ = w, A ρ = L ρ + w Tr ρ, is solved by the chosen ``Solver`` inside
``jax.lax.custom_linear_solve``: derivatives of ρ w.r.t. the model come from implicit
differentiation of A(θ) ρ = w, by the same solver on the transposed system
(``Solver.transpose`` prepares it); iterations are never unrolled. The rate equations
(``Rates``) solve the populations of a q-conserving model instead, with their own implicit
derivative.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import programs, validate
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import block_trace, check_qubit_model, dicke_liouvillian, layout_grids, stencil_arrays, trace_weight
from ..dicke.state import DickeState, Diagnostics, block_diagnostics, mutual_information
from ..host import host_check, reports_deferred
from ..models.families import validate_N
from ..models.pimodel import PIModel, as_model, is_concrete, structure_digest
from ..resources import InsufficientMemoryError, check_memory
from .auto import SWEEP_GMRES_FROM_N, Auto
from .base import ConvergenceError, Operator, SolveResult, Solver, Status
from .cgls import CGLS, GMRES_FROM_N
from .direct import Direct
from .gmres import GMRES
from .jblock import JBlock
from . import rates
from .rates import Rates

#: the solvers by name (``steady_state(method=name)``, ``--method``)
SOLVERS = {cls.name: cls for cls in (Auto, CGLS, GMRES, JBlock, Direct, Rates)}


def as_solver(method="auto", tol=None, maxiter=None) -> Solver:
    """A ``Solver`` from a name in ``SOLVERS`` (with ``tol``, ``maxiter``) or a ``Solver`` itself
    (whose options are its own: giving ``tol``/``maxiter`` too is an error); options validated."""
    if isinstance(method, Solver):
        if tol is not None or maxiter is not None:
            raise ValueError("give tol and maxiter on the solver object, not beside it")
        solver = method
    elif isinstance(method, str) and method in SOLVERS:
        solver = SOLVERS[method](tol=1e-12 if tol is None else tol, maxiter=maxiter)
    else:
        raise ValueError(f"unknown steady-state method {method!r}; available: {sorted(SOLVERS)} or a Solver object")
    tol = validate.tolerance(solver.tol)
    maxiter = None if solver.maxiter is None else validate.integer("maxiter", solver.maxiter, 1)
    return eqx.tree_at(lambda s: (s.tol, s.maxiter), solver, (float(tol), maxiter),
                       is_leaf=lambda x: x is None) if (tol, maxiter) != (solver.tol, solver.maxiter) else solver


def auto_method(N: int, model=None, gmres_from_N: int = GMRES_FROM_N, *, block: str = "all") -> str:
    """The name of the solver ``method="auto"`` resolves to (``Auto(gmres_from_N).select``)."""
    return Auto(gmres_from_N=gmres_from_N).select(N, model, block).name


def batch_method(N: int, model=None, *, block: str = "all") -> str:
    """``auto_method`` for many solves at fixed N sharing one compile (sweeps, gradient
    searches): GMRES from N = ``SWEEP_GMRES_FROM_N``."""
    return auto_method(N, model, SWEEP_GMRES_FROM_N, block=block)


def default_maxiter(layout: DickeLayout) -> int:
    return max(2000, 4 * layout.n_unknowns)


def memory(N: int, method="auto", *, batch: int = 1, block: str = "all"):
    """The memory estimate of ``steady_state(N, method=method, block=block)`` (``batch`` solves
    at once): the chosen solver's ``memory``."""
    solver = as_solver(method)
    if isinstance(solver, Auto):
        solver = solver.select(N, None, block)
    return solver.memory(N, batch, block)


@functools.partial(jax.jit, static_argnames=("layout", "solver", "maxiter", "on_failure"))
def _solve_full(model: PIModel, vectors, x0, grids, *, layout: DickeLayout, solver: Solver, maxiter: int,
                on_failure: str = "raise"):
    """Jitted core: the steady state on ``layout``, differentiable in ``model`` (implicitly).
    ``vectors`` (the Liouvillian's stencil vectors) and ``grids`` (``layout_grids``: the trace
    weight w and the valid-entry mask) are arguments, so XLA never folds computations on them
    as constants (slow compiles growing with N)."""
    # inside a caller's jit these arrays are constants again: the barrier keeps XLA from folding
    # computations on them (seconds of compile time at large N)
    vectors, grids = jax.lax.optimization_barrier((vectors, grids))
    L = dicke_liouvillian(model, layout, vectors)
    w, valid = grids

    def augmented(rho):
        return L(rho) + w * block_trace(rho, layout)

    # the solver's preparation (a preconditioner's factors) carries no derivative: ρ's comes
    # from the implicit function theorem
    L0 = jax.lax.stop_gradient(L)
    op = _augmented_operator(L0, w, layout)
    state = solver.init(op)
    N, method, tol = layout.N, solver.name, solver.tol

    # A maps the valid entries (|M|, |M′| ≤ J) to themselves and annihilates padding; a
    # right-hand side (e.g. a cotangent) is projected onto the valid entries, exactly.
    def solve(mv, b):
        res = solver.compute(state, op.with_matvec(mv, False), b * valid, x0, maxiter)
        return res.x, (res.iterations, res.residual, res.status)

    def transpose_solve(vm, c):
        op_t = op.with_matvec(vm, True)
        res = solver.compute(solver.transpose(state, op_t), op_t, c * valid, jnp.zeros_like(c), maxiter)
        x = _flag_traced(res.x, res.status == Status.SUCCESSFUL, res.residual, res.iterations, on_failure,
                         f"adjoint (gradient) solve of steady_state(N={N}, method={method!r}) "
                         f"did not converge within maxiter={maxiter}")
        return x, (res.iterations, res.residual, res.status)

    rho, (iters, krylov_res, st) = jax.lax.custom_linear_solve(augmented, w, solve, transpose_solve, has_aux=True)
    return rho, _diagnostics(L0, jax.lax.stop_gradient(rho), iters, st, layout)


def _augmented_operator(L, w, layout: DickeLayout) -> Operator:
    """A = L + w Tr(·), as the solvers see it."""
    return Operator(lambda x: L(x) + w * block_trace(x, layout), L, layout)


def _diagnostics(L, rho, iterations, status, layout: DickeLayout) -> Diagnostics:
    """The state's diagnostics: ‖Lρ‖/‖ρ‖ and ``block_diagnostics``."""
    lres = jnp.sqrt(jnp.sum(jnp.abs(L(rho)) ** 2)) / jnp.sqrt(jnp.sum(jnp.abs(rho) ** 2))
    return block_diagnostics(rho, lres, iterations, status, layout)


@functools.partial(jax.jit, static_argnames=("layout", "solver"))
def _checked_host_solution(model: PIModel, vectors, rho, grids, *, layout: DickeLayout, solver: Solver):
    """Residuals and diagnostics of a solution found outside the program (``_solve_on_host``):
    free of host callbacks, so JAX's persistent cache keeps it."""
    vectors, grids = jax.lax.optimization_barrier((vectors, grids))
    L = dicke_liouvillian(model, layout, vectors)
    w, _ = grids
    res = solver.result(_augmented_operator(L, w, layout), w, rho)
    return rho, _diagnostics(L, rho, res.iterations, res.status, layout)


def _solve_on_host(model, *, layout: DickeLayout, solver: Direct):
    """``_solve_full`` for ``Direct`` on concrete coefficients: the LU on the host outside any
    compiled program (a program holding the host call is compiled in every process), then the
    checks in one cached program. The same factorisation as inside ``_solve_full``."""
    u, v, _, _ = stencil_arrays(model, layout)
    grids = layout_grids(layout)
    rho = solver.solve_on_host(dicke_liouvillian(model, layout), layout, grids[0])
    return _checked_host_solution(model, (jnp.asarray(u), jnp.asarray(v)), jnp.asarray(rho), grids, layout=layout,
                                  solver=solver)


def _flag_traced(x, ok, residual, iterations, on_failure: str, msg: str):
    """Inside traced code: an equinox runtime error ("raise") or a RuntimeWarning ("warn")."""
    if on_failure == "raise":
        return eqx.error_if(x, ~ok, msg)
    return host_check(x, functools.partial(_warn_traced, msg=msg), ok, residual, iterations)


def _warn_traced(ok, residual, iterations, *, msg):
    if not np.all(ok):
        warnings.warn(f"{msg}: residual {np.max(residual):.3e}, iterations {np.max(iterations)}",
                      RuntimeWarning)


def _check(x, diag: Diagnostics, on_failure: str, msg: str):
    """Raise / warn on non-convergence: in Python when concrete, via equinox when traced."""
    if is_concrete(diag.converged):
        if not bool(np.all(np.asarray(diag.converged))):
            full = f"{msg} ({Status.NAMES[int(np.max(np.asarray(diag.status)))]}): residual = " \
                   f"{np.max(np.asarray(diag.residual)):.3e}, iterations = {np.max(np.asarray(diag.iterations))}"
            if on_failure == "raise":
                raise ConvergenceError(full)
            warnings.warn(full, RuntimeWarning, stacklevel=3)
        return x, diag
    if on_failure == "warn" and reports_deferred():  # the caller reports the returned flags
        return x, diag
    x, diag = _flag_traced((x, diag), diag.converged, diag.residual, diag.iterations, on_failure, msg)
    return x, diag


def steady_state(N, model, *, tol: float | None = None, maxiter: int | None = None,
                 method: str | Solver = "auto", on_failure: str = "raise", x0=None, block: str = "all",
                 memory_check: bool = True) -> DickeState:
    """The steady state of a qubit PIModel (or family point, e.g. ``LMG``) for N qubits in the
    Dicke basis (docs/theory.md §4, §6).

    Solves L ρ = 0, Σ_J Tr ρ_J = 1 matrix-free (``liouvillian.py``; LMG: Eqs. 23–26). Returns a
    ``DickeState`` whose ``diagnostics`` hold ‖Lρ‖/‖ρ‖, iterations, converged, trace,
    Hermiticity error and the smallest block eigenvalue.

    Args:
        N: number of qubits, an integer ≥ 2 (static: each N compiles once).
        model: a ``PIModel`` with d = 2 or a family point, scalar coefficients (``jax.vmap``
            over a batch). d > 2: ``NotImplementedError`` (the mean field, ``mi_thermo``, covers it).
        tol: relative residual ‖w − Aρ‖/‖w‖ of the augmented system at which to stop
            (default 1e-12; with a name as ``method``).
        maxiter: iteration cap (default ``max(2000, 4 Σ_J(2J+1)²)``; with a name as ``method``).
        method: a ``Solver`` object carrying its options (``CGLS()``, ``GMRES(restart=40)``,
            ``JBlock()``, ``Direct()``, ``Rates()``, ``Auto()``) or its name in ``SOLVERS``. ``"auto"``
            (``Auto.select``): the rate equations or GMRES for a q-conserving model, else GMRES
            for N ≥ ``GMRES_FROM_N`` and CGLS below; a GMRES solve that stalls is retried with
            a doubled Krylov basis, then with the J-conserving preconditioner (``JBlock``), then
            by sparse LU up to N = ``DIRECT_FALLBACK_MAX_N``
            (``Auto.fallback``, with a warning each); ``"rates"``: the population equations of a
            q-conserving model (LMG at h = 0: Eqs. 30–31), a diagonal state that reaches large
            N — use it explicitly inside jit/vmap, where coefficients are traced.
        on_failure: ``"raise"`` (``ConvergenceError``; inside jit an equinox runtime error) or
            ``"warn"`` (return with ``converged=False`` and a ``RuntimeWarning`` carrying the
            residual).
        x0: initial guess, shape (n_J, N+1, N+1) (default: maximally mixed over Dicke states).
        block: ``"all"`` (every J-block) or ``"symmetric"`` (the J = N/2 block alone: the
            invariant subspace of a model without local jumps, whose steady state over all
            blocks is not unique; O(N²) unknowns, N in the thousands).
        memory_check: estimate the memory the solve needs first and raise
            ``permjax.resources.InsufficientMemoryError`` if more than is available
            (``False``: try anyway).

    Raises ``ValueError`` when the steady state is not unique by structure: no jump at all, or
    no local jump with ``block="all"`` (every J-block is then conserved).

    Differentiable w.r.t. the model's coefficients by implicit differentiation (``custom_linear_solve``).
    """
    N = validate_N(N, minimum=2)
    original = model
    model = as_model(model)
    check_qubit_model(model)
    if model.shape != ():
        raise ValueError(f"steady_state takes a single model (scalar coefficients), got shape {model.shape}; "
                         "use jax.vmap over a batch of models")
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    solver = as_solver(method, tol, maxiter)
    model = _unique_structure(model, block)
    auto = solver if isinstance(solver, Auto) else None
    if auto is not None:
        solver = auto.select(N, original if block == "all" else model, block)
    method, tol = solver.name, solver.tol
    what = f"steady_state(N={N}, method={method!r}" + (", block='symmetric')" if block == "symmetric" else ")")
    if solver.diagonal:
        # traced coefficients: the rate equations check what they can themselves (rates.py)
        concrete = is_concrete(model)
        if block != "all" or (concrete and not solver.supports(N, original, block)):
            raise ValueError(f"method={method!r} (population equations) serves {rates.SCOPE} with block='all'; "
                             "use method='gmres'")
        check_memory(N, solver.memory, enabled=memory_check, what=what)
        state = solver.steady_state(N, original, on_failure, memory_check=False)
        p, diag = _check(state.blocks, state.diagnostics, on_failure, f"{what} did not converge")
        return DickeState(p, diag, N)
    check_memory(N, functools.partial(solver.memory, block=block), enabled=memory_check, what=what)
    layout = DickeLayout(N, block == "symmetric")
    maxiter = default_maxiter(layout) if solver.maxiter is None else solver.maxiter
    if x0 is None:
        x0 = trace_weight(layout)
    else:
        x0 = jnp.asarray(x0, dtype=jnp.complex128)
        if x0.shape != (layout.n_J, layout.n_M, layout.n_M):
            raise ValueError(f"x0 must have shape {(layout.n_J, layout.n_M, layout.n_M)}, got {x0.shape}")
    axis = solver.frame_axis(model) if isinstance(solver, GMRES) else None
    if isinstance(solver, Direct) and is_concrete(model):
        rho, diag = _solve_on_host(model, layout=layout, solver=solver)
    else:
        rho, diag = _solve_in_frame(model, x0, axis, layout=layout, solver=solver, maxiter=maxiter,
                                    on_failure=on_failure)
    while auto is not None and is_concrete(diag.converged) and not bool(np.all(np.asarray(diag.converged))):
        retry = auto.fallback(N, solver, block)
        if retry is None:
            break
        try:
            check_memory(N, functools.partial(retry.memory, block=block), enabled=memory_check,
                         what=f"steady_state(N={N}, method={retry.name!r})")
        except InsufficientMemoryError as e:
            warnings.warn(f"steady_state(N={N}): not retrying with method={retry.name!r}: {e}", RuntimeWarning,
                          stacklevel=2)
            break
        how = {"gmres": f"retrying with a Krylov basis of {retry.restart}",
               "jblock": "retrying with the J-conserving preconditioner (method='jblock')",
               "direct": "solving by sparse LU (method='direct')"}[retry.name]
        why = Status.NAMES[int(np.max(diag.status))]
        warnings.warn(f"steady_state(N={N}): {method!r} stopped ({why}) at residual {float(np.max(diag.residual)):.2e} "
                      f"after {int(np.max(diag.iterations))} iterations; {how}", RuntimeWarning, stacklevel=2)
        solver, method = retry, retry.name
        rho, diag = _solve_in_frame(model, x0, axis if isinstance(retry, GMRES) else None, layout=layout,
                                    solver=solver, maxiter=maxiter, on_failure=on_failure)
    rho, diag = _check(rho, diag, on_failure, f"steady_state(N={N}, method={method!r}) did not converge")
    return DickeState(rho, diag, N, layout.symmetric)


def _solve_in_frame(model, x0, axis, *, layout, solver, maxiter, on_failure):
    """``_solve_full`` with the Dicke basis quantized along ``axis`` (``None``: z); the state is
    returned in the lab frame (``frame.py``)."""
    if axis is not None:
        from ..dicke.frame import rotate_model, to_frame

        model, x0 = rotate_model(model, axis), to_frame(x0, layout, axis)
    u, v, _, _ = stencil_arrays(model, layout)
    arrays = (jnp.asarray(u), jnp.asarray(v)), x0, layout_grids(layout)
    # concrete inputs: through a lowered program kept on disk (a new process skips the tracing)
    name = (f"steady_state {layout!r} {solver!r} maxiter={maxiter} on_failure={on_failure} "
            f"structure={structure_digest(model)}")
    solve = functools.partial(_solve_full, layout=layout, solver=solver, maxiter=maxiter, on_failure=on_failure)
    rho, diag = programs.call(solve, (model, *arrays), name, _solution_tree())
    if axis is not None:
        from ..dicke.frame import to_lab

        rho = to_lab(rho, layout, axis)
    return rho, diag


@functools.lru_cache(maxsize=1)
def _solution_tree():
    """The tree structure of ``_solve_full``'s result: the blocks and their ``Diagnostics``."""
    fields = [f.name for f in dataclasses.fields(Diagnostics)]
    return jax.tree.structure((0, Diagnostics(**dict.fromkeys(fields, 0))))


def _unique_structure(model: PIModel, block: str) -> PIModel:
    """The model, checked for a structurally unique steady state on ``block`` (local jumps with
    rates concretely 0 are dropped for ``block="symmetric"``)."""
    if block not in ("all", "symmetric"):
        raise ValueError(f"block must be 'all' or 'symmetric', got {block!r}")
    if not model.collective and not model.has_local:
        raise ValueError("the model has no jump operators: every state commuting with H is steady, so the "
                         "steady state is not unique; add collective or local jumps")
    if block == "all" and not model.has_local:
        raise ValueError("without local jumps every J-block is conserved, so the steady state is not unique; "
                         "specify the block: steady_state(..., block='symmetric') for J = N/2 (where a "
                         "product state starts), or add a local jump")
    if block == "symmetric":
        if model.has_local:
            raise ValueError("block='symmetric' needs a model without local jumps (they couple J = N/2 to "
                             "J = N/2 − 1); use block='all'")
        model = PIModel(model.d, hamiltonian=model.hamiltonian, collective=model.collective)
    return model


def mi_finite(N, model, **kwargs):
    """I_M/N in the finite-N steady state (Eqs. 27–29) of a qubit PIModel or family point;
    differentiable w.r.t. the model's coefficients.

    ``kwargs`` go to ``steady_state`` (tol, maxiter, method, on_failure, x0, block).
    """
    state = steady_state(N, model, **kwargs)
    return mutual_information(state) / state.N
