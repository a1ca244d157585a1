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
then writes ``fig<NAME>.csv`` and ``fig<NAME>.png`` (each atomically: complete or absent). An
interrupted run resumes where it stopped; every cached value is checked (``check_record``) and a
bad one recomputed with a warning. Concurrent runs on one folder share the work: each point is
computed and cached once, under a lock (``PointCache``, ``files.AppendLog``).
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

from . import interrupt

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
        from .validate import integer

        max_N = integer("max_N", max_N, 1)
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
    from .dicke.groundstate import mi_ground
    from .meanfield import mi_thermo
    from .models.zoo.lmg import LMG, mi_thermo_analytic
    from .solvers import mi_finite

    if point.method == "ground":
        return float(mi_ground(point.N, point.J, point.h))
    model = LMG(J=point.J, h=point.h, Gamma=point.Gamma, gamma=point.gamma)
    if point.method == "thermo_analytic":
        return float(mi_thermo_analytic(model))
    if point.method == "thermo":
        return float(mi_thermo(model).mi)
    if point.method == "finite":
        from .solvers.steady import batch_method

        # a figure's series is many solves at one N: the solver rule for a batch
        return float(mi_finite(point.N, model, method=batch_method(point.N, model)))
    if point.method == "rates":
        from .solvers.rates import mi_rates

        return float(mi_rates(point.N, model))
    raise ValueError(f"unknown method {point.method!r}")


# --- cache, progress ------------------------------------------------------------------------

#: I_M/N lies in [0, ln 2] for qubits; a cached value outside this (by more than round-off) is bad
MI_SLACK = 1e-9


def check_record(rec, key: str) -> str | None:
    """Why the cache record ``rec`` cannot stand for the point ``key`` (``None`` if it can):
    a JSON object with that ``key``, a finite ``mi_per_N`` in [0, ln 2] (± ``MI_SLACK``) and a
    finite ``seconds`` ≥ 0, both numbers (not strings or booleans)."""
    if not isinstance(rec, dict):
        return f"not a JSON object ({type(rec).__name__})"
    if rec.get("key") != key:
        return f"key {rec.get('key')!r} is not {key!r}"
    for name, lo, hi in (("mi_per_N", -MI_SLACK, math.log(2) + MI_SLACK), ("seconds", 0.0, math.inf)):
        v = rec.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"{name} = {v!r} is not a number"
        if not (math.isfinite(v) and lo <= v <= hi):
            return f"{name} = {v!r} is not a finite number in [{lo:g}, {hi:g}]"
    return None


def _record_key(rec):
    key = rec.get("key") if isinstance(rec, dict) else None
    return key if isinstance(key, str) else None


class PointCache:
    """The figure's JSON-lines cache, shared safely by concurrent runs (``files.AppendLog``).

    Only records that pass ``check_record`` count; the first valid record of a key wins
    (duplicates are ignored); a bad line belonging to a wanted point is reported once with
    a ``UserWarning`` and the point is recomputed.
    """

    def __init__(self, path: str, wanted: set[str]):
        from .files import AppendLog

        self.path, self.wanted = path, wanted
        self.log = AppendLog(path)
        self.records: dict[str, dict] = {}

    def refresh(self) -> None:
        """Read the lines appended since the last call. A bad line of a wanted point is
        reported only if no valid record of that point is found (a rerun after the point was
        recomputed is silent); a line without a key always."""
        import warnings

        bad = {}
        for lineno, rec, error in self.log.read_new():
            key = None if rec is None else _record_key(rec)
            if key is not None and key in self.records:
                continue
            if error is None:
                error = check_record(rec, key) if key is not None or not isinstance(rec, dict) else "no string 'key'"
            if error is None:
                self.records[key] = rec
            elif key is None:
                warnings.warn(f"{self.path}:{lineno}: bad cache line ({error}); ignored", UserWarning, stacklevel=2)
            elif key in self.wanted:
                bad.setdefault(key, (lineno, error))
        for key, (lineno, error) in bad.items():
            if key not in self.records:
                warnings.warn(f"{self.path}:{lineno}: bad cache line ({error}); the point is recomputed",
                              UserWarning, stacklevel=2)

    def close(self) -> None:
        self.log.close()


