"""Multi-Region key lifecycle on the local KMS, driven through the signed wire protocol."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kms_mrk.errors import (
    AlreadyExistsException,
    DisabledException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, raw_call

MRK = re.compile(r"mrk-[0-9a-f]{32}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ACCOUNT = "111122223333"


def snapshot_tests(vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (vectors / "localstack-kms-snapshots" / "test_kms.snapshot.json").read_text()
    )
    prefix = "tests/aws/services/kms/test_kms.py::TestKMS::"
    return {
        k[len(prefix) :]: v["recorded-content"] for k, v in data.items() if k.startswith(prefix)
    }


def create_mrk(client: TestClient, **members: Any) -> str:
    key_id: str = client.call("CreateKey", MultiRegion=True, **members).key_metadata.key_id
    return key_id


def arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


# --------------------------------------------------------------------------- shapes


def test_key_ids_have_the_kms_forms(east: TestClient) -> None:
    assert MRK.fullmatch(create_mrk(east))
    single = east.call("CreateKey").key_metadata
    assert UUID.fullmatch(single.key_id)
    assert single.multi_region is False
    assert single.multi_region_configuration is None


def test_metadata_fields_match_the_recorded_real_kms_responses(
    kms: LocalKMS, clock: ManualClock, vectors: Path
) -> None:
    recorded = snapshot_tests(vectors)
    status, created = raw_call(kms, "CreateKey", {"MultiRegion": True, "Description": "d"})
    assert status == 200
    key_id = created["KeyMetadata"]["KeyId"]
    real_primary = recorded["test_create_multi_region_key"]["create_multi_region_key"]
    assert set(created["KeyMetadata"]) == set(real_primary)
    assert created["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == []

    status, replicated = raw_call(
        kms, "ReplicateKey", {"KeyId": key_id, "ReplicaRegion": "ap-southeast-1"}
    )
    assert status == 200
    real = recorded["test_replicate_key"]["replicate-key"]
    assert set(replicated) == set(real) - {"ResponseMetadata"}
    meta = replicated["ReplicaKeyMetadata"]
    assert set(meta) == set(real["ReplicaKeyMetadata"])
    assert (meta["KeyState"], meta["Enabled"], meta["Description"]) == ("Creating", False, "")
    assert json.loads(replicated["ReplicaPolicy"]) == {
        **real["ReplicaPolicy"],
        "Statement": [
            {
                **real["ReplicaPolicy"]["Statement"][0],
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            }
        ],
    }
    clock.advance(2)
    _, described = raw_call(kms, "DescribeKey", {"KeyId": key_id}, region="ap-southeast-1")
    real_replica = recorded["test_replicate_key"]["describe-replicated-key"]["KeyMetadata"]
    assert set(described["KeyMetadata"]) == set(real_replica)
    config = described["KeyMetadata"]["MultiRegionConfiguration"]
    assert config == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": arn("us-east-1", key_id), "Region": "us-east-1"},
        "ReplicaKeys": [{"Arn": arn("ap-southeast-1", key_id), "Region": "ap-southeast-1"}],
    }
    _, single = raw_call(kms, "CreateKey", {"Description": "s"})
    real_single = recorded["test_non_multi_region_keys_should_not_have_multi_region_properties"]
    assert set(single["KeyMetadata"]) == set(
        real_single["non_multi_region_keys_should_not_have_multi_region_properties"]
    )


@pytest.mark.parametrize(
    ("spec", "usage", "field", "values"),
    [
        ("SYMMETRIC_DEFAULT", None, "EncryptionAlgorithms", ["SYMMETRIC_DEFAULT"]),
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            "EncryptionAlgorithms",
            ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
        ),
        (
            "RSA_2048",
            "SIGN_VERIFY",
            "SigningAlgorithms",
            [
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ],
        ),
        ("ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P256", "KEY_AGREEMENT", "KeyAgreementAlgorithms", ["ECDH"]),
        ("HMAC_224", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_224"]),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_512"]),
    ],
)
def test_algorithms_follow_the_key_spec(
    kms: LocalKMS, spec: str, usage: str | None, field: str, values: list[str]
) -> None:
    body: dict[str, Any] = {"KeySpec": spec}
    if usage:
        body["KeyUsage"] = usage
    status, created = raw_call(kms, "CreateKey", body)
    assert status == 200
    meta = created["KeyMetadata"]
    assert meta[field] == values
    assert meta["CustomerMasterKeySpec"] == meta["KeySpec"] == spec
    assert (meta["Origin"], meta["KeyManager"]) == ("AWS_KMS", "CUSTOMER")
    others = {
        "EncryptionAlgorithms",
        "SigningAlgorithms",
        "MacAlgorithms",
        "KeyAgreementAlgorithms",
    }
    assert not (others - {field}) & set(meta)
    assert ("CurrentKeyMaterialId" in meta) == (spec == "SYMMETRIC_DEFAULT")


def test_create_key_argument_errors(east: TestClient) -> None:
    with pytest.raises(ValidationException, match="You must specify a KeyUsage value"):
        east.call("CreateKey", KeySpec="HMAC_256")
    with pytest.raises(
        ValidationException, match="KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
    ):
        east.call("CreateKey", KeySpec="RSA_2048", KeyUsage="KEY_AGREEMENT")
    with pytest.raises(ValidationException, match="Member must satisfy enum value set"):
        east.call("CreateKey", KeySpec="HMAC_random", KeyUsage="GENERATE_VERIFY_MAC")
    with pytest.raises(
        ValidationException, match="Origin AWS_CLOUDHSM requires a CustomKeyStoreId"
    ):
        east.call("CreateKey", Origin="AWS_CLOUDHSM")
    with pytest.raises(UnsupportedOperationException, match="SM2 is available only in the China"):
        east.call("CreateKey", KeySpec="SM2", KeyUsage="SIGN_VERIFY")


# --------------------------------------------------------------------------- replication


def test_replica_shares_id_spec_usage_and_is_creating_for_the_configured_time(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = east.call(
        "CreateKey", MultiRegion=True, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"
    ).key_metadata.key_id
    replica = east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1", Description="copy")
    meta = replica.replica_key_metadata
    assert (meta.key_id, meta.arn) == (key_id, arn("eu-west-1", key_id))
    assert (meta.key_spec, meta.key_usage) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert west.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Creating"
    with pytest.raises(
        KMSInvalidStateException, match=re.escape(f"{arn('eu-west-1', key_id)} is creating.")
    ):
        west.call("GenerateMac", KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")
    clock.advance(1.9)
    assert west.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Creating"
    clock.advance(0.1)
    described = west.call("DescribeKey", KeyId=key_id).key_metadata
    assert (described.key_state, described.enabled, described.description) == (
        "Enabled",
        True,
        "copy",
    )
    mac = west.call("GenerateMac", KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256").mac
    assert east.call(
        "VerifyMac", KeyId=key_id, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256"
    ).mac_valid
    primary = east.call("DescribeKey", KeyId=key_id).key_metadata.multi_region_configuration
    assert [k.region for k in primary.replica_keys] == ["eu-west-1"]


def test_replicate_key_errors(east: TestClient, west: TestClient, clock: ManualClock) -> None:
    single = east.call("CreateKey").key_metadata
    with pytest.raises(
        UnsupportedOperationException,
        match=re.escape(f"{single.arn} is not a multi-region primary key."),
    ):
        east.call("ReplicateKey", KeyId=single.key_id, ReplicaRegion="eu-west-1")
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    with pytest.raises(AlreadyExistsException):
        east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    with pytest.raises(UnsupportedOperationException, match="is not a multi-region primary key"):
        west.call("ReplicateKey", KeyId=key_id, ReplicaRegion="ap-south-1")
    with pytest.raises(ValidationException, match="must differ"):
        east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="us-east-1")
    with pytest.raises(ValidationException, match="regular expression pattern"):
        east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="Mars")
    with pytest.raises(ValidationException, match="partition"):
        east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="cn-north-1")
    with pytest.raises(NotFoundException, match="Invalid keyId 'alias/x'"):
        east.call("ReplicateKey", KeyId="alias/x", ReplicaRegion="ap-south-1")


# --------------------------------------------------------------------------- UpdatePrimaryRegion


def test_update_primary_region_moves_the_primary_through_updating(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="ap-south-1")
    clock.advance(2)
    ciphertext = east.call("Encrypt", KeyId=key_id, Plaintext=b"secret").ciphertext_blob
    response = east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    assert response.to_dict() == {}
    for client in (east, west):
        meta = client.call("DescribeKey", KeyId=key_id).key_metadata
        assert meta.key_state == "Updating"
        assert meta.enabled is True
        assert meta.multi_region_configuration.multi_region_key_type == "REPLICA"
    bystander = east.for_region("ap-south-1").call("DescribeKey", KeyId=key_id).key_metadata
    assert bystander.key_state == "Enabled"
    # Cryptography keeps working while Updating; management of the two keys does not.
    assert west.call("Decrypt", CiphertextBlob=ciphertext).plaintext == b"secret"
    for client, region in ((east, "us-east-1"), (west, "eu-west-1")):
        for op in ("EnableKey", "DisableKey"):
            with pytest.raises(
                KMSInvalidStateException, match=re.escape(f"{arn(region, key_id)} is updating.")
            ):
                client.call(op, KeyId=key_id)
    with pytest.raises(KMSInvalidStateException, match=re.escape("is updating.")):
        west.call("ReplicateKey", KeyId=key_id, ReplicaRegion="sa-east-1")
    with pytest.raises(KMSInvalidStateException, match=re.escape("is updating.")):
        west.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="us-east-1")
    clock.advance(5)
    new_primary = west.call("DescribeKey", KeyId=key_id).key_metadata
    old_primary = east.call("DescribeKey", KeyId=key_id).key_metadata
    assert new_primary.multi_region_configuration.multi_region_key_type == "PRIMARY"
    assert old_primary.multi_region_configuration.multi_region_key_type == "REPLICA"
    for meta in (new_primary, old_primary):
        assert meta.key_state == "Enabled"
        config = meta.multi_region_configuration
        assert config.primary_key.region == "eu-west-1"
        assert sorted(k.region for k in config.replica_keys) == ["ap-south-1", "us-east-1"]
    west.call("ReplicateKey", KeyId=key_id, ReplicaRegion="sa-east-1")
    with pytest.raises(UnsupportedOperationException, match="is not a multi-region primary key"):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="ap-south-1")


def test_update_primary_region_errors(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    single = east.call("CreateKey").key_metadata
    with pytest.raises(
        UnsupportedOperationException, match=re.escape(f"{single.arn} is not a multi-region key.")
    ):
        east.call("UpdatePrimaryRegion", KeyId=single.key_id, PrimaryRegion="eu-west-1")
    key_id = create_mrk(east)
    with pytest.raises(
        NotFoundException, match=re.escape(f"Key '{arn('eu-west-1', key_id)}' does not exist")
    ):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    with pytest.raises(
        KMSInvalidStateException, match=re.escape(f"{arn('eu-west-1', key_id)} is creating.")
    ):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    clock.advance(2)
    with pytest.raises(UnsupportedOperationException, match="is not a multi-region primary key"):
        west.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="us-east-1")
    with pytest.raises(ValidationException, match="already the primary key"):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="us-east-1")
    east.call("DisableKey", KeyId=key_id)
    with pytest.raises(
        DisabledException, match=re.escape(f"{arn('us-east-1', key_id)} is disabled.")
    ):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    east.call("EnableKey", KeyId=key_id)
    west.call("DisableKey", KeyId=key_id)
    with pytest.raises(
        DisabledException, match=re.escape(f"{arn('eu-west-1', key_id)} is disabled.")
    ):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    west.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(
        KMSInvalidStateException,
        match=re.escape(f"{arn('eu-west-1', key_id)} is pending deletion."),
    ):
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="eu-west-1")
    with pytest.raises(NotFoundException, match="Invalid arn eu-west-1"):
        east.call("UpdatePrimaryRegion", KeyId=arn("eu-west-1", key_id), PrimaryRegion="eu-west-1")


def test_a_key_arn_of_another_region_is_refused_as_real_kms_does(
    east: TestClient, west: TestClient
) -> None:
    key_id = create_mrk(east)
    with pytest.raises(NotFoundException) as info:
        west.call("DescribeKey", KeyId=arn("us-east-1", key_id))
    assert info.value.message == "Invalid arn us-east-1"
    with pytest.raises(NotFoundException) as info:
        west.call("DescribeKey", KeyId=key_id)
    assert info.value.message == f"Key '{arn('eu-west-1', key_id)}' does not exist"


def test_partitions_are_checked(east: TestClient, clock: ManualClock) -> None:
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    with pytest.raises(ValidationException) as info:
        east.call("UpdatePrimaryRegion", KeyId=key_id, PrimaryRegion="cn-north-1")
    assert info.value.message == (
        "Region cn-north-1 is not in partition aws; multi-Region keys are replicated within "
        "one partition."
    )
    other_partition = f"arn:aws-cn:kms:us-east-1:111122223333:key/{key_id}"
    for operation, members in (
        ("DescribeKey", {}),
        ("Encrypt", {"Plaintext": b"x"}),
        ("UpdatePrimaryRegion", {"PrimaryRegion": "eu-west-1"}),
    ):
        with pytest.raises(NotFoundException) as refused:
            east.call(operation, KeyId=other_partition, **members)
        assert refused.value.message == "Invalid arn aws-cn"
    with pytest.raises(NotFoundException, match="Invalid arn aws-cn"):
        east.call("DescribeKey", KeyId="arn:aws-cn:kms:us-east-1:111122223333:alias/x")
    china = east.for_region("cn-north-1")
    china_key = china.call("CreateKey").key_metadata
    assert china_key.arn.startswith("arn:aws-cn:kms:cn-north-1:")
    assert china.call("DescribeKey", KeyId=china_key.arn).key_metadata.key_id == china_key.key_id
    with pytest.raises(NotFoundException) as refused:
        china.call("DescribeKey", KeyId=china_key.arn.replace("arn:aws-cn:", "arn:aws:"))
    assert refused.value.message == "Invalid arn aws"


# --------------------------------------------------------------------------- deletion


def test_primary_with_replicas_waits_in_pending_replica_deletion(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    scheduled = east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert scheduled.key_state == "PendingReplicaDeletion"
    assert scheduled.deletion_date is None
    assert scheduled.pending_window_in_days == 7
    meta = east.call("DescribeKey", KeyId=key_id).key_metadata
    assert (meta.key_state, meta.enabled, meta.pending_deletion_window_in_days) == (
        "PendingReplicaDeletion",
        False,
        7,
    )
    assert meta.deletion_date is None
    with pytest.raises(KMSInvalidStateException, match=re.escape("is pending replica deletion.")):
        east.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    clock.advance(40 * 86400)  # nothing happens while a replica remains
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "PendingReplicaDeletion"
    replica_deletion = west.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=10)
    assert replica_deletion.key_state == "PendingDeletion"
    clock.advance(10 * 86400)
    with pytest.raises(NotFoundException):
        west.call("DescribeKey", KeyId=key_id)
    meta = east.call("DescribeKey", KeyId=key_id).key_metadata
    assert meta.key_state == "PendingDeletion"
    assert meta.deletion_date.timestamp() == pytest.approx(clock.now() + 7 * 86400)
    assert meta.multi_region_configuration.replica_keys == []
    clock.advance(7 * 86400)
    with pytest.raises(NotFoundException):
        east.call("DescribeKey", KeyId=key_id)


def test_cancel_key_deletion_leaves_the_key_disabled(east: TestClient, clock: ManualClock) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(KMSInvalidStateException, match=re.escape("is not pending deletion.")):
        east.call("CancelKeyDeletion", KeyId=key_id)
    scheduled = east.call("ScheduleKeyDeletion", KeyId=key_id)
    assert scheduled.pending_window_in_days == 30
    assert scheduled.deletion_date.timestamp() == clock.now() + 30 * 86400
    with pytest.raises(KMSInvalidStateException, match=re.escape("is pending deletion.")):
        east.call("ScheduleKeyDeletion", KeyId=key_id)
    assert east.call("CancelKeyDeletion", KeyId=key_id).key_id.endswith(key_id)
    meta = east.call("DescribeKey", KeyId=key_id).key_metadata
    assert (meta.key_state, meta.deletion_date) == ("Disabled", None)
    clock.advance(31 * 86400)
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Disabled"


def test_deletion_window_bounds(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(
        ValidationException,
        match="Value '6' at 'pendingWindowInDays' failed to satisfy constraint: "
        "Member must have value greater than or equal to 7",
    ):
        east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=6)
    with pytest.raises(ValidationException, match="less than or equal to 30"):
        east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=31)


def test_deleted_key_takes_its_aliases_with_it(east: TestClient, clock: ManualClock) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    east.call("CreateAlias", AliasName="alias/doomed", TargetKeyId=key_id)
    east.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    clock.advance(7 * 86400)
    assert east.call("ListAliases").aliases == []
    with pytest.raises(
        NotFoundException,
        match=re.escape("Alias arn:aws:kms:us-east-1:111122223333:alias/doomed is not found."),
    ):
        east.call("DescribeKey", KeyId="alias/doomed")


# --------------------------------------------------------------------------- addressing


def test_keys_are_addressed_by_id_arn_alias_and_alias_arn(east: TestClient) -> None:
    key_id = create_mrk(east)
    east.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    forms = [
        key_id,
        arn("us-east-1", key_id),
        "alias/app",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app",
    ]
    for form in forms:
        assert east.call("DescribeKey", KeyId=form).key_metadata.key_id == key_id
        assert east.call("Encrypt", KeyId=form, Plaintext=b"p").key_id == arn("us-east-1", key_id)
    for form in forms[2:]:
        with pytest.raises(NotFoundException, match="Invalid keyId"):
            east.call("EnableKey", KeyId=form)
        with pytest.raises(NotFoundException, match="Invalid keyId"):
            east.call("ScheduleKeyDeletion", KeyId=form)
    with pytest.raises(NotFoundException, match=r"Invalid keyId 'fake-key-id'"):
        east.call("DescribeKey", KeyId="fake-key-id")
    with pytest.raises(
        NotFoundException, match=r"Invalid keyId '134f2428cec14b25a1ae9048164dba47'"
    ):
        east.call("DescribeKey", KeyId="134f2428cec14b25a1ae9048164dba47")
    with pytest.raises(NotFoundException, match=r"Invalid keyId 'mrk-fake-key-id'"):
        east.call("DescribeKey", KeyId="mrk-fake-key-id")


def test_aliases_create_update_delete_and_errors(east: TestClient) -> None:
    first = east.call("CreateKey").key_metadata.key_id
    second = east.call("CreateKey").key_metadata.key_id
    signing = east.call(
        "CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    east.call("CreateAlias", AliasName="alias/a", TargetKeyId=first)
    with pytest.raises(AlreadyExistsException, match="alias/a already exists"):
        east.call("CreateAlias", AliasName="alias/a", TargetKeyId=second)
    with pytest.raises(ValidationException, match='Alias must start with the prefix "alias/"'):
        east.call("CreateAlias", AliasName="a", TargetKeyId=first)
    from kms_mrk.errors import InvalidAliasNameException

    with pytest.raises(InvalidAliasNameException):
        east.call("CreateAlias", AliasName="alias/aws/mine", TargetKeyId=first)
    with pytest.raises(ValidationException, match="regular expression"):
        east.call("CreateAlias", AliasName="alias/sp ace", TargetKeyId=first)
    east.call("UpdateAlias", AliasName="alias/a", TargetKeyId=second)
    assert east.call("DescribeKey", KeyId="alias/a").key_metadata.key_id == second
    with pytest.raises(ValidationException, match="same type"):
        east.call("UpdateAlias", AliasName="alias/a", TargetKeyId=signing)
    with pytest.raises(NotFoundException, match="alias/none is not found"):
        east.call("UpdateAlias", AliasName="alias/none", TargetKeyId=first)
    entries = east.call("ListAliases").aliases
    assert [(a.alias_name, a.target_key_id) for a in entries] == [("alias/a", second)]
    assert entries[0].alias_arn == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/a"
    east.call("DeleteAlias", AliasName="alias/a")
    with pytest.raises(NotFoundException):
        east.call("DeleteAlias", AliasName="alias/a")


def test_aliases_are_per_region(east: TestClient, west: TestClient) -> None:
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    east.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    with pytest.raises(NotFoundException):
        west.call("DescribeKey", KeyId="alias/app")
    west.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    assert west.call("DescribeKey", KeyId="alias/app").key_metadata.arn == arn("eu-west-1", key_id)


# --------------------------------------------------------------------------- pagination


def test_list_keys_pages_with_markers(east: TestClient, west: TestClient) -> None:
    created = [east.call("CreateKey").key_metadata.key_id for _ in range(7)]
    west.call("CreateKey")
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        page = east.call("ListKeys", Limit=3, **({"Marker": marker} if marker else {}))
        pages += 1
        seen += [k.key_id for k in page.keys]
        assert all(k.key_arn == arn("us-east-1", k.key_id) for k in page.keys)
        if not page.truncated:
            assert page.next_marker is None
            break
        marker = page.next_marker
    assert (seen, pages) == (created, 3)
    from kms_mrk.errors import InvalidMarkerException

    with pytest.raises(InvalidMarkerException):
        east.call("ListKeys", Marker="not-a-marker")
    with pytest.raises(ValidationException, match="Value '0' at 'limit'"):
        east.call("ListKeys", Limit=0)


def test_list_aliases_pages_and_filters_by_key(east: TestClient) -> None:
    one = east.call("CreateKey").key_metadata.key_id
    two = east.call("CreateKey").key_metadata.key_id
    for i in range(5):
        east.call("CreateAlias", AliasName=f"alias/one-{i}", TargetKeyId=one)
    east.call("CreateAlias", AliasName="alias/two", TargetKeyId=two)
    first = east.call("ListAliases", Limit=4)
    assert first.truncated and len(first.aliases) == 4
    rest = east.call("ListAliases", Limit=4, Marker=first.next_marker)
    assert not rest.truncated
    assert [a.alias_name for a in first.aliases + rest.aliases] == [
        *(f"alias/one-{i}" for i in range(5)),
        "alias/two",
    ]
    assert [a.alias_name for a in east.call("ListAliases", KeyId=two).aliases] == ["alias/two"]


# --------------------------------------------------------------------------- tags, rotation


def test_tags(east: TestClient) -> None:
    key_id = east.call("CreateKey", Tags=[{"TagKey": "a", "TagValue": "1"}]).key_metadata.key_id
    east.call(
        "TagResource",
        KeyId=key_id,
        Tags=[{"TagKey": "b", "TagValue": "2"}, {"TagKey": "a", "TagValue": "3"}],
    )
    tags = east.call("ListResourceTags", KeyId=key_id).tags
    assert [(t.tag_key, t.tag_value) for t in tags] == [("a", "3"), ("b", "2")]
    page = east.call("ListResourceTags", KeyId=key_id, Limit=1)
    assert page.truncated and [t.tag_key for t in page.tags] == ["a"]
    assert [
        t.tag_key for t in east.call("ListResourceTags", KeyId=key_id, Marker=page.next_marker).tags
    ] == ["b"]
    east.call("UntagResource", KeyId=key_id, TagKeys=["a"])
    assert [t.tag_key for t in east.call("ListResourceTags", KeyId=key_id).tags] == ["b"]
    from kms_mrk.errors import TagException

    with pytest.raises(TagException, match="Tags beginning with aws: are reserved"):
        east.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "AWS:x", "TagValue": "v"}])
    with pytest.raises(TagException, match="Duplicate tag keys"):
        east.call(
            "TagResource",
            KeyId=key_id,
            Tags=[{"TagKey": "d", "TagValue": "1"}, {"TagKey": "d", "TagValue": "2"}],
        )
    with pytest.raises(TagException, match="Too many tags"):
        east.call(
            "TagResource",
            KeyId=key_id,
            Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)],
        )
    with pytest.raises(
        ValidationException,
        match=re.escape(
            "at 'tags.1.member.tagValue' failed to satisfy constraint: "
            "Member must have length less than or equal to 256"
        ),
    ):
        east.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "k", "TagValue": "v" * 257}])


def test_rotation_status_is_shared_by_related_keys(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = create_mrk(east)
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    assert east.call("GetKeyRotationStatus", KeyId=key_id).key_rotation_enabled is False
    east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    status = west.call("GetKeyRotationStatus", KeyId=key_id)
    assert (status.key_rotation_enabled, status.rotation_period_in_days) == (True, 90)
    assert status.next_rotation_date.timestamp() == clock.now() + 90 * 86400
    with pytest.raises(UnsupportedOperationException, match="not a multi-region primary key"):
        west.call("DisableKeyRotation", KeyId=key_id)
    east.call("DisableKeyRotation", KeyId=key_id)
    assert west.call("GetKeyRotationStatus", KeyId=key_id).key_rotation_enabled is False
    hmac_key = east.call(
        "CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"
    ).key_metadata.key_id
    with pytest.raises(UnsupportedOperationException):
        east.call("EnableKeyRotation", KeyId=hmac_key)
    east.call("DisableKey", KeyId=key_id)
    with pytest.raises(DisabledException, match=re.escape("is disabled.")):
        east.call("EnableKeyRotation", KeyId=key_id)
    with pytest.raises(ValidationException, match="greater than or equal to 90"):
        east.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=10)


def test_update_key_description_is_per_region(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = create_mrk(east, Description="primary")
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    west.call("UpdateKeyDescription", KeyId=key_id, Description="replica")
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.description == "primary"
    assert west.call("DescribeKey", KeyId=key_id).key_metadata.description == "replica"


def test_snapshot_lists_keys_without_material(kms: LocalKMS, east: TestClient) -> None:
    key_id = create_mrk(east, Description="snap")
    east.call("CreateAlias", AliasName="alias/snap", TargetKeyId=key_id)
    snap = kms.snapshot()
    keys = snap["accounts"][ACCOUNT]["us-east-1"]["keys"]
    assert [(k["key_id"], k["key_state"], k["multi_region_key_type"]) for k in keys] == [
        (key_id, "Enabled", "PRIMARY")
    ]
    assert snap["accounts"][ACCOUNT]["us-east-1"]["aliases"] == {"alias/snap": key_id}
    assert "secret" not in json.dumps(snap) and "material" not in json.dumps(snap)


def test_accounts_come_from_principals(clock: ManualClock) -> None:
    from kms_mrk.auth import Credentials
    from tests.local._calls import make_client

    kms = LocalKMS(clock=clock, principals={"AKIDOTHER": "arn:aws:iam::444455556666:user/bob"})
    mine = make_client(kms)
    theirs = make_client(kms, credentials=Credentials("AKIDOTHER", "s"))
    key = theirs.call("CreateKey").key_metadata
    assert key.aws_account_id == "444455556666"
    assert key.arn.startswith("arn:aws:kms:us-east-1:444455556666:key/")
    assert mine.call("ListKeys").keys == []
    with pytest.raises(NotFoundException):
        mine.call("DescribeKey", KeyId=key.key_id)


def test_advance_needs_the_manual_clock() -> None:
    kms = LocalKMS()
    with pytest.raises(TypeError, match="ManualClock"):
        kms.advance(1)


def test_realistic_delays() -> None:
    kms = LocalKMS.realistic()
    assert kms.replica_creating_seconds >= 1 and kms.updating_seconds >= 1
    assert LocalKMS.realistic(updating_seconds=0).updating_seconds == 0
