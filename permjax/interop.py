"""QuTiP interop: Dicke-basis states in the layout of ``qutip.piqs``, models from piqs's
``Dicke`` objects and piqs ``Dicke`` objects from models. QuTiP is optional (``pip install 'permjax[qutip]'``); it is imported only here,
when one of these functions is called.

piqs's Dicke basis (``qutip.piqs.jmm1_dictionary``, ``block_matrix``): an nds × nds matrix,
nds = Σ_J (2J+1), block-diagonal with one block per J, J from N/2 *downward*, and inside each
block M from J *downward*: |J, M⟩ sits at row Σ_{J′>J} (2J′+1) + (J − M). Its entries are those
of permjax's blocks ρ_J (``DickeState``, Eq. 20): ``ρ_T = ⊕_J ρ_J ⊗ 1_{dim_J}/dim_J`` with
Σ_J Tr ρ_J = 1 — each block stored once, *without* the degeneracy dim_J (Eq. 21), and the
entries ⟨J,M|ρ|J,M′⟩ summed over the dim_J copies. So Tr(ρ jz) is ⟨J_z⟩ and piqs's
``entropy_vn_dicke`` gives S(ρ_T) = Σ_J [S(ρ_J) + Tr ρ_J ln dim_J] (Eq. 27), as permjax does.
Entries between different J (piqs's matrix has room for them) are not part of a
permutation-invariant state; they are zero in ``to_qutip`` and refused by ``from_qutip``.

piqs's rates, checked against a 2^N brute force (tests/test_interop.py: piqs's Liouvillian on the
block-diagonal entries equals the projected 2^N Lindbladian of the terms below, to its single
precision):

    piqs ``Dicke`` argument       piqs's dissipator       permjax term (``PIModel``)
    emission γ↓                   γ↓ Σ_i D[σ₋^(i)]        local (γ↓, σ₋)
    pumping γ↑                    γ↑ Σ_i D[σ₊^(i)]        local (γ↑, σ₊)
    dephasing γ_φ                 γ_φ Σ_i D[σ_z^(i)/2]    local (γ_φ/4, σ_z)        — not the coefficient of D[σ_z]
    collective_emission Γ↓        Γ↓ D[J₋]                collective (N Γ↓, σ₋)     — permjax writes (Γ/N) D[J₋]
    collective_pumping Γ↑         Γ↑ D[J₊]                collective (N Γ↑, σ₊)
    collective_dephasing Γ_φ      Γ_φ D[J_z]              collective (N Γ_φ, σ_z/2)

The Hamiltonian of a piqs model is a Dicke-basis matrix; ``from_piqs`` writes it as a polynomial of
degree ≤ 2 in the collective spin — the form permjax's H takes (one-body c A_tot, two-body
(c/N) A_tot B_tot, Eq. 1) — by a least-squares fit on its block-diagonal entries over
{1, J_α, J_αJ_β + J_βJ_α}, and refuses (``ValueError``) a matrix that is not of that form (e.g. J_z³).
Or pass the Hamiltonian terms yourself (``hamiltonian=``). ``to_piqs`` goes the other way for a
model inside piqs's scope (jumps that are multiples of the operators in the table, any H).
"""

from __future__ import annotations

import math

import numpy as np

from .dicke.layout import DickeLayout
from .dicke.state import DickeState
from .models.operators import identity, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z
from .models.pimodel import PIModel, as_model

#: relative residual of the Hamiltonian fit above which ``from_piqs`` refuses the matrix
FIT_RTOL = 1e-10


def _qutip():
    try:
        import qutip
        from qutip import piqs  # noqa: F401
    except ImportError as err:
        raise ImportError("permjax.interop needs QuTiP with qutip.piqs (QuTiP >= 5): "
                          "pip install 'permjax[qutip]' (or pip install qutip)") from err
    return qutip


def dicke_index(N: int) -> np.ndarray:
    """piqs's row of each slot of ``DickeLayout(N)``: int array (n_J, N+1), −1 on padding.

    Row of |J, M⟩ = Σ_{J′ > J} (2J′ + 1) + (J − M) (J and M both downward, module docstring).
    """
    lay = DickeLayout(N)
    sizes = (2 * lay.J + 1).astype(int)
    offset = np.concatenate([np.cumsum(sizes[::-1])[::-1][1:], [0]])  # Σ over larger J
    idx = offset[:, None] + np.rint(lay.J[:, None] - lay.M[None, :]).astype(int)
    return np.where(lay.mask, idx, -1)


