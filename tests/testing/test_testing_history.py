"""Call history and the assertions built on it."""

from __future__ import annotations

import contextlib
import threading

import pytest

from kms_mrk import (
    DescribeKeyCommand,
    DescribeKeyResponse,
    EncryptCommand,
    KeyMetadata,
    ListKeysCommand,
    NotFoundException,
)
from kms_mrk.testing import (
    InvalidStubError,
    KmsMock,
    KmsMockError,
    RecordedCall,
    UnmatchedRequestError,
)
from tests.testing._helpers import KEY_ID

METADATA = {"KeyMetadata": {"KeyId": KEY_ID}}


@pytest.fixture
def mock() -> KmsMock:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(METADATA)
    mock.on(EncryptCommand, {"KeyId": "gone"}).rejects(NotFoundException, "gone")
    mock.on(EncryptCommand).resolves({"KeyId": "k", "CiphertextBlob": b"c"})
    return mock


def test_a_recorded_call_says_what_was_sent_and_answered(mock: KmsMock) -> None:
    output = mock.client_for("eu-west-1").describe_key(key_id=KEY_ID)

    [call] = mock.calls(DescribeKeyCommand)
    assert isinstance(call, RecordedCall)
    assert call.operation == "DescribeKey"
    assert call.command_type is DescribeKeyCommand
    assert call.input == DescribeKeyCommand(key_id=KEY_ID)
    assert call.region == "eu-west-1"
    assert call.attempt == 1
    assert call.output == DescribeKeyResponse(key_metadata=KeyMetadata(key_id=KEY_ID))
    assert call.output == output
    assert call.error is None
    assert call.ok
    assert call.http_status == 200
    assert call.stub is mock.stubs[0]
    assert call.request_id == output.metadata.request_id
    assert call.request.url == "https://kms.eu-west-1.amazonaws.com/"
    assert "/eu-west-1/kms/aws4_request" in (call.request.header("authorization") or "")
    assert "DescribeKey in eu-west-1, attempt 1" in repr(call)


def test_an_error_is_recorded_with_its_status(mock: KmsMock) -> None:
    with pytest.raises(NotFoundException):
        mock.client.encrypt(key_id="gone", plaintext=b"p")
    [call] = mock.calls(EncryptCommand)
    assert not call.ok
    assert isinstance(call.error, NotFoundException)
    assert call.error.message == "gone"
    assert call.http_status == 400
    assert call.output is None


def test_calls_filter_by_command_and_region(mock: KmsMock) -> None:
    mock.client.describe_key(key_id="a")
    mock.client_for("eu-west-1").describe_key(key_id="b")
    mock.client.encrypt(key_id="k", plaintext=b"p")

    assert [c.operation for c in mock.calls()] == ["DescribeKey", "DescribeKey", "Encrypt"]
    assert mock.call_count() == 3
    assert mock.call_count(DescribeKeyCommand) == 2
    assert mock.call_count(DescribeKeyCommand, region="eu-west-1") == 1
    assert mock.call_count(ListKeysCommand) == 0
    assert mock.last_call().operation == "Encrypt"
    assert mock.last_call(DescribeKeyCommand).input == DescribeKeyCommand(key_id="b")
    assert [c.input for c in mock.stubs[0].calls] == [
        DescribeKeyCommand(key_id="a"),
        DescribeKeyCommand(key_id="b"),
    ]


def test_calls_filter_by_input_like_on(mock: KmsMock) -> None:
    mock.client.describe_key(key_id="a", grant_tokens=["t"])
    mock.client_for("eu-west-1").describe_key(key_id="a")
    mock.client.describe_key(key_id="b")

    assert len(mock.calls(DescribeKeyCommand, {"KeyId": "a"})) == 2
    assert len(mock.calls(DescribeKeyCommand, {"key_id": "a"}, region="eu-west-1")) == 1
    assert len(mock.calls(DescribeKeyCommand, DescribeKeyCommand(key_id="b"))) == 1
    strict = mock.calls(DescribeKeyCommand, {"KeyId": "a"}, strict=True)
    assert [c.region for c in strict] == ["eu-west-1"]
    assert mock.call_count(DescribeKeyCommand, {"GrantTokens": ["t"]}) == 1
    assert mock.call_count(DescribeKeyCommand, {"KeyId": "c"}) == 0
    assert mock.calls(DescribeKeyCommand, {"KeyId": "a"}) == [
        c for c in mock.calls(DescribeKeyCommand) if c.input.key_id == "a"
    ]


def test_an_input_filter_needs_a_command_and_a_valid_input(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="an input filter needs the command class"):
        mock.calls(None, {"KeyId": "a"})  # type: ignore[call-overload]
    with pytest.raises(InvalidStubError, match="did you mean 'KeyId'"):
        mock.calls(DescribeKeyCommand, {"KeyID": "a"})


def test_last_call_fails_when_nothing_was_called(mock: KmsMock) -> None:
    with pytest.raises(KmsMockError, match="No call of ListKeysCommand"):
        mock.last_call(ListKeysCommand)


