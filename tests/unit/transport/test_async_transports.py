"""AiohttpTransport and HttpxTransport against the loopback servers, with the same tests.

Both implement ``AsyncTransport`` with the options, bounds and error mapping of the sync
transport; every test runs against each of them.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kms_mrk.errors._base import (
    ClosedError,
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    KmsMrkError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport import (
    AiohttpTransport,
    AsyncTransport,
    HttpRequest,
    HttpResponse,
    HttpxTransport,
    _async_base,
)
from kms_mrk.transport._async_base import AsyncTransportBase
from tests.unit.transport._transport_servers import (
    ProxyServer,
    RawServer,
    RecordingServer,
    Reply,
    TlsFiles,
    read_request,
)

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]
Factory = type[AsyncTransportBase]

KMS_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "TrentService.DescribeKey",
    "X-Amz-Date": "20240101T000000Z",
}
KMS_BODY = b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"


@pytest.fixture(params=[AiohttpTransport, HttpxTransport], ids=["aiohttp", "httpx"])
def kind(request: pytest.FixtureRequest) -> Factory:
    cls: Factory = request.param
    return cls


def post(url: str, body: bytes = KMS_BODY, timeout: float | None = None) -> HttpRequest:
    return HttpRequest("POST", url, dict(KMS_HEADERS), body, timeout)


async def until(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait (yielding to the loop) until ``predicate()`` holds; fail after ``limit`` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------------------------
# Success and keep-alive
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_is_an_async_transport(kind: Factory) -> None:
    assert isinstance(kind(), AsyncTransport)


@pytest.mark.asyncio
async def test_round_trip_headers_and_body(kind: Factory, http_server: RecordingServer) -> None:
    http_server.replies.append(
        Reply(
            headers=[("X-Amzn-RequestId", "abc-123"), ("X-Dup", "one"), ("X-Dup", "two")],
            body=b'{"KeyMetadata":{}}',
        )
    )
    async with kind() as transport:
        response = await transport.send(post(http_server.url("/")))
    assert isinstance(response, HttpResponse)
    assert response.status == 200
    assert response.body == b'{"KeyMetadata":{}}'
    assert response.headers["x-amzn-requestid"] == "abc-123"
    assert response.headers["x-dup"] == "one, two"
    (seen,) = http_server.requests
    assert (seen.method, seen.target, seen.body) == ("POST", "/", KMS_BODY)
    assert seen.headers["X-Amz-Target"] == "TrentService.DescribeKey"
    assert seen.headers["Host"] == f"127.0.0.1:{http_server.port}"
    assert seen.headers["Accept-Encoding"] == "identity"
    assert seen.headers["Content-Length"] == str(len(KMS_BODY))
    # Nothing the signer did not see is added (User-Agent, a second Content-Type, cookies).
    assert "User-Agent" not in seen.headers
    assert list(seen.headers).count("Content-Type") == 1


@pytest.mark.asyncio
async def test_error_statuses_and_redirects_are_responses(
    kind: Factory, http_server: RecordingServer
) -> None:
    http_server.replies.append(Reply(status=503, body=b"{}"))
    http_server.replies.append(
        Reply(status=307, headers=[("Location", http_server.url("/x"))], body=b"")
    )
    async with kind() as transport:
        assert (await transport.send(post(http_server.url()))).status == 503
        assert (await transport.send(post(http_server.url()))).status == 307
    assert [r.target for r in http_server.requests] == ["/", "/"]


@pytest.mark.asyncio
async def test_keep_alive_reuses_one_connection(
    kind: Factory, http_server: RecordingServer
) -> None:
    async with kind() as transport:
        for _ in range(10):
            assert (await transport.send(post(http_server.url()))).status == 200
    assert len(http_server.requests) == 10
    assert http_server.connections == 1


@pytest.mark.asyncio
async def test_concurrent_sends_share_the_pool(kind: Factory, http_server: RecordingServer) -> None:
    bodies = [f'{{"n":{i}}}'.encode() for i in range(40)]
    async with kind(max_pool_connections=4, pool_block=True) as transport:
        responses = await asyncio.gather(
            *(transport.send(post(http_server.url(), b)) for b in bodies)
        )
    assert all(r.status == 200 for r in responses)
    assert sorted(r.body for r in http_server.requests) == sorted(bodies)
    assert 1 <= http_server.connections <= 4


@pytest.mark.asyncio
async def test_aclose_closes_pooled_connections_and_refuses_to_send(
    kind: Factory, http_server: RecordingServer
) -> None:
    transport = kind()
    await transport.send(post(http_server.url()))
    await transport.aclose()
    await transport.aclose()  # idempotent
    await until(lambda: http_server.closed_connections >= 1)
    with pytest.raises(ClosedError, match="closed"):
        await transport.send(post(http_server.url()))


@pytest.mark.asyncio
async def test_closing_an_unused_transport(kind: Factory) -> None:
    transport = kind()
    await transport.aclose()
    with pytest.raises(ClosedError):
        await transport.send(post("http://127.0.0.1:1/"))


def test_another_event_loop_gets_a_clear_error(kind: Factory, http_server: RecordingServer) -> None:
    transport = kind()
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()
    try:
        first.run_until_complete(transport.send(post(http_server.url())))
        with pytest.raises(ConfigurationError, match="another event loop"):
            second.run_until_complete(transport.send(post(http_server.url())))
        first.run_until_complete(transport.aclose())
    finally:
        first.close()
        second.close()


# --------------------------------------------------------------------------------------------
# Errors mapped
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_refused(kind: Factory, refused_port: int) -> None:
    async with kind() as transport:
        with pytest.raises(ConnectError) as info:
            await transport.send(post(f"http://127.0.0.1:{refused_port}/"))
    assert info.value.request_sent is False
    assert info.value.host == f"127.0.0.1:{refused_port}"
    assert "refused" in str(info.value)


@pytest.mark.asyncio
async def test_close_without_response(kind: Factory, raw_server: StartRaw) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.close()

    server = raw_server(handler)
    async with kind() as transport:
        with pytest.raises(ConnectionClosedError) as info:
            await transport.send(post(server.url()))
    assert info.value.request_sent is True


@pytest.mark.asyncio
async def test_response_cut_short(kind: Factory, raw_server: StartRaw) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK + b"Content-Length: 100\r\n\r\nonly part")
        conn.close()

    server = raw_server(handler)
    async with kind() as transport:
        with pytest.raises(ConnectionClosedError):
            await transport.send(post(server.url()))


@pytest.mark.asyncio
async def test_garbage_response(kind: Factory, raw_server: StartRaw) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"SMTP ready, not HTTP\r\n\r\n")
        conn.close()

    server = raw_server(handler)
    async with kind() as transport:
        with pytest.raises(ConnectionClosedError):
            await transport.send(post(server.url()))


@pytest.mark.asyncio
async def test_bad_urls_are_configuration_errors(kind: Factory) -> None:
    async with kind() as transport:
        for url in ("ftp://host/", "http:///nohost", "http://host:99999/"):
            with pytest.raises(ConfigurationError, match="not valid"):
                await transport.send(post(url))


# --------------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------------


def _silent(conn: socket.socket) -> None:
    read_request(conn)
    conn.recv(1)  # never answers; returns when the client hangs up


def _endless_continue(conn: socket.socket) -> None:
    read_request(conn)
    while True:
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        threading.Event().wait(0.001)


def _trickle(stop: threading.Event) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK + b"Content-Length: 100000\r\n\r\n")
        while not stop.wait(0.02):
            conn.sendall(b"x")

    return handler


@pytest.mark.asyncio
async def test_read_timeout(kind: Factory, raw_server: StartRaw) -> None:
    server = raw_server(_silent)
    async with kind(read_timeout=0.2) as transport:
        with pytest.raises(ReadTimeoutError, match=r"no response within 0\.2 s"):
            await transport.send(post(server.url()))


@pytest.mark.asyncio
async def test_a_trickling_body_ends_at_total_timeout(kind: Factory, raw_server: StartRaw) -> None:
    stop = threading.Event()
    server = raw_server(_trickle(stop))
    try:
        async with kind(read_timeout=5, total_timeout=0.3) as transport:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(ReadTimeoutError, match=r"total_timeout is 0\.3 s"):
                await transport.send(post(server.url()))
            assert loop.time() - started < 3
    finally:
        stop.set()


@pytest.mark.asyncio
async def test_the_total_bound_without_asyncio_timeout(
    kind: Factory, raw_server: StartRaw, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.10 has no asyncio.timeout: the bound is kept with asyncio.wait_for.
    monkeypatch.setattr(_async_base, "_HAS_TIMEOUT", False)
    stop = threading.Event()
    server = raw_server(_trickle(stop))
    try:
        async with kind(read_timeout=5, total_timeout=0.3) as transport:
            with pytest.raises(ReadTimeoutError, match="total_timeout"):
                await transport.send(post(server.url()))
            http_server_free = raw_server(_silent)
            with pytest.raises(ReadTimeoutError, match="call's deadline"):
                await transport.send(post(http_server_free.url(), timeout=0.2))
    finally:
        stop.set()


@pytest.mark.asyncio
async def test_the_request_timeout_wins_when_smaller(kind: Factory, raw_server: StartRaw) -> None:
    server = raw_server(_silent)
    async with kind(read_timeout=30, total_timeout=60) as transport:
        with pytest.raises(ReadTimeoutError, match="call's deadline"):
            await transport.send(post(server.url(), timeout=0.2))


@pytest.mark.asyncio
async def test_no_time_left_sends_nothing(kind: Factory, raw_server: StartRaw) -> None:
    server = raw_server(_silent)
    async with kind() as transport:
        with pytest.raises(ConnectTimeoutError, match="no time left") as info:
            await transport.send(post(server.url(), timeout=0))
    assert info.value.request_sent is False
    assert server.accepted == []


@pytest.mark.asyncio
async def test_endless_interim_responses_end_at_the_total_bound(
    kind: Factory, raw_server: StartRaw
) -> None:
    # Neither library caps interim responses: the total bound ends the exchange.
    server = raw_server(_endless_continue)
    async with kind(read_timeout=5, total_timeout=0.3) as transport:
        with pytest.raises(ReadTimeoutError, match="total_timeout"):
            await transport.send(post(server.url()))


@pytest.mark.asyncio
async def test_endless_trailers_end_in_an_error(kind: Factory, raw_server: StartRaw) -> None:
    # aiohttp refuses past its header count; httpx (h11) reads on until the total bound.
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n")
        n = 0
        while True:
            conn.sendall(b"X-T-%d: v\r\n" % n)
            n += 1
            threading.Event().wait(0.0005)

    async with kind(read_timeout=5, total_timeout=0.3) as transport:
        with pytest.raises((ReadTimeoutError, ConnectionClosedError)):
            await transport.send(post(raw_server(handler).url()))


@pytest.mark.asyncio
async def test_pool_block_waits_then_times_out(kind: Factory, http_server: RecordingServer) -> None:
    release = threading.Event()
    http_server.replies.append(Reply(hold=release))
    async with kind(max_pool_connections=1, pool_block=True, connect_timeout=0.2) as transport:
        first = asyncio.ensure_future(transport.send(post(http_server.url())))
        await until(lambda: bool(http_server.requests))
        with pytest.raises(ConnectTimeoutError) as info:
            await transport.send(post(http_server.url()))
        release.set()
        assert (await first).status == 200
    assert info.value.request_sent is False


# --------------------------------------------------------------------------------------------
# Cancellation
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cancel_mid_response_discards_the_connection(
    kind: Factory, raw_server: StartRaw
) -> None:
    sent_part = threading.Event()
    hung_up = threading.Event()
    count = [0]

    def handler(conn: socket.socket) -> None:
        count[0] += 1
        read_request(conn)
        if count[0] == 1:
            conn.sendall(OK + b"Content-Length: 100\r\n\r\nhalf")
            sent_part.set()
            if conn.recv(1) == b"":  # the client hung up
                hung_up.set()
            return
        conn.sendall(OK + b"Content-Length: 2\r\n\r\n{}")
        read_request(conn)

    server = raw_server(handler)
    async with kind() as transport:
        task = asyncio.ensure_future(transport.send(post(server.url())))
        await until(sent_part.is_set)
        await asyncio.sleep(0.05)  # let the client read the partial body
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(hung_up.is_set)
        response = await transport.send(post(server.url()))
        assert response.body == b"{}"
    assert count[0] == 2  # the cancelled connection was not reused


@pytest.mark.asyncio
async def test_cancel_while_waiting_for_the_response(kind: Factory, raw_server: StartRaw) -> None:
    hung_up = threading.Event()

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        if conn.recv(1) == b"":
            hung_up.set()

    server = raw_server(handler)
    async with kind() as transport:
        task = asyncio.ensure_future(transport.send(post(server.url())))
        await until(lambda: bool(server.accepted))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(hung_up.is_set)


# --------------------------------------------------------------------------------------------
# Size limits
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_oversize_bodies_name_the_limit(
    kind: Factory, raw_server: StartRaw, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms_mrk.transport import _aiohttp, _httpx

    for module in (_async_base, _aiohttp, _httpx):
        monkeypatch.setattr(module, "MAX_BODY_BYTES", 1000)

    def announced(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK + b"Content-Length: 5000\r\n\r\n" + b"x" * 5000)

    def chunked(conn: socket.socket) -> None:
        read_request(conn)
        piece = b"190\r\n" + b"y" * 400 + b"\r\n"
        conn.sendall(OK + b"Transfer-Encoding: chunked\r\n\r\n" + piece * 5 + b"0\r\n\r\n")

    async with kind() as transport:
        with pytest.raises(TransportError, match=r"1000-byte limit \(5000 bytes announced\)"):
            await transport.send(post(raw_server(announced).url()))
        with pytest.raises(TransportError, match=r"1000-byte limit \(\d+ bytes received"):
            await transport.send(post(raw_server(chunked).url()))


@pytest.mark.asyncio
async def test_header_block_is_bounded(kind: Factory, raw_server: StartRaw) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        many = b"".join(b"X-%d: v\r\n" % i for i in range(5000))
        conn.sendall(OK + many + b"Content-Length: 0\r\n\r\n")

    async with kind() as transport:
        with pytest.raises(ConnectionClosedError):
            await transport.send(post(raw_server(handler).url()))


# --------------------------------------------------------------------------------------------
# TLS and proxies
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_self_signed_is_rejected_by_default(
    kind: Factory, https_server: RecordingServer
) -> None:
    async with kind() as transport:
        with pytest.raises(ConnectError, match="certificate verification failed") as info:
            await transport.send(post(https_server.url(scheme="https")))
    assert info.value.request_sent is False


@pytest.mark.asyncio
async def test_ca_bundle_and_verify_false(
    kind: Factory, https_server: RecordingServer, tls_files: TlsFiles
) -> None:
    async with kind(verify=str(tls_files.cert)) as transport:
        assert (await transport.send(post(https_server.url(scheme="https")))).status == 200
    async with kind(verify=False) as transport:
        assert (await transport.send(post(https_server.url(scheme="https")))).status == 200
    assert len(https_server.requests) == 2


@pytest.mark.asyncio
async def test_mutual_tls(kind: Factory, mtls_server: RecordingServer, tls_files: TlsFiles) -> None:
    url = mtls_server.url(scheme="https")
    pair = (str(tls_files.other_cert), str(tls_files.other_key))
    async with kind(verify=str(tls_files.cert), client_cert=pair) as transport:
        assert (await transport.send(post(url))).status == 200
    async with kind(verify=str(tls_files.cert)) as transport:
        with pytest.raises(TransportError):
            await transport.send(post(url))


@pytest.mark.asyncio
async def test_a_ca_bundle_that_is_not_pem(kind: Factory, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate")
    async with kind(verify=str(bundle)) as transport:
        with pytest.raises(ConfigurationError, match="CA bundle could not be loaded"):
            await transport.send(post("https://127.0.0.1:1/"))


@pytest.mark.asyncio
async def test_http_proxy_from_the_environment_with_credentials(
    kind: Factory,
    monkeypatch: pytest.MonkeyPatch,
    proxy_server: ProxyServer,
    http_server: RecordingServer,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url.replace("http://", "http://user:p%40ss@"))
    async with kind() as transport:
        response = await transport.send(post(http_server.url("/p?q=1")))
    assert response.body == f"proxied POST {http_server.url('/p?q=1')}".encode()
    headers = {k.lower(): v for k, v in proxy_server.seen[0][2].items()}
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert http_server.requests == []


@pytest.mark.asyncio
async def test_no_proxy_and_empty_mapping_bypass_the_proxy(
    kind: Factory,
    monkeypatch: pytest.MonkeyPatch,
    proxy_server: ProxyServer,
    http_server: RecordingServer,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    async with kind() as transport:
        await transport.send(post(http_server.url()))
    monkeypatch.delenv("NO_PROXY")
    async with kind(proxies={}) as transport:
        await transport.send(post(http_server.url()))
    assert proxy_server.seen == []
    assert len(http_server.requests) == 2


@pytest.mark.asyncio
async def test_https_proxy_tunnels_with_connect(
    kind: Factory, proxy_server: ProxyServer, https_server: RecordingServer, tls_files: TlsFiles
) -> None:
    async with kind(verify=str(tls_files.cert), proxies={"https": proxy_server.url}) as transport:
        for _ in range(3):
            assert (await transport.send(post(https_server.url(scheme="https")))).status == 200
    assert [(m, t) for m, t, _ in proxy_server.seen] == [
        ("CONNECT", f"127.0.0.1:{https_server.port}")
    ]
    assert len(https_server.requests) == 3


@pytest.mark.asyncio
async def test_unreachable_proxy_is_a_connect_error(
    kind: Factory, refused_port: int, http_server: RecordingServer
) -> None:
    async with kind(proxies={"http": f"http://127.0.0.1:{refused_port}"}) as transport:
        with pytest.raises(ConnectError, match="proxy") as info:
            await transport.send(post(http_server.url()))
    assert info.value.host == f"127.0.0.1:{http_server.port}"


# --------------------------------------------------------------------------------------------
# Construction, laziness, the default
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"connect_timeout": 0}, "connect_timeout must be greater than 0"),
        ({"read_timeout": "5"}, "read_timeout must be a number"),
        ({"total_timeout": -1}, "total_timeout must be greater than 0"),
        ({"verify": "/does/not/exist.pem"}, "CA bundle does not exist"),
        ({"client_cert": "/does/not/exist.pem"}, "client_cert"),
        ({"proxies": {"ftp": "http://proxy"}}, "unknown keys"),
        ({"pool_block": "yes"}, "pool_block"),
    ],
)
def test_bad_arguments(kind: Factory, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        kind(**kwargs)  # type: ignore[arg-type]


def test_repr_masks_proxy_credentials(kind: Factory) -> None:
    text = repr(kind(proxies={"https": "http://u:secret@proxy.internal:3128"}, read_timeout=5))
    assert "secret" not in text
    assert "total_timeout=65" in text


def test_import_and_construction_stay_light() -> None:
    script = textwrap.dedent(
        """
        import sys
        from kms_mrk.transport import AiohttpTransport, HttpxTransport
        from kms_mrk.transport._async_default import make_default_async_transport
        AiohttpTransport(); HttpxTransport(); make_default_async_transport(read_timeout=5)
        # (asyncio itself imports ssl, so it is not in the list)
        print([m for m in ("aiohttp", "httpx", "urllib3", "requests") if m in sys.modules])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_default_async_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from kms_mrk.transport import _async_default

    transport = _async_default.make_default_async_transport(read_timeout=7)
    assert type(transport) is AiohttpTransport
    assert "read_timeout=7" in repr(transport)
    with pytest.raises(ConfigurationError, match="Unknown transport option"):
        _async_default.make_default_async_transport(nonsense=1)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name)
    )
    with pytest.raises(ConfigurationError, match=r"pip install 'kms-mrk\[async\]'"):
        _async_default.make_default_async_transport()


@pytest.mark.asyncio
async def test_a_missing_library_names_the_extra(
    kind: Factory, monkeypatch: pytest.MonkeyPatch, http_server: RecordingServer
) -> None:
    name = "aiohttp" if kind is AiohttpTransport else "httpx"
    monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    async with kind() as transport:
        with pytest.raises(ConfigurationError, match=rf"pip install 'kms-mrk\[{name}\]'"):
            await transport.send(post(http_server.url()))


@pytest.mark.asyncio
async def test_every_failure_is_a_kms_mrk_error(kind: Factory, refused_port: int) -> None:
    async with kind(connect_timeout=1) as transport:
        with pytest.raises(KmsMrkError):
            await transport.send(post(f"http://127.0.0.1:{refused_port}/"))