def num_dicke_states(N: int) -> int:
    """nds = Σ_J (2J + 1)."""
    return int(np.sum(2 * DickeLayout(N).J + 1))


def to_qutip(state: DickeState):
    """The state as piqs's block-diagonal nds × nds ``qutip.Qobj`` (module docstring).

    A diagonal state (populations only) gives a diagonal matrix. One state at a time (no batch).
    """
    qutip = _qutip()
    N = state.N
    blocks = np.asarray(state.blocks)
    lay = DickeLayout(N)
    if blocks.shape not in ((lay.n_J, lay.n_M), (lay.n_J, lay.n_M, lay.n_M)):
        raise ValueError(f"to_qutip takes a single state of N={N} (shape (n_J, N+1) or (n_J, N+1, N+1)), "
                         f"got shape {blocks.shape}")
    idx = dicke_index(N)
    nds = num_dicke_states(N)
    rho = np.zeros((nds, nds), complex)
    j, a = np.nonzero(lay.mask)
    if blocks.ndim == 2:
        rho[idx[j, a], idx[j, a]] = blocks[j, a]
    else:
        for jj in range(lay.n_J):
            sl = np.nonzero(lay.mask[jj])[0]
            rho[np.ix_(idx[jj, sl], idx[jj, sl])] = blocks[jj][np.ix_(sl, sl)]
    return qutip.Qobj(rho, dims=[[nds], [nds]])


def from_qutip(rho, N: int | None = None, atol: float = 1e-12) -> DickeState:
    """A ``DickeState`` (full blocks) from piqs's nds × nds Dicke-basis density matrix (a ``Qobj`` or
    an array). N is inferred from nds unless given. Entries between different J must vanish
    (|x| ≤ atol), else ``ValueError``."""
    mat = np.asarray(rho.full() if hasattr(rho, "full") else rho, dtype=complex)
    nds = mat.shape[0]
    if mat.ndim != 2 or mat.shape != (nds, nds):
        raise ValueError(f"from_qutip needs a square Dicke-basis matrix, got shape {mat.shape}")
    if N is None:
        N = next((n for n in range(1, 2 * int(math.isqrt(nds)) + 3) if num_dicke_states(n) == nds), None)
        if N is None:
            raise ValueError(f"{nds} is not a number of Dicke states Σ_J (2J+1) for any N")
    elif num_dicke_states(N) != nds:
        raise ValueError(f"N={N} has {num_dicke_states(N)} Dicke states, the matrix has {nds}")
    lay = DickeLayout(N)
    idx = dicke_index(N)
    blocks = np.zeros((lay.n_J, lay.n_M, lay.n_M), complex)
    inside = np.zeros((nds, nds), dtype=bool)
    for jj in range(lay.n_J):
        sl = np.nonzero(lay.mask[jj])[0]
        rows = idx[jj, sl]
        blocks[jj][np.ix_(sl, sl)] = mat[np.ix_(rows, rows)]
        inside[np.ix_(rows, rows)] = True
    off = float(np.max(np.abs(mat[~inside]))) if (~inside).any() else 0.0
    if off > atol:
        raise ValueError(f"the matrix has entries between different J-blocks (max {off:.3g}): it is not a "
                         "permutation-invariant state in piqs's Dicke basis")
    import jax.numpy as jnp

    return DickeState(jnp.asarray(blocks), None, N)


# --- models ------------------------------------------------------------------------------------

_SPIN = {"x": sigma_x / 2, "y": sigma_y / 2, "z": sigma_z / 2}


def _dicke_spin(N: int) -> dict:
    """J_x, J_y, J_z on piqs's Dicke basis, built here from J₊|J,M⟩ = √((J−M)(J+M+1))|J,M+1⟩."""
    lay = DickeLayout(N)
    idx = dicke_index(N)
    nds = num_dicke_states(N)
    Jp = np.zeros((nds, nds))
    Jz = np.zeros((nds, nds))
    for j, J in enumerate(lay.J):
        for a, M in enumerate(lay.M):
            if idx[j, a] < 0:
                continue
            Jz[idx[j, a], idx[j, a]] = M
            if M + 1 <= J + 1e-9:
                Jp[idx[j, a + 1], idx[j, a]] = math.sqrt((J - M) * (J + M + 1))
    return {"x": (Jp + Jp.T) / 2, "y": (Jp - Jp.T) / 2j, "z": Jz.astype(complex)}


