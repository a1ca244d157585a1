"""Attractors of the mean-field drift dξ/dt = f(ξ) (docs/theory.md §3, §6), each stage a pure function.

1. ``relax``: from a batch of initial states, integrate past a transient and sample a window.
2. ``fixed_point``: Newton on f(ξ*) = 0, stability from the largest real part of the
   eigenvalues of Df(ξ*) with the neutral symmetry directions projected out.
3. ``return_times`` + ``find_cycle``/``shoot``: Newton shooting for the periodic orbit (x0, T)
   with a phase condition, from the 1st, 2nd, ... return (period doublings); accepted when every
   non-trivial Floquet multiplier (the flow and symmetry tangents are trivial) lies inside the
   unit circle.
4. ``cycle_average``: ξ̄ and mean S over exactly one period (Eq. 13), by quadrature along the
   orbit; gradients reach (x0, T) by the implicit function theorem (``implicit_orbit``).
5. ``ergodic_average``: where no fixed point or stable cycle is found (chaos, tori), the time
   averages over a long window in blocks, with the largest Lyapunov exponent of the window.

A transient or orbit integration that runs out of steps is never turned into a number: its
``finished`` flag is False and the value NaN.
"""

from __future__ import annotations

import functools
import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap

from .. import linalg
from ..host import static_checks_only
from ..models.operators import sigma_minus, sigma_x, sigma_y, sigma_z
from ..models.pimodel import PIModel
from .drift import BUILDERS
from .orbits import holevo, tangent_projector
from .states import bloch, unit_entropy

FIXED_POINT = 0
LIMIT_CYCLE = 1
NOT_RESOLVED = 2
CHAOTIC = 3
QUASI_PERIODIC = 4
MULTISTABLE = 5
KIND_NAMES = {FIXED_POINT: "fixed point", LIMIT_CYCLE: "limit cycle", NOT_RESOLVED: "not resolved",
              CHAOTIC: "chaotic", QUASI_PERIODIC: "quasi-periodic", MULTISTABLE: "multistable"}
MARGINAL_GROWTH = 1e-12  # a fixed point with max Re λ up to this (round-off at Γ = γ) counts as stable
MARGINAL_MULTIPLIER = 1e-6  # a cycle needs |μ| < 1 − this: closer to 1 it is not accepted
CYCLE_SAMPLES = 1024  # d > 2: orbit samples of the one-period averages (trapezoidal rule)
ERGODIC_SAMPLES = 32  # d > 2: entropy samples per block of an ergodic average
RETRY_STEPS_FACTOR = 20  # a transient that runs out of steps is retried with this many times the budget


# --- the stand-in cycle: finite inputs for the branches a point does not take -----------------


def stand_in_model(d: int) -> PIModel:
    """A d-level model with a known stable limit cycle: the qubit LMG at 𝒥 = 3, h = 0, Γ = 2, γ = 1
    (Eq. 17: m_z = 1/2, m_xy = 1/√2, ω = 3/2) on levels (0, 1), its local pumping σ₊ = |0⟩⟨1|
    extended to the lowering cascade L = Σ_{k≥1} |k−1⟩⟨k| (rate 1). On levels (0, 1) L acts as σ₊;
    it drains every level k ≥ 2, and every coherence with such a level decays at rate ≥ 1/2 (the
    L†L = 1 − |0⟩⟨0| part), so the cycle is stable in all d² − 1 directions. For d = 2: LMG."""
    embed = lambda m: np.pad(m, (0, d - 2))
    sx, sy = embed(sigma_x / 2), embed(sigma_y / 2)
    with jax.ensure_compile_time_eval():
        return PIModel(d, hamiltonian=[(3.0, sx, sx), (3.0, sy, sy)], collective=[(2.0, embed(sigma_minus))],
                       local=[(1.0, np.eye(d, k=1))])


