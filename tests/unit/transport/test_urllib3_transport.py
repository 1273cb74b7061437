"""Urllib3Transport against real loopback servers."""

from __future__ import annotations

import base64
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    KmsMrkError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport import HttpRequest, HttpResponse, Transport, Urllib3Transport
from tests.unit.transport._transport_servers import (
    ProxyServer,
    RawServer,
    RecordingServer,
    Reply,
    TlsFiles,
    read_request,
)

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]

KMS_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "TrentService.DescribeKey",
    "X-Amz-Date": "20240101T000000Z",
}
KMS_BODY = b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}'


def post(url: str, body: bytes = KMS_BODY) -> HttpRequest:
    return HttpRequest("POST", url, dict(KMS_HEADERS), body)


@pytest.fixture
def transport() -> Iterator[Urllib3Transport]:
    t = Urllib3Transport(connect_timeout=5, read_timeout=5)
    yield t
    t.close()


# --------------------------------------------------------------------------------------------
# Happy path
# --------------------------------------------------------------------------------------------


def test_is_a_transport() -> None:
    assert isinstance(Urllib3Transport(), Transport)


def test_round_trip_headers_and_body(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    http_server.replies.append(
        Reply(
            status=200,
            headers=[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amzn-RequestId", "abc-123"),
                ("X-Dup", "one"),
                ("X-Dup", "two"),
            ],
            body=b'{"KeyMetadata":{}}',
        )
    )
    response = transport.send(post(http_server.url("/")))

    assert isinstance(response, HttpResponse)
    assert response.status == 200
    assert response.body == b'{"KeyMetadata":{}}'
    assert response.headers["x-amzn-requestid"] == "abc-123"
    assert response.header("X-AMZN-REQUESTID") == "abc-123"
    assert response.headers["x-dup"] == "one, two"
    assert all(name == name.lower() for name in response.headers)

    (seen,) = http_server.requests
    assert seen.method == "POST"
    assert seen.target == "/"
    assert seen.body == KMS_BODY
    assert seen.headers["X-Amz-Target"] == "TrentService.DescribeKey"
    assert seen.headers["Content-Length"] == str(len(KMS_BODY))
    assert seen.headers["Host"] == f"127.0.0.1:{http_server.port}"


def test_path_and_query_are_sent(transport: Urllib3Transport, http_server: RecordingServer) -> None:
    transport.send(HttpRequest("GET", http_server.url("/a/b?x=1&y=%20")))
    assert http_server.requests[0].target == "/a/b?x=1&y=%20"


def test_error_statuses_are_responses_not_exceptions(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    http_server.replies.append(
        Reply(status=400, body=b'{"__type":"NotFoundException","message":"no"}')
    )
    http_server.replies.append(Reply(status=503, headers=[("Retry-After", "1")], body=b"{}"))
    assert transport.send(post(http_server.url())).status == 400
    # urllib3 would retry a 503 with Retry-After if it were allowed to; the transport must not.
    assert transport.send(post(http_server.url())).status == 503
    assert len(http_server.requests) == 2


def test_redirects_are_not_followed(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    http_server.replies.append(
        Reply(status=307, headers=[("Location", http_server.url("/elsewhere"))], body=b"")
    )
    response = transport.send(post(http_server.url()))
    assert response.status == 307
    assert response.headers["location"].endswith("/elsewhere")
    assert [r.target for r in http_server.requests] == ["/"]


def test_keep_alive_reuses_one_connection(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    for _ in range(25):
        assert transport.send(post(http_server.url())).status == 200
    assert len(http_server.requests) == 25
    assert http_server.connections == 1


def test_connection_close_from_server_opens_a_new_connection(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    http_server.replies.append(Reply(close=True))
    transport.send(post(http_server.url()))
    assert http_server.wait_closed(1)
    transport.send(post(http_server.url()))
    assert http_server.connections == 2


def test_one_pool_per_host(transport: Urllib3Transport, http_server: RecordingServer) -> None:
    for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost"):
        transport.send(post(http_server.url(host=host)))
    assert http_server.connections == 2
    hosts = [r.headers["Host"] for r in http_server.requests]
    assert hosts == [f"{h}:{http_server.port}" for h in ("127.0.0.1", "localhost") * 2]


def test_concurrent_sends_share_the_pool(http_server: RecordingServer) -> None:
    transport = Urllib3Transport(max_pool_connections=4, pool_block=True)
    bodies = [f'{{"n":{i}}}'.encode() for i in range(80)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda b: transport.send(post(http_server.url(), b)), bodies))
    finally:
        transport.close()
    assert all(r.status == 200 for r in responses)
    assert sorted(r.body for r in http_server.requests) == sorted(bodies)
    assert 1 <= http_server.connections <= 4


def test_pool_block_waits_then_times_out(http_server: RecordingServer) -> None:
    release = threading.Event()
    http_server.replies.append(Reply(hold=release))
    transport = Urllib3Transport(max_pool_connections=1, pool_block=True, connect_timeout=0.2)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(transport.send, post(http_server.url()))
            while not http_server.requests:  # the only connection is now busy
                threading.Event().wait(0.01)
            with pytest.raises(ConnectTimeoutError) as info:
                transport.send(post(http_server.url()))
            release.set()
            assert first.result(5).status == 200
    finally:
        release.set()
        transport.close()
    assert "max_pool_connections=1" in str(info.value)
    assert info.value.request_sent is False


# --------------------------------------------------------------------------------------------
# Closing
# --------------------------------------------------------------------------------------------


def test_close_closes_pooled_connections(http_server: RecordingServer) -> None:
    transport = Urllib3Transport()
    transport.send(post(http_server.url()))
    transport.close()
    assert http_server.wait_closed(1)


def test_closed_transport_refuses_to_send(http_server: RecordingServer) -> None:
    transport = Urllib3Transport()
    transport.send(post(http_server.url()))
    transport.close()
    transport.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        transport.send(post(http_server.url()))
    with pytest.raises(RuntimeError, match="closed"):
        transport.send(post(http_server.url("/other")))
    assert len(http_server.requests) == 1


def test_close_before_first_use_and_context_manager(http_server: RecordingServer) -> None:
    with Urllib3Transport() as transport:
        assert transport.send(post(http_server.url())).status == 200
    with pytest.raises(RuntimeError, match="closed"):
        transport.send(post(http_server.url()))
    unused = Urllib3Transport()
    unused.close()
    with pytest.raises(RuntimeError):
        unused.send(post(http_server.url()))


# --------------------------------------------------------------------------------------------
# Failures, mapped to kms-mrk errors that name host and phase
# --------------------------------------------------------------------------------------------


def test_connection_refused(transport: Urllib3Transport, refused_port: int) -> None:
    with pytest.raises(ConnectError) as info:
        transport.send(post(f"http://127.0.0.1:{refused_port}/"))
    error = info.value
    assert type(error) is ConnectError
    assert error.host == f"127.0.0.1:{refused_port}"
    assert error.phase == "connect"
    assert error.request_sent is False
    assert "connection refused" in str(error)
    assert f"127.0.0.1:{refused_port} (connect phase)" in str(error)


def test_server_that_never_answers_is_a_read_timeout(raw_server: StartRaw) -> None:
    hang = threading.Event()

    def accept_and_wait(conn: socket.socket) -> None:
        read_request(conn)
        hang.wait(10)

    server = raw_server(accept_and_wait)
    transport = Urllib3Transport(read_timeout=0.2)
    try:
        with pytest.raises(ReadTimeoutError) as info:
            transport.send(post(server.url()))
    finally:
        hang.set()
        transport.close()
    assert info.value.host == f"127.0.0.1:{server.port}"
    assert info.value.phase == "read"
    assert "0.2 s" in str(info.value)


def test_close_mid_response(transport: Urllib3Transport, raw_server: StartRaw) -> None:
    def half_answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        conn.close()

    server = raw_server(half_answer)
    with pytest.raises(ConnectionClosedError) as info:
        transport.send(post(server.url()))
    assert info.value.host == f"127.0.0.1:{server.port}"
    assert info.value.phase == "read"
    assert info.value.request_sent is True
    assert "10 bytes read" in str(info.value)


def test_close_without_response(transport: Urllib3Transport, raw_server: StartRaw) -> None:
    def no_answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.close()

    server = raw_server(no_answer)
    with pytest.raises(ConnectionClosedError, match="without sending a response"):
        transport.send(post(server.url()))


def test_connection_reset(transport: Urllib3Transport, raw_server: StartRaw) -> None:
    def reset(conn: socket.socket) -> None:
        read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST instead of FIN

    server = raw_server(reset)
    with pytest.raises(ConnectionClosedError) as info:
        transport.send(post(server.url()))
    assert "reset" in str(info.value) or "without sending a response" in str(info.value)


def test_garbage_response_is_connection_closed(
    transport: Urllib3Transport, raw_server: StartRaw
) -> None:
    def garbage(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")
        conn.close()

    server = raw_server(garbage)
    with pytest.raises(ConnectionClosedError, match="invalid HTTP response"):
        transport.send(post(server.url()))


def test_every_failure_is_a_kms_mrk_error(transport: Urllib3Transport, refused_port: int) -> None:
    with pytest.raises(KmsMrkError) as info:
        transport.send(post(f"http://127.0.0.1:{refused_port}/"))
    assert isinstance(info.value, TransportError)
    assert "urllib3" not in type(info.value).__module__


def test_connect_timeout_with_a_full_backlog() -> None:
    """A listener whose accept queue is full drops new SYNs, so connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):  # fill the accept queue (never accepted)
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        transport = Urllib3Transport(connect_timeout=0.2, read_timeout=0.2)
        try:
            with pytest.raises((ConnectTimeoutError, ReadTimeoutError)) as info:
                transport.send(post(f"http://127.0.0.1:{port}/"))
        finally:
            transport.close()
    finally:
        for s in fillers:
            s.close()
        listener.close()
    if isinstance(info.value, ReadTimeoutError):
        pytest.skip("this kernel completed the handshake despite the full backlog")
    assert info.value.phase == "connect"
    assert info.value.request_sent is False
    assert "0.2 s" in str(info.value)


def test_tls_handshake_timeout_is_a_connect_timeout(raw_server: StartRaw) -> None:
    hang = threading.Event()

    def never_speaks_tls(conn: socket.socket) -> None:
        hang.wait(10)  # accept the TCP connection, never answer the ClientHello

    server = raw_server(never_speaks_tls)
    transport = Urllib3Transport(connect_timeout=0.2, read_timeout=5)
    try:
        with pytest.raises(ConnectTimeoutError) as info:
            transport.send(post(f"https://127.0.0.1:{server.port}/"))
    finally:
        hang.set()
        transport.close()
    assert info.value.request_sent is False
    assert "0.2 s" in str(info.value)


def test_a_connection_the_server_dropped_is_replaced(raw_server: StartRaw) -> None:
    answered = threading.Event()
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def answer_once_then_hang_up(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(reply)  # keep-alive response...
        conn.close()  # ...then an idle close, as load balancers do
        answered.set()

    server = raw_server(answer_once_then_hang_up)
    transport = Urllib3Transport(connect_timeout=5, read_timeout=5)
    try:
        assert transport.send(post(server.url())).body == b"ok"
        assert answered.wait(5)
        assert transport.send(post(server.url())).body == b"ok"
    finally:
        transport.close()
    assert len(server.accepted) == 2


def test_pool_slots_come_back_after_failures(raw_server: StartRaw) -> None:
    calls = []

    def fail_first(conn: socket.socket) -> None:
        while read_request(conn):
            calls.append(1)
            if len(calls) == 1:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
                conn.close()
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = raw_server(fail_first)
    transport = Urllib3Transport(max_pool_connections=1, pool_block=True, connect_timeout=2)
    try:
        with pytest.raises(ConnectionClosedError):
            transport.send(post(server.url()))
        # With one slot and pool_block, a leaked slot would make this time out.
        for _ in range(3):
            assert transport.send(post(server.url())).body == b"ok"
    finally:
        transport.close()


def test_http_1_0_responses_close_the_connection(raw_server: StartRaw) -> None:
    def http10(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.close()

    server = raw_server(http10)
    transport = Urllib3Transport(max_pool_connections=1, pool_block=True, connect_timeout=2)
    try:
        for _ in range(3):
            assert transport.send(post(server.url())).body == b"ok"
    finally:
        transport.close()
    assert len(server.accepted) == 3


def test_bad_urls_are_configuration_errors(transport: Urllib3Transport) -> None:
    for url in (
        "ftp://127.0.0.1/",
        "http:///nohost",
        "http://127.0.0.1:99999/",
        "nourl",
        "http://exa mple.com/",  # nothing of these reaches a socket
        "http://127.0.0.1/a b",
        "http://127.0.0.1/?q=\x00",
        "http://127.0.0.1/caf\u00e9",
    ):
        with pytest.raises(ConfigurationError, match="Request URL"):
            transport.send(HttpRequest("GET", url))


def test_header_injection_is_rejected_without_echoing_the_value(
    transport: Urllib3Transport, http_server: RecordingServer
) -> None:
    request = HttpRequest("POST", http_server.url(), {"Authorization": "sig=SECRET\r\nX: y"}, b"")
    with pytest.raises(ConfigurationError) as info:
        transport.send(request)
    assert "SECRET" not in str(info.value)
    assert http_server.requests == []


# --------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------


def test_tls_self_signed_is_rejected_by_default(https_server: RecordingServer) -> None:
    transport = Urllib3Transport(connect_timeout=5)
    try:
        with pytest.raises(ConnectError) as info:
            transport.send(post(https_server.url(scheme="https")))
    finally:
        transport.close()
    message = str(info.value)
    assert info.value.host == f"127.0.0.1:{https_server.port}"
    assert info.value.phase == "connect"
    assert info.value.request_sent is False
    assert "TLS certificate verification failed" in message
    assert "self-signed" in message or "self signed" in message
    assert https_server.requests == []


def test_tls_with_the_certificate_as_ca_bundle(
    https_server: RecordingServer, tls_files: TlsFiles
) -> None:
    transport = Urllib3Transport(verify=str(tls_files.cert))
    try:
        for host in ("127.0.0.1", "localhost"):
            response = transport.send(post(https_server.url(scheme="https", host=host)))
            assert response.status == 200
        assert transport.send(post(https_server.url(scheme="https"))).status == 200
    finally:
        transport.close()
    assert len(https_server.requests) == 3
    assert https_server.connections == 2  # keep-alive over TLS too


def test_tls_hostname_mismatch(
    https_server_other_name: RecordingServer, tls_files: TlsFiles
) -> None:
    transport = Urllib3Transport(verify=str(tls_files.other_cert))
    try:
        with pytest.raises(ConnectError) as info:
            transport.send(post(https_server_other_name.url(scheme="https")))
    finally:
        transport.close()
    assert "TLS certificate verification failed" in str(info.value)
    assert "127.0.0.1" in str(info.value)


def test_tls_to_a_plain_http_server(http_server: RecordingServer, tls_files: TlsFiles) -> None:
    transport = Urllib3Transport(verify=str(tls_files.cert), connect_timeout=5)
    try:
        with pytest.raises(ConnectError) as info:
            transport.send(post(http_server.url(scheme="https")))
    finally:
        transport.close()
    assert "TLS handshake failed" in str(info.value)


def test_tls_verify_false_accepts_any_certificate(https_server: RecordingServer) -> None:
    transport = Urllib3Transport(verify=False)
    try:
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning) as warned:
            responses = [transport.send(post(https_server.url(scheme="https"))) for _ in range(3)]
    finally:
        transport.close()
    assert [r.status for r in responses] == [200, 200, 200]
    assert len(warned) == 1  # once per new connection, not once per request
    assert "verify=False" in str(warned[0].message)


def test_tls_client_certificate_is_loaded(tls_files: TlsFiles) -> None:
    good = Urllib3Transport(
        verify=str(tls_files.cert), client_cert=(str(tls_files.cert), str(tls_files.key))
    )
    pool = good._direct_pool("https", "127.0.0.1", 1)  # the TLS context is built with the pool
    assert pool.ssl_context is not None
    assert pool.ssl_context.verify_mode == ssl.CERT_REQUIRED and pool.ssl_context.check_hostname
    bad = Urllib3Transport(client_cert=(str(tls_files.cert), str(tls_files.other_key)))
    with pytest.raises(ConfigurationError, match="client_cert") as info:
        bad.send(HttpRequest("GET", "https://127.0.0.1:1/"))
    assert "BEGIN" not in str(info.value)


def test_mutual_tls(mtls_server: RecordingServer, tls_files: TlsFiles) -> None:
    url = mtls_server.url(scheme="https")
    with_cert = Urllib3Transport(
        verify=str(tls_files.cert),
        client_cert=(str(tls_files.other_cert), str(tls_files.other_key)),
    )
    without = Urllib3Transport(verify=str(tls_files.cert), connect_timeout=5, read_timeout=5)
    try:
        assert with_cert.send(post(url)).status == 200
        with pytest.raises(TransportError, match="TLS"):
            without.send(post(url))
    finally:
        with_cert.close()
        without.close()
    assert len(mtls_server.requests) == 1


def test_a_ca_bundle_that_is_not_pem(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate")
    transport = Urllib3Transport(verify=str(bundle))
    with pytest.raises(ConfigurationError, match="CA bundle could not be loaded"):
        transport.send(HttpRequest("GET", "https://127.0.0.1:1/"))


# --------------------------------------------------------------------------------------------
# Proxies
# --------------------------------------------------------------------------------------------


def test_http_proxy_from_environment(
    monkeypatch: pytest.MonkeyPatch, proxy_server: ProxyServer, http_server: RecordingServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    transport = Urllib3Transport()
    try:
        response = transport.send(post(http_server.url("/p?q=1")))
    finally:
        transport.close()
    assert response.headers["x-proxy"] == "yes"
    assert response.body == f"proxied POST {http_server.url('/p?q=1')}".encode()
    _method, _target, headers = proxy_server.seen[0]
    assert headers["Host"] == f"127.0.0.1:{http_server.port}"
    assert http_server.requests == []


def test_no_proxy_bypasses_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy_server: ProxyServer, http_server: RecordingServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    transport = Urllib3Transport()
    try:
        response = transport.send(post(http_server.url()))
    finally:
        transport.close()
    assert "x-proxy" not in response.headers
    assert len(http_server.requests) == 1
    assert proxy_server.seen == []


def test_proxy_credentials_are_sent_and_masked(
    monkeypatch: pytest.MonkeyPatch, proxy_server: ProxyServer, http_server: RecordingServer
) -> None:
    url = proxy_server.url.replace("http://", "http://user:p%40ss@")
    transport = Urllib3Transport(proxies={"http": url})
    try:
        transport.send(post(http_server.url()))
    finally:
        transport.close()
    headers = {k.lower(): v for k, v in proxy_server.seen[0][2].items()}
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert "p%40ss" not in repr(transport)
    assert "***" in repr(transport)


def test_explicit_empty_proxies_ignore_the_environment(
    monkeypatch: pytest.MonkeyPatch, proxy_server: ProxyServer, http_server: RecordingServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    transport = Urllib3Transport(proxies={})
    try:
        transport.send(post(http_server.url()))
    finally:
        transport.close()
    assert proxy_server.seen == []
    assert len(http_server.requests) == 1


def test_https_proxy_tunnels_with_connect(
    monkeypatch: pytest.MonkeyPatch,
    proxy_server: ProxyServer,
    https_server: RecordingServer,
    tls_files: TlsFiles,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy_server.url)
    transport = Urllib3Transport(verify=str(tls_files.cert))
    try:
        for _ in range(3):
            assert transport.send(post(https_server.url(scheme="https"))).status == 200
    finally:
        transport.close()
    seen = proxy_server.seen
    assert [(m, t) for m, t, _ in seen] == [("CONNECT", f"127.0.0.1:{https_server.port}")]
    assert len(https_server.requests) == 3


def test_unreachable_proxy_is_a_connect_error(
    monkeypatch: pytest.MonkeyPatch, refused_port: int, http_server: RecordingServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{refused_port}")
    transport = Urllib3Transport()
    try:
        with pytest.raises(ConnectError) as info:
            transport.send(post(http_server.url()))
    finally:
        transport.close()
    assert "proxy" in str(info.value)
    assert info.value.host == f"127.0.0.1:{http_server.port}"


# --------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"max_pool_connections": True}, "max_pool_connections"),
        ({"max_pool_connections": 2.5}, "max_pool_connections"),
        ({"connect_timeout": 0}, "connect_timeout must be greater than 0"),
        ({"connect_timeout": -1}, "connect_timeout must be greater than 0"),
        ({"read_timeout": float("nan")}, "read_timeout must be greater than 0"),
        ({"read_timeout": "5"}, "read_timeout must be a number"),
        ({"read_timeout": None}, "read_timeout must be a number"),
        ({"verify": "/does/not/exist.pem"}, "CA bundle does not exist"),
        ({"verify": 1}, "verify must be a bool"),
        ({"client_cert": "/does/not/exist.pem"}, "client_cert"),
        ({"client_cert": ("a",)}, "client_cert must be"),
        ({"proxies": "http://proxy"}, "proxies must be a mapping"),
        ({"proxies": {"ftp": "http://proxy"}}, "unknown keys"),
        ({"pool_block": "yes"}, "pool_block"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Urllib3Transport(**kwargs)  # type: ignore[arg-type]


def test_construction_does_no_io_and_repr_is_safe() -> None:
    transport = Urllib3Transport(proxies={"https": "http://u:secret@proxy.internal:3128"})
    text = repr(transport)
    assert "secret" not in text
    assert "max_pool_connections=10" in text
    assert not transport._started and not transport._pools  # nothing built until the first send


@pytest.mark.parametrize(
    ("options", "bound"),
    [({"connect_timeout": 0.3}, r"0\.3 s"), ({"total_timeout": 0.3}, r"0\.3 s")],
    ids=["connect_timeout", "total_timeout"],
)
def test_a_dns_lookup_that_never_ends_is_a_connect_timeout(
    stuck_resolver: list[object], options: dict[str, float], bound: str
) -> None:
    # No socket timeout bounds getaddrinfo; the transport waits for it on a thread, within
    # the time left for connecting, so a dead DNS server cannot stretch a call.
    started = time.monotonic()
    with (
        Urllib3Transport(**options) as transport,  # type: ignore[arg-type]
        pytest.raises(
            ConnectTimeoutError,
            match=bound + r".*DNS lookup did not finish|"
            r"DNS lookup did not finish.*" + bound,
        ) as info,
    ):
        transport.send(post("https://kms.example.test/"))
    assert time.monotonic() - started < 5
    assert info.value.request_sent is False
    assert stuck_resolver == [b"kms.example.test"]
