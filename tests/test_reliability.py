"""Regression tests of the reliability findings: one-line errors instead of tracebacks, the
memory estimate (checked against measured peak memory), the validated figure cache, concurrent
figure runs, atomic outputs, argument handling, integer options."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import permjax
from permjax import figures, files, resources
from permjax.cli import _join_negative_values, _mi_text, build_parser, main
from permjax.resources import InsufficientMemoryError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = permjax.LMG(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(capsys, argv, rc=2):
    code, out, err = run(capsys, *argv)
    assert code == rc, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("permjax: "), err
    assert "Traceback" not in err
    return lines[0]


# --- finding 2: one-line errors ------------------------------------------------------------


def test_huge_N_is_refused_in_one_line(capsys):
    line = one_line_error(capsys, ["finite", "--N", "5000"])
    assert "needs about" in line and "available" in line and "largest N that fits is" in line
    with pytest.raises(InsufficientMemoryError) as e:
        permjax.steady_state(10**6, MODEL)
    assert isinstance(e.value, MemoryError) and isinstance(e.value, ValueError)
    assert len(str(e.value).splitlines()) == 1
    with pytest.raises(InsufficientMemoryError):  # the h = 0 rate equations too
        permjax.steady_state(10**6, MODEL.replace(h=0.0))
    btc = permjax.BTC(kappa=1.0, omega=0.3, gamma_phi=0.0, gamma_down=0.0)
    with pytest.raises(InsufficientMemoryError, match="block='symmetric'"):  # the symmetric block's sparse LU
        permjax.steady_state(10**5, btc, block="symmetric")


def test_sweep_out_checked_before_computing(capsys, monkeypatch, tmp_path):
    sw = sys.modules["permjax.sweep"]  # (permjax.sweep the attribute is the function)

    def boom(*a, **k):
        raise AssertionError("computed before checking --out")

    monkeypatch.setattr(sw, "sweep", boom)
    monkeypatch.setattr(sw, "sweep_finite", boom)
    line = one_line_error(capsys, ["sweep", "--Gamma", "1:2:2", "--out", "/nonexistent/dir/x.json"])
    assert "does not exist" in line
    os.makedirs(tmp_path / "d.json")
    assert "is a folder" in one_line_error(capsys, ["sweep", "--out", str(tmp_path / "d.json")])
    assert ".csv or .json" in one_line_error(capsys, ["sweep", "--out", str(tmp_path / "x.txt")])


def test_figure_out_is_a_file(capsys, tmp_path):
    path = tmp_path / "a_file"
    path.write_text("keep me")
    line = one_line_error(capsys, ["figure", "2", "--quick", "--out", str(path)])
    assert "is not a folder" in line
    assert path.read_text() == "keep me"


# --- finding 3: the memory estimate --------------------------------------------------------


def test_memory_refusal_names_estimate_available_and_largest_N(monkeypatch, capsys):
    monkeypatch.setattr(resources, "_host_available", lambda: int(50e6))
    assert permjax.solvers.memory(40, "cgls").total > 50e6
    with pytest.raises(InsufficientMemoryError, match="largest N that fits is") as e:
        permjax.steady_state(40, MODEL, method="cgls")
    msg = str(e.value)
    assert "50 MB of host memory" in msg and "memory_check=False" in msg
    n_max = int(msg.split("largest N that fits is ")[1].split()[0].rstrip(","))
    assert permjax.solvers.memory(n_max, "cgls").total <= 50e6 < permjax.solvers.memory(n_max + 1, "cgls").total
    # the override solves anyway
    assert n_max < 40
    forced = permjax.steady_state(4, MODEL, method="cgls", memory_check=False)
    assert bool(forced.diagnostics.converged)
    monkeypatch.setattr(resources, "_host_available", lambda: int(1e6))
    line = one_line_error(capsys, ["finite", "--N", "4", "--h", "0.5", "--method", "cgls"])
    assert "not even N = 2 fits" in line and "--no-memory-check" in line
    rc, out, _ = run(capsys, "finite", "--N", "4", "--h", "0.5", "--no-memory-check", "--json")
    assert rc == 0
    assert json.loads(out)["mi_per_N"] == pytest.approx(float(permjax.mi_finite(4, MODEL, memory_check=False)), abs=1e-13)


def test_sweep_finite_counts_the_points_solved_at_once(monkeypatch):
    one = permjax.solvers.memory(30, "gmres")
    eight = permjax.solvers.memory(30, "gmres", batch=8)
    assert abs(eight.device - 8 * one.device) <= 8 and eight.host == one.host  # arrays per point; one executable
    monkeypatch.setattr(resources, "_host_available", lambda: int(one.total + 2 * one.device))
    grid = permjax.grid(Gamma=np.linspace(1, 2, 8), h=0.5)
    with pytest.raises(InsufficientMemoryError, match="8 points at once"):
        permjax.sweep_finite(30, grid, method="gmres", progress=False)


def test_memory_check_on_an_accelerator(monkeypatch):
    """On a GPU the arrays are compared with the device's free memory (memory_stats)."""
    import jax

    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(resources, "available_memory", lambda backend=None: (int(1e6), int(1e12), "GPU memory"))
    with pytest.raises(InsufficientMemoryError, match="GPU memory"):
        resources.check_memory(60, permjax.solvers.GMRES().memory)
    monkeypatch.setattr(resources, "available_memory", lambda backend=None: (int(1e12), int(1e12), "GPU memory"))
    assert resources.check_memory(60, permjax.solvers.GMRES().memory) is not None


