"""Memory a finite-N steady-state solve needs, checked before anything is allocated.

A solve's arrays are known exactly from N (``DickeLayout``, ``sector_groups``):

* full-block methods (``"gmres"``, ``"cgls"``) hold states on the padded grid (n_J, N+1, N+1)
  complex128, G = 16 n_J (N+1)² bytes each:

  - GMRES (``fast.py``): the Krylov basis V, ``restart + 1`` packed states (the valid entries
    only, Σ_J (2J+1)² complex128 ≈ G/3 each); about ten work grids (x, x0,
    b, w, r, the mask, the update, the preconditioner's Hermitian parts and outputs); the 9
    probes and 5 coefficient grids of ``h0_stencil`` while the preconditioner is built; and the
    preconditioner factors S_ℓ⁻¹, P = 16 Σ_groups n_layers n_sectors n_J² bytes
    (``precondition.py``), twice (the stacked ``scan`` output and the blocks passing through
    ``linalg.inv``);
  - CGLS (``solve.py``): x, r, s, p, q, b, w, x0, the mask and the matvec's temporaries,
    about 16 grids;

* the symmetric block by sparse LU (``"direct"`` with ``block="symmetric"``, ``direct.py``): the
  (N+1)² unknowns of a 2-D stencil, whose SuperLU factors (COLAMD order) hold 5.3·10⁶, 2.7·10⁷,
  1.44·10⁸ complex entries at N = 200, 400, 800 (pure boundary time crystal and collective LMG
  alike), ≈ N^2.4; the peak resident memory of a fresh process was 1.3–1.6 times the factors
  plus 0.5 GB (measured 1.08, 6.4–6.8, 15.3 GB at N = 400, 1000, 1500);
* the J-block method (``"jblock"``, ``jblock.py``, all on the host): scipy's Krylov basis
  (``restart + 1`` packed states), the sparse L (≈ 8 entries per unknown) in a few copies, and
  the SuperLU factors of its J-conserving part, ≈ 8.3·10⁷ (N/160)^3.6 entries;
* the h = 0 rate equations (``"rates"``, ``rates.py``) hold grids of shape (n_J, N+1): the
  populations, window, index map and labels on the host and the residual's coefficients in
  JAX, about 6 float64 grids, plus the sparse LU of the states solved for: the whole grid up to
  N = 800, then a window of about 60 N states (measured: 6·10⁵ at N = 10⁴), ≈ 1.6 kB per state.

On top of the arrays, compiling a full-block solve keeps an XLA executable whose folded
constants grow with N (measured VmHWM after ``jit(...).lower().compile()`` over a warm process:
GMRES 208, 468, 831 MB at N = 40, 80, 120; CGLS 46, 59 MB at N = 40, 60). These allowances are fitted to
those measurements; the array counts are not. The sum is multiplied by ``SAFETY`` = 1.2: the
measured peaks of the same solve vary by up to ±15% between runs (XLA's buffer reuse and the
allocator). ``benchmarks/memory.py`` compares the estimate with the measured peak resident
memory (VmHWM) of fresh processes: estimate/measured 0.9–1.3 before the factor for
N = 40…120 (GMRES), 40, 60 (CGLS), 400…3200 (rates).

``check_memory`` compares the estimate with the memory available — on CPU ``MemAvailable`` of
/proc/meminfo (and the cgroup limit, if lower); on a GPU the device's ``bytes_limit`` less
``bytes_in_use`` — and refuses with ``InsufficientMemoryError`` (a ``MemoryError`` and a
``ValueError``: one line naming the estimate, the memory available and the largest N that fits).
``steady_state(..., memory_check=False)`` (``--no-memory-check`` on the command line) skips it.
"""

from __future__ import annotations

import dataclasses
import os

