"""N → ∞: mi_thermo against Eq. 18 (h = 0), an independent scipy integration with event-located
periods (h ≠ 0), finite differences (gradients), single calls (vmap), and its CLI."""

import functools
import json
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax
from permjax import LMG
from permjax.meanfield import FIXED_POINT, LIMIT_CYCLE, NOT_RESOLVED
from permjax.cli import main

BATCH = 64
vmapped = jax.jit(jax.vmap(permjax.mi_thermo))  # one compilation for every (64,) batch below


# --- an independent reference: scipy, event-located returns, one-period quadratures ----------


def _drift(t, m, J, h, G, g):
    mx, my, mz = m[0], m[1], m[2]
    return [
        J * my * mz + G * mx * mz / 2 - g * mx / 2,
        -J * mx * mz - h * mz + G * my * mz / 2 - g * my / 2,
        h * my - G * (mx * mx + my * my) / 2 + g * (1 - mz),
    ]


def _b(x):
    x = min(max(x, 0.0), 1.0)
    return -sum(p * math.log(p) for p in ((1 + x) / 2, (1 - x) / 2) if p > 0)


def scipy_cycle(J, h, G, g=1.0, t_transient=600.0):
    """(I_M/N, period) from a long DOP853 run: the period is the smallest number p of returns
    to the section m_z = z_c (upward) after which the state repeats; the averages are
    quadratures over exactly those p returns, the end located by the event finder."""
    tight = dict(method="DOP853", rtol=1e-12, atol=1e-14)
    x = solve_ivp(_drift, (0, t_transient), [0.0, 0.3, 0.9], args=(J, h, G, g), method="DOP853", rtol=1e-10, atol=1e-12).y[:, -1]
    z_c = solve_ivp(_drift, (0, 50), x, args=(J, h, G, g), **tight, dense_output=True).sol(np.linspace(0, 50, 2001))[2].mean()

    def section(t, y, *a):
        return y[2] - z_c

    section.direction = 1
    run = solve_ivp(_drift, (0, 400), x, args=(J, h, G, g), events=section, **tight)
    P, tP = run.y_events[0], run.t_events[0]
    p = next(k for k in range(1, 17) if np.linalg.norm(P[-1] - P[-1 - k]) < 1e-8)

    def augmented(t, y):
        m = y[:3]
        return _drift(t, m, J, h, G, g) + list(m) + [_b(float(np.linalg.norm(m)))]

    span = 1.2 * (tP[-1] - tP[-1 - p])
    one = solve_ivp(augmented, (0, span), np.concatenate([P[-1], np.zeros(4)]), events=section, dense_output=True, **tight)
    T = one.t_events[0][one.t_events[0] > 1e-6][p - 1]  # the p-th return (not the start itself)
    q = one.sol(T)[3:] / T
    return _b(float(np.linalg.norm(q[:3]))) - q[3], T


# --- h = 0: Eq. 18 and Eq. 17 ----------------------------------------------------------------

