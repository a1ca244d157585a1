"""Exact inverse of the q-conserving part of the (trace-augmented) Liouvillian, as a preconditioner.

The q = M − M′ conserving part L₀ (``liouvillian_conserving``: the ΔM = ΔM′ stencil terms — the
diagonal of K, collective sandwiches A_δ ρ A_δ†, local S_αα) splits into independent sectors
q = −N … N, each a 2-D (J, M) problem; for LMG, L₀ is exactly the h = 0 part (Eqs. 23–26).
Its sources lie at (ΔJ, ΔM) ∈ {−1, 0, 1}² from a target (ΔM′ = ΔM). Ordered by layers
ℓ = M′ + N/2 (vectors over J in each layer) a sector is block-tridiagonal,

    D_ℓ x_ℓ + E_ℓ x_{ℓ+1} + T_ℓ x_{ℓ−1} = r_ℓ,     D, E, T tridiagonal in J,

which block elimination solves exactly: S_0 = D_0, S_ℓ = D_ℓ − T_ℓ S_{ℓ−1}⁻¹ E_{ℓ−1}, keeping
S_ℓ⁻¹ (batched dense inverses: vmap over sectors, scan over layers). The coefficients are the
Liouvillian's own (``DickeLiouvillian.coefficients``), so this module cannot drift from it.

Half the work: L₀ maps Hermitian matrices to Hermitian ones, and sector −q of a Hermitian
matrix is the conjugate transpose of sector q; only q ≥ 0 is factorised, and a general input
is split r = H₁ + iH₂ into Hermitian parts (two right-hand sides of the same factors). Shifted
by a complex σ (shift-invert, ``spectrum.py``) this fails; then (L₀ − σ)X† = ((L₀ − σ̄)X)† and
the sectors q < 0 are the conjugate transposes of sector solves of L₀ − σ̄ (``hermitian=False``).

Sector sizes: in sector q only J ≥ q/2 exist and only N+1−q layers, so sectors are grouped by q
and each group is trimmed to the J and ℓ ranges it needs (memory ≈ N⁴/14 complex numbers
instead of N⁴/4). Sector 0 is a group of its own.

Sector q = 0 holds the populations, where L₀ is a (singular) rate matrix W and the augmented
operator adds the rank-one w Tr(·) (``solve.py``). There the factorised matrix is
B = W + s e_k e_kᵀ (one diagonal entry shifted at a state k, which keeps the block structure;
B is nonsingular iff the populations p of W's steady state have p_k ≠ 0, and well conditioned
when p_k is large), and the rank-two difference to W + w 1ᵀ is restored by the Woodbury
identity. The state k is chosen as the largest entry of the resolvent (εs − W)⁻¹ w, ε = 10⁻⁶
(sector 0 factorised once more with that shift: positive, concentrated where W's steady state
is). The transposed operator (adjoint solves of reverse-mode differentiation) reuses the same
factors: M = L̃Ũ gives Mᵀ = ŨᵀL̃ᵀ, solved by a forward and a backward sweep over the layers with
S_ℓ⁻ᵀ (``_solve_group_transposed``); only the 2×2 Woodbury correction is recomputed.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import linalg
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import DickeLiouvillian, dicke_liouvillian, trace_weight
from .base import Preconditioner

#: resolvent shift (relative to the largest outflow rate) of the pin-state search
PIN_RESOLVENT_SHIFT = 1e-6


def conserving_stencil(L: DickeLiouvillian) -> dict:
    """{(ΔJ, ΔM): C} for ΔJ, ΔM ∈ {−1, 0, 1}, C of shape (n_J, N+1, N+1), with

        (L₀ρ)[j, a, a′] = Σ C[j, a, a′] ρ[j−ΔJ, a−ΔM, a′−ΔM]   (zero where absent)."""
    lay = L.layout
    coeffs = L.coefficients("conserving")
    shape = (lay.n_J, lay.n_M, lay.n_M)
    out = {(dj, dm): jnp.zeros(shape, jnp.complex128) for dj in (-1, 0, 1) for dm in (-1, 0, 1)}
    for (dj, dm, _), c in coeffs.items():
        out[dj, dm] = out[dj, dm] + c
    return out


def sector_groups(N: int, n_groups: int | None = None, symmetric: bool = False) -> tuple[tuple[int, int, int, int], ...]:
    """Static grouping of sectors q = 0…N: ``(q_lo, q_hi, j_lo, n_layers)`` per group, where
    the group's sectors need J indices j ≥ j_lo (J ≥ q_lo/2) and layers ℓ < n_layers = N+1−q_lo.
    Sector 0 is always a group of its own (its pin is chosen after a first factorisation)."""
    lay = DickeLayout(N, symmetric)
    n_groups = n_groups or max(1, min(8, (N + 1) // 12))
    edges = np.unique(np.concatenate([[0], np.round(np.linspace(1, N + 1, n_groups + 1)).astype(int)]))
    out = []
    for q_lo, q_hi in zip(edges[:-1], edges[1:]):
        j_lo = int(np.ceil(q_lo / 2 - lay.J_min - 1e-9))
        out.append((int(q_lo), int(q_hi), max(j_lo, 0), N + 1 - int(q_lo)))
    return tuple(out)


def _gather_indices(N: int, group, xp=jnp):
    """Index arrays mapping sector coordinates (q, ℓ) of a group to (a, a′) = (ℓ+q, ℓ): numpy
    for static arrays, else iotas (traced: no index literals in the compiled program)."""
    q_lo, q_hi, _, n_l = group
    shape = (q_hi - q_lo, n_l)
    if xp is np:
        q, l = np.indices(shape)
    else:
        q, l = (jax.lax.broadcasted_iota(jnp.int32, shape, k) for k in (0, 1))
    a = q + q_lo + l
    ok = a <= N
    return xp.where(ok, a, 0), l, ok


def to_sectors(x, N: int, group, xp=jnp):
    """x[j, a, a′] → X[q, ℓ, j] = x[j, ℓ+q, ℓ] for the group's q ≥ 0 and j ≥ j_lo (0 off range).
    ``xp=numpy`` for static arrays (keeps XLA from constant-folding large gathers)."""
    a, ap, ok = _gather_indices(N, group, xp)
    X = x[group[2]:, a, ap]  # (nb, nq, nl)
    return xp.where(ok[None], X, 0).transpose(1, 2, 0)


def lower_from_sectors(groups_out, N: int, groups, layout: DickeLayout):
    """Inverse of ``to_sectors`` on the entries a ≥ a′ (sector q = a − a′ ≥ 0 of the groups
    given); the entries a < a′ are 0."""
    lower = jnp.zeros((layout.n_J, layout.n_M, layout.n_M), jnp.complex128)
    shape = (layout.n_M, layout.n_M)
    ap = jax.lax.broadcasted_iota(jnp.int32, shape, 1)
    qq = jax.lax.broadcasted_iota(jnp.int32, shape, 0) - ap
    for X, g in zip(groups_out, groups):
        q_lo, q_hi, j_lo, n_l = g
        sel = (qq >= q_lo) & (qq < q_hi)
        qi = jnp.where(sel, qq - q_lo, 0)
        li = jnp.where(sel, ap, 0)
        vals = X[qi, li, :]  # (n_M, n_M, nb)
        vals = jnp.where(sel[:, :, None], vals, 0.0).transpose(2, 0, 1)
        lower = lower.at[j_lo:].add(vals)
    return lower


def from_sectors(groups_out, N: int, groups, layout: DickeLayout):
    """Inverse of ``to_sectors`` for a Hermitian result: entries with a ≥ a′ come from sector
    q = a − a′ ≥ 0, those with a < a′ are the complex conjugates of their mirror images."""
    lower = lower_from_sectors(groups_out, N, groups, layout)
    diag = jnp.diagonal(lower, axis1=1, axis2=2)
    upper = jnp.conj(jnp.swapaxes(lower, 1, 2))
    eye = jnp.eye(layout.n_M, dtype=bool)
    return jnp.where(eye, diag[:, :, None] * jnp.eye(layout.n_M), lower + upper)


# --- tridiagonal blocks as three diagonals (sub, main, super) over J ------------------------


def _tri_vec(T, x):
    """(T x)[j] = sub[j] x[j−1] + main[j] x[j] + sup[j] x[j+1]; T = (sub, main, sup), x (..., nb)."""
    sub, main, sup = T
    xm = jnp.pad(x[..., :-1], [(0, 0)] * (x.ndim - 1) + [(1, 0)])
    xp = jnp.pad(x[..., 1:], [(0, 0)] * (x.ndim - 1) + [(0, 1)])
    return sub * xm + main * x + sup * xp


def _tri_left(T, X):
    """T @ X for a dense (..., nb, nb) X."""
    sub, main, sup = (t[..., :, None] for t in T)
    pad = [(0, 0)] * (X.ndim - 2)
    Xm = jnp.pad(X[..., :-1, :], pad + [(1, 0), (0, 0)])
    Xp = jnp.pad(X[..., 1:, :], pad + [(0, 1), (0, 0)])
    return sub * Xm + main * X + sup * Xp


def _tri_transpose(T):
    sub, main, sup = T
    z = jnp.zeros_like(main[..., :1])
    return (jnp.concatenate([z, sup[..., :-1]], -1), main, jnp.concatenate([sub[..., 1:], z], -1))


def _tri_right(X, T):
    """X @ T = (Tᵀ Xᵀ)ᵀ."""
    return jnp.swapaxes(_tri_left(_tri_transpose(T), jnp.swapaxes(X, -1, -2)), -1, -2)


class GroupFactor(eqx.Module):
    """Block-elimination factors of one group of sectors (arrays indexed [ℓ, q, ...])."""

    Sinv: jax.Array  # (nl, nq, nb, nb)  S_ℓ⁻¹
    lower: tuple  # three (nl, nq, nb): T coupling layer ℓ−1 into ℓ (sub, main, super diagonals in J)
    upper: tuple  # three (nl, nq, nb): coupling layer ℓ+1 into ℓ


def _factor_group(D, lower, upper, dtype=jnp.complex128) -> GroupFactor:
    """Block Thomas elimination over layers (scan), all sectors of the group at once; D, lower,
    upper are (sub, main, super) triples of (nl, nq, nb) arrays. The elimination runs in
    complex128; the S_ℓ⁻¹ kept are stored as ``dtype``."""
    nb = D[1].shape[-1]
    eye = jnp.eye(nb, dtype=D[1].dtype)

    def step(Sinv_prev, inp):
        d, lo, up_prev = inp
        S = _tri_left(d, jnp.broadcast_to(eye, d[1].shape + (nb,))) - _tri_left(lo, _tri_right(Sinv_prev, up_prev))
        Sinv = linalg.inv(S)
        return Sinv, Sinv.astype(dtype)

    up_prev = tuple(jnp.concatenate([jnp.zeros_like(u[:1]), u[:-1]], 0) for u in upper)
    Sinv0 = jnp.zeros(D[1].shape[1:] + (nb,), D[1].dtype)
    _, Sinv = jax.lax.scan(step, Sinv0, (D, lower, up_prev))
    return GroupFactor(Sinv, lower, upper)


def _solve_group(f: GroupFactor, R):
    """Solve the group's block-tridiagonal systems for right-hand sides R (nl, nrhs, nq, nb)."""

    def fwd(z_prev, inp):
        Sinv, lo, r = inp
        y = r - _tri_vec(lo, z_prev)
        z = jnp.einsum("qij,rqj->rqi", Sinv, y)
        return z, z

    _, Z = jax.lax.scan(fwd, jnp.zeros_like(R[0]), (f.Sinv, f.lower, R))

    def bwd(x_next, inp):
        Sinv, up, z = inp
        x = z - jnp.einsum("qij,rqj->rqi", Sinv, _tri_vec(up, x_next))
        return x, x

    _, X = jax.lax.scan(bwd, jnp.zeros_like(R[0]), (f.Sinv, f.upper, Z), reverse=True)
    return X



