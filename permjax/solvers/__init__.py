"""Steady-state solvers of the Dicke-basis Liouvillian (docs/theory.md §4, §6): one module per method, the
contract they share (``base``), the rule that picks one (``Auto``), and ``steady_state``."""

from .auto import Auto
from .base import ConvergenceError, Identity, Operator, Preconditioner, SolveResult, Solver, Status
from .cgls import CGLS
from .direct import Direct
from .gmres import GMRES
from .jblock import JBlock
from .qconserving import QConserving
from .rates import Rates
from .steady import SOLVERS, as_solver, memory, mi_finite, steady_state

__all__ = ["CGLS", "GMRES", "JBlock", "Direct", "Rates", "Auto", "Solver", "Preconditioner", "QConserving",
           "Identity", "Operator", "SolveResult", "Status", "SOLVERS", "ConvergenceError", "as_solver", "memory",
           "steady_state", "mi_finite"]
