"""Parameter sweeps: a function of one model evaluated over a grid or list of models.

A model is a family point (``LMG``, a family made with ``permjax.family``, one loaded from a
model file) or a ``PIModel``; the parameter names, defaults and domains come from the family
(``permjax.models.parameters``).

Two paths:

* ``sweep`` — independent points, ``vmap`` over chunks of the batch (memory bounded by
  ``chunk_size``), each chunk sharded over all devices: a ``Mesh`` over the devices, the
  chunk placed with a ``NamedSharding`` on its batch axis, and ``shard_map`` so that every
  device runs its slice on its own (iterative solvers inside do not wait on each other).
  The same call uses 1 CPU, several GPUs, or several hosts after
  ``jax.distributed.initialize()``.
* ``sweep_sequential`` — the points in order, each starting from its neighbour's result
  (a warm start: ``step(model, carry) -> (output, carry)`` under ``lax.scan``).

Both return a ``SweepResult`` (parameters, outputs, ``table()``, ``to_csv``,
``to_json``). Outputs that carry a ``converged`` flag are checked: any point that did not
converge raises a ``RuntimeWarning`` naming the points and their residuals.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import interrupt, validate
from .host import reported_by_caller
from .models.families import Family
from .models.parameters import as_point, broadcast_to, check_names, parameter_names, parameters, stack, with_parameters
from .models.pimodel import PIModel
from .models.zoo import LMG

BATCH_AXIS = "batch"


# --- building the batch ----------------------------------------------------------------------


def grid(family=LMG, **axes):
    """The outer product of parameter values, as one batched family point.

    ``family`` is a ``Family`` subclass (default ``LMG``) or a point (a family point or a
    ``PIModel``) whose values the parameters not named take. Each keyword is a parameter of the
    family given a scalar or a 1-D sequence; scalars are held fixed, sequences become grid axes
    in the order given, missing parameters take the family's defaults (or the point's values).
    ``grid(h=0.5, Gamma=[1, 2, 3], J=[2, 3])`` has shape (3, 2);
    ``grid(family=btc, gamma_phi=[0, 0.1, 0.2])`` sweeps a user family. Raises ``ValueError`` for
    an unknown name, an empty or non-1-D axis, or values the family rejects (non-finite, out of
    its domain).
    """
    if isinstance(family, type) and issubclass(family, Family):
        unknown = [n for n in axes if n not in family.PARAMETERS]
        if unknown:
            raise ValueError(f"unknown {family.NAME} parameter(s) {unknown}; expected some of {family.PARAMETERS}")
        build = family  # parameters without a default must be among the axes
    else:
        base = as_point(family, "grid(family=...)")
        check_names(base, axes)
        build = functools.partial(with_parameters, base)
    values, grid_axes = {}, []
    for name, v in axes.items():
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"grid axis {name} must be numbers, got {v!r}") from None
        if a.ndim > 1:
            raise ValueError(f"grid axis {name} must be a scalar or 1-D, got shape {a.shape}")
        if a.ndim == 1:
            if a.size == 0:
                raise ValueError(f"grid axis {name} is empty")
            grid_axes.append(name)
        values[name] = a
    mesh = np.meshgrid(*(values[n] for n in grid_axes), indexing="ij")
    values.update(zip(grid_axes, mesh))
    return as_batch(build(**values))


def as_batch(models_or_grid):
    """A validated, broadcast batch of models from a family point or ``PIModel`` (batched or
    not), a sequence of them (one family, or one set of terms), or a mapping of grid axes
    (passed to ``grid``; a ``"family"`` key picks the family).

    Raises ``ValueError`` for an empty batch or non-finite / out-of-range values.
    """
    if isinstance(models_or_grid, Mapping):
        return grid(**models_or_grid)
    if isinstance(models_or_grid, (Family, PIModel)):
        model = models_or_grid
    elif isinstance(models_or_grid, Sequence) and not isinstance(models_or_grid, str):
        if len(models_or_grid) == 0:
            raise ValueError("empty list of models")
        if not all(isinstance(m, (Family, PIModel)) for m in models_or_grid):
            raise ValueError("a list of models must contain only family points (e.g. LMG) or PIModels")
        model = stack(list(models_or_grid))
    else:
        raise ValueError(f"expected a family point (e.g. LMG), a PIModel, a list of them or a dict of grid axes, "
                         f"got {type(models_or_grid).__name__}")
    shape = np.broadcast_shapes(*(np.shape(a) for a in parameters(model).values()))
    if math.prod(shape) == 0:
        raise ValueError(f"empty grid: the models have shape {shape}")
    # Re-validation: a batch built with tree maps bypasses the constructor's checks.
    return broadcast_to(model, shape)


# --- the result ------------------------------------------------------------------------------


class SweepResult(eqx.Module):
    """Parameters and outputs of a sweep.

    Attributes:
        models: the batch (a family point or ``PIModel``), every leaf of shape ``shape``.
        outputs: the function's output pytree, every leaf of shape ``shape + leaf_shape``
            (numpy arrays).
        shape: the batch shape (grid axes in order).
        seconds: wall time of the evaluation (compilation included).
        n_devices: devices the batch was sharded over (1 for the sequential path).
        chunk_size: points per chunk.
        method: ``"vmap"`` or ``"sequential"``.
        solver: the steady-state method of a finite-N sweep (``sweep_finite``), else ``None``.
    """

    models: Any
    outputs: Any
    shape: tuple = eqx.field(static=True)
    seconds: float = eqx.field(static=True)
    n_devices: int = eqx.field(static=True)
    chunk_size: int = eqx.field(static=True)
    method: str = eqx.field(static=True)
    solver: str | None = eqx.field(static=True, default=None)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    def columns(self) -> dict[str, np.ndarray]:
        """Flat columns, one row per point: the family's parameters, then each output leaf
        (named by its path; a leaf with per-point shape (3,) gives ``name[0..2]``)."""
        n = self.n_points
        cols = {p: np.asarray(v).reshape(n) for p, v in parameters(self.models).items()}
        for name, leaf in _named_leaves(self.outputs):
            a = np.asarray(leaf).reshape((n, -1))
            tail = np.asarray(leaf).shape[len(self.shape):]
            if not tail:
                cols[name] = a[:, 0]
            else:
                for k, idx in enumerate(np.ndindex(*tail)):
                    cols[f"{name}[{','.join(map(str, idx))}]"] = a[:, k]
        return cols

    def table(self, max_rows: int | None = None) -> str:
        """A fixed-width text table of ``columns`` (the first ``max_rows`` rows if given)."""
        cols = self.columns()
        rows = self.n_points if max_rows is None else min(max_rows, self.n_points)
        cells = {k: [_fmt(v[i]) for i in range(rows)] for k, v in cols.items()}
        width = {k: max(len(k), *(len(c) for c in cells[k])) if rows else len(k) for k in cols}
        lines = ["  ".join(k.rjust(width[k]) for k in cols)]
        lines += ["  ".join(cells[k][i].rjust(width[k]) for k in cols) for i in range(rows)]
        if rows < self.n_points:
            lines.append(f"... ({self.n_points - rows} more rows)")
        return "\n".join(lines)

    def to_csv(self, path) -> None:
        """Write ``columns`` as CSV (header row; floats with 17 significant digits),
        atomically: the file is complete or absent, never half-written."""
        from .files import atomic_write

        cols = self.columns()
        with atomic_write(path) as f:
            f.write(",".join(cols) + "\n")
            for i in range(self.n_points):
                f.write(",".join(_fmt(v[i], csv=True) for v in cols.values()) + "\n")

    def to_json(self, path=None) -> dict:
        """The result as a JSON-ready dict (columns as lists, plus shape and timing);
        written (atomically) to ``path`` when given."""
        record = {
            "shape": list(self.shape),
            "n_points": self.n_points,
            "method": self.method,
            "solver": self.solver,
            "n_devices": self.n_devices,
            "chunk_size": self.chunk_size,
            "seconds": self.seconds,
            "columns": {k: v.tolist() for k, v in self.columns().items()},
        }
        if path is not None:
            from .files import atomic_write

            with atomic_write(path) as f:
                json.dump(record, f)
        return record


def _fmt(x, csv: bool = False) -> str:
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    x = x + 0.0  # -0.0 → 0.0: a zero is never printed as -0
    return f"{x:.17g}" if csv else f"{x:.10g}"


def _key_name(k) -> str:
    for attr in ("name", "key", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _named_leaves(tree) -> list[tuple[str, Any]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    if len(flat) == 1 and not flat[0][0]:
        return [("value", flat[0][1])]
    return [(".".join(_key_name(k) for k in path), leaf) for path, leaf in flat]


def _check_converged(result: SweepResult) -> None:
    """Warn (RuntimeWarning) if any output leaf named ``converged`` is False somewhere; outputs
    that report themselves (``ThermoResult.report``) do so, labelled by the grid's parameters."""
    if callable(getattr(result.outputs, "report", None)):
        names = parameter_names(result.models)
        cols = result.columns()
        result.outputs.report(names, [cols[p].reshape(result.shape) for p in names])
        return
    named = dict(_named_leaves(result.outputs))
    cols = None
    for name, leaf in named.items():
        if name.split(".")[-1] != "converged":
            continue
        ok = np.asarray(leaf).reshape(result.n_points, -1).all(axis=1)
        if ok.all():
            continue
        cols = cols or result.columns()
        bad = np.flatnonzero(~ok)
        prefix = name[: -len("converged")]
        resid = next((cols[k] for k in cols if k.startswith(prefix) and "residual" in k[len(prefix):]), None)
        shown = ", ".join(
            "{" + ", ".join(f"{p}={cols[p][i]:.6g}" for p in parameter_names(result.models))
            + (f", residual={resid[i]:.3g}" if resid is not None else "") + "}"
            for i in bad[:5]
        )
        warnings.warn(
            f"sweep: {bad.size} of {result.n_points} points did not converge ({name} is False): {shown}"
            + (" ..." if bad.size > 5 else ""),
            RuntimeWarning,
            stacklevel=3,
        )


