"""Finite-N time evolution dρ/dt = L ρ in the Dicke basis (docs/theory.md §4), with diffrax, or
for small N as the exact action of e^{LΔt} on the host.

The state is the padded block grid ρ[j, a, a′] (``DickeLayout``) and L the matrix-free
Dicke-basis Liouvillian (Eqs. 23–26, ``liouvillian``). ``method="expm"``: L assembled as a sparse
matrix on the valid entries (``solvers.direct.liouvillian_matrix``, the same stencil terms) and
ρ(t_k) = e^{L(t_k − t_{k−1})} ρ(t_{k−1}) by scipy's ``expm_multiply`` (Al-Mohy & Higham 2011:
truncated Taylor series with scaling, accurate to double precision; no step-size control, nothing
to compile); only the observables are a jitted program. ``method="auto"`` takes it for concrete
coefficients up to N = ``EXPM_MAX_N`` (``evolve_method``). Otherwise diffrax integrates the real pair
(Re ρ, Im ρ) — L is complex-linear, so this is exact — with an adaptive explicit Runge–Kutta
method (Tsit5 by default; Dopri5/Dopri8 on request). Stiffness: the fastest rates of L grow ∝ N
(e.g. γ(N − M − M′)/2 from the local pumping, 𝒥(M′² − M²)/N from the Hamiltonian), so an explicit
method takes O(N t) steps; an implicit method (Kvaerno5) would need linear solves with the
(N³/6)-dimensional Jacobian at every stage, which only pays when t ≫ 1/γ at large N — for those
long times ``steady_state`` and ``spectrum`` give the limit and the approach to it directly.

Observables are computed while integrating (diffrax ``SaveAt(fn=...)``): ⟨m⟩ (Eq. 28), I_M/N
(Eqs. 27–29, every block's eigenvalues at every saved time) and the block populations
p_J = Tr ρ_J, so memory stays one state unless the states are asked for.
"""

from __future__ import annotations

import functools
import sys
import time as _time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.families import validate_N
from ..models import as_model
from ..models.pimodel import is_concrete
from ..dicke.initial import NAMED, dicke_state_blocks, product_state_blocks
from ..dicke.layout import DickeLayout
from ..dicke.liouvillian import liouvillian
from ..dicke.state import DickeState, magnetization, mutual_information
from ..host import static_checks_only

SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}
#: methods by name: the diffrax solvers, ``"expm"`` (host) and ``"auto"`` (``evolve_method``)
METHODS = ("auto", "expm", *SOLVERS)
#: largest N at which ``method="auto"`` evolves by ``expm_multiply`` on the host rather than diffrax
#: (benchmarks/small.py, results/small.json, LMG, 201 times in [0, 20], 2-core CPU: the first call
#: in a fresh process at N = 6–28 takes 0.70–1.59 s against Tsit5's 2.38–4.41 s with an empty
#: cache and 0.53–1.14 s against 1.04–3.34 s with a filled one; warm, Tsit5 is faster up to N = 10,
#: 15–52 ms against 70–86 ms, and slower from N = 16: 2.02 s against 0.67 s at N = 28)
EXPM_MAX_N = 28


def dicke_model(model):
    """The model as the Dicke-basis Liouvillian takes it: a ``PIModel`` (from a family point too)."""
    return as_model(model)


# --- initial states ---------------------------------------------------------------------------


def initial_blocks(N: int, rho0) -> np.ndarray:
    """ρ[j, a, a′] (complex numpy) from any accepted initial state:

    * ``"up"`` / ``"down"``: every unit in |↑⟩ / |↓⟩ (M = ±N/2 in J = N/2);
    * a 2×2 density matrix r (or a state vector of length 2): the product state r^{⊗N}, exactly;
    * ``("dicke", J, M)``: the Dicke state |J, M⟩ (mixed over the multiplicity of J);
    * a ``DickeState`` of the same N (full blocks or populations);
    * a QuTiP Dicke-basis ``Qobj`` (piqs ordering);
    * an array of shape (n_J, N+1, N+1): the blocks themselves.
    """
    lay = DickeLayout(N)
    shape = (lay.n_J, lay.n_M, lay.n_M)
    if isinstance(rho0, str):
        if rho0 not in NAMED:
            raise ValueError(f"unknown initial state {rho0!r}; named states: {sorted(NAMED)}")
        return dicke_state_blocks(N, N / 2, NAMED[rho0] * N / 2)
    if isinstance(rho0, tuple) and len(rho0) == 3 and rho0[0] == "dicke":
        return dicke_state_blocks(N, float(rho0[1]), float(rho0[2]))
    if isinstance(rho0, DickeState):
        if rho0.N != N:
            raise ValueError(f"the initial DickeState has N = {rho0.N}, expected {N}")
        b = np.asarray(rho0.blocks)
        if b.shape == shape[:2]:  # populations only
            return np.einsum("ja,ab->jab", b, np.eye(lay.n_M)).astype(complex)
        if b.shape != shape:
            raise ValueError(f"the initial DickeState must be a single state of shape {shape}")
        return b.astype(complex)
    if type(rho0).__name__ == "Qobj":  # piqs's Dicke-basis layout (``permjax.interop``)
        from ..interop import from_qutip

        return np.asarray(from_qutip(rho0, N).blocks)
    x = np.asarray(rho0)
    if x.shape == (2,):
        x = np.outer(x, np.conj(x)) / np.vdot(x, x).real
    if x.shape == (2, 2):
        return product_state_blocks(N, x)
    if x.shape == shape:
        return x.astype(complex)
    raise ValueError(f"cannot read an initial state of N = {N} from {type(rho0).__name__} of shape {x.shape}")


