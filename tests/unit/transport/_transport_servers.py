"""Loopback servers for the transport tests (127.0.0.1, ephemeral ports, threads).

The fixtures that start them are in conftest.py.

* ``http_server``: a keep-alive HTTP/1.1 server that records every request, counts connections
  and answers with whatever the test queued (default: a KMS-style JSON 200).
* ``raw_server``: a TCP server running a test-supplied function per connection, for servers
  that misbehave (never answer, close mid-response, reset).
* ``tls_files`` / ``https_server``: a self-signed certificate made with ``cryptography`` and the
  HTTP server behind TLS.
* ``proxy_server``: a forward proxy that answers absolute-URI requests itself and tunnels
  CONNECT to loopback targets.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = [
    "PROXY_VARS",
    "ProxyServer",
    "RawServer",
    "Recorded",
    "RecordingServer",
    "Reply",
    "TlsFiles",
    "make_self_signed",
    "read_request",
    "serve_https",
]

PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "REQUEST_METHOD",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


# ---------------------------------------------------------------------------------------------
# Keep-alive HTTP server
# ---------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", "req-1"),
        ]
    )
    body: bytes = b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}'
    close: bool = False
    hold: threading.Event | None = None  # wait for this event before answering


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Recorded] = []
        self.connections = 0
        self.closed_connections = 0
        self.connection_closed = threading.Condition()
        self.replies: list[Reply] = []
        self.default_reply = Reply()
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if self.replies else self.default_reply

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients in these tests hang up on purpose (TLS rejected, timeouts): stay quiet."""

    def wait_closed(self, count: int, timeout: float = 5.0) -> bool:
        with self.connection_closed:
            return self.connection_closed.wait_for(
                lambda: self.closed_connections >= count, timeout=timeout
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.connection_number = self.server.connections

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connection_closed:
                self.server.closed_connections += 1
                self.server.connection_closed.notify_all()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.requests.append(
                Recorded(
                    self.command,
                    self.path,
                    {k: v for k, v in self.headers.items()},
                    body,
                    self.connection_number,
                )
            )
        reply = self.server.next_reply()
        if reply.hold is not None:
            reply.hold.wait(10)
        lines = [f"HTTP/1.1 {reply.status} X"]
        lines += [f"{k}: {v}" for k, v in reply.headers]
        lines.append(f"Content-Length: {len(reply.body)}")
        if reply.close:
            lines.append("Connection: close")
            self.close_connection = True
        # One write: avoids a Nagle / delayed-ACK stall between headers and body.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Raw TCP server for misbehaving peers
# ---------------------------------------------------------------------------------------------


class RawServer:
    """Accepts connections and runs ``handler(conn)`` for each one in a thread."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _loop(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handler(conn)

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in self.accepted:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(5)


def read_request(conn: socket.socket) -> bytes:
    """Read one request (headers and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


# ---------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------


@dataclass
class TlsFiles:
    cert: Path  # self-signed, valid for localhost and 127.0.0.1
    key: Path
    other_cert: Path  # self-signed, valid only for other.test
    other_key: Path


def make_self_signed(names: list[str], ips: list[str], cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = private.public_key()
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def serve_https(cert: Path, key: Path, client_ca: Path | None = None) -> Iterator[RecordingServer]:
    """Serve HTTPS; with ``client_ca``, require a client certificate signed by it (mTLS)."""
    server = RecordingServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    # The handshake runs in the handler thread, so a client that gives up cannot stall accept().
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ---------------------------------------------------------------------------------------------
# Forward proxy
# ---------------------------------------------------------------------------------------------


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []  # (method, target, headers)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Tunnels end when either side hangs up: stay quiet."""


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def _record(self) -> None:
        with self.server.lock:
            self.server.seen.append((self.command, self.path, dict(self.headers.items())))

    def _answer(self) -> None:
        """Answer a forwarded (absolute-URI) request itself, saying what it received."""
        self._record()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"proxied {self.command} {self.path}".encode()
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nX-Proxy: yes\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    do_GET = do_POST = _answer

    def do_CONNECT(self) -> None:
        self._record()
        host, _, port = self.path.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):  # this proxy only ever reaches loopback
            self.send_error(403)
            return
        upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client = self.connection
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 5)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        finally:
            upstream.close()
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass
