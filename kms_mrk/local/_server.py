"""The local KMS over HTTP: one endpoint for every Region, HTTP/1.1 with keep-alive.

Design, chosen by measurement (see docs/local-kms.md and bench/bench_local_kms.py): a small
hand-written HTTP/1.1 server with one thread per connection, blocking sockets and a buffered
reader. A ``ThreadingHTTPServer`` with a lean handler answered about 3,900 DescribeKey
requests per second on one keep-alive connection here (and 23 per second until Nagle's
algorithm was turned off: it writes headers and body separately); this server answers more,
because the only per-request work besides the local KMS itself is splitting a few header
lines and one ``sendall`` of the whole response. Threads (not asyncio) keep the local KMS's
synchronous handlers simple, let a state-file ``fsync`` in one connection overlap requests in
others, and scale to the handful of concurrent clients a development endpoint sees.

HTTP support: ``Content-Length`` and chunked bodies, ``Expect: 100-continue`` (answered only
once the declared length is accepted, so a client is never invited to send a body that is then
refused), ``Connection: close`` and keep-alive (HTTP/1.1 by default, HTTP/1.0 on request).
Anything malformed gets a JSON error body, never HTML.

Limits (a client that is hostile or broken cannot exhaust the server; each is a constructor
argument, see :class:`LocalKMSServer`):

* request line up to 8 KiB, at most 100 header lines of up to 8 KiB and 64 KiB of headers in
  all (400 / 431);
* a body of at most 1 MiB, checked before it is read: a ``Content-Length`` of digits only, no
  ``Content-Length`` beside ``Transfer-Encoding``, chunk sizes of 1 to 8 hex digits with no
  extensions and no trailers (400 / 413 / 501); nothing is buffered beyond the limit, and all
  of it happens before the local KMS looks at the signature;
* ``request_timeout``: once the first byte of a request has arrived (for the first request
  of a connection: once it is accepted), the whole request (line, headers and body) must
  arrive within it, however slowly the bytes trickle (408, then the connection is closed);
  ``idle_timeout`` bounds the wait for the next request on a kept-alive connection;
* ``max_connections`` connections served at once; one more is answered
  ``503 ServiceUnavailableException`` by the accept loop itself (no thread is started for it)
  and closed. When a thread cannot be started the connection is refused the same way and the
  server keeps serving;
* when ``accept()`` fails because file descriptors ran out (EMFILE, ENFILE, ENOBUFS, ENOMEM),
  the accept loop sleeps (50 ms, doubling up to 1 s) instead of spinning, and logs one warning
  per episode (and one line when it ends).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Final

from kms_mrk.errors import ConfigurationError
from kms_mrk.local._kms import LocalKMS
from kms_mrk.transport._types import HttpRequest

if TYPE_CHECKING:
    import os

    from typing_extensions import Self

__all__ = ["LocalKMSServer", "serve"]

_log = logging.getLogger("kms_mrk.local")

MAX_REQUEST_LINE: Final = 8192
MAX_HEADER_LINE: Final = 8192
MAX_HEADERS: Final = 100
MAX_HEADER_BYTES: Final = 65536
MAX_BODY: Final = 1 << 20
MAX_CONNECTIONS: Final = 64
IDLE_TIMEOUT: Final = 300.0
REQUEST_TIMEOUT: Final = 30.0
#: Bounds of the accept loop's sleep when file descriptors run out.
ACCEPT_BACKOFF_FIRST: Final = 0.05
ACCEPT_BACKOFF_MAX: Final = 1.0
_RECV: Final = 65536
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
#: accept() errors that mean "out of descriptors or memory": back off, do not spin
_EXHAUSTED: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

_REASONS: Final[dict[int, str]] = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
_INTERESTING: Final = frozenset(
    {b"content-length", b"transfer-encoding", b"connection", b"expect", b"host"}
)
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, code: str = "SerializationException") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class _Gone(Exception):
    """The client closed the connection, or stayed silent between requests: just close."""


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode("utf-8")


def _response_head(status: int, length: int, request_id: str | None, keep_alive: bool) -> bytes:
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        f"Content-Length: {length}\r\n"
        f"Date: {_http_date()}\r\n"
        + (f"x-amzn-RequestId: {request_id}\r\n" if request_id else "")
        + ("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
    ).encode("latin-1")


class _Reader:
    """A socket reader that bounds what it holds and how long a request may take.

    ``deadline`` (monotonic seconds, from ``clock``) is when the request being read must be
    complete; ``None`` between requests, when ``idle`` bounds the wait instead. ``peak`` is
    the most bytes it ever held at once (what the tests check instead of RSS).
    """

    __slots__ = ("_buf", "_clock", "_idle", "_pos", "_sock", "deadline", "peak")

    def __init__(self, sock: socket.socket, idle: float, clock: Callable[[], float]) -> None:
        self._sock = sock
        self._buf = bytearray()
        self._pos = 0
        self._idle = idle
        self._clock = clock
        self.deadline: float | None = None
        self.peak = 0

    def _fill(self) -> None:
        """Receive more bytes; _Gone at EOF or idle timeout, 408 past the deadline."""
        deadline = self.deadline
        if deadline is None:
            timeout = self._idle
        else:
            timeout = deadline - self._clock()
            if timeout <= 0:
                raise _BadRequest(408, "The request was not received in time", "RequestTimeout")
        self._sock.settimeout(min(timeout, self._idle))
        try:
            data = self._sock.recv(_RECV)
        except TimeoutError:
            if deadline is None:
                raise _Gone from None
            raise _BadRequest(
                408, "The request was not received in time", "RequestTimeout"
            ) from None
        if not data:
            raise _Gone
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data
        if len(self._buf) > self.peak:
            self.peak = len(self._buf)
        if deadline is not None and self._clock() > deadline:
            raise _BadRequest(408, "The request was not received in time", "RequestTimeout")

    def has_data(self) -> bool:
        return self._pos < len(self._buf)

    def wait(self) -> None:
        """Wait (up to the idle timeout) for the first byte of the next request."""
        if not self.has_data():
            self._fill()

    def readline(self, limit: int, status: int, what: str) -> bytes:
        """One line with its ``\\n``; ``_BadRequest(status)`` when longer than ``limit``."""
        while True:
            end = self._buf.find(b"\n", self._pos, self._pos + limit + 1)
            if end >= 0:
                line = bytes(self._buf[self._pos : end + 1])
                self._pos = end + 1
                return line
            if len(self._buf) - self._pos > limit:
                raise _BadRequest(status, f"{what} is longer than {limit} bytes")
            self._fill()

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes (the caller bounded ``size``)."""
        while len(self._buf) - self._pos < size:
            self._fill()
        data = bytes(self._buf[self._pos : self._pos + size])
        self._pos += size
        return data


