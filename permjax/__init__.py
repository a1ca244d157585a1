"""permjax: multipartite correlations in permutation-invariant open quantum systems.

float64 is switched on at import: entropies near pure states need it. JAX's persistent
compilation cache is switched on in a user cache folder (``permjax.compilation``; opt out with
``PERMJAX_COMPILATION_CACHE=0``).
"""

import sys
import types

import jax

jax.config.update("jax_enable_x64", True)

from . import compilation  # noqa: E402

compilation.enable()

from .version import __version__  # noqa: E402

# Public names and the module that defines each: imported on first use, so that `import permjax`
# costs JAX's import and little more (diffrax, scipy and the solvers load when first needed).
_PUBLIC = {
    "dicke": ('DickeState', 'magnetization', 'mutual_information'),
    "solvers": ('mi_finite', 'steady_state'),
    "timedomain": ('EvolveResult', 'SpectrumResult', 'correlation', 'evolve', 'power_spectrum', 'spectrum'),
    "entropy": ('binary_entropy', 'log_dim_J', 'von_neumann_entropy', 'xlogx'),
    "meanfield": ('ThermoOptions', 'ThermoResult', 'drift', 'limit_cycle_h0', 'mi_thermo', 'mi_thermo_analytic'),
    "dicke.groundstate": ('GroundState', 'ground_state', 'mi_ground'),
    "models": ('FAMILIES', 'Family', 'PIModel', 'as_model', 'family', 'gell_mann', 'identity', 'ket_bra', 'load_model', 'sigma_minus', 'sigma_plus', 'sigma_x', 'sigma_y', 'sigma_z', 'validate_N'),
    "models.zoo": ('BTC', 'LMG', 'XYZ', 'SpinOneLMG', 'SuperradiantLaser'),
    "optimize": ('MaximizeResult', 'maximize'),
    "sweep": ('SweepResult', 'grid', 'sweep', 'sweep_finite', 'sweep_sequential'),
    "dicke.husimi": ('husimi', 'husimi_blocks', 'husimi_grid'),
    "meanfield.basins": ('mean_field_basins',),
    "phase_space": ('BasinWeights', 'basin_weights'),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}


def __getattr__(name):
    import importlib
    import importlib.util

    module = _WHERE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # a subpackage: permjax.interop, ...
    else:
        raise AttributeError(f"module 'permjax' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


class _Package(types.ModuleType):
    """Importing ``permjax.sweep`` binds the module to the package's name ``sweep``; the public
    name is the function, so a submodule bound over a public name is replaced by that name."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and name in _WHERE and value.__name__ == f"{__name__}.{_WHERE[name]}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
