"""The local KMS over HTTP: one endpoint for every Region, HTTP/1.1 with keep-alive.

Design, chosen by measurement (see docs/local-kms.md and bench/bench_local_kms.py): a small
hand-written HTTP/1.1 server with one thread per connection, blocking sockets and a buffered
reader. A ``ThreadingHTTPServer`` with a lean handler answered about 3,900 DescribeKey
requests per second on one keep-alive connection here (and 23 per second until Nagle's
algorithm was turned off: it writes headers and body separately); this server answers about
5,800, because the only per-request work besides the local KMS itself is splitting a few
header lines and one ``sendall`` of the whole response. Threads (not asyncio) keep the local
KMS's synchronous handlers simple, let a state-file ``fsync`` in one connection overlap
requests in others, and scale to the handful of concurrent clients a development endpoint
sees.

HTTP support: request lines and headers up to 64 KiB, ``Content-Length`` and chunked bodies
(up to 1 MiB), ``Expect: 100-continue`` (answered only once the declared length is
accepted, so a client is never invited to send a body that is then refused),
``Connection: close`` and keep-alive (HTTP/1.1 by default, HTTP/1.0 on request). Anything
malformed gets a JSON error body, never HTML.
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import socket
import threading
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Final

from kms_mrk.errors import ConfigurationError
from kms_mrk.local._kms import LocalKMS
from kms_mrk.transport._types import HttpRequest

if TYPE_CHECKING:
    import os
    from io import BufferedReader

    from typing_extensions import Self

__all__ = ["LocalKMSServer", "serve"]

_log = logging.getLogger("kms_mrk.local")

MAX_LINE: Final = 65536
MAX_HEADERS: Final = 200
MAX_BODY: Final = 1 << 20
IDLE_TIMEOUT: Final = 300.0
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"

_REASONS: Final[dict[int, str]] = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
_INTERESTING: Final = frozenset(
    {b"content-length", b"transfer-encoding", b"connection", b"expect", b"host"}
)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode("utf-8")


class LocalKMSServer:
    """A running (or ready to run) HTTP endpoint for a :class:`LocalKMS`.

    The socket is bound when the object is created (``port=0`` picks a free port; read
    :attr:`url`). Call :meth:`serve_forever` to serve in the current thread, or use the server
    as a context manager to serve from a background thread until the block ends.
    """

    def __init__(
        self,
        kms: LocalKMS,
        host: str = "127.0.0.1",
        port: int = 4566,
        *,
        owns_kms: bool = False,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        if not isinstance(kms, LocalKMS):
            raise ConfigurationError("LocalKMSServer needs a LocalKMS")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an integer from 0 to 65535, got {port!r}")
        self.kms = kms
        self._owns_kms = owns_kms
        self._idle_timeout = idle_timeout
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

    def __repr__(self) -> str:
        return f"LocalKMSServer(url={self.url!r})"

    @property
    def url(self) -> str:
        """The endpoint URL, for ``endpoint_url=`` / ``--endpoint-url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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

    def _accept(self) -> None:
        try:
            conn, _address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            _log.warning("accept failed: %s", exc)
            return
        thread = threading.Thread(
            target=self._serve_connection, args=(conn,), name="kms-mrk-local-http", daemon=True
        )
        with self._lock:
            if self._stopping.is_set():
                conn.close()
                return
            self._connections.add(conn)
        thread.start()

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
        reader: BufferedReader | None = None
        try:
            conn.setblocking(True)
            conn.settimeout(self._idle_timeout)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            stream: BufferedReader = conn.makefile("rb", buffering=65536)  # type: ignore[assignment]
            reader = stream
            while not self._stopping.is_set():
                try:
                    keep_alive = self._one_request(conn, stream)
                except _BadRequest as bad:
                    self._write(
                        conn,
                        bad.status,
                        _error_body("SerializationException", bad.message),
                        None,
                        False,
                    )
                    return
                if not keep_alive:
                    return
        except (OSError, ValueError):
            return  # client went away, timed out, or the server is shutting down
        finally:
            with self._lock:
                self._connections.discard(conn)
            if reader is not None:
                with contextlib.suppress(OSError, ValueError):
                    reader.close()
            with contextlib.suppress(OSError):
                conn.close()

    def _one_request(self, conn: socket.socket, reader: BufferedReader) -> bool:
        """Read, answer and return whether to keep the connection open."""
        line = reader.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):
            line = reader.readline(MAX_LINE + 1)
        if not line:
            return False
        if len(line) > MAX_LINE:
            raise _BadRequest(400, "The request line is too long")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise _BadRequest(400, "Malformed HTTP request line")
        method, target, version = (p.decode("latin-1") for p in parts)
        headers: dict[str, str] = {}
        special: dict[bytes, str] = {}
        count = 0
        while True:
            raw = reader.readline(MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            count += 1
            if count > MAX_HEADERS or len(raw) > MAX_LINE:
                raise _BadRequest(431, "Too many or too long request headers")
            name, colon, value = raw.partition(b":")
            if not colon or not name.strip():
                raise _BadRequest(400, "Malformed HTTP header line")
            key = name.strip().decode("latin-1")
            text = value.strip().decode("latin-1")
            previous = headers.get(key)
            headers[key] = text if previous is None else f"{previous},{text}"
            lname = name.strip().lower()
            if lname in _INTERESTING:
                special[lname] = text
        connection = special.get(b"connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        expect_continue = special.get(b"expect", "").lower() == "100-continue"
        body = self._read_body(conn, reader, special, expect_continue)
        host = special.get(b"host") or f"{self.host}:{self.port}"
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
        self._write(
            conn,
            response.status,
            response.body,
            response.headers.get("x-amzn-requestid"),
            keep_alive,
        )
        return keep_alive

    @staticmethod
    def _read_body(
        conn: socket.socket,
        reader: BufferedReader,
        special: dict[bytes, str],
        expect_continue: bool,
    ) -> bytes:
        """The request body; ``100 Continue`` first when asked, once its length is accepted."""
        if "chunked" in special.get(b"transfer-encoding", "").lower():
            if expect_continue:
                conn.sendall(_CONTINUE)
            return _read_chunked(reader)
        length_text = special.get(b"content-length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadRequest(400, "Content-Length is not a number") from None
        if length < 0:
            raise _BadRequest(400, "Content-Length is negative")
        if length > MAX_BODY:
            raise _BadRequest(413, f"The request body is larger than {MAX_BODY} bytes")
        if expect_continue:
            conn.sendall(_CONTINUE)
        body = reader.read(length)
        if len(body) != length:
            raise OSError("the client closed the connection mid-body")
        return body

    @staticmethod
    def _write(
        conn: socket.socket, status: int, body: bytes, request_id: str | None, keep_alive: bool
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Date: {_http_date()}\r\n"
            + (f"x-amzn-RequestId: {request_id}\r\n" if request_id else "")
            + ("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
        )
        conn.sendall(head.encode("latin-1") + body)


def _read_chunked(reader: BufferedReader) -> bytes:
    body = bytearray()
    while True:
        size_line = reader.readline(MAX_LINE + 1)
        if not size_line:
            raise OSError("the client closed the connection mid-body")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest(400, "Malformed chunk size") from None
        if size == 0:
            while reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise _BadRequest(413, f"The request body is larger than {MAX_BODY} bytes")
        chunk = reader.read(size)
        if len(chunk) != size:
            raise OSError("the client closed the connection mid-body")
        body += chunk
        reader.readline(MAX_LINE + 1)


def serve(
    host: str = "127.0.0.1",
    port: int = 4566,
    *,
    kms: LocalKMS | None = None,
    state_file: str | os.PathLike[str] | None = None,
    **kms_options: Any,
) -> LocalKMSServer:
    """Bind an HTTP endpoint for a local KMS and return the (not yet serving) server.

    Without ``kms`` a :class:`LocalKMS` is made from ``state_file`` and ``kms_options`` (any
    LocalKMS keyword) and closed with the server. Serve with ``server.serve_forever()``, or
    ``with serve(port=0) as server: ...`` to serve from a background thread.
    """
    if kms is not None:
        if state_file is not None or kms_options:
            raise ConfigurationError(
                "serve(): pass either kms= or the options to build one, not both"
            )
        return LocalKMSServer(kms, host, port)
    return LocalKMSServer(LocalKMS(state_file=state_file, **kms_options), host, port, owns_kms=True)
