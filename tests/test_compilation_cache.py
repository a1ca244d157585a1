"""A finite-N computation in a second process loads every compiled program from the persistent
cache, for CGLS and for GMRES with its q-conserving preconditioner: the programs carry no host
callbacks on a single CPU device (``permjax.linalg``)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = r"""
import collections, json, jax.monitoring as mon
events = collections.Counter()
mon.register_event_listener(lambda name, **kw: events.update([name]))
mon.register_event_duration_secs_listener(lambda name, d, **kw: events.update([name]))
import permjax
v = [float(permjax.mi_finite(20, permjax.LMG(3.0, 0.5, 1.68, 1.0), method=m)) for m in ("cgls", "gmres")]
print(json.dumps({"value": v, "requests": events["/jax/compilation_cache/compile_requests_use_cache"],
                  "hits": events["/jax/compilation_cache/cache_hits"]}))
"""


@pytest.mark.slow
def test_a_second_process_compiles_nothing(tmp_path):
    env = dict(os.environ, PERMJAX_CACHE_DIR=str(tmp_path), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               PYTHONPATH=ROOT, XLA_FLAGS="")  # one CPU device

    def run():
        out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    # (one program the two solvers share may already hit in the first process)
    assert first["requests"] >= 4 and first["hits"] <= 1
    assert abs(first["value"][0] - first["value"][1]) < 1e-9  # the two solvers agree
    # the second process compiles nothing (it may ask for fewer programs: the lowered ones kept by
    # ``permjax.programs`` replace tracing and exporting)
    assert 0 < second["requests"] <= first["requests"] and second["hits"] == second["requests"]
    assert second["value"] == first["value"]
