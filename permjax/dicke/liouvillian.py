"""Matrix-free Dicke-basis Liouvillian of any qubit ``PIModel`` on the padded J-block grid.

The model is the paper's Eq. 1 for d = 2 (docs/theory.md §2, §4). Every qubit matrix is
A = a₀1 + a₊σ₊ + a₋σ₋ + a_zσ_z, so A_tot = a₀N + a₊Ĵ₊ + a₋Ĵ₋ + 2a_zĴ_z acts inside each J-block
(``permjax.models.qubit``) as an operator banded in M. The generator is written as

    L ρ = −i(K ρ − ρ K†) + Σ_m (Γ_m/N) A_m ρ A_m† + Σ_n γ_n Σ_i L_n′^(i) ρ L_n′^(i)†        (1)

with the block-local effective operator

    K = H − (i/2) Σ_m (Γ_m/N) A_m†A_m + Σ_n γ_n [H_n − (i/2) Σ_i (L_n′†L_n′)^(i)],

H = Σ c A_tot + Σ (c/N) A_tot B_tot (bands ΔM ∈ {−2, …, 2}), and each local jump split as
L = l₀1 + L′: D[l₀ + L′] = D[L′] − i[H_c, ·] with H_c = (i/2)(l₀* L′ − l₀ L′†) (a one-body
Hamiltonian, Σ_i H_c^(i)).

The local sandwich Σ_i L′^(i) ρ L′^(i)† = Σ_{α,β∈{+,−,z}} l_α l_β* S_αβ(ρ) maps the block form
⊕_J ρ_J ⊗ 1/dim_J (Eq. 20) to itself. Writing σ_α through the spherical components of a
rank-1 tensor, σ₊ = −T₊₁/√2, σ₋ = T₋₁/√2, σ_z = T₀, the Wigner–Eckart theorem and Schur's
lemma on the multiplicity spaces give, for the target block J′ = J + k (k = −1, 0, 1),

    S_αβ(|J,M⟩⟨J,M′| ⊗ 1/dim_J) ⊃ c_k(J) X^α_k(J,M) X^β_k(J,M′) |J′,M+q_α⟩⟨J′,M′+q_β| ⊗ 1/dim_J′

    X^α_k(J,M) = s_α ⟨J M; 1 q_α | J+k, M+q_α⟩,   (s, q) = (−1/√2, +1), (1/√2, −1), (1, 0) for +, −, z
    c₊₁ = N − 2J,   c₀ = N + 2,   c₋₁ = N + 2J + 2,

one reduced factor for all nine (α, β). For α = β = + this is Eqs. 24–26 (R^(k), docs/theory.md §4).

Representation: every piece of (1) is a *stencil term* — a real model coefficient (the pytree
leaf) × a static complex factor × an outer product u[j, a] v[j, a′] of two vectors on the
(n_J, N+1) grid, applied at the source entry and moved by a fixed shift (ΔJ, ΔM, ΔM′):

    (L ρ)[j+ΔJ, a+ΔM, a′+ΔM′] += w u[j,a] v[j,a′] ρ[j,a,a′].

Left products K ρ have v = 1, right products ρK† have u = 1. The vectors depend on N and on
the model's static matrices only; they are built once in numpy (``stencil``) and enter jitted
code as arguments (``DickeLiouvillian``), never as folded constants. Terms with ΔM = ΔM′
conserve q = M − M′ (``liouvillian_conserving``; for LMG exactly the h = 0 part of Eqs. 23–26),
the rest change it (``liouvillian_mixing``; for LMG the transverse field −ih[Ĵ_x, ·]).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.pimodel import Operator, PIModel, as_model, is_concrete
from ..models.qubit import components
from .layout import DickeLayout
from .structure import is_q_conserving  # noqa: F401  (the one rule, re-exported)

#: single-qubit rank-1 tensor components: α → (s_α, q_α) with σ_α = s_α T_{q_α}
SPHERICAL = {"+": (-1 / np.sqrt(2.0), 1), "-": (1 / np.sqrt(2.0), -1), "z": (1.0, 0)}


# --- collective operators as bands in M --------------------------------------------------------


def _valid(layout: DickeLayout):
    return layout.mask


def ladder(layout: DickeLayout) -> np.ndarray:
    """A(J, M) = √((J−M)(J+M+1)): Ĵ₊|J,M⟩ = A|J,M+1⟩, shape (n_J, N+1), zero off range."""
    J, M = layout.J[:, None], layout.M[None, :]
    return np.sqrt(np.where(layout.mask, np.clip((J - M) * (J + M + 1), 0.0, None), 0.0))


def collective_bands(A, layout: DickeLayout) -> dict[int, np.ndarray]:
    """A_tot as bands: A_tot|J,M⟩ = Σ_δ x_δ[j, a] |J, M+δ⟩ (source-indexed, complex)."""
    a0, ap, am, az = components(A)
    mask = layout.mask
    up = ladder(layout)
    down = np.zeros_like(up)  # Ĵ₋|J,M⟩ = A(J,M−1)|J,M−1⟩
    down[:, 1:] = up[:, :-1]
    bands = {0: (a0 * layout.N + 2 * az * layout.M[None, :]) * mask, 1: ap * up, -1: am * down}
    return {d: b.astype(np.complex128) for d, b in bands.items() if np.any(b != 0)}


def band_product(X: dict, Y: dict, layout: DickeLayout) -> dict[int, np.ndarray]:
    """Bands of X Y: XY|M⟩ = Σ y_δy(M) x_δx(M+δy) |M+δx+δy⟩."""
    out: dict[int, np.ndarray] = {}
    n = layout.n_M
    for dy, y in Y.items():
        for dx, x in X.items():
            xs = np.zeros_like(x)  # x evaluated at a + dy
            if dy >= 0:
                xs[:, : n - dy] = x[:, dy:]
            else:
                xs[:, -dy:] = x[:, : n + dy]
            out[dx + dy] = out.get(dx + dy, 0) + y * xs
    return {d: b for d, b in out.items() if np.any(b != 0)}


def _clebsch_gordan(layout: DickeLayout, k: int, q: int) -> np.ndarray:
    """⟨J M; 1 q | J+k, M+q⟩ (Condon–Shortley) on the (n_J, N+1) source grid, zero where the
    source or the target (J+k ∈ [J_min, N/2], |M+q| ≤ J+k) is out of range."""
    J, M = layout.J[:, None], layout.M[None, :]
    m = M + q
    Jp = J + k
    ok = layout.mask & (Jp >= layout.J_min - 1e-9) & (Jp <= layout.N / 2 + 1e-9) & (np.abs(m) <= Jp + 1e-9)
    Js = np.where(J > 0, J, 1.0)  # k ≤ 0 never reaches J = 0 (masked)

    def r(num, den):
        return np.sqrt(np.clip(num, 0.0, None) / den)

    if k == 1:
        den = (2 * J + 1) * (2 * J + 2)
        val = {1: r((J + m) * (J + m + 1), den), 0: r((J - m + 1) * (J + m + 1), (2 * J + 1) * (J + 1)),
               -1: r((J - m) * (J - m + 1), den)}[q]
    elif k == 0:
        den = 2 * Js * (J + 1)
        val = {1: -r((J + m) * (J - m + 1), den), 0: m / np.sqrt(Js * (J + 1)), -1: r((J - m) * (J + m + 1), den)}[q]
    else:
        den = 2 * Js * (2 * J + 1)
        val = {1: r((J - m) * (J - m + 1), den), 0: -r((J - m) * (J + m), Js * (2 * J + 1)),
               -1: r((J + m + 1) * (J + m), den)}[q]
    return np.where(ok & ((J > 0) | (k == 1)), val, 0.0)


def sandwich_factor(layout: DickeLayout, k: int, alpha: str) -> np.ndarray:
    """√c_k(J) X^α_k(J, M): S_αβ feeds (J+k, M+q_α, M′+q_β) with the product of the α and β factors."""
    s, q = SPHERICAL[alpha]
    N, J = layout.N, layout.J[:, None]
    c = {1: N - 2 * J, 0: np.full_like(J, N + 2.0), -1: N + 2 * J + 2}[k]
    return np.sqrt(np.clip(c, 0.0, None)) * s * _clebsch_gordan(layout, k, q)


# --- the stencil ----------------------------------------------------------------------------


class StencilTerm(NamedTuple):
    shift: tuple[int, int, int]  # (ΔJ, ΔM, ΔM′)
    leaf: int  # index of the model coefficient (in ``model_coefficients`` order)
    u: np.ndarray  # (n_J, N+1) complex, static factor folded in
    v: np.ndarray


def model_coefficients(model: PIModel) -> list:
    """The real coefficient leaves in the order ``stencil`` numbers them."""
    return [t.c for t in model.hamiltonian] + [t.rate for t in model.collective] + [t.rate for t in model.local]


def _signature(model: PIModel) -> tuple:
    """The static structure of a model: term kinds and their matrices (hashable)."""
    return tuple((type(t).__name__, tuple(getattr(t, f) for f in ("A", "B", "L") if hasattr(t, f)))
                 for t in (*model.hamiltonian, *model.collective, *model.local))


def check_qubit_model(model: PIModel) -> None:
    if model.d != 2:
        raise NotImplementedError(
            f"the exact finite-N solver (Dicke basis) covers qubits (d = 2); this model has d = {model.d}. "
            "For d > 2 use the N → ∞ mean field, permjax.mi_thermo")


@functools.lru_cache(maxsize=64)
def stencil(signature: tuple, layout: DickeLayout) -> tuple[StencilTerm, ...]:
    """All stencil terms of Eq. (1) for a model signature (``_signature``), grouped by shift.

    Plain numpy, cached per (structure, N): the coefficients themselves are not used here.
    """
    N = layout.N
    mask = layout.mask.astype(np.complex128)
    raw: list[StencilTerm] = []

    def effective(leaf, K: dict):  # −i(Kρ − ρK†)
        for d, b in K.items():
            raw.append(StencilTerm((0, d, 0), leaf, -1j * b, mask))
            raw.append(StencilTerm((0, 0, d), leaf, mask, 1j * np.conj(b)))

    def add(*bands):
        out: dict[int, np.ndarray] = {}
        for B, f in bands:
            for d, b in B.items():
                out[d] = out.get(d, 0) + f * b
        return {d: b for d, b in out.items() if np.any(b != 0)}

    for leaf, (kind, mats) in enumerate(signature):
        if kind == "OneBody":
            effective(leaf, collective_bands(mats[0], layout))
        elif kind == "TwoBody":
            effective(leaf, {d: b / N for d, b in band_product(collective_bands(mats[0], layout),
                                                                collective_bands(mats[1], layout), layout).items()})
        elif kind == "CollectiveJump":
            A = collective_bands(mats[0], layout)
            Ad = collective_bands(Operator(np.conj(mats[0].array.T)), layout)
            effective(leaf, {d: -0.5j * b / N for d, b in band_product(Ad, A, layout).items()})
            for d1, x1 in A.items():
                for d2, x2 in A.items():
                    raw.append(StencilTerm((0, d1, d2), leaf, x1 / N, np.conj(x2)))
        elif kind == "LocalJump":
            if layout.symmetric:
                raise ValueError("local jumps couple J = N/2 to J = N/2 − 1: the symmetric block is not invariant")
            Lm = mats[0].array
            l0 = components(Lm)[0]
            Lp = Lm - l0 * np.eye(2)  # L′ = L − l₀1
            Hc = 0.5j * (np.conj(l0) * Lp - l0 * np.conj(Lp.T))  # D[l₀+L′] = D[L′] − i[H_c, ·]
            LdL = np.conj(Lp.T) @ Lp
            effective(leaf, add((collective_bands(Operator(Hc), layout), 1.0),
                                (collective_bands(Operator(LdL), layout), -0.5j)))
            _, lp, lm, lz = components(Lp)
            coef = {"+": lp, "-": lm, "z": lz}
            for k in (-1, 0, 1):
                for a in "+-z":
                    for b in "+-z":
                        if coef[a] == 0 or coef[b] == 0:
                            continue
                        u = coef[a] * sandwich_factor(layout, k, a)
                        v = np.conj(coef[b]) * sandwich_factor(layout, k, b)
                        if np.any(u != 0) and np.any(v != 0):
                            raw.append(StencilTerm((k, SPHERICAL[a][1], SPHERICAL[b][1]), leaf,
                                                   u.astype(np.complex128), v.astype(np.complex128)))
        else:  # pragma: no cover - PIModel admits no other kind
            raise ValueError(f"unknown term kind {kind}")
    # merge terms with the same (shift, leaf, v) (left products share v = 1), then order by shift
    merged: dict = {}
    for t in raw:
        key = (t.shift, t.leaf, t.v.tobytes())
        merged[key] = merged[key]._replace(u=merged[key].u + t.u) if key in merged else t
    return tuple(sorted(merged.values(), key=lambda t: (t.shift, t.leaf)))


def conserves_q(shift) -> bool:
    return shift[1] == shift[2]


# --- application -----------------------------------------------------------------------------


def shift_grid(x, shift):
    """y[..., j+ΔJ, a+ΔM, a′+ΔM′] = x[..., j, a, a′], zero-filled (one lax.pad, negative = crop)."""
    cfg = [(0, 0, 0)] * (x.ndim - 3) + [(int(s), -int(s), 0) for s in shift]
    return jax.lax.pad(x, jnp.zeros((), x.dtype), cfg)


class DickeLiouvillian(eqx.Module):
    """L of Eq. (1) for one qubit model on a layout, ready to apply: ``L(rho)``, ``L(rho, "conserving")``.

    ``u``, ``v`` (stacked stencil vectors) and ``weights`` (model coefficient × 1) are leaves,
    so a jitted solver receives them as arguments; ``groups`` (shift, first, last term) and
    ``runs`` (``_runs``) are static.
    """

    u: jax.Array  # (n_terms, n_J, N+1) complex
    v: jax.Array
    weights: jax.Array  # (n_terms,) real: the model coefficient of each term
    groups: tuple = eqx.field(static=True)
    layout: DickeLayout = eqx.field(static=True)
    runs: tuple = eqx.field(static=True)  # per group: runs (lo, hi, side) of terms sharing v or u

    def __call__(self, rho, part: str = "all"):
        # one elementwise expression (XLA fuses it into a single pass over ρ); terms sharing a
        # vector are summed on the (n_J, N+1) grid first
        out = jnp.zeros_like(rho)
        w = self.weights.astype(rho.dtype)
        for (shift, lo, hi), group_runs in zip(self.groups, self.runs):
            if part == "conserving" and not conserves_q(shift) or part == "mixing" and conserves_q(shift):
                continue
            coef = None
            for a, b, side in group_runs:
                if side == "v":  # (Σ_t w_t u_t) ⊗ v
                    term = sum(w[t] * self.u[t] for t in range(a, b))[:, :, None] * self.v[a][:, None, :]
                elif side == "u":  # u ⊗ (Σ_t w_t v_t)
                    term = self.u[a][:, :, None] * sum(w[t] * self.v[t] for t in range(a, b))[:, None, :]
                else:
                    term = sum((w[t] * self.u[t])[:, :, None] * self.v[t][:, None, :] for t in range(a, b))
                coef = term if coef is None else coef + term
            out = out + shift_grid(coef * rho, shift)
        return out

    def coefficients(self, part: str = "all") -> dict:
        """Target-indexed coefficient arrays: {(ΔJ, ΔM, ΔM′): C} with (Lρ)[t] = Σ C[t] ρ[t − shift]."""
        out = {}
        for shift, lo, hi in self.groups:
            if part == "conserving" and not conserves_q(shift) or part == "mixing" and conserves_q(shift):
                continue
            coef = jnp.einsum("t,tja,tjb->jab", self.weights[lo:hi].astype(self.u.dtype), self.u[lo:hi], self.v[lo:hi])
            out[shift] = shift_grid(coef, shift)
        return out


def stencil_arrays(model, layout: DickeLayout):
    """(u, v) numpy stacks and static groups for ``model``'s structure (cached)."""
    model = as_model(model)
    check_qubit_model(model)
    return _stencil_arrays(_signature(model), layout)[:4]


