"""Batched dense linear algebra (Hermitian eigenvalues, inverses) that is safe on several CPU devices.

On GPU/TPU, and on a single CPU device for Hermitian eigenvalues (``eigvalsh``: the entropies
and diagnostics of every finite-N result), they are the ``jnp.linalg`` functions: a program without host callbacks is stored in
JAX's persistent cache, so a later process skips its compile (XLA's ``eigvalsh`` is 2–5× slower
than numpy's, 0.09 against 0.04 s for the blocks at N = 120, small beside a solve). Otherwise
(``inv``, ``eigh``, ``eigvals``, and every function on several CPU devices) they run numpy's LAPACK on the
host through ``permjax.host.host_call``, for two reasons:

* XLA:CPU's batched LAPACK kernels split the batch over the intra-op thread pool they run on.
  When several CPU devices execute them at once (a sweep sharded over forced host devices),
  every pool thread can end up waiting for sub-tasks queued behind it: a deadlock (seen
  with ``eigvalsh`` of the Dicke blocks under 4 host devices from N = 20).
* For the 10–160 sized blocks used here numpy's LAPACK is measured 5–50× faster than
  XLA:CPU's batched complex triangular solves.

``eigvals`` (general real or complex matrices) serves the stability of mean-field fixed points
and cycles for d > 2. Each function works under ``jit`` and ``vmap`` (one host call per batch). They carry no
derivative rules: use them on primal values (``entropy.von_neumann_entropy`` has its own JVP).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .host import host_call


def _host_or_device(np_fn, jnp_fn, a, result_shape_dtypes, *, host_on_one_device: bool = False):
    """numpy's LAPACK on the host where it matters (several CPU devices; ``host_on_one_device``),
    else XLA's own: a program without host callbacks can be stored in the persistent cache."""
    if jax.default_backend() != "cpu" or (jax.local_device_count() == 1 and not host_on_one_device):
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

    return _host_or_device(host, jnp.linalg.eigh, a, out, host_on_one_device=True)


def inv(a):
    """Inverses of square matrices ``a[..., n, n]`` (LU with partial pivoting)."""
    out = jax.ShapeDtypeStruct(a.shape, a.dtype)
    return _host_or_device(lambda x: np.linalg.inv(np.asarray(x)).astype(out.dtype), jnp.linalg.inv, a, out,
                           host_on_one_device=True)


def eigvals(a):
    """Eigenvalues (complex, unordered) of general square matrices ``a[..., n, n]``."""
    out = jax.ShapeDtypeStruct(a.shape[:-1], jnp.complex128 if a.dtype == jnp.float64 or a.dtype == jnp.complex128
                               else jnp.complex64)
    return _host_or_device(lambda x: np.linalg.eigvals(np.asarray(x)).astype(out.dtype), jnp.linalg.eigvals, a, out,
                           host_on_one_device=True)
