"""Gradient search for the parameters that maximise an objective (e.g. I_M/N) of a model.

The model is a family point (``LMG``, a family made with ``permjax.family``, one loaded from a
model file) or a ``PIModel``; the parameter names, default search boxes and domains come from
the family (``permjax.models.parameters``).

The chosen parameters x ∈ [lo, hi] are written x = lo + (hi - lo) σ(u) with σ the logistic
sigmoid, so an unconstrained optax optimiser on u never leaves the box and the map is smooth.
Several starts run at once (one ``lax.while_loop`` of vmapped optimiser steps); each stops
when the projected gradient norm (the KKT measure: a gradient component pushing out of the
box at a bound does not count) falls below ``gtol``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import validate
from .models.parameters import (as_point, default_bounds, default_over, parameter_names, point_name, values,
                                with_parameters)
from .models.pimodel import as_model
from .sweep import cached_on_arguments

# Relative distance to a bound (in σ) below which a parameter counts as sitting on it.
_AT_BOUND = 1e-9


class MaximizeResult(eqx.Module):
    """Record of ``maximize``.

    Attributes:
        model: the best model (the optimised parameters replaced in the input model).
        value: objective at ``model``.
        params: the optimised parameters of ``model``, ``{name: float}``.
        grad_norm: projected gradient norm at ``model`` (physical parameter units).
        converged: whether that norm fell below ``gtol``.
        steps: optimiser steps the best start took.
        over: the optimised parameter names.
        start_params: ``{name: (starts,)}`` final parameters of every start.
        start_values, start_grad_norms, start_converged, start_steps: per start, shape (starts,).
        history: ``{"value", "grad_norm", name...: (starts, max_steps + 1)}`` per evaluated
            point, NaN after a start stopped.
    """

    model: Any
    value: jax.Array
    params: dict
    grad_norm: jax.Array
    converged: bool = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    over: tuple = eqx.field(static=True)
    start_params: dict
    start_values: jax.Array
    start_grad_norms: jax.Array
    start_converged: jax.Array
    start_steps: jax.Array
    history: dict

    def as_dict(self) -> dict:
        """Plain-Python summary (JSON-ready), without the per-step history."""
        return {
            "over": list(self.over),
            "params": {k: float(v) for k, v in self.params.items()},
            "model": values(self.model),
            "value": float(self.value),
            "grad_norm": float(self.grad_norm),
            "converged": self.converged,
            "steps": self.steps,
            "starts": {
                "params": {k: np.asarray(v).tolist() for k, v in self.start_params.items()},
                "value": np.asarray(self.start_values).tolist(),
                "grad_norm": np.asarray(self.start_grad_norms).tolist(),
                "converged": np.asarray(self.start_converged).tolist(),
                "steps": np.asarray(self.start_steps).tolist(),
            },
        }


def objective_value(out) -> jax.Array:
    """The scalar to maximise from an objective's output: the output itself, or its ``.mi``
    (so ``permjax.mi_thermo`` and ``permjax.mi_finite`` results can be passed directly)."""
    out = getattr(out, "mi", out)
    out = jnp.asarray(out)
    if out.shape != ():
        raise ValueError(f"the objective must return a scalar (or a result with a scalar .mi), got shape {out.shape}")
    return out


def _check_over_bounds(model, over, bounds) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    model = as_point(model)
    names = parameter_names(model)
    if over is None:
        over = default_over(model)
        if not over:
            raise ValueError(f"{point_name(model)} names no default parameters to optimise: give over=(...) "
                             f"among {names}")
    if isinstance(over, str):
        over = (over,)
    over = tuple(over)
    if not over:
        raise ValueError("over must name at least one parameter")
    bad = [p for p in over if p not in names]
    if bad or len(set(over)) != len(over):
        raise ValueError(f"over must be distinct names among {names}, got {over}")
    if model.shape != ():
        raise ValueError(f"maximize needs a single model, got a batch of shape {model.shape}")
    if bounds is None:  # the family's default search boxes
        family_bounds = default_bounds(model)
        missing = [p for p in over if p not in family_bounds]
        if missing:
            raise ValueError(f"bounds needed for {missing[0]}: {point_name(model)} gives no default search box for it; "
                             f"pass bounds={{'{missing[0]}': (lo, hi)}}")
        bounds = {p: family_bounds[p] for p in over}
    bounds = dict(bounds)
    extra = set(bounds) - set(over)
    if extra:
        raise ValueError(f"bounds given for parameters not optimised: {sorted(extra)}")
    lo, hi = [], []
    for p in over:
        if p not in bounds:
            raise ValueError(f"bounds needed for {p}: bounds={{'{p}': (lo, hi)}}")
        try:
            a, b = (float(v) for v in bounds[p])
        except (TypeError, ValueError):
            raise ValueError(f"bounds for {p} must be a pair (lo, hi), got {bounds[p]!r}") from None
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise ValueError(f"bounds for {p} must be finite with lo < hi, got ({a}, {b})")
        for end in (a, b):  # the family's domain, then the model's own checks (rates >= 0, Hermitian H)
            as_model(with_parameters(model, **{p: end}))
        lo.append(a), hi.append(b)
    return over, np.array(lo), np.array(hi)


def _start_points(starts, over, lo, hi, seed: int) -> np.ndarray:
    """Start points, shape (n_starts, d): stratified in each parameter (a Latin hypercube;
    evenly spaced midpoints for one parameter), or given explicitly."""
    d = len(over)
    if isinstance(starts, Mapping):
        missing = set(over) - set(starts)
        if missing:
            raise ValueError(f"starts missing for {sorted(missing)}")
        x0 = np.stack([np.atleast_1d(np.asarray(starts[p], dtype=np.float64)) for p in over], axis=-1)
    elif isinstance(starts, (int, np.integer)) and not isinstance(starts, bool):
        if starts < 1:
            raise ValueError(f"starts must be >= 1, got {starts}")
        rng = np.random.default_rng(seed)
        mid = (np.arange(starts) + 0.5) / starts
        frac = np.stack([mid if k == 0 else rng.permutation(mid) for k in range(d)], axis=-1)
        x0 = lo + (hi - lo) * frac
    else:
        x0 = np.asarray(starts, dtype=np.float64).reshape(-1, d)
    if x0.size == 0 or not np.all(np.isfinite(x0)) or np.any(x0 <= lo) or np.any(x0 >= hi):
        raise ValueError(f"start points must be finite and strictly inside the bounds, got {x0.tolist()}")
    return x0


# L-BFGS directions; the step length comes from the backtracking in the search loop.
DEFAULT_OPTIMIZER = optax.lbfgs(linesearch=None)
_ARMIJO = 1e-4  # sufficient-decrease constant
_ROUNDOFF = 1e-14  # relative slack on the decrease test (values equal to round-off are accepted)


@cached_on_arguments
def _compiled_search(objective, over: tuple, optimizer, steps: int, gtol: float, backtrack: bool):
    """jit(vmap over starts of the optimisation loop); the model and bounds are arguments, so
    searches that differ only in them (or in the number of starts) reuse the compiled code.

    One step = one evaluation of the objective and its gradient at a trial point u. With
    ``backtrack``, a trial that fails the sufficient-decrease (Armijo) test against the last
    accepted point is rejected and replaced by the midpoint; the optimiser only ever sees
    accepted points. A proposed direction that is not a descent direction is replaced by
    steepest descent of the same length. (Backtracking inside the loop, rather than an optax
    line search calling the objective again, keeps a single traced copy of the objective.)
    """
    opt = optax.with_extra_args_support(optimizer)

    def search(model, lo, hi, u0):
        def to_x(u):
            return lo + (hi - lo) * jax.nn.sigmoid(u)

        def value(x):
            return objective_value(objective(with_parameters(model, **{p: x[k] for k, p in enumerate(over)})))

        def loss(u):  # what the optimiser minimises
            return -value(to_x(u))

        def projected_grad_norm(u, gx):
            s = jax.nn.sigmoid(u)
            outward = ((s < _AT_BOUND) & (gx < 0)) | ((1 - s < _AT_BOUND) & (gx > 0))
            return jnp.linalg.norm(jnp.where(outward, 0.0, gx))

        def step(i, trial, acc, state, hist):
            """One step of one start (vmapped over the starts below)."""
            x = to_x(trial)
            v, gx = jax.value_and_grad(value)(x)
            g = -gx * (hi - lo) * jax.nn.sigmoid(trial) * jax.nn.sigmoid(-trial)
            gn = projected_grad_norm(trial, gx)
            hist = hist.at[i].set(jnp.concatenate([x, jnp.stack([v, gn])]))
            u_a, l_a, g_a, _ = acc
            slack = _ARMIJO * jnp.vdot(g_a, trial - u_a) + _ROUNDOFF * jnp.abs(l_a)
            ok = jnp.isfinite(v) & ((not backtrack) | (i == 0) | (-v <= l_a + slack))
            acc = jax.tree.map(lambda new, old: jnp.where(ok, new, old), (trial, -v, g, gn), acc)
            done = ok & (gn < gtol)
            updates, new_state = opt.update(g, state, trial, value=-v, grad=g, value_fn=loss)
            d = optax.apply_updates(trial, updates) - trial
            descent = jnp.vdot(g, d) < 0
            d = jnp.where(descent | (not backtrack), d, -g * jnp.linalg.norm(d) / jnp.maximum(jnp.linalg.norm(g), 1e-300))
            trial = jnp.where(ok, trial + d, u_a + 0.5 * (trial - u_a))
            state = jax.tree.map(lambda a, b: jnp.where(ok, b, a), state, new_state)
            return trial, acc, state, hist, done

        # One while_loop over all starts with an unbatched predicate (a vmapped while_loop would
        # have a batched one, which objectives with IO callbacks cannot live in); finished
        # starts are frozen by masking.
        n = u0.shape[0]
        carry0 = (
            0,
            u0,
            (u0, jnp.full(n, jnp.inf), jnp.zeros_like(u0), jnp.full(n, jnp.inf)),
            jax.vmap(opt.init)(u0),
            jnp.full((n, steps + 1, len(over) + 2), jnp.nan),
            jnp.zeros(n, bool),
            jnp.zeros(n, int),
        )

        def cond(c):
            i, done = c[0], c[5]
            return (i <= steps) & ~jnp.all(done)

        def body(c):
            i, trial, acc, state, hist, done, last = c
            new = jax.vmap(step, in_axes=(None, 0, 0, 0, 0))(i, trial, acc, state, hist)
            frozen = lambda a, b: jnp.where(done.reshape((n,) + (1,) * (jnp.ndim(a) - 1)), a, b)
            trial, acc, state, hist, newly_done = jax.tree.map(frozen, (trial, acc, state, hist, done), new)
            return i + 1, trial, acc, state, hist, newly_done, jnp.where(done, last, i)

        _, _, acc, _, hist, done, last = jax.lax.while_loop(cond, body, carry0)
        u_a, l_a, _, gn_a = acc
        return hist, last, done, to_x(u_a), -l_a, gn_a

    return jax.jit(search)


def maximize(
    objective: Callable[[Any], Any],
    model,
    over: Sequence[str] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    *,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 100,
    starts: int | Mapping | np.ndarray = 4,
    gtol: float = 1e-8,
    seed: int = 0,
    backtrack: bool = True,
) -> MaximizeResult:
    """Maximise ``objective(model)`` over the parameters ``over`` within ``bounds``.

    Args:
        objective: function of one model (of ``model``'s kind) returning a scalar or a result
            with a scalar ``.mi`` (``permjax.mi_thermo``, ``lambda m: permjax.mi_finite(40, m)``,
            ...); must be differentiable and vmappable.
        model: a family point (``LMG(...)``, a user family) or a ``PIModel``: the fixed
            values of the parameters not optimised.
        over: parameter names of the family (``J, h, Gamma, gamma`` for ``LMG``; for a
            ``PIModel`` ``hamiltonian[k]``, ``collective[k]``, ``local[k]``). Default: the
            family's ``OPTIMIZE`` (``Gamma`` for ``LMG``).
        bounds: ``{name: (lo, hi)}`` for every name in ``over``; default (``None``): the
            family's ``BOUNDS`` (``ValueError`` if a parameter has none). Both ends must lie in
            the parameter's domain (the family's, and the model's: rates ≥ 0).
        optimizer: an optax transformation acting on the unconstrained variables u
            (default ``DEFAULT_OPTIMIZER``: L-BFGS directions, ``optax.lbfgs(linesearch=None)``,
            with the backtracking below; ``optax.adam`` with a schedule, or ``optax.lbfgs()``
            with its own zoom line search, work too).
        steps: the maximum number of steps per start; a step is one evaluation of the
            objective and its gradient.
        starts: the number of starts (stratified in the box), or explicit start points
            (``{name: values}`` or an array of shape (n, len(over))).
        gtol: convergence threshold on the projected gradient norm.
        seed: for the stratified starts in more than one dimension.
        backtrack: reject trial points that fail the sufficient-decrease (Armijo) test and
            halve the step back towards the last accepted point (``False``: every update of
            ``optimizer`` is taken as it comes).

    Returns:
        ``MaximizeResult`` for the start with the largest final value. A
        ``RuntimeWarning`` reports the gradient norm if that start did not converge.
    """
    over, lo, hi = _check_over_bounds(model, over, bounds)
    steps = validate.integer("steps", steps, 0)
    seed = validate.integer("seed", seed)
    x0 = _start_points(starts, over, lo, hi, seed)
    search = _compiled_search(
        objective, over, optimizer if optimizer is not None else DEFAULT_OPTIMIZER, steps, float(gtol), bool(backtrack)
    )
    u0 = jnp.asarray(np.log((x0 - lo) / (hi - x0)))
    hist, n_steps, done, x_best, v_best, gn_best = (np.asarray(a) for a in search(model, jnp.asarray(lo), jnp.asarray(hi), u0))

    finals = np.where(np.isfinite(v_best), v_best, -np.inf)
    best = int(np.argmax(finals))
    params = {p: float(x_best[best, k]) for k, p in enumerate(over)}
    result = MaximizeResult(
        model=with_parameters(model, **params),
        value=jnp.asarray(v_best[best]),
        params=params,
        grad_norm=jnp.asarray(gn_best[best]),
        converged=bool(done[best]),
        steps=int(n_steps[best]),
        over=over,
        start_params={p: x_best[:, k] for k, p in enumerate(over)},
        start_values=v_best,
        start_grad_norms=gn_best,
        start_converged=done,
        start_steps=n_steps,
        history={"value": hist[..., -2], "grad_norm": hist[..., -1], **{p: hist[..., k] for k, p in enumerate(over)}},
    )
    if not result.converged:
        warnings.warn(
            f"maximize did not converge in {steps} steps: projected gradient norm "
            f"{float(result.grad_norm):.3g} > gtol {gtol:g} at {params} (value {float(result.value):.12g})",
            RuntimeWarning,
            stacklevel=2,
        )
    return result
