"""The lean HTTP/1.1 reader and writer used by the urllib3 transport's direct path."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms_mrk.transport import _http11
from kms_mrk.transport._http11 import Response, format_head, read_response


@contextlib.contextmanager
def _serve(raw: bytes, *, close: bool = True) -> Iterator[socket.socket]:
    """A socket whose peer writes ``raw`` (in small pieces), then closes unless told not to."""
    ours, theirs = socket.socketpair()

    def feed() -> None:
        try:
            for i in range(0, len(raw), 7):
                theirs.sendall(raw[i : i + 7])
            if close:
                theirs.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the reader gave up and closed its end

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    ours.settimeout(5)
    try:
        yield ours
    finally:
        ours.close()
        feeder.join(timeout=10)
        theirs.close()


def _read(raw: bytes, *, close: bool = True) -> Response:
    with _serve(raw, close=close) as sock:
        return read_response(sock)


def test_format_head_adds_host_and_length_and_keeps_header_case() -> None:
    head = format_head(
        "POST",
        "/",
        "kms.us-east-1.amazonaws.com",
        {"X-Amz-Target": "T.Op", "Content-Length": "9"},
        12,
    )
    assert head == (
        b"POST / HTTP/1.1\r\nHost: kms.us-east-1.amazonaws.com\r\nContent-Length: 12\r\n"
        b"X-Amz-Target: T.Op\r\nAccept-Encoding: identity\r\n\r\n"
    )


@pytest.mark.parametrize("bad", [{"X-A": "a\r\nInjected: 1"}, {"X\nB": "v"}, {"X:Y": "v"}])
def test_format_head_refuses_header_injection(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="forbidden"):
        format_head("POST", "/", "h", bad, 0)


def test_content_length_body_and_keep_alive() -> None:
    response = _read(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b'X-Amzn-RequestId: r1\r\nContent-Length: 11\r\n\r\n{"a": true}',
        close=False,
    )
    assert response.status == 200
    assert response.headers["x-amzn-requestid"] == "r1"
    assert response.body == b'{"a": true}'
    assert response.will_close is False


def test_chunked_body_with_extensions_and_trailers() -> None:
    response = _read(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
        close=False,
    )
    assert response.body == b"Wikipedia"
    assert response.will_close is False


def test_interim_responses_are_skipped_and_repeated_headers_joined() -> None:
    response = _read(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 400 Bad Request\r\nX-Multi: a\r\nx-multi: b\r\nX-Fold: one\r\n two\r\n"
        b"Connection: close\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert response.status == 400
    assert response.headers["x-multi"] == "a, b"
    assert response.headers["x-fold"] == "one two"
    assert response.will_close is True


def test_body_to_the_end_of_the_connection_when_no_length() -> None:
    response = _read(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
    assert response.body == b"until the end"
    assert response.will_close is True


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", _http11.RemoteDisconnected),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", _http11.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nContent-Le", _http11.IncompleteRead),
        (b"SMTP ready\r\n\r\n", _http11.BadStatusLine),
        (b"HTTP/1.1 abc OK\r\n\r\n", _http11.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", _http11.HttpProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", _http11.HttpProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", _http11.HttpProtocolError),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            _http11.IncompleteRead,
        ),
    ],
)
def test_malformed_responses_raise_http_client_errors(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        _read(raw)


def test_header_block_size_is_bounded() -> None:
    raw = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n"
    with pytest.raises(_http11.LineTooLong):
        _read(raw)


@given(body=st.binary(max_size=3000), sizes=st.lists(st.integers(1, 700), min_size=1, max_size=8))
def test_chunked_and_length_framings_give_the_same_body(body: bytes, sizes: list[int]) -> None:
    chunks = []
    i = 0
    for size in sizes * (len(body) // max(1, sum(sizes)) + 1):
        if i >= len(body):
            break
        chunks.append(body[i : i + size])
        i += size
    if i < len(body):
        chunks.append(body[i:])
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
    chunked = _read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + encoded)
    plain = _read(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert chunked.body == plain.body == body


def test_a_host_header_given_by_the_request_is_the_one_sent() -> None:
    head = format_head("POST", "/", "route-host:8443", {"Host": "signed-host"}, 0)
    assert b"\r\nHost: signed-host\r\n" in head
    assert b"route-host" not in head
    with pytest.raises(ValueError, match="forbidden"):
        format_head("POST", "/", "h", {"Host": "a\r\nX: 1"}, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
    ],
)
def test_bodies_over_the_limit_are_refused_before_reading_them(raw: bytes) -> None:
    with pytest.raises(_http11.HttpProtocolError, match="limit"):
        _read(raw)


def test_bodies_without_length_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from kms_mrk.transport import _http11

    monkeypatch.setattr(_http11, "MAX_BODY_BYTES", 1000)
    with pytest.raises(_http11.HttpProtocolError, match="limit"):
        _read(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)
    chunks = b"".join(b"64\r\n" + b"y" * 100 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    with pytest.raises(_http11.HttpProtocolError, match="limit"):
        _read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)


def test_the_limit_holds_when_the_whole_body_arrives_with_the_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kms_mrk.transport import _http11

    monkeypatch.setattr(_http11, "MAX_BODY_BYTES", 1000)
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(_http11.HttpProtocolError, match="limit"):
            read_response(ours)
    finally:
        ours.close()
        theirs.close()