def _runs(terms) -> tuple:
    """Reorder one shift group so that terms sharing their v (or else their u) vector are
    contiguous: returns (ordered terms, ((lo, hi, side), ...)) with side "v", "u" or "none"."""
    by_v: dict = {}
    for t in terms:
        by_v.setdefault(t.v.tobytes(), []).append(t)
    shared = [g for g in by_v.values() if len(g) > 1]
    single = [g[0] for g in by_v.values() if len(g) == 1]
    by_u: dict = {}
    for t in single:
        by_u.setdefault(t.u.tobytes(), []).append(t)
    ordered, runs = [], []
    for side, gs in (("v", shared), ("u", [g for g in by_u.values() if len(g) > 1]),
                     ("none", [g for g in by_u.values() if len(g) == 1])):
        for g in gs:
            runs.append((len(ordered), len(ordered) + len(g), side))
            ordered.extend(g)
    return ordered, runs


@functools.lru_cache(maxsize=64)
def _stencil_arrays(signature, layout):
    terms = stencil(signature, layout)
    ordered, runs = [], []
    for shift in sorted({t.shift for t in terms}):
        group, group_runs = _runs([t for t in terms if t.shift == shift])
        runs.append(tuple((len(ordered) + a, len(ordered) + b, side) for a, b, side in group_runs))
        ordered.extend(group)
    terms = ordered
    if terms:
        u = np.stack([t.u for t in terms])
        v = np.stack([t.v for t in terms])
    else:
        u = v = np.zeros((0, layout.n_J, layout.n_M), np.complex128)
    groups, start = [], 0
    for i in range(1, len(terms) + 1):
        if i == len(terms) or terms[i].shift != terms[start].shift:
            groups.append((terms[start].shift, start, i))
            start = i
    leaves = np.array([t.leaf for t in terms], dtype=np.int64)
    return u, v, leaves, tuple(groups), tuple(runs)


