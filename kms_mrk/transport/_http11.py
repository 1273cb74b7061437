"""A lean HTTP/1.1 exchange on an open socket, for the urllib3 transport's direct path.

urllib3 opens, verifies (TLS) and pools the connections; this module writes one request and
reads one response on such a socket. It replaces ``http.client``'s per-request work
(header-by-header validation and writes, and a response header parser built on the
``email`` package), which costs more CPU than the rest of a KMS call together.

What it reads: a status line, headers (folded lines joined, repeated headers joined with
", "), then the body by ``Content-Length``, by ``Transfer-Encoding: chunked``, or to the end
of the connection. Interim 1xx responses are skipped. Anything malformed raises an
``http.client`` exception, which the transport maps to ``ConnectionClosedError`` with the
host and phase; a response that ends early raises ``IncompleteRead``.
"""

from __future__ import annotations

import http.client
import socket

__all__ = ["MAX_BODY_BYTES", "MAX_HEADER_BYTES", "Response", "exchange", "format_head"]

MAX_HEADER_BYTES = 65536
#: KMS answers are small (a few KiB); anything larger than this is refused, so a hostile or
#: broken server cannot make the client hold an unbounded body in memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
_RECV = 65536


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


def exchange(sock: socket.socket, head: bytes, body: bytes, method: str = "POST") -> Response:
    """Send one request and read its whole response."""
    sock.sendall(head + body if len(body) < 65536 else head)
    if len(body) >= 65536:
        sock.sendall(body)
    return read_response(sock, method)


def read_response(sock: socket.socket, method: str = "POST") -> Response:
    """Read one response (interim 1xx responses skipped) from ``sock``."""
    buf = b""
    rest = b""
    status, version = 0, ""
    headers: dict[str, str] = {}
    while True:
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise http.client.LineTooLong("response headers")
            chunk = sock.recv(_RECV)
            if not chunk:
                if buf:
                    raise http.client.IncompleteRead(buf)
                raise http.client.RemoteDisconnected(
                    "Remote end closed connection without response"
                )
            buf += chunk
            end = buf.find(b"\r\n\r\n")
        if end > MAX_HEADER_BYTES:
            raise http.client.LineTooLong("response headers")
        head, rest = buf[:end], buf[end + 4 :]
        status, version, headers = _parse_head(head)
        if 100 <= status < 200 and status != 101:
            buf = rest  # an interim response: the real one follows
            continue
        break
    connection = headers.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    if method == "HEAD" or status in (204, 304):
        return Response(status, headers, b"", will_close or bool(rest))
    encoding = headers.get("transfer-encoding")
    if encoding is not None and "chunked" in encoding.lower():
        body, extra = _read_chunked(sock, rest)
        return Response(status, headers, body, will_close or bool(extra))
    length_text = headers.get("content-length")
    if length_text is not None:
        if not length_text.isdigit():
            raise http.client.HTTPException(f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise http.client.HTTPException(
                f"response body of {length} bytes exceeds the {MAX_BODY_BYTES}-byte limit"
            )
        if len(rest) < length:
            parts = [rest]
            have = len(rest)
            while have < length:
                chunk = sock.recv(min(_RECV, length - have))
                if not chunk:
                    raise http.client.IncompleteRead(b"".join(parts), length - have)
                parts.append(chunk)
                have += len(chunk)
            rest = b"".join(parts)
        body = rest[:length]
        return Response(status, headers, body, will_close or len(rest) > length)
    parts = [rest]
    total = len(rest)
    while True:  # no length: the body runs to the end of the connection
        if total > MAX_BODY_BYTES:
            raise http.client.HTTPException(
                f"response body exceeds the {MAX_BODY_BYTES}-byte limit"
            )
        chunk = sock.recv(_RECV)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return Response(status, headers, b"".join(parts), True)


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.split(b"\r\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line[:80])
    status = int(parts[1])
    if not 100 <= status <= 999:
        raise http.client.BadStatusLine(status_line[:80])
    headers: dict[str, str] = {}
    last = ""
    for raw in lines[1:]:
        line = raw.decode("latin-1")
        if line[:1] in (" ", "\t") and last:  # an obsolete folded continuation
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise http.client.HTTPException(f"malformed header line {line[:40]!r}")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
        last = key
    return status, parts[0], headers


def _read_chunked(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes]:
    parts: list[bytes] = []
    total = 0
    while True:
        end = buf.find(b"\r\n")
        while end < 0:
            buf = _more(sock, buf)
            end = buf.find(b"\r\n")
        size_text = buf[:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise http.client.HTTPException(f"bad chunk size {size_text[:20]!r}") from None
        if size > MAX_BODY_BYTES:
            raise http.client.HTTPException(
                f"a chunk of {size} bytes exceeds the {MAX_BODY_BYTES}-byte limit"
            )
        buf = buf[end + 2 :]
        if size == 0:
            while True:  # trailers, up to the blank line
                end = buf.find(b"\r\n")
                while end < 0:
                    buf = _more(sock, buf)
                    end = buf.find(b"\r\n")
                line, buf = buf[:end], buf[end + 2 :]
                if not line:
                    return b"".join(parts), buf
        while len(buf) < size + 2:
            buf = _more(sock, buf)
        if buf[size : size + 2] != b"\r\n":
            raise http.client.HTTPException("chunk not followed by CRLF")
        parts.append(buf[:size])
        total += size
        if total > MAX_BODY_BYTES:
            raise http.client.HTTPException(
                f"response body exceeds the {MAX_BODY_BYTES}-byte limit"
            )
        buf = buf[size + 2 :]


def _more(sock: socket.socket, buf: bytes) -> bytes:
    if len(buf) > MAX_BODY_BYTES + 65536:
        raise http.client.HTTPException("chunked response too large")
    chunk = sock.recv(_RECV)
    if not chunk:
        raise http.client.IncompleteRead(buf)
    return buf + chunk
