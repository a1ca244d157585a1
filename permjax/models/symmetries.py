"""Symmetries of a permutation-invariant model (docs/theory.md §7), found from its terms by linear algebra.

A single-unit unitary u is a (weak) symmetry when U = u^{⊗N} satisfies U 𝓛(ρ) U† = 𝓛(U ρ U†)
for every ρ and every N. Order by order in N and unit by unit, Eq. 1 is invariant iff u leaves
invariant each of

    h₁  = Σ c A                   one-body Hamiltonian terms,
    h₁′ = Σ c AB                  the 1/N one-body part of the two-body terms (A_tot B_tot ∋ Σ_i (AB)^(i)),
    h₂  = Σ c (A⊗B + B⊗A)         their two-unit part,
    K_c = Σ Γ |A⟩⟩⟨⟨A|,  K_l = Σ γ |L⟩⟩⟨⟨L|   the Kossakowski matrices of the collective and local jumps,

under X ↦ uXu† (u⊗u on h₂; 𝒰 = u ⊗ ū on |A⟩⟩ = vec A). An invariant K is a set of jumps mapped to
itself up to phases or a unitary mixing among jumps of equal rate. A continuous group e^{−iGθ}
(G Hermitian, d×d) is a symmetry iff [G, h₁] = [G, h₁′] = 0, [G⊗1 + 1⊗G, h₂] = 0 and
[G⊗1 − 1⊗Gᵀ, K] = 0 (every jump an eigen-operator of ad_G, or mixed among equal rates).

Every condition is linear in the model's coefficients c (they are the leaves of a ``PIModel``), so
for a candidate u or G the residual is r(c) = Σ_k c_k R_k with static R_k. Candidates come from
the static operators; whether one holds is a traced mask, ‖r(c)‖ ≤ 1e-9 Σ_k |c_k| ‖D_k‖ (computed
as ‖R c‖ with R the triangular factor of [R_1 … R_T], exact to round-off). A sweep may cross a
symmetric point (LMG at h = 0) under ``jit`` and ``vmap``.

Candidates (numpy, once per model structure):

* continuous: the Lie algebra {G : r_G(c) = 0} at probe coefficients — generic random values
  (equal for terms that share a coefficient leaf), the same with each term switched off in turn,
  and the concrete values when they are known — as the null space of a linear map on su(d);
* discrete: for every generator G of the algebras of single terms and of each kind of term, the
  smallest θ with e^{−iqθ} = 1 for every ad_G charge q present at those probes (the Z_m
  subgroups of a U(1) that part of the model has), e.g. the π rotation about z of the XYZ model.

Not found: discrete symmetries outside every such one-parameter subgroup (for d > 2, e.g. level
permutations no term's U(1) contains), antiunitary symmetries, and any symmetry for d > ``MAX_D``.

On the generalised Bloch vector ξ (Eq. 3) a symmetry acts linearly: ``bloch_generator`` (ad_G,
antisymmetric) and ``bloch_rotation`` (Ad_u, orthogonal). The average over the group they
generate is the orthogonal projection onto the vectors they fix (``twirl``).
"""

from __future__ import annotations

import functools
import hashlib
import math

import jax
import jax.numpy as jnp
import numpy as np

from .operators import gell_mann
from .pimodel import CollectiveJump, LocalJump, OneBody, PIModel, TwoBody, as_model, coefficient, is_concrete

MAX_D = 10  # no symmetry search above this d (the residual maps grow like d⁶)
TOL = 1e-9  # a candidate holds where ‖r(c)‖ ≤ TOL Σ|c_k| ‖D_k‖
_PROBE_SEED = 20260  # generic probe coefficients
_MAX_CANDIDATES = 24


# --- the invariance data of one term, and how u or G acts on it --------------------------------


def _term_data(kind, mats, d):
    """{block: matrix} of one term per unit coefficient (the module docstring's h₁, h₁′, h₂, K)."""
    if kind is OneBody:
        return {"h1": mats[0]}
    if kind is TwoBody:
        A, B = mats
        return {"h1N": A @ B, "h2": np.kron(A, B) + np.kron(B, A)}
    a = mats[0].reshape(-1)
    return {"Kc" if kind is CollectiveJump else "Kl": np.outer(a, a.conj())}


