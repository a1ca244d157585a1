"""Batched dense linear algebra (Hermitian eigenproblems, inverses, eigenvalues) that is safe on
several CPU devices.

On GPU/TPU and on a single CPU device they are the ``jnp.linalg`` functions: a program without
host callbacks is stored in JAX's persistent cache, so a later process skips its compile. On the
jaxlib in use XLA:CPU's batched LAPACK calls match numpy's on the sizes permjax meets (measured
on a 2-core CPU: ``inv`` of (27, 81, 81) complex blocks 10.3 against 9.7 ms, ``eigh`` of
(61, 121, 121) 186 against 263 ms, ``eigvals`` of (4, 99, 99) 12 against 22 ms). On several CPU
devices (a sweep sharded over forced host devices) they run numpy's LAPACK on the host through
``permjax.host.host_call``: XLA:CPU's batched LAPACK kernels split the batch over the intra-op
thread pool they run on, and when several CPU devices execute them at once every pool thread
can end up waiting for sub-tasks queued behind it: a deadlock (seen with ``eigvalsh`` of the
Dicke blocks under 4 host devices from N = 20).

``eigvals`` (general real or complex matrices) serves the stability of mean-field fixed points
and cycles for d > 2. Each function works under ``jit`` and ``vmap`` (one host call per batch on
the host path). They carry no derivative rules: use them on primal values
(``entropy.von_neumann_entropy`` has its own JVP).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .host import host_call


def _host_or_device(np_fn, jnp_fn, a, result_shape_dtypes):
    """numpy's LAPACK on the host on several CPU devices, else XLA's own (a program without host
    callbacks can be stored in the persistent cache)."""
    if jax.default_backend() != "cpu" or jax.local_device_count() == 1:
        return jnp_fn(a)
    return host_call(np_fn, result_shape_dtypes, a, vmap_method="broadcast")


def _real_dtype(a):
    return jnp.finfo(a.dtype).dtype


def eigvalsh(a):
    """Eigenvalues (ascending) of Hermitian matrices ``a[..., n, n]``."""
    out = jax.ShapeDtypeStruct(a.shape[:-1], _real_dtype(a))
    return _host_or_device(lambda x: np.linalg.eigvalsh(np.asarray(x)).astype(out.dtype), jnp.linalg.eigvalsh, a, out)


def eigh(a):
    """Eigenvalues (ascending) and eigenvectors (columns) of Hermitian matrices ``a[..., n, n]``."""
    out = (jax.ShapeDtypeStruct(a.shape[:-1], _real_dtype(a)), jax.ShapeDtypeStruct(a.shape, a.dtype))

    def host(x):
        w, v = np.linalg.eigh(np.asarray(x))
        return w.astype(out[0].dtype), v.astype(out[1].dtype)

    return _host_or_device(host, jnp.linalg.eigh, a, out)


def inv(a):
    """Inverses of square matrices ``a[..., n, n]`` (LU with partial pivoting)."""
    out = jax.ShapeDtypeStruct(a.shape, a.dtype)
    return _host_or_device(lambda x: np.linalg.inv(np.asarray(x)).astype(out.dtype), jnp.linalg.inv, a, out)


def eigvals(a):
    """Eigenvalues (complex, unordered) of general square matrices ``a[..., n, n]``."""
    out = jax.ShapeDtypeStruct(a.shape[:-1], jnp.complex128 if a.dtype == jnp.float64 or a.dtype == jnp.complex128
                               else jnp.complex64)
    return _host_or_device(lambda x: np.linalg.eigvals(np.asarray(x)).astype(out.dtype), jnp.linalg.eigvals, a, out)