def dicke_liouvillian(model, layout: DickeLayout, vectors=None) -> DickeLiouvillian:
    """The ``DickeLiouvillian`` of ``model`` (PIModel or family point, scalar coefficients).

    ``vectors``: the (u, v) stacks as arrays passed into a jitted function (default: the cached
    numpy stacks, which become constants of whatever traces this)."""
    model = as_model(model)
    check_qubit_model(model)
    u, v, leaves, groups, runs = _stencil_arrays(_signature(model), layout)
    if vectors is not None:
        u, v = vectors
    coeffs = model_coefficients(model)
    weights = jnp.stack([jnp.asarray(coeffs[i], jnp.float64) for i in leaves]) if len(leaves) else jnp.zeros(0)
    return DickeLiouvillian(jnp.asarray(u), jnp.asarray(v), weights, groups, layout, runs)


def liouvillian(rho, model, layout: DickeLayout):
    """L ρ (Eq. 1 in the Dicke basis; for LMG Eqs. 23–26) on the padded grid; matrix-free.

    ``model``: a qubit ``PIModel`` or a family point (``LMG``) with scalar coefficients.
    """
    return dicke_liouvillian(model, layout)(rho)


def liouvillian_conserving(rho, model, layout: DickeLayout):
    """The q = M − M′ conserving part of L (ΔM = ΔM′ terms). For LMG: the h = 0 part
    −i[(𝒥/N)(Ĵ_x²+Ĵ_y²), ρ] + (Γ/N)D[Ĵ₋]ρ + γΣ_iD[σ₊^(i)]ρ (Eqs. 23–26). It maps a diagonal ρ
    to a diagonal ρ; a model whose whole L conserves q has a diagonal steady state."""
    return dicke_liouvillian(model, layout)(rho, "conserving")


