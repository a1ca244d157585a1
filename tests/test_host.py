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


def test_steady_state_leaves_its_traced_warning_to_a_caller_that_reports():
    """Inside ``reported_by_caller`` a traced ``steady_state(on_failure="warn")`` adds no host
    callback for its final report (the caller returns and reports the flags); outside, it does."""
    import permjax
    from permjax import host

    def solve(g):  # a new function each time: a new trace
        return lambda g: permjax.steady_state(4, permjax.LMG(3.0, 0.5, g, 1.0), method="gmres",
                                              on_failure="warn").diagnostics.converged

    calls = lambda text: text.count("permjax_host_call[")
    outside = calls(str(jax.make_jaxpr(solve(None))(1.68)))
    with host.reported_by_caller():
        assert host.reports_deferred()
        inside = calls(str(jax.make_jaxpr(solve(None))(1.68)))
    assert not host.reports_deferred()
    # the final report is left out; the adjoint solve's check (traced with the core) is kept
    assert inside == outside - 1 and inside >= 1
    assert calls(str(jax.make_jaxpr(solve(None))(1.68))) == outside
