"""The state file: round trip across restarts, atomic private writes, one writer at a time."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from kms_mrk.errors import ConfigurationError, KMSInternalException, KmsMrkError
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._state import KeyRecord, StateFileError
from tests.local._calls import TestClient, make_client


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kms.json"
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


def test_every_acknowledged_change_is_on_disk_before_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "kms.json"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    on_disk = json.loads(path.read_text())
    assert [s["key_id"] for s in on_disk["shared"]] == [key_id]
    client.call("UpdateKeyDescription", KeyId=key_id, Description="changed")
    assert json.loads(path.read_text())["keys"][0]["description"] == "changed"
    kms.close()


def test_file_is_private_and_temporaries_do_not_linger(tmp_path: Path) -> None:
    path = tmp_path / "kms.json"
    (tmp_path / ".kms.json.stale.tmp").write_text("left by a killed process")
    kms = LocalKMS(state_file=path)
    make_client(kms).call("CreateKey")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.json", "kms.json.lock"]
    kms.close()


def test_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "kms.json"
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
    ],
)
def test_unreadable_files_are_reported_and_left_alone(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "kms.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=message) as info:
        LocalKMS(state_file=path)
    assert isinstance(info.value, ConfigurationError)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content
    LocalKMS(state_file=tmp_path / "other.json").close()  # the lock of the failed one was freed
    LocalKMS(state_file=path.with_name("x.json")).close()


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        LocalKMS(state_file=tmp_path / "nope" / "kms.json")


def test_key_material_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kms.json"
    with caplog.at_level(logging.DEBUG, logger="kms_mrk.local"):
        kms = LocalKMS(state_file=path)
        client = make_client(kms)
        key_id = client.call("CreateKey").key_metadata.key_id
        client.call("Encrypt", KeyId=key_id, Plaintext=b"PLAINTEXT-MARKER")
        kms.close()
        LocalKMS(state_file=path).close()
    secret = json.loads(path.read_text())["shared"][0]["material"]["secret"]
    assert caplog.records  # DEBUG logging was on
    assert secret not in caplog.text
    assert "PLAINTEXT-MARKER" not in caplog.text
    from kms_mrk.local._crypto import Material

    shown = repr(Material("symmetric", b"K" * 32, "material-id"))
    assert "secret=***" in shown and "KKKK" not in shown


def test_a_failed_write_is_undone_reported_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A change that cannot be saved is not made: no 500 with the change kept, no duplicates."""
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "kms.json"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    first = client.call("CreateKey", Description="saved").key_metadata.key_id
    shutil.rmtree(directory)
    with caplog.at_level(logging.ERROR, logger="kms_mrk.local"):
        for _attempt in range(3):  # what an SDK's retries would send
            with pytest.raises(KMSInternalException) as info:
                client.call("CreateKey", Description="not saved")
            assert str(path) in info.value.message
            assert "not made" in info.value.message
    assert str(path) in caplog.text
    assert [k.key_id for k in client.call("ListKeys").keys] == [first]
    assert client.call("DescribeKey", KeyId=first).key_metadata.description == "saved"
    directory.mkdir()  # the disk is back: changes are saved again
    second = client.call("CreateKey").key_metadata.key_id
    assert [k.key_id for k in client.call("ListKeys").keys] == [first, second]
    assert [s["key_id"] for s in json.loads(path.read_text())["shared"]] == [first, second]
    kms.close()


def test_changes_made_while_a_failing_write_ran_are_undone_too(tmp_path: Path) -> None:
    """Group commit: a change saved by another request's failed write is refused, not lost."""
    path = tmp_path / "kms.json"
    kms = LocalKMS(state_file=path)
    client = make_client(kms)
    state_file = kms._state_file
    assert state_file is not None
    original = state_file.write
    other_created = threading.Event()
    calls: list[int] = []

    def failing_write(data: dict[str, Any]) -> None:
        calls.append(len(data["keys"]))
        if len(calls) == 1:
            other.start()
            assert other_created.wait(10)  # the other change is made; its write waits on ours
            raise OSError(28, "No space left on device")
        original(data)

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
    assert not path.exists()
    kept = client.call("CreateKey").key_metadata.key_id
    assert [s["key_id"] for s in json.loads(path.read_text())["shared"]] == [kept]
    kms.close()


def test_close_reports_a_state_that_cannot_be_saved(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "kms.json"
    clock = ManualClock()
    kms = LocalKMS(state_file=path, clock=clock)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    client.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    clock.advance(7 * 86400)
    assert client.call("ListKeys").keys == []  # the deletion happened; it is not saved yet
    shutil.rmtree(directory)
    with pytest.raises(StateFileError, match=re.escape(str(path))) as info:
        kms.close()
    assert isinstance(info.value, KmsMrkError)
    kms.close()  # closed anyway, and only once
    directory.mkdir()
    LocalKMS(state_file=path).close()  # the lock was released


def test_a_seed_cannot_be_combined_with_a_state_file(tmp_path: Path) -> None:
    """A seed replays the same ids, material and nonces after every restart."""
    path = tmp_path / "kms.json"
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
