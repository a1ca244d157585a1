"""Lowered programs kept on disk (``permjax.programs``): an eager call in a new process loads the
program instead of tracing it, with results identical to the ordinary path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from permjax import programs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(programs, "folder", lambda: str(tmp_path / "programs"))
    monkeypatch.setattr(programs, "_LOADED", {})
    monkeypatch.setattr(programs, "_NOT_EXPORTABLE", set())
    monkeypatch.setattr(programs, "STATS", dict.fromkeys(programs.STATS, 0))
    return tmp_path / "programs"


def _poly(x, y):
    return {"s": jnp.sum(x**2) + y, "v": jnp.cos(x) * y}


TREE = jax.tree.structure({"s": 0, "v": 0})


def test_exported_then_loaded_gives_the_plain_values(folder):
    x, y = jnp.linspace(0.0, 1.0, 5), jnp.asarray(2.0)
    out = programs.call(_poly, (x, y), "poly", TREE)
    assert programs.STATS["exported"] == 1 and len(list(folder.glob("*.pkl"))) == 1
    np.testing.assert_array_equal(out["s"], jnp.sum(x**2) + y)
    np.testing.assert_array_equal(out["v"], jnp.cos(x) * y)
    programs._LOADED.clear()  # as in a new process: from the file
    again = programs.call(_poly, (x, y), "poly", TREE)
    assert programs.STATS["loaded"] == 1
    np.testing.assert_array_equal(again["v"], out["v"])
    # another shape, or another name (static arguments), is another program
    programs.call(_poly, (jnp.ones(3), y), "poly", TREE)
    programs.call(_poly, (x, y), "poly, other statics", TREE)
    assert programs.STATS["exported"] == 3 and len(list(folder.glob("*.pkl"))) == 3


def test_traced_arguments_take_the_ordinary_path(folder):
    f = lambda x: programs.call(_poly, (x, jnp.asarray(1.0)), "poly", TREE)["s"]
    g = jax.grad(f)(jnp.arange(3.0))
    np.testing.assert_allclose(g, 2 * jnp.arange(3.0))
    assert float(jax.jit(f)(jnp.ones(2))) == 3.0
    assert programs.STATS == dict.fromkeys(programs.STATS, 0) and not folder.exists()


PLACEMENT = """
import json, tempfile
import jax, jax.numpy as jnp
from permjax import programs
programs.folder = lambda d=tempfile.mkdtemp(): d
f = lambda x: {"s": jnp.sum(x), "v": x}
tree = jax.tree.structure({"s": 0, "v": 0})
x = jnp.arange(3.0)
runs = {}
with jax.default_device(jax.devices()[1]):
    runs["default_device"] = programs.call(f, (x,), "f", tree)["s"]
runs["placed"] = programs.call(f, (jax.device_put(x, jax.devices()[1]),), "f", tree)["s"]
after_other = dict(programs.STATS)
runs["first"] = programs.call(f, (x,), "f", tree)["s"]
print(json.dumps({"other": after_other, "first": programs.STATS, "values": [float(v) for v in runs.values()]}))
"""


def test_arrays_on_another_device_take_the_ordinary_path():
    # a program is exported for one platform: one kept for a GPU must not be called on arrays a
    # GPU process computes on the CPU (jax.default_device, device_put); here, two host devices
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", PLACEMENT], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["other"] == dict.fromkeys(programs.STATS, 0)
    assert r["first"]["exported"] == 1
    assert r["values"] == [3.0, 3.0, 3.0]


def test_a_program_that_cannot_be_exported_is_traced(folder):
    def host(x, y):
        v = jax.pure_callback(lambda a: np.cos(a), jax.ShapeDtypeStruct(x.shape, x.dtype), x)
        return {"s": jnp.sum(v) + y, "v": v}

    x = jnp.linspace(0.0, 1.0, 4)
    for _ in range(2):
        out = programs.call(host, (x, jnp.asarray(1.0)), "host", TREE)
        np.testing.assert_allclose(out["v"], np.cos(np.asarray(x)), rtol=1e-15)
    assert programs.STATS["not_exportable"] == 1 and programs.STATS["exported"] == 0


def test_off_switch(monkeypatch):
    monkeypatch.setenv("PERMJAX_PROGRAM_CACHE", "0")
    assert programs.folder() is None


WORKER = """
import json, sys
import permjax
from permjax import programs
from permjax.models.zoo import LMG
r = permjax.mi_thermo(LMG(3.0, 0.5, 1.68, 1.0), starts=2)
print(json.dumps({"stats": programs.STATS, "mi": float(r.mi), "period": float(r.period),
                  "m_mean": [float(v) for v in r.m_mean], "kind": int(r.kind),
                  "valid": [bool(v) for v in r.valid_generators], "attractors": len(r.attractors())}))
