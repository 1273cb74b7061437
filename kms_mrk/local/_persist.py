"""The ``--state`` persistence: the local KMS's state in a SQLite database (stdlib ``sqlite3``).

Layout (one row per record, the data as JSON, so what other parts of the local KMS add to
``_dump_key``/``_dump_shared``/``_dump_region`` is saved without a schema change)::

    meta    (name, value)                        format, version, seq
    shared  (account, key_id, data)              what related multi-Region keys share
    keys    (account, region, key_id, seq, data) one KMS key in one Region
    aliases (account, region, name, seq, data)
    regions (account, region, data)              other Region-level data (custom key stores...)

A mutating request writes only what it changed, so a CreateKey costs the same with 100 keys
and with 100,000:

1. under the LocalKMS lock, once the handler succeeded, :meth:`Store.take_changes` turns what
   the request touched into rows (JSON text), which are queued with the state's version;
2. after the lock is released (reads never wait for the disk), :meth:`StateDatabase.flush`
   writes every queued batch in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) and
   answers only once it is committed. Concurrent writers are coalesced (group commit): a
   request whose batch another thread already committed returns at once; a request's rows
   are never split across transactions.

Durability: WAL mode with ``synchronous=FULL``, so a commit is fsync'ed before the answer and
an acknowledged change survives SIGKILL and a power cut. A lock file (``FILE.lock``,
``flock``) keeps a second server away; it is removed, and the WAL checkpointed into the
database (no ``-wal``/``-shm`` files left), on a clean close.

When a write fails (disk full, I/O error), SQLite rolls the transaction back, the failing
writer reloads the state from the database (what is committed), and every change made since
the last commit, the failing request's and any other request's waiting for the same write,
is answered with an error naming the file: memory and disk stay equal. The next change is
written as usual, so the server recovers once there is room again.

Opening checks the file: a SQLite header, exactly our tables (no triggers or views:
``trusted_schema`` is off too), ``quick_check``, the format and version in ``meta``, row
counts and row sizes within bounds, each row's JSON bounded (:func:`loads_bounded`). Anything
else is a :class:`StateFileError` naming the file and the problem.

JSON state files (kms-mrk before the database) are migrated on first start: ``--state
kms.json`` keeps the state in ``kms.db`` beside it and renames the JSON file to
``kms.json.bak``; a JSON file at a path given for the database is copied to ``FILE.bak`` and
replaced by the database. The database holds key material: it is created 0600 and its
contents are never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from kms_mrk._json import DEFAULT_MAX_DEPTH, JsonLimitError, loads_bounded
from kms_mrk.local._state import STATE_FORMAT, STATE_VERSION, Changes, StateFileError, Store

__all__ = ["DB_FORMAT", "DB_VERSION", "StateDatabase", "read_database"]

_log = logging.getLogger("kms_mrk.local")

DB_FORMAT: Final = "kms-mrk-local-state-db"
DB_VERSION: Final = 1
_SQLITE_HEADER: Final = b"SQLite format 3\x00"
#: a key policy is at most 32 KB and key material a few KB: one row is far below this
MAX_ROW_BYTES: Final = 1 << 20
MAX_ROWS: Final = 10_000_000
MAX_JSON_FILE_BYTES: Final = 1 << 30
_MAX_DEPTH: Final = DEFAULT_MAX_DEPTH

# Rowid tables with a unique index on the record's name: new rows are appended (the table's
# B-tree grows at its end) and only the small index is updated in random order, so a write
# touches few pages however many keys there are (a WITHOUT ROWID table keyed by random key
# ids, rows of about 1 KB, measured twice as slow per CreateKey at 100,000 keys).
_SCHEMA: Final = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE shared (id INTEGER PRIMARY KEY, account TEXT NOT NULL, key_id TEXT NOT NULL, "
    "data TEXT NOT NULL, UNIQUE (account, key_id))",
    "CREATE TABLE keys (id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, "
    "UNIQUE (account, region, key_id))",
    "CREATE TABLE aliases (id INTEGER PRIMARY KEY, account TEXT NOT NULL, "
    "region TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, "
    "UNIQUE (account, region, name))",
    "CREATE TABLE regions (id INTEGER PRIMARY KEY, account TEXT NOT NULL, "
    "region TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (account, region))",
)
_TABLES: Final = frozenset({"meta", "shared", "keys", "aliases", "regions"})
#: pages SQLite may keep in memory per connection (KiB when negative): the index pages of a
#: large state stay cached
_CACHE_KIB: Final = 32768


def _expected_schema() -> frozenset[tuple[str, str, str]]:
    """(type, name, SQL) of every schema entry our statements make (indexes included)."""
    db = sqlite3.connect(":memory:")
    try:
        for statement in _SCHEMA:
            db.execute(statement)
        rows = db.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
    finally:
        db.close()
    return frozenset((str(t), str(n), str(q)) for t, n, q in rows)


class StateDatabase:
    """One state database: open (or migrate) it, and write what requests changed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = Path(path).expanduser().resolve()
        #: a ``.json`` path names the JSON state file to migrate; the database goes beside it
        self.legacy: Path | None = given if given.suffix.lower() == ".json" else None
        self.path = given.with_suffix(".db") if self.legacy is not None else given
        self._io_lock = threading.Lock()
        self._pending: deque[tuple[int, Changes]] = deque()
        self._written = 0
        #: (after, up to): versions whose changes a failed write undid
        self._lost: list[tuple[int, int]] = []
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"StateDatabase({str(self.path)!r})"

    # ------------------------------------------------------------------ open / close

    def open(self) -> Store:
        """Take the lock, migrate a JSON state file if there is one, and load the state."""
        if not self.path.parent.is_dir():
            raise StateFileError(f"the directory of the state file {self.path} does not exist")
        try:
            self._lock_fd = _lock(Path(f"{self.path}.lock"), self.path)
        except OSError as exc:
            raise StateFileError(
                f"cannot take the lock file {self.path}.lock ({exc.strerror or exc})"
            ) from None
        try:
            source = self._legacy_source()
            if source is not None:
                self._migrate(source)
            self._db = _connect(self.path)
            store = _read(self._db, self.path)
        except BaseException as exc:
            self._close_connection()
            self._release()
            if isinstance(exc, OSError):
                raise StateFileError(
                    f"cannot use the state database {self.path} ({exc.strerror or exc})"
                ) from None
            raise
        store.start_tracking()
        self._written = store.version
        return store

    def close(self) -> None:
        """Checkpoint the WAL into the database, close it and remove the lock file."""
        self._close_connection()
        self._release()

    def _close_connection(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            _log.warning("could not checkpoint the state database %s (%s)", self.path, exc)
        with contextlib.suppress(sqlite3.Error):
            db.close()

    def _release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}.lock")
            os.close(fd)

    # ------------------------------------------------------------------ migration

    def _legacy_source(self) -> Path | None:
        """The JSON state file to migrate into the database, if any."""
        if self.legacy is not None:
            if self.path.exists():
                if self.legacy.exists():
                    _log.warning(
                        "using the state database %s; the JSON state file %s is not read "
                        "(it was migrated before, or is another state: remove or rename it)",
                        self.path,
                        self.legacy,
                    )
                return None
            if self.legacy.exists():
                return self.legacy
            _log.warning(
                "--state %s: the state is kept in the SQLite database %s; name that file "
                "from now on",
                self.legacy,
                self.path,
            )
            return None
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(64)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(
                f"cannot read the state file {self.path}: {exc.strerror or exc}"
            ) from None
        if not head or head.startswith(_SQLITE_HEADER):
            return None
        if head.lstrip()[:1] == b"{":
            return self.path
        raise StateFileError(
            f"the state file {self.path} is neither a SQLite database nor a kms-mrk JSON state file"
        )

    def _migrate(self, source: Path) -> None:
        """Write the JSON state at ``source`` into a new database at :attr:`path`."""
        in_place = source == self.path
        json_lock = None if in_place else _lock(Path(f"{source}.lock"), source)
        try:
            store = _read_json(source)
            temporary = self.path.with_name(f".{self.path.name}.migrating")
            for leftover in (temporary, Path(f"{temporary}-journal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            try:
                _create_file(temporary)
                db = sqlite3.connect(str(temporary), isolation_level=None)
                try:
                    # Not durable until the fsync below, before the file is renamed into place.
                    db.execute("PRAGMA synchronous=OFF")
                    db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
                    store.tracking = True
                    for key in store.all_keys():
                        store.touch(key)
                    for account, regions in store.accounts.items():
                        for region in regions:
                            store.touch_region(account, region)
                    db.execute("BEGIN IMMEDIATE")
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.executemany(
                        "INSERT INTO meta (name, value) VALUES (?, ?)",
                        [("format", DB_FORMAT), ("version", str(DB_VERSION))],
                    )
                    _write_rows(db, [store.take_changes()])
                    db.execute("COMMIT")
                finally:
                    db.close()
                _fsync_file(temporary)
                backup = source.with_name(f"{source.name}.bak")
                if in_place:
                    shutil.copy2(source, backup)
                    _fsync_file(backup)
                    os.replace(temporary, self.path)
                else:
                    os.replace(temporary, self.path)
                    os.replace(source, backup)
            except (OSError, sqlite3.Error) as exc:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise StateFileError(
                    f"could not migrate the JSON state file {source} to the state database "
                    f"{self.path} ({reason}); the JSON file is unchanged"
                ) from None
            _fsync_directory(self.path.parent)
        finally:
            if json_lock is not None:
                with contextlib.suppress(OSError):
                    os.unlink(f"{source}.lock")
                os.close(json_lock)
        _log.warning(
            "migrated the JSON state file %s to the SQLite state database %s; the JSON file "
            "is kept as %s",
            source,
            self.path,
            backup,
        )

    # ------------------------------------------------------------------ writing

    def enqueue(self, version: int, changes: Changes) -> None:
        """Queue the rows of a change (call with the LocalKMS lock held, in version order)."""
        self._pending.append((version, changes))

    def flush(self, version: int, roll_back: Callable[[], int]) -> None:
        """Make sure every change up to ``version`` is committed.

        When the write fails, ``roll_back()`` reloads the state from the database (see
        :meth:`reload`) and returns the version the restored state has (higher than any change
        it undid); StateFileError then says what went wrong. A version whose change an earlier
        failure undid raises StateFileError too.
        """
        with self._io_lock:
            for after, up_to in self._lost:
                if after < version <= up_to:
                    raise StateFileError(
                        f"the local KMS could not write its state database {self.path}, so "
                        "the change was not made"
                    )
            if self._written >= version:
                return
            batches: list[tuple[int, Changes]] = []
            while self._pending:
                batches.append(self._pending.popleft())
            if batches:
                try:
                    self.write([changes for _version, changes in batches])
                except Exception as exc:
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                    message = (
                        f"the local KMS could not write its state database {self.path} ({reason})"
                    )
                    _log.error("%s; changes since the last write are undone", message)
                    restored = roll_back()
                    self._lost.append((self._written, restored - 1))
                    self._written = restored
                    raise StateFileError(f"{message}, so the change was not made") from None
                version = max(version, batches[-1][0])
            self._written = max(self._written, version)

    def write(self, batches: list[Changes]) -> None:
        """Commit ``batches`` in one transaction (all or nothing)."""
        db = self._db
        if db is None:
            raise StateFileError(f"the state database {self.path} is closed")
        db.execute("BEGIN IMMEDIATE")
        try:
            _write_rows(db, batches)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def reload(self) -> Store:
        """The committed state (after a failed write); queued changes are dropped."""
        self._pending.clear()
        if self._db is None:  # pragma: no cover - only called while open
            raise StateFileError(f"the state database {self.path} is closed")
        store = _read(self._db, self.path)
        store.start_tracking()
        return store

    @property
    def connection(self) -> sqlite3.Connection | None:
        """The open connection (tests use it to simulate a full disk)."""
        return self._db


def read_database(path: str | os.PathLike[str]) -> Store:
    """Load the state saved in the database at ``path`` without taking its lock (read only).

    For inspection and tests; a server may be writing it at the same time (WAL readers see the
    last commit).
    """
    resolved = Path(path).expanduser().resolve()
    _check_header(resolved)
    try:
        db = sqlite3.connect(f"{resolved.as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot open the state database {resolved} ({exc})") from None
    try:
        _check(db, resolved)
        return _read(db, resolved)
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot read the state database {resolved} ({exc})") from None
    finally:
        db.close()


# ---------------------------------------------------------------------- helpers


def _lock(path: Path, what: Path) -> int:
    """An exclusive ``flock`` on ``path`` (created 0600); StateFileError when taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no advisory locks
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    for _attempt in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateFileError(
                f"the state file {what} is in use by another kms-mrk local KMS"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # its owner removed the lock file as we opened it: take the new one
    raise StateFileError(f"cannot take the lock file {path}")  # pragma: no cover


def _create_file(path: Path) -> None:
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        raise StateFileError(f"the state database {path} does not exist") from None
    except OSError as exc:
        raise StateFileError(
            f"cannot read the state database {path}: {exc.strerror or exc}"
        ) from None
    if head and head != _SQLITE_HEADER:
        raise StateFileError(f"the state file {path} is not a SQLite database")


def _connect(path: Path) -> sqlite3.Connection:
    """Open (creating it 0600 when new) the database at ``path``, checked and in WAL mode."""
    if path.exists():
        _check_header(path)
    else:
        _create_file(path)
    try:
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot open the state database {path} ({exc})") from None
    try:
        db.execute("PRAGMA trusted_schema=OFF")
        db.execute("PRAGMA cell_size_check=ON")
        db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        if db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall():
            _check(db, path)  # before anything writes to a file that may not be ours
        else:
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("format", DB_FORMAT), ("version", str(DB_VERSION)), ("seq", "0")],
            )
            db.execute("COMMIT")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StateFileError(f"the state database {path} cannot use WAL mode ({mode})")
        # FULL: the WAL is fsync'ed at every commit, so an acknowledged change survives a
        # power cut too (NORMAL would survive a crashed process but not a crashed machine).
        db.execute("PRAGMA synchronous=FULL")
    except StateFileError:
        db.close()
        raise
    except sqlite3.Error as exc:
        db.close()
        raise StateFileError(f"cannot use the state database {path} ({exc})") from None
    return db


def _check(db: sqlite3.Connection, path: Path) -> None:
    """StateFileError unless ``db`` is a whole kms-mrk state database of our version."""
    entries = db.execute(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master LIMIT 1000"
    ).fetchall()
    found = frozenset((str(t), str(n), str(q)) for t, n, q in entries)
    if found != _expected_schema():
        names = sorted(f"{t} {n}" for t, n, _q in found)
        raise StateFileError(
            f"the state database {path} is not a kms-mrk local KMS state database (it has "
            f"{', '.join(names)[:200]})"
        )
    verdict = db.execute("PRAGMA quick_check(1)").fetchone()
    if verdict is None or verdict[0] != "ok":
        raise StateFileError(f"the state database {path} is damaged ({str(verdict)[:200]})")
    meta = dict(db.execute("SELECT name, value FROM meta LIMIT 100").fetchall())
    if meta.get("format") != DB_FORMAT:
        raise StateFileError(f"the state database {path} is not a kms-mrk local KMS database")
    if meta.get("version") != str(DB_VERSION):
        raise StateFileError(
            f"the state database {path} has format version {str(meta.get('version'))[:20]!r}; "
            f"this kms-mrk reads version {DB_VERSION}"
        )


def _row(text: object, path: Path, table: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise StateFileError(f"the state database {path} is damaged: a {table} row is not text")
    try:
        if len(text) <= MAX_ROW_BYTES and text.count("{") + text.count("[") <= _MAX_DEPTH:
            # No deeper than it has opening brackets: nothing for loads_bounded to walk.
            try:
                value = json.loads(text)
            except ValueError:
                value = loads_bounded(text, what=f"a {table} row", max_bytes=MAX_ROW_BYTES)
        else:
            value = loads_bounded(
                text, what=f"a {table} row", max_bytes=MAX_ROW_BYTES, max_depth=_MAX_DEPTH
            )
    except JsonLimitError as exc:
        raise StateFileError(f"the state database {path} is damaged: {exc}") from None
    if not isinstance(value, dict):
        raise StateFileError(
            f"the state database {path} is damaged: a {table} row is not an object"
        )
    return value


def _read(db: sqlite3.Connection, path: Path) -> Store:
    """The store the database holds."""
    source = f"the state database {path}"
    try:
        for table in sorted(_TABLES):
            (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            if count > MAX_ROWS:
                raise StateFileError(f"{source} has {count} {table} rows; the limit is {MAX_ROWS}")
        meta = dict(db.execute("SELECT name, value FROM meta LIMIT 100").fetchall())
        shared: list[dict[str, Any]] = []
        index: dict[tuple[object, object], int] = {}
        for account, key_id, text in db.execute("SELECT account, key_id, data FROM shared"):
            index[(account, key_id)] = len(shared)
            shared.append(_row(text, path, "shared"))
        keys: list[dict[str, Any]] = []
        for account, region, key_id, text in db.execute(
            "SELECT account, region, key_id, data FROM keys ORDER BY seq"
        ):
            raw = _row(text, path, "keys")
            position = index.get((account, key_id))
            if position is None:
                raise StateFileError(f"{source} is damaged: key {key_id!r} has no shared row")
            raw["shared"] = position
            raw["region"] = region
            keys.append(raw)
        aliases: list[dict[str, Any]] = []
        for account, region, text in db.execute(
            "SELECT account, region, data FROM aliases ORDER BY seq"
        ):
            raw = _row(text, path, "aliases")
            raw["account"], raw["region"] = account, region
            aliases.append(raw)
        regions: list[dict[str, Any]] = []
        for account, region, text in db.execute("SELECT account, region, data FROM regions"):
            raw = _row(text, path, "regions")
            raw["account"], raw["region"] = account, region
            regions.append(raw)
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot read {source} ({exc})") from None
    try:
        seq = int(meta.get("seq", 0))
    except (TypeError, ValueError):
        raise StateFileError(f"{source} is damaged: its seq is not a number") from None
    data = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "seq": seq,
        "shared": shared,
        "keys": keys,
        "aliases": aliases,
        "regions": regions,
    }
    return Store.load(data, source=source)


def _write_rows(db: sqlite3.Connection, batches: list[Changes]) -> None:
    """Apply ``batches`` in order (each one's deletions first) inside the open transaction."""
    for changes in batches:
        db.executemany(
            "DELETE FROM shared WHERE account = ? AND key_id = ?",
            [(a, k) for a, k, data in changes.shared if data is None],
        )
        db.executemany(
            "DELETE FROM keys WHERE account = ? AND region = ? AND key_id = ?",
            [(a, r, k) for a, r, k, _seq, data in changes.keys if data is None],
        )
        db.executemany(
            "DELETE FROM aliases WHERE account = ? AND region = ? AND name = ?",
            [(a, r, n) for a, r, n, _seq, data in changes.aliases if data is None],
        )
        db.executemany(
            "DELETE FROM regions WHERE account = ? AND region = ?",
            [(a, r) for a, r, data in changes.regions if data is None],
        )
        db.executemany(
            "INSERT OR REPLACE INTO shared (account, key_id, data) VALUES (?, ?, ?)",
            [row for row in changes.shared if row[2] is not None],
        )
        db.executemany(
            "INSERT OR REPLACE INTO keys (account, region, key_id, seq, data) "
            "VALUES (?, ?, ?, ?, ?)",
            [row for row in changes.keys if row[4] is not None],
        )
        db.executemany(
            "INSERT OR REPLACE INTO aliases (account, region, name, seq, data) "
            "VALUES (?, ?, ?, ?, ?)",
            [row for row in changes.aliases if row[4] is not None],
        )
        db.executemany(
            "INSERT OR REPLACE INTO regions (account, region, data) VALUES (?, ?, ?)",
            [row for row in changes.regions if row[2] is not None],
        )
    if batches:
        db.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('seq', ?)", (str(batches[-1].seq),)
        )


def _read_json(path: Path) -> Store:
    """The store a JSON state file (kms-mrk before the database) holds."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_FILE_BYTES:
            raise StateFileError(
                f"the state file {path} is {size} bytes long; the limit is {MAX_JSON_FILE_BYTES}"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read the state file {path}: {exc.strerror or exc}") from None
    try:
        data = loads_bounded(raw, what=f"the state file {path}", max_bytes=MAX_JSON_FILE_BYTES)
    except JsonLimitError as exc:
        message = str(exc)
        if str(path) not in message:  # pragma: no cover - loads_bounded names ``what``
            message = f"the state file {path}: {message}"
        raise StateFileError(message) from None
    return Store.load(data, source=f"the state file {path}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows cannot fsync a directory
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _log.warning("could not fsync the directory %s (%s)", directory, exc.strerror or exc)
