"""AsyncKMSClient over real HTTP against ``kms-mrk serve`` (LocalKMSServer), 200 calls at once."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from kms_mrk import AsyncKMSClient
from kms_mrk.errors import ConfigurationError, ConnectionClosedError
from kms_mrk.local import LocalKMS, LocalKMSServer
from kms_mrk.transport import HttpRequest, HttpResponse
from tests.unit.client._scripted import CREDS

MAX_HEADER_LINES = 100
MAX_BODY = 1 << 20


class LoopbackTransport:
    """A small keep-alive HTTP/1.1 AsyncTransport for tests (asyncio streams, <= ``size`` conns).

    A connection in use when its task is cancelled, or that failed, is closed, never reused.
    """

    def __init__(self, size: int = 32) -> None:
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(size)
        self.opened = 0
        self.discarded = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        async with self.slots:
            conn = self.idle.pop() if self.idle else None
            if conn is None:
                parts = urlsplit(request.url)
                conn = await asyncio.open_connection(parts.hostname, parts.port)
                self.opened += 1
            try:
                coro = self._exchange(conn, request)
                response = await (
                    asyncio.wait_for(coro, request.timeout) if request.timeout else coro
                )
            except BaseException:
                self.discarded += 1
                conn[1].close()
                raise
            self.idle.append(conn)
            return response

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: HttpRequest
    ) -> HttpResponse:
        reader, writer = conn
        parts = urlsplit(request.url)
        head = [f"{request.method} {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{k}: {v}" for k, v in request.headers.items()]
        head.append(f"Content-Length: {len(request.body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionClosedError(parts.netloc, "closed before the status line")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0")), MAX_BODY)
        body = await reader.readexactly(length)
        return HttpResponse(status, headers, body)

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for _, writer in idle:
            writer.close()
            await writer.wait_closed()


async def run_200(client: AsyncKMSClient) -> None:
    key = (await client.create_key(multi_region=True)).key_metadata
    assert key is not None

    async def one(n: int) -> bytes:
        payload = f"message {n}".encode()
        sealed = await client.encrypt(key_id=key.key_id, plaintext=payload)
        opened = await client.decrypt(ciphertext_blob=sealed.ciphertext_blob)
        assert opened.plaintext == payload
        return opened.plaintext

    results = await asyncio.gather(*(one(n) for n in range(200)))
    assert len(set(results)) == 200


@pytest.mark.asyncio
async def test_200_concurrent_calls_over_http_with_a_loopback_transport() -> None:
    with LocalKMSServer(LocalKMS(), port=0, owns_kms=True) as server:
        transport = LoopbackTransport(size=32)
        async with AsyncKMSClient(
            "us-east-1",
            credentials=CREDS,
            environ={},
            endpoint_url=server.url,
            transport=transport,
        ) as client:
            await run_200(client)
            assert transport.opened <= 32 and transport.discarded == 0
        await transport.aclose()


@pytest.mark.asyncio
async def test_a_cancelled_call_over_http_discards_its_connection() -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        port = listener.getsockname()[1]
        transport = LoopbackTransport(size=4)
        client = AsyncKMSClient(
            "us-east-1",
            credentials=CREDS,
            environ={},
            endpoint_url=f"http://127.0.0.1:{port}",
            transport=transport,
        )
        task = asyncio.create_task(client.describe_key(key_id="k"))
        while transport.opened == 0:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert transport.discarded == 1 and transport.idle == []
        await transport.aclose()
    finally:
        listener.close()


@pytest.mark.asyncio
async def test_200_concurrent_calls_with_the_default_async_transport() -> None:
    from kms_mrk.transport._async_default import make_default_async_transport

    try:
        await make_default_async_transport().aclose()
    except ConfigurationError as error:
        if "no default async transport" in str(error):
            pytest.skip("the default async transport is not in this branch yet")
        raise
    with LocalKMSServer(LocalKMS(), port=0, owns_kms=True) as server:
        async with AsyncKMSClient(
            "us-east-1", credentials=CREDS, environ={}, endpoint_url=server.url
        ) as client:
            await run_200(client)
