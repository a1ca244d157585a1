"""The mean-field (N → ∞) drift of any permutation-invariant model (SPEC §6), on the generalised
Bloch vector ξ of Eq. 3 (r = (1 + ξ·v)/d, ξ_l = (d/2) Tr(r v_l), v the Gell-Mann matrices).

On product states ρ_T = r^{⊗N} the model's Lindbladian (Eq. 1) factorises, as N → ∞, into

    dr/dt = −i[h_eff(r), r] + Σ_n γ_n D[L_n] r,
    h_eff(r) = Σ_1-body c A + Σ_2-body c (⟨A⟩ B + ⟨B⟩ A) + Σ_m (iΓ_m/2)(⟨A_m†⟩ A_m − ⟨A_m⟩ A_m†),

⟨X⟩ = Tr(r X) (complex for non-Hermitian X). Projected on ξ this is a quadratic polynomial

    dξ_k/dt = f_k(ξ) = a_k + B_kl ξ_l + C_klm ξ_l ξ_m,

whose coefficients are linear in the model's coefficients and rates: each term contributes its
coefficient times a fixed tensor, computed here once per operator structure with numpy. The
drift inside an ODE solve is then a cheap polynomial (``DriftPolynomial``). For LMG it is Eq. 16.

Each term's tensors are real parts: a term of a Hermitian H may have a complex contribution
(A non-Hermitian, ⟨A⟩ complex) but their sum is real, so summing real parts is exact.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.operators import gell_mann
from ..models.pimodel import CollectiveJump, LocalJump, OneBody, PIModel, TwoBody, as_model


class DriftPolynomial(eqx.Module):
    """f(ξ) = a + B ξ + C[ξ, ξ], C symmetric in its last two indices; arrays may carry batch axes."""

    a: jax.Array
    B: jax.Array
    C: jax.Array

    @property
    def n(self) -> int:
        return self.a.shape[-1]

    # elementwise products and sums (not dot products): XLA fuses them into one kernel, which for
    # the small n here is several times faster inside an ODE solver's loop

    def __call__(self, xi):
        x = xi[..., None, :]
        return self.a + jnp.sum((self.B + jnp.sum(self.C * x[..., None, :], axis=-1)) * x, axis=-1)

    def jacobian(self, xi):
        """Df(ξ)_kl = B_kl + 2 C_klm ξ_m."""
        return self.B + 2.0 * jnp.sum(self.C * xi[..., None, None, :], axis=-1)


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
    if not terms:
        return DriftPolynomial(jnp.zeros(n), jnp.zeros((n, n)), jnp.zeros((n, n, n)))
    a, B, C = _structure_tensors(tuple(_static(t) for t in terms), model.d)
    shape = model.shape
    w = jnp.stack([jnp.broadcast_to(jnp.asarray(_coefficient(t), jnp.float64), shape) for t in terms], axis=-1)
    return DriftPolynomial(jnp.tensordot(w, a, axes=1), jnp.tensordot(w, B, axes=1), jnp.tensordot(w, C, axes=1))


def drift(xi, model):
    """Mean-field drift dξ/dt of the generalised Bloch vector (Eq. 3) for any model (SPEC §6).

    For d = 2, ξ = m = (m_x, m_y, m_z) and for LMG this is Eq. 16::

        dm_x/dt =  𝒥 m_y m_z + Γ m_x m_z/2 − γ m_x/2
        dm_y/dt = −𝒥 m_x m_z − h m_z + Γ m_y m_z/2 − γ m_y/2
        dm_z/dt =  h m_y − Γ (m_x² + m_y²)/2 + γ (1 − m_z)

    ``model``: a PIModel or a family point (e.g. ``LMG``). Pure function of (ξ, model): usable
    by diffrax, jit, vmap and grad; ξ and the model's coefficients may carry batch axes.
    """
    return drift_polynomial(model)(jnp.asarray(xi))
