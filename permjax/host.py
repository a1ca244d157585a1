"""``host_call``: a numpy function called from jitted, vmapped or sharded code.

Like ``jax.pure_callback``, but the callback receives the numpy buffers XLA hands to the host
directly. ``jax.pure_callback`` first copies its arguments onto the first CPU device
(``device_put``); that copy runs on XLA:CPU's thread pool, and when every pool thread is
itself inside a callback (a sweep sharded over several host devices, each device calling
back at once) nothing is left to run the copy: a deadlock, observed with 4 forced host
devices in GMRES sweeps at N = 40. Skipping the copy removes the dependency on the pool.

Built on ``jax._src.callback.emit_python_callback``, the lowering that ``jax.pure_callback``
itself uses (private API, checked at import: where it differs from the version tested here,
``host_call`` falls back to ``jax.pure_callback``). No derivative rules: call it on primal
values (inside ``custom_jvp`` / ``custom_vjp`` rules or under ``stop_gradient``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import batching, mlir

try:
    from jax._src import callback as _jax_callback
except ImportError:  # pragma: no cover - a jax without this module: pure_callback fallback
    _jax_callback = None

_host_call_p = Primitive("permjax_host_call")
_host_call_p.multiple_results = True


@dataclasses.dataclass(frozen=True)
class _HostFn:
    """``fn`` (numpy in, tuple of arrays out) lifted over ``nbatch`` leading batch axes that
    every argument carries: ``broadcast`` passes them through (``fn`` handles stacked input),
    else ``fn`` is called once per batch element and the results are stacked."""

    fn: Callable
    broadcast: bool
    nbatch: int = 0

    def __call__(self, *args, out_avals):
        if self.nbatch == 0 or self.broadcast:
            outs = self.fn(*args)
        else:
            lead = args[0].shape[: self.nbatch]
            flat = [np.reshape(a, (-1,) + a.shape[self.nbatch:]) for a in args]
            outs = [self.fn(*(a[i] for a in flat)) for i in range(flat[0].shape[0])]
            outs = [np.reshape(np.stack(o), lead + np.shape(o[0])) for o in zip(*outs)]
        return tuple(np.asarray(o, dtype=a.dtype).reshape(a.shape) for o, a in zip(outs, out_avals))


@_host_call_p.def_impl
def _impl(*args, fn, out_avals):
    return [jnp.asarray(o) for o in fn(*(np.asarray(a) for a in args), out_avals=out_avals)]


@_host_call_p.def_abstract_eval
def _abstract_eval(*avals, fn, out_avals):
    return list(out_avals)


def _lowering(ctx, *args, fn, out_avals):
    def call(*flat):  # numpy arrays, no device_put
        return fn(*flat, out_avals=out_avals)

    sharding = _jax_callback._callback_op_sharding(ctx.module_context.axis_context, None, ctx.avals_out)
    result, _, _ = _jax_callback.emit_python_callback(
        ctx, call, None, list(args), ctx.avals_in, ctx.avals_out,
        has_side_effect=False, returns_token=False, sharding=sharding,
    )
    return result


def _batch(args, dims, *, fn, out_avals):
    n = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    args = [jnp.broadcast_to(a, (n,) + a.shape) if d is None else jnp.moveaxis(a, d, 0)
            for a, d in zip(args, dims)]
    fn = dataclasses.replace(fn, nbatch=fn.nbatch + 1)
    out_avals = tuple(jax.core.ShapedArray((n,) + a.shape, a.dtype) for a in out_avals)
    return _host_call_p.bind(*args, fn=fn, out_avals=out_avals), [0] * len(out_avals)


def _private_api_matches() -> bool:
    try:
        emit = inspect.signature(_jax_callback.emit_python_callback).parameters
        shard = inspect.signature(_jax_callback._callback_op_sharding).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return {"has_side_effect", "returns_token", "sharding"} <= set(emit) and len(shard) == 3


HOST_BUFFERS = _private_api_matches()  #: False: host_call is jax.pure_callback (argument copies)

mlir.register_lowering(_host_call_p, _lowering)
batching.primitive_batchers[_host_call_p] = _batch


def host_call(fn: Callable, result_shape_dtypes, *args, vmap_method: str = "sequential"):
    """``fn(*numpy_args)`` on the host, returning arrays shaped like ``result_shape_dtypes``
    (a ``jax.ShapeDtypeStruct`` or a tuple of them; the result has the same structure).

    ``vmap_method``: ``"sequential"`` (under ``vmap``, one call per batch element) or
    ``"broadcast"`` (one call, every argument carrying the batch axes in front, which ``fn``
    must handle, as numpy's stacked linear algebra does).
    """
    if vmap_method not in ("sequential", "broadcast"):
        raise ValueError(f"vmap_method must be 'sequential' or 'broadcast', got {vmap_method!r}")
    single = isinstance(result_shape_dtypes, jax.ShapeDtypeStruct)
    specs = (result_shape_dtypes,) if single else tuple(result_shape_dtypes)
    out_avals = tuple(jax.core.ShapedArray(s.shape, s.dtype) for s in specs)
    if not HOST_BUFFERS:
        return jax.pure_callback(fn, result_shape_dtypes, *args,
                                 vmap_method="expand_dims" if vmap_method == "broadcast" else "sequential")
    flat_fn = _Single(fn) if single else fn
    outs = _host_call_p.bind(*map(jnp.asarray, args), fn=_HostFn(flat_fn, vmap_method == "broadcast"), out_avals=out_avals)
    return outs[0] if single else tuple(outs)


@dataclasses.dataclass(frozen=True)
class _Single:
    fn: Callable

    def __call__(self, *args):
        return (self.fn(*args),)


_DEFERRED = [0]  # depth of ``reported_by_caller`` contexts


@contextlib.contextmanager
def reported_by_caller():
    """Within it, a result's final report (``steady_state``'s "warn" on traced values) is left to
    the caller, which returns the flags and reports them once they are concrete (``sweep``'s
    finite-N points: ``diagnostics.converged``); the program then keeps no host callback and
    JAX's persistent cache stores it. Checks inside jitted cores (adjoint solves) are kept."""
    _DEFERRED[0] += 1
    try:
        yield
    finally:
        _DEFERRED[0] -= 1