# --- evaluation ------------------------------------------------------------------------------


def _chunks(n: int, chunk: int):
    """(start, stop) of each chunk; the last one may be short (it is padded by the caller)."""
    return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _flat(models):
    """The batch flattened to 1-D, with numpy leaves."""
    return jax.tree.map(lambda x: np.asarray(x).reshape(-1), models)


def _pad(flat, start: int, stop: int, chunk: int, place=lambda a: a):
    """Points start:stop, padded to ``chunk`` points by repeating the last one (a valid model)."""
    idx = np.minimum(np.arange(start, start + chunk), stop - 1)
    return jax.tree.map(lambda a: place(a[idx]), flat)


def _progress(enabled: bool, label: str, k: int, n_chunks: int, done: int, n: int, t0: float) -> None:
    if enabled:
        print(
            f"{label}: chunk {k}/{n_chunks}, {done}/{n} points, {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )


def cached_on_arguments(build: Callable) -> Callable:
    """``build`` memoised on its (hashable) arguments, so repeated sweeps of the same function
    reuse the compiled code; unhashable arguments just build afresh."""
    cached = functools.lru_cache(maxsize=64)(build)

    def get(*args):
        try:
            return cached(*args)
        except TypeError:
            return build(*args)

    return get


@cached_on_arguments
def _sharded_batch_fn(fn: Callable, devices: tuple) -> tuple[Callable, NamedSharding]:
    """jit(shard_map(vmap(fn))) over a 1-D mesh of ``devices``, and the batch-axis sharding."""
    mesh = Mesh(np.array(devices, dtype=object), (BATCH_AXIS,))
    spec = PartitionSpec(BATCH_AXIS)
    mapped = jax.shard_map(jax.vmap(fn), mesh=mesh, in_specs=(spec,), out_specs=spec, check_vma=False)
    return jax.jit(mapped), NamedSharding(mesh, spec)


def _gather(tree):
    """Global (possibly multi-host) arrays → host numpy arrays."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def sweep(
    fn: Callable[[Any], Any],
    models_or_grid,
    *,
    chunk_size: int = 256,
    devices: Sequence | None = None,
    progress: bool = True,
) -> SweepResult:
    """Evaluate ``fn`` (one model → a pytree of arrays) at every model of a batch.

    ``fn`` must be jit- and vmap-compatible: e.g. ``permjax.mi_thermo``,
    ``lambda m: permjax.mi_finite(40, m)``, or ``permjax.mi_thermo_analytic``.

    The flattened batch is cut into chunks of ``chunk_size`` points (rounded up to a
    multiple of the device count; the last chunk is padded by repeating its last point,
    and the padding is dropped). Each chunk is placed on a ``NamedSharding`` of a 1-D
    ``Mesh`` over ``devices`` (default ``jax.devices()``, i.e. every device of every
    process after ``jax.distributed.initialize()``) and evaluated by one compiled
    ``shard_map(vmap(fn))``. Progress over chunks goes to stderr.

    Args:
        fn: function of one model.
        models_or_grid: a (batched) family point or ``PIModel``, a list of them, or a dict
            of grid axes (see ``grid``).
        chunk_size: points evaluated at once (bounds memory).
        devices: devices to shard over.
        progress: print one line per chunk to stderr.

    Returns:
        ``SweepResult`` with outputs of shape ``batch_shape + per-point shape``.

    Raises:
        ValueError: empty or invalid grid, ``chunk_size < 1``, no devices.
    """
    models = as_batch(models_or_grid)
    devices = tuple(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("no devices to sweep over")
    chunk_size = validate.integer("chunk_size", chunk_size, 1)
    shape, n, n_dev = models.shape, math.prod(models.shape), len(devices)
    chunk = min(chunk_size, n)
    chunk = -(-chunk // n_dev) * n_dev  # a multiple of the device count
    batched, sharding = _sharded_batch_fn(fn, devices)
    flat = _flat(models)

    t0, parts = time.perf_counter(), []
    spans = _chunks(n, chunk)
    for k, (start, stop) in enumerate(spans, 1):
        interrupt.check()
        out = _gather(batched(_pad(flat, start, stop, chunk, functools.partial(_place, sharding=sharding))))
        parts.append(jax.tree.map(lambda x, m=stop - start: np.asarray(x)[:m], out))
        _progress(progress, "sweep", k, len(spans), stop, n, t0)
    outputs = jax.tree.map(lambda *xs: np.concatenate(xs).reshape(shape + xs[0].shape[1:]), *parts)
    result = SweepResult(models, outputs, shape, time.perf_counter() - t0, n_dev, chunk, "vmap")
    _check_converged(result)
    return result


def _place(a: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A host array as a global array with ``sharding`` (each process supplies its shards)."""
    return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])


