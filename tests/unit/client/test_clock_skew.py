"""Clock-skew correction: the offset comes from the response's Date header, kept per family."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kms_mrk import AsyncKMSClient, DescribeKeyCommand, KMSClient
from kms_mrk.errors import InvalidSignatureException, RequestExpired
from kms_mrk.retries import StandardRetryStrategy
from kms_mrk.transport import HttpRequest, HttpResponse
from tests.unit.client._scripted import CREDS, WALL, AsyncScripted, Scripted, err, ok


def make(transport: Any, **kwargs: Any) -> KMSClient:
    client = KMSClient(
        "us-east-1",
        credentials=CREDS,
        environ={},
        transport=transport,
        sleep=lambda _s: None,
        **kwargs,
    )
    client._pipeline.wall_clock = lambda: WALL
    return client


@pytest.mark.parametrize(
    "code",
    [
        "InvalidSignatureException",
        "RequestExpired",
        "RequestTimeTooSkewed",
        "RequestInTheFuture",
        "SignatureDoesNotMatch",
        "AuthFailure",
    ],
)
def test_a_skew_error_is_resent_once_with_the_service_time(code: str) -> None:
    transport = Scripted(err(code, 403, date=WALL - 7200), ok())
    out = make(transport).send(DescribeKeyCommand(key_id="k"))
    assert out.metadata.attempts == 2
    first, second = (r.headers["X-Amz-Date"] for r in transport.requests)
    assert first == "20270115T080000Z"
    assert second == "20270115T060000Z"


def test_the_offset_is_kept_for_the_family_and_other_regions() -> None:
    transport = Scripted(err("RequestExpired", 400, date=WALL + 1800), ok())
    client = make(transport)
    client.send(DescribeKeyCommand(key_id="k"))
    other = client.for_region("eu-west-1")
    other._pipeline.wall_clock = lambda: WALL
    other.send(DescribeKeyCommand(key_id="k"))
    client.send(DescribeKeyCommand(key_id="k"))
    dates = [r.headers["X-Amz-Date"] for r in transport.requests]
    assert dates == ["20270115T080000Z"] + ["20270115T083000Z"] * 3
    assert len(transport.requests) == 4  # one resend, then every call is right first time


def test_the_resend_takes_no_retry_quota_and_no_attempt_from_max_attempts() -> None:
    strategy = StandardRetryStrategy(3, rng=random.Random(1))
    strategy.quota.acquire("transient")  # below capacity, so what a success gives back shows
    before = strategy.quota.available
    transport = Scripted(err("InvalidSignatureException", date=WALL + 900), ok())
    out = make(transport, retry=strategy).send(DescribeKeyCommand(key_id="k"), max_attempts=1)
    assert out.metadata.attempts == 2
    assert out.metadata.total_retry_delay == 0
    # A first-attempt success gives back 1; a counted retry would have taken 5 and returned 5.
    assert strategy.quota.available == before + 1


def test_a_small_difference_is_not_corrected_and_the_error_stands() -> None:
    transport = Scripted(err("InvalidSignatureException", date=WALL + 60), ok())
    with pytest.raises(InvalidSignatureException):
        make(transport).send(DescribeKeyCommand(key_id="k"))
    assert len(transport.requests) == 1


def test_without_a_date_header_nothing_is_corrected() -> None:
    transport = Scripted(err("RequestExpired"), ok())
    with pytest.raises(RequestExpired):
        make(transport).send(DescribeKeyCommand(key_id="k"))
    assert len(transport.requests) == 1


@pytest.mark.parametrize("date", ["", "yesterday", "Mon, 99 Foo 2026 99:99:99 GMT", "x" * 5000])
def test_a_malformed_date_header_is_ignored(date: str) -> None:
    bad = err("RequestExpired")
    bad = HttpResponse(bad.status, {**bad.headers, "date": date}, bad.body)
    transport = Scripted(bad, ok())
    with pytest.raises(RequestExpired):
        make(transport).send(DescribeKeyCommand(key_id="k"))


def test_only_one_resend_per_call() -> None:
    def skewed(request: HttpRequest) -> HttpResponse:
        # Whatever time the client signs with, the service says it is two hours later.
        return err("RequestExpired", date=WALL + 7200 * (len(transport.requests)))

    transport = Scripted(skewed)
    with pytest.raises(RequestExpired):
        make(transport).send(DescribeKeyCommand(key_id="k"))
    assert len(transport.requests) == 2


def test_other_errors_do_not_move_the_offset() -> None:
    transport = Scripted(err("NotFoundException", date=WALL + 7200), ok())
    client = make(transport)
    with pytest.raises(Exception, match="NotFoundException"):
        client.send(DescribeKeyCommand(key_id="k"))
    client.send(DescribeKeyCommand(key_id="k"))
    assert transport.requests[-1].headers["X-Amz-Date"] == "20270115T080000Z"


@pytest.mark.asyncio
async def test_async_client_corrects_the_clock_the_same_way() -> None:
    transport = AsyncScripted(err("RequestTimeTooSkewed", 403, date=WALL + 3600), ok())
    client = AsyncKMSClient("us-east-1", credentials=CREDS, environ={}, transport=transport)
    client._pipeline.wall_clock = lambda: WALL
    out = await client.send(DescribeKeyCommand(key_id="k"))
    assert out.metadata.attempts == 2
    assert transport.requests[1].headers["X-Amz-Date"] == "20270115T090000Z"
