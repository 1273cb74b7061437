"""Grants, rotation, imported key material and GetKeyLastUsage over HTTP: boto3 and kms-mrk's
own KMSClient against a LocalKMSServer (127.0.0.1 only)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kms_mrk import KMSClient
from kms_mrk.auth import Credentials
from kms_mrk.commands import ListKeyRotationsCommand
from kms_mrk.errors import AccessDeniedException, KMSInvalidStateException
from kms_mrk.local import LocalKMSServer, ManualClock, serve

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
DAY = 86400.0
ADMIN_ONLY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'
    + ADMIN
    + '"},"Action":"kms:*","Resource":"*"}]}'
)


@pytest.fixture(scope="module")
def environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_KMS",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def server(environment: None, clock: ManualClock) -> Iterator[LocalKMSServer]:
    with serve(
        port=0,
        clock=clock,
        replica_creating_seconds=2,
        principals={"AKIDADMIN": ADMIN, "AKIDALICE": ALICE},
    ) as running:
        yield running


def boto(server: LocalKMSServer, key: str = "AKIDADMIN", region: str = "us-east-1") -> Any:
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key="s")
    return session.client(
        "kms",
        region_name=region,
        endpoint_url=server.url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def ours(server: LocalKMSServer, key: str = "AKIDADMIN", region: str = "us-east-1") -> KMSClient:
    return KMSClient(
        region=region,
        credentials=Credentials(key, "s"),
        endpoint_url=server.url,
        retry=1,
    )


def wrap(public_der: bytes, material: bytes) -> bytes:
    public: Any = serialization.load_der_public_key(public_der)
    sha = hashes.SHA256()
    aes_key = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=sha), algorithm=sha, label=None)
    return bytes(public.encrypt(aes_key, oaep)) + aes_key_wrap_with_padding(aes_key, material)


def test_grants_with_boto3(server: LocalKMSServer) -> None:
    admin, alice = boto(server), boto(server, "AKIDALICE")
    key_id = admin.create_key(Policy=ADMIN_ONLY)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as denied:
        alice.encrypt(KeyId=key_id, Plaintext=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    made = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=ALICE,
        Operations=["Encrypt", "Decrypt"],
        RetiringPrincipal=ALICE,
        Constraints={"EncryptionContextSubset": {"app": "billing"}},
    )
    blob = alice.encrypt(
        KeyId=key_id,
        Plaintext=b"x",
        EncryptionContext={"app": "billing"},
        GrantTokens=[made["GrantToken"]],
    )["CiphertextBlob"]
    assert (
        alice.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "billing"})["Plaintext"]
        == b"x"
    )
    listed = admin.list_grants(KeyId=key_id)["Grants"]
    assert [g["GrantId"] for g in listed] == [made["GrantId"]]
    assert listed[0]["Constraints"] == {"EncryptionContextSubset": {"app": "billing"}}
    assert isinstance(listed[0]["CreationDate"], dt.datetime)
    retirable = alice.list_retirable_grants(RetiringPrincipal=ALICE)["Grants"]
    assert [g["GrantId"] for g in retirable] == [made["GrantId"]]
    alice.retire_grant(GrantToken=made["GrantToken"])
    with pytest.raises(ClientError) as gone:
        alice.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "billing"})
    assert gone.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as bad:
        admin.revoke_grant(KeyId=key_id, GrantId="nope")
    assert bad.value.response["Error"]["Code"] == "InvalidGrantIdException"


def test_grants_with_the_kms_mrk_client(server: LocalKMSServer) -> None:
    with ours(server) as admin, ours(server, "AKIDALICE") as alice:
        key_id = admin.create_key(policy=ADMIN_ONLY).key_metadata.key_id
        made = admin.create_grant(key_id=key_id, grantee_principal=ALICE, operations=["Encrypt"])
        alice.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[made.grant_token])
        admin.revoke_grant(key_id=key_id, grant_id=made.grant_id)
        with pytest.raises(AccessDeniedException):
            alice.encrypt(key_id=key_id, plaintext=b"x")


def test_rotation_and_last_usage_with_boto3(server: LocalKMSServer, clock: ManualClock) -> None:
    east, west = boto(server), boto(server, region="eu-west-1")
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    old = east.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    with pytest.raises(ClientError) as replica:
        west.rotate_key_on_demand(KeyId=key_id)
    assert replica.value.response["Error"]["Code"] == "UnsupportedOperationException"
    east.rotate_key_on_demand(KeyId=key_id)
    east.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = east.get_key_rotation_status(KeyId=key_id)
    assert status["RotationPeriodInDays"] == 90 and "NextRotationDate" in status
    clock.advance(90 * DAY)
    rotations = west.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "AUTOMATIC"]
    decrypted = west.decrypt(CiphertextBlob=old)
    assert decrypted["Plaintext"] == b"old"
    usage = west.get_key_last_usage(KeyId=key_id)
    assert usage["KeyLastUsage"]["Operation"] == "Decrypt"
    assert usage["TrackingStartDate"] == usage["KeyCreationDate"]


def test_rotation_and_last_usage_with_the_kms_mrk_client(
    server: LocalKMSServer, clock: ManualClock
) -> None:
    with ours(server) as client:
        key_id = client.create_key().key_metadata.key_id
        blob = client.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
        client.rotate_key_on_demand(key_id=key_id)
        pages = list(client.paginate(ListKeyRotationsCommand(key_id=key_id, limit=1)))
        client.rotate_key_on_demand(key_id=key_id)
        assert [len(page.rotations or []) for page in pages] == [1]
        pages = list(client.paginate(ListKeyRotationsCommand(key_id=key_id, limit=1)))
        assert [len(page.rotations or []) for page in pages] == [1, 1]
        assert client.decrypt(ciphertext_blob=blob).plaintext == b"x"
        usage = client.get_key_last_usage(key_id=key_id).key_last_usage
        assert usage is not None and str(usage.operation) == "Decrypt"


def test_import_with_boto3(server: LocalKMSServer, clock: ManualClock) -> None:
    east = boto(server)
    key_id = east.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    params = east.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    valid_to = dt.datetime.fromtimestamp(clock.now() + DAY, dt.timezone.utc)
    east.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32)),
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        ValidTo=valid_to,
    )
    meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeyState"], meta["Origin"], meta["ValidTo"]) == ("Enabled", "EXTERNAL", valid_to)
    east.encrypt(KeyId=key_id, Plaintext=b"x")
    east.delete_imported_key_material(KeyId=key_id)
    with pytest.raises(ClientError) as pending:
        east.encrypt(KeyId=key_id, Plaintext=b"x")
    assert pending.value.response["Error"]["Code"] == "KMSInvalidStateException"


def test_import_with_the_kms_mrk_client(server: LocalKMSServer) -> None:
    with ours(server) as client:
        key_id = client.create_key(origin="EXTERNAL").key_metadata.key_id
        with pytest.raises(KMSInvalidStateException, match="pending import"):
            client.encrypt(key_id=key_id, plaintext=b"x")
        params = client.get_parameters_for_import(
            key_id=key_id,
            wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256",
            wrapping_key_spec="RSA_2048",
        )
        assert params.public_key is not None and params.import_token is not None
        client.import_key_material(
            key_id=key_id,
            import_token=params.import_token,
            encrypted_key_material=wrap(params.public_key, os.urandom(32)),
            expiration_model="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
        assert client.describe_key(key_id=key_id).key_metadata.key_state == "Enabled"
