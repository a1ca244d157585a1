"""The paper's figures, one call (or one ``permjax figure NAME``) each: data, CSV, PNG.

* ``1a`` — Fig. 1(a): I_M/N against Γ/γ at h = 0, 𝒥 = 3γ. Line: N → ∞, Eq. 18
  (``mi_thermo_analytic``); points: exact finite N (h = 0 rate equations, ``mi_rates``), N = 10 … 400.
* ``1b`` — Fig. 1(b): the same at h = 0.5γ. Line: N → ∞ from the attractor (Eq. 13,
  ``mi_thermo``); points: finite N = 10 … 160.
* ``2``  — Fig. 2: ground-state I_M/N = b(|m|) (Eq. 33, ``mi_ground``) against h for several N,
  log-scaled h. The paper does not state 𝒥; we use 𝒥 = -1. Nothing is lost: H/|𝒥| depends on
  h/|𝒥| only, so the ground state for another 𝒥 < 0 is this curve at h/|𝒥|.

A figure is a list of ``Point`` tasks. ``make_figure`` evaluates those not yet in the output
folder's cache (``fig<NAME>.cache.jsonl``, one JSON line per finished point, appended as it
finishes, keyed by method, N and the four parameters), shows a progress bar with ETA on stderr,
then writes ``fig<NAME>.csv`` and ``fig<NAME>.png``. An interrupted run resumes where it stopped.
``quick=True`` uses small N and few points (under a minute, for tests and notebooks).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

NAMES = ("1a", "1b", "2")
CSV_FIELDS = ("series", "method", "N", "J", "h", "Gamma", "gamma", "x", "mi_per_N", "seconds")


@dataclasses.dataclass(frozen=True)
class Point:
    """One number of a figure: I_M/N by ``method`` at N (None: N → ∞) and (𝒥, h, Γ, γ).

    ``method``: "thermo_analytic" (Eq. 18), "thermo" (Eq. 13), "finite" (exact steady state,
    ``mi_finite``), "rates" (the same at h = 0 from the rate equations, Eqs. 30-32,
    ``dicke.rates.mi_rates``: N = 400 in a fraction of a second), "ground" (Eq. 33). ``series`` labels the curve; ``x`` is the abscissa plotted.
    """

    method: str
    N: int | None
    J: float
    h: float
    Gamma: float
    gamma: float
    series: str
    x: float

    @property
    def key(self) -> str:
        return f"{self.method}|{self.N}|{self.J!r}|{self.h!r}|{self.Gamma!r}|{self.gamma!r}"


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    name: str
    title: str
    xlabel: str
    xscale: str
    points: tuple[Point, ...]


# --- what each figure contains ---------------------------------------------------------------


def _gammas(count: int) -> list[float]:
    return [round(float(g), 10) for g in np.linspace(0.0, 4.0, count)]


def _fig1(name: str, h: float, line_method: str, point_method: str, Ns, n_line: int, n_points: int) -> FigureSpec:
    J, gamma = 3.0, 1.0
    pts = [Point(line_method, None, J, h, G, gamma, "N = ∞", G) for G in _gammas(n_line)]
    for N in Ns:
        pts += [Point(point_method, N, J, h, G, gamma, f"N = {N}", G) for G in _gammas(n_points)]
    return FigureSpec(
        name=name,
        title=f"Fig. 1({name[-1]}): $\\mathcal{{J}}$ = 3γ, " + (f"h = {h:g}γ" if h else "h = 0"),
        xlabel="Γ/γ",
        xscale="linear",
        points=tuple(pts),
    )


def _fig2(Ns, hs) -> FigureSpec:
    pts = [Point("ground", N, -1.0, float(h), 0.0, 1.0, f"N = {N}", float(h)) for N in Ns for h in hs]
    return FigureSpec(name="2", title="Fig. 2: ground state, $\\mathcal{J} = -1$", xlabel="$h/|\\mathcal{J}|$", xscale="log", points=tuple(pts))


def figure_spec(name: str, quick: bool = False, max_N: int | None = None) -> FigureSpec:
    """The points of figure ``name`` ∈ {"1a", "1b", "2"} (full: the paper's N; quick: small N).

    ``max_N`` drops the finite-N series above it (e.g. Fig. 1b at N = 160 takes hours on a CPU).
    """
    spec = _figure_spec(name, quick)
    if max_N is not None:
        kept = tuple(p for p in spec.points if p.N is None or p.N <= max_N)
        spec = dataclasses.replace(spec, points=kept)
    return spec


def _figure_spec(name: str, quick: bool) -> FigureSpec:
    if name == "1a":
        if quick:
            return _fig1(name, 0.0, "thermo_analytic", "rates", (4, 8), n_line=81, n_points=9)
        return _fig1(name, 0.0, "thermo_analytic", "rates", (10, 20, 40, 100, 200, 400), n_line=401, n_points=21)
    if name == "1b":
        if quick:
            return _fig1(name, 0.5, "thermo", "finite", (4, 8), n_line=9, n_points=9)
        return _fig1(name, 0.5, "thermo", "finite", (10, 20, 40, 80, 160), n_line=81, n_points=21)
    if name == "2":
        if quick:
            return _fig2((6, 12, 200), np.logspace(-7, 1, 17))  # 6 and 12 share a compiled size
        return _fig2((10, 20, 50, 100, 200, 500, 1000, 2000), np.logspace(-7, 1, 49))
    raise ValueError(f"unknown figure {name!r}; choose one of {', '.join(NAMES)}")


# --- evaluating one point --------------------------------------------------------------------


def evaluate(point: Point) -> float:
    """I_M/N at ``point`` by a direct call of the public API (what the CSV must agree with)."""
    import permjax

    if point.method == "ground":
        return float(permjax.mi_ground(point.N, point.J, point.h))
    model = permjax.LMG(J=point.J, h=point.h, Gamma=point.Gamma, gamma=point.gamma)
    if point.method == "thermo_analytic":
        return float(permjax.mi_thermo_analytic(model))
    if point.method == "thermo":
        return float(permjax.mi_thermo(model).mi)
    if point.method == "finite":
        from .dicke.solve import batch_method

        # a figure's series is many solves at one N: the solver rule for a batch
        return float(permjax.mi_finite(point.N, model, method=batch_method(point.N, model)))
    if point.method == "rates":
        from .dicke.rates import mi_rates

        return float(mi_rates(point.N, model))
    raise ValueError(f"unknown method {point.method!r}")


# --- cache, progress ------------------------------------------------------------------------


def load_cache(path: str) -> dict[str, dict]:
    """Finished points from a JSON-lines cache (a torn last line from an interruption is skipped)."""
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                out[rec["key"]] = rec
    return out


class Progress:
    """A one-line progress bar on stderr: points done / total, elapsed, ETA (from computed points)."""

    def __init__(self, total: int, label: str, enabled: bool = True, stream=None):
        self.total, self.label, self.enabled = total, label, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.done = self.computed = 0
        self._last = -math.inf

    def update(self, cached: bool = False) -> None:
        self.done += 1
        self.computed += not cached
        now = time.perf_counter()
        final = self.done == self.total
        if not self.enabled or (not self.tty and not final and now - self._last < 2.0):
            return
        self._last = now
        elapsed = now - self.t0
        left = self.total - self.done
        eta = elapsed / self.computed * left if self.computed else 0.0
        width = 24
        fill = int(width * self.done / max(self.total, 1))
        line = (
            f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} points, "
            f"{_hms(elapsed)} elapsed, ETA {_hms(eta)}"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# --- the whole figure ------------------------------------------------------------------------


@dataclasses.dataclass
class FigureResult:
    name: str
    quick: bool
    png: str
    csv: str
    rows: list[dict]
    n_points: int
    n_cached: int
    seconds: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "quick", "png", "csv", "n_points", "n_cached", "seconds")}


def compute_points(spec: FigureSpec, cache_path: str, progress: bool = True) -> tuple[list[dict], int]:
    """Rows for every point of ``spec``, taking finished ones from the cache and appending new ones."""
    cache = load_cache(cache_path)
    bar = Progress(len(spec.points), f"fig {spec.name}", enabled=progress)
    rows, n_cached = [], 0
    with open(cache_path, "a") as f:
        for p in spec.points:
            rec = cache.get(p.key)
            hit = rec is not None
            if not hit:
                t0 = time.perf_counter()
                mi = evaluate(p)
                rec = {"key": p.key, **dataclasses.asdict(p), "mi_per_N": mi, "seconds": time.perf_counter() - t0}
                f.write(json.dumps(rec) + "\n")
                f.flush()
                cache[p.key] = rec
            n_cached += hit
            rows.append({**dataclasses.asdict(p), "mi_per_N": rec["mi_per_N"], "seconds": rec["seconds"]})
            bar.update(cached=hit)
    return rows, n_cached


def write_csv(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "N": "inf" if r["N"] is None else r["N"]})


def read_csv(path: str) -> list[dict]:
    """Rows of a figure CSV with numbers parsed (N = None for N → ∞)."""
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            r = dict(r)
            r["N"] = None if r["N"] == "inf" else int(r["N"])
            for k in ("J", "h", "Gamma", "gamma", "x", "mi_per_N", "seconds"):
                r[k] = float(r[k])
            out.append(r)
    return out


def plot(spec: FigureSpec, rows: list[dict], path: str) -> None:
    """PNG in the paper's style: N → ∞ as a solid green line, finite N as dots on dotted lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = list(dict.fromkeys(r["series"] for r in rows))
    finite = [s for s in series if s != "N = ∞"]
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, max(len(finite), 1)))
    fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=110)
    for s in series:
        xs = np.array([r["x"] for r in rows if r["series"] == s])
        ys = np.array([r["mi_per_N"] for r in rows if r["series"] == s])
        if s == "N = ∞":
            ax.plot(xs, ys, "-", color="tab:green", lw=2, label="theory, N → ∞", zorder=3)
        elif spec.name == "2":
            ax.plot(xs, ys, "-", color=colors[finite.index(s)], lw=1.4, label=s)
        else:
            ax.plot(xs, ys, "o:", color=colors[finite.index(s)], ms=3, lw=0.8, label=s)
    ax.set_xscale(spec.xscale)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel("$I_M/N$")
    ax.set_title(spec.title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def make_figure(
    name: str, out_dir: str = "figures", quick: bool = False, progress: bool = True, max_N: int | None = None
) -> FigureResult:
    """Compute (or resume) figure ``name``, write ``out_dir/fig<name>.csv`` and ``.png``."""
    spec = figure_spec(name, quick, max_N)
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"fig{name}" + ("_quick" if quick else ""))
    t0 = time.perf_counter()
    rows, n_cached = compute_points(spec, stem + ".cache.jsonl", progress=progress)
    write_csv(rows, stem + ".csv")
    plot(spec, rows, stem + ".png")
    return FigureResult(name, quick, stem + ".png", stem + ".csv", rows, len(rows), n_cached, time.perf_counter() - t0)
