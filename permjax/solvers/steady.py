"""Finite-N steady state L ρ = 0, Σ_J Tr ρ_J = 1 of any qubit PIModel, by jitted matrix-free
Krylov solves (SPEC §3, §6).

Normalisation: since Tr(L ρ) = 0 for every ρ, the augmented map A ρ = L ρ + w Tr ρ (w a fixed
block-diagonal matrix, Tr w = 1) is nonsingular when the steady state is unique, and
A ρ = w  ⇔  (L ρ = 0 and Tr ρ = 1). The default method, ``"cgls"``, is conjugate gradients on
the normal equation A†A ρ = A†w (the paper's CG on L†L with the trace fixed), in its
least-squares form CGLS, which keeps the residual r = w − Aρ explicitly.

Methods are small objects carrying their options (``Solver``: ``CGLS``, ``GMRES``, ``Direct``,
``Rates``, and ``Auto``, the one rule that picks among them); ``steady_state(method=...)`` takes
one, or its name. A Krylov solver is called as

    solver(matvec, rmatvec, b, x0, maxiter, context) -> KrylovResult

solving ``matvec(x) = b`` (``rmatvec`` is the adjoint; ``context`` carries the layout, the model
and whether this is the transposed solve of reverse-mode differentiation, for preconditioners).

Gradients: ``jax.lax.custom_linear_solve`` — derivatives of ρ w.r.t. the model come from
implicit differentiation of A(θ) ρ = w, with the same jitted solver for the transposed system;
iterations are never unrolled.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..host import host_check
from ..resources import InsufficientMemoryError, check_memory
from ..model import LMG, _is_concrete, validate_N
from ..models.pimodel import PIModel, as_model
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import (DickeLiouvillian, adjoint, block_trace, check_qubit_model, dicke_liouvillian,
                          is_q_conserving, stencil_arrays)
from ..dicke.state import DickeState, Diagnostics, block_diagnostics, mutual_information


class ConvergenceError(RuntimeError):
    """A steady-state solve did not reach its tolerance within ``maxiter``."""


class KrylovResult(NamedTuple):
    x: jax.Array
    iterations: jax.Array
    residual: jax.Array  # ‖b − A x‖ / ‖b‖


class SolveContext(NamedTuple):
    layout: DickeLayout
    model: PIModel
    transposed: bool  # True for the transposed system Aᵀ y = c (reverse-mode derivatives)
    liouvillian: DickeLiouvillian | None = None


def _vdot(a, b):
    return jnp.vdot(a, b)


def _norm(a):
    return jnp.sqrt(jnp.real(jnp.vdot(a, a)))


def cgls(matvec, rmatvec, b, x0, *, tol, maxiter, context=None) -> KrylovResult:
    """CGLS: conjugate gradients on A†A x = A†b, stopping when ‖b − A x‖ ≤ tol ‖b‖.

    One A and one A† product per iteration; a ``lax.while_loop`` (jit/vmap friendly).
    """
    bnorm = _norm(b)
    r = b - matvec(x0)
    s = rmatvec(r)
    g = jnp.real(_vdot(s, s))

    def cond(c):
        k, _, r, _, _, _ = c
        return (k < maxiter) & (_norm(r) > tol * bnorm)

    def body(c):
        k, x, r, s, p, g = c
        q = matvec(p)
        qq = jnp.real(_vdot(q, q))
        alpha = jnp.where(qq > 0, g / jnp.where(qq > 0, qq, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * q
        s = rmatvec(r)
        g_new = jnp.real(_vdot(s, s))
        p = s + jnp.where(g > 0, g_new / jnp.where(g > 0, g, 1.0), 0.0) * p
        return k + 1, x, r, s, p, g_new

    k, x, r, *_ = jax.lax.while_loop(cond, body, (jnp.asarray(0), x0, r, s, s, g))
    # the recursively updated residual drifts from the true one: report the true one
    return KrylovResult(x, k, _norm(b - matvec(x)) / jnp.where(bnorm > 0, bnorm, 1.0))


def trace_weight(layout: DickeLayout):
    """w = 1_valid / Σ_J(2J+1): the maximally mixed block-diagonal matrix, Tr w = 1."""
    eye = np.eye(layout.n_M)[None] * layout.mask[:, :, None]
    return jnp.asarray(eye / eye.sum(), dtype=jnp.complex128)


def layout_grids(layout: DickeLayout):
    """(w, valid): the trace weight and the mask of valid entries (|M|, |M′| ≤ J), complex128."""
    return trace_weight(layout), jnp.asarray(layout.block_mask, dtype=jnp.complex128)


#: N from which method="auto" picks "gmres" (fast.py) over "cgls" for one solve of a model
#: that changes q (compile + solve); in a sweep, where the compile is paid once, from SWEEP_GMRES_FROM_N
GMRES_FROM_N = 48
SWEEP_GMRES_FROM_N = 20


def rates_available(model) -> bool:
    """Whether ``rates.py`` solves this model's population equations (``rates.supports`` when it
    exists, else the LMG family, Eqs. 30–31)."""
    from . import rates

    supports = getattr(rates, "supports", None)
    return bool(supports(model)) if supports is not None else isinstance(model, LMG)


class Solver(eqx.Module):
    """A steady-state method with its options: a static, hashable pytree (a jit static argument).

    Attributes:
        tol: relative residual ‖w − Aρ‖/‖w‖ of the augmented system at which to stop (≥ 1e-14).
        maxiter: iteration cap (``None``: ``max(2000, 4 Σ_J(2J+1)²)``).
    """

    tol: float = eqx.field(default=1e-12, static=True)
    maxiter: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = ""

    def __call__(self, matvec, rmatvec, b, x0, maxiter: int, context: SolveContext) -> KrylovResult:
        raise ValueError(f"the {self.name!r} method is not a Krylov solve of the full blocks")


class CGLS(Solver):
    """Conjugate gradients on the normal equation A†A ρ = A†w (the paper's method)."""

    name: ClassVar[str] = "cgls"

    def __call__(self, matvec, rmatvec, b, x0, maxiter, context):
        return cgls(matvec, rmatvec, b, x0, tol=self.tol, maxiter=maxiter)


class GMRES(Solver):
    """Restarted GMRES preconditioned by the exact inverse of the q-conserving part of L (fast.py).

    Attributes:
        restart: Krylov basis between restarts (``None``: as large as 1 GiB of packed states allows, 20–100).
        precision: storage of the preconditioner's factors, ``"double"`` (complex128) or
            ``"single"`` (complex64: half their memory, the largest N on a GPU; the iteration and
            its residual stay float64, so the answer meets ``tol`` all the same).
        axis: quantization axis of the Dicke basis the solve runs in (``frame.py``; the state
            returned is always in the lab frame): ``"auto"`` (``frame.choose_axis``: the axis
            whose q-changing part is smallest, e.g. x for a strongly driven time crystal; z
            when the coefficients are traced), ``"z"``, or ``(θ, φ)``.
    """

    restart: int | None = eqx.field(default=None, static=True)
    precision: str = eqx.field(default="double", static=True)
    axis: str | tuple = eqx.field(default="auto", static=True)
    name: ClassVar[str] = "gmres"

    def __check_init__(self):
        if self.precision not in ("double", "single"):
            raise ValueError(f"GMRES precision must be 'double' or 'single', got {self.precision!r}")
        ok = self.axis in ("auto", "z") or (isinstance(self.axis, tuple) and len(self.axis) == 2
                                             and all(isinstance(x, (int, float)) and np.isfinite(x) for x in self.axis))
        if not ok:
            raise ValueError(f"GMRES axis must be 'auto', 'z' or a tuple (theta, phi), got {self.axis!r}")

    def frame_axis(self, model):
        """The axis (θ, φ) this solve uses for ``model``, or ``None`` for z."""
        if self.axis == "z":
            return None
        if self.axis == "auto":
            from ..dicke.frame import choose_axis

            return choose_axis(model)
        return None if tuple(map(float, self.axis)) == (0.0, 0.0) else tuple(map(float, self.axis))

    def __call__(self, matvec, rmatvec, b, x0, maxiter, context):
        from .gmres import gmres_conserving

        return gmres_conserving(matvec, b, x0, tol=self.tol, maxiter=maxiter, context=context, restart=self.restart,
                                precision=self.precision)


class Direct(Solver):
    """Sparse LU of the assembled augmented operator on the host (direct.py); for the symmetric block."""

    name: ClassVar[str] = "direct"

    def __call__(self, matvec, rmatvec, b, x0, maxiter, context):
        from .direct import direct

        return direct(matvec, b, context=context)


class JBlock(Solver):
    """GMRES on the host, right-preconditioned by the exact inverse of the J-conserving part of A
    (jblock.py): for strong anisotropic Hamiltonians under weak local damping, where the
    q-conserving preconditioner of ``GMRES`` needs thousands of iterations.

    Attributes:
        restart: Krylov basis between restarts (``None``: ``fast.krylov_restart``, 20–100).
    """

    restart: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "jblock"

    def __call__(self, matvec, rmatvec, b, x0, maxiter, context):
        from .gmres import krylov_restart
        from .jblock import jblock

        restart = krylov_restart(context.layout) if self.restart is None else self.restart
        return jblock(matvec, b, x0, tol=self.tol, maxiter=maxiter, restart=restart, context=context)


class Rates(Solver):
    """The population (rate) equations of a q-conserving model (rates.py): a diagonal state."""

    name: ClassVar[str] = "rates"


#: largest Krylov basis of ``Auto``'s retries of a stalled GMRES solve (each retry doubles it)
FALLBACK_MAX_RESTART = 200
#: largest N at which ``Auto`` retries a stalled GMRES solve with the sparse LU of every J-block
#: (N³/6 unknowns; measured 51–65 s and 4.9–5.7 GB peak at N = 80 for LMG, XYZ and the BTC)
DIRECT_FALLBACK_MAX_N = 80


class Auto(Solver):
    """The one rule for ``method="auto"``: ``select`` picks a solver from the model's structure and N.

    Attributes:
        gmres_from_N: N from which GMRES replaces CGLS for a model that changes q (one solve:
            ``GMRES_FROM_N``; many solves at one N sharing a compile: ``SWEEP_GMRES_FROM_N``).
        axis: the quantization axis of GMRES solves (``GMRES.axis``; ``"auto"``: ``frame.choose_axis``).
        restart: the Krylov basis of GMRES solves (``GMRES.restart``; ``None``: ``fast.krylov_restart``).
    """

    gmres_from_N: int = eqx.field(default=GMRES_FROM_N, static=True)
    axis: str | tuple = eqx.field(default="auto", static=True)
    restart: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "auto"

    def select(self, N: int, model=None, block: str = "all") -> Solver:
        """* ``block="symmetric"``: ``Direct`` (one (N+1)² block, a 2-D stencil: sparse LU);
        * L conserves q = M − M′ (``is_q_conserving``: concrete coefficients, every model of a
          batch) → the steady state is diagonal: ``Rates`` where the rate equations serve the
          model (``rates_available``), else ``GMRES``, whose preconditioner is then the exact
          inverse (one iteration);
        * otherwise ``GMRES`` from N = ``gmres_from_N`` (warm solves beat CGLS from N ≈ 20, a
          first call with its compile from N ≈ 50, benchmarks/reach.py) and ``CGLS`` below.

        ``model``: a PIModel or family point (a batch is fine), or ``None`` when it varies
        (traced); for the LMG family a value of h alone is accepted.
        """
        if model is not None and not isinstance(model, PIModel) and not hasattr(model, "to_model"):
            model = LMG(1.0, model, 1.0, 1.0)  # a value of LMG's h
        if block == "symmetric":
            cls = Direct
        elif model is not None and is_q_conserving(model):
            cls = Rates if rates_available(model) else GMRES
        else:
            cls = GMRES if N >= self.gmres_from_N else CGLS
        if cls is GMRES:
            return GMRES(tol=self.tol, maxiter=self.maxiter, axis=self.axis, restart=self.restart)
        return cls(tol=self.tol, maxiter=self.maxiter)

    def fallback(self, N: int, failed: Solver, block: str = "all") -> Solver | None:
        """After a concrete solve by ``failed`` did not converge: for GMRES, first GMRES with
        twice its Krylov basis (up to ``FALLBACK_MAX_RESTART``, where the basis fits in a quarter
        of the memory available), then ``JBlock`` (the other preconditioner: the J-conserving
        part), then ``Direct`` (the sparse LU of every J-block) up to N = ``DIRECT_FALLBACK_MAX_N``;
        else None. GMRES stalls when the q-changing part dominates the preconditioned
        q-conserving part (a strongly anisotropic XYZ model, a driven time crystal), and more so
        under short restarts."""
        if not isinstance(failed, (GMRES, JBlock)) or block != "all":
            return None
        if isinstance(failed, GMRES):
            from .gmres import krylov_restart, krylov_vector_bytes
            from ..resources import available_memory

            layout = DickeLayout(N)
            restart = failed.restart or krylov_restart(layout)
            bigger = 2 * restart
            _, host, _ = available_memory()
            budget = None if host is None else host // 4
            if bigger <= FALLBACK_MAX_RESTART and (budget is None or (bigger + 1) * krylov_vector_bytes(layout) <= budget):
                return dataclasses.replace(failed, restart=bigger)
            return JBlock(tol=self.tol, maxiter=self.maxiter)
        if N <= DIRECT_FALLBACK_MAX_N:
            return Direct(tol=self.tol)
        return None


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

    tol, method = solver.tol, solver.name
    # A maps the valid entries (|M|, |M′| ≤ J) to themselves and annihilates padding; a
    # right-hand side (e.g. a cotangent) is projected onto the valid entries, exactly.
    N = layout.N

    def solve(mv, b):
        b = b * valid
        res = solver(mv, adjoint(mv, b), b, x0, maxiter, SolveContext(layout, model, False, L))
        return res.x, (res.iterations, res.residual)

    def transpose_solve(vm, c):
        c = c * valid
        res = solver(vm, adjoint(vm, c), c, jnp.zeros_like(c), maxiter, SolveContext(layout, model, True, L))
        x = _flag_traced(res.x, res.residual <= 10 * tol, res.residual, res.iterations, on_failure,
                         f"adjoint (gradient) solve of steady_state(N={N}, method={method!r}) "
                         f"did not converge within maxiter={maxiter}")
        return x, (res.iterations, res.residual)

    rho, (iters, krylov_res) = jax.lax.custom_linear_solve(
        augmented, w, solve, transpose_solve, has_aux=True
    )
    # the solver meets tol on the augmented residual; allow a little round-off slack over it
    converged = krylov_res <= tol * 10
    rho_c = jax.lax.stop_gradient(rho)
    lres = jnp.sqrt(jnp.sum(jnp.abs(jax.lax.stop_gradient(L)(rho_c)) ** 2)) / jnp.sqrt(
        jnp.sum(jnp.abs(rho_c) ** 2)
    )
    diag = block_diagnostics(rho_c, jax.lax.stop_gradient(lres), iters, converged, layout)
    return rho, diag


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
    if _is_concrete(diag.converged):
        if not bool(np.all(np.asarray(diag.converged))):
            full = f"{msg}: residual = {np.max(np.asarray(diag.residual)):.3e}, " \
                   f"iterations = {np.max(np.asarray(diag.iterations))}"
            if on_failure == "raise":
                raise ConvergenceError(full)
            warnings.warn(full, RuntimeWarning, stacklevel=3)
        return x, diag
    x, diag = _flag_traced((x, diag), diag.converged, diag.residual, diag.iterations, on_failure, msg)
    return x, diag


def steady_state(N, model, *, tol: float | None = None, maxiter: int | None = None,
                 method: str | Solver = "auto", on_failure: str = "raise", x0=None, block: str = "all",
                 memory_check: bool = True) -> DickeState:
    """The steady state of a qubit PIModel (or family point, e.g. ``LMG``) for N qubits in the
    Dicke basis (SPEC §3, §6).

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
    if method == "rates":
        # traced coefficients: the rate equations check what they can themselves (rates.py)
        concrete = all(_is_concrete(x) for x in jax.tree.leaves(model))
        if block != "all" or (concrete and not rates_available(original)):
            raise ValueError("method='rates' (population equations) serves "
                             + ("the LMG family" if _rates_scope() is None else _rates_scope())
                             + " with block='all'; use method='gmres'")
        return _rates_state(N, original, tol, on_failure, memory_check)
    check_memory(N, method, enabled=memory_check, precision=getattr(solver, "precision", "double"), block=block)
    layout = DickeLayout(N, block == "symmetric")
    maxiter = default_maxiter(layout) if solver.maxiter is None else solver.maxiter
    if x0 is None:
        x0 = trace_weight(layout)
    else:
        x0 = jnp.asarray(x0, dtype=jnp.complex128)
        if x0.shape != (layout.n_J, layout.n_M, layout.n_M):
            raise ValueError(f"x0 must have shape {(layout.n_J, layout.n_M, layout.n_M)}, got {x0.shape}")
    axis = solver.frame_axis(model) if isinstance(solver, GMRES) else None
    rho, diag = _solve_in_frame(model, x0, axis, layout=layout, solver=solver, maxiter=maxiter, on_failure=on_failure)
    while auto is not None and _is_concrete(diag.converged) and not bool(np.all(np.asarray(diag.converged))):
        retry = auto.fallback(N, solver, block)
        if retry is None:
            break
        try:
            check_memory(N, retry.name, enabled=memory_check, block=block)
        except InsufficientMemoryError as e:
            warnings.warn(f"steady_state(N={N}): not retrying with method={retry.name!r}: {e}", RuntimeWarning,
                          stacklevel=2)
            break
        how = {"gmres": f"retrying with a Krylov basis of {retry.restart}",
               "jblock": "retrying with the J-conserving preconditioner (method='jblock')",
               "direct": "solving by sparse LU (method='direct')"}[retry.name]
        warnings.warn(f"steady_state(N={N}): {method!r} stopped at residual {float(np.max(diag.residual)):.2e} after "
                      f"{int(np.max(diag.iterations))} iterations; {how}", RuntimeWarning, stacklevel=2)
        solver, method = retry, retry.name
        rho, diag = _solve_in_frame(model, x0, axis if isinstance(retry, GMRES) else None, layout=layout,
                                    solver=solver, maxiter=maxiter, on_failure=on_failure)
    rho, diag = _check(rho, diag, on_failure,
                       f"steady_state(N={N}, method={method!r}) did not converge (it stops at maxiter={maxiter}, "
                       "and GMRES when the residual stops falling)")
    return DickeState(rho, diag, N, layout.symmetric)


def _solve_in_frame(model, x0, axis, *, layout, solver, maxiter, on_failure):
    """``_solve_full`` with the Dicke basis quantized along ``axis`` (``None``: z); the state is
    returned in the lab frame (``frame.py``)."""
    if axis is not None:
        from ..dicke.frame import rotate_model, to_frame

        model, x0 = rotate_model(model, axis), to_frame(x0, layout, axis)
    u, v, _, _ = stencil_arrays(model, layout)
    arrays = (jnp.asarray(u), jnp.asarray(v)), x0, layout_grids(layout)
    rho, diag = _solve_full(model, *arrays, layout=layout, solver=solver, maxiter=maxiter, on_failure=on_failure)
    if axis is not None:
        from ..dicke.frame import to_lab

        rho = to_lab(rho, layout, axis)
    return rho, diag


def _rates_scope():
    from . import rates

    return getattr(rates, "SCOPE", None)


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


def _rates_state(N: int, model, tol: float, on_failure: str, memory_check: bool = True) -> DickeState:
    """h = 0: the diagonal steady state from the rate equations (Eqs. 30–31, ``rates.py``).

    Diagnostics: ``residual`` is the rate-equation residual ‖W p‖/(max C1 ‖p‖) on the full grid,
    ``iterations`` the window refinements; Hermiticity error 0, smallest eigenvalue min p.
    """
    from .rates import steady_populations

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # reported below, with on_failure's policy
        sol = steady_populations(N, model, rtol=max(tol, 1e-14), memory_check=memory_check)
    p = sol.populations
    mask = jnp.asarray(DickeLayout(N).mask)
    diag = Diagnostics(sol.residual, sol.iterations, sol.converged, jnp.sum(p),
                       jnp.zeros_like(sol.residual), jnp.min(jnp.where(mask, p, jnp.inf)))
    p, diag = _check(p, diag, on_failure, f"steady_state(N={N}, method='rates') did not converge")
    return DickeState(p, diag, N)


def mi_finite(N, model, **kwargs):
    """I_M/N in the finite-N steady state (Eqs. 27–29) of a qubit PIModel or family point;
    differentiable w.r.t. the model's coefficients.

    ``kwargs`` go to ``steady_state`` (tol, maxiter, method, on_failure, x0, block).
    """
    state = steady_state(N, model, **kwargs)
    return mutual_information(state) / state.N
