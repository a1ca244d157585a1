"""Checks of user-supplied options shared by the API and the command line: one rule each.

* ``integer(name, value, minimum)``: an integer option (iteration caps, chunk sizes, step
  counts). Integral floats (``40.0``) are accepted, as by ``validate_N``; ``2.5``, ``True``,
  ``"3"`` and non-finite values raise ``ValueError`` instead of being cut or cast.
* ``tolerance(tol)``: a relative residual a float64 solve can reach. Round-off puts a floor
  near 1e-15 under ‖w − Aρ‖/‖w‖ (measured: CGLS at N = 4 stalls at 7.6e-16 and at N = 20 misses
  tol = 1e-15; GMRES at N = 40 needs 49,364 iterations to creep to tol = 1e-15 against 41 for
  1e-14). ``MIN_TOL = 1e-14`` is the smallest tolerance accepted.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

#: smallest relative residual tolerance accepted by the finite-N solvers (float64 round-off)
MIN_TOL = 1e-14


def integer(name: str, value, minimum: int | None = None) -> int:
    """``value`` as a Python int, or ``ValueError`` naming ``name`` if it is not an integer
    (an integral float is one) or is below ``minimum``."""
    bound = f" >= {minimum}" if minimum is not None else ""
    ok = isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        ok = True
    if not ok:
        raise ValueError(f"{name} must be an integer{bound}, got {value!r}")
    n = int(value)
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be an integer{bound}, got {n}")
    return n


def tolerance(tol, name: str = "tol") -> float:
    """A relative-residual tolerance in [``MIN_TOL``, 1), as a float, or ``ValueError``."""
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number in [{MIN_TOL:g}, 1), got {tol!r}")
    t = float(tol)
    if not (0 < t < 1):
        raise ValueError(f"{name} must be a number in [{MIN_TOL:g}, 1), got {tol!r}")
    if t < MIN_TOL:
        raise ValueError(f"{name} = {t:g} is below what float64 can reach: the smallest relative "
                         f"residual tolerance is {MIN_TOL:g}")
    return t
