"""The mean-field (N → ∞) drift of any permutation-invariant model (docs/theory.md §6), on the generalised
Bloch vector ξ of Eq. 3 (r = (1 + ξ·v)/d, ξ_l = (d/2) Tr(r v_l), v the Gell-Mann matrices).

On product states ρ_T = r^{⊗N} the model's Lindbladian (Eq. 1) factorises, as N → ∞, into

    dr/dt = −i[h_eff(r), r] + Σ_n γ_n D[L_n] r,
    h_eff(r) = Σ_1-body c A + Σ_2-body c (⟨A⟩ B + ⟨B⟩ A) + Σ_m (iΓ_m/2)(⟨A_m†⟩ A_m − ⟨A_m⟩ A_m†),

⟨X⟩ = Tr(r X) (complex for non-Hermitian X). Projected on ξ this is a quadratic polynomial

    dξ_k/dt = f_k(ξ) = a_k + B_kl ξ_l + C_klm ξ_l ξ_m,

whose coefficients are linear in the model's coefficients and rates. Two forms evaluate it:

* ``DriftPolynomial``: (a, B, C) from fixed per-term tensors (numpy, once per operator
  structure): n³ = (d² − 1)³ numbers, the fastest for small d. For LMG it is Eq. 16.
* ``DriftMatrix``: r, h_eff(r) and the dissipators as d×d matrices, O(d³) per evaluation and
  O(P d² + J d²) numbers (P probe operators, J local jumps): the only one that fits for large d.

``make_drift`` picks the polynomial up to ``POLYNOMIAL_MAX_D`` (the crossover measured by
benchmarks/drift_forms.py), the matrix form above. Both accept ξ and their leaves with leading
batch axes and work under jit, vmap, grad and jvp.

Each term's tensors are real parts: a term of a Hermitian H may have a complex contribution
(A non-Hermitian, ⟨A⟩ complex) but their sum is real, so summing real parts is exact (the matrix
form likewise keeps the Hermitian part of dr/dt).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import resources
from ..models.operators import gell_mann, gell_mann_combination, gell_mann_components
from ..models.pimodel import CollectiveJump, LocalJump, OneBody, PIModel, TwoBody, as_model

#: ``make_drift`` uses the polynomial form up to this d, the matrix form above (measured by
#: benchmarks/drift_forms.py, benchmarks/results/drift_forms.json)
POLYNOMIAL_MAX_D = 3


def _contract(T, x):
    """Σ_m T[..., m] x[..., m] (x broadcast against T[..., m]), unrolled over m."""
    out = T[..., 0] * x[..., 0]
    for m in range(1, x.shape[-1]):
        out = out + T[..., m] * x[..., m]
    return out


class DriftPolynomial(eqx.Module):
    """f(ξ) = a + B ξ + C[ξ, ξ], C symmetric in its last two indices; arrays may carry batch axes."""

    a: jax.Array
    B: jax.Array
    C: jax.Array

    @property
    def n(self) -> int:
        return self.a.shape[-1]

    # the contractions unrolled over the (static, small) index into elementwise products: XLA fuses
    # them into one kernel, fast for one point and under vmap alike (a reduction over a short
    # minor axis, or a batched dot, is several times slower there)

    def __call__(self, xi):
        return self.a + _contract(self.jacobian_half(xi), xi[..., None, :])

    def jacobian_half(self, xi):
        """B_kl + C_klm ξ_m (f = a + that · ξ)."""
        return self.B + _contract(self.C, xi[..., None, None, :])

    def jacobian(self, xi):
        """Df(ξ)_kl = B_kl + 2 C_klm ξ_m."""
        return self.B + 2.0 * _contract(self.C, xi[..., None, None, :])

    def tangent(self, xi, V):
        """Df(ξ) V for V (…, n, k)."""
        return _contract(self.jacobian(xi)[..., :, None, :], jnp.swapaxes(V, -1, -2)[..., None, :, :])

    def event_ndims(self):
        """The trailing (non-batch) axes of each leaf, as a pytree of this structure."""
        return DriftPolynomial(1, 2, 3)

    def align(self, other):
        """(self, other) with common leaf shapes: the polynomial's depend on d only."""
        return self, other