"""


@pytest.mark.slow
def test_mi_thermo_in_a_new_process_loads_its_program(tmp_path):
    """Three fresh processes on one cache folder: the first exports ``mi_thermo``'s program, the
    second loads it (no tracing), a third with the program cache off traces as usual; all three
    give the same numbers bit for bit."""

    def run(**env):
        out = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, PERMJAX_CACHE_DIR=str(tmp_path / "cache"), **env))
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second, plain = run(), run(), run(PERMJAX_PROGRAM_CACHE="0")
    assert first["stats"] == {"loaded": 0, "exported": 1, "not_exportable": 0}
    assert second["stats"] == {"loaded": 1, "exported": 0, "not_exportable": 0}
    assert plain["stats"] == {"loaded": 0, "exported": 0, "not_exportable": 0}
    for r in (second, plain):
        assert {k: v for k, v in r.items() if k != "stats"} == {k: v for k, v in first.items() if k != "stats"}
    assert first["kind"] == 1 and first["valid"] and first["attractors"] == 1


def test_a_steady_state_is_kept_per_exact_structure_and_loaded_with_the_same_values(folder):
    """``steady_state`` on concrete inputs goes through a kept program (CGLS at N = 10): loaded,
    it gives the traced path's values; a model whose operators differ beyond their printed
    precision is another program (``structure_digest``), and gives its own state."""
    import permjax
    from permjax.models.pimodel import structure_digest

    N, lmg = 10, permjax.LMG(3.0, 0.5, 1.68, 1.0)
    first = permjax.steady_state(N, lmg, method="cgls")
    assert programs.STATS["exported"] == 1
    programs._LOADED.clear()  # as in a new process
    again = permjax.steady_state(N, lmg, method="cgls")
    assert programs.STATS["loaded"] == 1
    np.testing.assert_array_equal(np.asarray(again.blocks), np.asarray(first.blocks))
    traced = jax.jit(lambda G: permjax.steady_state(N, permjax.LMG(3.0, 0.5, G, 1.0), method="cgls").blocks)(1.68)
    np.testing.assert_allclose(np.asarray(traced), np.asarray(first.blocks), rtol=0, atol=1e-13)
    # the drive's operator scaled by 1 + 2e-7: the same repr, another digest and program
    pm = lmg.to_model()
    tilt = (1 + 2e-7) * np.array([[0, 0.5], [0.5, 0]])
    other = permjax.PIModel(2, hamiltonian=[(t.c, t.A, t.B) if hasattr(t, "B") else (t.c, tilt) for t in pm.hamiltonian],
                            collective=[(t.rate, t.A) for t in pm.collective], local=[(t.rate, t.L) for t in pm.local])
    assert repr(jax.tree.structure(other)) == repr(jax.tree.structure(pm)) and structure_digest(other) != structure_digest(pm)
    tilted = permjax.steady_state(N, other, method="cgls")
    assert programs.STATS["exported"] == 2
    assert np.max(np.abs(np.asarray(tilted.blocks) - np.asarray(first.blocks))) > 1e-9
