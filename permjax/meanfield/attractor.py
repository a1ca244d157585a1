"""The N → ∞ limit of I_M/N from the attractors of the mean-field drift (SPEC §2, §6, Eq. 13).

    lim_{N→∞} I_M/N = S(r̄) − mean_t S(r(t)),

the overline the infinite-time average along the attractor of dξ/dt = f(ξ) (``drift``, for LMG
Eq. 16), r = (1 + ξ·v)/d (Eq. 3) and S the von Neumann entropy (for d = 2, S = b(|m|), Eq. 19).
The state has n = d² − 1 components. The pipeline, each step a pure function:

1. ``relax``: from each initial state ξ0 (a small batch, see ``ThermoOptions.starts``),
   integrate past a transient and sample a window (no gradient). An integration that runs out
   of steps is retried once with a larger step budget; if it still does not finish, that start
   is "not resolved" with a NaN value (never a number).
2. ``fixed_point``: Newton on f(ξ*) = 0 from the window mean; stability from the largest real
   part of the eigenvalues of Df(ξ*) (closed-form cubic for n = 3, LAPACK otherwise). A stable
   fixed point that the trajectory contracts to ⇒ I_M/N = 0 exactly.
3. ``return_times`` + ``find_cycle``/``shoot``: otherwise, Newton shooting for the periodic orbit
   (x0, T) with the phase condition n·(x0 − x_ref) = 0, from the 1st, 2nd, ... return (period
   doublings); accepted only if the Newton residual is small and every non-trivial Floquet
   multiplier (eigenvalues of the monodromy matrix but the trivial 1) lies inside the unit circle.
4. ``cycle_average``: r̄ and mean S over exactly one period, as quadratures along the converged
   orbit. Gradients reach (x0, T) by the implicit function theorem.
5. Otherwise the attractor is "not resolved": I_M/N from a smooth (bump) window average of the
   sampled trajectory, flagged, warned about, with a NaN derivative (SPEC §2).

Multistability: the starts are classified independently (vmapped), then grouped into distinct
attractors (same kind, and the same fixed point, or the same period, mean and I_M/N). The result
reports every attractor with the fraction of starts that reached it; ``mi`` is the attractor
reached from the first start (``m0``), and a RuntimeWarning says so whenever there are several.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import linalg
from ..entropy import binary_entropy, bloch_norm, von_neumann_entropy
from ..host import host_check, static_checks_only
from ..models.families import Family
from ..models.operators import gell_mann, sigma_minus, sigma_plus, sigma_x, sigma_y
from ..models.pimodel import LocalJump, PIModel, as_model, is_concrete as _is_concrete
from .drift import DriftPolynomial, _static, _structure_tensors, _terms, drift_polynomial

FIXED_POINT = 0
LIMIT_CYCLE = 1
NOT_RESOLVED = 2
MARGINAL_GROWTH = 1e-12  # a fixed point with max Re λ up to this (round-off at Γ = γ) counts as stable
MARGINAL_MULTIPLIER = 1e-6  # a cycle needs |μ| < 1 − this: closer to 1 it is not resolved
KIND_NAMES = {FIXED_POINT: "fixed point", LIMIT_CYCLE: "limit cycle", NOT_RESOLVED: "not resolved"}
DEFAULT_STARTS = 4  # initial states per model: m0, then the default spread (``initial_states``)
CYCLE_SAMPLES = 1024  # d > 2: orbit samples of the one-period averages (trapezoidal rule)
RETRY_STEPS_FACTOR = 20  # a transient that runs out of steps is retried with this many times the budget


@dataclasses.dataclass(frozen=True)
class ThermoOptions:
    """Numerical options of :func:`mi_thermo` (times in units of 1/κ, κ = ``rate_unit(model)``;
    for LMG κ = γ).

    Attributes:
        rtol, atol: tolerances of the orbit solves (shooting, quadratures).
        relax_rtol, relax_atol: tolerances of the transient and window (they only seed Newton).
        t_transient: integration time dropped as transient.
        t_window: sampled window after the transient (period guess, fallback average).
        n_window: samples in the window.
        m0: the first initial state ξ0 (generalised Bloch vector, d² − 1 numbers), or several
            (a tuple of them); ``None``: ``default_m0(d)`` (for d = 2, (0.1, 0, 0.99), off the
            m = (0, 0, 1) fixed point of LMG at h = 0). ``mi`` is the attractor reached from the first.
        starts: number of initial states in all: the given ``m0`` first, then the default
            spread of ``initial_states`` up to this count (more ``m0`` than this: all of them).
        newton_tol: shooting converged when max |F(x0, T)| < newton_tol.
        max_newton: Newton iterations at most (per shooting attempt, and fixed point).
        max_returns: shooting attempts at most, from the 1st, 2nd, ... return (period doublings).
        max_steps: ODE steps at most for the transient and window; a transient that runs out is
            retried once with ``RETRY_STEPS_FACTOR`` times as many, then "not resolved" (NaN).
        max_orbit_steps: ODE steps at most for one period (a longer orbit is not resolved).
        autodiff: ``"reverse"`` (``jax.grad``/``jacrev``: first derivatives, diffrax's
            checkpointed adjoint) or ``"forward"`` (``jax.jvp``/``jacfwd``: first and second
            derivatives, e.g. the Hessian as ``jacfwd(jacfwd(f))``; diffrax's ``ForwardMode``).
            Third and higher derivatives are not exact in either mode.
    """

    rtol: float = 1e-11
    atol: float = 1e-12
    relax_rtol: float = 1e-7
    relax_atol: float = 1e-9
    t_transient: float = 300.0
    t_window: float = 80.0
    n_window: int = 640
    m0: tuple | None = None
    starts: int = DEFAULT_STARTS
    newton_tol: float = 1e-10
    max_newton: int = 16
    max_returns: int = 8
    max_steps: int = 100_000
    max_orbit_steps: int = 4096
    autodiff: str = "reverse"

    def __post_init__(self):
        for name in ("rtol", "atol", "relax_rtol", "relax_atol", "t_transient", "t_window", "newton_tol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"mi_thermo option {name} must be a positive finite number, got {v!r}")
        for name, lo in (("n_window", 16), ("max_newton", 1), ("max_returns", 1), ("max_steps", 16),
                         ("max_orbit_steps", 16), ("starts", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"mi_thermo option {name} must be an integer >= {lo}, got {v!r}")
        if self.autodiff not in ("reverse", "forward"):
            raise ValueError(f"mi_thermo option autodiff must be 'reverse' or 'forward', got {self.autodiff!r}")
        if self.m0 is not None:
            try:
                m0 = np.asarray(self.m0, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"mi_thermo option m0 must be a Bloch vector or a list of them, got {self.m0!r}") from None
            if m0.ndim not in (1, 2) or m0.shape[-1] < 3 or not np.all(np.isfinite(m0)):
                raise ValueError(f"mi_thermo option m0 must be a Bloch vector (d² − 1 finite numbers) or a list of "
                                 f"them, got {self.m0!r}")
            if m0.shape[-1] == 3 and np.any(np.linalg.norm(np.atleast_2d(m0), axis=-1) > 1):
                raise ValueError(f"mi_thermo option m0 must be a Bloch vector (3 finite numbers, |m0| <= 1), got {self.m0!r}")
            object.__setattr__(self, "m0", tuple(map(float, m0)) if m0.ndim == 1
                               else tuple(tuple(map(float, row)) for row in m0))


# --- the states: entropy, defaults -------------------------------------------------------------


def unit_entropy(xi, d: int):
    """S(r) of the single-unit state r = (1 + ξ·v)/d (Eq. 3): b(|m|) for d = 2 (Eq. 19), else the
    von Neumann entropy of the d×d matrix."""
    if d == 2:
        return binary_entropy(bloch_norm(xi))
    v = jnp.asarray(gell_mann(d))
    r = (jnp.eye(d) + jnp.tensordot(xi, v, axes=([-1], [0]))) / d
    return von_neumann_entropy(r)


def default_m0(d: int) -> np.ndarray:
    """The default first initial state: (0.1, 0, 0.99) for d = 2; for any d the state
    0.99 |ψ⟩⟨ψ| + 0.01/d with |ψ⟩ = cos(0.05)|0⟩ + sin(0.05)|1⟩ (near the top level, off any axis)."""
    if d == 2:
        return np.array([0.1, 0.0, 0.99])
    psi = np.zeros(d, complex)
    psi[0], psi[1] = math.cos(0.05), math.sin(0.05)
    r = 0.99 * np.outer(psi, psi.conj()) + 0.01 * np.eye(d) / d
    return _bloch(r)


def _bloch(r):
    """ξ_l = (d/2) Tr(r v_l) (Eq. 3) in numpy (static data, also inside traced code)."""
    d = r.shape[-1]
    return (d / 2.0) * np.real(np.einsum("...ij,lji->...l", r, gell_mann(d)))


def initial_states(d: int, count: int, seed: int = 0) -> np.ndarray:
    """The default spread of initial states: ``count`` Bloch vectors of the mixed states
    0.9 |ψ⟩⟨ψ| + 0.1/d, |ψ⟩ Haar-random from a fixed seed (for d = 2: points at |m| = 0.9 in
    uniformly random directions, never exactly on an axis)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(count, d)) + 1j * rng.normal(size=(count, d))
    psi = z / np.linalg.norm(z, axis=-1, keepdims=True)
    r = 0.9 * np.einsum("ki,kj->kij", psi, psi.conj()) + 0.1 * np.eye(d) / d
    return _bloch(r).reshape(count, d * d - 1)