def reports_deferred() -> bool:
    """Whether the caller reports (``reported_by_caller``)."""
    return _DEFERRED[0] > 0


def host_check(x, fn: Callable, *args):
    """``x`` unchanged, after ``fn(*numpy_args)`` has run on the host (e.g. to warn).

    The call is tied to ``x`` by a data dependency (each inexact leaf gets ``+ 0`` from it),
    so it is not removed as dead code, and no effect is declared (``jax.debug.callback``'s
    effect is rejected in ``while_loop``s with batched predicates). ``args`` are cut from
    differentiation. Under ``vmap`` ``fn`` is called once with the batch axes in front; the
    first argument's shape must be a prefix of every inexact leaf's shape.
    """
    args = jax.lax.stop_gradient(tuple(jnp.asarray(a) for a in args))

    def run(*a):
        fn(*a)
        return np.zeros(np.shape(a[0]))

    zero = host_call(run, jax.ShapeDtypeStruct(args[0].shape, jnp.float64), *args, vmap_method="broadcast")

    def tie(leaf):
        leaf = jnp.asarray(leaf)
        if not jnp.issubdtype(leaf.dtype, jnp.inexact):
            return leaf
        z = zero.reshape(zero.shape + (1,) * (leaf.ndim - zero.ndim))
        return leaf + z.astype(leaf.dtype)

    return jax.tree.map(tie, x)


@contextlib.contextmanager
def static_checks_only():
    """Trace with equinox's runtime checks (``eqx.error_if``) turned into NaN substitutions
    instead of host callbacks, so the compiled program has none and JAX's persistent cache
    keeps it. For code whose runtime checks cannot fire: diffrax's checks of ``SaveAt(ts)``
    (increasing, inside [t0, t1]) on grids built increasing, with ``throw=False``."""
    try:
        from equinox import _errors
    except ImportError:  # pragma: no cover - another equinox layout: keep its callbacks
        yield
        return
    if not hasattr(_errors, "EQX_ON_ERROR"):  # pragma: no cover
        yield
        return
    saved = _errors.EQX_ON_ERROR
    _errors.EQX_ON_ERROR = "nan"
    try:
        yield
    finally:
        _errors.EQX_ON_ERROR = saved