def hamiltonian_terms_from_dicke(H, N: int, rtol: float = FIT_RTOL) -> list:
    """PIModel Hamiltonian terms equal to the Dicke-basis matrix ``H`` (module docstring).

    H = c₀ + Σ_α c_α J_α + Σ_{α≤β} c_αβ (J_αJ_β + J_βJ_α)/2 (real c) is fitted on the
    block-diagonal entries; terms: one-body (c₀/N, 1), (c_α, σ_α/2); two-body (N c_αα, σ_α/2, σ_α/2)
    and (N c_αβ/2, σ_α/2, σ_β/2) + (N c_αβ/2, σ_β/2, σ_α/2). Coefficients below rtol × the
    largest are dropped; a fit residual above rtol × ‖H‖ raises ``ValueError``.
    """
    mat = np.asarray(H.full() if hasattr(H, "full") else H, dtype=complex)
    nds = num_dicke_states(N)
    if mat.shape != (nds, nds):
        raise ValueError(f"the Hamiltonian must be {nds}×{nds} (Dicke basis of N={N}), got {mat.shape}")
    S = _dicke_spin(N)
    names = [()] + [(a,) for a in "xyz"] + [(a, b) for i, a in enumerate("xyz") for b in "xyz"[i:]]
    basis = []
    for nm in names:
        if not nm:
            basis.append(np.eye(nds, dtype=complex))
        elif len(nm) == 1:
            basis.append(S[nm[0]])
        else:
            basis.append((S[nm[0]] @ S[nm[1]] + S[nm[1]] @ S[nm[0]]) / 2)
    block = _block_support(N)
    A = np.stack([b[block] for b in basis], axis=1)
    A = np.concatenate([A.real, A.imag])
    y = np.concatenate([mat[block].real, mat[block].imag])
    c, *_ = np.linalg.lstsq(A, y, rcond=None)
    scale = max(float(np.max(np.abs(mat))), 1e-300)
    resid = float(np.max(np.abs(A @ c - y))) if y.size else 0.0
    if resid > rtol * max(scale, 1.0):
        raise ValueError(f"the Hamiltonian is not a polynomial of degree <= 2 in the collective spin J_x, J_y, J_z "
                         f"(fit residual {resid:.3g}); pass its terms as hamiltonian=[...]")
    big = max(float(np.max(np.abs(c))), 1e-300)
    terms = []
    for coef, nm in zip(c, names):
        if abs(coef) <= rtol * big:
            continue
        if not nm:
            terms.append((coef / N, identity(2)))
        elif len(nm) == 1:
            terms.append((coef, _SPIN[nm[0]]))
        elif nm[0] == nm[1]:
            terms.append((N * coef, _SPIN[nm[0]], _SPIN[nm[0]]))
        else:
            terms += [(N * coef / 2, _SPIN[nm[0]], _SPIN[nm[1]]), (N * coef / 2, _SPIN[nm[1]], _SPIN[nm[0]])]
    return terms


def _block_support(N: int) -> np.ndarray:
    idx = dicke_index(N)
    nds = num_dicke_states(N)
    out = np.zeros((nds, nds), dtype=bool)
    for row in idx:
        r = row[row >= 0]
        out[np.ix_(r, r)] = True
    return out


#: piqs ``Dicke`` rate → (kind, matrix, factor): the permjax rate is factor × the piqs rate, with
#: factor a number or "N" (module docstring table)
PIQS_RATES = {
    "emission": ("local", sigma_minus, 1.0),
    "pumping": ("local", sigma_plus, 1.0),
    "dephasing": ("local", sigma_z, 0.25),
    "collective_emission": ("collective", sigma_minus, "N"),
    "collective_pumping": ("collective", sigma_plus, "N"),
    "collective_dephasing": ("collective", sigma_z / 2, "N"),
}