def _starts(d: int, opts: ThermoOptions) -> np.ndarray:
    """The initial states (S, n): ``m0`` (or its default) first, then the default spread."""
    n = d * d - 1
    given = default_m0(d)[None] if opts.m0 is None else np.atleast_2d(np.asarray(opts.m0, float))
    if given.shape[-1] != n:
        raise ValueError(f"mi_thermo option m0 must have d² − 1 = {n} components for d = {d}, got {given.shape[-1]}")
    for xi in given:
        w = np.linalg.eigvalsh(np.eye(d) / d + np.tensordot(xi, gell_mann(d), axes=1) / d)
        if w[0] < -1e-12:
            raise ValueError(f"mi_thermo option m0 is not a state (r = (1 + ξ·v)/d has eigenvalue {w[0]:.3g} < 0)")
    extra = max(0, opts.starts - len(given))
    return np.concatenate([given, initial_states(d, extra)]) if extra else given


def rate_unit(model: PIModel):
    """κ, the rate that sets the time unit of the transient and window: the total local jump
    rate Σ_n γ_n ‖L_n‖² (spectral norm; for LMG, γ); without local jumps the total collective
    rate Σ_m Γ_m ‖A_m‖²; 1 if that is zero (a purely Hamiltonian model)."""

    def total(terms):
        out = jnp.asarray(0.0)
        for t in terms:
            out = out + t.rate * float(np.linalg.norm(t.L.array if isinstance(t, LocalJump) else t.A.array, 2) ** 2)
        return out

    k = total(model.local) if model.local else total(model.collective)
    return jnp.where(k > 0, k, 1.0)


# --- the stand-in cycle: finite inputs for the branches a point does not take -----------------


@functools.lru_cache(maxsize=16)
def _stand_in(d: int):
    """A polynomial drift with a known stable limit cycle in n = d² − 1 dimensions: the LMG drift
    at 𝒥 = 3, h = 0, Γ = 2, γ = 1 (Eq. 17: m_z = 1/2, m_xy = 1/√2, ω = 3/2) on the σ_x, σ_y, σ_z
    components of levels (0, 1), every other component decaying at rate 1. Returns numpy
    (a, B, C, x0, T)."""
    with jax.ensure_compile_time_eval():
        lmg = PIModel(2, hamiltonian=[(3.0, sigma_x / 2, sigma_x / 2), (3.0, sigma_y / 2, sigma_y / 2)],
                      collective=[(2.0, sigma_minus)], local=[(1.0, sigma_plus)])
    terms = _terms(lmg)
    w = np.array([3.0, 3.0, 2.0, 1.0])  # the coefficients above
    f = [np.tensordot(w, x, axes=1) for x in _structure_tensors(tuple(_static(t) for t in terms), 2)]
    n = d * d - 1
    idx = np.array([0, d * (d - 1) // 2, d * (d - 1)])  # σ_x, σ_y, σ_z of levels 0, 1 among the v_l
    a, B, C = np.zeros(n), -np.eye(n), np.zeros((n, n, n))
    a[idx] = f[0]
    B[np.ix_(idx, idx)] = f[1]
    C[np.ix_(idx, idx, idx)] = f[2]
    x0 = np.zeros(n)
    x0[idx] = (math.sqrt(2.0 * 1.0 * (2.0 - 1.0)) / 2.0, 0.0, 0.5)
    return a, B, C, x0, 2 * math.pi / 1.5


def _stand_in_jax(n: int, d: int):
    a, B, C, x0, T = _stand_in(d)
    return DriftPolynomial(jnp.asarray(a), jnp.asarray(B), jnp.asarray(C)), jnp.asarray(x0), jnp.asarray(T)


def _select(pred, x, y):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), x, y)


