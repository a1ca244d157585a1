"""What every benchmark script needs, once: a fresh process per case, timing, peak memory, the
machine, the JSON record and the table.

A script runs from the repository root, ``python3 benchmarks/<script>.py [sizes]``; it prints a
markdown table and writes ``benchmarks/results/<name>.json``, or ``$PERMJAX_BENCH_RESULTS/<name>.json``
where that variable is set (a trial run then leaves the cited results alone). benchmarks/README.md
lists the scripts.

The folder is not a package; a script imports this file by path::

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import common

(importing it also puts the repository root first on ``sys.path``, so that the scripts and the
processes they spawn measure this checkout's ``permjax``, not an installed one).

* ``fresh_process(fn, *args, timeout=...)``: ``fn(*args)`` in a fresh spawned interpreter (own
  peak memory, own XLA state); its dict, ``{"error": ...}`` or ``{"timeout": True, "error": ...}``.
* ``first_and_warm(call, repeats=3)``: the first call (compile included) and warm repeats, each
  blocked on its JAX result; a ``Timed`` (``first_s``, ``warm_s`` = median of the repeats,
  ``best_s``, ``median_s`` over every call, ``value`` of the last call).
* ``peak_memory_mb()``, ``rss_mb()`` and ``memory_added()`` (what a piece of work adds to the
  peak: VmHWM reset through /proc/self/clear_refs, else ru_maxrss).
* ``machine()``, ``write_results(name, record)`` (the record, the machine and the command line),
  ``table(rows, columns)`` (with ``ms()``, seconds shown as ms, and ``errors(...)``, a column of
  the cases that failed), ``report(name, rows, columns, record)`` (the table, then the JSON).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
#: where write_results puts <name>.json: benchmarks/results/, or $PERMJAX_BENCH_RESULTS (a smoke run
#: there leaves the results the docs cite alone)
RESULTS = os.environ.get("PERMJAX_BENCH_RESULTS") or os.path.join(HERE, "results")
TESTS = os.path.join(ROOT, "tests")

if ROOT not in sys.path:
    sys.path.insert(1 if sys.path and sys.path[0] == HERE else 0, ROOT)

MISSING = "—"  # what a table shows for a value a row does not have (the README's tables do the same)


# ---------------------------------------------------------------- a fresh process per case


def _child(conn, fn, args):
    """Run in the spawned process: send fn(*args), or the exception's last traceback line."""
    try:
        out = fn(*args)
    except BaseException as e:  # noqa: BLE001 (KeyboardInterrupt, SystemExit, MemoryError included)
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        sys.stderr.flush()
        out = {"error": traceback.format_exception_only(type(e), e)[-1].strip(), "traceback": tb}
    try:
        conn.send(out)
    except Exception as e:  # an unpicklable result: say so rather than lose it
        conn.send({"error": f"result not sendable: {type(e).__name__}: {e}"})
    conn.close()


