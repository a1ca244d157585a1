"""Single-unit operators: the d×d matrices that terms of a model are built from.

Qubits (d = 2) use the basis (|↑⟩, |↓⟩) of docs/theory.md §2, so σ_z = diag(1, −1) and σ₊ = |↑⟩⟨↓|
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


@functools.lru_cache(maxsize=64)
def gell_mann_maps(d: int):
    """Index maps of the ``gell_mann`` order, so that Σ_l ξ_l v_l and Tr(v_l X) cost O(d²), never a
    (d² − 1)·d·d contraction. With m = d(d − 1)/2 pairs (a, b), a < b, in the order of ``gell_mann``:

        Σ_l ξ_l v_l = M,  M_ab = s_k − i t_k,  M_ba = s_k + i t_k,  diag M = W ζ,
        Tr(v_l X): X_ab + X_ba (symmetric), i(X_ab − X_ba) (antisymmetric), Wᵀ diag X (diagonal),

    with ξ = (s, t, ζ) split as m, m, d − 1 and W (d, d − 1) the diagonal matrices' entries
    (column l − 1: √(2/(l(l+1))) (1, …, 1, −l, 0, …)). Returns numpy (upper, lower, W, order):
    flat indices a·d + b and b·d + a of the pairs, W, and the flat order of (M_ab, M_ba, diag) in M.
    """
    a, b = np.triu_indices(d, 1)  # row-major: (0, 1), (0, 2), …, (1, 2), … as in gell_mann
    W = np.zeros((d, d - 1))
    for l in range(1, d):
        W[:l, l - 1] = 1.0
        W[l, l - 1] = -l
        W[:, l - 1] *= np.sqrt(2.0 / (l * (l + 1)))
    upper, lower, diag = a * d + b, b * d + a, np.arange(d) * (d + 1)
    order = np.argsort(np.concatenate([upper, lower, diag]))
    out = (upper, lower, W, order)
    for x in out:
        x.setflags(write=False)
    return out


def _namespace(x):
    """numpy for numpy input (static data, also inside a trace), else jax.numpy."""
    import jax.numpy as jnp

    return np if isinstance(x, (np.ndarray, np.generic)) else jnp


def gell_mann_combination(xi, d: int):
    """Σ_l ξ_l v_l as (…, d, d) complex (batched over leading axes of ξ), in O(d²); numpy for
    numpy input, else jax."""
    xp = _namespace(xi)
    _, _, W, order = gell_mann_maps(d)
    m = d * (d - 1) // 2
    xi = xp.asarray(xi)
    up = xi[..., :m] - 1j * xi[..., m:2 * m]
    diag = (xi[..., 2 * m:] @ W.T).astype(up.dtype)
    flat = xp.concatenate([up, xp.conj(up), diag], axis=-1)[..., order]
    return flat.reshape(xi.shape[:-1] + (d, d))


def gell_mann_components(X, d: int | None = None):
    """Re Tr(v_l X) for (…, d, d) matrices X (batched), in O(d²): the components of the
    Hermitian part of X (for Hermitian X, Tr(v_l X) itself); numpy for numpy input, else jax."""
    xp = _namespace(X)
    d = X.shape[-1] if d is None else d
    upper, lower, W, _ = gell_mann_maps(d)
    flat = xp.reshape(X, X.shape[:-2] + (d * d,))
    xu, xl = flat[..., upper], flat[..., lower]
    diag = xp.real(xp.diagonal(X, axis1=-2, axis2=-1))
    return xp.concatenate([xp.real(xu + xl), -xp.imag(xu - xl), diag @ W], axis=-1)


def bloch_vector(r, d: int | None = None):
    """ξ_l = (d/2) Tr(r v_l) of a d×d state r (Eq. 3); works on numpy or jax arrays, batched."""
    import jax.numpy as jnp

    d = r.shape[-1] if d is None else d
    return (d / 2.0) * gell_mann_components(jnp.asarray(r), d)


def state_from_bloch(xi, d: int):
    """r = (1 + ξ·v)/d (Eq. 3)."""
    import jax.numpy as jnp

    return (jnp.eye(d) + gell_mann_combination(xi, d)) / d


@functools.lru_cache(maxsize=64)
def _spin_operators(two_s: int):
    s = two_s / 2.0
    m = s - np.arange(two_s + 1)  # s, s − 1, …, −s
    plus = np.diag(np.sqrt(s * (s + 1) - m[1:] * (m[1:] + 1)), 1).astype(np.complex128)  # S₊|m⟩ ∝ |m + 1⟩
    minus = plus.conj().T.copy()
    out = ((plus + minus) / 2, (plus - minus) / 2j, np.diag(m).astype(np.complex128), plus, minus)
    for x in out:
        x.setflags(write=False)
    return out


def spin_operators(s):
    """Spin-s matrices (S_x, S_y, S_z, S₊, S₋) of one unit, d = 2s + 1 levels.

    Basis |s, m⟩ with m = s, s − 1, …, −s (level 0 is m = s), so S_z = diag(s, …, −s) and
    S₊|s, m⟩ = √(s(s+1) − m(m+1)) |s, m + 1⟩; S_x = (S₊ + S₋)/2, S_y = (S₊ − S₋)/(2i),
    [S_x, S_y] = i S_z and S² = s(s+1). For s = 1/2 this is (σ_x, σ_y, σ_z, σ₊, σ₋)/(2, 2, 2, 1, 1)
    in the qubit basis (|↑⟩, |↓⟩) of docs/theory.md §2. ``s``: a positive integer or half-integer (1/2,
    1.5, Fraction(9, 2), ...). Read-only complex arrays.
    """
    try:
        two_s = float(2 * s)
        ok = two_s == round(two_s) and two_s >= 1
    except (TypeError, ValueError):
        ok = False
    if isinstance(s, (bool, np.bool_)) or not ok:
        raise ValueError(f"spin_operators: s must be a positive integer or half-integer, got {s!r}")
    return _spin_operators(int(round(two_s)))