GAMMAS_H0 = [0.3, 0.7, 0.999, 1.0, 1.001, 1.01, 1.2, 1.5, 1.68, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
JS_H0 = [1.0, 2.0, 3.0, 5.0]


@pytest.fixture(scope="module")
def h0_grid():
    J, G = np.meshgrid(JS_H0, GAMMAS_H0, indexing="ij")
    models = LMG(J.ravel(), 0.0, G.ravel(), 1.0).broadcast()
    assert models.shape == (BATCH,)
    return models, vmapped(models)


def test_h0_equals_eq18_over_gamma_and_J(h0_grid):
    models, res = h0_grid
    exact = np.asarray(permjax.mi_thermo_analytic(models))
    G = np.asarray(models.Gamma)
    kind = np.asarray(res.kind)
    assert np.all(kind[G <= 1.0] == FIXED_POINT)
    assert np.all(kind[G > 1.0] == LIMIT_CYCLE)
    np.testing.assert_allclose(np.asarray(res.mi), exact, rtol=0, atol=1e-9)
    assert np.all(np.asarray(res.mi)[G <= 1.0] == 0.0)
    assert np.all(np.asarray(res.converged))


def test_h0_period_and_mean_are_the_circle_of_eq17(h0_grid):
    models, res = h0_grid
    cyc = np.asarray(res.kind) == LIMIT_CYCLE
    mz, mxy, omega = (np.asarray(a)[cyc] for a in permjax.limit_cycle_h0(models))
    np.testing.assert_allclose(np.asarray(res.period)[cyc], 2 * np.pi / omega, rtol=1e-9, atol=0)
    m = np.asarray(res.m_mean)[cyc]
    np.testing.assert_allclose(m, np.stack([0 * mz, 0 * mz, mz], -1), rtol=0, atol=1e-9)
    assert np.all(np.isnan(np.asarray(res.period)[~cyc]))
    assert np.all(np.asarray(res.floquet_max)[cyc] < 1.0)


# --- h ≠ 0: scipy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "J,h,G",
    [
        (3.0, 0.5, 1.68),  # the paper's point
        (3.0, 0.5, 2.5),  # the dip of Fig. 1b
        (1.0, 0.25, 3.0),
        (5.0, 0.5, 2.6),  # after a period doubling: the period is two returns
    ],
)
def test_hnonzero_matches_scipy_event_located_cycle(J, h, G):
    res = permjax.mi_thermo(LMG(J, h, G, 1.0))
    mi_ref, T_ref = scipy_cycle(J, h, G)
    assert res.kind_name == "limit cycle" and bool(res.converged)
    assert abs(float(res.mi) - mi_ref) <= 1e-8
    assert abs(float(res.period) - T_ref) <= 1e-8 * T_ref
    assert float(res.residual) <= 1e-10 and float(res.floquet_max) < 1.0


def test_transition_at_h_nonzero_is_a_fixed_point_then_a_small_cycle():
    """J = 3, h = 0.5: Hopf point between Γ = 1.028 and 1.029 (eigenvalues of Df cross 0).

    Relaxation there is slow (Floquet multiplier 0.9996 per period at Γ = 1.029), yet the
    shooting needs no converged transient; scipy needs a long one even at Γ = 1.05."""
    below = permjax.mi_thermo(LMG(3.0, 0.5, 1.028, 1.0))
    above = permjax.mi_thermo(LMG(3.0, 0.5, 1.029, 1.0))
    assert below.kind_name == "fixed point" and float(below.mi) == 0.0 and float(below.growth_rate) < 0
    assert above.kind_name == "limit cycle" and float(above.growth_rate) > 0 and 0 < float(above.mi) < 1e-3
    assert 0.99 < float(above.floquet_max) < 1.0
    near = permjax.mi_thermo(LMG(3.0, 0.5, 1.05, 1.0))
    mi_ref, T_ref = scipy_cycle(3.0, 0.5, 1.05, t_transient=3000.0)
    assert abs(float(near.mi) - mi_ref) <= 1e-8 and abs(float(near.period) - T_ref) <= 1e-8 * T_ref
    # the fixed point solves Eq. 16
    assert np.max(np.abs(np.asarray(permjax.drift(below.m_mean, LMG(3.0, 0.5, 1.028, 1.0))))) < 1e-12


# --- gradients ---------------------------------------------------------------------------------

grad_mi = jax.jit(jax.grad(lambda p: permjax.mi_thermo(LMG(p[0], p[1], p[2], p[3])).mi))


def _fd(p, eps=1e-3):
    """Fourth-order central differences of mi in each parameter."""
    f = lambda q: float(permjax.mi_thermo(LMG(*q)).mi)
    out = []
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        out.append((-f(p + 2 * e) + 8 * f(p + e) - 8 * f(p - e) + f(p - 2 * e)) / (12 * eps))
    return np.array(out)