def test_unmatched_calls_are_in_the_history_too() -> None:
    mock = KmsMock()
    with pytest.raises(UnmatchedRequestError):
        mock.client.describe_key(key_id="k")
    [call] = mock.calls()
    assert isinstance(call.error, UnmatchedRequestError)
    assert call.stub is None
    assert call.http_status is None
    assert mock.unmatched == [call.error]


def test_assert_called_with_matches_partially_or_strictly(mock: KmsMock) -> None:
    mock.client.describe_key(key_id=KEY_ID, grant_tokens=["t"])

    call = mock.assert_called_with(DescribeKeyCommand, {"KeyId": KEY_ID})
    assert call.input.grant_tokens == ["t"]
    mock.assert_called_with(DescribeKeyCommand, {"key_id": KEY_ID}, region="us-east-1")
    mock.assert_called_with(DescribeKeyCommand)
    mock.assert_called_with(
        DescribeKeyCommand, DescribeKeyCommand(key_id=KEY_ID, grant_tokens=["t"]), strict=True
    )
    with pytest.raises(KmsMockError, match="strict"):
        mock.assert_called_with(DescribeKeyCommand, {"KeyId": KEY_ID}, strict=True)
    with pytest.raises(KmsMockError, match="in eu-west-1"):
        mock.assert_called_with(DescribeKeyCommand, {"KeyId": KEY_ID}, region="eu-west-1")


def test_assert_called_once_with(mock: KmsMock) -> None:
    mock.client.describe_key(key_id=KEY_ID)
    mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": KEY_ID})
    with pytest.raises(KmsMockError, match="no DescribeKey request matched"):
        mock.assert_called_once_with(DescribeKeyCommand, {"KeyId": "other"})
    mock.client.describe_key(key_id=KEY_ID)
    with pytest.raises(KmsMockError, match="Expected exactly one DescribeKey request; received 2"):
        mock.assert_called_once_with(DescribeKeyCommand)


def test_assert_called_once_counts_retries_as_requests() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves(METADATA)
    mock.client.describe_key(key_id=KEY_ID)
    with pytest.raises(KmsMockError, match="1 of them retries"):
        mock.assert_called_once_with(DescribeKeyCommand)


def test_assert_not_called(mock: KmsMock) -> None:
    mock.assert_not_called()
    mock.client.describe_key(key_id=KEY_ID)
    mock.assert_not_called(EncryptCommand)
    with pytest.raises(KmsMockError, match=r"no DescribeKey request; received 1:\n  - DescribeKey"):
        mock.assert_not_called(DescribeKeyCommand)
    with pytest.raises(KmsMockError, match="Expected no request"):
        mock.assert_not_called()


def test_assert_all_stubs_used_lists_the_unused_ones(mock: KmsMock) -> None:
    mock.client.describe_key(key_id=KEY_ID)
    with pytest.raises(KmsMockError) as raised:
        mock.assert_all_stubs_used()
    text = str(raised.value)
    assert text.startswith("2 stub(s) were never used:")
    assert 'on(EncryptCommand, {"KeyId": "gone"})' in text
    assert "defined at" in text
    with pytest.raises(NotFoundException):
        mock.client.encrypt(key_id="gone", plaintext=b"p")
    mock.client.encrypt(key_id="k", plaintext=b"p")
    mock.assert_all_stubs_used()


def test_assert_no_pending_once() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves_once(METADATA).rejects_once(NotFoundException)
    mock.client.describe_key(key_id=KEY_ID)
    with pytest.raises(KmsMockError, match=r"1 left: rejects\(NotFoundException, HTTP 400\)"):
        mock.assert_no_pending_once()
    with pytest.raises(NotFoundException):
        mock.client.describe_key(key_id=KEY_ID)
    mock.assert_no_pending_once()


def test_assert_no_unmatched_calls_sees_errors_the_code_swallowed() -> None:
    mock = KmsMock()
    with contextlib.suppress(Exception):  # code under test that hides every error
        mock.client.describe_key(key_id="k")
    with pytest.raises(KmsMockError, match="1 request\\(s\\) matched no stub"):
        mock.assert_no_unmatched_calls()


def test_verify_reports_every_problem_at_once() -> None:
    mock = KmsMock()
    mock.on(ListKeysCommand).resolves()
    mock.on(DescribeKeyCommand).resolves_once(METADATA)
    with pytest.raises(UnmatchedRequestError):
        mock.client.encrypt(key_id="k", plaintext=b"p")
    with pytest.raises(KmsMockError) as raised:
        mock.verify()
    text = str(raised.value)
    assert "matched no stub" in text
    assert "were never used" in text
    assert "One-shot behaviours were never used" in text


def test_verify_passes_when_all_is_well() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves_once(METADATA)
    mock.client.describe_key(key_id=KEY_ID)
    mock.verify()


def test_history_is_safe_across_threads() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).resolves(METADATA)
    client = mock.client

    def work() -> None:
        for _ in range(20):
            client.describe_key(key_id=KEY_ID)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mock.call_count(DescribeKeyCommand) == 80
    assert {c.attempt for c in mock.calls()} == {1}
    assert len({c.request_id for c in mock.calls()}) == 80