# --- integration -------------------------------------------------------------------------------


def _scaled_drift(s, m, args):
    """dm/ds = T f(m): time rescaled to s = t/T ∈ [0, 1] so that T enters as a parameter."""
    f, T = args
    return T * f(m)


def _variational_field(s, y, args):
    """(m, Φ)' = T (f(m), Df(m) Φ): the flow and its Jacobian ∂m(s)/∂m(0)."""
    f, T = args
    m, phi = y
    return T * f(m), T * (f.jacobian(m) @ phi)


def _quadrature_field(s, y, args):
    """(m, q)' = (T f(m), (m, S(m))): q(1) holds the one-period means of m and S."""
    f, T, d = args
    m, _ = y
    return T * f(m), jnp.concatenate([m, unit_entropy(m, d)[None]])


def _integrate(field, y0, args, t1, rtol, atol, opts, max_steps, ts=None):
    """One adaptive Dopri8 solve of ``field`` on [0, t1] (or [0, ts[-1]], saving at ts)."""
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Dopri8(),
        0.0,
        t1 if ts is None else ts[-1],
        None,
        y0,
        args,
        saveat=diffrax.SaveAt(t1=True) if ts is None else diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=diffrax.ForwardMode() if opts.autodiff == "forward" else diffrax.RecursiveCheckpointAdjoint(),
        throw=False,
    )
    ys = sol.ys if ts is not None else jax.tree.map(lambda a: a[-1], sol.ys)
    return ys, sol.result == diffrax.RESULTS.successful


def relax(f: DriftPolynomial, unit, xi0, opts: ThermoOptions):
    """Drop the transient [0, t_transient], sample the window after it (loose tolerances).

    ``xi0`` (n,) or several starts (S, n): several are one ODE system (one solve, whose steps
    suit every start), much cheaper than a batch of solves. A solve that runs out of steps is
    retried with ``RETRY_STEPS_FACTOR`` times the budget (if it finished, the retry integrates a
    zero field: a handful of steps).
    Returns (ts, ms (n_window, ..., n), finished), ts in units of 1/κ from the window start.
    """
    ts = jnp.linspace(0.0, opts.t_window, opts.n_window)
    t_save = opts.t_transient + ts
    time = 1.0 / unit

    def solve(speed, budget):
        return _integrate(_scaled_drift, xi0, (f, speed * time), None, opts.relax_rtol, opts.relax_atol, opts,
                          budget, ts=t_save)

    ms, ok = solve(1.0, opts.max_steps)
    ok = ok & jnp.all(jnp.isfinite(ms))
    ms2, ok2 = solve(jnp.where(ok, 0.0, 1.0), RETRY_STEPS_FACTOR * opts.max_steps)
    ms = jnp.where(ok, ms, ms2)
    ok = ok | (ok2 & jnp.all(jnp.isfinite(ms2)))
    return ts * time, ms, ok


def fine_window(f: DriftPolynomial, ts, ms, finished, opts: ThermoOptions):
    """A second, finer window where the first samples an orbit too coarsely to time its returns.

    With size the attractor's radius in the window and v = max |f| along it, a sampling step
    dt > size/(2v) (fewer than ~4π samples per turn) aliases the returns. Then the state at the
    window's end is integrated on for n_window samples dt = size/(4v) apart. Returns (ts, ms,
    used); where it is not used the solve integrates a zero field (a handful of steps).
    """
    speed = jnp.max(jnp.linalg.norm(f(ms), axis=-1), axis=0)  # per start
    size = jnp.max(jnp.linalg.norm(ms - jnp.mean(ms, axis=0), axis=-1), axis=0)
    moving = (size > 1e-6) & (speed > 0)
    dt = jnp.min(jnp.where(moving, size / jnp.where(moving, speed, 1.0), jnp.inf))  # the fastest turning start
    used = finished & (ts[1] - ts[0] > 0.5 * dt)
    span = jnp.where(used, 0.25 * dt * (opts.n_window - 1), 1.0)
    ts_f = jnp.linspace(0.0, 1.0, opts.n_window)
    ms_f, ok = _integrate(_scaled_drift, jnp.where(finished, ms[-1], 0.0), (f, jnp.where(used, span, 0.0)), None,
                          opts.relax_rtol, opts.relax_atol, opts, opts.max_steps, ts=ts_f)
    return ts_f * span, ms_f, used & ok


# --- eigenvalues ------------------------------------------------------------------------------


def _max_real_eigenvalue(a):
    """max Re λ of a real n×n matrix: for n = 3 the closed-form (Cardano / trigonometric) roots
    of det(λ − a) = λ³ + a2 λ² + a1 λ + a0 (no eig); otherwise LAPACK (``linalg.eigvals``)."""
    if a.shape[-1] != 3:
        return jnp.max(jnp.real(linalg.eigvals(a)), axis=-1)
    a2 = -jnp.trace(a)
    a1 = 0.5 * (jnp.trace(a) ** 2 - jnp.trace(a @ a))
    a0 = -jnp.linalg.det(a)
    p = a1 - a2**2 / 3.0  # λ = t − a2/3: t³ + p t + q = 0
    q = 2.0 * a2**3 / 27.0 - a2 * a1 / 3.0 + a0
    disc = (q / 2.0) ** 2 + (p / 3.0) ** 3
    sq = jnp.sqrt(jnp.abs(disc))
    t1 = jnp.cbrt(-q / 2.0 + sq) + jnp.cbrt(-q / 2.0 - sq)  # the real root when disc > 0
    one_real = jnp.maximum(t1, -t1 / 2.0)  # complex pair has real part −t1/2
    r = jnp.sqrt(jnp.maximum(-p / 3.0, 0.0))
    c = jnp.clip(jnp.where(r > 0, -q / (2.0 * jnp.where(r > 0, r, 1.0) ** 3), 0.0), -1.0, 1.0)
    three_real = 2.0 * r * jnp.cos(jnp.arccos(c) / 3.0)
    return jnp.where(disc > 0, one_real, three_real) - a2 / 3.0


def _floquet_max(phi):
    """Largest |μ| over the non-trivial Floquet multipliers: the eigenvalues of the monodromy Φ
    without the trivial one (1, along the flow). For n = 3 the other two solve
    z² − (tr Φ − 1) z + det Φ = 0; otherwise the eigenvalue nearest 1 is dropped."""
    if phi.shape[-1] != 3:
        mu = linalg.eigvals(phi)
        trivial = jnp.argmin(jnp.abs(mu - 1.0), axis=-1)
        mod = jnp.where(jnp.arange(mu.shape[-1]) == trivial[..., None], 0.0, jnp.abs(mu))
        return jnp.max(mod, axis=-1)
    s = jnp.trace(phi) - 1.0
    p = jnp.linalg.det(phi)
    disc = s * s - 4.0 * p
    root = jnp.sqrt(jnp.abs(disc))
    real_max = jnp.maximum(jnp.abs(s + root), jnp.abs(s - root)) / 2.0
    return jnp.where(disc >= 0, real_max, jnp.sqrt(jnp.abs(p)))


