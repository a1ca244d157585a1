"""Single-unit operators: the d×d matrices that terms of a model are built from.

Qubits (d = 2) use the basis (|↑⟩, |↓⟩) of SPEC §1, so σ_z = diag(1, −1) and σ₊ = |↑⟩⟨↓|
raises σ_z. For any d, ``gell_mann(d)`` gives the d² − 1 generalised Gell-Mann matrices v_l,
Hermitian, traceless, Tr(v_k v_l) = 2δ_kl, the basis of the generalised Bloch vector (Eq. 3)

    r = (1 + ξ·v)/d,    ξ_l = (d/2) Tr(r v_l),

which for d = 2 is (σ_x, σ_y, σ_z) and ξ = m, the Bloch vector.
"""

from __future__ import annotations

import functools

import numpy as np

sigma_x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
sigma_y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
sigma_z = np.array([[1, 0], [0, -1]], dtype=np.complex128)
sigma_plus = np.array([[0, 1], [0, 0]], dtype=np.complex128)  # |↑⟩⟨↓|
sigma_minus = sigma_plus.T.copy()  # |↓⟩⟨↑|
for _m in (sigma_x, sigma_y, sigma_z, sigma_plus, sigma_minus):
    _m.setflags(write=False)


def identity(d: int) -> np.ndarray:
    """The d×d identity."""
    return np.eye(d, dtype=np.complex128)


def ket_bra(d: int, a: int, b: int) -> np.ndarray:
    """|a⟩⟨b| on a d-level unit (levels 0 … d−1; for d = 2, 0 = ↑ and 1 = ↓)."""
    if not (0 <= a < d and 0 <= b < d):
        raise ValueError(f"ket_bra: levels must lie in 0..{d - 1}, got ({a}, {b})")
    out = np.zeros((d, d), dtype=np.complex128)
    out[a, b] = 1.0
    return out


@functools.lru_cache(maxsize=16)
def gell_mann(d: int) -> np.ndarray:
    """The d² − 1 generalised Gell-Mann matrices, shape (d² − 1, d, d), Tr(v_k v_l) = 2δ_kl.

    Order: symmetric (|a⟩⟨b| + |b⟩⟨a|, a < b), antisymmetric (−i|a⟩⟨b| + i|b⟩⟨a|, a < b), then
    diagonal ones √(2/(l(l+1))) (Σ_{a<l} |a⟩⟨a| − l|l⟩⟨l|). For d = 2 this is (σ_x, σ_y, σ_z).
    """
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"gell_mann: d must be an integer >= 2, got {d!r}")
    sym, anti, diag = [], [], []
    for a in range(d):
        for b in range(a + 1, d):
            s = np.zeros((d, d), complex)
            s[a, b] = s[b, a] = 1.0
            sym.append(s)
            t = np.zeros((d, d), complex)
            t[a, b], t[b, a] = -1j, 1j
            anti.append(t)
    for l in range(1, d):
        g = np.zeros((d, d), complex)
        g[np.arange(l), np.arange(l)] = 1.0
        g[l, l] = -l
        diag.append(np.sqrt(2.0 / (l * (l + 1))) * g)
    if d == 2:  # (σ_x, σ_y, σ_z) with σ_z = diag(1, −1)
        out = np.stack([sym[0], anti[0], diag[0]])
    else:
        out = np.stack(sym + anti + diag)
    out.setflags(write=False)
    return out


def bloch_vector(r, d: int | None = None):
    """ξ_l = (d/2) Tr(r v_l) of a d×d state r (Eq. 3); works on numpy or jax arrays, batched."""
    d = r.shape[-1] if d is None else d
    v = gell_mann(d)
    return (d / 2.0) * _real(_einsum(r, v))


def state_from_bloch(xi, d: int):
    """r = (1 + ξ·v)/d (Eq. 3)."""
    import jax.numpy as jnp

    v = jnp.asarray(gell_mann(d))
    return (jnp.eye(d) + jnp.tensordot(xi, v, axes=([-1], [0]))) / d


def _einsum(r, v):
    import jax.numpy as jnp

    return jnp.einsum("...ij,lji->...l", r, v)


def _real(x):
    import jax.numpy as jnp

    return jnp.real(x)