def load_cache(path: str) -> dict[str, dict]:
    """Valid finished points of a JSON-lines cache, by key (bad lines are skipped; those
    without a key with a warning)."""
    if not os.path.exists(path):
        return {}
    cache = PointCache(path, wanted=set())
    try:
        cache.refresh()
        return dict(cache.records)
    finally:
        cache.close()


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
    """Rows for every point of ``spec``, taking finished ones from the cache and appending new ones.

    Safe with concurrent runs on the same cache: a point is computed only under its lock
    (``files.AppendLog.claim``), after re-reading the cache, so each point is computed and
    written once; points another run is computing are waited for at the end.
    """
    cache = PointCache(cache_path, {p.key for p in spec.points})
    bar = Progress(len(spec.points), f"fig {spec.name}", enabled=progress)
    done: dict[str, tuple[dict, bool]] = {}
    try:
        cache.refresh()
        deferred = []
        for p in spec.points:
            interrupt.check()
            if p.key in done:
                continue
            if p.key in cache.records:
                done[p.key] = (cache.records[p.key], True)
                bar.update(cached=True)
            elif cache.log.claim(p.key):
                done[p.key] = _compute_claimed(cache, p)
                bar.update(cached=done[p.key][1])
            else:
                deferred.append(p)  # another run holds it: come back when it is released
        for p in deferred:
            interrupt.check()
            if p.key not in done:
                cache.log.claim(p.key, wait=True)
                done[p.key] = _compute_claimed(cache, p)
                bar.update(cached=done[p.key][1])
    finally:
        cache.close()
    rows = []
    for p in spec.points:
        rec = done[p.key][0]
        rows.append({**dataclasses.asdict(p), "mi_per_N": rec["mi_per_N"], "seconds": rec["seconds"]})
    return rows, sum(1 for p in spec.points if done[p.key][1])


def _compute_claimed(cache: PointCache, p: Point) -> tuple[dict, bool]:
    """Point ``p``, whose lock this process holds: from the cache if another run finished it
    meanwhile, else computed and appended. Releases the lock. Returns (record, from_cache)."""
    try:
        cache.refresh()
        if p.key in cache.records:
            return cache.records[p.key], True
        t0 = time.perf_counter()
        mi = evaluate(p)
        rec = {"key": p.key, **dataclasses.asdict(p), "mi_per_N": mi, "seconds": time.perf_counter() - t0}
        error = check_record(rec, p.key)
        if error is not None:
            raise RuntimeError(f"figure point {p.key}: {error}")
        cache.log.append(rec)
        return rec, False
    finally:
        cache.log.release(p.key)


def write_csv(rows: list[dict], path: str) -> None:
    """The figure's rows as CSV, written atomically (``files.atomic_write``)."""
    from .files import atomic_write

    with atomic_write(path, newline="") as f:
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
    _save_png(fig, path)


def _save_png(fig, path: str) -> None:
    """Write ``fig`` to ``path`` as PNG, atomically (``files.atomic_write``), and close it."""
    import matplotlib.pyplot as plt

    from .files import atomic_write

    try:
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


def make_figure(
    name: str, out_dir: str = "figures", quick: bool = False, progress: bool = True, max_N: int | None = None
) -> FigureResult:
    """Compute (or resume) figure ``name``, write ``out_dir/fig<name>.csv`` and ``.png``."""
    from .files import check_output_dir

    spec = figure_spec(name, quick, max_N)
    check_output_dir(out_dir)
    stem = os.path.join(out_dir, f"fig{name}" + ("_quick" if quick else ""))
    t0 = time.perf_counter()
    rows, n_cached = compute_points(spec, stem + ".cache.jsonl", progress=progress)
    write_csv(rows, stem + ".csv")
    plot(spec, rows, stem + ".png")
    return FigureResult(name, quick, stem + ".png", stem + ".csv", rows, len(rows), n_cached, time.perf_counter() - t0)


# --- the Husimi function at finite N with the mean-field attractors --------------------------

#: the drawn grid (θ, φ): 4° apart, poles and φ = ±180° included
HUSIMI_GRID = (46, 91)
PROJECTIONS = ("equirectangular", "mollweide")