def _solve_group_transposed(f: GroupFactor, R):
    """Solve the transposed systems Mᵀ x = r with M's factors: M = L̃Ũ (L̃: diagonal S_ℓ, below it
    T_ℓ = lower; Ũ: unit diagonal, above it S_ℓ⁻¹E_ℓ, E_ℓ = upper), so Mᵀ = Ũᵀ L̃ᵀ:
    y_ℓ = r_ℓ − E_{ℓ−1}ᵀ S_{ℓ−1}⁻ᵀ y_{ℓ−1} forward, then x_ℓ = S_ℓ⁻ᵀ (y_ℓ − T_{ℓ+1}ᵀ x_{ℓ+1}) backward."""
    SinvT = jnp.swapaxes(f.Sinv, -1, -2)
    up_prev = tuple(jnp.concatenate([jnp.zeros_like(u[:1]), u[:-1]], 0) for u in _tri_transpose(f.upper))
    lo_next = tuple(jnp.concatenate([l[1:], jnp.zeros_like(l[:1])], 0) for l in _tri_transpose(f.lower))

    def fwd(w_prev, inp):
        SiT, up, r = inp
        y = r - _tri_vec(up, w_prev)
        return jnp.einsum("qij,rqj->rqi", SiT, y), y

    _, Y = jax.lax.scan(fwd, jnp.zeros_like(R[0]), (SinvT, up_prev, R))

    def bwd(x_next, inp):
        SiT, lo, y = inp
        x = jnp.einsum("qij,rqj->rqi", SiT, y - _tri_vec(lo, x_next))
        return x, x

    _, X = jax.lax.scan(bwd, jnp.zeros_like(R[0]), (SinvT, lo_next, Y), reverse=True)
    return X