# --- fixed point -----------------------------------------------------------------------------


def fixed_point(f: DriftPolynomial, m_guess, opts: ThermoOptions):
    """Newton on f(ξ*) = 0 from ``m_guess``; returns (ξ*, |f(ξ*)|, steps, growth rate).

    The growth rate is max Re λ over the eigenvalues of Df(ξ*): ξ* is stable iff it is < 0.
    """

    def body(state):
        m, k, _ = state
        step = jnp.linalg.solve(f.jacobian(m), f(m))
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, 0.0)
        return m - step, k + 1, jnp.max(jnp.abs(step))

    def cond(state):
        _, k, step = state
        return (k < opts.max_newton) & (step > 1e-14)

    m_guess = jnp.where(jnp.all(jnp.isfinite(m_guess)), m_guess, 0.0)
    m, k, _ = jax.lax.while_loop(cond, body, (m_guess, jnp.asarray(0), jnp.asarray(jnp.inf)))
    res = jnp.max(jnp.abs(f(m)))
    return m, res, k, _max_real_eigenvalue(f.jacobian(m))


# --- limit cycle -----------------------------------------------------------------------------


def return_times(ts, ms, max_returns: int):
    """Candidate periods: returns of the sampled trajectory to the plane through ms[0] ⟂ its velocity.

    The first ``max_returns`` upward crossings g: − → + of g(t) = n·(m(t) − m(0)) that land
    within a quarter of the attractor's size of m(0), in time order (a crossing elsewhere on a
    folded orbit does not count; after a period doubling the k-th return is the period).
    Returns (T_k, count), each T_k linearly interpolated between samples.
    """
    x_ref = ms[0]
    n = _unit(ms[1] - ms[0])
    g = (ms - x_ref) @ n
    up = (g[:-1] < 0) & (g[1:] >= 0)
    frac = g[:-1] / jnp.where(up, g[:-1] - g[1:], 1.0)
    hit = ms[:-1] + frac[:, None] * (ms[1:] - ms[:-1])
    dist = jnp.linalg.norm(hit - x_ref, axis=-1)
    size = jnp.max(jnp.linalg.norm(ms - jnp.mean(ms, axis=0), axis=-1))
    ok = up & (dist <= 0.25 * size)
    (k,) = jnp.nonzero(ok, size=max_returns, fill_value=0)
    return ts[k] + frac[k] * (ts[k + 1] - ts[k]), jnp.minimum(jnp.sum(ok), max_returns)


def _shooting_system(f, x_ref, normal, opts, y):
    """F(x0, T) = (φ_T(x0) − x0, n·(x0 − x_ref)) and its Jacobian [[Φ − 1, f(φ_T)], [nᵀ, 0]]."""
    n = x_ref.shape[-1]
    x0, T = y[:n], y[n]
    (xT, phi), ok = _integrate(_variational_field, (x0, jnp.eye(n)), (f, T), 1.0, opts.rtol, opts.atol, opts,
                               opts.max_orbit_steps)
    F = jnp.concatenate([xT - x0, (normal @ (x0 - x_ref))[None]])
    top = jnp.concatenate([phi - jnp.eye(n), f(xT)[:, None]], axis=1)
    J = jnp.concatenate([top, jnp.concatenate([normal, jnp.zeros(1)])[None]], axis=0)
    return F, J, phi, ok


def shoot(f: DriftPolynomial, x_ref, T_guess, opts: ThermoOptions):
    """Newton shooting for the periodic orbit through the plane n·(x − x_ref) = 0, n ∝ f(x_ref).

    Returns (y = (x0, T), Jacobian of F at y, residual max|F| at y, Newton steps, max |Floquet
    multiplier|, n).
    """
    n = x_ref.shape[-1]
    normal = _unit(f(x_ref))
    system = functools.partial(_shooting_system, f, x_ref, normal, opts)

    def cond(state):
        *_, k, done = state
        return (k < opts.max_newton) & ~done

    def body(state):
        y, *_, k, _ = state
        F, J, phi, ok = system(y)
        res = jnp.where(ok, jnp.max(jnp.abs(F)), jnp.nan)
        done = (res <= opts.newton_tol) | ~jnp.isfinite(res)
        step = jnp.where(done, 0.0, jnp.linalg.solve(J, F))
        # damped: |ΔT| ≤ T/2 and |Δx0| ≤ 1/2 keep the orbit solve short and inside the state space
        scale = jnp.minimum(1.0, 0.5 / jnp.maximum(jnp.abs(step[n]) / y[n], jnp.max(jnp.abs(step[:n]))))
        y_new = y - jnp.where(jnp.isfinite(scale), scale, 0.0) * step
        return y_new, y, J, phi, res, k + 1, done

    y0 = jnp.concatenate([x_ref, T_guess[None]])
    init = (y0, y0, jnp.eye(n + 1), jnp.eye(n), jnp.asarray(jnp.inf), jnp.asarray(0), jnp.asarray(False))
    _, y, J, phi, res, k, _ = jax.lax.while_loop(cond, body, init)
    return y, J, res, k - 1, _floquet_max(phi), normal


def _unit(v):
    return v / jnp.linalg.norm(v)


def find_cycle(f: DriftPolynomial, x_ref, periods, count, opts: ThermoOptions):
    """Shoot from each candidate period in turn until the orbit is an attractor.

    Accepted: Newton converged (max|F| ≤ newton_tol), every non-trivial Floquet multiplier
    inside |μ| < 1 − MARGINAL_MULTIPLIER, and a non-degenerate orbit (|f(x0)| T > 1e-6: not a
    fixed point with an arbitrary T). An unstable orbit (e.g. the period-1 orbit after a period
    doubling, or one inside a chaotic set) moves on to the next return. ``count`` = 0: nothing
    is tried (NaN outputs, not accepted).

    Returns (y, Jacobian, residual, Newton steps in all, Floquet max, n, accepted).
    """
    n = x_ref.shape[-1]

    def attempt(k):
        y, jac, res, steps, fmax, normal = shoot(f, x_ref, periods[k], opts)
        arc = jnp.linalg.norm(f(y[:n])) * y[n]  # ~ 2π × amplitude; 0 on a fixed point
        ok = (res <= opts.newton_tol) & (fmax < 1.0 - MARGINAL_MULTIPLIER) & (arc > 1e-6)
        return (y, jac, res, steps, fmax, normal), ok

    def cond(state):
        k, _, ok, _ = state
        return (k < count) & ~ok

    def body(state):
        k, total, _, _ = state
        out, ok = attempt(k)
        return k + 1, total + out[3], ok, out

    out0, _ = jax.eval_shape(attempt, 0)
    blank = jax.tree.map(lambda a: jnp.full(a.shape, jnp.nan, a.dtype) if a.dtype.kind == "f" else jnp.zeros(a.shape, a.dtype), out0)
    _, total, ok, out = jax.lax.while_loop(cond, body, (jnp.asarray(0), jnp.asarray(0), jnp.asarray(False), blank))
    y, jac, res, _, fmax, normal = out
    return y, jac, res, total, fmax, normal, ok


