"""Finite N for any qubit PIModel (docs/theory.md §6): the Dicke-basis Liouvillian term by term, the
steady state and I_M/N against a plain-numpy 2^N brute force (tests/bruteforce_pi.py, which
builds the Dicke basis itself), LMG against Eqs. 23–26 written here, gradients against finite
differences, and the errors for non-unique steady states and d > 2."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG, PIModel
from permjax.dicke import mutual_information, magnetization
from permjax.solvers import steady_state, mi_finite
from permjax.dicke.layout import DickeLayout
from permjax.dicke.liouvillian import (
    SPHERICAL,
    liouvillian,
    liouvillian_conserving,
    liouvillian_mixing,
    sandwich_factor,
    shift_grid,
)
from permjax.models.operators import sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z

import bruteforce as bf
import bruteforce_pi as bp


def _random_blocks(lay, seed):
    rng = np.random.default_rng(seed)
    shape = (lay.n_J, lay.n_M, lay.n_M)
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * lay.block_mask


def _herm(rng):
    a = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    return (a + a.conj().T) / 2


def random_model(seed, local=True):
    """Every kind of term: complex one-body, symmetrised complex two-body pairs, anisotropic
    XYZ, mixed and complex collective jumps, cross local jumps, a local jump with an identity part."""
    rng = np.random.default_rng(seed)
    A, B = _herm(rng), _herm(rng)
    c = lambda: float(rng.uniform(0.2, 1.2))
    cplx = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    cab = c()
    return PIModel(
        2,
        hamiltonian=[(c(), _herm(rng)), (cab, A, B), (cab, B, A), (c(), sigma_x, sigma_x),
                     (-c(), sigma_y, sigma_y), (c(), sigma_z, sigma_z)],
        collective=[(c(), sigma_minus + 0.15 * sigma_z), (0.3 * c(), cplx / 2)],
        local=[(c(), 0.3 * sigma_minus + 0.95 * sigma_plus), (0.5 * c(), sigma_x),
               (0.5 * c(), 0.5 * np.eye(2) + sigma_minus), (0.3 * c(), cplx.conj() / 2)] if local else [],
    )


# --- the pieces ----------------------------------------------------------------------------------


def test_clebsch_gordan_closed_forms_match_sympy():
    from sympy import S
    from sympy.physics.quantum.cg import CG

    from permjax.dicke.liouvillian import _clebsch_gordan

    for N in (3, 4):
        lay = DickeLayout(N)
        for k, q in itertools.product((-1, 0, 1), repeat=2):
            got = _clebsch_gordan(lay, k, q)
            for j, J in enumerate(lay.J):
                for a, M in enumerate(lay.M):
                    if abs(M) > J or J + k < lay.J_min or J + k > N / 2 or abs(M + q) > J + k:
                        assert got[j, a] == 0
                        continue
                    want = float(CG(S(int(2 * J)) / 2, S(int(2 * M)) / 2, 1, q, S(int(2 * (J + k))) / 2,
                                    S(int(2 * (M + q))) / 2).doit())
                    assert got[j, a] == pytest.approx(want, abs=1e-14)


@pytest.mark.parametrize("N", [2, 3, 4, 5, 6])
def test_every_sandwich_term_matches_bruteforce(N):
    """S_αβ(ρ) = Σ_i σ_α^(i) ρ σ_β^(i)† for all nine (α, β), on a random (non-Hermitian) block
    state embedded in 2^N: c_k X^α_k(J,M) X^β_k(J,M′) feeding (J+k, M+q_α, M′+q_β); the 2^N
    result is exactly of the block form ⊕ ρ′_J ⊗ 1/dim_J."""
    lay = DickeLayout(N)
    basis = bp.dicke_basis(N)
    x = _random_blocks(lay, N)
    X = bp.embed(x, N, basis)
    np.testing.assert_allclose(bp.project(X, N, basis), x, atol=1e-13)
    for a, b in itertools.product("+-z", repeat=2):
        Y = np.asarray(sum(bp.site(bp.SIGMA[a], i, N) @ X @ bp.site(bp.SIGMA[b], i, N).conj().T for i in range(N)))
        want = bp.project(Y, N, basis)
        np.testing.assert_allclose(bp.embed(want, N, basis), Y, atol=1e-12)  # block form
        got = sum(np.asarray(shift_grid(sandwich_factor(lay, k, a)[:, :, None] * sandwich_factor(lay, k, b)[:, None, :] * x,
                                        (k, SPHERICAL[a][1], SPHERICAL[b][1]))) for k in (-1, 0, 1))
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"S_{a}{b}")


def test_identity_part_of_a_local_jump_is_a_hamiltonian():
    """D[l₀1 + L′] = D[L′] − i[H_c, ·] with H_c = (i/2)(l₀* L′ − l₀ L′†), on random matrices."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        l0 = complex(rng.normal() + 1j * rng.normal())
        Lp = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
        rho = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))

        def D(L, r):
            return L @ r @ L.conj().T - 0.5 * (L.conj().T @ L @ r + r @ L.conj().T @ L)

        Hc = 0.5j * (np.conj(l0) * Lp - l0 * Lp.conj().T)
        np.testing.assert_allclose(Hc, Hc.conj().T, atol=1e-14)
        np.testing.assert_allclose(D(l0 * np.eye(3) + Lp, rho), D(Lp, rho) - 1j * (Hc @ rho - rho @ Hc), atol=1e-12)


