"""lim_{N→∞} I_M/N from the attractors of the mean-field drift and their symmetry orbits
(Eq. 13 in its Holevo form, docs/theory.md §7):

    lim_{N→∞} I_M/N = S(⟨r⟩) − ⟨S(r)⟩,

⟨·⟩ the average over time along the attractor and over its orbit under the model's symmetries
(``permjax.models.symmetries``), r = (1 + ξ·v)/d (Eq. 3), S the von Neumann entropy (for d = 2,
S = b(|m|), Eq. 19). For one cycle and no symmetry this is Eq. 13; a fixed point alone gives 0, a
ring of fixed points or a pair exchanged by a symmetry a positive value.

The pipeline (``permjax.meanfield.attractors`` holds the stages): every initial state is relaxed
and classified as a fixed point, a stable cycle (Newton shooting), or neither; the last are
averaged over a long window (chaotic or quasi-periodic, with a block-average error bar). The
starts' attractors are grouped into symmetry orbits by their orbit-averaged invariants (Pξ̄, S̄,
period). One orbit: its value, with gradients through the first start's orbit (implicit function
theorem; NaN for an ergodic average). Several orbits not related by a symmetry: "multistable",
``mi`` NaN — the finite-N weights scale like exp(−N ΔΦ) with a quasi-potential the mean field does
not give, so none is picked silently; ``attractors()`` lists each orbit's value.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import programs
from ..host import static_checks_only
from ..models.families import Family
from ..models.pimodel import PIModel, as_model, is_concrete
from ..models.symmetries import Symmetries, sym_digest, symmetries
from .attractors import (CHAOTIC, FIXED_POINT, KIND_NAMES, LIMIT_CYCLE, MARGINAL_GROWTH, MULTISTABLE, NOT_RESOLVED,
                         QUASI_PERIODIC, cycle_average, ergodic_average, ergodic_estimate, find_cycle, fine_window,
                         fixed_point, implicit_fixed_point, implicit_orbit, nan_derivative, relax, return_times, select,
                         stand_in, unit_vector, window_average)
from .drift import check_fits, drift_form, make_drift
from .orbits import OrbitData, fixed_point_value, holevo, orbit_data, orbit_size
from .states import check_state, default_m0, initial_states, rate_unit, unit_entropy

DEFAULT_STARTS = 4  # initial states per model: m0, then the default spread (``initial_states``)


@dataclasses.dataclass(frozen=True)
class ThermoOptions:
    """Numerical options of ``mi_thermo`` (times in units of 1/κ, κ = ``rate_unit(model)``;
    for LMG κ = γ).

    Attributes:
        rtol, atol: tolerances of the orbit solves (shooting, quadratures).
        relax_rtol, relax_atol: tolerances of the transient, window and ergodic average.
        t_transient: integration time dropped as transient.
        t_window: sampled window after the transient (period guess).
        n_window: samples in the window.
        m0: the first initial state ξ0 (generalised Bloch vector, d² − 1 numbers), or several
            (a tuple of them); ``None``: ``default_m0(d)`` (for d = 2, (0.1, 0, 0.99), off the
            m = (0, 0, 1) fixed point of LMG at h = 0).
        starts: number of initial states in all: the given ``m0`` first, then the default
            spread of ``initial_states`` up to this count (more ``m0`` than this: all of them).
        newton_tol: shooting converged when max |F(x0, T)| < newton_tol.
        max_newton: Newton iterations at most (per shooting attempt, and fixed point).
        max_returns: shooting attempts at most, from the 1st, 2nd, ... return (period doublings).
        max_steps: ODE steps at most for the transient and window; a transient that runs out is
            retried once with ``RETRY_STEPS_FACTOR`` times as many, then "not resolved" (NaN).
        max_orbit_steps: ODE steps at most for one period (a longer orbit is not resolved).
        t_ergodic: length of the ergodic average of an attractor with no stable cycle.
        n_blocks: blocks of that average (the jackknife error bar).
        max_ergodic_steps: ODE steps at most for the ergodic average.
        lyapunov_threshold: an ergodic attractor is "chaotic" when its largest Lyapunov exponent
            over the window exceeds this (in units of κ), else "quasi-periodic".
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
    t_ergodic: float = 2000.0
    n_blocks: int = 20
    max_ergodic_steps: int = 1_000_000
    lyapunov_threshold: float = 0.01
    autodiff: str = "reverse"

    def __post_init__(self):
        for name in ("rtol", "atol", "relax_rtol", "relax_atol", "t_transient", "t_window", "newton_tol", "t_ergodic",
                     "lyapunov_threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"mi_thermo option {name} must be a positive finite number, got {v!r}")
        for name, lo in (("n_window", 16), ("max_newton", 1), ("max_returns", 1), ("max_steps", 16),
                         ("max_orbit_steps", 16), ("starts", 1), ("n_blocks", 4), ("max_ergodic_steps", 16)):
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


def _starts(d: int, opts: ThermoOptions) -> np.ndarray:
    """The initial states (S, n): ``m0`` (or its default) first, then the default spread."""
    n = d * d - 1
    given = default_m0(d)[None] if opts.m0 is None else np.atleast_2d(np.asarray(opts.m0, float))
    if given.shape[-1] != n:
        raise ValueError(f"mi_thermo option m0 must have d² − 1 = {n} components for d = {d}, got {given.shape[-1]}")
    for xi in given:
        check_state(xi, d, "mi_thermo option m0")
    extra = max(0, opts.starts - len(given))
    return np.concatenate([given, initial_states(d, extra)]) if extra else given


# --- one start: where does it go? --------------------------------------------------------------


class _Start(eqx.Module):
    """What one initial state reaches (no gradient): the classification and the orbit data."""

    kind: jax.Array
    finished: jax.Array
    m_fb: jax.Array  # smooth-window mean (the fixed-point Newton guess)
    m_fp: jax.Array
    fp_res: jax.Array
    fp_steps: jax.Array
    growth: jax.Array
    try_cycle: jax.Array
    periods: jax.Array  # candidate periods (return times)
    count: jax.Array
    window: jax.Array  # the sampled window (n_window, n)
    y: jax.Array  # (x0, T) of the accepted orbit
    pinv: jax.Array  # pseudo-inverse of the shooting Jacobian there
    res: jax.Array
    steps: jax.Array
    fmax: jax.Array
    x_ref: jax.Array
    normal: jax.Array


def _explore(f, A, ts, ms, finished, d: int, opts: ThermoOptions, ts_f, ms_f, use_fine) -> _Start:
    """From a start's sampled window: test for a fixed point and collect candidate periods (from
    the fine window ``ms_f`` where ``use_fine``)."""
    ms = jnp.where(finished, ms, jnp.nan)
    m_fb, _ = window_average(ts, ms, d)

    # fixed point: stable, and the trajectory contracts towards it over the window
    m_fp, fp_res, fp_steps, growth = fixed_point(f, A, m_fb, opts)
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
    return _Start(jnp.where(is_fp, FIXED_POINT, NOT_RESOLVED), finished, m_fb, m_fp, fp_res, fp_steps, growth,
                  try_cycle, periods, count, ms_c, jnp.full(n + 1, nan), jnp.eye(n + 1), nan, jnp.asarray(0), nan,
                  jnp.full(n, nan), jnp.full(n, nan))


def _find_orbit(f, A, start: _Start, d: int, opts: ThermoOptions, active, stand) -> _Start:
    """Newton shooting from the window start where ``active`` (else nothing is tried: the
    stand-in cycle's finite inputs ``stand`` = (drift, x0, T), count 0)."""
    active = active & start.try_cycle
    s_f, s_x, s_T = stand
    x_ref = jnp.where(active, start.window[0], s_x)
    periods = jnp.where(active, start.periods, s_T)
    y, pinv, res, steps, fmax, normal, accepted = find_cycle(select(active, f, s_f), jnp.where(active, A, 0.0),
                                                             x_ref, periods, jnp.where(active, start.count, 0), opts)
    kind = jnp.where(active & accepted, LIMIT_CYCLE, start.kind)
    return eqx.tree_at(lambda s: (s.kind, s.y, s.pinv, s.res, s.steps, s.fmax, s.x_ref, s.normal), start,
                       (kind, y, pinv, res, steps, fmax, x_ref, normal))


def _on_window(a, b):
    """Whether every 8th sample of window ``a`` lies within one sampling step of window ``b``
    (the same attractor, sampled at other times). Squared distances, for small n summed over the
    components unrolled (no square roots, no short reduction axis: the costliest classification
    step of a sweep)."""
    step = jnp.max(jnp.linalg.norm(jnp.diff(b, axis=0), axis=-1))
    x = a[::8]
    n = b.shape[-1]
    gaps2 = (sum((x[:, None, k] - b[None, :, k]) ** 2 for k in range(n)) if n <= 8
             else jnp.sum((x[:, None, :] - b[None, :, :]) ** 2, axis=-1))
    return jnp.all(jnp.min(gaps2, axis=1) <= (step + 1e-9) ** 2)


def _orbit_values(f, A, P, d: int, start: _Start, opts: ThermoOptions, stand):
    """(I_M/N, ξ̄, S̄, period, finished) of a fixed point or cycle start, its I_M/N the orbit's
    Holevo value carrying implicit derivatives (fixed point: through ξ*; cycle: through (x0, T)).
    Branches a start does not take run on the stand-in cycle ``stand`` (finite, values unused)."""
    n = f.n
    is_fp = start.kind == FIXED_POINT
    is_cycle = start.kind == LIMIT_CYCLE
    s_f, s_x, _ = stand
    safe = jnp.zeros(n)

    xi_fp = implicit_fixed_point(select(is_fp, f, s_f), jnp.where(is_fp, A, 0.0), jnp.where(is_fp, start.m_fp, s_x),
                                 opts, is_fp)
    mi_fp = fixed_point_value(P, jnp.where(is_fp, xi_fp, safe), d, safe)

    avg_f = select(is_cycle, f, s_f)
    y_star = jax.lax.stop_gradient(jnp.where(is_cycle, start.y, jnp.concatenate([s_x, jnp.zeros(1)])))
    pinv = jnp.where(is_cycle, start.pinv, jnp.eye(n + 1))
    x_ref = jnp.where(is_cycle, start.x_ref, s_x)
    normal = jnp.where(is_cycle, start.normal, unit_vector(s_f(s_x)))
    y_star = implicit_orbit(avg_f, y_star, pinv, x_ref, normal, opts)
    m_cyc, s_cyc, avg_ok = cycle_average(avg_f, y_star[:n], y_star[n], d, opts)
    mi_cyc = holevo(P, m_cyc, s_cyc, d)

    mi = jnp.where(is_fp, mi_fp, jnp.where(is_cycle, mi_cyc, jnp.nan))
    xi_bar = jnp.where(is_fp, start.m_fp, jnp.where(is_cycle, m_cyc, jnp.nan))
    s_bar = jnp.where(is_fp, unit_entropy(jnp.where(is_fp, start.m_fp, safe), d), jnp.where(is_cycle, s_cyc, jnp.nan))
    finished = start.finished & (avg_ok | ~is_cycle)
    return mi, xi_bar, s_bar, jnp.where(is_cycle, y_star[n], jnp.nan), finished


def _same(kind_a, kind_b, x_a, x_b, s_a, s_b, T_a, T_b, e_a, e_b, xe_a, xe_b):
    """Two starts' attractors (or orbits, given orbit-averaged ξ̄) agree: same kind, and the same
    fixed point (|Δξ| ≤ 1e-6), or the same cycle (period to 1e-6 relative, ξ̄ to 1e-6, S̄ to 1e-8),
    or, ergodic, ξ̄ and the value within 5 standard errors or 1e-3 (relative for the value: the
    resolution an ergodic average is held to; chaotic and quasi-periodic alike)."""
    dx = jnp.max(jnp.abs(x_a - x_b))
    fp = dx <= 1e-6
    cyc = (jnp.abs(T_a - T_b) <= 1e-6 * jnp.abs(T_a)) & (dx <= 1e-6) & (jnp.abs(s_a - s_b) <= 1e-8)
    erg = (jnp.all(jnp.abs(x_a - x_b) <= 5 * jnp.sqrt(xe_a**2 + xe_b**2) + 1e-3)
           & (jnp.abs(s_a - s_b) <= 5 * jnp.sqrt(e_a**2 + e_b**2) + 1e-3 * jnp.maximum(jnp.abs(s_a), jnp.abs(s_b))))
    ergodic = lambda k: (k == CHAOTIC) | (k == QUASI_PERIODIC)
    return jnp.where(kind_a == FIXED_POINT, fp & (kind_b == FIXED_POINT),
                     jnp.where(kind_a == LIMIT_CYCLE, cyc & (kind_b == LIMIT_CYCLE), erg & ergodic(kind_a) & ergodic(kind_b)))


def _labels(same):
    """For each start, the first start with the same attractor (orbit)."""
    S = same.shape[0]
    return jnp.argmax(same | jnp.eye(S, dtype=bool), axis=1)


def _mi_thermo_single(f, unit, anchor, orb: OrbitData, d: int, starts, opts: ThermoOptions):
    f, *stand = stand_in(f, d)  # the stand-in cycle's drift in f's form, padded alike
    f0 = jax.lax.stop_gradient(f)
    u0 = jax.lax.stop_gradient(unit)
    A, P = orb.A, orb.P
    S, n = starts.shape

    # every start relaxed in one solve, then classified (vmapped over the starts)
    ts, ms, finished = relax(f0, u0, starts, opts)
    ts_f, ms_f, use_fine = fine_window(f0, ts, ms, finished, opts)
    explored = jax.vmap(lambda w, w_f: _explore(f0, A, ts, w, finished, d, opts, ts_f, w_f, use_fine),
                        in_axes=1)(ms, ms_f)
    # a window on the first start's attractor inherits its classification: only the others are shot
    on_first = jax.vmap(lambda w: _on_window(w, explored.window[0]))(explored.window)
    inherit = ((jnp.arange(S) > 0) & (explored.kind != FIXED_POINT) & (explored.kind[0] != FIXED_POINT) & on_first
               & finished)

    def orbit_and_average(args):
        # one start at a time (lax.map: one compiled copy). The implicit steps carry the first
        # start's gradient (the others' values are cut from it below).
        start, active = args
        orbit = _find_orbit(f0, A, start, d, opts, active, stand)
        return orbit, _orbit_values(f, A, P, d, orbit, opts, stand)

    orbits, (mi, xi_bar, s_bar, period, fin) = jax.lax.map(orbit_and_average, (explored, ~inherit))

    # attractors with neither a fixed point nor a stable cycle: ergodic averages (one solve)
    ergodic = (orbits.kind == NOT_RESOLVED) & fin & ~inherit
    xi_b, s_b, lyap, erg_ok = ergodic_average(f0, jnp.where(ergodic[:, None], orbits.window[:, -1], 0.0), ergodic, u0,
                                              d, opts)
    mi_e, err_e, x_e, s_e, xerr_e, stationary = jax.vmap(lambda x, s: ergodic_estimate(P, x, s, d))(xi_b, s_b)
    erg_kind = jnp.where(lyap > opts.lyapunov_threshold * u0, CHAOTIC, QUASI_PERIODIC)
    ergodic_done = ergodic & erg_ok & stationary
    kind = jnp.where(ergodic_done, erg_kind, jnp.where(ergodic, NOT_RESOLVED, orbits.kind))
    fin = fin & (erg_ok | ~ergodic)
    mi = jnp.where(ergodic, mi_e, mi)
    mi_err = jnp.where(ergodic, err_e, 0.0)
    xi_bar = jnp.where(ergodic[:, None], x_e, xi_bar)
    s_bar = jnp.where(ergodic, s_e, s_bar)
    x_err = jnp.where(ergodic[:, None], xerr_e, 0.0)
    lyap = jnp.where(ergodic_done, lyap, jnp.nan)

    # inherited starts take the first start's values
    first = lambda x: jnp.where(inherit.reshape(inherit.shape + (1,) * (x.ndim - 1)), x[0], x)
    kind, mi, mi_err, xi_bar, s_bar, x_err, period, fin, lyap = (
        first(x) for x in (kind, mi, mi_err, xi_bar, s_bar, x_err, period, fin, lyap))

    # attractors, and orbits of attractors, among the starts
    sg = jax.lax.stop_gradient
    xo = sg(xi_bar) @ P.T
    pair = lambda x, s, e, xe: jax.vmap(lambda *a: jax.vmap(lambda *b: _same(
        a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5]))(kind, x, s, sg(period), e, xe))(
        kind, x, s, sg(period), e, xe)
    s_or_mi = jnp.where((kind == CHAOTIC) | (kind == QUASI_PERIODIC), sg(mi), sg(s_bar))
    same_attr = pair(sg(xi_bar), s_or_mi, mi_err, x_err)
    same_orbit = pair(xo, s_or_mi, mi_err, x_err)
    attr_label, orbit_label = _labels(same_attr), _labels(same_orbit)
    n_attr = jnp.sum(attr_label == jnp.arange(S))
    n_orbits = jnp.sum(orbit_label == jnp.arange(S))

    all_finished = jnp.all(fin)
    resolved = jnp.all(fin & (kind != NOT_RESOLVED))
    multistable = resolved & (n_orbits > 1)
    kind0 = jnp.where(~resolved, NOT_RESOLVED, jnp.where(multistable, MULTISTABLE, kind[0]))
    no_derivative = ~resolved | multistable | (kind0 == CHAOTIC) | (kind0 == QUASI_PERIODIC)
    value = jnp.where(resolved & ~multistable, mi[0], jnp.nan)
    # an ergodic value is known no better than the starts on its orbit agree
    spread = jnp.max(jnp.where(orbit_label == orbit_label[0], jnp.abs(sg(mi) - sg(mi[0])), 0.0))
    mi_err = mi_err.at[0].set(jnp.where(mi_err[0] > 0, jnp.maximum(mi_err[0], spread), 0.0))
    value = nan_derivative(value, anchor, no_derivative)

    o = jax.tree.map(lambda x: x[0], orbits)
    is_fp, is_cycle = o.kind == FIXED_POINT, o.kind == LIMIT_CYCLE
    stop = lambda x: jnp.concatenate([x[:1], sg(x[1:])])
    return ThermoResult(
        mi=value,
        mi_err=jnp.where(resolved & ~multistable, mi_err[0], jnp.nan),
        kind=kind0,
        period=jnp.where(kind0 == LIMIT_CYCLE, period[0], jnp.nan),
        m_mean=xi_bar[0],
        m_orbit=P @ xi_bar[0],
        residual=jnp.where(is_fp, o.fp_res, jnp.where(is_cycle, o.res, jnp.nan)),
        newton_steps=jnp.where(is_fp, o.fp_steps, o.steps),
        floquet_max=jnp.where(o.try_cycle, o.fmax, jnp.nan),
        growth_rate=o.growth,
        lyapunov=lyap[0],
        t_transient=jnp.asarray(opts.t_transient) / unit,
        converged=resolved & ~multistable,
        finished=all_finished,
        n_attractors=n_attr,
        n_orbits=n_orbits,
        start_attractor=attr_label,
        start_orbit=orbit_label,
        start_kind=kind,
        start_mi=stop(mi),
        start_mi_err=mi_err,
        start_period=sg(period),
        start_m_mean=sg(xi_bar),
        starts=jnp.asarray(starts),
        orbit_projector=P,
        valid_generators=jnp.zeros(0),
        valid_elements=jnp.zeros(0),
    )