def liouvillian_mixing(rho, model, layout: DickeLayout):
    """The q-changing part of L (ΔM ≠ ΔM′). For LMG: the transverse field −ih[Ĵ_x, ρ]."""
    return dicke_liouvillian(model, layout)(rho, "mixing")


#: LMG names of the two parts (h = 0 part; transverse field)
liouvillian_h0 = liouvillian_conserving
liouvillian_field = liouvillian_mixing


def adjoint(op, rho_like):
    """The Hilbert–Schmidt adjoint X ↦ L†X of a complex-linear map ``op``, via its transpose:
    L† = conj ∘ Lᵀ ∘ conj (``jax.linear_transpose``)."""
    t = jax.linear_transpose(op, jax.ShapeDtypeStruct(jnp.shape(rho_like), jnp.complex128))

    def op_adj(x):
        (y,) = t(jnp.conj(x))
        return jnp.conj(y)

    return op_adj


def liouvillian_adjoint(x, model, layout: DickeLayout):
    """L† x, with ⟨y, L x⟩ = ⟨L† y, x⟩ for the Frobenius inner product summed over blocks."""
    return adjoint(lambda r: liouvillian(r, model, layout), x)(x)


def block_trace(rho, layout: DickeLayout):
    """Σ_J Tr ρ_J over the valid entries only (|M| ≤ J), so padding never enters a solve."""
    d = jnp.diagonal(rho, axis1=-2, axis2=-1)
    return jnp.sum(d * jnp.asarray(layout.mask, dtype=d.real.dtype), axis=(-2, -1))




def trace_weight(layout: DickeLayout):
    """w = 1_valid / Σ_J(2J+1): the maximally mixed block-diagonal matrix, Tr w = 1 — the
    right-hand side of the augmented steady-state system A ρ = L ρ + w Tr ρ = w."""
    eye = np.eye(layout.n_M)[None] * layout.mask[:, :, None]
    return jnp.asarray(eye / eye.sum(), dtype=jnp.complex128)


def layout_grids(layout: DickeLayout):
    """(w, valid): the trace weight and the mask of valid entries (|M|, |M′| ≤ J), complex128."""
    return trace_weight(layout), jnp.asarray(layout.block_mask, dtype=jnp.complex128)
