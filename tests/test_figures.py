"""``permjax figure NAME --quick``: PNG + CSV whose numbers are those of direct API calls; cache/resume; progress."""

import io
import json
import math
import os

import numpy as np
import pytest

import permjax
from permjax import figures
from permjax.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_figure(name, out_dir, capsys):
    rc = main(["figure", name, "--quick", "--out", str(out_dir), "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def check_outputs(rec, name):
    with open(rec["png"], "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert os.path.getsize(rec["png"]) > 5000
    rows = figures.read_csv(rec["csv"])
    spec = figures.figure_spec(name, quick=True)
    assert len(rows) == rec["n_points"] == len(spec.points)
    assert [(r["series"], r["x"]) for r in rows] == [(p.series, p.x) for p in spec.points]
    return rows


def test_figure_2_quick(tmp_path, capsys):
    rec = run_figure("2", tmp_path, capsys)
    rows = check_outputs(rec, "2")
    assert rec["n_cached"] == 0
    # every number equals a direct mi_ground call (a subset, every N)
    for r in rows[::5]:
        assert r["mi_per_N"] == pytest.approx(float(permjax.mi_ground(r["N"], r["J"], r["h"])), abs=1e-13)
    # Fig. 2: even N start at ln 2, decay with h, faster for larger N
    by_N = {}
    for r in rows:
        by_N.setdefault(r["N"], []).append(r["mi_per_N"])
    for N, ys in by_N.items():
        assert ys[0] == pytest.approx(math.log(2), abs=1e-5) and ys[-1] < 0.01
    Ns = sorted(by_N)
    mid = len(by_N[Ns[0]]) // 2
    assert by_N[Ns[0]][mid] > by_N[Ns[1]][mid] > by_N[Ns[2]][mid]

    # resume: a second run takes everything from the cache and writes the same CSV
    with open(rec["csv"]) as f:
        first = f.read()
    again = run_figure("2", tmp_path, capsys)
    assert again["n_cached"] == again["n_points"]
    with open(rec["csv"]) as f:
        assert f.read() == first

    # an interrupted run (last points missing, a torn line) recomputes only what is missing
    cache = os.path.join(tmp_path, "fig2_quick.cache.jsonl")
    with open(cache) as f:
        lines = f.readlines()
    with open(cache, "w") as f:
        f.writelines(lines[:-4])
        f.write(lines[-4][:20])
    again = run_figure("2", tmp_path, capsys)
    assert again["n_cached"] == again["n_points"] - 4
    rows2 = figures.read_csv(rec["csv"])
    assert [r["mi_per_N"] for r in rows2] == [r["mi_per_N"] for r in rows]


def _needs(attr):
    if not hasattr(permjax, attr):
        pytest.skip(f"permjax.{attr} is not available yet")


def test_figure_1a_quick(tmp_path, capsys):
    _needs("mi_finite")
    rec = run_figure("1a", tmp_path, capsys)
    rows = check_outputs(rec, "1a")
    line = [r for r in rows if r["N"] is None]
    # the N → ∞ line is Eq. 18, written out here independently
    for r in line:
        G, g = r["Gamma"], r["gamma"]
        b = lambda x: -(1 + x) / 2 * math.log((1 + x) / 2) - ((1 - x) / 2 * math.log((1 - x) / 2) if x < 1 else 0.0)  # noqa: E731
        want = b(g / G) - b(math.sqrt((g / G) ** 2 + 2 * g * (G - g) / G**2)) if G > g else 0.0
        assert r["mi_per_N"] == pytest.approx(want, abs=1e-13)
    from permjax.solvers.rates import mi_rates

    for r in [r for r in rows if r["N"] is not None][::4]:
        model = permjax.LMG(J=r["J"], h=r["h"], Gamma=r["Gamma"], gamma=r["gamma"])
        assert r["mi_per_N"] == pytest.approx(float(mi_rates(r["N"], model)), abs=1e-13)
        if r["N"] == 4:  # and the full Dicke-basis solver, an independent method, agrees
            assert r["mi_per_N"] == pytest.approx(float(permjax.mi_finite(4, model, method="cgls")), abs=1e-10)


def test_figure_1b_quick(tmp_path, capsys):
    _needs("mi_finite")
    _needs("mi_thermo")
    rec = run_figure("1b", tmp_path, capsys)
    rows = check_outputs(rec, "1b")
    for r in rows[::4]:
        model = permjax.LMG(J=r["J"], h=r["h"], Gamma=r["Gamma"], gamma=r["gamma"])
        direct = permjax.mi_thermo(model).mi if r["N"] is None else permjax.mi_finite(r["N"], model)
        assert r["mi_per_N"] == pytest.approx(float(direct), abs=1e-12)


def test_progress_bar_counts_and_eta():
    buf = io.StringIO()
    bar = figures.Progress(5, "fig x", stream=buf)
    for i in range(5):
        bar.update(cached=i < 2)
    text = buf.getvalue()
    assert "5/5 points" in text and "ETA 0:00:00" in text  # not a tty: final line always written
    assert bar.computed == 3
    silent = io.StringIO()
    quiet = figures.Progress(3, "fig x", enabled=False, stream=silent)
    for _ in range(3):
        quiet.update()
    assert silent.getvalue() == ""


def test_unknown_figure_name():
    with pytest.raises(ValueError, match="unknown figure"):
        figures.figure_spec("3")


def test_full_specs_use_the_papers_sizes():
    Ns = lambda name: sorted({p.N for p in figures.figure_spec(name).points if p.N is not None})  # noqa: E731
    assert Ns("1a") == [10, 20, 40, 100, 200, 400]
    assert Ns("1b") == [10, 20, 40, 80, 160]
    assert {p.h for p in figures.figure_spec("1b").points} == {0.5}
    xs = np.array([p.Gamma for p in figures.figure_spec("1a").points])
    assert xs.min() == 0.0 and xs.max() == 4.0
    capped = figures.figure_spec("1b", max_N=40)
    assert sorted({p.N for p in capped.points if p.N is not None}) == [10, 20, 40]
    assert sum(p.N is None for p in capped.points) == sum(p.N is None for p in figures.figure_spec("1b").points)
