"""J-block method: GMRES on the host, right-preconditioned by the exact inverse of the
J-conserving part of the augmented Liouvillian. Registered as ``steady_state(method="jblock")``.

A = L + w Tr(·) splits as A = A_J + A_×, with A_J the ΔJ = 0 terms — the Hamiltonian, the
collective jumps, the J-preserving part of the local jumps and each block's share of the trace
term, block-diagonal in J — and A_× the J → J ± 1 parts of the local jumps (docs/theory.md §6). A_J⁻¹ is
applied block by block, each (2J+1)² block a 2-D stencil in (M, M′) factorised by SuperLU with
that block's share of the trace term added by Sherman–Morrison (``BlockInverse``). This is the
complement of the q-conserving preconditioner of ``fast.py``: that one is exact for the
J-changing local jumps and leaves out the q-changing Hamiltonian; this one holds the whole
Hamiltonian and leaves out the weaker J-changing jumps. It pays where a strong anisotropic
Hamiltonian meets weak local damping (XYZ at J_y = −3, γ = 0.2: 98 iterations against 1,247 at
N = 40, benchmarks/jblock.py), and costs more iterations where the q-conserving part dominates
(LMG's paper point: 159 against 34).

Everything runs in one ``host_call`` (scipy; on a GPU it runs on the host CPU): the sparse L
assembled from the same stencil terms as the matrix-free L (``direct.liouvillian_matrix``), the
block factorisations, and scipy's GMRES, one restart cycle at a time with the true residual
‖b − A x‖/‖b‖ checked after each (stopping as ``fast.gmres`` does: at tol, maxiter or
stagnation). The transposed system of reverse-mode derivatives uses the same factors (``trans="T"``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from typing import ClassVar

import equinox as eqx

from ..dicke.layout import DickeLayout
from ..host import host_call
from ..resources import SAFETY, MemoryEstimate
from .base import ROUNDOFF_SLACK, SolveResult, Solver, Status
from .cgls import grid_bytes
from .direct import AugmentedLU, augmented_apply, liouvillian_matrix, trace_functionals
from .gmres import STALL_RESTARTS, STENCIL_GRIDS, compiled_bytes, krylov_restart, krylov_vector_bytes

#: SuperLU factor entries of the J-conserving part at N = 160 (XYZ at J_y = −3: 6.8·10⁶, 8.3·10⁷ at
#: N = 80, 160; LMG 6.1·10⁶, 7.1·10⁷), growth exponent; bytes per sparse entry (complex128 value,
#: int32 index); sparse matrices alive at once (L, its CSR and COO copies, L_J)
JBLOCK_LU_ENTRIES_160 = 8.3e7
JBLOCK_LU_EXPONENT = 3.6
SPARSE_ENTRY_BYTES = 20
JBLOCK_SPARSE_COPIES = 4


class BlockInverse:
    """(L + w tᵀ)⁻¹ for one J-block: the sparse LU of L and the Sherman–Morrison correction,

        (L + w tᵀ)⁻¹ b = L⁻¹b − z (tᵀL⁻¹b)/(1 + tᵀz),   z = L⁻¹w,

    and likewise for the transpose (z = L⁻ᵀt). A block's L alone is singular when nothing leaves
    it (the top block of pure local decay, where |↓…↓⟩ is steady): there the LU is of L with a
    row replaced by the trace (``direct.AugmentedLU``), whose dense trace row costs fill, so it
    serves only those blocks."""

    def __init__(self, L, w, t):
        self.w, self.t = w, t
        self.lu, self.augmented, self._z = None, None, {}
        try:
            lu = spla.splu(sp.csc_matrix(L))
            z = lu.solve(w.astype(np.complex128))
            ok = np.all(np.isfinite(z)) and np.linalg.norm(L @ z - w) <= 1e-8 * np.linalg.norm(w)
        except RuntimeError:  # exactly singular
            ok = False
        if ok:
            self.lu, self._z[False] = lu, z
        else:
            self.augmented = AugmentedLU(L, w=w, t=t)

    def solve(self, b, transposed: bool = False):
        if self.lu is None:
            return self.augmented.solve(b, transposed, refinements=0)
        trans = "T" if transposed else "N"
        left, right = (self.t, self.w) if transposed else (self.w, self.t)
        if transposed not in self._z:
            self._z[transposed] = self.lu.solve(left.astype(np.complex128), trans=trans)
        z = self._z[transposed]
        y = self.lu.solve(b, trans=trans)
        return y - z * ((right @ y) / (1.0 + right @ z))


class JConservingInverse:
    """A_J⁻¹ (or A_Jᵀ⁻¹): the ΔJ = 0 part of the augmented operator inverted block by block."""

    def __init__(self, weights, u, v, groups, layout: DickeLayout):
        same_J = tuple(g for g in groups if g[0][0] == 0)
        L_J = liouvillian_matrix(weights, u, v, same_J, layout)
        w, t = trace_functionals(layout)
        j = np.nonzero(layout.block_mask)[0]
        self.spans = [slice(int(lo), int(hi)) for lo, hi in zip(np.searchsorted(j, np.arange(layout.n_J)),
                                                                 np.searchsorted(j, np.arange(layout.n_J), "right"))]
        self.blocks = [BlockInverse(L_J[s, s], w[s], t[s]) for s in self.spans]

    def __call__(self, b, transposed: bool = False):
        x = np.empty_like(b)
        for s, block in zip(self.spans, self.blocks):
            x[s] = block.solve(b[s], transposed)
        return x


def solve_host(weights, u, v, b, x0, *, groups, layout: DickeLayout, transposed: bool, tol: float,
               maxiter: int, restart: int):
    """(x, iterations, residual, stagnated) for A x = b (Aᵀ x = b when ``transposed``) on the valid entries."""
    A = liouvillian_matrix(weights, u, v, groups, layout)
    w, t = trace_functionals(layout)

    def apply(x):
        return augmented_apply(A, w, t, x, transposed)

    P = JConservingInverse(weights, u, v, groups, layout)
    n = A.shape[0]
    count = [0]  # GMRES iterations

    def matvec(y):
        return apply(P(y, transposed))

    def step(_):  # scipy's callback, once per inner iteration
        count[0] += 1

    op = spla.LinearOperator((n, n), matvec=matvec, dtype=np.complex128)
    bnorm = np.linalg.norm(b) or 1.0
    # one restart cycle per call, x0 entering through its residual (A P⁻¹ y = b − A x0); stop
    # at tol, at maxiter, or when the true residual has not halved over STALL_RESTARTS cycles
    x, its = x0, 0
    res = np.linalg.norm(b - apply(x)) / bnorm
    history = [res]
    while res > tol and its < maxiter:
        r = b - apply(x)
        m = min(restart, maxiter - its)
        y, _ = spla.gmres(op, r, restart=m, maxiter=1, rtol=tol * bnorm / (np.linalg.norm(r) or 1.0), atol=0.0,
                          callback=step, callback_type="pr_norm")
        x = x + P(y, transposed)
        its = count[0]
        res = np.linalg.norm(b - apply(x)) / bnorm
        history.append(res)
        if len(history) > STALL_RESTARTS and res > 0.5 * history[-1 - STALL_RESTARTS]:
            return x, its, res, True
    return x, its, res, False


class JBlock(Solver):
    """GMRES on the host, right-preconditioned by the exact inverse of the J-conserving part of A
    (module docstring): for strong anisotropic Hamiltonians under weak local damping, where the
    q-conserving preconditioner of ``GMRES`` needs thousands of iterations.

    Its factors are SuperLU objects on the host, so its Krylov iteration runs there too (one host
    call per solve, under jit and vmap); the transposed system uses the same factors.

    Attributes:
        restart: Krylov basis between restarts (``None``: ``gmres.krylov_restart``, 20–100).
    """

    restart: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "jblock"

    def compute(self, state, operator, b, x0, maxiter):
        L, layout = operator.liouvillian, operator.layout
        valid = layout.block_mask
        restart = krylov_restart(layout) if self.restart is None else self.restart
        tol = self.tol

        def f(weights, u, v, b, x0):
            x = np.zeros(b.shape, np.complex128)
            xv, its, res, stalled = solve_host(np.asarray(weights), np.asarray(u), np.asarray(v),
                                               np.asarray(b, np.complex128)[valid], np.asarray(x0, np.complex128)[valid],
                                               groups=L.groups, layout=layout, transposed=operator.transposed, tol=tol,
                                               maxiter=maxiter, restart=restart)
            x[valid] = xv
            st = Status.SUCCESSFUL if res <= ROUNDOFF_SLACK * tol else (Status.STAGNATED if stalled else Status.MAX_STEPS)
            return x, np.int32(its), np.float64(res), np.int32(st)

        out = (jax.ShapeDtypeStruct(b.shape, jnp.complex128), jax.ShapeDtypeStruct((), jnp.int32),
               jax.ShapeDtypeStruct((), jnp.float64), jax.ShapeDtypeStruct((), jnp.int32))
        sg = jax.lax.stop_gradient
        x, its, res, st = host_call(f, out, sg(L.weights), sg(L.u), sg(L.v), b, x0)
        return SolveResult(x, st, its, res)

    def memory(self, N, batch=1, block="all"):
        layout = DickeLayout(N)
        n = layout.n_unknowns
        restart = krylov_restart(layout) if self.restart is None else self.restart
        parts = {
            "Krylov basis": (restart + 1) * krylov_vector_bytes(layout),
            "sparse L": JBLOCK_SPARSE_COPIES * SPARSE_ENTRY_BYTES * 8 * n,
            "sparse LU factors": int(SPARSE_ENTRY_BYTES * JBLOCK_LU_ENTRIES_160 * (N / 160) ** JBLOCK_LU_EXPONENT),
            "work grids": STENCIL_GRIDS * grid_bytes(N),
        }
        compiled = compiled_bytes(N)  # the jitted wrapper (residual, diagnostics): bounded by GMRES's
        return MemoryEstimate(0, int(SAFETY * (batch * sum(parts.values()) + compiled)), {**parts, "compiled": compiled})

    def supports(self, N, model, block="all"):
        return False  # a fallback of Auto (no small-N probe predicts where it wins)