@pytest.mark.parametrize("N", [2, 3, 4, 5, 6])
def test_liouvillian_matches_bruteforce_for_every_kind_of_term(N):
    model = random_model(N)
    lay = DickeLayout(N)
    basis = bp.dicke_basis(N)
    x = _random_blocks(lay, 10 + N)
    H, C = bp.model_operators(model, N)
    X = bp.embed(x, N, basis)
    Y = np.asarray(bf.lindblad_rhs(X, H, C))
    want = bp.project(Y, N, basis)
    got = np.asarray(liouvillian(x, model, lay))
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, atol=1e-13 * scale)
    split = np.asarray(liouvillian_conserving(x, model, lay) + liouvillian_mixing(x, model, lay))
    np.testing.assert_allclose(split, got, atol=1e-14 * scale)


def _lmg_eqs_23_26(x, p, N):
    """Eqs. 23–26 (docs/theory.md §4) in plain numpy loops, independent of permjax's assembly."""
    Jc, h, G, g = p["J"], p["h"], p["Gamma"], p["gamma"]
    lay = DickeLayout(N)
    out = np.zeros_like(x)
    A = lambda J, M: np.sqrt(max((J - M) * (J + M + 1), 0.0))
    B = lambda J, M: np.sqrt(max((J - M) * (J - M - 1), 0.0))
    Dm = lambda J, M: -np.sqrt(max((J + M + 1) * (J + M + 2), 0.0))
    R = {1: lambda J, M, Mp: g / 2 * B(J, M) * B(J, Mp) * (N / 2 + J + 1) / (J * (2 * J + 1)),
         0: lambda J, M, Mp: g / 2 * A(J, M) * A(J, Mp) * (N / 2 + 1) / (J * (J + 1)),
         -1: lambda J, M, Mp: g / 2 * Dm(J, M) * Dm(J, Mp) * (N / 2 - J) / ((J + 1) * (2 * J + 1))}
    idx = lambda M: int(round(M + N / 2))
    for j, J in enumerate(lay.J):
        Ms = [M for M in lay.M if abs(M) <= J + 1e-9]
        rho = lambda M, Mp, jj=j: x[jj, idx(M), idx(Mp)] if abs(M) <= lay.J[jj] + 1e-9 and abs(Mp) <= lay.J[jj] + 1e-9 else 0
        for M in Ms:
            for Mp in Ms:
                cM = lambda m: J * (J + 1) - m * m + m
                v = -1j * (Jc / N) * (Mp**2 - M**2) * rho(M, Mp)
                # −ih[J_x, ρ]
                jx_rho = 0.5 * (A(J, M - 1) * rho(M - 1, Mp) + A(J, M) * rho(M + 1, Mp))
                rho_jx = 0.5 * (A(J, Mp - 1) * rho(M, Mp - 1) + A(J, Mp) * rho(M, Mp + 1))
                v += -1j * h * (jx_rho - rho_jx)
                v += (G / N) * (A(J, M) * A(J, Mp) * rho(M + 1, Mp + 1) - 0.5 * (cM(M) + cM(Mp)) * rho(M, Mp))
                v += -(g / 2) * (N - M - Mp) * rho(M, Mp)
                for k in (-1, 0, 1):
                    jk = j + k
                    if 0 <= jk < lay.n_J:
                        Jk = lay.J[jk]
                        if abs(M - 1) <= Jk + 1e-9 and abs(Mp - 1) <= Jk + 1e-9 and (k == -1 or Jk > 0):
                            v += R[k](Jk, M - 1, Mp - 1) * x[jk, idx(M - 1), idx(Mp - 1)]
                out[j, idx(M), idx(Mp)] = v
    return out


