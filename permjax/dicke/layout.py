"""Dicke-basis layout: the J-blocks of a permutation-invariant state on a padded grid (docs/theory.md §4).

A permutation-invariant state is ρ_T = ⊕_J ρ_J ⊗ 1_{dim_J}/dim_J (Eq. 20), with
J ∈ {N/2 mod 1, …, N/2} and blocks indexed by M, M′ ∈ {−J, …, J}.

Layout: every block lives on the same padded grid indexed by ``a = M + N/2 ∈ {0, …, N}``,
so a state is an array ``rho[j, a, a′]`` of shape ``(n_J, N+1, N+1)`` (``j`` indexes J
from J_min upward) and populations are ``p[j, a]`` of shape ``(n_J, N+1)``. Entries with
|M| > J are padding and stay zero. Why padded: every term of the Liouvillian (Eqs. 23–26)
then becomes an elementwise product with a coefficient array plus a fixed shift of the
(j, a, a′) grid — the same shift for every block — so a matvec is a handful of fused,
vectorised array ops on CPU and GPU, with no gathers. The price is ~3× the Σ_J (2J+1)²
unknowns in memory.

The symmetric block alone (``DickeLayout(N, symmetric=True)``): the single block J = N/2 on
the same kind of grid, shape (1, N+1, N+1) — the invariant subspace of models without local
jumps (dim_{N/2} = 1), where O(N²) unknowns reach N in the thousands.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from ..models.families import validate_N


@dataclasses.dataclass(frozen=True)
class DickeLayout:
    """Static description of the padded J-block grid for ``N`` qubits (hashable: usable as a jit static)."""

    N: int
    symmetric: bool = False

    def __post_init__(self):
        object.__setattr__(self, "N", validate_N(self.N))
        object.__setattr__(self, "symmetric", bool(self.symmetric))

    @property
    def J_min(self) -> float:
        return self.N / 2.0 if self.symmetric else (self.N % 2) / 2.0

    @property
    def n_J(self) -> int:
        return 1 if self.symmetric else self.N // 2 + 1

    @property
    def n_M(self) -> int:
        return self.N + 1

    @functools.cached_property
    def J(self) -> np.ndarray:
        """J values, shape (n_J,)."""
        return self.J_min + np.arange(self.n_J, dtype=np.float64)

    @functools.cached_property
    def M(self) -> np.ndarray:
        """M values of the padded index a, shape (N+1,)."""
        return np.arange(self.n_M, dtype=np.float64) - self.N / 2.0

    @functools.cached_property
    def mask(self) -> np.ndarray:
        """Boolean (n_J, N+1): True where |M| ≤ J (a real population slot)."""
        return np.abs(self.M)[None, :] <= self.J[:, None] + 1e-9

    @functools.cached_property
    def block_mask(self) -> np.ndarray:
        """Boolean (n_J, N+1, N+1): True where both |M| ≤ J and |M′| ≤ J."""
        return self.mask[:, :, None] & self.mask[:, None, :]

    @functools.cached_property
    def log_dim(self) -> np.ndarray:
        """ln dim_J for each block (Eq. 21), shape (n_J,).

        Plain numpy (``math.lgamma``), never traced: safe to cache when first used inside jit.
        """
        N = self.N
        return np.array([math.log(2 * J + 1) + math.lgamma(N + 1) - math.lgamma(N / 2 + J + 2)
                         - math.lgamma(N / 2 - J + 1) for J in self.J])

    def traced_block_mask(self):
        """``block_mask`` computed from iotas inside traced code (no (n_J, N+1, N+1) literal in
        the compiled program: such constants, repeated at every use, slow XLA's compile)."""
        import jax

        shape = (self.n_J, self.n_M, self.n_M)
        j, a, b = (jax.lax.broadcasted_iota(np.int32, shape, k) for k in range(3))
        two_j = 2 * j + int(round(2 * self.J_min))  # 2J
        return (abs(2 * a - self.N) <= two_j) & (abs(2 * b - self.N) <= two_j)

    def _block_span(self, j):
        """(offset, size, lo) of block j (integer arrays): its offset in the packed vector,
        Σ_{i<j} (2J_i+1)² with 2J_i+1 = c + 2i (closed form), its size 2J+1, and lo = a of M = −J."""
        c = int(round(2 * self.J_min)) + 1
        size = c + 2 * j
        return (j * c * c + 2 * c * j * (j - 1) + 4 * (j - 1) * j * (2 * j - 1) // 6, size,
                (self.N + 1 - size) // 2)

    def pack(self, x):
        """The valid entries of a grid x[j, a, a′] as a vector of length ``n_unknowns``, block by
        block in row-major order (equal to ``x[block_mask]``). Index maps come from iotas: no
        index literal enters a compiled program."""
        import jax
        import jax.numpy as jnp

        p = jax.lax.iota(jnp.int32, self.n_unknowns)
        offsets = self._block_span(jnp.arange(self.n_J, dtype=jnp.int32))[0]
        j = jnp.searchsorted(offsets, p, side="right") - 1
        _, size, lo = self._block_span(j)
        r = p - offsets[j]
        return x[j, lo + r // size, lo + r % size]

    def unpack(self, v):
        """Inverse of ``pack``: the grid (n_J, N+1, N+1) with v on the valid entries, 0 elsewhere."""
        import jax
        import jax.numpy as jnp

        shape = (self.n_J, self.n_M, self.n_M)
        j, a, b = (jax.lax.broadcasted_iota(jnp.int32, shape, k) for k in range(3))
        offset, size, lo = self._block_span(j)
        ok = (a >= lo) & (a < lo + size) & (b >= lo) & (b < lo + size)
        index = jnp.where(ok, offset + (a - lo) * size + (b - lo), 0)
        return jnp.where(ok, v[index], 0)

    @property
    def n_unknowns(self) -> int:
        """Σ_J (2J+1)², the number of complex entries of a state (≈ N³/6)."""
        return int(np.sum((2 * self.J + 1) ** 2))
