"""JAX's persistent compilation cache, on by default, in a user cache folder.

A program compiled once (a steady state at some N, a mean-field sweep, ...) is written to disk
and reused by later processes, so a repeated one-off computation skips XLA compilation.

* Folder: ``$PERMJAX_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/permjax/jax`` (default
  ``~/.cache/permjax/jax``). A folder chosen through JAX itself (``JAX_COMPILATION_CACHE_DIR``
  or ``jax.config.update("jax_compilation_cache_dir", ...)`` before importing permjax) is kept.
* Opt out: ``PERMJAX_COMPILATION_CACHE=0``, or JAX's own switch
  ``JAX_ENABLE_COMPILATION_CACHE=false``. An unwritable folder silently disables it.
* Programs that compile in less than ``MIN_COMPILE_SECONDS`` are not written (unless
  ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` says otherwise).

JAX does not cache programs that contain host callbacks. Those are compiled in each process: a
``Direct`` solve under ``jit``, ``vmap`` or ``grad`` (its LU runs on the host), and, on several
CPU devices, the programs using ``permjax.linalg``'s host inverses and eigenproblems. On concrete
coefficients ``Direct`` factorises outside any program, and only its cached check program runs.
"""

from __future__ import annotations

import os

import jax

#: programs compiling faster than this are not written to the cache; 0.02 rather than 0.2:
#: `permjax finite --N 20` with a filled cache 1.91–2.27 s against 2.10–2.31 s (interleaved
#: runs, 2-core CPU)
MIN_COMPILE_SECONDS = 0.02

_FALSE = ("0", "false", "no", "off")


def switched_off(variable: str) -> bool:
    """Whether the environment variable ``variable`` says 0/false/no/off (unset: on)."""
    return os.environ.get(variable, "1").strip().lower() in _FALSE


def cache_dir() -> str | None:
    """The folder permjax would use, or None when opted out."""
    if switched_off("PERMJAX_COMPILATION_CACHE") or switched_off("JAX_ENABLE_COMPILATION_CACHE"):
        return None
    explicit = os.environ.get("PERMJAX_CACHE_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "permjax", "jax")


def enable() -> str | None:
    """Switch the persistent cache on (see the module docstring); returns the folder in use."""
    folder = cache_dir()
    if folder is None:
        return None
    current = jax.config.jax_compilation_cache_dir
    if current:
        return current
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
