"""Finite N (docs/theory.md §4): Dicke-basis steady state, I_M/N, ⟨m⟩, gradients, diagnostics.

References, all independent of permjax: the plain-numpy 2^N brute force (tests/bruteforce.py),
QuTiP piqs, central finite differences, numpy eigendecompositions.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG
from permjax.solvers import ConvergenceError, steady_state
from permjax.dicke import (
    DickeLayout,
    DickeState,
    liouvillian,
    liouvillian_adjoint,
    liouvillian_field,
    liouvillian_h0,
    magnetization,
    mutual_information,
)

import bruteforce as bf
from piqs_reference import piqs_mi_per_N

PAPER = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)


def _random_params(seed, h0=False):
    rng = np.random.default_rng(seed)
    return dict(
        J=float(rng.uniform(-3, 3)),
        h=0.0 if h0 else float(rng.choice([-1, 1]) * rng.uniform(0.2, 1.2)),
        Gamma=float(rng.uniform(0.3, 3.0)),
        gamma=float(rng.uniform(0.5, 1.5)),
    )


def _mi_m(N, params, **kw):
    st = steady_state(N, LMG(**params), **kw)
    return float(mutual_information(st)) / N, np.asarray(magnetization(st)), st


# --- the reference itself ---------------------------------------------------------------------


def test_bruteforce_reference_reproduces_spec_numbers_and_full_space_solve():
    # docs/theory.md §5: N = 4, 𝒥 = 3, γ = 1, Γ = 1.68
    for h, want in ((0.0, 0.033440586354), (0.5, 0.028341433268)):
        r = bf.lmg_steady_state(4, 3.0, h, 1.68, 1.0)
        assert abs(bf.mutual_information(r, 4) / 4 - want) < 5e-13
    # the permutation-invariant-operator solve equals the full 4^N sparse solve
    p = _random_params(7)
    r_sym = bf.lmg_steady_state(5, *p.values())
    r_full = bf.lmg_steady_state(5, *p.values(), method="full")
    assert np.max(np.abs(r_sym - r_full)) < 1e-12


# --- brute force, N = 2 … 7 -------------------------------------------------------------------


def test_spec_numbers_N4():
    for h, want in ((0.0, 0.033440586354), (0.5, 0.028341433268)):
        mi, _, _ = _mi_m(4, dict(PAPER, h=h))
        assert abs(mi - want) < 5e-13


@pytest.mark.parametrize("N", [2, 3, 4, 5, 6, 7])
def test_matches_bruteforce(N):
    for seed, h0 in ((N, False), (100 + N, True)):
        p = _random_params(seed, h0)
        mi, m, st = _mi_m(N, p)
        rho = bf.lmg_steady_state(N, *p.values())
        assert abs(mi - bf.mutual_information(rho, N) / N) <= 1e-10, p
        np.testing.assert_allclose(m, bf.magnetization(rho, N), rtol=0, atol=1e-10)
        assert bool(st.diagnostics.converged)


# --- QuTiP piqs (tests/piqs_reference.py) --------------------------------------------------------------------------------


def test_piqs_conventions():
    pytest.importorskip("qutip.piqs")
    p = _random_params(3)
    mi, m = piqs_mi_per_N(5, *p.values())
    rho = bf.lmg_steady_state(5, *p.values())
    assert abs(mi - bf.mutual_information(rho, 5) / 5) < 1e-7  # piqs coefficients: single precision
    np.testing.assert_allclose(m, bf.magnetization(rho, 5), atol=1e-7)


@pytest.mark.parametrize("N", [10, 20, 30])
def test_matches_piqs(N):
    pytest.importorskip("qutip.piqs")
    mi, m, _ = _mi_m(N, PAPER)
    mi_ref, m_ref = piqs_mi_per_N(N, *PAPER.values())
    assert abs(mi - mi_ref) <= 1e-6
    np.testing.assert_allclose(m, m_ref, atol=1e-6)


# --- the state: Hermitian, trace 1, positive; diagnostics are true -----------------------------


@pytest.mark.parametrize("N", [7, 12])
def test_state_is_a_density_matrix_and_diagnostics_are_true(N):
    _, _, st = _mi_m(N, PAPER)
    lay = DickeLayout(N)
    rho = np.asarray(st.blocks)
    assert np.all(rho[~lay.block_mask] == 0)  # padding untouched
    blocks = [rho[j][np.ix_(lay.mask[j], lay.mask[j])] for j in range(lay.n_J)]
    trace = sum(np.trace(b).real for b in blocks)
    herm = max(np.max(np.abs(b - b.conj().T)) for b in blocks)
    eig = min(np.linalg.eigvalsh(0.5 * (b + b.conj().T)).min() for b in blocks)
    assert abs(trace - 1) < 1e-10 and herm < 1e-10 and eig > -1e-10
    d = st.diagnostics
    assert abs(float(d.trace) - trace) < 1e-14
    assert abs(float(d.hermiticity_error) - herm) < 1e-14
    assert abs(float(d.min_eigenvalue) - eig / trace) < 1e-12
    Lrho = np.asarray(liouvillian(st.blocks, LMG(**PAPER), lay))
    assert abs(float(d.residual) - np.linalg.norm(Lrho) / np.linalg.norm(rho)) < 1e-16
    assert float(d.residual) < 1e-11


# --- h = 0: diagonal steady state; the populations-only representation --------------------------


@pytest.mark.parametrize("N", [6, 7])
def test_h0_full_state_is_diagonal_and_diagonal_representation_agrees(N):
    p = dict(PAPER, h=0.0)
    mi, m, st = _mi_m(N, p, method="cgls")
    rho = np.asarray(st.blocks)
    off = rho - np.einsum("jaa->ja", rho)[:, :, None] * np.eye(N + 1)[None]
    assert np.max(np.abs(off)) < 1e-12  # Eqs. 30-31
    diag_state = DickeState(st.populations, None, N)
    assert diag_state.is_diagonal and not st.is_diagonal
    assert abs(float(mutual_information(diag_state)) / N - mi) < 1e-12  # Eq. 32
    np.testing.assert_allclose(magnetization(diag_state), m, atol=1e-14)
    rho_bf = bf.lmg_steady_state(N, *p.values())
    assert abs(mi - bf.mutual_information(rho_bf, N) / N) < 1e-10


@pytest.mark.parametrize("N", [10, 40])
def test_rates_path_equals_general_path_at_h0(N):
    p = dict(PAPER, h=0.0)
    mi_r, m_r, st_r = _mi_m(N, p)  # auto: h == 0 → rate equations, diagonal state
    mi_g, m_g, st_g = _mi_m(N, p, method="cgls")
    assert st_r.is_diagonal and not st_g.is_diagonal
    assert bool(st_r.diagnostics.converged)
    assert abs(mi_r - mi_g) <= 1e-10
    np.testing.assert_allclose(m_r, m_g, atol=1e-10)
    np.testing.assert_allclose(st_r.populations, st_g.populations, atol=1e-10)


# --- Liouvillian: adjoint, trace preservation, split ------------------------------------------


def test_liouvillian_adjoint_trace_and_split():
    N = 5
    lay = DickeLayout(N)
    rng = np.random.default_rng(0)
    shape = (lay.n_J, N + 1, N + 1)
    x, y = ((rng.normal(size=shape) + 1j * rng.normal(size=shape)) * lay.block_mask for _ in range(2))
    model = LMG(**_random_params(11))
    Lx = liouvillian(x, model, lay)
    Ly_adj = liouvillian_adjoint(y, model, lay)
    assert abs(np.vdot(y, Lx) - np.vdot(Ly_adj, x)) < 1e-12 * np.linalg.norm(Lx) * np.linalg.norm(y)
    assert abs(np.einsum("jaa->", np.asarray(Lx))) < 1e-12  # Tr L x = 0
    np.testing.assert_allclose(Lx, liouvillian_h0(x, model, lay) + liouvillian_field(x, model, lay), atol=1e-14)
    # Hermiticity preserved: L(x†) = (L x)†
    xh = np.conj(np.swapaxes(x, -1, -2))
    np.testing.assert_allclose(liouvillian(xh, model, lay), np.conj(np.swapaxes(Lx, -1, -2)), atol=1e-12)


# --- gradients (implicit) vs central finite differences ----------------------------------------


@pytest.mark.parametrize("N", [6, 20])
def test_gradient_matches_finite_differences(N):
    names = ("J", "h", "Gamma", "gamma")

    def f(v):
        return permjax.mi_finite(N, LMG(*v), tol=1e-13)

    v = jnp.array([PAPER[k] for k in names])
    g = np.asarray(jax.grad(f)(v))
    eps = 1e-4
    for i, name in enumerate(names):
        dv = np.zeros(4)
        dv[i] = eps
        fd = (float(f(v + dv)) - float(f(v - dv))) / (2 * eps)
        assert abs(g[i] - fd) <= 1e-6 * abs(fd), (name, g[i], fd)


def test_vmap_over_models_equals_loop():
    N = 4
    models = LMG(3.0, jnp.array([0.0, 0.5, -0.3]), jnp.array([1.2, 1.68, 2.5]), 1.0).broadcast()
    batched = jax.jit(jax.vmap(lambda m: permjax.mi_finite(N, m)))(models)
    for i in range(3):
        p = dict(J=3.0, h=float(models.h[i]), Gamma=float(models.Gamma[i]), gamma=1.0)
        rho = bf.lmg_steady_state(N, *p.values())
        assert abs(float(batched[i]) - bf.mutual_information(rho, N) / N) < 1e-10


# --- failure modes ------------------------------------------------------------------------------


def test_too_few_iterations_raises_or_flags():
    model = LMG(**PAPER)
    with pytest.raises(ConvergenceError, match="residual"):
        steady_state(6, model, method="cgls", maxiter=5)
    with pytest.warns(RuntimeWarning, match="residual"):
        st = steady_state(6, model, method="cgls", maxiter=5, on_failure="warn")
    assert not bool(st.diagnostics.converged) and float(st.diagnostics.residual) > 1e-6
    assert int(st.diagnostics.iterations) == 5
    # inside jit the check becomes a runtime error, never a silent number
    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(jax.jit(lambda m: permjax.mi_finite(6, m, method="cgls", maxiter=5))(model))


@pytest.mark.parametrize("N", [1, 0, 2.5, "8", True])
def test_bad_N(N):
    with pytest.raises(ValueError, match="N"):
        steady_state(N, LMG())


def test_bad_options():
    with pytest.raises(ValueError, match="method"):
        steady_state(4, LMG(), method="nope")
    with pytest.raises(ValueError, match="h"):
        steady_state(4, LMG(h=0.5), method="rates")
    with pytest.raises(ValueError, match="on_failure"):
        steady_state(4, LMG(), on_failure="ignore")
    with pytest.raises(ValueError, match="tol"):
        steady_state(4, LMG(), tol=0.0)
    with pytest.raises(ValueError, match="model"):
        steady_state(4, {"J": 3.0})
    with pytest.raises(ValueError, match="vmap"):
        steady_state(4, LMG(Gamma=np.array([1.0, 2.0])))


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_finite(capsys):
    import json

    from permjax.cli import main

    assert main(["finite", "--N", "4", "--J", "3", "--h", "0.5", "--Gamma", "1.68", "--gamma", "1", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert abs(rec["mi_per_N"] - 0.028341433268) < 5e-13
    rho = bf.lmg_steady_state(4, 3.0, 0.5, 1.68, 1.0)
    np.testing.assert_allclose(rec["m"], bf.magnetization(rho, 4), atol=1e-10)
    assert rec["diagnostics"]["converged"] and rec["diagnostics"]["residual"] < 1e-11
    assert main(["finite", "--N", "1"]) == 2
    assert main(["finite", "--N", "4", "--method", "cgls", "--maxiter", "3"]) == 1
    assert "did not converge" in capsys.readouterr().err