def husimi_figure(model, N: int, out_dir: str = "figures", stem: str | None = None, grid=HUSIMI_GRID,
                  basin_grid=None, projection: str = "equirectangular", method: str = "auto",
                  source: str | None = None) -> dict:
    """Q(θ, φ) = Σ_J Q_J of the finite-N steady state (``dicke.husimi``) as a map, with the
    mean-field attractors drawn as their directions m/|m| (points: fixed points; curves: rings and
    cycles) and their basin weights (``phase_space.basin_weights``) in the legend.

    Writes ``out_dir/stem.png``, ``stem.csv`` (θ, φ, Q on the drawn ``grid`` = (n_θ, n_φ), uniform
    in θ ∈ [0, π] and φ ∈ [−π, π]) and ``stem.json`` (N, the model, ⟨m⟩, ∫ Q dΩ − 1 on the exact
    quadrature grid, the attractors with their samples and weights, timings); ``stem`` defaults to
    ``husimi_<family>_N<N>``. ``basin_grid`` = (n_θ, n_φ) of the basin weights (default theirs);
    ``source``: where the model came from (recorded). Returns the JSON record.
    """
    import jax.numpy as jnp

    from .dicke import magnetization
    from .dicke.husimi import husimi, husimi_grid
    from .files import atomic_write, check_output_dir
    from .models.parameters import point_name, values
    from .models.pimodel import as_model
    from .meanfield import mi_thermo
    from .phase_space import basin_weights
    from .solvers import steady_state
    from .validate import integer

    n_theta, n_phi = (integer(f"grid {k}", v, 2) for k, v in zip(("n_theta", "n_phi"), grid))
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {', '.join(PROJECTIONS)}, got {projection!r}")
    if as_model(model).d != 2:
        raise ValueError(f"the Husimi figure is for qubits (d = 2), got d = {as_model(model).d}")
    check_output_dir(out_dir)
    stem = stem or f"husimi_{point_name(model).lower()}_N{N}".replace("(", "").replace(")", "").replace("=", "")
    t0 = time.perf_counter()
    state = steady_state(N, model, method=method)
    t1 = time.perf_counter()
    theta = np.linspace(0.0, np.pi, n_theta)
    phi = np.linspace(-np.pi, np.pi, n_phi)
    Q = np.asarray(husimi(state, jnp.asarray(theta)[:, None], jnp.asarray(phi)[None, :]))
    exact = husimi_grid(state)
    norm_error = float(jnp.sum(exact.Q * exact.weights)) - 1.0
    t2 = time.perf_counter()
    bw = basin_weights(state, model, *(basin_grid or (None, None)))
    t3 = time.perf_counter()
    thermo = mi_thermo(model)
    orbits = [{k: v for k, v in o.items() if k != "starts"} for o in thermo.attractors()]
    t4 = time.perf_counter()
    m = [float(v) for v in np.asarray(magnetization(state))]
    paths = {k: os.path.join(out_dir, f"{stem}.{k}") for k in ("png", "csv", "json")}
    record = {"N": int(N), "family": point_name(model), "model": values(model), "terms": as_model(model).describe().splitlines(),
              "source": source, "m": m, "normalisation_error": norm_error, "grid": [n_theta, n_phi],
              "Q_max": float(Q.max()), **{k: v for k, v in bw.as_dict().items() if k != "seconds"},
              "mi_thermo": {"mi": _finite_or_none(thermo.mi), "kind": thermo.kind_name, "orbits": orbits},
              "seconds": {"steady_state": t1 - t0, "husimi": t2 - t1, "basins": t3 - t2, "mi_thermo": t4 - t3},
              "png": paths["png"], "csv": paths["csv"], "json": paths["json"]}
    with atomic_write(paths["csv"], newline="") as f:
        w = csv.writer(f)
        w.writerow(("theta", "phi", "Q"))
        for i, th in enumerate(theta):
            for k, ph in enumerate(phi):
                w.writerow((f"{th:.10g}", f"{ph:.10g}", f"{Q[i, k]:.10g}"))
    _plot_husimi(record, theta, phi, Q, paths["png"], projection)
    record["seconds"]["total"] = time.perf_counter() - t0
    with atomic_write(paths["json"]) as f:
        json.dump(record, f, indent=1)
    return record


def _finite_or_none(x):
    v = float(x)
    return v if math.isfinite(v) else None


def _direction(samples):
    """(longitude φ, latitude 90° − θ) in radians of m/|m| for each sample (K, 3)."""
    s = np.asarray(samples, dtype=float)
    r = np.linalg.norm(s, axis=-1)
    return np.arctan2(s[:, 1], s[:, 0]), np.arcsin(np.clip(s[:, 2] / np.where(r > 0, r, 1.0), -1, 1))


