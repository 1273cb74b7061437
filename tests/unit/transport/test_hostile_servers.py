"""Servers that try to hang the client or exhaust its memory: every case ends in a bounded error.

The reader-level tests feed a socket pair; the transport-level ones use loopback servers.
Time is injected where the code allows it (``read_response(clock=...)``); the transport-level
trickle tests let the server pace itself and assert only a generous upper bound.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.errors._base import (
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport import HttpRequest, RequestsTransport, Urllib3Transport, _http11
from kms_mrk.transport._http11 import (
    MAX_HEADERS,
    MAX_INTERIM_RESPONSES,
    ResponseTooLarge,
    TotalTimeout,
    read_response,
)
from tests.unit.transport._transport_servers import ProxyServer, RawServer, read_request

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]
OK_HEAD = b"HTTP/1.1 200 OK\r\n"


@contextlib.contextmanager
def _pair(raw: bytes, *, close: bool = True) -> Iterator[socket.socket]:
    ours, theirs = socket.socketpair()

    def feed() -> None:
        with contextlib.suppress(OSError):
            theirs.sendall(raw)
            if close:
                theirs.shutdown(socket.SHUT_WR)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    ours.settimeout(5)
    try:
        yield ours
    finally:
        ours.close()
        feeder.join(10)
        theirs.close()


def _read(raw: bytes) -> _http11.Response:
    with _pair(raw) as sock:
        return read_response(sock)


# --------------------------------------------------------------------------------------------
# Counts and sizes in the reader
# --------------------------------------------------------------------------------------------


def test_interim_responses_are_capped() -> None:
    many = b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM_RESPONSES + 1)
    with pytest.raises(_http11.HttpProtocolError, match="interim"):
        _read(many + OK_HEAD + b"Content-Length: 0\r\n\r\n")
    allowed = b"HTTP/1.1 100 Continue\r\n\r\n" * MAX_INTERIM_RESPONSES
    assert _read(allowed + OK_HEAD + b"Content-Length: 2\r\n\r\n{}").body == b"{}"


def test_header_lines_are_capped() -> None:
    headers = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(_http11.HttpProtocolError, match="header lines"):
        _read(OK_HEAD + headers + b"Content-Length: 0\r\n\r\n")


def test_trailer_lines_are_capped_in_count_and_size() -> None:
    start = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
    many = b"".join(b"T-%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(_http11.HttpProtocolError, match="trailer lines"):
        _read(start + many + b"\r\n")
    with pytest.raises(_http11.LineTooLong, match="trailers"):
        _read(start + b"T: " + b"a" * 70000 + b"\r\n\r\n")
    few = b"".join(b"T-%d: v\r\n" % i for i in range(10))
    assert _read(start + few + b"\r\n").body == b"{}"


def test_chunk_size_line_is_bounded() -> None:
    ext = b";name=value" * 1000
    with pytest.raises(_http11.LineTooLong, match="chunk size"):
        _read(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2" + ext + b"\r\n{}\r\n0\r\n\r\n")


@pytest.mark.parametrize(
    "size", [b"-5", b"+5", b"0x5", b"1_0", b"fffffffffffffffff", b"", b"5 5", b"\xb2"]
)
def test_chunk_sizes_must_be_plain_hex(size: bytes) -> None:
    raw = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nhello\r\n0\r\n\r\n"
    with pytest.raises(_http11.HttpProtocolError, match="bad chunk size"):
        _read(raw)


@pytest.mark.parametrize("length", ["\xb2", "1" * 5000, "+5", "5, 5", " "])
def test_content_length_must_be_plain_decimal(length: str) -> None:
    raw = OK_HEAD + b"Content-Length: " + length.encode("latin-1") + b"\r\n\r\nhello"
    with pytest.raises(_http11.HttpProtocolError, match="Content-Length"):
        _read(raw)


@pytest.mark.parametrize("status", [b"1\xb23", b"2000", b"099", b"20"])
def test_status_code_must_be_three_digits(status: bytes) -> None:
    with pytest.raises(_http11.BadStatusLine):
        _read(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 0\r\n\r\n")


def test_oversize_bodies_say_the_limit_and_what_was_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http11, "MAX_BODY_BYTES", 1000)
    with pytest.raises(ResponseTooLarge, match=r"1000-byte limit \(5000 bytes announced\)"):
        _read(OK_HEAD + b"Content-Length: 5000\r\n\r\n")
    chunks = b"".join(b"190\r\n" + b"y" * 400 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"
    with pytest.raises(ResponseTooLarge, match=r"1000-byte limit \(1200 bytes announced\)"):
        _read(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    with pytest.raises(ResponseTooLarge, match=r"1000-byte limit \(\d+ bytes received"):
        _read(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)


# --------------------------------------------------------------------------------------------
# Linear reading of large bodies
# --------------------------------------------------------------------------------------------


class _PieceSocket:
    """A fake socket handing out ``data`` in pieces of at most ``piece`` bytes, counting."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data = memoryview(data)
        self.piece = piece
        self.pos = 0
        self.recvs = 0
        self.largest_request = 0

    def recv(self, size: int) -> bytes:
        self.recvs += 1
        self.largest_request = max(self.largest_request, size)
        n = min(size, self.piece, len(self.data) - self.pos)
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def gettimeout(self) -> float:
        return 5.0

    def settimeout(self, value: float | None) -> None:
        pass


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_large_single_chunk_is_read_in_one_pass(framing: str) -> None:
    size = 4 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    if framing == "chunked":
        raw = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % size
        raw += payload + b"\r\n0\r\n\r\n"
    else:
        raw = OK_HEAD + b"Content-Length: %d\r\n\r\n" % size + payload
    sock = _PieceSocket(raw, 65536)
    response = read_response(sock)  # type: ignore[arg-type]
    assert response.body == payload
    # Every byte is received once: the number of receives is the number of pieces, not more.
    assert sock.recvs <= len(raw) // 65536 + 3
    assert sock.pos == len(raw)


