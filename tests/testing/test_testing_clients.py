"""The clients the toolkit makes: KmsMock's, patched ones, and KmsLocal's."""

from __future__ import annotations

import pytest

from kms_mrk import (
    Credentials,
    DescribeKeyCommand,
    HeadersInterceptor,
    KeyState,
    KMSClient,
    NotFoundException,
    ThrottlingException,
)
from kms_mrk.testing import TEST_CREDENTIALS, KmsLocal, KmsMock
from tests.testing._helpers import KEY_ID

METADATA = {"KeyMetadata": {"KeyId": KEY_ID}}


# -- KmsMock's clients -------------------------------------------------------------------------


def test_clients_are_made_once_per_region() -> None:
    mock = KmsMock("eu-central-1")
    assert mock.client.region == "eu-central-1"
    assert mock.client is mock.client
    assert mock.client_for("eu-west-1") is mock.client_for("eu-west-1")
    assert mock.client_for("eu-west-1").region == "eu-west-1"
    assert mock.client_for("eu-central-1") is mock.client


def test_the_developers_aws_configuration_does_not_leak_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects("ThrottlingException")
    with pytest.raises(ThrottlingException):
        mock.client.describe_key(key_id=KEY_ID)
    assert mock.client.endpoint == "https://kms.us-east-1.amazonaws.com"
    assert mock.call_count() == 3


def test_new_client_takes_client_options() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects("ThrottlingException")
    client = mock.new_client(retry=1, interceptors=[HeadersInterceptor({"X-Test": "yes"})])
    with pytest.raises(ThrottlingException):
        client.describe_key(key_id=KEY_ID)
    [call] = mock.calls()
    assert call.request.header("x-test") == "yes"
    assert call.attempt == 1


def test_signatures_may_go_unchecked() -> None:
    other = Credentials(TEST_CREDENTIALS.access_key_id, "another-secret-another-secret-0000")
    strict = KmsMock()
    strict.on(DescribeKeyCommand).resolves(METADATA)
    with pytest.raises(Exception, match="InvalidSignatureException"):
        strict.new_client(credentials=other).describe_key(key_id=KEY_ID)

    relaxed = KmsMock(verify_signatures=False)
    relaxed.on(DescribeKeyCommand).resolves(METADATA)
    assert relaxed.new_client(credentials=other).describe_key(key_id=KEY_ID).key_metadata


def test_the_mock_is_a_context_manager_closing_itself() -> None:
    with KmsMock() as mock:
        client = mock.client
        assert mock.client is client
        assert not mock.closed
    assert mock.closed
    assert mock.client is not client  # the clients of a closed mock are forgotten
    assert repr(mock) == "KmsMock(region='us-east-1', stubs=0)"


def test_a_bad_region_is_refused() -> None:
    with pytest.raises(ValueError, match="Region"):
        KmsMock("not a region")


# -- patch_clients -----------------------------------------------------------------------------


def application_describe(region: str | None = None) -> str:
    """Code under test that builds its own client, as applications do."""
    client = KMSClient(region) if region else KMSClient()
    metadata = client.describe_key(key_id=KEY_ID).key_metadata
    assert metadata is not None
    return f"{client.region}:{metadata.key_id}"


def test_patch_clients_wires_clients_the_code_creates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    mock = KmsMock("ap-south-1")
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(METADATA)

    with mock.patch_clients():
        assert application_describe("eu-west-1") == f"eu-west-1:{KEY_ID}"
        assert application_describe() == f"ap-south-1:{KEY_ID}"

    assert [(c.region, c.attempt) for c in mock.calls()] == [
        ("eu-west-1", 1),
        ("eu-west-1", 2),
        ("ap-south-1", 1),
    ]
    assert len(mock.slept) == 1


def test_patch_clients_accepts_the_region_by_keyword() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(METADATA)
    with mock.patch_clients():
        client = KMSClient(region="eu-north-1", retry=1)
        client.describe_key(key_id=KEY_ID)
    assert mock.last_call().region == "eu-north-1"


def test_patch_clients_keeps_the_region_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(METADATA)
    with mock.patch_clients():
        assert application_describe() == f"sa-east-1:{KEY_ID}"


def test_patch_clients_is_undone_and_leaves_explicit_transports_alone() -> None:
    original = KMSClient.__init__
    mock = KmsMock()
    other = KmsMock()
    other.on(DescribeKeyCommand).rejects(NotFoundException)
    with mock.patch_clients():
        assert KMSClient.__init__ is original  # no class is patched: a context variable
        client = KMSClient("us-east-1", credentials=TEST_CREDENTIALS, transport=other.transport)
        with pytest.raises(NotFoundException):
            client.describe_key(key_id=KEY_ID)
    assert mock.calls() == []
    from kms_mrk._overrides import current_override

    assert current_override() is None


def test_patch_clients_is_undone_when_the_block_raises() -> None:
    original = KMSClient.__init__
    mock = KmsMock()
    with pytest.raises(RuntimeError, match="boom"), mock.patch_clients():
        raise RuntimeError("boom")
    assert KMSClient.__init__ is original
    from kms_mrk._overrides import current_override

    assert current_override() is None
    later = KMSClient("us-east-1", credentials=TEST_CREDENTIALS, transport=KmsMock().transport)
    assert later.region == "us-east-1"
    assert mock.calls() == []


# -- KmsLocal ----------------------------------------------------------------------------------


def test_kms_local_gives_clients_for_any_region() -> None:
    with KmsLocal() as local:
        key_id = local.create_multi_region_key("us-east-1", replicas=["eu-west-1"])
        west = local.client("eu-west-1").describe_key(key_id=key_id).key_metadata
        assert west is not None
        assert west.key_state == KeyState.ENABLED
        assert local.client() is local.client("us-east-1")
        assert local.account_id == "111122223333"


def test_kms_local_time_moves_only_when_told() -> None:
    with KmsLocal(replica_creating_seconds=2) as local:
        key_id = local.create_multi_region_key(replicas=["eu-west-1"])
        west = local.client("eu-west-1")

        def state() -> str:
            metadata = west.describe_key(key_id=key_id).key_metadata
            assert metadata is not None
            return str(metadata.key_state)

        assert state() == "Creating"
        start = local.clock.now()
        assert local.advance(2) == start + 2
        assert state() == "Enabled"


def test_kms_local_options_reach_the_local_kms() -> None:
    with KmsLocal(region="eu-west-1", account_id="444455556666", seed=3) as local:
        created = local.client().create_key().key_metadata
        assert created is not None
        assert created.arn is not None
        assert created.arn.startswith("arn:aws:kms:eu-west-1:444455556666:key/")
    with KmsLocal(seed=3) as again, KmsLocal(seed=3) as twin:
        first = again.client().create_key().key_metadata
        second = twin.client().create_key().key_metadata
        assert first is not None
        assert second is not None
        assert first.key_id == second.key_id