def cycle_average(f: DriftPolynomial, x0, T, d: int, opts: ThermoOptions):
    """(ξ̄, mean S) over exactly one period from (x0, T), and whether that solve finished.

    d = 2: quadratures integrated along the orbit. d > 2: the trapezoidal rule on
    ``CYCLE_SAMPLES`` equispaced points of the orbit (exponentially accurate for a smooth
    periodic integrand), so the d×d entropies are one batched eigenvalue call, not one per
    solver stage.
    """
    n = x0.shape[-1]
    if d == 2:
        (_, q), ok = _integrate(_quadrature_field, (x0, jnp.zeros(n + 1)), (f, T, d), 1.0, opts.rtol, opts.atol,
                                opts, opts.max_orbit_steps)
        return q[:n], q[n], ok
    s = jnp.linspace(0.0, 1.0, CYCLE_SAMPLES + 1)
    xs, ok = _integrate(_scaled_drift, x0, (f, T), None, opts.rtol, opts.atol, opts, opts.max_orbit_steps, ts=s)
    xs = jnp.concatenate([x0[None], xs[1:-1]])
    return jnp.mean(xs, axis=0), jnp.mean(unit_entropy(xs, d)), ok


def _implicit_orbit(f, y_star, jac_star, x_ref, normal, opts):
    """y* carrying dy*/dθ = −F_y⁻¹ F_θ (implicit function theorem).

    Written as y ← y − F_y⁻¹ (F(y, θ) − F(y, θ)|_frozen) from y = y* with F_y frozen at y*:
    the value stays y* exactly, and each step makes one more order of derivatives that of the
    root of F(y, θ) = 0 (one step: first derivatives; a second step, taken for
    ``autodiff="forward"``, adds the F_yy, F_yθ terms of the second). Only F over one period
    is differentiated, never the transient or the Newton iterations.
    """
    n = x_ref.shape[-1]
    J = jax.lax.stop_gradient(jac_star)
    y = y_star
    for _ in range(2 if opts.autodiff == "forward" else 1):
        x0, T = y[:n], y[n]
        xT, _ = _integrate(_scaled_drift, x0, (f, T), 1.0, opts.rtol, opts.atol, opts, opts.max_orbit_steps)
        F = jnp.concatenate([xT - x0, (normal @ (x0 - x_ref))[None]])
        y = y - jnp.linalg.solve(J, F - jax.lax.stop_gradient(F))
    return y


# --- the fallback ----------------------------------------------------------------------------


@jax.custom_jvp
def _nan_derivative(x, anchor, flag):
    """x, with derivative NaN·d(anchor) where ``flag`` and dx elsewhere.

    Used for the smooth-window fallback and unfinished solves: a finite-window average has no
    converged derivative (SPEC §2), so its gradient is NaN rather than silently zero.
    ``anchor`` is a scalar that depends on every model parameter.
    """
    return x


@_nan_derivative.defjvp
def _nan_derivative_jvp(primals, tangents):
    x, anchor, flag = primals
    dx, d_anchor, _ = tangents
    return x, jnp.where(flag, 0.0, dx) + jnp.where(flag, jnp.nan, 0.0) * d_anchor


def window_average(ts, ms, d: int):
    """Smooth-window estimate of (ξ̄, mean S) with the bump w(u) = exp(−1/(u(1−u))), u = t/t_w.

    For a periodic or quasi-periodic signal the bias decays faster than any power of 1/t_w.
    """
    u = (ts - ts[0]) / (ts[-1] - ts[0])
    inside = (u > 0) & (u < 1)
    safe = jnp.where(inside, u * (1 - u), 1.0)
    w = jnp.where(inside, jnp.exp(-1.0 / safe), 0.0)
    w = w / jnp.sum(w)
    return w @ ms, w @ unit_entropy(ms, d)


# --- one start: where does it go? --------------------------------------------------------------


class _Start(eqx.Module):
    """What one initial state reaches (no gradient): the classification and the orbit data."""

    kind: jax.Array
    finished: jax.Array
    m_fb: jax.Array  # smooth-window mean
    s_fb: jax.Array  # smooth-window mean entropy
    m_fp: jax.Array
    fp_res: jax.Array
    fp_steps: jax.Array
    growth: jax.Array
    try_cycle: jax.Array
    periods: jax.Array  # candidate periods (return times)
    count: jax.Array
    window: jax.Array  # the sampled window (n_window, n)
    y: jax.Array  # (x0, T) of the accepted orbit
    jac: jax.Array
    res: jax.Array
    steps: jax.Array
    fmax: jax.Array
    x_ref: jax.Array
    normal: jax.Array


def _explore(f: DriftPolynomial, ts, ms, finished, d: int, opts: ThermoOptions, ts_f, ms_f, use_fine) -> _Start:
    """From a start's sampled window: test for a fixed point and collect candidate periods (from
    the fine window ``ms_f`` where ``use_fine``)."""
    ms = jnp.where(finished, ms, jnp.nan)
    m_fb, s_fb = window_average(ts, ms, d)

    # fixed point: stable, and the trajectory contracts towards it over the window
    m_fp, fp_res, fp_steps, growth = fixed_point(f, m_fb, opts)
    dist = jnp.linalg.norm(ms - m_fp, axis=-1)
    half = opts.n_window // 2
    contracting = (jnp.max(dist[half:]) <= jnp.max(dist[:half])) | (jnp.max(dist) < 1e-6)
    is_fp = finished & (growth <= MARGINAL_GROWTH) & (fp_res < 1e-10) & contracting

    ts_c = jnp.where(use_fine, ts_f, ts)
    ms_c = jnp.where(use_fine, ms_f, jnp.where(finished, ms, 0.0))
    periods, count = return_times(ts_c, ms_c, opts.max_returns)
    try_cycle = finished & ~is_fp & (count > 0)
    n = f.n
    nan = jnp.asarray(jnp.nan)
    return _Start(jnp.where(is_fp, FIXED_POINT, NOT_RESOLVED), finished, m_fb, s_fb, m_fp, fp_res, fp_steps, growth,
                  try_cycle, periods, count, ms_c, jnp.full(n + 1, nan), jnp.eye(n + 1), nan, jnp.asarray(0), nan,
                  jnp.full(n, nan), jnp.full(n, nan))


