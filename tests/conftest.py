import os
import resource

# A larger stack for the test processes (the xdist workers inherit it from the controller, which
# loads this file before it starts them; glibc sizes new threads' stacks from it too): all six
# crashes seen in full-suite runs were segmentation faults inside LLVM while XLA compiled, loaded
# or serialised a large program (the kind of deep, schedule-dependent recursion an 8 MiB stack
# can overflow), none of them in a single process run alone.
STACK_BYTES = 64 * 2**20
_soft, _hard = resource.getrlimit(resource.RLIMIT_STACK)
if _soft != resource.RLIM_INFINITY and _soft < STACK_BYTES:
    resource.setrlimit(resource.RLIMIT_STACK,
                       (STACK_BYTES if _hard == resource.RLIM_INFINITY else min(STACK_BYTES, _hard), _hard))

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


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in slow_tests.txt (measured ≥ 2.5 s) as slow."""
    listed = {line.strip() for line in _SLOW.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for item in items:
        if item.nodeid in listed:
            item.add_marker(pytest.mark.slow)
