"""Per-call send options: ``max_attempts``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kms_mrk import Credentials, DescribeKeyCommand, KMSClient
from kms_mrk.errors import ConfigurationError, KMSInternalException
from kms_mrk.retries import RetryToken, StandardRetryStrategy
from kms_mrk.transport import HttpRequest, HttpResponse

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
KEY = {"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled", "Enabled": True}}


class Failing:
    """Answers KMSInternalException (retryable) ``fails`` times, then succeeds."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if len(self.requests) <= self.fails:
            body = {"__type": "KMSInternalException", "message": "boom"}
            return HttpResponse(500, {}, json.dumps(body).encode())
        return HttpResponse(200, {}, json.dumps(KEY).encode())

    def close(self) -> None:
        pass


def make(transport: Any, **kwargs: Any) -> KMSClient:
    return KMSClient(
        "us-east-1",
        transport=transport,
        credentials=CREDS,
        environ={},
        sleep=lambda _s: None,
        **kwargs,
    )


def test_max_attempts_one_never_resends() -> None:
    transport = Failing(fails=5)
    with pytest.raises(KMSInternalException) as info:
        make(transport).send(DescribeKeyCommand(key_id="k"), max_attempts=1)
    assert len(transport.requests) == 1
    assert info.value.metadata is not None and info.value.metadata.attempts == 1


def test_max_attempts_lowers_and_raises_the_strategy_count_for_one_call() -> None:
    transport = Failing(fails=4)
    client = make(transport, retry=2)
    out = client.send(DescribeKeyCommand(key_id="k"), max_attempts=5)
    assert out.metadata.attempts == 5
    # The next call is back to the client's own count.
    transport.requests.clear()
    transport.fails = 10
    with pytest.raises(KMSInternalException):
        client.send(DescribeKeyCommand(key_id="k"))
    assert len(transport.requests) == 2


def test_max_attempts_caps_a_custom_strategy() -> None:
    class Always:
        max_attempts = 10

        def acquire_initial_token(self, operation: str) -> RetryToken:
            return RetryToken(operation=operation)

        def refresh_token_for_retry(self, token: RetryToken, error: Exception) -> RetryToken:
            return RetryToken(operation=token.operation, attempt=token.attempt + 1)

        def record_success(self, token: RetryToken) -> None:
            pass

    transport = Failing(fails=10)
    with pytest.raises(KMSInternalException):
        make(transport, retry=Always()).send(DescribeKeyCommand(key_id="k"), max_attempts=3)
    assert len(transport.requests) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_max_attempts_is_refused_before_any_request(bad: object) -> None:
    transport = Failing(fails=0)
    with pytest.raises(ConfigurationError, match="max_attempts must be an integer >= 1"):
        make(transport).send(DescribeKeyCommand(key_id="k"), max_attempts=bad)  # type: ignore[arg-type]
    assert transport.requests == []


def test_standard_strategy_carries_the_token_limit() -> None:
    strategy = StandardRetryStrategy(2)
    token = RetryToken(operation="DescribeKey", max_attempts=4)
    error = KMSInternalException("boom")
    for attempt in (2, 3, 4):
        nxt = strategy.refresh_token_for_retry(token, error)
        assert nxt is not None and nxt.attempt == attempt and nxt.max_attempts == 4
        token = nxt
    assert strategy.refresh_token_for_retry(token, error) is None


def test_for_region_returns_the_class_it_is_called_on() -> None:
    class AppClient(KMSClient):
        __slots__ = ()

    client = AppClient(
        "us-east-1",
        transport=Failing(fails=0),
        credentials=CREDS,
        environ={},
        sleep=lambda _s: None,
    )
    other = client.for_region("eu-west-1")
    assert type(other) is AppClient and other.region == "eu-west-1"
    assert other.describe_key(key_id="k").metadata.attempts == 1