@pytest.mark.parametrize("p", [(3.0, 0.0, 1.68, 1.0), (3.0, 0.5, 1.68, 1.0), (2.0, 0.25, 2.5, 1.3)])
def test_gradient_matches_finite_differences(p):
    p = np.array(p)
    g = np.asarray(grad_mi(jnp.asarray(p)))
    fd = _fd(p)
    assert np.all(np.isfinite(g))
    assert np.max(np.abs(g - fd)) <= 1e-6 * np.max(np.abs(fd))
    if p[1] == 0.0:  # Eq. 18: exact Γ, γ derivatives, none in 𝒥
        exact = jax.grad(lambda q: permjax.mi_thermo_analytic(LMG(q[0], 0.0, q[2], q[3])))(jnp.asarray(p))
        np.testing.assert_allclose(g[[2, 3]], np.asarray(exact)[[2, 3]], rtol=1e-7)
        assert abs(g[0]) < 1e-9


@pytest.mark.parametrize("p", [(3.0, 0.0, 0.5, 1.0), (3.0, 0.5, 0.8, 1.0), (1.0, 1.0, 3.0, 1.0)])
def test_fixed_point_phase_has_zero_mi_and_zero_gradient(p):
    assert permjax.mi_thermo(LMG(*p)).kind_name == "fixed point"
    g = np.asarray(grad_mi(jnp.asarray(p)))
    assert np.all(g == 0.0)


def _mi_of(p, autodiff):
    return permjax.mi_thermo(LMG(p[0], p[1], p[2], p[3]), autodiff=autodiff).mi