def test_available_memory_reads_meminfo():
    free, host, where = resources.available_memory("cpu")
    with open("/proc/meminfo") as f:
        total = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))
    assert free == host and 0 < host <= total and "host" in where


_MEASURE = textwrap.dedent("""
    import json, sys
    def rss(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    import jax, permjax
    from permjax.solvers import memory as steady_state_memory
    method, N, h, block = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    if block == "symmetric":  # the boundary time crystal without local jumps, drive h
        model = permjax.BTC(kappa=1.0, omega=h, gamma_phi=0.0, gamma_down=0.0)
    else:
        model = permjax.LMG(3.0, h, 1.68, 1.0)
    warm = permjax.steady_state(3, model, method=method, block=block)  # runtime up
    jax.block_until_ready(warm.blocks)
    with open("/proc/self/clear_refs", "w") as f:  # VmHWM := VmRSS, so the warm-up's peak is not counted
        f.write("5")
    base = rss("VmRSS")
    st = permjax.steady_state(N, model, method=method, block=block)
    jax.block_until_ready(st.blocks)
    est = steady_state_memory(N, method, block=block).total
    print(json.dumps({"measured": rss("VmHWM") - base, "estimate": est}))
""")


@pytest.mark.slow
@pytest.mark.parametrize("method,N,h,block", [("cgls", 40, 0.5, "all"), ("rates", 800, 0.0, "all"),
                                              ("direct", 300, 0.3, "symmetric"), ("jblock", 40, 0.5, "all")])
def test_estimate_bounds_measured_peak_memory(method, N, h, block):
    """Peak resident memory (VmHWM, reset after a warm-up at N = 3) a fresh process adds during
    the solve: the estimate is above it (it is a bound to refuse on). For the rates (host arrays
    dominate: 239–244 MB measured vs 327 MB estimated at N = 800) it is also within a factor 2 of
    it. For CGLS at N = 40 the peak is XLA's compile-time memory, which varies by up to 2x
    between identical fresh processes (33–66 MB measured on a 2-core CPU vs 72 MB estimated), so
    only the bound is asserted there; GMRES, slower to compile, is measured in
    benchmarks/memory.py (244 MB vs 293 MB at N = 40). The symmetric block's sparse LU: a bound
    (the estimate adds 0.5 GB for the runtime, counted here in the warm-up). The J-block method's
    host arrays (sparse L, block factors, scipy's basis): a bound."""
    r = subprocess.run([sys.executable, "-c", _MEASURE, method, str(N), str(h), block], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr[-2000:]
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    assert rec["measured"] <= rec["estimate"], rec
    if method == "rates":
        assert rec["estimate"] <= 2.0 * rec["measured"], rec


# --- finding 4: the figure cache is validated ------------------------------------------------


def test_bad_cache_entries_are_recomputed_with_a_warning(tmp_path):
    spec = figures.figure_spec("2", quick=True)
    keys = [p.key for p in spec.points]
    good = {p.key: float(permjax.mi_ground(p.N, p.J, p.h)) for p in spec.points}
    cache = tmp_path / "fig2_quick.cache.jsonl"
    bad = [
        [1, 2],
        {"key": keys[0], "mi_per_N": "garbage", "seconds": 0},
        {"key": keys[1], "mi_per_N": float("nan"), "seconds": 0},
        {"key": keys[2], "mi_per_N": True, "seconds": 0},
        {"key": keys[3], "mi_per_N": 5.0, "seconds": 0},
        {"key": keys[4], "mi_per_N": 0.1, "seconds": -1},
        {"key": keys[5], "seconds": 0},
        "a string",
    ]
    ok = [{"key": k, "mi_per_N": good[k], "seconds": 0.5} for k in keys[6:]]
    dup = [{"key": keys[6], "mi_per_N": good[keys[6]], "seconds": 0.25}]
    with open(cache, "w") as f:
        for rec in bad + ok + dup:
            f.write(json.dumps(rec) + "\n")
        f.write('{"key": "torn')  # an unfinished last line
    with pytest.warns(UserWarning) as record:
        res = figures.make_figure("2", out_dir=str(tmp_path), quick=True, progress=False)
    messages = [str(w.message) for w in record]
    for needle in ("not a JSON object", "'garbage' is not a number", "nan is not a finite", "True is not a number",
                   "5.0 is not a finite number", "seconds = -1", "None is not a number"):
        assert any(needle in m for m in messages), (needle, messages)
    assert res.n_cached == len(keys) - 6
    rows = figures.read_csv(res.csv)
    assert [r["mi_per_N"] for r in rows] == pytest.approx([good[k] for k in keys], abs=1e-13)
    assert rows[6]["seconds"] == 0.5  # the first valid record of a key wins
    # a rerun takes every point from the cache; only the lines without a key are reported again
    with pytest.warns(UserWarning) as again:
        res = figures.make_figure("2", out_dir=str(tmp_path), quick=True, progress=False)
    assert res.n_cached == len(keys) and len(again) == 3
    assert all(str(w.message).endswith("; ignored") for w in again)
    # the cache now holds one valid record for every point (bad lines without a key still warn)
    with pytest.warns(UserWarning) as record:
        valid = figures.load_cache(str(cache))
    assert sorted(str(w.message).split(": bad cache line ")[1][:12] for w in record) == ["(not JSON (U", "(not a JSON ", "(not a JSON "]
    assert set(valid) == set(keys) and all(figures.check_record(valid[k], k) is None for k in keys)


# --- finding 5: concurrent runs, atomic outputs ----------------------------------------------


def test_two_concurrent_figure_runs_compute_each_point_once(tmp_path):
    cmd = [sys.executable, "-m", "permjax", "figure", "2", "--quick", "--out", str(tmp_path), "--json", "--quiet"]
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    recs = [json.loads(o[0]) for o in outs]
    n = len(figures.figure_spec("2", quick=True).points)
    computed = sum(r["n_points"] - r["n_cached"] for r in recs)
    assert computed == n  # every point computed by exactly one of the two runs
    with open(tmp_path / "fig2_quick.cache.jsonl") as f:
        lines = f.read().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == n == len(set(keys))  # one whole line per point, no duplicates
    assert not [x for x in os.listdir(tmp_path) if x.endswith(".tmp")]


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_write(path) as f:
            f.write("new, half")
            raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]
    with files.atomic_write(path) as f:
        f.write("new\n")
    assert path.read_text() == "new\n"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~files._umask())


