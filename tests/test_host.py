"""host_call and the host linear algebra: the same numbers as numpy under jit, vmap and nesting."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from permjax import linalg
from permjax.host import host_call

rng = np.random.default_rng(3)
A = rng.normal(size=(3, 4, 6, 6)) + 1j * rng.normal(size=(3, 4, 6, 6))
H = A + np.conj(np.swapaxes(A, -1, -2))


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit, lambda f: jax.jit(jax.vmap(f)),
                                       lambda f: jax.vmap(jax.vmap(f)), lambda f: jax.vmap(f, in_axes=1, out_axes=1)])
def test_linalg_matches_numpy(transform):
    w = transform(linalg.eigvalsh)(H)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(H), rtol=0, atol=1e-12)
    w2, v = transform(linalg.eigh)(H)
    np.testing.assert_allclose(w2, np.linalg.eigvalsh(H), rtol=0, atol=1e-12)
    np.testing.assert_allclose(H @ v, v * w2[..., None, :], rtol=0, atol=1e-11)  # H v = v diag(w)
    inv = transform(linalg.inv)(A)
    np.testing.assert_allclose(inv @ A, np.broadcast_to(np.eye(6), A.shape), rtol=0, atol=1e-12)


def test_sequential_host_call_under_nested_vmap_and_unbatched_arguments():
    def f(x, s):  # one scalar and one vector per call: checks which arguments each call sees
        return host_call(lambda a, b: (np.sum(a) * b, np.int64(a.size)),
                         (jax.ShapeDtypeStruct((), jnp.float64), jax.ShapeDtypeStruct((), jnp.int64)), x, s)

    x = rng.normal(size=(3, 4, 5))
    s = np.arange(3.0)
    out, size = jax.jit(jax.vmap(jax.vmap(f, in_axes=(0, None)), in_axes=(0, 0)))(x, s)
    np.testing.assert_allclose(out, x.sum(-1) * s[:, None], rtol=1e-14)
    assert (np.asarray(size) == 5).all()
    with pytest.raises(ValueError, match="vmap_method"):
        host_call(np.sum, jax.ShapeDtypeStruct((), jnp.float64), x, vmap_method="expand_dims")


def test_pure_callback_fallback_gives_the_same_numbers(monkeypatch):
    """Where jax's private callback lowering differs, host_call falls back to jax.pure_callback."""
    from permjax import host

    monkeypatch.setattr(host, "HOST_BUFFERS", False)
    np.testing.assert_allclose(jax.jit(jax.vmap(linalg.eigvalsh))(H), np.linalg.eigvalsh(H), rtol=0, atol=1e-12)
    x = rng.normal(size=(3, 4))
    out = jax.vmap(lambda v: host.host_check(v, lambda a: None, v[0]))(x)
    np.testing.assert_array_equal(out, x)


def test_host_check_is_left_out_where_the_caller_reports():
    from permjax import host

    seen = []
    x = jnp.arange(3.0)
    check = lambda: (lambda v: host.host_check(v, lambda a: seen.append(a), v[0]))  # a new function: a new trace
    assert "host_call" in str(jax.make_jaxpr(check())(x))
    with host.reported_by_caller():
        jaxpr = str(jax.make_jaxpr(check())(x))
        np.testing.assert_array_equal(jax.jit(check())(x), x)
    assert "host_call" not in jaxpr and seen == []
    np.testing.assert_array_equal(jax.jit(check())(x), x)
    assert len(seen) == 1  # outside the context the check runs again