#: work grids besides the basis (GMRES), and the ``h0_stencil`` probes and coefficients
GMRES_WORK_GRIDS = 10
STENCIL_GRIDS = 14
#: copies of the preconditioner factors alive at once (scan output, blocks through linalg.inv)
PRECONDITIONER_COPIES = 2
#: CGLS: grid-sized arrays alive at once with the stencil Liouvillian (its u⊗v temporaries);
#: fitted to peaks of 43–66 MB at N = 40 and 93–98 MB at N = 60 (fresh processes, loaded 2-core CPU)
CGLS_GRIDS = 28
#: rate equations: float64 (n_J, N+1) grids; LU bytes per state; window states per unit N
RATES_GRIDS = 6
RATES_LU_BYTES_PER_STATE = 1600
RATES_WINDOW_PER_N = 60
RATES_FULL_BELOW = 800  # ``steady_populations(full_below=800)``: whole grid solved up to here
#: symmetric-block sparse LU: factor entries at N = 800, growth exponent, peak / factor bytes
SYMMETRIC_LU_ENTRIES_800 = 1.44e8
SYMMETRIC_LU_EXPONENT = 2.4
SYMMETRIC_LU_PEAK = 1.6
#: J-block method: SuperLU factor entries of the J-conserving part at N = 160 (XYZ at J_y = −3:
#: 6.8·10⁶, 8.3·10⁷ at N = 80, 160; LMG 6.1·10⁶, 7.1·10⁷), growth exponent; bytes per sparse
#: entry (complex128 value, int32 index); sparse matrices alive at once (L, its CSR and COO copies, L_J)
JBLOCK_LU_ENTRIES_160 = 8.3e7
JBLOCK_LU_EXPONENT = 3.6
SPARSE_ENTRY_BYTES = 20
JBLOCK_SPARSE_COPIES = 4
MB = 1e6
#: margin over the counted and fitted sum (run-to-run variation of measured peaks)
SAFETY = 1.2


class InsufficientMemoryError(MemoryError, ValueError):
    """A solve was refused before allocating: its estimated memory exceeds what is available."""


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a solve needs: ``device`` (arrays: on the accelerator, or on CPU the host) and
    ``host`` (compiled executable and host-side arrays), with the counted ``parts``."""

    device: int
    host: int
    parts: dict

    @property
    def total(self) -> int:
        return self.device + self.host


def _grid_bytes(N: int) -> int:
    from .dicke.layout import DickeLayout

    lay = DickeLayout(N)
    return 16 * lay.n_J * lay.n_M**2


def _krylov_basis_bytes(N: int) -> int:
    from .solvers.gmres import krylov_restart, krylov_vector_bytes
    from .dicke.layout import DickeLayout

    lay = DickeLayout(N)
    return (krylov_restart(lay) + 1) * krylov_vector_bytes(lay)


def _preconditioner_bytes(N: int, precision: str = "double") -> int:
    from .dicke.layout import DickeLayout
    from .solvers.qconserving import sector_groups

    n_J = DickeLayout(N).n_J
    return sum((16 if precision == "double" else 8) * n_l * (q_hi - q_lo) * (n_J - j_lo) ** 2 for q_lo, q_hi, j_lo, n_l in sector_groups(N))


def _compiled_bytes(N: int) -> int:
    """Compiling a GMRES solve (fit: 208, 468, 831 MB at N = 40, 80, 120); also the bound taken
    for the J-block method's jitted wrapper (measured peaks 0.15–0.19 GB above the process at
    N = 40, 0.52–0.83 GB at N = 80, arrays included)."""
    return int((51 + 2.64 * N + 0.0322 * N**2) * MB)


def _rates_window_states(N: int) -> int:
    full = lambda n: (n // 2 + 1) * (n // 2 + 1 + n % 2)  # Σ_J (2J+1)  # noqa: E731
    if N <= RATES_FULL_BELOW:
        return full(N)
    return max(full(RATES_FULL_BELOW), RATES_WINDOW_PER_N * N)


def steady_state_memory(N: int, method: str, batch: int = 1, precision: str = "double",
                        block: str = "all") -> MemoryEstimate:
    """Estimated memory of ``steady_state(N, method=method, block=block)`` (``batch`` solves at
    once under ``vmap``: the arrays scale with it, the compiled executable does not;
    ``precision``: the GMRES preconditioner's factor storage). ``block="symmetric"`` is
    estimated for ``"direct"`` (its sparse LU); the other methods' (N+1)² states are small."""
    if block == "symmetric":
        lu = 16 * SYMMETRIC_LU_ENTRIES_800 * (N / 800) ** SYMMETRIC_LU_EXPONENT if method == "direct" else 0
        parts = {"sparse LU factors": int(lu), "states": 64 * (N + 1) ** 2, "runtime": int(500 * MB)}
        return MemoryEstimate(0, int(SAFETY * batch * (SYMMETRIC_LU_PEAK * lu + parts["states"] + parts["runtime"])), parts)
    if method == "rates":
        from .dicke.layout import DickeLayout

        lay = DickeLayout(N)
        grid = 8 * lay.n_J * lay.n_M
        parts = {"rate grids": RATES_GRIDS * grid, "sparse LU": RATES_LU_BYTES_PER_STATE * _rates_window_states(N)}
        return MemoryEstimate(0, int(SAFETY * batch * sum(parts.values())), parts)  # host: scipy's LU, numpy grids
    G = _grid_bytes(N)
    if method == "jblock":
        from .dicke.layout import DickeLayout

        n = DickeLayout(N).n_unknowns
        parts = {
            "Krylov basis": _krylov_basis_bytes(N),
            "sparse L": JBLOCK_SPARSE_COPIES * SPARSE_ENTRY_BYTES * 8 * n,
            "sparse LU factors": int(SPARSE_ENTRY_BYTES * JBLOCK_LU_ENTRIES_160 * (N / 160) ** JBLOCK_LU_EXPONENT),
            "work grids": STENCIL_GRIDS * G,
        }
        compiled = _compiled_bytes(N)  # the jitted wrapper (residual, diagnostics): bounded by GMRES's
        return MemoryEstimate(0, int(SAFETY * (batch * sum(parts.values()) + compiled)), {**parts, "compiled": compiled})
    if method == "gmres":
        parts = {
            "Krylov basis": _krylov_basis_bytes(N),
            "work grids": (GMRES_WORK_GRIDS + STENCIL_GRIDS) * G,
            "preconditioner": PRECONDITIONER_COPIES * _preconditioner_bytes(N, precision),
        }
        compiled = _compiled_bytes(N)
    else:  # cgls, or a registered Krylov method: counted as CGLS
        parts = {"work grids": CGLS_GRIDS * G}
        compiled = int(40 * MB + 8 * G)  # measured 46, 59 MB at N = 40, 60
    arrays = batch * sum(parts.values())
    return MemoryEstimate(int(SAFETY * arrays), int(SAFETY * compiled), {**parts, "compiled": compiled})


def available_memory(backend: str | None = None) -> tuple[int | None, int | None, str]:
    """(device bytes free, host bytes free, description); ``None`` where unknown.

    Host: ``MemAvailable`` from /proc/meminfo, capped by the cgroup (v2 or v1) limit less
    usage. Device (GPU/TPU): ``bytes_limit − bytes_in_use`` of the first local device's
    ``memory_stats()``; on CPU the device is the host.
    """
    host = _host_available()
    import jax

    backend = backend or jax.default_backend()
    if backend == "cpu":
        return host, host, "host memory (MemAvailable)"
    try:
        stats = jax.local_devices(backend=backend)[0].memory_stats() or {}
    except Exception:  # a backend without memory statistics
        stats = {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), host, f"{backend.upper()} memory"
    return None, host, f"{backend.upper()} memory"


def _host_available() -> int | None:
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            free = int(limit) - usage
            avail = free if avail is None else min(avail, free)
        break
    return avail


def _fits(est: MemoryEstimate, device: int | None, host: int | None, same: bool) -> bool:
    if same:
        return host is None or est.total <= host
    return (device is None or est.device <= device) and (host is None or est.host <= host)


def largest_N(method: str, device: int | None, host: int | None, same: bool, batch: int = 1, upper: int = 10**7,
              precision: str = "double", block: str = "all") -> int | None:
    """The largest N ≥ 2 whose estimate fits (``None`` if not even N = 2 does)."""
    fits = lambda n: _fits(steady_state_memory(n, method, batch, precision, block), device, host, same)  # noqa: E731
    if not fits(2):
        return None
    lo, hi = 2, upper
    while lo < hi:  # the estimate grows with N
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fmt_bytes(b: float) -> str:
    if b >= 1e15:
        return f"{b:.2g} bytes"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b / 1e3:.3g} kB"


