"""Direct steady-state method: the augmented Liouvillian A = L + w Tr(·) assembled as a sparse
matrix on the host and factorised by scipy's SuperLU. Registered as ``steady_state(method="direct")``.

Meant for the symmetric block (``block="symmetric"``): a single (N+1)×(N+1) block whose L is a
2-D stencil in (M, M′) with offsets |ΔM|, |ΔM′| ≤ 2, so (N+1)² unknowns with O(1) entries per
row — N in the thousands. With every J-block (N³/6 unknowns, a 3-D stencil) it serves small N.

A rank-one trace term would fill the LU factors; ``AugmentedLU`` factorises L with one row
replaced by the trace and restores A by a rank-two Woodbury correction.

The entries come from the same stencil terms as the matrix-free L (``DickeLiouvillian``: its
u, v vectors and the model's coefficients, passed to the host as arrays), so both are the same
operator. Inside ``custom_linear_solve`` (``solve.py``) the transposed system of reverse-mode
derivatives is solved with the same factorisation type (``trans="T"``); the call goes through
``permjax.host.host_call`` (jit and vmap; on a GPU it runs on the host CPU).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from typing import ClassVar

from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import trace_weight
from ..host import host_call
from ..resources import SAFETY, MemoryEstimate
from .base import ROUNDOFF_SLACK, SolveResult, Solver, Status, norm, small_block_memory

#: symmetric-block sparse LU: factor entries at N = 800, growth exponent, peak / factor bytes
#: (SuperLU, COLAMD order: 5.3·10⁶, 2.7·10⁷, 1.44·10⁸ entries at N = 200, 400, 800, pure boundary
#: time crystal and collective LMG alike; peak resident memory of a fresh process 1.3–1.6 times
#: the factors plus 0.5 GB: 1.08, 6.4–6.8, 15.3 GB at N = 400, 1000, 1500)
SYMMETRIC_LU_ENTRIES_800 = 1.44e8
SYMMETRIC_LU_EXPONENT = 2.4
SYMMETRIC_LU_PEAK = 1.6
#: every J-block (a 3-D stencil of N³/6 unknowns): peak 5.7 GB measured at N = 80 (LMG, XYZ, the
#: BTC: 4.9–5.7 GB), grown like the fill of a 3-D nested-dissection order, (N³)^(5/3)
ALL_BLOCKS_PEAK_80 = 5.7e9
#: largest N at which ``method="auto"`` solves every J-block by this sparse LU: no Krylov loop to
#: compile, and up to here faster warm too (benchmarks/small.py, results/small.json: LMG, XYZ and the
#: BTC on the 2-core CPU at N = 20, first call in a fresh process 0.80–1.00 s against the Krylov
#: solvers' 1.38–1.84 s with an empty cache, 0.42–0.50 s against 0.42–0.49 s with a filled one,
#: warm 35–59 ms against 78–143 ms; at N = 24 the XYZ model's LU is slower warm, 226 against 176 ms)
ALL_BLOCKS_MAX_N = 20


def liouvillian_matrix(weights, u, v, groups, layout: DickeLayout) -> sp.csr_matrix:
    """L on the valid entries (|M|, |M′| ≤ J) in C order of (j, a, a′), sparse (CSR)."""
    shape = (layout.n_J, layout.n_M, layout.n_M)
    valid = layout.block_mask
    index = np.full(shape, -1, np.int64)
    index[valid] = np.arange(int(valid.sum()))
    n = int(valid.sum())
    rows, cols, vals = [], [], []
    for shift, lo, hi in groups:
        coef = np.einsum("t,tja,tjb->jab", np.asarray(weights[lo:hi], np.complex128), u[lo:hi], v[lo:hi])
        src = np.argwhere(valid & (coef != 0))
        tgt = src + np.asarray(shift)[None, :]
        inside = np.all((tgt >= 0) & (tgt < np.asarray(shape)[None, :]), axis=1)
        src, tgt = src[inside], tgt[inside]
        t_idx = index[tgt[:, 0], tgt[:, 1], tgt[:, 2]]
        keep = t_idx >= 0
        rows.append(t_idx[keep])
        cols.append(index[src[keep, 0], src[keep, 1], src[keep, 2]])
        vals.append(coef[src[keep, 0], src[keep, 1], src[keep, 2]])
    A = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return A.tocsr()


def assemble(liouvillian) -> sp.csr_matrix:
    """``liouvillian_matrix`` of a ``DickeLiouvillian`` with concrete coefficients."""
    L = liouvillian
    return liouvillian_matrix(np.asarray(L.weights), np.asarray(L.u), np.asarray(L.v), L.groups, L.layout)


def trace_functionals(layout: DickeLayout) -> tuple[np.ndarray, np.ndarray]:
    """(w, t) on the valid entries in C order of (j, a, a′): the trace weight (``trace_weight``)
    and the trace functional t (1 on the diagonal entries, Tr ρ = tᵀρ)."""
    valid = layout.block_mask
    diag = np.broadcast_to(np.eye(layout.n_M, dtype=bool), valid.shape)[valid]
    return np.real(np.asarray(trace_weight(layout)))[valid], diag.astype(np.float64)


def augmented_apply(L, w, t, x, transposed: bool = False):
    """A x = L x + w (tᵀx), or Aᵀ x = Lᵀx + t (wᵀx): the augmented operator on the host."""
    if transposed:
        return L.T @ x + t * (w @ x)
    return L @ x + w * (t @ x)


class AugmentedLU:
    """A = L + w tᵀ (t: the trace functional, w: ``trace_weight``) through one sparse LU.

    A dense rank-one term would fill the factors, so the LU is of L̃ = L with the row of one
    diagonal entry k replaced by tᵀ (nonsingular when the steady state is unique: tᵀL = 0 makes
    that row redundant), and A = L̃ + U Vᵀ with U = [e_k, w − e_k], V = [L_k, t] (L_k: row k of L)
    is restored by the Woodbury identity, for A and for Aᵀ alike. ``w``, ``t`` are those of
    ``layout`` (``trace_functionals``) or given (a single J-block's, ``jblock.py``)."""

    def __init__(self, L: sp.csr_matrix, layout: DickeLayout | None = None, *, w=None, t=None):
        if layout is not None:
            w, t = trace_functionals(layout)
        n = L.shape[0]
        diag = np.nonzero(t)[0]
        Ld = np.abs(L.diagonal())
        k = int(diag[np.argmax(Ld[diag])])
        Lk = np.asarray(L.getrow(k).todense()).ravel()
        Lt = sp.lil_matrix(L)
        Lt[k, :] = t
        self.lu = spla.splu(sp.csc_matrix(Lt))
        ek = np.zeros(n)
        ek[k] = 1.0
        self.U = np.stack([ek, w - ek], 1).astype(np.complex128)
        self.V = np.stack([Lk, t], 1).astype(np.complex128)
        self.L, self.w, self.t = sp.csr_matrix(L), w, t
        self._woodbury = {}

    def _lu_solve(self, b, transposed: bool):
        U, V = (self.V, self.U) if transposed else (self.U, self.V)
        trans = "T" if transposed else "N"
        if transposed not in self._woodbury:  # L̃⁻¹U and the 2×2 capacitance, once per direction
            Z = self.lu.solve(U, trans=trans)
            self._woodbury[transposed] = (Z, np.linalg.inv(np.eye(2) + V.T @ Z))
        Z, Cinv = self._woodbury[transposed]
        y = self.lu.solve(b, trans=trans)
        return y - Z @ (Cinv @ (V.T @ y))

    def apply(self, x, transposed: bool = False):
        """A x = L x + w (tᵀx), or Aᵀ x."""
        return augmented_apply(self.L, self.w, self.t, x, transposed)

    def solve(self, b, transposed: bool = False, refinements: int = 2):
        """A⁻¹ b (or A⁻ᵀ b), with up to ``refinements`` steps of iterative refinement: the LU's
        round-off grows with the size (relative residual 7e-11 at N = 800 in the symmetric block
        before refinement)."""
        x = self._lu_solve(b, transposed)
        bnorm = np.linalg.norm(b) or 1.0
        for _ in range(refinements):
            r = b - self.apply(x, transposed)
            if np.linalg.norm(r) <= 1e-15 * bnorm:
                break
            x = x + self._lu_solve(r, transposed)
        return x


def _host_solve(groups, layout: DickeLayout, transposed: bool):
    valid = layout.block_mask

    def f(weights, u, v, b):
        lu = AugmentedLU(liouvillian_matrix(weights, u, v, groups, layout), layout)
        x = np.zeros(b.shape, np.complex128)
        x[valid] = lu.solve(np.asarray(b, np.complex128)[valid], transposed)
        return (x,)

    return f


class Direct(Solver):
    """Sparse LU of the assembled augmented operator on the host (SuperLU through ``AugmentedLU``):
    the symmetric block up to N ≈ 1600 on 24 GB, every J-block at small N. One host call inside
    jit and vmap (on a GPU it runs on the host CPU); the transposed system of reverse-mode
    derivatives is solved with the same factorisation type (``trans="T"``)."""

    name: ClassVar[str] = "direct"
    all_blocks_max_N: int = eqx.field(default=ALL_BLOCKS_MAX_N, static=True)

    def compute(self, state, operator, b, x0, maxiter):
        L = operator.liouvillian
        fn = _host_solve(L.groups, operator.layout, operator.transposed)
        (x,) = host_call(fn, (jax.ShapeDtypeStruct(b.shape, jnp.complex128),), jax.lax.stop_gradient(L.weights),
                         jax.lax.stop_gradient(L.u), jax.lax.stop_gradient(L.v), b)
        return self.result(operator, b, x)

    def result(self, operator, b, x) -> SolveResult:
        """The ``SolveResult`` of a factorised solution x of A x = b: its relative residual, and
        successful when that is within round-off of ``tol``."""
        bnorm = norm(b)
        res = norm(b - operator.mv(x)) / jnp.where(bnorm > 0, bnorm, 1.0)
        ok = res <= ROUNDOFF_SLACK * self.tol
        return SolveResult(x, jnp.where(ok, Status.SUCCESSFUL, Status.BREAKDOWN), jnp.asarray(1), res)

    def solve_on_host(self, liouvillian, layout: DickeLayout, b) -> np.ndarray:
        """A⁻¹ b for concrete coefficients, outside any compiled program (numpy)."""
        fn = _host_solve(liouvillian.groups, layout, False)
        (x,) = fn(*(np.asarray(a) for a in (liouvillian.weights, liouvillian.u, liouvillian.v, b)))
        return x

    def memory(self, N, batch=1, block="all"):
        if block == "symmetric":
            lu = 16 * SYMMETRIC_LU_ENTRIES_800 * (N / 800) ** SYMMETRIC_LU_EXPONENT
            return small_block_memory(N, batch, lu, SYMMETRIC_LU_PEAK)
        peak = ALL_BLOCKS_PEAK_80 * (N / 80) ** 5
        return MemoryEstimate(0, int(SAFETY * batch * peak), {"sparse LU (fit at N = 80)": int(peak)})

    def supports(self, N, model, block="all"):
        """The symmetric block at any N; every J-block up to ``all_blocks_max_N``."""
        return block == "symmetric" or (block == "all" and N <= self.all_blocks_max_N)


def population_generator(model, layout: DickeLayout) -> sp.csr_matrix:
    """The rate matrix W of a model's populations: the q = 0 (diagonal) restriction of the
    q-conserving part of L, (W p)[t] = Σ_s W[t, s] p[s] over the states (j, a) with |M| ≤ J in C
    order (``np.nonzero(layout.mask)``). For a q-conserving model, W p = 0 gives its (diagonal)
    steady state; for LMG at h = 0 this is Eq. 30. Concrete coefficients only (host numpy)."""
    from ..models.pimodel import as_model
    from ..dicke.liouvillian import conserves_q, dicke_liouvillian

    L = dicke_liouvillian(as_model(model), layout)
    weights, u, v = (np.asarray(x) for x in (L.weights, L.u, L.v))
    index = np.full(layout.mask.shape, -1, np.int64)
    index[layout.mask] = np.arange(int(layout.mask.sum()))
    rows, cols, vals = [], [], []
    for (dj, dm, dmp), lo, hi in L.groups:
        if not conserves_q((dj, dm, dmp)):
            continue
        coef = np.einsum("t,tja,tja->ja", weights[lo:hi].astype(np.complex128), u[lo:hi], v[lo:hi])
        src = np.argwhere(layout.mask & (coef != 0))
        tgt = src + np.array([dj, dm])[None, :]
        ok = np.all((tgt >= 0) & (tgt < np.array(layout.mask.shape)[None, :]), axis=1)
        src, tgt = src[ok], tgt[ok]
        t_idx = index[tgt[:, 0], tgt[:, 1]]
        keep = t_idx >= 0
        rows.append(t_idx[keep])
        cols.append(index[src[keep, 0], src[keep, 1]])
        vals.append(np.real(coef[src[keep, 0], src[keep, 1]]))
    n = int(layout.mask.sum())
    return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
