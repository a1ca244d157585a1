"""Rate equations for every q-conserving qubit model: against a plain-numpy 2^N Lindblad steady
state built here from the same terms (local σ₊, σ₋, σ_z with identity admixtures, collective
J₊, J₋, J_z, Hamiltonians diagonal in J_z), finite differences, the full grid, and
``is_q_conserving`` on models whose answer is known by hand."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import permjax
from permjax import PIModel, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z
from permjax.dicke.layout import DickeLayout
from permjax.solvers.rates import NonUniqueSteadyState, mi_rates, population_rates, steady_populations
from permjax.dicke.structure import is_q_conserving

from bruteforce import entropy, one_qubit_state, site_operator, symmetric_steady_state

ONE = np.eye(2, dtype=complex)


# --- the 2^N reference, from the terms alone -------------------------------------------------


def total(A, N):
    return sum(site_operator(A, i, N) for i in range(N))


def bruteforce_state(N, hamiltonian, collective, local):
    """ρ solving −i[H, ρ] + Σ (Γ/N) D[A_tot] ρ + Σ γ Σ_i D[L^(i)] ρ = 0 on (C²)^⊗N."""
    H = 0 * site_operator(ONE, 0, N)
    for t in hamiltonian:
        H = H + (t[0] * total(t[1], N) if len(t) == 2 else (t[0] / N) * total(t[1], N) @ total(t[2], N))
    cops = [np.sqrt(G / N) * total(A, N) for G, A in collective]
    cops += [np.sqrt(g) * site_operator(L, i, N) for g, L in local for i in range(N)]
    return symmetric_steady_state(H, cops, N)


def dicke_populations(rho, N):
    """p_{J,M} = Tr(P_J P_M ρ): J_z is diagonal in the product basis; J² is diagonalised in each
    M sector (its eigenvalues J(J+1) are integers or quarter-integers, well separated)."""
    Jp = total(sigma_plus, N).toarray()
    Jz = total(sigma_z, N).toarray() / 2
    J2 = Jp @ Jp.conj().T + Jz @ Jz - Jz  # J₊J₋ + J_z² − J_z
    lay = DickeLayout(N)
    out = np.zeros((lay.n_J, lay.n_M))
    m = np.real(np.diag(Jz))
    for a, M in enumerate(lay.M):
        sel = np.nonzero(np.abs(m - M) < 1e-9)[0]
        w, V = np.linalg.eigh(J2[np.ix_(sel, sel)])
        pv = np.real(np.einsum("ik,ij,jk->k", V.conj(), rho[np.ix_(sel, sel)], V))
        J = (np.sqrt(1 + 4 * w) - 1) / 2
        for Jv, x in zip(J, pv):
            out[int(round(Jv - lay.J_min)), a] += x
    return out


def mi_bruteforce(rho, N):
    return (N * entropy(one_qubit_state(rho, N)) - entropy(rho)) / N


# --- random q-conserving models ----------------------------------------------------------------


def random_model(seed):
    """Terms of a q-conserving model: every local and collective group appears with random weight,
    jumps carry phases and (for the J_z group) identity admixtures, H is diagonal in J_z."""
    rng = np.random.default_rng(seed)
    u = lambda lo=0.2, hi=1.5: float(rng.uniform(lo, hi))  # noqa: E731
    phase = lambda: np.exp(2j * np.pi * rng.uniform())  # noqa: E731
    local = [(u(), phase() * sigma_plus), (u(), phase() * sigma_minus), (u(0.0, 1.0), 0.4 * ONE + phase() * sigma_z)]
    collective = [(u(0.0, 3.0), sigma_minus), (u(0.0, 2.0), phase() * sigma_plus), (u(0.0, 2.0), 0.3 * ONE + sigma_z / 2)]
    hamiltonian = [(u(-1, 1), sigma_z / 2), (u(-2, 2), sigma_z, sigma_z), (u(-2, 2), sigma_plus, sigma_minus),
                   (u(), sigma_x / 2, sigma_x / 2), (u(), sigma_y / 2, sigma_y / 2)]
    # the last two only cancel their ΔM = ±2 parts with equal coefficients: make them equal
    hamiltonian[-1] = (hamiltonian[-2][0], sigma_y / 2, sigma_y / 2)
    if seed % 3 == 1:  # no emission: pumping against collective decay (LMG-like) with dephasing
        local = local[:1] + local[2:]
    if seed % 3 == 2:  # no pumping, collective raising
        local = local[1:]
    return hamiltonian, collective, local


CASES = [(N, s) for N, s in [(2, 0), (3, 1), (4, 2), (5, 3), (6, 4), (7, 5), (4, 6), (5, 7)]]


@pytest.mark.parametrize("N,seed", CASES)
def test_random_q_conserving_models_against_bruteforce(N, seed):
    terms = random_model(seed)
    model = PIModel(2, *terms)
    assert is_q_conserving(model)
    rho = bruteforce_state(N, *terms)
    ref = dicke_populations(rho, N)
    sol = steady_populations(N, model)
    assert bool(sol.converged) and float(sol.residual) < 1e-13
    np.testing.assert_allclose(np.asarray(sol.populations), ref, rtol=0, atol=1e-10)
    # the brute-force steady state is diagonal in (J, M): coherences vanish
    Jz = np.real(np.diag(total(sigma_z, N).toarray())) / 2
    assert np.max(np.abs(rho[np.abs(Jz[:, None] - Jz[None, :]) > 0.5])) < 1e-10
    assert float(mi_rates(N, model)) == pytest.approx(mi_bruteforce(rho, N), abs=1e-10)


def test_local_dephasing_weight_against_bruteforce():
    """γ_z D[σ_z] alone moves populations between J-blocks at fixed M (with pumping to fix M)."""
    N = 5
    terms = ([], [], [(0.7, sigma_plus), (0.3, sigma_minus), (1.9, sigma_z)])
    ref = dicke_populations(bruteforce_state(N, *terms), N)
    np.testing.assert_allclose(np.asarray(steady_populations(N, PIModel(2, *terms)).populations), ref, atol=1e-12)


def test_population_rates_of_lmg():
    r = np.asarray(population_rates(permjax.LMG(3.0, 0.0, 1.68, 0.5)))
    np.testing.assert_array_equal(r, [0.0, 1.68, 0.5, 0.0, 0.0])
    # σ_x and σ_y locally at equal rates: D[σ_x] + D[σ_y] = 2(D[σ₊] + D[σ₋])
    m = PIModel(2, local=[(0.3, sigma_x), (0.3, sigma_y)])
    assert is_q_conserving(m)
    np.testing.assert_allclose(np.asarray(population_rates(m)), [0, 0, 0.6, 0.6, 0], atol=1e-15)


def test_lmg_through_pimodel_is_the_lmg_path():
    lmg = permjax.LMG(3.0, 0.0, 2.2, 1.0)
    a = steady_populations(30, lmg).populations
    b = steady_populations(30, lmg.to_model()).populations
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "terms,expected",
    [
        (dict(hamiltonian=[(1.0, sigma_z / 2), (0.5, sigma_z, sigma_z)], local=[(1.0, sigma_minus)]), True),
        (dict(hamiltonian=[(1.0, sigma_x / 2, sigma_x / 2)]), False),  # J_x² has J₊² parts
        (dict(hamiltonian=[(1.0, sigma_x / 2, sigma_x / 2), (1.0, sigma_y / 2, sigma_y / 2)]), True),
        (dict(hamiltonian=[(0.2, sigma_x / 2)]), False),
        (dict(hamiltonian=[(0.0, sigma_x / 2)]), True),  # a zero coefficient is no term
        (dict(hamiltonian=[(1.0, sigma_plus, sigma_z), (1.0, sigma_z, sigma_minus)]), False),
        (dict(collective=[(1.0, sigma_minus + 0.3 * sigma_z)]), False),
        (dict(collective=[(1.0, sigma_x)]), False),
        (dict(collective=[(1.0, sigma_x), (1.0, sigma_y)]), True),
        (dict(local=[(1.0, 0.3 * sigma_minus + 0.95 * sigma_plus)]), False),
        (dict(local=[(1.0, sigma_x), (0.9, sigma_y)]), False),
        (dict(local=[(1.0, ONE + sigma_z)]), True),
    ],
)
def test_is_q_conserving(terms, expected):
    assert is_q_conserving(PIModel(2, **terms)) is expected


def test_supports_and_batches():
    from permjax.solvers.rates import supports

    assert supports(permjax.LMG(3.0, 0.0, 1.0, 1.0)) and not supports(permjax.LMG(3.0, 0.5, 1.0, 1.0))
    assert supports(permjax.LMG(3.0, jnp.zeros(3), jnp.array([1.0, 2.0, 3.0]), 1.0))
    assert not supports(permjax.LMG(3.0, jnp.array([0.0, 0.5]), 1.0, 1.0))  # one model of the batch changes q
    assert not supports(PIModel(2, hamiltonian=[(1.0, sigma_z, sigma_z)], collective=[(1.0, sigma_minus)]))  # no local jumps
    assert not supports(PIModel(3, local=[(1.0, np.eye(3)[[1, 0, 2]])]))


def test_traced_coefficients_use_the_term_structure():
    lmg_like = lambda c: PIModel(2, hamiltonian=[(c, sigma_x / 2, sigma_x / 2), (c, sigma_y / 2, sigma_y / 2)])  # noqa: E731
    seen = []
    jax.jit(lambda c: seen.append(is_q_conserving(lmg_like(c))) or c)(1.0)
    assert seen == [False]  # conservative: a cancellation between traced terms is not recognised
    jax.jit(lambda g: seen.append(is_q_conserving(PIModel(2, local=[(g, sigma_plus)]))) or g)(1.0)
    assert seen[-1] is True


def test_rejects_what_it_cannot_solve():
    with pytest.raises(ValueError, match="conserves q"):
        steady_populations(4, PIModel(2, local=[(1.0, sigma_x)], collective=[(1.0, sigma_minus + 0.3 * sigma_z)]))
    # a concrete q-changing H is caught while the rates are traced
    with pytest.raises(ValueError, match="Hamiltonian mix q"):
        jax.grad(lambda G: mi_rates(4, permjax.LMG(3.0, 0.5, G, 1.0)))(2.0)
    # no local jumps: every J is conserved, the populations have several stationary distributions
    with pytest.raises(NonUniqueSteadyState, match="not unique"):
        steady_populations(4, PIModel(2, collective=[(1.0, sigma_minus)]))
    # local dephasing alone conserves M
    with pytest.raises(NonUniqueSteadyState, match="not unique"):
        steady_populations(5, PIModel(2, local=[(1.0, sigma_z)]))
    with pytest.raises(ValueError, match="d = 2"):
        steady_populations(4, PIModel(3, local=[(1.0, np.eye(3)[[1, 0, 2]])]))


def test_absorbing_state():
    """Collective decay with local dephasing: every state drains into (J, M) = (N/2, −N/2)."""
    N = 6
    p = np.asarray(steady_populations(N, PIModel(2, collective=[(1.0, sigma_minus)], local=[(0.5, sigma_z)])).populations)
    assert p[-1, 0] == pytest.approx(1.0, abs=1e-14) and np.sum(np.abs(p)) == pytest.approx(1.0, abs=1e-14)


def general_model(G, gz, gm):
    return PIModel(2, hamiltonian=[(0.7, sigma_z, sigma_z)], collective=[(G, sigma_minus), (0.4, sigma_plus)],
                   local=[(1.0, sigma_plus), (gm, sigma_minus), (gz, sigma_z)])


def test_gradients_by_finite_differences():
    N = 24
    f = lambda G, gz, gm: mi_rates(N, general_model(G, gz, gm))  # noqa: E731
    x = (2.1, 0.3, 0.2)
    g = jax.grad(f, argnums=(0, 1, 2))(*x)
    e = 1e-5
    for k in range(3):
        xp = list(x); xm = list(x)
        xp[k] += e; xm[k] -= e
        assert float(g[k]) == pytest.approx(float((f(*xp) - f(*xm)) / (2 * e)), rel=1e-7)
    # Hamiltonian coefficients do not move the populations: the gradient is exactly zero
    h = jax.grad(lambda c: mi_rates(N, PIModel(2, hamiltonian=[(c, sigma_z, sigma_z)], collective=[(2.0, sigma_minus)],
                                                local=[(1.0, sigma_plus)])))(0.7)
    assert float(h) == 0.0


def test_window_equals_full_grid_for_a_general_model():
    model = general_model(2.5, 0.2, 0.1)
    N = 301
    win = steady_populations(N, model, full_below=80)
    full = steady_populations(N, model, cutoff=0.0)
    assert int(win.window_states) < int(full.window_states) / 2
    assert bool(win.converged) and float(win.residual) < 1e-14
    np.testing.assert_allclose(np.asarray(win.populations), np.asarray(full.populations), rtol=0, atol=1e-16)


def test_vmap_over_a_rate():
    Gs = jnp.array([1.5, 2.5])
    out = jax.vmap(lambda G: steady_populations(10, general_model(G, 0.2, 0.1)).populations)(Gs)
    for k, G in enumerate(Gs):
        ref = steady_populations(10, general_model(float(G), 0.2, 0.1)).populations
        np.testing.assert_allclose(np.asarray(out[k]), np.asarray(ref), atol=1e-15)
