"""Parameter sweeps: grids, chunking, multi-device sharding, the warm-started path, output files."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax import LMG
from permjax.sweep import SweepResult


def newton_fixed_point(model):
    """A per-point iterative solve (while_loop with a data-dependent trip count): the stable
    root of x = tanh(𝒥 x / Γ) + h by Newton, with its residual and iteration count."""

    def g(x):
        return x - jnp.tanh(model.J * x / model.Gamma) - model.h

    def cond(c):
        x, k = c
        return (jnp.abs(g(x)) > 1e-14) & (k < 50)

    def body(c):
        x, k = c
        return x - g(x) / jax.grad(g)(x), k + 1

    x, k = jax.lax.while_loop(cond, body, (jnp.asarray(2.0), 0))
    return {"x": x, "diagnostics": {"residual": jnp.abs(g(x)), "iterations": k, "converged": jnp.abs(g(x)) < 1e-12}}


G_AXIS = np.linspace(1.0, 4.0, 31)


def test_grid_is_the_outer_product_in_keyword_order():
    g = permjax.grid(h=0.25, Gamma=[1.0, 2.0, 3.0], J=[2.0, 5.0])
    assert g.shape == (3, 2)
    np.testing.assert_array_equal(g.Gamma, [[1, 1], [2, 2], [3, 3]])
    np.testing.assert_array_equal(g.J, [[2, 5], [2, 5], [2, 5]])
    np.testing.assert_array_equal(g.h, np.full((3, 2), 0.25))
    np.testing.assert_array_equal(g.gamma, np.full((3, 2), LMG().gamma))


@pytest.mark.parametrize(
    "axes,match",
    [
        ({"Gamma": []}, "empty"),
        ({"Gamma": [1.0, np.nan]}, "Gamma"),
        ({"h": [0.0, np.inf]}, "h"),
        ({"gamma": [1.0, -1.0]}, "gamma"),
        ({"Gamma": [[1.0, 2.0]]}, "1-D"),
        ({"Delta": [1.0]}, "unknown"),
    ],
)
def test_bad_grid_raises(axes, match):
    with pytest.raises(ValueError, match=match):
        permjax.grid(**axes)
    with pytest.raises(ValueError, match=match):
        permjax.sweep(permjax.mi_thermo_analytic, axes, progress=False)


def test_bad_batches_raise():
    with pytest.raises(ValueError, match="empty"):
        permjax.sweep(permjax.mi_thermo_analytic, [], progress=False)
    with pytest.raises(ValueError, match="empty"):
        permjax.sweep(permjax.mi_thermo_analytic, LMG(Gamma=np.zeros(0)), progress=False)
    # a batch built around the constructor is re-validated
    smuggled = jax.tree.map(lambda x: x * np.array([1.0, np.nan]), LMG(h=0.0))
    with pytest.raises(ValueError, match="finite"):
        permjax.sweep(permjax.mi_thermo_analytic, smuggled, progress=False)
    with pytest.raises(ValueError, match="chunk_size"):
        permjax.sweep(permjax.mi_thermo_analytic, {"Gamma": [1.0]}, chunk_size=0, progress=False)


def test_sweep_matches_pointwise_evaluation_and_chunking_changes_nothing():
    axes = {"J": 3.0, "h": 0.0, "Gamma": G_AXIS, "gamma": [1.0, 1.5]}
    pointwise = np.array(
        [[permjax.mi_thermo_analytic(LMG(3.0, 0.0, G, g)) for g in (1.0, 1.5)] for G in G_AXIS]
    )
    for chunk in (5, 16, 1000):
        res = permjax.sweep(permjax.mi_thermo_analytic, axes, chunk_size=chunk, progress=False)
        assert res.shape == (31, 2) and res.outputs.shape == (31, 2)
        assert res.chunk_size == min(chunk, 62)
        np.testing.assert_allclose(res.outputs, pointwise, rtol=1e-14, atol=1e-16)
    # and for an iterative per-point solve (while_loop trip counts differ between points)
    ref = [newton_fixed_point(LMG(J=3.0, h=h, Gamma=G)) for h in (0.0, 0.3) for G in G_AXIS[:8]]
    for chunk in (3, 64):
        res = permjax.sweep(newton_fixed_point, {"h": [0.0, 0.3], "Gamma": G_AXIS[:8]}, chunk_size=chunk, progress=False)
        np.testing.assert_allclose(res.outputs["x"].ravel(), [float(r["x"]) for r in ref], rtol=1e-14)
        np.testing.assert_array_equal(
            res.outputs["diagnostics"]["iterations"].ravel(), [int(r["diagnostics"]["iterations"]) for r in ref]
        )


def test_list_of_models_and_progress(capsys):
    models = [LMG(3.0, 0.0, G, 1.0) for G in (1.3, 1.7, 2.9)]
    res = permjax.sweep(permjax.mi_thermo_analytic, models, chunk_size=2)
    assert res.shape == (3,)
    np.testing.assert_allclose(res.outputs, [permjax.mi_thermo_analytic(m) for m in models], rtol=1e-15)
    err = capsys.readouterr().err.splitlines()
    assert err == [l for l in err if l.startswith("sweep: chunk")] and len(err) == 2
    assert "chunk 2/2, 3/3 points" in err[-1]


def test_table_csv_json_roundtrip(tmp_path):
    def fn(m):
        mz, mxy, omega = permjax.limit_cycle_h0(m)
        return {"mi": permjax.mi_thermo_analytic(m), "m": jnp.stack([mxy, 0.0 * mxy, mz]), "cycle": m.Gamma > m.gamma}

    res = permjax.sweep(fn, {"h": 0.0, "Gamma": G_AXIS[:6]}, progress=False)
    cols = res.columns()
    assert list(cols) == ["J", "h", "Gamma", "gamma", "cycle", "m[0]", "m[1]", "m[2]", "mi"]
    table = res.table().splitlines()
    assert len(table) == 7 and table[0].split() == list(cols)
    assert table[1].split()[4] == "False" and table[2].split()[4] == "True"

    res.to_csv(tmp_path / "s.csv")
    data = np.genfromtxt(tmp_path / "s.csv", delimiter=",", names=True, dtype=None, encoding=None)
    np.testing.assert_array_equal(data["Gamma"], G_AXIS[:6])
    np.testing.assert_array_equal(data["mi"], cols["mi"])  # 17 digits: exact round trip
    np.testing.assert_array_equal(data["m2"], cols["m[2]"])

    res.to_json(tmp_path / "s.json")
    record = json.loads((tmp_path / "s.json").read_text())
    assert record["shape"] == [6] and record["method"] == "vmap"
    np.testing.assert_array_equal(record["columns"]["mi"], cols["mi"])
    assert record["columns"]["cycle"] == cols["cycle"].tolist()


def test_unconverged_points_warn_with_their_residual():
    def fn(m):
        r = jnp.abs(m.Gamma - 2.0)
        return {"mi": m.Gamma, "diagnostics": {"residual": r, "converged": r < 0.5}}

    with pytest.warns(RuntimeWarning, match=r"4 of 6 points did not converge.*Gamma=1.*residual=1"):
        permjax.sweep(fn, {"Gamma": [1.0, 1.5, 2.0, 2.2, 2.6, 3.0]}, progress=False)


def test_sequential_sweep_threads_the_carry_across_chunks():
    def step(model, prev):
        mi = permjax.mi_thermo_analytic(model)
        return {"mi": mi, "prev": prev}, mi

    axes = {"h": 0.0, "Gamma": G_AXIS[:10], "gamma": [1.0, 1.2]}
    res = permjax.sweep_sequential(step, axes, -1.0, chunk_size=3, progress=False)
    assert res.method == "sequential" and res.shape == (10, 2)
    flat_mi, flat_prev = res.outputs["mi"].ravel(), res.outputs["prev"].ravel()
    assert flat_prev[0] == -1.0
    np.testing.assert_array_equal(flat_prev[1:], flat_mi[:-1])
    direct = permjax.sweep(permjax.mi_thermo_analytic, axes, progress=False)
    np.testing.assert_allclose(res.outputs["mi"], direct.outputs, rtol=1e-15)


def test_warm_start_cuts_newton_iterations():
    """The carry is a usable initial guess: warm-started Newton needs fewer iterations."""

    def solve(model, x0):
        g = lambda x: x - jnp.tanh(model.J * x / model.Gamma) - model.h

        def body(c):
            x, k = c
            return x - g(x) / jax.grad(g)(x), k + 1

        x, k = jax.lax.while_loop(lambda c: (jnp.abs(g(c[0])) > 1e-13) & (c[1] < 50), body, (x0, 0))
        return {"x": x, "iterations": k}, x

    axes = {"h": 0.1, "Gamma": np.linspace(1.0, 2.0, 21)}
    warm = permjax.sweep_sequential(solve, axes, jnp.asarray(2.0), progress=False)
    cold = permjax.sweep(lambda m: solve(m, jnp.asarray(2.0))[0], axes, progress=False)
    np.testing.assert_allclose(warm.outputs["x"], cold.outputs["x"], rtol=1e-12)
    assert warm.outputs["iterations"].sum() < cold.outputs["iterations"].sum()


# N = 40 with GMRES on 4 host devices: XLA:CPU's batched eigh (from N = 20) and pure_callback's
# argument copies (at N = 40) deadlocked its thread pool before permjax.linalg / permjax.host
FINITE_N, FINITE_GRID = 40, {"J": 3.0, "h": 0.5, "Gamma": [1.0, 1.3, 1.68, 2.0, 2.5, 3.0, 3.5, 4.0], "gamma": 1.0}

MULTI_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    import permjax
    sys.path.insert(0, {tests!r})
    from test_sweep import newton_fixed_point, G_AXIS, FINITE_N, FINITE_GRID
    assert len(jax.devices()) == 4, jax.devices()
    axes = {{"h": [0.0, 0.3], "Gamma": G_AXIS[:15]}}
    a = permjax.sweep(permjax.mi_thermo_analytic, {{"h": 0.0, "Gamma": G_AXIS, "gamma": [1.0, 1.5]}}, chunk_size=6, progress=False)
    b = permjax.sweep(newton_fixed_point, axes, chunk_size=6, progress=False)
    c = permjax.sweep_finite(FINITE_N, FINITE_GRID, method="gmres", chunk_size=8, progress=False)
    print(json.dumps({{"n_devices": [a.n_devices, b.n_devices, c.n_devices], "chunk": [a.chunk_size, b.chunk_size],
                      "mi": a.outputs.tolist(), "x": b.outputs["x"].tolist(),
                      "iterations": b.outputs["diagnostics"]["iterations"].tolist(), "finite": c.outputs["mi"].tolist()}}))
    """
)


