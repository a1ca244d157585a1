"""Memory a computation needs, checked before anything is allocated.

Each steady-state solver owns its estimate (``Solver.memory``: the arrays it holds, counted from
N, and fitted allowances for what is not, e.g. the compiled executable; see each solver's module).
This module only compares an estimate with the memory available — on CPU ``MemAvailable`` of
/proc/meminfo (and the cgroup limit, if lower); on a GPU the device's ``bytes_limit`` less
``bytes_in_use`` — and refuses with ``InsufficientMemoryError`` (a ``MemoryError`` and a
``ValueError``: one line naming the estimate, the memory available and the largest N that fits).
``steady_state(..., memory_check=False)`` (``--no-memory-check`` on the command line) skips it.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

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


def largest_N(memory: Callable, device: int | None, host: int | None, same: bool, batch: int = 1,
              upper: int = 10**7) -> int | None:
    """The largest N ≥ 2 whose estimate ``memory(N, batch)`` fits (``None`` if not even N = 2 does)."""
    fits = lambda n: _fits(memory(n, batch), device, host, same)  # noqa: E731
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


def check_memory(N: int, memory: Callable, *, batch: int = 1, enabled: bool = True, what: str = "the solve"
                 ) -> MemoryEstimate | None:
    """Raise ``InsufficientMemoryError`` if ``memory(N, batch)`` (a ``MemoryEstimate``; e.g. a
    solver's ``memory``) exceeds the memory available; ``enabled=False`` skips the check."""
    if not enabled:
        return None
    import jax

    est = memory(N, batch)
    backend = jax.default_backend()
    device, host, where = available_memory(backend)
    same = backend == "cpu"
    if _fits(est, device, host, same):
        return est
    need, have = (est.total, host) if same else ((est.device, device) if device is not None and est.device > device else (est.host, host))
    n_max = largest_N(memory, device, host, same, batch)
    at_once = f" with {batch} points at once" if batch > 1 else ""
    fits = f"the largest N that fits{at_once} is {n_max}" if n_max else "not even N = 2 fits"
    if batch > 1:
        fits += ", fewer points at once (chunk_size) need less"
    raise InsufficientMemoryError(
        f"{what}{at_once} needs about {_fmt_bytes(need)} of memory but {_fmt_bytes(have)} of {where} "
        f"is available; {fits} (memory_check=False or --no-memory-check tries anyway)")