# --- propagation ------------------------------------------------------------------------------


def _to_real(x):
    return jnp.stack([jnp.real(x), jnp.imag(x)])


def _to_complex(y):
    return y[0] + 1j * y[1]


class EvolveResult(eqx.Module):
    """Observables along dρ/dt = Lρ at the saved times.

    Attributes:
        ts: saved times, shape (T,).
        m: ⟨m⟩ = (2/N) Σ_J Tr(ρ_J Ĵ) (Eq. 28), shape (T, 3).
        mi: I_M/N (Eqs. 27–29), shape (T,) (NaN-free; ``None`` when not computed).
        populations: p_J = Tr ρ_J, shape (T, n_J) (J ascending, ``DickeLayout.J``).
        trace: Σ_J Tr ρ_J, shape (T,) (1 up to the integration error).
        states: the blocks ρ[j, a, a′] at every saved time, shape (T, n_J, N+1, N+1), or ``None``.
        final: the blocks at the last time (always kept).
        num_steps: accepted + rejected steps of the integrator (``"expm"``: the intervals between
            saved times); ``successful``: whether it reached the last time within ``max_steps``
            (``"expm"``: whether the states are finite).
    """

    ts: jax.Array
    m: jax.Array
    mi: jax.Array | None
    populations: jax.Array
    trace: jax.Array
    states: jax.Array | None
    final: jax.Array
    num_steps: jax.Array
    successful: jax.Array
    N: int = eqx.field(static=True)

    def state(self, i: int) -> DickeState:
        """The saved state number ``i`` (needs ``save_states=True``)."""
        if self.states is None:
            raise ValueError("states were not saved: call evolve(..., save_states=True)")
        return DickeState(self.states[i], None, self.N)


def _observables(y, N: int, with_mi: bool, with_states: bool):
    rho = _to_complex(y)
    lay = DickeLayout(N)
    st = DickeState(rho, None, N)
    pops = jnp.sum(jnp.real(jnp.diagonal(rho, axis1=-2, axis2=-1)) * jnp.asarray(lay.mask), axis=-1)
    out = {"m": magnetization(st), "populations": pops, "trace": jnp.sum(pops)}
    if with_mi:
        out["mi"] = mutual_information(st) / N
    if with_states:
        out["states"] = rho
    return out


def _make_solver(method):
    if isinstance(method, diffrax.AbstractSolver):
        return method
    if method not in SOLVERS:
        raise ValueError(f"unknown method {method!r}; available: {sorted(METHODS)} or a diffrax solver instance")
    return SOLVERS[method]()


def evolve_method(N: int, concrete: bool, method="auto"):
    """The one rule for ``method="auto"``: ``"expm"`` (the host, nothing to compile) up to
    N = ``EXPM_MAX_N`` when the model and the initial state are concrete (not under jit, vmap or
    grad), else ``"tsit5"``. Any other method is validated and returned."""
    if isinstance(method, str) and method == "auto":
        return "expm" if concrete and N <= EXPM_MAX_N else "tsit5"
    if isinstance(method, str) and method == "expm":
        if not concrete:
            raise ValueError("evolve(method='expm') runs on the host and needs concrete coefficients and initial "
                             "state; under jit, vmap or grad use a diffrax method (e.g. 'tsit5')")
        return method
    _make_solver(method)
    return method


@functools.partial(jax.jit, static_argnames=("N", "with_mi", "with_states"))
def _observables_at(blocks, *, N, with_mi, with_states):
    """``_observables`` of each of a stack of states (T, n_J, N+1, N+1)."""
    return jax.vmap(lambda b: _observables(_to_real(b), N, with_mi, with_states))(blocks)


