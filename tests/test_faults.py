"""Fault test: SIGINT and SIGTERM at random moments (seeded) of ``permjax figure`` and
``permjax sweep --out``, then a rerun; the outputs must equal those of an uninterrupted run.

* figure 1a --quick: each interrupted run exits 130 (SIGINT) or 143 (SIGTERM) with one line and
  no traceback (or 0 if it finished first); the cache holds only whole JSON lines, one per point;
  the rerun resumes and writes a CSV equal to the uninterrupted one (the per-point timing column
  aside) and a byte-identical PNG.
* sweep --out F.json (no resume: one atomic write): after each interruption F is absent or
  complete and equal to the uninterrupted result; no temporary file is left.

The signal is sent after the process has started computing (its first progress line on stderr),
after a delay drawn from ``random.Random(SEED)``: up to 3 s for the figure (its first finite-N
points), up to 1.2 times the reference sweep's progress window for the sweep.
"""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from permjax import figures
from permjax.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT}
SEED = 20251126
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _start(argv):
    return subprocess.Popen([sys.executable, "-m", "permjax", *argv], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _started(proc, marker: str) -> bool:
    """Block until the process prints its first progress line (``marker``) on stderr: it is
    inside ``permjax.cli.main``, computing. False if it ended first."""
    for line in proc.stderr:
        if line.startswith(marker):
            return True
    return False


def _finish(proc, sig):
    """Wait for an interrupted process; check its exit status and its one-line message."""
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    if proc.returncode == 0:
        return "finished first"
    assert proc.returncode == EXIT[sig], (proc.returncode, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("permjax: interrupted" if sig == signal.SIGINT else "permjax: terminated"), err
    return "interrupted"


def _csv_without_timing(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def _check_cache(path, n_points):
    """Whole JSON lines only, each point at most once."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        data = f.read()
    assert not data or data.endswith(b"\n"), "torn last line"
    keys = [json.loads(line)["key"] for line in data.decode().splitlines()]
    assert len(keys) == len(set(keys)) <= n_points
    return len(keys)


@pytest.mark.slow
def test_figure_interrupted_then_resumed(tmp_path, capsys):
    rng = random.Random(SEED)
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["figure", "1a", "--quick", "--out", str(ref), "--quiet"]) == 0
    capsys.readouterr()
    n = len(figures.figure_spec("1a", quick=True).points)
    cache = out / "fig1a_quick.cache.jsonl"
    outcomes = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = _start(["figure", "1a", "--quick", "--out", str(out)])
        if _started(proc, "fig 1a"):
            time.sleep(rng.uniform(0.0, 0.4))  # its 99 points take about 0.6 s after the first line
            proc.send_signal(sig)
        outcomes.append((sig.name, _finish(proc, sig), _check_cache(cache, n)))
    assert any(o[1] == "interrupted" for o in outcomes), outcomes
    assert main(["figure", "1a", "--quick", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert _check_cache(cache, n) == n
    stem = "fig1a_quick"
    assert _csv_without_timing(out / f"{stem}.csv") == _csv_without_timing(ref / f"{stem}.csv")
    assert (out / f"{stem}.png").read_bytes() == (ref / f"{stem}.png").read_bytes()
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    print("figure outcomes (signal, result, cached lines):", outcomes)


@pytest.mark.slow
def test_sweep_out_is_complete_or_absent(tmp_path, capsys):
    rng = random.Random(SEED + 1)
    argv = ["sweep", "--N", "150", "--h", "0", "--Gamma", "0.5:4:24", "--chunk-size", "2"]
    # the uninterrupted reference, timed from its first to its last progress line: the signals
    # below land up to 1.2 times that after the first line, i.e. during the sweep or around the
    # write of the output (the window adapts to the machine's speed)
    ref = tmp_path / "ref.json"
    proc = _start(argv + ["--out", str(ref)])
    stamps = [time.monotonic() for line in proc.stderr if line.startswith("sweep:")]
    window = stamps[-1] - stamps[0]
    assert proc.wait(timeout=300) == 0
    want = json.loads(ref.read_text())["columns"]
    target = tmp_path / "out.json"
    outcomes = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = _start(argv + ["--out", str(target)])
        if _started(proc, "sweep:"):
            time.sleep(rng.uniform(0.0, 1.2) * window)
            proc.send_signal(sig)
        result = _finish(proc, sig)
        if target.exists():  # complete, never torn
            assert json.loads(target.read_text())["columns"] == want
        else:
            assert result == "interrupted"
        outcomes.append((sig.name, result, target.exists()))
        assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp")] == []
    assert main(argv + ["--out", str(target), "--quiet"]) == 0
    capsys.readouterr()
    assert json.loads(target.read_text())["columns"] == want
    print(f"sweep outcomes (signal, result, file present), window {window:.2f} s:", outcomes)
