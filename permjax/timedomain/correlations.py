"""Two-time correlations in the steady state by the quantum regression theorem (docs/theory.md §4).

For collective operators A_tot = Σ_i A^(i), B_tot (A, B single-unit 2×2 matrices; e.g. Ĵ₊ = Σσ₊):

    g(τ) = ⟨A(τ) B(0)⟩_ss = Tr[A_tot e^{Lτ}(B_tot ρ_ss)],    τ ≥ 0.

Collective operators act inside the J-blocks (A_tot = ⊕_J A_J ⊗ 1, ``qubit.collective_components``),
so B_tot ρ_ss = ⊕_J (B_J ρ_J) ⊗ 1/dim_J keeps the block form: g is ``propagate`` applied to
the non-Hermitian initial operator B_tot ρ_ss.

Spectrum (QuTiP's convention): S(ω) = ∫_{−∞}^{∞} e^{−iωτ} [⟨A(τ)B(0)⟩ − ⟨A⟩⟨B⟩] dτ. For B = A†
(e.g. the emission spectrum of ⟨Ĵ₊(τ)Ĵ₋(0)⟩, peaked at +ω for A(τ) ∝ e^{iωτ}) the τ < 0 half is
the complex conjugate of the τ > 0 half, S is real, and

    S(ω) = 2 Re ∫_0^∞ e^{−iωτ} Tr[A_tot e^{Lτ} X] dτ = −2 Re Tr[A_tot (L − iω)⁻¹ X],
    X = B_tot ρ_ss − ⟨B⟩ ρ_ss   (traceless: the coherent part ⟨A⟩⟨B⟩ 2πδ(ω) is left out).

``power_spectrum`` evaluates the resolvent form with the trace-augmented operator of
``spectrum.py``: (L + w Tr − iω) Y = X has Tr Y = 0 (Tr X = 0, 1 − iω ≠ 0), hence (L − iω) Y = X;
each ω is one preconditioned GMRES solve. ``spectrum_from_correlation`` is the time-domain
quadrature of the same integral from a sampled g(τ) that has decayed.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.families import validate_N
from ..models import operators as ops
from ..models.qubit import collective_components
from ..models.pimodel import is_concrete
from .evolve import _check_times, _expm_states, dicke_model, evolve_method, propagate, _to_complex
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import block_trace
from ..host import static_checks_only

#: collective operators by name: the single-unit matrix a with A_tot = Σ_i a^(i)
NAMED_OPERATORS = {"J+": ops.sigma_plus, "J-": ops.sigma_minus, "Jx": ops.sigma_x / 2, "Jy": ops.sigma_y / 2,
                   "Jz": ops.sigma_z / 2}


def single_unit_matrix(A) -> np.ndarray:
    """The 2×2 matrix a of a collective operator A_tot = Σ_i a^(i), from a name or a matrix."""
    if isinstance(A, str):
        if A not in NAMED_OPERATORS:
            raise ValueError(f"unknown collective operator {A!r}; named: {sorted(NAMED_OPERATORS)}")
        return np.asarray(NAMED_OPERATORS[A], complex)
    a = np.asarray(getattr(A, "array", A), dtype=complex)
    if a.shape != (2, 2) or not np.all(np.isfinite(a)):
        raise ValueError(f"a collective operator is given by a finite 2×2 single-unit matrix, got shape {a.shape}")
    return a


def _raise_rows(x):
    """y[..., a, a′] = x[..., a−1, a′] (zero-filled): moves the row index M up by one."""
    return jnp.pad(x[..., :-1, :], [(0, 0)] * (x.ndim - 2) + [(1, 0), (0, 0)])


def _lower_rows(x):
    """y[..., a, a′] = x[..., a+1, a′]."""
    return jnp.pad(x[..., 1:, :], [(0, 0)] * (x.ndim - 2) + [(0, 1), (0, 0)])


def collective_left(a, X, layout: DickeLayout):
    """A_tot X blockwise: c_N N X + c₊ Ĵ₊X + c₋ Ĵ₋X + c_z Ĵ_z X (``collective_components``), with
    (Ĵ₊X)_{M,M′} = A(J,M−1) X_{M−1,M′}, (Ĵ₋X)_{M,M′} = A(J,M) X_{M+1,M′}, A = √((J−M)(J+M+1))."""
    cN, cp, cm, cz = (complex(c) for c in collective_components(a))
    J, Mg = layout.J[:, None], layout.M[None, :]
    A = np.sqrt(np.where(layout.mask, np.clip((J - Mg) * (J + Mg + 1), 0.0, None), 0.0))
    Ar = jnp.asarray(A)[:, :, None]
    M = jnp.asarray(np.broadcast_to(Mg, A.shape))[:, :, None]
    out = cN * layout.N * X + cz * M * X
    if cp != 0:
        out = out + cp * _raise_rows(Ar * X)
    if cm != 0:
        out = out + cm * Ar * _lower_rows(X)
    return out * jnp.asarray(layout.block_mask)


def collective_expectation(a, X, layout: DickeLayout):
    """Tr(A_tot X) = Σ_J Tr(A_J X_J)."""
    return block_trace(collective_left(a, X, layout), layout)


class Correlation(eqx.Module):
    """g(τ) = ⟨A(τ)B(0)⟩_ss at the saved τ, with ⟨A⟩⟨B⟩ (its τ → ∞ limit for a unique steady state)."""

    taus: jax.Array
    g: jax.Array
    g_inf: jax.Array
    successful: jax.Array


def _steady_blocks(N, model, steady):
    from ..solvers import steady_state

    st = steady if steady is not None else steady_state(N, model)
    b = jnp.asarray(st.blocks)
    lay = DickeLayout(N)
    if b.shape == (lay.n_J, lay.n_M):
        b = jnp.einsum("ja,ab->jab", b, jnp.eye(lay.n_M)).astype(jnp.complex128)
    return b


def correlation(N, model, A, B, taus, *, steady=None, rtol: float = 1e-9, atol: float = 1e-11,
                method="auto", max_steps: int = 10**6) -> Correlation:
    """g(τ) = Tr[A_tot e^{Lτ}(B_tot ρ_ss)] at ``taus`` (increasing, from τ = taus[0] ≥ 0 measured
    from 0): the quantum regression theorem (module docstring). ``A``, ``B``: names ("J+", "J-",
    "Jx", "Jy", "Jz") or single-unit 2×2 matrices. ``steady``: a precomputed ``steady_state``.
    ``method``: as ``evolve``'s (``"auto"``: ``evolve_method``; ``"expm"`` on the host, exact)."""
    N = validate_N(N, minimum=2)
    taus = _check_times(taus)
    if taus[0] < 0:
        raise ValueError("taus must be ≥ 0")
    a, b = single_unit_matrix(A), single_unit_matrix(B)
    mdl = dicke_model(model)
    rho = _steady_blocks(N, mdl, steady)
    lay = DickeLayout(N)
    X0 = collective_left(b, rho, lay)
    ts = np.concatenate([[0.0], taus]) if taus[0] > 0 else taus
    a_key = tuple(complex(x) for x in a.ravel())
    if evolve_method(N, is_concrete((mdl, X0)), method) == "expm":
        g = _expectations(jnp.asarray(_expm_states(mdl, X0, ts, N)), a_key, N=N)
        ok = jnp.asarray(bool(np.all(np.isfinite(np.asarray(g)))))
    else:
        g, ok = _correlate(mdl, X0, jnp.asarray(ts), a_key, N=N, method=method, rtol=float(rtol), atol=float(atol),
                           max_steps=int(max_steps))
    g = g[1:] if taus[0] > 0 else g
    g_inf = collective_expectation(a, rho, lay) * collective_expectation(b, rho, lay)
    if not bool(ok):
        raise RuntimeError(f"correlation(N={N}): the propagation did not reach τ = {taus[-1]} (out of steps, or "
                           "not finite)")
    return Correlation(jnp.asarray(taus), g, g_inf, ok)


