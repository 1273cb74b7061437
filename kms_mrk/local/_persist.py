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

When a write fails (the directory was removed, the disk is full), nothing is answered as
done that is not on disk: the owner's ``roll_back`` puts the state back to the last snapshot
written (kept in memory as plain data), and every change made since then, the failing
request's and any other request's waiting for the same write, is answered with an error
naming the file. The next change is written as usual, so the server recovers on its own once
the disk is back. A failed ``fsync`` of the directory after the rename is only logged: the
new file is in place, and undoing changes it holds would make memory and disk disagree.

The file holds key material (base64): it is a local development tool's state. It is created
0600 and its contents are never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kms_mrk.local._state import StateFileError, Store

__all__ = ["StateFile"]

_log = logging.getLogger("kms_mrk.local")


class StateFile:
    """One state file: load it, and write snapshots of a store atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        self._io_lock = threading.Lock()
        self._written = -1
        self._lock_fd: int | None = None
        #: the last snapshot on disk (or loaded from it), as plain data: what a failed write
        #: rolls the state back to
        self.durable: dict[str, Any] | None = None
        #: (after, up to): versions whose changes a failed write undid
        self._lost: list[tuple[int, int]] = []

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

    def flush(
        self,
        version: int,
        snapshot: Callable[[], tuple[int, dict[str, Any]]],
        roll_back: Callable[[dict[str, Any]], int],
    ) -> None:
        """Make sure a snapshot at least as new as ``version`` is on disk.

        ``snapshot`` returns (version, data) of the current state, taking the state lock.
        When the write fails, ``roll_back(durable data)`` restores the state from the last
        snapshot written and returns the version the restored state has (higher than any
        change it undid); StateFileError then says what went wrong. A version whose change
        an earlier failure undid raises StateFileError too.
        """
        with self._io_lock:
            for after, up_to in self._lost:
                if after < version <= up_to:
                    raise StateFileError(
                        f"the local KMS could not write its state file {self.path}, so the "
                        "change was not made"
                    )
            if self._written >= version:
                return
            current, data = snapshot()
            try:
                self.write(data)
            except Exception as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                message = f"the local KMS could not write its state file {self.path} ({reason})"
                _log.error("%s; changes since the last write are undone", message)
                if self.durable is None:  # pragma: no cover - the owner sets it when it opens
                    raise StateFileError(message) from None
                restored = roll_back(self.durable)
                self._lost.append((self._written, restored - 1))
                self._written = restored
                raise StateFileError(f"{message}, so the change was not made") from None
            self._written = current
            self.durable = data

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
        try:
            _fsync_directory(directory)
        except OSError as exc:
            _log.warning(
                "could not fsync the directory of the state file %s (%s): the last write may "
                "not survive a power cut",
                self.path,
                exc.strerror or exc,
            )


def _fsync_directory(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows cannot fsync a directory
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