# --------------------------------------------------------------------------------------------
# Total time, with an injected clock
# --------------------------------------------------------------------------------------------


def test_a_trickling_body_ends_at_the_deadline_with_an_injected_clock() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    now = [100.0]
    theirs.sendall(OK_HEAD + b"Content-Length: 1000\r\n\r\n")

    def clock() -> float:
        # Every look at the clock: 0.5 s have passed and the server sent one more byte.
        now[0] += 0.5
        theirs.sendall(b"x")
        return now[0]

    try:
        with pytest.raises(TotalTimeout):
            read_response(ours, deadline=102.0, clock=clock)
        assert now[0] >= 102.0
        assert now[0] <= 103.0  # gave up at the first look past the deadline
        assert ours.gettimeout() == 5  # the socket's own timeout is back
    finally:
        ours.close()
        theirs.close()


def test_the_read_timeout_is_shortened_to_what_is_left_of_the_deadline() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(30)
    seen: list[float | None] = []
    real_recv = ours.recv

    class Spy:
        def gettimeout(self) -> float | None:
            return ours.gettimeout()

        def settimeout(self, value: float | None) -> None:
            seen.append(value)
            ours.settimeout(value)

        def recv(self, size: int) -> bytes:
            return real_recv(size)

    try:
        theirs.sendall(OK_HEAD + b"Content-Length: 2\r\n\r\n{}")
        response = read_response(Spy(), deadline=1000.0, clock=lambda: 998.5)  # type: ignore[arg-type]
        assert response.body == b"{}"
        assert seen == [1.5, 30]  # shortened for the read, restored afterwards
    finally:
        ours.close()
        theirs.close()


# --------------------------------------------------------------------------------------------
# Through the transports
# --------------------------------------------------------------------------------------------


def _post(url: str, timeout: float | None = None) -> HttpRequest:
    return HttpRequest("POST", url, {"X-Amz-Target": "TrentService.DescribeKey"}, b"{}", timeout)


def _endless_continue(conn: socket.socket) -> None:
    read_request(conn)
    while True:
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


def _trickle(stop: threading.Event) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK_HEAD + b"Content-Length: 100000\r\n\r\n")
        while not stop.wait(0.02):  # the server's pace: one byte every 20 ms
            conn.sendall(b"x")

    return handler


def _endless_trailers(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n")
    n = 0
    while True:
        conn.sendall(b"X-T-%d: v\r\n" % n)
        n += 1


def test_endless_interim_responses_end_in_an_error(raw_server: StartRaw) -> None:
    server = raw_server(_endless_continue)
    with (
        Urllib3Transport(read_timeout=5) as transport,
        pytest.raises(ConnectionClosedError, match="interim"),
    ):
        transport.send(_post(server.url()))


def test_endless_trailers_end_in_an_error(raw_server: StartRaw) -> None:
    server = raw_server(_endless_trailers)
    with (
        Urllib3Transport(read_timeout=5) as transport,
        pytest.raises(ConnectionClosedError, match="trailer"),
    ):
        transport.send(_post(server.url()))


def test_a_trickling_body_ends_at_total_timeout(raw_server: StartRaw) -> None:
    stop = threading.Event()
    server = raw_server(_trickle(stop))
    try:
        with Urllib3Transport(read_timeout=5, total_timeout=0.3) as transport:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError, match=r"total_timeout is 0\.3 s") as info:
                transport.send(_post(server.url()))
            assert time.monotonic() - started < 3  # not the 5 s read timeout, nor longer
            assert info.value.request_sent
    finally:
        stop.set()


