"""The driven-dissipative LMG model of N spin-s units (d = 2s + 1 levels each).

    dρ/dt = −i[H, ρ] + (Γ/N) D[S_−]ρ + γ Σ_i D[s_+^(i)]ρ,    H = (𝒥/N)(S_x² + S_y²) + h S_x,

with s_α the spin-s matrices of one unit (``spin_operators(s)``: levels m = s, …, −s) and
S_α = Σ_i s_α^(i). In terms of Eq. 1 (docs/theory.md §2): two-body 𝒥 (s_x, s_x) + 𝒥 (s_y, s_y), one-body
h s_x, collective Γ with A = s_−, local γ with s_+.

Normalisation: the spin matrices themselves, with the same (𝒥/N, h, Γ/N, γ) for every s. For
s = 1/2 (s_α = σ_α/2, s_± = σ_±) this is ``LMG`` (Eqs. 14–15) term by term, and for s = 1 it is
``SpinOneLMG``. Collective spin lengths grow like s, so at fixed parameters the mean-field
frequencies and rates grow with s too (s_± has norm up to ~s: the local pumping γ D[s_+] acts
at rates up to ~γ s²).

``spin_lmg(s)`` returns the family class for spin s (one class per s, cached), e.g.
``spin_lmg(9/2)(J=3.0).to_model()`` is a d = 10 model. Not in ``FAMILIES`` (a family of
families: model files and the command line name single families).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import jax

from ..families import Family
from ..operators import spin_operators
from ..pimodel import PIModel


class SpinLMG(Family):
    """Spin-s LMG parameters (𝒥, h, Γ, γ); subclasses made by ``spin_lmg(s)`` set the spin ``S``."""

    J: jax.Array
    h: jax.Array
    Gamma: jax.Array
    gamma: jax.Array

    S = Fraction(1, 2)
    NAME = "spin_lmg"
    PARAMETERS = ("J", "h", "Gamma", "gamma")
    DEFAULTS = {"J": 3.0, "h": 0.0, "Gamma": 2.0, "gamma": 1.0}
    DOMAIN = {"Gamma": ">=0", "gamma": ">0"}
    BOUNDS = {"J": (0.5, 6.0), "h": (0.0, 2.0), "Gamma": (0.5, 6.0), "gamma": (0.25, 4.0)}
    HELP = {
        "J": "exchange coupling 𝒥 of (S_x² + S_y²)/N",
        "h": "transverse field h of h S_x",
        "Gamma": "collective decay Γ >= 0 of D[S_-]/N",
        "gamma": "local pumping γ > 0 of D[s_+]",
    }

    def to_model(self) -> PIModel:
        sx, sy, _, sp, sm = spin_operators(self.S)
        return PIModel(
            int(2 * self.S) + 1,
            hamiltonian=[(self.J, sx, sx), (self.J, sy, sy), (self.h, sx)],
            collective=[(self.Gamma, sm)],
            local=[(self.gamma, sp)],
        )


def spin_lmg(s) -> type:
    """The LMG family of spin-s units (s a positive integer or half-integer: 1/2, 1, 3/2, ...,
    as a number, a Fraction or a string like "9/2"); ``spin_lmg(1/2)`` builds the models of
    ``LMG``, ``spin_lmg(1)`` those of ``SpinOneLMG``."""
    try:
        spin = Fraction(s) if isinstance(s, str) else Fraction(float(s))
    except (TypeError, ValueError, ZeroDivisionError):
        spin = None
    if isinstance(s, bool) or spin is None or spin <= 0 or (2 * spin).denominator != 1:
        raise ValueError(f"spin_lmg: s must be a positive integer or half-integer, got {s!r}")
    return _spin_lmg(spin)


@functools.lru_cache(maxsize=None)
def _spin_lmg(spin: Fraction) -> type:
    label = str(spin)
    return type(f"SpinLMG_{label.replace('/', '_')}", (SpinLMG,), {
        "S": spin,
        "NAME": f"spin_lmg(s={label})",
        "__module__": __name__,
        "__doc__": f"LMG of spin-{label} units (d = {int(2 * spin) + 1}); parameters (𝒥, h, Γ, γ) as ``SpinLMG``.",
    })
