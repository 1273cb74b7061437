"""Retry paths through stubs: throttling, server faults, timeouts, resets, refused connections.

The client's real retry strategy runs; the mock's clients record their back-off instead of
sleeping, so these tests take no time.
"""

from __future__ import annotations

import pytest

from kms_mrk import (
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CreateKeyCommand,
    DescribeKeyCommand,
    KmsMrkError,
    ReadTimeoutError,
    RetryConfig,
    ThrottlingException,
    UpdatePrimaryRegionCommand,
)
from kms_mrk.testing import KmsMock, UnmatchedRequestError
from tests.testing._helpers import KEY_ID

METADATA = {"KeyMetadata": {"KeyId": KEY_ID}}


def attempts(mock: KmsMock, command: type[DescribeKeyCommand] | None = None) -> list[int]:
    return [c.attempt for c in mock.calls(command)]


def test_a_throttle_then_success_is_retried_once() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException", "Rate exceeded").resolves(
        METADATA
    )

    output = mock.client.describe_key(key_id=KEY_ID)

    assert output.metadata.attempts == 2
    assert attempts(mock) == [1, 2]
    first, second = mock.calls(DescribeKeyCommand)
    assert isinstance(first.error, ThrottlingException)
    assert first.http_status == 400
    assert second.ok
    assert second.output == output
    assert len(mock.slept) == 1
    assert mock.slept[0] > 0
    assert output.metadata.total_retry_delay == pytest.approx(mock.slept[0])


def test_throttling_with_http_429_is_retried_too() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once(ThrottlingException, status=429).resolves(METADATA)
    mock.client.describe_key(key_id=KEY_ID)
    assert attempts(mock) == [1, 2]


def test_persistent_throttling_gives_up_after_max_attempts() -> None:
    mock = KmsMock(retry=RetryConfig(max_attempts=4))
    mock.on(DescribeKeyCommand).rejects("ThrottlingException")

    with pytest.raises(ThrottlingException) as raised:
        mock.client.describe_key(key_id=KEY_ID)

    assert raised.value.metadata.attempts == 4
    assert attempts(mock) == [1, 2, 3, 4]
    assert len(mock.slept) == 3


def test_a_client_fault_is_not_retried() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects("NotFoundException")
    with pytest.raises(KmsMrkError):
        mock.client.describe_key(key_id=KEY_ID)
    assert attempts(mock) == [1]
    assert mock.slept == []


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        ("times_out_once", ReadTimeoutError),
        ("resets_connection_once", ConnectionClosedError),
        ("fails_to_connect_once", ConnectError),
    ],
)
def test_transport_failures_of_an_idempotent_call_are_retried(
    inject: str, error: type[Exception]
) -> None:
    mock = KmsMock()
    stub = mock.on(DescribeKeyCommand)
    getattr(stub, inject)()
    stub.resolves(METADATA)

    output = mock.client.describe_key(key_id=KEY_ID)

    assert output.metadata.attempts == 2
    first, _ = mock.calls()
    assert isinstance(first.error, error)
    assert first.http_status is None
    assert "kms.us-east-1.amazonaws.com" in str(first.error)


def test_a_timeout_of_a_non_idempotent_call_reaches_the_caller() -> None:
    mock = KmsMock()
    mock.on(UpdatePrimaryRegionCommand).times_out()

    with pytest.raises(ReadTimeoutError):
        mock.client.update_primary_region(key_id=KEY_ID, primary_region="eu-west-1")

    assert attempts(mock) == [1]


def test_a_refused_connection_is_retried_even_for_non_idempotent_calls() -> None:
    mock = KmsMock()
    mock.on(CreateKeyCommand).fails_to_connect_once().resolves({"KeyMetadata": {"KeyId": "k"}})
    mock.client.create_key()
    assert [c.attempt for c in mock.calls(CreateKeyCommand)] == [1, 2]


def test_persistent_timeouts_exhaust_the_attempts() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).times_out()
    with pytest.raises(ReadTimeoutError) as raised:
        mock.client.describe_key(key_id=KEY_ID)
    assert raised.value.metadata is not None
    assert raised.value.metadata.attempts == 3
    assert attempts(mock) == [1, 2, 3]


def test_rejects_accepts_transport_errors() -> None:
    mock = KmsMock(retry=1)
    mock.on(DescribeKeyCommand).rejects(ConnectTimeoutError)
    with pytest.raises(ConnectTimeoutError):
        mock.client.describe_key(key_id=KEY_ID)
    mock.on(DescribeKeyCommand).rejects(ReadTimeoutError("kms.example", "slow"))
    with pytest.raises(ReadTimeoutError, match="slow"):
        mock.client.describe_key(key_id=KEY_ID)


def test_server_faults_are_retried_and_each_attempt_is_recorded() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("KMSInternalException").rejects_once(
        "ServiceUnavailableException"
    ).resolves(METADATA)
    mock.client.describe_key(key_id=KEY_ID)
    assert [c.http_status for c in mock.calls()] == [500, 503, 200]
    assert attempts(mock) == [1, 2, 3]


def test_an_unmatched_call_is_never_retried_nor_caught_as_a_library_error() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "expected"}).resolves(METADATA)

    def application() -> str:
        try:
            mock.client.describe_key(key_id="other")
        except KmsMrkError:  # the application's error handling must not hide the test bug
            return "handled"
        return "ok"

    with pytest.raises(UnmatchedRequestError):
        application()
    assert attempts(mock) == [1]
    assert mock.slept == []


def test_each_logical_call_starts_at_attempt_one() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(METADATA)
    mock.client.describe_key(key_id=KEY_ID)
    mock.client.describe_key(key_id=KEY_ID)
    assert attempts(mock) == [1, 2, 1]


def test_attempts_are_inferred_for_clients_the_mock_did_not_make() -> None:
    from kms_mrk import KMSClient
    from kms_mrk.testing import TEST_CREDENTIALS
    from kms_mrk.testing._common import isolated_environ

    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(METADATA)
    client = KMSClient(
        "us-east-1",
        credentials=TEST_CREDENTIALS,
        transport=mock.transport,
        sleep=lambda s: None,
        environ=isolated_environ(),
    )
    client.describe_key(key_id=KEY_ID)
    client.describe_key(key_id=KEY_ID)
    assert attempts(mock) == [1, 2, 1]