@pytest.mark.parametrize("N", [4, 5, 8])
def test_lmg_through_pimodel_is_eqs_23_26(N):
    p = dict(J=2.3, h=0.7, Gamma=1.3, gamma=0.8)
    lay = DickeLayout(N)
    x = _random_blocks(lay, N)
    want = _lmg_eqs_23_26(x, p, N)
    for m in (LMG(**p), LMG(**p).to_model()):
        np.testing.assert_allclose(np.asarray(liouvillian(x, m, lay)), want, rtol=0, atol=1e-13 * np.abs(want).max())
    # the q-conserving part is the h = 0 part
    want0 = _lmg_eqs_23_26(x, {**p, "h": 0.0}, N)
    np.testing.assert_allclose(np.asarray(liouvillian_conserving(x, LMG(**p), lay)), want0, rtol=0,
                               atol=1e-13 * np.abs(want0).max())


# --- steady states -------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [2, 3, 4, 5, 6])
def test_steady_state_matches_bruteforce_for_random_models(N):
    model = random_model(N)
    rho = bp.steady_state(model, N)
    want_mi, want_m = bp.mutual_information(rho, N) / N, bp.magnetization(rho, N)
    for method in (("cgls", "gmres") if N == 4 else ("cgls",)):
        st = steady_state(N, model, method=method, tol=1e-13)
        assert bool(st.diagnostics.converged)
        assert abs(float(mutual_information(st)) / N - want_mi) <= 1e-10
        np.testing.assert_allclose(np.asarray(magnetization(st)), want_m, atol=1e-10)


@pytest.mark.parametrize("N,n_groups", [(6, 2)])
def test_preconditioner_inverts_the_conserving_part_of_a_general_model(N, n_groups):
    from permjax.dicke.liouvillian import block_trace, dicke_liouvillian
    from permjax.solvers.qconserving import conserving_preconditioner
    from permjax.dicke.liouvillian import trace_weight

    lay = DickeLayout(N)
    w = trace_weight(lay)
    L = dicke_liouvillian(random_model(N), lay)
    A0 = lambda r: L(r, "conserving") + w * block_trace(r, lay)
    A0T = jax.linear_transpose(A0, jax.ShapeDtypeStruct((lay.n_J, lay.n_M, lay.n_M), jnp.complex128))
    x = _random_blocks(lay, 3)
    for transposed, op in ((False, A0), (True, lambda r: A0T(r)[0])):
        apply = jax.jit(lambda L, r: conserving_preconditioner(L, lay, w, transposed=transposed, n_groups=n_groups)(r))
        np.testing.assert_allclose(np.asarray(apply(L, op(x))), x, rtol=0, atol=1e-11 * np.abs(x).max())