def _expm_states(model, x0, ts, N: int) -> np.ndarray:
    """ρ(t) at ``ts`` from ρ(ts[0]) = x0 by ``expm_multiply`` of the assembled L (module docstring):
    one call over an evenly spaced grid, else one per interval. Shape (T, n_J, N+1, N+1)."""
    import scipy.sparse.linalg as spla

    from ..dicke.liouvillian import dicke_liouvillian
    from ..solvers.direct import assemble

    layout = DickeLayout(N)
    A = assemble(dicke_liouvillian(model, layout)).tocsc()
    valid = layout.block_mask
    x = np.asarray(x0, np.complex128)[valid]
    steps = np.diff(ts)
    if steps.size == 0:
        xs = x[None]
    elif np.allclose(steps, steps[0], rtol=1e-12, atol=0.0):
        xs = spla.expm_multiply(A, x, start=0.0, stop=ts[-1] - ts[0], num=ts.size, endpoint=True)
    else:
        xs = [x]
        for dt in steps:
            xs.append(spla.expm_multiply(A * dt, xs[-1]))
        xs = np.stack(xs)
    out = np.zeros((ts.size,) + valid.shape, np.complex128)
    out[:, valid] = xs
    return out


def propagate(model, x0, ts, save_fn, *, N: int, method="tsit5", rtol=1e-9, atol=1e-11,
              max_steps=10**6, adjoint=None, t0=None):
    """Integrate dX/dt = L X from X(t0) = x0 (any block operator, not only a state) and return
    ``(save_fn(X(t)) for t in ts, stats)``. Pure and traceable: jit/vmap/grad friendly. diffrax
    checks ``ts`` at run time (a host callback); callers that checked them on the host
    (``_check_times``) trace this inside ``host.static_checks_only`` and keep the program cacheable."""
    layout = DickeLayout(N)
    model = dicke_model(model)
    ts = jnp.asarray(ts, dtype=jnp.float64)
    t0 = ts[0] if t0 is None else jnp.asarray(t0, jnp.float64)

    def field(t, y, args):
        return _to_real(liouvillian(_to_complex(y), args, layout))

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field), _make_solver(method), t0, ts[-1], None, _to_real(jnp.asarray(x0, jnp.complex128)),
        args=model,
        saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=lambda t, y, args: save_fn(y)),
                                    diffrax.SubSaveAt(t1=True)]),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=adjoint if adjoint is not None else diffrax.RecursiveCheckpointAdjoint(),
        throw=False,
    )
    ok = sol.result == diffrax.RESULTS.successful
    saved, final = sol.ys
    return saved, {"num_steps": sol.stats["num_steps"], "successful": ok, "final": _to_complex(final[-1])}


@functools.partial(jax.jit, static_argnames=("N", "method", "rtol", "atol", "max_steps", "with_mi", "with_states"))
def _evolve(model, x0, ts, *, N, method, rtol, atol, max_steps, with_mi, with_states):
    fn = functools.partial(_observables, N=N, with_mi=with_mi, with_states=with_states)
    with static_checks_only():  # ts checked on the host (``_check_times``): the program keeps no callback
        ys, stats = propagate(model, x0, ts, fn, N=N, method=method, rtol=rtol, atol=atol, max_steps=max_steps)
    return ys, stats


def _check_times(ts) -> np.ndarray:
    ts_np = np.asarray(ts, dtype=np.float64)
    if ts_np.ndim != 1 or ts_np.size < 1:
        raise ValueError("ts must be a non-empty 1-D array of times")
    if not np.all(np.isfinite(ts_np)):
        raise ValueError("ts must be finite")
    if np.any(np.diff(ts_np) <= 0):
        raise ValueError("ts must be strictly increasing")
    return ts_np


