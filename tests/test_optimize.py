"""Gradient search: bounded multi-start maximisation, checked against scipy and grid scans."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from grid_reference import refined_grid_argmax
from scipy.optimize import brute, minimize_scalar

import permjax
from permjax import LMG


from analytic import eq18_numpy  # noqa: E402


def bumpy(m):
    """Several local maxima in (Γ, h); the global one is found by a brute-force scan."""
    return jnp.sin(3 * m.Gamma) * jnp.cos(2 * m.h) + 0.1 * m.Gamma - 0.2 * m.h**2


def test_eq18_maximum_within_100_steps():
    ref = minimize_scalar(lambda G: -eq18_numpy(G), bounds=(1.05, 4.0), method="bounded", options={"xatol": 1e-12})
    res = permjax.maximize(
        permjax.mi_thermo_analytic, LMG(J=3.0, h=0.0, Gamma=2.0, gamma=1.0), over=("Gamma",), bounds={"Gamma": (1.05, 4.0)}, steps=100, starts=4
    )
    assert res.converged and res.steps <= 100
    assert abs(res.params["Gamma"] - 1.67756) < 1e-4  # the Γ*/γ
    assert abs(res.params["Gamma"] - ref.x) < 1e-6
    assert abs(float(res.value) - (-ref.fun)) < 1e-12
    assert float(res.grad_norm) < 1e-8 and res.model.Gamma == res.params["Gamma"] and res.model.J == 3.0
    # every start got there; the history starts at the stratified points and ends at the answer
    np.testing.assert_allclose(res.start_params["Gamma"], ref.x, atol=1e-6)
    np.testing.assert_allclose(res.history["Gamma"][:, 0], 1.05 + 2.95 * (np.arange(4) + 0.5) / 4)
    k = res.steps
    assert res.history["Gamma"][np.argmax(res.start_values), k] == res.params["Gamma"]
    assert np.all(np.isnan(res.history["value"][np.argmax(res.start_values), k + 1 :]))
    # the scale is set by γ: Γ*/γ is the same at γ = 2
    res2 = permjax.maximize(permjax.mi_thermo_analytic, LMG(3.0, 0.0, 2.0, 2.0), bounds={"Gamma": (2.1, 8.0)}, starts=4)
    assert abs(res2.params["Gamma"] / 2.0 - ref.x) < 1e-6


def test_maximum_on_a_bound_is_reached_and_counts_as_converged():
    res = permjax.maximize(permjax.mi_thermo_analytic, LMG(3.0, 0.0, 2.0, 1.0), bounds={"Gamma": (2.0, 4.0)}, starts=4)
    assert res.converged and res.steps <= 100
    assert 2.0 < res.params["Gamma"] < 2.0 + 1e-6
    assert abs(float(res.value) - eq18_numpy(2.0)) < 1e-7


def test_multistart_finds_the_global_maximum_in_two_parameters():
    bounds = {"Gamma": (0.0, 4.0), "h": (-1.5, 1.5)}
    scan = brute(lambda x: -float(bumpy(LMG(3.0, x[1], x[0], 1.0))), (bounds["Gamma"], bounds["h"]), Ns=81, finish=None)
    res = permjax.maximize(bumpy, LMG(), over=("Gamma", "h"), bounds=bounds, starts=8)
    assert res.converged and set(res.params) == {"Gamma", "h"}
    x = np.array([res.params["Gamma"], res.params["h"]])
    # refine the scan's grid point with scipy from there: the same maximum to 1e-6
    assert np.all(np.abs(x - scan) <= np.array([4.0, 3.0]) / 80)
    local = minimize_scalar(lambda G: -float(bumpy(LMG(3.0, 0.0, G, 1.0))), bounds=(2.2, 3.0), method="bounded", options={"xatol": 1e-12})
    assert abs(res.params["Gamma"] - local.x) < 1e-6 and abs(res.params["h"]) < 1e-6
    # a single start in another basin stops at that basin's (lower) local maximum
    one = permjax.maximize(bumpy, LMG(h=0.0), over="Gamma", bounds={"Gamma": (0.0, 4.0)}, starts={"Gamma": [0.5]})
    first = minimize_scalar(lambda G: -float(bumpy(LMG(3.0, 0.0, G, 1.0))), bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12})
    assert one.converged and abs(one.params["Gamma"] - first.x) < 1e-6 and float(one.value) < float(res.value) - 0.1


def test_first_order_optimizer_works_and_non_convergence_warns():
    adam = optax.adam(optax.cosine_decay_schedule(0.5, 100, 0.001))
    with pytest.warns(RuntimeWarning, match="did not converge in 100 steps: projected gradient norm"):
        res = permjax.maximize(permjax.mi_thermo_analytic, LMG(h=0.0), bounds={"Gamma": (1.05, 4.0)}, optimizer=adam, starts=2)
    assert not res.converged and res.steps == 100
    assert abs(res.params["Gamma"] - 1.67756) < 1e-2  # Adam gets near, L-BFGS gets there


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"over": ("Delta",)}, "over"),
        ({"over": ()}, "at least one"),
        ({"over": ("Gamma", "Gamma")}, "distinct"),
        ({"bounds": {}}, "bounds needed for Gamma"),
        ({"bounds": {"Gamma": (3.0, 1.0)}}, "lo < hi"),
        ({"bounds": {"Gamma": (-1.0, 1.0)}}, "Gamma"),
        ({"bounds": {"Gamma": (1.0, np.inf)}}, "finite"),
        ({"bounds": {"Gamma": (1.0, 2.0), "h": (0.0, 1.0)}}, "not optimised"),
        ({"starts": {"Gamma": [5.0]}}, "inside the bounds"),
        ({"starts": 0}, "starts"),
        ({"steps": -1}, "steps"),
    ],
)
def test_bad_input_raises(kw, match):
    args = {"over": ("Gamma",), "bounds": {"Gamma": (1.0, 2.0)}, **kw}
    with pytest.raises(ValueError, match=match):
        permjax.maximize(permjax.mi_thermo_analytic, LMG(h=0.0), **args)


def test_batched_model_or_vector_objective_raises():
    with pytest.raises(ValueError, match="single model"):
        permjax.maximize(permjax.mi_thermo_analytic, LMG(h=0.0, Gamma=[1.5, 2.0]), bounds={"Gamma": (1.0, 2.0)})
    with pytest.raises(ValueError, match="scalar"):
        permjax.maximize(lambda m: jnp.stack([m.Gamma, m.h]), LMG(h=0.0), bounds={"Gamma": (1.0, 2.0)})


def test_cli_optimize(monkeypatch, capsys):
    import json

    from permjax import cli

    monkeypatch.setattr(cli.common, "_mi_function", lambda N, method="auto": permjax.mi_thermo_analytic)
    assert cli.main(["optimize", "--h", "0", "--over", "Gamma", "--bounds", "Gamma=1.05,4", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    ref = minimize_scalar(lambda G: -eq18_numpy(G), bounds=(1.05, 4.0), method="bounded", options={"xatol": 1e-12})
    assert record["converged"] and record["steps"] <= 100 and record["bounds"] == {"Gamma": [1.05, 4.0]}
    assert abs(record["params"]["Gamma"] - ref.x) < 1e-6 and abs(record["value"] + ref.fun) < 1e-12
    assert len(record["starts"]["value"]) == 4

    for flags, match in [
        (["--bounds", "Gamma=1"], "NAME=LO,HI"),
        (["--bounds", "h=0,1"], "not optimised"),
        (["--over", "Delta"], "invalid choice"),
        (["--bounds", "Gamma=3,1"], "lo < hi"),
    ]:
        assert cli.main(["optimize", "--h", "0", *flags]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0], err


def test_cli_optimize_finite_N_picks_the_solver(capsys):
    """`permjax optimize --N 6`: h fixed at 0 uses the rate equations, h = 0.5 the sparse LU (N ≤ 16); each Γ*
    agrees with a grid scan of the full-block CGLS steady state."""
    import json

    from permjax import cli

    for h, solver in ((0.0, "rates"), (0.5, "direct")):
        assert cli.main(["optimize", "--N", "6", "--h", str(h), "--bounds", "Gamma=0.5,4", "--starts", "2", "--json"]) == 0
        record = json.loads(capsys.readouterr().out)
        assert record["solver"] == solver and record["converged"]
        scan = lambda G, h=h: permjax.sweep_finite(6, {"h": h, "Gamma": G}, method="cgls", progress=False).outputs["mi"]
        G_grid, v_grid = refined_grid_argmax(scan, 0.5, 4.0, points=11)
        assert abs(record["params"]["Gamma"] - G_grid) < 1e-4
        assert record["value"] >= v_grid - 1e-12


N_FINITE = 40  # the acceptance size; GMRES (preconditioned) keeps it to seconds per solve


def mi_finite_fixed_N(model):
    return permjax.mi_finite(N_FINITE, model, method="gmres")


def test_finite_N_maximum_matches_a_grid_scan():
    """N = 40, h = 0.5: the gradient search and a refined grid scan of mi_finite (the scan's
    sweep_finite picks GMRES itself at this N) find the same Γ*."""
    lo, hi = 1.0, 3.0
    scan = lambda G: permjax.sweep_finite(N_FINITE, {"J": 3.0, "h": 0.5, "Gamma": G}, progress=False).outputs["mi"]
    G_grid, v_grid = refined_grid_argmax(scan, lo, hi, points=11, spacing=8e-5)  # grid point within 4e-5 of its max
    res = permjax.maximize(mi_finite_fixed_N, LMG(J=3.0, h=0.5), bounds={"Gamma": (lo, hi)}, starts=2)
    assert res.converged and res.steps <= 100
    assert abs(res.params["Gamma"] - G_grid) < 1e-4
    assert float(res.value) >= v_grid - 1e-12


# --- N → ∞ with permjax.mi_thermo (one compiled search shared by the tests below) ---------------


@pytest.fixture(scope="module")
def thermo_searches():
    """Gradient searches with mi_thermo at h = 0 and h = 0.5 (the second reuses the compiled code)."""
    return {
        h: permjax.maximize(permjax.mi_thermo, LMG(J=3.0, h=h, Gamma=2.0, gamma=1.0), bounds={"Gamma": (1.05, 4.0)}, starts=4)
        for h in (0.0, 0.5)
    }


def test_thermo_h0_maximum_within_100_steps(thermo_searches):
    res = thermo_searches[0.0]
    ref = minimize_scalar(lambda G: -eq18_numpy(G), bounds=(1.05, 4.0), method="bounded", options={"xatol": 1e-12})
    assert res.converged and res.steps <= 100
    assert abs(res.params["Gamma"] - 1.67756) < 1e-4
    assert abs(res.params["Gamma"] - ref.x) < 1e-6
    assert abs(float(res.value) + ref.fun) < 1e-10


def test_thermo_h05_maximum_matches_a_grid_scan(thermo_searches):
    res = thermo_searches[0.5]
    scan = lambda G: permjax.sweep(permjax.mi_thermo, {"h": 0.5, "Gamma": G}, progress=False).outputs.mi
    G_grid, v_grid = refined_grid_argmax(scan, 1.05, 4.0)
    assert res.converged and res.steps <= 100
    assert abs(res.params["Gamma"] - G_grid) < 1e-4
    assert float(res.value) >= v_grid - 1e-12
    # the multi-start record shows the second, lower maximum beyond the dip near Γ ≈ 2.5
    assert np.ptp(res.start_values) > 0.05


def test_cli_thermo_sweep_and_optimize(thermo_searches, capsys):
    """The CLI's N → ∞ paths (same compiled code as above): a sweep at h = 0 against Eq. 18 in
    numpy, and the optimiser at h = 0.5 against the library call."""
    import json

    from permjax import cli

    assert cli.main(["sweep", "--h", "0", "--Gamma", "1.05:4:21", "--json", "--quiet"]) == 0
    cols = json.loads(capsys.readouterr().out)["columns"]
    G = np.linspace(1.05, 4.0, 21)
    np.testing.assert_allclose(cols["mi"], eq18_numpy(G), rtol=0, atol=1e-9)
    assert all(cols["converged"]) and cols["kind"] == [1] * 21  # limit cycles

    assert cli.main(["optimize", "--h", "0.5", "--bounds", "Gamma=1.05,4", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["converged"] and record["N"] is None
    assert abs(record["params"]["Gamma"] - thermo_searches[0.5].params["Gamma"]) < 1e-9