class DriftMatrix(eqx.Module):
    """f(ξ) evaluated with d×d matrices in O(d³) (docs/theory.md §6): with r = (1 + ξ·v)/d (Eq. 3),

        K(r) = K0 + Σ_p ⟨X_p⟩ Y_p = h_eff(r) − (i/2) Σ_n γ_n L_n†L_n,   ⟨X⟩ = Tr(r X),
        Z = −i K(r) r + ½ Σ_n γ_n L_n r L_n†,
        dr/dt = Z + Z† = −i[h_eff(r), r] + Σ_n γ_n D[L_n] r,
        f_l(ξ) = (d/2) Tr(v_l dr/dt) = d Re Tr(v_l Z)

    (ξ ↔ r by the index maps of ``gell_mann_maps``). Leaves, each with leading batch axes allowed
    and complex matrices stored as real (…, d, d, 2) = (Re, Im) (diffrax takes real arguments):
    K0 (…, d, d, 2); X, Y (…, P, d, d, 2), the probe operators and their partners weighted by the
    coefficients; L (…, J, d, d, 2) the local jumps and gamma (…, J) their rates. Zero-padded
    pairs and jumps (``pad``) change nothing.
    """

    K0: jax.Array
    X: jax.Array
    Y: jax.Array
    L: jax.Array
    gamma: jax.Array
    d: int = eqx.field(static=True)

    @property
    def n(self) -> int:
        return self.d * self.d - 1

    def __call__(self, xi):
        d = self.d
        X, Y, L = _complex(self.X), _complex(self.Y), _complex(self.L)
        r = (jnp.eye(d) + gell_mann_combination(xi, d)) / d
        rt = jnp.swapaxes(r, -1, -2)
        mean = jnp.sum(X * rt[..., None, :, :], axis=(-2, -1))  # ⟨X_p⟩ = Σ_ij X_p,ij r_ji
        K = _complex(self.K0) + jnp.sum(mean[..., None, None] * Y, axis=-3)
        Lr = L @ r[..., None, :, :]
        sandwich = jnp.sum((0.5 * self.gamma)[..., None, None] * (Lr @ jnp.conj(jnp.swapaxes(L, -1, -2))), axis=-3)
        Z = -1j * (K @ r) + sandwich
        return d * gell_mann_components(Z, d)

    def tangent(self, xi, V):
        """Df(ξ) V for V (…, n, k): one forward-mode derivative per column (k·O(d³), no n×n
        Jacobian needed)."""
        jvp = lambda v: jax.jvp(self, (xi,), (v,))[1]
        return jax.vmap(jvp, in_axes=-1, out_axes=-1)(jnp.broadcast_to(V, jnp.shape(xi) + V.shape[-1:]))

    def jacobian(self, xi):
        """Df(ξ) (…, n, n), column by column in forward mode: n·O(d³)."""
        return self.tangent(xi, jnp.eye(self.n))

    def event_ndims(self):
        """The trailing (non-batch) axes of each leaf, as a pytree of this structure."""
        return DriftMatrix(3, 4, 4, 4, 1, self.d)

    def pad(self, pairs: int, jumps: int) -> "DriftMatrix":
        """The same drift with zero pairs and jumps appended up to ``pairs`` and ``jumps``."""

        def grow(x, k, axis):
            extra = k - x.shape[axis]
            if extra <= 0:
                return x
            shape = list(x.shape)
            shape[axis] = extra
            return jnp.concatenate([x, jnp.zeros(shape, x.dtype)], axis=axis)

        return DriftMatrix(self.K0, grow(self.X, pairs, -4), grow(self.Y, pairs, -4), grow(self.L, jumps, -4),
                           grow(self.gamma, jumps, -1), self.d)

    def align(self, other: "DriftMatrix"):
        """(self, other) zero-padded to the same numbers of pairs and jumps."""
        P = max(self.X.shape[-4], other.X.shape[-4])
        J = max(self.L.shape[-4], other.L.shape[-4])
        return self.pad(P, J), other.pad(P, J)


