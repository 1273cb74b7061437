"""A lean HTTP/1.1 exchange on an open socket, for the default transport.

The transport opens, verifies (TLS) and pools the connections (``_pool``, or urllib3 through
a proxy); this module writes one request and reads one response on such a socket. It
replaces ``http.client``'s per-request work (header-by-header validation and writes, and a
response header parser built on the ``email`` package), which costs more CPU than the rest
of a KMS call together.

What it reads: a status line, headers (folded lines joined, repeated headers joined with
", "), then the body by ``Content-Length``, by ``Transfer-Encoding: chunked``, or to the end
of the connection. Interim 1xx responses are skipped. Anything malformed raises an
:class:`HttpProtocolError` (this module's own, named as ``http.client``'s are, so that neither
``http.client`` nor the ``email`` package behind it is imported), which the transport maps to
``ConnectionClosedError`` with the host and phase; a response that ends early raises
:class:`IncompleteRead`.

Everything a server controls is bounded, so no server can hold a call or the memory of the
process: the header block (:data:`MAX_HEADER_BYTES`, :data:`MAX_HEADERS` lines), the number
of interim responses (:data:`MAX_INTERIM_RESPONSES`), a chunk-size line with its extensions
(:data:`MAX_CHUNK_LINE_BYTES`, at most 16 hex digits), the trailers (the same bounds as the
headers), the body (:data:`MAX_BODY_BYTES`, :class:`ResponseTooLarge`) and, given a
``deadline``, the total time (:class:`TotalTimeout`): the socket timeout of each read is
shortened to what is left, so a server that trickles one byte at a time cannot stretch an
attempt past it. Bytes are read into one ``bytearray`` that is scanned once, so the work is
linear in the size of the response.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CHUNK_LINE_BYTES",
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_INTERIM_RESPONSES",
    "BadStatusLine",
    "HttpProtocolError",
    "IncompleteRead",
    "LineTooLong",
    "RemoteDisconnected",
    "Response",
    "ResponseTooLarge",
    "TotalTimeout",
    "exchange",
    "format_head",
    "read_response",
]

#: The status line and header block of one response (and, separately, the trailers).
MAX_HEADER_BYTES = 65536
#: Header lines of one response (and, separately, trailer lines); http.client allows 100.
MAX_HEADERS = 128
#: ``100 Continue`` and other interim responses before the final one.
MAX_INTERIM_RESPONSES = 16
#: A chunk-size line including chunk extensions.
MAX_CHUNK_LINE_BYTES = 4096
#: KMS answers are small (a few KiB); anything larger than this is refused, so a hostile or
#: broken server cannot make the client hold an unbounded body in memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
_RECV = 65536
_COMPACT = 1 << 20  # drop consumed bytes from the buffer once this many have piled up

_HEX_DIGITS = b"0123456789abcdefABCDEF"


class HttpProtocolError(Exception):
    """The response breaks HTTP/1.1 framing (or one of this module's bounds)."""


class BadStatusLine(HttpProtocolError):
    """The first line is not an HTTP status line."""


class LineTooLong(HttpProtocolError):
    """A header block, chunk-size line or trailer block is longer than its bound."""


class RemoteDisconnected(HttpProtocolError):
    """The server closed the connection before sending anything of a response."""


class IncompleteRead(HttpProtocolError):
    """The response ended early: ``partial`` holds what arrived, ``expected`` what was missing."""

    def __init__(self, partial: bytes, expected: int | None = None) -> None:
        self.partial = partial
        self.expected = expected
        more = f", {expected} more expected" if expected is not None else ""
        super().__init__(f"{len(partial)} bytes read{more}")


class ResponseTooLarge(HttpProtocolError):
    """The response body is larger than :data:`MAX_BODY_BYTES`."""

    def __init__(self, limit: int, seen: int, *, announced: bool) -> None:
        self.limit = limit
        self.seen = seen
        how = "announced" if announced else "received before giving up"
        super().__init__(
            f"the response body is larger than the {limit}-byte limit ({seen} bytes {how})"
        )


class TotalTimeout(TimeoutError):
    """The attempt's total time bound passed before the response was complete."""


class Response:
    """Status, lower-cased headers, body, and whether the connection must be closed."""

    __slots__ = ("body", "headers", "status", "will_close")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, will_close: bool):
        self.status = status
        self.headers = headers
        self.body = body
        self.will_close = will_close


