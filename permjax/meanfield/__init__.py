"""The N → ∞ (mean-field) limit of any permutation-invariant model (SPEC §2, §6).

``drift``: the mean-field drift of the generalised Bloch vector, derived from the model's terms.
``mi_thermo``: lim_{N→∞} I_M/N (Eq. 13) from the attractors of that drift.
"""

from ..models.zoo.lmg import limit_cycle_h0, mi_thermo_analytic  # noqa: F401  (Eqs. 17-18)
from .attractor import (FIXED_POINT, LIMIT_CYCLE, NOT_RESOLVED, ThermoOptions, ThermoResult, initial_states,
                        mi_thermo, rate_unit, unit_entropy)
from .drift import DriftPolynomial, drift, drift_polynomial

__all__ = ["drift", "drift_polynomial", "DriftPolynomial", "mi_thermo", "ThermoOptions", "ThermoResult",
           "FIXED_POINT", "LIMIT_CYCLE", "NOT_RESOLVED", "initial_states", "rate_unit", "unit_entropy",
           "limit_cycle_h0", "mi_thermo_analytic"]