@functools.lru_cache(maxsize=32)
def _stand_in(form, d: int):
    """The stand-in's drift in ``form`` (numpy leaves), a point x0 of its cycle and the period T."""
    with jax.ensure_compile_time_eval():
        f = jax.tree.map(np.asarray, BUILDERS[form](stand_in_model(d)))
    m_xy, m_z = math.sqrt(2.0 * 1.0 * (2.0 - 1.0)) / 2.0, 0.5
    r0 = np.zeros((d, d), complex)
    r0[:2, :2] = (np.eye(2) + m_xy * sigma_x + m_z * sigma_z) / 2
    return f, bloch(r0), 2 * math.pi / 1.5


def stand_in(f, d: int):
    """(f, s_f, x0, T): the model's drift ``f`` and the stand-in cycle's drift ``s_f``, built by
    f's own constructor from ``stand_in_model(d)`` and brought to common leaf shapes (``align``),
    so that ``select`` can pick between them leaf by leaf; x0 a point of the cycle, T its period."""
    s_f, x0, T = _stand_in(type(f), d)
    f, s_f = f.align(jax.tree.map(jnp.asarray, s_f))
    return f, s_f, jnp.asarray(x0), jnp.asarray(T)


def select(pred, x, y):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), x, y)


def unit_vector(v):
    return v / jnp.linalg.norm(v)


# --- integration -------------------------------------------------------------------------------


def _scaled_drift(s, m, args):
    """dm/ds = T f(m): time rescaled to s = t/T ∈ [0, 1] so that T enters as a parameter."""
    f, T = args
    return T * f(m)


def _variational_field(s, y, args):
    """(m, Φ)' = T (f(m), Df(m) Φ): the flow and its Jacobian ∂m(s)/∂m(0)."""
    f, T = args
    m, phi = y
    return T * f(m), T * f.tangent(m, phi)


def _quadrature_field(s, y, args):
    """(m, q)' = (T f(m), (m, S(m))): q(1) holds the one-period means of m and S."""
    f, T, d = args
    m, _ = y
    return T * f(m), jnp.concatenate([m, unit_entropy(m, d)[None]])


def integrate(field, y0, args, t1, rtol, atol, autodiff, max_steps, ts=None, norm=None):
    """One adaptive Dopri8 solve of ``field`` on [0, t1] (or [0, ts[-1]], saving at ts);
    returns (states, finished). ``autodiff``: "reverse" or "forward" (the adjoint);
    ``norm``: of the scaled error (default RMS)."""
    controller = (diffrax.PIDController(rtol=rtol, atol=atol) if norm is None
                  else diffrax.PIDController(rtol=rtol, atol=atol, norm=norm))
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Dopri8(),
        0.0,
        t1 if ts is None else ts[-1],
        None,
        y0,
        args,
        saveat=diffrax.SaveAt(t1=True) if ts is None else diffrax.SaveAt(ts=ts),
        stepsize_controller=controller,
        max_steps=max_steps,
        adjoint=diffrax.ForwardMode() if autodiff == "forward" else diffrax.RecursiveCheckpointAdjoint(),
        throw=False,
    )
    ys = sol.ys if ts is not None else jax.tree.map(lambda a: a[-1], sol.ys)
    return ys, sol.result == diffrax.RESULTS.successful


def _lane_rms_max(err):
    """max over the leading (model-point) axis of each point's RMS error: every point's steps are
    controlled as in a solve of its own. A point whose error is not finite (NaN coefficients)
    does not steer the others: its states are NaN, and the callers' finiteness checks say so."""
    flat = jnp.concatenate([e.reshape(e.shape[0], -1) for e in jax.tree.leaves(err)], axis=1)
    rms = jnp.sqrt(jnp.mean(flat**2, axis=1))
    return jnp.max(jnp.where(jnp.isfinite(rms), rms, 0.0))


def integrate_joint(field, y0, args, t1, rtol, atol, max_steps, ts=None):
    """``integrate`` for stages that carry no derivative (inputs under ``stop_gradient``). Under
    ``vmap`` the model points become one ODE system, the field mapped over them and each point's
    error controlled as in its own solve (``_lane_rms_max``): on a CPU a batched adaptive solve
    costs several times more per point and step. ``finished`` is then the joint solve's (all
    points, or none). ``ts``: save times as a tuple of floats (static)."""
    return _joint(field, t1, rtol, atol, max_steps, ts)(y0, args)