class ConservingPreconditioner(eqx.Module):
    """x ↦ (A₀ − σ)⁻¹ x for A₀ = L₀ + w Tr(·) (or its transpose), L₀ the q-conserving part of L.
    Build with ``conserving_preconditioner``; call it on (n_J, N+1, N+1) arrays."""

    groups: tuple
    woodbury_Z: jax.Array  # (2, nl0, nb0): B⁻¹U (transposed: B⁻ᵀU) restricted to sector 0
    woodbury_Cinv: jax.Array  # (2, 2)
    pin: tuple  # (ℓ_k, j_k) in sector 0, traced ints
    pin_scale: jax.Array  # s of B = W + s e_k e_kᵀ
    uv: jax.Array  # (2, nl0, nb0): u, v of A₀ = B + [−s e_k, u][e_k, v]ᵀ on sector 0 (untransposed)
    mirror: tuple | None  # factors of A₀ − σ̄ for the sectors q > 0 (complex σ), else None
    layout: DickeLayout = eqx.field(static=True)
    transposed: bool = eqx.field(static=True)
    layout_groups: tuple = eqx.field(static=True)

    @property
    def v0(self):
        """The second Woodbury column of V on sector 0 (v; for the transpose, u)."""
        return self.uv[0] if self.transposed else self.uv[1]

    def transpose(self) -> "ConservingPreconditioner":
        """(A₀ − σ)ᵀ⁻¹ from the same factors (transposed elimination; only the 2×2 Woodbury
        correction is recomputed): the adjoint solve of reverse-mode derivatives factorises nothing."""
        transposed = not self.transposed
        Z, Cinv = _woodbury_terms(self.groups[0], self.pin, self.pin_scale, self.uv, transposed, self.layout_groups[0],
                                  self.layout)
        return ConservingPreconditioner(self.groups, Z, Cinv, self.pin, self.pin_scale, self.uv, self.mirror, self.layout,
                                        transposed, self.layout_groups)

    def _solve(self, rhs, factors, groups):
        """Sector solves of right-hand sides ``rhs`` (a list of grids): per group (nrhs, nq, nl, nb)."""
        N, outs = self.layout.N, []
        solve = _solve_group_transposed if self.transposed else _solve_group
        for f, g in zip(factors, groups):
            R = jnp.stack([to_sectors(h, N, g) for h in rhs], 0)  # (nrhs, nq, nl, nb)
            X = solve(f, R.transpose(2, 0, 1, 3))  # (nl, nrhs, nq, nb)
            outs.append(X.transpose(1, 2, 0, 3))
        return outs

    def _woodbury(self, outs):
        """The rank-two correction on sector q = 0 (the first group), in place."""
        x0 = outs[0][:, 0]  # (nrhs, nl, nb)
        lk, jk = self.pin
        proj = jnp.stack([x0[:, lk, jk], jnp.sum(self.v0 * x0, axis=(-2, -1))], -1)  # (nrhs, 2): Vᵀ x
        corr = jnp.einsum("ab,rb->ra", self.woodbury_Cinv, proj)
        outs[0] = outs[0].at[:, 0].set(x0 - jnp.einsum("ra,alj->rlj", corr, self.woodbury_Z))
        return outs

    def __call__(self, r):
        layout, N = self.layout, self.layout.N
        mask = layout.traced_block_mask()
        if self.mirror is None:  # L₀ − σ (σ real) maps Hermitian matrices to Hermitian ones
            herm = (0.5 * (r + jnp.conj(jnp.swapaxes(r, -1, -2))), -0.5j * (r - jnp.conj(jnp.swapaxes(r, -1, -2))))
            outs = self._woodbury(self._solve(herm, self.groups, self.layout_groups))
            parts = [from_sectors([o[i] for o in outs], N, self.layout_groups, layout) for i in range(2)]
            return (parts[0] + 1j * parts[1]) * mask
        # complex σ: (L₀ − σ)X† = ((L₀ − σ̄)X)†, so the entries a < a′ of the solution are the
        # conjugate transposes of the sector q > 0 solves of A₀ − σ̄ with right-hand side r†
        outs = self._woodbury(self._solve([r], self.groups, self.layout_groups))
        lower = lower_from_sectors([o[0] for o in outs], N, self.layout_groups, layout)
        mirrored = self._solve([jnp.conj(jnp.swapaxes(r, -1, -2))], self.mirror, self.layout_groups[1:])
        strict = lower_from_sectors([o[0] for o in mirrored], N, self.layout_groups[1:], layout)
        return (lower + jnp.conj(jnp.swapaxes(strict, -1, -2))) * mask