def _exit_reason(code):
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def fresh_process(fn: Callable[..., dict], *args, timeout: float = 600, env: dict | None = None) -> dict:
    """``fn(*args)`` in a fresh spawned Python process: its own peak memory, its own XLA state.

    ``fn`` is a module-level function (picklable) that returns a JSON-able dict. Returns that
    dict; ``{"error": "<last traceback line>", "traceback": ...}`` if it raised (the traceback
    also goes to stderr); ``{"error": "killed by SIGKILL"}`` (or the exit code) if the process died
    without a result; ``{"timeout": True, "error": "timeout after T s"}`` if it ran past
    ``timeout`` seconds (then it is killed). ``env``: variables set for the child only (e.g.
    ``XLA_FLAGS``, read when the child imports JAX). Never waits longer than ``timeout`` + a few
    seconds.
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(send, fn, args))
    saved = {k: os.environ.get(k) for k in (env or {})}
    try:
        os.environ.update({k: str(v) for k, v in (env or {}).items()})
        p.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    send.close()  # the child holds the only write end: its exit is EOF here
    out = None
    try:
        if not recv.poll(timeout):
            out = {"timeout": True, "error": f"timeout after {timeout:g} s"}
        else:
            try:
                out = recv.recv()
            except (EOFError, OSError):
                pass
    finally:
        recv.close()
        p.join(0 if isinstance(out, dict) and out.get("timeout") else 5)  # after a result: the child is exiting
        if p.is_alive():
            p.kill()
            p.join()
    if out is None:
        out = {"error": f"{_exit_reason(p.exitcode)} without a result"}
    return out


# ---------------------------------------------------------------- timing


class Timed(NamedTuple):
    """Seconds of each call of ``first_and_warm``: ``times[0]`` the first, the rest warm."""

    times: list
    value: Any  # the last call's result (blocked)

    @property
    def first_s(self) -> float:
        """The first call: compilation included."""
        return self.times[0]

    @property
    def warm_s(self) -> float:
        """Median of the warm repeats (NaN without any)."""
        return _median(self.times[1:])

    @property
    def best_s(self) -> float:
        """Fastest warm repeat (NaN without any)."""
        return min(self.times[1:], default=math.nan)

    @property
    def median_s(self) -> float:
        """Median over every call, the first included (for baselines with nothing to compile)."""
        return _median(self.times)


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return math.nan
    return float(xs[n // 2]) if n % 2 else float((xs[n // 2 - 1] + xs[n // 2]) / 2)


def _block(x):
    jax = sys.modules.get("jax")  # nothing JAX made can be pending where JAX was never imported
    return x if jax is None else jax.block_until_ready(x)


def first_and_warm(call: Callable[[], Any], repeats: int = 3) -> Timed:
    """Call ``call()`` 1 + ``repeats`` times, each timed until its result is ready
    (``jax.block_until_ready``: every JAX array in the returned pytree). ``repeats=0``: one timed
    call (``.first_s``, ``.value``)."""
    times, value = [], None
    for _ in range(1 + repeats):
        t0 = time.perf_counter()
        value = _block(call())
        times.append(time.perf_counter() - t0)
    return Timed(times, value)


# ---------------------------------------------------------------- memory


def _status_kb(key: str) -> int | None:
    """A /proc/self/status line in kB (VmRSS, VmHWM), or None where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kb() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb // 1024 if sys.platform == "darwin" else kb  # macOS reports bytes


