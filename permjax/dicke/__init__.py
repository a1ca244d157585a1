"""Finite N: Dicke-basis J-blocks, the Liouvillian and the steady state (SPEC §3)."""

from .layout import DickeLayout
from .liouvillian import (
    liouvillian,
    liouvillian_adjoint,
    liouvillian_conserving,
    liouvillian_field,
    liouvillian_h0,
    liouvillian_mixing,
)
from .solve import (CGLS, GMRES, SOLVERS, Auto, ConvergenceError, Direct, JBlock, KrylovResult, Rates, Solver, mi_finite,
                    steady_state)
from .state import DickeState, Diagnostics, magnetization, mutual_information, total_entropy

__all__ = [
    "DickeLayout",
    "DickeState",
    "Diagnostics",
    "ConvergenceError",
    "KrylovResult",
    "Solver",
    "CGLS",
    "GMRES",
    "Direct",
    "JBlock",
    "Rates",
    "Auto",
    "SOLVERS",
    "liouvillian",
    "liouvillian_adjoint",
    "liouvillian_h0",
    "liouvillian_field",
    "liouvillian_conserving",
    "liouvillian_mixing",
    "steady_state",
    "mi_finite",
    "mutual_information",
    "magnetization",
    "total_entropy",
]