def test_q_conserving_model_has_a_diagonal_state_in_one_gmres_step():
    """Ĵ_z², local σ₋ and σ_z, collective Ĵ₊: L conserves q; method='auto' picks the rate
    equations, and GMRES, whose preconditioner is then exact, gives the same diagonal state."""
    from permjax.solvers.steady import auto_method

    model = PIModel(2, hamiltonian=[(0.7, sigma_z / 2, sigma_z / 2), (0.3, sigma_z)], collective=[(0.6, sigma_plus)],
                    local=[(1.0, sigma_minus), (0.4, sigma_z)])
    assert auto_method(10, model) == "rates"
    st = steady_state(5, model, method="gmres")
    assert int(st.diagnostics.iterations) <= 2
    blocks = np.asarray(st.blocks)
    assert np.abs(blocks - np.einsum("jaa->ja", blocks)[:, :, None] * np.eye(6)).max() < 1e-14
    rho = bp.steady_state(model, 5)
    assert abs(float(mutual_information(st)) / 5 - bp.mutual_information(rho, 5) / 5) < 1e-10


def test_auto_method_rule():
    from permjax.solvers.steady import auto_method

    assert auto_method(80, LMG(3.0, 0.0, 1.0, 1.0)) == "rates"  # q-conserving, rate equations exist
    assert auto_method(80, LMG(3.0, 0.0, 1.0, 1.0).to_model()) == "rates"  # the same model as terms
    # q-conserving but without local jumps (every J conserved): no rate solver, GMRES
    assert auto_method(80, PIModel(2, hamiltonian=[(1.0, sigma_z)], collective=[(1.0, sigma_minus)])) == "gmres"
    assert auto_method(80, random_model(0)) == "gmres"
    assert auto_method(10, random_model(0)) == "direct"  # small: every J-block by the sparse LU
    assert auto_method(10, None) == "direct"
    assert auto_method(20, random_model(0)) == "direct" and auto_method(21, random_model(0)) == "cgls"
    assert auto_method(4000, random_model(0, local=False), block="symmetric") == "direct"


def test_lmg_through_pimodel_equals_the_lmg_path():
    p = LMG(3.0, 0.5, 1.68, 1.0)
    for N in (6,):
        a = steady_state(N, p, method="gmres", tol=1e-13)
        b = steady_state(N, p.to_model(), method="gmres", tol=1e-13)
        np.testing.assert_allclose(np.asarray(a.blocks), np.asarray(b.blocks), rtol=0, atol=1e-13)


def test_gradients_match_finite_differences():
    """d(I_M/N)/d(local-jump rate) and d/d(two-body coefficient), N = 4, central differences."""
    N = 4

    def build(g_loc, c_two):
        return PIModel(2, hamiltonian=[(c_two, sigma_x / 2, sigma_x / 2), (0.4, sigma_z / 2)],
                       collective=[(0.8, sigma_minus + 0.15 * sigma_z)],
                       local=[(g_loc, 0.3 * sigma_minus + 0.95 * sigma_plus), (0.2, sigma_z)])

    f = lambda g, c: mi_finite(N, build(g, c), method="cgls", tol=1e-14)
    grad = jax.grad(f, argnums=(0, 1))(0.7, 1.3)
    eps = 1e-5
    fd = ((f(0.7 + eps, 1.3) - f(0.7 - eps, 1.3)) / (2 * eps), (f(0.7, 1.3 + eps) - f(0.7, 1.3 - eps)) / (2 * eps))
    for g, d in zip(grad, fd):
        assert float(g) == pytest.approx(float(d), rel=1e-6, abs=1e-9)


def test_vmap_over_a_batch_of_models():
    base = PIModel(2, hamiltonian=[(0.9, sigma_x / 2, sigma_x / 2), (0.5, sigma_x / 2)], local=[(1.0, sigma_minus)])
    batch = jax.tree.map(lambda x: x * jnp.array([1.0, 1.3]), base)
    out = jax.vmap(lambda m: mi_finite(4, m, method="cgls", tol=1e-13))(batch)
    for i in range(2):
        one = jax.tree.map(lambda x: x[i], batch)
        assert float(out[i]) == pytest.approx(float(mi_finite(4, one, method="cgls", tol=1e-13)), abs=1e-11)


# --- uniqueness, the symmetric block, d > 2 ----------------------------------------------------------