def test_the_request_timeout_wins_when_smaller(raw_server: StartRaw) -> None:
    stop = threading.Event()
    server = raw_server(_trickle(stop))
    try:
        with (
            Urllib3Transport(read_timeout=5, total_timeout=60) as transport,
            pytest.raises(ReadTimeoutError, match="call's deadline"),
        ):
            transport.send(_post(server.url(), timeout=0.2))
    finally:
        stop.set()


def test_no_time_left_means_nothing_is_sent(raw_server: StartRaw) -> None:
    server = raw_server(_endless_continue)
    with (
        Urllib3Transport() as transport,
        pytest.raises(ConnectTimeoutError, match="no time left") as info,
    ):
        transport.send(_post(server.url(), timeout=0))
    assert not info.value.request_sent
    assert server.accepted == []


def test_an_oversize_body_names_the_limit(
    raw_server: StartRaw, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http11, "MAX_BODY_BYTES", 1000)

    def big(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK_HEAD + b"Content-Length: 5000\r\n\r\n" + b"x" * 5000)

    server = raw_server(big)
    with (
        Urllib3Transport() as transport,
        pytest.raises(TransportError, match=r"1000-byte limit \(5000 bytes"),
    ):
        transport.send(_post(server.url()))


def test_total_timeout_is_checked() -> None:
    from kms_mrk.errors._base import ConfigurationError

    with pytest.raises(ConfigurationError, match="total_timeout"):
        Urllib3Transport(total_timeout=0)
    assert "total_timeout=13" in repr(Urllib3Transport(connect_timeout=3, read_timeout=10))


def test_requests_transport_honours_the_total_bound(raw_server: StartRaw) -> None:
    stop = threading.Event()
    server = raw_server(_trickle(stop))
    try:
        with RequestsTransport(read_timeout=5, total_timeout=0.3) as transport:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError, match="total_timeout"):
                transport.send(_post(server.url()))
            assert time.monotonic() - started < 3
    finally:
        stop.set()


def test_through_a_proxy_a_trickling_body_ends_at_total_timeout(raw_server: StartRaw) -> None:
    # The raw server plays a forward proxy that relays a body one byte at a time.
    stop = threading.Event()
    proxy = raw_server(_trickle(stop))
    try:
        with Urllib3Transport(
            read_timeout=5, total_timeout=0.3, proxies={"http": proxy.url()}
        ) as transport:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError, match="total_timeout"):
                transport.send(_post("http://kms.example.test/"))
            assert time.monotonic() - started < 3
    finally:
        stop.set()


def test_through_a_proxy_an_oversize_body_names_the_limit(
    raw_server: StartRaw, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http11, "MAX_BODY_BYTES", 1000)

    def big(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK_HEAD + b"Content-Length: 5000\r\n\r\n" + b"x" * 5000)

    proxy = raw_server(big)
    with (
        Urllib3Transport(proxies={"http": proxy.url()}) as transport,
        pytest.raises(TransportError, match=r"1000-byte limit"),
    ):
        transport.send(_post("http://kms.example.test/"))


# --------------------------------------------------------------------------------------------
# Fragmentation: however the bytes arrive, the same response comes out
# --------------------------------------------------------------------------------------------


