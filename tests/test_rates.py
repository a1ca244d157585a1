"""h = 0 rate equations (Eqs. 30–32): against a dense numpy solve written here, the 2^N
brute-force steady state, the docs/theory.md §5 number, finite differences, and the full grid."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG
from permjax.dicke.layout import DickeLayout
from permjax.solvers.rates import _generator, mi_rates, rate_matvec, steady_populations

from bruteforce import collective_spin, lmg_steady_state


def dense_rates(N, Gamma, gamma):
    """The rate matrix of Eqs. 30–31 written out state by state (no masks, no arrays)."""
    Js = [N % 2 / 2 + k for k in range(N // 2 + 1)]
    states = [(J, M) for J in Js for M in np.arange(-J, J + 1)]
    index = {(J, round(2 * M)): i for i, (J, M) in enumerate(states)}
    W = np.zeros((len(states), len(states)))
    for i, (J, M) in enumerate(states):
        W[i, i] = -((Gamma / N) * (1 + J - M) * (J + M) + gamma * (N / 2 - M))
        sources = [
            ((J, M + 1), lambda: (Gamma / N) * (J - M) * (J + M + 1)),
            ((J + 1, M - 1), lambda: gamma * (J - M + 1) * (J - M + 2) * (N / 2 + J + 2) / (2 * (J + 1) * (2 * J + 3))),
            ((J, M - 1), lambda: gamma * (J - M + 1) * (J + M) * (N / 2 + 1) / (2 * J * (J + 1))),
            ((J - 1, M - 1), lambda: gamma * (J + M - 1) * (J + M) * (N / 2 - J + 1) / (2 * J * (2 * J - 1))),
        ]
        for (Js_, Ms_), rate in sources:
            k = index.get((Js_, round(2 * Ms_)))
            if k is not None and abs(Ms_) <= Js_:
                W[i, k] += rate()
    return W, states


def dense_populations(N, Gamma, gamma):
    W, states = dense_rates(N, Gamma, gamma)
    A = np.vstack([W, np.ones(len(states))])
    b = np.zeros(len(states) + 1)
    b[-1] = 1.0
    p = np.linalg.lstsq(A, b, rcond=None)[0]
    return p, states


def on_grid(p, states, N):
    lay = DickeLayout(N)
    out = np.zeros((lay.n_J, lay.n_M))
    for x, (J, M) in zip(p, states):
        out[int(round(J - lay.J_min)), int(round(M + N / 2))] = x
    return out


@pytest.mark.parametrize("N", [2, 3, 4, 5, 8, 9])
def test_against_dense_rate_equations(N):
    for G in (0.5, 1.68, 3.0):
        sol = steady_populations(N, LMG(3.0, 0.0, G, 1.0))
        ref = on_grid(*dense_populations(N, G, 1.0), N)
        np.testing.assert_allclose(np.asarray(sol.populations), ref, rtol=0, atol=1e-14)
        assert bool(sol.converged) and float(sol.residual) < 1e-14


def test_generator_conserves_probability_and_matches_matvec():
    for N in (7, 30):
        lay = DickeLayout(N)
        W, idx, (jj, aa) = _generator(N, 1.3, 0.7, lay.mask)
        np.testing.assert_allclose(np.asarray(W.sum(axis=0)).ravel(), 0.0, atol=1e-12)
        p = np.random.default_rng(N).uniform(size=lay.mask.shape) * lay.mask
        ref = np.zeros_like(p)
        ref[jj, aa] = W @ p[jj, aa]
        np.testing.assert_allclose(np.asarray(rate_matvec(jnp.asarray(p), N, 1.3, 0.7)), ref, atol=1e-12)


def dicke_projected_populations(rho, N):
    """p_{J,M} = Tr(P_J P_M ρ) on the 2^N space, with P_J, P_M spectral projectors of J², J_z."""
    s = collective_spin(N)
    J2 = (s["x"] @ s["x"] + s["y"] @ s["y"] + s["z"] @ s["z"]).toarray()
    Jz = s["z"].toarray()
    lay = DickeLayout(N)
    out = np.zeros((lay.n_J, lay.n_M))
    eye = np.eye(2**N)

    def projector(op, value, others):
        P = eye.copy()
        for o in others:
            if o != value:
                P = P @ (op - o * eye) / (value - o)
        return P

    jvals = [J * (J + 1) for J in lay.J]
    mvals = list(lay.M)
    for (j, J), (a, M) in itertools.product(enumerate(lay.J), enumerate(lay.M)):
        if abs(M) <= J:
            out[j, a] = np.trace(projector(J2, J * (J + 1), jvals) @ projector(Jz, M, mvals) @ rho).real
    return out


@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_against_bruteforce_lindblad_diagonal(N):
    G = 1.68 if N % 2 == 0 else 2.4
    rho = lmg_steady_state(N, 3.0, 0.0, G, 1.0)
    ref = dicke_projected_populations(rho, N)
    sol = steady_populations(N, LMG(3.0, 0.0, G, 1.0))
    np.testing.assert_allclose(np.asarray(sol.populations), ref, rtol=0, atol=1e-11)


def test_spec_value_N4():
    assert float(mi_rates(4, LMG(3.0, 0.0, 1.68, 1.0))) == pytest.approx(0.033440586354, abs=1e-12)


def test_window_equals_full_grid_and_is_smaller():
    model = LMG(3.0, 0.0, 1.68, 1.0)
    N = 401
    win = steady_populations(N, model, full_below=100)
    full = steady_populations(N, model, cutoff=0.0)
    assert int(win.window_states) < int(full.window_states) / 2
    assert float(win.truncation) <= 1e-18
    assert float(win.residual) < 1e-14 and bool(win.converged)
    np.testing.assert_allclose(np.asarray(win.populations), np.asarray(full.populations), rtol=0, atol=1e-16)


def test_pure_pumping_limit():
    sol = steady_populations(6, LMG(3.0, 0.0, 0.0, 1.0))
    p = np.asarray(sol.populations)
    assert p[-1, -1] == pytest.approx(1.0, abs=1e-14)  # all spins up: J = M = N/2
    assert np.sum(np.abs(p)) == pytest.approx(1.0, abs=1e-14)


def test_gradients_by_finite_differences():
    f = lambda G, g: mi_rates(40, LMG(3.0, 0.0, G, g))
    gG, gg = jax.grad(f, argnums=(0, 1))(1.68, 1.0)
    e = 1e-5
    assert float(gG) == pytest.approx(float((f(1.68 + e, 1.0) - f(1.68 - e, 1.0)) / (2 * e)), rel=1e-7)
    assert float(gg) == pytest.approx(float((f(1.68, 1.0 + e) - f(1.68, 1.0 - e)) / (2 * e)), rel=1e-7)
    # a windowed solve: derivative of ⟨m_z⟩ w.r.t. Γ
    lay = DickeLayout(301)
    mz = lambda G: 2 / 301 * jnp.sum(steady_populations(301, LMG(3.0, 0.0, G, 1.0), full_below=100).populations * lay.M)
    e = 1e-4
    assert float(jax.grad(mz)(2.2)) == pytest.approx(float((mz(2.2 + e) - mz(2.2 - e)) / (2 * e)), rel=1e-6)


def test_jit_and_vmap_over_Gamma():
    Gs = jnp.array([1.2, 1.68, 2.5])
    f = jax.jit(jax.vmap(lambda G: steady_populations(12, LMG(3.0, 0.0, G, 1.0)).populations))
    out = np.asarray(f(Gs))
    for k, G in enumerate(Gs):
        np.testing.assert_allclose(out[k], np.asarray(steady_populations(12, LMG(3.0, 0.0, float(G), 1.0)).populations), atol=1e-15)


def test_bad_input():
    with pytest.raises(ValueError, match="h = 0"):
        steady_populations(4, LMG(3.0, 0.5, 1.68, 1.0))
    with pytest.raises(ValueError, match="cutoff"):
        steady_populations(4, LMG(3.0, 0.0, 1.68, 1.0), cutoff=0.1)
    with pytest.raises(ValueError, match="N"):
        steady_populations(0, LMG(3.0, 0.0, 1.68, 1.0))