def _collective_model():
    return PIModel(2, hamiltonian=[(1.0, sigma_x / 2), (0.5, sigma_z / 2, sigma_z / 2)],
                   collective=[(1.0, sigma_minus + 0.15 * sigma_z)])


def test_non_unique_steady_states_raise_clear_errors():
    with pytest.raises(ValueError, match="block='symmetric'"):
        steady_state(6, _collective_model())
    with pytest.raises(ValueError, match="no jump operators"):
        steady_state(6, PIModel(2, hamiltonian=[(1.0, sigma_x)]), block="symmetric")
    with pytest.raises(ValueError, match="without local jumps"):
        steady_state(6, random_model(0), block="symmetric")


def test_d3_raises_not_implemented_naming_the_mean_field():
    from permjax.models.operators import gell_mann

    v = gell_mann(3)
    model = PIModel(3, hamiltonian=[(1.0, v[0])], local=[(1.0, np.triu(np.ones((3, 3)), 1))])
    with pytest.raises(NotImplementedError, match="mi_thermo"):
        steady_state(4, model)


@pytest.mark.parametrize("N", [4, 5])
def test_symmetric_block_matches_the_spin_N_over_2_representation(N):
    """Reference: H and the collective jumps projected onto the symmetric subspace of 2^N
    (Kronecker products), the (N+1)-dim Lindblad steady state by dense linear algebra."""
    model = _collective_model()
    V = bp.symmetric_basis(N)  # rows |N/2, M⟩, M = −N/2 … N/2
    H, C = bp.model_operators(model, N)
    Hs = V.conj() @ H.toarray() @ V.T
    Cs = [V.conj() @ c.toarray() @ V.T for c in C]
    Ls = bf.liouvillian(Hs, Cs).toarray()
    d = N + 1
    A = np.vstack([Ls, np.eye(d).reshape(1, -1, order="F")])
    rhs = np.zeros(d * d + 1, complex)
    rhs[-1] = 1
    rho_s = np.linalg.lstsq(A, rhs, rcond=None)[0].reshape(d, d, order="F")
    full = V.T @ rho_s @ V.conj()
    for method in ("direct", "gmres"):
        st = steady_state(N, model, block="symmetric", method=method, tol=1e-13)
        assert st.symmetric and st.blocks.shape == (1, d, d)
        np.testing.assert_allclose(np.asarray(st.blocks[0]), rho_s, atol=1e-11)
        assert abs(float(mutual_information(st)) / N - bp.mutual_information(full, N) / N) < 1e-10
        np.testing.assert_allclose(np.asarray(magnetization(st)), bp.magnetization(full, N), atol=1e-10)


def test_symmetric_block_direct_at_larger_N_and_its_gradient():
    """N = 60: the direct solve's own residual ‖Lρ‖/‖ρ‖ (computed matrix-free); gradient in ω
    against central differences at N = 12."""
    st = steady_state(60, _collective_model(), block="symmetric")
    assert float(st.diagnostics.residual) < 1e-12 and abs(float(st.diagnostics.trace) - 1) < 1e-12
    assert float(st.diagnostics.min_eigenvalue) > -1e-12

    def f(om):
        m = PIModel(2, hamiltonian=[(om, sigma_x / 2)], collective=[(1.0, sigma_minus)])
        return mi_finite(12, m, block="symmetric", method="direct")

    g = jax.grad(f)(0.8)
    fd = (f(0.8 + 1e-5) - f(0.8 - 1e-5)) / 2e-5
    assert float(g) == pytest.approx(float(fd), rel=1e-6)


def test_population_generator_is_eq_30_for_lmg_at_h0():
    from permjax.solvers.direct import population_generator
    from permjax.solvers.rates import _generator

    N = 7
    lay = DickeLayout(N)
    W = population_generator(LMG(3.0, 0.5, 1.3, 0.8), lay).toarray()  # h only enters q-changing terms
    Wref, idx, _ = _generator(N, 1.3, 0.8, lay.mask)
    order = idx[lay.mask]
    np.testing.assert_allclose(W, Wref.toarray()[np.ix_(order, order)], atol=1e-13)