@cached_on_arguments
def _scanned_steps(step: Callable) -> Callable:
    def run(models, carry):
        def body(c, model):
            out, c = step(model, c)
            return c, out

        carry, outs = jax.lax.scan(body, carry, models)
        return outs, carry

    return jax.jit(run)


def sweep_sequential(
    step: Callable[[Any, Any], tuple[Any, Any]],
    models_or_grid,
    init: Any,
    *,
    chunk_size: int = 64,
    progress: bool = True,
) -> SweepResult:
    """Evaluate the points one after another in (flattened, C) order, threading a carry.

    ``step(model, carry) -> (output, carry)``; the carry passed to point k is the one
    returned at point k-1 (``init`` for the first) — e.g. the previous steady state as
    the next solve's initial guess, so that neighbouring grid points start close to
    their answer. Runs as ``lax.scan`` on the default device, in chunks of ``chunk_size``
    points (progress per chunk on stderr). Same inputs, result and checks as ``sweep``.
    """
    models = as_batch(models_or_grid)
    chunk_size = validate.integer("chunk_size", chunk_size, 1)
    shape, n = models.shape, math.prod(models.shape)
    chunk = min(chunk_size, n)
    run = _scanned_steps(step)
    flat = _flat(models)

    t0, parts, carry = time.perf_counter(), [], init
    spans = _chunks(n, chunk)
    for k, (start, stop) in enumerate(spans, 1):
        # Padding repeats the last point; the carry it leaves is that point's own result again.
        interrupt.check()
        out, carry = run(_pad(flat, start, stop, chunk), carry)
        parts.append(jax.tree.map(lambda x, m=stop - start: np.asarray(x)[:m], jax.device_get(out)))
        _progress(progress, "sweep (sequential)", k, len(spans), stop, n, t0)
    outputs = jax.tree.map(lambda *xs: np.concatenate(xs).reshape(shape + xs[0].shape[1:]), *parts)
    result = SweepResult(models, outputs, shape, time.perf_counter() - t0, 1, chunk, "sequential")
    _check_converged(result)
    return result


