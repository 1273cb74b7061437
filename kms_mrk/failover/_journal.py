"""The journal of a fleet run: append-only JSON lines, written as the run goes.

One record per line, each written with a single ``write``::

    {"v": 1, "type": "start", "run": 1, "from_region": "us-east-1", "to_region": "eu-west-1", ...}
    {"v": 1, "type": "intent", "run": 1, "key_id": "mrk-...", "arn": "arn:...", ...}
    {"v": 1, "type": "done", "run": 1, "key_id": "mrk-...", "request_id": "...", ...}
    {"v": 1, "type": "failed", "run": 1, "key_id": "mrk-...", "reason": "...", ...}
    {"v": 1, "type": "end", "run": 1, "counts": {...}, "interrupted": false, ...}

``intent`` is on disk (``fdatasync``) before UpdatePrimaryRegion is sent; ``done`` or
``failed`` follows the outcome. After a crash, a key whose last record is ``intent`` may or
may not have been promoted: the resumed run reads it with DescribeKey before doing anything
(see :func:`kms_mrk.failover.run`), so no key is ever promoted twice.

Only the records that this safety rests on are synced one by one: ``start``, ``intent``
and ``end``. A ``done`` or ``failed`` record is written at once and reaches the disk with
the next synced record (another key's ``intent``, at the latest the ``end``). Losing one
in a crash is harmless: the key's last record on disk is then its ``intent``, and the
resumed run checks the key as above (a ``failed`` whose ``intent`` was never written
is simply tried again). This halves the syncs of a run, the larger part of its cost.

A crash can leave the last line cut short (or padded with NUL bytes by the file system).
Reading ignores such a torn last line (one that begins like a record) and opening for append
cuts it off first. Every other line is checked: valid JSON of bounded size and nesting, this
version, a known record type, each field of the right type, and a ``start`` record first.
A file that is not a journal (``notes.txt``) is refused and never written to
(``not_journal``); a damaged or forged line is reported with its number (``corrupt``).

An open journal holds an exclusive advisory lock (``flock``) on its file until it is
closed, so two runs can never write one journal: the second is refused (``in_use``).
Records are encoded cheaply (one reused JSON encoder, the timestamp's whole second
formatted once): the journal sits on the path of every key of a fleet run.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
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
#: The records synced before the run goes on; the others ride on the next sync.
_SYNCED: Final = frozenset({"start", "intent", "end"})


class JournalError(KmsMrkError):
    """The journal cannot be used: unreadable, not a journal, for another run, or in use.

    ``reason`` is ``exists`` (it has records and resuming was not asked for), ``missing``
    (resuming was asked for but there is no such file), ``mismatch`` (it belongs to a run
    between other Regions), ``in_use`` (another run has it open), ``not_journal`` (the file
    holds something else: it is never written to), ``corrupt`` (a record is damaged, of an
    unknown version or type, or has a field of the wrong type) or ``io``.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, message: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"journal {self.path}: {message}")


# One encoder for every record: json.dumps() with options builds a new one per call.
_ENCODE: Final = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_last_second: tuple[int, str] = (-1, "")  # the last whole second formatted (swapped whole)


def _timestamp(now: float) -> str:
    """``now`` (seconds since the epoch) as ``2024-05-01T10:00:00.123Z``."""
    global _last_second
    whole = math.floor(now)
    millis = min(999, int((now - whole) * 1000))
    last = _last_second
    if last[0] != whole:
        moment = _dt.datetime.fromtimestamp(whole, _dt.timezone.utc)
        last = (whole, moment.strftime("%Y-%m-%dT%H:%M:%S"))
        _last_second = last
    return f"{last[1]}.{millis:03d}Z"


#: Every record begins with these bytes (see ``Journal._head``): a torn line is recognised
#: as the start of a record, anything else means the file is not a journal.
_RECORD_PREFIX: Final = b'{"v":'
#: A journal line longer than this is not one of ours (records are a few hundred bytes).
_MAX_LINE: Final = 64 * 1024
#: Bound on a whole journal read at open (a fleet of 100,000 keys is about 60 MB).
_MAX_BYTES: Final = 512 * 1024 * 1024