def test_append_log_locks_between_processes(tmp_path):
    """A claim held by one process is a POSIX lock another process cannot take until released."""
    log = files.AppendLog(tmp_path / "c.jsonl")
    assert log.claim("a")
    probe = textwrap.dedent(f"""
        import fcntl, os
        fd = os.open({str(tmp_path / 'c.jsonl')!r}, os.O_RDWR)
        def free(offset):
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                return True
            except OSError:
                return False
        print(free({files.AppendLog._byte("a")}), free({files.AppendLog._byte("b")}))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["False", "True"]
    log.release("a")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["True", "True"]
    log.append({"key": "x"})
    with open(tmp_path / "c.jsonl", "a") as f:
        f.write('{"key": "tor')  # a torn tail: the next append starts on a new line
    log.append({"key": "y"})
    got = log.read_new()
    assert [r for _, r, e in got if e is None] == [{"key": "x"}, {"key": "y"}] and len(got) == 3
    log.close()


def test_sweep_outputs_are_written_atomically(tmp_path, monkeypatch):
    res = permjax.sweep(permjax.mi_thermo_analytic, {"Gamma": [1.5, 2.0], "h": 0.0}, progress=False)
    csv_path, json_path = tmp_path / "s.csv", tmp_path / "s.json"
    res.to_csv(csv_path)
    res.to_json(json_path)
    before = (csv_path.read_bytes(), json_path.read_bytes())

    def broken(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", broken)
    with pytest.raises(KeyboardInterrupt):
        res.to_json(json_path)
    assert (csv_path.read_bytes(), json_path.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["s.csv", "s.json"]


# --- finding 6: messages -----------------------------------------------------------------------


def test_negative_values_after_flags():
    argv = _join_negative_values(["sweep", "--J", "-3,-1", "--h", "-1e-3", "--Gamma", "-.5:2:3", "--quiet"])
    assert argv == ["sweep", "--J=-3,-1", "--h=-1e-3", "--Gamma=-.5:2:3", "--quiet"]
    args = build_parser().parse_args(argv)
    assert list(args.J) == [-3.0, -1.0] and args.h == -1e-3 and list(args.Gamma) == [-0.5, 0.75, 2.0]
    assert _join_negative_values(["ground", "--J=-2", "-h"]) == ["ground", "--J=-2", "-h"]


def test_negative_Gamma_reaches_the_model_check(capsys):
    assert "Gamma" in one_line_error(capsys, ["sweep", "--Gamma", "-1,2"])


def test_tolerance_below_float64(capsys):
    line = one_line_error(capsys, ["finite", "--N", "4", "--tol", "1e-30"])
    assert "below what float64 can reach" in line and "1e-14" in line
    with pytest.raises(ValueError, match="below what float64 can reach"):
        permjax.steady_state(4, MODEL, tol=1e-30)


@pytest.mark.parametrize("sub", ["finite", "sweep", "optimize"])
@pytest.mark.parametrize("N", ["0", "1"])
def test_finite_N_minimum_is_stated_once(capsys, sub, N):
    assert one_line_error(capsys, [sub, "--N", N]).endswith(f"argument --N: must be >= 2, got {N}")


def test_ground_N_minimum(capsys):
    assert one_line_error(capsys, ["ground", "--N", "0"]).endswith("must be >= 1, got 0")


def test_ctrl_c_and_sigterm_messages(capsys, monkeypatch):
    import permjax.solvers as dicke

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(dicke, "steady_state", interrupt)
    code, _, err = run(capsys, "finite", "--N", "4")
    assert code == 130 and err.strip() == "permjax: interrupted"

    def terminate(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not interrupt")

    monkeypatch.setattr(dicke, "steady_state", terminate)
    code, _, err = run(capsys, "finite", "--N", "4")
    assert code == 143 and err.strip() == "permjax: terminated"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored after main


def test_figure_interrupt_message(capsys, monkeypatch, tmp_path):
    def interrupt(point):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "evaluate", interrupt)
    code, _, err = run(capsys, "figure", "2", "--quick", "--out", str(tmp_path), "--quiet")
    assert code == 130 and "finished points are cached in" in err and len(err.strip().splitlines()) == 1


def test_zero_is_never_printed_as_minus_zero(capsys):
    assert _mi_text(-0.0) == "0" and _mi_text(0.25) == "0.25"
    code, out, _ = run(capsys, "ground", "--N", "1", "--h", "0")  # mi_ground(1, -1, 0) is -0.0
    assert code == 0 and "I_M/N     = 0\n" in out
    code, out, _ = run(capsys, "ground", "--N", "1", "--h", "0", "--json")
    assert '"mi_per_N": 0.0' in out
    from permjax.sweep import _fmt

    assert _fmt(np.float64(-0.0)) == "0" and _fmt(-0.0, csv=True) == "0"


def test_warnings_print_as_one_line(capsys, monkeypatch, tmp_path):
    cache = tmp_path / "fig2_quick.cache.jsonl"
    cache.write_text("[1, 2]\n")
    code, _, err = run(capsys, "figure", "2", "--quick", "--out", str(tmp_path), "--quiet")
    assert code == 0
    assert err.strip().splitlines() == [f"permjax: warning: {cache}:1: bad cache line (not a JSON object (list)); ignored"]


# --- finding 7 (options outside the model classes): integers are integers ---------------------


@pytest.mark.parametrize("bad", [2.5, True, "3", float("nan"), 0])
def test_maxiter_must_be_an_integer(bad):
    with pytest.raises(ValueError, match="maxiter must be an integer >= 1"):
        permjax.steady_state(4, MODEL, maxiter=bad)


def test_other_integer_options():
    from permjax.solvers.rates import steady_populations

    with pytest.raises(ValueError, match="chunk_size must be an integer"):
        permjax.sweep(permjax.mi_thermo_analytic, {"Gamma": [1.5, 2.0]}, chunk_size=2.5, progress=False)
    with pytest.raises(ValueError, match="chunk_size must be an integer"):
        permjax.sweep_finite(4, {"Gamma": [1.5, 2.0]}, chunk_size=1.5, progress=False)
    with pytest.raises(ValueError, match="full_below must be an integer"):
        steady_populations(10, MODEL.replace(h=0.0), full_below=7.5)
    with pytest.raises(ValueError, match="steps must be an integer"):
        permjax.maximize(permjax.mi_thermo_analytic, MODEL.replace(h=0.0), bounds={"Gamma": (1.0, 4.0)}, steps=2.5)
    with pytest.raises(ValueError, match="max_N must be an integer"):
        figures.figure_spec("1a", max_N=10.5)
    assert permjax.steady_state(4, MODEL, maxiter=3000.0, method="cgls").diagnostics.converged  # integral float


def test_mi_slack_is_round_off():
    assert figures.check_record({"key": "k", "mi_per_N": -4.4e-16, "seconds": 0}, "k") is None
    assert figures.check_record({"key": "k", "mi_per_N": math.log(2), "seconds": 0}, "k") is None
    assert "not a finite number" in figures.check_record({"key": "k", "mi_per_N": -1e-6, "seconds": 0}, "k")
