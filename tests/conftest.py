import os

# Each pytest-xdist worker keeps its own persistent compilation cache (a folder beside the user's):
# two processes reading and writing one folder at once have crashed inside XLA's cache
# (de)serialisation; one folder per worker keeps the cache's speed without that concurrency.
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and "PERMJAX_CACHE_DIR" not in os.environ:  # set before permjax is imported
    _base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["PERMJAX_CACHE_DIR"] = os.path.join(_base, "permjax", f"jax-tests-{_worker}")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pathlib  # noqa: E402

import pytest  # noqa: E402

_SLOW = pathlib.Path(__file__).with_name("slow_tests.txt")


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in slow_tests.txt (measured ≥ 2.5 s) as slow."""
    listed = {line.strip() for line in _SLOW.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for item in items:
        if item.nodeid in listed:
            item.add_marker(pytest.mark.slow)
