"""Model families with their literature names (each module states its equations)."""

from .btc import BTC
from .laser import SuperradiantLaser, laser_ring, mi_thermo_laser
from .lmg import LMG, limit_cycle_h0, mi_thermo_analytic
from .qutrit import SpinOneLMG
from .spin_lmg import SpinLMG, spin_lmg
from .xyz import XYZ

#: families by the name used in model files and on the command line
FAMILIES = {"lmg": LMG, "btc": BTC, "xyz": XYZ, "spin1_lmg": SpinOneLMG, "laser": SuperradiantLaser}

__all__ = ["LMG", "BTC", "XYZ", "SpinOneLMG", "SpinLMG", "spin_lmg", "SuperradiantLaser", "laser_ring", "mi_thermo_laser", "FAMILIES", "limit_cycle_h0", "mi_thermo_analytic"]
