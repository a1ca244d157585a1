"""permjax: multipartite correlations in permutation-invariant open quantum systems.

float64 is switched on at import: entropies near pure states need it. JAX's persistent
compilation cache is switched on in a user cache folder (``permjax.compilation``; opt out with
``PERMJAX_COMPILATION_CACHE=0``).
"""

import jax

jax.config.update("jax_enable_x64", True)

from . import compilation  # noqa: E402

compilation.enable()

from .dicke import DickeState, magnetization, mutual_information  # noqa: E402
from .solvers import mi_finite, steady_state  # noqa: E402
from .timedomain import EvolveResult, SpectrumResult, correlation, evolve, power_spectrum, spectrum  # noqa: E402
from .entropy import binary_entropy, log_dim_J, von_neumann_entropy, xlogx  # noqa: E402
from .meanfield import ThermoOptions, ThermoResult, drift, limit_cycle_h0, mi_thermo, mi_thermo_analytic  # noqa: E402
from .dicke.groundstate import GroundState, ground_state, mi_ground  # noqa: E402
from .models import (FAMILIES, Family, PIModel, as_model, family, gell_mann, identity, ket_bra,  # noqa: E402
                     load_model, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z, validate_N)
from .models.zoo import BTC, LMG, XYZ, SpinOneLMG, SuperradiantLaser  # noqa: E402
from .optimize import MaximizeResult, maximize  # noqa: E402
from .sweep import SweepResult, grid, sweep, sweep_finite, sweep_sequential  # noqa: E402
from .dicke.husimi import husimi, husimi_blocks, husimi_grid  # noqa: E402
from .meanfield.basins import mean_field_basins  # noqa: E402
from .phase_space import BasinWeights, basin_weights  # noqa: E402

from .version import __version__  # noqa: E402

__all__ = [
    "PIModel",
    "Family",
    "family",
    "as_model",
    "FAMILIES",
    "load_model",
    "sigma_x",
    "sigma_y",
    "sigma_z",
    "sigma_plus",
    "sigma_minus",
    "identity",
    "ket_bra",
    "gell_mann",
    "LMG",
    "BTC",
    "XYZ",
    "SpinOneLMG",
    "SuperradiantLaser",
    "validate_N",
    "drift",
    "limit_cycle_h0",
    "mi_thermo_analytic",
    "mi_thermo",
    "ThermoResult",
    "ThermoOptions",
    "binary_entropy",
    "von_neumann_entropy",
    "log_dim_J",
    "xlogx",
    "grid",
    "sweep",
    "sweep_sequential",
    "sweep_finite",
    "SweepResult",
    "maximize",
    "MaximizeResult",
    "ground_state",
    "mi_ground",
    "GroundState",
    "steady_state",
    "mi_finite",
    "mutual_information",
    "magnetization",
    "DickeState",
    "evolve",
    "EvolveResult",
    "spectrum",
    "SpectrumResult",
    "correlation",
    "power_spectrum",
    "husimi",
    "husimi_blocks",
    "husimi_grid",
    "mean_field_basins",
    "basin_weights",
    "BasinWeights",
]
