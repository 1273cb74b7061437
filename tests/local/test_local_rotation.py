"""Key rotation: on demand and on the clock, material versions, multi-Region keys, limits,
ListKeyRotations; GetKeyLastUsage; and which error a busy multi-Region key answers with."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kms_mrk.errors import (
    DryRunOperationException,
    KMSInvalidSignatureException,
    KMSInvalidStateException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client

DAY = 86400.0
ACCOUNT = "111122223333"


def arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def material_of(client: TestClient, key_id: str) -> str:
    current: str = client.call("DescribeKey", KeyId=key_id).key_metadata.current_key_material_id
    return current


def test_on_demand_rotation_keeps_old_material_for_old_ciphertexts(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    first = material_of(east, key_id)
    old = east.call("Encrypt", KeyId=key_id, Plaintext=b"old")
    assert east.call("RotateKeyOnDemand", KeyId=key_id).key_id == arn("us-east-1", key_id)
    second = material_of(east, key_id)
    assert second != first
    new = east.call("Encrypt", KeyId=key_id, Plaintext=b"new")
    decrypted_old = east.call("Decrypt", CiphertextBlob=old.ciphertext_blob)
    decrypted_new = east.call("Decrypt", CiphertextBlob=new.ciphertext_blob)
    assert (decrypted_old.plaintext, decrypted_old.key_material_id) == (b"old", first)
    assert (decrypted_new.plaintext, decrypted_new.key_material_id) == (b"new", second)
    data_key = east.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
    assert data_key.key_material_id == second
    moved = east.call("ReEncrypt", CiphertextBlob=old.ciphertext_blob, DestinationKeyId=key_id)
    assert (moved.source_key_material_id, moved.destination_key_material_id) == (first, second)
    rotations = east.call("ListKeyRotations", KeyId=key_id).rotations
    assert [(r.key_material_id, str(r.rotation_type)) for r in rotations] == [(second, "ON_DEMAND")]
    assert str(rotations[0].key_material_state) == "CURRENT"
    everything = east.call(
        "ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL"
    ).rotations
    assert [r.key_material_id for r in everything] == [first, second]
    assert everything[0].rotation_date is None
    assert str(everything[0].key_material_state) == "NON_CURRENT"


def test_a_tampered_material_id_does_not_decrypt(east: TestClient) -> None:
    from kms_mrk.errors import InvalidCiphertextException

    key_id = east.call("CreateKey").key_metadata.key_id
    blob = bytearray(east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob)
    east.call("RotateKeyOnDemand", KeyId=key_id)
    start = 3 + blob[2]
    blob[start] ^= 0xFF  # names a material the key does not have
    with pytest.raises(InvalidCiphertextException):
        east.call("Decrypt", CiphertextBlob=bytes(blob))


def test_multi_region_rotation_is_done_on_the_primary_and_reaches_replicas(
    kms: LocalKMS, east: TestClient, west: TestClient
) -> None:
    key_id = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    kms.advance(2)
    before = west.call("Encrypt", KeyId=key_id, Plaintext=b"before").ciphertext_blob
    with pytest.raises(UnsupportedOperationException, match="not a multi-region primary key"):
        west.call("RotateKeyOnDemand", KeyId=key_id)
    with pytest.raises(UnsupportedOperationException, match="not a multi-region primary key"):
        west.call("EnableKeyRotation", KeyId=key_id)
    east.call("RotateKeyOnDemand", KeyId=key_id)
    assert material_of(west, key_id) == material_of(east, key_id)
    after = east.call("Encrypt", KeyId=key_id, Plaintext=b"after").ciphertext_blob
    assert west.call("Decrypt", CiphertextBlob=after).plaintext == b"after"
    assert east.call("Decrypt", CiphertextBlob=before).plaintext == b"before"
    # the replica lists the same rotations
    assert len(west.call("ListKeyRotations", KeyId=key_id).rotations) == 1


def test_on_demand_rotation_is_limited_to_25(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    for _ in range(25):
        east.call("RotateKeyOnDemand", KeyId=key_id)
    with pytest.raises(LimitExceededException, match="25"):
        east.call("RotateKeyOnDemand", KeyId=key_id)


def test_rotation_is_for_symmetric_encryption_keys_in_a_usable_state(east: TestClient) -> None:
    signing = east.call("CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    with pytest.raises(UnsupportedOperationException, match="ECC_NIST_P256"):
        east.call("RotateKeyOnDemand", KeyId=signing.key_metadata.key_id)
    with pytest.raises(UnsupportedOperationException):
        east.call("ListKeyRotations", KeyId=signing.key_metadata.key_id)
    key_id = east.call("CreateKey").key_metadata.key_id
    east.call("DisableKey", KeyId=key_id)
    with pytest.raises(Exception, match="is disabled"):
        east.call("RotateKeyOnDemand", KeyId=key_id)
    east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(KMSInvalidStateException, match="pending deletion"):
        east.call("RotateKeyOnDemand", KeyId=key_id)
    assert east.call("ListKeyRotations", KeyId=key_id).rotations == []


def test_automatic_rotation_follows_the_clock(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(ValidationException, match="rotationPeriodInDays"):
        east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=89)
    with pytest.raises(ValidationException, match="rotationPeriodInDays"):
        east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=2561)
    enabled_at = clock.now()
    east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    status = east.call("GetKeyRotationStatus", KeyId=key_id)
    assert status.key_rotation_enabled and status.rotation_period_in_days == 90
    assert status.next_rotation_date.timestamp() == enabled_at + 90 * DAY
    assert status.on_demand_rotation_start_date is None
    first = material_of(east, key_id)
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    kms.advance(90 * DAY - 1)
    assert material_of(east, key_id) == first
    kms.advance(1)
    second = material_of(east, key_id)
    assert second != first
    kms.advance(200 * DAY)  # two more periods pass
    rotations = east.call("ListKeyRotations", KeyId=key_id).rotations
    assert [r.rotation_date.timestamp() for r in rotations] == [
        enabled_at + n * 90 * DAY for n in (1, 2, 3)
    ]
    assert {str(r.rotation_type) for r in rotations} == {"AUTOMATIC"}
    status = east.call("GetKeyRotationStatus", KeyId=key_id)
    assert status.next_rotation_date.timestamp() == enabled_at + 4 * 90 * DAY
    assert east.call("Decrypt", CiphertextBlob=blob).key_material_id == first
    # an on-demand rotation leaves the schedule alone
    east.call("RotateKeyOnDemand", KeyId=key_id)
    after = east.call("GetKeyRotationStatus", KeyId=key_id).next_rotation_date
    assert after.timestamp() == enabled_at + 4 * 90 * DAY
    east.call("DisableKeyRotation", KeyId=key_id)
    kms.advance(400 * DAY)
    assert len(east.call("ListKeyRotations", KeyId=key_id).rotations) == 4


def test_list_key_rotations_pages(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    for _ in range(5):
        east.call("RotateKeyOnDemand", KeyId=key_id)
    seen: list[str] = []
    marker = None
    while True:
        members: dict[str, Any] = {"KeyId": key_id, "Limit": 2}
        if marker is not None:
            members["Marker"] = marker
        page = east.call("ListKeyRotations", **members)
        assert len(page.rotations) <= 2
        seen += [r.key_material_id for r in page.rotations]
        marker = page.next_marker
        if not page.truncated:
            break
    assert len(seen) == len(set(seen)) == 5
    assert seen[-1] == material_of(east, key_id)


def test_a_clock_rotation_redone_after_a_restart_makes_the_same_material(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The state on disk may predate a rotation made on the clock (nothing mutating came
    after it): the restarted KMS rotates again and must make the same material."""
    path = tmp_path / "state.json"
    kms = LocalKMS(clock=clock, state_file=path)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    client.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    clock.advance(91 * DAY)
    blob = client.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    kms.close()
    again = LocalKMS(clock=clock, state_file=path)
    assert make_client(again).call("Decrypt", CiphertextBlob=blob).plaintext == b"x"
    again.close()


