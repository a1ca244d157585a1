"""QuTiP interop: piqs's Dicke-basis layout and its rate conventions, against a 2^N brute force
built here (a coupled basis |J, M, α⟩ from J₋ ladders, the Lindbladian of the mapped terms
projected onto it), piqs's own Liouvillian and states, and permjax's rate-equation solver."""

import sys

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

qutip = pytest.importorskip("qutip")
from qutip import piqs  # noqa: E402

import permjax  # noqa: E402
from permjax.dicke.layout import DickeLayout  # noqa: E402
from permjax.solvers.rates import steady_populations  # noqa: E402
from permjax.dicke.state import DickeState, magnetization, mutual_information, total_entropy  # noqa: E402
from permjax.interop import from_piqs, from_qutip, hamiltonian_terms_from_dicke, to_piqs, to_qutip  # noqa: E402

from bruteforce import lindblad_rhs, mutual_information as bf_mutual_information, site_operator, symmetric_steady_state  # noqa: E402
from piqs_reference import mi_per_N  # noqa: E402

SP = np.array([[0, 1], [0, 0]], dtype=complex)  # σ₊ = |↑⟩⟨↓|
SZ = np.diag([1.0, -1.0]).astype(complex)


# --- 2^N reference ----------------------------------------------------------------------------


def total(A, N):
    return sum(site_operator(A, i, N) for i in range(N)).toarray()


def model_operators(model, N):
    """H and collapse operators on (C²)^⊗N of a PIModel, read off its terms' numbers and matrices."""
    H = np.zeros((2**N, 2**N), complex)
    for t in model.hamiltonian:
        if hasattr(t, "B"):
            H += (float(t.c) / N) * total(t.A.array, N) @ total(t.B.array, N)
        else:
            H += float(t.c) * total(t.A.array, N)
    cops = [np.sqrt(float(t.rate) / N) * total(t.A.array, N) for t in model.collective]
    cops += [np.sqrt(float(t.rate)) * site_operator(t.L.array, i, N).toarray() for t in model.local for i in range(N)]
    return H, cops


def coupled_basis(N):
    """{(J, M): matrix whose columns are |J, M, α⟩}: highest weights of J² and J_z, then J₋ ladders
    (the phase convention of J₊|J,M⟩ = √((J−M)(J+M+1))|J,M+1⟩ in every copy α)."""
    Jp = total(SP, N)
    Jm, Jz = Jp.conj().T, total(SZ, N) / 2
    J2 = Jp @ Jm + Jz @ Jz - Jz
    out = {}
    for J in np.arange(N % 2 / 2, N / 2 + 1):
        X, Y = J2 - J * (J + 1) * np.eye(2**N), Jz - J * np.eye(2**N)
        w, V = np.linalg.eigh(X.conj().T @ X + Y.conj().T @ Y)
        v = V[:, w < 1e-8]
        for k in range(int(round(2 * J)) + 1):
            out[(J, J - k)] = v
            v = Jm @ v
            v = v / np.linalg.norm(v, axis=0).clip(1e-300)
    return out


def piqs_rows(N):
    """piqs's row of |J, M⟩, built from its documented order (J and M from the top down)."""
    rows, r = {}, 0
    for J in np.arange(N / 2, N % 2 / 2 - 0.1, -1):
        for M in np.arange(J, -J - 0.1, -1):
            rows[(J, M)] = r
            r += 1
    return rows, r


def to_piqs_matrix(rho, N):
    """The Dicke blocks of a 2^N state in piqs's layout: ⟨J,M|ρ|J,M′⟩ summed over the copies α."""
    basis, (rows, nds) = coupled_basis(N), piqs_rows(N)
    out = np.zeros((nds, nds), complex)
    for (J, M), r in rows.items():
        for (J1, M1), r1 in rows.items():
            if J1 == J:
                out[r, r1] = np.trace(basis[(J, M)].conj().T @ rho @ basis[(J, M1)])
    return out


