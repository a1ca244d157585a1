"""A permutation-invariant model as data: the paper's Eq. 1 for N identical d-level units.

    dρ/dt = −i[H, ρ] + Σ_m (Γ_m/N) D[A_m,tot] ρ + Σ_n γ_n Σ_i D[L_n^(i)] ρ,
    H = Σ_k c_k A_k,tot + Σ_k (c_k/N) A_k,tot B_k,tot,           A_tot = Σ_i A^(i)

(docs/theory.md §2), D[A]ρ = AρA† − ½{A†A, ρ}. A model is a pytree whose leaves are the real
coefficients c_k, Γ_m, γ_n (differentiable, batchable); the d×d matrices are static data
(``Operator``), so everything derived from their structure — which terms conserve
q = M − M′, whether local jumps exist — is known when a function is traced.
"""

from __future__ import annotations

import hashlib

import numbers
from typing import Union

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True unless ``x`` (an array or any pytree) holds a JAX tracer (inside jit/vmap/grad nothing
    can be checked)."""
    return not any(isinstance(a, jax.core.Tracer) for a in jax.tree.leaves(x))


class Operator:
    """A static, hashable d×d complex matrix (a term's A, B or L)."""

    __slots__ = ("array", "_hash")

    def __init__(self, matrix, what: str = "matrix"):
        if isinstance(matrix, Operator):
            matrix = matrix.array
        if isinstance(matrix, jax.core.Tracer):
            raise ValueError(f"{what} must be a concrete matrix (only coefficients and rates can be traced)")
        try:
            a = np.array(matrix, dtype=np.complex128)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a square matrix of numbers, got {matrix!r}") from None
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
            raise ValueError(f"{what} must be a d×d matrix with d >= 2, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} has non-finite entries")
        a.setflags(write=False)
        object.__setattr__(self, "array", a)
        object.__setattr__(self, "_hash", hash((a.shape, a.tobytes())))

    def __setattr__(self, name, value):
        raise AttributeError("Operator is immutable")

    @property
    def d(self) -> int:
        return self.array.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, Operator) and self.array.shape == other.array.shape and bool(
            np.array_equal(self.array, other.array))

    def __repr__(self):
        return f"Operator({np.array2string(self.array, precision=4, separator=', ')})"


def structure_digest(model) -> str:
    """sha256 of ``model.structure`` with the exact matrices (an ``Operator``'s repr rounds
    them): a key for programs kept on disk."""
    h = hashlib.sha256(str(model.d).encode())
    for kind, operators in model.structure:
        h.update(kind.__name__.encode())
        for op in operators:
            h.update(op.array.tobytes())
    return h.hexdigest()


def _coefficient(x, what: str, nonnegative: bool = False):
    """A real coefficient leaf (float64); checked when concrete: real, finite, (≥ 0)."""
    if is_concrete(x):
        if isinstance(x, (bool, np.bool_, str, bytes)) or (
            isinstance(x, (np.ndarray, jax.Array)) and np.asarray(x).dtype.kind in "bUSO"):
            raise ValueError(f"{what} must be a real number, got {x!r}")
        try:
            a = np.asarray(x)
        except Exception:  # noqa: BLE001
            raise ValueError(f"{what} must be a real number, got {x!r}") from None
        if a.dtype.kind == "c":
            raise ValueError(f"{what} must be real (put complex phases into the matrix), got {x!r}")
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{what} must be a real number, got {x!r}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} must be finite, got {x!r}")
        if nonnegative and np.any(a < 0):
            raise ValueError(f"{what} must be >= 0, got {x!r}")
        return jnp.asarray(a, dtype=jnp.float64)
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float64)


class OneBody(eqx.Module):
    """c Σ_i A^(i) in H."""

    c: jax.Array
    A: Operator = eqx.field(static=True)


class TwoBody(eqx.Module):
    """(c/N) A_tot B_tot in H."""

    c: jax.Array
    A: Operator = eqx.field(static=True)
    B: Operator = eqx.field(static=True)


class CollectiveJump(eqx.Module):
    """(rate/N) D[A_tot]."""

    rate: jax.Array
    A: Operator = eqx.field(static=True)


class LocalJump(eqx.Module):
    """rate Σ_i D[L^(i)]."""

    rate: jax.Array
    L: Operator = eqx.field(static=True)


HamiltonianTerm = Union[OneBody, TwoBody]


def coefficient(term):
    """A term's real coefficient leaf: c of a Hamiltonian term, the rate of a jump."""
    return term.rate if isinstance(term, (CollectiveJump, LocalJump)) else term.c


