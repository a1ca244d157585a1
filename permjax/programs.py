"""Lowered programs kept on disk, so that an eager call in a new process skips tracing.

XLA's persistent cache (``permjax.compilation``) skips compilation, but every new process still
traces and lowers a jitted function before it can look the program up: seconds for ``mi_thermo``,
most of a one-off CLI call. ``call`` keeps the lowered program (``jax.export``) next to that
cache, keyed by the function, its static arguments, the tree, shapes and dtypes of the arrays, the
permjax source, the JAX version, the backend and the x64 flag. A later process with the same key
loads it and only compiles (a persistent-cache hit).

Only calls whose arrays are concrete and live on the default backend's first device take this
path (a program is exported for one platform): under ``jit``, ``vmap`` or ``grad``, inside
``jax.default_device(...)`` of another device, or with arrays placed elsewhere, the function is
traced as usual. So is a program that cannot be exported (e.g. one with a host callback).
Opt out: ``PERMJAX_PROGRAM_CACHE=0`` (and whenever the compilation cache is off).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import tempfile

import jax
import jax.numpy as jnp
import jaxlib

from . import compilation

#: what this process did, for diagnostics and tests: programs loaded from disk, exported and
#: written, and calls that took the ordinary path because exporting failed
STATS = {"loaded": 0, "exported": 0, "not_exportable": 0}

#: programs kept at most; writing one more removes the least recently written
MAX_PROGRAMS = 256

_LOADED: dict[str, object] = {}
_NOT_EXPORTABLE: set[str] = set()


def folder() -> str | None:
    """Where programs are kept (a ``programs`` folder in the compilation cache), or None when off."""
    if compilation.switched_off("PERMJAX_PROGRAM_CACHE"):
        return None
    base = jax.config.jax_compilation_cache_dir or compilation.cache_dir()
    return None if not base else os.path.join(base, "programs")


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """sha256 of every permjax source file: a changed program never matches an old entry."""
    root = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()


def _concrete(leaves) -> bool:
    return all(not isinstance(a, jax.core.Tracer) for a in leaves)


def _on_first_device(arrays) -> bool:
    """Whether a call on ``arrays`` runs on ``jax.devices()[0]``, where its kept program was
    exported: no ``jax.default_device`` naming another device, every array placed there."""
    first, chosen = jax.devices()[0], jax.config.jax_default_device
    if chosen is not None and chosen not in (first, first.platform):
        return False
    return all(a.devices() == {first} for a in arrays)


def _key(name: str, tree, avals) -> str:
    h = hashlib.sha256()
    device = jax.devices()[0]
    for part in (name, str(tree), repr(avals), _source_digest(), jax.__version__, jaxlib.__version__,
                 device.platform, device.device_kind, len(jax.devices()), jax.config.jax_enable_x64):
        h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _load(path: str):
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, partial or from another JAX: export again
        return None


def _store(path: str, entry) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
        kept = [os.path.join(os.path.dirname(path), n) for n in os.listdir(os.path.dirname(path)) if n.endswith(".pkl")]
        for old in sorted(kept, key=os.path.getmtime)[: max(0, len(kept) - MAX_PROGRAMS)]:
            os.remove(old)
    except Exception:
        pass  # an unwritable folder: the program is simply not kept


def call(fn, args: tuple, name: str, out_tree):
    """``fn(*args)``, through a program kept on disk when every array in ``args`` is concrete.

    ``fn`` must be a pure function of ``args`` (its static arguments bound, and spelled out in
    ``name``, which becomes part of the key together with the arrays' tree, shapes and dtypes);
    ``out_tree`` the tree structure of its result (built by the caller: a module's tree does not
    survive pickling).
    """
    leaves, tree = jax.tree.flatten(args)
    where = folder()
    if where is None or not _concrete(leaves):
        return fn(*args)
    leaves = [jnp.asarray(a) for a in leaves]
    if not _on_first_device(leaves):
        return fn(*args)
    avals = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in leaves]
    key = _key(name, tree, avals)
    if key in _NOT_EXPORTABLE:
        return fn(*args)
    entry = _LOADED.get(key)
    if entry is None:
        path = os.path.join(where, key + ".pkl")
        entry = _load(path)
        if entry is not None:
            STATS["loaded"] += 1
        else:
            def flat(*lv):
                out, out_def = jax.tree.flatten(fn(*jax.tree.unflatten(tree, lv)))
                if out_def != out_tree:
                    raise TypeError(f"programs.call: {name}: result tree {out_def} is not {out_tree}")
                return out

            try:
                entry = dataclasses.replace(jax.export.export(jax.jit(flat))(*avals), _get_vjp=None)
            except Exception:
                _NOT_EXPORTABLE.add(key)
                STATS["not_exportable"] += 1
                return fn(*args)
            STATS["exported"] += 1
            _store(path, entry)
        _LOADED[key] = entry
    return jax.tree.unflatten(out_tree, entry.call(*leaves))