def _layer_blocks(st: dict, layout: DickeLayout, g, shift=0.0):
    """(D, lower, upper) triples (sub, main, super in J) of shape (nl, nq, nb) for one group, of
    L₀ − shift (the identity shifted on the valid entries)."""
    N = layout.N
    S = {k: to_sectors(x, N, g).transpose(1, 0, 2) for k, x in st.items()}  # (nl, nq, nb)
    ok = to_sectors(layout.block_mask, N, g, xp=np).transpose(1, 0, 2)
    z = lambda k: jnp.where(ok, S[k], 0.0)
    # target j is fed by source j − ΔJ: sub ↔ ΔJ = +1, super ↔ ΔJ = −1
    D = (z((1, 0)), jnp.where(ok, S[(0, 0)] - shift, 1.0), z((-1, 0)))  # padding: identity rows, decoupled
    lower = tuple(z((dj, 1)) for dj in (1, 0, -1))  # source layer ℓ − 1
    upper = tuple(z((dj, -1)) for dj in (1, 0, -1))  # source layer ℓ + 1
    return D, lower, upper


#: storage of the factors S_ℓ⁻¹ by ``precision``
FACTOR_DTYPES = {"double": jnp.complex128, "single": jnp.complex64}


def conserving_preconditioner(L, layout: DickeLayout, weight, *, transposed: bool = False,
                              n_groups: int | None = None, precision: str = "double",
                              shift=0.0, hermitian: bool = True) -> ConservingPreconditioner:
    """Factorise A₀ − shift = L₀ + weight·Tr(·) − shift (``transposed``: its transpose) sector by
    sector; ``shift`` (may be traced) serves shift-invert eigenvalue solves. ``hermitian=False``
    (a complex shift) also factorises A₀ − conj(shift) for the sectors q < 0 (twice the factors).

    ``precision="single"`` stores the factors S_ℓ⁻¹ in complex64 (half the memory; they are
    computed in complex128 and applied with complex128 vectors): the preconditioner is then the
    exact inverse of an operator within ~1e-7 of A₀, a fixed linear map, so right-preconditioned
    GMRES still meets its float64 tolerance on the true residual, in a few more iterations.

    ``L``: a ``DickeLiouvillian`` (or a model, assembled here). ``weight`` is the
    (n_J, N+1, N+1) matrix w of the augmented system (diagonal, Tr w = 1), a concrete array.
    Cost: Σ_groups n_sectors × n_layers × n_J³ flops, memory ≈ N⁴/14 complex numbers.
    """
    if not isinstance(L, DickeLiouvillian):
        L = dicke_liouvillian(L, layout)
    N = layout.N
    st = conserving_stencil(L)
    groups = sector_groups(N, n_groups, layout.symmetric)
    g0 = groups[0]
    wdiag = np.real(np.diagonal(np.asarray(weight), axis1=1, axis2=2))  # (n_J, n_M)
    tr = layout.mask.astype(np.float64)
    sec = lambda x: to_sectors(x[:, :, None] * np.eye(layout.n_M), N, g0, xp=np)[0]  # diag → (nl, nb)
    # the pin: largest entry of (εs − W)⁻¹ w on sector 0
    D0, lo0, up0 = _layer_blocks(st, layout, g0)
    ok0 = to_sectors(layout.block_mask, N, g0, xp=np).transpose(1, 0, 2)
    scale = jnp.max(jnp.where(ok0, jnp.abs(D0[1]), 0.0)) + 1e-300
    probe = _factor_group((D0[0], jnp.where(ok0, D0[1] - PIN_RESOLVENT_SHIFT * scale, D0[1]), D0[2]), lo0, up0)
    res = _solve_group(probe, jnp.asarray(sec(wdiag), jnp.complex128)[:, None, None, :])[:, 0, 0]  # (nl, nb)
    flat = jnp.argmax(jnp.where(ok0[:, 0], jnp.abs(res), -1.0))
    ak, jk = flat // res.shape[1], flat % res.shape[1]
    factors = []
    for gi, g in enumerate(groups):
        if gi == 0:  # the probe's blocks, shifted on the valid entries
            D, lower, upper = (D0[0], jnp.where(ok0, D0[1] - shift, D0[1]), D0[2]), lo0, up0
            D = (D[0], D[1].at[ak, 0, jk].add(scale), D[2])  # B = W + s e_k e_kᵀ (layer ℓ = a′ = a at q = 0)
        else:
            D, lower, upper = _layer_blocks(st, layout, g, shift)
        factors.append(_factor_group(D, lower, upper, FACTOR_DTYPES[precision]))
    uv = jnp.stack([jnp.asarray(sec(wdiag)), jnp.asarray(sec(tr))]).astype(jnp.complex128)  # A₀ = L₀ + w trᵀ
    Z, Cinv = _woodbury_terms(factors[0], (ak, jk), scale, uv, False, g0, layout)
    mirror = None
    if not hermitian:
        mirror = tuple(_factor_group(*_layer_blocks(st, layout, g, jnp.conj(shift)), FACTOR_DTYPES[precision])
                       for g in groups[1:])
    P = ConservingPreconditioner(tuple(factors), Z, Cinv, (ak, jk), scale, uv, mirror, layout, False, groups)
    return P.transpose() if transposed else P


