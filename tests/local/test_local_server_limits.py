"""Hostile clients against the HTTP server: each gets a JSON answer (or a close), the server
holds a bounded number of bytes for it, and goes on serving everyone else.

One loopback server per test, raw sockets. Memory is checked by counting the bytes the server
buffered for a connection (``peak_buffered_bytes``), not by RSS. Time is the server's
injectable clock; the thread-start and descriptor-exhaustion failures are injected.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from io import BufferedReader
from typing import Any

import pytest

from kms_mrk.local import LocalKMS, LocalKMSServer, serve
from kms_mrk.local import _server as server_module

MAX_BODY = 64 * 1024
RECV = server_module._RECV
HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\n"


class Clock:
    """A monotonic clock the test sets; counts its calls and lets the test wait for them."""

    def __init__(self, *values: float) -> None:
        self.values = list(values) or [0.0]
        self.calls = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            value = self.values[min(self.calls, len(self.values) - 1)]
            self.calls += 1
            self._changed.notify_all()
            return value

    def set(self, value: float) -> None:
        with self._changed:
            self.values = [value]
            self.calls = 0

    def wait_calls(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.calls >= count, timeout=10)


@contextlib.contextmanager
def running(**options: Any) -> Iterator[LocalKMSServer]:
    options.setdefault("max_body", MAX_BODY)
    server = LocalKMSServer(LocalKMS(), port=0, owns_kms=True, **options)
    with server:
        yield server


def connect(server: LocalKMSServer) -> tuple[socket.socket, BufferedReader]:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    return sock, sock.makefile("rb")


def read_response(reader: BufferedReader) -> tuple[int, dict[str, str], bytes]:
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def list_keys(body: bytes = b"{}") -> bytes:
    return HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def assert_still_serving(server: LocalKMSServer) -> None:
    sock, reader = connect(server)
    sock.sendall(list_keys())
    assert read_response(reader)[0] == 200
    sock.close()


def send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    def push() -> None:
        with contextlib.suppress(OSError):
            sock.sendall(data)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    return thread


def refused(server: LocalKMSServer, raw: bytes, extra: bytes = b"") -> tuple[int, str]:
    """Send ``raw`` (then ``extra`` from another thread); the status and __type answered,
    after checking the answer closes the connection."""
    sock, reader = connect(server)
    sock.sendall(raw)
    pusher = send_in_background(sock, extra) if extra else None
    status, headers, body = read_response(reader)
    assert headers["connection"] == "close"
    with contextlib.suppress(OSError):
        assert reader.read() == b""
    sock.close()
    if pusher is not None:
        pusher.join(10)
    return status, json.loads(body)["__type"]


# -- chunked bodies ---------------------------------------------------------------------------

FLOOD = b"A" * (4 * 1024 * 1024)


@pytest.mark.parametrize(
    ("size_line", "status"),
    [
        (b"-1\r\n", 400),
        (b"zz\r\n", 400),
        (b"0x10\r\n", 400),
        (b" 10\r\n", 400),
        (b"\r\n", 400),
        (b"123456789\r\n", 400),
        (b"ffffffffffffffffffffffff\r\n", 400),
        (b"ffffffff\r\n", 413),
        (b"10;name=value\r\n", 400),
        (b"10" + b" " * 5000 + b"\r\n", 400),
    ],
    ids=[
        "negative",
        "not hex",
        "0x prefix",
        "leading space",
        "empty",
        "9 digits",
        "overflowing",
        "over the limit",
        "extension",
        "overlong line",
    ],
)
def test_hostile_chunk_sizes_are_refused_before_buffering(size_line: bytes, status: int) -> None:
    with running() as server:
        head = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + size_line
        assert refused(server, head, extra=FLOOD) == (status, "SerializationException")
        assert server.peak_buffered_bytes <= 2 * RECV
        assert_still_serving(server)


@pytest.mark.parametrize(
    ("chunks", "status"),
    [
        (b"2\r\n{}\r\n0\r\nX-Trailer: yes\r\n\r\n", 400),
        (b"2\r\n{}}}\r\n0\r\n\r\n", 400),
        (b"2\r\n{}\r\n" + b"8000\r\n" + b" " * 0x8000 + b"\r\n" + b"8001\r\n", 413),
    ],
    ids=["trailer", "chunk longer than declared", "total over the limit"],
)
def test_chunked_framing_is_strict(chunks: bytes, status: int) -> None:
    with running() as server:
        head = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunks
        assert refused(server, head, extra=FLOOD)[0] == status
        assert server.peak_buffered_bytes <= MAX_BODY + 2 * RECV
        assert_still_serving(server)


def test_a_well_formed_chunked_body_still_works() -> None:
    with running() as server:
        sock, reader = connect(server)
        body = b'{"Limit": 5}'
        sock.sendall(
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
            b"5\r\n" + body[:5] + b"\r\n"
            b"A\r\n" + body[5:].ljust(10) + b"\r\n"
            b"0\r\n\r\n"
        )
        assert read_response(reader)[0] == 200
        sock.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", 400),
        (b"Transfer-Encoding: gzip, chunked\r\n", 501),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", 400),
        (b"Content-Length: +2\r\n", 400),
        (b"Content-Length: 2_0\r\n", 400),
        (b"Content-Length: 99999999999999999999999\r\n", 413),
        (f"Content-Length: {MAX_BODY + 1}\r\n".encode(), 413),
    ],
    ids=["both", "gzip", "two lengths", "plus sign", "underscore", "huge", "one too many"],
)
def test_body_framing_headers_are_strict(headers: bytes, status: int) -> None:
    with running() as server:
        assert refused(server, HEAD + headers + b"\r\n", extra=FLOOD)[0] == status
        assert server.peak_buffered_bytes <= 2 * RECV
        assert_still_serving(server)


# -- request line and headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"POST /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\n" + (b"X-A: " + b"b" * 1500 + b"\r\n") * 50 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"POST / HTTP/2.0\r\n\r\n", 400),
        (b"\r\n" * 10, 400),
    ],
    ids=[
        "request line",
        "header line",
        "header count",
        "header bytes",
        "space before colon",
        "version",
        "blank lines",
    ],
)
def test_request_line_and_headers_are_bounded(raw: bytes, status: int) -> None:
    with running() as server:
        assert refused(server, raw, extra=FLOOD)[0] == status
        assert server.peak_buffered_bytes <= 2 * RECV + server_module.MAX_HEADER_BYTES
        assert_still_serving(server)


# -- slow clients --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (b"POST / HTTP/1.1\r\n", b"Host: x\r\n"),
        (HEAD + b"Content-Length: 10\r\n\r\n{", b'"Limit"'),
    ],
    ids=["trickled headers", "trickled body"],
)
def test_a_client_that_trickles_is_cut_off_after_the_request_timeout(
    first: bytes, then: bytes
) -> None:
    clock = Clock(0.0)
    with running(clock=clock, request_timeout=5.0) as server:
        sock, reader = connect(server)
        sock.sendall(first)
        clock.wait_calls(2)  # the deadline is set and the server waits for more bytes
        clock.set(6.0)
        sock.sendall(then)
        status, headers, body = read_response(reader)
        assert (status, json.loads(body)["__type"]) == (408, "RequestTimeout")
        assert headers["connection"] == "close"
        sock.close()
        assert_still_serving(server)


def test_a_client_that_stops_sending_is_cut_off_without_waiting_forever() -> None:
    clock = Clock(0.0, 100.0)  # the deadline is set at 0, and has passed at the next look
    with running(clock=clock, request_timeout=5.0) as server:
        sock, reader = connect(server)
        sock.sendall(b"POST / HTTP/1.1\r\n")
        assert read_response(reader)[0] == 408
        sock.close()


def test_a_connection_that_never_speaks_does_not_hold_its_slot() -> None:
    clock = Clock(0.0, 100.0)
    with running(clock=clock, request_timeout=5.0, max_connections=1) as server:
        sock, reader = connect(server)
        assert read_response(reader)[0] == 408
        sock.close()
        reader.close()
        wait_until(lambda: server.active_connections == 0)
        clock.set(200.0)
        assert_still_serving(server)


def test_a_request_within_the_timeout_is_served_and_keep_alive_resets_it() -> None:
    clock = Clock(0.0)
    with running(clock=clock, request_timeout=5.0) as server:
        sock, reader = connect(server)
        sock.sendall(list_keys())
        assert read_response(reader)[0] == 200
        clock.set(1000.0)  # much later, on the same connection: a new request, a new deadline
        sock.sendall(list_keys())
        assert read_response(reader)[0] == 200
        sock.close()


# -- connections ---------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_connections_beyond_the_cap_get_503_without_a_thread() -> None:
    started: list[threading.Thread] = []

    def counting_thread(*args: Any, **kwargs: Any) -> threading.Thread:
        thread = threading.Thread(*args, **kwargs)
        started.append(thread)
        return thread

    with running(max_connections=2) as server:
        server._thread_factory = counting_thread
        held = [connect(server) for _ in range(2)]
        for sock, reader in held:
            sock.sendall(list_keys())
            assert read_response(reader)[0] == 200
        assert server.active_connections == 2

        sock, reader = connect(server)
        status, headers, body = read_response(reader)
        assert (status, json.loads(body)["__type"]) == (503, "ServiceUnavailableException")
        assert "maximum of 2 connections" in json.loads(body)["message"]
        assert headers["connection"] == "close"
        assert reader.read() == b""
        sock.close()
        assert len(started) == 2  # none for the refused connection

        for item in held[0]:
            item.close()  # the socket and its reader: the descriptor closes with the last
        wait_until(lambda: server.active_connections == 1)
        assert_still_serving(server)
        for item in held[1]:
            item.close()


def test_a_thread_that_cannot_start_refuses_one_connection_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoThread:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    with running() as server, caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        real = server._thread_factory
        server._thread_factory = NoThread
        for _ in range(3):
            sock, reader = connect(server)
            assert read_response(reader)[0] == 503
            sock.close()
        assert server.active_connections == 0
        server._thread_factory = real
        assert_still_serving(server)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot start a thread" in m for m in messages) == 1  # once per episode
    assert sum("threads start again" in m for m in messages) == 1


class FlakyListener:
    """A listening socket whose accept() fails with ``error`` for the next ``failures`` calls."""

    def __init__(self, real: socket.socket, error: int) -> None:
        self.real = real
        self.error = error
        self.failures = 0
        self.attempts = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError(self.error, "Too many open files")
        return self.real.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize("error", [errno.EMFILE, errno.ENFILE])
def test_running_out_of_descriptors_backs_off_and_logs_once_per_episode(
    caplog: pytest.LogCaptureFixture, error: int
) -> None:
    sleeps: list[float] = []
    server = LocalKMSServer(LocalKMS(), port=0, owns_kms=True, sleep=sleeps.append)
    flaky = FlakyListener(server._listener, error)
    server._listener = flaky  # type: ignore[assignment]
    with server, caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        for episode in range(2):
            flaky.failures = 8
            before = len(sleeps)
            assert_still_serving(server)
            assert sleeps[before:] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
            del episode
        assert flaky.attempts == 2 * 9  # one sleep per failure: no spinning
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot accept connections" in m for m in messages) == 2
    assert sum("accepting connections again" in m for m in messages) == 2


def test_other_accept_errors_do_not_sleep_or_warn(caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    server = LocalKMSServer(LocalKMS(), port=0, owns_kms=True, sleep=sleeps.append)
    flaky = FlakyListener(server._listener, errno.ECONNABORTED)
    server._listener = flaky  # type: ignore[assignment]
    with server, caplog.at_level(logging.WARNING, logger="kms_mrk.local"):
        flaky.failures = 1
        assert_still_serving(server)
    assert sleeps == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_connections", 0),
        ("max_connections", True),
        ("max_body", -1),
        ("request_timeout", 0),
        ("idle_timeout", "soon"),
    ],
)
def test_limits_are_checked(option: str, value: Any) -> None:
    from kms_mrk.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=option):
        LocalKMSServer(LocalKMS(), port=0, **{option: value})


def test_serve_and_the_command_line_take_max_connections() -> None:
    import argparse

    from kms_mrk.local._cli import add_serve_arguments

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    assert parser.parse_args([]).max_connections == 64
    assert parser.parse_args(["--max-connections", "5"]).max_connections == 5
    with serve(port=0, max_connections=3) as server:
        assert server.max_connections == 3
