"""Ctrl-C (SIGINT) and SIGTERM as exceptions that cannot be lost.

A signal handler that raises ``KeyboardInterrupt`` (Python's default for SIGINT) may fire inside
a garbage-collection callback or a ``__del__``, where the exception is printed as "Exception
ignored in ..." and dropped: the program runs on. Within ``handled()`` (what the ``permjax``
command runs under) the handlers also record the signal, long-running loops call ``check()``
between units of work (figure points, sweep chunks, before an output file is renamed into
place), and ``check()`` raises again for a signal that was dropped. SIGTERM raises
``Terminated``, a ``KeyboardInterrupt``, so both take the same clean-up path. Outside
``handled()`` ``check()`` does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


_pending: list[int] = []


def _exception(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum, frame):
    _pending.append(signum)
    raise _exception(signum)


def pending() -> int | None:
    """The last signal received within ``handled()`` and not yet cleared, or None."""
    return _pending[-1] if _pending else None


def check() -> None:
    """Raise ``KeyboardInterrupt``/``Terminated`` if a signal arrived (even one whose exception
    was swallowed); a no-op otherwise."""
    if _pending:
        raise _exception(_pending[-1])


def _unraisable(default):
    def hook(info):  # an interrupt dropped in a callback: recorded in _pending, raised by check()
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt) and _pending:
            return
        default(info)

    return hook


@contextlib.contextmanager
def handled(after=None):
    """Install the recording handlers for SIGINT and SIGTERM (main thread only) and clear
    the record on entry and exit. On exit the previous handlers come back, or ``after`` (a
    handler) if given."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending.clear()
    old = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    old_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(old_hook)
    try:
        yield
    finally:
        sys.unraisablehook = old_hook
        for s, h in old.items():
            signal.signal(s, h if after is None else after)
        _pending.clear()