@given(
    body=st.binary(max_size=2000),
    chunk_sizes=st.lists(st.integers(1, 300), min_size=1, max_size=6),
    interim=st.integers(0, 3),
    trailers=st.integers(0, 3),
    piece=st.integers(1, 97),
    chunked=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_any_fragmentation_reads_the_same_response(
    body: bytes,
    chunk_sizes: list[int],
    interim: int,
    trailers: int,
    piece: int,
    chunked: bool,
) -> None:
    raw = b"HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n" * interim
    raw += OK_HEAD + b"X-A: a\r\nX-A: b\r\nX-Fold: one\r\n two\r\n"
    if chunked:
        raw += b"Transfer-Encoding: chunked\r\n\r\n"
        i = 0
        sizes = iter(chunk_sizes * (len(body) + 1))
        while i < len(body):
            size = next(sizes)
            raw += b"%x;e=1\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
            i += size
        raw += b"0\r\n" + b"".join(b"T-%d: v\r\n" % n for n in range(trailers)) + b"\r\n"
    else:
        raw += b"Content-Length: %d\r\n\r\n" % len(body) + body
    sock = _PieceSocket(raw + b"HTTP/1.1 200 OK\r\n", piece)  # the next response's start
    response = read_response(sock)  # type: ignore[arg-type]
    assert response.status == 200
    assert response.body == body
    assert response.headers["x-a"] == "a, b"
    assert response.headers["x-fold"] == "one two"


def test_a_proxy_refusing_the_tunnel_is_a_connect_error(proxy_server: ProxyServer) -> None:
    # The test proxy only tunnels to loopback; anything else gets 403 (no DNS lookup here).
    with (
        Urllib3Transport(proxies={"https": proxy_server.url}) as transport,
        pytest.raises(ConnectError, match=r"through the proxy.*403") as info,
    ):
        transport.send(_post("https://kms.example.test/"))
    assert info.value.request_sent is False
    assert proxy_server.seen[0][:2] == ("CONNECT", "kms.example.test:443")


def test_a_tls_handshake_that_hangs_behind_a_proxy_is_a_connect_timeout(
    proxy_server: ProxyServer, raw_server: StartRaw
) -> None:
    hang = threading.Event()
    server = raw_server(lambda conn: hang.wait(10))  # never answers the ClientHello
    try:
        with (
            Urllib3Transport(
                connect_timeout=0.3, read_timeout=5, proxies={"https": proxy_server.url}
            ) as transport,
            pytest.raises(ConnectTimeoutError, match="through the proxy") as info,
        ):
            transport.send(_post(f"https://127.0.0.1:{server.port}/"))
    finally:
        hang.set()
    assert info.value.request_sent is False


def _paced(stop: threading.Event, head: bytes, unit: bytes) -> Callable[[socket.socket], None]:
    """Send ``head``, then ``unit`` every 20 ms: each read of the client gets something well
    within its read timeout, so only a total bound ends the exchange."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(head)
        while not stop.wait(0.02):
            conn.sendall(unit)

    return handler


@pytest.mark.parametrize(
    ("head", "unit"),
    [
        (b"", b"HTTP/1.1 100 Continue\r\n\r\n"),  # http.client skips these without end
        (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x"),  # one header, a byte at a time
    ],
    ids=["endless-interim", "trickling-headers"],
)
@pytest.mark.parametrize("own_session", [True, False])
def test_requests_transport_bounds_the_header_phase(
    raw_server: StartRaw, head: bytes, unit: bytes, own_session: bool
) -> None:
    import requests

    stop = threading.Event()
    server = raw_server(_paced(stop, head, unit))
    session = None
    if not own_session:  # an application's session, with the adapter mounted by hand
        session = requests.Session()
        session.mount("http://", RequestsTransport.bounded_adapter())
    try:
        with RequestsTransport(session, read_timeout=5, total_timeout=0.3) as transport:
            started = time.monotonic()
            with pytest.raises(ReadTimeoutError, match=r"total_timeout is 0\.3 s"):
                transport.send(_post(server.url()))
            assert time.monotonic() - started < 3  # not the 5 s read timeout, nor forever
    finally:
        stop.set()
        if session is not None:
            session.close()


def test_requests_transport_deadline_applies_only_inside_its_own_calls(
    raw_server: StartRaw,
) -> None:
    # The adapter changes nothing for other requests made on the same session.
    import requests

    def answer(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(OK_HEAD + b"Content-Length: 2\r\n\r\n{}")

    server = raw_server(answer)
    session = requests.Session()
    session.mount("http://", RequestsTransport.bounded_adapter())
    try:
        with RequestsTransport(session, total_timeout=5) as transport:
            assert transport.send(_post(server.url())).body == b"{}"
        assert session.post(server.url(), data=b"{}", timeout=5).content == b"{}"
    finally:
        session.close()


def test_a_proxy_trickling_its_answer_to_connect_is_cut_at_the_bound(
    raw_server: StartRaw,
) -> None:
    # http.client reads the answer to CONNECT line by line with no count of lines: a proxy
    # sending a header line every 20 ms would hold the connect phase forever.
    stop = threading.Event()
    proxy = raw_server(_paced(stop, b"HTTP/1.1 200 Connection established\r\n", b"X-A: b\r\n"))
    try:
        with Urllib3Transport(
            connect_timeout=5, read_timeout=5, total_timeout=0.3, proxies={"https": proxy.url()}
        ) as transport:
            started = time.monotonic()
            with pytest.raises(ConnectTimeoutError, match=r"0\.3 s") as info:
                transport.send(_post("https://127.0.0.1:9/"))
            assert time.monotonic() - started < 3
    finally:
        stop.set()
    assert info.value.request_sent is False