@functools.lru_cache(maxsize=64)
def _joint(field, t1, rtol, atol, max_steps, ts):
    ts = None if ts is None else np.asarray(ts)

    @custom_vmap
    def one(y0, args):
        return integrate(field, y0, args, t1, rtol, atol, "reverse", max_steps, ts=ts)

    @one.def_vmap
    def points(axis_size, in_batched, y0, args):
        y_batched, args_batched = in_batched
        y0 = jax.tree.map(lambda a, b: a if b else jnp.broadcast_to(a, (axis_size,) + jnp.shape(a)), y0, y_batched)
        args_axes = jax.tree.map(lambda b: 0 if b else None, args_batched)
        mapped = jax.vmap(field, in_axes=(None, 0, args_axes))
        # traced when vmap reaches the pipeline's jit, outside ``mi_thermo``'s own context
        with static_checks_only():
            ys, ok = integrate(mapped, y0, args, t1, rtol, atol, "reverse", max_steps, ts=ts, norm=_lane_rms_max)
        if ts is not None:
            ys = jax.tree.map(lambda a: jnp.moveaxis(a, 0, 1), ys)
        return (ys, jnp.broadcast_to(ok, (axis_size,))), (jax.tree.map(lambda _: True, ys), True)

    return one


def relax(f, unit, xi0, opts):
    """Drop the transient [0, t_transient], sample the window after it (loose tolerances).

    ``xi0`` (n,) or several starts (S, n): several are one ODE system (one solve, whose steps
    suit every start), much cheaper than a batch of solves; under ``vmap`` the model points join
    it too (``integrate_joint``). A solve that runs out of steps is retried with
    ``RETRY_STEPS_FACTOR`` times the budget (if it finished, the retry integrates a zero field:
    a handful of steps).
    Returns (ts, ms (n_window, ..., n), finished), ts in units of 1/κ from the window start.
    """
    ts = np.linspace(0.0, opts.t_window, opts.n_window)
    t_save = tuple((opts.t_transient + ts).tolist())
    time = 1.0 / unit

    def solve(speed, budget):
        return integrate_joint(_scaled_drift, xi0, (f, speed * time), None, opts.relax_rtol, opts.relax_atol,
                               budget, ts=t_save)

    ms, ok = solve(1.0, opts.max_steps)
    ok = ok & jnp.all(jnp.isfinite(ms))
    ms2, ok2 = solve(jnp.where(ok, 0.0, 1.0), RETRY_STEPS_FACTOR * opts.max_steps)
    ms = jnp.where(ok, ms, ms2)
    ok = ok | (ok2 & jnp.all(jnp.isfinite(ms2)))
    return jnp.asarray(ts) * time, ms, ok


def fine_window(f, ts, ms, finished, opts):
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
    ts_f = np.linspace(0.0, 1.0, opts.n_window)
    ms_f, ok = integrate_joint(_scaled_drift, jnp.where(finished, ms[-1], 0.0), (f, jnp.where(used, span, 0.0)), None,
                               opts.relax_rtol, opts.relax_atol, opts.max_steps, ts=tuple(ts_f.tolist()))
    return jnp.asarray(ts_f) * span, ms_f, used & ok


# --- eigenvalues ------------------------------------------------------------------------------


def max_real_eigenvalue(a):
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


def floquet_max(phi, neutral):
    """Largest |μ| over the non-trivial Floquet multipliers: the eigenvalues of the monodromy Φ
    once its neutral subspace (the flow direction and symmetry tangents, where Φ = 1) is removed,
    i.e. of Φ − P_neutral, whose other eigenvalues are Φ's. For n = 3 one eigenvalue of that
    matrix is 0 and the other two solve z² − tr z + c₂ = 0."""
    a = phi - neutral
    if a.shape[-1] != 3:
        return jnp.max(jnp.abs(linalg.eigvals(a)), axis=-1)
    s = jnp.trace(a)
    p = 0.5 * (s * s - jnp.trace(a @ a))
    disc = s * s - 4.0 * p
    root = jnp.sqrt(jnp.abs(disc))
    real_max = jnp.maximum(jnp.abs(s + root), jnp.abs(s - root)) / 2.0
    return jnp.where(disc >= 0, real_max, jnp.sqrt(jnp.abs(p)))