def _find_orbit(f: DriftPolynomial, start: _Start, d: int, opts: ThermoOptions, active) -> _Start:
    """Newton shooting from the window start where ``active`` (else nothing is tried: the
    stand-in cycle's finite inputs, count 0)."""
    active = active & start.try_cycle
    s_f, s_x, s_T = _stand_in_jax(f.n, d)
    x_ref = jnp.where(active, start.window[0], s_x)
    periods = jnp.where(active, start.periods, s_T)
    y, jac, res, steps, fmax, normal, accepted = find_cycle(_select(active, f, s_f), x_ref, periods,
                                                            jnp.where(active, start.count, 0), opts)
    kind = jnp.where(active & accepted, LIMIT_CYCLE, start.kind)
    return eqx.tree_at(lambda s: (s.kind, s.y, s.jac, s.res, s.steps, s.fmax, s.x_ref, s.normal), start,
                       (kind, y, jac, res, steps, fmax, x_ref, normal))


def _on_window(a, b):
    """Whether every 8th sample of window ``a`` lies within one sampling step of window ``b``
    (the same attractor, sampled at other times)."""
    step = jnp.max(jnp.linalg.norm(jnp.diff(b, axis=0), axis=-1))
    gaps = jnp.min(jnp.linalg.norm(a[::8, None, :] - b[None, :, :], axis=-1), axis=1)
    return jnp.all(gaps <= step + 1e-9)


def _mi_of(f, d, start: _Start, opts, implicit: bool):
    """(I_M/N, ξ̄, period, finished) of a start's orbit: exact one-period averages on a cycle
    (through the implicit orbit step if ``implicit``); elsewhere the stand-in with T = 0 (a few
    trivial steps; values unused)."""
    n = f.n
    is_cycle = start.kind == LIMIT_CYCLE
    s_f, s_x, _ = _stand_in_jax(n, d)
    avg_f = _select(is_cycle, f, s_f)
    y_star = jax.lax.stop_gradient(jnp.where(is_cycle, start.y, jnp.concatenate([s_x, jnp.zeros(1)])))
    if implicit:
        jac = jnp.where(is_cycle, start.jac, jnp.eye(n + 1))
        x_ref = jnp.where(is_cycle, start.x_ref, s_x)
        normal = jnp.where(is_cycle, start.normal, _unit(s_f(s_x)))
        y_star = _implicit_orbit(avg_f, y_star, jac, x_ref, normal, opts)
    m_cyc, s_cyc, avg_ok = cycle_average(avg_f, y_star[:n], y_star[n], d, opts)
    return unit_entropy(m_cyc, d) - s_cyc, m_cyc, y_star[n], avg_ok


def _values(start: _Start, mi_cyc, m_cyc, T_cyc, avg_ok, d):
    """(kind, mi, ξ̄, period, finished, unresolved) of a start from its classification and orbit
    averages: 0 at a fixed point, the orbit average on a cycle, else the window estimate (NaN if
    a stage did not finish)."""
    is_fp = start.kind == FIXED_POINT
    is_cycle = start.kind == LIMIT_CYCLE
    finished = start.finished & (avg_ok | ~is_cycle)
    mi_fb = unit_entropy(start.m_fb, d) - start.s_fb
    mi = jnp.where(finished, jnp.where(is_fp, 0.0, jnp.where(is_cycle, mi_cyc, mi_fb)), jnp.nan)
    m_mean = jnp.where(is_fp, start.m_fp, jnp.where(is_cycle, m_cyc, start.m_fb))
    kind = jnp.where(finished, start.kind, NOT_RESOLVED)
    period = jnp.where(is_cycle & finished, T_cyc, jnp.nan)
    return kind, mi, m_mean, period, finished, ~(is_fp | is_cycle) | ~finished


# --- the result --------------------------------------------------------------------------------


class ThermoResult(eqx.Module):
    """lim_{N→∞} I_M/N and how it was obtained (a pytree; batched under vmap).

    The scalar fields describe the attractor reached from the first initial state (``m0``); the
    ``start_*`` fields (leading axis: the S initial states) every start's, and ``n_attractors``
    how many distinct attractors the starts reached (``attractors()`` lists them).

    Attributes:
        mi: I_M/N in the limit N → ∞ (Eq. 13); NaN if a stage did not finish.
        kind: 0 fixed point, 1 limit cycle, 2 not resolved (smooth-window fallback or NaN).
        period: period T of the limit cycle (nan otherwise).
        m_mean: attractor-mean generalised Bloch vector ξ̄ (for d = 2, m̄), shape (d² − 1,).
        residual: max |F| of the shooting equations (cycle) or |f(ξ*)| (fixed point).
        newton_steps: Newton iterations taken (shooting, or fixed point).
        floquet_max: largest modulus of the non-trivial Floquet multipliers (nan if no cycle).
        growth_rate: largest real part of the eigenvalues of Df(ξ*) at the fixed point candidate.
        t_transient: integration time dropped as transient.
        converged: True unless kind is "not resolved".
        finished: False if a stage (transient, orbit average) ran out of steps: ``mi`` is NaN.
        n_attractors: number of distinct attractors reached from the starts.
        start_attractor: for each start, the index of the first start that reached the same attractor.
        start_kind, start_mi, start_period, start_m_mean: each start's attractor.
        starts: the initial states, shape (S, d² − 1).
    """

    mi: jax.Array
    kind: jax.Array
    period: jax.Array
    m_mean: jax.Array
    residual: jax.Array
    newton_steps: jax.Array
    floquet_max: jax.Array
    growth_rate: jax.Array
    t_transient: jax.Array
    converged: jax.Array
    finished: jax.Array
    n_attractors: jax.Array
    start_attractor: jax.Array
    start_kind: jax.Array
    start_mi: jax.Array
    start_period: jax.Array
    start_m_mean: jax.Array
    starts: jax.Array

    @property
    def kind_name(self) -> str:
        """'fixed point', 'limit cycle' or 'not resolved' (single result)."""
        return KIND_NAMES[int(self.kind)]

    @property
    def has_period(self) -> bool:
        """Whether a period was found (single result)."""
        return bool(int(self.kind) == LIMIT_CYCLE)

    def attractors(self) -> list[dict]:
        """The distinct attractors (single result), the one ``mi`` describes first: each a dict
        with kind, mi, period, m_mean, fraction (of the starts reaching it) and starts (indices)."""
        label = np.asarray(self.start_attractor)
        out = []
        for j in sorted(set(label.tolist()), key=lambda j: (j != label[0], j)):
            members = np.flatnonzero(label == j)
            out.append({
                "kind": KIND_NAMES[int(self.start_kind[j])],
                "mi": _num(self.start_mi[j]),
                "period": _num(self.start_period[j]),
                "m_mean": [float(v) for v in np.asarray(self.start_m_mean[j])],
                "fraction": members.size / label.size,
                "starts": members.tolist(),
            })
        return out

    def diagnostics_dict(self) -> dict:
        """The convergence diagnostics as a JSON-able dict (single result)."""
        return {
            "kind": int(self.kind),
            "converged": bool(self.converged),
            "finished": bool(self.finished),
            "residual": _num(self.residual),
            "newton_steps": int(self.newton_steps),
            "floquet_max": _num(self.floquet_max),
            "growth_rate": _num(self.growth_rate),
            "t_transient": _num(self.t_transient),
            "n_attractors": int(self.n_attractors),
        }