class LocalKMSServer:
    """A running (or ready to run) HTTP endpoint for a :class:`LocalKMS`.

    The socket is bound when the object is created (``port=0`` picks a free port; read
    :attr:`url`). Call :meth:`serve_forever` to serve in the current thread, or use the server
    as a context manager to serve from a background thread until the block ends.

    Limits (see the module docstring): ``max_connections`` served at once (more are answered
    503 and closed), ``max_body`` bytes per request body, ``request_timeout`` seconds for a
    request to arrive once begun, ``idle_timeout`` seconds between requests. ``clock``
    (monotonic seconds) and ``sleep`` (the accept loop's back-off) can be replaced in tests.
    """

    def __init__(
        self,
        kms: LocalKMS,
        host: str = "127.0.0.1",
        port: int = 4566,
        *,
        owns_kms: bool = False,
        idle_timeout: float = IDLE_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        try:
            if not isinstance(kms, LocalKMS):
                raise ConfigurationError("LocalKMSServer needs a LocalKMS")
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise ConfigurationError(f"port must be an integer from 0 to 65535, got {port!r}")
            for name, value in (
                ("max_connections", max_connections),
                ("max_body", max_body),
            ):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
            for name, seconds in (
                ("idle_timeout", idle_timeout),
                ("request_timeout", request_timeout),
            ):
                if (
                    isinstance(seconds, bool)
                    or not isinstance(seconds, (int, float))
                    or not seconds > 0
                ):
                    raise ConfigurationError(
                        f"{name} must be a number of seconds > 0, got {seconds!r}"
                    )
        except ConfigurationError:
            if owns_kms and isinstance(kms, LocalKMS):
                kms.close()
            raise
        self.kms = kms
        self._owns_kms = owns_kms
        self._idle_timeout = float(idle_timeout)
        self._request_timeout = float(request_timeout)
        self.max_connections = max_connections
        self.max_body = max_body
        self._clock = clock
        self._sleep: Callable[[float], object] = sleep or self._interruptible_sleep
        self._thread_factory: Callable[..., threading.Thread] = threading.Thread
        self._peak_buffered = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._listener = socket.create_server((host, port), family=family, backlog=128)
        except OSError as exc:
            if owns_kms:
                kms.close()
            raise ConfigurationError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._listener.setblocking(False)
        bound = self._listener.getsockname()
        self.host: str = bound[0]
        self.port: int = bound[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._loop_done = threading.Event()
        self._loop_done.set()
        self._loop_thread: threading.Thread | None = None
        self._background: threading.Thread | None = None
        self._closed = False
        self._backoff = 0.0  # > 0 while accept() keeps failing for want of descriptors
        self._refusing = False  # a "cannot start a thread" episode is under way

    def __repr__(self) -> str:
        return f"LocalKMSServer(url={self.url!r})"

    @property
    def url(self) -> str:
        """The endpoint URL, for ``endpoint_url=`` / ``--endpoint-url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def active_connections(self) -> int:
        """How many connections are being served now."""
        with self._lock:
            return len(self._connections)

    @property
    def peak_buffered_bytes(self) -> int:
        """The most bytes one finished connection ever held at once while reading requests."""
        return self._peak_buffered

    # ------------------------------------------------------------------ lifecycle

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` is called (from another thread or a
        signal handler)."""
        if self._closed:
            raise RuntimeError("this LocalKMSServer has been shut down")
        self._loop_done.clear()
        self._loop_thread = threading.current_thread()
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _events in selector.select():
                    if key.fileobj is self._wake_r or self._stopping.is_set():
                        return
                    self._accept()
        finally:
            selector.close()
            self._loop_done.set()
            if self._stopping.is_set():
                self._close_all()

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _accept(self) -> None:
        try:
            conn, _address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno in _EXHAUSTED:
                self._exhausted(exc)
            else:  # ECONNABORTED and the like: that one connection is gone
                _log.debug("accept failed: %s", exc)
            return
        if self._backoff:
            _log.warning("accepting connections again")
            self._backoff = 0.0
        with self._lock:
            if self._stopping.is_set():
                conn.close()
                return
            busy = len(self._connections) >= self.max_connections
            if not busy:
                self._connections.add(conn)
        if busy:
            self._refuse(
                conn,
                f"The local KMS is serving its maximum of {self.max_connections} connections; "
                f"try again later",
            )
            return
        try:
            thread = self._thread_factory(
                target=self._serve_connection,
                args=(conn,),
                name="kms-mrk-local-http",
                daemon=True,
            )
            thread.start()
        except RuntimeError as exc:  # "can't start new thread"
            with self._lock:
                self._connections.discard(conn)
            if not self._refusing:
                _log.warning("cannot start a thread for a connection (%s); refusing it", exc)
                self._refusing = True
            self._refuse(conn, "The local KMS cannot take another connection now; try again")
            return
        if self._refusing:
            _log.warning("threads start again; serving every connection")
            self._refusing = False

    def _exhausted(self, exc: OSError) -> None:
        """accept() failed for want of descriptors: sleep (bounded, growing), log once."""
        if not self._backoff:
            _log.warning(
                "cannot accept connections: %s; backing off until descriptors are free",
                exc.strerror or exc,
            )
            self._backoff = ACCEPT_BACKOFF_FIRST
        else:
            self._backoff = min(self._backoff * 2, ACCEPT_BACKOFF_MAX)
        self._sleep(self._backoff)

    @staticmethod
    def _refuse(conn: socket.socket, message: str) -> None:
        """Answer 503 and close, from the accept loop: never blocks, never raises."""
        body = _error_body("ServiceUnavailableException", message)
        try:
            conn.setblocking(False)
            conn.send(_response_head(503, len(body), None, False) + body)
            with contextlib.suppress(OSError):
                conn.recv(_RECV)  # what already arrived, so that closing sends no RST
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def shutdown(self) -> None:
        """Stop serving, close every connection and (if the server made it) the LocalKMS.

        Safe to call more than once, from any thread or from a signal handler.
        """
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if not self._loop_done.is_set() and self._loop_thread is threading.current_thread():
            return  # a signal handler inside serve_forever: it cleans up when it returns
        self._loop_done.wait(10)
        background = self._background
        if background is not None and background is not threading.current_thread():
            background.join(10)
        self._close_all()

    close = shutdown

    def _close_all(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        for sock in (self._listener, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()
        if self._owns_kms:
            self.kms.close()

    def start(self) -> Self:
        """Serve from a background (daemon) thread; returns self."""
        if self._background is not None:
            raise RuntimeError("this LocalKMSServer is already serving in the background")
        ready = threading.Event()

        def run() -> None:
            ready.set()
            self.serve_forever()

        self._background = threading.Thread(target=run, name="kms-mrk-local-server", daemon=True)
        self._background.start()
        ready.wait(10)
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ one connection

    def _serve_connection(self, conn: socket.socket) -> None:
        reader = _Reader(conn, self._idle_timeout, self._clock)
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # A new connection must start its first request within request_timeout: a client
            # that connects and says nothing does not hold a slot for the idle timeout.
            reader.deadline = self._clock() + self._request_timeout
            while not self._stopping.is_set():
                try:
                    keep_alive = self._one_request(conn, reader)
                except _BadRequest as bad:
                    conn.settimeout(self._idle_timeout)
                    self._write(conn, bad.status, _error_body(bad.code, bad.message), None, False)
                    _linger(conn)
                    return
                if not keep_alive:
                    return
        except (_Gone, OSError, ValueError):
            return  # client went away, timed out, or the server is shutting down
        finally:
            if reader.peak > self._peak_buffered:
                self._peak_buffered = reader.peak
            with self._lock:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _one_request(self, conn: socket.socket, reader: _Reader) -> bool:
        """Read, answer and return whether to keep the connection open.

        The reader's deadline is set when the request begins (its first byte, or the
        connection for a first request) and cleared once it has been read.
        """
        reader.wait()
        if reader.deadline is None:
            reader.deadline = self._clock() + self._request_timeout
        line = reader.readline(MAX_REQUEST_LINE, 400, "The request line")
        blank = 0
        while line in (b"\r\n", b"\n"):
            blank += 1
            if blank > 4:
                raise _BadRequest(400, "Malformed HTTP request line")
            line = reader.readline(MAX_REQUEST_LINE, 400, "The request line")
        parts = line.split()
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise _BadRequest(400, "Malformed HTTP request line")
        method, target, version = (p.decode("latin-1") for p in parts)
        headers: dict[str, str] = {}
        special: dict[bytes, list[str]] = {}
        count = 0
        total = 0
        while True:
            raw = reader.readline(MAX_HEADER_LINE, 431, "A request header line")
            if raw in (b"\r\n", b"\n"):
                break
            count += 1
            total += len(raw)
            if count > MAX_HEADERS or total > MAX_HEADER_BYTES:
                raise _BadRequest(431, "Too many or too long request headers")
            name, colon, value = raw.partition(b":")
            if not colon or not name.strip() or name != name.strip():
                raise _BadRequest(400, "Malformed HTTP header line")
            key = name.decode("latin-1")
            text = value.strip().decode("latin-1")
            previous = headers.get(key)
            headers[key] = text if previous is None else f"{previous},{text}"
            lname = name.lower()
            if lname in _INTERESTING:
                special.setdefault(lname, []).append(text)
        connection = ",".join(special.get(b"connection", ())).lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        expect_continue = ",".join(special.get(b"expect", ())).lower() == "100-continue"
        body = self._read_body(conn, reader, special, expect_continue)
        reader.deadline = None
        host = (special.get(b"host") or [f"{self.host}:{self.port}"])[0]
        request = HttpRequest(method, f"http://{host}{target}", headers, body)
        try:
            response = self.kms.send(request)
        except Exception:  # the LocalKMS was closed under us, or worse: never an HTML page
            _log.exception("the local KMS could not answer")
            self._write(
                conn,
                500,
                _error_body("KMSInternalException", "The local KMS could not answer"),
                None,
                False,
            )
            return False
        conn.settimeout(self._idle_timeout)
        self._write(
            conn,
            response.status,
            response.body,
            response.headers.get("x-amzn-requestid"),
            keep_alive,
        )
        return keep_alive

    def _read_body(
        self,
        conn: socket.socket,
        reader: _Reader,
        special: dict[bytes, list[str]],
        expect_continue: bool,
    ) -> bytes:
        """The request body; ``100 Continue`` first when asked, once its length is accepted."""
        encodings = special.get(b"transfer-encoding")
        lengths = special.get(b"content-length")
        if encodings is not None:
            if lengths is not None:
                raise _BadRequest(400, "Content-Length and Transfer-Encoding cannot be combined")
            coding = ",".join(encodings).strip().lower()
            if coding != "chunked":
                raise _BadRequest(
                    501, "Transfer-Encoding must be chunked (no other coding is supported)"
                )
            if expect_continue:
                conn.sendall(_CONTINUE)
            return _read_chunked(reader, self.max_body)
        if lengths is None:
            return b""
        if len(set(lengths)) != 1:
            raise _BadRequest(400, "Conflicting Content-Length headers")
        text = lengths[0]
        if not text.isascii() or not text.isdigit():
            raise _BadRequest(400, "Content-Length must be a non-negative decimal number")
        if len(text) > 12 or int(text) > self.max_body:
            raise _BadRequest(413, f"The request body is larger than {self.max_body} bytes")
        length = int(text)
        if expect_continue:
            conn.sendall(_CONTINUE)
        return reader.read(length)

    @staticmethod
    def _write(
        conn: socket.socket, status: int, body: bytes, request_id: str | None, keep_alive: bool
    ) -> None:
        conn.sendall(_response_head(status, len(body), request_id, keep_alive) + body)


_MAX_CHUNK_DIGITS: Final = 8
#: After an error answer, read (and drop) at most this much for at most this long before
#: closing, so that the client reads the answer instead of a reset (a lingering close).
_LINGER_BYTES: Final = 256 * 1024
_LINGER_SECONDS: Final = 1.0


def _linger(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(_LINGER_SECONDS)
        end = time.monotonic() + _LINGER_SECONDS
        drained = 0
        scratch = bytearray(_RECV)
        while drained < _LINGER_BYTES and time.monotonic() < end:
            got = conn.recv_into(scratch)
            if not got:
                return
            drained += got
    except OSError:
        pass


def _read_chunked(reader: _Reader, limit: int) -> bytes:
    """A chunked body of at most ``limit`` bytes; strict: sizes of 1 to 8 hex digits, no
    chunk extensions, no trailers, CRLF after each chunk."""
    body = bytearray()
    while True:
        size_line = reader.readline(_MAX_CHUNK_DIGITS + 2, 400, "A chunk size line")
        digits = size_line.rstrip(b"\r\n")
        if b";" in digits:
            raise _BadRequest(400, "Chunk extensions are not accepted")
        if not digits or len(digits) > _MAX_CHUNK_DIGITS or not _HEX.issuperset(digits):
            raise _BadRequest(400, "Malformed chunk size: expected 1 to 8 hexadecimal digits")
        size = int(digits, 16)
        if size == 0:
            if reader.readline(2, 400, "The line after the last chunk") not in (b"\r\n", b"\n"):
                raise _BadRequest(400, "Chunked trailers are not accepted")
            return bytes(body)
        if len(body) + size > limit:
            raise _BadRequest(413, f"The request body is larger than {limit} bytes")
        body += reader.read(size)
        if reader.readline(2, 400, "The end of a chunk") not in (b"\r\n", b"\n"):
            raise _BadRequest(400, "A chunk is longer than its declared size")


def serve(
    host: str = "127.0.0.1",
    port: int = 4566,
    *,
    kms: LocalKMS | None = None,
    state_file: str | os.PathLike[str] | None = None,
    max_connections: int = MAX_CONNECTIONS,
    request_timeout: float = REQUEST_TIMEOUT,
    **kms_options: Any,
) -> LocalKMSServer:
    """Bind an HTTP endpoint for a local KMS and return the (not yet serving) server.

    Without ``kms`` a :class:`LocalKMS` is made from ``state_file`` and ``kms_options`` (any
    LocalKMS keyword) and closed with the server. Serve with ``server.serve_forever()``, or
    ``with serve(port=0) as server: ...`` to serve from a background thread.
    """
    limits: dict[str, Any] = {
        "max_connections": max_connections,
        "request_timeout": request_timeout,
    }
    if kms is not None:
        if state_file is not None or kms_options:
            raise ConfigurationError(
                "serve(): pass either kms= or the options to build one, not both"
            )
        return LocalKMSServer(kms, host, port, **limits)
    return LocalKMSServer(
        LocalKMS(state_file=state_file, **kms_options), host, port, owns_kms=True, **limits
    )
