"""The state file: round trip across restarts, atomic private writes, one writer at a time."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from kms_mrk.errors import ConfigurationError
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._state import StateFileError
from tests.local._calls import make_client


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