def _complex(x):
    """(…, 2) = (Re, Im) → complex (…)."""
    return jax.lax.complex(x[..., 0], x[..., 1])


# --- the static tensors of each kind of term ---------------------------------------------------


def _commutator_map(h, d):
    """(d/2) Tr(v_k (−i)[h, v_l/d]) = −(i/2) Tr(v_k [h, v_l]): ξ-components of −i[h, r] (complex
    for non-Hermitian h)."""
    v = gell_mann(d)
    comm = np.einsum("ij,ljm->lim", h, v) - np.einsum("lij,jm->lim", v, h)
    return -0.5j * np.einsum("kij,lji->kl", v, comm)


def _projections(X, d):
    """⟨X⟩ = x0 + x_l ξ_l: (x0, x) with x0 = Tr X/d, x_l = Tr(v_l X)/d (complex)."""
    v = gell_mann(d)
    return np.trace(X) / d, np.einsum("lij,ji->l", v, X) / d


def _mean_field_hamiltonian(parts, d):
    """Tensors (a, B, C) of −i[h(ξ), r] for h(ξ) = Σ_p ⟨X_p⟩ Y_p, a sum of (X, Y) pairs."""
    n = d * d - 1
    B = np.zeros((n, n))
    C = np.zeros((n, n, n))
    for X, Y in parts:
        x0, x = _projections(X, d)
        # −i[⟨X⟩ Y, (1 + ξ·v)/d] = ⟨X⟩ (−i/d)[Y, ξ·v]: complex x0, x — the real parts of the sum count
        comm = _commutator_map(Y, d)
        B += np.real(x0 * comm)
        C += np.real(np.einsum("m,kl->klm", x, comm))  # ξ_m from ⟨X⟩, ξ_l from r
    return np.zeros(n), B, C


def _dissipator(L, d):
    """Tensors (a, B) of D[L] r = L r L† − ½{L†L, r} on ξ."""
    v = gell_mann(d)
    n = d * d - 1
    LdL = L.conj().T @ L

    def proj(r):
        out = L @ r @ L.conj().T - 0.5 * (LdL @ r + r @ LdL)
        return (d / 2.0) * np.real(np.einsum("kij,ji->k", v, out))

    a = proj(np.eye(d) / d)
    B = np.stack([proj(v[l] / d) for l in range(n)], axis=1)
    return a, B, np.zeros((n, n, n))


def _term_tensors(kind, ops, d):
    """(a, B, C) per unit coefficient of one term (numpy, real)."""
    n = d * d - 1
    mats = [op.array for op in ops]
    if kind is OneBody:
        return np.zeros(n), np.real(_commutator_map(mats[0], d)), np.zeros((n, n, n))
    if kind is TwoBody:
        A, B = mats
        return _mean_field_hamiltonian([(A, B), (B, A)], d)  # ⟨A⟩B + ⟨B⟩A
    if kind is CollectiveJump:
        A = mats[0]
        Ad = A.conj().T
        return _mean_field_hamiltonian([(Ad, 0.5j * A), (A, -0.5j * Ad)], d)  # (i/2)(⟨A†⟩A − ⟨A⟩A†)
    return _dissipator(mats[0], d)  # LocalJump


