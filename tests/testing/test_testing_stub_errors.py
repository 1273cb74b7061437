"""Errors raised by test code inside the transport (fakes, rules) are never lost.

Application code often catches everything; an ``assert`` in a fake or an invalid answer it
returns must still fail the test, through ``stub_errors``, ``assert_no_stub_errors()``,
``verify()`` and strict fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest

from kms_mrk import (
    DescribeKeyCommand,
    KMSClient,
    NotFoundException,
    ReadTimeoutError,
)
from kms_mrk.testing import InvalidStubError, KmsMock, KmsMockError
from tests.testing._helpers import KEY_ID

pytest_plugins = ["pytester"]


def robust_key_id(client: KMSClient, key_id: str = KEY_ID) -> str:
    """Application code that swallows every error."""
    try:
        metadata = client.describe_key(key_id=key_id).key_metadata
        return "none" if metadata is None else metadata.key_id
    except Exception:
        return "fallback"


def test_an_invalid_answer_from_a_fake_is_kept_and_reported() -> None:
    mock = KmsMock()
    stub = mock.on(DescribeKeyCommand).calls_fake(
        lambda command, region: {"KeyMetadata": {"KeyID": command.key_id}}
    )

    assert robust_key_id(mock.client) == "fallback"

    [error] = mock.stub_errors
    assert isinstance(error, InvalidStubError)
    assert "KeyMetadata.KeyID: unknown member of KeyMetadata (did you mean 'KeyId'?)" in str(error)
    with pytest.raises(KmsMockError) as raised:
        mock.assert_no_stub_errors()
    message = str(raised.value)
    assert message.startswith("1 error(s) were raised by stub code (fakes, rules):")
    assert stub.describe() in message
    assert "answering DescribeKey in us-east-1 (attempt 1)" in message
    assert raised.value.__cause__ is error
    with pytest.raises(KmsMockError, match="raised by stub code"):
        mock.verify()


def test_an_assert_inside_a_fake_is_kept() -> None:
    mock = KmsMock()

    def fake(command: DescribeKeyCommand, region: str) -> dict[str, Any]:
        assert command.key_id == "expected-key", "wrong key"
        return {}

    mock.on(DescribeKeyCommand).calls_fake(fake)
    assert robust_key_id(mock.client) == "fallback"
    [error] = mock.stub_errors
    assert type(error) is AssertionError
    with pytest.raises(KmsMockError, match="AssertionError: wrong key"):
        mock.assert_no_stub_errors()


def test_a_bug_in_a_fake_reaches_the_caller_and_is_kept() -> None:
    mock = KmsMock()

    def fake(command: DescribeKeyCommand, region: str) -> dict[str, Any]:
        return {"KeyMetadata": {"KeyId": command.grant_tokens[0]}}  # type: ignore[index]

    mock.on(DescribeKeyCommand).calls_fake(fake)
    with pytest.raises(TypeError):
        mock.client.describe_key(key_id=KEY_ID)
    [error] = mock.stub_errors
    assert isinstance(error, TypeError)
    [call] = mock.calls()
    assert call.error is error


def test_answers_a_fake_raises_on_purpose_are_not_stub_errors() -> None:
    mock = KmsMock(retry=1)

    def gone(command: DescribeKeyCommand, region: str) -> None:
        raise NotFoundException("gone")

    def slow(command: DescribeKeyCommand, region: str) -> None:
        raise ReadTimeoutError("kms.us-east-1.amazonaws.com", "slow")

    mock.on(DescribeKeyCommand, {"KeyId": "gone"}).calls_fake(gone)
    mock.on(DescribeKeyCommand, {"KeyId": "slow"}).calls_fake(slow)
    with pytest.raises(NotFoundException):
        mock.client.describe_key(key_id="gone")
    with pytest.raises(ReadTimeoutError):
        mock.client.describe_key(key_id="slow")
    assert mock.stub_errors == []
    mock.assert_no_stub_errors()
    mock.verify()


def test_a_rule_that_raises_names_its_stub_and_is_recorded() -> None:
    mock = KmsMock()
    ruled = mock.on(DescribeKeyCommand, where=lambda command: command.grant_tokens[0] == "x")  # type: ignore[index]
    ruled.resolves({})
    mock.on(DescribeKeyCommand).resolves({})

    with pytest.raises(KmsMockError) as raised:
        mock.client.describe_key(key_id=KEY_ID)

    message = str(raised.value)
    assert message.startswith(
        f"The rule (where=...) of {ruled.describe()} raised TypeError: 'NoneType' object is "
        f"not subscriptable\nwhile matching a DescribeKey request in us-east-1 (attempt 1)."
    )
    assert isinstance(raised.value.__cause__, TypeError)
    [call] = mock.calls()
    assert call.error is raised.value
    assert call.stub is None
    assert ruled.call_count == 0
    assert mock.stub_errors == [raised.value]
    with pytest.raises(KmsMockError, match="raised by stub code"):
        mock.verify()


def test_a_swallowed_rule_error_is_still_reported() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand, lambda command: command.grant_tokens[0] == "x").resolves({})  # type: ignore[index]
    assert robust_key_id(mock.client) == "fallback"
    with pytest.raises(KmsMockError, match=r"The rule \(where=...\)"):
        mock.assert_no_stub_errors()


def test_reset_history_forgets_stub_errors() -> None:
    mock = KmsMock()
    mock.on(DescribeKeyCommand).calls_fake(lambda command, region: {"Nope": 1})
    assert robust_key_id(mock.client) == "fallback"
    assert len(mock.stub_errors) == 1
    mock.reset_history()
    assert mock.stub_errors == []
    mock.assert_no_stub_errors()


def test_strict_fixtures_report_swallowed_stub_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
import pytest
from kms_mrk import DescribeKeyCommand


def robust(client):
    try:
        return client.describe_key(key_id="k").key_metadata.key_id
    except Exception:
        return "fallback"


@pytest.mark.kms_mock(strict=True)
def test_invalid_answer_swallowed(kms_mock):
    kms_mock.on(DescribeKeyCommand).calls_fake(lambda c, r: {"KeyMetadata": {"KeyID": "k"}})
    assert robust(kms_mock.client) == "fallback"


@pytest.mark.kms_mock(strict=True)
def test_assert_swallowed(kms_mock):
    def fake(c, r):
        assert c.key_id == "expected-key", "wrong key"
        return {}
    kms_mock.on(DescribeKeyCommand).calls_fake(fake)
    assert robust(kms_mock.client) == "fallback"


def test_not_strict(kms_mock):
    kms_mock.on(DescribeKeyCommand).calls_fake(lambda c, r: {"KeyMetadata": {"KeyID": "k"}})
    assert robust(kms_mock.client) == "fallback"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_invalid_answer_swallowed*",
            "*InvalidStubError: the fake <lambda> for DescribeKey*",
            "*ERROR at teardown of test_assert_swallowed*",
            "*AssertionError: wrong key*",
        ]
    )
