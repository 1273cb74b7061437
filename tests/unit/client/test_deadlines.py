"""Call deadlines: ``send(command, timeout=)``, ``_timeout=`` and ``call_timeout=`` (fake clock)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kms_mrk import AsyncKMSClient, CallTimeoutError, DescribeKeyCommand, KMSClient
from kms_mrk.errors import ConfigurationError, ReadTimeoutError, TransportError
from kms_mrk.retries import StandardRetryStrategy
from kms_mrk.transport import HttpRequest, HttpResponse
from tests.unit.client._scripted import CREDS, AsyncScripted, FakeClock, Scripted, err, ok


def make(transport: Any, clock: FakeClock, **kwargs: Any) -> KMSClient:
    kwargs.setdefault("retry", StandardRetryStrategy(10, rng=random.Random(3), base=1.0))
    return KMSClient(
        "us-east-1",
        credentials=CREDS,
        environ={},
        transport=transport,
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )


def slow(clock: FakeClock, seconds: float, answer: HttpResponse) -> Any:
    def step(request: HttpRequest) -> HttpResponse:
        clock.now += seconds
        return answer

    return step


def test_each_attempt_gets_what_is_left_of_the_deadline() -> None:
    clock = FakeClock()
    transport = Scripted(
        slow(clock, 1.0, err("KMSInternalException", 500)),
        slow(clock, 1.0, err("KMSInternalException", 500)),
        slow(clock, 1.0, ok()),
    )
    out = make(transport, clock).send(DescribeKeyCommand(key_id="k"), timeout=30)
    assert out.metadata.attempts == 3
    timeouts = [r.timeout for r in transport.requests]
    expected = 30.0
    assert timeouts[0] == pytest.approx(expected)
    expected -= 1.0 + clock.slept[0]
    assert timeouts[1] == pytest.approx(expected)
    expected -= 1.0 + clock.slept[1]
    assert timeouts[2] == pytest.approx(expected)


def test_no_deadline_leaves_the_request_timeout_unset() -> None:
    clock = FakeClock()
    transport = Scripted(ok())
    make(transport, clock).send(DescribeKeyCommand(key_id="k"))
    assert transport.requests[0].timeout is None


def test_a_backoff_that_would_cross_the_deadline_fails_at_once() -> None:
    clock = FakeClock()
    transport = Scripted(slow(clock, 2.0, err("ThrottlingException")))
    client = make(
        transport, clock, retry=StandardRetryStrategy(10, rng=random.Random(3), throttling_base=5)
    )
    with pytest.raises(CallTimeoutError) as info:
        client.send(DescribeKeyCommand(key_id="k"), timeout=6)
    error = info.value
    assert clock.now <= 100.0 + 6  # never slept past the deadline
    assert sum(clock.slept) + 2.0 * len(transport.requests) <= 6
    assert "deadline of 6s" in str(error) and "DescribeKey" in str(error)
    assert f"after {len(transport.requests)} attempt" in str(error)
    assert error.attempts == len(transport.requests) and error.timeout == 6
    assert error.metadata is not None and error.metadata.attempts == error.attempts
    assert isinstance(error, TimeoutError) and isinstance(error, TransportError)
    assert error.__cause__ is not None


def test_a_transport_timeout_at_the_deadline_becomes_the_call_timeout() -> None:
    clock = FakeClock()

    def hang(request: HttpRequest) -> HttpResponse:
        assert request.timeout is not None
        clock.now += request.timeout  # the transport honours the attempt's bound
        raise ReadTimeoutError("kms.us-east-1.amazonaws.com")

    transport = Scripted(hang)
    with pytest.raises(CallTimeoutError) as info:
        make(transport, clock).send(DescribeKeyCommand(key_id="k"), timeout=2.5)
    assert len(transport.requests) == 1
    assert isinstance(info.value.__cause__, ReadTimeoutError)
    assert "after 1 attempt" in str(info.value)


def test_client_call_timeout_is_the_default_and_send_overrides_it() -> None:
    clock = FakeClock()
    transport = Scripted(ok())
    client = make(transport, clock, call_timeout=7)
    client.send(DescribeKeyCommand(key_id="k"))
    client.send(DescribeKeyCommand(key_id="k"), timeout=3)
    client.describe_key(key_id="k", _timeout=4)
    assert [r.timeout for r in transport.requests] == [7.0, 3.0, 4.0]


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "5"])
def test_bad_deadlines_are_refused_before_any_request(bad: object) -> None:
    clock = FakeClock()
    transport = Scripted(ok())
    with pytest.raises(ConfigurationError, match="timeout must be a finite number"):
        make(transport, clock).send(DescribeKeyCommand(key_id="k"), timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="call_timeout"):
        make(transport, clock, call_timeout=bad)
    assert transport.requests == []


@pytest.mark.asyncio
async def test_async_deadline_bounds_attempts_and_sleeps_the_same_way() -> None:
    clock = FakeClock()
    transport = AsyncScripted(slow(clock, 2.0, err("ThrottlingException")))
    client = AsyncKMSClient(
        "us-east-1",
        credentials=CREDS,
        environ={},
        transport=transport,
        sleep=clock.asleep,
        clock=clock,
        retry=StandardRetryStrategy(10, rng=random.Random(3), throttling_base=5),
    )
    with pytest.raises(CallTimeoutError) as info:
        await client.describe_key(key_id="k", _timeout=6)
    assert clock.now <= 106.0
    assert info.value.attempts == len(transport.requests)
    assert transport.requests[0].timeout == pytest.approx(6.0)
