"""benchmarks/common.py, the helpers every benchmark script uses, on trivial work (a few seconds):
the fresh-process runner (result, error, timeout, its environment), the timer, the memory
measurement, the JSON record and the markdown table."""

import json
import os
import sys
import time

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
if BENCHMARKS not in sys.path:
    # last: the scripts' names (memory, general, ...) shadow nothing; kept, since the processes that
    # fresh_process spawns unpickle common's functions by importing it on the same path
    sys.path.append(BENCHMARKS)
import common  # noqa: E402


# run in the fresh processes (module level: picklable; the child imports this module)


def _sleep_timed(seconds):
    t = common.first_and_warm(lambda: time.sleep(seconds), repeats=1)
    return {"first_s": t.first_s, "warm_s": t.warm_s, "pid": os.getpid(), "peak_mb": common.peak_memory_mb(),
            "results": common.RESULTS}


def _raises():
    raise ValueError("no such case")


def _sleeps(seconds):
    time.sleep(seconds)
    return {}


def test_fresh_process_times_a_sleep():
    out = common.fresh_process(_sleep_timed, 0.2, timeout=60)
    assert "error" not in out, out
    assert out["pid"] != os.getpid()
    assert 0.2 <= out["first_s"] < 2.0
    assert 0.2 <= out["warm_s"] < 2.0
    assert out["peak_mb"] > 1.0


def test_fresh_process_environment_redirects_the_results(tmp_path):
    before = os.environ.get("PERMJAX_BENCH_RESULTS")
    out = common.fresh_process(_sleep_timed, 0.0, timeout=60, env={"PERMJAX_BENCH_RESULTS": str(tmp_path)})
    assert out["results"] == str(tmp_path)  # the child's common.py writes there
    assert os.environ.get("PERMJAX_BENCH_RESULTS") == before  # set for the child only


def test_fresh_process_error_and_timeout():
    out = common.fresh_process(_raises, timeout=60)
    assert out["error"] == "ValueError: no such case"
    assert "Traceback" in out["traceback"]
    t0 = time.perf_counter()
    out = common.fresh_process(_sleeps, 30.0, timeout=1.0)
    assert out["timeout"] is True and "timeout after 1 s" == out["error"]
    assert time.perf_counter() - t0 < 15


def test_first_and_warm():
    calls = []
    t = common.first_and_warm(lambda: calls.append(time.sleep(0.05)) or len(calls), repeats=2)
    assert len(calls) == 3 and t.value == 3 and len(t.times) == 3
    assert min(t.times) >= 0.05
    assert t.first_s == t.times[0] and t.best_s == min(t.times[1:])
    assert t.warm_s == pytest.approx(sum(t.times[1:]) / 2)
    assert t.median_s == sorted(t.times)[1]
    one = common.first_and_warm(lambda: 7, repeats=0)
    assert one.value == 7 and len(one.times) == 1 and one.warm_s != one.warm_s  # NaN without warm calls


def test_memory_added():
    with common.memory_added() as mem:
        block = b"\x01" * (64 * 2**20)  # written, so resident
    assert len(block) == 64 * 2**20
    assert mem.mb >= 60, (mem.mb, mem.method)
    assert mem.bytes == mem.kb * 1024


def test_table():
    rows = [{"N": 4, "pj": {"s": 0.12345, "it": 3}, "ratio": 2.0},
            {"N": 8, "pj": {"error": "boom | bang"}, "ratio": None}]
    text = common.table(rows, [("N", "N"), ("s", "pj.s", ".2f"), ("ms", "pj.s", common.ms(1)), ("it", "pj.it"),
                               ("|2r|", lambda r: r["ratio"] * 2, ".1f"), common.errors("pj")])
    assert text.splitlines() == [
        "| N | s | ms | it | \\|2r\\| | errors |",
        "|---|---|---|---|---|---|",
        "| 4 | 0.12 | 123.5 | 3 | 4.0 | — |",
        "| 8 | — | — | — | — | pj: boom \\| bang |",
    ]


def test_write_results_round_trips(tmp_path, monkeypatch):
    np = pytest.importorskip("numpy")
    monkeypatch.setattr(common, "RESULTS", str(tmp_path / "out"))
    record = {"rows": [{"N": 4, "seconds": np.float64(0.25), "mi": np.array([0.5, 0.75])}], "model": {"J": 3.0}}
    path = common.write_results("tiny", record)
    assert path == str(tmp_path / "out" / "tiny.json")
    with open(path) as f:
        back = json.load(f)
    assert back["rows"] == [{"N": 4, "seconds": 0.25, "mi": [0.5, 0.75]}]
    assert back["model"] == {"J": 3.0}
    assert back["machine"]["cpus"] == os.cpu_count() and "jax" in back["machine"]
    assert isinstance(back["command"], str)
    assert "machine" not in record  # the caller's dict is left as it was
    listed = common.write_results("listed", [{"a": 1}])
    with open(listed) as f:
        assert json.load(f)["rows"] == [{"a": 1}]