def check_memory(N: int, method: str, *, batch: int = 1, enabled: bool = True, what: str | None = None,
                 precision: str = "double", block: str = "all") -> MemoryEstimate | None:
    """Raise ``InsufficientMemoryError`` if ``steady_state(N, method=method)`` (``batch`` at
    once) is estimated to need more memory than is available; ``enabled=False`` skips it."""
    if not enabled:
        return None
    import jax

    est = steady_state_memory(N, method, batch, precision, block)
    backend = jax.default_backend()
    device, host, where = available_memory(backend)
    same = backend == "cpu"
    if _fits(est, device, host, same):
        return est
    need, have = (est.total, host) if same else ((est.device, device) if device is not None and est.device > device else (est.host, host))
    n_max = largest_N(method, device, host, same, batch, precision=precision, block=block)
    what = what or f"steady_state(N={N}, method={method!r}" + (", block='symmetric')" if block == "symmetric" else ")")
    at_once = f" with {batch} points at once" if batch > 1 else ""
    fits = f"the largest N that fits{at_once} is {n_max}" if n_max else "not even N = 2 fits"
    if batch > 1:
        fits += ", fewer points at once (chunk_size) need less"
    raise InsufficientMemoryError(
        f"{what}{at_once} needs about {_fmt_bytes(need)} of memory but {_fmt_bytes(have)} of {where} "
        f"is available; {fits} (memory_check=False or --no-memory-check tries anyway)")