def from_piqs(dicke, hamiltonian=None) -> PIModel:
    """The ``PIModel`` of a ``qutip.piqs.Dicke`` object (its N is ``dicke.N``), rates mapped as in
    the module docstring's table.

    Args:
        dicke: a ``qutip.piqs.Dicke`` (anything with its N, rate attributes and ``hamiltonian``).
        hamiltonian: the Hamiltonian as PIModel terms (a list of ``(c, A)`` / ``(c, A, B)``, or a
            model whose Hamiltonian is taken); default: ``dicke.hamiltonian`` decomposed by
            ``hamiltonian_terms_from_dicke`` (none if it is ``None``).

    Note that the model depends on N through the collective rates (N Γ) and the fitted terms.
    """
    N = int(dicke.N)
    collective, local = [], []
    for name, (kind, A, factor) in PIQS_RATES.items():
        rate = float(getattr(dicke, name, 0.0) or 0.0)
        if rate == 0.0:
            continue
        (local if kind == "local" else collective).append((rate * (N if factor == "N" else factor), A))
    if hamiltonian is None:
        H = getattr(dicke, "hamiltonian", None)
        terms = [] if H is None else hamiltonian_terms_from_dicke(H, N)
    elif isinstance(hamiltonian, (list, tuple)):
        terms = list(hamiltonian)
    else:
        terms = list(as_model(hamiltonian).hamiltonian)
    return PIModel(2, hamiltonian=terms, collective=collective, local=local)


def _multiple(M: np.ndarray, B: np.ndarray, rtol: float = 1e-12):
    """a with M = a B, or None."""
    a = np.vdot(B, M) / np.vdot(B, B)
    return a if np.max(np.abs(M - a * B)) <= rtol * max(float(np.max(np.abs(M))), 1e-300) else None


def _total(A: np.ndarray, S: dict, nds: int, N: int) -> np.ndarray:
    """A_tot = Σ_i A^(i) on piqs's Dicke basis: A = a₀ 1 + Σ_α a_α σ_α gives N a₀ 1 + Σ_α 2 a_α J_α."""
    out = N * np.trace(A) / 2 * np.eye(nds, dtype=complex)
    for a, sigma in zip("xyz", (sigma_x, sigma_y, sigma_z)):
        out = out + np.trace(A @ sigma) * S[a]  # 2 a_α = Tr(A σ_α)
    return out


def to_piqs(model, N: int):
    """A ``qutip.piqs.Dicke`` of N qubits with the dynamics of a qubit ``PIModel`` (or family point,
    scalar coefficients): the inverse of ``from_piqs``.

    Each local jump must be a multiple a·L of σ₋, σ₊ or σ_z and each collective jump a multiple of
    σ₋, σ₊ or σ_z/2 (rate γ|a|², divided by the module table's factor; jumps on the same piqs
    argument add). The Hamiltonian, any terms, is passed as its Dicke-basis matrix (one-body
    c A_tot, two-body (c/N) A_tot B_tot). A jump outside that scope raises ``ValueError``.
    """
    _qutip()
    import qutip
    from qutip import piqs

    model = as_model(model)
    if model.d != 2 or model.shape != ():
        raise ValueError("to_piqs takes a single qubit model (d = 2, scalar coefficients)")
    rates = {}
    for kind, terms in (("local", [(t.rate, t.L) for t in model.local]),
                        ("collective", [(t.rate, t.A) for t in model.collective])):
        for rate, op in terms:
            M = np.asarray(op.array, complex)
            for name, (k, B, factor) in PIQS_RATES.items():
                a = _multiple(M, np.asarray(B, complex)) if k == kind else None
                if a is not None:
                    rates[name] = rates.get(name, 0.0) + float(rate) * abs(a) ** 2 / (N if factor == "N" else factor)
                    break
            else:
                raise ValueError(f"a {kind} jump {M.tolist()} is outside piqs's scope (multiples of the "
                                 f"{kind} operators of the piqs arguments " + ", ".join(
                                     n for n, (k, _, _) in PIQS_RATES.items() if k == kind) + ")")
    S = _dicke_spin(N)
    nds = num_dicke_states(N)
    H = np.zeros((nds, nds), complex)
    for t in model.hamiltonian:
        A = _total(np.asarray(t.A.array, complex), S, nds, N)
        H = H + (float(t.c) / N * A @ _total(np.asarray(t.B.array, complex), S, nds, N) if hasattr(t, "B")
                 else float(t.c) * A)
    return piqs.Dicke(N, hamiltonian=qutip.Qobj(H, dims=[[nds], [nds]]).to("csr"), **rates)