# --- fixed point -----------------------------------------------------------------------------


def _deflated_jacobian(f, A, m):
    """Df(ξ) − μ P_T(ξ), μ = 1 + max|Df|: the symmetry tangents (neutral on an orbit of fixed
    points) moved to a stable eigenvalue; identical to Df where there are none."""
    jac = f.jacobian(m)
    mu = 1.0 + jnp.max(jnp.abs(jac))
    return jac - mu * tangent_projector(A, m)


def fixed_point(f, A, m_guess, opts):
    """Newton on f(ξ*) = 0 from ``m_guess`` with the deflated Jacobian (on a ring of fixed points
    it converges to the nearest one); returns (ξ*, |f(ξ*)|, steps, growth rate).

    The growth rate is max Re λ of the deflated Df(ξ*): ξ* is stable iff it is < 0.
    """

    def body(state):
        m, k, _ = state
        step = jnp.linalg.solve(_deflated_jacobian(f, A, m), f(m))
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, 0.0)
        return m - step, k + 1, jnp.max(jnp.abs(step))

    def cond(state):
        _, k, step = state
        return (k < opts.max_newton) & (step > 1e-14)

    m_guess = jnp.where(jnp.all(jnp.isfinite(m_guess)), m_guess, 0.0)
    m, k, _ = jax.lax.while_loop(cond, body, (m_guess, jnp.asarray(0), jnp.asarray(jnp.inf)))
    res = jnp.max(jnp.abs(f(m)))
    return m, res, k, max_real_eigenvalue(_deflated_jacobian(f, A, m))


def implicit_fixed_point(f, A, xi_star, opts, active=True):
    """ξ* carrying dξ*/dθ = −Df⁻¹ ∂f/∂θ (implicit function theorem) with the deflated Df frozen:
    the derivative has no component along a symmetry tangent (the Goldstone direction of a ring),
    which the orbit average does not see. Two steps for ``autodiff="forward"`` (second order).
    Where not ``active`` the Jacobian is replaced by 1 (finite derivatives in an unused branch)."""
    J = jax.lax.stop_gradient(jnp.where(active, _deflated_jacobian(f, A, xi_star), jnp.eye(xi_star.shape[-1])))
    y = xi_star
    for _ in range(2 if opts.autodiff == "forward" else 1):
        F = f(y)
        y = y - jnp.linalg.solve(J, F - jax.lax.stop_gradient(F))
    return y


# --- limit cycle -----------------------------------------------------------------------------


def return_times(ts, ms, max_returns: int):
    """Candidate periods: returns of the sampled trajectory to the plane through ms[0] ⟂ its velocity.

    The first ``max_returns`` upward crossings g: − → + of g(t) = n·(m(t) − m(0)) that land
    within a quarter of the attractor's size of m(0), in time order (a crossing elsewhere on a
    folded orbit does not count; after a period doubling the k-th return is the period).
    Returns (T_k, count), each T_k linearly interpolated between samples.
    """
    x_ref = ms[0]
    n = unit_vector(ms[1] - ms[0])
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
    (xT, phi), ok = integrate_joint(_variational_field, (x0, jnp.eye(n)), (f, T), 1.0, opts.rtol, opts.atol,
                                    opts.max_orbit_steps)
    F = jnp.concatenate([xT - x0, (normal @ (x0 - x_ref))[None]])
    top = jnp.concatenate([phi - jnp.eye(n), f(xT)[:, None]], axis=1)
    J = jnp.concatenate([top, jnp.concatenate([normal, jnp.zeros(1)])[None]], axis=0)
    return F, J, phi, ok


def pseudo_inverse(J):
    """J⁺ with singular values below 1e-10 σ_max dropped: J⁻¹ for an isolated orbit; on a
    continuous family of orbits (a symmetry tangent transverse to the flow) the minimum-norm
    step, which moves along the family no more than it must."""
    return jnp.linalg.pinv(J, rtol=1e-10)