_STR: Final = (str,)
_OPT_STR: Final = (str, type(None))
#: The fields of each record type and the JSON types they must have ("run", "v", "time" and
#: "type" are common to all). Fields not listed are allowed (later versions may add some).
_FIELDS: Final[dict[str, dict[str, tuple[type, ...]]]] = {
    "start": {"from_region": _STR, "to_region": _STR},
    "intent": {"key_id": _STR, "arn": _OPT_STR},
    "done": {"key_id": _STR, "request_id": _OPT_STR},
    "failed": {"key_id": _STR, "reason": _STR, "detail": _STR, "request_id": _OPT_STR},
    "end": {"counts": (dict,), "interrupted": (bool,)},
}


def _torn(line: bytes) -> bool:
    """Whether ``line`` can be the cut-short start of a record (or file-system NUL padding)."""
    stripped = line.strip(b"\x00")
    return not stripped or _RECORD_PREFIX.startswith(stripped[: len(_RECORD_PREFIX)])


def _check_record(path: Path, number: int, record: Any) -> dict[str, Any]:
    """``record`` if it is a valid record of this journal version, else JournalError."""

    def bad(problem: str) -> JournalError:
        return JournalError(
            path, "corrupt", f"line {number} is not a valid journal record: {problem}"
        )

    if not isinstance(record, dict):
        raise bad("not a JSON object")
    version = record.get("v")
    if type(version) is not int or version != JOURNAL_VERSION:
        raise bad(f"version {version!r} is not {JOURNAL_VERSION}, the one this kms-mrk writes")
    kind = record.get("type")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise bad(f"unknown record type {kind!r}")
    run = record.get("run")
    if type(run) is not int or run < 1:
        raise bad(f"'run' must be a whole number >= 1; got {run!r}")
    if not isinstance(record.get("time", ""), str):
        raise bad("'time' must be a string")
    for name, types in fields.items():
        value = record.get(name)
        if name not in record and type(None) in types:
            continue
        if type(value) not in types:
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise bad(f"{kind} record: '{name}' must be {wanted}; got {value!r:.60}")
    if kind == "start":
        from kms_mrk.failover._regions import region_problem

        for name in ("from_region", "to_region"):
            problem = region_problem(record[name])
            if problem is not None:
                raise bad(f"start record: '{name}' {record[name]!r:.40}: {problem}")
    return record