def _num(x):
    v = float(x)
    return v if math.isfinite(v) else None


def _same_attractor(kind_a, kind_b, m_a, m_b, mi_a, mi_b, T_a, T_b):
    """Two starts reached the same attractor: same kind and the same fixed point (|Δξ| ≤ 1e-6),
    or the same cycle (period to 1e-6 relative, ξ̄ to 1e-6, I_M/N to 1e-8), or, not resolved,
    window means and estimates within 0.05 (or both unfinished)."""
    dm = jnp.max(jnp.abs(m_a - m_b))
    fp = dm <= 1e-6
    cyc = (jnp.abs(T_a - T_b) <= 1e-6 * jnp.abs(T_a)) & (dm <= 1e-6) & (jnp.abs(mi_a - mi_b) <= 1e-8)
    nan_a, nan_b = jnp.isnan(mi_a), jnp.isnan(mi_b)
    unres = jnp.where(nan_a | nan_b, nan_a & nan_b, (dm <= 0.05) & (jnp.abs(mi_a - mi_b) <= 0.05))
    same = jnp.where(kind_a == FIXED_POINT, fp, jnp.where(kind_a == LIMIT_CYCLE, cyc, unres))
    return (kind_a == kind_b) & same


def _mi_thermo_single(f: DriftPolynomial, unit, anchor, d: int, starts, opts: ThermoOptions) -> ThermoResult:
    f0 = jax.lax.stop_gradient(f)
    u0 = jax.lax.stop_gradient(unit)
    S = starts.shape[0]

    # every start relaxed in one solve, then classified (vmapped over the starts)
    ts, ms, finished = relax(f0, u0, starts, opts)
    ts_f, ms_f, use_fine = fine_window(f0, ts, ms, finished, opts)
    explored = jax.vmap(lambda w, w_f: _explore(f0, ts, w, finished, d, opts, ts_f, w_f, use_fine),
                        in_axes=1)(ms, ms_f)
    # a window on the first start's attractor inherits its classification: only the others are shot
    first_window = explored.window[0]
    on_first = jax.vmap(lambda w: _on_window(w, first_window))(explored.window)
    inherit = ((jnp.arange(S) > 0) & (explored.kind != FIXED_POINT) & (explored.kind[0] != FIXED_POINT) & on_first
               & finished)
    def orbit_and_average(args):
        # one start at a time (lax.map: one compiled copy, no batching overhead); where nothing is
        # to be shot or averaged this is a handful of trivial steps. The implicit orbit step
        # carries the first start's gradient (the others' values are cut from it below).
        start, active = args
        orbit = _find_orbit(f0, start, d, opts, active)
        return orbit, _values(orbit, *_mi_of(f, d, orbit, opts, implicit=True), d)

    orbits, (kind, mi, m_mean, period, fin, unresolved) = jax.lax.map(orbit_and_average, (explored, ~inherit))
    # the first start's value: a window estimate, or unfinished, has a NaN derivative (SPEC §2)
    mi = mi.at[0].set(_nan_derivative(mi[0], anchor, unresolved[0]))
    p = [x[0] for x in (kind, mi, m_mean, period)]
    all_kind, all_mi, all_m, all_T = (
        jnp.where(inherit.reshape(inherit.shape + (1,) * (x.ndim - 1)), y, jax.lax.stop_gradient(x))
        for x, y in zip((kind, mi, m_mean, period), jax.lax.stop_gradient(p)))
    kind, mi, m_mean, period, finished = p + [fin[0]]
    first = jax.tree.map(lambda x: x[0], orbits)
    same = jax.vmap(lambda *a: jax.vmap(lambda *b: _same_attractor(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3]))(
        all_kind, all_m, all_mi, all_T))(all_kind, all_m, all_mi, all_T)
    label = jnp.argmax(same | jnp.eye(S, dtype=bool), axis=1)  # the first start reaching the same attractor
    n_attr = jnp.sum(label == jnp.arange(S))

    is_fp = first.kind == FIXED_POINT
    return ThermoResult(
        mi=mi,
        kind=kind,
        period=period,
        m_mean=m_mean,
        residual=jnp.where(is_fp, first.fp_res, first.res),
        newton_steps=jnp.where(is_fp, first.fp_steps, first.steps),
        floquet_max=jnp.where(first.try_cycle, first.fmax, jnp.nan),
        growth_rate=first.growth,
        t_transient=jnp.asarray(opts.t_transient) / unit,
        converged=kind != NOT_RESOLVED,
        finished=finished,
        n_attractors=n_attr,
        start_attractor=label,
        start_kind=all_kind,
        start_mi=all_mi,
        start_period=all_T,
        start_m_mean=all_m,
        starts=jnp.asarray(starts),
    )


# --- the entry point -------------------------------------------------------------------------


def _describe_point(names, values, i):
    return ", ".join(f"{k}={np.atleast_1d(v)[i] if np.ndim(v) else v:.6g}" for k, v in zip(names, values))


