"""Static structure of a qubit model in the Dicke basis: collective operators on a J-block and
whether the Liouvillian conserves q = M − M′ (docs/theory.md §6).

Every qubit matrix is A = a₀ 1 + a₊ σ₊ + a₋ σ₋ + a_z σ_z, so A_tot = a₀ N + a₊ J₊ + a₋ J₋ + 2a_z J_z
(``models.qubit``) acts inside each J-block. Sorted by how they move M, the components form three
groups: {J₊} (ΔM = +1), {J₋} (ΔM = −1) and {1, J_z} (ΔM = 0).

q-conservation. The Liouvillian maps ρ_{J,M,M′} to entries with the same q = M − M′ iff

* H commutes with J_z: its ΔM ≠ 0 part vanishes. H is a polynomial of degree ≤ 2 in J_±, J_z
  whose coefficients are affine in 1/N; on the J = N/2 block with N ≥ 4 its normal-ordered
  monomials J₊, J₊J_z, J₊² (and adjoints) are linearly independent, so [H, J_z] = 0 on the
  J = N/2 blocks of N = 4 and N = 5 proves it for every N (LMG's J_x² + J_y² passes,
  J_x² alone does not);
* the jumps do not mix the groups: with K_xy = Σ_terms rate · c_x c_y* (x, y over the
  components of each term's matrix), every entry of K between two different groups vanishes,
  for the collective and for the local jumps separately. A single term passes iff its matrix
  lies in one group (J₋, J₊, J_z, σ₋, σ₊, σ_z, …); sums can pass by cancellation
  (D[σ_x] + D[σ_y] = 2(D[σ₊] + D[σ₋])).

Then the steady state, when unique, is diagonal (the q = 0 sector holds a state), and its
populations obey the rate equations of ``rates.py``. ``is_q_conserving`` is the one place that
decides this.
"""

from __future__ import annotations

import numpy as np

from ..models.pimodel import OneBody, PIModel, as_model, is_concrete
from ..models.qubit import collective_components, components

#: relative size of the q-changing part below which a model counts as q-conserving
Q_ATOL = 1e-12

#: group of each component of ``models.qubit.components`` (1, +, −, z): the ΔM it causes
_GROUP = np.array([0, 1, -1, 0])


def collective_bands(A, N: int, J2: int | None = None) -> np.ndarray:
    """A_tot = a₀ N + a₊ J₊ + a₋ J₋ + 2a_z J_z on the J = J2/2 block (default N/2) as diagonals:
    shape (5, 2J+1), row o + 2 holding H[i, i + o] (o = −2 … 2; zero where i + o is off the block)."""
    J2 = N if J2 is None else J2
    cN, cp, cm, cz = collective_components(A)
    J = J2 / 2.0
    M = np.arange(J2 + 1) - J
    up = np.sqrt((J - M[:-1]) * (J + M[:-1] + 1))  # ⟨a+1|J₊|a⟩
    d = np.zeros((5, J2 + 1), complex)
    d[2] = cN * N + cz * M
    d[1, 1:] = cp * up  # H[a+1, a]: o = −1
    d[3, :-1] = cm * up  # H[a, a+1]: o = +1
    return d


def _band_product(x, y):
    """Diagonals of X Y for banded X, Y (``collective_bands`` layout), bandwidth ≤ 2 kept."""
    n = x.shape[-1]
    out = np.zeros((5, n), complex)
    for o1 in (-1, 0, 1):
        for o2 in (-1, 0, 1):
            o = o1 + o2
            i = np.arange(n)
            ok = (i + o1 >= 0) & (i + o1 < n) & (i + o >= 0) & (i + o < n)
            out[o + 2, ok] += x[o1 + 2, ok] * y[o2 + 2, (i + o1)[ok]]
    return out


def hamiltonian_bands(model: PIModel, N: int, J2: int | None = None) -> np.ndarray:
    """Static diagonals H_k (shape (terms, 5, 2J+1), ``collective_bands`` layout) with
    H = Σ_k c_k H_k on the J = J2/2 block (default J = N/2): A_tot for a one-body term c A,
    A_tot B_tot / N for a two-body term (c/N) A_tot B_tot."""
    out = []
    for t in model.hamiltonian:
        a = collective_bands(t.A, N, J2)
        out.append(a if isinstance(t, OneBody) else _band_product(a, collective_bands(t.B, N, J2)) / N)
    return np.array(out).reshape(len(out), 5, (N if J2 is None else J2) + 1)


def band_matrix(d: np.ndarray) -> np.ndarray:
    """The dense matrix with diagonals d (``collective_bands`` layout)."""
    n = d.shape[-1]
    out = np.zeros((n, n), complex)
    for o in range(-2, 3):
        i = np.arange(max(0, -o), min(n, n - o))
        out[i, i + o] = d[o + 2, i]
    return out


