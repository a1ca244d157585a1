"""``permjax.attractor``: the N → ∞ attractor pipeline, now ``permjax.meanfield.attractor``."""

from .meanfield.attractor import *  # noqa: F401,F403
from .meanfield.attractor import (FIXED_POINT, KIND_NAMES, LIMIT_CYCLE, NOT_RESOLVED, ThermoOptions,  # noqa: F401
                                  ThermoResult, mi_thermo)
