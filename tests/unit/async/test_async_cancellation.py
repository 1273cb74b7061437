"""Cancelling a task ends its call at once; the client goes on working; nothing leaks."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from kms_mrk import AsyncKMSClient, DescribeKeyCommand
from kms_mrk.transport import HttpRequest, HttpResponse
from tests.unit.client._scripted import CREDS, ok


class Blocking:
    """An AsyncTransport whose first ``blocks`` sends wait on an Event (a server that hangs).

    Like a real transport, it discards the connection a cancelled send was using.
    """

    def __init__(self, blocks: int = 1) -> None:
        self.blocks = blocks
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.discarded = 0
        self.sent: list[HttpRequest] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        if len(self.sent) <= self.blocks:
            self.entered.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.discarded += 1
                raise
        return ok()

    async def aclose(self) -> None:
        pass


def make(transport: Any, **kwargs: Any) -> AsyncKMSClient:
    return AsyncKMSClient("us-east-1", credentials=CREDS, environ={}, transport=transport, **kwargs)


@pytest.mark.asyncio
async def test_cancel_ends_the_call_promptly_and_the_client_stays_usable() -> None:
    transport = Blocking()
    client = make(transport)
    task = asyncio.create_task(client.describe_key(key_id="k"))
    await transport.entered.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop.time() - started < 0.5
    assert transport.discarded == 1
    assert len(transport.sent) == 1  # a cancelled call is never retried
    out = await client.describe_key(key_id="k")
    assert out.metadata.attempts == 1
    gc.collect()  # a flow left suspended would warn here (warnings are errors)


@pytest.mark.asyncio
async def test_cancel_during_a_backoff_sleep() -> None:
    from tests.unit.client._scripted import AsyncScripted, err

    transport = AsyncScripted(err("ThrottlingException"), ok())
    sleeping = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeping.set()
        await asyncio.sleep(3600)

    client = make(transport, sleep=sleep)
    task = asyncio.create_task(client.send(DescribeKeyCommand(key_id="k")))
    await sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(transport.requests) == 1


@pytest.mark.asyncio
async def test_many_calls_with_some_cancelled() -> None:
    transport = Blocking(blocks=5)
    client = make(transport)
    blocked = [asyncio.create_task(client.describe_key(key_id="k")) for _ in range(5)]
    while len(transport.sent) < 5:
        await asyncio.sleep(0)
    others = [asyncio.create_task(client.describe_key(key_id="k")) for _ in range(20)]
    for task in blocked[:3]:
        task.cancel()
    transport.release.set()
    results = await asyncio.gather(*blocked, *others, return_exceptions=True)
    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    assert len(cancelled) == 3 and transport.discarded == 3
    assert all(not isinstance(r, BaseException) for r in results[3:])
