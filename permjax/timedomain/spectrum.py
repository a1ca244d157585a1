"""The low-lying spectrum of the Dicke-basis Liouvillian by shift-invert Arnoldi (docs/theory.md §4).

The Dicke-basis L (Eqs. 23–26) is the full Liouvillian restricted to the permutation-invariant
operators ⊕_J X_J ⊗ 1_{dim_J}/dim_J (the commutant of the permutations): every eigenvalue found
here is an eigenvalue of the full 4^N Liouvillian, with eigenvector ⊕_J v_J ⊗ 1/dim_J. The
unknowns are the valid entries of the padded grid (|M|, |M′| ≤ J); padding never enters.

Shift-invert around σ needs (L − σ)⁻¹, and L itself is singular (the steady state). We invert
the trace-augmented operator A = L + w Tr(·) of ``steady_state`` instead: since Tr(Lx) = 0 for
every x, an eigenvector v of L with λ ≠ 0 has Tr v = 0 and A v = λ v, while Tr(Ax) = Tr x makes
Tr(·) a left eigenvector of A with eigenvalue 1. So

    spec(A) = (spec(L) ∖ {0}) ∪ {1},

A is nonsingular, and ARPACK's shift-invert mode on (A − σ)⁻¹ finds the nonzero eigenvalues of
L closest to σ; the "trace mode" (eigenvalue 1, Tr v ≠ 0) is discarded and λ = 0 (the steady
state) added. Each application of (A − σ)⁻¹ is a solve by the steady-state solvers' contract
(``permjax.solvers``; by default ``GMRES`` with ``QConserving``, the exact inverse of the shifted
q-conserving part A₀ − σ, as the preconditioner: exact for a q-conserving model (LMG at h = 0) at
any σ, a few tens of iterations at h ≠ 0), prepared once per σ. With ``method=Direct()`` (the
default where ``Direct`` serves every J-block, N ≤ ``ALL_BLOCKS_MAX_N``) A is assembled as a sparse matrix on the
host and ARPACK inverts A − σ by its own sparse LU: nothing is compiled for the inner solves.

Every returned pair carries its residual ‖Lv − λv‖/‖v‖, computed afresh with the matrix-free L.
"""

from __future__ import annotations

import functools
import time
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..dicke.frame import rotate_model, to_lab
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import block_trace, dicke_liouvillian, liouvillian, trace_weight
from ..models.families import validate_N
from ..solvers import GMRES, Direct, Operator, Solver
from ..solvers.direct import liouvillian_matrix, trace_functionals
from .evolve import dicke_model


