"""moto interop: kms-mrk clients on moto's in-process KMS, state shared with boto3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kms_mrk import KMSClient, UnsupportedOperationException
from kms_mrk.errors import ConnectError
from kms_mrk.testing import MotoTransport, moto_active, moto_client

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):
        monkeypatch.delenv(name, raising=False)


@moto.mock_aws
def test_a_key_created_with_boto3_is_read_with_kms_mrk() -> None:
    b3 = boto3.client("kms", region_name="us-east-1")
    created = b3.create_key(Description="made by boto3", MultiRegion=True)["KeyMetadata"]
    client = moto_client("us-east-1")
    described = client.describe_key(key_id=created["KeyId"])
    metadata = described.key_metadata
    assert metadata is not None
    assert metadata.arn == created["Arn"]
    assert metadata.description == "made by boto3"
    assert metadata.multi_region is True
    # Operations without output: moto answers them with a body of null.
    client.disable_key(key_id=created["KeyId"])
    assert b3.describe_key(KeyId=created["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


@moto.mock_aws
def test_a_key_created_with_kms_mrk_is_read_with_boto3() -> None:
    client = moto_client("us-east-1")
    created = client.create_key(description="made by kms-mrk", multi_region=True).key_metadata
    assert created is not None
    client.create_alias(alias_name="alias/app", target_key_id=created.key_id)
    b3 = boto3.client("kms", region_name="us-east-1")
    seen = b3.describe_key(KeyId="alias/app")["KeyMetadata"]
    assert seen["KeyId"] == created.key_id
    assert seen["Description"] == "made by kms-mrk"
    # Ciphertext crosses over both ways (a single-Region key: moto 5 refuses to decrypt
    # with multi-Region keys, even for boto3).
    single = client.create_key().key_metadata
    assert single is not None
    sealed = client.encrypt(key_id=single.key_id, plaintext=b"order 1042").ciphertext_blob
    assert b3.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"order 1042"
    back = b3.encrypt(KeyId=single.key_id, Plaintext=b"order 1043")["CiphertextBlob"]
    assert client.decrypt(ciphertext_blob=back).plaintext == b"order 1043"


@moto.mock_aws
def test_multi_region_operations_as_far_as_moto_goes() -> None:
    client = moto_client("us-east-1")
    primary = client.create_key(multi_region=True).key_metadata
    assert primary is not None and primary.arn is not None
    replica = client.replicate_key(key_id=primary.key_id, replica_region="eu-west-1")
    assert replica.replica_key_metadata is not None
    in_eu = client.for_region("eu-west-1").describe_key(key_id=primary.key_id).key_metadata
    assert in_eu is not None and in_eu.multi_region_configuration is not None
    assert str(in_eu.multi_region_configuration.multi_region_key_type) == "REPLICA"
    b3 = boto3.client("kms", region_name="eu-west-1")
    assert b3.describe_key(KeyId=primary.key_id)["KeyMetadata"]["Arn"] == in_eu.arn
    # moto 5 does not implement UpdatePrimaryRegion: a modeled error naming moto, sent once.
    with pytest.raises(UnsupportedOperationException, match="moto does not implement"):
        client.update_primary_region(key_id=primary.arn, primary_region="eu-west-1")


def test_the_kms_moto_fixture(kms_moto: object) -> None:
    client = kms_moto("eu-central-1")  # type: ignore[operator]
    created = client.create_key().key_metadata
    listed = boto3.client("kms", region_name="eu-central-1").list_keys()["Keys"]
    assert [k["KeyId"] for k in listed] == [created.key_id]


def test_moto_state_is_detected_without_importing_moto() -> None:
    assert not moto_active()
    with moto.mock_aws():
        assert moto_active()
    assert not moto_active()
    script = (
        "import sys; from kms_mrk.testing import moto_active; "
        "from kms_mrk.testing._moto import active_transport; "
        "assert not moto_active() and active_transport() is None; "
        "assert 'moto' not in sys.modules, 'moto was imported'"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_outside_a_mock_nothing_goes_anywhere() -> None:
    from kms_mrk import Credentials

    client = KMSClient(
        "us-east-1", credentials=Credentials("AKID", "secret"), transport=MotoTransport()
    )
    with pytest.raises(ConnectError, match="mock_aws"):
        client.list_keys()
    with pytest.raises(ConnectError, match="mock_aws"):
        moto_client("us-east-1")


def test_active_transport_follows_the_mock() -> None:
    from kms_mrk.testing._moto import active_transport

    assert active_transport() is None
    with moto.mock_aws():
        assert isinstance(active_transport(), MotoTransport)
    assert active_transport() is None


@moto.mock_aws
def test_a_client_created_inside_mock_aws_reaches_moto() -> None:
    b3 = boto3.client("kms", region_name="us-east-1")
    key_id = b3.create_key()["KeyMetadata"]["KeyId"]
    client = KMSClient("us-east-1")
    assert client.describe_key(key_id=key_id).key_metadata is not None
