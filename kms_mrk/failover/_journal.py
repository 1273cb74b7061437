"""The journal of a fleet run: append-only JSON lines, each one on disk before the next step.

One record per line, each written with a single ``write`` and ``fsync``'d before the run
goes on::

    {"v": 1, "type": "start", "run": 1, "from_region": "us-east-1", "to_region": "eu-west-1", ...}
    {"v": 1, "type": "intent", "run": 1, "key_id": "mrk-...", "arn": "arn:...", ...}
    {"v": 1, "type": "done", "run": 1, "key_id": "mrk-...", "request_id": "...", ...}
    {"v": 1, "type": "failed", "run": 1, "key_id": "mrk-...", "reason": "...", ...}
    {"v": 1, "type": "end", "run": 1, "counts": {...}, "interrupted": false, ...}

``intent`` is on disk before UpdatePrimaryRegion is sent; ``done`` or ``failed`` follows
the outcome. After a crash, a key whose last record is ``intent`` may or may not have been
promoted: the resumed run reads it with DescribeKey before doing anything (see
:func:`kms_mrk.failover.run`), so no key is ever promoted twice.

A crash can leave the last line cut short (or padded with NUL bytes by the file system).
Reading ignores such a torn last line and opening for append cuts it off first; a bad line
anywhere else means the file is not a journal, and :class:`JournalError` says which line.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from kms_mrk.errors import KmsMrkError

__all__ = ["Journal", "JournalError", "JournalState", "read_journal"]

JOURNAL_VERSION: Final = 1


class JournalError(KmsMrkError):
    """The journal cannot be used: unreadable, not a journal, for another run, or in use.

    ``reason`` is ``exists`` (it has records and resuming was not asked for), ``mismatch``
    (it belongs to a run between other Regions), ``corrupt`` or ``io``.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, message: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"journal {self.path}: {message}")