def test_four_host_devices_match_one_device():
    tests = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", MULTI_DEVICE_SCRIPT.format(tests=tests)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    four = json.loads(proc.stdout.strip().splitlines()[-1])
    assert four["n_devices"] == [4, 4, 4] and four["chunk"] == [8, 8]  # 6 rounded up to a multiple of 4

    a = permjax.sweep(permjax.mi_thermo_analytic, {"h": 0.0, "Gamma": G_AXIS, "gamma": [1.0, 1.5]}, chunk_size=6, progress=False)
    b = permjax.sweep(newton_fixed_point, {"h": [0.0, 0.3], "Gamma": G_AXIS[:15]}, chunk_size=6, progress=False)
    assert a.n_devices == 1
    np.testing.assert_allclose(four["mi"], a.outputs, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(four["x"], b.outputs["x"], rtol=1e-14)
    np.testing.assert_array_equal(four["iterations"], b.outputs["diagnostics"]["iterations"])
    # finite N on 4 devices vs pointwise single-device solves (CGLS, an independent Krylov method)
    pointwise = [float(permjax.mi_finite(FINITE_N, LMG(J=3.0, h=0.5, Gamma=G, gamma=1.0), method="cgls"))
                 for G in FINITE_GRID["Gamma"]]
    np.testing.assert_allclose(four["finite"], pointwise, rtol=1e-9)


def test_result_is_a_pytree():
    res = permjax.sweep(permjax.mi_thermo_analytic, {"h": 0.0, "Gamma": [1.5, 2.5]}, progress=False)
    assert isinstance(res, SweepResult)
    leaves = jax.tree.leaves(res)
    assert len(leaves) == 5  # four parameters + the output


def test_cli_sweep_range_syntax_and_files(tmp_path, monkeypatch, capsys):
    from permjax import cli

    monkeypatch.setattr(cli.common, "_mi_function", lambda N, method="auto": permjax.mi_thermo_analytic)
    out = tmp_path / "r.csv"
    assert cli.main(["sweep", "--h", "0", "--Gamma", "1:4:31", "--gamma", "1,1.5", "--out", str(out), "--json", "--quiet"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["shape"] == [31, 2] and record["out"] == str(out)
    expected = [[float(permjax.mi_thermo_analytic(LMG(3.0, 0.0, G, g))) for g in (1.0, 1.5)] for G in G_AXIS]
    np.testing.assert_allclose(np.reshape(record["columns"]["value"], (31, 2)), expected, rtol=1e-14, atol=1e-16)
    data = np.genfromtxt(out, delimiter=",", names=True)
    np.testing.assert_array_equal(data["value"], record["columns"]["value"])
    np.testing.assert_array_equal(data["Gamma"], np.repeat(G_AXIS, 2))

    assert cli.main(["sweep", "--h", "0", "--Gamma", "1.5,2.5", "--quiet"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert "2 points" in text[0] and text[1].split() == ["J", "h", "Gamma", "gamma", "value"]


@pytest.mark.parametrize(
    "flags,match",
    [
        (["--Gamma", "1:4"], "START:STOP:COUNT"),
        (["--Gamma", "1:4:0"], ">= 1"),
        (["--Gamma", "1:nan:3"], "finite"),
        (["--h", "0,x"], "not a number"),
        (["--Gamma", "-1,2"], "Gamma"),
        (["--out", "r.txt"], ".csv or .json"),
    ],
)
def test_cli_sweep_bad_input_is_one_line_exit_2(flags, match, monkeypatch, capsys):
    from permjax import cli

    monkeypatch.setattr(cli.common, "_mi_function", lambda N, method="auto": permjax.mi_thermo_analytic)
    assert cli.main(["sweep", "--h", "0", "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("permjax: error:") and match in err[0]


def test_finite_sweep_matches_bruteforce_cold_and_warm():
    import bruteforce as bf

    N, gammas = 5, [1.2, 1.68, 2.5, 3.3]
    ref = [bf.mutual_information(bf.lmg_steady_state(N, 3.0, 0.5, G, 1.0), N) / N for G in gammas]
    cold = permjax.sweep_finite(N, {"h": 0.5, "Gamma": gammas}, chunk_size=3, progress=False)
    warm = permjax.sweep_finite(N, {"h": 0.5, "Gamma": gammas}, warm_start=True, chunk_size=3, progress=False)
    for res in (cold, warm):
        np.testing.assert_allclose(res.outputs["mi"], ref, rtol=0, atol=1e-10)
        assert res.outputs["diagnostics"]["converged"].all()
        assert (res.outputs["diagnostics"]["residual"] < 1e-10).all()
    # the warm start begins each point from its neighbour's state: fewer iterations where the
    # neighbours are close (at N = 5 CGLS nearly terminates in a fixed number of steps, so the
    # gain is a few iterations per point and vanishes for points as far apart as those above)
    fine = {"h": 0.5, "Gamma": [1.67, 1.675, 1.68, 1.685]}
    cold = permjax.sweep_finite(N, fine, method="cgls", chunk_size=3, progress=False)
    warm = permjax.sweep_finite(N, fine, method="cgls", warm_start=True, chunk_size=3, progress=False)
    np.testing.assert_allclose(warm.outputs["mi"], cold.outputs["mi"], rtol=0, atol=1e-10)
    it_cold, it_warm = cold.outputs["diagnostics"]["iterations"], warm.outputs["diagnostics"]["iterations"]
    assert it_warm[0] == it_cold[0] and np.all(it_warm[1:] < it_cold[1:])
    with pytest.raises(ValueError, match="N"):
        permjax.sweep_finite(1, {"Gamma": [1.0]}, progress=False)


def test_finite_sweep_auto_picks_the_solver_from_the_batch():
    import bruteforce as bf

    # every h = 0: the rate equations (a warm start is dropped, they take no initial guess)
    gammas = [0.8, 1.68, 3.0]
    ref = [bf.mutual_information(bf.lmg_steady_state(5, 3.0, 0.0, G, 1.0), 5) / 5 for G in gammas]
    for warm in (False, True):
        res = permjax.sweep_finite(5, {"h": 0.0, "Gamma": gammas}, warm_start=warm, progress=False)
        assert res.solver == "rates" and res.method == "vmap" and res.to_json()["solver"] == "rates"
        np.testing.assert_allclose(res.outputs["mi"], ref, rtol=0, atol=1e-12)
    # any h ≠ 0: the sparse LU up to N = 20, preconditioned GMRES above
    from permjax.solvers.steady import batch_method

    assert batch_method(5, permjax.grid(h=[0.0, 0.1])) == "direct"
    assert batch_method(20, permjax.grid(h=[0.0, 0.1])) == "direct"
    assert batch_method(21, permjax.grid(h=[0.0, 0.1])) == "gmres"
    assert batch_method(80, permjax.grid(h=0.0, Gamma=[1.0, 2.0])) == "rates"
    assert batch_method(80) == "gmres"  # h varies (a gradient search over h)
    assert permjax.sweep_finite(5, {"h": 0.5, "Gamma": 1.68}, method="cgls", progress=False).solver == "cgls"


def test_cli_finite_sweep_reproduces_the_spec_number(capsys):
    from permjax import cli

    # docs/theory.md §5 (2^N brute force): 𝒥 = 3, γ = 1, Γ = 1.68, N = 4 → I_M/N = 0.028341433268 (h = 0.5), 0.033440586354 (h = 0)
    for warm, method in (([], []), (["--warm-start"], []), ([], ["--method", "gmres"])):
        assert cli.main(["sweep", "--N", "4", "--h", "0,0.5", "--Gamma", "1.68", "--json", "--quiet", *warm, *method]) == 0
        cols = json.loads(capsys.readouterr().out)["columns"]
        np.testing.assert_allclose(cols["mi"], [0.033440586354, 0.028341433268], rtol=0, atol=5e-12)
        assert all(cols["diagnostics.converged"])


MULTI_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address="localhost:{port}", num_processes=2, process_id=int(sys.argv[1]))
    import numpy as np
    import permjax
    a = permjax.sweep(permjax.mi_thermo_analytic, {{"h": 0.0, "Gamma": np.linspace(1.0, 4.0, 13)}}, chunk_size=4, progress=False)
    b = permjax.sweep_finite(6, {{"h": 0.5, "Gamma": [1.0, 1.68, 2.5]}}, progress=False)
    print(json.dumps({{"processes": jax.process_count(), "n_devices": [a.n_devices, b.n_devices],
                      "analytic": a.outputs.tolist(), "finite": b.outputs["mi"].tolist()}}))
    """
)


def test_two_processes_with_jax_distributed_match_one_process():
    """The README's multi-host recipe on one machine: 2 processes × 2 host devices, one global mesh."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    script = MULTI_PROCESS_SCRIPT.format(port=port)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(r)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    records = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    gammas = np.linspace(1.0, 4.0, 13)
    ref_a = permjax.sweep(permjax.mi_thermo_analytic, {"h": 0.0, "Gamma": gammas}, progress=False).outputs
    import bruteforce as bf

    ref_b = [bf.mutual_information(bf.lmg_steady_state(6, 3.0, 0.5, G, 1.0), 6) / 6 for G in (1.0, 1.68, 2.5)]
    for rec in records:  # every process holds the full result
        assert rec["processes"] == 2 and rec["n_devices"] == [4, 4]
        np.testing.assert_allclose(rec["analytic"], ref_a, rtol=1e-14)
        np.testing.assert_allclose(rec["finite"], ref_b, rtol=0, atol=1e-10)


def test_a_finite_sweep_warns_at_the_boundary_and_keeps_no_host_callback():
    """Finite-N points of a sweep return their convergence flags, and the sweep names the points
    that did not converge; their traced checks add no host callback (the persistent cache keeps
    the program)."""
    from permjax.solvers import GMRES
    from permjax.sweep import FinitePoint, _sharded_batch_fn

    axes = {"J": 3.0, "h": 0.5, "Gamma": [1.3, 1.68]}
    with pytest.warns(RuntimeWarning, match=r"2 of 2 points did not converge.*Gamma=1.3.*residual="):
        res = permjax.sweep_finite(6, axes, method=GMRES(maxiter=1), progress=False)
    assert not np.any(res.outputs["diagnostics"]["converged"])
    assert np.all(res.outputs["diagnostics"]["residual"] > 1e-12)
    point = FinitePoint(6, (("method", GMRES(maxiter=1)),))
    batched, _ = _sharded_batch_fn(point, tuple(jax.devices()))
    assert "callback" not in batched.lower(jax.tree.map(jnp.asarray, permjax.grid(**axes))).as_text()