def _as_term(kind: str, k: int, term, d: int):
    where = f"{kind} term {k}"
    if isinstance(term, (OneBody, TwoBody, CollectiveJump, LocalJump)):
        ok = {"hamiltonian": (OneBody, TwoBody), "collective": (CollectiveJump,), "local": (LocalJump,)}[kind]
        if not isinstance(term, ok):
            raise ValueError(f"{where} is a {type(term).__name__}, which does not belong in {kind}")
        mats = [getattr(term, f) for f in ("A", "B", "L") if hasattr(term, f)]
        coeff = term.rate if kind != "hamiltonian" else term.c
        parts = (coeff, *mats)
    else:
        if not isinstance(term, (tuple, list)):
            raise ValueError(f"{where} must be a tuple like (c, A), got {type(term).__name__}")
        parts = tuple(term)
    sizes = {"hamiltonian": (2, 3), "collective": (2,), "local": (2,)}[kind]
    if len(parts) not in sizes:
        form = {"hamiltonian": "(c, A) or (c, A, B)", "collective": "(rate, A)", "local": "(rate, L)"}[kind]
        raise ValueError(f"{where} must be {form}, got {len(parts)} entries")
    mats = [Operator(m, f"{where}: matrix {i + 1}") for i, m in enumerate(parts[1:])]
    for i, m in enumerate(mats):
        if m.d != d:
            raise ValueError(f"{where}: matrix {i + 1} is {m.d}×{m.d}, the model has d = {d}")
    coeff = _coefficient(parts[0], f"{where}: {'coefficient' if kind == 'hamiltonian' else 'rate'}",
                         nonnegative=kind != "hamiltonian")
    if kind == "hamiltonian":
        return OneBody(coeff, mats[0]) if len(mats) == 1 else TwoBody(coeff, mats[0], mats[1])
    return (CollectiveJump if kind == "collective" else LocalJump)(coeff, mats[0])


class PIModel(eqx.Module):
    """A permutation-invariant open quantum system of N identical d-level units (Eq. 1).

    Args:
        d: levels per unit (2 for qubits, basis (|↑⟩, |↓⟩)).
        hamiltonian: terms ``(c, A)`` = c Σ_i A^(i) and ``(c, A, B)`` = (c/N) A_tot B_tot.
        collective: terms ``(rate, A)`` = (rate/N) D[A_tot].
        local: terms ``(rate, L)`` = rate Σ_i D[L^(i)].

    Matrices are d×d (complex allowed); coefficients are real, rates ≥ 0, all finite; the
    Hamiltonian must be Hermitian as a whole. Concrete values are checked (``ValueError``
    naming the term); traced ones (inside jit/vmap/grad) are not. Coefficients may be arrays
    of a common broadcast shape: a batch of models (``broadcast()``, then ``jax.vmap``).
    """

    d: int = eqx.field(static=True)
    hamiltonian: tuple
    collective: tuple
    local: tuple

    def __init__(self, d, hamiltonian=(), collective=(), local=()):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 2:
            raise ValueError(f"PIModel: d must be an integer >= 2, got {d!r}")
        self.d = int(d)
        for kind, terms in (("hamiltonian", hamiltonian), ("collective", collective), ("local", local)):
            if terms is None:
                terms = ()
            if not isinstance(terms, (tuple, list)):
                raise ValueError(f"PIModel: {kind} must be a list of terms, got {type(terms).__name__}")
            setattr(self, kind, tuple(_as_term(kind, k, t, self.d) for k, t in enumerate(terms)))
        self.shape  # the coefficient shapes must broadcast
        check_hermitian(self)

    @property
    def shape(self) -> tuple[int, ...]:
        """Broadcast shape of the coefficients (``()`` for a single model)."""
        try:
            return jnp.broadcast_shapes(*(jnp.shape(x) for x in jax.tree.leaves(self)), ())
        except ValueError:
            raise ValueError("PIModel: coefficient arrays do not broadcast to a common shape") from None

    def broadcast(self) -> "PIModel":
        """Every coefficient broadcast to ``self.shape`` (ready for ``jax.vmap``)."""
        s = self.shape
        return jax.tree.map(lambda x: jnp.broadcast_to(x, s), self)

    def to_model(self) -> "PIModel":
        return self

    @property
    def terms(self) -> tuple:
        """Every term, in the order Hamiltonian, collective, local."""
        return self.hamiltonian + self.collective + self.local

    @property
    def structure(self) -> tuple:
        """Each term's type and operators (hashable): what is fixed when coefficients are traced."""
        return tuple((type(t), tuple(getattr(t, f) for f in ("A", "B", "L") if hasattr(t, f))) for t in self.terms)

    def coefficients(self) -> jax.Array:
        """The coefficient vector (…, T) in ``terms`` order: c of Hamiltonian terms, rates of jumps."""
        shape = self.shape
        if not self.terms:
            return jnp.zeros(shape + (0,))
        return jnp.stack([jnp.broadcast_to(jnp.asarray(coefficient(t), jnp.float64), shape) for t in self.terms], axis=-1)

    @property
    def has_local(self) -> bool:
        """Whether any local jump has a rate that is not concretely zero."""
        return any(not (is_concrete(t.rate) and np.all(np.asarray(t.rate) == 0)) for t in self.local)

    def describe(self) -> str:
        """The terms, one line each."""
        lines = [f"PIModel(d={self.d})"]
        for t in self.hamiltonian:
            if isinstance(t, OneBody):
                lines.append(f"  H  += {_num(t.c)} Σ_i A^(i),  A = {_mat(t.A)}")
            else:
                lines.append(f"  H  += ({_num(t.c)}/N) A_tot B_tot,  A = {_mat(t.A)}, B = {_mat(t.B)}")
        for t in self.collective:
            lines.append(f"  L  += ({_num(t.rate)}/N) D[A_tot],  A = {_mat(t.A)}")
        for t in self.local:
            lines.append(f"  L  += {_num(t.rate)} Σ_i D[L^(i)],  L = {_mat(t.L)}")
        return "\n".join(lines)