def test_forward_mode_first_and_second_derivatives():
    """autodiff="forward": jacfwd equals reverse mode, and the Hessian (jacfwd∘jacfwd) equals
    4th-order central differences of the reverse-mode gradient (h ≠ 0) and, at h = 0, the
    second derivatives of the closed form Eq. 18."""
    fwd = lambda q: _mi_of(q, "forward")
    p = jnp.asarray([3.0, 0.5, 1.68, 1.0])
    np.testing.assert_allclose(jax.jacfwd(fwd)(p), grad_mi(p), rtol=1e-8, atol=1e-12)
    hess = np.asarray(jax.jacfwd(jax.jacfwd(fwd))(p))
    eps = 1e-3
    fd = np.zeros((4, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        g = lambda d: np.asarray(grad_mi(p + d * e))
        fd[i] = (-g(2) + 8 * g(1) - 8 * g(-1) + g(-2)) / (12 * eps)
    np.testing.assert_allclose(hess, fd, rtol=0, atol=2e-6 * np.max(np.abs(fd)))
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=1e-8)
    # h = 0: d²/dΓ², d²/dΓdγ, d²/dγ² against Eq. 18
    p0 = jnp.asarray([3.0, 0.0, 1.68, 1.0])
    h0 = np.asarray(jax.jacfwd(jax.jacfwd(fwd))(p0))
    eq18 = np.asarray(jax.hessian(lambda q: permjax.mi_thermo_analytic(LMG(q[0], 0.0, q[2], q[3])))(p0))
    np.testing.assert_allclose(h0[2:, 2:], eq18[2:, 2:], rtol=1e-7)
    with pytest.raises(ValueError, match="autodiff"):
        permjax.mi_thermo(LMG(), autodiff="both")


# --- vmap --------------------------------------------------------------------------------------


def test_vmap_over_64_gammas_equals_single_calls():
    models = LMG(3.0, 0.5, jnp.linspace(0.5, 4.0, BATCH), 1.0).broadcast()
    res = vmapped(models)
    kinds = np.asarray(res.kind)
    assert set(kinds.tolist()) == {FIXED_POINT, LIMIT_CYCLE}
    for i in range(BATCH):
        one = permjax.mi_thermo(LMG(3.0, 0.5, models.Gamma[i], 1.0))
        assert int(one.kind) == kinds[i]
        assert abs(float(one.mi) - float(res.mi[i])) <= 1e-12
    # a batched model is also accepted directly, with the batch shape kept
    direct = permjax.mi_thermo(LMG(3.0, 0.5, jnp.linspace(0.5, 4.0, BATCH).reshape(8, 8), 1.0))
    assert direct.mi.shape == (8, 8) and direct.m_mean.shape == (8, 8, 3)
    np.testing.assert_allclose(np.asarray(direct.mi).ravel(), np.asarray(res.mi), rtol=0, atol=1e-12)


# --- a chaotic attractor: an ergodic average with an error bar, NaN derivative ----------------


@pytest.fixture(scope="module")
def chaotic_reference():
    """A long plain average (scipy DOP853, t ∈ [1000, 9000]/γ) at J = 3, h = 1, Γ = 2.6 and
    the standard error of its 40 blocks (each 200/γ, many correlation times: independent)."""
    t = np.linspace(1000, 9000, 800_001)
    sol = solve_ivp(_drift, (0, 9000), [0.1, 0.0, 0.99], args=(3.0, 1.0, 2.6, 1.0), method="DOP853", rtol=1e-9,
                    atol=1e-11, t_eval=t)
    m = sol.y.T[:-1]
    x = np.linalg.norm(m, axis=1)
    b = -sum(q * np.log(q) for q in ((1 + x) / 2, (1 - x) / 2))
    value = lambda mm, bb: _b(float(np.linalg.norm(mm.mean(0)))) - bb.mean()
    blocks = [value(mm, bb) for mm, bb in zip(np.split(m, 40), np.split(b, 40))]
    return value(m, b), np.std(blocks, ddof=1) / math.sqrt(40)


def test_chaotic_attractor_is_an_ergodic_average_with_an_error_bar(chaotic_reference):
    """J = 3, h = 1, Γ = 2.6: a chaotic attractor (largest Lyapunov exponent ≈ 0.08 γ)."""
    model = LMG(3.0, 1.0, 2.6, 1.0)
    with pytest.warns(RuntimeWarning, match="chaotic"):
        res = permjax.mi_thermo(model)
        jax.block_until_ready(res.mi)
    assert res.kind_name == "chaotic" and bool(res.converged) and not res.has_period
    assert math.isnan(float(res.period)) and 0.04 < float(res.lyapunov) < 0.12
    ref, ref_err = chaotic_reference
    err = float(res.mi_err)
    assert 0 < err < 0.01 * ref
    assert abs(float(res.mi) - ref) < 4 * math.hypot(err, ref_err)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = np.asarray(grad_mi(jnp.array([3.0, 1.0, 2.6, 1.0])))
    assert np.all(np.isnan(g))


@pytest.mark.slow
def test_chaotic_error_bar_shrinks_as_the_window_grows():
    """The jackknife error of the ergodic average against its window, for 48 independent starts on
    the attractor (one stacked solve, ``ergodic_average``): honest (the starts' estimates scatter by
    about the reported error, which the trend term makes ~1.5× conservative) and shrinking like
    T^(−1/2) once the window is many correlation times long (T = 4000 → 16000: ×2). 48 starts: the
    scatter of 16 has a ±18% sampling error, enough to cross the 0.5 bound by chance."""
    from permjax.meanfield.attractors import ergodic_average, ergodic_estimate, relax
    from permjax.meanfield.drift import drift_polynomial
    from permjax.meanfield.thermo import ThermoOptions

    f = drift_polynomial(LMG(3.0, 1.0, 2.6, 1.0))
    x = np.random.default_rng(1).normal(size=(48, 3))
    _, ms, ok = relax(f, 1.0, jnp.asarray(0.8 * x / np.linalg.norm(x, axis=1, keepdims=True)), ThermoOptions())
    assert bool(ok)
    errs = []
    for T in (4000.0, 16000.0):
        xb, sb, lyap, ok = ergodic_average(f, ms[-1], jnp.ones(48, bool), 1.0, 2, ThermoOptions(t_ergodic=T))
        value, err, *_, stationary = jax.vmap(lambda a, b: ergodic_estimate(jnp.eye(3), a, b, 2))(xb, sb)
        assert bool(ok) and np.all(np.asarray(stationary)) and np.all(np.asarray(lyap) > 0.04)
        errs.append(float(np.mean(err)))
        assert 0.5 < np.std(np.asarray(value), ddof=1) / errs[-1] < 2.0
    exponent = math.log(errs[1] / errs[0]) / math.log(4.0)
    assert -0.75 < exponent < -0.3, (errs, exponent)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,name",
    [({"J": float("nan")}, "J"), ({"h": float("inf")}, "h"), ({"Gamma": -1.0}, "Gamma"), ({"gamma": 0.0}, "gamma")],
)
def test_bad_model_parameters(kw, name):
    with pytest.raises(ValueError, match=name):
        permjax.mi_thermo(LMG(**kw))