def _parse(path: Path, data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The records in ``data`` and the length of its intact part (torn tail excluded).

    Every line must be a valid record (:func:`_check_record`) and the first a ``start``
    record; only a last line that is the cut-short start of a record is ignored. Anything
    else raises :class:`JournalError` (``not_journal`` when the file never was a journal,
    ``corrupt`` when a line of it is damaged or forged): such a file is never written to.
    """
    from kms_mrk._json import JsonLimitError, loads_bounded

    records: list[dict[str, Any]] = []
    good = 0
    lines = data.split(b"\n")
    # The piece after the last newline is empty for an intact file, else a torn line.
    tail = lines[-1]
    for number, line in enumerate(lines[:-1], start=1):
        last = number == len(lines) - 1
        try:
            if len(line) > _MAX_LINE:
                raise JsonLimitError(f"line {number} is longer than {_MAX_LINE} bytes")
            record = loads_bounded(line, what=f"line {number}", max_depth=8)
        except JsonLimitError as error:
            cut_short = "is not valid JSON" in str(error)  # not a size or nesting bound
            if last and not tail and records and cut_short and _torn(line):
                # The final line, cut short then followed by a newline; treat as torn.
                break
            if not records:
                raise _not_journal(path) from None
            raise JournalError(path, "corrupt", f"{error}") from None
        if not records and (not isinstance(record, dict) or record.get("type") != "start"):
            raise _not_journal(path)
        records.append(_check_record(path, number, record))
        good += len(line) + 1
    if tail and not _torn(tail):
        raise (
            _not_journal(path)
            if not records
            else JournalError(path, "corrupt", f"line {len(lines)} is not a journal record")
        )
    return records, good


def _not_journal(path: Path) -> JournalError:
    return JournalError(
        path,
        "not_journal",
        "it is not a kms-mrk journal (its first line is not a journal's start record); "
        "it was left untouched: choose another file name for the journal",
    )


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every intact record of the journal at ``path`` (a torn last line is skipped)."""
    file = Path(path)
    try:
        fd = os.open(file, os.O_RDONLY)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise JournalError(file, "io", f"cannot read it: {error.strerror or error}") from None
    try:
        data = _read_all(fd, file)
    except OSError as error:
        raise JournalError(file, "io", f"cannot read it: {error.strerror or error}") from None
    finally:
        os.close(fd)
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
        from_region: str,
        to_region: str,
    ) -> None:
        self.path = path
        self.state = state
        self.run = run
        self.from_region = from_region
        self.to_region = to_region
        self._fd: int | None = fd
        self._fsync = fsync
        self._now = now
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._synced = 0
        self._head = f'{{"v":{JOURNAL_VERSION},"run":{run},'
        self.records_written = 0
        self.started = False
        self.ended = False

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
        start: bool = True,
    ) -> Journal:
        """Open ``path`` for a run from ``from_region`` to ``to_region``, locked for this run.

        A journal that already has records is refused unless ``resume`` is true, and then
        only when it is for the same pair of Regions; ``resume`` with no such file is
        refused too (a mistyped path must not start a new run silently). A journal another
        run holds open is refused (``in_use``). A torn last line is cut off.

        With ``start`` (the default) the ``start`` record (with ``info``) is written at
        once; ``start=False`` defers it to :meth:`begin`, so that a journal can be opened,
        checked and locked before a long planning step, and left empty if that step fails.
        """
        file = Path(path)
        flags = os.O_RDWR | os.O_APPEND | (0 if resume else os.O_CREAT)
        try:
            fd = os.open(file, flags, 0o600)
        except OSError as error:
            if resume and isinstance(error, FileNotFoundError):
                raise JournalError(
                    file,
                    "missing",
                    "there is no such file, so there is no run to resume; check the path, or "
                    "leave out --resume (resume=False) to start a new run",
                ) from None
            raise JournalError(file, "io", f"cannot open it: {error.strerror or error}") from None
        try:
            import stat

            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalError(
                    file, "not_journal", "it is not a regular file; a journal must be one"
                )
            _lock(file, fd)
            data = _read_all(fd, file)
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
        journal = cls(
            file,
            fd,
            state,
            run=state.runs + 1,
            fsync=fsync,
            now=now,
            from_region=from_region,
            to_region=to_region,
        )
        if start:
            try:
                journal.begin(**dict(info or {}))
            except BaseException:
                journal.close()
                raise
        return journal

    def begin(self, **info: Any) -> None:
        """Write the ``start`` record of this run (once; later calls do nothing)."""
        with self._lock:
            if self.started:
                return
            self.started = True
        self.write("start", from_region=self.from_region, to_region=self.to_region, **info)

    def write(self, kind: str, **fields: Any) -> None:
        """Append one record and make it durable before returning.

        ``start``, ``intent`` and ``end`` records are synced before this returns, the others
        with the next synced record (see the module documentation). Records from several
        threads are written whole, one after the other; their syncs are shared (group
        commit): a thread whose record was covered by another thread's sync returns without
        one of its own. The ``end`` record is the last: any
        record after it is refused (a key still in flight when the run stopped at once
        keeps its ``intent``, which a resumed run checks).
        """
        fields["time"] = _timestamp(self._now())
        fields["type"] = kind
        data = (self._head + _ENCODE(fields)[1:] + "\n").encode()
        try:
            with self._lock:
                fd = self._fd
                if fd is None:
                    raise JournalError(self.path, "io", "it is closed")
                if self.ended:
                    raise JournalError(self.path, "io", "the run it records has ended")
                self.ended = kind == "end"
                os.write(fd, data)
                self.records_written += 1
                mine = self.records_written
            if self._fsync and kind in _SYNCED:
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
        """Sync what is not on disk yet, release the lock and close the file (idempotent)."""
        with self._sync_lock, self._lock:
            fd, self._fd = self._fd, None
            unsynced = self._fsync and self._synced < self.records_written
        if fd is None:
            return
        try:
            if unsynced:
                _sync(fd)
        except OSError as error:
            raise JournalError(
                self.path, "io", f"cannot write to it: {error.strerror or error}"
            ) from None
        finally:
            os.close(fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal(path={str(self.path)!r}, run={self.run})"


def _read_all(fd: int, path: Path) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > _MAX_BYTES:
            raise JournalError(path, "corrupt", f"it is larger than {_MAX_BYTES} bytes")
        chunks.append(chunk)


def _lock(path: Path, fd: int) -> None:
    """Take an exclusive advisory lock on the journal, or refuse: another run has it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no advisory locks
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise JournalError(
            path,
            "in_use",
            "another run has it open (a second failover-all on the same journal?); wait for "
            "that run to end, or stop it, before resuming",
        ) from None


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
