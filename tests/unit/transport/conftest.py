"""Fixtures starting the loopback servers of _transport_servers.py (127.0.0.1 only)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.unit.transport._transport_servers import (
    PROXY_VARS,
    ProxyServer,
    RawServer,
    RecordingServer,
    TlsFiles,
    make_self_signed,
    serve_https,
)


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback tests must never be routed through a proxy configured on the machine."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _serve(server: RecordingServer | ProxyServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    for _ in _serve(server):
        yield server


@pytest.fixture
def proxy_server() -> Iterator[ProxyServer]:
    server = ProxyServer()
    for _ in _serve(server):
        yield server


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 with nobody listening: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(
        folder / "cert.pem", folder / "key.pem", folder / "other.pem", folder / "other-key.pem"
    )
    make_self_signed(["localhost"], ["127.0.0.1"], files.cert, files.key)
    make_self_signed(["other.test"], [], files.other_cert, files.other_key)
    return files


@pytest.fixture
def https_server(tls_files: TlsFiles) -> Iterator[RecordingServer]:
    yield from serve_https(tls_files.cert, tls_files.key)


@pytest.fixture
def https_server_other_name(tls_files: TlsFiles) -> Iterator[RecordingServer]:
    yield from serve_https(tls_files.other_cert, tls_files.other_key)


@pytest.fixture
def mtls_server(tls_files: TlsFiles) -> Iterator[RecordingServer]:
    """HTTPS that requires a client certificate: the "other" self-signed one."""
    yield from serve_https(tls_files.cert, tls_files.key, client_ca=tls_files.other_cert)


@pytest.fixture
def stuck_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """getaddrinfo that never answers for names (as a resolver behind a dead DNS server)
    until the test ends; IP literals answer at once. Yields the names asked for."""
    real = socket.getaddrinfo
    release = threading.Event()
    asked: list[object] = []

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        asked.append(host)
        text = host.decode() if isinstance(host, bytes) else str(host)
        if not text.replace(".", "").isdigit():
            release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked
    release.set()