def _num(x) -> str:
    if not is_concrete(x):
        return "<traced>"
    a = np.asarray(x)
    return f"{float(a):.6g}" if a.ndim == 0 else f"array{a.shape}"


def _mat(m: Operator) -> str:
    return np.array2string(np.round(m.array, 6), separator=",").replace("\n", "")


def check_hermitian(model: PIModel, atol: float = 1e-12) -> None:
    """Raise ``ValueError`` unless H is Hermitian for every N (concrete coefficients only).

    With A_tot B_tot = Σ_{i≠j} A^(i) B^(j) + Σ_i (AB)^(i), H is Hermitian for all N iff each
    of Σ c A (one-body), Σ c AB (the 1/N one-body part) and Σ c (A⊗B + B⊗A) (two-unit part)
    is Hermitian, for every model of a batch.
    """
    terms = model.hamiltonian
    if not terms or not all(is_concrete(t.c) for t in terms):
        return
    d = model.d
    shape = model.shape
    one = np.zeros(shape + (d, d), complex)
    prod = np.zeros(shape + (d, d), complex)
    # the d²×d² two-unit part only when there are two-body terms (d⁴ numbers: 1.6 GB at d = 100)
    pair = np.zeros(shape + ((d * d, d * d) if any(isinstance(t, TwoBody) for t in terms) else (0, 0)), complex)
    for t in terms:
        c = np.broadcast_to(np.asarray(t.c, dtype=float), shape)[..., None, None]
        if isinstance(t, OneBody):
            one = one + c * t.A.array
        else:
            A, B = t.A.array, t.B.array
            prod = prod + c * (A @ B)
            pair = pair + c * (np.kron(A, B) + np.kron(B, A))
    for name, m in (("its one-body part Σ c A", one), ("the one-body part Σ c AB of its two-body terms", prod),
                    ("its two-body part Σ c (A⊗B + B⊗A)", pair)):
        err = np.max(np.abs(m - np.conj(np.swapaxes(m, -1, -2)))) if m.size else 0.0
        scale = max(1.0, float(np.max(np.abs(m))) if m.size else 1.0)
        if err > atol * scale:
            raise ValueError(f"PIModel: the Hamiltonian is not Hermitian: {name} differs from its adjoint by {err:.3g}")


def as_model(model) -> PIModel:
    """A ``PIModel`` from a ``PIModel`` or a family point (anything with ``to_model()``)."""
    if isinstance(model, PIModel):
        return model
    to_model = getattr(model, "to_model", None)
    if to_model is None:
        raise ValueError(f"expected a permjax.PIModel or a model family (e.g. permjax.LMG), got {type(model).__name__}")
    out = to_model()
    if not isinstance(out, PIModel):
        raise ValueError(f"{type(model).__name__}.to_model() must return a PIModel, got {type(out).__name__}")
    return out
