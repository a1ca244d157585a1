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
from .solve import METHODS, ConvergenceError, KrylovResult, mi_finite, register_method, steady_state
from .state import DickeState, Diagnostics, magnetization, mutual_information, total_entropy
from . import fast  # noqa: E402,F401  registers steady_state(method="gmres")
from . import direct  # noqa: E402,F401  registers steady_state(method="direct")

__all__ = [
    "DickeLayout",
    "DickeState",
    "Diagnostics",
    "ConvergenceError",
    "KrylovResult",
    "METHODS",
    "register_method",
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
