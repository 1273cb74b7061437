"""boto3 against the local KMS over HTTP: the multi-Region failover flow and its errors."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kms_mrk.local import LocalKMSServer, ManualClock, serve

ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def environment() -> Iterator[None]:
    """Keep the developer's AWS configuration out of these tests."""
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
    with serve(port=0, clock=clock, replica_creating_seconds=2, updating_seconds=5) as running:
        yield running


@pytest.fixture(scope="module")
def kms_in(server: LocalKMSServer) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret"
    )
    clients: dict[str, Any] = {}

    def client(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client(
                "kms",
                region_name=region,
                endpoint_url=server.url,
                config=Config(retries={"mode": "standard", "max_attempts": 1}),
            )
        return clients[region]

    return client


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


def test_multi_region_failover_flow(kms_in: Callable[[str], Any], clock: ManualClock) -> None:
    east, west = kms_in("us-east-1"), kms_in("eu-west-1")
    created = east.create_key(MultiRegion=True, Description="app key")["KeyMetadata"]
    key_id = created["KeyId"]
    assert key_id.startswith("mrk-")
    assert isinstance(created["CreationDate"], dt.datetime)
    replica = east.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1")
    assert replica["ReplicaKeyMetadata"]["KeyState"] == "Creating"
    assert replica["ReplicaKeyMetadata"]["Arn"] == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key_id}"
    with pytest.raises(ClientError) as info:
        west.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(info) == "KMSInvalidStateException"
    clock.advance(2)
    ciphertext = east.encrypt(
        KeyId=key_id, Plaintext=b"across regions", EncryptionContext={"a": "b"}
    )["CiphertextBlob"]
    plain = west.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"a": "b"})
    assert plain["Plaintext"] == b"across regions"
    assert plain["KeyId"] == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key_id}"

    response = east.update_primary_region(KeyId=key_id, PrimaryRegion="eu-west-1")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(response) == {"ResponseMetadata"}
    with pytest.raises(ClientError) as info:
        west.disable_key(KeyId=key_id)
    assert error_code(info) == "KMSInvalidStateException"
    assert info.value.response["Error"]["Message"].endswith("is updating.")
    clock.advance(5)
    for client, expected in ((east, "REPLICA"), (west, "PRIMARY")):
        meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
        assert meta["KeyState"] == "Enabled"
        config = meta["MultiRegionConfiguration"]
        assert config["MultiRegionKeyType"] == expected
        assert config["PrimaryKey"] == {
            "Arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key_id}",
            "Region": "eu-west-1",
        }
        assert config["ReplicaKeys"] == [
            {"Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}", "Region": "us-east-1"}
        ]
    back = west.encrypt(KeyId=key_id, Plaintext=b"after failover")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=back)["Plaintext"] == b"after failover"


def test_errors_arrive_as_client_errors_with_kms_codes(kms_in: Callable[[str], Any]) -> None:
    east = kms_in("us-east-1")
    cases: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: east.describe_key(KeyId="mrk-00000000000000000000000000000000"),
            "NotFoundException",
        ),
        (lambda: east.describe_key(KeyId="not-a-key"), "NotFoundException"),
        (lambda: east.create_key(KeySpec="HMAC_256"), "ValidationException"),
        (
            lambda: east.create_grant(KeyId="k", GranteePrincipal="p", Operations=["Decrypt"]),
            "NotFoundException",
        ),
        (lambda: east.generate_random(NumberOfBytes=1025), "ValidationException"),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as info:
            call()
        assert error_code(info) == expected
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert info.value.response["ResponseMetadata"]["RequestId"]
    key_id = east.create_key()["KeyMetadata"]["KeyId"]
    east.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as info:
        east.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(info) == "DisabledException"
    assert (
        info.value.response["Error"]["Message"]
        == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id} is disabled."
    )


def test_paginators_aliases_tags_and_signing(kms_in: Callable[[str], Any]) -> None:
    client = kms_in("ap-south-1")
    created = [client.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
    pages = list(client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [k["KeyId"] for page in pages for k in page["Keys"]] == created
    client.create_alias(AliasName="alias/boto", TargetKeyId=created[0])
    assert client.describe_key(KeyId="alias/boto")["KeyMetadata"]["KeyId"] == created[0]
    client.tag_resource(KeyId=created[0], Tags=[{"TagKey": "team", "TagValue": "kms"}])
    assert client.list_resource_tags(KeyId=created[0])["Tags"] == [
        {"TagKey": "team", "TagValue": "kms"}
    ]
    signer = client.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"
    ]
    signature = client.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")[
        "Signature"
    ]
    assert client.verify(
        KeyId=signer, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_384"
    )["SignatureValid"]
    with pytest.raises(ClientError) as info:
        client.verify(
            KeyId=signer, Message=b"n", Signature=signature, SigningAlgorithm="ECDSA_SHA_384"
        )
    assert error_code(info) == "KMSInvalidSignatureException"
    policy = client.get_key_policy(KeyId=signer, PolicyName="default")["Policy"]
    assert '"AWS" : "arn:aws:iam::111122223333:root"' in policy