def _woodbury_terms(f0: GroupFactor, pin, scale, uv, transposed: bool, g0, layout: DickeLayout):
    """(Z, C⁻¹) of the Woodbury identity on sector 0: A₀ = B + U Vᵀ with U = [−s e_k, u],
    V = [e_k, v] (transposed: u and v exchanged, B → Bᵀ); Z = B⁻¹U, C = 1 + VᵀZ."""
    ak, jk = pin
    u, v = (uv[1], uv[0]) if transposed else (uv[0], uv[1])
    ek = jnp.zeros((g0[3], layout.n_J - g0[2])).at[ak, jk].set(1.0)  # e_k on sector 0
    U = jnp.stack([-scale * ek, u], 0).astype(jnp.complex128)  # (2, nl, nb)
    solve = _solve_group_transposed if transposed else _solve_group
    Z = solve(f0, U[:, None].transpose(2, 0, 1, 3))[:, :, 0].transpose(1, 0, 2)  # (2, nl, nb)
    C = jnp.eye(2) + jnp.stack([Z[:, ak, jk], jnp.sum(v * Z, axis=(-2, -1))], 0)  # C[a, b] = V_aᵀ Z_b
    return Z, linalg.inv(C)


#: copies of the factors alive at once (the scan output, blocks passing through linalg.inv)
PRECONDITIONER_COPIES = 2