# --- finite N --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FinitePoint:
    """I_M/N at fixed N with its solver diagnostics, as a function of one model (for ``sweep``).

    Returns ``{"mi": I_M/N (Eqs. 27–29), "diagnostics": {"residual", "iterations", "converged"}}``.
    ``options`` go to ``steady_state`` as a tuple of (name, value) pairs; ``on_failure``
    defaults to ``"warn"`` so one unconverged point does not abort a sweep (the sweep names it).
    Hashable: equal instances reuse compiled code.
    """

    N: int
    options: tuple = ()

    def kwargs(self) -> dict:
        return {"on_failure": "warn", **dict(self.options)}

    def output(self, state) -> dict:
        from .dicke import mutual_information

        d = state.diagnostics
        return {
            "mi": mutual_information(state) / self.N,
            "diagnostics": {"residual": d.residual, "iterations": d.iterations, "converged": d.converged},
        }

    def __call__(self, model) -> dict:
        from .solvers import steady_state

        with reported_by_caller():  # the sweep warns on diagnostics.converged
            return self.output(steady_state(self.N, model, **self.kwargs()))


@dataclasses.dataclass(frozen=True)
class FiniteWarmStep(FinitePoint):
    """``FinitePoint`` as a ``sweep_sequential`` step: the carry is the previous
    point's steady state (the Dicke blocks), the next solve's initial guess ``x0``."""

    def __call__(self, model, rho) -> tuple[dict, jax.Array]:
        from .solvers import steady_state

        with reported_by_caller():
            state = steady_state(self.N, model, x0=rho, **self.kwargs())
        return self.output(state), jax.lax.stop_gradient(state.blocks).astype(rho.dtype)