def shoot(f, A, x_ref, T_guess, opts):
    """Newton shooting for the periodic orbit through the plane n·(x − x_ref) = 0, n ∝ f(x_ref).

    Returns (y = (x0, T), pseudo-inverse of the Jacobian at y, residual max|F| at y, Newton
    steps, max |Floquet multiplier| (symmetry tangents neutral, like the flow), n).
    """
    n = x_ref.shape[-1]
    normal = unit_vector(f(x_ref))
    system = functools.partial(_shooting_system, f, x_ref, normal, opts)

    def cond(state):
        *_, k, done = state
        return (k < opts.max_newton) & ~done

    def body(state):
        y, *_, k, _ = state
        F, J, phi, ok = system(y)
        res = jnp.where(ok, jnp.max(jnp.abs(F)), jnp.nan)
        done = (res <= opts.newton_tol) | ~jnp.isfinite(res)
        pinv = pseudo_inverse(J)
        step = jnp.where(done, 0.0, pinv @ F)
        # damped: |ΔT| ≤ T/2 and |Δx0| ≤ 1/2 keep the orbit solve short and inside the state space
        scale = jnp.minimum(1.0, 0.5 / jnp.maximum(jnp.abs(step[n]) / y[n], jnp.max(jnp.abs(step[:n]))))
        y_new = y - jnp.where(jnp.isfinite(scale), scale, 0.0) * step
        return y_new, y, pinv, phi, res, k + 1, done

    y0 = jnp.concatenate([x_ref, T_guess[None]])
    init = (y0, y0, jnp.eye(n + 1), jnp.eye(n), jnp.asarray(jnp.inf), jnp.asarray(0), jnp.asarray(False))
    _, y, pinv, phi, res, k, _ = jax.lax.while_loop(cond, body, init)
    x0 = y[:n]
    return y, pinv, res, k - 1, floquet_max(phi, tangent_projector(A, x0, f(x0))), normal


def find_cycle(f, A, x_ref, periods, count, opts):
    """Shoot from each candidate period in turn until the orbit is an attractor.

    Accepted: Newton converged (max|F| ≤ newton_tol), every non-trivial Floquet multiplier
    inside |μ| < 1 − MARGINAL_MULTIPLIER, and a non-degenerate orbit (|f(x0)| T > 1e-6: not a
    fixed point with an arbitrary T). An unstable orbit (e.g. the period-1 orbit after a period
    doubling, or one inside a chaotic set) moves on to the next return. ``count`` = 0: nothing
    is tried (NaN outputs, not accepted).

    Returns (y, pseudo-inverse, residual, Newton steps in all, Floquet max, n, accepted).
    """
    n = x_ref.shape[-1]

    def attempt(k):
        y, pinv, res, steps, fmax, normal = shoot(f, A, x_ref, periods[k], opts)
        arc = jnp.linalg.norm(f(y[:n])) * y[n]  # ~ 2π × amplitude; 0 on a fixed point
        ok = (res <= opts.newton_tol) & (fmax < 1.0 - MARGINAL_MULTIPLIER) & (arc > 1e-6)
        return (y, pinv, res, steps, fmax, normal), ok

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
    y, pinv, res, _, fmax, normal = out
    return y, pinv, res, total, fmax, normal, ok


def cycle_average(f, x0, T, d: int, opts):
    """(ξ̄, mean S) over exactly one period from (x0, T), and whether that solve finished.

    d = 2: quadratures integrated along the orbit. d > 2: the trapezoidal rule on
    ``CYCLE_SAMPLES`` equispaced points of the orbit (exponentially accurate for a smooth
    periodic integrand), so the d×d entropies are one batched eigenvalue call, not one per
    solver stage.
    """
    n = x0.shape[-1]
    if d == 2:
        (_, q), ok = integrate(_quadrature_field, (x0, jnp.zeros(n + 1)), (f, T, d), 1.0, opts.rtol, opts.atol,
                               opts.autodiff, opts.max_orbit_steps)
        return q[:n], q[n], ok
    s = jnp.linspace(0.0, 1.0, CYCLE_SAMPLES + 1)
    xs, ok = integrate(_scaled_drift, x0, (f, T), None, opts.rtol, opts.atol, opts.autodiff, opts.max_orbit_steps,
                       ts=s)
    xs = jnp.concatenate([x0[None], xs[1:-1]])
    return jnp.mean(xs, axis=0), jnp.mean(unit_entropy(xs, d)), ok


