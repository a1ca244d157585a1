"""Grid-scan reference for the maximum of a 1-D function (used by the tests and benchmarks/sweep.py)."""

import numpy as np


def refined_grid_argmax(values, lo, hi, points=21, spacing=2e-5):
    """Scan ``points`` values of ``values`` (array of abscissae → array of values) on [lo, hi],
    then rescan between the best point's neighbours, until the spacing is below ``spacing``.
    Returns the best abscissa and its value."""
    while True:
        x = np.linspace(lo, hi, points)
        y = np.asarray(values(x))
        k = int(np.argmax(y))
        if x[1] - x[0] < spacing:
            return x[k], y[k]
        lo, hi = x[max(k - 1, 0)], x[min(k + 1, points - 1)]
