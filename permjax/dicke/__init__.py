"""Finite N: Dicke-basis J-blocks, the Liouvillian and the steady state (SPEC §3)."""

from .layout import DickeLayout

__all__ = ["DickeLayout"]