def implicit_orbit(f, y_star, pinv_star, x_ref, normal, opts):
    """y* carrying dy*/dθ = −F_y⁺ F_θ (implicit function theorem).

    Written as y ← y − F_y⁺ (F(y, θ) − F(y, θ)|_frozen) from y = y* with F_y⁺ frozen at y*:
    the value stays y* exactly, and each step makes one more order of derivatives that of the
    root of F(y, θ) = 0 (one step: first derivatives; a second step, taken for
    ``autodiff="forward"``, adds the F_yy, F_yθ terms of the second). Only F over one period
    is differentiated, never the transient or the Newton iterations.
    """
    n = x_ref.shape[-1]
    pinv = jax.lax.stop_gradient(pinv_star)
    y = y_star
    for _ in range(2 if opts.autodiff == "forward" else 1):
        x0, T = y[:n], y[n]
        xT, _ = integrate(_scaled_drift, x0, (f, T), 1.0, opts.rtol, opts.atol, opts.autodiff, opts.max_orbit_steps)
        F = jnp.concatenate([xT - x0, (normal @ (x0 - x_ref))[None]])
        y = y - pinv @ (F - jax.lax.stop_gradient(F))
    return y


# --- windows and ergodic averages -------------------------------------------------------------


@jax.custom_jvp
def nan_derivative(x, anchor, flag):
    """x, with derivative NaN·d(anchor) where ``flag`` and dx elsewhere.

    Used for ergodic averages, multistable points and unfinished solves: a finite-window
    average has no converged derivative (docs/theory.md §3), so its gradient is NaN rather than silently
    zero. ``anchor`` is a scalar that depends on every model parameter.
    """
    return x


@nan_derivative.defjvp
def _nan_derivative_jvp(primals, tangents):
    x, anchor, flag = primals
    dx, d_anchor, _ = tangents
    return x, jnp.where(flag, 0.0, dx) + jnp.where(flag, jnp.nan, 0.0) * d_anchor


def window_average(ts, ms, d: int):
    """Smooth-window estimate of (ξ̄, mean S) with the ``bump`` over the sampled window
    (the fixed-point Newton solve starts from its ξ̄)."""
    w = bump((ts - ts[0]) / (ts[-1] - ts[0]))
    w = w / jnp.sum(w)
    return w @ ms, w @ unit_entropy(ms, d)


BUMP_INTEGRAL = 0.007029858406609657  # ∫₀¹ exp(−1/(u(1−u))) du


def bump(u):
    """The smooth window w(u) = exp(−1/(u(1−u))) / ∫w on [0, 1], 0 outside (all derivatives vanish
    at the edges): a weighted average of a quasi-periodic signal over a window of length T has
    an error decaying faster than any power of 1/T, where a plain average leaves O(1/T)."""
    inside = (u > 0) & (u < 1)
    safe = jnp.where(inside, u * (1 - u), 1.0)
    return jnp.where(inside, jnp.exp(-1.0 / safe), 0.0) / BUMP_INTEGRAL


@functools.lru_cache(maxsize=16)
def _ergodic_field(d: int, B: int):
    """(x, v, λ, q)' = T (f(x), Df v − (v·Df v) v, v·Df v, w (x, S(x))) per start: the flow, a unit
    tangent vector (its growth rate integrates to the largest Lyapunov exponent) and the running
    window-weighted integrals of ξ (and, for d = 2, S), w the bump of the current block — each
    start scaled by its own T (0: frozen). Args (f, T)."""

    def field(s, y, args):
        f, T = args
        x, v, _, _ = y
        fx, jv = jax.jvp(f, (x,), (v,))
        growth = jnp.sum(v * jv, axis=-1)
        integrand = jnp.concatenate([x, unit_entropy(x, 2)[..., None]], axis=-1) if d == 2 else x
        Tc = T[:, None]
        w = bump(s * B - jnp.floor(s * B))
        return Tc * fx, Tc * (jv - growth[:, None] * v), T * growth, w * Tc * integrand

    return field


