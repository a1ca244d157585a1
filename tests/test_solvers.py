"""Steady-state solvers as objects carrying their options (permjax.solvers.steady)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bruteforce as bf
import permjax
from permjax.solvers import CGLS, GMRES, SOLVERS, Auto, Direct, JBlock, QConserving, Rates


def test_solver_objects_carry_their_options_and_agree_with_the_brute_force():
    N, model = 5, permjax.LMG(3.0, 0.5, 1.68, 1.0)
    ref = bf.mutual_information(bf.lmg_steady_state(N, 3.0, 0.5, 1.68, 1.0), N) / N
    by_name = permjax.steady_state(N, model, method="gmres", tol=1e-11)
    by_object = permjax.steady_state(N, model, method=GMRES(tol=1e-11, restart=8))
    loose = permjax.steady_state(N, model, method=CGLS(tol=1e-6))
    for st, atol in ((by_name, 1e-10), (by_object, 1e-10), (loose, 1e-5)):
        assert abs(float(permjax.mutual_information(st)) / N - ref) < atol
    assert float(by_object.diagnostics.residual) < 1e-10 and float(loose.diagnostics.residual) < 1e-5
    # a short restart takes more iterations than the default basis
    assert int(by_object.diagnostics.iterations) >= int(by_name.diagnostics.iterations)


def test_single_precision_factors_keep_the_float64_answer():
    """Factors stored in complex64: the same 2^N brute-force agreement and residual as double."""
    N = 6
    model = permjax.PIModel(2, hamiltonian=[(0.7, permjax.sigma_x / 2), (1.3, permjax.sigma_x / 2, permjax.sigma_y / 2),
                                            (1.3, permjax.sigma_y / 2, permjax.sigma_x / 2)],
                            collective=[(1.0, permjax.sigma_minus)],
                            local=[(0.4, permjax.sigma_z), (0.5, 0.3 * permjax.sigma_minus + 0.95 * permjax.sigma_plus)])
    import bruteforce_pi

    ref = bruteforce_pi.mutual_information(bruteforce_pi.steady_state(model, N), N) / N
    st = permjax.steady_state(N, model, method=GMRES(preconditioner=QConserving(precision="single")))
    assert float(st.diagnostics.residual) < 1e-11
    assert abs(float(permjax.mutual_information(st)) / N - ref) < 1e-10
    with pytest.raises(ValueError, match="precision"):
        QConserving(precision="half")


def test_auto_is_the_rule_and_names_map_to_objects():
    lmg0, lmg = permjax.LMG(3.0, 0.0, 1.68, 1.0), permjax.LMG(3.0, 0.5, 1.68, 1.0)
    assert isinstance(Auto().select(10, lmg0), Rates)
    assert isinstance(Auto().select(20, lmg), Direct) and isinstance(Auto().select(21, lmg), CGLS)
    assert isinstance(Auto(direct_max_N=0).select(10, lmg), CGLS) and isinstance(Auto().select(60, lmg), GMRES)
    assert isinstance(Auto(direct_max_N=0, gmres_from_N=20).select(20, lmg), GMRES)
    collective = permjax.PIModel(2, hamiltonian=[(1.0, permjax.sigma_x / 2)], collective=[(1.0, permjax.sigma_minus)])
    assert isinstance(Auto().select(10, collective, block="symmetric"), Direct)
    assert Auto(tol=1e-9, maxiter=50).select(21, lmg) == CGLS(tol=1e-9, maxiter=50)
    assert set(SOLVERS) == {"auto", "cgls", "gmres", "jblock", "direct", "rates"}


def test_bad_solver_arguments():
    model = permjax.LMG()
    with pytest.raises(ValueError, match="on the solver object"):
        permjax.steady_state(4, model, method=GMRES(), tol=1e-10)
    with pytest.raises(ValueError, match="unknown steady-state method"):
        permjax.steady_state(4, model, method="lu")
    with pytest.raises(ValueError, match="float64"):
        permjax.steady_state(4, model, method=CGLS(tol=1e-30))
    with pytest.raises(ValueError, match="maxiter"):
        permjax.steady_state(4, model, method=CGLS(maxiter=2.5))


def test_stalled_gmres_stops_early_and_auto_falls_back_to_the_sparse_lu():
    """A strongly anisotropic XYZ model with weak decay: the q-changing part dominates the
    preconditioned part and GMRES stagnates; it stops after STALL_RESTARTS restarts without
    halving the residual (not at maxiter), and Auto retries with a doubled Krylov basis (then,
    by its rule, the sparse LU), whose state is the one CGLS reaches (the operator itself is
    checked against 2^N brute force elsewhere)."""
    from permjax.solvers.gmres import STALL_RESTARTS
    from permjax.solvers.steady import ConvergenceError, default_maxiter
    from permjax.dicke.layout import DickeLayout
    from permjax.models.zoo import XYZ

    N, model = 10, XYZ(Jx=1.0, Jy=-3.0, Jz=-1.0, gamma=0.002)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        st = permjax.steady_state(N, model, method=GMRES(restart=20, axis="z"), on_failure="warn")
    its = int(st.diagnostics.iterations)
    assert not bool(st.diagnostics.converged) and its <= 20 * (STALL_RESTARTS + 10) < default_maxiter(DickeLayout(N))
    with pytest.raises(ConvergenceError):
        permjax.steady_state(N, model, method=GMRES(restart=20, axis="z"))
    # Auto retries with twice the Krylov basis (here 50 → 100), which converges
    with pytest.warns(RuntimeWarning, match="Krylov basis of 100"):
        auto = permjax.steady_state(N, model, method=Auto(direct_max_N=0, gmres_from_N=2, axis="z", restart=50))
    ref = permjax.steady_state(N, model, method=CGLS(tol=1e-13, maxiter=200000))
    assert bool(auto.diagnostics.converged) and float(auto.diagnostics.residual) < 1e-11
    np.testing.assert_allclose(np.asarray(auto.blocks), np.asarray(ref.blocks), atol=1e-10)
    # the rule: a doubled basis up to FALLBACK_MAX_RESTART, then the J-conserving preconditioner,
    # then the sparse LU up to DIRECT_FALLBACK_MAX_N
    from permjax.solvers.auto import DIRECT_FALLBACK_MAX_N, FALLBACK_MAX_RESTART

    assert Auto().fallback(N, GMRES(restart=20)).restart == 40
    assert isinstance(Auto().fallback(N, GMRES(restart=FALLBACK_MAX_RESTART)), JBlock)
    assert isinstance(Auto().fallback(N, JBlock()), Direct)
    assert isinstance(Auto().fallback(DIRECT_FALLBACK_MAX_N + 2, GMRES(restart=FALLBACK_MAX_RESTART)), JBlock)
    assert Auto().fallback(DIRECT_FALLBACK_MAX_N + 2, JBlock()) is None
    assert Auto().fallback(N, CGLS()) is None
    lu = permjax.steady_state(N, model, method=Direct())
    np.testing.assert_allclose(np.asarray(lu.blocks), np.asarray(ref.blocks), atol=1e-10)
    # quantized along the axis Auto chooses (frame.py) GMRES itself converges, no fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rotated = permjax.steady_state(N, model, method=Auto(direct_max_N=0, gmres_from_N=2))
    np.testing.assert_allclose(np.asarray(rotated.blocks), np.asarray(ref.blocks), atol=1e-10)


def test_jblock_agrees_with_the_brute_force_and_differentiates():
    """GMRES preconditioned by the J-conserving part: a general model with cross local jumps
    and two-body terms against its 2^N steady state; derivatives (the transposed host solve)
    against central differences; vmap against single solves."""
    import jax
    import jax.numpy as jnp

    import bruteforce_pi
    from permjax.models.operators import sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z

    def model(g, J):
        return permjax.PIModel(2, hamiltonian=[(0.7, sigma_x / 2), (J, sigma_x / 2, sigma_y / 2),
                                               (J, sigma_y / 2, sigma_x / 2), (-0.4, sigma_z / 2, sigma_z / 2)],
                               collective=[(1.0, sigma_minus + 0.3 * sigma_z)],
                               local=[(g, sigma_z), (0.5, 0.3 * sigma_minus + 0.95 * sigma_plus)])

    N = 5
    st = permjax.steady_state(N, model(0.4, 1.3), method="jblock")
    ref = bruteforce_pi.mutual_information(bruteforce_pi.steady_state(model(0.4, 1.3), N), N) / N
    assert bool(st.diagnostics.converged) and float(st.diagnostics.residual) < 1e-11
    assert abs(float(permjax.mutual_information(st)) / N - ref) < 1e-10

    f = lambda g, J: permjax.mi_finite(N, model(g, J), method=JBlock(tol=1e-13))
    grad = jax.grad(f, argnums=(0, 1))(0.4, 1.3)
    h = 1e-5
    fd = ((f(0.4 + h, 1.3) - f(0.4 - h, 1.3)) / (2 * h), (f(0.4, 1.3 + h) - f(0.4, 1.3 - h)) / (2 * h))
    np.testing.assert_allclose(np.array(grad, float), np.array(fd, float), rtol=1e-6, atol=1e-9)
    batch = jax.vmap(lambda J: f(0.4, J))(jnp.array([1.3, -0.6]))
    np.testing.assert_allclose(np.asarray(batch), [f(0.4, 1.3), f(0.4, -0.6)], atol=1e-12)


def test_jblock_holds_the_hamiltonian_where_the_q_conserving_part_fails():
    """XYZ at J_y = −3, γ = 0.2: the anisotropic Hamiltonian dominates the weak local decay, so
    the q-conserving preconditioner needs hundreds of iterations at N = 20 (446 along x) while the
    J-conserving one, which holds the whole Hamiltonian, needs about fifty; the state is the sparse
    LU's. Pure local decay: the top block's J-conserving part is singular (|↓…↓⟩ is steady in
    it); its share of the trace term makes it invertible, and the state is |↓…↓⟩."""
    from permjax.models.zoo import XYZ

    N, model = 20, XYZ(Jy=-3.0)
    st = permjax.steady_state(N, model, method="jblock")
    lu = permjax.steady_state(N, model, method="direct")
    assert bool(st.diagnostics.converged) and int(st.diagnostics.iterations) <= 80
    np.testing.assert_allclose(np.asarray(st.blocks), np.asarray(lu.blocks), atol=1e-11)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        short = permjax.steady_state(N, model, method=JBlock(maxiter=10), on_failure="warn")
    assert not bool(short.diagnostics.converged) and int(short.diagnostics.iterations) <= 10

    N = 6
    decay = permjax.steady_state(N, permjax.PIModel(2, local=[(1.0, permjax.sigma_minus)]), method="jblock")
    down = np.zeros_like(np.asarray(decay.blocks))
    down[-1, 0, 0] = 1.0  # J = N/2 (the last block), M = −N/2 (the first index)
    np.testing.assert_allclose(np.asarray(decay.blocks), down, atol=1e-12)


def test_a_fallback_that_does_not_fit_in_memory_is_not_tried(monkeypatch):
    """Auto checks the memory of each retry: one that does not fit is skipped with a warning and
    the stalled solve is returned flagged (here the J-block retry is made to not fit)."""
    import permjax.solvers.steady as solve
    from permjax.models.zoo import XYZ
    from permjax.resources import InsufficientMemoryError

    real = solve.check_memory

    def check(N, memory, **kw):
        if "jblock" in kw.get("what", ""):
            raise InsufficientMemoryError("estimated 9.0 GB, 1.0 GB available")
        return real(N, memory, **kw)

    monkeypatch.setattr(solve, "check_memory", check)
    monkeypatch.setattr(Auto, "fallback", lambda self, N, failed, block="all": JBlock() if isinstance(failed, GMRES) else None)
    with pytest.warns(RuntimeWarning) as record:
        st = permjax.steady_state(10, XYZ(Jy=-3.0, gamma=0.002), method=Auto(direct_max_N=0, gmres_from_N=2, axis="z", restart=20),
                                  on_failure="warn")
    messages = " ".join(str(w.message) for w in record)
    assert "not retrying with method='jblock'" in messages and "did not converge" in messages
    assert not bool(st.diagnostics.converged)


def test_direct_on_concrete_coefficients_solves_outside_the_program_and_agrees():
    """``Direct`` on concrete coefficients factorises on the host outside any compiled program
    (whose check program carries no host callback, so the persistent cache keeps it); traced
    (``jit`` over Γ), inside one: the same state, diagnostics and derivative route."""
    from permjax.dicke.layout import DickeLayout
    from permjax.dicke.liouvillian import layout_grids, stencil_arrays
    from permjax.solvers.steady import _checked_host_solution

    N, model = 10, permjax.LMG(3.0, 0.5, 1.68, 1.0)
    eager = permjax.steady_state(N, model, method="direct")
    traced = jax.jit(lambda G: permjax.steady_state(N, permjax.LMG(3.0, 0.5, G, 1.0), method="direct"))(1.68)
    np.testing.assert_allclose(np.asarray(eager.blocks), np.asarray(traced.blocks), rtol=0, atol=1e-14)
    for a, b in zip(jax.tree.leaves(eager.diagnostics), jax.tree.leaves(traced.diagnostics)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-15)
    assert bool(eager.diagnostics.converged) and int(eager.diagnostics.iterations) == 1
    layout = DickeLayout(N)
    u, v, _, _ = stencil_arrays(model.to_model(), layout)
    text = _checked_host_solution.lower(model.to_model(), (jnp.asarray(u), jnp.asarray(v)), eager.blocks,
                                        layout_grids(layout), layout=layout, solver=Direct()).as_text()
    assert "callback" not in text