def _factors(block, u, generator: bool):
    """The block's representation as Kronecker factors (a, b): u (or G) on h₁, h₁′ (b None); on h₂
    u⊗u (G⊗1 + 1⊗G), on K u⊗ū (G⊗1 − 1⊗Gᵀ): (a, b) = (u, u), (u, ū), or for G (G, G), (G, −Gᵀ)."""
    if block in ("h1", "h1N"):
        return u, None
    if block == "h2":
        return u, u
    return (u, -u.T) if generator else (u, u.conj())


def _left(a, b, X, generator: bool):
    """g X for g = a⊗1 + 1⊗b (generator) or a⊗b, X (d², m), in O(d³ m) (no d²×d² g)."""
    if b is None:
        return a @ X
    d = a.shape[0]
    Y = X.reshape(d, d, -1)
    if generator:
        out = np.einsum("ai,ijm->ajm", a, Y) + np.einsum("bj,ijm->ibm", b, Y)
    else:
        out = np.einsum("bj,ajm->abm", b, np.einsum("ai,ijm->ajm", a, Y))
    return out.reshape(X.shape)


def _act(block, X, u, generator: bool):
    """[g, X] in the block's representation g of G, or g X g† − X for u (module docstring)."""
    a, b = _factors(block, u, generator)
    gX = _left(a, b, X, generator)
    if generator:  # X g = (gᵀ Xᵀ)ᵀ
        return gX - _left(a.T, None if b is None else b.T, X.T, True).T
    # g X g† = (ḡ (gX)ᵀ)ᵀ
    return _left(a.conj(), None if b is None else b.conj(), gX.T, False).T - X


def _residual_vector(data, u, generator):
    return np.concatenate([_act(b, X, u, generator).ravel() for b, X in sorted(data.items())])


def _combine(datas, c):
    """Σ_k c_k D_k block by block."""
    out = {}
    for D, ck in zip(datas, c):
        for b, X in D.items():
            out[b] = out.get(b, 0) + ck * X
    return out


# --- candidates --------------------------------------------------------------------------------


def _algebra(data, d):
    """Orthonormal basis (rows, in the coordinates G = Σ g_l v_l/2) of {G ∈ su(d): [G, data] = 0}."""
    v = gell_mann(d)
    if not data:
        return np.eye(d * d - 1)
    M = np.stack([_residual_vector(data, v[l] / 2, True) for l in range(d * d - 1)], axis=1)
    M = np.concatenate([M.real, M.imag])
    M = M[np.any(M != 0, axis=1)]  # zero rows change nothing (most of them, for sparse operators)
    # vt is complete without a full (tall) U when M has at least as many rows as columns
    _, s, vt = np.linalg.svd(M, full_matrices=M.shape[0] < M.shape[1])
    scale = max(float(s[0]) if s.size else 0.0, 1e-300)
    rank = int(np.sum(s > 1e-10 * scale))
    return vt[rank:]


def _generator(g, d):
    G = np.tensordot(g, gell_mann(d), axes=1) / 2
    return G / np.linalg.norm(G)


def _period(G, data):
    """The smallest θ > 0 with e^{−iGθ} leaving ``data`` invariant (every ad_G charge q present
    has qθ ∈ 2πℤ), or None (no charge: a continuous symmetry; incommensurate charges)."""
    w, V = np.linalg.eigh(G)
    charges = []
    for b, X in data.items():
        if b in ("h1", "h1N"):
            Y, q = V.conj().T @ X @ V, w[:, None] - w[None, :]
        elif b == "h2":
            VV = np.kron(V, V)
            s = (w[:, None] + w[None, :]).ravel()
            Y, q = VV.conj().T @ X @ VV, s[:, None] - s[None, :]
        else:
            VV = np.kron(V, V.conj())
            s = (w[:, None] - w[None, :]).ravel()
            Y, q = VV.conj().T @ X @ VV, s[:, None] - s[None, :]
        scale = np.max(np.abs(Y)) if Y.size else 0.0
        charges.append(np.abs(q[np.abs(Y) > 1e-9 * scale]))
    q = np.concatenate(charges) if charges else np.zeros(0)
    q = q[q > 1e-9]
    if q.size == 0:
        return None
    q0 = q.min()
    for m in range(1, 13):  # the largest common divisor q0/m of the charges
        ratio = q / (q0 / m)
        if np.all(np.abs(ratio - np.round(ratio)) < 1e-7):
            return 2 * math.pi * m / q0
    return None