def ergodic_average(f, x0, active, unit, d: int, opts):
    """Time averages over t_ergodic/κ after the window, in ``n_blocks`` consecutive blocks each
    weighted by the smooth ``bump``, for every start (S, n) where ``active`` (one ODE system: the
    others are frozen). The chaotic part of the block means then scatters like T_block^(−1/2),
    with no O(1/T_block) edge term from the periodic parts of the signal.

    Returns (ξ block means (S, B, n), S block means (S, B), largest Lyapunov exponent (S,),
    finished). For d > 2 the entropy is averaged over ``ERGODIC_SAMPLES`` points per block.
    """
    S, n = x0.shape
    B = opts.n_blocks
    per = 1 if d == 2 else ERGODIC_SAMPLES
    span = opts.t_ergodic / unit
    T = jnp.where(active, span, 0.0)
    v0 = jnp.broadcast_to(jnp.ones(n) / math.sqrt(n), (S, n))
    y0 = (x0, v0, jnp.zeros(S), jnp.zeros((S, n + (d == 2))))
    s = tuple(np.linspace(0.0, 1.0, B * per + 1).tolist())
    (xs, _, lam, q), ok = integrate_joint(_ergodic_field(d, B), y0, (f, T), None, opts.relax_rtol, opts.relax_atol,
                                          opts.max_ergodic_steps, ts=s)
    blocks = jnp.diff(q[::per], axis=0) / (span / B)  # (B, S, ·)
    xi_b = jnp.moveaxis(blocks[..., :n], 0, 1)
    if d == 2:
        s_b = jnp.moveaxis(blocks[..., n], 0, 1)
    else:
        ent = unit_entropy(xs, d)[:-1].reshape(B, per, S)  # xs[0] = x0; the block edges weigh 0
        w = bump(jnp.arange(per) / per)
        s_b = jnp.moveaxis(jnp.einsum("k,bks->bs", w, ent) / per, 0, 1)
    lyap = lam[-1] / span
    ok = ok & jnp.all(jnp.isfinite(xs))
    return xi_b, s_b, lyap, ok


def _jackknife(P, xi_b, s_b, d: int):
    """The Holevo value S(Pξ̄) − S̄ of block means and its jackknife standard error."""
    B = xi_b.shape[0]
    xbar, sbar = jnp.mean(xi_b, axis=0), jnp.mean(s_b)
    x_out = (B * xbar - xi_b) / (B - 1)
    s_out = (B * sbar - s_b) / (B - 1)
    loo = jax.vmap(lambda x, s: holevo(P, x, s, d))(x_out, s_out)
    return holevo(P, xbar, sbar, d), jnp.sqrt((B - 1) / B * jnp.sum((loo - jnp.mean(loo)) ** 2))


def ergodic_estimate(P, xi_b, s_b, d: int):
    """The Holevo value S(Pξ̄) − S̄ of the block means, its error, ξ̄, S̄, the standard error of Pξ̄
    per component (block scatter), and whether the window is stationary.

    The error combines the jackknife standard error with half the difference between the values
    of the window's two halves (a slow trend the blocks do not resolve). Stationary: the halves
    agree within 5 combined standard errors or to 1e-3 of the value; a trajectory still relaxing
    onto its attractor fails this, and its average is not a number to report."""
    B = xi_b.shape[0]
    value, err = _jackknife(P, xi_b, s_b, d)
    h = B // 2
    (v1, e1), (v2, e2) = _jackknife(P, xi_b[:h], s_b[:h], d), _jackknife(P, xi_b[h:], s_b[h:], d)
    trend = jnp.abs(v1 - v2)
    stationary = trend <= jnp.maximum(5.0 * jnp.sqrt(e1**2 + e2**2), 1e-3 * jnp.abs(value)) + 1e-9
    x_err = jnp.std(xi_b @ P.T, axis=0, ddof=1) / math.sqrt(B)
    return value, jnp.sqrt(err**2 + (trend / 2) ** 2), jnp.mean(xi_b, axis=0), jnp.mean(s_b), x_err, stationary
