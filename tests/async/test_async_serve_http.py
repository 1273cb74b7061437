"""AsyncKMSClient with the default async transport against ``kms-mrk serve`` over real HTTP.

One client, 200 concurrent DescribeKey/Encrypt calls, every one answered; a call cancelled
while the server is still working on it; no warning of any kind (unclosed sessions or
connections, tasks destroyed while pending), and the client goes on working afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Iterator

import pytest

from kms_mrk import AsyncKMSClient, Credentials
from tests.local._server_process import start_server, stop_server

CREDS = Credentials("AKIDLOCAL", "local-secret")
SLOW_SECONDS = 3.0  # GetKeyPolicy answers after this long (the call that gets cancelled)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    # --max-connections: the client may open more than the server's default cap of 64 at once
    # (pool_block=False), and the cap is tested on its own in tests/local.
    process, url = start_server(
        "--max-connections",
        "256",
        "--fault",
        f"op=GetKeyPolicy,error=none,latency={SLOW_SECONDS:g}",
    )
    try:
        yield url
    finally:
        stop_server(process)


def default_transport_client(url: str) -> AsyncKMSClient:
    """No ``transport=``: the client makes the default async transport on first use."""
    pytest.importorskip("aiohttp")  # what the default transport needs (the async extra)
    return AsyncKMSClient(
        "us-east-1", credentials=CREDS, endpoint_url=url, environ={}, max_pool_connections=10
    )


@pytest.fixture
def no_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test on any warning or asyncio error log, collected garbage included."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [str(w.message) for w in seen] == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("asyncio")] == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("no_warnings")
async def test_200_concurrent_calls_through_one_client_are_all_answered(server_url: str) -> None:
    client = default_transport_client(server_url)
    async with client:
        key = (await client.create_key(description="async over http")).key_metadata
        assert key is not None
        from kms_mrk.transport._async_default import DEFAULT_ASYNC_LIBRARY

        made = type(client._family.async_transport()).__module__
        assert DEFAULT_ASYNC_LIBRARY in made  # the default transport, made on first use

        async def describe() -> str | None:
            metadata = (await client.describe_key(key_id=key.key_id)).key_metadata
            assert metadata is not None
            return metadata.description

        async def encrypt(n: int) -> bytes:
            sealed = await client.encrypt(key_id=key.key_id, plaintext=f"order {n}".encode())
            assert sealed.key_id is not None and key.key_id in sealed.key_id
            assert sealed.ciphertext_blob
            return sealed.ciphertext_blob

        results = await asyncio.gather(*(describe() if n % 2 else encrypt(n) for n in range(200)))
        descriptions = [r for r in results if isinstance(r, str)]
        blobs = [r for r in results if isinstance(r, bytes)]
        assert descriptions == ["async over http"] * 100
        assert len(blobs) == 100 and len(set(blobs)) == 100
        opened = await client.decrypt(ciphertext_blob=blobs[0])
        assert opened.plaintext == b"order 0"


@pytest.mark.asyncio
@pytest.mark.usefixtures("no_warnings")
async def test_a_call_cancelled_mid_flight_leaves_the_client_usable(server_url: str) -> None:
    client = default_transport_client(server_url)
    async with client:
        key = (await client.create_key()).key_metadata
        assert key is not None
        slow = asyncio.create_task(client.get_key_policy(key_id=key.key_id))
        # The server holds GetKeyPolicy for SLOW_SECONDS: well before that, the request is
        # out and unanswered (this bounds the wait; it is not a sleep for something to happen).
        done, _ = await asyncio.wait({slow}, timeout=0.5)
        assert not done
        loop = asyncio.get_running_loop()
        started = loop.time()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert loop.time() - started < 0.5  # promptly, without waiting for the answer
        assert slow.cancelled()
        # The client goes on: concurrent calls on the same client and transport.
        after = await asyncio.gather(*(client.describe_key(key_id=key.key_id) for _ in range(20)))
        assert all(r.key_metadata is not None for r in after)