def sweep_finite(
    N: int,
    models_or_grid,
    *,
    warm_start: bool = False,
    chunk_size: int | None = None,
    devices: Sequence | None = None,
    progress: bool = True,
    **steady_state_options,
) -> SweepResult:
    """I_M/N at fixed N over a batch of models, with per-point solver diagnostics.

    ``warm_start=False``: ``sweep`` (vmap in chunks, sharded over ``devices``).
    ``warm_start=True``: ``sweep_sequential``, each Krylov solve starting from the
    previous point's steady state (worth it when neighbouring points are close).
    ``steady_state_options`` (``tol``, ``maxiter``, ``method``, ``on_failure``) go to
    ``permjax.steady_state`` (``memory_check=False`` skips the memory estimate, which here
    counts the points solved at once on each device). ``method`` is a solver object (passed
    through with its options) or a name; ``"auto"`` (the default) is resolved here, where the batch
    is concrete, by the solver rule for many solves at one N (``Auto(gmres_from_N=20)``), an
    ``Auto(...)`` object by its own rule; ``res.solver`` records the choice. A method that takes
    no initial guess (the rate equations) drops the warm start.
    """
    from .dicke.layout import DickeLayout
    from .dicke.liouvillian import trace_weight
    from .models.families import validate_N
    from .resources import check_memory
    from .solvers import Auto, as_solver
    from .solvers.auto import SWEEP_GMRES_FROM_N

    N = validate_N(N, minimum=2)
    models = as_batch(models_or_grid)
    opts = dict(steady_state_options)
    method = opts.pop("method", "auto")
    if isinstance(method, str) and method == "auto":  # the rule for many solves at one N
        method = Auto(gmres_from_N=SWEEP_GMRES_FROM_N)
    solver = as_solver(method, opts.pop("tol", None), opts.pop("maxiter", None))
    if isinstance(solver, Auto):  # resolved here, where the batch is concrete, keeping its options
        solver = solver.select(N, models)
    name = solver.name
    warm_start = warm_start and not solver.diagonal  # the rate equations take no initial guess
    options = tuple(sorted({**opts, "method": solver}.items()))
    chunk_size = validate.integer("chunk_size", chunk_size if chunk_size is not None else (16 if warm_start else 64), 1)
    n_dev = 1 if warm_start else len(jax.devices() if devices is None else devices)
    per_device = 1 if warm_start or solver.diagonal else -(-min(chunk_size, math.prod(models.shape)) // n_dev)
    check_memory(N, solver.memory, batch=per_device, enabled=opts.get("memory_check", True),
                 what=f"sweep_finite(N={N}, method={name!r})")
    if not warm_start:
        result = sweep(FinitePoint(N, options), models, chunk_size=chunk_size, devices=devices, progress=progress)
    else:
        if devices is not None:
            raise ValueError("the warm-started sweep is sequential: it runs on the default device (devices must be None)")
        result = sweep_sequential(
            FiniteWarmStep(N, options), models, trace_weight(DickeLayout(N)), chunk_size=chunk_size, progress=progress
        )
    return dataclasses.replace(result, solver=name)