def _timestamp(now: float) -> str:
    moment = _dt.datetime.fromtimestamp(now, _dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(path: Path, data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The records in ``data`` and the length of its intact part (torn tail excluded)."""
    records: list[dict[str, Any]] = []
    good = 0
    lines = data.split(b"\n")
    # The piece after the last newline is empty for an intact file, else a torn line.
    for number, line in enumerate(lines[:-1], start=1):
        last = number == len(lines) - 1
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError("not a journal record")
        except (ValueError, UnicodeDecodeError):
            if last and not lines[-1]:
                # The final line, cut short then followed by a newline; treat as torn.
                break
            raise JournalError(
                path, "corrupt", f"line {number} is not a journal record (JSON object)"
            ) from None
        records.append(record)
        good += len(line) + 1
    return records, good


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every intact record of the journal at ``path`` (a torn last line is skipped)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise JournalError(file, "io", f"cannot read it: {error.strerror or error}") from None
    return _parse(file, data)[0]


@attrs.frozen(slots=True, kw_only=True)
class JournalState:
    """What earlier runs recorded, key by key (the last record of each key counts).

    ``done`` and ``failed`` map key ids to their last outcome record; ``pending`` holds keys
    whose last record is ``intent`` (outcome unknown: check before acting).
    """

    runs: int = 0
    from_region: str | None = None
    to_region: str | None = None
    done: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    failed: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    pending: frozenset[str] = frozenset()

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> JournalState:
        runs = 0
        from_region = to_region = None
        last: dict[str, dict[str, Any]] = {}
        for record in records:
            kind = record.get("type")
            if kind == "start":
                runs += 1
                from_region = record.get("from_region", from_region)
                to_region = record.get("to_region", to_region)
            elif kind in ("intent", "done", "failed") and isinstance(record.get("key_id"), str):
                last[record["key_id"]] = record
        return cls(
            runs=runs,
            from_region=from_region,
            to_region=to_region,
            done={k: r for k, r in last.items() if r["type"] == "done"},
            failed={k: r for k, r in last.items() if r["type"] == "failed"},
            pending=frozenset(k for k, r in last.items() if r["type"] == "intent"),
        )


class Journal:
    """An open journal; thread-safe. Use :meth:`open`; close it (or use ``with``)."""

    def __init__(
        self,
        path: Path,
        fd: int,
        state: JournalState,
        *,
        run: int,
        fsync: bool,
        now: Callable[[], float],
    ) -> None:
        self.path = path
        self.state = state
        self.run = run
        self._fd: int | None = fd
        self._fsync = fsync
        self._now = now
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._synced = 0
        self.records_written = 0

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        from_region: str,
        to_region: str,
        resume: bool = False,
        fsync: bool = True,
        now: Callable[[], float] = time.time,
        info: Mapping[str, Any] | None = None,
    ) -> Journal:
        """Open ``path`` for a run from ``from_region`` to ``to_region`` and record its start.

        A journal that already has records is refused unless ``resume`` is true, and then
        only when it is for the same pair of Regions. A torn last line is cut off.
        """
        file = Path(path)
        try:
            fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            raise JournalError(file, "io", f"cannot open it: {error.strerror or error}") from None
        try:
            data = _read_all(fd)
            records, good = _parse(file, data)
            if good < len(data):
                os.ftruncate(fd, good)
                _sync(fd)
            state = JournalState.from_records(records)
            if records and not resume:
                raise JournalError(
                    file,
                    "exists",
                    f"it already holds {len(records)} records from an earlier run; resume that "
                    "run (--resume) or choose a new journal file",
                )
            if state.runs and (state.from_region, state.to_region) != (from_region, to_region):
                raise JournalError(
                    file,
                    "mismatch",
                    f"it records a run from {state.from_region} to {state.to_region}, not "
                    f"{from_region} to {to_region}",
                )
            if not records:
                _sync_directory(file)
        except BaseException:
            os.close(fd)
            raise
        journal = cls(file, fd, state, run=state.runs + 1, fsync=fsync, now=now)
        journal.write("start", from_region=from_region, to_region=to_region, **dict(info or {}))
        return journal

    def write(self, kind: str, **fields: Any) -> None:
        """Append one record and make it durable before returning.

        Records from several threads are written whole, one after the other; their syncs
        are shared (group commit): a thread whose record was covered by another thread's
        ``fsync`` returns without one of its own.
        """
        record = {"v": JOURNAL_VERSION, "type": kind, "run": self.run, "time": ""}
        record.update(fields)
        record["time"] = _timestamp(self._now())
        data = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
        try:
            with self._lock:
                fd = self._fd
                if fd is None:
                    raise JournalError(self.path, "io", "it is closed")
                os.write(fd, data)
                self.records_written += 1
                mine = self.records_written
            if self._fsync:
                with self._sync_lock:
                    if self._synced < mine:
                        written = self.records_written
                        _sync(fd)
                        self._synced = written
        except OSError as error:
            raise JournalError(
                self.path, "io", f"cannot write to it: {error.strerror or error}"
            ) from None

    def intent(self, key_id: str, arn: str | None, **fields: Any) -> None:
        """Record that UpdatePrimaryRegion is about to be sent for ``key_id``."""
        self.write("intent", key_id=key_id, arn=arn, **fields)

    def done(self, key_id: str, **fields: Any) -> None:
        """Record that ``key_id``'s primary is in the target Region."""
        self.write("done", key_id=key_id, **fields)

    def failed(self, key_id: str, reason: str, detail: str, **fields: Any) -> None:
        """Record that promoting ``key_id`` failed."""
        self.write("failed", key_id=key_id, reason=reason, detail=detail, **fields)

    def close(self) -> None:
        with self._sync_lock, self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal(path={str(self.path)!r}, run={self.run})"


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _sync(fd: int) -> None:
    sync = getattr(os, "fdatasync", None) or os.fsync
    sync(fd)


def _sync_directory(path: Path) -> None:
    """Make the new file's directory entry durable (best effort; not possible everywhere)."""
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
