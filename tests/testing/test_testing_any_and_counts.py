"""on_any_command(), assert_called_times() and assert_nth_called_with()."""

from __future__ import annotations

import pytest

from kms_mrk import (
    AccessDeniedException,
    DescribeKeyCommand,
    EncryptCommand,
    ListKeysCommand,
    NotFoundException,
    ReadTimeoutError,
    UpdatePrimaryRegionCommand,
)
from kms_mrk.testing import InvalidStubError, KmsMock, KmsMockError, UnmatchedRequestError
from tests.testing._helpers import KEY_ID


@pytest.fixture
def mock() -> KmsMock:
    return KmsMock(retry=1)


# -- on_any_command -------------------------------------------------------------------------


def test_any_command_answers_what_no_specific_stub_matches(mock: KmsMock) -> None:
    mock.on(DescribeKeyCommand, {"KeyId": "k1"}).resolves({"KeyMetadata": {"KeyId": "k1"}})
    fallback = mock.on_any_command().resolves({})

    assert mock.client.describe_key(key_id="k1").key_metadata.key_id == "k1"  # type: ignore[union-attr]
    assert mock.client.describe_key(key_id="k2").key_metadata is None
    assert mock.client.list_keys().keys is None
    mock.client.update_primary_region(key_id=KEY_ID, primary_region="eu-west-1")

    assert [c.operation for c in fallback.calls] == [
        "DescribeKey",
        "ListKeys",
        "UpdatePrimaryRegion",
    ]
    assert mock.calls(DescribeKeyCommand)[0].stub is mock.stubs[0]
    assert mock.on_any_command() is fallback
    assert repr(fallback) == "on_any_command()"


def test_a_specific_stub_wins_whatever_the_order(mock: KmsMock) -> None:
    mock.on_any_command().rejects("AccessDeniedException", "nope")
    mock.on(ListKeysCommand).resolves({"Keys": [], "Truncated": False})

    assert mock.client.list_keys().truncated is False
    with pytest.raises(AccessDeniedException, match="nope"):
        mock.client.describe_key(key_id="k")
    with pytest.raises(AccessDeniedException):
        mock.client.update_primary_region(key_id=KEY_ID, primary_region="eu-west-1")


def test_any_command_checks_its_response_against_each_operation(mock: KmsMock) -> None:
    mock.on_any_command().resolves({"KeyMetadata": {"KeyId": "k"}})

    assert mock.client.describe_key(key_id="k").key_metadata is not None
    with pytest.raises(InvalidStubError, match="ListKeys"):
        mock.client.list_keys()
    assert len(mock.stub_errors) == 1


def test_any_command_refuses_bad_input_when_defined(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="did you mean 'NotFoundException'"):
        mock.on_any_command().rejects("NotFoundExeption")
    with pytest.raises(InvalidStubError, match="dict of output members"):
        mock.on_any_command().resolves(42)  # type: ignore[arg-type]


def test_any_command_once_behaviours_and_transport_failures(mock: KmsMock) -> None:
    mock.on_any_command().resolves_once({}).rejects_once(NotFoundException).times_out()

    mock.client.list_keys()
    with pytest.raises(NotFoundException):
        mock.client.describe_key(key_id="k")
    with pytest.raises(ReadTimeoutError):
        mock.client.describe_key(key_id="k")


def test_without_a_behaviour_any_command_leaves_requests_unmatched(mock: KmsMock) -> None:
    mock.on_any_command()
    with pytest.raises(UnmatchedRequestError, match="No stub is defined"):
        mock.client.describe_key(key_id="k")


# -- assert_called_times --------------------------------------------------------------------


def test_called_times_counts_requests_of_a_command(mock: KmsMock) -> None:
    mock.on_any_command().resolves({})
    mock.client.describe_key(key_id="a")
    mock.client.describe_key(key_id="b")
    mock.client.list_keys()

    calls = mock.assert_called_times(DescribeKeyCommand, 2)
    assert [c.input.key_id for c in calls] == ["a", "b"]
    mock.assert_called_times(DescribeKeyCommand, 1, {"KeyId": "b"})
    mock.assert_called_times(EncryptCommand, 0)
    mock.assert_called_times(DescribeKeyCommand, 0, region="eu-west-1")


