"""The state database: round trip across restarts, durable private writes of what changed,
one writer at a time, JSON migration, damaged and hostile files, a full disk."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kms_mrk.errors import ConfigurationError, KMSInternalException, KmsMrkError
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._persist import read_database
from kms_mrk.local._state import KeyRecord, StateFileError
from tests.local._calls import TestClient, make_client


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    clock = ManualClock()
    kms = LocalKMS(state_file=path, clock=clock, replica_creating_seconds=2, updating_seconds=5)
    east = make_client(kms)
    west = east.for_region("eu-west-1")
    key_id = east.call(
        "CreateKey", MultiRegion=True, Description="d", Tags=[{"TagKey": "t", "TagValue": "v"}]
    ).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    east.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=100)
    east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    assert west.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Updating"
    doomed = east.call("CreateKey").key_metadata.key_id
    east.call("ScheduleKeyDeletion", KeyId=doomed, PendingWindowInDays=7)
    signing = east.call(
        "CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    signature = east.call(
        "Sign", KeyId=signing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"
    ).signature
    blob = east.call(
        "Encrypt", KeyId="alias/app", Plaintext=b"before restart", EncryptionContext={"a": "b"}
    ).ciphertext_blob
    before = kms.snapshot()
    kms.close()

    again = LocalKMS(state_file=path, clock=clock, replica_creating_seconds=2, updating_seconds=5)
    east2 = make_client(again)
    west2 = east2.for_region("eu-west-1")
    assert again.snapshot() == before
    assert (
        west2.call("Decrypt", CiphertextBlob=blob, EncryptionContext={"a": "b"}).plaintext
        == b"before restart"
    )
    assert east2.call(
        "Verify", KeyId=signing, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    ).signature_valid
    assert west2.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Updating"
    clock.advance(5)
    config = west2.call("DescribeKey", KeyId=key_id).key_metadata.multi_region_configuration
    assert (config.multi_region_key_type, config.primary_key.region) == ("PRIMARY", "eu-west-1")
    assert west2.call("GetKeyRotationStatus", KeyId=key_id).rotation_period_in_days == 100
    assert [t.tag_key for t in east2.call("ListResourceTags", KeyId=key_id).tags] == ["t"]
    clock.advance(7 * 86400)
    assert doomed not in {k.key_id for k in east2.call("ListKeys").keys}
    # Keys created after the restart do not reuse ids or sequence positions.
    new = east2.call("CreateKey").key_metadata.key_id
    assert east2.call("ListKeys").keys[-1].key_id == new
    again.close()


def test_every_acknowledged_change_is_committed_before_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    assert [k.key_id for k in read_database(path).all_keys()] == [key_id]
    client.call("UpdateKeyDescription", KeyId=key_id, Description="changed")
    assert next(read_database(path).all_keys()).description == "changed"
    client.call("CreateAlias", AliasName="alias/a", TargetKeyId=key_id)
    assert read_database(path).dump() == kms._store.dump()
    kms.close()


def test_a_write_changes_only_the_rows_of_what_changed(tmp_path: Path) -> None:
    """The cost of a change does not grow with the number of keys."""
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    keys = [client.call("CreateKey").key_metadata.key_id for _ in range(50)]
    client.call("CreateAlias", AliasName="alias/a", TargetKeyId=keys[0])
    assert kms._state_file is not None
    connection = kms._state_file.connection
    assert connection is not None

    def rows_written(operation: str, **arguments: Any) -> int:
        before = connection.total_changes
        client.call(operation, **arguments)
        return connection.total_changes - before

    assert rows_written("CreateKey") == 3  # the key, its shared row, the sequence number
    assert rows_written("UpdateKeyDescription", KeyId=keys[7], Description="x") == 3
    assert rows_written("TagResource", KeyId=keys[8], Tags=[{"TagKey": "a", "TagValue": "b"}]) == 3
    # the alias, the target key's rows (resolved by the request), the sequence number
    assert rows_written("CreateAlias", AliasName="alias/b", TargetKeyId=keys[9]) == 4
    assert rows_written("DescribeKey", KeyId=keys[9]) == 0
    assert read_database(path).dump() == kms._store.dump()
    kms.close()


def test_file_is_private_and_nothing_lingers_after_close(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    make_client(kms).call("CreateKey")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "kms.db.lock" in {p.name for p in tmp_path.iterdir()}
    kms.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db"]
    assert len(list(read_database(path).all_keys())) == 1


def test_local_cli_with_a_new_database_leaves_no_stray_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kms_mrk.cli import main

    path = tmp_path / "new.db"
    assert (
        main(["--local", "--state", str(path), "plan", "--from", "us-east-1", "--to", "eu-west-1"])
        == 0
    )
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.db"]
    read_database(path)  # a whole, readable (empty) database


def test_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    first = LocalKMS(state_file=path)
    with pytest.raises(StateFileError, match="in use by another"):
        LocalKMS(state_file=path)
    first.close()
    LocalKMS(state_file=path).close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{half", "is not valid JSON"),
        (b'{"format": "something-else"}', "is not a kms-mrk local KMS state file"),
        (b'{"format": "kms-mrk-local-state", "version": 99}', "state format version 99"),
        (
            b'{"format": "kms-mrk-local-state", "version": 1, "seq": 1, '
            b'"shared": [], "keys": [{}]}',
            "damaged",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nests arrays and objects deeper than 64"),
        (
            b'{"format": "kms-mrk-local-state", "version": 1, "seq": 1, "shared": [], '
            b'"keys": [{"shared": -1}], "aliases": []}',
            "damaged",
        ),
    ],
)
def test_unreadable_json_files_are_reported_and_left_alone(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "kms.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=message) as info:
        LocalKMS(state_file=path)
    assert isinstance(info.value, ConfigurationError)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.json"]
    LocalKMS(state_file=tmp_path / "other.db").close()


def _database_with(tmp_path: Path, statements: list[str]) -> Path:
    """A state database made by this kms-mrk, then changed by ``statements``."""
    path = tmp_path / "kms.db"
    with LocalKMS(state_file=path) as kms:
        client = make_client(kms)
        key_id = client.call("CreateKey").key_metadata.key_id
        client.call("CreateAlias", AliasName="alias/a", TargetKeyId=key_id)
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (["UPDATE keys SET data = '{half'"], "damaged: a keys row is not valid JSON"),
        (["UPDATE keys SET data = '[1]'"], "damaged: a keys row is not an object"),
        (["UPDATE keys SET data = x'00'"], "damaged: a keys row is not text"),
        (
            ["UPDATE aliases SET data = '" + "[" * 100 + "]" * 100 + "'"],
            "a aliases row nests arrays and objects deeper than 64",
        ),
        (["UPDATE keys SET data = '{}'"], r"damaged or from another program \(KeyError"),
        (["DELETE FROM shared"], "has no shared row"),
        (["UPDATE meta SET value = '7' WHERE name = 'version'"], "format version '7'"),
        (["UPDATE meta SET value = 'x' WHERE name = 'format'"], "is not a kms-mrk"),
        (["UPDATE meta SET value = 'x' WHERE name = 'seq'"], "its seq is not a number"),
        (["CREATE TABLE extra (a)"], "is not a kms-mrk local KMS state database"),
        (
            ["CREATE TRIGGER t AFTER INSERT ON keys BEGIN DELETE FROM shared; END"],
            "is not a kms-mrk local KMS state database",
        ),
        (["DROP TABLE aliases"], "is not a kms-mrk local KMS state database"),
        (
            [
                "DROP TABLE aliases",
                "CREATE TABLE aliases (id INTEGER PRIMARY KEY, account, region, name, seq, data)",
            ],
            "is not a kms-mrk local KMS state database",
        ),
        (["CREATE INDEX extra ON keys (seq)"], "is not a kms-mrk local KMS state database"),
    ],
)
def test_damaged_or_hostile_databases_are_reported(
    tmp_path: Path, statements: list[str], message: str
) -> None:
    path = _database_with(tmp_path, statements)
    content = path.read_bytes()
    with pytest.raises(StateFileError, match=message) as info:
        LocalKMS(state_file=path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content
    LocalKMS(state_file=tmp_path / "other.db").close()  # the lock of the failed one was freed


def test_files_that_are_not_databases_are_reported(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not a database at all" * 100)
    with pytest.raises(StateFileError, match="neither a SQLite database nor"):
        LocalKMS(state_file=garbage)
    path = _database_with(tmp_path, [])
    content = path.read_bytes()
    half = tmp_path / "half.db"
    half.write_bytes(content[:100] + b"\xff" * (len(content) - 100))
    with pytest.raises(StateFileError, match=re.escape(str(half))):
        LocalKMS(state_file=half)
    with pytest.raises(StateFileError, match="does not exist"):
        read_database(tmp_path / "missing.db")


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        LocalKMS(state_file=tmp_path / "nope" / "kms.db")


def _json_state(tmp_path: Path) -> tuple[Path, dict[str, Any], bytes]:
    """A JSON state file as kms-mrk wrote it before the database, and the state it holds."""
    clock = ManualClock()
    kms = LocalKMS(clock=clock)
    client = make_client(kms)
    key_id = client.call("CreateKey", MultiRegion=True, Description="d").key_metadata.key_id
    client.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    client.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    blob = client.call("Encrypt", KeyId=key_id, Plaintext=b"secret").ciphertext_blob
    dumped = kms._store.dump()
    kms.close()
    path = tmp_path / "kms.json"
    path.write_text(json.dumps(dumped))
    return path, dumped, blob


def test_a_json_state_file_is_migrated_beside_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, dumped, blob = _json_state(tmp_path)
    original = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        kms = LocalKMS(state_file=path)
    assert kms.state_file == tmp_path / "kms.db"
    assert "migrated the JSON state file" in caplog.text and "kms.json.bak" in caplog.text
    assert kms._store.dump() == dumped
    assert make_client(kms, "eu-west-1").call("Decrypt", CiphertextBlob=blob).plaintext == b"secret"
    live = kms._store.dump()  # the Decrypt is recorded as the key's last use
    kms.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db", "kms.json.bak"]
    assert (tmp_path / "kms.json.bak").read_bytes() == original
    assert read_database(tmp_path / "kms.db").dump() == live
    again = LocalKMS(state_file=path)  # the same --state again: the database is used
    assert again._store.dump() == live
    again.close()


def test_a_json_state_file_at_the_database_path_is_migrated_in_place(tmp_path: Path) -> None:
    path, dumped, _blob = _json_state(tmp_path)
    database = tmp_path / "state"
    path.rename(database)
    original = database.read_bytes()
    with LocalKMS(state_file=database) as kms:
        assert kms._store.dump() == dumped
    assert (tmp_path / "state.bak").read_bytes() == original
    assert read_database(database).dump() == dumped


def test_a_migration_is_refused_while_an_older_server_holds_the_json_file(tmp_path: Path) -> None:
    import fcntl

    path, _dumped, _blob = _json_state(tmp_path)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(StateFileError, match="in use by another"):
            LocalKMS(state_file=path)
    finally:
        os.close(fd)
    assert path.exists() and not (tmp_path / "kms.db").exists()


def test_key_material_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kms.db"
    with caplog.at_level(logging.DEBUG, logger="kms_mrk.local"):
        kms = LocalKMS(state_file=path)
        client = make_client(kms)
        key_id = client.call("CreateKey").key_metadata.key_id
        client.call("Encrypt", KeyId=key_id, Plaintext=b"PLAINTEXT-MARKER")
        kms.close()
        LocalKMS(state_file=path).close()
    secret = read_database(path).dump()["shared"][0]["material"]["secret"]
    assert caplog.records  # DEBUG logging was on
    assert secret not in caplog.text
    assert "PLAINTEXT-MARKER" not in caplog.text
    from kms_mrk.local._crypto import Material

    shown = repr(Material("symmetric", b"K" * 32, "material-id"))
    assert "secret=***" in shown and "KKKK" not in shown


def _fill_the_disk(kms: LocalKMS) -> Callable[[], None]:
    """Cap the database at its current size (SQLITE_FULL on growth); returns the undo."""
    assert kms._state_file is not None
    connection = kms._state_file.connection
    assert connection is not None
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")
    return lambda: connection.execute("PRAGMA max_page_count = 1073741823") and None


def test_a_full_disk_is_reported_undone_and_recovered_from(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A change that cannot be saved is not made: no 500 with the change kept, no duplicates."""
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    first = client.call("CreateKey", Description="saved").key_metadata.key_id
    undo = _fill_the_disk(kms)
    big = "x" * 8192
    with caplog.at_level(logging.ERROR, logger="kms_mrk.local"):
        for _attempt in range(3):  # what an SDK's retries would send
            with pytest.raises(KMSInternalException) as info:
                client.call("CreateKey", Description=big)
            assert str(path) in info.value.message
            assert "full" in info.value.message and "not made" in info.value.message
        tags = [{"TagKey": f"{n:03}" + big[:125], "TagValue": big[:256]} for n in range(50)]
        with pytest.raises(KMSInternalException, match="not made"):
            client.call("TagResource", KeyId=first, Tags=tags)
    assert str(path) in caplog.text
    assert [k.key_id for k in client.call("ListKeys").keys] == [first]
    assert client.call("ListResourceTags", KeyId=first).tags == []
    assert read_database(path).dump() == kms._store.dump()
    undo()  # there is room again: changes are saved again
    second = client.call("CreateKey", Description=big).key_metadata.key_id
    assert [k.key_id for k in client.call("ListKeys").keys] == [first, second]
    assert read_database(path).dump() == kms._store.dump()
    kms.close()


