"""Finite N: the Dicke basis (J-blocks), the Liouvillian on it, states and their entropies (docs/theory.md §4)."""

from .husimi import husimi, husimi_blocks, husimi_grid
from .layout import DickeLayout
from .liouvillian import (
    liouvillian,
    liouvillian_adjoint,
    liouvillian_conserving,
    liouvillian_field,
    liouvillian_h0,
    liouvillian_mixing,
)
from .state import DickeState, Diagnostics, magnetization, mutual_information, total_entropy

__all__ = [
    "DickeLayout",
    "DickeState",
    "Diagnostics",
    "liouvillian",
    "liouvillian_adjoint",
    "liouvillian_h0",
    "liouvillian_field",
    "liouvillian_conserving",
    "liouvillian_mixing",
    "mutual_information",
    "magnetization",
    "total_entropy",
    "husimi",
    "husimi_blocks",
    "husimi_grid",
]