def test_called_times_fails_listing_what_came(mock: KmsMock) -> None:
    mock.on_any_command().resolves({})
    mock.client.describe_key(key_id="a")

    with pytest.raises(KmsMockError) as info:
        mock.assert_called_times(DescribeKeyCommand, 2)
    assert str(info.value).startswith("Expected 2 DescribeKey request(s); received 1:")
    assert "DescribeKey in us-east-1 (attempt 1) -> DescribeKeyResponse" in str(info.value)

    with pytest.raises(KmsMockError) as info:
        mock.assert_called_times(DescribeKeyCommand, 1, {"KeyId": "z"})
    text = str(info.value)
    assert "matching the input; received 0." in text
    assert '-  "KeyId": "z"' in text and '+  "KeyId": "a"' in text


def test_called_times_counts_every_attempt(mock: KmsMock) -> None:
    retrying = KmsMock(retry=3)
    retrying.on(DescribeKeyCommand).rejects_once("ThrottlingException").resolves({})
    retrying.client.describe_key(key_id="k")

    retrying.assert_called_times(DescribeKeyCommand, 2)
    with pytest.raises(KmsMockError, match="1 of them retries"):
        retrying.assert_called_times(DescribeKeyCommand, 1)


def test_called_times_refuses_a_bad_count(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="times must be an integer >= 0"):
        mock.assert_called_times(DescribeKeyCommand, -1)


# -- assert_nth_called_with -----------------------------------------------------------------


def test_nth_called_with_checks_the_nth_request(mock: KmsMock) -> None:
    mock.on_any_command().resolves({})
    mock.client.describe_key(key_id="a")
    mock.client_for("eu-west-1").update_primary_region(key_id=KEY_ID, primary_region="us-east-1")

    first = mock.assert_nth_called_with(1, DescribeKeyCommand, {"KeyId": "a"})
    assert first.input.key_id == "a"
    second = mock.assert_nth_called_with(
        2, UpdatePrimaryRegionCommand, {"PrimaryRegion": "us-east-1"}, region="eu-west-1"
    )
    assert second.region == "eu-west-1"
    mock.assert_nth_called_with(2, UpdatePrimaryRegionCommand)


def test_nth_called_with_fails_with_a_diff(mock: KmsMock) -> None:
    mock.on_any_command().resolves({})
    mock.client.describe_key(key_id="a")
    mock.client.describe_key(key_id="b")

    with pytest.raises(KmsMockError) as info:
        mock.assert_nth_called_with(2, DescribeKeyCommand, {"KeyId": "a"})
    text = str(info.value)
    assert "request #2 (DescribeKey in us-east-1 (attempt 1)" in text
    assert '-  "KeyId": "a"' in text and '+  "KeyId": "b"' in text
    assert "> 2. DescribeKey" in text

    with pytest.raises(KmsMockError, match=r"request #1 was DescribeKey .*, not ListKeys"):
        mock.assert_nth_called_with(1, ListKeysCommand)
    with pytest.raises(KmsMockError, match="request #1 went to us-east-1, not eu-west-1"):
        mock.assert_nth_called_with(1, DescribeKeyCommand, region="eu-west-1")
    with pytest.raises(KmsMockError, match="only 2 request"):
        mock.assert_nth_called_with(3, DescribeKeyCommand)


def test_nth_called_with_strict_input(mock: KmsMock) -> None:
    mock.on_any_command().resolves({})
    mock.client.describe_key(key_id="a", grant_tokens=["t"])

    mock.assert_nth_called_with(1, DescribeKeyCommand, {"KeyId": "a"})
    with pytest.raises(KmsMockError, match="strict"):
        mock.assert_nth_called_with(1, DescribeKeyCommand, {"KeyId": "a"}, strict=True)


def test_nth_called_with_counts_from_one(mock: KmsMock) -> None:
    with pytest.raises(InvalidStubError, match="n counts from 1"):
        mock.assert_nth_called_with(0, DescribeKeyCommand)
