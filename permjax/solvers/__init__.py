"""Steady-state solvers of the Dicke-basis Liouvillian (SPEC §3, §6): one module per method, and
``steady_state`` / ``mi_finite``."""

from .steady import (CGLS, GMRES, SOLVERS, Auto, ConvergenceError, Direct, JBlock, KrylovResult, Rates, Solver,
                     mi_finite, steady_state)

__all__ = ["CGLS", "GMRES", "JBlock", "Direct", "Rates", "Auto", "Solver", "SOLVERS", "ConvergenceError",
           "KrylovResult", "steady_state", "mi_finite"]