def factor_bytes(N: int, precision: str = "double") -> int:
    """Bytes of the factors S_ℓ⁻¹: 16 Σ_groups n_layers n_sectors n_J² (8 in single precision)."""
    n_J = DickeLayout(N).n_J
    return sum((16 if precision == "double" else 8) * n_l * (q_hi - q_lo) * (n_J - j_lo) ** 2
               for q_lo, q_hi, j_lo, n_l in sector_groups(N))


class QConserving(Preconditioner):
    """The exact inverse of the q-conserving part A₀ − σ of the (shifted) augmented operator,
    factorised sector by sector (module docstring).

    Attributes:
        precision: storage of the factors, ``"double"`` (complex128) or ``"single"`` (complex64:
            half their memory, the largest N on a GPU; the iteration and its residual stay
            float64, so the answer meets ``tol`` all the same).
        n_groups: sector groups (``None``: ``sector_groups``' default).
    """

    precision: str = eqx.field(default="double", static=True)
    n_groups: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if self.precision not in FACTOR_DTYPES:
            raise ValueError(f"QConserving precision must be 'double' or 'single', got {self.precision!r}")

    def init(self, operator):
        with jax.ensure_compile_time_eval():  # w is static: keep it a concrete array
            w = trace_weight(operator.layout)
        return conserving_preconditioner(operator.liouvillian, operator.layout, w, transposed=operator.transposed,
                                         n_groups=self.n_groups, precision=self.precision, shift=operator.shift,
                                         hermitian=operator.real_shift)

    def transpose(self, state, operator):
        """The same factors, solved transposed (``ConservingPreconditioner.transpose``)."""
        return state.transpose() if state.transposed != operator.transposed else state

    def memory(self, N, block="all"):
        return {"preconditioner": PRECONDITIONER_COPIES * factor_bytes(N, self.precision)}


def h0_preconditioner(model, layout: DickeLayout, weight, *, transposed: bool = False,
                      n_groups: int | None = None) -> ConservingPreconditioner:
    """``conserving_preconditioner`` of a model (for LMG: the exact inverse of the h = 0 part)."""
    return conserving_preconditioner(dicke_liouvillian(model, layout), layout, weight,
                                     transposed=transposed, n_groups=n_groups)


H0Preconditioner = ConservingPreconditioner
