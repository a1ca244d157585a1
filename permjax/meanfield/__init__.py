"""The N → ∞ (mean-field) limit of any permutation-invariant model (docs/theory.md §3, §6, §7).

``drift``: the mean-field drift of the generalised Bloch vector, derived from the model's terms.
``mi_thermo``: lim_{N→∞} I_M/N (Eq. 13, in its Holevo form over symmetry orbits) from the
attractors of that drift.
"""

from ..models.zoo.lmg import limit_cycle_h0, mi_thermo_analytic  # noqa: F401  (Eqs. 17-18)
from .attractors import (CHAOTIC, FIXED_POINT, KIND_NAMES, LIMIT_CYCLE, MULTISTABLE, NOT_RESOLVED,  # noqa: F401
                         QUASI_PERIODIC)
from .basins import Attractor, Basins, mean_field_basins
from .drift import DriftPolynomial, drift, drift_polynomial
from .states import initial_states, rate_unit, unit_entropy
from .thermo import ThermoOptions, ThermoResult, mi_thermo

__all__ = ["drift", "drift_polynomial", "DriftPolynomial", "mi_thermo", "ThermoOptions", "ThermoResult",
           "FIXED_POINT", "LIMIT_CYCLE", "NOT_RESOLVED", "CHAOTIC", "QUASI_PERIODIC", "MULTISTABLE", "KIND_NAMES",
           "initial_states", "rate_unit", "unit_entropy", "limit_cycle_h0", "mi_thermo_analytic",
           "mean_field_basins", "Attractor", "Basins"]