@pytest.mark.parametrize(
    "options,needle",
    [({"rtol": -1.0}, "rtol"), ({"n_window": 3}, "n_window"), ({"m0": (1.0, 1.0, 0.0)}, "m0"), ({"tolerance": 1}, "unknown")],
)
def test_bad_options(options, needle):
    with pytest.raises(ValueError, match=needle):
        permjax.mi_thermo(LMG(), **options)


def test_not_a_model():
    with pytest.raises(ValueError, match="LMG"):
        permjax.mi_thermo({"J": 3.0})


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_thermo_reports_the_api_value(capsys):
    ref = permjax.mi_thermo(LMG(3.0, 0.5, 1.68, 1.0))
    assert main(["thermo", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["mi_per_N"] == float(ref.mi) and rec["attractor"] == "limit cycle"
    assert rec["period"] == float(ref.period) and rec["diagnostics"]["converged"] is True
    assert rec["model"] == {"J": 3.0, "h": 0.5, "Gamma": 1.68, "gamma": 1.0}
    assert main(["thermo", "--J", "3", "--h", "0", "--Gamma", "0.5", "--gamma", "1"]) == 0
    out = capsys.readouterr().out
    assert "I_M/N     = 0" in out and "fixed point" in out and "period    = -" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--J", "abc"], "not a number"),
        (["--gamma", "-1"], "gamma"),
        (["--Gamma", "-1"], "Gamma"),
        (["--h", "nan"], "not a finite number"),
        (["--Gamma"], "expected one argument"),
    ],
)
def test_cli_thermo_bad_arguments(capsys, argv, needle):
    assert main(["thermo", *argv]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert cap.out == "" and len(lines) == 1 and lines[0].startswith("permjax: error:") and needle in lines[0]


@pytest.mark.slow
def test_a_nan_point_in_a_vmapped_sweep_leaves_the_others_alone():
    """Under vmap the stages without derivatives integrate the points as one ODE system; a point
    with NaN coefficients (no eager check under a user's jit) must not steer its steps: it comes
    out NaN, and every other point equals its own single call (to Newton's tolerance)."""
    G = jnp.array([1.68, jnp.nan, 2.5])
    run = jax.jit(jax.vmap(lambda g: permjax.mi_thermo(LMG(3.0, 0.5, g, 1.0), starts=1).mi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mi = np.asarray(run(G))
    assert np.isnan(mi[1])
    for i in (0, 2):
        one = float(permjax.mi_thermo(LMG(3.0, 0.5, float(G[i]), 1.0), starts=1).mi)
        assert abs(mi[i] - one) <= 1e-10, (i, mi[i], one)


@pytest.mark.slow
def test_traced_programs_carry_no_host_callback_and_the_sweep_names_unresolved_points():
    """Under jit/vmap/grad mi_thermo adds no host callback (JAX's persistent cache then keeps the
    program); the flags come back in the result, and ``permjax.sweep`` says them in a warning
    labelled by the grid's parameters."""
    short = functools.partial(permjax.mi_thermo, starts=1, max_steps=16)  # 16 steps, then 320: never reaches the window
    grid = permjax.grid(Gamma=[1.3, 1.68])
    with pytest.warns(RuntimeWarning, match=r"not resolved at 2 point\(s\), e.g. J=3, h=0.5, Gamma=1.3"):
        res = permjax.sweep(short, grid, progress=False)
    assert np.all(np.isnan(res.outputs.mi)) and not np.any(res.outputs.finished)
    assert np.all(res.outputs.kind == NOT_RESOLVED)
    from permjax.sweep import _sharded_batch_fn

    batched, _ = _sharded_batch_fn(short, tuple(jax.devices()))  # the sweep's compiled program
    assert "callback" not in batched.lower(jax.tree.map(jnp.asarray, grid)).as_text()
    f = lambda g: short(LMG(3.0, 0.5, g, 1.0)).mi
    assert "callback" not in str(jax.make_jaxpr(jax.vmap(jax.value_and_grad(f)))(jnp.array([1.3, 1.68])))