def _seam_segments(lon, lat):
    """A curve of (longitude, latitude) samples split where it crosses the seam φ = ±π, each piece
    ending (and the next starting) on the seam at the interpolated latitude, longitudes in [−π, π]."""
    lon = np.unwrap(lon)
    side = np.floor((lon + np.pi) / (2 * np.pi))  # which copy of [−π, π) each sample lies in
    pieces = []
    x, y = [lon[0]], [lat[0]]
    for i in range(1, len(lon)):
        if side[i] != side[i - 1]:
            edge = -np.pi + 2 * np.pi * max(side[i], side[i - 1])
            t = (edge - lon[i - 1]) / (lon[i] - lon[i - 1])
            y_edge = lat[i - 1] + t * (lat[i] - lat[i - 1])
            pieces.append((np.append(x, edge) - 2 * np.pi * side[i - 1], np.append(y, y_edge)))
            x, y = [edge], [y_edge]
        x.append(lon[i])
        y.append(lat[i])
    pieces.append((np.asarray(x) - 2 * np.pi * side[-1], np.asarray(y)))
    return pieces


def _plot_husimi(record: dict, theta, phi, Q, path: str, projection: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    moll = projection == "mollweide"
    fig = plt.figure(figsize=(7.2, 4.4 if moll else 4.6), dpi=120)
    ax = fig.add_subplot(111, projection="mollweide" if moll else None)
    # radians on the Mollweide axes, degrees on the plain map
    scale = 1.0 if moll else 180 / np.pi
    lat = np.pi / 2 - np.asarray(theta)
    mesh = ax.pcolormesh(np.asarray(phi) * scale, lat * scale, Q, shading="gouraud", cmap="magma", rasterized=True)
    fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02, label="Q(θ, φ)")
    colors = ["#4dd0e1", "#76ff03", "#ffea00", "#ff80ab", "#b388ff", "#ffffff"]
    for k, a in enumerate(record["attractors"]):
        c = colors[k % len(colors)]
        mean = a["mean"]
        label = (f"{a['kind']} ({mean[0]:.3f}, {mean[1]:.3f}, {mean[2]:.3f})"
                 f"{'' if a['stable'] in (None, True) else ' unstable'}: weight {a['weight']:.4f}")
        s = np.asarray(a["samples"])
        if np.all(np.linalg.norm(s, axis=-1) < 1e-9):
            ax.plot([], [], " ", label=label + " (at m = 0: no direction)")
            continue
        lon, la = _direction(s)
        if a["kind"] == "fixed point":
            ax.plot(lon * scale, la * scale, "o", ms=7, mfc=c, mec="black", mew=0.8, label=label, zorder=4)
            continue
        if a["kind"] in ("ring", "cycle"):  # closed curves
            lon, la = np.append(lon, lon[0]), np.append(la, la[0])
        for i, (x, y) in enumerate(_seam_segments(lon, la)):
            ax.plot(x * scale, y * scale, "-", color=c, lw=2.0, label=label if i == 0 else None, zorder=4)
    lon, la = _direction(np.asarray([record["m"]]))
    if np.linalg.norm(record["m"]) > 1e-9:
        ax.plot(lon * scale, la * scale, "X", ms=8, mfc="white", mec="black", mew=0.8, zorder=5,
                label=f"finite-N ⟨m⟩ = ({', '.join(f'{v:.3f}' for v in record['m'])})")
    if not moll:
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_xticks(range(-180, 181, 60))
        ax.set_yticks(range(-90, 91, 30))
        ax.set_xlabel("φ (degrees)")
        ax.set_ylabel("latitude 90° − θ (degrees)")
    else:
        ax.set_xticks(np.radians(np.arange(-120, 121, 60)))
        ax.tick_params(axis="x", colors="white", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
    ax.grid(alpha=0.25)
    ax.set_title(f"Husimi Q of the steady state at N = {record['N']}, with the mean-field attractors as m/|m|\n"
                 + _husimi_title(record), fontsize=8, pad=16 if moll else 6)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.13 if not moll else -0.04), ncol=1,
              frameon=False)
    _save_png(fig, path)


def _husimi_title(record: dict) -> str:
    """The model's name (or file) and its parameter values, wrapped at about 100 characters, and
    mi_thermo's N → ∞ value."""
    import textwrap

    vals = ", ".join(f"{k} = {v:g}" for k, v in record["model"].items() if isinstance(v, float))
    name = record["family"] if record["source"] is None else os.path.basename(record["source"])
    th = record["mi_thermo"]
    mi = "undetermined" if th["mi"] is None else f"{th['mi']:.4f}"
    return "\n".join(textwrap.wrap(f"{name}: {vals}", 100) + [f"N → ∞ (mi_thermo): I_M/N = {mi}, {th['kind']}"])
