import gc
import os

# Each pytest-xdist worker keeps its own persistent compilation cache (a folder beside the user's),
# so that two processes never read and write one folder at once.
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and "PERMJAX_CACHE_DIR" not in os.environ:  # set before permjax is imported
    _base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["PERMJAX_CACHE_DIR"] = os.path.join(_base, "permjax", f"jax-tests-{_worker}")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pathlib  # noqa: E402

import pytest  # noqa: E402

_SLOW = pathlib.Path(__file__).with_name("slow_tests.txt")


#: memory mappings a test process may reach before its compiled programs are dropped (the
#: kernel's vm.max_map_count is typically 65530)
MAX_MAPS = 30_000


def _maps() -> int:
    try:
        with open("/proc/self/maps", "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


@pytest.fixture(autouse=True)
def _drop_compiled_programs():
    """XLA's CPU executables keep their machine code in memory mappings (a mean-field pipeline:
    ~1600), and a long-lived test worker that reaches the kernel's limit (vm.max_map_count) dies
    in LLVM with a segmentation fault while compiling, loading or serialising a program. After a
    test that leaves more than ``MAX_MAPS`` mappings, JAX's caches are cleared (programs are then
    reloaded from the persistent cache when needed)."""
    yield
    if _maps() > MAX_MAPS:
        jax.clear_caches()
        gc.collect()


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in slow_tests.txt (measured ≥ 2.5 s) as slow."""
    listed = {line.strip() for line in _SLOW.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for item in items:
        if item.nodeid in listed:
            item.add_marker(pytest.mark.slow)