def test_changes_made_while_a_failing_write_ran_are_undone_too(tmp_path: Path) -> None:
    """Group commit: a change saved by another request's failed write is refused, not lost."""
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    state_file = kms._state_file
    assert state_file is not None
    original = state_file.write
    other_created = threading.Event()
    calls: list[int] = []

    def failing_write(batches: list[Any]) -> None:
        calls.append(len(batches))
        if len(calls) == 1:
            other.start()
            assert other_created.wait(10)  # the other change is made; its write waits on ours
            raise OSError(28, "No space left on device")
        original(batches)

    def create_other() -> None:
        try:
            client.call("CreateKey", Description="other")
        except KMSInternalException as exc:
            results.append(exc.message)

    def watch() -> None:
        while not other_created.is_set():
            keys = kms.snapshot()["accounts"].get("111122223333", {}).get("us-east-1", {})
            if len(keys.get("keys", [])) == 2:
                other_created.set()
            else:
                threading.Event().wait(0.001)

    results: list[str] = []
    other = threading.Thread(target=create_other)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    state_file.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(KMSInternalException, match="No space left on device"):
        client.call("CreateKey", Description="first")
    other.join(10)
    assert len(results) == 1 and str(path) in results[0]
    assert client.call("ListKeys").keys == []
    assert list(read_database(path).all_keys()) == []
    kept = client.call("CreateKey").key_metadata.key_id
    assert [k.key_id for k in read_database(path).all_keys()] == [kept]
    kms.close()