def test_signature_verification_over_http(environment: None) -> None:
    with serve(port=0, verify_signatures=True, access_keys={"AKIDGOOD": "s3cret"}) as running:

        def client(secret: str, token: str | None = None) -> Any:
            return boto3.session.Session().client(
                "kms",
                region_name="eu-west-1",
                endpoint_url=running.url,
                aws_access_key_id="AKIDGOOD",
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=Config(retries={"max_attempts": 1}),
            )

        arn = client("s3cret").create_key()["KeyMetadata"]["Arn"]
        assert arn.startswith("arn:aws:kms:eu-west-1:")
        assert len(client("s3cret", token="session").list_keys()["Keys"]) == 1
        with pytest.raises(ClientError) as info:
            client("wrong").list_keys()
        assert error_code(info) == "InvalidSignatureException"


def test_concurrent_failovers_creates_and_cross_region_crypto(environment: None) -> None:
    """Writers and readers from several threads: no 5xx, and exactly one primary at the end."""
    import random
    import threading

    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    workers = 4
    with serve(port=0, replica_creating_seconds=0, updating_seconds=0) as running:
        session = boto3.session.Session(
            aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret"
        )
        config = Config(retries={"mode": "standard", "max_attempts": 1})
        clients = [
            {
                region: session.client(
                    "kms", region_name=region, endpoint_url=running.url, config=config
                )
                for region in regions
            }
            for _ in range(workers)
        ]
        east = clients[0]["us-east-1"]
        key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        for region in regions[1:]:
            east.replicate_key(KeyId=key_id, ReplicaRegion=region)
        created: list[tuple[str, str]] = []
        problems: list[Any] = []
        counts = {"failover": 0, "create": 0, "crypto": 0}

        def work(index: int) -> None:
            rng = random.Random(index)
            mine = clients[index]
            for step in range(30):
                here, there = rng.sample(regions, 2)
                choice = rng.random()
                try:
                    if choice < 0.3:
                        meta = mine[here].describe_key(KeyId=key_id)["KeyMetadata"]
                        primary = meta["MultiRegionConfiguration"]["PrimaryKey"]["Region"]
                        target = rng.choice([r for r in regions if r != primary])
                        mine[primary].update_primary_region(KeyId=key_id, PrimaryRegion=target)
                        counts["failover"] += 1
                    elif choice < 0.5:
                        new = mine[here].create_key(Description=f"{index}-{step}")
                        created.append((here, new["KeyMetadata"]["KeyId"]))
                        counts["create"] += 1
                    else:
                        context = {"worker": str(index)}
                        blob = mine[here].encrypt(
                            KeyId=key_id, Plaintext=b"payload", EncryptionContext=context
                        )["CiphertextBlob"]
                        plain = mine[there].decrypt(CiphertextBlob=blob, EncryptionContext=context)
                        assert plain["Plaintext"] == b"payload"
                        assert plain["KeyId"].split(":")[3] == there
                        counts["crypto"] += 1
                except ClientError as exc:
                    status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                    code = exc.response["Error"]["Code"]
                    # Another thread moved the primary between our DescribeKey and our call.
                    if status >= 500 or code != "UnsupportedOperationException":
                        problems.append((status, code, exc.response["Error"]["Message"]))
                except Exception as exc:  # pragma: no cover - reported below
                    problems.append(repr(exc))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert problems == []
        assert all(counts.values()), counts
        kinds: dict[str, str] = {}
        for region in regions:
            meta = clients[0][region].describe_key(KeyId=key_id)["KeyMetadata"]
            config = meta["MultiRegionConfiguration"]
            kinds[region] = config["MultiRegionKeyType"]
            assert meta["KeyState"] == "Enabled"
            assert sorted(
                [config["PrimaryKey"]["Region"]] + [k["Region"] for k in config["ReplicaKeys"]]
            ) == sorted(regions)
        assert list(kinds.values()).count("PRIMARY") == 1
        primary = next(r for r, kind in kinds.items() if kind == "PRIMARY")
        for region in regions:
            config = clients[0][region].describe_key(KeyId=key_id)["KeyMetadata"]
            assert config["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == primary
        for region in regions:
            listed = {k["KeyId"] for k in clients[0][region].list_keys(Limit=1000)["Keys"]}
            assert {k for r, k in created if r == region} <= listed
