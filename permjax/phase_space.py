"""Finite N meets the mean field in phase space: the Husimi Q mass of each mean-field basin.

The Husimi function of a Dicke-basis state splits into blocks, Q = Σ_J Q_J (``dicke.husimi``),
Q_J living on the sphere of radius r_J = 2J/N of the Bloch ball (Ĵ/J → n as N → ∞, so block J's
coherent states are the product states of Bloch vector r_J n). The weight of attractor k is

    w_k = Σ_J ∫ dΩ Q_J(n) [label(r_J n) = k],

label(m) the attractor the mean-field drift reaches from m (``meanfield.basins``), evaluated on the
quadrature grid of ``sphere_quadrature`` (w_k = Σ_{J,i,l} Q_J(θ_i, φ_l) w_il [label = k] / Σ of all
those): one mean-field start per block and grid direction. Σ_k w_k = 1. On a grid of at least
``exact_grid_size(N)`` the normaliser Σ Q_J w is 1 to round-off (reported as ``total``).

J = 0 (even N): Q_0 = p_0/(4π) is isotropic, a mass at the centre of the ball. The centre itself is
a non-generic start: in the models here it lies on an invariant symmetry axis and flows to a
saddle. Its mass is therefore spread over the basins seen from the sphere of radius ``r0``
(default 1/N, halfway to the first shell 2/N), as a finite-N fluctuation about the centre would;
``r0=0`` starts all of it at the centre.

This module joins ``dicke`` and ``meanfield`` (neither imports the other).
"""

from __future__ import annotations

import dataclasses
import time

import jax.numpy as jnp
import numpy as np

from .dicke.husimi import exact_grid_size, husimi_blocks, sphere_quadrature
from .dicke.state import DickeState
from .meanfield.basins import mean_field_basins


@dataclasses.dataclass(frozen=True)
class BasinWeights:
    """The Q mass of each mean-field basin (module docstring).

    Attributes:
        weights: (K,) w_k, sorted descending; Σ_k w_k + ``unresolved`` = 1.
        attractors: the K ``meanfield.basins.Attractor`` s, in the order of ``weights``.
        unresolved: the mass of starts whose mean-field solve did not finish (0 normally).
        neglected: the mass left out by ``min_mass`` (not integrated), relative to ``total``.
        total: Σ Q_J w over the whole grid (1 to round-off on an exact grid).
        labels: (n_J, n_θ, n_φ) attractor index of each start (−1 unresolved, −2 left out).
        mass: (n_J, n_θ, n_φ) Q_J(θ_i, φ_l) w_il.
        theta, phi: the grid (``sphere_quadrature``); radii: (n_J,) r_J of the starts.
        seconds: wall time of the mean-field part.
    """

    weights: np.ndarray
    attractors: list
    unresolved: float
    neglected: float
    total: float
    labels: np.ndarray
    mass: np.ndarray
    theta: np.ndarray
    phi: np.ndarray
    radii: np.ndarray
    seconds: float

    def as_dict(self) -> dict:
        return {"weights": self.weights.tolist(), "unresolved": self.unresolved, "neglected": self.neglected,
                "total": self.total, "basin_grid": [len(self.theta), len(self.phi)], "radii": self.radii.tolist(),
                "attractors": [{**a.as_dict(), "weight": float(w)} for a, w in zip(self.attractors, self.weights)],
                "seconds": self.seconds}


def basin_weights(state: DickeState, model, n_theta: int | None = None, n_phi: int | None = None,
                  r0: float | None = None, min_mass: float = 1e-12, **options) -> BasinWeights:
    """The Q mass w_k of every mean-field attractor's basin (module docstring) for a qubit state.

    ``n_theta``, ``n_phi``: the quadrature grid (default ``exact_grid_size(N)``, n_φ rounded up to even). ``r0``: the radius
    standing for J = 0 (default 1/N). ``min_mass``: starts carrying less than this fraction of the
    mass are not integrated (their mass is reported as ``neglected`` and left out of the w_k).
    ``options`` go to ``mean_field_basins`` (``t_end``, tolerances, ...).
    """
    N = state.N
    dt, dp = exact_grid_size(N)
    dp += dp % 2  # even: the grid maps to itself under a π rotation about z (φ → φ + π)
    theta, phi, w = sphere_quadrature(dt if n_theta is None else n_theta, dp if n_phi is None else n_phi)
    mass = np.asarray(husimi_blocks(state, jnp.asarray(theta)[:, None], jnp.asarray(phi)[None, :])) * w
    total = float(mass.sum())
    radii = 2 * state.layout.J / N
    radii = np.where(radii == 0, 1.0 / N if r0 is None else float(r0), radii)
    if not (np.all(radii >= 0) and np.all(radii <= 1)):
        raise ValueError(f"r0 must lie in [0, 1], got {r0!r}")
    n = np.stack([np.outer(np.sin(theta), np.cos(phi)), np.outer(np.sin(theta), np.sin(phi)),
                  np.outer(np.cos(theta), np.ones_like(phi))], axis=-1)  # (n_θ, n_φ, 3)
    starts = radii[:, None, None, None] * n[None]  # (n_J, n_θ, n_φ, 3)
    kept = mass > min_mass * total
    t0 = time.perf_counter()
    basins = mean_field_basins(model, starts[kept], **options)
    seconds = time.perf_counter() - t0
    labels = np.full(mass.shape, -2)
    labels[kept] = basins.labels
    K = len(basins.attractors)
    w_k = np.array([mass[labels == k].sum() for k in range(K)]) / mass[kept].sum()
    order = np.argsort(-w_k, kind="stable")
    rank = np.empty(K, int)
    rank[order] = np.arange(K)
    resolved = labels >= 0
    labels[resolved] = rank[labels[resolved]]
    return BasinWeights(w_k[order], [basins.attractors[k] for k in order],
                        float(mass[labels == -1].sum() / mass[kept].sum()), float(mass[~kept].sum() / total), total,
                        labels, mass, theta, phi, radii, seconds)


__all__ = ["basin_weights", "BasinWeights"]