def hamiltonian_terms(model: PIModel, N: int, J2: int | None = None) -> list[np.ndarray]:
    """The H_k of ``hamiltonian_bands`` as dense matrices (small blocks)."""
    return [band_matrix(d) for d in hamiltonian_bands(model, N, J2)]


def _single_group(A) -> bool:
    g = _GROUP[np.abs(components(A)) > 0]
    return g.size == 0 or bool(np.all(g == g[0]))


def _shift(A) -> int:
    """ΔM of A_tot when it lies in one group (0 for the zero matrix)."""
    g = _GROUP[np.abs(components(A)) > 0]
    return int(g[0]) if g.size else 0


def _term_conserves(t) -> bool:
    """Structure alone (any coefficient): the term conserves q by itself."""
    if hasattr(t, "rate"):
        return _single_group(t.A if hasattr(t, "A") else t.L)
    if isinstance(t, OneBody):
        return _single_group(t.A) and _shift(t.A) == 0
    return _single_group(t.A) and _single_group(t.B) and _shift(t.A) + _shift(t.B) == 0


def conserves_q_by_term(terms) -> bool:
    """Whether each of ``terms`` conserves q by its structure alone, whatever its coefficient."""
    return all(_term_conserves(t) for t in terms)


def _hamiltonian_violation(model: PIModel) -> float:
    """max over N ∈ {4, 5} and the batch of ‖ΔM ≠ 0 part of H‖ / scale on the J = N/2 block."""
    if not model.hamiltonian:
        return 0.0
    worst = 0.0
    shape = model.shape
    for N in (4, 5):
        H = sum(np.asarray(t.c, float)[..., None, None] * Hk for t, Hk in zip(model.hamiltonian, hamiltonian_terms(model, N)))
        H = np.broadcast_to(H, shape + H.shape[-2:])
        a = np.arange(N + 1)
        off = np.where(a[:, None] != a[None, :], np.abs(H), 0.0)
        scale = max(1.0, float(np.max(np.abs(H))))
        worst = max(worst, float(np.max(off)) / scale)
    return worst


def _jump_violation(terms, coeffs) -> float:
    """Largest |K_xy| between different ΔM groups, relative to max K_xx (concrete rates)."""
    if not terms:
        return 0.0
    K = 0.0
    for t in terms:
        c = coeffs(t.A if hasattr(t, "A") else t.L)
        K = K + np.asarray(t.rate, float)[..., None, None] * np.outer(c, np.conj(c))
    K = np.asarray(K)
    cross = _GROUP[:, None] != _GROUP[None, :]
    scale = max(1e-300, float(np.max(np.abs(np.diagonal(K, axis1=-2, axis2=-1)))))
    return float(np.max(np.where(cross, np.abs(K), 0.0))) / scale


def violations_by_part(model: PIModel):
    """(terms, violation) of H, the collective and the local jumps; violation None when a
    coefficient of that part is traced."""
    def concrete(terms, leaf):
        return all(is_concrete(getattr(t, leaf)) for t in terms)

    return (
        (model.hamiltonian, _hamiltonian_violation(model) if concrete(model.hamiltonian, "c") else None),
        (model.collective, _jump_violation(model.collective, collective_components) if concrete(model.collective, "rate") else None),
        (model.local, _jump_violation(model.local, components) if concrete(model.local, "rate") else None),
    )


def q_violation(model) -> float | None:
    """How far the model is from conserving q (0 when it does; relative units): the largest over
    H, collective and local jumps; ``None`` when a part's coefficients are traced and it does
    not conserve q term by term (``is_q_conserving`` then answers conservatively)."""
    model = as_model(model)
    if model.d != 2:
        raise ValueError(f"q = M − M′ is defined for qubit models (d = 2), got d = {model.d}")
    worst = 0.0
    for terms, v in violations_by_part(model):
        if v is None:
            if not conserves_q_by_term(terms):
                return None
            v = 0.0
        worst = max(worst, v)
    return worst


def is_q_conserving(model, atol: float = Q_ATOL) -> bool:
    """Whether the model's Liouvillian conserves q = M − M′ (module docstring): H diagonal in
    J_z and no jump mixing ΔM = +1, −1, 0. Then its steady state, if unique, is diagonal and
    the rate equations (``rates.py``) give it.

    Decided for H, the collective and the local jumps separately: on the values where they are
    concrete, cancellations between terms included (LMG with h = 0 is q-conserving, with h ≠ 0
    not); where coefficients are traced (inside jit/grad), on each term's structure alone, which
    cannot see cancellations — the answer is then conservative (False for LMG's J_x² + J_y²
    with a traced 𝒥). ``d ≠ 2``: False.
    """
    model = as_model(model)
    if model.d != 2:
        return False
    v = q_violation(model)
    return v is not None and v <= atol