# --- the result --------------------------------------------------------------------------------


class ThermoResult(eqx.Module):
    """lim_{N→∞} I_M/N and how it was obtained (a pytree; batched under vmap).

    The scalar fields describe the attractor reached from the first initial state (``m0``) and
    its symmetry orbit; the ``start_*`` fields (leading axis: the S initial states) every start's.

    Attributes:
        mi: I_M/N in the limit N → ∞: the Holevo value S(⟨r⟩) − ⟨S(r)⟩ of the attractor's orbit
            (Eq. 13 for a cycle with no symmetry); NaN if a stage did not finish or the starts
            reached attractors in different orbits ("multistable").
        mi_err: its statistical error (0 for a fixed point or cycle; the jackknife standard error
            of an ergodic average; NaN with ``mi``).
        kind: 0 fixed point, 1 limit cycle, 2 not resolved, 3 chaotic, 4 quasi-periodic,
            5 multistable (``KIND_NAMES``).
        period: period T of the limit cycle (nan otherwise).
        m_mean: the attractor's time-mean generalised Bloch vector ξ̄ (for d = 2, m̄), (d² − 1,).
        m_orbit: its orbit average Pξ̄ (the single-unit state of the finite-N steady state's limit).
        residual: max |F| of the shooting equations (cycle) or |f(ξ*)| (fixed point).
        newton_steps: Newton iterations taken (shooting, or fixed point).
        floquet_max: largest modulus of the non-trivial Floquet multipliers (nan if no cycle tried).
        growth_rate: largest real part of the eigenvalues of Df(ξ*) at the fixed-point candidate,
            symmetry tangents projected out.
        lyapunov: largest Lyapunov exponent over the ergodic window (nan unless ergodic).
        t_transient: integration time dropped as transient.
        converged: whether ``mi`` is a number (every stage finished, one orbit, not "not resolved").
        finished: False if a stage (transient, orbit average, ergodic average) ran out of steps.
        n_attractors: distinct attractors reached from the starts.
        n_orbits: distinct symmetry orbits among them (1 unless multistable).
        start_attractor, start_orbit: for each start, the first start that reached the same
            attractor (orbit).
        start_kind, start_mi, start_mi_err, start_period, start_m_mean: each start's attractor
            (start_mi is its orbit's value).
        starts: the initial states, shape (S, d² − 1).
        orbit_projector: the orbit average P on ξ at this point.
        valid_generators, valid_elements: which of ``symmetries``' candidates hold here.
        symmetries: the model structure's candidate symmetries (static).
    """

    mi: jax.Array
    mi_err: jax.Array
    kind: jax.Array
    period: jax.Array
    m_mean: jax.Array
    m_orbit: jax.Array
    residual: jax.Array
    newton_steps: jax.Array
    floquet_max: jax.Array
    growth_rate: jax.Array
    lyapunov: jax.Array
    t_transient: jax.Array
    converged: jax.Array
    finished: jax.Array
    n_attractors: jax.Array
    n_orbits: jax.Array
    start_attractor: jax.Array
    start_orbit: jax.Array
    start_kind: jax.Array
    start_mi: jax.Array
    start_mi_err: jax.Array
    start_period: jax.Array
    start_m_mean: jax.Array
    starts: jax.Array
    orbit_projector: jax.Array
    valid_generators: jax.Array
    valid_elements: jax.Array
    symmetries: Symmetries | None = eqx.field(static=True, default=None)

    def report(self, names=(), values=()) -> None:
        """Say in RuntimeWarnings which points were not resolved, are ergodic averages (with their
        error) or multistable — what ``mi_thermo`` says itself on concrete inputs, for a result
        computed under ``jit``/``vmap``/``grad`` (where it adds no host callback). ``names`` and
        ``values`` (one per name: scalars or arrays of the batch shape) label the points."""
        _warn(tuple(names), self.kind, self.finished, self.mi_err, self.n_orbits, *values)

    @property
    def kind_name(self) -> str:
        """'fixed point', 'limit cycle', 'chaotic', 'quasi-periodic', 'multistable' or
        'not resolved' (single result)."""
        return KIND_NAMES[int(self.kind)]

    @property
    def has_period(self) -> bool:
        """Whether a period was found (single result)."""
        return bool(int(self.kind) == LIMIT_CYCLE)

    def _orbit(self, xi):
        if self.symmetries is None:
            return 1, 0
        return orbit_size(self.symmetries, self.valid_generators, self.valid_elements, xi)

    @property
    def orbit(self) -> dict:
        """The first start's orbit (single result): ``size`` (distinct attractors related by the
        discrete symmetries), ``dim`` (dimension of a continuous orbit: 1 for a ring, 0 if none)."""
        size, dim = self._orbit(self.m_mean)
        return {"size": size, "dim": dim}

    def attractors(self) -> list[dict]:
        """The distinct symmetry orbits the starts reached (single result), the first start's first:
        each a dict with kind, mi (the orbit's value), mi_err, period, m_mean (an attractor's
        time mean), m_orbit (the orbit average), orbit size and dimension, fraction (of the starts
        reaching it), starts (indices) and attractors (the distinct attractors of the orbit reached,
        each as its m_mean)."""
        label = np.asarray(self.start_orbit)
        attr = np.asarray(self.start_attractor)
        P = np.asarray(self.orbit_projector)
        out = []
        for j in sorted(set(label.tolist()), key=lambda j: (j != label[0], j)):
            members = np.flatnonzero(label == j)
            xi = np.asarray(self.start_m_mean[j])
            size, dim = self._orbit(xi)
            out.append({
                "kind": KIND_NAMES[int(self.start_kind[j])],
                "mi": _num(self.start_mi[j]),
                "mi_err": _num(self.start_mi_err[j]),
                "period": _num(self.start_period[j]),
                "m_mean": [float(v) for v in xi],
                "m_orbit": [float(v) for v in P @ xi],
                "orbit_size": size,
                "orbit_dim": dim,
                "fraction": members.size / label.size,
                "starts": members.tolist(),
                "attractors": [[float(v) for v in np.asarray(self.start_m_mean[a])]
                               for a in sorted(set(attr[members].tolist()))],
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
            "lyapunov": _num(self.lyapunov),
            "mi_err": _num(self.mi_err),
            "t_transient": _num(self.t_transient),
            "n_attractors": int(self.n_attractors),
            "n_orbits": int(self.n_orbits),
        }


def _num(x):
    v = float(x)
    return v if math.isfinite(v) else None


# --- warnings ----------------------------------------------------------------------------------


def _describe_point(names, values, i):
    if not names:
        return f"point {i} (flat index)"
    return ", ".join(f"{k}={np.atleast_1d(v)[i] if np.ndim(v) else v:.6g}" for k, v in zip(names, values))


def _warn(names, kind, finished, mi_err, n_orbits, *values):
    shape = np.atleast_1d(np.asarray(kind)).shape
    kind, finished, mi_err, n_orbits = (np.broadcast_to(np.atleast_1d(np.asarray(x)), shape).ravel()
                                        for x in (kind, finished, mi_err, n_orbits))
    values = [np.broadcast_to(np.atleast_1d(np.asarray(v)), shape).ravel() for v in values]
    bad = np.flatnonzero(~finished)
    if bad.size:
        warnings.warn(
            f"mi_thermo: attractor not resolved at {bad.size} point(s), e.g. {_describe_point(names, values, bad[0])}: "
            "the integration did not finish (out of steps even with a larger budget, or a state not finite); I_M/N there is NaN",
            RuntimeWarning, stacklevel=2)
    bad = np.flatnonzero(finished & (kind == NOT_RESOLVED))
    if bad.size:
        warnings.warn(
            f"mi_thermo: attractor not resolved at {bad.size} point(s), e.g. {_describe_point(names, values, bad[0])}: "
            "no stable fixed point or cycle, and the ergodic average over t_ergodic is not stationary (its two "
            "halves disagree: still relaxing?); I_M/N there is NaN", RuntimeWarning, stacklevel=2)
    erg = np.flatnonzero(finished & ((kind == CHAOTIC) | (kind == QUASI_PERIODIC)))
    if erg.size:
        i = erg[0]
        warnings.warn(
            f"mi_thermo: {KIND_NAMES[int(kind[i])]} attractor at {erg.size} point(s), e.g. "
            f"{_describe_point(names, values, i)}: I_M/N there is an ergodic time average with statistical error "
            f"{mi_err[i]:.2g} (mi_err), and its derivative is NaN", RuntimeWarning, stacklevel=2)
    multi = np.flatnonzero(kind == MULTISTABLE)
    if multi.size:
        i = multi[0]
        warnings.warn(
            f"mi_thermo: multistable at {multi.size} point(s), e.g. {_describe_point(names, values, i)}: "
            f"{n_orbits[i]} attractors not related by a symmetry; their finite-N weights (~exp(−N ΔΦ)) are not "
            "given by the mean field, so I_M/N is NaN; ThermoResult.attractors() lists each one's value",
            RuntimeWarning, stacklevel=2)


def _labels_of(point):
    """(names, values) identifying a point in warnings: a family's parameters, else the
    model's coefficients and rates."""
    if isinstance(point, Family):
        return tuple(point.PARAMETERS), [getattr(point, p) for p in point.PARAMETERS]
    names, values = [], []
    for kind in ("hamiltonian", "collective", "local"):
        for k, t in enumerate(getattr(point, kind)):
            names.append(f"{kind}[{k}]")
            values.append(t.c if kind == "hamiltonian" else t.rate)
    return tuple(names), values


def _report(res: ThermoResult, names, values) -> ThermoResult:
    """Warn about unresolved, ergodic and multistable points when the result is concrete. Traced
    (a caller's ``jit``, ``vmap``, ``grad``) nothing is added: the compiled program keeps no host
    callback, so JAX's persistent cache stores it; the flags travel in the result
    (``ThermoResult.report`` says them once it is concrete; ``permjax.sweep`` does)."""
    if is_concrete(((res.kind, res.finished, res.mi_err, res.n_orbits), values)):
        res.report(names, values)
    return res


# --- the entry point -------------------------------------------------------------------------

#: n×n float64 arrays alive at once per model point: the variational state (ξ, Φ) through the
#: Dopri8 stages, the shooting Jacobian and its SVD pseudo-inverse, the fixed point's Jacobian and
#: deflation, the tangent projector's eigh and the monodromy's eigenvalues (host LAPACK)
SQUARE_ARRAYS = 35
#: (n, d, d) complex arrays alive at once in a batched tangent Df V of the matrix form (d δr,
#: δK, K δr, δK r, L δr, L δr L†, δZ, …)
TANGENT_ARRAYS = 10


def pipeline_bytes(d: int, batch: int = 1) -> int:
    """Peak bytes of ``mi_thermo`` for ``batch`` model points of d levels, dominated for large d by
    the n×n stages (n = d² − 1): ``SQUARE_ARRAYS`` n² float64, ``TANGENT_ARRAYS`` (n, d, d) complex
    in the matrix form's tangents, and the polynomial's C and its Jacobian temporary (2 n³)."""
    n = d * d - 1
    per_point = 8 * SQUARE_ARRAYS * n * n + (16 * TANGENT_ARRAYS * n * d * d if drift_form(d).__name__ == "DriftMatrix"
                                              else 16 * n**3)
    return batch * per_point




@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _mi_thermo_jit(f, unit, anchor, orb: OrbitData, d, opts: ThermoOptions, starts_key):
    # the model enters only through its drift's leaves (``make_drift``), κ and its symmetries at
    # this point: every model of the same d shares one compilation, free of host callbacks (so
    # the persistent cache keeps it)
    with static_checks_only():
        starts = jnp.asarray(np.asarray(starts_key, dtype=float))
        shape = unit.shape
        if shape == ():
            return _mi_thermo_single(f, unit, anchor, orb, d, starts, opts)
        flat = jax.tree.map(lambda a, k: a.reshape((-1,) + a.shape[a.ndim - k:]), (f, unit, anchor, orb),
                            (f.event_ndims(), 0, 0, OrbitData(3, 2)))
        res = jax.vmap(_mi_thermo_single, in_axes=(0, 0, 0, 0, None, None, None))(*flat, d, starts, opts)
        return jax.tree.map(lambda a: a.reshape(shape + a.shape[1:]), res)


@jax.jit
def _model_leaves(model):
    """What the pipeline needs of the model, as one program: drift, κ, the derivative anchor, the
    coefficients (for its symmetries)."""
    return make_drift(model), rate_unit(model), sum(jax.tree.leaves(model)), model.coefficients()


@functools.lru_cache(maxsize=1)
def _result_tree():
    """The tree structure of ``_mi_thermo_jit``'s result (every field an array, no symmetries)."""
    arrays = [f.name for f in dataclasses.fields(ThermoResult) if f.name != "symmetries"]
    return jax.tree.structure(ThermoResult(**dict.fromkeys(arrays, 0)))


def mi_thermo(model, options: ThermoOptions | None = None, **fields) -> ThermoResult:
    """lim_{N→∞} I_M/N: S(⟨r⟩) − ⟨S(r)⟩ over the attractor of the mean-field drift and its
    symmetry orbit (Eq. 13 in its Holevo form, docs/theory.md §7).

    Works for any ``PIModel`` or family point (e.g. ``LMG``) under ``jit``, ``vmap`` and
    ``jax.grad`` (w.r.t. every coefficient and rate); with ``autodiff="forward"`` under
    ``jax.jvp``/``jacfwd`` instead, to second order (Hessians as ``jacfwd(jacfwd(f))``). A
    batched model (array leaves) is mapped over directly.

    * Fixed point: 0, or over a symmetry orbit (a ring, a pair exchanged by a symmetry)
      ``S(Pξ*) − S(ξ*)``, with the implicit derivative through ξ* (the ring's Goldstone direction
      projected out).
    * Limit cycle: exact one-period averages on the Newton-shooting orbit, twirled over the orbit;
      gradients by implicit differentiation.
    * Chaotic or quasi-periodic: the ergodic average over ``t_ergodic`` with its jackknife error
      ``mi_err``; the derivative of a finite-time average does not converge (docs/theory.md §3), so it is NaN.
    * Multistable (starts reached attractors no symmetry relates): ``mi`` NaN, each orbit's value
      in ``attractors()``. A stage that did not finish: NaN, ``finished`` False.
    Each of the last three is said in a RuntimeWarning.

    Several initial states are followed (``starts``, default 4: ``m0`` then Haar-random states
    of a fixed seed, ``initial_states``).

    Args:
        model: a PIModel or family point (scalar or batched coefficients).
        options: a ``ThermoOptions`` (tolerances, transient length, starts, ...).
        **fields: the same fields one by one (shorthand: ``mi_thermo(model, starts=1)`` is
            ``mi_thermo(model, ThermoOptions(starts=1))``; given with ``options`` they replace its fields).

    Returns:
        ThermoResult with ``mi``, ``mi_err``, ``kind``, ``period``, ``m_mean``, the orbits and diagnostics.
    """
    point = model
    model = as_model(point)
    unknown = set(fields) - {f.name for f in dataclasses.fields(ThermoOptions)}
    if unknown:
        raise ValueError(f"mi_thermo: unknown option(s) {sorted(unknown)}")
    if options is not None and not isinstance(options, ThermoOptions):
        raise ValueError(f"mi_thermo: options must be a ThermoOptions, got {type(options).__name__}")
    opts = dataclasses.replace(options, **fields) if options is not None else ThermoOptions(**fields)
    shape = model.shape
    check_fits("mi_thermo (its n×n Jacobian stages, n = d² − 1)", model.d, pipeline_bytes(model.d, math.prod(shape)))
    starts = _starts(model.d, opts)
    sym = symmetries(model)
    d, key = model.d, tuple(map(tuple, starts.tolist()))
    to_shape = lambda tree, event: jax.tree.map(lambda a, k: jnp.broadcast_to(a, shape + a.shape[a.ndim - k:]), tree,
                                                event)

    def run(f, unit, anchor, c):
        # one program from the model's leaves to the result (concrete inputs: kept on disk, ``programs``)
        orb = to_shape(orbit_data(sym, c), OrbitData(3, 2))
        res = _mi_thermo_jit(to_shape(f, f.event_ndims()), jnp.broadcast_to(unit, shape),
                             jnp.broadcast_to(anchor, shape), orb, d, opts, key)
        mg, me = sym.valid(jax.lax.stop_gradient(c))
        return dataclasses.replace(res, valid_generators=mg, valid_elements=me)

    model_leaves = _model_leaves(model)
    res = programs.call(run, model_leaves, f"mi_thermo d={d} shape={shape} {opts!r} starts={key} "
                        f"symmetries={sym_digest(sym)}", _result_tree())
    res = dataclasses.replace(res, symmetries=sym)
    return _report(res, *_labels_of(point))
