import jax

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
