"""Fast finite-N solver: the h = 0 sector preconditioner on its own (exact at h = 0), and
GMRES with it against the reference CGLS, the 2^N brute force, docs/theory.md §5 and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG
from permjax.solvers import steady_state
from permjax.dicke.layout import DickeLayout
from permjax.dicke.liouvillian import block_trace, liouvillian_h0
from permjax.solvers.qconserving import h0_preconditioner
from permjax.solvers.rates import steady_populations
from permjax.dicke.liouvillian import trace_weight
from permjax.dicke.state import mutual_information

import bruteforce as bf

PAPER = LMG(3.0, 0.5, 1.68, 1.0)


@pytest.mark.parametrize("N,n_groups", [(3, 1), (6, 1), (11, 3)])
def test_preconditioner_inverts_the_h0_operator_exactly(N, n_groups):
    """P(A₀ x) = x and Pᵀ(A₀ᵀ x) = x for random complex x, A₀ = L(h=0) + w Tr."""
    lay = DickeLayout(N)
    w = trace_weight(lay)
    model = LMG(2.0, 0.7, 1.3, 0.8)  # h is ignored by the h = 0 part
    A0 = lambda r: liouvillian_h0(r, model, lay) + w * block_trace(r, lay)
    A0T = jax.linear_transpose(A0, jax.ShapeDtypeStruct((lay.n_J, lay.n_M, lay.n_M), jnp.complex128))
    rng = np.random.default_rng(N)
    x = (rng.normal(size=(lay.n_J, lay.n_M, lay.n_M)) + 1j * rng.normal(size=(lay.n_J, lay.n_M, lay.n_M))) * lay.block_mask
    for transposed, op in ((False, A0), (True, lambda r: A0T(r)[0])):
        apply = jax.jit(lambda m, r: h0_preconditioner(m, lay, w, transposed=transposed, n_groups=n_groups)(r))
        np.testing.assert_allclose(np.asarray(apply(model, op(x))), x, rtol=0, atol=1e-12 * np.abs(x).max())


def test_gmres_at_h0_is_one_step_and_matches_rate_equations():
    model = LMG(3.0, 0.0, 1.68, 1.0)
    st = steady_state(10, model, method="gmres")
    assert int(st.diagnostics.iterations) <= 2
    np.testing.assert_allclose(np.asarray(st.populations), np.asarray(steady_populations(10, model).populations), atol=1e-13)


@pytest.fixture(scope="module")
def reference_N10():
    return steady_state(10, PAPER, method="cgls", tol=1e-13)


def test_gmres_matches_reference_cgls(reference_N10):
    fast = steady_state(10, PAPER, method="gmres", tol=1e-13)
    assert bool(fast.diagnostics.converged) and float(fast.diagnostics.residual) < 1e-12
    assert int(fast.diagnostics.iterations) < int(reference_N10.diagnostics.iterations) / 5
    np.testing.assert_allclose(np.asarray(fast.blocks), np.asarray(reference_N10.blocks), rtol=0, atol=1e-12)
    assert float(mutual_information(fast)) == pytest.approx(float(mutual_information(reference_N10)), abs=1e-11)


@pytest.mark.parametrize("N,h", [(4, 0.5), (5, 0.5), (6, 1.3)])
def test_gmres_matches_bruteforce(N, h):
    model = LMG(3.0, h, 1.68, 1.0)
    rho = bf.lmg_steady_state(N, 3.0, h, 1.68, 1.0)
    ref = bf.mutual_information(rho, N) / N
    mi = float(mutual_information(steady_state(N, model, method="gmres")) / N)
    assert mi == pytest.approx(ref, abs=1e-10)
    if N == 4:
        assert mi == pytest.approx(0.028341433268, abs=1e-12)  # docs/theory.md §5


def test_gmres_gradients_and_warm_start():
    f = lambda G, h: permjax.mi_finite(8, LMG(3.0, h, G, 1.0), method="gmres", tol=1e-13)
    gG, gh = jax.grad(f, argnums=(0, 1))(1.68, 0.5)
    e = 1e-5
    assert float(gG) == pytest.approx(float((f(1.68 + e, 0.5) - f(1.68 - e, 0.5)) / (2 * e)), rel=1e-6, abs=1e-9)
    assert float(gh) == pytest.approx(float((f(1.68, 0.5 + e) - f(1.68, 0.5 - e)) / (2 * e)), rel=1e-6, abs=1e-9)
    cold = steady_state(8, LMG(3.0, 0.5, 1.70, 1.0), method="gmres")
    warm = steady_state(8, LMG(3.0, 0.5, 1.70, 1.0), method="gmres", x0=steady_state(8, PAPER, method="gmres").blocks)
    assert int(warm.diagnostics.iterations) < int(cold.diagnostics.iterations)
    np.testing.assert_allclose(np.asarray(warm.blocks), np.asarray(cold.blocks), atol=1e-12)