def projected_liouvillian(N, H, cops):
    """The 2^N Lindbladian on piqs's block-diagonal coordinates: the piqs entry (J, M, M′) = 1 is
    the state E_{JMM′}/dim_J with E = Σ_α |J,M,α⟩⟨J,M′,α|; results read back by Tr(E† X).
    Returns (L on column-stacked vec of the nds × nds matrix, the block-diagonal vec indices)."""
    basis, (rows, nds) = coupled_basis(N), piqs_rows(N)
    keys = [(J, M, M1) for (J, M) in rows for (J1, M1) in rows if J1 == J]
    E = {k: basis[k[:2]] @ basis[(k[0], k[2])].conj().T for k in keys}
    vec = {k: rows[(k[0], k[2])] * nds + rows[k[:2]] for k in keys}
    L = np.zeros((nds * nds, nds * nds), complex)
    Hs, cs = sp.csr_matrix(H), [sp.csr_matrix(c) for c in cops]
    for k in keys:
        dim = basis[k[:2]].shape[1]
        X = lindblad_rhs(E[k] / dim, Hs, cs)
        for k2 in keys:
            L[vec[k2], vec[k]] = np.trace(E[k2].conj().T @ X)
    return L, np.array(sorted(vec.values()))


def piqs_steady_state(dicke):
    """piqs's Liouvillian on the block-diagonal entries, one population row replaced by the trace,
    solved directly (its own steadystate fails on collective models, docs/theory.md §5)."""
    N, nds = dicke.N, piqs.num_dicke_states(dicke.N)
    L = dicke.liouvillian().data.as_scipy().tocsr()
    rows, _ = piqs_rows(N)
    idx = np.array(sorted(rows[(J, M1)] * nds + rows[(J, M)] for (J, M) in rows for (J1, M1) in rows if J1 == J))
    A = L[idx][:, idx].tolil()
    pos = {k: i for i, k in enumerate(idx)}
    tr = [pos[i + i * nds] for i in range(nds)]
    A[tr[0], :] = 0
    A[tr[0], tr] = 1.0
    b = np.zeros(len(idx), complex)
    b[tr[0]] = 1.0
    x = spla.spsolve(A.tocsc(), b)
    rho = np.zeros((nds, nds), complex)
    rho[idx % nds, idx // nds] = x
    return 0.5 * (rho + rho.conj().T)


ALL_RATES = dict(emission=0.35, pumping=0.8, dephasing=0.6, collective_emission=0.45, collective_pumping=0.15,
                 collective_dephasing=0.25)


def nondiagonal_hamiltonian(N):
    jx, jy, jz = piqs.jspin(N)
    return 0.3 * jx + 0.7 * jz * jz / N - 0.2 * (jx * jz + jz * jx) / N + (1.5 / N) * (jx * jx + jy * jy) + 0.1


# --- rate conventions -------------------------------------------------------------------------


@pytest.mark.parametrize("N", [2, 3])
@pytest.mark.parametrize("name", sorted(ALL_RATES))
def test_each_piqs_rate_is_the_mapped_dissipator(N, name):
    dicke = piqs.Dicke(N, **{name: 0.7})
    model = from_piqs(dicke)
    L_ref, idx = projected_liouvillian(N, *model_operators(model, N))
    L = dicke.liouvillian().full()[np.ix_(idx, idx)]
    # piqs computes these coefficients in single precision
    np.testing.assert_allclose(L, L_ref[np.ix_(idx, idx)], rtol=0, atol=3e-7 * np.max(np.abs(L_ref)))
    assert np.max(np.abs(L_ref)) > 0.1


def test_dephasing_rate_is_a_quarter_of_the_sigma_z_coefficient():
    """piqs's γ_φ is γ_φ Σ D[σ_z/2] = (γ_φ/4) Σ D[σ_z], not γ_φ Σ D[σ_z]."""
    N = 3
    L_piqs = piqs.Dicke(N, dephasing=1.0).liouvillian().full()
    cops = [site_operator(SZ, i, N).toarray() for i in range(N)]  # 1 · Σ D[σ_z]
    L_sz, idx = projected_liouvillian(N, np.zeros((2**N, 2**N)), cops)
    np.testing.assert_allclose(L_piqs[np.ix_(idx, idx)], L_sz[np.ix_(idx, idx)] / 4, atol=1e-6)
    assert from_piqs(piqs.Dicke(N, dephasing=1.0)).local[0].rate == 0.25


@pytest.mark.parametrize("N", [3, 4])
def test_hamiltonian_from_jspin_is_the_mapped_hamiltonian(N):
    dicke = piqs.Dicke(N, hamiltonian=nondiagonal_hamiltonian(N))
    model = from_piqs(dicke)
    assert not model.collective and not model.local
    L_ref, idx = projected_liouvillian(N, *model_operators(model, N))
    L = dicke.liouvillian().full()[np.ix_(idx, idx)]
    np.testing.assert_allclose(L, L_ref[np.ix_(idx, idx)], rtol=0, atol=1e-12)


def in_piqs_scope_model():
    """Every jump piqs has, some as multiples (2σ₊, −σ_z, 0.5 σ_z/2 → rates ×4, ×1, ×0.25), two on
    one piqs argument, and a Hamiltonian with an identity part, complex one-body and mixed two-body terms."""
    from permjax.models.operators import sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z

    A = np.array([[0.3, 0.2 - 0.5j], [0.2 + 0.5j, -0.1]])
    return permjax.PIModel(
        2,
        hamiltonian=[(0.7, A), (1.2, sigma_x / 2, sigma_z / 2), (1.2, sigma_z / 2, sigma_x / 2),
                     (-0.8, sigma_y / 2, sigma_y / 2), (0.4, sigma_x)],
        collective=[(0.9, sigma_minus), (0.3, 2 * sigma_plus), (0.5, 0.5 * sigma_z / 2)],
        local=[(0.35, sigma_minus), (0.2, 2 * sigma_plus), (0.3, -sigma_z), (0.1, sigma_z)],
    )


@pytest.mark.parametrize("N", [2, 3])
def test_to_piqs_liouvillian_is_the_models(N):
    """piqs's Liouvillian of ``to_piqs(model)`` on the block-diagonal entries against the projected
    2^N Lindbladian of the model's own terms (piqs's rates in single precision)."""
    model = in_piqs_scope_model()
    L_ref, idx = projected_liouvillian(N, *model_operators(model, N))
    L = to_piqs(model, N).liouvillian().full()[np.ix_(idx, idx)]
    np.testing.assert_allclose(L, L_ref[np.ix_(idx, idx)], rtol=0, atol=3e-7 * np.max(np.abs(L_ref)))


def test_to_piqs_refuses_jumps_outside_its_scope():
    from permjax.models.operators import sigma_minus, sigma_x

    with pytest.raises(ValueError, match="outside piqs's scope"):
        to_piqs(permjax.PIModel(2, local=[(1.0, sigma_x)]), 4)
    with pytest.raises(ValueError, match="outside piqs's scope"):
        to_piqs(permjax.PIModel(2, collective=[(1.0, sigma_minus + 0.1 * sigma_x)], local=[(1.0, sigma_minus)]), 4)


@pytest.mark.parametrize("N", [3, 4, 5])
def test_steady_state_of_piqs_and_of_the_mapped_model(N):
    dicke = piqs.Dicke(N, hamiltonian=nondiagonal_hamiltonian(N), **ALL_RATES)
    rho_piqs = piqs_steady_state(dicke)
    H, cops = model_operators(from_piqs(dicke), N)
    rho = symmetric_steady_state(H, cops, N)
    np.testing.assert_allclose(rho_piqs, to_piqs_matrix(rho, N), rtol=0, atol=1e-6)
    mi, _ = mi_per_N(N, rho_piqs, piqs.num_dicke_states(N), piqs.jspin(N))
    assert mi == pytest.approx(bf_mutual_information(rho, N) / N, abs=1e-6)


def test_permjax_rates_match_piqs_at_N24():
    """Inside both scopes (piqs's rates, a diagonal H): permjax's rate equations for the mapped
    model against piqs's Liouvillian steady state; entropies with piqs's degeneracy convention."""
    N = 24
    jx, jy, jz = piqs.jspin(N)
    dicke = piqs.Dicke(N, hamiltonian=0.4 * jz + (0.6 / N) * jz * jz, **ALL_RATES)
    rho_piqs = piqs_steady_state(dicke)
    model = from_piqs(dicke)
    assert permjax.dicke.structure.is_q_conserving(model)
    state = DickeState(steady_populations(N, model).populations, None, N)
    rho = to_qutip(state).full()
    assert np.max(np.abs(rho - rho_piqs)) < 1e-7
    assert float(total_entropy(state)) == pytest.approx(piqs.entropy_vn_dicke(qutip.Qobj(rho_piqs)), abs=1e-6)
    mi, _ = mi_per_N(N, rho_piqs, piqs.num_dicke_states(N), (jx, jy, jz))
    assert float(mutual_information(state)) / N == pytest.approx(mi, abs=1e-7)


# --- the Dicke-basis layout ---------------------------------------------------------------------


def random_state(N, seed):
    """A random full-block DickeState (Hermitian, positive blocks, Σ Tr ρ_J = 1)."""
    rng = np.random.default_rng(seed)
    lay = DickeLayout(N)
    blocks = np.zeros((lay.n_J, lay.n_M, lay.n_M), complex)
    for j in range(lay.n_J):
        sl = np.nonzero(lay.mask[j])[0]
        X = rng.normal(size=(sl.size, sl.size)) + 1j * rng.normal(size=(sl.size, sl.size))
        blocks[j][np.ix_(sl, sl)] = X @ X.conj().T
    blocks /= np.trace(blocks, axis1=1, axis2=2).sum().real
    return DickeState(jnp.asarray(blocks), None, N)


@pytest.mark.parametrize("N", [1, 4, 7])
def test_round_trip_and_expectation_values(N):
    state = random_state(N, N)
    q = permjax.interop.to_qutip(state)
    assert q.shape == (piqs.num_dicke_states(N),) * 2 and q.tr() == pytest.approx(1.0, abs=1e-14)
    back = permjax.interop.from_qutip(q)
    assert back.N == N
    np.testing.assert_array_equal(np.asarray(back.blocks), np.asarray(state.blocks))
    m = 2 / N * np.array([(q * op).tr().real for op in piqs.jspin(N)])
    np.testing.assert_allclose(np.asarray(magnetization(state)), m, rtol=0, atol=1e-14)
    # piqs's entropy multiplies each block by its degeneracy, as Eq. 27 does
    assert float(total_entropy(state)) == pytest.approx(piqs.entropy_vn_dicke(q), abs=1e-12)


def test_dicke_states_land_where_piqs_puts_them():
    N = 5
    lay = DickeLayout(N)
    for J, M in [(2.5, 2.5), (1.5, -0.5), (0.5, 0.5), (2.5, -2.5)]:
        p = np.zeros((lay.n_J, lay.n_M))
        p[int(J - lay.J_min), int(M + N / 2)] = 1.0
        ours = to_qutip(DickeState(jnp.asarray(p), None, N)).full()
        np.testing.assert_array_equal(ours, piqs.dicke(N, J, M).full())
        if (J, M) == (2.5, 2.5):
            np.testing.assert_array_equal(ours, piqs.excited(N).full())


def test_from_qutip_rejects_what_is_not_a_dicke_state():
    q = permjax.interop.to_qutip(random_state(4, 0)).full()
    q[0, -1] = q[-1, 0] = 0.1  # J = 2 with J = 0
    with pytest.raises(ValueError, match="between different J"):
        from_qutip(q)
    with pytest.raises(ValueError, match="number of Dicke states"):
        from_qutip(np.eye(7))
    with pytest.raises(ValueError, match="N=5"):
        from_qutip(np.eye(9), N=5)


def test_hamiltonian_outside_the_quadratic_form_is_refused_and_can_be_given():
    N = 4
    jx, jy, jz = piqs.jspin(N)
    with pytest.raises(ValueError, match="degree <= 2"):
        hamiltonian_terms_from_dicke(jz * jz * jz, N)
    dicke = piqs.Dicke(N, hamiltonian=jz * jz * jz, emission=1.0)
    model = from_piqs(dicke, hamiltonian=[(0.5, SZ / 2)])
    assert len(model.hamiltonian) == 1 and float(model.hamiltonian[0].c) == 0.5
    assert from_piqs(dicke, hamiltonian=permjax.LMG(3.0, 0.0, 1.0, 1.0)).hamiltonian == permjax.LMG(3.0, 0.0, 1.0, 1.0).to_model().hamiltonian


def test_missing_qutip_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "qutip", None)
    with pytest.raises(ImportError, match=r"permjax\[qutip\]"):
        to_qutip(random_state(2, 0))