def test_close_reports_a_state_that_cannot_be_saved(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    clock = ManualClock()
    kms = LocalKMS(state_file=path, clock=clock)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    client.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    clock.advance(7 * 86400)
    assert client.call("ListKeys").keys == []  # the deletion happened; it is not saved yet
    assert len(list(read_database(path).all_keys())) == 1
    state_file = kms._state_file
    assert state_file is not None

    def failing_write(batches: list[Any]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    state_file.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(StateFileError, match=re.escape(str(path))) as info:
        kms.close()
    assert isinstance(info.value, KmsMrkError)
    kms.close()  # closed anyway, and only once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db"]
    again = LocalKMS(state_file=path, clock=clock)  # the lock was released
    assert make_client(again).call("ListKeys").keys == []  # the clock deletes it again
    again.close()
    assert list(read_database(path).all_keys()) == []


def test_a_seed_cannot_be_combined_with_a_state_file(tmp_path: Path) -> None:
    """A seed replays the same ids, material and nonces after every restart."""
    path = tmp_path / "kms.db"
    with pytest.raises(ConfigurationError, match=r"seed cannot be combined with state_file"):
        LocalKMS(seed=1, state_file=path)
    assert not path.exists()
    LocalKMS(state_file=path).close()  # the refused one did not keep the lock


def test_create_key_never_reuses_a_key_id(kms: LocalKMS, east: TestClient) -> None:
    """Even when the random source repeats itself, an existing key is never replaced."""
    first = east.call("CreateKey", Description="first").key_metadata.key_id
    mrk = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    east.call("ReplicateKey", KeyId=mrk, ReplicaRegion="eu-west-1")
    replayed = iter(
        [bytes.fromhex(first.replace("-", "")), bytes.fromhex(mrk[4:]), bytes.fromhex(mrk[4:])]
    )
    original = kms._settings.random_bytes

    def repeating(size: int) -> bytes:
        return next(replayed, None) or original(size) if size == 16 else original(size)

    kms._settings.random_bytes = repeating
    second = east.call("CreateKey", Description="second").key_metadata.key_id
    west_key = east.for_region("eu-west-1").call("CreateKey", MultiRegion=True).key_metadata
    assert second != first and west_key.key_id != mrk
    assert east.call("DescribeKey", KeyId=first).key_metadata.description == "first"
    west = east.for_region("eu-west-1")
    config = west.call("DescribeKey", KeyId=mrk).key_metadata.multi_region_configuration
    assert config.primary_key.region == "us-east-1"


def test_the_store_refuses_a_second_key_with_the_same_id(kms: LocalKMS, east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    store = kms._store
    existing = store.accounts["111122223333"]["us-east-1"].keys[key_id]
    duplicate = KeyRecord(
        shared=existing.shared, region="us-east-1", created=0.0, description="", policy="", seq=99
    )
    with pytest.raises(ValueError, match=key_id):
        store.add_key(duplicate)
    assert store.accounts["111122223333"]["us-east-1"].keys[key_id] is existing


def test_a_directory_given_as_the_state_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    path.mkdir()
    with pytest.raises(StateFileError, match=re.escape(str(path))):
        LocalKMS(state_file=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db"]


def test_a_migration_interrupted_before_its_rename_is_done_again(tmp_path: Path) -> None:
    path, dumped, _blob = _json_state(tmp_path)
    (tmp_path / ".kms.db.migrating").write_bytes(b"SQLite format 3\x00 half written")
    with LocalKMS(state_file=path) as kms:
        assert kms._store.dump() == dumped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db", "kms.json.bak"]


def test_a_json_file_beside_an_existing_database_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, _dumped, _blob = _json_state(tmp_path)
    with LocalKMS(state_file=tmp_path / "kms.db") as kms:
        key_id = make_client(kms).call("CreateKey").key_metadata.key_id
    with caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        kms = LocalKMS(state_file=path)
    assert "is not read" in caplog.text
    assert [k.key_id for k in kms._store.all_keys()] == [key_id]
    kms.close()
    assert path.exists()  # left for the user to look at


def test_the_sequence_counter_is_saved_even_when_nothing_else_changed(tmp_path: Path) -> None:
    path = tmp_path / "kms.db"
    kms = LocalKMS(state_file=path)
    make_client(kms).call("CreateKey")
    store = kms._store
    with kms._lock:
        store.next_seq()  # a change that touches no record
    kms.close()
    assert read_database(path).seq == store.seq