@functools.lru_cache(maxsize=256)
def _structure_tensors(structure, d):
    """Stacked (T, n), (T, n, n), (T, n, n, n) tensors of the terms ``structure`` = ((type,
    operators), ...), C symmetrised in its last two indices."""
    a, B, C = zip(*(_term_tensors(kind, ops, d) for kind, ops in structure))
    C = np.stack(C)
    C = 0.5 * (C + np.swapaxes(C, -1, -2))
    out = (np.stack(a), np.stack(B), C)
    for x in out:
        x.setflags(write=False)
    return out


def _terms(model: PIModel):
    return model.hamiltonian + model.collective + model.local


def _static(term):
    """A term's type and operators (hashable): what its tensors depend on."""
    return type(term), tuple(getattr(term, f) for f in ("A", "B", "L") if hasattr(term, f))


def _coefficient(term):
    return term.rate if isinstance(term, (CollectiveJump, LocalJump)) else term.c


def drift_polynomial(model) -> DriftPolynomial:
    """The coefficients (a, B, C) of the drift of ``model`` (a PIModel or a family point)."""
    model = as_model(model)
    terms = _terms(model)
    n = model.d**2 - 1
    check_fits("drift_polynomial ((d² − 1)³ tensors; use drift_matrix)", model.d,
               polynomial_bytes(model.d, len(terms), math.prod(model.shape)))
    if not terms:
        return DriftPolynomial(jnp.zeros(n), jnp.zeros((n, n)), jnp.zeros((n, n, n)))
    a, B, C = _structure_tensors(tuple(_static(t) for t in terms), model.d)
    w = _weights(model)
    return DriftPolynomial(jnp.tensordot(w, a, axes=1), jnp.tensordot(w, B, axes=1), jnp.tensordot(w, C, axes=1))


@functools.lru_cache(maxsize=256)
def _matrix_structure(structure, d):
    """Static data of the matrix form per unit coefficient of each of the T terms ``structure``:
    K0 (T, d, d); the probe basis E (P, d, d) and partners Y (T, P, d, d); the local jumps
    L (J, d, d) (complex, each returned as real (…, 2) = (Re, Im)) and the term of each (J,).

    h_eff's pairs ⟨X_q⟩ Y_q (two-body: (A, B), (B, A); collective: (A†, iA/2), (A, −iA†/2)) are
    re-expressed on an orthonormal basis E of span{X_q} (SVD): X_q = Σ_p M_qp E_p, so
    Σ_q ⟨X_q⟩ Y_q = Σ_p ⟨E_p⟩ Σ_q M_qp Y_q and P = dim span{X_q} (2 for any LMG-like model)."""
    T = len(structure)
    K0 = np.zeros((T, d, d), complex)
    probes, jumps = [], []
    for t, (kind, ops) in enumerate(structure):
        mats = [op.array for op in ops]
        if kind is OneBody:
            K0[t] = mats[0]
        elif kind is TwoBody:
            A, B = mats
            probes += [(t, A, B), (t, B, A)]
        elif kind is CollectiveJump:
            A = mats[0]
            Ad = A.conj().T
            probes += [(t, Ad, 0.5j * A), (t, A, -0.5j * Ad)]
        else:
            L = mats[0]
            K0[t] = -0.5j * (L.conj().T @ L)
            jumps.append((t, L))
    if probes:
        u, sv, vh = np.linalg.svd(np.stack([x.reshape(-1) for _, x, _ in probes]), full_matrices=False)
        rank = int(np.sum(sv > 1e-12 * sv[0]))
        E = vh[:rank].reshape(rank, d, d)
        M = u[:, :rank] * sv[:rank]
    else:
        E, M = np.zeros((0, d, d), complex), np.zeros((0, 0))
    Y = np.zeros((T, E.shape[0], d, d), complex)
    for q, (t, _, Yq) in enumerate(probes):
        Y[t] += M[q][:, None, None] * Yq
    L = np.stack([x for _, x in jumps]) if jumps else np.zeros((0, d, d), complex)
    real = lambda x: np.stack([x.real, x.imag], axis=-1)
    out = (real(K0), real(E), real(Y), real(L), np.array([t for t, _ in jumps], dtype=int))
    for x in out:
        x.setflags(write=False)
    return out