class SpectrumResult(eqx.Module):
    """The k eigenvalues of the Dicke-basis Liouvillian closest to ``shift``.

    Attributes:
        eigenvalues: complex, shape (k,), sorted by distance to ``shift`` (then by Im λ).
        residuals: ‖L v − λ v‖/‖v‖ per eigenpair (the steady state's: ‖L ρ‖/‖ρ‖).
        eigenvectors: the blocks v[j, a, a′] (shape (k, n_J, N+1, N+1), ‖v‖ = 1; the steady state
            normalised to Tr = 1) or ``None``.
        shift: σ.
        inner_iterations: GMRES iterations of every (A − σ)⁻¹ application.
        inner_residuals: their relative residuals.
        seconds: wall time (preconditioner, Arnoldi, residuals).
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    eigenvectors: np.ndarray | None
    shift: complex
    inner_iterations: np.ndarray
    inner_residuals: np.ndarray
    seconds: float
    N: int = eqx.field(static=True)

    @property
    def gap(self) -> float:
        """The spectral gap: the smallest |Re λ| among the eigenvalues found other than 0."""
        re = np.abs(np.real(self.eigenvalues))
        nz = re[np.abs(self.eigenvalues) > _ZERO * max(1.0, np.max(np.abs(self.eigenvalues)))]
        return float(np.min(nz)) if nz.size else float("nan")

    @property
    def frequencies(self) -> np.ndarray:
        """The distinct positive Im λ of the eigenvalues found, ascending."""
        im = np.imag(self.eigenvalues)
        im = np.sort(im[im > _ZERO])
        return im[np.concatenate([[True], np.diff(im) > 1e-9 * np.maximum(1.0, im[1:])])] if im.size else im

    def as_dict(self) -> dict:
        return {"N": self.N, "shift": [float(np.real(self.shift)), float(np.imag(self.shift))],
                "eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
                "residuals": [float(r) for r in self.residuals], "gap": self.gap,
                "frequencies": [float(f) for f in self.frequencies],
                "inner_iterations_max": int(np.max(self.inner_iterations, initial=0)),
                "inner_solves": int(len(self.inner_iterations)), "seconds": self.seconds}


#: |λ| below this (relative) counts as the steady state's 0
_ZERO = 1e-9


def shifted_operator(model, sigma, layout: DickeLayout, real_shift: bool) -> Operator:
    """A − σ = L + w Tr(·) − σ on ``layout`` (the steady-state operator, shifted)."""
    L = dicke_liouvillian(model, layout)
    w = trace_weight(layout)
    return Operator(lambda x: L(x) + w * block_trace(x, layout) - sigma * x, L, layout, shift=sigma,
                    real_shift=real_shift)


@functools.partial(jax.jit, static_argnames=("N", "real_shift", "method"))
def _prepare(model, sigma, *, N, real_shift, method: Solver):
    return method.init(shifted_operator(model, sigma, DickeLayout(N), real_shift))


@functools.partial(jax.jit, static_argnames=("N", "real_shift", "method", "maxiter"))
def _shifted_solve(model, state, b, sigma, *, N, real_shift, method: Solver, maxiter):
    """x = (A − σ)⁻¹ b on the valid entries (packed), from the preconditioned guess."""
    layout = DickeLayout(N)
    op = shifted_operator(model, sigma, layout, real_shift)
    b = layout.unpack(b)
    x0 = state(b) if isinstance(method, GMRES) else jnp.zeros_like(b)  # GMRES: the preconditioned guess
    res = method.compute(state, op, b, x0, maxiter)
    return layout.pack(res.x), res.iterations, res.residual


class ShiftedSolves:
    """(A − σ)⁻¹ for a model and N by ``method``, prepared once per σ; records every solve's
    iterations and residual."""

    def __init__(self, model, N: int, method: Solver, maxiter: int):
        self.model, self.N, self.method, self.maxiter = model, N, method, maxiter
        self.states, self.iterations, self.residuals = {}, [], []

    def __call__(self, b, sigma: complex):
        sigma = complex(sigma)
        real = sigma.imag == 0
        if sigma not in self.states:
            self.states[sigma] = _prepare(self.model, jnp.complex128(sigma), N=self.N, real_shift=real,
                                          method=self.method)
        x, it, r = _shifted_solve(self.model, self.states[sigma], jnp.asarray(b, jnp.complex128), jnp.complex128(sigma),
                                  N=self.N, real_shift=real, method=self.method, maxiter=self.maxiter)
        self.iterations.append(int(it))
        self.residuals.append(float(r))
        return x


class _SparseSolves:
    """A = L + w tᵀ assembled on the host (the sparse L of ``Direct``); solves by SuperLU, each
    (A − σ) factorised once and its residual recorded like ``ShiftedSolves``."""

    def __init__(self, model, layout: DickeLayout):
        L = dicke_liouvillian(model, layout)
        L = liouvillian_matrix(np.asarray(L.weights), np.asarray(L.u), np.asarray(L.v), L.groups, layout)
        w, t = trace_functionals(layout)
        self.A = (L + sp.csr_matrix(w[:, None]) @ sp.csr_matrix(t[None, :])).tocsc()  # w tᵀ, sparse
        self.lu, self.iterations, self.residuals = {}, [], []

    def __call__(self, b, sigma):
        if sigma not in self.lu:
            self.lu[sigma] = spla.splu((self.A - sigma * sp.identity(self.A.shape[0], format="csc")).tocsc())
        x = self.lu[sigma].solve(np.asarray(b, complex))
        r = b - (self.A @ x - sigma * x)
        self.iterations.append(1)
        self.residuals.append(float(np.linalg.norm(r) / max(np.linalg.norm(b), 1e-300)))
        return x


@functools.partial(jax.jit, static_argnames=("N",))
def _apply_L(model, v, *, N):
    layout = DickeLayout(N)
    return layout.pack(liouvillian(layout.unpack(v), model, layout))


def spectrum(N, model, k: int = 6, shift: complex = 0.0, *, eigenvectors: bool = False,
             method: Solver | None = None, arpack_tol: float = 1e-12, ncv: int | None = None,
             maxiter: int | None = None, progress: bool = False) -> SpectrumResult:
    """The ``k`` eigenvalues of the Dicke-basis Liouvillian of N qubits closest to ``shift``.

    Shift-invert Arnoldi (ARPACK) on the trace-augmented Liouvillian, inner solves by the
    h = 0-preconditioned GMRES (module docstring); the eigenvalue 0 (steady state) is included
    when it is among the ``k`` closest. Not traced (ARPACK drives it from Python).

    Args:
        N: number of qubits; model: ``PIModel`` (d = 2) or family point, scalar leaves.
        k: number of eigenvalues (1 ≤ k < Σ_J (2J+1)² − 1).
        shift: σ (complex).
        eigenvectors: also return the eigenvectors (blocks).
        method: the solver of the inner solves (default: ``Direct()`` where it serves every J-block
            (N ≤ ``ALL_BLOCKS_MAX_N``), else ``GMRES(tol=1e-12, maxiter=2000)``; its
            ``axis``, for GMRES, is the quantization axis of the inner solves: eigenvalues do not
            depend on it, eigenvectors are returned in the lab frame); a solve that misses its
            tolerance warns.
        arpack_tol: ARPACK's relative accuracy of the Ritz values (0: machine precision).
        ncv, maxiter: ARPACK's basis size (default max(2k + 2, 20)) and restart cap.
        progress: print each inner solve on stderr.
    """
    import sys

    N = validate_N(N, minimum=2)
    layout = DickeLayout(N)
    n = layout.n_unknowns
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n - 3):
        raise ValueError(f"k must be an integer in [1, {n - 3}] for N = {N}, got {k!r}")
    shift = complex(shift)
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift}")
    mdl = dicke_model(model)
    if getattr(mdl, "shape", ()) != ():
        raise ValueError("spectrum takes a single model (scalar leaves)")
    if method is None:
        method = Direct() if Direct().supports(N, None) else GMRES(tol=1e-12, maxiter=2000)
    if not isinstance(method, Solver) or method.diagonal:
        raise ValueError(f"spectrum's method must be a solver of the full blocks (e.g. GMRES()), got {method!r}")
    frame_axis = method.frame_axis(mdl) if isinstance(method, GMRES) else None
    if frame_axis is not None:
        mdl = rotate_model(mdl, frame_axis)
    t0 = time.perf_counter()
    if isinstance(method, Direct):
        solves = _SparseSolves(mdl, layout)
    else:
        solves = ShiftedSolves(mdl, N, method, method.maxiter or 2000)

    def solve(b, sigma):
        x = solves(b, sigma)
        if progress:
            sys.stderr.write(f"\r  spectrum N={N}: inner solve {len(solves.iterations)} "
                             f"({solves.iterations[-1]} iterations)")
            sys.stderr.flush()
        return np.asarray(x)

    OPinv = spla.LinearOperator((n, n), matvec=lambda b: solve(np.ravel(b), shift), dtype=complex)
    Lop = spla.LinearOperator((n, n), matvec=lambda v: np.asarray(_apply_L(mdl, jnp.asarray(np.ravel(v)), N=N)),
                              dtype=complex)
    if isinstance(method, Direct):
        OPinv, Lop = None, solves.A  # ARPACK factorises A − σ itself
    k_arpack = min(k + 1, n - 2)
    ncv = ncv or min(n - 1, max(2 * k_arpack + 2, 20))
    vals, vecs = spla.eigs(Lop, k=k_arpack, sigma=shift, OPinv=OPinv, which="LM", tol=arpack_tol,
                           ncv=ncv, maxiter=maxiter)
    if progress:
        sys.stderr.write("\n")
    # discard the trace mode of the augmented operator (Tr v ≠ 0, eigenvalue 1)
    idx = np.nonzero(layout.block_mask)  # the order of DickeLayout.pack
    on_diag = idx[1] == idx[2]  # packed entries with a = a′
    traces = np.abs(vecs[on_diag].sum(axis=0)) / np.linalg.norm(vecs, axis=0)
    keep = traces < 1e-6
    vals, vecs = vals[keep], vecs[:, keep]
    # the steady state (eigenvalue 0): A ρ = w
    w_flat = np.asarray(trace_weight(layout))[idx]
    rho = solve(w_flat, 0j)
    vals = np.concatenate([[0.0], vals])
    vecs = np.concatenate([rho[:, None], vecs / np.linalg.norm(vecs, axis=0)], axis=1)
    order = np.lexsort((np.imag(vals), np.round(np.abs(vals - shift), 10)))[:k]
    vals, vecs = vals[order], vecs[:, order]
    vals = np.where(np.abs(vals) < _ZERO * np.max(np.abs(vals), initial=1.0), 0.0, vals)
    Lv = np.stack([np.asarray(_apply_L(mdl, jnp.asarray(v), N=N)) for v in vecs.T], axis=1)
    res = np.linalg.norm(Lv - vecs * vals[None, :], axis=0) / np.linalg.norm(vecs, axis=0)
    ress_arr = np.asarray(solves.residuals)
    if np.any(ress_arr > 10 * method.tol):
        warnings.warn(f"spectrum(N={N}): {int(np.sum(ress_arr > 10 * method.tol))} inner solves missed "
                      f"tol={method.tol} (worst {np.max(ress_arr):.2e})", RuntimeWarning, stacklevel=2)
    out_vecs = None
    if eigenvectors:
        out_vecs = np.zeros((len(vals), layout.n_J, layout.n_M, layout.n_M), complex)
        for i in range(len(vals)):
            out_vecs[i][idx] = vecs[:, i]
        if frame_axis is not None:
            out_vecs = np.asarray(to_lab(out_vecs, layout, frame_axis))
    return SpectrumResult(vals, res, out_vecs, shift, np.asarray(solves.iterations), ress_arr,
                          time.perf_counter() - t0, N)
