"""Models as data: ``PIModel`` (the paper's Eq. 1), single-unit operators, families and the zoo."""

from . import operators
from .families import Family, family, validate_N
from .files import ModelFileError, load_model, parse_model
from .operators import (bloch_vector, gell_mann, identity, ket_bra, sigma_minus, sigma_plus, sigma_x, sigma_y,
                        sigma_z, spin_operators, state_from_bloch)
from .pimodel import CollectiveJump, LocalJump, OneBody, Operator, PIModel, TwoBody, as_model, is_concrete
from .zoo import FAMILIES, LMG

__all__ = [
    "PIModel", "OneBody", "TwoBody", "CollectiveJump", "LocalJump", "Operator", "as_model", "is_concrete",
    "Family", "family", "validate_N", "FAMILIES", "load_model", "parse_model", "ModelFileError", "LMG", "operators", "gell_mann", "identity", "ket_bra",
    "sigma_x", "sigma_y", "sigma_z", "sigma_plus", "sigma_minus", "bloch_vector", "state_from_bloch", "spin_operators",
]
