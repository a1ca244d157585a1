"""``permjax.attractor``: the N → ∞ attractor pipeline, now ``permjax.meanfield``."""

from .meanfield.attractors import *  # noqa: F401,F403
from .meanfield.thermo import ThermoOptions, ThermoResult, mi_thermo  # noqa: F401