def evolve(N, model, rho0, ts, *, method="auto", rtol: float = 1e-9, atol: float = 1e-11,
           max_steps: int = 10**6, mi: bool = True, save_states: bool = False,
           on_failure: str = "raise") -> EvolveResult:
    """Evolve ρ(t) = e^{L t} ρ0 of N qubits under the model's master equation (Eq. 1; docs/theory.md §4).

    Args:
        N: number of qubits (static: each N compiles once).
        model: a ``PIModel`` (d = 2) or a family point such as ``LMG`` with scalar leaves
            (``jax.vmap`` over a batch; differentiable in its coefficients).
        rho0: initial state (see ``initial_blocks``): ``"up"``, ``"down"``, a 2×2 single-qubit
            state r (r^{⊗N}), ``("dicke", J, M)``, a ``DickeState``, a QuTiP Dicke-basis Qobj
            or the blocks.
        ts: increasing saved times; the integration starts at ts[0] (ρ(ts[0]) = ρ0).
        method: ``"auto"`` (default: ``evolve_method``), ``"expm"`` (the exact action of e^{LΔt} on
            the host: concrete inputs only), ``"tsit5"``, ``"dopri5"``, ``"dopri8"`` or a diffrax
            solver instance.
        rtol, atol: tolerances of diffrax's PID step-size controller (on Re ρ, Im ρ); ``"expm"``
            works to double precision and ignores them.
        mi: whether to compute I_M/N at each saved time (costs the eigenvalues of every block).
        save_states: also return every saved state (memory: T × (N/2+1)(N+1)² complex numbers).
        on_failure: ``"raise"`` (``RuntimeError``) or ``"warn"`` when the integrator stopped early
            (``max_steps``); only checked on concrete results (inside jit see ``successful``).
    """
    N = validate_N(N, minimum=2)
    ts_np = _check_times(ts)
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(v, (int, float)) and 0 < v < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {v!r}")
    x0 = initial_blocks(N, rho0)
    model = dicke_model(model)
    method = evolve_method(N, is_concrete((model, x0)), method)
    if method == "expm":
        states = _expm_states(model, x0, ts_np, N)
        ys = _observables_at(jnp.asarray(states), N=N, with_mi=bool(mi), with_states=bool(save_states))
        ok = bool(np.all(np.isfinite(states)))
        result = EvolveResult(jnp.asarray(ts_np), ys["m"], ys.get("mi"), ys["populations"], ys["trace"],
                              ys.get("states"), jnp.asarray(states[-1]), jnp.asarray(max(ts_np.size - 1, 0)),
                              jnp.asarray(ok), N)
        _check_success(result.successful, on_failure, f"evolve(N={N}, method='expm'): the state is not finite")
        return result
    ys, stats = _evolve(model, jnp.asarray(x0), jnp.asarray(ts_np), N=N, method=method,
                        rtol=float(rtol), atol=float(atol), max_steps=int(max_steps), with_mi=bool(mi),
                        with_states=bool(save_states))
    result = EvolveResult(jnp.asarray(ts_np), ys["m"], ys.get("mi"), ys["populations"], ys["trace"],
                          ys.get("states"), stats["final"], stats["num_steps"], stats["successful"], N)
    _check_success(result.successful, on_failure, f"evolve(N={N}) stopped before t = {ts_np[-1]} "
                   f"(max_steps={max_steps} reached or the step size collapsed)")
    return result


def _check_success(ok, on_failure, msg):
    try:
        ok = np.asarray(ok)
    except jax.errors.TracerArrayConversionError:
        return
    if not np.all(ok):
        if on_failure == "raise":
            raise RuntimeError(msg)
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=3)


def evolve_segments(N, model, rho0, ts, *, n_segments: int = 20, progress: bool = True, **kwargs) -> EvolveResult:
    """``evolve`` over consecutive segments of ``ts`` (one compile per segment length), each
    starting from the previous final state, with a progress bar on stderr. Same result as one
    ``evolve`` call up to the step-size controller's restart at segment boundaries. Where the
    method is (or ``"auto"`` resolves to) ``"expm"``: one ``evolve`` call."""
    N = validate_N(N, minimum=2)
    ts_np = _check_times(ts)
    kwargs.pop("save_states", None)
    x = initial_blocks(N, rho0)
    if evolve_method(N, is_concrete((dicke_model(model), x)), kwargs.get("method", "auto")) == "expm":
        kwargs["method"] = "expm"  # no compile, no stepping: one call
        return evolve(N, model, x, ts_np, **kwargs)
    chunks = [c for c in np.array_split(np.arange(1, ts_np.size), max(1, min(n_segments, ts_np.size - 1))) if c.size]
    first = evolve(N, model, x, ts_np[:2], **kwargs) if ts_np.size > 1 else evolve(N, model, x, ts_np, **kwargs)
    keep = [jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], (first.m, first.mi, first.populations, first.trace))]
    steps, t_start = 0, _time.time()
    for i, c in enumerate(chunks):
        seg = np.concatenate([[ts_np[c[0] - 1]], ts_np[c]])
        r = evolve(N, model, x, seg, **kwargs)
        x = r.final
        steps += int(r.num_steps)
        keep.append(jax.tree_util.tree_map(lambda a: np.asarray(a)[1:], (r.m, r.mi, r.populations, r.trace)))
        if progress:
            frac = (i + 1) / len(chunks)
            sys.stderr.write(f"\r  evolve N={N}: [{'#' * int(30 * frac):<30}] {100 * frac:5.1f}%  "
                             f"t = {seg[-1]:.4g}  {_time.time() - t_start:6.1f} s")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    cat = [None if keep[0][k] is None else jnp.asarray(np.concatenate([p[k] for p in keep])) for k in range(4)]
    return EvolveResult(jnp.asarray(ts_np), cat[0], cat[1], cat[2], cat[3], None, jnp.asarray(x),
                        jnp.asarray(steps), jnp.asarray(True), N)