def test_rotations_survive_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    kms = LocalKMS(clock=clock, state_file=path)
    client = make_client(kms)
    key_id = client.call("CreateKey").key_metadata.key_id
    old = client.call("Encrypt", KeyId=key_id, Plaintext=b"old").ciphertext_blob
    client.call("RotateKeyOnDemand", KeyId=key_id)
    client.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=100)
    kms.close()
    again = LocalKMS(clock=clock, state_file=path)
    client = make_client(again)
    assert client.call("Decrypt", CiphertextBlob=old).plaintext == b"old"
    assert len(client.call("ListKeyRotations", KeyId=key_id).rotations) == 1
    clock.advance(100 * DAY)
    assert len(client.call("ListKeyRotations", KeyId=key_id).rotations) == 2
    again.close()


# --------------------------------------------------------------------------- GetKeyLastUsage


def test_last_usage_records_successful_cryptography_only(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    fresh = east.call("GetKeyLastUsage", KeyId=key_id)
    assert fresh.key_last_usage is None
    assert fresh.key_id == arn("us-east-1", key_id)
    assert fresh.tracking_start_date == fresh.key_creation_date
    kms.advance(10)
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    used = east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage
    assert str(used.operation) == "Encrypt"
    assert used.timestamp == dt.datetime.fromtimestamp(clock.now(), dt.timezone.utc)
    assert used.cloud_trail_event_id
    kms.advance(10)
    with pytest.raises(DryRunOperationException):
        east.call("Decrypt", CiphertextBlob=blob, DryRun=True)
    east.call("DescribeKey", KeyId=key_id)
    assert str(east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Encrypt"
    other = east.call("CreateKey").key_metadata.key_id
    east.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=other)
    for key in (key_id, other):
        usage = east.call("GetKeyLastUsage", KeyId=key).key_last_usage
        assert str(usage.operation) == "ReEncrypt"


def test_last_usage_of_signing_and_mac_keys(east: TestClient) -> None:
    signing = east.call("CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    key_id = signing.key_metadata.key_id
    signature = east.call(
        "Sign", KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"
    ).signature
    assert str(east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Sign"
    with pytest.raises(KMSInvalidSignatureException):
        east.call(
            "Verify",
            KeyId=key_id,
            Message=b"other",
            Signature=signature,
            SigningAlgorithm="ECDSA_SHA_256",
        )
    assert str(east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Sign"
    east.call(
        "Verify", KeyId=key_id, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    )
    assert str(east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Verify"
    mac_key = east.call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac_id = mac_key.key_metadata.key_id
    east.call("GenerateMac", KeyId=mac_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert str(east.call("GetKeyLastUsage", KeyId=mac_id).key_last_usage.operation) == (
        "GenerateMac"
    )


def test_last_usage_is_per_region(kms: LocalKMS, east: TestClient, west: TestClient) -> None:
    key_id = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    kms.advance(2)
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    assert west.call("GetKeyLastUsage", KeyId=key_id).key_last_usage is None
    west.call("Decrypt", CiphertextBlob=blob)
    assert str(west.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Decrypt"
    assert str(east.call("GetKeyLastUsage", KeyId=key_id).key_last_usage.operation) == "Encrypt"


# --------------------------------------------------------------------------- busy keys


def test_a_key_that_is_updating_answers_kms_invalid_state(
    kms: LocalKMS, east: TestClient, west: TestClient
) -> None:
    """While UpdatePrimaryRegion completes both keys are Updating: calls on either are refused
    with the retryable KMSInvalidStateException; afterwards the old primary is a replica,
    which UpdatePrimaryRegion refuses for good (UnsupportedOperationException)."""
    key_id = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    kms.advance(2)
    east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    for client, region, target in (
        (east, "us-east-1", "eu-west-1"),
        (west, "eu-west-1", "us-east-1"),
    ):
        with pytest.raises(KMSInvalidStateException) as info:
            client.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion=target)
        assert info.value.message == f"{arn(region, key_id)} is updating."
        with pytest.raises(KMSInvalidStateException, match="is updating"):
            client.call("ReplicateKey", KeyId=key_id, ReplicaRegion="ap-south-1")
    kms.advance(5)
    with pytest.raises(UnsupportedOperationException, match="not a multi-region primary key"):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    west.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="us-east-1")


def test_a_disabled_key_is_not_rotated_and_catches_up_when_enabled(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    east.call("DisableKey", KeyId=key_id)
    kms.advance(300 * DAY)
    assert east.call("ListKeyRotations", KeyId=key_id).rotations == []
    east.call("EnableKey", KeyId=key_id)
    rotations = east.call("ListKeyRotations", KeyId=key_id).rotations
    assert [r.rotation_date.timestamp() for r in rotations] == [clock.now()]
    next_date = east.call("GetKeyRotationStatus", KeyId=key_id).next_rotation_date
    assert next_date.timestamp() == clock.now() + 90 * DAY
    kms.advance(90 * DAY)
    assert len(east.call("ListKeyRotations", KeyId=key_id).rotations) == 2