def drift_matrix(model) -> DriftMatrix:
    """The matrix form of the drift of ``model`` (a PIModel or a family point), O(d³) per
    evaluation; leaves carry the model's batch shape."""
    model = as_model(model)
    d, shape = model.d, model.shape
    K0, E, Y, L, jump_terms = _matrix_structure(model.structure, d)
    w = _weights(model)
    batched = lambda x: jnp.broadcast_to(jnp.asarray(x), shape + x.shape)
    return DriftMatrix(jnp.tensordot(w, K0, axes=1), batched(E), jnp.tensordot(w, Y, axes=1), batched(L),
                       w[..., jump_terms], d)


def _weights(model):
    """The coefficients (…, T) in term order, float64."""
    shape = model.shape
    return jnp.stack([jnp.broadcast_to(jnp.asarray(_coefficient(t), jnp.float64), shape) for t in _terms(model)],
                     axis=-1) if _terms(model) else jnp.zeros(shape + (0,))


#: the constructor of each form (``make_drift``, the stand-in cycle of ``attractors``)
BUILDERS = {DriftPolynomial: drift_polynomial, DriftMatrix: drift_matrix}


def drift_form(d: int) -> type:
    """``DriftPolynomial`` up to ``POLYNOMIAL_MAX_D``, ``DriftMatrix`` above."""
    return DriftPolynomial if d <= POLYNOMIAL_MAX_D else DriftMatrix


def make_drift(model):
    """The drift of ``model`` in the form ``drift_form(d)`` picks (the faster one at that d)."""
    model = as_model(model)
    return BUILDERS[drift_form(model.d)](model)


#: below this no memory is queried (a mean-field solve of small d: /proc reads cost more than it)
SMALL_BYTES = 2**28


def check_fits(what: str, d: int, nbytes: float) -> None:
    """One-line ``ValueError`` (an ``InsufficientMemoryError``) when ``nbytes`` exceed the memory
    available (``resources.available_memory``): the smaller of the device's and the host's, since
    the arrays are built on the host (numpy) and used on the device."""
    if nbytes < SMALL_BYTES:
        return
    device, host, desc = resources.available_memory()
    known = [(b, w) for b, w in ((device, desc), (host, "host memory")) if b is not None]
    if not known:
        return
    free, where = min(known)
    if nbytes > free:
        raise resources.InsufficientMemoryError(
            f"{what}: d = {d} needs about {resources._fmt_bytes(nbytes)}, more than the "
            f"{resources._fmt_bytes(free)} of {where} available")


def polynomial_bytes(d: int, terms: int, batch: int = 1) -> int:
    """Peak bytes of ``drift_polynomial``: the per-term tensors (T, n, n, n) float64, their
    symmetrised copy and the batch of summed C."""
    n = d * d - 1
    return 8 * n**3 * (2 * terms + batch)


def drift(xi, model):
    """Mean-field drift dξ/dt of the generalised Bloch vector (Eq. 3) for any model (docs/theory.md §6).

    For d = 2, ξ = m = (m_x, m_y, m_z) and for LMG this is Eq. 16::

        dm_x/dt =  𝒥 m_y m_z + Γ m_x m_z/2 − γ m_x/2
        dm_y/dt = −𝒥 m_x m_z − h m_z + Γ m_y m_z/2 − γ m_y/2
        dm_z/dt =  h m_y − Γ (m_x² + m_y²)/2 + γ (1 − m_z)

    ``model``: a PIModel or a family point (e.g. ``LMG``). Pure function of (ξ, model): usable
    by diffrax, jit, vmap and grad; ξ and the model's coefficients may carry batch axes. The form
    (polynomial or d×d matrices) is ``make_drift``'s.
    """
    return make_drift(model)(jnp.asarray(xi))
