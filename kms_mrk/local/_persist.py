"""The ``--state FILE`` persistence: atomic, durable snapshots of the whole state.

Every mutating request is answered only after a snapshot that includes it is on disk:

1. the state is dumped to plain data under the LocalKMS lock (no I/O under that lock, so
   reads never wait for the disk);
2. the JSON is written to a temporary file in the same directory (mode 0600), flushed and
   fsync'ed;
3. ``os.replace`` swaps it in (atomic on POSIX and Windows), then the directory is fsync'ed
   so the rename itself survives a power cut.

A process killed at any moment leaves either the old file or the new one, never a mix.
Concurrent writers are coalesced (group commit): a request whose change is already in a
snapshot another thread wrote returns at once. A lock file (``FILE.lock``, ``flock``) keeps a
second server from writing the same state file.

The file holds key material (base64): it is a local development tool's state. It is created
0600 and its contents are never logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kms_mrk.local._state import StateFileError, Store

__all__ = ["StateFile"]


class StateFile:
    """One state file: load it, and write snapshots of a store atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        self._io_lock = threading.Lock()
        self._written = -1
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    # ------------------------------------------------------------------ open / close

    def acquire(self) -> None:
        """Take the lock file, so that no other process writes this state file."""
        if not self.path.parent.is_dir():
            raise StateFileError(f"the directory of the state file {self.path} does not exist")
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory locks
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateFileError(
                f"the state file {self.path} is in use by another kms-mrk local KMS"
            ) from None
        self._lock_fd = fd

    def release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def load(self) -> Store | None:
        """The saved store, or None when the file does not exist yet."""
        self._remove_stale_temporaries()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read the state file {self.path}: {exc}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise StateFileError(f"the state file {self.path} is not valid JSON") from None
        return Store.load(data, source=f"the state file {self.path}")

    def _remove_stale_temporaries(self) -> None:
        prefix = f".{self.path.name}."
        with contextlib.suppress(OSError):
            for entry in self.path.parent.iterdir():
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        entry.unlink()

    # ------------------------------------------------------------------ writing

    def flush(self, version: int, snapshot: Callable[[], tuple[int, dict[str, Any]]]) -> None:
        """Make sure a snapshot at least as new as ``version`` is on disk.

        ``snapshot`` returns (version, data) of the current state, taking the state lock.
        """
        with self._io_lock:
            if self._written >= version:
                return
            current, data = snapshot()
            self.write(data)
            self._written = current

    def write(self, data: dict[str, Any]) -> None:
        """Write ``data`` as the new state file, atomically and durably."""
        payload = json.dumps(data, separators=(",", ":")).encode("utf-8")
        directory = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):
                    os.fchmod(handle.fileno(), 0o600)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows cannot fsync a directory
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
