"""Compatibility: the LMG family and ``validate_N`` now live in ``permjax.models``."""

from .models.families import validate_N
from .models.pimodel import is_concrete as _is_concrete
from .models.zoo.lmg import LMG

PARAMETERS = LMG.PARAMETERS

__all__ = ["LMG", "PARAMETERS", "validate_N", "_is_concrete"]
