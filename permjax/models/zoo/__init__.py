"""Model families with their literature names (each module states its equations)."""

from .lmg import LMG, limit_cycle_h0, mi_thermo_analytic

#: families by the name used in model files and on the command line
FAMILIES = {"lmg": LMG}

__all__ = ["LMG", "FAMILIES", "limit_cycle_h0", "mi_thermo_analytic"]