def _element(G, theta):
    w, V = np.linalg.eigh(G)
    return (V * np.exp(-1j * w * theta)) @ V.conj().T


def bloch_generator(G, d: int | None = None) -> np.ndarray:
    """ad_G on ξ: −i[G, r] for r = (1 + ξ·v)/d has components A ξ, A_kl = −(i/2) Tr(v_k [G, v_l])."""
    d = G.shape[-1] if d is None else d
    v = gell_mann(d)
    comm = np.einsum("ij,ljm->lim", G, v) - np.einsum("lij,jm->lim", v, G)
    return np.real(-0.5j * np.einsum("kij,lji->kl", v, comm))


def bloch_rotation(u, d: int | None = None) -> np.ndarray:
    """Ad_u on ξ: u r u† for r = (1 + ξ·v)/d has components R ξ, R_kl = ½ Tr(v_k u v_l u†)."""
    d = u.shape[-1] if d is None else d
    v = gell_mann(d)
    return np.real(0.5 * np.einsum("kij,jm,lmn,in->kl", v, u, v, u.conj(), optimize=True))


def _unique(mats, key, up_to_sign: bool = False):
    """The distinct entries of ``mats`` (by ``key``, to 1e-8; with ``up_to_sign`` k ≡ −k)."""
    out, keys = [], []
    for m in mats:
        k = key(m)
        if not any(np.allclose(k, s * other, atol=1e-8) for other in keys for s in ((1, -1) if up_to_sign else (1,))):
            out.append(m)
            keys.append(k)
    return out


def _rfactor(datas, u, generator):
    """Triangular factor R (T×T) of the residual columns r_k of every term: ‖r(c)‖ = ‖R c‖."""
    shapes = {b: X.shape for D in datas for b, X in D.items()}
    cols = np.stack([_residual_vector({b: D.get(b, np.zeros(shp, complex)) for b, shp in shapes.items()}, u, generator)
                     for D in datas], axis=1)
    cols = np.concatenate([cols.real, cols.imag])
    return np.linalg.qr(cols, mode="r")[: len(datas)]


# --- the structure of a model: static, cached ----------------------------------------------------


def _ties(model: PIModel) -> tuple:
    """A tie group per term: terms whose coefficient is the same leaf (or equal concrete arrays)
    share a probe value (LMG's 𝒥 multiplies both J_x² and J_y²)."""
    leaves = [coefficient(t) for t in model.terms]
    group = []
    for i, x in enumerate(leaves):
        for j in range(i):
            y = leaves[j]
            if x is y or (is_concrete(x) and is_concrete(y) and np.shape(x) == np.shape(y)
                          and np.array_equal(np.asarray(x), np.asarray(y))):
                group.append(group[j])
                break
        else:
            group.append(i)
    return tuple(group)