def _warn(names, kind, finished, residual, floquet, n_attr, *values):
    kind = np.atleast_1d(np.asarray(kind))
    finished = np.atleast_1d(np.asarray(finished))
    n_attr = np.atleast_1d(np.asarray(n_attr))
    values = [np.broadcast_to(np.atleast_1d(np.asarray(v)), kind.shape).ravel() for v in values]
    kind, finished, n_attr = kind.ravel(), finished.ravel(), n_attr.ravel()
    residual, floquet = np.atleast_1d(residual).ravel(), np.atleast_1d(floquet).ravel()
    bad = np.flatnonzero(~finished)
    if bad.size:
        i = bad[0]
        warnings.warn(
            f"mi_thermo: attractor not resolved at {bad.size} point(s), e.g. {_describe_point(names, values, i)}: "
            "the integration did not finish (ran out of steps even with a larger budget); I_M/N there is NaN",
            RuntimeWarning, stacklevel=2)
    bad = np.flatnonzero((kind == NOT_RESOLVED) & finished)
    if bad.size:
        i = bad[0]
        warnings.warn(
            f"mi_thermo: attractor not resolved at {bad.size} point(s), e.g. {_describe_point(names, values, i)} "
            f"(shooting residual {residual[i]:.3g}, max Floquet multiplier {floquet[i]:.3g}); "
            "I_M/N there is a smooth-window average (kind=2) and its derivative is NaN",
            RuntimeWarning, stacklevel=2)
    multi = np.flatnonzero(n_attr > 1)
    if multi.size:
        i = multi[0]
        warnings.warn(
            f"mi_thermo: {n_attr[i]} coexisting attractors at {multi.size} point(s), e.g. "
            f"{_describe_point(names, values, i)}; mi is the attractor reached from the first initial state "
            "(m0); ThermoResult.attractors() lists them all", RuntimeWarning, stacklevel=2)


def _labels(point):
    """(names, values) identifying a point in warnings: a family's parameters, else the
    model's coefficients and rates."""
    if isinstance(point, Family):
        return tuple(point.PARAMETERS), [getattr(point, p) for p in point.PARAMETERS]
    model = point
    names, values = [], []
    for kind in ("hamiltonian", "collective", "local"):
        for k, t in enumerate(getattr(model, kind)):
            c = t.c if kind == "hamiltonian" else t.rate
            names.append(f"{kind}[{k}]")
            values.append(c)
    return tuple(names), values


_LABELS: list = []  # parameter names of the points warned about, by index (kept out of the jit cache key)


def _label_index(names) -> int:
    if names not in _LABELS:
        _LABELS.append(names)
    return _LABELS.index(names)


def _warn_labelled(index, *args):
    _warn(_LABELS[int(np.ravel(index)[0])], *args)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _mi_thermo_jit(f: DriftPolynomial, unit, anchor, d, opts: ThermoOptions, starts_key) -> ThermoResult:
    # the model enters only through its drift's coefficients (a, B, C) and κ: every model of the
    # same d shares one compilation, free of host callbacks (so the persistent cache keeps it)
    with static_checks_only():
        return _mi_thermo_traced(f, unit, anchor, d, opts, starts_key)


def _mi_thermo_traced(f, unit, anchor, d, opts, starts_key):
    starts = jnp.asarray(np.asarray(starts_key, dtype=float))
    shape = unit.shape
    if shape == ():
        return _mi_thermo_single(f, unit, anchor, d, starts, opts)
    flat = jax.tree.map(lambda a, k: a.reshape((-1,) + a.shape[a.ndim - k:]), (f, unit, anchor),
                        (DriftPolynomial(1, 2, 3), 0, 0))
    res = jax.vmap(_mi_thermo_single, in_axes=(0, 0, 0, None, None, None))(*flat, d, starts, opts)
    return jax.tree.map(lambda a: a.reshape(shape + a.shape[1:]), res)


def _report(res: ThermoResult, names, values) -> ThermoResult:
    """Warn about unresolved points and coexisting attractors: in Python on concrete results,
    through a host callback tied to the result inside traced code."""
    flags = (res.kind, res.finished, res.residual, res.floquet_max, res.n_attractors)
    if all(_is_concrete(x) for x in jax.tree.leaves((flags, values))):
        _warn(names, *flags, *values)
        return res
    shape = res.kind.shape
    # host_check: no declared effect (batched while_loops accept it), safe on several host devices
    return host_check(res, _warn_labelled, jnp.broadcast_to(_label_index(names), shape), *flags,
                      *(jnp.broadcast_to(v, shape) for v in values))


def mi_thermo(model, **options) -> ThermoResult:
    """lim_{N→∞} I_M/N (Eq. 13): S(r̄) − mean_t S(r(t)) along the attractor of the mean-field drift.

    Works for any ``PIModel`` or family point (e.g. ``LMG``) under ``jit``, ``vmap`` and
    ``jax.grad`` (w.r.t. every coefficient and rate); with ``autodiff="forward"`` under
    ``jax.jvp``/``jacfwd`` instead, to second order (Hessians as ``jacfwd(jacfwd(f))``). A
    batched model (array leaves) is mapped over directly. Fixed point ⇒ ``mi`` = 0 with zero
    gradient. Limit cycle ⇒ exact one-period averages on the Newton-shooting orbit, gradients by
    implicit differentiation. Otherwise ``kind`` = 2 ("not resolved"), a RuntimeWarning is
    issued, and ``mi`` is a smooth-window average with a NaN gradient — or NaN if a stage did not
    finish (``finished`` False).

    Several initial states are followed (``starts``, default 4: ``m0`` then Haar-random states
    of a fixed seed, ``initial_states``); ``mi`` is the attractor reached from the first (``m0``).
    When the starts reach more than one attractor, ``n_attractors`` > 1, a RuntimeWarning says
    so, and ``attractors()`` lists each with its kind, I_M/N and the fraction of starts.

    Args:
        model: a PIModel or family point (scalar or batched coefficients).
        **options: fields of :class:`ThermoOptions` (tolerances, transient length, starts, ...).

    Returns:
        ThermoResult with ``mi``, ``kind``, ``period``, ``m_mean``, the attractors and diagnostics.
    """
    point = model
    model = as_model(point)
    unknown = set(options) - {f.name for f in dataclasses.fields(ThermoOptions)}
    if unknown:
        raise ValueError(f"mi_thermo: unknown option(s) {sorted(unknown)}")
    opts = ThermoOptions(**options)
    starts = _starts(model.d, opts)
    shape = model.shape
    f = jax.tree.map(lambda a, k: jnp.broadcast_to(a, shape + a.shape[a.ndim - k:]), drift_polynomial(model),
                     DriftPolynomial(1, 2, 3))
    unit = jnp.broadcast_to(rate_unit(model), shape)
    anchor = jnp.broadcast_to(sum(jax.tree.leaves(model)), shape)
    res = _mi_thermo_jit(f, unit, anchor, model.d, opts, tuple(map(tuple, starts.tolist())))
    return _report(res, *_labels(point))
