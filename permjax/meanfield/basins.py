"""Basins of attraction of the mean-field drift (docs/theory.md §3, §6): which attractor each start reaches.

``mean_field_basins(model, points)`` integrates dξ/dt = f(ξ) (``drift``) from every start ξ0
(vmapped diffrax solves) to t_end and samples the late window [t_end − t_window, t_end]. The
windows are then grouped into distinct attractors (numpy, on the host):

* a window that moves less than ``fixed_tol`` ends on a fixed point ξ*. Its growth rate
  g = max Re λ(Df(ξ*)) sorts it: g < −``marginal_tol``: an isolated fixed point, grouped with the
  others by position (within ``merge_tol``) and polished by Newton; |g| ≤ ``marginal_tol``: a point of
  a continuum of fixed points (a zero mode along it, e.g. the superradiant laser's ring at ω = 0);
  g > ``marginal_tol``: an unstable fixed point (a saddle, reached only from an invariant set of
  starts, e.g. a symmetry axis), reported as a fixed point with ``stable=False``.
* Marginal points (coincident ones merged) are joined along the edges of their minimum spanning
  tree whose midpoint, integrated like a start, ends between the edge's ends (within
  ``BETWEEN`` times the edge's length of each): on a curve of fixed points the midpoint of a short
  chord flows back onto the curve between them, while for two separate sets it flows to one of
  them. A connected set of fixed points is one attractor of kind ``"ring"``; its ``samples`` are its
  points ordered by angle about their centroid in their plane of largest extent.
* A moving window is a cycle or another time-dependent attractor. Two are the same attractor when
  their sampled sets are close: the Hausdorff distance between them (each window's points to the
  nearest point of the other) is at most ``set_tol`` plus the larger sample spacing of the two.
  The window of the first start reaching it is kept: kind ``"cycle"`` if it returns to its first
  sample within that tolerance (``samples`` = one turn), else ``"other"`` (chaos, a torus, or a
  window shorter than the period: all of the window).

Times are in units of 1/κ (κ = ``rate_unit(model)``, as ``mi_thermo``'s options). The window must
cover a period of the slowest cycle for the set test to hold.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.pimodel import as_model
from .states import rate_unit
from .drift import DriftPolynomial, drift_polynomial

BETWEEN = 0.75  # a spanning-tree edge of marginal points is kept when its midpoint flows this close to both ends
CHUNK = 2048  # starts per compiled solve at most (padded to a power of two: few compilations)


@dataclasses.dataclass(frozen=True)
class Attractor:
    """One attractor of the drift.

    Attributes:
        kind: ``"fixed point"``, ``"ring"`` (a connected set of fixed points), ``"cycle"`` or
            ``"other"`` (time-dependent, not seen to close within the window).
        samples: (K, n) points along it (K = 1 for a fixed point), for drawing.
        mean: (n,) the mean of ``samples`` (for a cycle: its one-turn sample mean).
        starts: how many starts reached it.
        stable: for an isolated fixed point whether max Re λ(Df) < 0; ``None`` for a marginal one
            (|max Re λ| ≤ ``marginal_tol``), a ring and moving attractors.
        growth: max Re λ(Df) at a fixed point (at a ring's first point); NaN for moving ones.
    """

    kind: str
    samples: np.ndarray
    mean: np.ndarray
    starts: int
    stable: bool | None
    growth: float

    def as_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean.tolist(), "starts": self.starts, "stable": self.stable,
                "growth": None if math.isnan(self.growth) else self.growth, "samples": self.samples.tolist()}


@dataclasses.dataclass(frozen=True)
class Basins:
    """``labels[p]``: the index in ``attractors`` of the attractor start p reached (−1: its solve did
    not finish); ``attractors`` sorted by how many starts reached them; ``final``: ξ(t_end) per start."""

    labels: np.ndarray
    attractors: list
    final: np.ndarray


def _field(t, m, f):
    return f(m)


@functools.partial(jax.jit, static_argnames=("n_window", "max_steps"))
def _solve(f: DriftPolynomial, starts, t_end, t_window, rtol, atol, n_window: int, max_steps: int):
    """Windows (P, n_window, n) of ξ(t), t ∈ [t_end − t_window, t_end], and whether each finished."""
    ts = jnp.linspace(t_end - t_window, t_end, n_window)

    def one(x0):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(_field), diffrax.Tsit5(), 0.0, t_end, None, x0, f,
                                  saveat=diffrax.SaveAt(ts=ts), stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
                                  max_steps=max_steps, throw=False)
        return sol.ys, (sol.result == diffrax.RESULTS.successful) & jnp.all(jnp.isfinite(sol.ys))

    return jax.vmap(one)(starts)


def _hausdorff(a, B):
    """max(sup_a inf_b |a − b|, sup_b inf_a |a − b|) between the window a (K, n) and each of B (P, K, n)."""
    from scipy.spatial import cKDTree

    to_a = cKDTree(a).query(B.reshape(-1, B.shape[-1]))[0].reshape(B.shape[:2]).max(axis=1)
    to_b = np.array([cKDTree(b).query(a)[0].max() for b in B])
    return np.maximum(to_a, to_b)


def _extent(W):
    """Window means (P, n) and the largest distance of each window's samples from its mean (P,)."""
    mean = W.mean(axis=1)
    return mean, np.linalg.norm(W - mean[:, None], axis=-1).max(axis=1)


def _spacing(W):
    """Largest distance between consecutive samples of each window (..., K, n)."""
    return np.linalg.norm(np.diff(W, axis=-2), axis=-1).max(axis=-1)


def _growth(f: DriftPolynomial, x):
    """max Re λ(Df(x)) for each point x (P, n)."""
    jac = np.asarray(f.jacobian(jnp.asarray(x)))
    return np.linalg.eigvals(jac).real.max(axis=-1) if len(x) else np.zeros(0)


def _newton(f: DriftPolynomial, x, steps: int = 8):
    """Newton on f(ξ) = 0 from x (least-squares steps: harmless at a singular Jacobian)."""
    for _ in range(steps):
        dx = np.linalg.lstsq(np.asarray(f.jacobian(jnp.asarray(x))), np.asarray(f(jnp.asarray(x))), rcond=None)[0]
        x = x - dx
        if np.max(np.abs(dx)) < 1e-15:
            break
    return x


def _greedy(P: int, close):
    """Group indices 0 … P−1: the first ungrouped one founds a group, ``close(i, rest)`` (a boolean
    array over ``rest``) says which others join it. Returns the groups' index arrays."""
    left = np.arange(P)
    groups = []
    while len(left):
        near = close(left[0], left)
        near[0] = True
        groups.append(left[near])
        left = left[~near]
    return groups


def _spanning_tree(x):
    """Edges (M − 1, 2) of the Euclidean minimum spanning tree of the points x (M, n) (Prim)."""
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    inside = np.zeros(len(x), bool)
    inside[0] = True
    best, parent = d[0].copy(), np.zeros(len(x), int)
    edges = []
    for _ in range(len(x) - 1):
        k = int(np.argmin(np.where(inside, np.inf, best)))
        edges.append((parent[k], k))
        inside[k] = True
        closer = d[k] < best
        best, parent = np.where(closer, d[k], best), np.where(closer, k, parent)
    return np.array(edges, int).reshape(-1, 2)


def _components(M, edges):
    """Connected components (index arrays) of the graph on M nodes with these edges."""
    root = np.arange(M)

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for a, b in edges:
        root[find(a)] = find(b)
    label = np.array([find(i) for i in range(M)])
    return [np.flatnonzero(label == r) for r in np.unique(label)]


def _ordered_ring(x):
    """Points of a continuum ordered by angle about their centroid in their two principal directions."""
    c = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    u = c @ vt[:2].T if len(vt) > 1 else np.stack([c[:, 0], np.zeros(len(c))], -1)
    return x[np.argsort(np.arctan2(u[:, 1], u[:, 0]))]


def _one_turn(W, tol):
    """The window up to its first return within ``tol`` of W[0] after reaching half its largest
    distance from W[0] (None: no return)."""
    d = np.linalg.norm(W - W[0], axis=-1)
    away = np.flatnonzero(d > 0.5 * d.max())
    if not len(away):
        return None
    back = np.flatnonzero(d[away[0]:] <= tol)
    return None if not len(back) else W[: away[0] + back[0] + 1]


def mean_field_basins(model, points, t_end: float = 100.0, t_window: float = 20.0, n_window: int = 400,
                      rtol: float = 1e-6, atol: float = 1e-8, max_steps: int = 200_000, fixed_tol: float = 1e-4,
                      merge_tol: float = 1e-4, marginal_tol: float = 1e-4, set_tol: float = 1e-3) -> Basins:
    """The attractor reached from each start ξ0 in ``points`` (P, n) (for qubits n = 3: Bloch
    vectors) under the mean-field drift of ``model`` (a PIModel or family point), grouped as the
    module docstring says. Times in units of 1/κ (``rate_unit``), tolerances in units of |ξ|
    (``marginal_tol`` a rate in units of κ)."""
    pim = as_model(model)
    f = drift_polynomial(pim)
    if f.a.ndim != 1:
        raise ValueError("mean_field_basins takes one model, not a batch")
    points = np.asarray(points, dtype=np.float64)
    n = f.n
    if points.ndim != 2 or points.shape[1] != n or not np.all(np.isfinite(points)):
        raise ValueError(f"points must be finite starts of shape (P, {n}), got shape {points.shape}")
    if not (0 < t_window <= t_end) or n_window < 8:
        raise ValueError(f"need 0 < t_window <= t_end and n_window >= 8, got {t_window}, {t_end}, {n_window}")
    kappa = float(rate_unit(pim))

    def integrate(x0):
        """Windows (len(x0), n_window, n) and finished flags, in padded chunks of a few sizes (few compilations)."""
        W, ok = np.empty((len(x0), n_window, n)), np.empty(len(x0), bool)
        size = min(CHUNK, max(64, 1 << (len(x0) - 1).bit_length()))
        for lo in range(0, len(x0), size):
            chunk = x0[lo:lo + size]
            pad = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])
            w, good = _solve(f, jnp.asarray(pad), t_end / kappa, t_window / kappa, rtol, atol, n_window, max_steps)
            W[lo:lo + len(chunk)], ok[lo:lo + len(chunk)] = np.asarray(w)[: len(chunk)], np.asarray(good)[: len(chunk)]
        return W, ok

    P = len(points)
    W, ok = integrate(points)
    final = W[:, -1]

    labels = -np.ones(P, int)
    found = []  # (attractor, member indices)
    moving = ok & (np.linalg.norm(W - final[:, None], axis=-1).max(axis=1) > fixed_tol)
    fixed = np.flatnonzero(ok & ~moving)
    g = _growth(f, final[fixed]) / kappa
    marginal = fixed[np.abs(g) <= marginal_tol]
    isolated = fixed[np.abs(g) > marginal_tol]

    def near(x):  # closeness of fixed points, for _greedy
        return lambda i, rest: np.linalg.norm(x[rest] - x[i], axis=-1) <= merge_tol

    for grp in _greedy(len(isolated), near(final[isolated])):
        members = isolated[grp]
        x = _newton(f, final[members].mean(axis=0))
        gr = float(_growth(f, x[None])[0] / kappa)
        found.append((Attractor("fixed point", x[None], x, len(members), gr < 0, gr), members))

    if len(marginal):
        reps = _greedy(len(marginal), near(final[marginal]))
        pts = np.array([final[marginal[r]].mean(axis=0) for r in reps])
        edges = _spanning_tree(pts)
        if len(edges):
            a, b = pts[edges[:, 0]], pts[edges[:, 1]]
            Wm, okm = integrate(0.5 * (a + b))
            end = Wm[:, -1]
            reach = np.maximum(np.linalg.norm(end - a, axis=-1), np.linalg.norm(end - b, axis=-1))
            edges = edges[okm & (reach <= BETWEEN * np.linalg.norm(a - b, axis=-1))]
        for comp in _components(len(pts), edges):
            members = np.concatenate([marginal[reps[c]] for c in comp])
            x = _ordered_ring(pts[comp])
            kind = "ring" if len(comp) > 1 else "fixed point"
            gr = float(_growth(f, x[:1])[0] / kappa)
            found.append((Attractor(kind, x, x.mean(axis=0), len(members), None, gr), members))

    mov = np.flatnonzero(moving)
    Wm = W[mov]
    gap = _spacing(Wm)
    centre, extent = _extent(Wm)

    def same_set(i, rest):
        """Windows ``rest`` whose sampled sets are within set_tol + the larger spacing of window i's
        (Hausdorff), among those whose means allow it (within the sum of the extents)."""
        tol = set_tol + np.maximum(gap[i], gap[rest])
        out = np.linalg.norm(centre[rest] - centre[i], axis=-1) <= extent[i] + extent[rest] + tol
        out[out] = _hausdorff(Wm[i], Wm[rest[out]]) <= tol[out]
        return out

    for grp in _greedy(len(mov), same_set):
        founder = Wm[grp[0]]
        turn = _one_turn(founder, set_tol + gap[grp[0]])
        x = founder if turn is None else turn
        found.append((Attractor("other" if turn is None else "cycle", x, x.mean(axis=0), len(grp), None, math.nan),
                      mov[grp]))

    found.sort(key=lambda am: (-am[0].starts, am[1].min()))
    for k, (_, members) in enumerate(found):
        labels[members] = k
    return Basins(labels, [a for a, _ in found], final)


__all__ = ["mean_field_basins", "Attractor", "Basins"]