def _concrete_probes(model: PIModel) -> tuple:
    """Concrete coefficient vectors at the first, middle and last point of a batch (none if traced)."""
    leaves = [coefficient(t) for t in model.terms]
    if not leaves or not all(is_concrete(x) for x in leaves):
        return ()
    c = np.stack([np.broadcast_to(np.asarray(x, float), model.shape).ravel() for x in leaves], axis=-1)
    idx = sorted({0, c.shape[0] // 2, c.shape[0] - 1})
    return tuple(tuple(float(v) for v in c[i]) for i in idx)


class Symmetries:
    """Candidate symmetries of one model structure and how to test them on coefficients.

    The attributes are numpy arrays, static (computed once per model structure).

    Attributes:
        d: levels per unit.
        generators: (K, d, d) Hermitian candidates G of continuous groups e^{−iGθ} (‖G‖_F = 1).
        elements: (E, d, d) unitary candidates u of discrete groups.
        generator_rfactor, element_rfactor: (K, T, T), (E, T, T): ‖R c‖ is the residual at c.
        term_norm: (T,) ‖D_k‖ of each term's invariance data.
        generator_bloch, element_bloch: (K, n, n), (E, n, n): their action on ξ.
    """

    def __init__(self, d, generators, elements, generator_rfactor, element_rfactor, term_norm):
        self.d = d
        n = d * d - 1
        self.generators = np.asarray(generators, complex).reshape(-1, d, d)
        self.elements = np.asarray(elements, complex).reshape(-1, d, d)
        T = len(term_norm)
        self.generator_rfactor = np.asarray(generator_rfactor, float).reshape(-1, T, T)
        self.element_rfactor = np.asarray(element_rfactor, float).reshape(-1, T, T)
        self.term_norm = np.asarray(term_norm, float)
        self.generator_bloch = np.stack([bloch_generator(G) for G in self.generators]) if len(self.generators) \
            else np.zeros((0, n, n))
        self.element_bloch = np.stack([bloch_rotation(u) for u in self.elements]) if len(self.elements) \
            else np.zeros((0, n, n))
        for a in vars(self).values():
            if isinstance(a, np.ndarray):
                a.setflags(write=False)

    @property
    def n_generators(self) -> int:
        return len(self.generators)

    @property
    def n_elements(self) -> int:
        return len(self.elements)

    def valid(self, c):
        """Traced masks (…, K), (…, E): which candidates are symmetries at coefficients c (…, T)."""
        c = jnp.asarray(c)
        scale = TOL * jnp.sum(jnp.abs(c) * self.term_norm, axis=-1)[..., None]

        def holds(R):
            if R.shape[0] == 0:
                return jnp.zeros(c.shape[:-1] + (0,), bool)
            r = jnp.linalg.norm(jnp.einsum("ktu,...u->...kt", jnp.asarray(R), c), axis=-1)
            return r <= scale

        return holds(self.generator_rfactor), holds(self.element_rfactor)

    def twirl(self, c):
        """The orbit average on ξ at coefficients c: the orthogonal projection P (…, n, n) onto
        the Bloch vectors fixed by every valid candidate (the average over the compact group they
        generate, Haar measure). Piecewise constant in c: no derivative."""
        mg, me = self.valid(jax.lax.stop_gradient(c))
        return twirl_projector(jnp.asarray(self.generator_bloch), mg, jnp.asarray(self.element_bloch), me)


def twirl_projector(A, mask_A, R, mask_R):
    """Projection onto {ξ : A_k ξ = 0, R_e ξ = ξ for the masked-in k, e}: the null space of
    Q = Σ_k A_kᵀA_k + Σ_e (R_e − 1)ᵀ(R_e − 1) (eigenvalues below 1e-8 of a Q with O(1) gaps)."""
    n = A.shape[-1]
    eye = jnp.eye(n)
    Q = jnp.einsum("...k,kji,kjl->...il", mask_A.astype(float), A, A) if A.shape[0] else 0.0
    D = R - eye
    Q = Q + (jnp.einsum("...e,eji,ejl->...il", mask_R.astype(float), D, D) if R.shape[0] else 0.0)
    Q = jnp.broadcast_to(Q, jnp.broadcast_shapes(jnp.shape(Q), mask_A.shape[:-1] + (n, n)))
    w, V = jnp.linalg.eigh(Q)
    keep = (w < 1e-8).astype(V.dtype)
    return jnp.einsum("...ik,...k,...jk->...ij", V, keep, V)


@functools.lru_cache(maxsize=64)
def _find(structure, d, ties, concrete):
    datas = [_term_data(kind, [op.array for op in ops], d) for kind, ops in structure]
    T = len(datas)
    term_norm = np.array([math.sqrt(sum(np.linalg.norm(X) ** 2 for X in D.values())) for D in datas])
    if d > MAX_D or T == 0:
        return Symmetries(d, [], [], [], [], term_norm)
    rng = np.random.default_rng(_PROBE_SEED)
    values = rng.uniform(0.5, 1.5, size=T)
    generic = np.array([values[g] for g in ties])
    full = [generic] + [np.asarray(c) for c in concrete]
    for k in range(T):  # each term (with the terms tied to it) switched off
        full.append(np.where(np.asarray(ties) == ties[k], 0.0, generic))
    parts = [np.eye(T)[k] * generic for k in range(T)]  # single terms
    kinds = [type(t) for t, _ in structure]
    for group in ((OneBody,), (TwoBody,), (OneBody, TwoBody), (CollectiveJump,), (LocalJump,)):
        sel = np.array([k in group for k in kinds])
        if sel.any():
            parts.append(np.where(sel, generic, 0.0))

    gens = []
    for c in full:
        gens += [_generator(g, d) for g in _algebra(_combine(datas, c), d)]
    gens = _unique(gens, lambda G: G.ravel(), up_to_sign=True)
    seeds = list(gens)
    for c in parts:
        seeds += [_generator(g, d) for g in _algebra(_combine(datas, c), d)]
    seeds = _unique(seeds, lambda G: G.ravel(), up_to_sign=True)
    elems = []
    for G in seeds:
        for c in full:
            theta = _period(G, _combine(datas, c))
            if theta is not None:
                u = _element(G, theta)
                if np.linalg.norm(bloch_rotation(u) - np.eye(d * d - 1)) > 1e-8:
                    elems.append(u)
    elems = _unique(elems, lambda u: bloch_rotation(u).ravel())
    gens, elems = gens[:_MAX_CANDIDATES], elems[:_MAX_CANDIDATES]
    return Symmetries(d, gens, elems, [_rfactor(datas, G, True) for G in gens],
                      [_rfactor(datas, u, False) for u in elems], term_norm)


def symmetries(model) -> Symmetries:
    """The candidate symmetries of ``model`` (a PIModel or family point): cached per structure.

    Which of them hold at the model's coefficients: ``Symmetries.valid(model.coefficients())``.
    """
    model = as_model(model)
    return _find(model.structure, model.d, _ties(model), _concrete_probes(model))


def orbit_of(xi, sym: Symmetries, c, max_elements: int = 512):
    """The symmetry orbit of a concrete Bloch vector ξ at concrete coefficients c: (distinct
    images under the finite group the valid discrete candidates generate, dimension of the
    continuous orbit the valid generators sweep). Used for reports, not inside traced code."""
    xi = np.asarray(xi, float)
    mg, me = (np.asarray(m) for m in sym.valid(np.asarray(c, float)))
    tangents = np.array([A @ xi for A in sym.generator_bloch[mg]]).reshape(-1, xi.size)
    dim = int(np.linalg.matrix_rank(tangents, tol=1e-8)) if tangents.size else 0
    gens = list(sym.element_bloch[me])
    group = [np.eye(xi.size)]
    frontier = list(group)
    while frontier and len(group) < max_elements:
        new = []
        for g in frontier:
            for r in gens:
                h = r @ g
                if not any(np.allclose(h, k, atol=1e-8) for k in group):
                    group.append(h)
                    new.append(h)
        frontier = new
    return np.array(_unique([g @ xi for g in group], lambda x: x)), dim


def sym_digest(sym: Symmetries) -> str:
    """A short digest of the candidate symmetries (their arrays), for keys of stored programs."""
    h = hashlib.sha256(str(sym.d).encode())
    for name in ("generators", "elements", "generator_rfactor", "element_rfactor", "term_norm"):
        a = np.ascontiguousarray(getattr(sym, name))
        h.update(f"{name}{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:20]