def format_head(method: str, target: str, host: str, headers: dict[str, str], length: int) -> bytes:
    """The request line and headers.

    ``Content-Length`` is set here; ``Host`` is ``host`` unless the request carries its own
    (which is then what was signed); ``Accept-Encoding: identity`` is added unless given
    (the body is never decoded, so it must arrive as the server has it).
    """
    lines = [f"{method} {target} HTTP/1.1", "", f"Content-Length: {length}"]
    encoding_given = False
    for name, value in headers.items():
        lower = name.lower()
        if lower == "content-length":
            continue
        if lower == "host":
            host = value
            continue
        if lower == "accept-encoding":
            encoding_given = True
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"header {name!r} has a forbidden character")
        lines.append(f"{name}: {value}")
    if "\n" in host or "\r" in host:
        raise ValueError("the Host header has a forbidden character")
    lines[1] = f"Host: {host}"
    if not encoding_given:
        lines.append("Accept-Encoding: identity")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def exchange(
    sock: socket.socket,
    head: bytes,
    body: bytes,
    method: str = "POST",
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Response:
    """Send one request and read its whole response."""
    sock.sendall(head + body if len(body) < 65536 else head)
    if len(body) >= 65536:
        sock.sendall(body)
    return read_response(sock, method, deadline=deadline, clock=clock)


class _Reader:
    """A socket with a read buffer: ``buf[pos:]`` is received but not yet consumed."""

    __slots__ = ("buf", "clock", "deadline", "pos", "saved_timeout", "sock")

    def __init__(
        self, sock: socket.socket, deadline: float | None, clock: Callable[[], float]
    ) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.deadline = deadline
        self.clock = clock
        self.saved_timeout: float | None = -1.0  # -1: the socket's timeout was not changed

    def recv(self, size: int = _RECV) -> bytes:
        """One ``recv`` within what is left of the deadline; ``b""`` at the end of stream."""
        deadline = self.deadline
        if deadline is None:
            return self.sock.recv(size)
        left = deadline - self.clock()
        if left <= 0:
            raise TotalTimeout("the attempt's total time bound passed")
        current = self.sock.gettimeout()
        if current is not None and current <= left:
            return self.sock.recv(size)
        if self.saved_timeout == -1.0:
            self.saved_timeout = current
        self.sock.settimeout(left)
        try:
            return self.sock.recv(size)
        except TimeoutError:  # the shortened timeout, so the deadline, passed
            raise TotalTimeout("the attempt's total time bound passed") from None

    def fill(self) -> bool:
        """Receive more bytes into the buffer; False at the end of the stream."""
        chunk = self.recv()
        if not chunk:
            return False
        self.buf += chunk
        return True

    def compact(self) -> None:
        if self.pos >= _COMPACT:
            del self.buf[: self.pos]
            self.pos = 0

    def find(self, sep: bytes, limit: int, what: str) -> int:
        """Index of the next ``sep`` after ``pos`` in at most ``limit`` bytes (reading more).

        Raises ``LineTooLong`` past the limit and ``IncompleteRead`` (or ``RemoteDisconnected``
        when nothing of a response arrived) at the end of the stream.
        """
        self.compact()
        buf, start = self.buf, self.pos
        scan = start
        while True:
            index = buf.find(sep, scan)
            if index >= 0:
                if index - start > limit:
                    raise LineTooLong(what)
                return index
            if len(buf) - start > limit:
                raise LineTooLong(what)
            scan = max(start, len(buf) - len(sep) + 1)
            if not self.fill():
                if what == "response headers" and len(buf) == start:
                    raise RemoteDisconnected("Remote end closed connection without response")
                raise IncompleteRead(bytes(buf[start:]))

    def read_into(self, out: bytearray, size: int) -> None:
        """Move exactly ``size`` bytes to ``out``: buffered ones first, then straight off the
        socket (never reading past them, so no copy of the tail is needed)."""
        have = min(size, len(self.buf) - self.pos)
        if have:
            out += memoryview(self.buf)[self.pos : self.pos + have]
            self.pos += have
        need = size - have
        while need > 0:
            chunk = self.recv(min(_RECV, need))
            if not chunk:
                raise IncompleteRead(bytes(out), need)
            out += chunk
            need -= len(chunk)

    def restore(self) -> None:
        if self.saved_timeout != -1.0:
            with contextlib.suppress(OSError):  # the socket may have been closed meanwhile
                self.sock.settimeout(self.saved_timeout)


def read_response(
    sock: socket.socket,
    method: str = "POST",
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Response:
    """Read one response (interim 1xx responses skipped) from ``sock``.

    ``deadline`` is a ``clock()`` time by which the response must be complete, or
    :class:`TotalTimeout` is raised; the socket's own timeout is restored afterwards.
    """
    reader = _Reader(sock, deadline, clock)
    try:
        return _read(reader, method)
    finally:
        reader.restore()


def _read(reader: _Reader, method: str) -> Response:
    interim = 0
    while True:
        end = reader.find(b"\r\n\r\n", MAX_HEADER_BYTES, "response headers")
        head = reader.buf[reader.pos : end]
        reader.pos = end + 4
        status, version, headers = _parse_head(head)
        if 100 <= status < 200 and status != 101:  # an interim response: the real one follows
            interim += 1
            if interim > MAX_INTERIM_RESPONSES:
                raise HttpProtocolError(
                    f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses"
                )
            continue
        break
    connection = headers.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    buf = reader.buf
    if method == "HEAD" or status in (204, 304):
        return Response(status, headers, b"", will_close or len(buf) > reader.pos)
    encoding = headers.get("transfer-encoding")
    if encoding is not None and "chunked" in encoding.lower():
        body = _read_chunked(reader)
        return Response(status, headers, body, will_close or len(reader.buf) > reader.pos)
    length_text = headers.get("content-length")
    if length_text is not None:
        if not (length_text.isdigit() and length_text.isascii() and len(length_text) < 20):
            raise HttpProtocolError(f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise ResponseTooLarge(MAX_BODY_BYTES, length, announced=True)
        pos = reader.pos
        if len(buf) - pos >= length:  # the usual case: the body came with the headers
            with memoryview(buf) as view:
                body = view[pos : pos + length].tobytes()
            return Response(status, headers, body, will_close or len(buf) - pos > length)
        out = bytearray()
        reader.read_into(out, length)
        return Response(status, headers, bytes(out), will_close)
    # No length: the body runs to the end of the connection.
    out = bytearray(memoryview(buf)[reader.pos :])
    while True:
        if len(out) > MAX_BODY_BYTES:
            raise ResponseTooLarge(MAX_BODY_BYTES, len(out), announced=False)
        chunk = reader.recv()
        if not chunk:
            break
        out += chunk
    return Response(status, headers, bytes(out), True)


def _parse_head(head: bytes | bytearray) -> tuple[int, str, dict[str, str]]:
    lines = head.split(b"\r\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(None, 2)
    code = parts[1] if len(parts) > 1 else ""
    if (
        len(code) != 3
        or not code.isdigit()
        or not code.isascii()
        or code[0] == "0"
        or not parts[0].startswith("HTTP/")
    ):
        raise BadStatusLine(status_line[:80])
    if len(lines) > MAX_HEADERS + 1:
        raise HttpProtocolError(f"more than {MAX_HEADERS} header lines")
    headers: dict[str, str] = {}
    last = ""
    for raw in lines[1:]:
        line = raw.decode("latin-1")
        if line[:1] in (" ", "\t") and last:  # an obsolete folded continuation
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpProtocolError(f"malformed header line {line[:40]!r}")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
        last = key
    return int(code), parts[0], headers


def _read_chunked(reader: _Reader) -> bytes:
    out = bytearray()
    while True:
        end = reader.find(b"\r\n", MAX_CHUNK_LINE_BYTES, "chunk size line")
        line = bytes(reader.buf[reader.pos : end])
        reader.pos = end + 2
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not 0 < len(size_text) <= 16 or size_text.strip(_HEX_DIGITS):
            raise HttpProtocolError(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if len(out) + size > MAX_BODY_BYTES:
            raise ResponseTooLarge(MAX_BODY_BYTES, len(out) + size, announced=True)
        if size == 0:
            _skip_trailers(reader)
            return bytes(out)
        reader.read_into(out, size)
        while len(reader.buf) - reader.pos < 2:
            if not reader.fill():
                raise IncompleteRead(bytes(out))
        if reader.buf[reader.pos : reader.pos + 2] != b"\r\n":
            raise HttpProtocolError("chunk not followed by CRLF")
        reader.pos += 2


def _skip_trailers(reader: _Reader) -> None:
    """Read the trailer fields up to the blank line, within the header bounds."""
    count = size = 0
    while True:
        end = reader.find(b"\r\n", MAX_HEADER_BYTES - size, "trailers")
        length = end - reader.pos
        reader.pos = end + 2
        if length == 0:
            return
        count += 1
        size += length + 2
        if count > MAX_HEADERS:
            raise HttpProtocolError(f"more than {MAX_HEADERS} trailer lines")
