"""The time domain at finite N: evolution of the master equation, the Liouvillian spectrum, and
two-time correlations with their power spectra."""

from .correlations import correlation, power_spectrum
from .evolve import EvolveResult, evolve
from .spectrum import SpectrumResult, spectrum

__all__ = ["evolve", "EvolveResult", "spectrum", "SpectrumResult", "correlation", "power_spectrum"]
