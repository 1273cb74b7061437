"""The sync and async drivers run one call flow: same requests, retries, sleeps and metadata."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kms_mrk import AsyncKMSClient, DescribeKeyCommand, KMSClient
from kms_mrk.errors import KMSInternalException
from kms_mrk.retries import StandardRetryStrategy
from kms_mrk.transport import HttpRequest
from tests.unit.client._scripted import CREDS, WALL, AsyncScripted, Scripted, err, ok


def script() -> list[Any]:
    return [
        err("ThrottlingException"),
        err("KMSInternalException", 500),
        err("InvalidSignatureException", date=WALL + 3600),  # clock skew: resent at once
        ok(request_id="req-final"),
    ]


def sync_client(transport: Scripted, slept: list[float]) -> KMSClient:
    client = KMSClient(
        "eu-west-1",
        credentials=CREDS,
        environ={},
        transport=transport,
        retry=StandardRetryStrategy(5, rng=random.Random(7)),
        sleep=slept.append,
    )
    client._pipeline.wall_clock = lambda: WALL
    return client


def async_client(transport: AsyncScripted, slept: list[float]) -> AsyncKMSClient:
    client = AsyncKMSClient(
        "eu-west-1",
        credentials=CREDS,
        environ={},
        transport=transport,
        retry=StandardRetryStrategy(5, rng=random.Random(7)),
        sleep=slept.append,
    )
    client._pipeline.wall_clock = lambda: WALL
    return client


def shape(requests: list[HttpRequest]) -> list[tuple[Any, ...]]:
    ids = {r.headers["amz-sdk-invocation-id"] for r in requests}
    assert len(ids) == 1, "one invocation id across the attempts of a call"
    return [
        (
            r.method,
            r.url,
            {k: v for k, v in r.headers.items() if k != "amz-sdk-invocation-id"},
            r.body,
            r.timeout,
        )
        for r in requests
    ]


@pytest.mark.asyncio
async def test_both_drivers_send_the_same_requests_and_report_the_same_metadata() -> None:
    sync_transport, async_transport = Scripted(*script()), AsyncScripted(*script())
    sync_slept: list[float] = []
    async_slept: list[float] = []
    sync_out = sync_client(sync_transport, sync_slept).send(DescribeKeyCommand(key_id="k"))
    client = async_client(async_transport, async_slept)
    async_out = await client.send(DescribeKeyCommand(key_id="k"))

    assert shape(sync_transport.requests) == shape(async_transport.requests)
    assert len(sync_transport.requests) == 4
    assert sync_slept == async_slept and len(sync_slept) == 2  # no sleep before the skew resend
    assert sync_out == async_out
    assert sync_out.metadata == async_out.metadata
    assert sync_out.metadata.attempts == 4
    assert sync_out.metadata.request_id == "req-final"
    # The resend after the skew error is signed with the service's time.
    assert sync_transport.requests[2].headers["X-Amz-Date"] == "20270115T080000Z"
    assert sync_transport.requests[3].headers["X-Amz-Date"] == "20270115T090000Z"
    requests = [r.headers["amz-sdk-request"] for r in async_transport.requests]
    assert requests == [f"attempt={n}; max=5" for n in (1, 2, 3, 4)]


@pytest.mark.asyncio
async def test_both_drivers_fail_the_same_way_when_retries_run_out() -> None:
    failing = err("KMSInternalException", 500, request_id="req-last")
    sync_transport, async_transport = Scripted(failing), AsyncScripted(failing)
    sync_slept: list[float] = []
    async_slept: list[float] = []
    with pytest.raises(KMSInternalException) as sync_error:
        sync_client(sync_transport, sync_slept).send(DescribeKeyCommand(key_id="k"))
    with pytest.raises(KMSInternalException) as async_error:
        await async_client(async_transport, async_slept).send(DescribeKeyCommand(key_id="k"))
    assert shape(sync_transport.requests) == shape(async_transport.requests)
    assert sync_slept == async_slept and len(sync_slept) == 4
    assert sync_error.value.metadata == async_error.value.metadata
    assert sync_error.value.metadata is not None
    assert sync_error.value.metadata.attempts == 5
    assert sync_error.value.metadata.request_id == "req-last"


@pytest.mark.asyncio
async def test_invocation_ids_differ_between_calls_and_are_version_4_uuids() -> None:
    import uuid

    transport = AsyncScripted(ok())
    client = async_client(transport, [])
    for _ in range(3):
        await client.send(DescribeKeyCommand(key_id="k"))
    ids = [r.headers["amz-sdk-invocation-id"] for r in transport.requests]
    assert len(set(ids)) == 3
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and str(parsed) == value