@functools.partial(jax.jit, static_argnames=("a", "N"))
def _expectations(Xs, a, *, N):
    """Tr[A_tot X] for each of a stack of block operators X (T, n_J, N+1, N+1)."""
    lay = DickeLayout(N)
    a = np.array(a, complex).reshape(2, 2)
    return jax.vmap(lambda X: collective_expectation(a, X, lay))(Xs)


@functools.partial(jax.jit, static_argnames=("a", "N", "method", "rtol", "atol", "max_steps"))
def _correlate(model, X0, taus, a, *, N, method, rtol, atol, max_steps):
    lay = DickeLayout(N)
    a = np.array(a, complex).reshape(2, 2)  # static: the operator's structure is known at trace time
    with static_checks_only():  # taus checked on the host (``_check_times``)
        ys, stats = propagate(model, X0, taus, lambda y: collective_expectation(a, _to_complex(y), lay), N=N,
                              method=method, rtol=rtol, atol=atol, max_steps=max_steps)
    return ys, stats["successful"]


class PowerSpectrum(eqx.Module):
    """S(ω) at the given ω (module docstring), with the GMRES diagnostics of every solve."""

    omegas: np.ndarray
    S: np.ndarray
    iterations: np.ndarray
    residuals: np.ndarray


def power_spectrum(N, model, A, omegas, *, B=None, steady=None, method=None) -> PowerSpectrum:
    """S(ω) = −2 Re Tr[A_tot (L − iω)⁻¹ (B_tot ρ_ss − ⟨B⟩ρ_ss)], B = A† by default (module
    docstring; QuTiP's sign convention), by one solve per ω with ``method`` (default
    ``GMRES(tol=1e-10, maxiter=3000)``, the steady-state solvers' contract)."""
    from ..solvers import GMRES
    from .spectrum import ShiftedSolves

    N = validate_N(N, minimum=2)
    a = single_unit_matrix(A)
    b = a.conj().T if B is None else single_unit_matrix(B)
    if not np.allclose(b, a.conj().T):
        raise ValueError("power_spectrum needs B = A† (then S(ω) is real); use correlation() for other pairs")
    omegas = np.atleast_1d(np.asarray(omegas, dtype=np.float64))
    if omegas.ndim != 1 or not np.all(np.isfinite(omegas)):
        raise ValueError("omegas must be a finite 1-D array")
    mdl = dicke_model(model)
    lay = DickeLayout(N)
    rho = _steady_blocks(N, mdl, steady)
    X = collective_left(b, rho, lay)
    X = X - block_trace(X, lay) * rho
    method = GMRES(tol=1e-10, maxiter=3000) if method is None else method
    solves = ShiftedSolves(mdl, N, method, method.maxiter or 3000)
    Xf = lay.pack(X)
    out = []
    for w in omegas:
        Y = solves(Xf, 1j * w)
        out.append(-2.0 * float(jnp.real(collective_expectation(a, lay.unpack(Y), lay))))
    ress = np.asarray(solves.residuals)
    tol = method.tol
    if np.any(ress > 10 * tol):
        raise RuntimeError(f"power_spectrum(N={N}): the solves missed tol={tol} at "
                           f"ω = {omegas[ress > 10 * tol][:3]} (residual {ress.max():.2e}); raise maxiter")
    return PowerSpectrum(omegas, np.asarray(out), np.asarray(solves.iterations), ress)


def spectrum_from_correlation(taus, g, g_inf, omegas) -> np.ndarray:
    """S(ω) = 2 Re ∫_0^T e^{−iωτ}[g(τ) − g_∞] dτ by the trapezoid rule on the sampled g (B = A†;
    accurate when g − g_∞ has decayed by T and the sampling resolves e^{−iωτ})."""
    taus = np.asarray(taus, float)
    gc = np.asarray(g) - complex(np.asarray(g_inf))
    ph = np.exp(-1j * np.outer(np.asarray(omegas, float), taus))
    return 2.0 * np.real(np.trapezoid(ph * gc[None, :], taus, axis=1))