def _peak_kb() -> int:
    kb = _status_kb("VmHWM")
    return _maxrss_kb() if kb is None else kb


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MB (2^20 bytes): VmHWM, else ru_maxrss.

    VmHWM is this process's own; ru_maxrss of a spawned child also counts its parent's size when
    it was started, so it is only the fallback."""
    return _peak_kb() / 1024.0


def rss_mb() -> float:
    """Resident memory now in MB (VmRSS; the peak where there is no /proc)."""
    kb = _status_kb("VmRSS")
    return (_peak_kb() if kb is None else kb) / 1024.0


class memory_added:
    """The peak resident memory a piece of work adds::

        with memory_added() as mem:
            work()
        mem.mb, mem.bytes, mem.kb, mem.base_kb, mem.method

    ``reset=True`` (default): VmHWM is reset to VmRSS through /proc/self/clear_refs (as
    tests/test_reliability.py does), so the peak of earlier work (a warm-up) is not counted:
    added = VmHWM after - VmRSS before (``method="clear_refs"``). Where the reset is not possible,
    and with ``reset=False``: added = peak after - peak before (``method="peak"``: VmHWM, else
    ru_maxrss), i.e. how far the work raised the process's peak.
    """

    def __init__(self, reset: bool = True):
        self.reset = reset

    def __enter__(self):
        self.method, self.base_kb = "peak", _peak_kb()
        if self.reset:
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # VmHWM := VmRSS
            except OSError:
                return self
            rss = _status_kb("VmRSS")
            if rss is not None:
                self.method, self.base_kb = "clear_refs", rss
        return self

    def __exit__(self, *exc):
        self.kb = _peak_kb() - self.base_kb
        return False

    @property
    def mb(self) -> float:
        return self.kb / 1024.0

    @property
    def bytes(self) -> int:
        return self.kb * 1024


# ---------------------------------------------------------------- the machine and the record


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args) -> str | None:
    try:
        r = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def machine() -> dict:
    """What the numbers were measured on: host, CPU model and cores, memory, JAX backend and
    device kind, library versions, the permjax commit (``+dirty`` with uncommitted changes).

    Imports JAX (in the calling process): call it after the fresh processes have run."""
    info = {"host": platform.node(), "cpu": _cpu_model(), "cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gib": _memory_gib(), "python": platform.python_version()}
    try:
        import jax

        devices = jax.devices()
        info.update(backend=jax.default_backend(), device_kind=devices[0].device_kind, devices=len(devices))
    except Exception as e:  # noqa: BLE001 (no JAX, or no backend: still a record)
        info.update(backend=None, device_kind=None, devices=None, jax_error=str(e))
    for dist in ("jax", "jaxlib", "diffrax", "numpy", "scipy"):
        info[dist] = _version(dist)
    commit = _git("rev-parse", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    info["permjax_commit"] = commit
    return info


def _jsonable(x):
    """``json.dump``'s ``default``: numpy scalars and arrays, and anything else as its string."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def _shown(path: str) -> str:
    """``path`` relative to the working directory where it lies below it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith(os.pardir) else rel


def write_results(name: str, record) -> str:
    """Write ``record`` (a dict; a list becomes ``{"rows": list}``) with the machine and the command
    line to ``benchmarks/results/<name>.json`` (``RESULTS``), say so on stdout; returns the path."""
    record = dict(record) if isinstance(record, dict) else {"rows": record}
    record["machine"] = machine()
    record["command"] = shlex.join([os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=1, default=_jsonable)
    print(f"written {_shown(path)}")
    return path


# ---------------------------------------------------------------- tables


def _get(row, key):
    if callable(key):
        return key(row)
    if not isinstance(key, str):  # an index into a tuple row
        return row[key]
    for part in key.split("."):  # "gmres.iterations": row["gmres"]["iterations"]
        row = row[part]
    return row


def _cell(row, key, fmt) -> str:
    try:
        value = _get(row, key)
    except (KeyError, IndexError, TypeError, ZeroDivisionError):
        return MISSING
    if value is None:
        return MISSING
    if callable(fmt):
        return str(fmt(value))
    try:
        return format(value, fmt)
    except (TypeError, ValueError):
        return str(value)


def table(rows, columns) -> str:
    """A markdown table, as in the README: ``| a | b |``, ``|---|---|``, one line a row.

    ``columns``: ``(header, key)`` or ``(header, key, fmt)``. ``key`` is a field name, a dotted
    path into nested dicts (``"gmres.iterations"``) or a function of the row; ``fmt`` a format
    spec (``".2f"``) or a function of the value. A value the row lacks (or None) shows as "—", so
    a case that failed shows "—" rather than breaking the table."""
    cols = [(c[0], c[1], c[2] if len(c) > 2 else "") for c in columns]
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h, _, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r, k, f).replace("|", "\\|") for _, k, f in cols) + " |")
    return "\n".join(lines)


def ms(digits: int = 1):
    """A ``table`` format: seconds shown as milliseconds."""
    return lambda seconds: f"{seconds * 1e3:.{digits}f}"


def errors(*keys, header="errors"):
    """A ``table`` column: the ``"error"`` of each sub-result named by ``keys`` (``row[key]``), or of
    the row itself without keys; "—" where there is none."""

    def get(row):
        subs = [(f"{k}: ", row.get(k)) for k in keys] if keys else [("", row)]
        msgs = [f"{k}{s['error']}" for k, s in subs if isinstance(s, dict) and "error" in s]
        return "; ".join(msgs) or None

    return (header, get)


def report(name: str, rows, columns, record) -> str:
    """Print ``table(rows, columns)`` and write ``record`` (``write_results``); returns the path."""
    print(table(rows, columns))
    return write_results(name, record)


@contextlib.contextmanager
def checkout(ref: str):
    """A detached ``git worktree`` of ``ref`` (a baseline version) in a temporary folder, removed
    afterwards; yields its path."""
    base = tempfile.mkdtemp(prefix="permjax-baseline-")
    subprocess.run(["git", "worktree", "add", "--detach", base, ref], cwd=ROOT, check=True, capture_output=True)
    try:
        yield base
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT, capture_output=True)
