"""Output files that survive interruptions and concurrent runs.

* ``atomic_write(path)``: a file appears complete or not at all — written to a temporary file
  in the same folder, flushed to disk, then renamed over ``path`` (``os.replace`` is atomic on
  POSIX); an exception (Ctrl-C included) removes the temporary file and leaves ``path`` as it was.
* ``check_output_file`` / ``check_output_dir``: refuse an unusable destination before any
  computation (missing folder, a folder where a file is wanted or the reverse, no write access)
  with a one-line ``ValueError``.
* ``AppendLog``: a JSON-lines file shared by concurrent writers. Each record is one ``write``
  of a whole line to a descriptor opened with ``O_APPEND`` (a single append: lines of two
  writers never interleave, an interrupted writer never leaves half a line), and writers
  coordinate through POSIX byte-range locks (``fcntl.lockf``) on the same file, one byte per
  task key: a writer computes a task only while holding its lock, after re-reading what
  others appended. Locks are released by the kernel when a process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import tempfile

from . import interrupt


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", **open_kwargs):
    """Open a temporary file beside ``path`` for writing; on success rename it to ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        interrupt.check()  # an interrupted run leaves the old file, never a new one it did not finish
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_output_file(path, suffixes: tuple[str, ...] = (), what: str = "--out") -> str:
    """``path`` if a file can be written there (atomically: its folder must be writable),
    else ``ValueError`` in one line."""
    path = os.fspath(path)
    if suffixes and not path.endswith(suffixes):
        raise ValueError(f"{what} must end in {' or '.join(suffixes)}, got {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{what} {path!r} is a folder, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path!r}: folder {folder!r} is not writable")
    return path


def check_output_dir(path, what: str = "--out") -> str:
    """Create folder ``path`` if needed; ``ValueError`` in one line if it cannot be used."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{what} {path!r} exists and is not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{what} {path!r}: cannot create the folder ({e.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path!r} is not writable")
    return path


class AppendLog:
    """A JSON-lines file shared by concurrent appenders (module docstring).

    ``read_new()`` returns ``(line_number, record_or_None, error)`` for every complete line
    appended since the previous call (``error`` says why a line could not be decoded);
    ``append(record)`` adds one line; ``claim(key)``/``release(key)`` lock a task.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        self._offset = 0
        self._lines = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # also drops every lock of this process on the file
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read_new(self) -> list[tuple[int, object, str | None]]:
        size = os.fstat(self.fd).st_size
        data = b""
        while self._offset + len(data) < size:
            chunk = os.pread(self.fd, size - self._offset - len(data), self._offset + len(data))
            if not chunk:
                break
            data += chunk
        end = data.rfind(b"\n") + 1  # an unfinished last line is left for a later call
        out = []
        for raw in data[:end].split(b"\n")[:-1]:
            self._lines += 1
            if not raw.strip():
                continue
            try:
                out.append((self._lines, json.loads(raw), None))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                out.append((self._lines, None, f"not JSON ({e.msg if hasattr(e, 'msg') else e})"))
        self._offset += end
        return out

    def append(self, record) -> None:
        """One whole line in one ``write``; a newline first if the file ends in a torn line."""
        line = (json.dumps(record, allow_nan=False) + "\n").encode()
        size = os.fstat(self.fd).st_size
        if size and os.pread(self.fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(self.fd, line)
        if written != len(line):
            raise OSError(errno.EIO, f"short write to {self.path} ({written} of {len(line)} bytes)")

    @staticmethod
    def _byte(key: str) -> int:
        return int.from_bytes(hashlib.sha1(key.encode()).digest()[:6], "big")

    def claim(self, key: str, wait: bool = False) -> bool:
        """Lock task ``key`` for this process; ``False`` if another process holds it (``wait``:
        block until it is released)."""
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.lockf(self.fd, flags, 1, self._byte(key), os.SEEK_SET)
        except OSError as e:
            if not wait and e.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise
        return True

    def release(self, key: str) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, self._byte(key), os.SEEK_SET)
